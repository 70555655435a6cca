"""What to compress, and with what: ``Accept-Encoding``, content types, ``Vary``.

How this works
--------------
``Negotiator(encodings)`` answers ``coding_for(accept_encoding)``: the coding
to send (one of ``encodings``), or None for the body as it is. The header is
read as RFC 9110 §12.5.3 has it: members ``coding;q=weight``, weights from 0
to 1 (a malformed weight drops its member), ``x-gzip`` meaning ``gzip``. A
coding's weight is its own, else that of ``*``, else 0 (not acceptable).
The greatest weight above 0 wins; equal weights go to the server's order,
``encodings``. The body is sent as it is when no coding is acceptable, or
when ``identity`` (named, or through ``*``) weighs more than the winner.
Only the server's codings and the client's header matter, so the answer
is kept per header value (a bounded dict: clients send few distinct ones).

``compressible(content_type)``: text (``text/*``, event streams included),
JSON and XML (``+json``, ``+xml`` suffixes, SVG with them), JavaScript,
forms, WebAssembly, TrueType and OpenType fonts, and
``application/octet-stream`` (the core's type for bytes sent without one,
which ``@fastify/compress`` compresses too); not images, audio, video or
archives, which are compressed already. Decided once per type string.

``add_vary(reply)`` adds ``Accept-Encoding`` to the reply's ``Vary``, keeping
what is there (RFC 9110 §12.5.5).
"""
from __future__ import annotations

import re
from typing import Any

__all__ = ["Negotiator", "weights", "compressible", "add_vary"]

_CACHE_SIZE = 512
_ALIASES = {"x-gzip": "gzip"}
# RFC 9110 §12.4.2: weight = OWS ";" OWS "q=" qvalue; qvalue = 0[.ddd] / 1[.000]
_WEIGHT = re.compile(r"\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*\Z", re.IGNORECASE)


def weights(header: str) -> dict[str, float]:
    """The codings of an ``Accept-Encoding`` value, lower-cased, with their weights."""
    out: dict[str, float] = {}
    for member in header.split(","):
        coding, _, params = member.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        if params:
            match = _WEIGHT.match(params)
            if match is None:
                continue
            weight = float(match.group(1))
        else:
            weight = 1.0
        out[_ALIASES.get(coding, coding)] = weight
    return out


class Negotiator:
    """The coding for each ``Accept-Encoding`` value, given the server's codings."""

    __slots__ = ("encodings", "_known")

    def __init__(self, encodings: tuple[str, ...]) -> None:
        self.encodings = encodings
        self._known: dict[str, str | None] = {}

    def coding_for(self, header: str) -> str | None:
        known = self._known
        if header in known:
            return known[header]
        coding = self._choose(weights(header))
        if len(known) >= _CACHE_SIZE:
            known.clear()
        known[header] = coding
        return coding

    def _choose(self, accepted: dict[str, float]) -> str | None:
        star = accepted.get("*")
        best, best_weight = None, 0.0
        for coding in self.encodings:
            weight = accepted.get(coding, star if star is not None else 0.0)
            if weight > best_weight:
                best, best_weight = coding, weight
        identity = accepted.get("identity", star)
        if best is None or (identity is not None and identity > best_weight):
            return None
        return best


_SUBTYPES = frozenset({
    "json", "xml", "javascript", "x-javascript", "ecmascript", "octet-stream",
    "x-www-form-urlencoded", "wasm", "ttf", "otf", "vnd.ms-fontobject",
})
_SUFFIXES = ("+json", "+xml", "+text", "json")      # json: ndjson, x-ndjson too
_types: dict[str, bool] = {}


def compressible(content_type: str) -> bool:
    """Whether a body of this ``Content-Type`` is worth compressing."""
    known = _types.get(content_type)
    if known is not None:
        return known
    mime = content_type.partition(";")[0].strip().lower()
    kind, _, subtype = mime.partition("/")
    verdict = kind == "text" or subtype in _SUBTYPES or subtype.endswith(_SUFFIXES)
    if len(_types) >= _CACHE_SIZE:
        _types.clear()
    _types[content_type] = verdict
    return verdict


def add_vary(reply: Any) -> None:
    """``Vary: Accept-Encoding``, added to the reply's own ``Vary`` if it has one."""
    vary = reply.get_header("vary")
    if vary is None:
        reply.header("vary", "Accept-Encoding")
        return
    text = ", ".join(map(str, vary)) if isinstance(vary, list) else str(vary)
    names = {name.strip().lower() for name in text.split(",")}
    if "*" not in names and "accept-encoding" not in names:
        reply.header("vary", text + ", Accept-Encoding")
