"""Plugins (SPEC §4): queueing, boot order, after(), fastcore.plugin, names and
dependencies, prefixes, options, and the plugin tree."""
from __future__ import annotations

import asyncio
import re
import warnings

import pytest

import fastcore
from fastcore import errors
from tests.integration.helpers import booted as boot, ok


# --- queueing and order ---------------------------------------------------------------------

def test_register_queues_until_ready():
    app = fastcore.App()
    ran = []
    app.register(lambda ctx, opts: ran.append("p"))
    assert ran == []
    boot(app)
    assert ran == ["p"]


def test_register_returns_the_context_for_chaining():
    app = fastcore.App()
    assert app.register(lambda ctx, opts: None) is app


def test_plugins_boot_in_registration_order_depth_first():
    app = fastcore.App()
    order = []

    def a(ctx, opts):
        order.append("a")
        ctx.register(a1)
        ctx.register(a2)

    def a1(ctx, opts):
        order.append("a1")
        ctx.register(a1x)

    def a1x(ctx, opts):
        order.append("a1x")

    def a2(ctx, opts):
        order.append("a2")

    def b(ctx, opts):
        order.append("b")

    app.register(a)
    app.register(b)
    boot(app)
    assert order == ["a", "a1", "a1x", "a2", "b"]


def test_children_boot_after_their_plugin_returns():
    app = fastcore.App()
    order = []

    async def parent(ctx, opts):
        ctx.register(lambda c, o: order.append("child"))
        order.append("parent registered")
        await asyncio.sleep(0)
        order.append("parent done")

    app.register(parent)
    boot(app)
    assert order == ["parent registered", "parent done", "child"]


def test_sync_and_async_plugins_both_boot():
    app = fastcore.App()

    def sync_plugin(ctx, opts):
        ctx.get("/sync", ok)

    async def async_plugin(ctx, opts):
        await asyncio.sleep(0)
        ctx.get("/async", ok)

    app.register(sync_plugin)
    app.register(async_plugin)
    assert app.inject_sync("GET", "/sync").body == b"ok"
    assert app.inject_sync("GET", "/async").body == b"ok"


def test_sync_plugin_returning_an_awaitable_is_awaited():
    app = fastcore.App()
    done = []

    async def later(ctx):
        await asyncio.sleep(0)
        done.append(ctx)

    app.register(lambda ctx, opts: later(ctx))
    boot(app)
    assert len(done) == 1


def test_after_boots_what_is_queued_so_far_inside_a_plugin():
    app = fastcore.App()
    order = []

    async def parent(ctx, opts):
        ctx.register(lambda c, o: order.append("first"))
        await ctx.after()
        order.append("after")
        ctx.register(lambda c, o: order.append("second"))

    app.register(parent)
    boot(app)
    assert order == ["first", "after", "second"]


def test_after_at_top_level_boots_the_root_queue():
    app = fastcore.App()
    order = []
    app.register(lambda ctx, opts: order.append("one"))

    async def main():
        await app.after()
        order.append("after")
        app.register(lambda ctx, opts: order.append("two"))
        await app.ready()

    asyncio.run(main())
    assert order == ["one", "after", "two"]


def test_plugin_receives_its_options():
    app = fastcore.App()
    seen = {}
    app.register(lambda ctx, opts: seen.update(opts), dsn="x://", size=3)
    boot(app)
    assert seen == {"dsn": "x://", "size": 3}


def test_plugin_options_include_the_prefix():
    app = fastcore.App()
    seen = {}
    app.register(lambda ctx, opts: seen.update(opts), prefix="/v1", n=1)
    boot(app)
    assert seen == {"n": 1, "prefix": "/v1"}


def test_register_refuses_a_non_callable():
    app = fastcore.App()
    with pytest.raises(TypeError):
        app.register("not a plugin")


# --- contexts -------------------------------------------------------------------------------

def test_unwrapped_plugin_gets_a_child_context():
    app = fastcore.App()
    seen = []
    app.register(lambda ctx, opts: seen.append(ctx))
    boot(app)
    assert isinstance(seen[0], fastcore.Context)
    assert seen[0] is not app


