"""fastcore.plugins.rate_limit on the memory store, through app.inject (SPEC §13)."""
from __future__ import annotations

import asyncio
import gc
import tracemalloc

import orjson
import pytest

import fastcore
from fastcore.plugins import rate_limit
from fastcore.plugins._rate_limit import memory
from tests.integration.helpers import refused_at_register

LIMIT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def make_app(**options):
    app = fastcore.App()
    app.register(rate_limit, **options)

    @app.get("/")
    def home(request, reply):
        return "home"

    @app.get("/other")
    def other(request, reply):
        return "other"

    return app


def limits(response):
    return tuple(response.headers.get(name) for name in LIMIT_HEADERS)


def by(client):
    """Headers naming the client, for a key function reading them."""
    return {"x-client": client}


def client_key(request):
    return request.headers.get("x-client", "anonymous")


def assert_limited(response, seconds):
    body = response.body
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(seconds)
    assert response.headers["content-length"] == str(len(body))
    assert body == orjson.dumps({
        "statusCode": 429, "code": "FC_ERR_RATE_LIMITED", "error": "Too Many Requests",
        "message": "Rate limit exceeded, retry in %d seconds" % seconds})


def test_each_answer_counts_down_then_429_with_retry_after_and_the_exact_body():
    app = make_app(max=3, time_window=60)
    answers = [app.inject_sync("GET", "/") for _ in range(5)]
    assert [r.status_code for r in answers[:3]] == [200, 200, 200]
    assert [limits(r) for r in answers[:3]] == [("3", "2", "60"), ("3", "1", "60"),
                                                 ("3", "0", "60")]
    for response in answers[3:]:
        assert limits(response) == ("3", "0", "60")
        assert_limited(response, 60)
    # The window length in the message, the header and reset agree, rounded up.
    app = make_app(max=1, time_window=2.5)
    app.inject_sync("GET", "/")
    assert_limited(app.inject_sync("GET", "/"), 3)


def test_not_found_requests_count_and_carry_the_headers():
    app = make_app(max=2, time_window=60)
    first = app.inject_sync("GET", "/nowhere?x=1")
    assert first.status_code == 404 and limits(first) == ("2", "1", "60")
    assert first.json()["message"] == "Route GET:/nowhere?x=1 not found"
    assert limits(app.inject_sync("GET", "/")) == ("2", "0", "60")
    assert_limited(app.inject_sync("GET", "/elsewhere"), 60)


def test_custom_not_found_handlers_count_too_at_the_root_and_under_a_prefix():
    app = make_app(max=2, time_window=60)
    app.set_not_found_handler(lambda request, reply: reply.code(404).send("root"))

    async def api(child, opts):
        child.set_not_found_handler(lambda request, reply: reply.code(404).send("api"))

    app.register(api, prefix="/api")
    first = app.inject_sync("GET", "/missing")
    second = app.inject_sync("GET", "/api/missing")
    assert (first.text, limits(first)) == ("root", ("2", "1", "60"))
    assert (second.text, limits(second)) == ("api", ("2", "0", "60"))
    assert_limited(app.inject_sync("GET", "/api/missing"), 60)


def test_routes_without_their_own_config_share_the_plugin_counter():
    app = make_app(max=2, time_window=60)
    assert app.inject_sync("GET", "/").status_code == 200
    assert app.inject_sync("GET", "/other").status_code == 200
    assert_limited(app.inject_sync("GET", "/other"), 60)
    assert app.inject_sync("HEAD", "/").status_code == 429


def test_a_route_config_has_its_own_counter_and_a_group_shares_one():
    app = make_app(max=100, time_window=60)
    login = {"rate_limit": {"max": 2, "time_window": 10, "group": "login"}}
    app.post("/login", lambda request, reply: "in", config=login)
    app.post("/login/otp", lambda request, reply: "otp", config=login)
    app.get("/search", lambda request, reply: "found",
            config={"rate_limit": {"max": 1, "time_window": 5}})
    assert limits(app.inject_sync("POST", "/login")) == ("2", "1", "10")
    assert limits(app.inject_sync("POST", "/login/otp")) == ("2", "0", "10")
    assert_limited(app.inject_sync("POST", "/login"), 10)
    assert limits(app.inject_sync("GET", "/search")) == ("1", "0", "5")
    assert_limited(app.inject_sync("GET", "/search"), 5)
    head = app.inject_sync("HEAD", "/search")                  # GET's route, its counter
    assert (head.status_code, head.headers["retry-after"]) == (429, "5")
    # None of this touched the plugin's own counter.
    assert limits(app.inject_sync("GET", "/")) == ("100", "99", "60")


def test_rate_limit_false_in_a_route_config_turns_it_off_for_that_route():
    app = make_app(max=1, time_window=60)
    app.get("/health", lambda request, reply: "up", config={"rate_limit": False})
    for _ in range(5):
        response = app.inject_sync("GET", "/health")
        assert response.status_code == 200
        assert limits(response) == (None, None, None)
    assert limits(app.inject_sync("GET", "/")) == ("1", "0", "60")


