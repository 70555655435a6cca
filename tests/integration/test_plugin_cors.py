"""fastcore.plugins.cors through app.inject (SPEC §13, as @fastify/cors)."""
from __future__ import annotations

import asyncio
import re

import orjson
import pytest

import fastcore
from fastcore.plugins import cors
from tests.integration.helpers import refused_at_register

SITE = "https://shop.example"
ELSEWHERE = "https://evil.example"
DEFAULT_METHODS = "GET, HEAD, PUT, PATCH, POST, DELETE"


def make_app(**options):
    app = fastcore.App()
    app.register(cors, **options)
    app.get("/items", lambda request, reply: {"items": []})
    app.post("/items", lambda request, reply: "created")
    return app


def cors_headers(response):
    return {name: value for name, value in response.headers.items()
            if name.startswith("access-control-")}


def preflight(app, url="/items", origin=SITE, method="POST", headers=None):
    asked = {"origin": origin, "access-control-request-method": method, **(headers or {})}
    return app.inject_sync("OPTIONS", url, headers=asked)


def test_origin_true_reflects_the_request_origin_and_varies_on_it():
    app = make_app()
    response = app.inject_sync("GET", "/items", headers={"origin": SITE})
    assert response.status_code == 200 and response.json() == {"items": []}
    assert cors_headers(response) == {"access-control-allow-origin": SITE}
    assert response.headers["vary"] == "Origin"


def test_a_request_without_origin_is_served_untouched_but_for_vary():
    app = make_app()
    response = app.inject_sync("GET", "/items")
    assert response.status_code == 200 and cors_headers(response) == {}
    assert response.headers["vary"] == "Origin"
    # Not a CORS request: an OPTIONS without Origin goes on to routing.
    assert app.inject_sync("OPTIONS", "/items").status_code == 404


def test_star_is_sent_as_such_without_vary_unless_credentials():
    response = make_app(origin="*").inject_sync("GET", "/items", headers={"origin": SITE})
    assert cors_headers(response) == {"access-control-allow-origin": "*"}
    assert "vary" not in response.headers
    response = make_app(origin="*", credentials=True).inject_sync(
        "GET", "/items", headers={"origin": SITE})
    assert cors_headers(response) == {"access-control-allow-origin": SITE,
                                      "access-control-allow-credentials": "true"}
    assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize("origin", [
    SITE,
    [SITE, "https://admin.example"],
    re.compile(r"^https://(shop|admin)\.example$"),
    ["https://admin.example", re.compile(r"^https://shop\.")],
    lambda origin, request: origin == SITE and request.path == "/items",
], ids=["string", "list", "regex", "list-with-regex", "function"])
def test_an_allowed_origin_gets_the_headers_a_disallowed_one_none_but_is_served(origin):
    app = make_app(origin=origin, credentials=True, exposed_headers=["x-total", "x-page"])
    allowed = app.inject_sync("GET", "/items", headers={"origin": SITE})
    assert cors_headers(allowed) == {
        "access-control-allow-origin": SITE, "access-control-allow-credentials": "true",
        "access-control-expose-headers": "x-total, x-page"}
    refused = app.inject_sync("GET", "/items", headers={"origin": ELSEWHERE})
    assert refused.status_code == 200 and refused.json() == {"items": []}
    assert cors_headers(refused) == {}
    assert refused.headers["vary"] == "Origin"


def test_an_exact_origin_is_compared_exactly():
    app = make_app(origin=SITE)
    for near in (SITE + "/", SITE + ".attacker.net", SITE.upper(), "http://shop.example"):
        assert cors_headers(app.inject_sync("GET", "/items", headers={"origin": near})) == {}


def test_an_async_origin_function_is_awaited_with_the_origin_and_the_request():
    seen = []

    async def check(origin, request):
        await asyncio.sleep(0)
        seen.append((origin, request.method, request.path))
        return origin.endswith(".example")

    app = make_app(origin=check)
    ok = app.inject_sync("GET", "/items", headers={"origin": SITE})
    refused = app.inject_sync("GET", "/items", headers={"origin": "https://x.test"})
    answered = preflight(app)
    assert cors_headers(ok) == {"access-control-allow-origin": SITE}
    assert cors_headers(refused) == {}
    assert answered.status_code == 204
    assert answered.headers["access-control-allow-origin"] == SITE
    assert seen == [(SITE, "GET", "/items"), ("https://x.test", "GET", "/items"),
                    (SITE, "OPTIONS", "/items")]


def test_a_preflight_is_answered_204_on_any_path_with_the_allow_headers():
    app = make_app(max_age=600, credentials=True)
    for url in ("/items", "/no/such/route", "/items?x=1"):
        response = preflight(app, url, headers={
            "access-control-request-headers": "content-type, x-token"})
        assert response.status_code == 204 and response.body == b""
        assert "content-length" not in response.headers   # RFC 9110 §8.6: none in a 204
        assert cors_headers(response) == {
            "access-control-allow-origin": SITE,
            "access-control-allow-credentials": "true",
            "access-control-allow-methods": DEFAULT_METHODS,
            "access-control-allow-headers": "content-type, x-token",
            "access-control-max-age": "600"}
        assert response.headers["vary"] == "Origin, Access-Control-Request-Headers"


