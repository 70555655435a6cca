"""Hooks (SPEC §3): validation when added, route-level hooks, the chains flattened
onto route records at ready(), and the application hooks."""
from __future__ import annotations

import asyncio
import functools
import logging

import pytest

import fastcore
from fastcore import errors
from fastcore.hooks import APPLICATION_HOOKS, REQUEST_HOOKS
from tests.integration.helpers import ok, record, booted

HOOK_FIELDS = ("on_request", "pre_parsing", "pre_validation", "pre_handler",
               "pre_serialization", "on_send", "on_response", "on_error", "on_timeout",
               "on_request_abort")

ARITY = {"on_request": 2, "pre_parsing": 2, "pre_validation": 2, "pre_handler": 2,
         "pre_serialization": 3, "on_send": 3, "on_response": 2, "on_error": 3,
         "on_timeout": 2, "on_request_abort": 1, "on_ready": 0, "on_listen": 0,
         "pre_close": 0, "on_close": 1, "on_route": 1, "on_register": 2}


def sync_fn(nargs):
    namespace = {}
    exec("def hook(%s): pass" % ", ".join("a%d" % i for i in range(nargs)), namespace)
    return namespace["hook"]


def async_fn(nargs):
    namespace = {}
    exec("async def hook(%s): pass" % ", ".join("a%d" % i for i in range(nargs)), namespace)
    return namespace["hook"]


# --- names and validation --------------------------------------------------------------------

def test_hook_names_are_the_specified_ones():
    assert set(REQUEST_HOOKS) == set(HOOK_FIELDS)
    assert set(APPLICATION_HOOKS) == {"on_ready", "on_listen", "pre_close", "on_close",
                                      "on_route", "on_register"}
    assert {name: len(args) for name, args in {**REQUEST_HOOKS, **APPLICATION_HOOKS}.items()} \
        == ARITY


@pytest.mark.parametrize("name", ["onRequest", "preHandler", "on_requests", "", "ON_REQUEST"])
def test_unknown_hook_name_is_not_supported(name):
    app = fastcore.App()
    with pytest.raises(errors.HookNotSupportedError) as info:
        app.add_hook(name, lambda r, p: None)
    assert info.value.code == "FC_ERR_HOOK_NOT_SUPPORTED"


def test_unknown_hook_name_via_the_decorator():
    with pytest.raises(errors.HookNotSupportedError):
        fastcore.App().hook("onRequest")


@pytest.mark.parametrize("value", [None, 42, "fn", [lambda r, p: None]])
def test_non_callable_hook_is_invalid(value):
    with pytest.raises(errors.HookInvalidHandlerError) as info:
        fastcore.App().add_hook("on_request", value)
    assert info.value.code == "FC_ERR_HOOK_INVALID_HANDLER"


@pytest.mark.parametrize("name", sorted(ARITY))
def test_every_hook_accepts_its_exact_signature_sync_and_async(name):
    app = fastcore.App()
    app.add_hook(name, sync_fn(ARITY[name]))
    if name in ("on_route", "on_register"):     # sync only (SPEC §3)
        with pytest.raises(errors.HookInvalidAsyncHandlerError):
            app.add_hook(name, async_fn(ARITY[name]))
    else:
        app.add_hook(name, async_fn(ARITY[name]))


@pytest.mark.parametrize("name", sorted(ARITY))
def test_sync_hook_with_an_extra_argument_is_invalid(name):
    with pytest.raises(errors.HookInvalidHandlerError) as info:
        fastcore.App().add_hook(name, sync_fn(ARITY[name] + 1))
    assert name in str(info.value)


@pytest.mark.parametrize("name", sorted(ARITY))
def test_async_hook_with_an_extra_argument_is_an_invalid_async_handler(name):
    with pytest.raises(errors.HookInvalidAsyncHandlerError) as info:
        fastcore.App().add_hook(name, async_fn(ARITY[name] + 1))
    assert info.value.code == "FC_ERR_HOOK_INVALID_ASYNC_HANDLER"


@pytest.mark.parametrize("name", [n for n in sorted(ARITY) if ARITY[n] > 0])
def test_hook_with_too_few_arguments_is_invalid(name):
    with pytest.raises(errors.HookInvalidHandlerError):
        fastcore.App().add_hook(name, sync_fn(ARITY[name] - 1))
    with pytest.raises(errors.HookInvalidAsyncHandlerError):
        fastcore.App().add_hook(name, async_fn(ARITY[name] - 1))


