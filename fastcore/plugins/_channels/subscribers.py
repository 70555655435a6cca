"""Subscribers: a WebSocket's or an SSE stream's subscriptions and their backlog.

How delivery works
------------------
The hub holds a channel's messages until the end of the event-loop
iteration, then gives each subscriber the batch: ``send_batch(data,
messages)``, ``data`` being the messages' bytes joined once for every
subscriber of a kind (``join``: one WebSocket frame alone is the very bytes
object every WebSocket gets; SSE streams share one chunk). A WebSocket that
keeps up writes ``data`` at once: a burst of N publishes costs each
subscriber one system call, not N. Messages of its own (what ``subscribe``
catches up on, a backlog) go through ``push`` and its queue, written by
``flush``; while it has some queued, a batch joins the queue, so that order
holds.

A subscriber whose transport does not take writes (its client is not reading:
the transport is paused) is slow: its queue becomes its backlog, bounded at
``max_backlog`` messages by the policy (``BacklogPolicy``), and one task
waits for the transport to resume, then writes the backlog. Nothing a slow
subscriber does delays the others: ``push`` never waits.

WebSockets (``WsSubscriber``) and SSE streams (``SseSubscriber``) work the
same way; they differ in what a message's bytes are (a text frame; an
``id:``/``data:`` event inside a chunk of the chunked response) and in what
they write to (``ws.write_frame``; the stream's ``EventSink.write_chunk``).

Policies past ``max_backlog``: ``conflate`` keeps the newest message of each
channel (the newest price wins), ``drop_oldest`` drops the oldest,
``disconnect`` closes the WebSocket with 1008 ``slow consumer`` or ends the
SSE stream.

Counting (``Channels.stats``): the hub adds a batch's deliveries once for
all the subscribers it walks (messages x subscribers); a subscriber that does
not write the batch at once takes its messages back off that count, and
``flush`` adds what it writes from its queue. So the fast path costs nothing
per subscriber, and ``delivered`` counts what was written. The policy counts
the messages it discards (``BacklogPolicy.dropped``).
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Callable

from fastcore import sse_chunk

from .message import Message

POLICIES = ("conflate", "drop_oldest", "disconnect")


class Overflow(Exception):
    """The backlog is full and the policy is ``disconnect``."""


class BacklogPolicy:
    """What happens to a queue of messages that reached ``limit``."""

    __slots__ = ("limit", "name", "dropped")

    def __init__(self, limit: int, name: str) -> None:
        self.limit = limit
        self.name = name
        self.dropped = 0             # messages discarded by the policy, all subscribers

    def add(self, queue: deque, message: Message) -> None:
        """Append ``message``; past the limit, apply the policy (raises Overflow)."""
        if len(queue) >= self.limit:
            if self.name == "disconnect":
                raise Overflow()
            before = len(queue)
            if self.name == "conflate":
                _conflate(queue, message.channel)
            while len(queue) >= self.limit:
                queue.popleft()
            self.dropped += before - len(queue)
        queue.append(message)


def _conflate(queue: deque, incoming: str) -> None:
    # Keep the newest message of each channel, in their order; the channel of
    # the incoming message loses its queued one, since a newer one comes.
    newest: dict[str, Message] = {}
    for message in queue:
        newest.pop(message.channel, None)
        newest[message.channel] = message
    newest.pop(incoming, None)
    queue.clear()
    queue.extend(newest.values())


def skip_caught_up(floor: dict[str, int], messages: list[Message]) -> list[Message]:
    """``messages`` without those a subscriber already got when it caught up
    (``floor``: channel -> last seq sent then); a channel's first message past
    its floor ends the check for that channel."""
    kept = []
    for message in messages:
        last = floor.get(message.channel)
        if last is None:
            kept.append(message)
        elif message.seq > last:
            del floor[message.channel]
            kept.append(message)
    return kept


class Subscriber:
    """One connection's subscriptions (see the module doc): a WebSocket's
    (``WsSubscriber``) or an SSE stream's (``SseSubscriber``)."""

    __slots__ = ("channels", "queue", "policy", "slow", "scheduled", "done", "floor",
                 "_hub", "_task", "_write")

    def __init__(self, policy: BacklogPolicy, hub: Any, write: Callable[[bytes], bool]) -> None:
        self.channels: set[str] = set()
        self.queue: deque | None = None  # made when a message has to wait (an empty
        self.policy = policy               # deque is 600 bytes: thousands of these)
        self.slow = False            # the transport refused a write: a task drains it
        self.scheduled = False       # queued for the hub's end-of-iteration flush
        self.done = False            # unsubscribed from everything: pushes are ignored
        self.floor: dict[str, int] | None = None   # channel -> last seq caught up on
        self._hub = hub
        self._task: asyncio.Task | None = None
        self._write = write          # write(join(...)): whether the transport takes more

    # what each kind of connection does
    @staticmethod
    def join(messages: Any) -> bytes:
        """The bytes of ``messages`` for this kind of connection, in one write."""
        raise NotImplementedError

    async def wait_writable(self) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    def hang_up(self) -> None:
        """Past the backlog under ``disconnect``: end the connection."""
        raise NotImplementedError

    # the same for both
    # Whether ``_write`` returning False may still have written (then the
    # transport is full now): an EventSink's ``write_chunk`` does.
    written_when_full = False

    def send_batch(self, data: bytes, messages: list[Message]) -> None:
        """A channel's messages of this iteration, ``data`` their ``join``; the
        hub has counted them as delivered to this subscriber."""
        # HOT PATH: bench/fanout.py: once per subscriber per batch; the write
        # is the common case, the rest runs for subscribers that are behind.
        if not (self.floor or self.queue or self.slow or self.done):
            if self._write(data):
                return
            if self.written_when_full and not self.closed:
                self._turn_slow()
                return
        self._hub._delivered -= len(messages)   # they go through the queue instead
        if self.floor:
            messages = skip_caught_up(self.floor, messages)
        for message in messages:
            self.push(message)

    def push(self, message: Message) -> None:
        if self.done:
            return
        if self.queue is None:
            self.queue = deque()
        try:
            self.policy.add(self.queue, message)
        except Overflow:
            # The backlog and the message that did not fit are never sent.
            self.policy.dropped += len(self.queue) + 1
            self._hub.drop_slow(self)
            return
        if not self.slow and not self.scheduled:
            self.scheduled = True
            self._hub.schedule(self)

    def flush(self) -> None:
        """Write everything queued in one write, or turn slow."""
        self.scheduled = False
        queue = self.queue
        if not queue or self.slow:
            return
        if self._write(self.join(queue)):
            self._hub._delivered += len(queue)
            self.queue = None
        elif not self.closed:
            if self.written_when_full:         # written; the transport is full now
                self._hub._delivered += len(queue)
                self.queue = None
            self._turn_slow()

    def _turn_slow(self) -> None:
        # The transport takes no more for now: a task waits for it, then
        # writes what queued up meanwhile.
        self.slow = True
        self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.slow:
                await self.wait_writable()
                if self.closed:
                    return
                self.slow = False
                self.flush()
        finally:
            self._task = None

    def close(self) -> None:
        self.done = True
        self.queue = None
        if self._task is not None:
            self._task.cancel()


