"""reply.sse through app.inject (SPEC §11)."""
from __future__ import annotations

import asyncio

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
