"""``app.channels``: define, publish, subscribe, events (SPEC §12).

How this works
--------------
The hub keeps, per channel name, the local subscribers (WebSocket and SSE
alike: anything with ``push(message)``). A publish serializes the message
once (``Serializers``) and hands the payload to the backend, which numbers it
(the channel's sequence) and keeps ``history``/last value. The memory
backend returns the numbered message and the hub delivers it at once; the
Redis backend delivers through Redis pub/sub, so that every process sees
every channel's messages in one order, and calls ``deliver`` when a message
comes back.

``deliver`` pushes the ``Message`` to each local subscriber of the channel.
WebSocket subscribers queue it and ask for a flush; one ``call_soon`` per
event-loop iteration flushes every subscriber that got something, so a burst
of publishes leaves each subscriber in one write (``subscribers`` module).

A WebSocket's subscriptions end when it closes (``ws.on_close``); an SSE
stream's when its iterator is closed (the client went away, the app closed)
or the policy ended it.

``stats()`` reads counters kept where the work already happens: the backend
counts what it numbers, ``_send_to`` adds messages x subscribers once per
batch (a subscriber that queues them instead takes them back off and adds
them when its queue is written), the shared ``BacklogPolicy`` counts what it
discards.
"""
from __future__ import annotations

import asyncio
import itertools
from typing import Any, Iterable

from fastcore.errors import FastcoreError

from .message import Message, Serializers
from .subscribers import POLICIES, BacklogPolicy, SseSubscriber, Subscriber, WsSubscriber


