"""Tokens verified before: a client's next request with the same token skips
the signature check.

How this works
--------------
A service sees the same bearer token on many requests (an access token lives
for minutes). ``VerifiedTokens`` keeps, per token string, the payload it
verified to, as JSON bytes (each hit gets a copy of its own to become
``request.user``), and the time its ``exp`` plus the leeway passes. A hit
before that time returns the payload without PyJWT; a hit after it drops the
entry, so the token is verified again and refused as expired. ``nbf`` and
``iat`` cannot turn bad later, and the instance's key and default ``verify``
options are the only ones that fill or read it (a per-call option verifies
without it). At ``size`` entries the oldest goes first.
"""
from __future__ import annotations

import math
import time
from typing import Any

import orjson


class VerifiedTokens:
    """Up to ``size`` tokens and their payloads (see the module doc)."""

    def __init__(self, size: int, leeway: float) -> None:
        self._size = size
        self._leeway = leeway
        self._entries: dict[str, tuple[bytes, float]] = {}

    def get(self, token: str) -> dict | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if time.time() >= entry[1]:
            del self._entries[token]
            return None
        return orjson.loads(entry[0])

    def add(self, token: str, payload: dict) -> None:
        exp = payload.get("exp")
        expires = exp + self._leeway if isinstance(exp, (int, float)) else math.inf
        try:
            data = orjson.dumps(payload)
        except TypeError:
            return                          # a payload orjson cannot copy is not kept
        entries = self._entries
        if len(entries) >= self._size:
            del entries[next(iter(entries))]
        entries[token] = (data, expires)

    def __len__(self) -> int:
        return len(self._entries)


def payload_cache(verify: dict) -> Any:
    """The cache of the ``verify`` options (``cache``: how many tokens; 0: none)."""
    size = verify["cache"]
    return VerifiedTokens(size, verify["leeway"]) if size else None
