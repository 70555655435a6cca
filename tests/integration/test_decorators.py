"""Decorations (SPEC §4): decorate, decorate_request, decorate_reply, their
visibility through the context tree, and the errors they raise."""
from __future__ import annotations

import datetime
import decimal
import enum

import pytest

import fastcore
from fastcore import errors
from tests.integration.helpers import booted


def child_contexts(app, *prefixes):
    """Register one plain child per prefix; returns them once booted."""
    kept = []
    for prefix in prefixes:
        app.register(lambda ctx, opts: kept.append(ctx), prefix=prefix)
    booted(app)
    return kept


# --- decorate ----------------------------------------------------------------------------------

def test_decorate_is_read_as_an_attribute():
    app = fastcore.App()
    pool = object()
    assert app.decorate("db", pool) is app
    assert app.db is pool
    assert app.has_decorator("db")
    assert not app.has_decorator("cache")


def test_missing_attribute_is_still_an_attribute_error():
    app = fastcore.App()
    with pytest.raises(AttributeError, match="nothing"):
        app.nothing
    assert not hasattr(app, "nothing")


def test_instance_decoration_may_be_any_value():
    app = fastcore.App()
    app.decorate("registry", {})
    app.decorate("items", [])
    app.registry["a"] = 1
    assert app.registry == {"a": 1}


def test_function_decoration_is_returned_as_is():
    app = fastcore.App()

    def util(x):
        return x * 2

    app.decorate("util", util)
    assert app.util(21) == 42


def test_child_sees_parent_decorations_but_not_the_reverse():
    app = fastcore.App()
    app.decorate("shared", 1)
    seen = {}

    def child(ctx, opts):
        seen["shared"] = ctx.shared
        ctx.decorate("private", 2)
        seen["private"] = ctx.private

    app.register(child)
    booted(app)
    assert seen == {"shared": 1, "private": 2}
    assert not app.has_decorator("private")
    with pytest.raises(AttributeError):
        app.private


def test_parent_decoration_added_later_is_visible_in_a_child():
    app = fastcore.App()
    seen = []
    app.register(lambda ctx, opts: seen.append(ctx.late))
    app.decorate("late", "yes")
    booted(app)
    assert seen == ["yes"]


def test_siblings_may_use_the_same_name():
    app = fastcore.App()
    values = []
    app.register(lambda ctx, opts: (ctx.decorate("x", 1), values.append(ctx.x)))
    app.register(lambda ctx, opts: (ctx.decorate("x", 2), values.append(ctx.x)))
    booted(app)
    assert values == [1, 2]


def test_grandchild_sees_every_ancestor():
    app = fastcore.App()
    app.decorate("a", 1)
    seen = []

    def child(ctx, opts):
        ctx.decorate("b", 2)
        ctx.register(lambda c, o: seen.append((c.a, c.b, c.has_decorator("a"))))

    app.register(child)
    booted(app)
    assert seen == [(1, 2, True)]


def test_wrapped_plugin_decorates_the_parent():
    app = fastcore.App()
    app.register(fastcore.plugin(lambda ctx, opts: ctx.decorate("db", "pool"), name="db"))
    seen = []
    app.register(lambda ctx, opts: seen.append(ctx.db))
    booted(app)
    assert app.db == "pool" and seen == ["pool"]


def test_redefining_a_decoration_is_refused():
    app = fastcore.App()
    app.decorate("db", 1)
    with pytest.raises(errors.DecAlreadyPresentError) as info:
        app.decorate("db", 2)
    assert info.value.code == "FC_ERR_DEC_ALREADY_PRESENT"
    assert "db" in str(info.value)
    assert app.db == 1


def test_child_cannot_redefine_a_parent_decoration():
    app = fastcore.App()
    app.decorate("db", 1)
    app.register(lambda ctx, opts: ctx.decorate("db", 2))
    with pytest.raises(errors.PluginBootError) as info:
        booted(app)
    assert isinstance(info.value.__cause__, errors.DecAlreadyPresentError)


@pytest.mark.parametrize("name", ["get", "register", "decorate", "prefix", "parsers",
                                  "ready", "listen", "_router"])
