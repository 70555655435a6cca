"""Booting (SPEC §1, §4): the shared ready() barrier, plugin failures and timeouts,
on_ready, and the blueprint lock on every registration method."""
from __future__ import annotations

import asyncio

import pytest

import fastcore
from fastcore import errors
from tests.integration.helpers import ok


# --- the ready() barrier ---------------------------------------------------------------------

def test_concurrent_ready_calls_boot_each_plugin_once():
    app = fastcore.App()
    runs = []

    async def slow(ctx, opts):
        runs.append(1)
        await asyncio.sleep(0.01)
        ctx.get("/x", ok)

    app.register(slow)

    async def main():
        results = await asyncio.gather(*[app.ready() for _ in range(10)])
        return results + [await app.ready()]

    results = asyncio.run(main())
    assert all(result is app for result in results)
    assert runs == [1]
    assert app.inject_sync("GET", "/x").body == b"ok"


def test_on_ready_runs_once_after_boot_in_order():
    app = fastcore.App()
    events = []
    app.add_hook("on_ready", lambda: events.append("first"))

    async def second():
        await asyncio.sleep(0)
        events.append("second")

    app.add_hook("on_ready", second)

    def plugin(ctx, opts):
        events.append("plugin")
        ctx.add_hook("on_ready", lambda: events.append("child"))

    app.register(plugin)

    async def main():
        await asyncio.gather(app.ready(), app.ready(), app.ready())
        await app.ready()

    asyncio.run(main())
    app.inject_sync("GET", "/")
    assert events == ["plugin", "first", "second", "child"]


def test_on_ready_sees_a_locked_blueprint():
    app = fastcore.App()
    refused = []

    def on_ready():
        with pytest.raises(errors.InstanceAlreadyStartedError):
            app.get("/late", ok)
        refused.append(True)

    app.add_hook("on_ready", on_ready)
    asyncio.run(app.ready())
    assert refused == [True]


def test_on_ready_failure_is_the_outcome_of_ready():
    app = fastcore.App()
    failure = RuntimeError("not ready")

    def on_ready():
        raise failure

    app.add_hook("on_ready", on_ready)

    async def main():
        results = await asyncio.gather(app.ready(), app.ready(), return_exceptions=True)
        with pytest.raises(RuntimeError) as info:
            await app.ready()
        return results + [info.value]

    assert all(result is failure for result in asyncio.run(main()))


def test_plugins_booting_inside_ready_may_register():
    app = fastcore.App()

    async def plugin(ctx, opts):
        ctx.add_hook("on_request", lambda r, p: None)
        ctx.decorate("thing", 1)
        ctx.get("/x", ok)
        ctx.register(lambda c, o: c.get("/y", ok))

    app.register(plugin)
    assert app.inject_sync("GET", "/y").body == b"ok"


def test_plugin_registered_on_a_booted_context_boots_at_ready():
    app = fastcore.App()
    kept = {}

    async def first(ctx, opts):
        kept["first"] = ctx
        ctx.decorate("mark", "first")

    async def late(ctx, opts):
        ctx.get("/late", lambda request, reply: ctx.mark)

    async def second(ctx, opts):
        kept["first"].register(late, prefix="/in-first")   # "first" has finished booting

    app.register(first, prefix="/first")
    app.register(second)
    assert app.inject_sync("GET", "/first/in-first/late").body == b"first"
    assert "late" in app.print_plugins() and "(not booted)" not in app.print_plugins()


def test_plugin_registered_on_a_booted_context_boots_at_the_next_after():
    app = fastcore.App()
    booted, kept = [], {}

    async def child(ctx, opts):
        kept["child"] = ctx
        booted.append("child")

    async def parent(ctx, opts):
        ctx.register(child)
        await ctx.after()                       # "child" boots here
        assert booted == ["child"]
        kept["child"].register(lambda c, o: booted.append("late"))
        await ctx.after()                       # the late one boots here
        assert booted == ["child", "late"]

    app.register(parent)
    asyncio.run(app.ready())
    assert booted == ["child", "late"]


def test_register_from_on_ready_is_refused_naming_register():
    app = fastcore.App()
    app.add_hook("on_ready", lambda: app.register(lambda c, o: None))
    with pytest.raises(errors.InstanceAlreadyStartedError, match='"register"'):
        asyncio.run(app.ready())


# --- plugin failures -----------------------------------------------------------------------------

def test_plugin_error_is_wrapped_naming_the_plugin():
    app = fastcore.App()
    cause = ValueError("bad dsn")

    async def database(ctx, opts):
        raise cause

    app.register(database)
    with pytest.raises(errors.PluginBootError) as info:
        asyncio.run(app.ready())
    assert info.value.code == "FC_ERR_PLUGIN_BOOT"
    assert "database" in str(info.value)
    assert "bad dsn" in str(info.value)
    assert info.value.__cause__ is cause


