"""Leaving HTTP/1 after an upgrade: the transport goes to another protocol object.

The WebSocket protocol arrives through this seam; here a small echo protocol
stands in for it, driven by a real client socket.
"""
import asyncio

import pytest

import fastcore
from tests.conftest import live_server

SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: Upgrade\r\n\r\n"
UPGRADE = b"GET /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        transport.write(b"hello;")

    def data_received(self, data):
        self.transport.write(b"echo:" + data + b";")


def make_app():
    app = fastcore.App()

    def switch(request, reply):
        reply.hijack()
        reply.raw.write(SWITCHING)
        request.proto.switch_protocol(Echo())

    @app.route(method=["GET", "POST"], url="/up")
    def up(request, reply):
        switch(request, reply)

    @app.route(method=["GET", "POST"], url="/up-later")
    async def up_later(request, reply):
        await asyncio.sleep(0.05)            # switches from a task, not inside parsing
        switch(request, reply)

    @app.get("/json")
    def hello(request, reply):
        return {"hello": "world"}

    return app


def read_until(client, marker: bytes) -> bytes:
    while marker not in client.received:
        chunk = client.sock.recv(65536)
        assert chunk, "closed; got %r" % client.received
        client.received += chunk
    return client.received


@pytest.mark.parametrize("path", ["/up", "/up-later"])
@pytest.mark.parametrize("body", [b"", b"abc"])
def test_upgraded_connection_is_handed_to_the_new_protocol_with_early_bytes(path, body):
    app = make_app()
    request = UPGRADE.replace(b"GET /up", b"POST " + path.encode()) if body else \
        UPGRADE.replace(b"/up", path.encode())
    if body:
        request = request.replace(
            b"\r\n\r\n", b"\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n") + body
    with live_server(app) as srv:
        c = srv.client()
        c.send(request + b"early")            # bytes behind the request go along
        got = read_until(c, b"echo:early;")
        assert got == SWITCHING + b"hello;echo:early;"
        c.send(b"ping")
        assert read_until(c, b"echo:ping;").endswith(b"echo:ping;")
        # The HTTP/1 side let go: it no longer counts the connection, and close()
        # does not wait for it.
        assert srv.run(lambda: len(app._state.connections)) == 0
        other = srv.client()
        assert other.request(b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n").status == 200
        c.close()


def test_too_many_bytes_behind_an_upgrade_request_close_the_connection():
    app = fastcore.App(max_header_size=1024)

    @app.get("/up")
    async def up(request, reply):
        await asyncio.sleep(0.2)             # the client keeps sending meanwhile
        return "not switched"

    with live_server(app) as srv:
        c = srv.client()
        c.send(UPGRADE + b"x" * 4096)
        assert c.is_closed()
        assert srv.client().request(b"GET /up HTTP/1.1\r\nHost: t\r\n\r\n").status == 200
