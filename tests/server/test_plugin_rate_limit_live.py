"""fastcore.plugins.rate_limit over real sockets: the memory store, and counters
shared by two Apps through a real Redis, which also goes away mid-test (SPEC §13)."""
from __future__ import annotations

import orjson
import pytest
import redis as redis_sync
from pytest_redis import factories
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

import fastcore
from fastcore.plugins import rate_limit, redis
from tests.conftest import _redis_binary, get, live_server

# Its own Redis, stopped and started again by one test.
stoppable_redis = factories.redis_proc(port=None)

LIMIT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def limits(response):
    return tuple(response.header(name) for name in LIMIT_HEADERS)


def limited_body(seconds):
    return orjson.dumps({
        "statusCode": 429, "code": "FC_ERR_RATE_LIMITED", "error": "Too Many Requests",
        "message": "Rate limit exceeded, retry in %d seconds" % seconds})


def make_app(redis_url=None, **options):
    app = fastcore.App()
    if redis_url is not None:
        # One quick retry: a Redis that is down fails the request at once.
        app.register(redis, url=redis_url, retry=Retry(NoBackoff(), 1))
        options.setdefault("store", "redis")
    app.register(rate_limit, **options)
    app.get("/", lambda request, reply: "home")
    app.get("/free", lambda request, reply: "free", config={"rate_limit": False})
    app.post("/login", lambda request, reply: "in",
             config={"rate_limit": {"max": 2, "time_window": 30, "group": "login"}})
    app.post("/login/otp", lambda request, reply: "otp",
             config={"rate_limit": {"max": 2, "time_window": 30, "group": "login"}})
    return app


def post(path):
    return ("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n" % path).encode()


def test_memory_store_on_a_keep_alive_connection_then_the_server_serves_on():
    app = make_app(max=2, time_window=60)
    with live_server(app) as srv:
        client = srv.client()
        first = client.request(get("/"))
        missing = client.request(get("/missing"))
        over = client.request(get("/"))
        assert (first.status, limits(first)) == (200, ("2", "1", "60"))
        assert (missing.status, limits(missing)) == (404, ("2", "0", "60"))
        assert over.status == 429 and over.body == limited_body(60)
        assert over.header("retry-after") == "60"
        assert over.header("content-length") == str(len(over.body))
        # The same connection, and a new one, are still served.
        assert client.request(get("/free")).body == b"free"
        other = srv.client()
        assert other.request(get("/")).status == 429
        assert other.request(get("/free")).status == 200
        client.close()
        other.close()


def test_two_apps_share_their_counters_through_one_redis(redis_url):
    one, two = make_app(redis_url, max=5, time_window=60), make_app(redis_url, max=5,
                                                                      time_window=60)
    with live_server(one) as a, live_server(two) as b:
        on_a, on_b = a.client(), b.client()
        remaining = []
        for client in (on_a, on_b, on_a, on_b, on_a):
            response = client.request(get("/"))
            assert response.status == 200
            remaining.append(response.header("x-ratelimit-remaining"))
        assert remaining == ["4", "3", "2", "1", "0"]
        over = on_b.request(get("/"))
        assert over.status == 429 and over.body == limited_body(60)
        assert over.header("retry-after") == "60"
        # A group is one counter across routes and apps; the default one is apart.
        assert [c.request(post(p)).status for c, p in (
            (on_a, "/login"), (on_b, "/login/otp"), (on_a, "/login/otp"))] == [200, 200, 429]
        assert on_a.request(get("/free")).status == 200
        on_a.close()
        on_b.close()


def test_one_round_trip_per_request_and_windows_expire_in_redis(redis_url):
    app = make_app(redis_url, max=100, time_window=30)
    direct = redis_sync.Redis.from_url(redis_url)
    with live_server(app) as srv:
        client = srv.client()
        client.request(get("/"))                    # loads the script once
        direct.config_resetstat()
        for _ in range(10):
            assert client.request(get("/")).status == 200
        stats = direct.info("commandstats")
        client.close()
    calls = {name: value["calls"] for name, value in stats.items()
             if not name.startswith(("cmdstat_config", "cmdstat_info"))}
    # One EVALSHA per request; INCR and PTTL are the script's own calls.
    assert calls == {"cmdstat_evalsha": 10, "cmdstat_incr": 10, "cmdstat_pttl": 10}
    keys = direct.keys("fastcore:rate_limit:*")
    assert keys == [b"fastcore:rate_limit:default:127.0.0.1"]
    assert int(direct.get(keys[0])) == 11
    assert 0 < direct.pttl(keys[0]) <= 30_000
    direct.close()


@pytest.mark.parametrize("extend", [True, False])
def test_continue_exceeding_restarts_the_redis_window_when_over_the_limit(redis_url, extend):
    app = make_app(redis_url, max=1, time_window=30, continue_exceeding=extend)
    direct = redis_sync.Redis.from_url(redis_url)
    key = "fastcore:rate_limit:default:127.0.0.1"
    with live_server(app) as srv:
        client = srv.client()
        assert client.request(get("/")).status == 200
        direct.pexpire(key, 10_000)                 # as if 20 s of the window had passed
        over = client.request(get("/"))
        client.close()
    assert over.status == 429
    ttl = direct.pttl(key)
    direct.close()
    if extend:
        assert 20_000 < ttl <= 30_000 and over.header("retry-after") == "30"
    else:
        assert 0 < ttl <= 10_000 and over.header("retry-after") == "10"


def test_redis_going_away_skips_or_fails_typed_then_counting_resumes(request, caplog):
    _redis_binary(request)
    proc = request.getfixturevalue("stoppable_redis")
    url = "redis://%s:%d/0" % (proc.host, proc.port)
    skipping, failing = make_app(url, max=5), make_app(url, max=5, skip_on_error=False)
    try:
        with live_server(skipping) as s, live_server(failing) as f:
            on_s, on_f = s.client(), f.client()
            assert limits(on_s.request(get("/"))) == ("5", "4", "60")
            assert limits(on_f.request(get("/"))) == ("5", "3", "60")
            proc.stop()
            passed = on_s.request(get("/"))
            assert passed.status == 200 and passed.body == b"home"
            assert limits(passed) == (None, None, None)
            assert any("rate_limit: the store failed, request not counted: ConnectionError"
                       in record.getMessage() for record in caplog.records)
            refused = on_f.request(get("/"))
            assert refused.status == 503
            assert refused.body == orjson.dumps({
                "statusCode": 503, "code": "FC_ERR_RATE_LIMIT_STORE",
                "error": "Service Unavailable",
                "message": "The rate-limit store is unavailable"})
            assert refused.header("content-length") == str(len(refused.body))
            assert on_f.request(get("/free")).status == 200      # the server serves on
            proc.start()
            back = [on_f.request(get("/")), on_s.request(get("/"))]
            assert [r.status for r in back] == [200, 200]
            remaining = [int(r.header("x-ratelimit-remaining")) for r in back]
            assert remaining[1] == remaining[0] - 1          # one counter again
            on_s.close()
            on_f.close()
    finally:
        if not proc.running():
            proc.start()
