"""reply.sse through app.inject (SPEC §11)."""
from __future__ import annotations

import asyncio
import zlib

import pytest

import fastcore


def make_app(log=None):
    app = fastcore.App()

    @app.get("/sse")
    async def stream(request, reply):
        async def events():
            yield fastcore.ServerSentEvent({"bid": 1.5}, event="tick", id="7")
            yield "plain text"
            yield {"last": request.last_event_id}
        return reply.sse(events(), retry=3)

    if log is not None:
        app.add_hook("pre_serialization", lambda request, reply, payload: log.append("pre"))
    return app


def test_sse_reply_headers_and_events():
    r = make_app().inject_sync("GET", "/sse")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-accel-buffering"] == "no"
    assert r.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in r.headers
    assert r.body == (b"retry: 3000\n\n"
                      b'event: tick\nid: 7\ndata: {"bid":1.5}\n\n'
                      b"data: plain text\n\n"
                      b'data: {"last":null}\n\n')


def test_last_event_id_is_the_header_a_reconnecting_client_sends():
    r = make_app().inject_sync("GET", "/sse", headers={"Last-Event-ID": "41"})
    assert r.body.endswith(b'data: {"last":"41"}\n\n')


def test_pre_serialization_does_not_run_for_event_streams():
    log = []
    make_app(log).inject_sync("GET", "/sse")
    assert log == []


def test_a_source_that_is_not_async_is_a_500():
    app = fastcore.App()
    app.get("/bad", lambda request, reply: reply.sse(["x"]))
    r = app.inject_sync("GET", "/bad")
    assert r.status_code == 500


class Countdown:
    """A push source: writes its events from a task, then ends the stream."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.closed_with: list = []

    def start_events(self, sink) -> None:
        sink.on_close(self.closed_with.append)
        asyncio.get_running_loop().create_task(self._run(sink))

    async def _run(self, sink) -> None:
        for i in range(self.n, 0, -1):
            sink.send(fastcore.ServerSentEvent(i, id=str(i)))
            await asyncio.sleep(0)
        sink.write_chunk(fastcore.sse_chunk(b"data: liftoff\n\n"))
        sink.end()


def test_a_push_source_writes_until_it_ends_the_stream():
    source = Countdown(3)
    app = fastcore.App()
    app.get("/countdown")(lambda request, reply: reply.sse(source, retry=1))
    r = app.inject_sync("GET", "/countdown")
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert r.body == (b"retry: 1000\n\n" b"id: 3\ndata: 3\n\n" b"id: 2\ndata: 2\n\n"
                      b"id: 1\ndata: 1\n\n" b"data: liftoff\n\n")
    assert len(source.closed_with) == 1 and source.closed_with[0].closed


def test_sse_refuses_what_is_neither_iterable_nor_a_push_source():
    app = fastcore.App()
    app.get("/bad")(lambda request, reply: reply.sse([1, 2]))
    r = app.inject_sync("GET", "/bad")
    assert r.status_code == 500


class Deflate:
    """A stream encoder: each chunk deflated and flushed, the end finished."""

    def __init__(self) -> None:
        self.z = zlib.compressobj()

    def encode(self, data: bytes) -> bytes:
        return self.z.compress(data) + self.z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self.z.flush()


def deflating(request, reply, payload):
    if isinstance(payload, fastcore.EventStream):
        payload.encoder = Deflate()
        reply.header("content-encoding", "deflate")
    return payload


@pytest.mark.parametrize("path", ["/pulled", "/pushed"])
def test_an_on_send_hook_sets_an_encoder_on_an_event_stream(path):
    app = fastcore.App()

    async def events():
        for i in range(3):
            yield fastcore.ServerSentEvent(i, id=str(i))

    app.get("/pulled", on_send=deflating)(lambda request, reply: reply.sse(events()))
    app.get("/pushed", on_send=deflating)(lambda request, reply: reply.sse(Countdown(2)))
    r = app.inject_sync("GET", path)
    assert r.headers["content-encoding"] == "deflate"
    plain = zlib.decompress(r.body)          # complete: finish() was written last
    expected = (b"id: 0\ndata: 0\n\nid: 1\ndata: 1\n\nid: 2\ndata: 2\n\n" if path == "/pulled"
                else b"id: 2\ndata: 2\n\nid: 1\ndata: 1\n\ndata: liftoff\n\n")
    assert plain == expected


def test_on_send_sees_a_stream_and_may_wrap_it():
    app = fastcore.App()

    async def words():
        yield "one "
        yield b"two"

    def shout(request, reply, payload):
        async def louder():
            async for chunk in payload:
                yield (chunk.encode() if isinstance(chunk, str) else chunk).upper()
        return louder()

    app.get("/words", on_send=shout)(lambda request, reply: reply.send(words()))
    r = app.inject_sync("GET", "/words")
    assert (r.status_code, r.body) == (200, b"ONE TWO")
