"""The cache plugin's errors."""
from __future__ import annotations

from fastcore.errors import FastcoreError


class CacheConfigError(FastcoreError):
    """A route's ``config["cache"]`` is not a valid cache setting."""

    code = "FC_ERR_CACHE_INVALID_CONFIG"
    status_code = 500
    default_message = "Invalid route cache config"


class CacheStoreError(FastcoreError):
    """``app.cache.invalidate()`` or ``clear()`` could not reach the store (Redis)."""

    code = "FC_ERR_CACHE_STORE"
    status_code = 503
    default_message = "The cache store is unavailable"
