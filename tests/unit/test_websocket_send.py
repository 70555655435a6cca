"""ws.send's framing (fastcore/_websocket.py), on a transport that records writes."""
from __future__ import annotations

import asyncio

from fastcore._websocket import WebSocket


class Recorder:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.frames.append(data)


def sent(*messages, connections=1):
    recorders = [Recorder() for _ in range(connections)]

    async def main():
        sockets = []
        for recorder in recorders:
            ws = WebSocket(None)
            ws.connection_made(recorder)
            sockets.append(ws)
        for message in messages:
            for ws in sockets:
                await ws.send(message)

    asyncio.run(main())
    return [r.frames for r in recorders]


def test_each_kind_of_message_gets_its_frame():
    text = "tick"
    assert sent(text, text, b"tick", bytearray(b"ab"), {"a": 1}, "tick")[0] == [
        b"\x81\x04tick", b"\x81\x04tick", b"\x82\x04tick", b"\x82\x02ab",
        b'\x81\x07{"a":1}', b"\x81\x04tick"]


def test_one_message_to_many_connections_is_one_frame_object():
    message = "x" * 300
    frames = [f[0] for f in sent(message, connections=3)]
    assert frames[0] == b"\x81\x7e\x01\x2c" + message.encode()
    assert frames[0] is frames[1] is frames[2]


def test_equal_text_and_bytes_are_not_confused():
    assert sent("same", b"same", "same")[0] == [b"\x81\x04same", b"\x82\x04same",
                                                b"\x81\x04same"]
