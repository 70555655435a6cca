"""The error catalogue: one class per ``FC_ERR_*`` code, plus ``HTTPError``.

Every framework error is a :class:`FastcoreError` subclass carrying ``code`` and
``status_code``. User code raises :class:`HTTPError` (or a named helper such as
:class:`NotFound`). Transport-level failures that happen before a request object
exists go through the pure function :func:`map_client_error`.

This module is imported by the compiled modules, so it imports nothing from the
rest of the package.
"""
from __future__ import annotations

import http

import orjson

__all__ = [
    "FastcoreError",
    "HTTPError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "Conflict",
    "TooManyRequests",
    "InternalServerError",
    "ServiceUnavailable",
    "map_client_error",
    "reason_phrase",
    "error_body",
    "CODES",
]

# Reason phrases are fixed by the contract, whatever the Python version says.
_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    418: "I'm a Teapot",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def reason_phrase(status: int) -> str:
    """The reason phrase used in status lines and in the ``error`` field."""
    phrase = _PHRASES.get(status)
    if phrase is not None:
        return phrase
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status"


class FastcoreError(Exception):
    """Base of every framework error; subclasses set ``code`` and ``status_code``."""

    code = "FC_ERR_UNKNOWN"
    status_code = 500
    default_message = "Internal Server Error"

    def __init__(self, message: str | None = None, *args: object) -> None:
        if message is None:
            message = self.default_message
        elif args:
            message = message % args
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


CODES: dict[str, type[FastcoreError]] = {}


def _define(code: str, status: int, message: str, doc: str,
            name: str | None = None) -> type[FastcoreError]:
    if name is None:
        name = "".join(part.capitalize() for part in code[len("FC_ERR_"):].split("_")) + "Error"
    cls = type(name, (FastcoreError,), {
        "code": code,
        "status_code": status,
        "default_message": message,
        "__doc__": doc,
        "__module__": __name__,
    })
    CODES[code] = cls
    globals()[name] = cls
    __all__.append(name)
    return cls


# --- options and instance ----------------------------------------------------
InvalidOptionError = _define(
    "FC_ERR_INVALID_OPTION", 500, "Invalid option",
    "An App option, or a plugin's option at register, has a wrong type or value.")
InstanceAlreadyStartedError = _define(
    "FC_ERR_INSTANCE_ALREADY_STARTED", 500,
    "Fastcore instance is already started",
    "A blueprint method was called after ready() finished booting.")
InstanceAlreadyListeningError = _define(
    "FC_ERR_INSTANCE_ALREADY_LISTENING", 500,
    "Fastcore instance is already listening",
    "listen() was called twice on the same instance.")

# --- routing ------------------------------------------------------------------
DuplicatedRouteError = _define(
    "FC_ERR_DUPLICATED_ROUTE", 500, "Route already declared",
    "The same method, URL and constraints were registered twice.")
InvalidRouteError = _define(
    "FC_ERR_INVALID_ROUTE", 500, "Invalid route",
    "A route pattern or its options cannot be compiled.")
RouteMethodNotSupportedError = _define(
    "FC_ERR_ROUTE_METHOD_NOT_SUPPORTED", 500, "Method is not supported",
    "A route was registered with an HTTP method fastcore does not know.")
RouteMissingHandlerError = _define(
    "FC_ERR_ROUTE_MISSING_HANDLER", 500, "Missing handler function",
    "A route was registered without a callable handler.")
BadUrlError = _define(
    "FC_ERR_BAD_URL", 400, "Bad URL",
    "The request path has an invalid percent-escape or is not valid UTF-8.")
ParamTooLongError = _define(
    "FC_ERR_PARAM_TOO_LONG", 414, "URI Too Long",
    "A route parameter is longer than max_param_length.")

# --- request bodies -------------------------------------------------------------
CtpBodyTooLargeError = _define(
    "FC_ERR_CTP_BODY_TOO_LARGE", 413, "Request body is too large",
    "The request body is larger than body_limit.")
CtpInvalidMediaTypeError = _define(
    "FC_ERR_CTP_INVALID_MEDIA_TYPE", 415, "Unsupported Media Type",
    "No content-type parser accepts the request's Content-Type.")
CtpInvalidJsonError = _define(
    "FC_ERR_CTP_INVALID_JSON", 400, "Body is not valid JSON",
    "The body of a JSON request cannot be parsed.")
CtpEmptyJsonBodyError = _define(
    "FC_ERR_CTP_EMPTY_JSON_BODY", 400,
    "Body cannot be empty when content-type is set to 'application/json'",
    "A request declared a JSON body and sent none.")

