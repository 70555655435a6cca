"""The standard workload as a raw RSGI app, for Granian.

The routes are ``bench/peers/workload.py``'s, as for the uvicorn peer; this
module only reads Granian's request scope and writes its response. Run with::

    granian --interface rsgi --http 1 --no-ws --workers 1 --loop uvloop \
        --log-level warning bench.peers.granian_app:app
"""
from __future__ import annotations

from bench.peers.workload import JSON_TYPE, respond

_HEADERS = [("content-type", JSON_TYPE)]


async def app(scope, proto) -> None:
    """The RSGI entry point."""
    if scope.proto != "http":
        return
    method = scope.method
    body = await proto() if method == "POST" else None
    status, payload = respond(method, scope.path, scope.query_string,
                              scope.headers.get("content-type"), body)
    proto.response_bytes(status, _HEADERS, payload)
