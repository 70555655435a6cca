"""WebSocket routes through app.inject_ws (SPEC §11): no socket, the real protocol."""
from __future__ import annotations

import asyncio

import pytest

import fastcore
from fastcore.testing import WebSocketRefused


def make_app(**options):
    app = fastcore.App(**options)
    app.log = []

    @app.get("/ws/ticks", websocket=True, ws_subprotocols=["v1"],
             on_request=[lambda request, reply: app.log.append("on_request")])
    async def ticks(ws, request):
        await ws.send({"type": "hello", "who": request.query.get("who")})
        async for message in ws:
            if message == "json":
                await ws.send([1, 2])
            elif message == "raise":
                raise ValueError("handler failed")
            else:
                await ws.send(message)
        app.log.append(("closed", ws.close_code))

    @app.get("/ws/guarded", websocket=True,
             pre_handler=[lambda request, reply: reply.code(403).send("no")])
    async def guarded(ws, request):
        await ws.send("never")

    return app


def run(coro):
    return asyncio.run(coro)


def test_messages_both_ways_and_json():
    app = make_app()

    async def main():
        async with app.inject_ws("/ws/ticks?who=me") as client:
            assert await client.receive_json() == {"type": "hello", "who": "me"}
            await client.send("hi")
            assert await client.receive() == "hi"
            await client.send(b"\x00\x01")
            assert await client.receive() == b"\x00\x01"
            await client.send("json")
            assert await client.receive_json() == [1, 2]
        return client

    client = run(main())
    assert client.close_code == 1000
    assert app.log[0] == "on_request"


def test_client_close_code_reaches_the_handler():
    app = make_app()

    async def main():
        async with app.inject_ws("/ws/ticks") as client:
            await client.receive()
            await client.close(4001)
        await asyncio.sleep(0)

    run(main())
    assert ("closed", 4001) in app.log


def test_subprotocol_is_negotiated():
    app = make_app()

    async def main():
        async with app.inject_ws("/ws/ticks", subprotocols=["v2", "v1"]) as client:
            return client.subprotocol

    assert run(main()) == "v1"


def test_handler_that_raises_closes_with_1011():
    async def main():
        async with make_app().inject_ws("/ws/ticks") as client:
            await client.receive()
            await client.send("raise")
            with pytest.raises(ConnectionError):
                await client.receive()
            return client.close_code

    assert run(main()) == 1011


@pytest.mark.parametrize("url, status, code", [
    ("/ws/guarded", 403, None),
    ("/nowhere", 404, None),
])
def test_refused_upgrade_raises_with_the_http_response(url, status, code):
    async def main():
        with pytest.raises(WebSocketRefused) as info:
            async with make_app().inject_ws(url):
                pass
        return info.value.response

    response = run(main())
    assert response.status_code == status


def test_bad_version_is_refused_with_426():
    async def main():
        with pytest.raises(WebSocketRefused) as info:
            async with make_app().inject_ws("/ws/ticks",
                                            headers={"Sec-WebSocket-Version": "8"}):
                pass
        return info.value.response

    response = run(main())
    assert (response.status_code, response.json()["code"]) == (426, "FC_ERR_WS_UPGRADE_REQUIRED")
    assert response.headers["sec-websocket-version"] == "13"


def test_a_receive_that_timed_out_loses_no_message():
    app = fastcore.App()

    @app.get("/ws", websocket=True)
    async def handler(ws, request):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.receive(), 0.01)
        await ws.send("ready")
        await ws.send("got " + await ws.receive())

    async def main():
        async with app.inject_ws("/ws") as client:
            assert await client.receive() == "ready"
            await client.send("first")
            return await client.receive()

    assert run(main()) == "got first"


def test_a_plain_function_handler_runs_and_the_connection_closes_with_1000():
    app = fastcore.App()
    seen = []

    @app.get("/ws", websocket=True)
    def handler(ws, request):
        seen.append(request.query["who"])

    async def main():
        async with app.inject_ws("/ws?who=me") as client:
            with pytest.raises(ConnectionError):
                await client.receive()
        return client.close_code

    assert run(main()) == 1000
    assert seen == ["me"]


def test_the_upgrade_request_keeps_its_headers_for_the_handler():
    app = fastcore.App()

    @app.get("/ws", websocket=True)
    async def handler(ws, request):
        await ws.send({"token": request.headers["x-token"], "upgrade": request.headers["upgrade"],
                       "lines": [[n.decode(), v.decode()] for n, v in request.raw_headers
                                 if n.lower() == b"x-token"]})

    async def main():
        async with app.inject_ws("/ws", headers={"X-Token": "a b: c"}) as client:
            return await client.receive_json()

    assert run(main()) == {"token": "a b: c", "upgrade": "websocket",
                           "lines": [["x-token", "a b: c"]]}