def test_flexible_signatures_are_accepted():
    app = fastcore.App()
    app.add_hook("on_request", lambda *args: None)
    app.add_hook("on_request", lambda request, reply, extra=None: None)
    app.add_hook("on_send", lambda request, *rest: None)
    app.add_hook("pre_handler", functools.partial(lambda tag, request, reply: None, "t"))


def test_callable_objects_are_checked_by_their_call_signature():
    class Good:
        async def __call__(self, request, reply):
            pass

    class Bad:
        async def __call__(self, request, reply, done):
            pass

    app = fastcore.App()
    app.add_hook("on_request", Good())
    with pytest.raises(errors.HookInvalidAsyncHandlerError):
        app.add_hook("on_request", Bad())


def test_bound_methods_are_checked_without_self():
    class Auth:
        def check(self, request, reply):
            pass

    fastcore.App().add_hook("pre_handler", Auth().check)


def test_add_hook_returns_the_app_and_hook_decorates():
    app = fastcore.App()
    assert app.add_hook("on_request", lambda r, p: None) is app

    @app.hook("pre_handler")
    def check(request, reply):
        pass

    app.get("/x", ok)
    booted(app)
    assert record(app, "GET", "/x").pre_handler == (check,)
    assert record(app, "GET", "/x").on_request is not None


def test_route_level_hook_is_validated_at_route():
    app = fastcore.App()
    with pytest.raises(errors.HookInvalidHandlerError):
        app.get("/x", ok, on_request=lambda request: None)
    with pytest.raises(errors.HookInvalidAsyncHandlerError):
        app.get("/y", ok, pre_handler=[async_fn(3)])
    with pytest.raises(errors.HookInvalidHandlerError):
        app.get("/z", ok, on_send="nope")
    assert not app.has_route("GET", "/x")


# --- flattening onto records -----------------------------------------------------------------

def test_records_without_hooks_have_none_in_every_field():
    app = booted(_with_route(fastcore.App()))
    rec = record(app, "GET", "/x")
    for field in HOOK_FIELDS:
        assert getattr(rec, field) is None, field


def _with_route(app, url="/x"):
    app.get(url, ok)
    return app


def test_chain_is_ancestors_root_first_then_own_then_route_level():
    app = fastcore.App()
    root_hook = lambda r, p: None  # noqa: E731
    child_hook = lambda r, p: None  # noqa: E731
    grandchild_hook = lambda r, p: None  # noqa: E731
    route_hook = lambda r, p: None  # noqa: E731
    app.add_hook("pre_handler", root_hook)

    def child(ctx, opts):
        ctx.add_hook("pre_handler", child_hook)

        def grandchild(c, o):
            c.add_hook("pre_handler", grandchild_hook)
            c.get("/deep", ok, pre_handler=route_hook)
        ctx.register(grandchild)
        ctx.get("/mid", ok)

    app.register(child)
    app.get("/top", ok)
    booted(app)
    assert record(app, "GET", "/top").pre_handler == (root_hook,)
    assert record(app, "GET", "/mid").pre_handler == (root_hook, child_hook)
    assert record(app, "GET", "/deep").pre_handler == (
        root_hook, child_hook, grandchild_hook, route_hook)


def test_each_hook_field_gets_its_own_chain():
    app = fastcore.App()
    fns = {}
    for field in HOOK_FIELDS:
        fns[field] = sync_fn(ARITY[field])
        app.add_hook(field, fns[field])
    route_fns = {field: sync_fn(ARITY[field]) for field in HOOK_FIELDS}
    app.get("/x", ok, **route_fns)
    booted(app)
    rec = record(app, "GET", "/x")
    for field in HOOK_FIELDS:
        assert getattr(rec, field) == (fns[field], route_fns[field]), field


def test_route_level_hooks_accept_a_function_or_a_list():
    app = fastcore.App()
    a = lambda r, p: None  # noqa: E731
    b = lambda r, p: None  # noqa: E731
    app.get("/one", ok, on_request=a)
    app.get("/many", ok, on_request=[a, b])
    app.get("/none", ok, on_request=[])
    booted(app)
    assert record(app, "GET", "/one").on_request == (a,)
    assert record(app, "GET", "/many").on_request == (a, b)
    assert record(app, "GET", "/none").on_request is None


def test_hooks_added_after_a_route_still_apply():
    app = fastcore.App()
    app.get("/x", ok)
    late = lambda r, p: None  # noqa: E731
    app.add_hook("on_request", late)

    def plugin(ctx, opts):
        ctx.get("/y", ok)
        ctx.add_hook("on_response", late)

    app.register(plugin)
    booted(app)
    assert record(app, "GET", "/x").on_request == (late,)
    assert record(app, "GET", "/y").on_request == (late,)
    assert record(app, "GET", "/y").on_response == (late,)
    assert record(app, "GET", "/x").on_response is None


