"""The fan-out benchmark's tick (bench/fanout.py), shared by every Python server.

A tick is about 100 bytes of JSON; ``t`` is the publish time on the monotonic
clock in nanoseconds (the load client reads the same clock), so that the
client can measure publish-to-receive latency. ``paced`` publishes at a fixed
rate: every tick that is due when it wakes, then sleeps until the next one.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable

PAD = "x" * 35


def tick() -> dict:
    return {"s": "BTC-USD", "b": 43250.5, "a": 43251.0, "t": time.monotonic_ns(), "p": PAD}


async def paced(publish: Callable[[], None], rate: int) -> None:
    """Call ``publish()`` ``rate`` times a second until cancelled."""
    interval = 1.0 / rate
    due = time.monotonic()
    while True:
        now = time.monotonic()
        while due <= now:
            publish()
            due += interval
        await asyncio.sleep(max(due - time.monotonic(), 0))
