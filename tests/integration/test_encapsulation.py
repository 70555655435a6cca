"""Encapsulation (SPEC §4, §5, §6): what a route record takes from its context
(error-handler chain, content-type parsers, the context itself), not-found
handlers by prefix, and what a context leaks to nobody."""
from __future__ import annotations

import warnings

import pytest

import fastcore
from fastcore import errors
from fastcore.content_types import ContentTypeParsers
from tests.integration.helpers import ok, record, booted


def handler_named(name):
    def handler(error, request, reply):
        return {"handled_by": name}
    handler.__qualname__ = name
    return handler


# --- record.context ------------------------------------------------------------------------------

def test_record_context_is_the_declaring_context():
    app = fastcore.App()
    kept = []

    def child(ctx, opts):
        kept.append(ctx)
        ctx.get("/c", ok)

    app.register(child, prefix="/p")
    app.register(fastcore.plugin(lambda ctx, opts: ctx.get("/w", ok)))
    app.get("/r", ok)
    booted(app)
    assert record(app, "GET", "/p/c").context is kept[0]
    assert record(app, "GET", "/w").context is app
    assert record(app, "GET", "/r").context is app


def test_request_app_is_the_route_context():
    app = fastcore.App()
    kept = []

    def child(ctx, opts):
        kept.append(ctx)
        ctx.get("/c", lambda request, reply: request.app.prefix)

    app.register(child, prefix="/p")
    assert app.inject_sync("GET", "/p/c").body == b"/p"


# --- error handlers --------------------------------------------------------------------------

def test_no_error_handler_anywhere_gives_none():
    app = booted(_route(fastcore.App(), "/x"))
    assert record(app, "GET", "/x").error_handlers is None


def _route(app, url, **options):
    app.get(url, ok, **options)
    return app


def test_error_handlers_are_nearest_first():
    app = fastcore.App()
    root, child_h, grandchild_h, route_h = (handler_named(n) for n in
                                            ("root", "child", "grandchild", "route"))
    app.set_error_handler(root)

    def child(ctx, opts):
        ctx.set_error_handler(child_h)
        ctx.get("/c", ok)

        def grandchild(c, o):
            c.set_error_handler(grandchild_h)
            c.get("/g", ok, error_handler=route_h)
            c.get("/g2", ok)
        ctx.register(grandchild)

        def plain(c, o):
            c.get("/plain", ok)
        ctx.register(plain)

    app.register(child)
    app.get("/r", ok)
    booted(app)
    assert record(app, "GET", "/r").error_handlers == (root,)
    assert record(app, "GET", "/c").error_handlers == (child_h, root)
    assert record(app, "GET", "/g").error_handlers == (route_h, grandchild_h, child_h, root)
    assert record(app, "GET", "/g2").error_handlers == (grandchild_h, child_h, root)
    assert record(app, "GET", "/plain").error_handlers == (child_h, root)


def test_route_error_handler_alone():
    route_h = handler_named("route")
    app = booted(_route(fastcore.App(), "/x", error_handler=route_h))
    assert record(app, "GET", "/x").error_handlers == (route_h,)


def test_child_error_handler_does_not_leak_to_siblings_or_parent():
    app = fastcore.App()
    mine = handler_named("mine")

    def a(ctx, opts):
        ctx.set_error_handler(mine)
        ctx.get("/a", ok)

    app.register(a)
    app.register(lambda ctx, opts: ctx.get("/b", ok))
    app.get("/root", ok)
    booted(app)
    assert record(app, "GET", "/a").error_handlers == (mine,)
    assert record(app, "GET", "/b").error_handlers is None
    assert record(app, "GET", "/root").error_handlers is None


def test_error_handler_set_after_routes_still_applies():
    app = fastcore.App()
    app.get("/x", ok)
    late = handler_named("late")
    app.set_error_handler(late)
    booted(app)
    assert record(app, "GET", "/x").error_handlers == (late,)


def test_wrapped_plugin_sets_the_parent_error_handler():
    app = fastcore.App()
    h = handler_named("h")
    app.register(fastcore.plugin(lambda ctx, opts: ctx.set_error_handler(h)))
    app.get("/x", ok)
    booted(app)
    assert record(app, "GET", "/x").error_handlers == (h,)


def test_second_error_handler_in_a_context_replaces_with_a_warning():
    app = fastcore.App()
    first, second = handler_named("first"), handler_named("second")
    app.set_error_handler(first)
    with pytest.warns(UserWarning, match="already set"):
        assert app.set_error_handler(second) is app
    app.get("/x", ok)
    booted(app)
    assert record(app, "GET", "/x").error_handlers == (second,)


