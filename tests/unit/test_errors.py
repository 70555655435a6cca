"""Tests of fastcore.errors: the catalogue, HTTPError, reason phrases, the
default error body and the transport-level client-error map (SPEC §6)."""
from __future__ import annotations

import http

import orjson
import pytest

import fastcore
from fastcore import errors

# SPEC §6: fixed whatever the Python version says.
SPEC_PHRASES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
    413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
    418: "I'm a Teapot", 422: "Unprocessable Content", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}


# --- reason phrases ---------------------------------------------------------------------------

@pytest.mark.parametrize("status, phrase", sorted(SPEC_PHRASES.items()))
def test_reason_phrase_table(status, phrase):
    assert errors.reason_phrase(status) == phrase


@pytest.mark.parametrize("status", [200, 201, 204, 301, 302, 304, 402, 406, 410, 423, 451,
                                    501, 505])
def test_reason_phrase_falls_back_to_http_status(status):
    assert errors.reason_phrase(status) == http.HTTPStatus(status).phrase


@pytest.mark.parametrize("status", [0, 99, 299, 420, 499, 599, 600, 1000, -1])
def test_reason_phrase_unknown_status(status):
    assert errors.reason_phrase(status) == "Unknown Status"


# --- error_body -------------------------------------------------------------------------------

def test_error_body_with_a_code_key_order():
    assert errors.error_body(500, "boom", "FC_ERR_X") == (
        b'{"statusCode":500,"code":"FC_ERR_X","error":"Internal Server Error","message":"boom"}')


def test_error_body_without_a_code():
    assert errors.error_body(404, "nope") == (
        b'{"statusCode":404,"error":"Not Found","message":"nope"}')
    assert errors.error_body(404, "nope", None) == errors.error_body(404, "nope")


def test_error_body_is_utf8_and_escapes_quotes():
    body = errors.error_body(400, 'prix "3 €"')
    assert body == '{"statusCode":400,"error":"Bad Request","message":"prix \\"3 €\\""}'.encode()
    assert orjson.loads(body)["message"] == 'prix "3 €"'


def test_error_body_uses_the_reason_phrase_table():
    assert orjson.loads(errors.error_body(413, "big"))["error"] == "Content Too Large"
    assert orjson.loads(errors.error_body(599, "x"))["error"] == "Unknown Status"


# --- map_client_error -------------------------------------------------------------------------

def test_map_client_error_timeout():
    assert errors.map_client_error("timeout") == (
        408, b'{"error":"Request Timeout","message":"Client Timeout","statusCode":408}',
        "timeout")


def test_map_client_error_header_overflow():
    assert errors.map_client_error("header_overflow") == (
        431, b'{"error":"Request Header Fields Too Large",'
             b'"message":"Exceeded maximum allowed HTTP header size","statusCode":431}',
        "header_overflow")


def test_map_client_error_malformed():
    assert errors.map_client_error("malformed") == (
        400, b'{"error":"Bad Request","message":"Client Error","statusCode":400}', "error")


def test_map_client_error_reset_writes_nothing():
    assert errors.map_client_error("reset") is None


def test_map_client_error_bodies_are_bytes():
    for kind in ("timeout", "header_overflow", "malformed"):
        status, body, label = errors.map_client_error(kind)
        assert type(status) is int and type(body) is bytes and type(label) is str
        assert orjson.loads(body)["statusCode"] == status


# --- FastcoreError and the catalogue ----------------------------------------------------------

def test_catalogue_codes_and_classes():
    assert errors.CODES
    for code, cls in errors.CODES.items():
        assert code.startswith("FC_ERR_"), code
        assert code == code.upper()
        assert issubclass(cls, errors.FastcoreError)
        assert issubclass(cls, Exception)
        assert cls.code == code
        assert type(cls.status_code) is int and 400 <= cls.status_code <= 599, code
        assert cls.__doc__, code
        assert getattr(errors, cls.__name__) is cls
        assert cls.__name__ in errors.__all__
    assert len(set(errors.CODES.values())) == len(errors.CODES)


