"""The rate_limit plugin's errors."""
from __future__ import annotations

from fastcore.errors import FastcoreError


class RateLimitedError(FastcoreError):
    """A key made more requests than ``max`` in its time window (SPEC §13)."""

    code = "FC_ERR_RATE_LIMITED"
    status_code = 429
    default_message = "Rate limit exceeded"


class RateLimitStoreError(FastcoreError):
    """The store (Redis) failed to count a request and ``skip_on_error`` is off."""

    code = "FC_ERR_RATE_LIMIT_STORE"
    status_code = 503
    default_message = "The rate-limit store is unavailable"