def test_plugin_error_names_the_plugin_by_its_given_name():
    app = fastcore.App()

    def fn(ctx, opts):
        raise KeyError("x")

    app.register(fastcore.plugin(fn, name="my-db"))
    with pytest.raises(errors.PluginBootError, match='"my-db"'):
        asyncio.run(app.ready())


def test_nested_plugin_error_is_not_wrapped_twice():
    app = fastcore.App()
    cause = RuntimeError("deep")

    def inner(ctx, opts):
        raise cause

    def outer(ctx, opts):
        ctx.register(inner)

    app.register(outer)
    with pytest.raises(errors.PluginBootError) as info:
        asyncio.run(app.ready())
    assert "inner" in str(info.value) and "outer" not in str(info.value)
    assert info.value.__cause__ is cause


def test_nested_plugin_error_surfacing_through_after_is_not_wrapped_twice():
    app = fastcore.App()

    def inner(ctx, opts):
        raise RuntimeError("deep")

    async def outer(ctx, opts):
        ctx.register(inner)
        await ctx.after()

    app.register(outer)
    with pytest.raises(errors.PluginBootError) as info:
        asyncio.run(app.ready())
    assert "inner" in str(info.value) and "outer" not in str(info.value)


def test_framework_error_in_a_plugin_is_wrapped():
    app = fastcore.App()
    app.get("/x", ok)
    app.register(lambda ctx, opts: ctx.get("/x", ok))
    with pytest.raises(errors.PluginBootError) as info:
        asyncio.run(app.ready())
    assert isinstance(info.value.__cause__, errors.DuplicatedRouteError)


def test_plugin_failure_is_shared_by_concurrent_and_later_calls():
    app = fastcore.App()
    runs = []

    async def failing(ctx, opts):
        runs.append(1)
        await asyncio.sleep(0.01)
        raise RuntimeError("boom")

    app.register(failing)

    async def main():
        results = await asyncio.gather(*[app.ready() for _ in range(5)],
                                       return_exceptions=True)
        for call in (app.ready, lambda: app.listen(port=0), lambda: app.inject("GET", "/")):
            try:
                await call()
            except errors.PluginBootError as exc:
                results.append(exc)
        return results

    results = asyncio.run(main())
    assert len(results) == 8
    assert all(result is results[0] for result in results)
    assert isinstance(results[0], errors.PluginBootError)
    assert runs == [1]


def test_failure_seen_by_after_is_also_reported_by_ready():
    app = fastcore.App()
    app.register(lambda ctx, opts: 1 / 0)

    async def main():
        with pytest.raises(errors.PluginBootError) as first:
            await app.after()
        with pytest.raises(errors.PluginBootError) as second:
            await app.ready()
        return first.value, second.value

    first, second = asyncio.run(main())
    assert first is second
    assert isinstance(first.__cause__, ZeroDivisionError)


def test_plugin_that_does_not_finish_in_time_times_out_unwrapped():
    app = fastcore.App(plugin_timeout=0.05)

    async def stuck(ctx, opts):
        await asyncio.sleep(10)

    app.register(stuck)
    with pytest.raises(errors.PluginTimeoutError) as info:
        asyncio.run(asyncio.wait_for(app.ready(), 5))
    assert info.value.code == "FC_ERR_PLUGIN_TIMEOUT"
    assert "stuck" in str(info.value)
    assert info.value.__cause__ is None


def test_nested_timeout_names_the_plugin_that_hung():
    app = fastcore.App(plugin_timeout=0.05)

    async def stuck(ctx, opts):
        await asyncio.sleep(10)

    def outer(ctx, opts):
        ctx.register(stuck)

    app.register(outer)
    with pytest.raises(errors.PluginTimeoutError, match="stuck"):
        asyncio.run(asyncio.wait_for(app.ready(), 5))


def test_timeout_raised_by_the_plugin_itself_is_a_boot_error():
    app = fastcore.App(plugin_timeout=5)

    async def own_timeout(ctx, opts):
        async with asyncio.timeout(0):
            await asyncio.sleep(1)

    app.register(own_timeout)
    with pytest.raises(errors.PluginBootError) as info:
        asyncio.run(app.ready())
    assert isinstance(info.value.__cause__, TimeoutError)


def test_plugin_timeout_zero_disables_the_limit():
    app = fastcore.App(plugin_timeout=0)

    async def slowish(ctx, opts):
        await asyncio.sleep(0.02)
        ctx.get("/x", ok)

    app.register(slowish)
    assert app.inject_sync("GET", "/x").body == b"ok"


def test_plugin_finishing_within_the_timeout_boots():
    app = fastcore.App(plugin_timeout=1)

    async def quick(ctx, opts):
        await asyncio.sleep(0.01)
        ctx.get("/x", ok)

    app.register(quick)
    assert app.inject_sync("GET", "/x").body == b"ok"


