"""The pytest plugin of ``fastcore.testing``: the ``route_benchmark`` fixture.

Registered through the ``pytest11`` entry point, so any pytest run where
fastcore is installed has the fixture; it needs pytest-benchmark, whose
``benchmark`` fixture does the timing and writes ``--benchmark-json``::

    def test_prices(route_benchmark):
        response = route_benchmark(app, "GET", "/prices", query={"limit": "10"})
        assert response.json()[0]["symbol"] == "BTC-USD"

One call per test. The first request is sent once untimed and its response
returned (an ``InjectResponse``); a 5xx answer fails the test, since the
timing of an error page says nothing about the route. Then the same request
is timed through the whole in-process pipeline (``_bench.RouteDriver``),
one request per round, each round preceded by one untimed sample of the
fixed reference workload (``_bench.Reference``, the round's setup in
``benchmark.pedantic``). The rounds fill the test's ``--benchmark-max-time``
after a warm-up of a tenth of it (at least ``--benchmark-min-rounds``); the
timer and the GC setting are pytest-benchmark's. The route and the reference
go into the case's ``extra_info["fastcore"]``, where ``python -m fastcore
gate`` (``fastcore/gate.py``) reads them. With ``--benchmark-disable`` the
route runs once and no reference is timed.

Every app is booted on one event loop per session (the fixture
``fastcore_bench_loop``), so a module- or session-wide app can serve
several benchmarks; the apps it booted are closed at the end of the session.
"""
from __future__ import annotations

import time
from typing import Any

import pytest


@pytest.fixture(scope="session")
def fastcore_bench_loop():
    """The event loop route_benchmark boots apps on; closes them at the end."""
    from ._bench import DriverLoop

    loop = DriverLoop()
    booted: list = []
    yield loop, booted
    try:
        for app in booted:
            loop.run_until_complete(app.close())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture
def route_benchmark(request, fastcore_bench_loop):
    """``route_benchmark(app, method, url, *, headers=None, query=None, payload=None)``:
    time one route with pytest-benchmark; returns the first response."""
    from ._bench import Reference, RouteDriver, plan_rounds
    from ..gate import EXTRA_KEY

    try:
        benchmark = request.getfixturevalue("benchmark")
    except pytest.FixtureLookupError:
        pytest.fail("route_benchmark needs pytest-benchmark: pip install pytest-benchmark",
                    pytrace=False)
    loop, booted = fastcore_bench_loop
    drivers: list = []

    def run(app: Any, method: str, url: str, *, headers: dict | None = None,
            query: dict | None = None, payload: Any = None):
        if drivers:
            pytest.fail("route_benchmark times one route per test", pytrace=False)
        driver = RouteDriver(app, loop, method, url, headers=headers, query=query,
                             payload=payload)
        drivers.append(driver)
        if not any(app is seen for seen in booted):
            booted.append(app)
        response = driver.start()
        route = "%s %s" % (method.upper(), url)
        if response.status_code >= 500:
            pytest.fail("route_benchmark: %s answered %d, not timed: %s"
                        % (route, response.status_code, response.body[:500]), pytrace=False)
        info = benchmark.extra_info[EXTRA_KEY] = {"route": route,
                                                  "status": response.status_code}
        if benchmark.disabled:
            benchmark(driver.feed)
            return response
        reference = Reference(getattr(benchmark, "_timer", time.perf_counter))
        rounds = plan_rounds(driver.feed, reference, getattr(benchmark, "_max_time", 1.0),
                             getattr(benchmark, "_min_rounds", 5))
        benchmark.pedantic(driver.feed, setup=reference.sample, rounds=rounds)
        info["reference"] = reference.record()
        return response

    yield run
    for driver in drivers:
        driver.close()
