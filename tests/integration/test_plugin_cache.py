"""fastcore.plugins.cache through app.inject (SPEC §13): hits and misses, keys
(method, path, query, vary, credentials), HEAD, ttl, LRU, invalidation, the
stampede guard, what is not cached, options and route settings checked; the
Redis store on a real Redis."""
from __future__ import annotations

import asyncio
import collections
import logging
import time

import jwt as pyjwt
import pytest
import redis as redis_py

import fastcore
from fastcore.errors import FastcoreError
from fastcore.plugins import cache, redis

SECRET = "a-secret-for-the-cache-tests-32-bytes+"


def run(coro):
    return asyncio.run(coro)


def token(sub: str, **claims) -> str:
    return pyjwt.encode({"sub": sub, **claims}, SECRET, algorithm="HS256")


def make_app(*, redis_url=None, **options):
    """An app with counted routes; ``app.calls[name]`` counts handler runs."""
    app = fastcore.App()
    if redis_url is not None:
        app.register(redis, url=redis_url)
        options.setdefault("store", "redis")
    app.register(cache, **options)
    app.calls = collections.Counter()

    @app.get("/items/:id", config={"cache": {"ttl": 300}})
    def item(request, reply):
        app.calls["item"] += 1
        return {"id": request.params["id"], "query": request.query, "n": app.calls["item"]}

    @app.get("/lang", config={"cache": {"vary": ["Accept-Language"]}})
    def lang(request, reply):
        app.calls["lang"] += 1
        return {"lang": request.headers.get("accept-language"), "n": app.calls["lang"]}

    @app.get("/me", config={"cache": {"private": True}})
    def me(request, reply):
        app.calls["me"] += 1
        return {"auth": request.headers.get("authorization"), "n": app.calls["me"]}

    @app.get("/public", config={"cache": True})
    def public(request, reply):
        app.calls["public"] += 1
        return {"n": app.calls["public"]}

    @app.get("/plain")
    def plain(request, reply):
        app.calls["plain"] += 1
        return {"n": app.calls["plain"]}

    return app


async def get(app, url, **kwargs):
    return await app.inject("GET", url, **kwargs)


class Logged(logging.Handler):
    """The messages logged on the "fastcore" logger while in the ``with`` block."""

    def __enter__(self) -> list[str]:
        self.messages: list[str] = []
        logging.getLogger("fastcore").addHandler(self)
        return self.messages

    def __exit__(self, *exc) -> None:
        logging.getLogger("fastcore").removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# -- hits and misses --------------------------------------------------------------

def test_a_miss_is_stored_and_the_next_request_is_a_hit_without_the_handler():
    app = make_app()

    async def main():
        first = await get(app, "/items/1")
        second = await get(app, "/items/1")
        assert first.status_code == second.status_code == 200
        assert first.headers["x-cache"] == "MISS" and "age" not in first.headers
        assert second.headers["x-cache"] == "HIT"
        assert second.headers["age"] == "0"
        assert second.body == first.body == b'{"id":"1","query":{},"n":1}'
        assert second.headers["content-type"] == first.headers["content-type"] == \
            "application/json; charset=utf-8"
        assert second.headers["content-length"] == str(len(first.body))
        assert app.calls["item"] == 1
        assert (await get(app, "/items/2")).headers["x-cache"] == "MISS"
        assert app.calls["item"] == 2
        await app.close()

    run(main())


def test_routes_without_the_setting_are_untouched():
    app = make_app()

    async def main():
        for _ in range(3):
            response = await get(app, "/plain")
            assert "x-cache" not in response.headers
        assert app.calls["plain"] == 3
        await app.close()

    run(main())


def test_age_counts_whole_seconds_since_the_answer_was_stored():
    app = make_app()

    async def main():
        await get(app, "/items/1")
        started = time.monotonic()
        await asyncio.sleep(1.05)
        response = await get(app, "/items/1")
        assert response.headers["x-cache"] == "HIT"
        assert int(response.headers["age"]) >= 1
        assert int(response.headers["age"]) <= int(time.monotonic() - started) + 1
        await app.close()

    run(main())


