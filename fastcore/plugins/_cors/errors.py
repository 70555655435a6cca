"""The cors plugin's errors."""
from __future__ import annotations

from fastcore.errors import FastcoreError


class CorsInvalidPreflightError(FastcoreError):
    """An ``OPTIONS`` request with ``Origin`` but no ``Access-Control-Request-Method``
    while ``strict_preflight`` is on."""

    code = "FC_ERR_CORS_INVALID_PREFLIGHT"
    status_code = 400
    default_message = "Invalid Preflight Request"
