"""fastcore.plugins.under_pressure through app.inject, on asyncio's own event loop
(SPEC §13, as @fastify/under-pressure)."""
from __future__ import annotations

import asyncio
import time

import orjson
import pytest

import fastcore
from fastcore.plugins import under_pressure
from fastcore.plugins._under_pressure import rss_bytes
from tests.integration.helpers import refused_at_register

BODY_503 = orjson.dumps({"statusCode": 503, "code": "FC_ERR_UNDER_PRESSURE",
                         "error": "Service Unavailable", "message": "Service Unavailable"})


def make_app(**options):
    app = fastcore.App()
    app.register(under_pressure, **options)
    app.get("/", lambda request, reply: "home")

    @app.get("/sleep")
    def sleep(request, reply):
        time.sleep(float(request.query["s"]))          # blocks the loop on purpose
        return "slept"

    @app.get("/spin")
    def spin(request, reply):
        end = time.perf_counter() + float(request.query["s"])
        while time.perf_counter() < end:                # keeps the loop's CPU busy
            pass
        return "spun"

    return app


def assert_unavailable(response, retry_after="10"):
    assert response.status_code == 503
    assert response.body == BODY_503
    assert response.headers["retry-after"] == retry_after
    assert response.headers["content-length"] == str(len(response.body))


