"""App.stats() and App.count_responses(): what the core counts, read through inject."""
from __future__ import annotations

import asyncio

import pytest

import fastcore


def make_app():
    app = fastcore.App()

    @app.get("/items/:id")
    def item(request, reply):
        if request.params["id"] == "0":
            raise fastcore.errors.FastcoreError("no item 0")
        return {"id": request.params["id"]}

    @app.get("/slow")
    async def slow(request, reply):
        await asyncio.sleep(0.05)
        return "late"
    return app


def responses(app):
    return {(method, route, status): tally
            for method, route, status, tally in app.stats()["responses"]}


def test_nothing_is_counted_until_asked():
    app = make_app()
    app.inject_sync("GET", "/items/1")
    stats = app.stats()
    assert stats["responses"] is None and stats["response_buckets"] is None


def test_responses_by_route_method_and_status_with_their_bucket():
    app = make_app()
    app.count_responses([0.02, 1])
    for path in ("/items/1", "/items/2", "/items/0", "/slow", "/nowhere"):
        app.inject_sync("GET", path)
    app.inject_sync("HEAD", "/items/3")
    seen = responses(app)
    assert set(seen) == {("GET", "/items/:id", 200), ("GET", "/items/:id", 500),
                         ("HEAD", "/items/:id", 200), ("GET", "/slow", 200),
                         ("GET", "__not_found__", 404)}
    assert seen[("GET", "/items/:id", 200)].buckets == (2, 0, 0)
    assert seen[("GET", "/items/:id", 200)].count == 2
    assert seen[("GET", "/slow", 200)].buckets == (0, 1, 0)
    assert 0.05 <= seen[("GET", "/slow", 200)].total_seconds < 1
    assert app.stats()["response_buckets"] == (0.02, 1.0)


def test_counting_can_start_after_the_first_request():
    app = make_app()
    app.inject_sync("GET", "/items/1")
    app.count_responses([1])
    app.inject_sync("GET", "/items/1")
    assert responses(app)[("GET", "/items/:id", 200)].count == 1


def test_a_second_call_must_give_the_same_buckets():
    app = make_app()
    app.count_responses([0.1, 1])
    app.count_responses((0.1, 1.0))
    with pytest.raises(ValueError, match="already counted"):
        app.count_responses([0.5])


@pytest.mark.parametrize("buckets", [[], [1, 0.5], [0, 1], [-1], [1, float("inf")]])
def test_bad_buckets_are_refused(buckets):
    with pytest.raises(ValueError):
        make_app().count_responses(buckets)


def test_error_handler_calls_and_bad_urls():
    app = make_app()

    def handler(error, request, reply):
        raise error                      # passes it on: the default handler runs too
    app.set_error_handler(handler)
    app.inject_sync("GET", "/items/0")
    app.inject_sync("GET", "/items/%zz")
    stats = app.stats()
    assert stats["error_handler_calls"]["/items/:id"] == 2
    assert stats["error_handler_calls"]["/slow"] == 0
    assert stats["bad_urls"] == 1


def test_plugin_durations_and_ready_seconds():
    app = make_app()

    async def outer(child, opts):
        child.register(inner)

    async def inner(child, opts):
        await asyncio.sleep(0.02)
    app.register(outer)
    assert app.stats()["ready_seconds"] is None
    app.inject_sync("GET", "/items/1")
    stats = app.stats()
    # Unnamed plugins go by their function's qualified name.
    durations = {name.rsplit(".", 1)[-1]: seconds for name, seconds in stats["plugins"].items()}
    assert set(durations) == {"outer", "inner"}
    assert durations["inner"] >= 0.02
    assert durations["outer"] >= durations["inner"]
    assert stats["ready_seconds"] >= durations["outer"]


def test_a_child_context_reads_the_app_wide_stats():
    app = make_app()
    seen = {}

    async def plugin(child, opts):
        child.count_responses([1])
        seen["child"] = child
    app.register(plugin)
    app.inject_sync("GET", "/items/1")
    assert seen["child"].stats()["responses"] == app.stats()["responses"]
    assert len(app.stats()["responses"]) == 1
