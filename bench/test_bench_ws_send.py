"""One message sent to 1,000 WebSockets with ``ws.send``: the Python side of a push.

    pytest bench/test_bench_ws_send.py --benchmark-only

The loop a handler writes to push one message to many connections
(bench/ws_app.py's ``/push``): ``await ws.send(message)`` for each of 1,000
``WebSocket`` objects whose transports only count what they are given, so the
figure is fastcore's own work per delivery, without the system calls.
"""
from __future__ import annotations

import asyncio

from fastcore._websocket import WebSocket

SUBSCRIBERS = 1000
MESSAGE = "x" * 64


class CountingTransport:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.bytes += len(data)


def test_send_one_message_to_1000_websockets(benchmark):
    loop = asyncio.new_event_loop()
    transports = [CountingTransport() for _ in range(SUBSCRIBERS)]
    sockets = []
    for transport in transports:
        ws = WebSocket(None)
        ws.connection_made(transport)
        sockets.append(ws)

    async def push():
        for ws in sockets:
            await ws.send(MESSAGE)

    def run():
        loop.run_until_complete(push())

    try:
        run()
        assert [t.bytes for t in transports] == [66] * SUBSCRIBERS
        benchmark(run)
    finally:
        loop.close()