def test_head_reads_and_fills_the_get_entry():
    app = make_app()

    async def main():
        got = await get(app, "/items/1")
        head = await app.inject("HEAD", "/items/1")
        assert head.headers["x-cache"] == "HIT" and head.body == b""
        assert head.headers["content-length"] == str(len(got.body))
        head = await app.inject("HEAD", "/items/2")             # HEAD first
        assert head.headers["x-cache"] == "MISS" and head.body == b""
        got = await get(app, "/items/2")
        assert got.headers["x-cache"] == "HIT"
        assert got.body == b'{"id":"2","query":{},"n":2}'
        assert app.calls["item"] == 2
        await app.close()

    run(main())


def test_an_explicit_head_route_keeps_entries_of_its_own():
    app = make_app()

    @app.head("/both", config={"cache": True})
    def head(request, reply):
        app.calls["head"] += 1
        reply.header("x-head", "yes")

    @app.get("/both", config={"cache": True})
    def both(request, reply):
        app.calls["both"] += 1
        return {"full": True}

    async def main():
        assert (await app.inject("HEAD", "/both")).headers["x-cache"] == "MISS"
        got = await get(app, "/both")
        assert got.headers["x-cache"] == "MISS" and got.json() == {"full": True}
        assert (await get(app, "/both")).json() == {"full": True}
        assert (await app.inject("HEAD", "/both")).headers["x-cache"] == "HIT"
        assert (app.calls["head"], app.calls["both"]) == (1, 1)
        await app.close()

    run(main())


# -- keys -----------------------------------------------------------------------

