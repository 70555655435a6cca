"""Route registration, lookup and the request object, through ``app.inject``.

Every response is checked for its exact status, its body (as bytes where SPEC
fixes it) and a Content-Length equal to the byte length of that body.
"""
from __future__ import annotations

import asyncio

import orjson
import pytest

import fastcore
from fastcore import errors

ALL_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE")
SHORTHANDS = [("get", "GET"), ("post", "POST"), ("put", "PUT"), ("patch", "PATCH"),
              ("delete", "DELETE"), ("head", "HEAD"), ("options", "OPTIONS"),
              ("trace", "TRACE")]


def assert_length(response) -> None:
    """Content-Length is present and equals the byte length of the body."""
    assert response.headers["content-length"] == str(len(response.body))


def echo_method(request, reply):
    reply.header("x-method", request.method)
    return request.method


def head_of(raw: bytes) -> bytes:
    head, sep, _ = raw.partition(b"\r\n\r\n")
    assert sep, raw
    return head


# --- shorthands and route() -------------------------------------------------------------

@pytest.mark.parametrize("shorthand, method", SHORTHANDS)
def test_shorthand_direct_form_registers_its_method(shorthand, method):
    app = fastcore.App()
    returned = getattr(app, shorthand)("/m", echo_method)
    assert returned is app
    response = app.inject_sync(method, "/m")
    assert response.status_code == 200
    assert response.headers["x-method"] == method
    assert response.headers["content-length"] == str(len(method))
    assert response.body == (b"" if method == "HEAD" else method.encode())
    others = [m for m in ALL_METHODS if m != method and not (method == "GET" and m == "HEAD")]
    for other in others:
        assert app.inject_sync(other, "/m").status_code == 404, other


@pytest.mark.parametrize("shorthand, method", SHORTHANDS)
def test_shorthand_decorator_form_returns_the_function(shorthand, method):
    app = fastcore.App()

    @getattr(app, shorthand)("/d")
    def handler(request, reply):
        reply.header("x-method", request.method)
        return "decorated"

    assert callable(handler) and handler.__name__ == "handler"
    response = app.inject_sync(method, "/d")
    assert response.status_code == 200
    assert response.headers["x-method"] == method
    assert response.headers["content-length"] == "9"


def test_all_answers_every_http_method():
    app = fastcore.App()
    app.all("/any", echo_method)
    for method in ALL_METHODS:
        response = app.inject_sync(method, "/any")
        assert response.status_code == 200, method
        assert response.headers["x-method"] == method
        assert response.body == (b"" if method == "HEAD" else method.encode())
    assert {m for m, url, _ in app.routes if url == "/any"} == set(ALL_METHODS)


def test_all_decorator_form():
    app = fastcore.App()

    @app.all("/any")
    def handler(request, reply):
        return request.method

    assert app.inject_sync("PATCH", "/any").body == b"PATCH"
    assert app.inject_sync("TRACE", "/any").body == b"TRACE"


def test_route_with_a_list_of_methods():
    app = fastcore.App()
    assert app.route(method=["GET", "POST"], url="/multi", handler=echo_method) is app
    assert app.inject_sync("GET", "/multi").body == b"GET"
    assert app.inject_sync("POST", "/multi").body == b"POST"
    for other in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        assert app.inject_sync(other, "/multi").status_code == 404, other


def test_route_decorator_form_with_a_list_of_methods():
    app = fastcore.App()

    @app.route(method=["PUT", "DELETE"], url="/multi")
    def handler(request, reply):
        return request.method

    assert app.inject_sync("PUT", "/multi").body == b"PUT"
    assert app.inject_sync("DELETE", "/multi").body == b"DELETE"
    assert app.inject_sync("GET", "/multi").status_code == 404


