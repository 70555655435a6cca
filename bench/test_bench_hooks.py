"""What hooks cost on the request path: /json through inject and the protocol.

Cases: no hooks; 5 no-op ``on_request`` hooks on the root context; 5 no-op
route-level ``on_request`` hooks; 5 async no-op hooks. Unused stages must cost
nothing measurable (the "no hooks" case is the baseline of the others).

    pytest bench/test_bench_hooks.py --benchmark-only
"""
import asyncio

import pytest

import fastcore
from bench.test_bench_protocol import GET_8, NullTransport


def noop(request, reply):
    return None


async def async_noop(request, reply):
    return None


def build(kind):
    app = fastcore.App()
    route_hooks = {}
    if kind == "5 root hooks":
        for _ in range(5):
            app.add_hook("on_request", noop)
    elif kind == "5 route hooks":
        route_hooks = {"on_request": [noop] * 5}
    elif kind == "5 async root hooks":
        for _ in range(5):
            app.add_hook("on_request", async_noop)

    @app.get("/json", **route_hooks)
    async def hello(request, reply):
        return {"hello": "world"}

    return app


KINDS = ["no hooks", "5 root hooks", "5 route hooks", "5 async root hooks"]


@pytest.mark.parametrize("kind", KINDS)
def test_hooks_protocol(benchmark, kind):
    app = build(kind)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(app.ready())
    proto = app._runtime(loop).protocol_factory()
    transport = NullTransport()
    proto.connection_made(transport)
    proto.data_received(GET_8)
    assert b"".join(transport.written).endswith(b'{"hello":"world"}')
    transport.written.clear()
    benchmark.group = "hooks: protocol GET /json"
    benchmark.name = kind

    def feed():
        proto.data_received(GET_8)
        transport.written.clear()
    benchmark(feed)
    proto.connection_lost(None)
    loop.close()
