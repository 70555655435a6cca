"""handler_timeout: 503 FC_ERR_HANDLER_TIMEOUT and the handler's task cancelled."""
import asyncio

import fastcore

BODY_503 = (b'{"statusCode":503,"code":"FC_ERR_HANDLER_TIMEOUT",'
            b'"error":"Service Unavailable","message":"Request timed out"}')


def test_slow_handler_gets_503_and_is_cancelled():
    seen = {}
    app = fastcore.App(handler_timeout=0.05)

    @app.get("/slow")
    async def slow(request, reply):
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise
        return "late"

    @app.get("/fast")
    async def fast(request, reply):
        await asyncio.sleep(0)
        return "fast"

    async def main():
        r = await app.inject("GET", "/slow")
        assert r.status_code == 503
        assert r.body == BODY_503
        assert r.headers["content-length"] == str(len(BODY_503))
        await asyncio.sleep(0)
        assert seen == {"cancelled": True}
        assert (await app.inject("GET", "/fast")).body == b"fast"

    asyncio.run(main())


def test_handler_timeout_zero_disables_it():
    app = fastcore.App(handler_timeout=0)

    @app.get("/slow")
    async def slow(request, reply):
        await asyncio.sleep(0.05)
        return "done"

    assert app.inject_sync("GET", "/slow").body == b"done"