def test_sync_and_async_handlers_answer_alike():
    app = fastcore.App()

    def sync_handler(request, reply):
        return {"kind": "sync"}

    async def async_handler(request, reply):
        return {"kind": "async"}

    app.get("/sync", sync_handler).get("/async", async_handler)
    sync = app.inject_sync("GET", "/sync")
    asynchronous = app.inject_sync("GET", "/async")
    assert (sync.status_code, sync.body) == (200, b'{"kind":"sync"}')
    assert (asynchronous.status_code, asynchronous.body) == (200, b'{"kind":"async"}')
    assert_length(sync)
    assert_length(asynchronous)


def test_async_handler_that_suspends_answers():
    app = fastcore.App()

    @app.post("/later")
    async def later(request, reply):
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        reply.code(201)
        return {"done": True}

    response = app.inject_sync("POST", "/later", payload={})
    assert response.status_code == 201
    assert response.body == b'{"done":true}'
    assert_length(response)


# --- params, query and the request object ----------------------------------------------------

def test_params_and_repeated_query_keys():
    app = fastcore.App()

    @app.get("/users/:id/posts/:post")
    def handler(request, reply):
        return {"params": request.params, "query": request.query}

    response = app.inject_sync("GET", "/users/7/posts/abc?a=1&a=2&b=x&a=3&empty=")
    assert response.status_code == 200
    assert response.json() == {"params": {"id": "7", "post": "abc"},
                               "query": {"a": ["1", "2", "3"], "b": "x", "empty": ""}}
    assert_length(response)


def test_params_and_query_are_percent_decoded():
    app = fastcore.App()

    @app.get("/users/:name")
    def handler(request, reply):
        return {"name": request.params["name"], "q": request.query["q"]}

    response = app.inject_sync("GET", "/users/caf%C3%A9?q=a%20b+c%26d")
    assert response.status_code == 200
    assert response.json() == {"name": "café", "q": "a b c&d"}
    assert response.body == '{"name":"café","q":"a b c&d"}'.encode()
    assert_length(response)


def test_inject_query_argument_with_a_list_value():
    app = fastcore.App()
    app.get("/q", lambda request, reply: {"query": request.query, "qs": request.query_string})
    response = app.inject_sync("GET", "/q", query={"tag": ["a", "b"], "n": "1"})
    assert response.json() == {"query": {"tag": ["a", "b"], "n": "1"}, "qs": "tag=a&tag=b&n=1"}


def test_static_route_has_empty_params_and_query():
    app = fastcore.App()
    app.get("/static", lambda request, reply: {"params": request.params, "query": request.query})
    assert app.inject_sync("GET", "/static").body == b'{"params":{},"query":{}}'


def test_request_attributes():
    app = fastcore.App()
    seen = {}

    def handler(request, reply):
        headers = request.headers
        seen.update(
            url=request.url, path=request.path, query_string=request.query_string,
            method=request.method, params=request.params, query=request.query,
            body=request.body, raw_body=request.raw_body, id=request.id, ip=request.ip,
            route_url=request.route_url, route_config=request.route_config,
            exact=headers["x-custom"], upper=headers["X-CUSTOM"], mixed=headers.get("X-Custom"),
            contains="X-Custom" in headers, missing=headers.get("X-Missing"),
            keys_lower=all(k == k.lower() for k in headers))
        return "ok"

    app.post("/items/:id", handler, config={"name": "items"})
    response = app.inject_sync("POST", "/items/42?a=1&a=2&b=x",
                               headers={"X-Custom": "value"}, payload={"k": "é"})
    assert response.status_code == 200
    assert seen["url"] == "/items/42?a=1&a=2&b=x"
    assert seen["path"] == "/items/42"
    assert seen["query_string"] == "a=1&a=2&b=x"
    assert seen["method"] == "POST"
    assert seen["params"] == {"id": "42"}
    assert seen["query"] == {"a": ["1", "2"], "b": "x"}
    assert seen["body"] == {"k": "é"}
    assert seen["raw_body"] == orjson.dumps({"k": "é"})
    assert isinstance(seen["id"], str) and seen["id"]
    assert seen["ip"] == "127.0.0.1"
    assert seen["route_url"] == "/items/:id"
    assert seen["route_config"] == {"name": "items"}
    assert seen["exact"] == seen["upper"] == seen["mixed"] == "value"
    assert seen["contains"] is True
    assert seen["missing"] is None
    assert seen["keys_lower"] is True