async def until(predicate, seconds=10.0):
    """Wait for the sampler to publish what ``predicate`` expects."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        assert loop.time() < deadline, "the sampler never got there"
        await asyncio.sleep(0.01)


def test_all_well_the_status_route_says_ok_and_pressure_has_the_samples():
    app = make_app()

    async def main():
        status = await app.inject("GET", "/status")
        home = await app.inject("GET", "/")
        samples = app.pressure()
        await app.close()
        return status, home, samples

    status, home, samples = asyncio.run(main())
    assert (status.status_code, status.json()) == (200, {"status": "ok"})
    assert (home.status_code, home.text) == (200, "home")
    assert app.is_under_pressure() is False
    assert set(samples) == {"event_loop_delay", "event_loop_utilization", "rss_bytes",
                            "health_check", "under_pressure"}
    assert samples["health_check"] is True and samples["under_pressure"] is False
    assert 0 < samples["rss_bytes"] <= rss_bytes() * 2


def test_over_the_rss_limit_every_request_and_the_status_route_get_503():
    app = make_app(max_rss_bytes=1, retry_after=30)

    async def main():
        answers = [await app.inject("GET", url) for url in ("/", "/status", "/missing")]
        await app.close()
        return answers

    answers = asyncio.run(main())
    for response in answers:
        assert_unavailable(response, "30")
    assert app.is_under_pressure() is True
    assert app.pressure()["rss_bytes"] > 1 and app.pressure()["under_pressure"] is True


def test_the_status_route_may_move_or_go():
    moved = make_app(status_route="/healthz")
    assert moved.inject_sync("GET", "/healthz").json() == {"status": "ok"}
    assert moved.inject_sync("GET", "/status").status_code == 404
    gone = make_app(status_route=None)
    assert gone.inject_sync("GET", "/status").status_code == 404


@pytest.mark.parametrize("kind", ["false", "raises", "async-false", "async-raises", "too-slow"])
def test_a_failing_health_check_makes_503s_until_it_passes_again(kind):
    state = {"healthy": False, "calls": 0}

    def verdict():
        if kind.endswith("raises") and not state["healthy"]:
            raise ConnectionError("database unreachable")
        return state["healthy"] or kind == "too-slow"

    def check():
        state["calls"] += 1
        return verdict()

    async def async_check():
        state["calls"] += 1
        # "too-slow" answers True, but after the interval while unhealthy.
        await asyncio.sleep(0.5 if kind == "too-slow" and not state["healthy"] else 0)
        return verdict()

    fn = check if kind in ("false", "raises") else async_check
    app = make_app(health_check=fn, health_check_interval=0.1)

    async def main():
        await app.ready()
        unhealthy = [await app.inject("GET", "/"), await app.inject("GET", "/status")]
        samples = app.pressure()
        state["healthy"] = True
        await until(lambda: not app.is_under_pressure())
        healthy = await app.inject("GET", "/")
        await app.close()
        return unhealthy, samples, healthy

    unhealthy, samples, healthy = asyncio.run(main())
    for response in unhealthy:
        assert_unavailable(response)
    assert samples["health_check"] is False and samples["under_pressure"] is True
    assert healthy.status_code == 200 and app.pressure()["health_check"] is True
    assert state["calls"] >= 2


def test_a_blocked_loop_pushes_the_delay_over_the_limit_then_it_recovers():
    app = make_app(max_event_loop_delay=0.1, health_check_interval=0.4)

    async def main():
        await app.ready()
        assert (await app.inject("GET", "/sleep?s=0.5")).text == "slept"
        await until(app.is_under_pressure)
        during = await app.inject("GET", "/")
        samples = app.pressure()
        await until(lambda: not app.is_under_pressure())
        after = await app.inject("GET", "/")
        await app.close()
        return during, samples, after

    during, samples, after = asyncio.run(main())
    assert_unavailable(during)
    assert samples["event_loop_delay"] >= 0.4          # a 0.5 s block, 0.05 s probes
    assert after.status_code == 200 and app.pressure()["event_loop_delay"] < 0.1


@pytest.mark.parametrize("path", ["/spin?s=0.8", "/sleep?s=0.8"])
def test_a_busy_loop_pushes_the_utilization_over_the_limit(path):
    # CPU spent in the loop thread and time blocked without CPU both count.
    app = make_app(max_event_loop_delay=0, max_event_loop_utilization=0.5,
                   health_check_interval=0.5)

    async def main():
        await app.ready()
        await app.inject("GET", path)
        await until(app.is_under_pressure)
        samples = app.pressure()
        await until(lambda: not app.is_under_pressure())
        await app.close()
        return samples

    samples = asyncio.run(main())
    assert samples["event_loop_utilization"] > 0.5
    assert app.pressure()["event_loop_utilization"] < 0.5


def test_sampling_stops_at_close_and_leaves_no_timer():
    calls = []
    app = make_app(health_check=lambda: calls.append(1) or True, health_check_interval=0.02)

    async def main():
        await app.ready()
        await until(lambda: len(calls) >= 3)
        await app.close()
        closed_at = len(calls)
        await asyncio.sleep(0.1)
        loop = asyncio.get_running_loop()
        pending = [h for h in loop._scheduled if not h.cancelled()]
        return closed_at, pending, asyncio.all_tasks() - {asyncio.current_task()}

    closed_at, pending, tasks = asyncio.run(main())
    assert len(calls) == closed_at
    assert pending == [] and tasks == set()


def test_listening_on_another_loop_than_ready_restarts_the_sampler_there():
    calls = []
    app = make_app(health_check=lambda: calls.append(1) or True, health_check_interval=0.02)
    asyncio.run(app.ready())                        # booted on a loop that is then closed
    assert calls == [1]

    async def main():
        await app.listen(port=0)
        await until(lambda: len(calls) >= 3)
        await app.close()

    asyncio.run(main())


@pytest.mark.parametrize("options, message", [
    ({"max_event_loop_delay": -1}, "max_event_loop_delay is a number >= 0"),
    ({"max_event_loop_delay": "1s"}, "max_event_loop_delay is a number >= 0"),
    ({"max_event_loop_utilization": 1.5}, "max_event_loop_utilization is a share"),
    ({"max_event_loop_utilization": True}, "max_event_loop_utilization is a number"),
    ({"max_rss_bytes": 1.5}, "max_rss_bytes is an int >= 0"),
    ({"max_rss_bytes": -1}, "max_rss_bytes is an int >= 0"),
    ({"health_check": "db"}, "health_check is a function"),
    ({"health_check_interval": 0}, "health_check_interval is a number > 0"),
    ({"retry_after": -1}, "retry_after is an int of seconds >= 0"),
    ({"retry_after": 1.5}, "retry_after is an int of seconds >= 0"),
    ({"status_route": "status"}, "status_route is a path starting with '/'"),
    ({"max_heap_used_bytes": 1}, "unknown option(s) max_heap_used_bytes"),
])
def test_bad_options_are_refused_at_register(options, message):
    refused_at_register(under_pressure, options, message)
