"""The standard benchmark workload (shared/bench/WORKLOAD.md) as a fastcore app.

Start it with ``python -m fastcore run bench.app:app --host 127.0.0.1 --port 3000``.
Routes 2 (/prices) and 3 (/order) are declared with schemas once schema
support lands; here /prices is served by the plain JSON path and /order
checks its body by hand, so that every route answers.
"""
import fastcore

SYMBOLS = ("BTC-USD ETH-USD SOL-USD XRP-USD ADA-USD DOGE-USD AVAX-USD DOT-USD LINK-USD "
           "MATIC-USD LTC-USD BCH-USD XLM-USD ATOM-USD UNI-USD ETC-USD FIL-USD APT-USD "
           "ARB-USD OP-USD").split()

PRICES = [
    {"symbol": SYMBOLS[i], "bid": 43250.5 + i * 0.25, "ask": 43251.0 + i * 0.25,
     "ts": 1732200000123 + i, "venue": "x"}
    for i in range(20)
]

def build_app(on_request_hooks: int = 0) -> fastcore.App:
    """The workload app; ``on_request_hooks`` adds that many no-op root hooks."""
    app = fastcore.App(logger=False)
    for _ in range(on_request_hooks):
        app.add_hook("on_request", _noop_hook)
    app.get("/json", hello)
    app.get("/prices", prices)
    app.post("/order", order)
    app.get("/users/:id", user)
    return app


def _noop_hook(request, reply):
    return None



async def hello(request, reply):
    return {"hello": "world"}


async def prices(request, reply):
    return PRICES


async def order(request, reply):
    body = request.body
    if not isinstance(body, dict):
        raise fastcore.errors.BadRequest("body must be object")
    for key in ("symbol", "side", "qty", "price"):
        if key not in body:
            raise fastcore.errors.BadRequest("body must have required property '%s'" % key)
    return body


async def user(request, reply):
    try:
        user_id = int(request.params["id"])
    except ValueError:
        raise fastcore.errors.BadRequest("params/id must be integer") from None
    return {"id": user_id, "fields": request.query.get("fields")}


app = build_app()
