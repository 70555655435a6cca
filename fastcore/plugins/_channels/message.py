"""A published message as subscribers receive it: serialized once, framed once.

``Message`` holds a channel's message after its serialization (``payload``,
the bytes every subscriber gets) and its sequence number. The WebSocket frame
and the SSE event are built on first use and then shared: a publish to ten
thousand WebSocket subscribers writes the same ``frame`` bytes object ten
thousand times. ``Serializers`` picks what serializes a channel's messages:
the compiled schema serializer of the first ``define`` pattern that matches
the channel's name, else orjson.
"""
from __future__ import annotations

import fnmatch
from typing import Any, Callable

import orjson

import fastcore


class Message:
    """One message of one channel: ``seq`` (1, 2, ... per channel) and ``payload``."""

    __slots__ = ("channel", "seq", "payload", "_frame", "_sse")

    def __init__(self, channel: str, seq: int, payload: bytes) -> None:
        self.channel = channel
        self.seq = seq
        self.payload = payload
        self._frame: bytes | None = None
        self._sse: bytes | None = None

    @property
    def frame(self) -> bytes:
        """The WebSocket text frame whose payload is exactly ``payload``."""
        if self._frame is None:
            self._frame = fastcore.websocket_frame(self.payload)
        return self._frame

    @property
    def sse(self) -> bytes:
        """The SSE event's bytes: ``id: <seq>`` and the payload as data."""
        if self._sse is None:
            self._sse = fastcore.ServerSentEvent(self.payload.decode("utf-8"),
                                                 id=str(self.seq)).encode()
        return self._sse

    def __repr__(self) -> str:
        return "Message(%r, %d, %r)" % (self.channel, self.seq, self.payload)


class Serializers:
    """``define(pattern, schema)`` patterns and the serializer each channel uses."""

    def __init__(self) -> None:
        self._patterns: list[tuple[str, Callable[[Any], bytes]]] = []
        self._by_channel: dict[str, Callable[[Any], bytes]] = {}

    def define(self, pattern: str, schema: dict) -> None:
        if not isinstance(pattern, str) or not pattern:
            raise TypeError("define() takes a channel name or pattern, got %r" % (pattern,))
        serializer = fastcore.compile_serializer(schema)
        self._patterns.append((pattern, serializer))
        self._by_channel.clear()             # channels seen so far may match it now

    def serialize(self, channel: str, message: Any) -> bytes:
        serializer = self._by_channel.get(channel)
        if serializer is None:
            serializer = self._by_channel[channel] = self._find(channel)
        return serializer(message)

    def _find(self, channel: str) -> Callable[[Any], bytes]:
        for pattern, serializer in self._patterns:
            if fnmatch.fnmatchcase(channel, pattern):
                return serializer
        return orjson.dumps