def test_wrapped_plugin_runs_in_the_registering_context():
    app = fastcore.App()
    seen = []

    @fastcore.plugin
    def shared(ctx, opts):
        seen.append(ctx)
        ctx.decorate("shared_value", 1)

    app.register(shared)
    boot(app)
    assert seen == [app]
    assert app.shared_value == 1


def test_plugin_marker_with_arguments_and_direct_call():
    def fn(ctx, opts):
        ctx.decorate("x", 1)

    marked = fastcore.plugin(fn, name="x-plugin", dependencies=["a"])
    assert marked.name == "x-plugin"
    assert marked.dependencies == ("a",)
    assert marked.__wrapped__ is fn
    decorated = fastcore.plugin(name="y")(fn)
    assert decorated.name == "y"
    assert fastcore.plugin(fn).name == fn.__qualname__


def test_wrapped_plugin_with_encapsulate_gets_its_own_context():
    app = fastcore.App()
    seen = []
    app.register(fastcore.plugin(lambda ctx, opts: seen.append(ctx), encapsulate=True,
                                 name="enc"))
    boot(app)
    assert seen[0] is not app


def test_children_of_a_wrapped_plugin_boot_right_after_it():
    app = fastcore.App()
    order = []

    @fastcore.plugin
    def wrapped(ctx, opts):
        order.append("wrapped")
        ctx.register(lambda c, o: order.append("wrapped child"))

    app.register(wrapped)
    app.register(lambda c, o: order.append("sibling"))
    boot(app)
    assert order == ["wrapped", "wrapped child", "sibling"]


def test_prefix_is_ignored_with_a_warning_for_a_wrapped_plugin():
    app = fastcore.App()

    @fastcore.plugin
    def wrapped(ctx, opts):
        ctx.get("/x", ok)

    with pytest.warns(UserWarning, match="prefix"):
        app.register(wrapped, prefix="/ignored")
    assert app.inject_sync("GET", "/x").status_code == 200


# --- prefixes --------------------------------------------------------------------------------

def test_prefixes_compose_through_nested_registers():
    app = fastcore.App()
    app.get("/first", lambda r, p: {"route": "/first"})

    def v1(ctx, opts):
        ctx.get("/first", lambda r, p: {"route": "/v1/first"})

        def v2(ctx2, opts2):
            ctx2.get("/first", lambda r, p: {"route": "/v1/v2/first"})
        ctx.register(v2, prefix="/v2")

    app.register(v1, prefix="/v1")
    for url in ("/first", "/v1/first", "/v1/v2/first"):
        assert app.inject_sync("GET", url).json() == {"route": url}


@pytest.mark.parametrize("given, expected", [
    ("/v1", "/v1"), ("v1", "/v1"), ("/v1/", "/v1"), ("/", ""), ("", "")])
def test_prefix_is_normalized(given, expected):
    app = fastcore.App()
    seen = []
    app.register(lambda ctx, opts: seen.append(ctx.prefix), prefix=given)
    boot(app)
    assert seen == [expected]


def test_slash_route_in_a_prefixed_context_answers_with_and_without_slash():
    app = fastcore.App()
    app.register(lambda ctx, opts: ctx.get("/", ok), prefix="/v1")
    assert app.inject_sync("GET", "/v1").body == b"ok"
    assert app.inject_sync("GET", "/v1/").body == b"ok"


def test_empty_url_in_a_prefixed_context_is_the_prefix():
    app = fastcore.App()
    app.register(lambda ctx, opts: ctx.get("", ok), prefix="/v1")
    assert app.inject_sync("GET", "/v1").body == b"ok"
    assert app.inject_sync("GET", "/v1/").status_code == 404


def test_slash_route_in_a_prefixed_context_with_ignore_trailing_slash():
    app = fastcore.App(ignore_trailing_slash=True)
    app.register(lambda ctx, opts: ctx.get("/", ok), prefix="/v1")
    assert app.inject_sync("GET", "/v1").body == b"ok"
    assert app.inject_sync("GET", "/v1/").body == b"ok"
    assert [url for _, url, _ in app.routes if url.startswith("/v1")] == ["/v1", "/v1"]


def test_wildcard_in_a_prefixed_context():
    app = fastcore.App()
    app.register(lambda ctx, opts: ctx.get("*", lambda r, p: r.params["*"]), prefix="/files")
    assert app.inject_sync("GET", "/files/a/b.txt").body == b"a/b.txt"