@pytest.mark.parametrize("name, code, status", [
    ("InvalidOptionError", "FC_ERR_INVALID_OPTION", 500),
    ("InstanceAlreadyStartedError", "FC_ERR_INSTANCE_ALREADY_STARTED", 500),
    ("DuplicatedRouteError", "FC_ERR_DUPLICATED_ROUTE", 500),
    ("RouteMethodNotSupportedError", "FC_ERR_ROUTE_METHOD_NOT_SUPPORTED", 500),
    ("RouteMissingHandlerError", "FC_ERR_ROUTE_MISSING_HANDLER", 500),
    ("BadUrlError", "FC_ERR_BAD_URL", 400),
    ("CtpBodyTooLargeError", "FC_ERR_CTP_BODY_TOO_LARGE", 413),
    ("CtpInvalidMediaTypeError", "FC_ERR_CTP_INVALID_MEDIA_TYPE", 415),
    ("CtpInvalidJsonError", "FC_ERR_CTP_INVALID_JSON", 400),
    ("CtpEmptyJsonBodyError", "FC_ERR_CTP_EMPTY_JSON_BODY", 400),
    ("FailedSerializationError", "FC_ERR_FAILED_SERIALIZATION", 500),
    ("HandlerTimeoutError", "FC_ERR_HANDLER_TIMEOUT", 503),
])
def test_spec_error_codes_exist_with_their_status(name, code, status):
    cls = getattr(errors, name)
    assert errors.CODES[code] is cls
    assert cls.code == code
    assert cls.status_code == status
    exc = cls()
    assert exc.code == code and exc.status_code == status
    assert isinstance(exc, fastcore.FastcoreError)


def test_fastcore_error_messages():
    exc = errors.CtpInvalidJsonError()
    assert str(exc) == exc.message == errors.CtpInvalidJsonError.default_message
    assert str(errors.CtpInvalidJsonError("custom")) == "custom"
    assert str(errors.InvalidOptionError("option %r is %d", "x", 3)) == "option 'x' is 3"
    assert str(errors.InvalidOptionError("100% literal")) == "100% literal"


def test_fastcore_error_can_be_raised_and_caught_by_its_base():
    with pytest.raises(fastcore.FastcoreError) as info:
        raise errors.DuplicatedRouteError("twice")
    assert info.value.code == "FC_ERR_DUPLICATED_ROUTE"


def test_fastcore_exports():
    assert fastcore.FastcoreError is errors.FastcoreError
    assert fastcore.HTTPError is errors.HTTPError
    assert fastcore.errors is errors


# --- HTTPError and its helpers ----------------------------------------------------------------

def test_http_error_with_a_message():
    exc = fastcore.HTTPError(404, "nope")
    assert exc.status_code == 404
    assert str(exc) == exc.message == "nope"
    assert exc.code is None
    assert isinstance(exc, fastcore.FastcoreError)
    assert errors.error_body(exc.status_code, str(exc)) == (
        b'{"statusCode":404,"error":"Not Found","message":"nope"}')


def test_http_error_default_message_is_the_reason_phrase():
    assert str(fastcore.HTTPError(418)) == "I'm a Teapot"
    assert str(fastcore.HTTPError(413)) == "Content Too Large"
    assert fastcore.HTTPError().status_code == 500


@pytest.mark.parametrize("status", [200, 399, 600, 0, -404, "404", 404.0, None, True])
def test_http_error_outside_400_599_is_refused(status):
    with pytest.raises(ValueError):
        fastcore.HTTPError(status)


@pytest.mark.parametrize("helper, status", [
    (errors.BadRequest, 400), (errors.Unauthorized, 401), (errors.Forbidden, 403),
    (errors.NotFound, 404), (errors.MethodNotAllowed, 405), (errors.Conflict, 409),
    (errors.TooManyRequests, 429), (errors.InternalServerError, 500),
    (errors.ServiceUnavailable, 503),
])
def test_named_helpers(helper, status):
    exc = helper("why")
    assert isinstance(exc, fastcore.HTTPError)
    assert exc.status_code == status
    assert str(exc) == "why"
    assert exc.code is None
    assert str(helper()) == SPEC_PHRASES[status]
    assert helper.__name__ in errors.__all__
