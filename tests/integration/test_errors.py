"""Error replies (SPEC §6) through ``app.inject``: user errors, framework errors,
unexpected exceptions and the body errors of the built-in content-type parsers."""
from __future__ import annotations

import asyncio
import logging

import pytest

import fastcore
from fastcore import errors

JSON = "application/json; charset=utf-8"


def assert_length(response) -> None:
    assert response.headers["content-length"] == str(len(response.body))


def raising(exc, *, is_async=False):
    """An app whose GET /boom raises ``exc`` (from an async handler if asked)."""
    app = fastcore.App()
    if is_async:
        async def handler(request, reply):
            await asyncio.sleep(0)
            raise exc
    else:
        def handler(request, reply):
            raise exc
    app.get("/boom", handler)
    return app


# --- user errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("is_async", [False, True])
def test_http_error_with_a_message(is_async):
    app = raising(fastcore.HTTPError(404, "nope"), is_async=is_async)
    response = app.inject_sync("GET", "/boom")
    assert response.status_code == 404
    assert response.body == b'{"statusCode":404,"error":"Not Found","message":"nope"}'
    assert response.headers["content-type"] == JSON
    assert_length(response)


def test_http_error_without_a_message_uses_the_reason_phrase():
    response = raising(fastcore.HTTPError(409)).inject_sync("GET", "/boom")
    assert response.status_code == 409
    assert response.body == b'{"statusCode":409,"error":"Conflict","message":"Conflict"}'
    assert_length(response)


def test_http_error_with_a_non_ascii_message():
    response = raising(fastcore.HTTPError(422, "prix invalide: 3 €")).inject_sync("GET", "/boom")
    assert response.status_code == 422
    assert response.body == ('{"statusCode":422,"error":"Unprocessable Content",'
                             '"message":"prix invalide: 3 €"}').encode()
    assert_length(response)
    assert int(response.headers["content-length"]) > len(response.text)


@pytest.mark.parametrize("helper, status, phrase", [
    (errors.BadRequest, 400, "Bad Request"),
    (errors.Unauthorized, 401, "Unauthorized"),
    (errors.Forbidden, 403, "Forbidden"),
    (errors.NotFound, 404, "Not Found"),
    (errors.MethodNotAllowed, 405, "Method Not Allowed"),
    (errors.Conflict, 409, "Conflict"),
    (errors.TooManyRequests, 429, "Too Many Requests"),
    (errors.InternalServerError, 500, "Internal Server Error"),
    (errors.ServiceUnavailable, 503, "Service Unavailable"),
])
def test_named_helpers(helper, status, phrase):
    response = raising(helper("custom message")).inject_sync("GET", "/boom")
    assert response.status_code == status
    expected = '{"statusCode":%d,"error":"%s","message":"custom message"}' % (status, phrase)
    assert response.body == expected.encode()
    assert_length(response)
    default = raising(helper()).inject_sync("GET", "/boom")
    assert default.body == ('{"statusCode":%d,"error":"%s","message":"%s"}'
                            % (status, phrase, phrase)).encode()


def test_http_error_5xx_keeps_its_message():
    response = raising(fastcore.HTTPError(502, "upstream down")).inject_sync("GET", "/boom")
    assert response.status_code == 502
    assert response.body == b'{"statusCode":502,"error":"Bad Gateway","message":"upstream down"}'


# --- framework errors ------------------------------------------------------------------------

@pytest.mark.parametrize("error_class", [
    errors.CtpInvalidJsonError, errors.CtpInvalidMediaTypeError, errors.ParamTooLongError,
    errors.HandlerTimeoutError, errors.FailedSerializationError, errors.DuplicatedRouteError,
])
def test_fastcore_error_raised_by_a_handler_carries_its_code(error_class):
    response = raising(error_class("detail")).inject_sync("GET", "/boom")
    status = error_class.status_code
    assert response.status_code == status
    body = response.json()
    assert body == {"statusCode": status, "code": error_class.code,
                    "error": errors.reason_phrase(status), "message": "detail"}
    assert_length(response)


def test_fastcore_error_body_key_order():
    response = raising(errors.CtpInvalidJsonError("bad json")).inject_sync("GET", "/boom")
    assert response.body == (b'{"statusCode":400,"code":"FC_ERR_CTP_INVALID_JSON",'
                             b'"error":"Bad Request","message":"bad json"}')


def test_fastcore_error_5xx_keeps_its_message(caplog):
    with caplog.at_level(logging.ERROR, logger="fastcore"):
        response = raising(errors.FailedSerializationError("cannot")).inject_sync("GET", "/boom")
    assert response.body == (b'{"statusCode":500,"code":"FC_ERR_FAILED_SERIALIZATION",'
                             b'"error":"Internal Server Error","message":"cannot"}')


