"""The standard workload's routes as plain functions, shared by the Python peers.

No framework: each function does by hand what fastcore's route does through its
schemas, so every peer does the same work and sends the same body bytes as
fastcore (see shared/bench/WORKLOAD.md):

- data is built once at import; bodies are serialized per request with orjson,
  as a handler returning a dict would be;
- validation failures use fastcore's error body and Ajv-style messages
  (``body must have required property 'price'``), unknown routes its 404 body.

A peer only adapts its server's request and response objects: ``respond`` takes
the method, path, query string, Content-Type and body of a request and returns
the status and the body to send with ``JSON_TYPE``.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl

import orjson

# The HS256 secret of the authenticated variants (fastcore-jwt, fastify-jwt), and
# the claims of the token ``bench/load.py --jwt`` sends (no expiry).
JWT_SECRET = "fastcore-bench-jwt-secret-0123456789abcdef"
JWT_CLAIMS = {"sub": "bench-user", "role": "trader"}

_SYMBOLS = (
    "BTC-USD ETH-USD SOL-USD XRP-USD ADA-USD DOGE-USD AVAX-USD DOT-USD LINK-USD "
    "MATIC-USD LTC-USD BCH-USD XLM-USD ATOM-USD UNI-USD ETC-USD FIL-USD APT-USD "
    "ARB-USD OP-USD"
).split()

PRICES = [
    {"symbol": s, "bid": 43250.5 + i * 0.25, "ask": 43251.0 + i * 0.25,
     "ts": 1732200000123 + i, "venue": "x"}
    for i, s in enumerate(_SYMBOLS)
]

JSON_TYPE = "application/json; charset=utf-8"
BODY_LIMIT = 1048576  # fastcore's default body_limit, as Fastify's bodyLimit
_INTEGER = re.compile(r"[+-]?[0-9]+")
_SIDES = ("buy", "sell")
_REASONS = {400: "Bad Request", 413: "Content Too Large", 415: "Unsupported Media Type"}


class Reject(Exception):
    """A client error, carrying the status and the body to answer with."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def error(status: int, code: str, message: str) -> Reject:
    # fastcore's error body: statusCode, code, error, message, in that order.
    body = {"statusCode": status, "code": code, "error": _REASONS[status],
            "message": message}
    return Reject(status, orjson.dumps(body))


def too_large() -> Reject:
    return error(413, "FC_ERR_CTP_BODY_TOO_LARGE", "Request body is too large")


def _invalid(message: str) -> Reject:
    return error(400, "FC_ERR_VALIDATION", message)


def _check_number(order: dict, name: str) -> None:
    value = order[name]
    # bool is an int subclass in Python but not a number in JSON Schema.
    if type(value) is bool or not isinstance(value, (int, float)):
        raise _invalid(f"body/{name} must be number")
    if not value > 0:
        raise _invalid(f"body/{name} must be > 0")


def validate_order(order) -> dict:
    """Check the /order body as its schema does; Ajv's order: type, required, properties."""
    if not isinstance(order, dict):
        raise _invalid("body must be object")
    for name in ("symbol", "side", "qty", "price"):
        if name not in order:
            raise _invalid(f"body must have required property '{name}'")
    symbol = order["symbol"]
    if not isinstance(symbol, str):
        raise _invalid("body/symbol must be string")
    if len(symbol) < 1:
        raise _invalid("body/symbol must NOT have fewer than 1 characters")
    if len(symbol) > 16:
        raise _invalid("body/symbol must NOT have more than 16 characters")
    if order["side"] not in _SIDES:
        raise _invalid("body/side must be equal to one of the allowed values")
    _check_number(order, "qty")
    _check_number(order, "price")
    return order


def media_type(content_type: str | bytes | None) -> bytes:
    """The lower-cased media type of a Content-Type value, without parameters."""
    if not content_type:
        return b""
    if isinstance(content_type, str):
        content_type = content_type.encode("latin-1")
    return content_type.split(b";", 1)[0].strip().lower()


def order(content_type: str | bytes | None, raw: bytes) -> bytes:
    """POST /order: parse and validate the JSON body, answer with it."""
    if media_type(content_type) != b"application/json":
        raise error(415, "FC_ERR_CTP_INVALID_MEDIA_TYPE", "Unsupported Media Type")
    if len(raw) > BODY_LIMIT:
        raise too_large()
    if not raw:
        raise error(400, "FC_ERR_CTP_EMPTY_JSON_BODY",
                    "Body cannot be empty when content-type is set to 'application/json'")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise error(400, "FC_ERR_CTP_INVALID_JSON", "Body is not valid JSON") from None
    return orjson.dumps(validate_order(parsed))


def query_field(query_string: str | bytes, name: str) -> str | None:
    """The first value of ``name`` in a query string, decoded."""
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    for key, value in parse_qsl(query_string):
        if key == name:
            return value
    return None


def user(user_id: str, fields: str | None) -> bytes:
    """GET /users/:id: the id coerced to an integer, and the ``fields`` query value."""
    if _INTEGER.fullmatch(user_id) is None:
        raise _invalid("params/id must be integer")
    result: dict = {"id": int(user_id)}
    if fields is not None:
        result["fields"] = fields
    return orjson.dumps(result)


def not_found(method: str, url: str) -> Reject:
    # fastcore's default 404 body keeps Fastify's key order.
    body = {"message": f"Route {method}:{url} not found",
            "error": "Not Found", "statusCode": 404}
    return Reject(404, orjson.dumps(body))


def respond(method: str, path: str, query_string: str, content_type: str | None,
            body: bytes | None) -> tuple[int, bytes]:
    """Dispatch one request: the status and the body to send."""
    try:
        if method == "GET":
            if path == "/json":
                return 200, orjson.dumps({"hello": "world"})
            if path == "/prices":
                return 200, orjson.dumps(PRICES)
            if path.startswith("/users/") and len(path) > 7 and "/" not in path[7:]:
                return 200, user(path[7:], query_field(query_string, "fields"))
        elif method == "POST" and path == "/order":
            return 200, order(content_type, body or b"")
        url = path + ("?" + query_string if query_string else "")
        raise not_found(method, url)
    except Reject as rejected:
        return rejected.status, rejected.body
