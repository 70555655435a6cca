"""Push sources for Server-Sent Events over real sockets: ``reply.sse(source)``
with ``source.start_events(sink)``, and the ``EventSink`` it gets (writes,
``end()``, heartbeats, a client that leaves or stops reading, app.close())."""
from __future__ import annotations

import asyncio
import logging
import threading

import pytest

import fastcore
from tests.conftest import get, live_server
from tests.server.test_sse_live import open_stream, read_until

BIG = fastcore.sse_chunk(b"data: " + b"x" * 65536 + b"\n\n")


class Pusher:
    """A push source: keeps the sinks it is given and what happened to them."""

    def __init__(self, fail: bool = False) -> None:
        self.sinks: list = []
        self.ended: list = []
        self.started = threading.Event()
        self.over = threading.Event()
        self.fail = fail

    def start_events(self, sink) -> None:
        if self.fail:
            raise RuntimeError("no events today")
        sink.on_close(self._over)
        self.sinks.append(sink)
        sink.send("hello")
        self.started.set()

    def _over(self, sink) -> None:
        self.ended.append(sink)
        self.over.set()


def make_app(pusher: Pusher, order: list, aborted: threading.Event, heartbeat=None):
    app = fastcore.App()
    app.add_hook("on_request_abort", lambda request: aborted.set())
    app.add_hook("on_close", lambda app: order.append("on_close"))
    pusher.started.clear()

    @app.get("/push")
    def push(request, reply):
        return reply.sse(pusher, heartbeat=heartbeat, retry=3)

    @app.get("/json")
    def hello(request, reply):
        return {"hello": "world"}

    return app


@pytest.fixture
def pushed():
    pusher, order, aborted = Pusher(), [], threading.Event()
    with live_server(make_app(pusher, order, aborted)) as srv:
        yield srv, pusher, order, aborted


def test_sink_writes_events_and_end_lets_the_connection_serve_the_next_request(pushed):
    srv, pusher, _, _ = pushed
    sock = open_stream(srv, "/push")
    got = read_until(sock, b"data: hello\n\n")
    head, _, body = got.partition(b"\r\n\r\n")
    assert b"content-type: text/event-stream; charset=utf-8" in head
    assert body.index(b"retry: 3000\n\n") < body.index(b"data: hello\n\n")
    sink = pusher.sinks[0]
    event = fastcore.ServerSentEvent({"bid": 1.5}, event="tick", id="7")
    assert srv.run(lambda: sink.send(event)) is True
    read_until(sock, b'event: tick\nid: 7\ndata: {"bid":1.5}\n\n')
    assert srv.run(lambda: sink.write_chunk(fastcore.sse_chunk(b"data: a\n\ndata: b\n\n")))
    read_until(sock, b"data: a\n\ndata: b\n\n")
    srv.run(sink.end)
    assert read_until(sock, b"0\r\n\r\n") == b"0\r\n\r\n"       # the last chunk
    assert pusher.over.wait(5) and pusher.ended == [sink]
    assert srv.run(lambda: (sink.closed, sink.writable, sink.send("late"))) == (True, False, False)
    sock.sendall(get("/json"))                       # the same connection, next request
    assert b"200 OK" in read_until(sock, b"}")
    sock.close()


def test_heartbeats_while_nothing_is_written():
    pusher, order, aborted = Pusher(), [], threading.Event()
    with live_server(make_app(pusher, order, aborted, heartbeat=0.05)) as srv:
        sock = open_stream(srv, "/push")
        read_until(sock, b": ping\n\n", count=2)
        sock.close()


def test_client_that_leaves_runs_on_close_and_on_request_abort(pushed):
    srv, pusher, _, aborted = pushed
    sock = open_stream(srv, "/push")
    read_until(sock, b"data: hello")
    sock.close()
    assert pusher.over.wait(5), "on_close callbacks did not run"
    assert aborted.wait(5), "on_request_abort did not run"
    sink = pusher.sinks[0]
    assert srv.run(lambda: (sink.closed, sink.write_chunk(BIG))) == (True, False)
    assert srv.client().request(get("/json")).status == 200


def test_write_says_when_the_client_stops_reading_and_wait_writable_when_it_reads(pushed):
    srv, pusher, _, _ = pushed
    sock = open_stream(srv, "/push", rcvbuf=4096)
    read_until(sock, b"data: hello")
    sink = pusher.sinks[0]

    def fill():
        for count in range(1, 1000):
            if not sink.write_chunk(BIG):
                return count
        return None

    written = srv.run(fill)
    assert written is not None, "64 MiB taken by a client that reads nothing"
    assert srv.run(lambda: sink.writable) is False
    waiting = asyncio.run_coroutine_threadsafe(sink.wait_writable(), srv.loop)
    assert not waiting.done()
    assert srv.client().request(get("/json")).status == 200      # others are served
    sock.settimeout(5)
    while not waiting.done():
        assert sock.recv(1 << 20), "closed"
    assert srv.run(lambda: sink.writable) is True
    sock.close()


def test_app_close_ends_push_streams_before_on_close():
    pusher, order, aborted = Pusher(), [], threading.Event()
    app = make_app(pusher, order, aborted)
    pusher._over = lambda sink: order.append("sink closed")
    with live_server(app) as srv:
        sock = open_stream(srv, "/push")
        read_until(sock, b"data: hello")
        srv.call(app.close())
        assert order == ["sink closed", "on_close"]
        rest = b""
        sock.settimeout(5)
        while chunk := sock.recv(65536):
            rest += chunk
        assert rest.endswith(b"0\r\n\r\n"), rest[-40:]


def test_a_failing_start_events_is_logged_and_cuts_only_its_connection(caplog):
    pusher, order, aborted = Pusher(fail=True), [], threading.Event()
    with live_server(make_app(pusher, order, aborted)) as srv:
        sock = open_stream(srv, "/push")
        sock.settimeout(5)
        got = b""
        with caplog.at_level(logging.ERROR):
            try:
                while chunk := sock.recv(65536):
                    got += chunk
            except ConnectionResetError:
                pass
        assert b"0\r\n\r\n" not in got               # not taken for a complete stream
        assert srv.client().request(get("/json")).status == 200
    assert any("event source failed" in r.getMessage() for r in caplog.records)


def test_sse_chunk_frames_events_for_chunked_coding():
    assert fastcore.sse_chunk(b"data: hi\n\n") == b"a\r\ndata: hi\n\n\r\n"
    with pytest.raises(ValueError, match="empty"):
        fastcore.sse_chunk(b"")
