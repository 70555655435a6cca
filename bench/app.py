"""The standard benchmark workload (shared/bench/WORKLOAD.md) as a fastcore app.

Start it with ``python -m fastcore run bench.app:app --host 127.0.0.1 --port 3000``.
Route 1 (/json) takes the plain JSON path; /prices is written by the compiled
response serializer; /order's body and /users/:id's params and querystring
are validated (and coerced) by their schemas.
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

PRICES_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "symbol": {"type": "string"},
            "bid": {"type": "number"},
            "ask": {"type": "number"},
            "ts": {"type": "integer"},
            "venue": {"type": "string"},
        },
    },
}

ORDER_SCHEMA = {
    "type": "object",
    "required": ["symbol", "side", "qty", "price"],
    "properties": {
        "symbol": {"type": "string", "minLength": 1, "maxLength": 16},
        "side": {"type": "string", "enum": ["buy", "sell"]},
        "qty": {"type": "number", "exclusiveMinimum": 0},
        "price": {"type": "number", "exclusiveMinimum": 0},
    },
}

USER_SCHEMA = {
    "params": {"type": "object", "properties": {"id": {"type": "integer"}}},
    "querystring": {"type": "object", "properties": {"fields": {"type": "string"}}},
}


def build_app(on_request_hooks: int = 0, config: dict | None = None) -> fastcore.App:
    """The workload app; ``on_request_hooks`` adds that many no-op root hooks,
    ``config`` is every route's config (what plugins read)."""
    app = fastcore.App(logger=False)
    for _ in range(on_request_hooks):
        app.add_hook("on_request", _noop_hook)
    app.get("/json", hello, config=config)
    app.get("/prices", prices, schema={"response": {200: PRICES_SCHEMA}}, config=config)
    app.post("/order", order, schema={"body": ORDER_SCHEMA}, config=config)
    app.get("/users/:id", user, schema=USER_SCHEMA, config=config)
    return app


def _noop_hook(request, reply):
    return None


async def hello(request, reply):
    return {"hello": "world"}


async def prices(request, reply):
    return PRICES


async def order(request, reply):
    return request.body


async def user(request, reply):
    return {"id": request.params["id"], "fields": request.query.get("fields")}


app = build_app()
