"""``app.cache``: the hooks that answer hits and store misses, and invalidation.

How this works
--------------
Three request hooks are added to the context the plugin is registered in
(and ``on_route``, which checks the setting of routes declared after the
plugin booted); on a route without ``config["cache"]`` each returns after
one dict lookup.

- ``on_request``: the route's plan (compiled on the route's first request,
  kept by its config dict) gives the request's key, or None (not GET/HEAD,
  or ``Authorization`` on a route that is not ``private``: not cached).
  A hit is sent from here (``reply.send`` of the stored bytes with the
  prebuilt headers and ``Age``), so nothing after ``on_request`` runs, the
  handler included. With the memory store this hook never waits: it is a
  plain function. A miss sets ``X-Cache: MISS`` and leaves a :class:`Miss`
  on ``request.cache_miss``.
- ``on_send``: sees the serialized bytes (or, for a stream, its iterator:
  never stored). A 200 answer with a known content type, no ``Set-Cookie``,
  no ``Content-Encoding`` and no ``Cache-Control: no-store`` becomes an
  :class:`~.stores.Entry`, stored with the route's ttl.

Stampede: the first miss of a key opens a *flight* (a future in
``_flights``); a miss that finds one waits for it (shielded, so one waiter
going away does not cancel it for the others) and is answered with the entry
the first one stored, as a hit. When the first one's answer is not cached
(an error, another status, a stream, a hijacked reply), its flight ends
with None and the waiters run the handler themselves. ``on_send`` ends the
flight; a ``Miss`` that is dropped without reaching ``on_send`` ends it from
``__del__``, so no waiter is left behind. Flights are per process (with the
Redis store too).

Store failures (Redis down or erroring) are logged through ``request.log``
and the request is served uncached; ``invalidate``/``clear`` raise
``FC_ERR_CACHE_STORE`` instead, since their caller must know.
"""
from __future__ import annotations

import asyncio
from typing import Any

from .errors import CacheStoreError
from .keys import RoutePlan, compile_plan, path_key
from .stores import Entry, MemoryStore, RedisStore


class Miss:
    """A request whose answer may be stored under ``key``."""

    __slots__ = ("flights", "key", "plan", "stamp", "flight")

    def __init__(self, flights: dict, key: tuple, plan: RoutePlan, stamp: Any,
                 flight: asyncio.Future | None) -> None:
        self.flights = flights      # the cache's open flights, key -> future
        self.key = key
        self.plan = plan
        self.stamp = stamp          # the store's generation(s) when the lookup ran
        self.flight = flight        # the future waiters wait on, when this one leads

    def settle(self, entry: Entry | None) -> None:
        """End this miss's flight with ``entry`` (None: the waiters run on their own)."""
        flight, self.flight = self.flight, None
        if flight is None:
            return
        if self.flights.get(self.key) is flight:
            del self.flights[self.key]
        if not flight.done():
            flight.set_result(entry)

    def __del__(self) -> None:
        try:
            self.settle(None)
        except RuntimeError:        # its loop is closed: nobody waits any more
            pass


