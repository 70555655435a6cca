"""Keep-alive pings for every WebSocket of a server, on one timer.

Each ``WebSocket`` keeps two deadlines: when its next ping is due, and, once a
ping is out, when its pong must have come. One ``KeepAlive`` per server walks
the open WebSockets every ``tick`` seconds (a quarter of the shorter of
``ws_ping_interval`` and ``ws_ping_timeout``) and asks each one due to ping
or to close with 1011. A timer handle per connection would cost about 450
bytes of every idle WebSocket; the walk costs a few microseconds per hundred
connections per tick. So a ping goes out between ``interval`` and ``interval
+ tick`` after the last pong, and a missing pong closes the connection
between ``timeout`` and ``timeout + tick`` after its ping. The timer runs only
while some WebSocket is open.

A leaf module: it imports nothing of fastcore.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any


class KeepAlive:
    """The keep-alive walk over ``members`` (a server's set of open WebSockets)."""

    __slots__ = ("members", "interval", "timeout", "tick", "_timer")

    def __init__(self, members: set, interval: float, timeout: float) -> None:
        self.members = members
        self.interval = interval
        self.timeout = timeout
        self.tick = min(interval, timeout or interval) / 4
        self._timer: asyncio.TimerHandle | None = None

    def first_ping(self) -> float:
        """When a WebSocket opened now sends its first ping; starts the timer."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.tick, self._walk)
        return time.monotonic() + self.interval

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _walk(self) -> None:
        self._timer = None
        now = time.monotonic()
        member: Any
        for member in list(self.members):
            member._keepalive(now, self.interval, self.timeout)
        if self.members:
            self._timer = asyncio.get_running_loop().call_later(self.tick, self._walk)
