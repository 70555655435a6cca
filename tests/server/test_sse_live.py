"""Server-Sent Events over real sockets (SPEC §11): heartbeats, a client that
leaves, a client that stops reading, and app.close() with streams open."""
from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

import fastcore
from tests.conftest import get, live_server

CHUNK = "x" * 65536


def make_app(state):
    app = fastcore.App()
    app.add_hook("on_request_abort", lambda request: state["aborted"].set())
    app.add_hook("on_close", lambda app: state["order"].append("on_close"))

    @app.get("/quiet")
    async def quiet(request, reply):
        async def events():
            try:
                yield "hello"
                await asyncio.sleep(60)
                yield "never"
            finally:
                state["order"].append("source closed")
                state["closed"].set()
        return reply.sse(events(), heartbeat=0.05 if request.query.get("beat") else None)

    @app.get("/flood")
    async def flood(request, reply):
        async def events():
            while True:
                state["pulls"] += 1
                yield CHUNK
        return reply.sse(events(), heartbeat=None)

    @app.get("/json")
    def hello(request, reply):
        return {"hello": "world"}

    return app


def new_state():
    return {"aborted": threading.Event(), "closed": threading.Event(), "order": [],
            "pulls": 0}


def read_until(sock, marker: bytes, timeout=5.0, count=1) -> bytes:
    got = b""
    sock.settimeout(timeout)
    while got.count(marker) < count:
        chunk = sock.recv(65536)
        assert chunk, "closed; got %r" % got
        got += chunk
    return got


def open_stream(srv, path, rcvbuf=None):
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((srv.host, srv.port))
    sock.sendall(get(path))
    return sock


def test_heartbeats_arrive_while_the_source_is_quiet():
    state = new_state()
    with live_server(make_app(state)) as srv:
        sock = open_stream(srv, "/quiet?beat=1")
        got = read_until(sock, b": ping\n\n", count=2)
        head, _, body = got.partition(b"\r\n\r\n")
        assert b"content-type: text/event-stream; charset=utf-8" in head
        assert b"transfer-encoding: chunked" in head
        assert b"data: hello\n\n" in body
        sock.close()
        assert state["closed"].wait(5)


@pytest.mark.parametrize("path", ["/quiet?beat=1", "/quiet"], ids=["heartbeats", "silent"])
def test_client_that_leaves_ends_the_stream_source_and_runs_on_request_abort(path):
    # Silent: no write would fail, the client's FIN alone ends the stream.
    state = new_state()
    with live_server(make_app(state)) as srv:
        sock = open_stream(srv, path)
        read_until(sock, b"data: hello")
        sock.close()
        assert state["closed"].wait(5), "the source was not closed"
        assert state["aborted"].wait(5), "on_request_abort did not run"
        assert srv.client().request(get("/json")).status == 200


def _settled(srv, state, timeout=10.0):
    """The pull count once it stopped growing for half a second."""
    deadline = time.monotonic() + timeout
    last = srv.run(lambda: state["pulls"])
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        srv.call(asyncio.sleep(0.05))
        now = srv.run(lambda: state["pulls"])
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 0.5:
            return now
    raise AssertionError("the source kept being pulled: %d pulls" % last)


def test_client_that_stops_reading_stops_the_source_and_others_are_served():
    state = new_state()
    with live_server(make_app(state)) as srv:
        sock = open_stream(srv, "/flood", rcvbuf=4096)
        read_until(sock, b"data: xxxx")
        # The client reads nothing more: the source is no longer pulled once
        # the socket buffers and the transport's are full (bounded memory).
        stalled = _settled(srv, state)
        assert stalled < 400, "%d chunks of 64 KiB pulled for a client that reads nothing" % stalled
        assert srv.client().request(get("/json")).status == 200
        # Reading again resumes the stream (the source is pulled again).
        sock.settimeout(5)
        deadline = time.monotonic() + 10
        while srv.run(lambda: state["pulls"]) <= stalled:
            assert time.monotonic() < deadline, "the stream did not resume"
            assert sock.recv(65536), "closed"
        sock.close()


def test_app_close_ends_open_streams_before_on_close():
    state = new_state()
    app = make_app(state)
    with live_server(app) as srv:
        sock = open_stream(srv, "/quiet")
        read_until(sock, b"data: hello")
        srv.call(app.close())
        assert state["order"] == ["source closed", "on_close"]
        rest = b""
        sock.settimeout(5)
        while chunk := sock.recv(65536):
            rest += chunk
        assert rest.endswith(b"0\r\n\r\n"), rest[-40:]   # the stream's last chunk, then EOF


def test_app_close_does_not_wait_for_a_stream_client_that_stopped_reading():
    state = new_state()
    app = make_app(state)
    with live_server(app) as srv:
        sock = open_stream(srv, "/flood", rcvbuf=4096)
        read_until(sock, b"data: xxxx")
        _settled(srv, state)                  # its buffers are full
        srv.call(app.close(), timeout=10)     # a graceful close would wait for ever
        assert srv.run(lambda: len(app._state.connections)) == 0
        sock.close()
