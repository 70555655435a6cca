"""The WebSocket benchmark (bench/ws_app.py's routes) as a raw ASGI app.

For uvicorn with the ``websockets`` protocol implementation and uvloop:
``/echo`` sends every message back; ``/push`` sends a message received on any
of its connections to each of them, one ``send`` each. Run with::

    uvicorn bench.peers.ws_uvicorn:app --ws websockets --loop uvloop \
        --no-access-log --log-level warning
"""
from __future__ import annotations

subscribers: dict = {}


async def _messages(receive):
    """The text/bytes of each message until the client disconnects."""
    while True:
        event = await receive()
        if event["type"] != "websocket.receive":
            return
        text = event.get("text")
        yield {"type": "websocket.send", "text": text} if text is not None else \
            {"type": "websocket.send", "bytes": event.get("bytes")}


async def _echo(receive, send) -> None:
    async for message in _messages(receive):
        await send(message)


async def _push(receive, send) -> None:
    key = object()
    subscribers[key] = send
    try:
        async for message in _messages(receive):
            for subscriber in list(subscribers.values()):
                await subscriber(message)
    finally:
        subscribers.pop(key, None)


async def app(scope, receive, send) -> None:
    """The ASGI entry point: WebSocket only (lifespan acknowledged)."""
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket" or scope["path"] not in ("/echo", "/push"):
        return
    await receive()                               # websocket.connect
    await send({"type": "websocket.accept"})
    await (_echo if scope["path"] == "/echo" else _push)(receive, send)