def test_child_hooks_do_not_leak_to_parent_or_siblings():
    app = fastcore.App()
    mine = lambda r, p: None  # noqa: E731

    def a(ctx, opts):
        ctx.add_hook("on_request", mine)
        ctx.get("/a", ok)

    def b(ctx, opts):
        ctx.get("/b", ok)

    app.register(a)
    app.register(b)
    app.get("/root", ok)
    booted(app)
    assert record(app, "GET", "/a").on_request == (mine,)
    assert record(app, "GET", "/b").on_request is None
    assert record(app, "GET", "/root").on_request is None


def test_wrapped_plugin_hooks_apply_to_the_parent_context():
    app = fastcore.App()
    shared = lambda r, p: None  # noqa: E731
    app.register(fastcore.plugin(lambda ctx, opts: ctx.add_hook("on_request", shared)))
    app.get("/x", ok)
    booted(app)
    assert record(app, "GET", "/x").on_request == (shared,)


def test_auto_head_route_shares_the_get_record():
    app = fastcore.App()
    hook = lambda r, p: None  # noqa: E731
    app.get("/x", ok, on_request=hook)
    booted(app)
    assert record(app, "HEAD", "/x") is record(app, "GET", "/x")
    assert record(app, "HEAD", "/x").on_request == (hook,)


def test_hooks_of_a_route_with_several_methods():
    app = fastcore.App()
    hook = lambda r, p: None  # noqa: E731
    app.route(["GET", "POST"], "/x", ok, on_send=lambda r, p, x: x)
    app.add_hook("on_request", hook)
    booted(app)
    for method in ("GET", "POST"):
        assert record(app, method, "/x").on_request == (hook,)
        assert len(record(app, method, "/x").on_send) == 1


# --- on_route -----------------------------------------------------------------------------------

def test_on_route_sees_each_route_with_its_prefixed_url():
    app = fastcore.App()
    seen = []
    app.add_hook("on_route", lambda opts: seen.append((opts["method"], opts["url"],
                                                       opts["prefix"], opts["route_path"])))
    app.get("/a", ok)
    app.register(lambda ctx, opts: ctx.post("/b", ok), prefix="/v1")
    booted(app)
    assert seen == [("GET", "/a", "", "/a"), ("POST", "/v1/b", "/v1", "/b")]


def test_on_route_is_called_synchronously_at_registration():
    app = fastcore.App()
    seen = []
    app.add_hook("on_route", lambda opts: seen.append(opts["url"]))
    app.get("/a", ok)
    assert seen == ["/a"]


def test_on_route_receives_the_route_options():
    app = fastcore.App()
    seen = []
    app.add_hook("on_route", seen.append)
    hook = lambda r, p: None  # noqa: E731
    app.get("/a", ok, config={"k": 1}, on_request=hook, body_limit=10)
    opts = seen[0]
    assert opts["handler"] is ok
    assert opts["config"] == {"k": 1}
    assert opts["on_request"] is hook
    assert opts["body_limit"] == 10
    assert opts["schema"] is None


def test_on_route_may_change_the_route_before_it_is_created():
    app = fastcore.App()
    added = lambda r, p: None  # noqa: E731

    def rewrite(opts):
        opts["url"] = opts["url"] + "/v2"
        opts["config"] = {"tagged": True}
        opts["on_request"] = [added]

    app.add_hook("on_route", rewrite)
    app.get("/a", ok)
    assert app.has_route("GET", "/a/v2") and not app.has_route("GET", "/a")
    booted(app)
    rec = record(app, "GET", "/a/v2")
    assert rec.config == {"tagged": True}
    assert rec.on_request == (added,)


def test_on_route_is_inherited_by_children_not_by_parents():
    app = fastcore.App()
    root_seen, child_seen = [], []
    app.add_hook("on_route", lambda o: root_seen.append(o["url"]))

    def child(ctx, opts):
        ctx.add_hook("on_route", lambda o: child_seen.append(o["url"]))
        ctx.get("/c", ok)

    app.register(child)
    app.register(lambda ctx, opts: ctx.get("/sibling", ok))
    booted(app)
    app_routes = ["/c", "/sibling"]
    assert root_seen == app_routes
    assert child_seen == ["/c"]