def test_decoration_cannot_shadow_an_app_attribute(name):
    app = fastcore.App()
    with pytest.raises(errors.DecAlreadyPresentError):
        app.decorate(name, 1)


def test_decoration_cannot_shadow_a_context_method_in_a_child():
    app = fastcore.App()
    app.register(lambda ctx, opts: ctx.decorate("route", 1))
    with pytest.raises(errors.PluginBootError) as info:
        booted(app)
    assert isinstance(info.value.__cause__, errors.DecAlreadyPresentError)


def test_decoration_name_must_be_a_string():
    with pytest.raises(TypeError):
        fastcore.App().decorate(1, "x")


def test_dependencies_must_be_decorated_first():
    app = fastcore.App()
    with pytest.raises(errors.DecMissingDependencyError) as info:
        app.decorate("users", 1, dependencies=["db"])
    assert info.value.code == "FC_ERR_DEC_MISSING_DEPENDENCY"
    assert "db" in str(info.value)
    app.decorate("db", 0)
    app.decorate("users", 1, dependencies=["db"])
    assert app.users == 1


def test_dependency_from_an_ancestor_counts():
    app = fastcore.App()
    app.decorate("db", 0)
    seen = []
    app.register(lambda ctx, opts: (ctx.decorate("users", 1, dependencies=("db",)),
                                     seen.append(ctx.users)))
    booted(app)
    assert seen == [1]


# --- decorate_request / decorate_reply -----------------------------------------------------------

def test_request_and_reply_decorations_are_visible_through_ancestors():
    app = fastcore.App()
    app.decorate_request("user", None)
    app.decorate_reply("theme", "dark")
    assert app.has_request_decorator("user") and not app.has_reply_decorator("user")
    assert app.has_reply_decorator("theme") and not app.has_request_decorator("theme")
    child, = child_contexts(app, "/c")
    assert child.has_request_decorator("user") and child.has_reply_decorator("theme")
    assert child.get_request_decoration("user") is None
    assert child.get_reply_decoration("theme") == "dark"


def test_request_decorations_do_not_leak_to_parent_or_siblings():
    app = fastcore.App()
    kept = []

    def a(ctx, opts):
        ctx.decorate_request("only_a", 1)
        kept.append(ctx)

    app.register(a)
    b, = child_contexts(app, "/b")
    assert kept[0].get_request_decoration("only_a") == 1
    for ctx in (app, b):
        assert not ctx.has_request_decorator("only_a")
        with pytest.raises(AttributeError):
            ctx.get_request_decoration("only_a")


def test_get_decoration_of_an_unknown_name_is_an_attribute_error():
    app = fastcore.App()
    with pytest.raises(AttributeError, match="nope"):
        app.get_request_decoration("nope")
    with pytest.raises(AttributeError, match="nope"):
        app.get_reply_decoration("nope")


def test_function_default_is_returned_unbound():
    app = fastcore.App()

    def greet(name):
        return "hi " + name

    app.decorate_request("greet", greet)
    booted(app)
    assert app.get_request_decoration("greet") is greet


class Color(enum.Enum):
    RED = 1


@pytest.mark.parametrize("default", [
    None, 0, 1.5, True, "text", b"bytes", (1, "a", None), frozenset({1, 2}),
    decimal.Decimal("1.1"), datetime.date(2024, 1, 1), Color.RED, len, lambda: None, object])
def test_immutable_or_callable_defaults_are_accepted(default):
    app = fastcore.App()
    app.decorate_request("value", default)
    app.decorate_reply("value", default)


@pytest.mark.parametrize("default", [
    {}, [], set(), bytearray(b"x"), {"a": 1}, [1], object(), (1, []), (1, {"nested": 1})])
def test_mutable_defaults_are_refused(default):
    app = fastcore.App()
    with pytest.raises(errors.DecReferenceTypeError) as info:
        app.decorate_request("value", default)
    assert info.value.code == "FC_ERR_DEC_REFERENCE_TYPE"
    with pytest.raises(errors.DecReferenceTypeError):
        app.decorate_reply("value", default)
    assert not app.has_request_decorator("value")


