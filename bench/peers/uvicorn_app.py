"""The standard workload as a raw ASGI app, for uvicorn + httptools + uvloop.

No framework: one function dispatches on (method, path) and each route does by
hand what fastcore's route does through its schemas, so both servers do the same
work and send the same body bytes (see shared/bench/WORKLOAD.md):

- data is built once at import; bodies are serialized per request with orjson,
  as a handler returning a dict would be;
- validation failures use fastcore's error body and Ajv-style messages
  (``body must have required property 'price'``), unknown routes its 404 body.

Run with::

    uvicorn bench.peers.uvicorn_app:app --http httptools --loop uvloop \
        --no-access-log --log-level warning
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl

import orjson

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

_JSON_TYPE = b"application/json; charset=utf-8"
_BODY_LIMIT = 1048576  # fastcore's default body_limit, as Fastify's bodyLimit
_INTEGER = re.compile(r"[+-]?[0-9]+")
_SIDES = ("buy", "sell")
_REASONS = {400: "Bad Request", 413: "Content Too Large", 415: "Unsupported Media Type"}


class _Reject(Exception):
    """A client error, carrying the status and the body to answer with."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _error(status: int, code: str, message: str) -> _Reject:
    # fastcore's error body: statusCode, code, error, message, in that order.
    body = {"statusCode": status, "code": code, "error": _REASONS[status],
            "message": message}
    return _Reject(status, orjson.dumps(body))


async def _send(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", _JSON_TYPE),
        (b"content-length", str(len(body)).encode("ascii")),
    ]})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _BODY_LIMIT:
            raise _error(413, "FC_ERR_CTP_BODY_TOO_LARGE", "Request body is too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _content_type(scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower()
    return b""


def _invalid(message: str) -> _Reject:
    return _error(400, "FC_ERR_VALIDATION", message)


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


async def _order(scope, receive) -> bytes:
    if _content_type(scope) != b"application/json":
        raise _error(415, "FC_ERR_CTP_INVALID_MEDIA_TYPE", "Unsupported Media Type")
    raw = await _read_body(receive)
    if not raw:
        raise _error(400, "FC_ERR_CTP_EMPTY_JSON_BODY",
                      "Body cannot be empty when content-type is set to 'application/json'")
    try:
        order = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _error(400, "FC_ERR_CTP_INVALID_JSON", "Body is not valid JSON") from None
    return orjson.dumps(validate_order(order))


def _user(user_id: str, query_string: bytes) -> bytes:
    if _INTEGER.fullmatch(user_id) is None:
        raise _invalid("params/id must be integer")
    result: dict = {"id": int(user_id)}
    for name, value in parse_qsl(query_string.decode("latin-1")):
        if name == "fields":
            result["fields"] = value
            break
    return orjson.dumps(result)


def _not_found(scope) -> _Reject:
    url = scope.get("raw_path") or scope["path"].encode("utf-8")
    if scope["query_string"]:
        url += b"?" + scope["query_string"]
    # fastcore's default 404 body keeps Fastify's key order.
    body = {"message": f"Route {scope['method']}:{url.decode('latin-1')} not found",
            "error": "Not Found", "statusCode": 404}
    return _Reject(404, orjson.dumps(body))


async def _route(scope, receive) -> bytes:
    method, path = scope["method"], scope["path"]
    if method == "GET":
        if path == "/json":
            return orjson.dumps({"hello": "world"})
        if path == "/prices":
            return orjson.dumps(PRICES)
        if path.startswith("/users/") and "/" not in path[7:] and len(path) > 7:
            return _user(path[7:], scope["query_string"])
    elif method == "POST" and path == "/order":
        return await _order(scope, receive)
    raise _not_found(scope)


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope, receive, send) -> None:
    """The ASGI entry point."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    try:
        body = await _route(scope, receive)
    except _Reject as rejected:
        await _send(send, rejected.status, rejected.body)
    except ConnectionResetError:
        return
    else:
        await _send(send, 200, body)
