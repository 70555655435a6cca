"""Boot time: ``ready()`` of an app with 1,000 routes declared by 50 plugins.

Each round builds a fresh app outside the timing (``pedantic`` setup): 50
plugins registered, each with its own prefix, a hook, a request decoration
and 20 routes from the GitHub-shaped table; the timed call is ``ready()``,
which boots the plugins (running them declares the routes into the compiled
router), locks the blueprint, flattens hook chains and error handlers onto
every record and adds the HEAD routes.

    python -m pytest bench/test_bench_boot.py --benchmark-only -q

The budget is one second per boot; ``test_boot_budget`` checks it without
pytest-benchmark, so it also runs in a plain test session.
"""
from __future__ import annotations

import asyncio
import time

import fastcore
from bench.routes_table import large_table

PLUGINS = 50
ROUTES_PER_PLUGIN = 20
BUDGET_S = 1.0

TABLE = large_table()[:PLUGINS * ROUTES_PER_PLUGIN]
assert len(TABLE) == PLUGINS * ROUTES_PER_PLUGIN


def handler(request, reply):
    return {"ok": True}


def on_request(request, reply):
    pass


def make_plugin(routes):
    async def routes_plugin(ctx, opts):
        ctx.add_hook("on_request", on_request)
        ctx.decorate_request("user", None)
        for method, url in routes:
            ctx.route(method, url, handler, pre_handler=on_request)
    return routes_plugin


def build_app() -> fastcore.App:
    app = fastcore.App()
    app.add_hook("on_response", on_request)
    app.set_error_handler(lambda error, request, reply: None)
    for i in range(PLUGINS):
        routes = TABLE[i * ROUTES_PER_PLUGIN:(i + 1) * ROUTES_PER_PLUGIN]
        app.register(make_plugin(routes), prefix="/p%02d" % i)
    return app


def route_count(app: fastcore.App) -> int:
    return sum(1 for method, _, _ in app.routes if method != "HEAD")


def test_boot_1000_routes_50_plugins(benchmark):
    loop = asyncio.new_event_loop()
    try:
        last = []

        def setup():
            app = build_app()
            last[:] = [app]     # keep only the newest: old apps would grow the GC's work
            return (app,), {}

        def boot(app):
            loop.run_until_complete(app.ready())

        benchmark.group = "boot"
        benchmark.extra_info["routes"] = len(TABLE)
        benchmark.extra_info["plugins"] = PLUGINS
        benchmark.pedantic(boot, setup=setup, rounds=20, iterations=1, warmup_rounds=1)
    finally:
        loop.close()
    assert route_count(last[0]) == len(TABLE)
    if benchmark.stats is not None:  # None under --benchmark-disable
        assert benchmark.stats.stats.median < BUDGET_S


def test_boot_budget():
    """One boot, timed by hand: well under the one-second budget."""
    app = build_app()
    loop = asyncio.new_event_loop()
    try:
        started = time.perf_counter()
        loop.run_until_complete(app.ready())
        elapsed = time.perf_counter() - started
    finally:
        loop.close()
    assert route_count(app) == len(TABLE)
    assert elapsed < BUDGET_S, "boot took %.3f s" % elapsed
