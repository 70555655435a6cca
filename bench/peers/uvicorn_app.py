"""The standard workload as a raw ASGI app, for uvicorn + httptools + uvloop.

No framework: one function dispatches on (method, path) and each route does by
hand what fastcore's route does through its schemas (``bench/peers/workload.py``,
shared by the Python peers), so both servers do the same work and send the same
body bytes (see shared/bench/WORKLOAD.md).

Run with::

    uvicorn bench.peers.uvicorn_app:app --http httptools --loop uvloop \
        --no-access-log --log-level warning
"""
from __future__ import annotations

import orjson

from bench.peers.workload import (  # noqa: F401  (validate_order: re-exported)
    BODY_LIMIT, JSON_TYPE, PRICES, Reject, not_found, order, query_field, too_large, user,
    validate_order,
)

_JSON_TYPE = JSON_TYPE.encode("latin-1")


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
        if size > BODY_LIMIT:
            raise too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _content_type(scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value
    return b""


async def _route(scope, receive) -> bytes:
    method, path = scope["method"], scope["path"]
    if method == "GET":
        if path == "/json":
            return orjson.dumps({"hello": "world"})
        if path == "/prices":
            return orjson.dumps(PRICES)
        if path.startswith("/users/") and "/" not in path[7:] and len(path) > 7:
            return user(path[7:], query_field(scope["query_string"], "fields"))
    elif method == "POST" and path == "/order":
        content_type = _content_type(scope)
        if content_type.split(b";", 1)[0].strip().lower() != b"application/json":
            return order(content_type, b"")  # raises the 415
        return order(content_type, await _read_body(receive))
    url = scope.get("raw_path") or scope["path"].encode("utf-8")
    if scope["query_string"]:
        url += b"?" + scope["query_string"]
    raise not_found(method, url.decode("latin-1"))


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
    except Reject as rejected:
        await _send(send, rejected.status, rejected.body)
    except ConnectionResetError:
        return
    else:
        await _send(send, 200, body)