@pytest.mark.parametrize("name, args", [("on_route", 1), ("on_register", 2)])
@pytest.mark.parametrize("waits", [False, True])
def test_async_sync_only_hook_is_refused_when_added(name, args, waits):
    app = fastcore.App()

    async def hook(*given):
        if waits:
            await asyncio.sleep(0)

    with pytest.raises(errors.HookInvalidAsyncHandlerError, match=name):
        app.add_hook(name, hook)
    with pytest.raises(errors.HookInvalidAsyncHandlerError):
        app.hook(name)(hook)
    app.get("/a", ok)                    # nothing was added: routes still register
    assert app.inject_sync("GET", "/a").body == b"ok"


# --- on_register ------------------------------------------------------------------------------

def test_on_register_gets_each_new_child_context_and_its_options():
    app = fastcore.App()
    seen = []
    app.add_hook("on_register", lambda child, opts: seen.append((child, dict(opts))))
    contexts = []

    def plugin(ctx, opts):
        contexts.append(ctx)

    app.register(plugin, prefix="/p", a=1)
    app.register(fastcore.plugin(lambda ctx, opts: None))   # no new context
    booted(app)
    assert seen == [(contexts[0], {"a": 1, "prefix": "/p"})]


def test_on_register_runs_before_the_plugin_and_can_decorate_it():
    app = fastcore.App()
    seen = []

    def on_register(child, opts):
        child.decorate("tag", opts.get("tag"))

    app.add_hook("on_register", on_register)
    app.register(lambda ctx, opts: seen.append(ctx.tag), tag="t1")
    booted(app)
    assert seen == ["t1"]


def test_on_register_is_inherited_by_grandchildren():
    app = fastcore.App()
    seen = []
    app.add_hook("on_register", lambda child, opts: seen.append(child.prefix))

    def child(ctx, opts):
        ctx.register(lambda c, o: None, prefix="/g")

    app.register(child, prefix="/c")
    booted(app)
    assert seen == ["/c", "/c/g"]


def test_on_register_failure_is_a_boot_error_naming_the_plugin():
    app = fastcore.App()

    def on_register(child, opts):
        raise RuntimeError("nope")

    def plugin(ctx, opts):
        pass

    app.add_hook("on_register", on_register)
    app.register(plugin)
    with pytest.raises(errors.PluginBootError, match="plugin"):
        booted(app)


# --- on_listen, pre_close, on_close ----------------------------------------------------------

def test_listen_and_close_hooks_run_in_their_order():
    app = fastcore.App()
    events = []
    app.add_hook("on_listen", lambda: events.append("listen"))
    app.add_hook("pre_close", lambda: events.append("pre_close: %d servers open"
                                                    % sum(s.is_serving() for s in app._servers)))
    app.add_hook("on_close", lambda a: events.append(("close 1", a)))

    async def close_two(a):
        await asyncio.sleep(0)
        events.append(("close 2", a))

    app.add_hook("on_close", close_two)
    contexts = []

    def plugin(ctx, opts):
        contexts.append(ctx)
        ctx.add_hook("on_close", lambda a: events.append(("close child", a)))

    app.register(plugin)

    async def main():
        await app.listen(port=0)
        events.append("serving")
        await app.close()
        await app.close()

    asyncio.run(main())
    assert events == ["listen", "serving", "pre_close: 1 servers open",
                      ("close child", contexts[0]), ("close 2", app), ("close 1", app)]


def test_close_hooks_run_for_an_app_that_only_injected():
    app = fastcore.App()
    events = []
    app.add_hook("pre_close", lambda: events.append("pre"))
    app.add_hook("on_close", lambda a: events.append("close"))
    app.get("/", ok)

    async def main():
        await app.inject("GET", "/")
        await app.close()

    asyncio.run(main())
    assert events == ["pre", "close"]


def test_failing_close_hook_is_logged_and_the_others_still_run(caplog):
    app = fastcore.App()
    events = []

    def broken(a):
        raise RuntimeError("close failed")

    app.add_hook("on_close", lambda a: events.append("first added"))
    app.add_hook("on_close", broken)

    with caplog.at_level(logging.ERROR, logger="fastcore"):
        asyncio.run(app.close())
    assert events == ["first added"]
    assert any("on_close" in r.getMessage() for r in caplog.records)


def test_on_close_hooks_run_once_across_event_loops():
    app = fastcore.App()
    events = []
    app.add_hook("on_close", lambda a: events.append("close"))
    asyncio.run(app.close())
    asyncio.run(app.close())
    assert events == ["close"]
