"""Where cached answers live: the memory store and the Redis store.

How this works
--------------
An :class:`Entry` is one cached answer: the body bytes, the headers a hit
sends (content type and ``X-Cache: HIT``, built once when it is stored),
the time it was stored (for ``Age``) and, in memory, when it expires.

:class:`MemoryStore` is an ``OrderedDict`` in least-recently-used order (a
hit moves its entry to the end; beyond ``max_entries`` the first is
evicted) plus an index path -> keys for ``invalidate``. Its clock is the
monotonic one. ``generation`` counts invalidations: a miss notes it when it
starts and its answer is only stored if no invalidation happened meanwhile,
so an answer computed from data older than an ``invalidate`` never lands
after it.

:class:`RedisStore` keeps an entry under ``fastcore:cache:e:<path id>:<variant id>``
(ids are digests of the path and of the rest of the key) with the route's
ttl as Redis expiry (``SET ... PX``). Invalidation is by generation
counters: ``fastcore:cache:g`` (``clear``) and ``fastcore:cache:g:<path id>``
(``invalidate``), each one ``INCR``. An entry records the two counters it was
stored under; a lookup is one ``MGET`` of the entry and both counters, and
an entry whose counters are not the current ones is a miss (it expires on
its own). Stores use the counters read by the miss's lookup, so here too an
answer older than an invalidation is never served after it. The clock is the
wall clock, shared by every process. Values are read undecoded
(``NEVER_DECODE``), whatever ``decode_responses`` the client has.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from hashlib import blake2b
from typing import Any

import orjson

try:
    from redis.client import NEVER_DECODE
except ImportError:                 # pragma: no cover - depends on the environment
    NEVER_DECODE = "NEVER_DECODE"

PREFIX = "fastcore:cache:"


class Entry:
    """One cached answer, ready to be sent."""

    __slots__ = ("body", "ctype", "headers", "stored_at", "expires_at")

    def __init__(self, body: bytes | None, ctype: str | None, stored_at: float,
                 expires_at: float) -> None:
        self.body = body
        self.ctype = ctype
        self.stored_at = stored_at
        self.expires_at = expires_at
        self.headers = {"x-cache": "HIT"}
        if ctype is not None:
            self.headers["content-type"] = ctype


class MemoryStore:
    """Entries in this process, least recently used evicted first."""

    clock = staticmethod(time.monotonic)

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.generation = 0
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._paths: dict[str, set[tuple]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple, now: float) -> Entry | None:
        # A hit costs one dict lookup, an expiry check and the LRU move.
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= now:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple, entry: Entry, generation: int) -> None:
        if generation != self.generation:
            return      # invalidated while this answer was being made
        entries = self._entries
        if key in entries:
            entries.move_to_end(key)
        else:
            self._paths.setdefault(key[0], set()).add(key)
        entries[key] = entry
        while len(entries) > self.max_entries:
            oldest, _ = entries.popitem(last=False)
            self._unindex(oldest)

    def invalidate(self, path: str) -> None:
        self.generation += 1
        for key in self._paths.pop(path, ()):
            del self._entries[key]

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._paths.clear()

    def _drop(self, key: tuple) -> None:
        del self._entries[key]
        self._unindex(key)

    def _unindex(self, key: tuple) -> None:
        keys = self._paths.get(key[0])
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._paths[key[0]]


class RedisStore:
    """Entries in Redis, shared by every process that uses it."""

    clock = staticmethod(time.time)

    def __init__(self, client: Any) -> None:
        self._client = client

    async def get(self, key: tuple) -> tuple[Entry | None, tuple[str, str]]:
        """The entry for ``key`` (None on a miss) and the counters it was read under."""
        path_id = _digest(key[0])
        raw, all_gen, path_gen = await self._client.execute_command(
            "MGET", _entry_key(path_id, key), PREFIX + "g", PREFIX + "g:" + path_id,
            **{NEVER_DECODE: True})
        stamp = (_text(all_gen), _text(path_gen))
        if raw is None:
            return None, stamp
        return _decode(raw, stamp), stamp

    async def put(self, key: tuple, entry: Entry, stamp: tuple[str, str], ttl: float) -> None:
        head = orjson.dumps([stamp[0], stamp[1], entry.stored_at, entry.ctype])
        await self._client.execute_command(
            "SET", _entry_key(_digest(key[0]), key), head + b"\n" + (entry.body or b""),
            "PX", max(1, int(ttl * 1000)))

    async def invalidate(self, path: str) -> None:
        await self._client.execute_command("INCR", PREFIX + "g:" + _digest(path))

    async def clear(self) -> None:
        await self._client.execute_command("INCR", PREFIX + "g")


def _entry_key(path_id: str, key: tuple) -> str:
    return "%se:%s:%s" % (PREFIX, path_id, _digest(orjson.dumps(key[1:])))


def _digest(value: str | bytes) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogatepass")
    return blake2b(value, digest_size=16).hexdigest()


def _text(counter: bytes | None) -> str:
    return "0" if counter is None else counter.decode("ascii")


def _decode(raw: bytes, stamp: tuple[str, str]) -> Entry | None:
    """The entry stored as ``raw``; None when it is from an older generation."""
    head, _, body = raw.partition(b"\n")
    all_gen, path_gen, stored_at, ctype = orjson.loads(head)
    if (all_gen, path_gen) != stamp:
        return None
    return Entry(body if ctype is not None else None, ctype, stored_at, math.inf)
