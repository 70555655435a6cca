"""fastcore.plugins.compress over real sockets (SPEC §13): each streamed chunk and
each Server-Sent Event decodes at the client as soon as it arrives, a zip bomb
is refused with the server's memory flat, and bad bodies leave it serving."""
from __future__ import annotations

import asyncio
import socket
import sys
import threading
import zlib

import brotli
import orjson
import pytest

import fastcore
from fastcore.plugins import compress
from tests.conftest import get, live_server


class ChunkedReader:
    """Reads one chunked response from a socket, a chunk at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        sock.settimeout(5.0)

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        assert data, "closed early; got %r" % self.buffer
        self.buffer += data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def head(self) -> dict:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        headers[":status"] = lines[0].split()[1]
        return headers

    def chunk(self) -> bytes | None:
        """The next chunk's data; None for the last chunk."""
        size = int(self._line(), 16)
        while len(self.buffer) < size + 2:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size + 2:]
        if size == 0:
            return None
        return data


class Decoder:
    def __init__(self, coding: str) -> None:
        self.coding = coding
        if coding == "br":
            self._brotli = brotli.Decompressor()
        else:
            self._zlib = zlib.decompressobj(31 if coding == "gzip" else 15)

    def feed(self, data: bytes) -> bytes:
        if self.coding == "br":
            return self._brotli.process(data)
        return self._zlib.decompress(data)

    @property
    def complete(self) -> bool:
        return self._brotli.is_finished() if self.coding == "br" else self._zlib.eof


def open_request(srv, path: str, coding: str) -> ChunkedReader:
    sock = socket.create_connection((srv.host, srv.port))
    sock.sendall(get(path, "Accept-Encoding: %s\r\n" % coding))
    return ChunkedReader(sock)


def read_to_end(reader: ChunkedReader, decoder: Decoder) -> bytes:
    out = b""
    while (data := reader.chunk()) is not None:
        out += decoder.feed(data)
    return out


class Pusher:
    """A push source: keeps the sink it is given."""

    def __init__(self) -> None:
        self.sink = None
        self.started = threading.Event()

    def start_events(self, sink) -> None:
        self.sink = sink
        self.started.set()


def make_app(state: dict):
    app = fastcore.App()
    app.register(compress)

    @app.get("/stream")
    def stream(request, reply):
        async def chunks():
            state["gate"] = gate = asyncio.Event()
            yield "first chunk of the stream\n"
            await gate.wait()
            yield "second chunk, after the gate\n"
        return reply.type("text/plain").send(chunks())

    @app.get("/events")
    def events(request, reply):
        async def source():
            state["gate"] = gate = asyncio.Event()
            yield fastcore.ServerSentEvent({"price": 101.5}, event="tick", id="1")
            await gate.wait()
            yield fastcore.ServerSentEvent({"price": 102.0}, event="tick", id="2")
        return reply.sse(source(), heartbeat=None)

    @app.get("/pushed")
    def pushed(request, reply):
        return reply.sse(state["pusher"], heartbeat=None)

    app.post("/upload", lambda request, reply: {"size": len(request.body)},
             body_limit=1_048_576)
    return app


CODINGS = ["br", "gzip", "deflate"]


@pytest.mark.parametrize("coding", CODINGS)
def test_a_streamed_chunk_decodes_before_the_stream_goes_on(coding):
    state: dict = {}
    with live_server(make_app(state)) as srv:
        reader = open_request(srv, "/stream", coding)
        head = reader.head()
        assert head["content-encoding"] == coding and head["transfer-encoding"] == "chunked"
        assert "content-length" not in head
        decoder = Decoder(coding)
        # The source waits at the gate: this chunk can only be whole if it was flushed.
        assert decoder.feed(reader.chunk()) == b"first chunk of the stream\n"
        srv.run(state["gate"].set)
        assert read_to_end(reader, decoder) == b"second chunk, after the gate\n"
        assert decoder.complete
        reader.sock.close()


