"""app.channels.stats(): the counts the metrics plugin reads (SPEC §12, §14),
through app.inject_ws and app.inject on the memory backend.

A slow consumer is made the way a real transport makes one: the connection's
protocol is told ``pause_writing()`` (its client stopped reading) and later
``resume_writing()``.
"""
from __future__ import annotations

import asyncio

import orjson
import pytest

import fastcore
from fastcore.plugins import channels


def make_app(**options):
    app = fastcore.App()
    app.register(channels, **options)
    app.sockets = {}                 # name -> the server side of its WebSocket
    app.streams = {}                 # name -> its SSE connection's protocol

    @app.get("/ws", websocket=True)
    async def feed(ws, request):
        app.sockets[request.query.get("name", "")] = ws
        names = request.query["channels"].split(",")
        since = request.query.get("since")
        await app.channels.subscribe(
            ws, *names, since={names[0]: int(since)} if since is not None else None)
        await ws.send("subscribed")
        async for message in ws:
            await app.channels.unsubscribe(ws, *message.split(","))
            await ws.send("left")

    @app.get("/sse")
    async def stream(request, reply):
        app.streams[request.query.get("name", "")] = reply.raw.get_protocol()
        return reply.sse(app.channels.events(*request.query["channels"].split(",")),
                         heartbeat=None)

    return app


def run(coro):
    return asyncio.run(coro)


def stats(published=0, delivered=0, subscribers=0, **dropped):
    return {"published": published, "delivered": delivered,
            "dropped": {"conflate": 0, "drop_oldest": 0, "disconnect": 0, **dropped},
            "subscribers": subscribers}


async def receive_n(client, n):
    return [orjson.loads(await client.receive()) for _ in range(n)]


async def until(condition, what):
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened: " + what)


def sse_ids(body: bytes) -> list[int]:
    return [int(line[4:]) for line in body.split(b"\n") if line.startswith(b"id: ")]


def test_stats_start_at_zero_with_every_policy_listed():
    app = make_app()

    async def main():
        await app.ready()
        assert app.channels.stats() == stats()
        await app.close()

    run(main())


def test_n_messages_to_m_websockets_count_n_published_and_n_times_m_delivered():
    app = make_app()

    async def main():
        await app.ready()
        async with app.inject_ws("/ws?channels=a") as one, \
                app.inject_ws("/ws?channels=a") as two, \
                app.inject_ws("/ws?channels=a,b") as three:
            for client in (one, two, three):
                assert await client.receive() == "subscribed"
            assert app.channels.stats() == stats(subscribers=4)
            for i in range(3):                  # one batch each
                await app.channels.publish("a", i)
                await asyncio.sleep(0)
            for i in range(3, 7):               # one batch of four, one write each
                app.channels.publish_nowait("a", i)
            await app.channels.publish("nobody", "x")     # published, delivered to none
            for client in (one, two, three):
                assert await receive_n(client, 7) == list(range(7))
            assert app.channels.stats() == stats(published=8, delivered=7 * 3,
                                                 subscribers=4)
            # Two channels in one iteration: each subscriber gets its own share.
            app.channels.publish_nowait("a", "a")
            app.channels.publish_nowait("b", "b")
            assert await receive_n(three, 2) == ["a", "b"]
            assert await receive_n(one, 1) == await receive_n(two, 1) == ["a"]
            assert app.channels.stats() == stats(published=10, delivered=21 + 4,
                                                 subscribers=4)
        await app.close()

    run(main())


def test_sse_deliveries_are_counted_like_websockets():
    app = make_app()

    async def main():
        await app.ready()
        requests = [asyncio.ensure_future(app.inject("GET", "/sse?name=%d&channels=a" % i))
                    for i in range(2)]
        await until(lambda: app.channels.subscribers("a") == 2, "both streams subscribed")
        assert app.channels.stats()["subscribers"] == 2
        for i in range(5):
            await app.channels.publish("a", {"n": i})
            await asyncio.sleep(0)
        await app.close()                       # ends the streams
        bodies = [(await r).body for r in requests]
        return bodies, app.channels.stats()

    bodies, counted = run(main())
    assert [sse_ids(body) for body in bodies] == [[1, 2, 3, 4, 5]] * 2
    assert counted == stats(published=5, delivered=10)


def test_messages_caught_up_on_count_as_delivered():
    app = make_app(history=10)

    async def main():
        await app.ready()
        for i in range(4):
            await app.channels.publish("h", i)
        assert app.channels.stats() == stats(published=4)
        async with app.inject_ws("/ws?channels=h&since=1") as client:
            assert await receive_n(client, 3) == [1, 2, 3]
            assert await client.receive() == "subscribed"
            assert app.channels.stats() == stats(published=4, delivered=3, subscribers=1)
        await app.close()

    run(main())