class Channels:
    """The object behind ``app.channels``."""

    def __init__(self, backend: Any, *, max_backlog: int, slow_consumer: str) -> None:
        self._backend = backend
        self._policy = BacklogPolicy(max_backlog, slow_consumer)
        self._serializers = Serializers()
        self._subscribers: dict[str, dict[Any, None]] = {}   # channel -> ordered set
        self._targets: dict[str, tuple] = {}    # channel -> (WebSockets, SSE streams)
        self._ws: dict[Any, WsSubscriber] = {}
        self._dirty: list[WsSubscriber] = []
        self._batch: list[Message] = []       # delivered this iteration, in order
        self._flush_handle: asyncio.Handle | None = None
        self._delivered = 0                   # see stats(); subscribers correct it
        self._catching_up = 0                 # _Collectors among the subscribers

    # -- the API ------------------------------------------------------------------
    def define(self, pattern: str, *, schema: dict) -> None:
        """Messages of channels matching ``pattern`` (``*`` and ``?`` wildcards)
        are serialized by ``schema``'s compiled serializer."""
        self._serializers.define(pattern, schema)

    async def publish(self, channel: str, message: Any) -> int:
        """Serialize ``message`` once and deliver it to every subscriber of
        ``channel``; returns its sequence number."""
        payload = self._serializers.serialize(_channel_name(channel), message)
        published = await self._backend.publish(channel, payload)
        if not self._backend.loops_back:
            self.deliver(published)
        return published.seq

    def publish_nowait(self, channel: str, message: Any) -> None:
        """``publish`` for sync code: delivered at once by the memory backend,
        sent in order by the Redis backend."""
        payload = self._serializers.serialize(_channel_name(channel), message)
        published = self._backend.publish_nowait(channel, payload)
        if not self._backend.loops_back:
            self.deliver(published)

    async def subscribe(self, ws: Any, *channels: str, last_value: bool = False,
                        since: dict[str, int] | None = None) -> None:
        """Subscribe ``ws`` to ``channels``; returns once the subscriptions are live.
        ``since={channel: seq}`` first sends the kept messages after ``seq``;
        ``last_value=True`` the channel's latest message."""
        subscriber = self._ws.get(ws)
        if subscriber is None:
            if ws.closed:
                return
            subscriber = self._ws[ws] = WsSubscriber(ws, self._policy, self)
            ws.on_close(self._ws_closed)
        await self._attach(subscriber, channels, since or {}, last_value)
        subscriber.flush()        # what it catches up on is written before we return

    async def unsubscribe(self, ws: Any, *channels: str) -> None:
        """End ``ws``'s subscriptions to ``channels`` (all of them if none given)."""
        subscriber = self._ws.get(ws)
        if subscriber is not None:
            await self._detach(subscriber, channels or tuple(subscriber.channels))
            if not subscriber.channels:
                self._ws.pop(ws, None)
                subscriber.close()

    def events(self, *channels: str, last_event_id: str | None = None,
               last_value: bool = False) -> SseSubscriber:
        """An async iterable of SSE events for ``reply.sse``: each channel's
        messages (``id: <seq>``); with ``last_event_id`` (one channel only) the
        kept messages after it first, with ``last_value`` each channel's latest."""
        names = [_channel_name(c) for c in channels]
        if not names:
            raise TypeError("events() takes at least one channel")
        since = {}
        if last_event_id is not None:
            if len(names) != 1:
                raise ValueError("last_event_id resumes one channel; got %d" % len(names))
            since[names[0]] = _event_id(last_event_id)
        return _Stream(self, names, since, last_value)

    def subscribers(self, channel: str) -> int:
        """How many local subscribers ``channel`` has."""
        return len(self._subscribers.get(channel, ()))

    def stats(self) -> dict:
        """This process's counts, for the metrics plugin (a plain call)::

            {"published": int, "delivered": int,
             "dropped": {"conflate": int, "drop_oldest": int, "disconnect": int},
             "subscribers": int}

        ``published``: messages this process published (``publish`` and
        ``publish_nowait``) that the backend numbered; with Redis, once Redis
        has taken them (a ``publish_nowait`` lost to a Redis failure is not
        counted). Messages published by other processes are not counted here;
        what reaches this process of them counts under ``delivered``.

        ``delivered``: messages written to subscribers, one per message per
        subscriber (a batch of k messages in one write counts k); messages a
        subscriber catches up on (``since``, ``last_value``) count too.

        ``dropped``: messages the ``slow_consumer`` policy discarded (only the
        configured policy's count moves). ``conflate``: queued messages
        replaced by a newer one of their channel (and the oldest, when that
        frees no room: a backlog of ``max_backlog`` channels); ``drop_oldest``:
        the oldest queued ones; ``disconnect``: messages, not subscribers: the
        backlog of the subscriber it disconnected plus the message that did
        not fit. Messages still queued for a connection that closes on its
        own are neither delivered nor dropped.

        ``subscribers``: current subscriptions, one per subscriber per
        channel (a WebSocket on three channels counts 3), the sum of
        ``subscribers(channel)`` over channels; a subscription counts once it
        is live (``subscribe`` has caught it up).

        The three counts only grow (since the plugin started); ``subscribers``
        goes up and down.
        """
        dropped = dict.fromkeys(POLICIES, 0)
        dropped[self._policy.name] = self._policy.dropped
        live = sum(map(len, self._subscribers.values())) - self._catching_up
        return {"published": self._backend.published, "delivered": self._delivered,
                "dropped": dropped, "subscribers": max(live, 0)}

    async def close(self) -> None:
        for subscriber in list(self._ws.values()):
            subscriber.close()
        self._ws.clear()
        self._subscribers.clear()
        self._targets.clear()
        self._batch.clear()
        await self._backend.close()

    # -- inside ---------------------------------------------------------------------
    def deliver(self, message: Message) -> None:
        """A numbered message of ``message.channel``: held with the other
        messages of this event-loop iteration, for ``_flush``."""
        if message.channel not in self._subscribers:
            return
        self._batch.append(message)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def schedule(self, subscriber: WsSubscriber) -> None:
        self._dirty.append(subscriber)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        # End of the iteration: each subscriber gets the iteration's messages of
        # its channels, in publish order, framed and joined once per set of
        # channels (one channel: the same bytes object for all of them); then
        # subscribers with something of their own queued (catching up,
        # draining) write it.
        self._flush_handle = None
        batch, self._batch = self._batch, []
        if batch:
            channels = {message.channel for message in batch}
            if len(channels) == 1:
                self._send_to(self._targets_of(batch[0].channel), batch)
            else:
                self._send_mixed(batch, channels)
        dirty, self._dirty = self._dirty, []
        for subscriber in dirty:
            subscriber.flush()

    def _send_to(self, targets: tuple, messages: list[Message]) -> None:
        # HOT PATH: bench/fanout.py: once per set of channels per iteration.
        websockets, streams = targets
        # Counted for all at once; a subscriber that does not write them now
        # takes them back off (Subscriber.send_batch).
        self._delivered += len(messages) * (len(websockets) + len(streams))
        if websockets:
            data = WsSubscriber.join(messages)
            for subscriber in websockets:
                subscriber.send_batch(data, messages)
        if streams:
            data = SseSubscriber.join(messages)
            for subscriber in streams:
                subscriber.send_batch(data, messages)

    def _send_mixed(self, batch: list[Message], channels: set[str]) -> None:
        # Several channels this iteration: group subscribers by which of them
        # they are on, and join each group's messages once.
        groups: dict[frozenset, dict] = {}
        for channel in channels:
            for subscriber in itertools.chain(*self._targets_of(channel)):
                key = frozenset(subscriber.channels & channels)
                groups.setdefault(key, {})[subscriber] = None
        for key, members in groups.items():
            self._send_to(_by_kind(members), [m for m in batch if m.channel in key])

    def _targets_of(self, channel: str) -> tuple:
        # The channel's subscribers as tuples, made again after a change: a
        # subscriber dropped during a walk (a policy, a closed connection) is
        # not removed from under it.
        targets = self._targets.get(channel)
        if targets is None:
            targets = self._targets[channel] = _by_kind(self._subscribers.get(channel, ()))
        return targets

    def drop_slow(self, subscriber: Subscriber) -> None:
        """A subscriber past its backlog under ``disconnect``: the WebSocket
        closes with 1008, the SSE stream ends."""
        self._forget(subscriber)
        subscriber.close()
        subscriber.hang_up()

    async def _attach(self, subscriber: Any, channels: Iterable[str], since: dict,
                      last_value: bool) -> None:
        for channel in channels:
            channel = _channel_name(channel)
            if channel in subscriber.channels:
                continue
            subscriber.channels.add(channel)
            first = channel not in self._subscribers
            members = self._subscribers.setdefault(channel, {})
            # What is published while the backend is asked for the kept
            # messages waits in a collector, so that the subscriber gets
            # the kept ones, then the new ones, each once, in order.
            collector = _Collector(self, channel)
            members[collector] = None
            self._catching_up += 1
            self._targets.pop(channel, None)
            try:
                if first:
                    await self._backend.watch(channel)
                kept = await self._catch_up(channel, since.get(channel), last_value)
            except BaseException:
                subscriber.channels.discard(channel)
                if self._remove(collector, channel):
                    asyncio.get_running_loop().create_task(self._unwatch([channel]))
                raise
            finally:
                members.pop(collector, None)
                self._catching_up -= 1
                self._targets.pop(channel, None)
            last = 0
            for message in kept + collector.messages:
                if message.seq > last:
                    subscriber.push(message)
                    last = message.seq
            if last:
                # A batch still to be flushed may hold some of these again.
                if subscriber.floor is None:
                    subscriber.floor = {}
                subscriber.floor[channel] = last
            members[subscriber] = None
            self._targets.pop(channel, None)

    async def _catch_up(self, channel: str, after: int | None, last_value: bool) -> list:
        if after is not None:
            return await self._backend.history(channel, after)
        if last_value:
            latest = await self._backend.latest(channel)
            return [latest] if latest is not None else []
        return []

    async def _detach(self, subscriber: Any, channels: Iterable[str]) -> None:
        for channel in channels:
            subscriber.channels.discard(channel)
            if self._remove(subscriber, channel):
                await self._backend.unwatch(channel)

    def _forget(self, subscriber: Any) -> None:
        # Synchronous detach (a closed connection, an ended stream): the backend
        # stops watching channels nobody here listens to any more, in a task.
        if isinstance(subscriber, WsSubscriber):
            self._ws.pop(subscriber.ws, None)
        emptied = [c for c in subscriber.channels if self._remove(subscriber, c)]
        subscriber.channels.clear()
        if emptied:
            asyncio.get_running_loop().create_task(self._unwatch(emptied))

    def _remove(self, subscriber: Any, channel: str) -> bool:
        """Take ``subscriber`` off ``channel``; whether nobody here is left on it."""
        self._targets.pop(channel, None)
        members = self._subscribers.get(channel)
        if members is None:
            return False
        members.pop(subscriber, None)
        if members:
            return False
        del self._subscribers[channel]
        return True

    async def _unwatch(self, channels: list[str]) -> None:
        for channel in channels:
            if channel not in self._subscribers:
                try:
                    await self._backend.unwatch(channel)
                except FastcoreError:
                    pass                  # a backend that is away forgets with its connection

    def _ws_closed(self, ws: Any) -> None:
        subscriber = self._ws.get(ws)
        if subscriber is not None:
            self._forget(subscriber)
            subscriber.close()

    def _sse_ended(self, subscriber: SseSubscriber) -> None:
        self._forget(subscriber)
        subscriber.close()