def test_the_default_key_is_the_client_ip():
    app = fastcore.App(trust_proxy=True)
    app.register(rate_limit, max=1, time_window=60)
    app.get("/", lambda request, reply: request.ip)
    one = app.inject_sync("GET", "/", headers={"x-forwarded-for": "10.0.0.1"})
    two = app.inject_sync("GET", "/", headers={"x-forwarded-for": "10.0.0.2"})
    assert (one.text, one.status_code, two.text, two.status_code) == (
        "10.0.0.1", 200, "10.0.0.2", 200)
    assert app.inject_sync("GET", "/", headers={"x-forwarded-for": "10.0.0.1"}
                           ).status_code == 429


async def async_client_key(request):
    await asyncio.sleep(0)
    return client_key(request)


@pytest.mark.parametrize("key", [client_key, async_client_key])
def test_a_key_function_sync_or_async_separates_the_counters(key):
    app = make_app(max=2, time_window=60, key=key)
    assert limits(app.inject_sync("GET", "/", headers=by("a"))) == ("2", "1", "60")
    assert limits(app.inject_sync("GET", "/", headers=by("a"))) == ("2", "0", "60")
    assert limits(app.inject_sync("GET", "/", headers=by("b"))) == ("2", "1", "60")
    assert_limited(app.inject_sync("GET", "/", headers=by("a")), 60)


def test_an_allow_list_of_keys_is_never_counted_nor_limited():
    app = make_app(max=1, time_window=60, key=client_key, allow_list=["monitor", "ops"])
    for _ in range(3):
        response = app.inject_sync("GET", "/", headers=by("monitor"))
        assert response.status_code == 200 and limits(response) == (None, None, None)
    assert app.inject_sync("GET", "/", headers=by("user")).status_code == 200
    assert_limited(app.inject_sync("GET", "/", headers=by("user")), 60)


def test_an_allow_list_function_sync_or_async_gets_the_request_and_the_key():
    seen = []

    def sync_allow(request, key):
        seen.append((request.path, key))
        return request.headers.get("x-internal") == "yes"

    async def async_allow(request, key):
        await asyncio.sleep(0)
        return sync_allow(request, key)

    for allow in (sync_allow, async_allow):
        seen.clear()
        app = make_app(max=1, time_window=60, allow_list=allow)
        for _ in range(3):
            assert app.inject_sync("GET", "/", headers={"x-internal": "yes"}).status_code == 200
        assert app.inject_sync("GET", "/other").status_code == 200
        assert app.inject_sync("GET", "/other").status_code == 429
        assert seen[0] == ("/", "127.0.0.1") and len(seen) == 5


def test_the_route_may_set_its_own_key_and_allow_list():
    app = make_app(max=100, time_window=60)
    app.get("/per-user", lambda request, reply: "ok", config={"rate_limit": {
        "max": 1, "key": client_key, "allow_list": ["admin"]}})
    assert app.inject_sync("GET", "/per-user", headers=by("a")).status_code == 200
    assert app.inject_sync("GET", "/per-user", headers=by("b")).status_code == 200
    assert app.inject_sync("GET", "/per-user", headers=by("a")).status_code == 429
    for _ in range(3):
        assert app.inject_sync("GET", "/per-user", headers=by("admin")).status_code == 200


def test_the_window_ends_and_the_counter_starts_again():
    app = make_app(max=1, time_window=0.5)

    async def main():
        assert (await app.inject("GET", "/")).status_code == 200
        assert (await app.inject("GET", "/")).status_code == 429
        await asyncio.sleep(0.6)
        return await app.inject("GET", "/")

    again = asyncio.run(main())
    assert again.status_code == 200 and limits(again) == ("1", "0", "1")


@pytest.mark.parametrize("extend", [True, False])
def test_continue_exceeding_extends_the_window_with_every_request_over_the_limit(extend):
    app = make_app(max=1, time_window=1.0, continue_exceeding=extend)

    async def main():
        statuses = [(await app.inject("GET", "/")).status_code]
        loop = asyncio.get_running_loop()
        end = loop.time() + 1.6            # well past one window
        while loop.time() < end:
            statuses.append((await app.inject("GET", "/")).status_code)
            await asyncio.sleep(0.1)
        return statuses

    statuses = asyncio.run(main())
    assert statuses[:2] == [200, 429]
    if extend:
        # Requests never more than 1 s apart: each one restarted the window.
        assert set(statuses[1:]) == {429}
    else:
        assert 200 in statuses[2:]


def test_the_429_goes_through_the_error_handler():
    app = make_app(max=1, time_window=60)

    def handler(error, request, reply):
        reply.code(error.status_code)
        return {"limited": error.code, "retry": reply.get_header("retry-after")}

    app.set_error_handler(handler)
    app.inject_sync("GET", "/")
    response = app.inject_sync("GET", "/")
    assert response.status_code == 429
    assert response.json() == {"limited": "FC_ERR_RATE_LIMITED", "retry": 60}
    assert limits(response) == ("1", "0", "60")


