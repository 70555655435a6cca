"""The fan-out benchmark app (bench/fanout.py): channels on the memory backend.

``/ws`` and ``/sse`` subscribe to the channel ``ticks``; ``/control`` takes
``go:N`` (publish N ticks now) and ``rate:R`` (publish R ticks a second from
now on). Plugin defaults otherwise.

Start it with ``python -m fastcore run bench.fanout_app:app --port 3000``.
"""
import asyncio

import fastcore
from bench.peers.ticks import paced, tick
from fastcore.plugins import channels

app = fastcore.App(logger=False)
app.register(channels)


@app.get("/ws", websocket=True)
async def subscriber(ws, request):
    await app.channels.subscribe(ws, "ticks")
    async for _ in ws:
        pass


@app.get("/sse")
async def events(request, reply):
    return reply.sse(app.channels.events("ticks"), heartbeat=None)


@app.get("/control", websocket=True)
async def control(ws, request):
    pacer = None
    try:
        async for message in ws:
            if message.startswith("go:"):
                for _ in range(int(message[3:])):
                    app.channels.publish_nowait("ticks", tick())
            elif message.startswith("rate:") and pacer is None:
                pacer = asyncio.get_running_loop().create_task(paced(
                    lambda: app.channels.publish_nowait("ticks", tick()), int(message[5:])))
    finally:
        if pacer is not None:
            pacer.cancel()
