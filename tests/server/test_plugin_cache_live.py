"""fastcore.plugins.cache over real sockets (SPEC §13): many clients missing one
key at once, a first request that takes its socket over, HEAD on the wire, client
input that must never give a 500, and a Redis store that goes away and comes back."""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import orjson
from pytest_redis import factories
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

import fastcore
from fastcore.plugins import cache, redis
from tests.conftest import _redis_binary, get, live_server

# Its own Redis, stopped and started again by one test.
cache_redis = factories.redis_proc(port=None)


def crowd_app(n: int, first_answer=None):
    """/hot answers once all ``n`` requests have reached the server; ``app.calls``
    counts its runs; ``first_answer(reply)`` (if given) answers the first run."""
    app = fastcore.App()
    app.arrived = app.calls = 0
    app.everyone = asyncio.Event()

    def arrive(request, reply):             # added before the cache's on_request
        if request.path == "/hot":
            app.arrived += 1
            if app.arrived == n:
                app.everyone.set()

    app.add_hook("on_request", arrive)
    app.register(cache)

    @app.get("/hot", config={"cache": {"ttl": 60}})
    async def hot(request, reply):
        app.calls += 1
        run = app.calls
        await asyncio.wait_for(app.everyone.wait(), 10)
        if run == 1 and first_answer is not None:
            return first_answer(reply)
        return {"price": 101.5, "run": run}

    app.get("/plain", lambda request, reply: "plain")
    return app


def in_parallel(srv, n: int, raw: bytes):
    def one(_):
        client = srv.client(timeout=15)
        try:
            return client.request(raw)
        finally:
            client.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_many_clients_missing_one_key_at_once_run_the_handler_once():
    app = crowd_app(16)
    with live_server(app) as srv:
        responses = in_parallel(srv, 16, get("/hot"))
        assert srv.run(lambda: app.calls) == 1
        assert {r.status for r in responses} == {200}
        assert {r.body for r in responses} == {b'{"price":101.5,"run":1}'}
        assert sorted(r.header("x-cache") for r in responses) == ["HIT"] * 15 + ["MISS"]
        for r in responses:
            assert r.header("content-length") == str(len(r.body))
        later = srv.client().request(get("/hot"))
        assert (later.header("x-cache"), later.body) == ("HIT", b'{"price":101.5,"run":1}')
        assert srv.run(lambda: app.calls) == 1


def test_a_first_request_that_hijacks_its_socket_does_not_strand_the_others():
    def take_over(reply):
        reply.hijack()
        reply.raw.write(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\n"
                        b"hijacked")
        reply.raw.close()

    app = crowd_app(6, first_answer=take_over)
    with live_server(app) as srv:
        responses = in_parallel(srv, 6, get("/hot"))
        assert [r.body for r in responses].count(b"hijacked") == 1
        others = sorted(orjson.loads(r.body)["run"] for r in responses if r.body != b"hijacked")
        assert others == [2, 3, 4, 5, 6]          # each ran on its own, none was left waiting
        assert srv.client().request(get("/hot")).header("x-cache") == "HIT"


def test_head_on_the_wire_is_the_get_answer_without_its_body():
    app = crowd_app(1)
    with live_server(app) as srv:
        got = srv.client().request(get("/hot"))
        client = srv.client()
        client.send(b"HEAD /hot HTTP/1.1\r\nHost: t\r\n\r\n")
        head = client.read_head_response()
        assert head.status == 200 and head.header("x-cache") == "HIT"
        assert head.header("content-length") == str(len(got.body))
        assert client.received == head.raw + b"\r\n\r\n"          # the head alone
        assert client.request(get("/plain")).body == b"plain"      # and no body after it
        client.close()


BAD_REQUESTS = [
    get("/hot?%zz=1&&&=&a"),
    get("/hot?" + "a=1&" * 500),
    get("/hot", "Authorization: Bearer not.a.jwt\r\n"),
    get("/hot", "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOjF9.\r\n"),
    get("/hot", "Authorization: \r\n"),
    b"GET /hot HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \xe9\xff\r\n\r\n",
    get("/me", "Authorization: Bearer %s\r\n" % ("x" * 6000)),
    get("/me", "Authorization: Bearer eyJ.eyJ.sig\r\nAccept-Language: \xe9\r\n"),
    get("/me?b=%FF&a=%00", "Authorization: Basic Og==\r\n"),
    get("/items/%2e%2E/%7e"),
    get("/items/%E0%A4%A"),
]


def test_client_input_never_gives_a_500_and_the_server_serves_on():
    app = crowd_app(1)

    @app.get("/me", config={"cache": {"private": True, "vary": ["accept-language"]}})
    def me(request, reply):
        return {"user": "someone"}

    @app.get("/items/:id", config={"cache": True})
    def item(request, reply):
        return {"id": request.params["id"]}

    with live_server(app) as srv:
        client = srv.client()
        for raw in BAD_REQUESTS:
            response = client.request(raw)
            assert response.status in (200, 400, 404), (raw, response.status, response.body)
            assert response.header("content-length") == str(len(response.body))
            if response.status != 200:
                assert orjson.loads(response.body)["statusCode"] == response.status
                client.close()
                client = srv.client()
        assert client.request(get("/plain")).body == b"plain"
        client.close()


def test_a_redis_store_that_goes_away_serves_uncached_and_caches_again_when_back(request):
    _redis_binary(request)
    server = request.getfixturevalue("cache_redis")
    url = "redis://%s:%d/0" % (server.host, server.port)
    app = fastcore.App()
    app.register(redis, url=url, retry=Retry(NoBackoff(), 1), socket_timeout=2)
    app.register(cache, store="redis")
    app.calls = 0

    @app.get("/quote", config={"cache": {"ttl": 60}})
    def quote(request, reply):
        app.calls += 1
        return {"run": app.calls}

    app.get("/plain", lambda request, reply: "plain")
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logging.getLogger("fastcore").addHandler(handler)
    try:
        with live_server(app) as srv:
            client = srv.client()
            srv.call(app.cache.clear())
            assert client.request(get("/quote")).header("x-cache") == "MISS"
            assert client.request(get("/quote")).header("x-cache") == "HIT"
            server.stop()
            try:
                for run in (2, 3):
                    down = client.request(get("/quote"))
                    assert (down.status, down.header("x-cache")) == (200, "MISS")
                    assert orjson.loads(down.body) == {"run": run}
                assert client.request(get("/plain")).body == b"plain"
            finally:
                server.start()
            assert any("served uncached" in m and "ConnectionError" in m for m in messages)
            seen = [client.request(get("/quote")).header("x-cache") for _ in range(50)]
            assert "HIT" in seen, seen
            client.close()
    finally:
        logging.getLogger("fastcore").removeHandler(handler)