# --- the blueprint lock ------------------------------------------------------------------------

LOCKED_CALLS = {
    "route": lambda app: app.route("GET", "/late", ok),
    "get": lambda app: app.get("/late", ok),
    "post": lambda app: app.post("/late")(ok),
    "all": lambda app: app.all("/late", ok),
    "register": lambda app: app.register(lambda c, o: None),
    "add_hook": lambda app: app.add_hook("on_request", lambda r, p: None),
    "hook": lambda app: app.hook("on_request"),
    "decorate": lambda app: app.decorate("late", 1),
    "decorate_request": lambda app: app.decorate_request("late", None),
    "decorate_reply": lambda app: app.decorate_reply("late", None),
    "set_error_handler": lambda app: app.set_error_handler(lambda e, r, p: None),
    "set_not_found_handler": lambda app: app.set_not_found_handler(ok),
    "add_content_type_parser": lambda app: app.add_content_type_parser(
        "application/x-late", lambda r, b: b),
    "remove_content_type_parser": lambda app: app.remove_content_type_parser("text/plain"),
    "remove_all_content_type_parsers": lambda app: app.remove_all_content_type_parsers(),
}


@pytest.mark.parametrize("method", sorted(LOCKED_CALLS))
def test_registration_after_ready_names_the_method(method):
    app = fastcore.App()
    asyncio.run(app.ready())
    with pytest.raises(errors.InstanceAlreadyStartedError) as info:
        LOCKED_CALLS[method](app)
    assert info.value.code == "FC_ERR_INSTANCE_ALREADY_STARTED"
    assert str(info.value) == (
        'Cannot call "%s" when fastcore instance is already started!' % method)


@pytest.mark.parametrize("method", ["get", "add_hook", "decorate", "register",
                                    "set_error_handler"])
def test_child_context_is_locked_too(method):
    app = fastcore.App()
    kept = []
    app.register(lambda ctx, opts: kept.append(ctx))
    asyncio.run(app.ready())
    with pytest.raises(errors.InstanceAlreadyStartedError, match='"%s"' % method):
        LOCKED_CALLS[method](kept[0])


def test_hook_decorator_obtained_before_ready_is_refused_after():
    app = fastcore.App()
    decorator = app.hook("on_request")
    asyncio.run(app.ready())
    with pytest.raises(errors.InstanceAlreadyStartedError, match='"hook"'):
        decorator(lambda r, p: None)


def test_after_once_started_has_nothing_to_boot():
    app = fastcore.App()

    async def main():
        await app.ready()
        return await app.after()

    assert asyncio.run(main()) is app


# --- what the server gets from the options ------------------------------------------------------

def test_server_gets_the_request_options():
    def rewrite(request):
        return "/x"

    def framework_errors(error, request, reply):
        return None

    def gen_req_id(request):
        return "id"

    app = fastcore.App(rewrite_url=rewrite, framework_errors=framework_errors,
                       gen_req_id=gen_req_id, request_id_header="X-Request-ID")
    app.get("/x", ok)
    app.inject_sync("GET", "/x")
    state = app._state
    assert state.rewrite_url is rewrite
    assert state.framework_errors is framework_errors
    assert state.gen_req_id is gen_req_id
    assert state.request_id_header == "x-request-id"
    assert state.not_found_resolver is None
    assert state.request_logger is None and state.trust_proxy is None


def test_server_request_options_defaults():
    app = fastcore.App()
    app.inject_sync("GET", "/")
    state = app._state
    assert state.rewrite_url is None and state.framework_errors is None
    assert state.gen_req_id is None
    assert state.request_id_header == "request-id"


def test_request_id_header_false_gives_none():
    app = fastcore.App(request_id_header=False)
    app.inject_sync("GET", "/")
    assert app._state.request_id_header is None


def test_ready_awaited_from_a_plugin_fails_instead_of_waiting_for_itself():
    app = fastcore.App()

    async def plugin(ctx, opts):
        await app.ready()

    app.register(plugin)
    with pytest.raises(errors.PluginBootError) as info:
        asyncio.run(asyncio.wait_for(app.ready(), 5))
    assert isinstance(info.value.__cause__, RuntimeError)


def test_a_plugins_options_function_checks_them_at_register():
    def check(opts):
        if not isinstance(opts.get("size", 1), int):
            raise TypeError("size is an int, got %r" % (opts["size"],))
        return {"size": 1, **opts}

    seen = []
    sized = fastcore.plugin(lambda app, opts: seen.append(opts), name="sized", options=check)
    app = fastcore.App()
    with pytest.raises(fastcore.errors.InvalidOptionError, match="^sized: size is an int"):
        app.register(sized, size="big")
    app.register(sized)                       # the defaults it returned reach the plugin
    app.register(sized, size=2)
    asyncio.run(app.ready())
    assert seen == [{"size": 1}, {"size": 2}]
