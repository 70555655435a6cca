"""The plugins a service leans on (SPEC §12–15), each registered with
``app.register(plugin, **options)``.

- ``channels``: publish a message once, deliver it to every WebSocket and SSE
  subscriber, on one process or, through Redis, on many.
- ``jwt``: sign and verify JSON Web Tokens (PyJWT), ``request.jwt_verify()``.
- ``redis``: a redis-py asyncio client as ``app.redis``.
- ``cache``: a response cache (memory or Redis) for routes that opt in.
- ``rate_limit``: requests per key and time window (memory or Redis).
- ``cors``: Cross-Origin Resource Sharing headers and preflights.
- ``compress``: response compression and request decompression.
- ``under_pressure``: 503 while the event loop, memory or a health check is over a limit.
- ``postgres``: an asyncpg pool as ``app.pg``, transactions per route.
- ``metrics``: Prometheus metrics (prometheus-client) at ``/metrics``.
- ``tracing``: one OpenTelemetry SERVER span per request, the handler in its context.
- ``swagger``: the OpenAPI 3.1 document of the routes, and the Swagger UI page.

Each is imported on first use, so that a plugin's library is only needed
when that plugin is (``pip install "fastcore-http[jwt]"`` and so on).
"""
from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "channels": "._channels",
    "jwt": "._jwt",
    "redis": "._redis",
    "cache": "._cache",
    "rate_limit": "._rate_limit",
    "cors": "._cors",
    "compress": "._compress",
    "under_pressure": "._under_pressure",
    "postgres": "._postgres",
    "metrics": "._metrics",
    "tracing": "._tracing",
    "swagger": "._swagger",
}

__all__ = list(_MODULES)


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'fastcore.plugins' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
