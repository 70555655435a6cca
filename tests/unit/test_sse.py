"""fastcore._sse: the event wire format and the stream behind reply.sse (SPEC §11)."""
from __future__ import annotations

import asyncio

import pytest

from fastcore import ServerSentEvent
from fastcore._sse import PING, EventStream, encode_event


@pytest.mark.parametrize("item, wire", [
    ("plain", b"data: plain\n\n"),
    ("two\nlines", b"data: two\ndata: lines\n\n"),
    ("crlf\r\nand\rcr", b"data: crlf\ndata: and\ndata: cr\n\n"),
    ("", b"data: \n\n"),
    (b"caf\xc3\xa9", "data: café\n\n".encode()),
    ({"bid": 1.5, "ts": 3}, b'data: {"bid":1.5,"ts":3}\n\n'),
    ([1, None], b"data: [1,null]\n\n"),
    (ServerSentEvent("x", event="tick", id=7, retry=2.5),
     b"event: tick\nid: 7\nretry: 2500\ndata: x\n\n"),
    (ServerSentEvent({"a": "b\nc"}), b'data: {"a":"b\\nc"}\n\n'),
])
def test_items_encode_as_events(item, wire):
    assert encode_event(item) == wire


@pytest.mark.parametrize("field", ["event", "id"])
@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\0b"])
def test_single_line_fields_refuse_line_breaks(field, value):
    with pytest.raises(ValueError, match=field):
        ServerSentEvent("x", **{field: value})


@pytest.mark.parametrize("retry", [-1, "3", True, float("nan")])
def test_retry_must_be_seconds(retry):
    with pytest.raises(ValueError, match="retry"):
        ServerSentEvent("x", retry=retry)
    with pytest.raises(ValueError, match="retry"):
        EventStream(_items([]), retry=retry)


def test_source_must_be_async_iterable():
    with pytest.raises(TypeError, match="async iterable"):
        EventStream(["not", "async"])


async def _items(items, pause=0.0, log=None):
    try:
        for item in items:
            if pause:
                await asyncio.sleep(pause)
            yield item
    finally:
        if log is not None:
            log.append("closed")


async def _collect(stream, limit=50):
    out = []
    async for chunk in stream:
        out.append(chunk)
        if len(out) >= limit:
            break
    return out


def test_retry_comes_first_then_events():
    out = asyncio.run(_collect(EventStream(_items(["a", "b"]), retry=1)))
    assert out == [b"retry: 1000\n\n", b"data: a\n\n", b"data: b\n\n"]


def test_heartbeat_comments_while_the_source_is_quiet_without_losing_its_item():
    stream = EventStream(_items(["late"], pause=0.35), heartbeat=0.1)
    out = asyncio.run(_collect(stream))
    assert out[-1] == b"data: late\n\n"
    assert 2 <= out.count(PING) <= 4 and set(out[:-1]) == {PING}


def test_no_heartbeat_when_disabled():
    out = asyncio.run(_collect(EventStream(_items(["late"], pause=0.15), heartbeat=None)))
    assert out == [b"data: late\n\n"]


def test_aclose_cancels_the_pending_step_and_closes_the_source():
    log = []

    async def main():
        stream = EventStream(_items(["never"], pause=30, log=log), heartbeat=0.05)
        assert await stream.__anext__() == PING          # the source is waiting
        await stream.aclose()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()

    asyncio.run(main())
    assert log == ["closed"]


def test_an_event_is_encoded_once_and_again_after_a_change():
    event = ServerSentEvent({"bid": 1}, id="7")
    first = event.encode()
    assert event.encode() is first
    event.id = "8"
    assert event.encode() == b'id: 8\ndata: {"bid":1}\n\n'


def test_take_ready_joins_the_events_ready_now_and_stops_at_a_wait():
    async def source():
        yield "a"
        yield "b"
        await asyncio.sleep(0.01)
        yield "c"

    async def main():
        stream = EventStream(source(), heartbeat=None)
        first = await stream.__anext__()
        ready = stream.take_ready()
        rest = [chunk async for chunk in stream]
        return first, ready, rest, stream.take_ready()

    assert asyncio.run(main()) == (b"data: a\n\n", b"data: b\n\n", [b"data: c\n\n"], b"")
