"""The fan-out benchmark (bench/fanout_app.py's routes) on uvicorn with the
``websockets`` implementation, publishing with ``websockets``' ``broadcast``.

uvicorn's ``send`` for a WebSocket is a method of its protocol object, a
``websockets`` server protocol: ``broadcast`` takes those. Run with::

    uvicorn bench.peers.fanout_uvicorn:app --ws websockets --loop uvloop
"""
from __future__ import annotations

import asyncio

import orjson
from websockets.legacy.protocol import broadcast

from bench.peers.ticks import paced, tick

subscribers: set = set()


def publish() -> None:
    broadcast(subscribers, orjson.dumps(tick()).decode())


async def _subscriber(receive, send) -> None:
    protocol = send.__self__
    subscribers.add(protocol)
    try:
        while (await receive())["type"] == "websocket.receive":
            pass
    finally:
        subscribers.discard(protocol)


async def _control(receive) -> None:
    pacer = None
    try:
        while True:
            event = await receive()
            if event["type"] != "websocket.receive":
                return
            text = event.get("text") or ""
            if text.startswith("go:"):
                for _ in range(int(text[3:])):
                    publish()
            elif text.startswith("rate:") and pacer is None:
                pacer = asyncio.get_running_loop().create_task(paced(publish, int(text[5:])))
    finally:
        if pacer is not None:
            pacer.cancel()


async def app(scope, receive, send) -> None:
    """The ASGI entry point: WebSocket only (lifespan acknowledged)."""
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            await send({"type": event["type"] + ".complete"})
            if event["type"] == "lifespan.shutdown":
                return
    if scope["type"] != "websocket" or scope["path"] not in ("/ws", "/control"):
        return
    await receive()                               # websocket.connect
    await send({"type": "websocket.accept"})
    if scope["path"] == "/ws":
        await _subscriber(receive, send)
    else:
        await _control(receive)
