"""Subscribers: a WebSocket's or an SSE stream's subscriptions and their backlog.

How delivery works
------------------
The hub holds a channel's messages until the end of the event-loop
iteration, then gives each subscriber the batch: ``send_batch(data,
messages)``, ``data`` being the messages' frames joined once for everyone (one
frame alone is the very bytes object every subscriber gets). A WebSocket that
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

An ``SseSubscriber`` is the async iterator ``Channels.events`` returns and
``reply.sse`` streams. Its queue is bounded by the same policy; the SSE
writer pulls from it only while the client reads, so a slow reader's
messages stay in the queue, never in the transport's buffer.

Policies past ``max_backlog``: ``conflate`` keeps the newest message of each
channel (the newest price wins), ``drop_oldest`` drops the oldest,
``disconnect`` closes the WebSocket with 1008 ``slow consumer`` or ends the
SSE stream.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Callable

from .message import Message

POLICIES = ("conflate", "drop_oldest", "disconnect")


class Overflow(Exception):
    """The backlog is full and the policy is ``disconnect``."""


class BacklogPolicy:
    """What happens to a queue of messages that reached ``limit``."""

    __slots__ = ("limit", "name")

    def __init__(self, limit: int, name: str) -> None:
        self.limit = limit
        self.name = name

    def add(self, queue: deque, message: Message) -> None:
        """Append ``message``; past the limit, apply the policy (raises Overflow)."""
        if len(queue) >= self.limit:
            if self.name == "disconnect":
                raise Overflow()
            if self.name == "conflate":
                _conflate(queue, message.channel)
            while len(queue) >= self.limit:
                queue.popleft()
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


class WsSubscriber:
    """One WebSocket's subscriptions (see the module doc)."""

    __slots__ = ("ws", "channels", "queue", "policy", "slow", "scheduled", "done", "floor",
                 "_hub", "_task")

    def __init__(self, ws: Any, policy: BacklogPolicy, hub: Any) -> None:
        self.ws = ws
        self.channels: set[str] = set()
        self.queue: deque | None = None  # made when a message has to wait (an empty
        self.policy = policy               # deque is 600 bytes: thousands of these)
        self.slow = False            # the transport refused a write: a task drains it
        self.scheduled = False       # queued for the hub's end-of-iteration flush
        self.done = False            # unsubscribed from everything: pushes are ignored
        self.floor: dict[str, int] | None = None   # channel -> last seq caught up on
        self._hub = hub
        self._task: asyncio.Task | None = None

    def send_batch(self, data: bytes, messages: list[Message]) -> None:
        """A channel's messages of this iteration, ``data`` their frames joined."""
        if self.floor:
            messages = skip_caught_up(self.floor, messages)
        elif not (self.queue or self.slow or self.done) and self.ws.write_frame(data):
            return
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
        if len(queue) == 1:
            data = queue[0].frame
        else:
            data = b"".join([message.frame for message in queue])
        if self.ws.write_frame(data):
            self.queue = None
        elif not self.ws.closed:
            self.slow = True
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.slow:
                await self.ws.wait_writable()
                if self.ws.closed:
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


class SseSubscriber:
    """The async iterator of one SSE stream's events (see the module doc)."""

    def __init__(self, policy: BacklogPolicy, on_end: Callable[[SseSubscriber], None]) -> None:
        self.channels: set[str] = set()
        self.queue: deque = deque()
        self.policy = policy
        self.floor: dict[str, int] = {}
        self.ended = False
        self._waiter: asyncio.Future | None = None
        self._on_end = on_end

    def send_batch(self, data: bytes, messages: list[Message]) -> None:
        if self.floor:
            messages = skip_caught_up(self.floor, messages)
        for message in messages:
            self.push(message)

    def push(self, message: Message) -> None:
        if self.ended:
            return
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():         # (a stream that closed cancelled it)
                waiter.set_result(message.event)
                return
        try:
            self.policy.add(self.queue, message)
        except Overflow:
            self.end()

    def end(self, closing: bool = False) -> None:
        """No more events: the stream ends (at once: what is queued is dropped).
        ``closing``: the stream is being closed, nobody reads the end any more."""
        if not self.ended:
            self.ended = True
            self.queue.clear()
            waiter, self._waiter = self._waiter, None
            if waiter is not None and not waiter.done():
                if closing:
                    waiter.cancel()
                else:
                    waiter.set_exception(StopAsyncIteration())
            self._on_end(self)

    def __aiter__(self) -> SseSubscriber:
        return self

    def __anext__(self) -> asyncio.Future:
        # A future, not a coroutine: done at once when an event is queued, else
        # ``push`` sets the event on it. The SSE writer steps it in its own task.
        future = asyncio.get_running_loop().create_future()
        if self.queue:
            future.set_result(self.queue.popleft().event)
        elif self.ended:
            future.set_exception(StopAsyncIteration())
        else:
            self._waiter = future
        return future

    async def aclose(self) -> None:
        """The stream is over (the client went away, or the app closes)."""
        self.end(closing=True)
