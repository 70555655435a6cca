"""A channels app on Redis for the multi-process tests: the worker's pid first,
then every message of the channels asked for; POST /publish publishes."""
import os

import fastcore
from fastcore.plugins import channels

app = fastcore.App()
app.register(channels, backend=os.environ["CHANNELS_REDIS_URL"], history=100)


@app.get("/ws", websocket=True)
async def feed(ws, request):
    await app.channels.subscribe(ws, *request.query["channels"].split(","))
    await ws.send({"pid": os.getpid()})
    async for _ in ws:
        pass


@app.post("/publish/:channel")
async def publish(request, reply):
    return {"seq": await app.channels.publish(request.params["channel"], request.body)}
