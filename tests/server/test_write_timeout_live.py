"""``write_timeout``: a client that leaves its answers unread is let go.

When a client reads too little, the transport's buffer fills and the server
stops writing to it (and reading from it). Left there, the connection would
be held for ever: a slow-read attack holds as many as it opens. Once the
buffer has stayed full for ``write_timeout`` seconds the connection is
aborted, its request counted as aborted and an event stream's source closed.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time

import fastcore
from tests.conftest import get, live_server

WRITE_TIMEOUT = 0.5
REQUEST = b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n"
BIG = "x" * 65536


def make_app(state, **options):
    app = fastcore.App(logger=False, **options)
    app.add_hook("on_request_abort", lambda request: state["aborted"].set())

    @app.get("/big")
    def big(request, reply):
        return reply.type("text/plain").send(BIG)

    @app.get("/huge")
    def huge(request, reply):
        return reply.type("text/plain").send(BIG * 128)

    async def endless():
        try:
            while True:
                yield BIG
        finally:
            state["closed"].set()

    app.get("/stream")(lambda request, reply: reply.sse(endless(), heartbeat=None))

    @app.get("/json")
    def hello(request, reply):
        return {"hello": "world"}

    return app


def new_state():
    return {"aborted": threading.Event(), "closed": threading.Event()}


def stalled_stream(srv) -> socket.socket:
    """An event stream whose client read its head and then nothing more."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((srv.host, srv.port))
    sock.sendall(get("/stream"))
    sock.settimeout(5)
    assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
    return sock


def open_connections(srv) -> int:
    return srv.run(lambda: srv.app.stats()["connections"]["open"])


def assert_let_go(srv) -> None:
    """The server drops its one connection, counted as a client timeout, and
    still serves a new client."""
    deadline = time.monotonic() + 10
    while open_connections(srv):
        assert time.monotonic() < deadline, "the connection was never let go"
        srv.call(asyncio.sleep(0.05))
    assert srv.run(lambda: srv.app.stats()["client_errors"]["timeout"]) == 1
    assert srv.client().request(get("/json")).status == 200


def test_an_event_stream_whose_client_stopped_reading_is_ended():
    state = new_state()
    with live_server(make_app(state, write_timeout=WRITE_TIMEOUT)) as srv:
        sock = stalled_stream(srv)
        started = time.monotonic()
        assert state["closed"].wait(10), "the source of a stalled stream was never closed"
        assert state["aborted"].wait(5), "on_request_abort did not run"
        # Not before the transport's buffer had been full for write_timeout.
        assert time.monotonic() - started >= WRITE_TIMEOUT
        assert srv.client().request(get("/json")).status == 200
        sock.close()


def test_without_write_timeout_a_stalled_stream_is_kept():
    state = new_state()
    with live_server(make_app(state, write_timeout=0)) as srv:
        sock = stalled_stream(srv)
        assert not state["closed"].wait(6 * WRITE_TIMEOUT)
        assert srv.client().request(get("/json")).status == 200
        # Reading again, the client still gets the stream.
        got = b""
        while len(got) < 4 * len(BIG):
            chunk = sock.recv(1 << 20)
            assert chunk, "closed"
            got += chunk
        sock.close()
        assert state["closed"].wait(5)


def test_a_pipelining_client_that_never_reads_is_released():
    with live_server(make_app(new_state(), write_timeout=WRITE_TIMEOUT)) as srv:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((srv.host, srv.port))
        sock.setblocking(False)
        written = 0
        stuck_since = None
        # Write requests until the server stops reading them for a while.
        while stuck_since is None or time.monotonic() - stuck_since < 0.3:
            try:
                written += sock.send(REQUEST * 64)
                stuck_since = None
            except BlockingIOError:
                stuck_since = stuck_since or time.monotonic()
                time.sleep(0.01)
        assert written > 100 * len(REQUEST)
        assert open_connections(srv) == 1
        assert_let_go(srv)
        sock.close()


def test_a_closing_connection_whose_client_never_reads_is_released():
    # The answer is far larger than the socket buffers: after it the server
    # closes (Connection: close), and a close waits for the transport's buffer
    # to be written, which a client that never reads never lets happen.
    with live_server(make_app(new_state(), write_timeout=WRITE_TIMEOUT)) as srv:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((srv.host, srv.port))
        sock.sendall(b"GET /huge HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert_let_go(srv)
        sock.close()
