"""A WebSocket connection (RFC 6455) after the upgrade: the protocol object the
transport is handed to (``Connection._hand_over``), and the ``ws`` API.

How this works
--------------
``WebSocket`` is an asyncio protocol. Bytes go to a ``FrameParser``
(``_ws_frames``), whose events are acted on at once: a ping is answered with
a pong of the same payload, a pong is noted, a close frame is answered with
a close frame (the client's code, or 1000 when it sent none) and the TCP
connection is closed, a text or binary message is queued for ``receive``.
A frame rule broken (the parser's ``error_code``: 1002, 1007, 1009) is
answered with a close frame of that code, and the connection closed.

The queue of received messages is bounded: past ``QUEUE_PAUSE`` messages
reading is paused until the handler takes some, so a client cannot grow it.
``send`` builds each frame once (``build_frame``) and writes it; while the
transport is paused (the client is not reading) it waits for
``resume_writing``, so nothing is buffered without bound.

Keep-alive: every ``ping_interval`` seconds (0 disables) a ping is sent; no
pong within ``ping_timeout`` closes the connection with 1011. One timer
handle per connection, no task.

``close(code, reason)`` sends a close frame and waits, at most
``close_timeout`` seconds, for the client's close frame or the TCP close.
``close_code`` is the code of the close frame sent, or received first when
the client closed. After close, ``send`` and ``receive`` raise
``WebSocketClosed``.

``handshake(request, allowed)`` checks an upgrade request against RFC 6455
§4.2.1 (SPEC §11) and returns the ``101`` head to write; ``run_handler``
runs a route's WebSocket handler and closes with 1000 when it returns, 1011
(logged) when it raises.

A leaf module: of fastcore it imports only ``errors`` and ``_ws_frames``.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import inspect
from collections import deque
from typing import Any, Callable

import orjson

from . import errors
from ._ws_frames import (CLOSE_NO_STATUS, CLOSE_NORMAL, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG,
                         OP_TEXT, FrameParser, build_frame, close_payload)

QUEUE_PAUSE = 32          # received messages waiting for the handler before reading pauses
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"   # RFC 6455 §1.3


def _tokens(value: str | None) -> list[str]:
    return [t.strip().lower() for t in (value or "").split(",") if t.strip()]


def is_upgrade(request: Any) -> bool:
    """Whether ``request`` asks for a WebSocket (a GET with Upgrade: websocket)."""
    return request.method == "GET" and "websocket" in _tokens(request.headers.get("upgrade"))


def handshake(request: Any, allowed: tuple | None) -> tuple[bytes, str | None]:
    """(the 101 head, the chosen subprotocol) for a valid upgrade request; raises
    WsBadHandshakeError (400) or WsUpgradeRequiredError (426, wrong version)."""
    headers = request.headers
    if "upgrade" not in _tokens(headers.get("connection")):
        raise errors.WsBadHandshakeError("Connection header must contain 'upgrade'")
    key = headers.get("sec-websocket-key")
    try:
        valid = key is not None and len(base64.b64decode(key.strip(), validate=True)) == 16
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise errors.WsBadHandshakeError("Sec-WebSocket-Key must be 16 bytes in base64")
    if (headers.get("sec-websocket-version") or "").strip() != "13":
        raise errors.WsUpgradeRequiredError("Unsupported WebSocket version: use 13")
    accept = base64.b64encode(hashlib.sha1(key.strip().encode() + _GUID).digest())
    chosen = None
    if allowed:
        offered = [t.strip() for t in (headers.get("sec-websocket-protocol") or "").split(",")]
        chosen = next((t for t in offered if t in allowed), None)
    head = (b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
            b"sec-websocket-accept: " + accept + b"\r\n")
    if chosen is not None:
        head += b"sec-websocket-protocol: " + chosen.encode("latin-1") + b"\r\n"
    return head + b"\r\n", chosen


async def run_handler(handler: Callable, ws: WebSocket, request: Any, logger: Any,
                      done: Callable[[WebSocket], None]) -> None:
    """Run ``handler(ws, request)``; close with 1000 when it returns, 1011 when it raises
    (logged: the response is already a WebSocket, so no error handler runs)."""
    try:
        result = handler(ws, request)
        if inspect.isawaitable(result):
            await result
    except WebSocketClosed:
        await ws.close(CLOSE_NORMAL)
    except Exception as exc:
        logger.error("WebSocket handler failed in %s %s", request.method, request.url,
                     exc_info=exc)
        await ws.close(1011)
    else:
        await ws.close(CLOSE_NORMAL)
    finally:
        done(ws)


class WebSocketClosed(Exception):
    """The WebSocket is closed: ``code`` and ``reason`` of its close frame."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__("WebSocket closed with %d%s" % (code, ": " + reason if reason else ""))
        self.code = code
        self.reason = reason


