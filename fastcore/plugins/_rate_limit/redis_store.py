"""Counters in Redis, shared by every process and machine that uses it.

How this works
--------------
One Lua script per request, run atomically by Redis (one round trip:
EVALSHA, and EVAL once if Redis does not know the script yet): INCR the
key, read its PTTL, and (re)start the window with PEXPIRE when the key is
new (no TTL yet) or, with ``continue_exceeding``, when the count is over the
limit. It returns the count and the milliseconds left, so every process
sharing the Redis sees one counter per key. Windows expire in Redis, which
bounds memory there. The key is ``fastcore:rate_limit:<namespace>:<key>``,
the namespace being ``default``, ``group:<group>`` or ``route:<METHOD> <url>``.
"""
from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import RedisError

_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or (ARGV[2] == '1' and count > tonumber(ARGV[3])) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

PREFIX = "fastcore:rate_limit:"


class RedisStore:
    """Counters in the Redis of a redis.asyncio client (``app.redis``)."""

    # What a failing Redis raises: the connection refused or lost, a timeout,
    # an error reply.
    errors: tuple = (RedisError, OSError, asyncio.TimeoutError)

    def __init__(self, client: Any) -> None:
        register = getattr(client, "register_script", None)
        if register is None:
            raise TypeError("store=\"redis\" needs app.redis to be a redis.asyncio client, "
                            "got %r" % (client,))
        self._script = register(_SCRIPT)

    def counter(self, namespace: str, window: float, limit: int,
                extend: bool) -> RedisCounter:
        return RedisCounter(self._script, PREFIX + namespace + ":",
                            (max(1, round(window * 1000)), "1" if extend else "0", limit))


class RedisCounter:
    """One plan's counter in Redis."""

    __slots__ = ("script", "prefix", "args")

    def __init__(self, script: Any, prefix: str, args: tuple) -> None:
        self.script = script
        self.prefix = prefix
        self.args = args

    async def hit(self, key: Any) -> tuple[int, float]:
        """Count a request of ``key``: ``(requests in the window, seconds left)``."""
        count, ttl = await self.script(keys=[self.prefix + str(key)], args=self.args)
        return int(count), int(ttl) / 1000.0