# --- replies --------------------------------------------------------------------
FailedSerializationError = _define(
    "FC_ERR_FAILED_SERIALIZATION", 500, "Failed to serialize the response",
    "The payload cannot be turned into JSON (or into the route's response schema).")
BadStatusCodeError = _define(
    "FC_ERR_BAD_STATUS_CODE", 500, "Called reply with an invalid status code",
    "reply.code() got a status outside 100..599.")
ReplyInvalidHeaderError = _define(
    "FC_ERR_REP_INVALID_HEADER", 500, "Invalid header",
    "A reply header name or value holds CR, LF or another forbidden character.",
    name="ReplyInvalidHeaderError")
HandlerTimeoutError = _define(
    "FC_ERR_HANDLER_TIMEOUT", 503, "Request timed out",
    "The reply was not sent within handler_timeout; the handler's task was cancelled.")
ExpectationFailedError = _define(
    "FC_ERR_EXPECTATION_FAILED", 417, "Expectation Failed",
    "The request's Expect header asks for something other than 100-continue.")
WsUpgradeRequiredError = _define(
    "FC_ERR_WS_UPGRADE_REQUIRED", 426, "Upgrade Required",
    "A plain request reached a WebSocket-only route, or the client asked for a WebSocket "
    "version other than 13; the answer names what to send (Upgrade: websocket, "
    "Sec-WebSocket-Version: 13).")
WsBadHandshakeError = _define(
    "FC_ERR_WS_BAD_HANDSHAKE", 400, "Bad WebSocket handshake",
    "An Upgrade: websocket request without a valid Sec-WebSocket-Key or without the "
    "upgrade token in Connection (RFC 6455 §4.2.1).")

RouteRewriteNotStrError = _define(
    "FC_ERR_ROUTE_REWRITE_NOT_STR", 500,
    "Rewrite url needs to be of type str",
    "The rewrite_url option returned something other than a str.")

# --- hooks ------------------------------------------------------------------------
HookNotSupportedError = _define(
    "FC_ERR_HOOK_NOT_SUPPORTED", 500, "Hook not supported",
    "add_hook() got a name that is not one of the request or application hooks.")
HookInvalidHandlerError = _define(
    "FC_ERR_HOOK_INVALID_HANDLER", 500, "Hook should be a function",
    "A hook is not callable, or its signature cannot take the hook's arguments.")
HookInvalidAsyncHandlerError = _define(
    "FC_ERR_HOOK_INVALID_ASYNC_HANDLER", 500,
    "Async hook signature does not match the hook's arguments",
    "An async hook's signature cannot take exactly the hook's arguments.")

# --- plugins and decorators -----------------------------------------------------------
PluginBootError = _define(
    "FC_ERR_PLUGIN_BOOT", 500, "Plugin failed to boot",
    "A plugin raised while booting; the message names it and __cause__ is its error.")
PluginTimeoutError = _define(
    "FC_ERR_PLUGIN_TIMEOUT", 500, "Plugin did not start in time",
    "A plugin did not finish within plugin_timeout.")
PluginNotPresentError = _define(
    "FC_ERR_PLUGIN_NOT_PRESENT", 500, "Plugin dependency not registered",
    "A plugin's declared dependency was not registered before it.")
DecAlreadyPresentError = _define(
    "FC_ERR_DEC_ALREADY_PRESENT", 500, "The decorator has already been added",
    "decorate(), decorate_request() or decorate_reply() reused a name.")
DecReferenceTypeError = _define(
    "FC_ERR_DEC_REFERENCE_TYPE", 500, "The decorator is a reference type",
    "A request or reply decoration default is mutable (it would be shared by every request).")
DecMissingDependencyError = _define(
    "FC_ERR_DEC_MISSING_DEPENDENCY", 500, "The decorator is missing a dependency",
    "A decorator named a dependency that is not decorated yet.")
ErrorHandlerAlreadySetError = _define(
    "FC_ERR_ERROR_HANDLER_ALREADY_SET", 500, "Error handler already set in this scope",
    "set_error_handler() was called twice in one context with allow_error_handler_override=False.")

# --- content-type parsers ----------------------------------------------------------
CtpAlreadyPresentError = _define(
    "FC_ERR_CTP_ALREADY_PRESENT", 500, "Content type parser already present",
    "add_content_type_parser() was called twice for the same type in one context.")
CtpInvalidTypeError = _define(
    "FC_ERR_CTP_INVALID_TYPE", 500, "The content type should be a str or a compiled regex",
    "add_content_type_parser() got a content type that is neither a str nor a re.Pattern.")
CtpEmptyTypeError = _define(
    "FC_ERR_CTP_EMPTY_TYPE", 500, "The content type cannot be an empty string",
    "add_content_type_parser() got an empty content type.")