def test_the_query_string_is_part_of_the_key_in_name_order():
    app = make_app()

    async def main():
        first = await get(app, "/items/1?b=2&a=1")
        assert first.headers["x-cache"] == "MISS"
        same = await get(app, "/items/1?a=1&b=2")
        assert same.headers["x-cache"] == "HIT" and same.body == first.body
        assert (await get(app, "/items/1?a=1")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/1")).headers["x-cache"] == "MISS"
        # One name's values keep their order: these are different lists.
        assert (await get(app, "/items/1?a=1&a=2")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/1?a=2&a=1")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/1?a=2&x=0&a=1")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/1?x=0&a=2&a=1")).headers["x-cache"] == "HIT"
        assert app.calls["item"] == 6
        await app.close()

    run(main())


def test_equivalent_percent_escapes_in_the_path_share_an_entry():
    app = make_app()

    async def main():
        assert (await get(app, "/items/%7Eme")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/~me")).headers["x-cache"] == "HIT"
        assert (await get(app, "/items/caf%C3%A9")).headers["x-cache"] == "MISS"
        hit = await get(app, "/items/caf%c3%a9")
        assert hit.headers["x-cache"] == "HIT" and hit.json()["id"] == "café"
        assert (await get(app, "/items/a%2Fb")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/a%2fb")).headers["x-cache"] == "HIT"
        assert app.calls["item"] == 3
        await app.close()

    run(main())


def test_vary_headers_are_part_of_the_key():
    app = make_app()

    async def main():
        fr = await get(app, "/lang", headers={"accept-language": "fr"})
        en = await get(app, "/lang", headers={"Accept-Language": "en"})
        none = await get(app, "/lang")
        assert [r.headers["x-cache"] for r in (fr, en, none)] == ["MISS"] * 3
        again = await get(app, "/lang", headers={"ACCEPT-LANGUAGE": "fr"})
        assert again.headers["x-cache"] == "HIT"
        assert again.json() == {"lang": "fr", "n": 1}
        assert (await get(app, "/lang")).json() == {"lang": None, "n": 3}
        assert app.calls["lang"] == 3
        await app.close()

    run(main())


def test_a_request_with_authorization_is_neither_cached_nor_served_from_cache():
    app = make_app()

    async def main():
        anonymous = await get(app, "/public")
        assert anonymous.headers["x-cache"] == "MISS"
        for _ in range(2):
            authed = await get(app, "/public", headers={"authorization": "Bearer " + token("a")})
            assert "x-cache" not in authed.headers
        assert authed.json() == {"n": 3}
        assert (await get(app, "/public")).json() == {"n": 1}          # the public entry
        await app.close()

    run(main())


def test_a_private_route_keys_by_subject_and_by_the_very_credentials():
    app = make_app()
    alice, bob = token("alice"), token("bob")
    alice_again = token("alice", scope="other")            # same subject, other token
    # A token anyone can make, claiming alice's subject without her key.
    forged = pyjwt.encode({"sub": "alice"}, "anyone-can-sign-with-a-key-of-their-own",
                          algorithm="HS256")

    async def main():
        def auth(value):
            return {"headers": {"authorization": value}}
        first = await get(app, "/me", **auth("Bearer " + alice))
        assert first.headers["x-cache"] == "MISS"
        hit = await get(app, "/me", **auth("Bearer " + alice))
        assert hit.headers["x-cache"] == "HIT" and hit.body == first.body
        other = await get(app, "/me", **auth("Bearer " + bob))
        assert other.headers["x-cache"] == "MISS"
        assert other.json()["auth"] == "Bearer " + bob
        for value in ("Bearer " + alice_again, "Bearer " + forged):
            response = await get(app, "/me", **auth(value))
            assert response.headers["x-cache"] == "MISS"
            assert response.json()["auth"] == value                    # never alice's entry
        basic = await get(app, "/me", **auth("Basic dTpw"))
        assert basic.headers["x-cache"] == "MISS"
        assert (await get(app, "/me", **auth("Basic dTpw"))).headers["x-cache"] == "HIT"
        anonymous = await get(app, "/me")
        assert anonymous.headers["x-cache"] == "MISS" and anonymous.json()["auth"] is None
        assert (await get(app, "/me")).headers["x-cache"] == "HIT"
        assert app.calls["me"] == 6
        await app.close()

    run(main())


def test_the_private_key_holds_the_token_subject():
    from fastcore.plugins._cache.keys import credentials_of
    subject, digest = credentials_of("Bearer " + token("alice"))
    assert subject == "alice"
    assert credentials_of("Bearer " + token("alice", x=1))[0] == "alice"
    assert credentials_of("Bearer " + token("alice", x=1))[1] != digest
    assert credentials_of("Bearer not.a.jwt")[0] == ""
    assert credentials_of("Basic dTpw")[0] == ""


# -- what is stored -------------------------------------------------------------

def test_only_get_and_head_answered_200_with_a_known_type_are_stored():
    app = make_app()

    @app.post("/post", config={"cache": True})
    def post(request, reply):
        app.calls["post"] += 1
        return {"n": app.calls["post"]}

    @app.get("/created", config={"cache": True})
    def created(request, reply):
        app.calls["created"] += 1
        reply.code(201)
        return {"n": app.calls["created"]}

    @app.get("/missing/:id", config={"cache": True})
    def missing(request, reply):
        app.calls["missing"] += 1
        raise fastcore.errors.NotFound("no such thing")

    @app.get("/text", config={"cache": True})
    def text(request, reply):
        app.calls["text"] += 1
        return "plain text"

    @app.get("/html", config={"cache": True})
    def html(request, reply):
        app.calls["html"] += 1
        reply.type("text/html; charset=utf-8")
        return "<p>%d</p>" % app.calls["html"]

    @app.get("/blob", config={"cache": True})
    def blob(request, reply):
        app.calls["blob"] += 1
        reply.type("application/octet-stream")
        return b"\x00\xff" * 3

    @app.get("/empty", config={"cache": True})
    def empty(request, reply):
        app.calls["empty"] += 1

    @app.get("/stream", config={"cache": True})
    def stream(request, reply):
        app.calls["stream"] += 1
        reply.type("text/plain; charset=utf-8")

        async def chunks():
            yield b"one "
            yield b"two"
        return chunks()

    async def main():
        for _ in range(2):
            streamed = await get(app, "/stream")
            assert (streamed.status_code, streamed.body) == (200, b"one two")
            assert streamed.headers["x-cache"] == "MISS"
            assert "x-cache" not in (await app.inject("POST", "/post")).headers
            assert (await get(app, "/created")).status_code == 201
            assert (await get(app, "/missing/1")).status_code == 404
            assert (await get(app, "/text")).body == b"plain text"
            html_answer = await get(app, "/html")
            blob_answer = await get(app, "/blob")
            empty_answer = await get(app, "/empty")
        assert (html_answer.headers["x-cache"], html_answer.body,
                html_answer.headers["content-type"]) == ("HIT", b"<p>1</p>",
                                                         "text/html; charset=utf-8")
        assert (blob_answer.headers["x-cache"], blob_answer.body) == ("HIT", b"\x00\xff" * 3)
        assert (empty_answer.headers["x-cache"], empty_answer.body) == ("HIT", b"")
        assert "content-type" not in empty_answer.headers
        await app.close()

    run(main())
    assert {name: app.calls[name] for name in ("post", "created", "missing", "stream")} == {
        "post": 2, "created": 2, "missing": 2, "stream": 2}
    assert (app.calls["html"], app.calls["blob"], app.calls["empty"], app.calls["text"]) == (
        1, 1, 1, 1)


def test_answers_with_cookies_or_no_store_are_not_stored():
    app = make_app()

    @app.get("/cookie", config={"cache": True})
    def cookie(request, reply):
        app.calls["cookie"] += 1
        reply.header("set-cookie", "session=%d" % app.calls["cookie"])
        return {"n": app.calls["cookie"]}

    @app.get("/no-store", config={"cache": True})
    def no_store(request, reply):
        app.calls["no-store"] += 1
        reply.header("cache-control", "private, no-store")
        return {"n": app.calls["no-store"]}

    async def main():
        for _ in range(2):
            assert (await get(app, "/cookie")).headers["x-cache"] == "MISS"
            assert (await get(app, "/no-store")).headers["x-cache"] == "MISS"
        assert (app.calls["cookie"], app.calls["no-store"]) == (2, 2)
        await app.close()

    run(main())


def test_a_route_ttl_and_the_plugin_ttl_expire_entries():
    app = make_app(ttl=0.2)

    @app.get("/short", config={"cache": {"ttl": 0.2}})
    def short(request, reply):
        app.calls["short"] += 1
        return {"n": app.calls["short"]}

    async def main():
        assert (await get(app, "/short")).headers["x-cache"] == "MISS"
        assert (await get(app, "/public")).headers["x-cache"] == "MISS"   # the plugin's ttl
        assert (await get(app, "/items/1")).headers["x-cache"] == "MISS"  # ttl 300
        await asyncio.sleep(0.3)
        expired = await get(app, "/short")
        assert expired.headers["x-cache"] == "MISS" and expired.json() == {"n": 2}
        assert (await get(app, "/public")).json() == {"n": 2}
        assert (await get(app, "/items/1")).headers["x-cache"] == "HIT"
        await app.close()

    run(main())


def test_max_entries_evicts_the_least_recently_used_entry():
    app = make_app(max_entries=2)

    async def main():
        await get(app, "/items/a")
        await get(app, "/items/b")
        assert (await get(app, "/items/a")).headers["x-cache"] == "HIT"   # a is now newer
        await get(app, "/items/c")                                        # evicts b
        assert (await get(app, "/items/a")).headers["x-cache"] == "HIT"
        assert (await get(app, "/items/c")).headers["x-cache"] == "HIT"
        assert (await get(app, "/items/b")).headers["x-cache"] == "MISS"
        assert len(app.cache._store) == 2
        await app.close()

    run(main())


# -- invalidation -----------------------------------------------------------------

def test_invalidate_drops_every_entry_of_a_path_and_clear_drops_all():
    app = make_app()

    async def main():
        await get(app, "/items/1?x=1")
        await get(app, "/items/1?x=2")
        await get(app, "/items/2")
        await get(app, "/me", headers={"authorization": "Bearer " + token("u")})
        await get(app, "/me")
        await app.cache.invalidate("/items/1")
        assert (await get(app, "/items/1?x=1")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/1?x=2")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/2")).headers["x-cache"] == "HIT"
        await app.cache.invalidate("/me")
        assert (await get(app, "/me", headers={"authorization": "Bearer " + token("u")})
                ).headers["x-cache"] == "MISS"
        assert (await get(app, "/me")).headers["x-cache"] == "MISS"
        await app.cache.clear()
        assert (await get(app, "/items/2")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/1?x=1")).headers["x-cache"] == "MISS"
        await app.close()

    run(main())


def test_invalidate_takes_the_path_as_written_or_as_sent():
    app = make_app()

    async def main():
        await get(app, "/items/caf%C3%A9")
        await get(app, "/items/a%20b")
        await app.cache.invalidate("/items/café")
        await app.cache.invalidate("/items/a%20b")
        assert (await get(app, "/items/caf%C3%A9")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/a%20b")).headers["x-cache"] == "MISS"
        for bad in ("items/1", "/items/1?x=1", None):
            with pytest.raises(ValueError):
                await app.cache.invalidate(bad)
        await app.close()

    run(main())


def test_an_answer_made_before_an_invalidate_is_not_stored_after_it():
    app = make_app()

    @app.get("/slow", config={"cache": True})
    async def slow(request, reply):
        app.calls["slow"] += 1
        await app.gate.wait()
        return {"n": app.calls["slow"]}

    async def main():
        app.gate = asyncio.Event()
        pending = asyncio.ensure_future(get(app, "/slow"))
        while app.calls["slow"] == 0:
            await asyncio.sleep(0)
        await app.cache.invalidate("/slow")
        app.gate.set()
        assert (await pending).headers["x-cache"] == "MISS"
        assert (await get(app, "/slow")).headers["x-cache"] == "MISS"   # not stored
        assert (await get(app, "/slow")).headers["x-cache"] == "HIT"
        await app.close()

    run(main())


# -- stampede -----------------------------------------------------------------------

def stampede_app(n: int, handler):
    """An app whose /hot route runs ``handler`` once all ``n`` requests have arrived."""
    app = fastcore.App()
    app.arrived = 0
    app.calls = 0

    def arrive(request, reply):             # runs before the cache's on_request
        app.arrived += 1
        if app.arrived == n:
            app.everyone.set()

    app.add_hook("on_request", arrive)
    app.register(cache)

    @app.get("/hot", config={"cache": True})
    async def hot(request, reply):
        app.calls += 1
        await asyncio.wait_for(app.everyone.wait(), 10)
        return handler(app, request, reply)

    return app


async def _together(app, n):
    app.everyone = asyncio.Event()
    return await asyncio.wait_for(asyncio.gather(*(get(app, "/hot") for _ in range(n))), 20)


def test_concurrent_misses_run_the_handler_once():
    app = stampede_app(20, lambda app, request, reply: {"answer": 42})

    async def main():
        responses = await _together(app, 20)
        assert app.calls == 1
        assert {r.body for r in responses} == {b'{"answer":42}'}
        assert sorted(r.headers["x-cache"] for r in responses) == ["HIT"] * 19 + ["MISS"]
        await app.close()

    run(main())


@pytest.mark.parametrize("first", ["raises", "not_found", "streams"])
def test_waiters_run_on_their_own_when_the_first_answer_is_not_cached(first):
    def handler(app, request, reply):
        if app.calls == 1 and first == "raises":
            raise RuntimeError("first one fails")
        if app.calls == 1 and first == "not_found":
            reply.code(404)
        if app.calls == 1 and first == "streams":
            async def chunks():
                yield b"streamed"
            return chunks()
        return {"calls": app.calls}

    app = stampede_app(5, handler)

    async def main():
        responses = await _together(app, 5)
        assert app.calls == 5
        statuses = sorted(r.status_code for r in responses)
        assert statuses == sorted([200] * 4 + [{"raises": 500, "not_found": 404,
                                                "streams": 200}[first]])
        assert (await get(app, "/hot")).headers["x-cache"] == "HIT"
        await app.close()

    run(main())


# -- settings checked -------------------------------------------------------------

def _invalid(**options) -> str:
    with pytest.raises(FastcoreError) as info:
        fastcore.App().register(cache, **options)
    assert info.value.code == "FC_ERR_INVALID_OPTION"
    assert str(info.value).startswith("cache: ")
    return str(info.value)


def test_every_option_is_checked_at_register():
    assert "store" in _invalid(store="disk")
    for ttl in (0, -1, "60", True, float("inf"), None):
        assert "ttl" in _invalid(ttl=ttl)
    for max_entries in (0, 1.5, True, "10"):
        assert "max_entries" in _invalid(max_entries=max_entries)
    assert "max_entries" in _invalid(store="redis", max_entries=10)
    assert "size" in _invalid(size=1)


def test_the_redis_store_needs_the_redis_plugin_and_says_so(redis_url):
    for register_redis in (None, {"namespace": "other"}):
        app = fastcore.App()
        if register_redis is not None:
            app.register(redis, url=redis_url, **register_redis)
        app.register(cache, store="redis")
        with pytest.raises(FastcoreError) as info:
            run(app.ready())
        assert info.value.code == "FC_ERR_PLUGIN_NOT_PRESENT"
        assert '"redis"' in str(info.value) and "app.redis" in str(info.value)
        run(app.close())


def test_a_bad_route_setting_is_refused_when_the_route_is_declared():
    for setting, reason in (({"ttl": 0}, "ttl"), ({"vary": "accept"}, "vary"),
                            ({"private": "yes"}, "private"), ({"tll": 5}, "tll"),
                            ("yes", "dict")):
        app = fastcore.App()
        app.register(cache)

        async def main():
            await app.after()
            with pytest.raises(FastcoreError) as info:
                app.get("/x", lambda request, reply: "x", config={"cache": setting})
            assert info.value.code == "FC_ERR_CACHE_INVALID_CONFIG"
            assert reason in str(info.value) and "/x" in str(info.value)
            await app.close()

        run(main())


def test_a_bad_route_setting_declared_before_the_plugin_booted_fails_its_requests():
    app = fastcore.App()
    app.register(cache)
    app.get("/x", lambda request, reply: "x", config={"cache": {"ttl": -5}})
    app.get("/ok", lambda request, reply: "ok")

    async def main():
        response = await get(app, "/x")
        assert response.status_code == 500
        assert response.json()["code"] == "FC_ERR_CACHE_INVALID_CONFIG"
        assert "ttl" in response.json()["message"]
        assert (await get(app, "/ok")).body == b"ok"
        await app.close()

    run(main())


def test_cache_false_turns_a_route_off():
    app = make_app()

    @app.get("/off", config={"cache": False})
    def off(request, reply):
        return {"off": True}

    async def main():
        for _ in range(2):
            assert "x-cache" not in (await get(app, "/off")).headers
        await app.close()

    run(main())


# -- the Redis store ------------------------------------------------------------

def test_the_redis_store_is_shared_by_apps_on_one_redis(redis_url):
    one, two = make_app(redis_url=redis_url), make_app(redis_url=redis_url)

    async def main():
        first = await get(one, "/items/1?b=1&a=2")
        assert first.headers["x-cache"] == "MISS"
        hit = await get(two, "/items/1?a=2&b=1")
        assert hit.headers["x-cache"] == "HIT" and hit.body == first.body
        assert hit.headers["content-type"] == "application/json; charset=utf-8"
        assert int(hit.headers["age"]) >= 0
        head = await two.inject("HEAD", "/items/1?a=2&b=1")
        assert head.headers["x-cache"] == "HIT" and head.body == b""
        assert (one.calls["item"], two.calls["item"]) == (1, 0)
        await one.close()
        await two.close()

    run(main())


def test_the_redis_store_keys_vary_and_credentials(redis_url):
    app = make_app(redis_url=redis_url)

    async def main():
        fr = {"headers": {"accept-language": "fr"}}
        assert (await get(app, "/lang", **fr)).headers["x-cache"] == "MISS"
        assert (await get(app, "/lang")).headers["x-cache"] == "MISS"
        assert (await get(app, "/lang", **fr)).json() == {"lang": "fr", "n": 1}
        alice = {"headers": {"authorization": "Bearer " + token("alice")}}
        bob = {"headers": {"authorization": "Bearer " + token("bob")}}
        assert (await get(app, "/me", **alice)).headers["x-cache"] == "MISS"
        assert (await get(app, "/me", **bob)).headers["x-cache"] == "MISS"
        assert (await get(app, "/me", **alice)).json()["auth"] == alice["headers"][
            "authorization"]
        assert "x-cache" not in (await get(app, "/public", **alice)).headers
        await app.close()

    run(main())


def test_redis_invalidate_and_clear_reach_every_app(redis_url):
    one, two = make_app(redis_url=redis_url), make_app(redis_url=redis_url)

    async def main():
        await two.ready()
        for url in ("/items/1?x=1", "/items/1?x=2", "/items/2"):
            await get(one, url)
        await two.cache.invalidate("/items/1")
        assert (await get(one, "/items/1?x=1")).headers["x-cache"] == "MISS"
        assert (await get(one, "/items/1?x=2")).headers["x-cache"] == "MISS"
        assert (await get(one, "/items/2")).headers["x-cache"] == "HIT"
        await two.cache.clear()
        assert (await get(one, "/items/2")).headers["x-cache"] == "MISS"
        assert (await get(two, "/items/2")).headers["x-cache"] == "HIT"
        await one.close()
        await two.close()

    run(main())


def test_redis_entries_expire_with_the_route_ttl(redis_url):
    app = make_app(redis_url=redis_url)

    @app.get("/short", config={"cache": {"ttl": 0.2}})
    def short(request, reply):
        app.calls["short"] += 1
        return {"n": app.calls["short"]}

    async def main():
        await get(app, "/short")
        await get(app, "/items/1")
        ttls = {}
        async for name in app.redis.scan_iter("fastcore:cache:e:*"):
            ttls[name] = await app.redis.pttl(name)
        assert sorted(ttls.values())[0] <= 200 and sorted(ttls.values())[-1] > 200_000
        await asyncio.sleep(0.3)
        assert (await get(app, "/short")).json() == {"n": 2}
        await app.close()

    run(main())


def test_the_redis_store_keeps_bytes_whatever_decode_responses_says(redis_url):
    app = fastcore.App()
    app.register(redis, url=redis_url, decode_responses=True)
    app.register(cache, store="redis")

    @app.get("/blob", config={"cache": True})
    def blob(request, reply):
        reply.type("application/octet-stream")
        return bytes(range(256))

    async def main():
        assert (await get(app, "/blob")).headers["x-cache"] == "MISS"
        hit = await get(app, "/blob")
        assert hit.headers["x-cache"] == "HIT" and hit.body == bytes(range(256))
        await app.close()

    run(main())


def test_concurrent_misses_on_the_redis_store_run_the_handler_once(redis_url):
    app = fastcore.App()
    app.register(redis, url=redis_url)
    app.register(cache, store="redis")
    calls = []

    async def lookups() -> int:
        stats = await app.redis.info("commandstats")
        return stats.get("cmdstat_mget", {}).get("calls", 0)

    @app.get("/hot", config={"cache": True})
    async def hot(request, reply):
        calls.append(1)
        # Answer only once every request has looked the key up in Redis (and
        # missed): from then on only the flight can spare the handler.
        for _ in range(1000):
            if await lookups() >= app.before + 10:
                break
            await asyncio.sleep(0.01)
        return {"answer": 42}

    async def main():
        await app.ready()
        app.before = await lookups()
        responses = await asyncio.wait_for(
            asyncio.gather(*(get(app, "/hot") for _ in range(10))), 20)
        assert {r.body for r in responses} == {b'{"answer":42}'}
        assert sorted(r.headers["x-cache"] for r in responses) == ["HIT"] * 9 + ["MISS"]
        assert len(calls) == 1
        await app.close()

    run(main())


def test_a_redis_that_errors_serves_uncached_and_recovers(redis_url):
    app = make_app(redis_url=redis_url)
    admin = redis_py.Redis.from_url(redis_url)

    async def main():
        assert (await get(app, "/items/1")).headers["x-cache"] == "MISS"
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", 1)            # every write is refused (OOM)
        try:
            for n in (2, 3):
                response = await get(app, "/items/2")
                assert response.status_code == 200 and response.json()["n"] == n
                assert response.headers["x-cache"] == "MISS"
            assert (await get(app, "/items/1")).headers["x-cache"] == "HIT"  # reads work
            with pytest.raises(FastcoreError) as info:
                await app.cache.invalidate("/items/1")
            assert (info.value.code, info.value.status_code) == ("FC_ERR_CACHE_STORE", 503)
            assert isinstance(info.value.__cause__, redis_py.exceptions.ResponseError)
        finally:
            admin.config_set("maxmemory", 0)
        assert (await get(app, "/items/2")).headers["x-cache"] == "MISS"
        assert (await get(app, "/items/2")).headers["x-cache"] == "HIT"
        await app.close()

    try:
        with Logged() as messages:
            run(main())
    finally:
        admin.close()
    failures = [m for m in messages if "served uncached" in m]
    assert len(failures) == 2 and "OutOfMemoryError" in failures[0]
