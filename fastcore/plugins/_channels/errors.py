"""The channels plugin's error."""
from __future__ import annotations

from fastcore.errors import FastcoreError


class ChannelsBackendError(FastcoreError):
    """The backend (Redis) could not be reached, or failed, for a channels operation."""

    code = "FC_ERR_CHANNELS_BACKEND"
    status_code = 503
    default_message = "The channels backend is unavailable"