def test_a_flood_of_distinct_keys_keeps_at_most_cache_windows():
    app = make_app(max=5, time_window=60, key=client_key, cache=50)
    for i in range(5):
        app.inject_sync("GET", "/", headers=by("first"))
    assert app.inject_sync("GET", "/", headers=by("first")).status_code == 429
    for i in range(200):
        app.inject_sync("GET", "/", headers=by("flood-%d" % i))
    # "first" had the oldest window: dropped to make room, it starts afresh.
    assert limits(app.inject_sync("GET", "/", headers=by("first"))) == ("5", "4", "60")


def _traced_size(n_keys, cache):
    counter = memory.MemoryStore(cache).counter("default", 60.0, 10, False)
    gc.collect()
    tracemalloc.start()
    try:
        for i in range(n_keys):
            counter.hit("key-%d" % i)
        size = tracemalloc.get_traced_memory()[0]      # what is still held
    finally:
        tracemalloc.stop()
    return size, len(counter.table)


def test_memory_stays_bounded_whatever_the_number_of_keys():
    small, small_len = _traced_size(2_000, cache=1_000)
    large, large_len = _traced_size(40_000, cache=1_000)
    assert small_len == large_len == 1_000
    # Twenty times the keys, the same footprint (one window per kept key).
    assert large < small * 1.2
    assert large < 1_000 * 400


def test_expired_windows_are_dropped_when_a_new_one_opens():
    counter = memory.MemoryStore(10_000).counter("default", 0.05, 10, False)

    async def main():
        for i in range(500):
            counter.hit(i)
        assert len(counter.table) == 500
        await asyncio.sleep(0.1)
        return counter.hit("new")

    assert asyncio.run(main()) == (1, 0.05)
    assert list(counter.table) == ["new"]


def test_store_redis_needs_app_redis():
    app = make_app(store="redis")
    with pytest.raises(fastcore.errors.PluginNotPresentError) as info:
        app.inject_sync("GET", "/")
    assert "redis" in str(info.value) and "rate_limit" in str(info.value)


def test_a_bad_route_config_declared_after_boot_is_refused_when_declared():
    app = make_app()

    async def later(child, opts):
        child.get("/bad", lambda request, reply: "x", config={"rate_limit": {"max": 0}})

    app.register(later)
    with pytest.raises(fastcore.errors.PluginBootError) as info:
        asyncio.run(app.ready())
    cause = info.value.__cause__
    assert isinstance(cause, fastcore.errors.InvalidOptionError)
    assert str(cause) == "rate_limit: route GET /bad: config rate_limit: max is an int >= 1, got 0"


def test_a_bad_route_config_declared_before_boot_fails_its_requests_with_a_typed_error():
    app = make_app()
    app.get("/bad", lambda request, reply: "x", config={"rate_limit": {"group": ""}})
    response = app.inject_sync("GET", "/bad")
    assert response.status_code == 500
    assert response.json()["code"] == "FC_ERR_INVALID_OPTION"
    assert "route GET /bad" in response.json()["message"]
    assert app.inject_sync("GET", "/").status_code == 200


@pytest.mark.parametrize("options, message", [
    ({"max": 0}, "max is an int >= 1"),
    ({"max": "10"}, "max is an int >= 1"),
    ({"max": True}, "max is an int >= 1"),
    ({"time_window": 0}, "time_window is a number of seconds > 0"),
    ({"time_window": "1m"}, "time_window is a number of seconds > 0"),
    ({"key": "ip"}, "key is a function"),
    ({"store": "memcached"}, 'store is "memory" or "redis"'),
    ({"allow_list": "127.0.0.1"}, "allow_list is a list of keys or a function"),
    ({"continue_exceeding": 1}, "continue_exceeding is a bool"),
    ({"skip_on_error": "no"}, "skip_on_error is a bool"),
    ({"cache": 0}, "cache is an int >= 1"),
    ({"colour": "red"}, "unknown option(s) colour"),
])
def test_bad_options_are_refused_at_register(options, message):
    refused_at_register(rate_limit, options, message)


@pytest.mark.parametrize("entry, message", [
    ("5/s", "config rate_limit is a dict of options or False"),
    ({"limit": 5}, "unknown option(s) limit"),
    ({"group": 3}, "group is a non-empty str"),
    ({"time_window": -1}, "time_window is a number of seconds > 0"),
    ({"continue_exceeding": "yes"}, "continue_exceeding is a bool"),
])
def test_bad_route_entries_name_the_route_and_the_option(entry, message):
    app = make_app()
    app.register(lambda child, opts: child.get("/r", lambda request, reply: "r",
                                               config={"rate_limit": entry}))
    with pytest.raises(fastcore.errors.PluginBootError) as info:
        asyncio.run(app.ready())
    assert info.value.__cause__.code == "FC_ERR_INVALID_OPTION"
    assert message in str(info.value.__cause__) and "route GET /r" in str(info.value.__cause__)
