"""fastcore/testing/_bench.py: the in-process route driver behind route_benchmark,
and the reference timing (no assertion on how long anything takes)."""
from __future__ import annotations

import asyncio

import pytest

import fastcore
from fastcore.testing import _bench


def counting_app():
    app = fastcore.App()
    app.calls = {"on_request": 0, "handler": 0, "on_response": 0, "loop": 0}

    @app.hook("on_request")
    def on_request(request, reply):
        asyncio.get_running_loop()          # as on a server: the loop is running
        app.calls["on_request"] += 1

    @app.hook("on_response")
    async def on_response(request, reply):
        if request.url.startswith("/task"):
            for _ in range(3):              # a task the loop has to run for a few cycles
                await asyncio.sleep(0)
        app.calls["on_response"] += 1

    @app.get("/sync")
    def sync(request, reply):
        app.calls["handler"] += 1
        return {"n": app.calls["handler"]}

    @app.get("/wait")
    async def wait(request, reply):
        await asyncio.sleep(0.001)          # a real timer: the loop must run
        app.calls["handler"] += 1
        return {"n": app.calls["handler"]}

    @app.get("/task")
    def task(request, reply):
        app.calls["handler"] += 1
        return "ok"

    @app.get("/close")
    def close(request, reply):
        app.calls["handler"] += 1
        reply.header("connection", "close")
        return "bye"

    @app.post("/echo")
    def echo(request, reply):
        app.calls["handler"] += 1
        return {"body": request.body, "q": request.query.get("q")}

    return app


@pytest.fixture
def loop():
    loop = _bench.DriverLoop()
    yield loop
    loop.close()


def drive(app, loop, method, url, times=20, **kwargs):
    driver = _bench.RouteDriver(app, loop, method, url, **kwargs)
    first = driver.start()
    for _ in range(times):
        driver.feed()
    driver.close()
    return first


@pytest.mark.parametrize("url", ["/sync", "/wait", "/task", "/close"])
def test_every_iteration_runs_the_hooks_and_the_handler_to_the_end(loop, url):
    app = counting_app()
    first = drive(app, loop, "GET", url, times=20)
    assert first.status_code == 200
    assert app.calls == {"on_request": 21, "handler": 21, "on_response": 21, "loop": 0}


def test_the_first_response_is_returned_whole(loop):
    app = counting_app()
    first = drive(app, loop, "POST", "/echo", times=1, payload={"a": [1, 2]},
                  query={"q": "x"})
    assert first.status_code == 200
    assert first.json() == {"body": {"a": [1, 2]}, "q": "x"}
    assert first.headers["content-type"].startswith("application/json")
    assert first.raw.startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_route_that_never_waits_does_not_run_the_loop(loop, monkeypatch):
    app = counting_app()
    driver = _bench.RouteDriver(app, loop, "GET", "/sync")
    driver.start()
    runs = []
    real = loop.run_until_complete
    monkeypatch.setattr(loop, "run_until_complete", lambda aw: runs.append(1) or real(aw))
    for _ in range(10):
        driver.feed()
    assert runs == []
    driver.close()
    driver = _bench.RouteDriver(app, loop, "GET", "/wait")
    driver.start()
    runs.clear()
    for _ in range(3):
        driver.feed()
    assert len(runs) == 3
    driver.close()


def test_head_ends_each_response_at_its_head(loop):
    app = counting_app()
    first = drive(app, loop, "HEAD", "/sync", times=5)
    assert first.status_code == 200 and first.body == b""
    assert int(first.headers["content-length"]) > 0
    assert app.calls["handler"] == 6


def test_error_statuses_are_reported(loop):
    app = counting_app()

    @app.get("/boom")
    def boom(request, reply):
        reply.code(503)
        return {"down": True}
    assert drive(app, loop, "GET", "/nowhere", times=1).status_code == 404
    assert drive(app, loop, "GET", "/boom", times=1).status_code == 503


def test_reference_takes_one_sample_of_each_part_per_round():
    ticks = iter(range(100))
    reference = _bench.Reference(timer=lambda: next(ticks) * 1e-6)
    for _ in range(3):
        reference.sample()
    assert reference.python == [pytest.approx(1e-6)] * 3            # one tick per part
    assert reference.orjson == [pytest.approx(1e-6 / _bench.ORJSON_CALLS)] * 3
    record = reference.record()
    assert record["id"] == fastcore.gate.REFERENCE_ID and record["rounds"] == 3
    assert record["seconds"] == pytest.approx((1e-6 * 1e-6 / _bench.ORJSON_CALLS) ** 0.5)


def test_reference_is_the_geomean_of_the_parts_medians():
    reference = _bench.Reference()
    reference.python[:] = [4e-5, 1.0, 4e-5]          # one preempted sample changes nothing
    reference.orjson[:] = [1e-6, 1e-6, 1.0]
    assert reference.record()["seconds"] == pytest.approx((4e-5 * 1e-6) ** 0.5)


def test_plan_rounds_warms_up_then_fills_the_time_left():
    calls = []
    reference = _bench.Reference()
    rounds = _bench.plan_rounds(lambda: calls.append(1), reference, max_time=0.0, min_rounds=7)
    assert rounds == 7 and len(calls) == 10            # at least 10 warm-up calls
    assert reference.python == []                      # warm-up samples are dropped
    rounds = _bench.plan_rounds(lambda: None, reference, max_time=0.05, min_rounds=1)
    assert rounds > 10