@pytest.mark.parametrize("name", ["method", "url", "params", "body", "headers", "query", "id"])
def test_request_decoration_cannot_shadow_a_request_attribute(name):
    with pytest.raises(errors.DecAlreadyPresentError):
        fastcore.App().decorate_request(name, None)


@pytest.mark.parametrize("name", ["code", "send", "header", "status_code", "sent", "request"])
def test_reply_decoration_cannot_shadow_a_reply_attribute(name):
    with pytest.raises(errors.DecAlreadyPresentError):
        fastcore.App().decorate_reply(name, None)


def test_request_decoration_redefined_in_a_child_is_refused():
    app = fastcore.App()
    app.decorate_request("user", None)
    app.register(lambda ctx, opts: ctx.decorate_request("user", None))
    with pytest.raises(errors.PluginBootError) as info:
        booted(app)
    assert isinstance(info.value.__cause__, errors.DecAlreadyPresentError)


def test_request_decoration_dependencies():
    app = fastcore.App()
    with pytest.raises(errors.DecMissingDependencyError):
        app.decorate_request("session", None, dependencies=["user"])
    app.decorate_request("user", None)
    app.decorate_request("session", None, dependencies=["user"])
    with pytest.raises(errors.DecMissingDependencyError):
        app.decorate_reply("x", None, dependencies=["user"])   # a request decoration


# --- read per request ---------------------------------------------------------------------------

def test_request_reads_the_default_of_its_route_context():
    app = fastcore.App()
    app.decorate_request("user", None)
    app.decorate_reply("theme", "dark")
    app.get("/x", lambda request, reply: {"user": request.user, "theme": reply.theme})

    def child(ctx, opts):
        ctx.decorate_request("role", "guest")
        ctx.get("/c", lambda request, reply: {"user": request.user, "role": request.role})

    app.register(child)
    assert app.inject_sync("GET", "/x").json() == {"user": None, "theme": "dark"}
    assert app.inject_sync("GET", "/c").json() == {"user": None, "role": "guest"}


def test_value_set_in_a_hook_is_per_request():
    app = fastcore.App()
    app.decorate_request("user", None)

    @app.hook("on_request")
    def authenticate(request, reply):
        if "x-user" in request.headers:
            request.user = request.headers["x-user"]

    app.get("/me", lambda request, reply: {"user": request.user})
    assert app.inject_sync("GET", "/me", headers={"x-user": "ada"}).json() == {"user": "ada"}
    assert app.inject_sync("GET", "/me").json() == {"user": None}


def test_undecorated_attribute_is_an_error_in_a_handler():
    app = fastcore.App()
    app.register(lambda ctx, opts: ctx.decorate_request("only_here", 1))
    app.get("/x", lambda request, reply: request.only_here)
    assert app.inject_sync("GET", "/x").status_code == 500


def test_not_found_requests_read_the_defaults_of_their_prefix():
    app = fastcore.App()
    app.decorate_request("user", None)
    app.decorate_reply("theme", "dark")
    app.set_not_found_handler(lambda request, reply: reply.code(404).send(
        {"user": request.user, "theme": reply.theme}))

    def api(ctx, opts):
        ctx.decorate_request("role", "guest")
        ctx.set_not_found_handler(lambda request, reply: reply.code(404).send(
            {"user": request.user, "role": request.role, "theme": reply.theme}))

    app.register(api, prefix="/api")
    assert app.inject_sync("GET", "/nope").json() == {"user": None, "theme": "dark"}
    assert app.inject_sync("GET", "/api/nope").json() == {"user": None, "role": "guest",
                                                          "theme": "dark"}


def test_a_value_set_on_one_request_is_not_seen_by_the_next():
    app = fastcore.App()
    app.decorate_reply("marks", ())

    @app.get("/x")
    def handler(request, reply):
        seen = reply.marks
        reply.marks = seen + ("set",)
        return {"seen": list(seen)}

    for _ in range(3):
        assert app.inject_sync("GET", "/x").json() == {"seen": []}