def test_second_error_handler_is_refused_without_override():
    app = fastcore.App(allow_error_handler_override=False)
    first = handler_named("first")
    app.set_error_handler(first)
    with pytest.raises(errors.ErrorHandlerAlreadySetError) as info:
        app.set_error_handler(handler_named("second"))
    assert info.value.code == "FC_ERR_ERROR_HANDLER_ALREADY_SET"
    app.get("/x", ok)
    booted(app)
    assert record(app, "GET", "/x").error_handlers == (first,)


def test_child_may_set_its_own_handler_without_override():
    app = fastcore.App(allow_error_handler_override=False)
    app.set_error_handler(handler_named("root"))
    app.register(lambda ctx, opts: ctx.set_error_handler(handler_named("child")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        booted(app)


def test_error_handler_must_be_callable():
    with pytest.raises(TypeError):
        fastcore.App().set_error_handler("nope")


# --- not-found handlers by prefix ---------------------------------------------------------------

def _not_found_app():
    app = fastcore.App()

    def api(ctx, opts):
        ctx.set_not_found_handler(lambda r, p: {"where": "api"})

        def v2(c, o):
            c.set_not_found_handler(lambda r, p: {"where": "v2"})
        ctx.register(v2, prefix="/v2")
        ctx.register(lambda c, o: c.get("/items", ok), prefix="/v3")

    app.register(api, prefix="/api")
    return app


@pytest.mark.parametrize("url, where", [
    ("/api", "api"), ("/api/", "api"), ("/api/nope", "api"), ("/api/v2", "v2"),
    ("/api/v2/x/y", "v2"), ("/api/v22", "api"), ("/api/v3/nope", "api"),
    ("/api/nope?x=1", "api")])
def test_deepest_matching_prefix_handles_the_404(url, where):
    response = _not_found_app().inject_sync("GET", url)
    assert response.status_code == 404
    assert response.json() == {"where": where}


@pytest.mark.parametrize("url", ["/apix", "/nope", "/", "/API/x"])
def test_paths_outside_every_prefix_get_the_default_404(url):
    response = _not_found_app().inject_sync("GET", url)
    assert response.status_code == 404
    assert response.json() == {"message": "Route GET:%s not found" % url,
                               "error": "Not Found", "statusCode": 404}


def test_prefix_match_ignores_case_when_routes_do():
    app = fastcore.App(case_sensitive=False)
    app.register(lambda ctx, opts: ctx.set_not_found_handler(lambda r, p: "api"),
                 prefix="/api")
    assert app.inject_sync("GET", "/API/x").body == b"api"


def test_root_not_found_handler_replaces_the_default():
    app = fastcore.App()
    app.set_not_found_handler(lambda request, reply: {"custom": request.url})
    response = app.inject_sync("GET", "/nope")
    assert (response.status_code, response.json()) == (404, {"custom": "/nope"})
    assert app._not_found_resolver is None


def test_not_found_handler_as_a_decorator():
    app = fastcore.App()

    @app.set_not_found_handler(pre_handler=lambda request, reply: None)
    def missing(request, reply):
        return "missing"

    assert callable(missing)
    assert app.inject_sync("GET", "/nope").body == b"missing"


def test_not_found_handler_of_a_child_without_prefix_is_app_wide():
    app = fastcore.App()
    app.register(lambda ctx, opts: ctx.set_not_found_handler(lambda r, p: "child"))
    assert app.inject_sync("GET", "/anything").body == b"child"


def test_not_found_record_hooks_are_those_of_its_context():
    app = fastcore.App()
    root_hook = lambda r, p: None  # noqa: E731
    api_hook = lambda r, p: None  # noqa: E731
    pre = lambda r, p: None  # noqa: E731
    app.add_hook("on_request", root_hook)
    kept = []

    def api(ctx, opts):
        kept.append(ctx)
        ctx.add_hook("on_request", api_hook)
        ctx.set_not_found_handler(ok, pre_handler=pre)

    app.register(api, prefix="/api")
    booted(app)
    resolve = app._not_found_resolver
    api_record = resolve("/api/x")
    assert api_record.is_not_found and api_record.context is kept[0]
    assert api_record.on_request == (root_hook, api_hook)
    assert api_record.pre_handler == (pre,)
    root_record = resolve("/x")
    assert root_record is app._not_found
    assert root_record.on_request == (root_hook,) and root_record.pre_handler is None


def test_server_gets_the_not_found_resolver():
    app = _not_found_app()
    app.inject_sync("GET", "/")
    assert app._state.not_found_resolver is app._not_found_resolver
    assert app._state.not_found is app._not_found


def test_second_not_found_handler_for_a_prefix_replaces_with_a_warning():
    app = fastcore.App()
    app.set_not_found_handler(lambda r, p: "first")
    with pytest.warns(UserWarning, match="already set"):
        app.set_not_found_handler(lambda r, p: "second")
    assert app.inject_sync("GET", "/x").body == b"second"


def test_not_found_handler_rejects_unknown_options_and_non_callables():
    app = fastcore.App()
    with pytest.raises(TypeError):
        app.set_not_found_handler(ok, schema={})
    with pytest.raises(errors.RouteMissingHandlerError):
        app.set_not_found_handler(42)
    with pytest.raises(errors.HookInvalidHandlerError):
        app.set_not_found_handler(ok, pre_handler=lambda request: None)


# --- content-type parsers -----------------------------------------------------------------------

def parse_xml(request, body):
    return {"xml": body.decode()}


def test_each_context_has_a_registry_inheriting_its_parent():
    app = fastcore.App()
    kept = []
    app.register(lambda ctx, opts: kept.append(ctx))
    app.register(fastcore.plugin(lambda ctx, opts: kept.append(ctx)))
    booted(app)
    assert isinstance(app.parsers, ContentTypeParsers) and app.parsers.parent is None
    assert kept[0].parsers.parent is app.parsers
    assert kept[1].parsers is app.parsers


def test_records_with_only_builtin_parsers_get_none():
    app = booted(_route(fastcore.App(), "/x"))
    assert record(app, "GET", "/x").parsers is None


def test_child_parser_applies_to_its_routes_only():
    app = fastcore.App()
    kept = []

    def child(ctx, opts):
        kept.append(ctx)
        ctx.add_content_type_parser("application/xml", parse_xml)
        ctx.post("/c", lambda request, reply: request.body)

    app.register(child)
    app.post("/r", lambda request, reply: request.body)
    app.register(lambda ctx, opts: ctx.post("/s", ok))
    booted(app)
    assert record(app, "POST", "/c").parsers is kept[0].parsers
    assert record(app, "POST", "/r").parsers is None
    assert record(app, "POST", "/s").parsers is None
    assert kept[0].has_content_type_parser("application/xml")
    assert not app.has_content_type_parser("application/xml")


def test_root_parser_is_inherited_by_every_record():
    app = fastcore.App()
    assert app.add_content_type_parser("application/xml", parse_xml) is app
    kept = []

    def child(ctx, opts):
        kept.append(ctx)
        ctx.post("/c", ok)

    app.register(child)
    app.post("/r", ok)
    booted(app)
    assert record(app, "POST", "/r").parsers is app.parsers
    assert record(app, "POST", "/c").parsers is kept[0].parsers
    assert kept[0].has_content_type_parser("application/xml")


def test_removing_parsers_in_a_child_hides_them_there_only():
    app = fastcore.App()
    kept = []

    def child(ctx, opts):
        kept.append(ctx)
        ctx.remove_content_type_parser("text/plain")
        ctx.post("/c", ok)

    def bare(ctx, opts):
        kept.append(ctx)
        ctx.remove_all_content_type_parsers()
        ctx.post("/b", ok)

    app.register(child)
    app.register(bare)
    app.post("/r", ok)
    booted(app)
    assert not kept[0].has_content_type_parser("text/plain")
    assert kept[0].has_content_type_parser("application/json")
    assert not kept[1].has_content_type_parser("application/json")
    assert app.has_content_type_parser("text/plain")
    assert record(app, "POST", "/c").parsers is kept[0].parsers
    assert record(app, "POST", "/b").parsers is kept[1].parsers
    assert record(app, "POST", "/r").parsers is None


def test_add_content_type_parser_passes_its_options():
    app = fastcore.App()
    app.add_content_type_parser("application/x-text", lambda r, b: b, parse_as="str",
                                body_limit=10)
    parser = app.parsers.match("application/x-text")
    assert (parser.parse_as, parser.body_limit) == ("str", 10)
    with pytest.raises(errors.CtpAlreadyPresentError):
        app.add_content_type_parser("application/x-text", lambda r, b: b)
