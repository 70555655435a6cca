"""WebSocket frame code, library against library (the choice behind SPEC §11).

    pytest bench/test_bench_ws_frames.py --benchmark-only

Two operations on a 64-byte text message, the size of a price tick:

* parse: one masked client frame in, the message out (what a server does for
  every message it receives);
* build: the message in, one unmasked server frame out (once per message
  sent; a publish to many subscribers builds it once).

Libraries: ``websockets``' sans-I/O ``Protocol`` (the frame layer of its
``ServerProtocol``, open; ``receive_data`` /
``events_received``; ``send_text`` / ``data_to_send``), ``wsproto``'s
``FrameProtocol`` (``receive_bytes`` / ``received_frames``; ``send_data``),
``picows`` (Cython; its frame code has no sans-I/O entry point, so its
server protocol is driven through ``get_buffer``/``buffer_updated`` on an
in-memory transport after its own handshake, and frames are built with
``WSTransport.send``), and fastcore's own ``_ws_frames`` (Cython, sans-I/O).
Each case checks its result before it is timed.
"""
from __future__ import annotations

import asyncio
import logging
import os

import pytest

MESSAGE = "x" * 64
PAYLOAD = MESSAGE.encode()
MASK = os.urandom(4)


def client_frame(payload: bytes) -> bytes:
    """A masked, final text frame as a client sends it (RFC 6455 §5.2)."""
    masked = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + MASK + masked


FRAME = client_frame(PAYLOAD)
SERVER_FRAME = bytes([0x81, len(PAYLOAD)]) + PAYLOAD


class NullTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list = []

    def write(self, data) -> None:
        self.written.append(bytes(data))

    def get_extra_info(self, name, default=None):
        if name == "socket":
            import socket
            return socket.socket()                # picows sets TCP_NODELAY on it
        return ("127.0.0.1", 1) if name in ("peername", "sockname") else default

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        # Not 0: picows then hands the frame to write() instead of the socket.
        return 1


# --- websockets (sans-I/O) -----------------------------------------------------------

def _websockets_server():
    from websockets.protocol import Protocol, Side, State
    # The frame layer of ServerProtocol, past the handshake (as after a 101).
    return Protocol(Side.SERVER, state=State.OPEN, max_size=None)


def test_parse_websockets(benchmark):
    protocol = _websockets_server()

    def parse():
        protocol.receive_data(FRAME)
        return protocol.events_received()

    assert parse()[0].data == PAYLOAD
    benchmark.group = "ws frames: parse 64-byte text"
    benchmark(parse)


def test_build_websockets(benchmark):
    protocol = _websockets_server()

    def build():
        protocol.send_text(PAYLOAD)
        return protocol.data_to_send()

    assert build() == [SERVER_FRAME]
    benchmark.group = "ws frames: build 64-byte text"
    benchmark(build)


# --- wsproto -------------------------------------------------------------------------

def test_parse_wsproto(benchmark):
    from wsproto.frame_protocol import FrameProtocol
    protocol = FrameProtocol(client=False, extensions=[])

    def parse():
        protocol.receive_bytes(FRAME)
        return list(protocol.received_frames())

    assert parse()[0].payload == MESSAGE
    benchmark.group = "ws frames: parse 64-byte text"
    benchmark(parse)


def test_build_wsproto(benchmark):
    from wsproto.frame_protocol import FrameProtocol
    protocol = FrameProtocol(client=False, extensions=[])

    def build():
        return protocol.send_data(MESSAGE, fin=True)

    assert build() == SERVER_FRAME
    benchmark.group = "ws frames: build 64-byte text"
    benchmark(build)


# --- picows (Cython) -------------------------------------------------------------------

UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def _feed(protocol, data: bytes) -> None:
    buf = protocol.get_buffer(len(data))
    memoryview(buf)[:len(data)] = data
    protocol.buffer_updated(len(data))


@pytest.fixture
def picows_server():
    from picows import WSAutoPingStrategy, WSListener
    from picows.picows import WSProtocol

    received = []

    class Listener(WSListener):
        def on_ws_frame(self, transport, frame):
            received.append(frame.get_payload_as_bytes())

    def factory(request):
        return Listener()

    loop = asyncio.new_event_loop()

    async def make():
        return WSProtocol(None, "/", False, factory, logging.getLogger("bench.picows"), True,
                          5.0, False, 10.0, 10.0, WSAutoPingStrategy.PING_WHEN_IDLE, True,
                          1 << 20, None, 4096)

    protocol = loop.run_until_complete(make())
    transport = NullTransport()
    protocol.connection_made(transport)
    _feed(protocol, UPGRADE)
    assert transport.written and transport.written[0].startswith(b"HTTP/1.1 101")
    yield protocol, received, transport
    loop.close()


def test_parse_picows(benchmark, picows_server):
    protocol, received, _ = picows_server

    def parse():
        _feed(protocol, FRAME)
        return received.pop()

    assert parse() == PAYLOAD
    benchmark.group = "ws frames: parse 64-byte text"
    benchmark(parse)


def test_build_picows(benchmark, picows_server):
    from picows import WSMsgType
    protocol, _, transport = picows_server
    transport.written.clear()

    def build():
        protocol.transport.send(WSMsgType.TEXT, PAYLOAD)
        return transport.written.pop()

    assert build() == SERVER_FRAME
    benchmark.group = "ws frames: build 64-byte text"
    benchmark(build)


# --- fastcore (Cython, sans-I/O) ---------------------------------------------------------

def test_parse_fastcore(benchmark):
    from fastcore._ws_frames import OP_TEXT, FrameParser
    parser = FrameParser()
    assert parser.feed(FRAME) == [(OP_TEXT, MESSAGE)]
    benchmark.group = "ws frames: parse 64-byte text"
    benchmark(parser.feed, FRAME)


def test_build_fastcore(benchmark):
    from fastcore._ws_frames import OP_TEXT, build_frame
    assert build_frame(OP_TEXT, PAYLOAD) == SERVER_FRAME
    benchmark.group = "ws frames: build 64-byte text"
    benchmark(build_frame, OP_TEXT, PAYLOAD)