def test_request_without_query_has_empty_query_string():
    app = fastcore.App()
    app.get("/p", lambda request, reply: [request.url, request.path, request.query_string])
    assert app.inject_sync("GET", "/p").body == b'["/p","/p",""]'


def test_request_ids_differ_between_requests():
    app = fastcore.App()
    app.get("/id", lambda request, reply: request.id)
    first = app.inject_sync("GET", "/id").text
    second = app.inject_sync("GET", "/id").text
    assert first and second and first != second


def test_text_body_is_decoded_and_raw_body_kept():
    app = fastcore.App()
    app.post("/t", lambda request, reply: {"body": request.body, "raw": request.raw_body.decode()})
    response = app.inject_sync("POST", "/t", headers={"content-type": "text/plain; charset=utf-8"},
                               payload="héllo")
    assert response.status_code == 200
    assert response.json() == {"body": "héllo", "raw": "héllo"}


def test_json_body_with_charset_parameter():
    app = fastcore.App()
    app.post("/j", lambda request, reply: request.body)
    response = app.inject_sync("POST", "/j",
                               headers={"content-type": "application/json; charset=utf-8"},
                               payload=b'{"n":[1,2]}')
    assert (response.status_code, response.body) == (200, b'{"n":[1,2]}')


def test_request_without_body_has_body_none():
    app = fastcore.App()
    app.get("/b", lambda request, reply: {"body": request.body})
    assert app.inject_sync("GET", "/b").body == b'{"body":null}'


def test_route_config_defaults_to_empty_dict():
    app = fastcore.App()
    app.get("/c", lambda request, reply: {"config": request.route_config})
    assert app.inject_sync("GET", "/c").body == b'{"config":{}}'


# --- HEAD -----------------------------------------------------------------------------------

def without_date(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k != "date"}


@pytest.mark.parametrize("payload, ctype", [
    ("héllo wörld", "text/plain; charset=utf-8"),
    ({"k": "✓"}, "application/json; charset=utf-8"),
    (b"\x00\x01\x02", "application/octet-stream"),
])
def test_head_is_answered_for_get_routes_with_the_same_headers(payload, ctype):
    app = fastcore.App()

    @app.get("/r")
    def handler(request, reply):
        reply.header("x-extra", "1")
        return payload

    get = app.inject_sync("GET", "/r")
    head = app.inject_sync("HEAD", "/r")
    assert get.status_code == head.status_code == 200
    assert get.headers["content-type"] == ctype
    assert_length(get)
    assert without_date(head.headers) == without_date(get.headers)
    assert head.body == b""
    assert head.raw.endswith(b"\r\n\r\n")
    assert head.raw == head_of(head.raw) + b"\r\n\r\n"


def test_explicit_head_route_wins_over_the_automatic_one():
    app = fastcore.App()
    app.get("/r", lambda request, reply: "from get")

    @app.head("/r")
    def head(request, reply):
        reply.header("x-explicit", "yes")
        return "from head handler"

    response = app.inject_sync("HEAD", "/r")
    assert response.status_code == 200
    assert response.headers["x-explicit"] == "yes"
    assert response.headers["content-length"] == str(len("from head handler"))
    assert response.body == b""
    assert app.inject_sync("GET", "/r").body == b"from get"


def test_explicit_head_route_registered_before_the_get_route():
    app = fastcore.App()
    app.head("/r", lambda request, reply: reply.header("x-explicit", "yes") and None)
    app.get("/r", lambda request, reply: "from get")
    response = app.inject_sync("HEAD", "/r")
    assert response.headers.get("x-explicit") == "yes"
    assert response.headers["content-length"] == "0"


