"""The service's routes: the catalogue, login, the admin-only delete, the
ticks over WebSocket and SSE, and the live page.

Registered as a plugin after the others, so ``app.jwt``, ``app.cache``,
``app.channels``, ``app.store`` and ``app.feed`` exist when it runs.
"""
from __future__ import annotations

from typing import Any

import fastcore
from fastcore.plugins import jwt

from .feed import channel_of
from .page import PAGE
from .store import password_matches

INSTRUMENT = {
    "$id": "Instrument",
    "type": "object",
    "required": ["id", "symbol", "name", "price"],
    "properties": {
        "id": {"type": "integer"},
        "symbol": {"type": "string"},
        "name": {"type": "string"},
        "price": {"type": "number", "description": "The reference price it was listed at"},
    },
}

LIST_SCHEMA = {
    "summary": "The instruments, in id order",
    "tags": ["instruments"],
    "querystring": {
        "type": "object",
        "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                       "offset": {"type": "integer", "minimum": 0, "maximum": 1_000_000,
                                  "default": 0}},
        "additionalProperties": False,
    },
    "response": {200: {"type": "array", "items": {"$ref": "Instrument#"}}},
}

LOGIN_SCHEMA = {
    "summary": "A token for an account (5 attempts a minute per client)",
    "tags": ["accounts"],
    "body": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": {"type": "string", "minLength": 1, "maxLength": 64},
                       "password": {"type": "string", "minLength": 1, "maxLength": 256}},
        "additionalProperties": False,
    },
    "response": {200: {"type": "object", "required": ["token"],
                       "properties": {"token": {"type": "string"}}}},
}

DELETE_SCHEMA = {
    "summary": "Remove an instrument (role admin)",
    "tags": ["instruments"],
    "security": [{"bearer": []}],
    "params": {"type": "object", "required": ["id"],
               "properties": {"id": {"type": "integer", "minimum": 1,
                                     "maximum": 2_147_483_647}}},
}

TICKS_SCHEMA = {
    "summary": "Every instrument's ticks as Server-Sent Events (?symbols= narrows them)",
    "tags": ["ticks"],
    "querystring": {
        "type": "object",
        "properties": {"symbols": {"type": "string", "maxLength": 1024,
                                   "description": "comma-separated symbols"}},
    },
}


def wanted_channels(request: Any) -> list[str]:
    """The channels of ``?symbols=`` (every instrument's without it)."""
    known = request.app.feed.prices
    given = request.query.get("symbols")
    if not given:
        return [channel_of(symbol) for symbol in known]
    symbols = [s.strip().upper() for s in given.split(",") if s.strip()]
    unknown = [s for s in symbols if s not in known]
    if unknown or not symbols:
        raise fastcore.HTTPError(400, "Unknown symbols: %s" % ", ".join(unknown or [given]))
    return [channel_of(symbol) for symbol in symbols]


async def routes(app: Any, opts: dict) -> None:
    app.add_schema(INSTRUMENT)

    @app.get("/", schema={"hide": True})
    def page(request, reply):
        return reply.type("text/html; charset=utf-8").send(PAGE)

    @app.get("/instruments", schema=LIST_SCHEMA, config={"cache": {"ttl": 5}})
    async def list_instruments(request, reply):
        return await app.store.list_instruments(request.query["limit"], request.query["offset"])

    @app.post("/login", schema=LOGIN_SCHEMA,
              config={"rate_limit": {"max": 5, "time_window": 60, "group": "login"}})
    async def login(request, reply):
        account = await app.store.account(request.body["username"])
        if not await password_matches(account, request.body["password"]):
            raise fastcore.HTTPError(401, "Invalid username or password")
        return {"token": app.jwt.sign({"sub": account["username"], "role": account["role"]})}

    @app.delete("/instruments/:id", schema=DELETE_SCHEMA, on_request=[app.jwt.authenticate],
                pre_handler=[jwt.require_role("admin")])
    async def delete_instrument(request, reply):
        removed = await app.store.delete_instrument(request.params["id"])
        if removed is None:
            raise fastcore.HTTPError(404, "No instrument %d" % request.params["id"])
        app.feed.forget(removed["symbol"])
        await app.cache.invalidate("/instruments")
        return reply.code(204).send()

    # The symbols are checked before the upgrade: an unknown one is a 400 answer,
    # not a WebSocket closed at once.
    app.decorate_request("tick_channels", None)

    def pick_channels(request, reply):
        request.tick_channels = wanted_channels(request)

    @app.get("/ws/ticks", websocket=True, schema=TICKS_SCHEMA, pre_handler=[pick_channels])
    async def ws_ticks(ws, request):
        await app.channels.subscribe(ws, *request.tick_channels, last_value=True)
        async for _ in ws:          # nothing to say: the ticks come on their own
            pass

    @app.get("/sse/ticks", schema=TICKS_SCHEMA, pre_handler=[pick_channels])
    async def sse_ticks(request, reply):
        names = request.tick_channels
        resume = request.last_event_id if len(names) == 1 else None
        return reply.sse(app.channels.events(*names, last_event_id=resume,
                                             last_value=resume is None))