class WebSocket(asyncio.Protocol):
    """One WebSocket connection and the ``ws`` object handlers use (module doc)."""

    def __init__(self, request: Any = None, *, subprotocol: str | None = None,
                 max_message_size: int = 1048576, close_timeout: float = 10.0,
                 ping_interval: float = 0.0, ping_timeout: float = 0.0) -> None:
        self.request = request
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self._timer: asyncio.TimerHandle | None = None
        self._awaiting_pong = False
        self.subprotocol = subprotocol
        self.close_timeout = close_timeout
        self.close_code: int | None = None
        self.close_reason = ""
        self.transport: asyncio.Transport | None = None
        self._parser = FrameParser(max_message_size)
        self._messages: deque = deque()
        self._waiter: asyncio.Future | None = None       # a receive() waiting for a message
        self._drain: asyncio.Future | None = None        # a send() waiting for resume_writing
        self._closed_event = asyncio.Event()             # set when the TCP connection is gone
        self._paused_reading = False
        self._paused_writing = False
        self._close_sent = False

    # -- the protocol side ----------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self._next_ping()

    def data_received(self, data: bytes) -> None:
        for opcode, value in self._parser.feed(data):
            if opcode == OP_TEXT or opcode == OP_BINARY:
                self._deliver(value)
            elif opcode == OP_PING:
                self._write(build_frame(OP_PONG, value))
            elif opcode == OP_PONG:
                if self._awaiting_pong:
                    self._awaiting_pong = False
                    self._next_ping()
            elif opcode == OP_CLOSE:
                code, reason = value
                self._peer_closed(code, reason)
        if self._parser.error_code and not self._close_sent:
            self._send_close(self._parser.error_code, "")
            self._end(self._parser.error_code, self._parser.error_reason)

    def eof_received(self) -> bool:
        return False          # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.close_code is None:
            self.close_code = 1006          # closed without a close frame (RFC 6455 §7.1.5)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._closed_event.set()
        self._wake(self._waiter)
        self._wake(self._drain)

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        self._wake(self._drain)

    # -- the ws API -----------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self.close_code is not None

    @property
    def buffered_amount(self) -> int:
        """Bytes written but not yet sent to the client."""
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    async def send(self, data: Any) -> None:
        """dict/list -> JSON text frame, str -> text, bytes -> binary."""
        if isinstance(data, str):
            frame = build_frame(OP_TEXT, data.encode("utf-8"))
        elif isinstance(data, (bytes, bytearray, memoryview)):
            frame = build_frame(OP_BINARY, bytes(data))
        else:
            frame = build_frame(OP_TEXT, orjson.dumps(data))
        await self.send_frame(frame)

    async def send_frame(self, frame: bytes) -> None:
        """Write a frame built with ``build_frame`` (the same bytes may go to many)."""
        while self._paused_writing and not self.closed:
            self._drain = asyncio.get_running_loop().create_future()
            await self._drain
        if self.closed or self._close_sent:
            raise WebSocketClosed(self.close_code or CLOSE_NORMAL, self.close_reason)
        self._write(frame)

    async def receive(self) -> str | bytes:
        """The next message (str for text, bytes for binary)."""
        while not self._messages:
            if self.closed:
                raise WebSocketClosed(self.close_code, self.close_reason)
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        message = self._messages.popleft()
        if self._paused_reading and len(self._messages) < QUEUE_PAUSE // 2:
            self._paused_reading = False
            self.transport.resume_reading()
        return message

    async def receive_json(self) -> Any:
        return orjson.loads(await self.receive())

    def __aiter__(self) -> WebSocket:
        return self

    async def __anext__(self) -> str | bytes:
        try:
            return await self.receive()
        except WebSocketClosed:
            raise StopAsyncIteration from None

    async def ping(self, data: bytes = b"") -> None:
        await self.send_frame(build_frame(OP_PING, bytes(data)))

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Send a close frame, then wait (at most close_timeout) for the client's."""
        if not self._close_sent and not self._closed_event.is_set():
            self._send_close(code, reason)
            if self.close_code is None:
                self.close_code, self.close_reason = code, reason
        try:
            await asyncio.wait_for(self._closed_event.wait(), self.close_timeout)
        except asyncio.TimeoutError:
            self.transport.abort()

    # -- inside ---------------------------------------------------------------------
    def _next_ping(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.ping_interval > 0 and not self.closed:
            loop = asyncio.get_event_loop()
            self._timer = loop.call_later(self.ping_interval, self._keepalive_ping)

    def _keepalive_ping(self) -> None:
        self._timer = None
        if self.closed or self._close_sent:
            return
        self._awaiting_pong = True
        self._write(build_frame(OP_PING, b""))
        if self.ping_timeout > 0:
            self._timer = asyncio.get_event_loop().call_later(self.ping_timeout,
                                                              self._pong_missed)

    def _pong_missed(self) -> None:
        self._timer = None
        if self._awaiting_pong and not self.closed and not self._close_sent:
            self._send_close(1011, "ping timeout")
            self._end(1011, "ping timeout")

    def _write(self, frame: bytes) -> None:
        if self.transport is not None and not self._closed_event.is_set():
            self.transport.write(frame)

    def _send_close(self, code: int, reason: str) -> None:
        self._close_sent = True
        self._write(build_frame(OP_CLOSE, close_payload(code, reason)))

    def _peer_closed(self, code: int, reason: str) -> None:
        # RFC 6455 §5.5.1: answer a close with a close (the same code), then the
        # server closes the TCP connection.
        if not self._close_sent:
            self._send_close(CLOSE_NORMAL if code == CLOSE_NO_STATUS else code, "")
        self._end(code, reason)

    def _end(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._wake(self._waiter)
        if self.transport is not None:
            self.transport.close()

    def _deliver(self, message: Any) -> None:
        self._messages.append(message)
        self._wake(self._waiter)
        if len(self._messages) >= QUEUE_PAUSE and not self._paused_reading:
            self._paused_reading = True
            self.transport.pause_reading()

    @staticmethod
    def _wake(future: asyncio.Future | None) -> None:
        if future is not None and not future.done():
            future.set_result(None)
