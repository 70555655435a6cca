"""The price-feed service, assembled from fastcore's plugins (SPEC §16).

How this works
--------------
``build_app(settings)`` registers, in this order (a plugin sees the ones
before it; the cache's hit ends the ``on_request`` hooks, so what must see
every request comes first):

1. ``metrics`` (``/metrics``) and ``under_pressure`` (``/status``, 503 while
   the event loop lags), then ``cors`` and ``compress``;
2. with ``REDIS_URL``, ``redis``; with ``DATABASE_URL``, ``postgres``;
3. ``rate_limit`` (a generous limit per client for the API; ``/login`` has
   its own, 5 a minute), ``jwt``, ``channels`` and ``cache`` (Redis when
   there is one, else memory);
4. ``swagger`` (``/docs``), then ``store``: the catalogue and accounts (in
   PostgreSQL, tables made at boot, or in memory) and the simulated feed,
   which starts ticking at ``ready()`` and stops at ``close()``;
5. the routes (``routes.py``).
"""
from __future__ import annotations

import sys
from typing import Any

import fastcore
from fastcore.plugins import (cache, channels, compress, cors, jwt, metrics, postgres,
                              rate_limit, redis, swagger, under_pressure)

from .feed import TICK_SCHEMA, Feed
from .routes import routes
from .settings import Settings
from .store import MemoryStore, PostgresStore

OPENAPI = {
    "info": {"title": "fastcore price feed", "version": "1.0.0",
             "description": "Instruments, logins and live ticks (WebSocket /ws/ticks, "
                            "SSE /sse/ticks)."},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                  "bearerFormat": "JWT"}}},
}


def build_app(settings: Settings | None = None) -> fastcore.App:
    settings = settings or Settings.from_env()
    app = fastcore.App(logger=False)
    app.register(metrics, exclude=["/status"])
    app.register(under_pressure, max_event_loop_delay=1.0, health_check_interval=1.0)
    app.register(cors, origin=list(settings.cors_origins) or True)
    app.register(compress)
    remote = "memory"
    if settings.redis_url:
        app.register(redis, url=settings.redis_url, socket_timeout=0.5)
        remote = "redis"
    if settings.database_url:
        app.register(postgres, dsn=settings.database_url, min_size=1, max_size=10)
    app.register(rate_limit, max=6000, time_window=60, store=remote)
    app.register(jwt, secret=settings.jwt_secret, sign={"expires_in": 3600})
    app.register(channels, history=50, max_backlog=256, slow_consumer="conflate")
    app.register(cache, store=remote, ttl=5)
    app.register(swagger, openapi=OPENAPI)
    app.register(store, settings=settings)
    app.register(routes)
    app.add_hook("on_listen", lambda: announce(app))
    return app


def announce(app: fastcore.App) -> None:
    """Say where to look, once the socket is bound."""
    host, port = app.addresses[0][:2]
    base = "http://%s:%d" % ("[%s]" % host if ":" in host else host, port)
    print("price feed: live prices at %s/ , API docs at %s/docs , metrics at %s/metrics ;"
          " log in with POST /login as demo/demo or admin/admin" % (base, base, base),
          file=sys.stderr, flush=True)


@fastcore.plugin(name="pricefeed-store", dependencies=["channels"])
async def store(app: Any, opts: dict) -> None:
    """``app.store`` (the catalogue and accounts) and ``app.feed`` (the ticks)."""
    settings: Settings = opts["settings"]
    if settings.database_url:
        backing = PostgresStore(app.pg)
        await backing.create()
    else:
        backing = MemoryStore()
    app.decorate("store", backing)
    app.channels.define("ticks.*", schema=TICK_SCHEMA)
    feed = Feed(app.channels, settings.tick_interval)
    feed.track(await backing.list_instruments(limit=1_000_000, offset=0))
    app.decorate("feed", feed)
    app.add_hook("on_ready", feed.start)

    async def stop_feed(app: Any) -> None:
        await feed.stop()
    app.add_hook("on_close", stop_feed)
