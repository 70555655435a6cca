"""fastcore.plugins.channels on the memory backend, through app.inject_ws (SPEC §12)."""
from __future__ import annotations

import asyncio

import orjson
import pytest

import fastcore
from fastcore.plugins import channels
from tests.integration.helpers import refused_at_register

TICK = {"type": "object", "properties": {"symbol": {"type": "string"},
                                         "bid": {"type": "number"}}}


def make_app(**options):
    app = fastcore.App()
    app.register(channels, **options)

    @app.get("/ws", websocket=True)
    async def feed(ws, request):
        names = request.query["channels"].split(",")
        since = request.query.get("since")
        await app.channels.subscribe(
            ws, *names, last_value="last" in request.query,
            since={names[0]: int(since)} if since is not None else None)
        await ws.send("subscribed")
        async for message in ws:
            if message == "leave":
                await app.channels.unsubscribe(ws, *names)
                await ws.send("left")

    return app


def run(coro):
    return asyncio.run(coro)


async def receive_n(client, n):
    return [orjson.loads(await client.receive()) for _ in range(n)]


def test_app_channels_exists_after_boot_and_publish_reaches_subscribers():
    app = make_app()

    async def main():
        await app.ready()
        async with app.inject_ws("/ws?channels=ticks.BTC") as a, \
                app.inject_ws("/ws?channels=ticks.BTC,ticks.ETH") as b:
            assert await a.receive() == await b.receive() == "subscribed"
            assert (app.channels.subscribers("ticks.BTC"),
                    app.channels.subscribers("ticks.ETH")) == (2, 1)
            seqs = [await app.channels.publish("ticks.BTC", {"bid": 1.5}),
                    await app.channels.publish("ticks.ETH", {"bid": 2.5}),
                    await app.channels.publish("ticks.BTC", [1, "two"])]
            assert seqs == [1, 1, 2]
            assert await receive_n(a, 2) == [{"bid": 1.5}, [1, "two"]]
            assert await receive_n(b, 3) == [{"bid": 1.5}, {"bid": 2.5}, [1, "two"]]
        await asyncio.sleep(0)
        assert app.channels.subscribers("ticks.BTC") == 0
        await app.close()

    run(main())


def test_a_defined_schema_serializes_matching_channels():
    app = make_app()

    async def main():
        await app.ready()
        app.channels.define("ticks.*", schema=TICK)
        async with app.inject_ws("/ws?channels=ticks.BTC,news") as client:
            await client.receive()
            await app.channels.publish("ticks.BTC", {"symbol": "BTC", "bid": 2, "secret": 1})
            await app.channels.publish("news", {"secret": 1})
            assert await client.receive() == '{"symbol":"BTC","bid":2}'
            assert await client.receive() == '{"secret":1}'
        await app.close()

    run(main())


def test_history_resumes_after_since_and_last_value_comes_first():
    app = make_app(history=3)

    async def main():
        await app.ready()
        for i in range(1, 6):
            await app.channels.publish("prices", {"n": i})
        async with app.inject_ws("/ws?channels=prices&since=3") as resumed:
            assert await receive_n(resumed, 2) == [{"n": 4}, {"n": 5}]
            assert await resumed.receive() == "subscribed"
        async with app.inject_ws("/ws?channels=prices&since=0") as too_old:
            assert await receive_n(too_old, 3) == [{"n": 3}, {"n": 4}, {"n": 5}]
            await too_old.receive()
        async with app.inject_ws("/ws?channels=prices&last=1") as latest:
            assert await receive_n(latest, 1) == [{"n": 5}]
            assert await latest.receive() == "subscribed"
            await app.channels.publish("prices", {"n": 6})
            assert await receive_n(latest, 1) == [{"n": 6}]
        await app.close()

    run(main())


def test_unsubscribe_stops_delivery_and_publish_nowait_delivers_in_order():
    app = make_app()

    async def main():
        await app.ready()
        async with app.inject_ws("/ws?channels=a") as client:
            await client.receive()
            for i in range(5):
                app.channels.publish_nowait("a", i)
            assert await receive_n(client, 5) == [0, 1, 2, 3, 4]
            await client.send("leave")
            assert await client.receive() == "left"
            assert app.channels.subscribers("a") == 0
            await app.channels.publish("a", "not for you")
            await client.send("leave")
            assert await client.receive() == "left"
        await app.close()

    run(main())


def test_concurrent_publishers_share_one_order_per_channel():
    app = make_app()

    async def main():
        await app.ready()
        async with app.inject_ws("/ws?channels=c") as client:
            await client.receive()

            async def publisher(k):
                for i in range(50):
                    await app.channels.publish("c", {"k": k, "i": i})
                    await asyncio.sleep(0)

            await asyncio.gather(*(publisher(k) for k in range(4)))
            got = await receive_n(client, 200)
        await app.close()
        return got

    got = run(main())
    for k in range(4):
        assert [m["i"] for m in got if m["k"] == k] == list(range(50))


@pytest.mark.parametrize("options, message", [
    ({"backend": "mysql://x"}, "backend"),
    ({"history": -1}, "history"),
    ({"max_backlog": 0}, "max_backlog"),
    ({"slow_consumer": "ignore"}, "slow_consumer"),
    ({"colour": "red"}, "unknown option"),
])
def test_bad_options_are_refused_at_register(options, message):
    refused_at_register(channels, options, message)


def test_a_subscriber_catching_up_gets_a_message_still_being_flushed_once():
    app = fastcore.App()
    app.register(channels, history=10)

    @app.get("/ws", websocket=True)
    async def feed(ws, request):
        if "race" in request.query:
            # Kept in history, and in this iteration's batch for the channel's
            # other subscriber, which the new one joins before the flush.
            app.channels.publish_nowait("r", {"n": 2})
            await app.channels.subscribe(ws, "r", since={"r": 0})
        else:
            await app.channels.subscribe(ws, "r")
        await ws.send("subscribed")
        async for _ in ws:
            pass

    async def main():
        await app.ready()
        await app.channels.publish("r", {"n": 1})
        async with app.inject_ws("/ws") as first, app.inject_ws("/ws?race=1") as second:
            assert await first.receive() == "subscribed"
            got = await receive_n(second, 2)
            assert await second.receive() == "subscribed"
            await app.channels.publish("r", {"n": 3})
            got += await receive_n(second, 1)
            assert await receive_n(first, 2) == [{"n": 2}, {"n": 3}]
        await app.close()
        return got

    assert run(main()) == [{"n": 1}, {"n": 2}, {"n": 3}]
