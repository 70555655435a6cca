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

The source is stepped inside the writer's task, as a task would step it: an
item that is ready costs no task and no wait, and a source that has to wait
leaves its step half run on the future it waits for. Heartbeats: the stream
waits for that future at most ``heartbeat`` seconds at a time; each time that
passes without an item it writes a comment line ``: ping`` and keeps waiting
for the same item (the pending step is never cancelled, so the source sees
no spurious interruption). ``aclose()`` cancels that pending step (throws
CancelledError into it) and closes the source: the writer calls it when the
client goes away or the app closes.

A source may instead push its events: an object with ``start_events(sink)``
gets an ``EventSink`` once the response head is out and writes to it when
it has events (``fastcore._event_sink``); ``sse_chunk`` makes the chunk it
writes, once for any number of streams.

A leaf module: it imports nothing of fastcore, so the compiled modules may
use it.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any

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


def sse_chunk(events: bytes) -> bytes:
    """The chunk of chunked transfer coding (RFC 9112 §7.1) that carries
    ``events``, encoded events joined: what ``EventSink.write_chunk`` takes.
    Made once, the same bytes object may go to every stream."""
    if not events:
        raise ValueError("an empty chunk would end the stream")
    return b"%x\r\n%b\r\n" % (len(events), events)


class EventStream:
    """What ``reply.sse`` sends: the async iterator of its source's event
    bytes, or, for a push source (``pushes``), the source and the stream's
    options for the writer (``fastcore._event_sink``).

    ``encoder``: ``None``, or an object an ``on_send`` hook sets (a content
    coding, say) with ``encode(data) -> bytes``, called on the data of each
    chunk before it is written (an empty result writes nothing), and
    ``finish() -> bytes``, written last when the stream ends."""

    def __init__(self, source: Any, heartbeat: float | None = 15.0,
                 retry: float | None = None) -> None:
        self.pushes = callable(getattr(source, "start_events", None))
        if not (self.pushes or hasattr(source, "__aiter__")):
            raise TypeError("reply.sse() takes an async iterable of events or an object "
                            "with start_events(sink), got %r" % (type(source).__name__,))
        if heartbeat is not None and (isinstance(heartbeat, bool)
                                      or not isinstance(heartbeat, (int, float))
                                      or not heartbeat >= 0):
            raise ValueError("heartbeat is a number of seconds >= 0 or None, got %r"
                             % (heartbeat,))
        self.source = source
        self.encoder: Any = None
        self._items = None if self.pushes else source.__aiter__()
        self._heartbeat = heartbeat or None
        self._first = None if retry is None else b"retry: %d\n\n" % _retry_ms(retry)
        self._step: Any = None                  # the source's pending __anext__, half run
        self._blocked: asyncio.Future | None = None   # the future it waits on
        self._done = False

    @property
    def heartbeat(self) -> float | None:
        return self._heartbeat

    def take_first(self) -> bytes | None:
        """The ``retry:`` line to send before any event, once."""
        first, self._first = self._first, None
        return first

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> bytes:
        if self._first is not None:
            return self.take_first()
        while not self._done:
            if self._blocked is None or self._blocked.done():
                item = self._advance()
                if item is not _WAITING:
                    return encode_event(item)
            elif not await self._wait(self._blocked):
                return PING
        raise StopAsyncIteration

    def take_ready(self, limit: int = 65536) -> bytes:
        """The events the source has ready now, up to about ``limit`` bytes,
        encoded and joined: the writer sends them with the one it awaited."""
        out: list[bytes] = []
        size = 0
        while size < limit and not self._done and self._first is None and (
                self._blocked is None or self._blocked.done()):
            try:
                item = self._advance()
            except StopAsyncIteration:
                break                            # the next __anext__ ends the stream
            if item is _WAITING:
                break
            event = encode_event(item)
            out.append(event)
            size += len(event)
        return b"".join(out)

    def _advance(self) -> Any:
        # Run the source's next step until it yields an item (returned) or has
        # to wait (_WAITING: on self._blocked). The step runs inside the
        # caller's task, as a task would run it: no task per item.
        if self._step is None:
            self._step = self._items.__anext__().__await__()
        try:
            blocked = self._step.send(None)
        except StopIteration as finished:
            self._step = self._blocked = None
            return finished.value
        except BaseException:
            self._step = self._blocked = None
            self._done = True
            raise
        if blocked is not None:
            blocked._asyncio_future_blocking = False
        self._blocked = blocked
        return _WAITING

    async def _wait(self, blocked: asyncio.Future | None) -> bool:
        """Wait for ``blocked`` (or one loop turn for a bare yield); False when
        ``heartbeat`` seconds passed first (the step stays pending)."""
        if blocked is None:
            await asyncio.sleep(0)
            return True
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()

        def wake(_: Any = None) -> None:
            if not waiter.done():
                waiter.set_result(None)

        blocked.add_done_callback(wake)
        timer = None if self._heartbeat is None else loop.call_later(self._heartbeat, wake)
        try:
            await waiter
        finally:
            blocked.remove_done_callback(wake)
            if timer is not None:
                timer.cancel()
        return blocked.done()

    async def aclose(self) -> None:
        """End the stream: the pending step is closed, then the source."""
        self._done = True
        step, self._step, self._blocked = self._step, None, None
        if step is not None:
            # As a task's cancellation would: CancelledError where it waits.
            try:
                step.throw(asyncio.CancelledError())
            except BaseException:
                pass
        aclose = getattr(self._items, "aclose", None)
        if aclose is not None:
            await aclose()


_WAITING = object()      # EventStream._advance: the source has no item yet
