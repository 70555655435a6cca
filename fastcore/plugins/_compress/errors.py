"""The compress plugin's errors: request bodies it cannot inflate."""
from __future__ import annotations

from fastcore.errors import FastcoreError

__all__ = ["CtpUnsupportedEncodingError", "CtpInvalidEncodingError"]


class CtpUnsupportedEncodingError(FastcoreError):
    """A request body came with a ``Content-Encoding`` the plugin cannot decode
    (one of gzip, deflate, br and identity is needed)."""

    code = "FC_ERR_CTP_UNSUPPORTED_ENCODING"
    status_code = 415
    default_message = "Unsupported Content-Encoding"


class CtpInvalidEncodingError(FastcoreError):
    """A request body is not valid data of its ``Content-Encoding`` (corrupt,
    truncated, or followed by stray bytes)."""

    code = "FC_ERR_CTP_INVALID_ENCODING"
    status_code = 400
    default_message = "Could not decompress the request payload using the provided encoding"