async def slow_websocket_run(app, publish_count):
    """A fast and a slow subscriber of "a"; the slow one's client stops reading
    for ``publish_count`` publishes (one batch each), then reads again. What
    each received, and the stats then."""
    await app.ready()
    async with app.inject_ws("/ws?name=fast&channels=a") as fast, \
            app.inject_ws("/ws?name=slow&channels=a") as slow:
        assert await fast.receive() == await slow.receive() == "subscribed"
        app.sockets["slow"].pause_writing()
        for i in range(publish_count):
            await app.channels.publish("a", i)
            await asyncio.sleep(0)
        fast_got = await receive_n(fast, publish_count)
        app.sockets["slow"].resume_writing()
        slow_got: list = []
        try:
            while publish_count - 1 not in slow_got:
                slow_got.append(orjson.loads(await slow.receive()))
        except ConnectionError:             # disconnected by the policy
            pass
        counted = app.channels.stats()
        close_code = slow.close_code
    await app.close()
    return fast_got, slow_got, counted, close_code


@pytest.mark.parametrize("policy, slow_gets", [
    # The backlog (4) holds 0-3; each later one drops the oldest.
    ("drop_oldest", [6, 7, 8, 9]),
    # One channel: a message past the backlog replaces every queued one of
    # its channel (4 dropped at 4, 4 more at 8), then 9 joins 8.
    ("conflate", [8, 9]),
])
def test_a_slow_websocket_counts_exactly_what_its_policy_dropped(policy, slow_gets):
    app = make_app(max_backlog=4, slow_consumer=policy)
    fast_got, slow_got, counted, _ = run(slow_websocket_run(app, 10))
    assert fast_got == list(range(10))
    assert slow_got == slow_gets
    # Every message reached the slow subscriber or was dropped for it.
    assert counted == stats(published=10, delivered=10 + len(slow_gets), subscribers=2,
                            **{policy: 10 - len(slow_gets)})


def test_disconnect_counts_the_backlog_and_the_message_that_did_not_fit():
    app = make_app(max_backlog=4, slow_consumer="disconnect")
    fast_got, slow_got, counted, close_code = run(slow_websocket_run(app, 10))
    assert fast_got == list(range(10))
    assert slow_got == [] and close_code == 1008
    # 0-3 queued, 4 overflowed: 5 dropped; 5-9 came after it was gone.
    assert counted == stats(published=10, delivered=10, subscribers=1, disconnect=5)


def test_a_slow_sse_stream_gets_each_event_once_and_counts_match():
    app = make_app(max_backlog=4, slow_consumer="drop_oldest")

    async def main():
        await app.ready()
        request = asyncio.ensure_future(app.inject("GET", "/sse?name=slow&channels=a"))
        await until(lambda: app.channels.subscribers("a") == 1, "the stream subscribed")
        protocol = app.streams["slow"]
        protocol.pause_writing()
        # The first batch is still written (the sink writes, then says the
        # transport is full); the next ones wait in the backlog.
        for i in range(10):
            await app.channels.publish("a", i)
            await asyncio.sleep(0)
        assert app.channels.stats() == stats(published=10, delivered=1, subscribers=1,
                                             drop_oldest=5)
        protocol.resume_writing()
        await until(lambda: app.channels.stats()["delivered"] == 5, "the backlog written")
        await app.close()
        return (await request).body, app.channels.stats()

    body, counted = run(main())
    assert sse_ids(body) == [1, 7, 8, 9, 10]
    assert counted == stats(published=10, delivered=5, drop_oldest=5)


def test_subscribers_rise_and_fall_with_subscribe_unsubscribe_and_close():
    app = make_app()

    def subscribers():
        return app.channels.stats()["subscribers"]

    async def main():
        await app.ready()
        async with app.inject_ws("/ws?channels=a,b,c") as one:
            assert await one.receive() == "subscribed"
            assert subscribers() == 3           # one per subscriber per channel
            async with app.inject_ws("/ws?channels=a") as two:
                assert await two.receive() == "subscribed"
                assert subscribers() == 4
                await one.send("b,c")
                assert await one.receive() == "left"
                assert subscribers() == 2
            await until(lambda: subscribers() == 1, "the closed WebSocket forgotten")
            sse = asyncio.ensure_future(app.inject("GET", "/sse?channels=a,b"))
            await until(lambda: subscribers() == 3, "the SSE stream subscribed")
            await one.send("a")
            assert await one.receive() == "left"
            assert subscribers() == 2
        await app.close()
        await sse
        assert subscribers() == 0

    run(main())