class Cache:
    """``app.cache``: ``await app.cache.invalidate(path)``, ``await app.cache.clear()``."""

    def __init__(self, store: MemoryStore | RedisStore, ttl: float) -> None:
        self._store = store
        self._ttl = ttl
        self._plans: dict[int, tuple[dict, RoutePlan | None]] = {}
        self._flights: dict[tuple, asyncio.Future] = {}

    async def invalidate(self, path: str) -> None:
        """Drop every entry of ``path`` (all query strings, vary values and users)."""
        await self._change("invalidate", path_key(path))

    async def clear(self) -> None:
        """Drop every entry."""
        await self._change("clear")

    async def _change(self, what: str, *args: str) -> None:
        store = self._store
        if isinstance(store, MemoryStore):
            getattr(store, what)(*args)
            return
        try:
            await getattr(store, what)(*args)
        except Exception as exc:
            raise CacheStoreError("cache %s failed: %s: %s" % (
                what, type(exc).__name__, exc)) from exc

    # -- plans ---------------------------------------------------------------------
    def check_route(self, route_options: dict) -> None:
        """on_route: a route declared after the plugin booted has its setting checked now."""
        config = route_options.get("config")
        if isinstance(config, dict) and "cache" in config:
            compile_plan(config["cache"], self._ttl, "GET",
                         "%s %s" % (route_options.get("method"), route_options.get("url")))

    def _plan(self, request: Any) -> RoutePlan | None:
        config = request.route_config
        if not config or config.get("cache") is None:
            return None
        found = self._plans.get(id(config))
        if found is not None and found[0] is config:
            return found[1]
        record = request.record
        plan = compile_plan(config["cache"], self._ttl, record.method,
                            "%s %s" % (record.method, record.url))
        self._plans[id(config)] = (config, plan)
        return plan

    # -- on_request ----------------------------------------------------------------
    def lookup_memory(self, request: Any, reply: Any) -> Any:
        """on_request with the memory store: a hit is answered without waiting."""
        # A hit: the plan (one dict lookup), the key, one lookup in the store, send.
        plan = self._plan(request)
        if plan is None:
            return None
        key = plan.key(request)
        if key is None:
            return None
        store = self._store
        now = store.clock()
        entry = store.get(key, now)
        if entry is not None:
            return _answer(reply, entry, now)
        return self._begin(request, reply, plan, key, store.generation)

    def lookup_redis(self, request: Any, reply: Any) -> Any:
        """on_request with the Redis store: waits only on routes that cache."""
        plan = self._plan(request)
        if plan is None:
            return None
        key = plan.key(request)
        if key is None:
            return None
        return self._lookup_remote(request, reply, plan, key)

    async def _lookup_remote(self, request: Any, reply: Any, plan: RoutePlan,
                             key: tuple) -> None:
        store = self._store
        try:
            entry, stamp = await store.get(key)
        except Exception as exc:
            _store_failed(request, "lookup", exc)
            reply.header("x-cache", "MISS")
            return
        if entry is not None:
            _answer(reply, entry, store.clock())
            return
        waiting = self._begin(request, reply, plan, key, stamp)
        if waiting is not None:
            await waiting

    def _begin(self, request: Any, reply: Any, plan: RoutePlan, key: tuple,
               stamp: Any) -> Any:
        """A miss: lead a new flight, or return the coroutine that waits for one."""
        flight = self._flights.get(key)
        if flight is not None:
            return self._wait(request, reply, plan, key, stamp, flight)
        flight = self._flights[key] = asyncio.get_running_loop().create_future()
        _start_miss(request, reply, Miss(self._flights, key, plan, stamp, flight))
        return None

    async def _wait(self, request: Any, reply: Any, plan: RoutePlan, key: tuple,
                    stamp: Any, flight: asyncio.Future) -> None:
        entry = await asyncio.shield(flight)
        if entry is not None:
            _answer(reply, entry, self._store.clock())
            return
        _start_miss(request, reply, Miss(self._flights, key, plan, stamp, None))

    # -- on_send ------------------------------------------------------------------------
    def store_answer(self, request: Any, reply: Any, payload: Any) -> Any:
        """on_send: store a cacheable answer of a miss and end its flight."""
        config = request.route_config
        if not config or "cache" not in config:
            return payload
        miss = request.cache_miss
        if miss is None:
            return payload
        request.cache_miss = None
        entry = self._entry(request, reply, miss, payload)
        miss.settle(entry)
        if entry is None:
            return payload
        store = self._store
        if isinstance(store, MemoryStore):
            store.put(miss.key, entry, miss.stamp)
            return payload
        return self._put_remote(request, miss, entry, payload)

    async def _put_remote(self, request: Any, miss: Miss, entry: Entry, payload: Any) -> Any:
        try:
            await self._store.put(miss.key, entry, miss.stamp, miss.plan.ttl)
        except Exception as exc:
            _store_failed(request, "store", exc)
        return payload

    def _entry(self, request: Any, reply: Any, miss: Miss, payload: Any) -> Entry | None:
        """The entry for this answer, or None when it is not to be cached."""
        if reply.status_code != 200 or not _storable(reply):
            return None
        body = _body_bytes(payload)
        if body is _STREAM:
            return None
        ctype = reply.get_header("content-type")        # the payload's, if none was set
        now = self._store.clock()
        return Entry(body, None if ctype is None else str(ctype), now, now + miss.plan.ttl)


_STREAM = object()


def _body_bytes(payload: Any) -> Any:
    """The payload as bytes (None for no body), or ``_STREAM`` for a streamed
    answer, whose bytes this hook never sees whole."""
    if payload is None or type(payload) is bytes:
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    return _STREAM


def _answer(reply: Any, entry: Entry, now: float) -> None:
    """Send ``entry`` as this request's answer (a hit)."""
    reply.headers(entry.headers)
    reply.header("age", max(0, int(now - entry.stored_at)))
    reply.send(entry.body)


def _start_miss(request: Any, reply: Any, miss: Miss) -> None:
    request.cache_miss = miss
    reply.header("x-cache", "MISS")


def _storable(reply: Any) -> bool:
    """Not per-user (Set-Cookie), not encoded by an earlier hook, not refused by the route."""
    if reply.has_header("set-cookie") or reply.has_header("content-encoding"):
        return False
    control = reply.get_header("cache-control")
    return control is None or "no-store" not in str(control).lower()


def _store_failed(request: Any, what: str, exc: Exception) -> None:
    request.log.warning("cache: %s failed, %s %s is served uncached: %s: %s",
                        what, request.method, request.url, type(exc).__name__, exc)