class WsSubscriber(Subscriber):
    """A WebSocket's subscriptions: messages as text frames."""

    __slots__ = ("ws",)

    def __init__(self, ws: Any, policy: BacklogPolicy, hub: Any) -> None:
        super().__init__(policy, hub, ws.write_frame)
        self.ws = ws

    @staticmethod
    def join(messages: Any) -> bytes:
        if len(messages) == 1:
            return messages[0].frame           # the bytes every subscriber gets
        return b"".join([message.frame for message in messages])

    async def wait_writable(self) -> None:
        await self.ws.wait_writable()

    @property
    def closed(self) -> bool:
        return self.ws.closed

    def hang_up(self) -> None:
        asyncio.get_running_loop().create_task(self.ws.close(1008, "slow consumer"))


class SseSubscriber(Subscriber):
    """An SSE stream's subscriptions: messages as events, written to the
    stream's ``EventSink`` (``reply.sse`` of what ``events()`` returns)."""

    __slots__ = ("sink",)
    written_when_full = True

    def __init__(self, sink: Any, policy: BacklogPolicy, hub: Any) -> None:
        super().__init__(policy, hub, sink.write_chunk)
        self.sink = sink

    @staticmethod
    def join(messages: Any) -> bytes:
        if len(messages) == 1:
            return sse_chunk(messages[0].sse)
        return sse_chunk(b"".join([message.sse for message in messages]))

    async def wait_writable(self) -> None:
        await self.sink.wait_writable()

    @property
    def closed(self) -> bool:
        return self.sink.closed

    def hang_up(self) -> None:
        self.sink.end()