@pytest.mark.parametrize("coding", CODINGS)
def test_a_pulled_event_decodes_at_the_client_before_the_next_one(coding):
    state: dict = {}
    with live_server(make_app(state)) as srv:
        reader = open_request(srv, "/events", coding)
        head = reader.head()
        assert head["content-encoding"] == coding
        assert head["content-type"] == "text/event-stream; charset=utf-8"
        decoder = Decoder(coding)
        assert decoder.feed(reader.chunk()) == b'event: tick\nid: 1\ndata: {"price":101.5}\n\n'
        srv.run(state["gate"].set)
        assert read_to_end(reader, decoder) == b'event: tick\nid: 2\ndata: {"price":102.0}\n\n'
        assert decoder.complete
        reader.sock.close()


@pytest.mark.parametrize("coding", CODINGS)
def test_a_pushed_event_decodes_at_the_client_as_it_is_written(coding):
    state = {"pusher": Pusher()}
    with live_server(make_app(state)) as srv:
        reader = open_request(srv, "/pushed", coding)
        assert reader.head()["content-encoding"] == coding
        assert state["pusher"].started.wait(5.0)
        decoder = Decoder(coding)
        for i in range(3):
            srv.run(state["pusher"].sink.send, fastcore.ServerSentEvent(i, id=str(i)))
            assert decoder.feed(reader.chunk()) == b"id: %d\ndata: %d\n\n" % (i, i)
        srv.run(state["pusher"].sink.end)
        assert read_to_end(reader, decoder) == b""
        assert decoder.complete
        reader.sock.close()


# -- request bodies ----------------------------------------------------------------------

def _memory_kib() -> dict:
    with open("/proc/self/status") as status:
        return {name: int(value.split()[0]) for name, _, value in
                (line.partition(":") for line in status) if name in ("VmRSS", "VmHWM")}


def _reset_peak() -> bool:
    # Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def gzip_bomb(inflated: int) -> bytes:
    """``inflated`` zero bytes, gzip'd, built 1 MiB at a time (never held whole)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    return b"".join(packer.compress(block) for _ in range(inflated >> 20)) + packer.flush()


def post(path: str, body: bytes, encoding: str) -> bytes:
    return (b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Encoding: %s\r\nContent-Length: %d\r\n\r\n"
            % (path.encode(), encoding.encode(), len(body))) + body


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="reads and resets the peak RSS through Linux's /proc/self")
def test_a_zip_bomb_is_refused_with_the_servers_memory_flat():
    inflated = 200 << 20
    bomb = gzip_bomb(inflated)
    assert len(bomb) < 1_048_576                # under the limit as it arrives
    with live_server(make_app({})) as srv:
        client = srv.client()
        warm = client.request(post("/upload", zlib.compress(b'"x"'), "deflate"))  # warm up
        assert warm.status == 200
        if not _reset_peak():
            pytest.skip("/proc/self/clear_refs cannot be written here")
        before = _memory_kib()["VmRSS"]
        response = client.request(post("/upload", bomb, "gzip"))
        growth_kib = _memory_kib()["VmHWM"] - before
        assert response.status == 413
        assert orjson.loads(response.body)["code"] == "FC_ERR_CTP_BODY_TOO_LARGE"
        # At most the 1 MiB limit (plus a step) is ever inflated; the bomb holds 200 MiB.
        assert growth_kib < 16 * 1024, growth_kib
        ok = client.request(post("/upload", zlib.compress(b'{"a": 1}'), "deflate"))
        assert (ok.status, orjson.loads(ok.body)) == (200, {"size": 1})
        client.close()


@pytest.mark.parametrize("encoding, body, status, code", [
    ("gzip", b"\x1f\x8b not really", 400, "FC_ERR_CTP_INVALID_ENCODING"),
    ("br", b"\x00\x01\x02", 400, "FC_ERR_CTP_INVALID_ENCODING"),
    ("compress", b"anything", 415, "FC_ERR_CTP_UNSUPPORTED_ENCODING"),
])
def test_a_bad_body_is_answered_and_the_connection_keeps_serving(encoding, body, status,
                                                                  code):
    with live_server(make_app({})) as srv:
        client = srv.client()
        response = client.request(post("/upload", body, encoding))
        assert response.status == status
        assert orjson.loads(response.body)["code"] == code
        assert response.header("content-length") == str(len(response.body))
        response = client.request(post("/upload", brotli.compress(b'"hello"'), "br"))
        assert (response.status, orjson.loads(response.body)) == (200, {"size": 5})
        client.close()
