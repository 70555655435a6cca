"""Server-Sent Events: the event wire format and the stream behind ``reply.sse``.

How this works
--------------
``reply.sse(source, heartbeat=15.0, retry=None)`` (SPEC §11) sends an
``EventStream`` over ``source``, an async iterable of events. The response
writer streams it with chunked transfer coding like any async iterator, and
pulls the next chunk only while the transport accepts writes, so the source
is pulled no faster than the client reads.

Each item becomes one event (WHATWG HTML, "Server-sent events"): a
``ServerSentEvent`` writes its ``event:``, ``id:`` and ``retry:`` fields
before its data; plain items are data only (str as is, bytes as UTF-8,
anything else as JSON through orjson). Data is written as one ``data:``
line per line of it, so multi-line data arrives whole; an empty line ends
the event. ``retry`` is given in seconds and written in milliseconds.

Heartbeats: the stream waits for the source's next item at most
``heartbeat`` seconds at a time; each time that passes without an item it
writes a comment line ``: ping`` and keeps waiting for the same item (the
pending step of the source is never cancelled, so the source sees no
spurious interruption). ``aclose()`` cancels that pending step and closes
the source: the writer calls it when the client goes away or the app
closes.

A leaf module: it imports nothing of fastcore, so the compiled modules may
use it.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any, AsyncIterable

import orjson

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
PING = b": ping\n\n"


def _field(name: str, value: Any) -> str:
    """A single-line field value (event names and ids cannot hold line breaks)."""
    text = str(value)
    if "\n" in text or "\r" in text or "\0" in text:
        raise ValueError("the %s of a server-sent event cannot hold a line break or NUL: %r"
                         % (name, text))
    return text


def _data_text(data: Any) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data).decode("utf-8")
    return orjson.dumps(data).decode("utf-8")


def _retry_ms(retry: Any) -> int:
    if isinstance(retry, bool) or not isinstance(retry, (int, float)) or not retry >= 0:
        raise ValueError("retry is a number of seconds >= 0, got %r" % (retry,))
    return int(round(retry * 1000))


class ServerSentEvent:
    """One event: ``data`` (str, bytes, or JSON-able), and the optional ``event``
    name, ``id`` (what the client sends back as ``Last-Event-ID``) and ``retry``
    (seconds the client waits before reconnecting). Its bytes are made once
    and kept until a field changes, so one event may go to many streams."""

    __slots__ = ("data", "event", "id", "retry", "_wire")

    def __init__(self, data: Any, *, event: str | None = None, id: Any = None,
                 retry: float | None = None) -> None:
        self.data = data
        self.event = None if event is None else _field("event", event)
        self.id = None if id is None else _field("id", id)
        self.retry = None if retry is None else _retry_ms(retry)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name != "_wire":
            object.__setattr__(self, "_wire", None)

    def encode(self) -> bytes:
        if self._wire is not None:
            return self._wire
        lines = []
        if self.event is not None:
            lines.append("event: %s\n" % self.event)
        if self.id is not None:
            lines.append("id: %s\n" % self.id)
        if self.retry is not None:
            lines.append("retry: %d\n" % self.retry)
        lines.append(_data_lines(_data_text(self.data)))
        lines.append("\n")
        wire = "".join(lines).encode("utf-8")
        object.__setattr__(self, "_wire", wire)
        return wire

    def __repr__(self) -> str:
        return "ServerSentEvent(%r, event=%r, id=%r)" % (self.data, self.event, self.id)


def _data_lines(text: str) -> str:
    return "".join("data: %s\n" % line for line in _LINE_BREAK.split(text))


def encode_event(item: Any) -> bytes:
    """The bytes of one event for an item of an SSE source."""
    if isinstance(item, ServerSentEvent):
        return item.encode()
    return (_data_lines(_data_text(item)) + "\n").encode("utf-8")


class EventStream:
    """The async iterator of event bytes that ``reply.sse`` streams."""

    def __init__(self, source: AsyncIterable, heartbeat: float | None = 15.0,
                 retry: float | None = None) -> None:
        if not hasattr(source, "__aiter__"):
            raise TypeError("reply.sse() takes an async iterable of events, got %r"
                            % (type(source).__name__,))
        if heartbeat is not None and (isinstance(heartbeat, bool)
                                      or not isinstance(heartbeat, (int, float))
                                      or not heartbeat >= 0):
            raise ValueError("heartbeat is a number of seconds >= 0 or None, got %r"
                             % (heartbeat,))
        self._items = source.__aiter__()
        self._heartbeat = heartbeat or None
        self._first = None if retry is None else b"retry: %d\n\n" % _retry_ms(retry)
        self._pending: asyncio.Future | None = None
        self._done = False

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> bytes:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        if self._done:
            raise StopAsyncIteration
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._items.__anext__())
        done, _ = await asyncio.wait((self._pending,), timeout=self._heartbeat)
        if not done:
            return PING
        step, self._pending = self._pending, None
        try:
            item = step.result()
        except StopAsyncIteration:
            self._done = True
            raise
        return encode_event(item)

    async def aclose(self) -> None:
        """End the stream: the pending step is cancelled and the source closed."""
        self._done = True
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.cancel()
            try:
                await pending
            except BaseException:
                pass
        aclose = getattr(self._items, "aclose", None)
        if aclose is not None:
            await aclose()
