"""The Redis backend: channels shared by every process and machine on one Redis.

How this works
--------------
A publish runs one Lua script (atomic in Redis): ``INCR`` the channel's
sequence, keep the entry (``<seq>:<payload>``) as the channel's last value and
at the head of its history list (trimmed to ``history``), and ``PUBLISH`` it.
Since scripts run one at a time, the order of the pub/sub messages is the
order of the sequence numbers, for every process. The publisher sends its
publishes through one task, in the order they were made, several per round
trip (a pipeline), so one process's publishes keep their order too.

Each process keeps one pub/sub connection, subscribed to the channels its
hub watches (those with local subscribers). A listener task reads it: a
message becomes a ``Message`` handed to the hub's ``deliver`` once (a
sequence number not above the last one seen is skipped). ``watch`` returns
once Redis has confirmed the subscription, so nothing published after it is
missed.

When the connection fails, publishes raise ``FC_ERR_CHANNELS_BACKEND``; the
listener reconnects with backoff (0.05 s doubling to 2 s), subscribes again
and, for each channel, fetches the kept messages after the last one it
delivered: the gap is filled from ``history`` where Redis kept it. A Redis
that lost its data starts the sequences again; the listener notices a
sequence lower than expected and starts over from it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from .errors import ChannelsBackendError
from .message import Message

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
except ImportError as exc:          # pragma: no cover - depends on the environment
    raise ImportError('the channels plugin\'s Redis backend needs redis-py: '
                      'pip install "fastcore-http[redis]"') from exc

_log = logging.getLogger("fastcore.channels")
PREFIX = "fc:ch:"
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 2.0
PIPELINE_MAX = 256
CONNECT_TIMEOUT = 2.0
# A channel nobody publishes to: the pub/sub connection always has a
# subscription, so it never sends a command that waits for a reply while the
# listener reads.
ALWAYS = PREFIX + "-"

_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
local entry = seq .. ':' .. ARGV[1]
redis.call('SET', KEYS[2], entry)
local keep = tonumber(ARGV[2])
if keep > 0 then
  redis.call('LPUSH', KEYS[3], entry)
  redis.call('LTRIM', KEYS[3], 0, keep - 1)
end
redis.call('PUBLISH', KEYS[4], entry)
return seq
"""


def _keys(channel: str) -> list[str]:
    # One hash tag per channel: the four keys live on one Redis Cluster slot.
    base = PREFIX + "{" + channel + "}"
    return [base + ":seq", base + ":last", base + ":history", base]


def _entry(channel: str, raw: bytes) -> Message:
    seq, _, payload = raw.partition(b":")
    return Message(channel, int(seq), payload)