CtpInvalidHandlerError = _define(
    "FC_ERR_CTP_INVALID_HANDLER", 500, "The content type handler should be a function",
    "add_content_type_parser() got a parser that is not callable.")
CtpInvalidParseTypeError = _define(
    "FC_ERR_CTP_INVALID_PARSE_TYPE", 500, "The body parser can parse as 'bytes' or 'str' only",
    "add_content_type_parser() got a parse_as other than 'bytes' or 'str'.")

# --- schemas ------------------------------------------------------------------------
class SchemaValidationError(FastcoreError):
    """Input failed a route schema: ``.validation`` lists the failures
    (``instance_path``, ``keyword``, ``message``, ``params``) and
    ``.validation_context`` names the part (body, querystring, params, headers)."""

    code = "FC_ERR_VALIDATION"
    status_code = 400
    default_message = "Validation failed"

    def __init__(self, message: str | None = None, validation: list | None = None,
                 validation_context: str | None = None) -> None:
        super().__init__(message)
        self.validation = validation if validation is not None else []
        self.validation_context = validation_context


CODES["FC_ERR_VALIDATION"] = SchemaValidationError
__all__.append("SchemaValidationError")
SchemaRefNotFoundError = _define(
    "FC_ERR_SCHEMA_REF_NOT_FOUND", 500, "Schema reference not found",
    "A $ref names a schema that was not added with add_schema (raised by ready()).")
SchemaDuplicateError = _define(
    "FC_ERR_SCHEMA_DUPLICATE", 500, "Schema with this $id already present",
    "add_schema() got an $id already used in this context.")
SchemaMissingIdError = _define(
    "FC_ERR_SCHEMA_MISSING_ID", 500, "Schema is missing an $id",
    "add_schema() got a schema without an $id.")

# --- logging ------------------------------------------------------------------------
LogInvalidLoggerError = _define(
    "FC_ERR_LOG_INVALID_LOGGER", 500, "Invalid logger",
    "The logger option is neither a bool, a logging.Logger nor a dict of level/stream.")


class HTTPError(FastcoreError):
    """An error with an HTTP status, for user code: ``raise HTTPError(404)``."""

    code = None  # type: ignore[assignment]

    def __init__(self, status_code: int = 500, message: str | None = None) -> None:
        if not isinstance(status_code, int) or not 400 <= status_code <= 599:
            raise ValueError("HTTPError status must be an int between 400 and 599")
        self.status_code = status_code
        super().__init__(reason_phrase(status_code) if message is None else message)


def _http_helper(name: str, status: int) -> type[HTTPError]:
    def __init__(self, message: str | None = None) -> None:
        HTTPError.__init__(self, status, message)

    cls = type(name, (HTTPError,), {"__init__": __init__, "__module__": __name__,
                                    "__doc__": f"HTTP {status} {reason_phrase(status)}."})
    return cls


BadRequest = _http_helper("BadRequest", 400)
Unauthorized = _http_helper("Unauthorized", 401)
Forbidden = _http_helper("Forbidden", 403)
NotFound = _http_helper("NotFound", 404)
MethodNotAllowed = _http_helper("MethodNotAllowed", 405)
Conflict = _http_helper("Conflict", 409)
TooManyRequests = _http_helper("TooManyRequests", 429)
InternalServerError = _http_helper("InternalServerError", 500)
ServiceUnavailable = _http_helper("ServiceUnavailable", 503)


def error_body(status: int, message: str, code: str | None = None) -> bytes:
    """The default JSON error body: statusCode, code (when set), error, message."""
    body: dict = {"statusCode": status}
    if code is not None:
        body["code"] = code
    body["error"] = reason_phrase(status)
    body["message"] = message
    return orjson.dumps(body)


# Transport-level responses: the same bytes Fastify writes for client errors.
_CLIENT_ERRORS = {
    "timeout": (408, b'{"error":"Request Timeout","message":"Client Timeout",'
                     b'"statusCode":408}', "timeout"),
    "header_overflow": (431, b'{"error":"Request Header Fields Too Large",'
                             b'"message":"Exceeded maximum allowed HTTP header size",'
                             b'"statusCode":431}', "header_overflow"),
    "malformed": (400, b'{"error":"Bad Request","message":"Client Error",'
                       b'"statusCode":400}', "error"),
}


def map_client_error(kind: str) -> tuple[int, bytes, str] | None:
    """Map a transport failure to ``(status, body, label)``; ``None`` writes nothing.

    ``kind`` is ``"timeout"``, ``"header_overflow"``, ``"malformed"`` or
    ``"reset"``. Any other kind is treated as malformed input.
    """
    if kind == "reset":
        return None
    return _CLIENT_ERRORS.get(kind, _CLIENT_ERRORS["malformed"])
