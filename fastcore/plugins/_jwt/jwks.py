"""The ``jwks_url`` key source: the keys of a JSON Web Key Set, by key id.

How this works
--------------
The set is fetched on first use, not at boot, so a service starts while the
issuer is unreachable. PyJWT's ``PyJWKClient.fetch_data`` does the HTTP GET;
it blocks, so it runs in the loop's default executor, and the keys
(``PyJWK``, each bound to its algorithm) are kept in a dict by ``kid``.

A token whose ``kid`` is in the dict costs one dict lookup. An unknown
``kid`` refetches the set, at most once per ``REFRESH_INTERVAL`` (a key
rotation is picked up, while tokens with made-up key ids cannot make the
service hammer the issuer); until a set has been fetched at all, a failed
fetch is retried after ``COLD_RETRY_INTERVAL``. Concurrent requests share
the one fetch in flight. A failed refetch keeps the keys already known.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from jwt import PyJWK, PyJWKClient, PyJWKSet, PyJWTError

from .errors import JwtAuthorizationTokenInvalidError, JwtJwksUnavailableError

REFRESH_INTERVAL = 60.0
COLD_RETRY_INTERVAL = 5.0
FETCH_TIMEOUT = 10.0

log = logging.getLogger("fastcore.plugins.jwt")

# The clock of the intervals (module level, so that a test can move it).
monotonic = time.monotonic


class JwksKeys:
    """The keys of the set at ``url``, fetched without blocking the event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client = PyJWKClient(url, cache_jwk_set=False, timeout=FETCH_TIMEOUT)
        self._keys: dict[str, PyJWK] | None = None
        self._attempted = float("-inf")
        self._fetch: asyncio.Future | None = None

    async def key_for(self, header: dict[str, Any]) -> PyJWK:
        """The key named by the token header's ``kid``, fetching the set if needed."""
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise JwtAuthorizationTokenInvalidError.because("the token has no key id (kid)")
        keys = self._keys
        key = keys.get(kid) if keys is not None else None
        if key is None:
            await self._refresh()
            if self._keys is None:
                raise JwtJwksUnavailableError()
            key = self._keys.get(kid)
            if key is None:
                raise JwtAuthorizationTokenInvalidError.because(
                    "no key of the key set matches the token's key id (kid)")
        return key

    async def _refresh(self) -> None:
        if self._fetch is None:
            interval = COLD_RETRY_INTERVAL if self._keys is None else REFRESH_INTERVAL
            if monotonic() - self._attempted < interval:
                return
            self._attempted = monotonic()
            self._fetch = asyncio.ensure_future(self._load())
        # A request cancelled while waiting must not cancel the shared fetch.
        await asyncio.shield(self._fetch)

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(None, self._client.fetch_data)
            keys = PyJWKSet.from_dict(data).keys
            self._keys = {key.key_id: key for key in keys if key.key_id}
        except (PyJWTError, ValueError, OSError) as exc:
            # fetch_data reports network errors as PyJWTError, a body that is
            # not JSON as ValueError; PyJWKSet an unusable set as PyJWTError.
            log.warning("jwt: fetching the key set %s failed: %s", self.url, exc)
        finally:
            self._fetch = None