def test_expose_head_routes_false_leaves_head_unanswered():
    app = fastcore.App(expose_head_routes=False)
    app.get("/r", lambda request, reply: "body")
    response = app.inject_sync("HEAD", "/r")
    assert response.status_code == 404
    assert response.body == b""
    expected = b'{"message":"Route HEAD:/r not found","error":"Not Found","statusCode":404}'
    assert response.headers["content-length"] == str(len(expected))
    assert app.inject_sync("GET", "/r").body == b"body"


def test_head_of_a_param_route_gets_params():
    app = fastcore.App()
    app.get("/u/:id", lambda request, reply: {"id": request.params["id"]})
    response = app.inject_sync("HEAD", "/u/123")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(b'{"id":"123"}'))


# --- not found and bad URLs -------------------------------------------------------------------

def test_default_not_found_body_uses_the_url_as_received():
    app = fastcore.App()
    app.get("/y", lambda request, reply: "y")
    response = app.inject_sync("GET", "/x?y=1")
    assert response.status_code == 404
    assert response.body == (
        b'{"message":"Route GET:/x?y=1 not found","error":"Not Found","statusCode":404}')
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert_length(response)


def test_not_found_for_a_known_path_with_another_method():
    app = fastcore.App()
    app.get("/only-get", lambda request, reply: "y")
    response = app.inject_sync("POST", "/only-get", payload=b"")
    assert response.status_code == 404
    assert response.body == (
        b'{"message":"Route POST:/only-get not found","error":"Not Found","statusCode":404}')
    assert_length(response)


def test_not_found_keeps_percent_escapes_as_received():
    app = fastcore.App()
    response = app.inject_sync("GET", "/caf%C3%A9?q=%E2%9C%93")
    assert response.status_code == 404
    assert response.body == (b'{"message":"Route GET:/caf%C3%A9?q=%E2%9C%93 not found",'
                             b'"error":"Not Found","statusCode":404}')
    assert_length(response)


def test_bad_url_escape_on_a_param_route_is_400_with_spec_body():
    app = fastcore.App()
    app.get("/user/:id", lambda request, reply: request.params)
    response = app.inject_sync("GET", "/user/%E0%A4%A")
    assert response.status_code == 400
    assert response.body == (b'{"error":"Bad Request","code":"FC_ERR_BAD_URL",'
                             b'"message":"\'/user/%E0%A4%A\' is not a valid url component",'
                             b'"statusCode":400}')
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert_length(response)


def test_bad_url_invalid_utf8_on_a_param_route_is_400():
    app = fastcore.App()
    app.get("/user/:id", lambda request, reply: request.params)
    response = app.inject_sync("GET", "/user/%C3%28")
    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request", "code": "FC_ERR_BAD_URL",
        "message": "'/user/%C3%28' is not a valid url component", "statusCode": 400}
    assert_length(response)


def test_app_still_answers_after_a_bad_url():
    app = fastcore.App()
    app.get("/user/:id", lambda request, reply: request.params)
    assert app.inject_sync("GET", "/user/%E0%A4%A").status_code == 400
    response = app.inject_sync("GET", "/user/%E2%9C%93")
    assert (response.status_code, response.json()) == (200, {"id": "✓"})


# --- registration errors ----------------------------------------------------------------------

def test_duplicate_route_is_raised_by_the_second_call():
    app = fastcore.App()
    app.get("/dup", lambda request, reply: "first")
    with pytest.raises(errors.DuplicatedRouteError) as info:
        app.get("/dup", lambda request, reply: "second")
    assert info.value.code == "FC_ERR_DUPLICATED_ROUTE"
    assert isinstance(info.value, fastcore.FastcoreError)
    assert app.inject_sync("GET", "/dup").body == b"first"


def test_duplicate_route_through_the_decorator_form():
    app = fastcore.App()
    app.post("/dup", lambda request, reply: "first")
    with pytest.raises(errors.DuplicatedRouteError):
        @app.route(method=["PUT", "POST"], url="/dup")
        def handler(request, reply):
            return "second"


