"""fastcore.plugins.channels on a real Redis (SPEC §12): fan-out across Apps and
worker processes, shared sequence numbers and history, and a Redis that goes
away and comes back mid-run."""
from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import threading

import orjson
import pytest
from pytest_redis import factories
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import fastcore
from fastcore.plugins import channels
from tests.conftest import _redis_binary, live_server

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Its own Redis, with a save point so that a restart keeps the data (a final
# save at shutdown), for the test that stops and starts it.
restartable_redis = factories.redis_proc(port=None, save="3600 1")


def make_app(url, **options):
    app = fastcore.App()
    app.register(channels, backend=url, **options)

    @app.get("/ws", websocket=True)
    async def feed(ws, request):
        names = request.query["channels"].split(",")
        since = request.query.get("since")
        await app.channels.subscribe(ws, *names,
                                     since={names[0]: int(since)} if since else None)
        await ws.send("subscribed")
        async for _ in ws:
            pass

    return app


def ws_url(srv, query):
    return "ws://%s:%d/ws?%s" % (srv.host, srv.port, query)


def test_two_apps_on_one_redis_deliver_each_others_publishes_in_one_order(redis_url):
    one, two = make_app(redis_url, history=10), make_app(redis_url, history=10)
    with live_server(one) as a, live_server(two) as b, \
            connect(ws_url(a, "channels=t")) as on_a, connect(ws_url(b, "channels=t")) as on_b:
        assert on_a.recv(timeout=5) == on_b.recv(timeout=5) == "subscribed"

        async def publish_many(app, tag):
            return [await app.channels.publish("t", {"from": tag, "i": i}) for i in range(50)]

        seqs = {}

        def run(srv, app, tag):
            seqs[tag] = srv.call(publish_many(app, tag))

        threads = [threading.Thread(target=run, args=args)
                   for args in ((a, one, "a"), (b, two, "b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        got_a = [orjson.loads(on_a.recv(timeout=5)) for _ in range(100)]
        got_b = [orjson.loads(on_b.recv(timeout=5)) for _ in range(100)]
        # Each process counts its own publishes, and delivers everyone's.
        for srv, app in ((a, one), (b, two)):
            counted = srv.run(app.channels.stats)
            assert (counted["published"], counted["delivered"],
                    counted["subscribers"]) == (50, 100, 1)
    assert got_a == got_b                       # one order for everyone
    assert sorted(seqs["a"] + seqs["b"]) == list(range(1, 101))
    for tag in "ab":
        assert [m["i"] for m in got_a if m["from"] == tag] == list(range(50))


def test_history_and_last_value_live_in_redis(redis_url):
    writer, reader = make_app(redis_url, history=3), make_app(redis_url, history=3)
    with live_server(writer) as w, live_server(reader) as r:
        for i in range(1, 6):
            w.call(writer.channels.publish("p", {"n": i}))
        with connect(ws_url(r, "channels=p&since=3")) as client:
            assert [orjson.loads(client.recv(timeout=5)) for _ in range(2)] == [
                {"n": 4}, {"n": 5}]
            assert client.recv(timeout=5) == "subscribed"
        latest = r.call(reader.channels._backend.latest("p"))
        assert (latest.seq, latest.payload) == (5, b'{"n":5}')


def _start_workers(redis_url):
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1", CHANNELS_REDIS_URL=redis_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastcore", "run", "tests.server.channels_app:app",
         "--host", "127.0.0.1", "--port", "0", "--workers", "2"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if not match:
        proc.kill()
        raise AssertionError("workers did not start: %r" % line)
    return proc, int(match.group(1))


def test_two_worker_processes_deliver_each_others_publishes(redis_url):
    proc, port = _start_workers(redis_url)
    clients = {}
    try:
        with contextlib.ExitStack() as stack:
            for _ in range(200):                     # until a client sits on each worker
                client = stack.enter_context(connect("ws://127.0.0.1:%d/ws?channels=w" % port))
                pid = orjson.loads(client.recv(timeout=5))["pid"]
                clients.setdefault(pid, client)
                if len(clients) == 2:
                    break
            _check_workers(clients, port)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()


def _check_workers(clients, port):
    assert len(clients) == 2, "every connection went to one worker"
    for i in range(10):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", "/publish/w", body=orjson.dumps({"i": i}),
                     headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 200
        conn.close()
    for client in clients.values():
        assert [orjson.loads(client.recv(timeout=5))["i"] for _ in range(10)] == list(range(10))


def test_redis_gone_and_back_publish_fails_meanwhile_sockets_stay_and_the_gap_is_filled(
        request):
    _redis_binary(request)
    redis_server = request.getfixturevalue("restartable_redis")
    url = "redis://%s:%d/0" % (redis_server.host, redis_server.port)
    subscriber_app, publisher_app = make_app(url, history=100), make_app(url, history=100)
    with live_server(subscriber_app) as s, live_server(publisher_app) as p, \
            connect(ws_url(s, "channels=g")) as client:
        assert client.recv(timeout=5) == "subscribed"
        sent = [p.call(publisher_app.channels.publish("g", {"i": i})) for i in range(5)]
        redis_server.stop()
        with pytest.raises(fastcore.errors.FastcoreError) as info:
            p.call(publisher_app.channels.publish("g", {"i": "lost"}))
        assert info.value.code == "FC_ERR_CHANNELS_BACKEND"
        assert info.value.status_code == 503
        # A subscription that needs Redis's history fails (the handler raised:
        # 1011) and leaves nothing behind; the open WebSocket stays.
        with connect(ws_url(s, "channels=other&since=0")) as refused:
            with pytest.raises(ConnectionClosed):
                refused.recv(timeout=5)
            assert refused.close_code == 1011
        assert s.run(subscriber_app.channels.subscribers, "other") == 0
        # The subscriber's loop is held while Redis comes back and five more
        # messages are published: its listener can only get them from history.
        backend = subscriber_app.channels._backend
        for _ in range(500):
            if not s.run(backend._connected.is_set):
                break
            s.call(asyncio.sleep(0.01))
        held, release = threading.Event(), threading.Event()
        s.loop.call_soon_threadsafe(lambda: (held.set(), release.wait(30)))
        assert held.wait(5)
        redis_server.start()
        for i in range(5, 10):
            sent.append(_publish_when_back(p, publisher_app, {"i": i}))
        release.set()
        got = [orjson.loads(client.recv(timeout=15))["i"] for _ in range(10)]
        assert got == list(range(10))
        assert sent == list(range(1, 11))
        client.send("still open")


def _publish_when_back(srv, app, message):
    async def attempt():
        for _ in range(200):
            try:
                return await app.channels.publish("g", message)
            except fastcore.errors.FastcoreError:
                await asyncio.sleep(0.02)
        raise AssertionError("Redis did not come back")
    return srv.call(attempt())


def test_a_redis_that_lost_its_data_restarts_the_sequences_and_delivery_goes_on(redis_url):
    import redis
    subscriber_app, publisher_app = make_app(redis_url, history=10), make_app(redis_url)
    with live_server(subscriber_app) as s, live_server(publisher_app) as p, \
            connect(ws_url(s, "channels=r")) as client:
        assert client.recv(timeout=5) == "subscribed"
        seqs = [p.call(publisher_app.channels.publish("r", {"i": i})) for i in range(3)]
        assert [orjson.loads(client.recv(timeout=5))["i"] for _ in range(3)] == [0, 1, 2]
        flush = redis.Redis.from_url(redis_url)
        flush.flushall()                            # as a Redis restarted without its data
        flush.close()
        seqs.append(p.call(publisher_app.channels.publish("r", {"i": "after"})))
        assert orjson.loads(client.recv(timeout=5)) == {"i": "after"}
    assert seqs == [1, 2, 3, 1]
