"""WebSocket routes over real sockets (SPEC §11): the upgrade runs the request's
hooks and validation, the handshake rules and their answers, subprotocols, the
handler's outcome as a close code, and app.close(). Client: websockets."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

import fastcore
from tests.conftest import get, live_server

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def make_app(**options):
    app = fastcore.App(**options)
    app.seen = {"closed": threading.Event()}

    def auth(request, reply):
        if request.query.get("token") == "bad":
            return reply.code(401).send({"error": "no"})
        request.user = request.query.get("token")

    app.decorate_request("user", None)

    @app.get("/ws/echo", websocket=True, pre_handler=[auth], ws_subprotocols=["a", "b"],
             schema={"querystring": {"type": "object",
                                     "properties": {"n": {"type": "integer"}}}})
    async def echo(ws, request):
        app.seen["user"] = request.user
        app.seen["subprotocol"] = ws.subprotocol
        try:
            async for message in ws:
                if message == "boom":
                    raise RuntimeError("handler failed")
                if message == "bye":
                    return
                await ws.send(message)
        finally:
            app.seen["closed"].set()

    async def plain(request, reply):
        return {"plain": True}

    async def both(ws, request):
        await ws.send("upgraded")

    app.get("/both", plain, ws_handler=both)
    return app


def url(srv, path="/ws/echo"):
    return "ws://%s:%d%s" % (srv.host, srv.port, path)


@pytest.fixture(scope="module")
def server():
    app = make_app()
    with live_server(app) as srv:
        srv.app = app
        yield srv


def test_upgrade_runs_hooks_and_echoes(server):
    with connect(url(server, "/ws/echo?token=t1&n=3")) as client:
        client.send("hello")
        assert client.recv(timeout=5) == "hello"
    assert server.app.seen["user"] == "t1"


def test_a_hook_that_sends_answers_with_plain_http_and_no_upgrade(server):
    with pytest.raises(InvalidStatus) as info:
        connect(url(server, "/ws/echo?token=bad"))
    assert info.value.response.status_code == 401
    assert json.loads(info.value.response.body) == {"error": "no"}


def test_validation_failure_is_an_http_400(server):
    with pytest.raises(InvalidStatus) as info:
        connect(url(server, "/ws/echo?n=abc"))
    assert info.value.response.status_code == 400
    assert json.loads(info.value.response.body)["code"] == "FC_ERR_VALIDATION"


def test_plain_request_to_a_websocket_route_is_426(server):
    r = server.client().request(get("/ws/echo"))
    body = (b'{"statusCode":426,"code":"FC_ERR_WS_UPGRADE_REQUIRED","error":"Upgrade Required",'
            b'"message":"This route only accepts WebSocket connections"}')
    assert (r.status, r.body, r.header("content-length")) == (426, body, str(len(body)))
    assert r.header("upgrade") == "websocket"


def test_ws_handler_beside_a_plain_handler(server):
    assert server.client().request(get("/both")).body == b'{"plain":true}'
    with connect(url(server, "/both")) as client:
        assert client.recv(timeout=5) == "upgraded"
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=5)
        assert client.close_code == 1000       # the handler returned


def handshake_request(*, key=KEY, connection="Upgrade", version="13", extra=""):
    lines = ["GET /ws/echo HTTP/1.1", "Host: t", "Upgrade: websocket"]
    if connection is not None:
        lines.append("Connection: %s" % connection)
    if key is not None:
        lines.append("Sec-WebSocket-Key: %s" % key)
    if version is not None:
        lines.append("Sec-WebSocket-Version: %s" % version)
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


@pytest.mark.parametrize("raw, status, code", [
    (handshake_request(key=None), 400, "FC_ERR_WS_BAD_HANDSHAKE"),
    (handshake_request(key="c2hvcnQ="), 400, "FC_ERR_WS_BAD_HANDSHAKE"),
    (handshake_request(key="not base64!!"), 400, "FC_ERR_WS_BAD_HANDSHAKE"),
    (handshake_request(connection="keep-alive"), 400, "FC_ERR_WS_BAD_HANDSHAKE"),
    (handshake_request(connection=None), 400, "FC_ERR_WS_BAD_HANDSHAKE"),
    (handshake_request(version="12"), 426, "FC_ERR_WS_UPGRADE_REQUIRED"),
    (handshake_request(version=None), 426, "FC_ERR_WS_UPGRADE_REQUIRED"),
])
def test_bad_handshakes_get_their_answer_and_the_server_goes_on(server, raw, status, code):
    c = server.client()
    r = c.request(raw)
    assert r.status == status
    assert json.loads(r.body)["code"] == code
    assert r.header("content-length") == str(len(r.body))
    if status == 426:
        assert r.header("sec-websocket-version") == "13"
    if b"Connection: Upgrade" in raw:
        # An upgrade request refused: what follows it is not HTTP, so the
        # connection ends; without the token it was a plain request.
        assert c.is_closed()
    assert server.client().request(get("/both")).status == 200


def test_subprotocol_is_the_first_the_client_offers_that_the_route_speaks(server):
    with connect(url(server), subprotocols=["x", "b", "a"]) as client:
        assert client.subprotocol == "b"
        client.send("bye")
    assert server.app.seen["subprotocol"] == "b"
    with connect(url(server), subprotocols=["x"]) as client:
        assert client.subprotocol is None
        client.send("bye")


def test_handler_that_raises_closes_with_1011(server, caplog):
    with connect(url(server)) as client:
        client.send("boom")
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=5)
        assert client.close_code == 1011
    assert server.client().request(get("/both")).status == 200


def test_message_over_ws_max_message_size_closes_with_1009():
    with live_server(make_app(ws_max_message_size=64)) as srv:
        with connect(url(srv)) as client:
            client.send("x" * 65)
            with pytest.raises(ConnectionClosed):
                client.recv(timeout=5)
            assert client.close_code == 1009


def test_app_close_sends_1001_to_open_websockets():
    app = make_app()
    with live_server(app) as srv, connect(url(srv)) as client:
        client.send("ping")
        assert client.recv(timeout=5) == "ping"
        srv.call(app.close())
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=5)
        assert client.close_code == 1001
        assert app.seen["closed"].wait(5)


def raw_upgrade(srv) -> socket.socket:
    """A socket that asked for /ws/echo; the 101 is left to read."""
    sock = socket.create_connection((srv.host, srv.port), timeout=5)
    sock.sendall(b"GET /ws/echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY.encode()
                 + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    return sock


def test_a_client_that_does_not_answer_pings_is_closed_with_1011():
    app = make_app(ws_ping_interval=0.05, ws_ping_timeout=0.2)
    with live_server(app) as srv:
        sock = raw_upgrade(srv)
        data = b""
        while chunk := sock.recv(65536):      # the client reads, and never answers
            data += chunk
        head, _, frames = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        assert frames.startswith(b"\x89\x00")                  # the keep-alive ping
        assert frames[2:].startswith(b"\x88") and frames[4:6] == (1011).to_bytes(2, "big")
        assert app.seen["closed"].wait(5)


def test_a_client_that_answers_pings_stays_connected():
    app = make_app(ws_ping_interval=0.05, ws_ping_timeout=0.5)
    with live_server(app) as srv, connect(url(srv)) as client:
        deadline = time.monotonic() + 0.6          # several ping rounds
        while time.monotonic() < deadline:
            client.send("still")
            assert client.recv(timeout=5) == "still"
        assert client.close_code is None


def test_without_a_ping_timeout_pings_go_on_unanswered():
    app = make_app(ws_ping_interval=0.05, ws_ping_timeout=0)
    with live_server(app) as srv:
        sock = raw_upgrade(srv)
        data = b""
        while data.count(b"\x89\x00") < 4:      # the client reads, and never answers
            data += sock.recv(65536)
        head, _, frames = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        assert frames == b"\x89\x00" * 4             # pings only: no close
        sock.close()
