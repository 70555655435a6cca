"""The simulated market: every instrument's price walks, and each tick is
published once to its channel, ``ticks.<SYMBOL>``.

How this works
--------------
One task per process (started by ``on_ready``, cancelled by ``on_close``)
wakes every ``interval`` seconds and moves each instrument's price by a small
random step (a geometric random walk, about 0.05 % a tick), then publishes
``{"symbol", "price", "bid", "ask", "ts"}``. The channels plugin serializes
it once, with the compiled serializer of ``TICK_SCHEMA``, and writes it to
every WebSocket and SSE subscriber of that channel. A deleted instrument
stops ticking (``forget``).
"""
from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Any

TICK_SCHEMA = {
    "type": "object",
    "required": ["symbol", "price", "bid", "ask", "ts"],
    "properties": {
        "symbol": {"type": "string"},
        "price": {"type": "number"},
        "bid": {"type": "number"},
        "ask": {"type": "number"},
        "ts": {"type": "number"},
    },
}


def channel_of(symbol: str) -> str:
    return "ticks." + symbol


class Feed:
    """The prices of the instruments, moved and published every ``interval``."""

    def __init__(self, channels: Any, interval: float, seed: int | None = None) -> None:
        self._channels = channels
        self.interval = interval
        self.prices: dict[str, float] = {}
        self._random = random.Random(seed)
        self._task: asyncio.Task | None = None

    def track(self, instruments: list[dict]) -> None:
        for row in instruments:
            self.prices.setdefault(row["symbol"], float(row["price"]))

    def forget(self, symbol: str) -> None:
        self.prices.pop(symbol, None)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def tick(self) -> None:
        """Move every price one step and publish it."""
        now = time.time()
        for symbol, price in list(self.prices.items()):
            price *= math.exp(self._random.gauss(0.0, 0.0005))
            self.prices[symbol] = price
            spread = price * 0.0001
            self._channels.publish_nowait(channel_of(symbol), {
                "symbol": symbol, "price": round(price, 6), "bid": round(price - spread, 6),
                "ask": round(price + spread, 6), "ts": round(now, 3)})

    async def _run(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(self.interval)
