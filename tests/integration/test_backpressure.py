"""A client that sends and never reads: what the server holds for it stays bounded.

The protocol is driven directly, on a transport that behaves as asyncio's
does for a peer that reads nothing: everything written stays in its buffer,
and past the high-water mark it tells the protocol ``pause_writing()``. One
read of many pipelined requests must not be answered whole into that buffer.
"""
from __future__ import annotations

import asyncio

import fastcore
from bench.test_bench_protocol import NullTransport

REQUEST = b"GET /prices HTTP/1.1\r\nHost: t\r\n\r\n"
HIGH_WATER = 64 * 1024
READ = 256 * 1024                  # what one read of a socket can bring (uvloop)
SLICE = 4096                       # the server parses a large read this much at a time


class StuckTransport(NullTransport):
    """Keeps every byte written (its peer reads nothing) until ``drain``."""

    def __init__(self, protocol):
        super().__init__()
        self.protocol = protocol
        self.buffered = 0
        self.written = bytearray()
        self.reading = True
        self.paused = False

    def write(self, data):
        self.written += data
        self.buffered += len(data)
        if self.buffered > HIGH_WATER and not self.paused:
            self.paused = True
            self.protocol.pause_writing()

    def drain(self):
        """The peer reads everything at last."""
        self.buffered = 0
        if self.paused:
            self.paused = False
            self.protocol.resume_writing()

    def get_write_buffer_size(self):
        return self.buffered

    def pause_reading(self):
        self.reading = False

    def resume_reading(self):
        self.reading = True


def make_app():
    app = fastcore.App(logger=False)

    @app.get("/prices")
    def prices(request, reply):
        return [{"symbol": "BTC-USD", "bid": 43250.5, "ask": 43251.0, "venue": "x" * 20}] * 12

    return app


def test_one_large_read_is_not_answered_whole_into_a_stuck_buffer():
    app = make_app()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(app.ready())
        proto = app._runtime(loop).protocol_factory()
        transport = StuckTransport(proto)
        proto.connection_made(transport)
        count = READ // len(REQUEST)
        answer_size = None

        async def main():
            nonlocal answer_size
            proto.data_received(REQUEST)          # one answer, to know its size
            answer_size = len(transport.written)
            transport.drain()
            transport.written.clear()
            proto.data_received(REQUEST * count)
            await asyncio.sleep(0)
            held = transport.buffered
            # At most the answers to one slice beyond the high-water mark, far
            # less than the answers to the whole read (about 34 times the read);
            # and reading has stopped.
            assert held <= HIGH_WATER + (SLICE // len(REQUEST) + 1) * answer_size
            assert held < count * answer_size // 20
            assert not transport.reading
            # As the client reads, the rest is answered, in order, all of it.
            for _ in range(10 * count):
                if transport.written.count(b"HTTP/1.1 200 ") == count:
                    break
                transport.drain()
                await asyncio.sleep(0)
            return transport.written.count(b"HTTP/1.1 200 ")

        assert loop.run_until_complete(main()) == count
        assert transport.reading
        # The connection still serves what comes next.
        transport.written.clear()
        proto.data_received(REQUEST)
        assert transport.written.startswith(b"HTTP/1.1 200 ")
    finally:
        loop.close()


class OpenTransport(StuckTransport):
    """A peer that reads everything at once: writing never pauses."""

    def write(self, data):
        self.written += data


def test_one_large_read_leaves_turns_to_the_other_connections():
    # A read of thousands of pipelined requests, from a client that reads its
    # answers: parsed a part per loop iteration, so that another connection's
    # request is answered before the whole read is, not a quarter of a second
    # (uvloop reads up to 256 KiB) later.
    app = make_app()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(app.ready())
        factory = app._runtime(loop).protocol_factory
        flood, other = factory(), factory()
        flood_transport, other_transport = OpenTransport(flood), OpenTransport(other)
        flood.connection_made(flood_transport)
        other.connection_made(other_transport)
        count = READ // len(REQUEST)

        async def main():
            flood.data_received(REQUEST * count)
            first_turn = flood_transport.written.count(b"HTTP/1.1 200 ")
            assert 0 < first_turn <= 16 + 512 // len(REQUEST) + 1
            assert not flood_transport.reading
            other.data_received(REQUEST)
            assert other_transport.written.startswith(b"HTTP/1.1 200 ")
            for _ in range(count):
                if flood_transport.written.count(b"HTTP/1.1 200 ") == count:
                    break
                await asyncio.sleep(0)
            return flood_transport.written.count(b"HTTP/1.1 200 ")

        assert loop.run_until_complete(main()) == count
        assert flood_transport.reading
    finally:
        loop.close()
