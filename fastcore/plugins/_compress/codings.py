"""The content codings (RFC 9110 §8.4.1): whole bodies, streams, and bounded inflation.

How this works
--------------
``compress_body(coding, data)`` compresses a whole body in one call.
``stream_encoder(coding)`` returns an encoder for a stream: ``encode(data)``
compresses one chunk and flushes it (zlib's ``Z_SYNC_FLUSH``, brotli's
``flush()``), so every chunk the client receives decodes on arrival, without
waiting for the next one; ``finish()`` ends the coded stream (the gzip
trailer, brotli's last block). That is the interface ``fastcore.EventStream``
takes as its ``encoder``, and the one the plugin's stream wrapper uses.

``inflate(content_encoding, data, limit)`` decodes a request body and never produces
more than ``limit`` + a small step of output: zlib is asked for at most
``limit + 1`` bytes (``decompressobj().decompress(data, max_length)``), brotli
for 64 KiB at a time (``process(data, output_buffer_limit=...)``, then
``process(b"")`` while output remains), and the count is checked after each
step. A body that would inflate past ``limit`` is refused as soon as that is
known, with what was inflated so far dropped: a zip bomb never fills memory.

The HTTP ``deflate`` coding is the zlib format (RFC 1950); raw deflate
(RFC 1951), which some clients send under that name, is recognised by its
missing zlib header and inflated too. ``gzip`` bodies may hold several
members (RFC 1952 §2.2), as ``gzip`` concatenation makes them.
"""
from __future__ import annotations

import zlib
from typing import Callable

from fastcore.errors import CtpBodyTooLargeError

from .errors import CtpInvalidEncodingError, CtpUnsupportedEncodingError

try:
    import brotli
except ImportError as exc:          # pragma: no cover - depends on the environment
    raise ImportError('the compress plugin needs brotli: pip install "fastcore-http[compress]"'
                      ) from exc

__all__ = ["CODINGS", "compress_body", "stream_encoder", "inflate"]

# Levels for content compressed per request: zlib's default, and the brotli
# quality that keeps on-the-fly compression cheap (11, brotli's default, is
# meant for static files compressed once).
GZIP_LEVEL = 6
BROTLI_QUALITY = 4

CODINGS = ("br", "gzip", "deflate")
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_BROTLI_STEP = 65536


def compress_body(coding: str, data: bytes) -> bytes:
    """``data`` in ``coding`` (one of ``CODINGS``)."""
    if coding == "br":
        return brotli.compress(data, quality=BROTLI_QUALITY)
    if coding == "gzip":
        return zlib.compress(data, GZIP_LEVEL, _GZIP_WBITS)
    return zlib.compress(data, GZIP_LEVEL)


class _ZlibEncoder:
    """gzip or deflate, one flushed block per chunk."""

    __slots__ = ("_z",)

    def __init__(self, wbits: int) -> None:
        self._z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, wbits)

    def encode(self, data: bytes) -> bytes:
        if not data:
            return b""
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._z.flush(zlib.Z_FINISH)


class _BrotliEncoder:
    """brotli, flushed after each chunk."""

    __slots__ = ("_c",)

    def __init__(self) -> None:
        self._c = brotli.Compressor(quality=BROTLI_QUALITY)

    def encode(self, data: bytes) -> bytes:
        if not data:
            return b""
        return self._c.process(data) + self._c.flush()

    def finish(self) -> bytes:
        return self._c.finish()


def stream_encoder(coding: str) -> _ZlibEncoder | _BrotliEncoder:
    """A new encoder (``encode(data)``, ``finish()``) for one stream."""
    if coding == "br":
        return _BrotliEncoder()
    return _ZlibEncoder(_GZIP_WBITS if coding == "gzip" else zlib.MAX_WBITS)


# -- request bodies --------------------------------------------------------------------

def inflate(content_encoding: str, data: bytes, limit: int) -> bytes:
    """``data`` decoded from the codings of a ``Content-Encoding`` value, last
    applied first (RFC 9110 §8.4): ``FC_ERR_CTP_UNSUPPORTED_ENCODING`` for a
    coding there is no decoder for (before anything is decoded),
    ``FC_ERR_CTP_BODY_TOO_LARGE`` past ``limit`` bytes,
    ``FC_ERR_CTP_INVALID_ENCODING`` for data that is not valid."""
    codings = [name.strip().lower() for name in content_encoding.split(",")]
    for coding in codings:
        if coding and coding not in _DECODERS:
            raise CtpUnsupportedEncodingError("Unsupported Content-Encoding: %s" % coding)
    for coding in reversed(codings):
        if coding:
            try:
                data = _DECODERS[coding](data, limit)
            except (zlib.error, brotli.error) as exc:
                raise _invalid(coding) from exc
    return data


def _invalid(coding: str) -> CtpInvalidEncodingError:
    return CtpInvalidEncodingError(
        "Could not decompress the request payload using the provided encoding: %s" % coding)


def _inflate_zlib(data: bytes, limit: int, wbits: int, coding: str) -> tuple[bytes, bytes]:
    """One zlib or gzip stream: its output, and the input left after its end."""
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit:
        raise CtpBodyTooLargeError()
    if not inflater.eof:
        raise _invalid(coding)           # truncated
    return out, inflater.unused_data


def _gunzip(data: bytes, limit: int) -> bytes:
    parts = []
    while True:
        out, data = _inflate_zlib(data, limit, _GZIP_WBITS, "gzip")
        parts.append(out)
        limit -= len(out)
        if not data:
            return b"".join(parts)
        if not data.startswith(b"\x1f\x8b"):
            raise _invalid("gzip")      # trailing bytes that are not another member


def _inflate_deflate(data: bytes, limit: int) -> bytes:
    # A zlib header: CM 8 in the low nibble, and the two bytes a multiple of 31
    # (RFC 1950 §2.2). Anything else is taken as raw deflate.
    zlib_format = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    out, rest = _inflate_zlib(data, limit, zlib.MAX_WBITS if zlib_format else -zlib.MAX_WBITS,
                              "deflate")
    if rest:
        raise _invalid("deflate")
    return out


def _unbrotli(data: bytes, limit: int) -> bytes:
    # After an output step is full, brotli keeps the rest of the input and
    # wants process(b"") until it has given everything out.
    decoder = brotli.Decompressor()
    parts = []
    size = 0
    out = decoder.process(data, output_buffer_limit=_BROTLI_STEP)
    while True:
        size += len(out)
        if size > limit:
            raise CtpBodyTooLargeError()
        parts.append(out)
        if decoder.is_finished():
            return b"".join(parts)
        if not out:
            raise _invalid("br")        # needs input there is no more of: truncated
        out = decoder.process(b"", output_buffer_limit=_BROTLI_STEP)


_DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,                  # RFC 9110 §8.4.1.3
    "deflate": _inflate_deflate,
    "br": _unbrotli,
    "identity": lambda data, limit: data,
}
