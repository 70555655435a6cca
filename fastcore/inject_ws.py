"""``app.inject_ws``: a WebSocket client that drives the real protocol in memory.

How this works
--------------
``inject_ws(url, headers, subprotocols)`` opens an in-memory connection to a
fresh ``HttpProtocol`` (as ``inject`` does), sends the upgrade request a
browser would send (random ``Sec-WebSocket-Key``, version 13), and reads
what the server writes. A ``101`` whose ``Sec-WebSocket-Accept`` matches
the key makes the connection a WebSocket: the server hands the transport to
its WebSocket protocol object (``transport.set_protocol``), and from then on
the client writes masked frames to that object and parses the unmasked
frames it writes back. Any other answer raises ``WebSocketRefused`` with the
HTTP response.

The client answers pings with pongs and a close frame with a close frame,
as a browser does; ``close_code`` is the code of the first close frame
seen, in either direction.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections import deque
from typing import Any

import orjson

from .inject import InjectResponse, InjectTransport, build_request

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocketRefused(Exception):
    """The server answered the upgrade with an HTTP response (``.response``)."""

    def __init__(self, response: InjectResponse) -> None:
        super().__init__("WebSocket upgrade refused: %d" % response.status_code)
        self.response = response


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """A final, masked frame as a client sends it (RFC 6455 §5.3)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


class InjectedWebSocket:
    """The client end of an injected WebSocket (see the module doc)."""

    def __init__(self, app: Any, url: str, headers: dict | None,
                 subprotocols: list | None) -> None:
        self._app = app
        self._url = url
        self._headers = dict(headers or {})
        self._subprotocols = list(subprotocols or ())
        self._buffer = b""
        self._upgraded = False
        self._messages: deque = deque()
        self._changed: asyncio.Event | None = None
        self._transport: InjectTransport | None = None
        self._closed = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.subprotocol: str | None = None

    async def __aenter__(self) -> InjectedWebSocket:
        loop = asyncio.get_running_loop()
        await self._app.ready()
        state = self._app._runtime(loop)
        self._changed = asyncio.Event()
        key = base64.b64encode(os.urandom(16))
        headers = {"connection": "Upgrade", "upgrade": "websocket",
                   "sec-websocket-key": key.decode(), "sec-websocket-version": "13"}
        if self._subprotocols:
            headers["sec-websocket-protocol"] = ", ".join(self._subprotocols)
        headers.update({k.lower(): v for k, v in self._headers.items()})
        self._transport = InjectTransport(loop, self)     # it writes to feed()
        protocol = state.protocol_factory()
        self._transport._protocol = protocol
        protocol.connection_made(self._transport)
        protocol.data_received(build_request("GET", self._url, headers, None, None, None))
        status, response_headers, raw = await self._read_head()
        if status != 101:
            raise WebSocketRefused(await self._read_response(status, response_headers, raw))
        expected = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
        if response_headers.get("sec-websocket-accept") != expected:
            raise ConnectionError("Sec-WebSocket-Accept does not match the key")
        self.subprotocol = response_headers.get("sec-websocket-protocol")
        self._upgraded = True
        self._parse_frames()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if not self._closed:
            await self.close()

    # -- the API ---------------------------------------------------------------
    async def send(self, data: Any) -> None:
        if isinstance(data, str):
            frame = _client_frame(1, data.encode("utf-8"))
        elif isinstance(data, (bytes, bytearray, memoryview)):
            frame = _client_frame(2, bytes(data))
        else:
            frame = _client_frame(1, orjson.dumps(data))
        self._send(frame)

    async def receive(self) -> str | bytes:
        while not self._messages:
            if self._closed:
                raise ConnectionError("WebSocket closed with %s" % self.close_code)
            await self._wait()
        return self._messages.popleft()

    async def receive_json(self) -> Any:
        return orjson.loads(await self.receive())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            self._send(_client_frame(8, code.to_bytes(2, "big") + reason.encode("utf-8")))
        while not self._closed:
            await self._wait()

    # -- inside ------------------------------------------------------------------
    def _send(self, frame: bytes) -> None:
        protocol = self._transport.get_protocol() if self._transport else None
        if self._closed or protocol is None:
            raise ConnectionError("WebSocket closed with %s" % self.close_code)
        protocol.data_received(frame)

    async def _wait(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    def feed(self, data: bytes) -> None:
        """What the server writes (the transport's reader side)."""
        if self._closed:
            return
        self._buffer += bytes(data)
        if self._upgraded:
            self._parse_frames()
        self._changed.set()

    def closed(self) -> None:
        """The server closed the connection (the transport's reader side)."""
        self._closed = True
        if self.close_code is None:
            self.close_code = 1006
        self._changed.set()

    async def _read_head(self) -> tuple[int, dict, bytes]:
        while b"\r\n\r\n" not in self._buffer:
            if self._closed:
                raise ConnectionError("closed before an answer to the upgrade")
            await self._wait()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split(" ")[1]), headers, head

    async def _read_response(self, status: int, headers: dict, head: bytes) -> InjectResponse:
        size = int(headers.get("content-length", "0"))
        while len(self._buffer) < size and not self._closed:
            await self._wait()
        body = self._buffer[:size]
        return InjectResponse(status, headers, body, head + b"\r\n\r\n" + body)

    def _parse_frames(self) -> None:
        # Server frames: unmasked, final (fastcore does not fragment what it sends).
        buf = self._buffer
        while len(buf) >= 2:
            opcode, n, start = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, start = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + n:
                break
            payload, buf = buf[start:start + n], buf[start + n:]
            self._on_frame(opcode, payload)
        self._buffer = buf

    def _on_frame(self, opcode: int, payload: bytes) -> None:
        if opcode == 1:
            self._messages.append(payload.decode("utf-8"))
        elif opcode == 2:
            self._messages.append(payload)
        elif opcode == 9 and not self._closed:
            self._send(_client_frame(10, payload))
        elif opcode == 8:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if self.close_code is None:
                self.close_code, self.close_reason = code, payload[2:].decode("utf-8")
                if not self._closed and self._transport.get_protocol() is not None:
                    self._send(_client_frame(8, payload[:2]))
