"""The memory backend: sequence numbers, history and last values in this process."""
from __future__ import annotations

from collections import deque

from .message import Message


class MemoryBackend:
    """One process's channels. ``publish`` numbers a message and returns it; the
    hub delivers it at once (``loops_back`` is False)."""

    loops_back = False

    def __init__(self, history: int) -> None:
        self._history = history
        self._seq: dict[str, int] = {}
        self._kept: dict[str, deque] = {}
        self._latest: dict[str, Message] = {}
        self.published = 0           # messages numbered here (Channels.stats)

    async def start(self, deliver) -> None:
        """Nothing to connect to."""

    async def publish(self, channel: str, payload: bytes) -> Message:
        return self.publish_nowait(channel, payload)

    def publish_nowait(self, channel: str, payload: bytes) -> Message:
        seq = self._seq[channel] = self._seq.get(channel, 0) + 1
        self.published += 1
        message = self._latest[channel] = Message(channel, seq, payload)
        if self._history:
            kept = self._kept.get(channel)
            if kept is None:
                kept = self._kept[channel] = deque(maxlen=self._history)
            kept.append(message)
        return message

    async def history(self, channel: str, after: int) -> list[Message]:
        """The kept messages after ``after`` (all that are kept, if it is older)."""
        return [m for m in self._kept.get(channel, ()) if m.seq > after]

    async def latest(self, channel: str) -> Message | None:
        return self._latest.get(channel)

    async def watch(self, channel: str) -> None:
        """Nothing to do: every publish of this process reaches the hub."""

    async def unwatch(self, channel: str) -> None:
        """Nothing to do."""

    async def close(self) -> None:
        """Nothing to release."""