def test_a_preflight_handler_never_runs_the_route():
    calls = []
    app = make_app()
    app.options("/things", lambda request, reply: calls.append(1) or "handler")
    assert preflight(app, "/things").status_code == 204
    assert calls == []
    assert app.inject_sync("OPTIONS", "/things").text == "handler"     # no Origin


def test_a_preflight_from_a_disallowed_origin_gets_204_without_cors_headers():
    app = make_app(origin=[SITE], max_age=5, allowed_headers=["content-type"])
    response = preflight(app, origin=ELSEWHERE)
    assert response.status_code == 204 and cors_headers(response) == {}
    assert response.headers["vary"] == "Origin"


def test_configured_methods_and_headers_are_sent_as_given():
    app = make_app(methods=["GET", "POST"], allowed_headers=("content-type", "authorization"),
                   exposed_headers="x-total")
    response = preflight(app, headers={"access-control-request-headers": "x-other"})
    assert cors_headers(response) == {
        "access-control-allow-origin": SITE, "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": "content-type, authorization",
        "access-control-expose-headers": "x-total"}
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-headers" not in preflight(make_app(allowed_headers=[])).headers


def test_strict_preflight_refuses_an_options_with_origin_but_no_request_method():
    app = make_app()
    response = app.inject_sync("OPTIONS", "/items", headers={"origin": SITE})
    assert response.status_code == 400
    assert response.body == orjson.dumps({
        "statusCode": 400, "code": "FC_ERR_CORS_INVALID_PREFLIGHT", "error": "Bad Request",
        "message": "Invalid Preflight Request"})
    assert response.headers["content-length"] == str(len(response.body))
    assert preflight(app).status_code == 204                     # and goes on serving
    lenient = make_app(strict_preflight=False)
    response = lenient.inject_sync("OPTIONS", "/nowhere", headers={"origin": SITE})
    assert response.status_code == 204
    assert response.headers["access-control-allow-methods"] == DEFAULT_METHODS


def test_preflight_false_leaves_options_requests_to_the_routes():
    app = make_app(preflight=False)
    app.options("/items", lambda request, reply: "own options")
    response = preflight(app)
    assert response.status_code == 200 and response.text == "own options"
    assert cors_headers(response) == {"access-control-allow-origin": SITE}
    assert preflight(app, "/nowhere").status_code == 404


def test_a_route_may_turn_cors_off():
    app = make_app()
    app.route(["GET", "OPTIONS"], "/private", lambda request, reply: "p",
              config={"cors": False})
    assert cors_headers(app.inject_sync("GET", "/private", headers={"origin": SITE})) == {}
    answered = preflight(app, "/private")
    assert (answered.status_code, answered.text, cors_headers(answered)) == (200, "p", {})


def test_vary_is_appended_to_what_an_earlier_hook_set():
    app = fastcore.App()
    app.add_hook("on_request", lambda request, reply: reply.header("vary", "Accept-Encoding"))
    app.register(cors)
    app.get("/", lambda request, reply: "x")
    response = app.inject_sync("GET", "/", headers={"origin": SITE})
    assert response.headers["vary"] == "Accept-Encoding, Origin"


@pytest.mark.parametrize("origin", ["null", "https://\u00e9t\u00e9.example", "x" * 4000,
                                    "https://a.example, https://b.example"])
def test_odd_origins_are_reflected_or_refused_never_a_500(origin):
    for app in (make_app(), make_app(origin=[SITE])):
        response = app.inject_sync("GET", "/items", headers={"origin": origin})
        assert response.status_code == 200
        assert response.headers.get("access-control-allow-origin") in (origin, None)
        assert preflight(app, origin=origin).status_code == 204


@pytest.mark.parametrize("options, message", [
    ({"origin": 3}, "origin is True"),
    ({"origin": [SITE, 3]}, "origin is True"),
    ({"origin": False}, "origin is True"),
    ({"methods": []}, "methods is empty"),
    ({"methods": ["GET", 1]}, "methods is a str or a list of str"),
    ({"allowed_headers": {"a": 1}}, "allowed_headers is a str or a list of str"),
    ({"exposed_headers": ["x\r\ny"]}, "exposed_headers holds an empty name or a line break"),
    ({"credentials": "yes"}, "credentials is a bool"),
    ({"max_age": -1}, "max_age is a number of seconds >= 0"),
    ({"max_age": "1h"}, "max_age is a number of seconds >= 0"),
    ({"preflight": None}, "preflight is a bool"),
    ({"strict_preflight": 0}, "strict_preflight is a bool"),
    ({"hook": "on_send"}, "unknown option(s) hook"),
])
def test_bad_options_are_refused_at_register(options, message):
    refused_at_register(cors, options, message)