# --- unexpected exceptions ---------------------------------------------------------------------

@pytest.mark.parametrize("is_async", [False, True])
def test_unexpected_exception_is_500_without_its_message(is_async, caplog):
    app = raising(RuntimeError("secret detail"), is_async=is_async)
    with caplog.at_level(logging.ERROR, logger="fastcore"):
        response = app.inject_sync("GET", "/boom")
    assert response.status_code == 500
    assert response.body == (b'{"statusCode":500,"error":"Internal Server Error",'
                             b'"message":"Internal Server Error"}')
    assert b"secret detail" not in response.raw
    assert_length(response)
    logged = [r for r in caplog.records if r.name == "fastcore" and r.levelno >= logging.ERROR]
    assert logged and logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], RuntimeError)


@pytest.mark.parametrize("is_async", [False, True])
def test_expose_errors_shows_the_message(is_async):
    app = fastcore.App(expose_errors=True)

    async def async_handler(request, reply):
        await asyncio.sleep(0)
        raise KeyError("missing-key")

    def sync_handler(request, reply):
        raise ValueError("détail visible")

    app.get("/boom", async_handler if is_async else sync_handler)
    response = app.inject_sync("GET", "/boom")
    assert response.status_code == 500
    message = "'missing-key'" if is_async else "détail visible"
    assert response.json() == {"statusCode": 500, "error": "Internal Server Error",
                               "message": message}
    assert_length(response)


def test_exception_with_a_teapot_status_code():
    class Teapot(Exception):
        status_code = 418

    response = raising(Teapot("short and stout")).inject_sync("GET", "/boom")
    assert response.status_code == 418
    assert response.body == (b'{"statusCode":418,"error":"I\'m a Teapot",'
                             b'"message":"short and stout"}')
    assert_length(response)


def test_status_code_attribute_set_on_an_instance():
    exc = LookupError("gone away")
    exc.status_code = 410
    response = raising(exc).inject_sync("GET", "/boom")
    assert response.status_code == 410
    assert response.body == b'{"statusCode":410,"error":"Gone","message":"gone away"}'


def test_unexpected_exception_with_a_5xx_status_hides_its_message():
    exc = RuntimeError("secret")
    exc.status_code = 503
    response = raising(exc).inject_sync("GET", "/boom")
    assert response.status_code == 503
    assert response.body == (b'{"statusCode":503,"error":"Service Unavailable",'
                             b'"message":"Internal Server Error"}')


@pytest.mark.parametrize("status", [200, 302, 399, 600, 999, -1, "404", 404.0, None])
def test_status_outside_400_599_is_500(status):
    exc = RuntimeError("odd status")
    exc.status_code = status
    response = raising(exc).inject_sync("GET", "/boom")
    assert response.status_code == 500
    assert response.body == (b'{"statusCode":500,"error":"Internal Server Error",'
                             b'"message":"Internal Server Error"}')
    assert_length(response)


def test_error_resets_headers_and_type_set_before_it():
    app = fastcore.App()

    @app.get("/boom")
    def handler(request, reply):
        reply.type("text/html").header("content-length", "1")
        raise fastcore.HTTPError(400, "bad")

    response = app.inject_sync("GET", "/boom")
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON
    assert response.body == b'{"statusCode":400,"error":"Bad Request","message":"bad"}'
    assert_length(response)


def test_error_after_a_code_was_set_uses_the_error_status():
    app = fastcore.App()

    @app.get("/boom")
    def handler(request, reply):
        reply.code(201)
        raise errors.NotFound("no such thing")

    response = app.inject_sync("GET", "/boom")
    assert response.status_code == 404


def test_app_answers_after_an_error():
    app = raising(RuntimeError("x"))
    app.get("/ok", lambda request, reply: "ok")
    assert app.inject_sync("GET", "/boom").status_code == 500
    assert app.inject_sync("GET", "/ok").body == b"ok"


# --- body parsing errors -------------------------------------------------------------------------

def echo_app(**options):
    app = fastcore.App(**options)
    app.post("/echo", lambda request, reply: {"body": request.body})
    return app


@pytest.mark.parametrize("ctype", ["application/xml", "image/png",
                                   "multipart/form-data; boundary=x"])
def test_unsupported_content_type_is_415(ctype):
    response = echo_app().inject_sync("POST", "/echo", headers={"content-type": ctype},
                                      payload=b"<a>1</a>")
    assert response.status_code == 415
    body = response.json()
    assert body["statusCode"] == 415
    assert body["code"] == "FC_ERR_CTP_INVALID_MEDIA_TYPE"
    assert body["error"] == "Unsupported Media Type"
    assert isinstance(body["message"], str) and body["message"]
    assert list(body) == ["statusCode", "code", "error", "message"]
    assert_length(response)


