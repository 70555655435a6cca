"""The WebSocket connection object (fastcore/_websocket.py) on a real socket.

The upgrade route is not wired yet (issue 11): a test route answers the
handshake itself (RFC 6455 §4.2.2) and hands the connection over through the
seam the WebSocket routes will use, then runs a handler on the ws object.
The client is the websockets library; malformed frames come from a raw socket.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import threading

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import fastcore
from fastcore._websocket import WebSocket, WebSocketClosed
from tests.conftest import live_server

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def ws_app(handler, **ws_options):
    app = fastcore.App()
    app.ws_seen = {}

    @app.get("/ws")
    def upgrade(request, reply):
        reply.hijack()
        reply.raw.write(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n"
                        b"connection: Upgrade\r\nsec-websocket-accept: %s\r\n\r\n"
                        % accept_key(request.headers["sec-websocket-key"]).encode())
        ws = WebSocket(request, **ws_options)
        request.proto.switch_protocol(ws)
        asyncio.get_running_loop().create_task(run(ws))

    async def run(ws):
        try:
            await handler(ws)
        finally:
            app.ws_seen["close_code"] = ws.close_code
            app.ws_seen.setdefault("done", threading.Event()).set()

    app.ws_seen["done"] = threading.Event()
    return app


async def echo(ws):
    async for message in ws:
        await ws.send(message)


def url(srv):
    return "ws://%s:%d/ws" % (srv.host, srv.port)


def test_text_binary_and_json_messages_echo():
    async def handler(ws):
        await ws.send({"type": "hello"})
        await echo(ws)

    with live_server(ws_app(handler)) as srv, connect(url(srv)) as client:
        assert client.recv(timeout=5) == '{"type":"hello"}'
        client.send("héllo")
        assert client.recv(timeout=5) == "héllo"
        client.send(b"\x00\x01" * 40000)
        assert client.recv(timeout=5) == b"\x00\x01" * 40000


def test_ping_is_answered_with_a_pong():
    with live_server(ws_app(echo)) as srv, connect(url(srv)) as client:
        assert client.ping(b"are you there").wait(5)


def test_client_close_code_ends_the_handler_loop():
    app = ws_app(echo)
    with live_server(app) as srv, connect(url(srv)) as client:
        client.close(code=4000, reason="done")
        assert app.ws_seen["done"].wait(5)
        assert app.ws_seen["close_code"] == 4000
        assert client.close_code == 4000            # the server answered with the same code


def test_server_close_sends_its_code_and_receive_then_raises():
    raised = {}

    async def handler(ws):
        await ws.close(1001, "going away")
        try:
            await ws.receive()
        except WebSocketClosed as exc:
            raised["code"] = exc.code

    app = ws_app(handler)
    with live_server(app) as srv, connect(url(srv)) as client:
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=5)
        assert (client.close_code, client.close_reason) == (1001, "going away")
        assert app.ws_seen["done"].wait(5)
    assert raised == {"code": 1001}


def test_messages_queued_while_the_handler_is_busy_arrive_in_order():
    async def handler(ws):
        await asyncio.sleep(0.3)             # reading pauses past 32 queued messages
        for i in range(200):
            assert await ws.receive() == "m%d" % i
        await ws.send("all received")

    with live_server(ws_app(handler)) as srv, connect(url(srv)) as client:
        for i in range(200):
            client.send("m%d" % i)
        assert client.recv(timeout=10) == "all received"


def raw_upgrade(srv) -> socket.socket:
    sock = socket.create_connection((srv.host, srv.port), timeout=5)
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    return sock


def read_close(sock) -> int:
    """The close code of the close frame the server sends, then EOF."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data[0] == 0x88, data
    return int.from_bytes(data[2:4], "big")


@pytest.mark.parametrize("frame, code", [
    (bytes([0x81, 0x02]) + b"hi", 1002),                                  # unmasked
    (bytes([0x81, 0x82]) + bytes(4) + b"\xff\xfe", 1007),                 # invalid UTF-8
    (bytes([0x82, 0xFE, 0x01, 0x00]) + bytes(4), 1009),                   # 256 > limit, header only
])
def test_frame_violation_closes_with_its_code_and_others_are_served(frame, code):
    app = ws_app(echo, max_message_size=100)
    with live_server(app) as srv:
        sock = raw_upgrade(srv)
        sock.sendall(frame)
        assert read_close(sock) == code
        assert app.ws_seen["done"].wait(5)
        with connect(url(srv)) as client:
            client.send("still here")
            assert client.recv(timeout=5) == "still here"