class _Collector:
    """Holds a channel's messages while a subscriber catches up; among the
    channel's WebSockets for ``_send_to``, so it has their ``channels``."""

    __slots__ = ("messages", "channels", "_hub")

    def __init__(self, hub: Channels, channel: str) -> None:
        self.messages: list[Message] = []
        self.channels = {channel}
        self._hub = hub

    def push(self, message: Message) -> None:
        self.messages.append(message)

    def send_batch(self, data: bytes, messages: list[Message]) -> None:
        self._hub._delivered -= len(messages)     # not sent yet: counted when they are
        self.messages.extend(messages)


class _Stream:
    """What ``events()`` returns: a push source for ``reply.sse``. Each stream
    it is sent on gets an ``SseSubscriber`` writing to the stream's sink; the
    subscription ends with the stream."""

    def __init__(self, hub: Channels, channels: list[str], since: dict,
                 last_value: bool) -> None:
        self._hub = hub
        self._channels = channels
        self._since = since
        self._last_value = last_value

    async def start_events(self, sink: Any) -> None:
        hub = self._hub
        subscriber = SseSubscriber(sink, hub._policy, hub)
        sink.on_close(lambda _: hub._sse_ended(subscriber))
        await hub._attach(subscriber, self._channels, self._since, self._last_value)
        subscriber.flush()        # what it catches up on leaves first


def _by_kind(members: Iterable) -> tuple:
    """``members`` as (WebSockets and collectors, SSE streams)."""
    websockets, streams = [], []
    for member in members:
        (streams if isinstance(member, SseSubscriber) else websockets).append(member)
    return tuple(websockets), tuple(streams)


def _channel_name(channel: Any) -> str:
    if not isinstance(channel, str) or not channel:
        raise TypeError("a channel name is a non-empty str, got %r" % (channel,))
    return channel


def _event_id(value: Any) -> int:
    try:
        seq = int(str(value).strip())
    except ValueError:
        return 0                     # not one of ours: everything kept
    return max(seq, 0)