def test_body_without_a_content_type_is_415():
    response = echo_app().inject_sync("POST", "/echo", payload=b"data")
    assert response.status_code == 415
    assert response.json()["code"] == "FC_ERR_CTP_INVALID_MEDIA_TYPE"
    assert_length(response)


@pytest.mark.parametrize("raw", [b"{", b"{'a': 1}", b"nul", b'{"a":1}}', b"\xff\xfe"])
def test_malformed_json_is_400(raw):
    response = echo_app().inject_sync("POST", "/echo",
                                      headers={"content-type": "application/json"}, payload=raw)
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert body["code"] == "FC_ERR_CTP_INVALID_JSON"
    assert body["error"] == "Bad Request"
    assert list(body) == ["statusCode", "code", "error", "message"]
    assert_length(response)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_empty_json_body_is_400(method):
    app = fastcore.App()
    app.route(method=method, url="/echo", handler=lambda request, reply: "handled")
    response = app.inject_sync(method, "/echo", headers={"content-type": "application/json"},
                               payload=b"")
    assert response.status_code == 400
    assert response.body == (b'{"statusCode":400,"code":"FC_ERR_CTP_EMPTY_JSON_BODY",'
                             b'"error":"Bad Request","message":"Body cannot be empty when '
                             b'content-type is set to \'application/json\'"}')
    assert_length(response)


def test_valid_json_reaches_the_handler():
    response = echo_app().inject_sync("POST", "/echo", payload={"n": [1, "é"]})
    assert response.status_code == 200
    assert response.body == '{"body":{"n":[1,"é"]}}'.encode()


def test_empty_post_without_content_type_is_accepted():
    response = echo_app().inject_sync("POST", "/echo", payload=b"")
    assert (response.status_code, response.body) == (200, b'{"body":null}')


def test_body_over_the_app_body_limit_is_413():
    app = echo_app(body_limit=10)
    headers = {"content-type": "text/plain"}
    ok = app.inject_sync("POST", "/echo", headers=headers, payload=b"x" * 10)
    assert (ok.status_code, ok.body) == (200, b'{"body":"xxxxxxxxxx"}')
    response = app.inject_sync("POST", "/echo", headers=headers, payload=b"x" * 11)
    assert response.status_code == 413
    body = response.json()
    assert body["statusCode"] == 413
    assert body["code"] == "FC_ERR_CTP_BODY_TOO_LARGE"
    assert body["error"] == "Content Too Large"
    assert list(body) == ["statusCode", "code", "error", "message"]
    assert_length(response)


def test_json_body_over_the_limit_is_413_before_parsing():
    app = echo_app(body_limit=8)
    response = app.inject_sync("POST", "/echo", headers={"content-type": "application/json"},
                               payload=b'{"broken":')
    assert response.status_code == 413
    assert response.json()["code"] == "FC_ERR_CTP_BODY_TOO_LARGE"


def test_route_body_limit_overrides_the_app_limit():
    app = fastcore.App(body_limit=100)
    app.post("/small", lambda request, reply: "small", body_limit=5)
    app.post("/large", lambda request, reply: "large", body_limit=1000)
    app.post("/default", lambda request, reply: "default")
    headers = {"content-type": "text/plain"}
    assert app.inject_sync("POST", "/small", headers=headers, payload=b"12345").status_code == 200
    small = app.inject_sync("POST", "/small", headers=headers, payload=b"123456")
    assert small.status_code == 413
    assert small.json()["code"] == "FC_ERR_CTP_BODY_TOO_LARGE"
    assert_length(small)
    for url, size, status in [("/large", 500, 200), ("/large", 1001, 413),
                              ("/default", 100, 200), ("/default", 101, 413)]:
        response = app.inject_sync("POST", url, headers=headers, payload=b"x" * size)
        assert response.status_code == status, (url, size)


def test_route_body_limit_through_the_decorator_form():
    app = fastcore.App()

    @app.put("/tiny", body_limit=3)
    def handler(request, reply):
        return "ok"

    response = app.inject_sync("PUT", "/tiny", headers={"content-type": "text/plain"},
                               payload="éé")
    assert response.status_code == 413


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True])
def test_invalid_route_body_limit_is_refused(bad):
    app = fastcore.App()
    with pytest.raises(errors.InvalidRouteError) as info:
        app.post("/x", lambda request, reply: None, body_limit=bad)
    assert info.value.code == "FC_ERR_INVALID_ROUTE"
