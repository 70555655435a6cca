"""The ``cache`` plugin (SPEC §13): ``app.register(cache, store="memory", ttl=60,
max_entries=10_000)``, then ``app.cache``; routes opt in with
``config={"cache": {"ttl": 300, "vary": ["accept-language"], "private": False}}``.

``keys`` compiles a route's setting into a plan and a request into its key;
``stores`` holds the memory store (LRU, ``max_entries``) and the Redis store
(``app.redis``, from the redis plugin); ``hooks`` is ``app.cache``: the
``on_request`` hook that answers hits, the ``on_send`` hook that stores
misses, the stampede guard, ``invalidate`` and ``clear``.
"""
from __future__ import annotations

from typing import Any

import fastcore
from fastcore.errors import PluginNotPresentError

from .errors import CacheConfigError, CacheStoreError
from .hooks import Cache
from .keys import is_ttl
from .stores import MemoryStore, RedisStore

__all__ = ["cache", "Cache", "CacheConfigError", "CacheStoreError"]

DEFAULTS: dict[str, Any] = {"store": "memory", "ttl": 60, "max_entries": 10_000}


def _check(opts: dict) -> dict:
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise TypeError("unknown option(s) %s" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    if options["store"] not in ("memory", "redis"):
        raise ValueError('store is "memory" or "redis", got %r' % (options["store"],))
    if not is_ttl(options["ttl"]):
        raise ValueError("ttl is a number of seconds > 0, got %r" % (options["ttl"],))
    max_entries = options["max_entries"]
    if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
        raise ValueError("max_entries is an int >= 1, got %r" % (max_entries,))
    if options["store"] == "redis" and "max_entries" in opts:
        raise ValueError('max_entries bounds the memory store; with store="redis", '
                         "Redis's maxmemory policy bounds the cache")
    return options


def _redis_client(app: Any) -> Any:
    """``app.redis`` (the client registered without a namespace), or why it is missing."""
    if not app.has_decorator("redis"):
        raise PluginNotPresentError(
            'The dependency "redis" of plugin "cache" is not registered: store="redis" '
            "uses app.redis; register fastcore.plugins.redis before cache")
    client = app.redis
    if not callable(getattr(client, "execute_command", None)):
        raise PluginNotPresentError(
            'The dependency "redis" of plugin "cache" has no client without namespace: '
            'store="redis" uses app.redis, not app.redis[namespace]')
    return client


@fastcore.plugin(name="cache", options=_check)
async def cache(app: Any, options: dict) -> None:
    """Decorates the app with ``cache`` (a :class:`Cache`) and adds its hooks."""
    if options["store"] == "redis":
        store: MemoryStore | RedisStore = RedisStore(_redis_client(app))
    else:
        store = MemoryStore(options["max_entries"])
    instance = Cache(store, float(options["ttl"]))
    app.decorate("cache", instance)
    app.decorate_request("cache_miss", None)
    app.add_hook("on_route", instance.check_route)
    app.add_hook("on_request", instance.lookup_memory if isinstance(store, MemoryStore)
                 else instance.lookup_redis)
    app.add_hook("on_send", instance.store_answer)
