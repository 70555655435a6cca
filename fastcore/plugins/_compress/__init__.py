"""The ``compress`` plugin (SPEC §13): responses compressed with br, gzip or
deflate, request bodies inflated, as ``@fastify/compress``.

``app.register(compress, encodings=("br", "gzip", "deflate"), threshold=1024,
request_decompression=True)``; a route opts out with ``config={"compress": False}``.

How this works
--------------
``negotiation`` decides the coding from ``Accept-Encoding`` and which content
types are worth compressing; ``codings`` compresses and inflates. This
module adds two hooks to the context the plugin is registered in.

``on_send`` (responses) sees the serialized body (bytes, or None), or a
stream. Checks run cheapest first, so the common small answer costs one
type test and one length test: a body shorter than ``threshold`` goes out
untouched. A body that could be compressed (not 1xx, 204 or 304, no
``Content-Encoding`` or ``Content-Range`` of its own, a route that did not opt
out, a compressible type: the reply's ``Content-Type``, or, when none was
set, the core's default for the payload, JSON, text or octet-stream, all
compressible) gets ``Vary: Accept-Encoding`` whatever this client accepts,
so that a shared cache keys on it. Then, except for HEAD (whose headers
announce the uncompressed body the core describes), the coding negotiated
from ``Accept-Encoding`` is applied: the body compressed in one call and
kept when smaller, with ``Content-Encoding``; the core then writes its
byte-accurate ``Content-Length``.

Streams have no size, so no threshold: an async iterable is wrapped in an
async generator that compresses and flushes each chunk; a
``fastcore.EventStream`` (``reply.sse``, pulled or pushed) is given the
encoder as its ``encoder``, which the core applies to each chunk's data and
finishes when the stream ends. Either way each chunk, each event, decodes
at the client as soon as it arrives. The core sends streams chunked, with no
``Content-Length``.

``pre_parsing`` (requests, with ``request_decompression``): a body with a
``Content-Encoding`` of gzip, deflate or br (several codings: undone in
reverse order, RFC 9110 §8.4) is inflated before the parsers see it, by
replacing ``request.raw_body``. Inflation stops once the output passes
``request.body_limit``: 413 ``FC_ERR_CTP_BODY_TOO_LARGE``. Another coding is
415 ``FC_ERR_CTP_UNSUPPORTED_ENCODING``; data that does not decode, 400
``FC_ERR_CTP_INVALID_ENCODING``. ``identity`` is no coding. A request
without a body costs one attribute test, one without ``Content-Encoding``
one header lookup more.

Bodies are compressed and inflated on the event loop, in one call each:
fine for API answers and request bodies up to ``body_limit``; serve large
static files pre-compressed.
"""
from __future__ import annotations

from typing import Any, AsyncIterator

import fastcore

from .codings import CODINGS, compress_body, inflate, stream_encoder
from .errors import CtpInvalidEncodingError, CtpUnsupportedEncodingError
from .negotiation import Negotiator, add_vary, compressible

__all__ = ["compress", "CtpUnsupportedEncodingError", "CtpInvalidEncodingError"]

DEFAULTS: dict[str, Any] = {"encodings": CODINGS, "threshold": 1024,
                            "request_decompression": True}


def _check(opts: dict) -> dict:
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise TypeError("unknown option(s) %s" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    options["encodings"] = _encodings(options["encodings"])
    threshold = options["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise ValueError("threshold is an int of bytes >= 0, got %r" % (threshold,))
    if not isinstance(options["request_decompression"], bool):
        raise ValueError("request_decompression is a bool, got %r"
                         % (options["request_decompression"],))
    return options


def _encodings(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        names = tuple(v.lower() for v in value)
        if set(names) <= set(CODINGS) and len(set(names)) == len(names):
            return names
    raise ValueError("encodings is a non-empty list of distinct codings among %s, in the "
                     "server's order of preference, got %r" % (", ".join(CODINGS), value))


class _Responses:
    """The ``on_send`` hook: compresses what is worth it."""

    __slots__ = ("threshold", "negotiator")

    def __init__(self, options: dict) -> None:
        self.threshold: int = options["threshold"]
        self.negotiator = Negotiator(options["encodings"])

    def on_send(self, request: Any, reply: Any, payload: Any) -> Any:
        # Runs for every answer of the context: a small body leaves after two tests.
        if type(payload) is bytes:
            if len(payload) < self.threshold:
                return payload
            return self._body(request, reply, payload)
        if payload is None:
            return None
        if isinstance(payload, str):
            return self.on_send(request, reply, payload.encode("utf-8"))
        if hasattr(payload, "__aiter__"):
            return self._stream(request, reply, payload)
        return self.on_send(request, reply, bytes(payload))

    def _body(self, request: Any, reply: Any, body: bytes) -> bytes:
        coding = self._coding(request, reply)
        if coding is None:
            return body
        packed = compress_body(coding, body)
        if len(packed) >= len(body):
            return body                 # incompressible data: sent as it is
        reply.header("content-encoding", coding)
        return packed

    def _stream(self, request: Any, reply: Any, stream: Any) -> Any:
        coding = self._coding(request, reply)
        if coding is None:
            return stream
        reply.header("content-encoding", coding)
        if isinstance(stream, fastcore.EventStream):
            # The core encodes an event stream itself, pulled or pushed.
            stream.encoder = stream_encoder(coding)
            return stream
        return _encoded(stream, stream_encoder(coding))

    def _coding(self, request: Any, reply: Any) -> str | None:
        """The coding for this answer, or None; ``Vary`` for one that could have one."""
        if not _eligible(request, reply):
            return None
        add_vary(reply)
        accept = request.get_header("accept-encoding")
        if accept is None or request.method == "HEAD":
            return None
        return self.negotiator.coding_for(accept)


def _eligible(request: Any, reply: Any) -> bool:
    """Whether the answer may be compressed at all (whatever the client accepts)."""
    status = reply.status_code
    if status < 200 or status == 204 or status == 304:
        return False
    if reply.get_header("content-encoding") is not None \
            or reply.get_header("content-range") is not None:
        return False
    config = request.route_config
    if config is not None and config.get("compress", True) is False:
        return False
    content_type = reply.get_header("content-type")
    return content_type is None or compressible(str(content_type))


async def _encoded(source: Any, encoder: Any) -> AsyncIterator[bytes]:
    """``source``'s chunks through ``encoder``, each flushed, then its end."""
    try:
        async for chunk in source:
            data = encoder.encode(chunk.encode("utf-8") if isinstance(chunk, str)
                                  else bytes(chunk))
            if data:
                yield data
        tail = encoder.finish()
        if tail:
            yield tail
    finally:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


def _inflate_request(request: Any, reply: Any) -> None:
    """``pre_parsing``: the body inflated (see the module doc)."""
    body = request.raw_body
    if not body:
        return                          # (headers are built on first use: not for this)
    header = request.get_header("content-encoding")
    if header is not None:
        request.raw_body = inflate(header, body, request.body_limit)


@fastcore.plugin(name="compress", options=_check)
def compress(app: Any, options: dict) -> None:
    """Adds the ``on_send`` hook (responses) and, with ``request_decompression``,
    the ``pre_parsing`` hook (request bodies) to the context it is registered in."""
    app.add_hook("on_send", _Responses(options).on_send)
    if options["request_decompression"]:
        app.add_hook("pre_parsing", _inflate_request)
