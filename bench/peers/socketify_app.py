"""The standard workload as a raw socketify.py app (uWebSockets through CFFI).

The routes are ``bench/peers/workload.py``'s, as for the uvicorn peer; this
module only adapts socketify's request and response objects. Its router matches
the paths, as fastcore's does. Run with::

    python bench/peers/socketify_app.py --host 127.0.0.1 --port 3000

uWebSockets closes HTTP keep-alive connections idle for more than 10 s (a
compile-time constant), which the idle-connections test has to live with.
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import orjson  # noqa: E402
from socketify import App  # noqa: E402

from bench.peers.socketify_main import serve  # noqa: E402

from bench.peers.workload import (  # noqa: E402
    BODY_LIMIT, JSON_TYPE, PRICES, Reject, not_found, order, too_large, user,
)

_TYPE = JSON_TYPE.encode("latin-1")


def _send(res, status: int, body: bytes) -> None:
    if status != 200:
        res.write_status(status)
    res.write_header(b"Content-Type", _TYPE)
    res.end(body)


def hello(res, req) -> None:
    _send(res, 200, orjson.dumps({"hello": "world"}))


def prices(res, req) -> None:
    _send(res, 200, orjson.dumps(PRICES))


def users(res, req) -> None:
    try:
        body = user(req.get_parameter(0) or "", req.get_query("fields"))
    except Reject as rejected:
        _send(res, rejected.status, rejected.body)
    else:
        _send(res, 200, body)


def post_order(res, req) -> None:
    # The request object is only valid during this call: read the header now.
    content_type = req.get_header("content-type")
    chunks: list[bytes] = []
    size = 0

    def on_data(res, chunk, is_end) -> None:
        nonlocal size
        if chunk:
            size += len(chunk)
            chunks.append(chunk)
        if not is_end:
            return
        try:
            if size > BODY_LIMIT:
                raise too_large()
            body = order(content_type, b"".join(chunks))
        except Reject as rejected:
            _send(res, rejected.status, rejected.body)
        else:
            _send(res, 200, body)

    res.on_data(on_data)


def missing(res, req) -> None:
    rejected = not_found(req.get_method(), req.get_full_url())
    _send(res, rejected.status, rejected.body)


def build_app() -> App:
    app = App()
    app.get("/json", hello)
    app.get("/prices", prices)
    app.post("/order", post_order)
    app.get("/users/:id", users)
    app.any("/*", missing)
    return app


def main() -> None:
    serve(build_app, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
