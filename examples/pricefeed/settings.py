"""The service's settings, from the environment, with embedded defaults.

Nothing is required: without ``DATABASE_URL`` the catalogue and the accounts
live in memory, without ``REDIS_URL`` the cache and the rate limiter count in
memory, and the feed is always simulated.

- ``DATABASE_URL``: ``postgresql://...``: instruments and accounts in PostgreSQL
  (tables created at boot).
- ``REDIS_URL``: ``redis://...``: the catalogue cached in Redis and the login
  attempts counted there (shared by every worker).
- ``JWT_SECRET``: the HMAC key tokens are signed with; by default a random one
  made at start (tokens then end with the process).
- ``TICK_INTERVAL``: seconds between two ticks of an instrument (0.25).
- ``CORS_ORIGINS``: comma-separated origins allowed to call the API (any).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    redis_url: str | None = None
    jwt_secret: str = ""
    tick_interval: float = 0.25
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: dict | None = None) -> Settings:
        env = os.environ if env is None else env
        origins = tuple(o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip())
        interval = float(env.get("TICK_INTERVAL", "0.25"))
        if not 0 < interval <= 1:
            raise ValueError("TICK_INTERVAL is seconds in (0, 1], got %r" % interval)
        return cls(database_url=env.get("DATABASE_URL") or None,
                   redis_url=env.get("REDIS_URL") or None,
                   jwt_secret=env.get("JWT_SECRET") or secrets.token_urlsafe(48),
                   tick_interval=interval, cors_origins=origins)
