"""The WebSocket benchmark app (bench/ws_load.py): echo and push, as users write them.

``/echo`` sends every message back. ``/push`` keeps its connections in a set;
a message received on any of them is sent to every connection of the set, one
``send`` each. The peers in ``bench/peers/ws_*`` do the same with their own
APIs. App defaults throughout (keep-alive pings every 20 s included).

Start it with ``python -m fastcore run bench.ws_app:app --host 127.0.0.1 --port 3000``.
"""
import fastcore

app = fastcore.App(logger=False)
subscribers: set = set()


@app.get("/echo", websocket=True)
async def echo(ws, request):
    async for message in ws:
        await ws.send(message)


@app.get("/push", websocket=True)
async def push(ws, request):
    subscribers.add(ws)
    try:
        async for message in ws:
            for subscriber in list(subscribers):
                if not subscriber.closed:
                    await subscriber.send(message)
    finally:
        subscribers.discard(ws)
