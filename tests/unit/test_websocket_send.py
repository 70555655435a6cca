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


def test_websocket_frame_builds_text_unless_binary():
    import fastcore
    assert fastcore.websocket_frame("hé") == b"\x81\x03h\xc3\xa9"
    assert fastcore.websocket_frame(b'{"a":1}') == b'\x81\x07{"a":1}'
    assert fastcore.websocket_frame(b"\x00", binary=True) == b"\x82\x01\x00"


def test_write_frame_refuses_while_paused_and_wait_writable_returns_on_resume():
    async def main():
        recorder = Recorder()
        ws = WebSocket(None)
        ws.connection_made(recorder)
        assert ws.writable and ws.write_frame(b"\x81\x01a")
        ws.pause_writing()
        assert not ws.writable and not ws.write_frame(b"\x81\x01b")
        waiters = [asyncio.ensure_future(ws.wait_writable()) for _ in range(2)]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiters)
        ws.resume_writing()
        await asyncio.gather(*waiters)           # both wake on the one resume
        assert ws.write_frame(b"\x81\x01c")
        return recorder.frames

    assert asyncio.run(main()) == [b"\x81\x01a", b"\x81\x01c"]


def test_on_close_callbacks_run_once_when_the_connection_is_gone():
    async def main():
        seen = []
        ws = WebSocket(None)
        ws.connection_made(Recorder())
        ws.on_close(lambda w: seen.append(("first", w.close_code)))
        ws.on_close(lambda w: 1 / 0)                # logged, the others still run
        ws.on_close(lambda w: seen.append(("second", w.close_code)))
        ws.connection_lost(None)
        ws.connection_lost(None)
        assert not ws.writable and not ws.write_frame(b"\x81\x01x")
        ws.on_close(lambda w: seen.append(("late", w.close_code)))
        return seen

    assert asyncio.run(main()) == [("first", 1006), ("second", 1006), ("late", 1006)]
