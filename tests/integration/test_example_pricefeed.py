"""examples/pricefeed on its embedded defaults, through app.inject and
app.inject_ws (SPEC §16): the catalogue, login, the admin-only delete, the
ticks, and the plugins it is assembled from."""
from __future__ import annotations

import asyncio
import gzip

import orjson
import pytest
from openapi_spec_validator import validate

from examples.pricefeed import build_app
from fastcore.inject_ws import WebSocketRefused
from examples.pricefeed.settings import Settings
from examples.pricefeed.store import INSTRUMENTS


@pytest.fixture
def app():
    """The service, run on one event loop of its own: ``app.inject_sync`` and
    ``run(app, coro)`` both use it, and the feed ticks there until the end."""
    app = build_app(Settings.from_env({"TICK_INTERVAL": "0.05"}))
    app.inject_sync("GET", "/status")           # boots it on that loop
    yield app
    run(app, app.close())


def run(app, coro):
    return app._sync_loop.run_until_complete(coro)


def login(app, username, password):
    return app.inject_sync("POST", "/login", payload={"username": username,
                                                     "password": password})


def bearer(app, username):
    return {"authorization": "Bearer " + login(app, username, username).json()["token"]}


def test_the_catalogue_pages_and_is_cached(app):
    first = app.inject_sync("GET", "/instruments", query={"limit": "3", "offset": "1"})
    assert first.status_code == 200 and first.headers["x-cache"] == "MISS"
    assert [row["symbol"] for row in first.json()] == [s for s, _, _ in INSTRUMENTS[1:4]]
    again = app.inject_sync("GET", "/instruments", query={"limit": "3", "offset": "1"})
    assert again.headers["x-cache"] == "HIT" and again.body == first.body
    assert len(app.inject_sync("GET", "/instruments").json()) == len(INSTRUMENTS)
    refused = app.inject_sync("GET", "/instruments", query={"limit": "0"})
    assert refused.status_code == 400 and refused.json()["code"] == "FC_ERR_VALIDATION"


def test_login_gives_a_token_with_the_role_and_refuses_bad_credentials(app):
    token = login(app, "admin", "admin").json()["token"]
    assert app.jwt.verify(token)["role"] == "admin"
    assert app.jwt.verify(login(app, "demo", "demo").json()["token"])["role"] == "user"
    for username, password in (("demo", "wrong"), ("nobody", "demo")):
        refused = login(app, username, password)
        assert refused.status_code == 401
        assert refused.json()["message"] == "Invalid username or password"


def test_login_is_limited_to_five_attempts_a_minute(app):
    answers = [login(app, "demo", "wrong").status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]
    assert app.inject_sync("GET", "/instruments").status_code == 200   # the API still is not


def test_only_an_admin_deletes_and_the_feed_and_cache_follow(app):
    assert app.inject_sync("GET", "/instruments").headers["x-cache"] == "MISS"
    assert app.inject_sync("DELETE", "/instruments/1").status_code == 401
    forbidden = app.inject_sync("DELETE", "/instruments/1", headers=bearer(app, "demo"))
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "FC_ERR_JWT_FORBIDDEN"
    admin = bearer(app, "admin")
    assert app.inject_sync("DELETE", "/instruments/1", headers=admin).status_code == 204
    assert app.inject_sync("DELETE", "/instruments/1", headers=admin).status_code == 404
    after = app.inject_sync("GET", "/instruments")
    assert after.headers["x-cache"] == "MISS"                      # invalidated
    assert "BTC-USD" not in [row["symbol"] for row in after.json()]
    assert "BTC-USD" not in app.feed.prices
    assert app.inject_sync("GET", "/sse/ticks", query={"symbols": "BTC-USD"}).status_code == 400


def test_a_websocket_gets_every_instruments_ticks_without_asking(app):
    async def main():
        async with app.inject_ws("/ws/ticks") as client:
            seen = {}
            while len(seen) < len(INSTRUMENTS) or min(seen.values()) < 2:
                tick = orjson.loads(await asyncio.wait_for(client.receive(), 5))
                assert tick["bid"] < tick["price"] < tick["ask"]
                seen[tick["symbol"]] = seen.get(tick["symbol"], 0) + 1
        async with app.inject_ws("/ws/ticks?symbols=eth-usd,AAPL") as client:
            symbols = {orjson.loads(await client.receive())["symbol"] for _ in range(10)}
        return seen, symbols

    seen, symbols = run(app, main())
    assert set(seen) == {s for s, _, _ in INSTRUMENTS}
    assert symbols == {"ETH-USD", "AAPL"}


def test_unknown_symbols_are_refused_before_the_upgrade(app):
    async def main():
        with pytest.raises(WebSocketRefused) as info:
            async with app.inject_ws("/ws/ticks?symbols=NOPE"):
                pass
        return info.value.response

    refused = run(app, main())
    assert refused.status_code == 400 and refused.json()["message"] == "Unknown symbols: NOPE"


def test_the_docs_the_metrics_and_the_plugins_around_the_api(app):
    document = app.inject_sync("GET", "/docs/json").json()
    validate(document)
    assert set(document["paths"]) >= {"/instruments", "/login", "/instruments/{id}",
                                      "/sse/ticks"}
    assert document["components"]["schemas"]["Instrument"]["required"] == [
        "id", "symbol", "name", "price"]
    app.inject_sync("GET", "/instruments")
    metrics = app.inject_sync("GET", "/metrics").text
    assert 'http_requests_total{method="GET",route="/instruments",status_code="200"} 1.0' \
        in metrics
    cors = app.inject_sync("GET", "/instruments", headers={"origin": "https://x.example"})
    assert cors.headers["access-control-allow-origin"] == "https://x.example"
    packed = app.inject_sync("GET", "/docs/json", headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert orjson.loads(gzip.decompress(packed.body)) == document
    assert app.inject_sync("GET", "/status").json() == {"status": "ok"}
    page = app.inject_sync("GET", "/")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "new EventSource(\"/sse/ticks\")" in page.text
