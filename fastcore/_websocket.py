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
pong within ``ping_timeout`` closes the connection with 1011. The server's
``KeepAlive`` (``_ws_keepalive``) walks its WebSockets on one timer and calls
``_keepalive`` on each: no timer handle per connection.

Memory: an idle WebSocket is what thousands of subscribers cost, so the
object keeps little (SPEC §11, bench/ws_load.py's idle case): ``__slots__``
(an instance ``__dict__`` appears only if a handler sets an attribute of its
own), the received messages in a list with a read index, no asyncio.Event
(a future is made only when ``close`` has to wait), and one task per
connection: the route's handler runs as that task's coroutine itself, and
what follows it (close 1000, or 1011 logged) is the task's done callback.

``close(code, reason)`` sends a close frame and waits, at most
``close_timeout`` seconds, for the client's close frame or the TCP close.
``close_code`` is the code of the close frame sent, or received first when
the client closed. After close, ``send`` and ``receive`` raise
``WebSocketClosed``.

``handshake(request, allowed)`` checks an upgrade request against RFC 6455
§4.2.1 (SPEC §11) and returns the ``101`` head to write; it reads the raw
header lines, so the request's ``headers`` dict is built only if the handler
asks for it. ``start_handler`` runs a route's WebSocket handler and closes
with 1000 when it returns, 1011 (logged) when it raises.

A leaf module: of fastcore it imports only ``errors``, ``_ws_frames`` and
``_ws_keepalive``.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import inspect
import logging
import time
from typing import Any, Awaitable, Callable

import orjson

from . import errors
from ._ws_frames import (CLOSE_NO_STATUS, CLOSE_NORMAL, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG,
                         OP_TEXT, FrameParser, build_frame, close_payload)
from ._ws_keepalive import KeepAlive

QUEUE_PAUSE = 32          # received messages waiting for the handler before reading pauses

# (the str or bytes send() framed last, its frame): a loop that sends one
# message to many connections builds the frame once. One tuple, replaced
# whole, so that event loops in other threads never see a mismatched pair.
_last_sent: tuple = (None, b"")
_log = logging.getLogger("fastcore")
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"   # RFC 6455 §1.3


_HANDSHAKE_FIELDS = frozenset((b"upgrade", b"connection", b"sec-websocket-key",
                               b"sec-websocket-version", b"sec-websocket-protocol"))


def _tokens(value: str | None) -> list[str]:
    return [t.strip().lower() for t in (value or "").split(",") if t.strip()]


def _handshake_headers(request: Any) -> dict[str, str]:
    """The header fields the handshake reads, from the raw lines (repeated
    fields joined with ", ", as ``request.headers`` does)."""
    found: dict[str, str] = {}
    for name, value in request.raw_headers:
        name = name.lower()
        if name in _HANDSHAKE_FIELDS:
            key, text = name.decode("latin-1"), value.decode("latin-1")
            found[key] = found[key] + ", " + text if key in found else text
    return found


def is_upgrade(request: Any) -> bool:
    """Whether ``request`` asks for a WebSocket (a GET with Upgrade: websocket)."""
    if request.method != "GET":
        return False
    return "websocket" in _tokens(_handshake_headers(request).get("upgrade"))


def handshake(request: Any, allowed: tuple | None) -> tuple[bytes, str | None]:
    """(the 101 head, the chosen subprotocol) for a valid upgrade request; raises
    WsBadHandshakeError (400) or WsUpgradeRequiredError (426, wrong version)."""
    headers = _handshake_headers(request)
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


def websocket_frame(data: str | bytes, *, binary: bool = False) -> bytes:
    """One server frame for ``data`` (str, or bytes of UTF-8 text), a text frame
    unless ``binary``: build it once, write it to many (``ws.write_frame``)."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return build_frame(OP_BINARY if binary else OP_TEXT, payload)


def start_handler(handler: Callable, ws: WebSocket, request: Any, logger: Any) -> None:
    """Run ``handler(ws, request)`` as a task; when it ends the connection closes
    with 1000, or 1011 when it raised (logged: the response is already a
    WebSocket, so no error handler runs)."""
    ws._logger = logger
    if inspect.iscoroutinefunction(handler):
        coro = handler(ws, request)
    else:
        coro = _call(handler, ws, request)
    asyncio.get_running_loop().create_task(coro).add_done_callback(ws._handler_done)


async def _call(handler: Callable, ws: WebSocket, request: Any) -> None:
    result = handler(ws, request)
    if inspect.isawaitable(result):
        await result


class WebSocketClosed(Exception):
    """Raised by send/receive once the WebSocket is closed."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class WebSocket(asyncio.Protocol):
    """One WebSocket connection and the ``ws`` object handlers use (module doc)."""

    __slots__ = ("request", "subprotocol", "close_timeout", "close_code", "close_reason",
                 "transport", "_parser", "_messages", "_head", "_waiter", "_iterating", "_drain",
                 "_lost", "_lost_waiter", "_abort_timer", "_paused_reading",
                 "_paused_writing", "_close_sent", "_members", "_keepalive_walk",
                 "_ping_due", "_pong_due", "_logger", "_close_callbacks", "__dict__")

    def __init__(self, request: Any = None, *, subprotocol: str | None = None,
                 max_message_size: int = 1048576, close_timeout: float = 10.0,
                 members: set | None = None, keepalive: KeepAlive | None = None) -> None:
        self.request = request
        self.subprotocol = subprotocol
        self.close_timeout = close_timeout
        self.close_code: int | None = None
        self.close_reason = ""
        self.transport: asyncio.Transport | None = None
        self._parser = FrameParser(max_message_size)
        self._messages: list | None = None  # received, not yet taken (from _head on)
        self._head = 0
        self._waiter: asyncio.Future | None = None       # what a waiting receive() awaits
        self._iterating = False                          # ... for async for
        self._drain: asyncio.Future | None = None        # a send() waiting for resume_writing
        self._lost = False                               # the TCP connection is gone
        self._lost_waiter: asyncio.Future | None = None  # a close() waiting for that
        self._abort_timer: asyncio.TimerHandle | None = None
        self._paused_reading = False
        self._paused_writing = False
        self._close_sent = False
        self._members = members           # the server's open WebSockets, if any
        self._keepalive_walk = keepalive
        self._ping_due = 0.0              # when the next keep-alive ping is due
        self._pong_due = 0.0              # when its pong must have come (0: none out)
        self._logger: Any = None
        self._close_callbacks: list | None = None

    # -- the protocol side ----------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        if self._members is not None:
            self._members.add(self)
        if self._keepalive_walk is not None:
            self._ping_due = self._keepalive_walk.first_ping()

    def data_received(self, data: bytes) -> None:
        for opcode, value in self._parser.feed(data):
            if opcode == OP_TEXT or opcode == OP_BINARY:
                self._deliver(value)
            elif opcode == OP_PING:
                self._write(build_frame(OP_PONG, value))
            elif opcode == OP_PONG:
                if self._pong_due:
                    self._pong_due = 0.0
                    self._ping_due = time.monotonic() + self._keepalive_walk.interval
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
        self._lost = True
        if self._members is not None:
            self._members.discard(self)
        if self._abort_timer is not None:
            self._abort_timer.cancel()
            self._abort_timer = None
        self._wake(self._lost_waiter)
        self._fail_waiter()
        self._wake(self._drain)
        callbacks, self._close_callbacks = self._close_callbacks, None
        for callback in callbacks or ():
            try:
                callback(self)
            except Exception:
                _log.exception("WebSocket close callback %r failed", callback)

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
        global _last_sent
        last = _last_sent
        if data is last[0]:
            frame = last[1]                   # a loop sending one message to many
        else:
            if isinstance(data, str):
                frame = build_frame(OP_TEXT, data.encode("utf-8"))
            elif isinstance(data, (bytes, bytearray, memoryview)):
                frame = build_frame(OP_BINARY, bytes(data))
            else:
                frame = build_frame(OP_TEXT, orjson.dumps(data))
            if type(data) is str or type(data) is bytes:
                _last_sent = (data, frame)
        # Inline, not write_frame(): this is the per-message path (a third
        # faster on bench/test_bench_ws_send.py than the call).
        if self._paused_writing or self.close_code is not None or self._close_sent:
            await self.send_frame(frame)          # waits for the client, or raises
        elif not self._lost and self.transport is not None:
            self.transport.write(frame)

    async def send_frame(self, frame: bytes) -> None:
        """Write a frame built with ``websocket_frame`` (the same bytes may go to
        many connections), waiting while the client is not reading."""
        await self.wait_writable()
        if self.closed or self._close_sent:
            raise WebSocketClosed(self.close_code or CLOSE_NORMAL, self.close_reason)
        self._write(frame)

    def write_frame(self, frame: bytes) -> bool:
        """Write ``frame`` (from ``websocket_frame``; several may be joined) now if
        the connection is open and the client reading; else write nothing and
        return False. For code that keeps its own backlog, as channels do."""
        if not self.writable:
            return False
        self.transport.write(frame)
        return True

    @property
    def writable(self) -> bool:
        """Open, and the transport takes writes (the client keeps up)."""
        return not (self._paused_writing or self.close_code is not None or self._close_sent
                    or self._lost or self.transport is None)

    async def wait_writable(self) -> None:
        """Return once the transport takes writes again, or the connection is closed."""
        while self._paused_writing and not self.closed:
            if self._drain is None or self._drain.done():
                self._drain = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._drain)

    def on_close(self, callback: Callable[[WebSocket], Any]) -> None:
        """Call ``callback(ws)`` once the connection is gone (now, if it is)."""
        if self._lost:
            callback(self)
        elif self._close_callbacks is None:
            self._close_callbacks = [callback]
        else:
            self._close_callbacks.append(callback)

    def receive(self) -> Awaitable[str | bytes]:
        """The next message (str for text, bytes for binary); awaitable."""
        return self._next(False)

    async def receive_json(self) -> Any:
        return orjson.loads(await self._next(False))

    def __aiter__(self) -> WebSocket:
        return self

    def __anext__(self) -> Awaitable[str | bytes]:
        return self._next(True)

    async def ping(self, data: bytes = b"") -> None:
        await self.send_frame(build_frame(OP_PING, bytes(data)))

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Send a close frame, then wait (at most close_timeout) for the client's."""
        if not self._close_sent and not self._lost:
            self._send_close(code, reason)
            if self.close_code is None:
                self.close_code, self.close_reason = code, reason
        if self._lost:
            return
        if self._lost_waiter is None:
            self._lost_waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._lost_waiter), self.close_timeout)
        except asyncio.TimeoutError:
            self.transport.abort()

    # -- inside ---------------------------------------------------------------------
    def _next(self, iterating: bool) -> asyncio.Future:
        # What receive() and async for await: a future holding the next message,
        # or WebSocketClosed (StopAsyncIteration for async for) once closed. With
        # nothing queued, _deliver sets the message on it: no coroutine of
        # ours waits while the connection is idle.
        future = asyncio.get_running_loop().create_future()
        messages = self._messages
        if messages:
            message = messages[self._head]
            self._head += 1
            left = len(messages) - self._head
            if left == 0:
                self._messages = None
                self._head = 0
            else:
                messages[self._head - 1] = None
            if self._paused_reading and left < QUEUE_PAUSE // 2:
                self._paused_reading = False
                self.transport.resume_reading()
            future.set_result(message)
        elif self.closed:
            future.set_exception(self._end_of_messages(iterating))
        else:
            self._waiter = future
            self._iterating = iterating
        return future

    def _end_of_messages(self, iterating: bool) -> BaseException:
        if iterating:
            return StopAsyncIteration()
        return WebSocketClosed(self.close_code, self.close_reason)

    def _keepalive(self, now: float, interval: float, timeout: float) -> None:
        # Called by the server's KeepAlive walk.
        if self.closed or self._close_sent:
            return
        if self._pong_due:
            if now >= self._pong_due:
                self._send_close(1011, "ping timeout")
                self._end(1011, "ping timeout")
        elif now >= self._ping_due:
            self._write(build_frame(OP_PING, b""))
            if timeout > 0:
                self._pong_due = now + timeout
            else:
                self._ping_due = now + interval

    def _handler_done(self, task: asyncio.Task) -> None:
        # The route's handler ended: close 1000, or 1011 (logged) if it raised.
        code = CLOSE_NORMAL
        if task.cancelled():
            code = 1001
        elif task.exception() is not None and not isinstance(task.exception(),
                                                             WebSocketClosed):
            code = 1011
            request = self.request
            self._logger.error("WebSocket handler failed in %s %s", request.method,
                               request.url, exc_info=task.exception())
        if self._close_sent or self._lost or self.transport is None:
            return
        self._send_close(code, "")
        if self.close_code is None:
            self.close_code = code
        self._abort_timer = asyncio.get_running_loop().call_later(self.close_timeout,
                                                                  self.transport.abort)

    def _write(self, frame: bytes) -> None:
        if self.transport is not None and not self._lost:
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
        self._fail_waiter()
        if self.transport is not None:
            self.transport.close()

    def _deliver(self, message: Any) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():        # (a receive() cancelled by a timeout is)
                waiter.set_result(message)
                return
        messages = self._messages
        if messages is None:
            messages = self._messages = []
        messages.append(message)
        if len(messages) - self._head >= QUEUE_PAUSE and not self._paused_reading:
            self._paused_reading = True
            self.transport.pause_reading()

    def _fail_waiter(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(self._end_of_messages(self._iterating))

    @staticmethod
    def _wake(future: asyncio.Future | None) -> None:
        if future is not None and not future.done():
            future.set_result(None)