def test_same_url_with_different_methods_is_not_a_duplicate():
    app = fastcore.App()
    app.get("/same", lambda request, reply: "get")
    app.post("/same", lambda request, reply: "post")
    assert app.inject_sync("GET", "/same").body == b"get"
    assert app.inject_sync("POST", "/same", payload=b"").body == b"post"


def test_unknown_method_is_refused():
    app = fastcore.App()
    with pytest.raises(errors.RouteMethodNotSupportedError) as info:
        app.route(method="BREW", url="/coffee", handler=lambda request, reply: None)
    assert info.value.code == "FC_ERR_ROUTE_METHOD_NOT_SUPPORTED"
    assert "BREW" in str(info.value)
    assert not app.has_route("BREW", "/coffee")


def test_unknown_method_through_the_decorator_form():
    app = fastcore.App()
    with pytest.raises(errors.RouteMethodNotSupportedError):
        @app.route(method="FROB", url="/x")
        def handler(request, reply):
            return None


@pytest.mark.parametrize("handler", ["not a function", 42, {"a": 1}])
def test_non_callable_handler_is_refused(handler):
    app = fastcore.App()
    with pytest.raises(errors.RouteMissingHandlerError) as info:
        app.get("/x", handler)
    assert info.value.code == "FC_ERR_ROUTE_MISSING_HANDLER"
    with pytest.raises(errors.RouteMissingHandlerError):
        app.route(method="POST", url="/x", handler=handler)
    assert not app.has_route("GET", "/x")


@pytest.mark.parametrize("url", ["users", "", None, 42])
def test_url_must_be_a_str_starting_with_a_slash(url):
    app = fastcore.App()
    with pytest.raises(errors.InvalidRouteError) as info:
        app.route(method="GET", url=url, handler=ok_handler)
    assert info.value.code == "FC_ERR_INVALID_ROUTE"


def ok_handler(request, reply):
    return "ok"


# --- introspection ------------------------------------------------------------------------------

def test_has_route():
    app = fastcore.App()
    app.get("/users/:id", lambda request, reply: None)
    app.post("/users", lambda request, reply: None)
    assert app.has_route("GET", "/users/:id") is True
    assert app.has_route("POST", "/users") is True
    assert app.has_route("GET", "/users") is False
    assert app.has_route("DELETE", "/users/:id") is False
    assert app.has_route("GET", "/users/42") is False


def test_routes_lists_what_was_registered_and_is_read_only():
    app = fastcore.App()
    app.get("/a", lambda request, reply: None)
    app.route(method=["POST", "PUT"], url="/b/:id", handler=lambda request, reply: None)
    routes = app.routes
    pairs = {(method, url) for method, url, _ in routes}
    assert pairs == {("GET", "/a"), ("POST", "/b/:id"), ("PUT", "/b/:id")}
    assert len(routes) == 3
    with pytest.raises((TypeError, AttributeError)):
        routes.append(("GET", "/c", {}))
    with pytest.raises(AttributeError):
        app.routes = ()
    assert len(app.routes) == 3


def test_print_routes_shows_each_route_and_its_methods():
    app = fastcore.App()
    app.get("/users/:id", lambda request, reply: None)
    app.post("/users/:id", lambda request, reply: None)
    app.get("/health", lambda request, reply: None)
    tree = app.print_routes()
    assert isinstance(tree, str)
    lines = tree.splitlines()
    assert any("/health" in line and "GET" in line for line in lines)
    id_lines = [line for line in lines if ":id" in line]
    assert len(id_lines) == 1
    assert "GET" in id_lines[0] and "POST" in id_lines[0]
    assert any("/users" in line for line in lines)


def test_print_routes_of_an_empty_app_is_a_str():
    assert isinstance(fastcore.App().print_routes(), str)


def test_version_is_the_package_version():
    app = fastcore.App()
    assert app.version == fastcore.__version__
    assert isinstance(app.version, str) and app.version
