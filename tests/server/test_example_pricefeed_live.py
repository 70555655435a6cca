"""examples/pricefeed as a user starts it (``python -m fastcore run
examples.pricefeed:app``), on its embedded defaults and on a real PostgreSQL
and Redis, driven by real clients: HTTP on a socket, the ``websockets``
client, an SSE stream read off the socket, and headless Chromium on the live
page (SPEC §16)."""
from __future__ import annotations

import json
import os
import socket
import time

import pytest
from websockets.sync.client import connect

from examples.pricefeed.store import INSTRUMENTS
from tests.browser import Browser
from tests.conftest import RawClient, get, start_cli, stop_cli

SYMBOLS = {symbol for symbol, _, _ in INSTRUMENTS}


def start(**env):
    values = dict(os.environ, **env)
    for name in ("DATABASE_URL", "REDIS_URL"):
        if name not in env:
            values.pop(name, None)
    return start_cli("examples.pricefeed:app", env=values)


def request(port, raw):
    client = RawClient("127.0.0.1", port)
    try:
        return client.request(raw)
    finally:
        client.close()


def post_json(path, body, headers=""):
    data = json.dumps(body).encode()
    return (b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n%s\r\n" % (path.encode(), len(data), headers.encode())) + data


def token(port, username):
    answer = request(port, post_json("/login", {"username": username, "password": username}))
    assert answer.status == 200, answer.body
    return json.loads(answer.body)["token"]


def websocket_ticks(port, seconds=1.5, query=""):
    """``{symbol: ticks}`` a WebSocket client got in ``seconds`` without sending."""
    counts: dict[str, int] = {}
    with connect("ws://127.0.0.1:%d/ws/ticks%s" % (port, query)) as ws:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            tick = json.loads(ws.recv(timeout=5))
            counts[tick["symbol"]] = counts.get(tick["symbol"], 0) + 1
    return counts


def sse_ticks(port, count):
    """The first ``count`` events of ``/sse/ticks``, read off a plain socket."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(get("/sse/ticks", "Accept: text/event-stream\r\n"))
        data = b""
        while data.count(b"\ndata: ") < count:
            chunk = sock.recv(65536)
            assert chunk, "the stream ended"
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    return [json.loads(line[6:]) for line in body.split(b"\n") if line.startswith(b"data: ")]


def test_on_embedded_defaults_with_real_clients():
    proc, port = start(TICK_INTERVAL="0.1")
    try:
        listed = request(port, get("/instruments"))
        assert listed.status == 200
        assert {row["symbol"] for row in json.loads(listed.body)} == SYMBOLS
        counts = websocket_ticks(port)
        assert set(counts) == SYMBOLS and min(counts.values()) >= 2    # >= 1 a second each
        narrowed = websocket_ticks(port, 0.5, "?symbols=AAPL")
        assert set(narrowed) == {"AAPL"}
        events = sse_ticks(port, 2 * len(SYMBOLS))
        assert {event["symbol"] for event in events} == SYMBOLS
        admin = "Authorization: Bearer %s\r\n" % token(port, "admin")
        assert request(port, b"DELETE /instruments/3 HTTP/1.1\r\nHost: t\r\n%s\r\n"
                       % admin.encode()).status == 204
        assert "SOL-USD" not in websocket_ticks(port, 0.5)
    finally:
        assert stop_cli(proc) == 0


def test_the_live_page_shows_prices_changing_in_chromium():
    proc, port = start(TICK_INTERVAL="0.1")
    try:
        with Browser() as browser:
            browser.open("http://127.0.0.1:%d/" % port)
            browser.wait_for("document.querySelectorAll('#rows tr').length === %d"
                             % len(SYMBOLS))
            cell = "document.querySelector('#row-ETH-USD .price').textContent"
            before = browser.wait_for(cell)
            browser.wait_for("%s !== %s" % (cell, json.dumps(before)))
            assert float(browser.evaluate(cell)) > 0
            assert browser.evaluate("document.getElementById('state').textContent") == "live"
            assert int(browser.evaluate("document.body.dataset.ticks")) > len(SYMBOLS)
    finally:
        assert stop_cli(proc) == 0


def test_on_a_real_postgresql_and_redis(postgres_dsn, redis_url):
    import psycopg
    import redis
    proc, port = start(DATABASE_URL=postgres_dsn, REDIS_URL=redis_url, TICK_INTERVAL="0.1")
    try:
        with psycopg.connect(postgres_dsn) as db:
            stored = {row[0] for row in db.execute("SELECT symbol FROM instruments")}
        assert stored == SYMBOLS                      # created and seeded at boot
        first = request(port, get("/instruments"))
        assert first.header("x-cache") == "MISS"
        assert request(port, get("/instruments")).header("x-cache") == "HIT"
        keys = redis.Redis.from_url(redis_url).keys("*")
        assert keys, "nothing was cached or counted in Redis"
        admin = "Authorization: Bearer %s\r\n" % token(port, "admin")
        assert request(port, b"DELETE /instruments/1 HTTP/1.1\r\nHost: t\r\n%s\r\n"
                       % admin.encode()).status == 204
        with psycopg.connect(postgres_dsn) as db:
            assert db.execute("SELECT count(*) FROM instruments WHERE symbol = 'BTC-USD'"
                              ).fetchone()[0] == 0
        after = request(port, get("/instruments"))
        assert after.header("x-cache") == "MISS"
        assert "BTC-USD" not in {row["symbol"] for row in json.loads(after.body)}
        assert set(websocket_ticks(port, 1.2)) == SYMBOLS - {"BTC-USD"}
        refused = [request(port, post_json("/login", {"username": "demo", "password": "x"}))
                   .status for _ in range(5)]
        assert refused == [401] * 4 + [429]           # the admin's login was the first
    finally:
        assert stop_cli(proc) == 0


@pytest.mark.slow
def test_two_workers_share_one_database_and_redis(postgres_dsn, redis_url):
    proc, port = start_cli("examples.pricefeed:app", "--workers", "2",
                           env=dict(os.environ, DATABASE_URL=postgres_dsn, REDIS_URL=redis_url))
    try:
        for _ in range(6):                            # both workers, one schema
            assert request(port, get("/instruments", "Connection: close\r\n")).status == 200
        assert set(websocket_ticks(port, 1.2)) == SYMBOLS
    finally:
        assert stop_cli(proc) == 0