class RedisBackend:
    """Channels on Redis (see the module doc)."""

    loops_back = True

    def __init__(self, url: str, history: int) -> None:
        self._url = url
        self._history = history
        # Fail fast while Redis is away (one immediate retry): publishes raise
        # instead of waiting; the listener reconnects on its own schedule.
        options = {"retry": Retry(NoBackoff(), 1), "socket_connect_timeout": CONNECT_TIMEOUT}
        self._client = aioredis.Redis.from_url(url, **options)
        self._listen_client = aioredis.Redis.from_url(url, **{**options,
                                                              "retry": Retry(NoBackoff(), 0)})
        self._script = self._client.register_script(_PUBLISH)
        self._deliver: Callable[[Message], None] | None = None
        self._watched: dict[str, int] = {}          # channel -> last seq delivered (0: none)
        self._confirm: dict[str, asyncio.Future] = {}
        self._pubsub: Any = None
        self._listener: asyncio.Task | None = None
        self._queue: list[tuple[str, bytes, asyncio.Future | None]] = []
        self._publisher: asyncio.Task | None = None
        self._wake_publisher: asyncio.Event | None = None
        self._connected = asyncio.Event()
        self.published = 0      # this process's messages Redis numbered (Channels.stats)

    async def start(self, deliver: Callable[[Message], None]) -> None:
        self._deliver = deliver
        self._wake_publisher = asyncio.Event()
        self._publisher = asyncio.get_running_loop().create_task(self._publish_loop())
        self._listener = asyncio.get_running_loop().create_task(self._listen_loop())
        try:
            await asyncio.wait_for(self._connected.wait(), 5.0)
        except asyncio.TimeoutError:
            _log.warning("channels: Redis at %s is not reachable yet; retrying", self._url)

    # -- publishing -----------------------------------------------------------------
    async def publish(self, channel: str, payload: bytes) -> Message:
        future = asyncio.get_running_loop().create_future()
        self._enqueue(channel, payload, future)
        return Message(channel, await future, payload)

    def publish_nowait(self, channel: str, payload: bytes) -> None:
        self._enqueue(channel, payload, None)

    def _enqueue(self, channel: str, payload: bytes, future: asyncio.Future | None) -> None:
        if self._publisher is None or self._publisher.done():
            raise ChannelsBackendError("The channels backend is closed")
        self._queue.append((channel, payload, future))
        self._wake_publisher.set()

    async def _publish_loop(self) -> None:
        # Publishes leave in the order they were made, up to PIPELINE_MAX per
        # round trip.
        while True:
            await self._wake_publisher.wait()
            self._wake_publisher.clear()
            while self._queue:
                batch = self._queue[:PIPELINE_MAX]
                del self._queue[:PIPELINE_MAX]
                await self._send(batch)

    async def _send(self, batch: list) -> None:
        try:
            pipe = self._client.pipeline(transaction=False)
            for channel, payload, _ in batch:
                await self._script(keys=_keys(channel), args=[payload, self._history],
                                   client=pipe)
            results = await pipe.execute()
        except (RedisError, OSError) as exc:
            error = ChannelsBackendError("Publish failed: %s" % (exc,))
            for *_, future in batch:
                if future is None:
                    _log.error("channels: publish_nowait lost: %s", exc)
                elif not future.done():
                    future.set_exception(error)
            return
        self.published += len(batch)
        for (*_, future), seq in zip(batch, results):
            if future is not None and not future.done():
                future.set_result(int(seq))

    # -- history --------------------------------------------------------------------
    async def history(self, channel: str, after: int) -> list[Message]:
        """The kept messages after ``after``, oldest first."""
        try:
            raw = await self._client.lrange(_keys(channel)[2], 0, -1)
        except (RedisError, OSError) as exc:
            raise ChannelsBackendError("History failed: %s" % (exc,)) from None
        kept = [_entry(channel, item) for item in reversed(raw)]
        return [m for m in kept if m.seq > after]

    async def latest(self, channel: str) -> Message | None:
        try:
            raw = await self._client.get(_keys(channel)[1])
        except (RedisError, OSError) as exc:
            raise ChannelsBackendError("Last value failed: %s" % (exc,)) from None
        return None if raw is None else _entry(channel, raw)

    # -- subscribing ----------------------------------------------------------------
    async def watch(self, channel: str) -> None:
        """Subscribe this process to ``channel``; returns once Redis confirmed it."""
        if channel in self._watched:
            return
        self._watched[channel] = 0
        if self._pubsub is None or not self._connected.is_set():
            return                                   # the listener subscribes on connect
        future = self._confirm[channel] = asyncio.get_running_loop().create_future()
        try:
            await self._pubsub.subscribe(_keys(channel)[3])
            await asyncio.wait_for(asyncio.shield(future), 5.0)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            raise ChannelsBackendError("Subscribe failed: %s" % (exc,)) from None
        finally:
            self._confirm.pop(channel, None)

    async def unwatch(self, channel: str) -> None:
        if self._watched.pop(channel, None) is None:
            return
        if self._pubsub is not None and self._connected.is_set():
            try:
                await self._pubsub.unsubscribe(_keys(channel)[3])
            except (RedisError, OSError):
                pass                                 # gone with the connection anyway

    async def _listen_loop(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            try:
                await self._connect_and_listen()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._connected.is_set():
                    # It was up: the backoff starts again from the first delay.
                    _log.warning("channels: lost Redis at %s: %s", self._url, exc)
                    delay = BACKOFF_FIRST
                self._connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _connect_and_listen(self) -> None:
        pubsub = self._listen_client.pubsub()
        try:
            await pubsub.subscribe(ALWAYS, *[_keys(c)[3] for c in self._watched])
            self._pubsub = pubsub
            self._connected.set()
            for channel in list(self._watched):
                await self._fill_gap(channel, None)
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is not None:
                    await self._on_message(message)
        finally:
            self._pubsub = None
            try:
                await pubsub.aclose()
            except (RedisError, OSError):
                pass

    async def _on_message(self, message: dict) -> None:
        kind = message["type"]
        name = message["channel"].decode("utf-8")[len(PREFIX):]
        channel = name[1:-1] if name.startswith("{") else name
        if kind == "subscribe":
            future = self._confirm.get(channel)
            if future is not None and not future.done():
                future.set_result(None)
            return
        if kind != "message":
            return
        last = self._watched.get(channel)
        if last is None:
            return                                   # no longer watched here
        received = _entry(channel, message["data"])
        if last and received.seq <= last:
            if await self._current_seq(channel) >= last:
                return                               # delivered already
            self._watched[channel] = last = 0        # Redis lost its data: start over
        if last and received.seq > last + 1:
            await self._fill_gap(channel, received.seq)
        self._hand_over(received)

    async def _fill_gap(self, channel: str, before: int | None) -> None:
        # Deliver the kept messages after the last one delivered (up to
        # ``before``); a Redis whose sequence went back lost its data: start over.
        last = self._watched.get(channel)
        if not last:
            return
        if await self._current_seq(channel) < last:
            self._watched[channel] = 0
            return
        for message in await self.history(channel, last):
            if before is None or message.seq < before:
                self._hand_over(message)

    async def _current_seq(self, channel: str) -> int:
        value = await self._listen_client.get(_keys(channel)[0])
        return int(value or 0)

    def _hand_over(self, message: Message) -> None:
        last = self._watched.get(message.channel)
        if last is None or (last and message.seq <= last):
            return
        self._watched[message.channel] = message.seq
        self._deliver(message)

    async def close(self) -> None:
        for task in (self._listener, self._publisher):
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, RedisError, OSError):
                    pass
        await self._client.aclose()
        await self._listen_client.aclose()