def test_root_context_has_an_empty_prefix():
    assert fastcore.App().prefix == ""


# --- names and dependencies -------------------------------------------------------------------

def test_dependency_loaded_before_is_present():
    app = fastcore.App()
    app.register(fastcore.plugin(lambda ctx, opts: ctx.decorate("db", 1), name="db"))
    app.register(fastcore.plugin(lambda ctx, opts: ctx.decorate("users", ctx.db + 1),
                                 name="users", dependencies=["db"]))
    boot(app)
    assert app.users == 2
    assert app.has_plugin("db") and app.has_plugin("users")


def test_missing_dependency_is_raised_by_ready_unwrapped():
    app = fastcore.App()
    app.register(fastcore.plugin(lambda ctx, opts: None, name="users", dependencies=["db"]))
    with pytest.raises(errors.PluginNotPresentError) as info:
        boot(app)
    assert info.value.code == "FC_ERR_PLUGIN_NOT_PRESENT"
    assert '"db"' in str(info.value) and '"users"' in str(info.value)


def test_dependency_registered_after_is_not_present():
    app = fastcore.App()
    app.register(fastcore.plugin(lambda ctx, opts: None, name="users", dependencies=["db"]))
    app.register(fastcore.plugin(lambda ctx, opts: None, name="db"))
    with pytest.raises(errors.PluginNotPresentError):
        boot(app)


def test_dependency_hidden_in_a_sibling_context_is_not_present():
    app = fastcore.App()

    def isolated(ctx, opts):
        ctx.register(fastcore.plugin(lambda c, o: None, name="db"))

    app.register(isolated)
    app.register(fastcore.plugin(lambda ctx, opts: None, name="users", dependencies=["db"]))
    with pytest.raises(errors.PluginNotPresentError):
        boot(app)


def test_dependency_of_the_parent_is_present_in_a_child():
    app = fastcore.App()
    app.register(fastcore.plugin(lambda ctx, opts: None, name="db"))

    def child(ctx, opts):
        ctx.register(fastcore.plugin(lambda c, o: c.get("/x", ok), name="users",
                                     dependencies=("db",)))

    app.register(child)
    assert app.inject_sync("GET", "/x").body == b"ok"


def test_missing_dependency_also_fails_listen():
    app = fastcore.App()
    app.register(fastcore.plugin(lambda ctx, opts: None, name="users", dependencies=["db"]))

    async def main():
        with pytest.raises(errors.PluginNotPresentError):
            await app.listen(port=0)

    asyncio.run(main())


# --- print_plugins ------------------------------------------------------------------------------

def test_print_plugins_shows_the_tree_with_boot_times():
    app = fastcore.App()

    async def products(ctx, opts):
        ctx.register(fastcore.plugin(lambda c, o: None, name="reviews"))

    app.register(fastcore.plugin(lambda ctx, opts: None, name="db"))
    app.register(products, prefix="/products")
    boot(app)
    tree = app.print_plugins()
    ms = r"\d+\.\d\d ms"
    lines = tree.splitlines()
    assert re.fullmatch(r"root " + ms, lines[0])
    assert re.fullmatch(r"├── db " + ms, lines[1])
    assert re.fullmatch(r"└── " + re.escape(products.__qualname__) + " " + ms, lines[2])
    assert re.fullmatch(r"    └── reviews " + ms, lines[3])
    assert len(lines) == 4


def test_print_plugins_before_boot_marks_queued_plugins():
    app = fastcore.App()
    app.register(fastcore.plugin(lambda ctx, opts: None, name="db"))
    assert app.print_plugins() == "root (not booted)\n└── db (not booted)\n"


def test_print_plugins_from_a_child_shows_the_whole_tree():
    app = fastcore.App()
    trees = []
    app.register(fastcore.plugin(lambda ctx, opts: None, name="a"))
    app.register(fastcore.plugin(lambda ctx, opts: trees.append(ctx), name="b",
                                 encapsulate=True))
    boot(app)
    assert trees[0].print_plugins() == app.print_plugins()


def test_no_warning_when_registering_plainly():
    app = fastcore.App()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app.register(lambda ctx, opts: None, prefix="/x")
        boot(app)
