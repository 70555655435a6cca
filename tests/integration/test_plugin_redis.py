"""fastcore.plugins.redis against a real Redis (SPEC §13): app.redis, namespaces,
client keywords, the PING at boot, closing at on_close, options checked at register."""
from __future__ import annotations

import asyncio
import socket

import pytest
import redis as redis_py
import redis.asyncio as aioredis

import fastcore
from fastcore.errors import FastcoreError
from fastcore.plugins import redis


def run(coro):
    return asyncio.run(coro)


def db_url(url: str, db: int) -> str:
    return url.rsplit("/", 1)[0] + "/%d" % db


def connections_named(url: str, name: str) -> int:
    admin = redis_py.Redis.from_url(url)
    try:
        return sum(1 for client in admin.client_list() if client.get("name") == name)
    finally:
        admin.close()


def wait_connections_gone(url: str, name: str) -> int:
    """The named connections left once the server has seen them close (bounded)."""
    for _ in range(200):
        left = connections_named(url, name)
        if left == 0:
            return 0
        asyncio.run(asyncio.sleep(0.01))
    return left


def test_app_redis_is_redis_py_asyncio_client_usable_from_handlers(redis_url):
    app = fastcore.App()
    app.register(redis, url=redis_url)

    @app.put("/kv/:key")
    async def put(request, reply):
        await app.redis.set(request.params["key"], request.body)
        return {"stored": request.params["key"]}

    @app.get("/kv/:key")
    async def get(request, reply):
        value = await app.redis.get(request.params["key"])
        return {"value": value.decode() if value is not None else None}

    async def main():
        await app.ready()
        assert isinstance(app.redis, aioredis.Redis)
        assert (await app.inject("PUT", "/kv/a", payload="one",
                                 headers={"content-type": "text/plain"})).json() == {
            "stored": "a"}
        assert (await app.inject("GET", "/kv/a")).json() == {"value": "one"}
        assert (await app.inject("GET", "/kv/b")).json() == {"value": None}
        await app.close()

    run(main())
    direct = redis_py.Redis.from_url(redis_url)
    assert direct.get("a") == b"one"
    direct.close()


def test_client_keywords_reach_the_client_and_its_connections(redis_url):
    app = fastcore.App()
    app.register(redis, url=redis_url, decode_responses=True, client_name="fc-kw-test")

    async def main():
        await app.ready()
        await app.redis.set("k", "v")
        assert await app.redis.get("k") == "v"            # decoded: a str
        assert await app.redis.client_getname() == "fc-kw-test"
        await app.close()

    run(main())


def test_namespaces_are_separate_clients_and_the_plain_one_stays_app_redis(redis_url):
    for order in (("a", None, "b"), (None, "a", "b"), ("a", "b", None)):
        app = fastcore.App()
        for db, namespace in enumerate(order, start=1):
            options = {} if namespace is None else {"namespace": namespace}
            app.register(redis, url=db_url(redis_url, db), **options)
        dbs = {namespace: db for db, namespace in enumerate(order, start=1)}

        async def main():
            await app.ready()
            for namespace, db in dbs.items():
                client = app.redis if namespace is None else app.redis[namespace]
                await client.flushdb()
                await client.set("who", str(db))
            assert isinstance(app.redis["a"], aioredis.Redis)
            assert await app.redis.get("who") == str(dbs[None]).encode()
            assert await app.redis["a"].get("who") == str(dbs["a"]).encode()
            assert await app.redis["b"].get("who") == str(dbs["b"]).encode()
            with pytest.raises(KeyError):
                app.redis["missing"]
            await app.close()

        run(main())


def test_only_namespaced_clients_make_app_redis_a_mapping(redis_url):
    app = fastcore.App()
    app.register(redis, url=db_url(redis_url, 1), namespace="one")
    app.register(redis, url=db_url(redis_url, 2), namespace="two")

    async def main():
        await app.ready()
        assert sorted(app.redis) == ["one", "two"] and len(app.redis) == 2
        assert "one" in app.redis and "three" not in app.redis
        assert await app.redis["one"].ping() is True
        with pytest.raises(AttributeError, match=r"app.redis\[namespace\]"):
            app.redis.get
        await app.close()

    run(main())


@pytest.mark.parametrize("second", [{}, {"namespace": "x"}])
def test_a_client_registered_twice_under_one_name_fails_the_boot(redis_url, second):
    app = fastcore.App()
    app.register(redis, url=redis_url, **second)
    app.register(redis, url=redis_url, **second)
    with pytest.raises(FastcoreError) as info:
        run(app.ready())
    assert info.value.code == "FC_ERR_PLUGIN_BOOT"
    assert getattr(info.value.__cause__, "code", None) == "FC_ERR_DEC_ALREADY_PRESENT"


def test_a_redis_that_does_not_answer_the_ping_fails_the_boot_with_its_error():
    # A bound socket that does not listen: connections to it are refused.
    with socket.socket() as idle:
        idle.bind(("127.0.0.1", 0))
        port = idle.getsockname()[1]
        app = fastcore.App()
        app.register(redis, url="redis://127.0.0.1:%d/0" % port, socket_connect_timeout=2)
        with pytest.raises(FastcoreError) as info:
            run(app.ready())
    assert info.value.code == "FC_ERR_PLUGIN_BOOT"
    assert 'Plugin "redis"' in str(info.value)
    assert isinstance(info.value.__cause__, redis_py.exceptions.ConnectionError)
    assert not app.has_decorator("redis")


def test_the_client_built_from_url_is_closed_at_on_close(redis_url):
    app = fastcore.App()
    app.register(redis, url=redis_url, client_name="fc-close-test")

    async def main():
        await app.ready()
        await app.redis.ping()
        assert connections_named(redis_url, "fc-close-test") == 1
        await app.close()

    run(main())
    assert wait_connections_gone(redis_url, "fc-close-test") == 0


@pytest.mark.parametrize("close_client", [True, False])
def test_a_passed_client_is_closed_unless_close_client_is_false(redis_url, close_client):
    async def main():
        client = aioredis.Redis.from_url(redis_url, client_name="fc-passed-test")
        app = fastcore.App()
        app.register(redis, client=client, close_client=close_client)
        await app.ready()
        assert app.redis is client
        await app.close()
        if not close_client:
            assert connections_named(redis_url, "fc-passed-test") == 1
            assert await client.ping() is True     # still the caller's, still open
            await client.aclose()

    run(main())
    assert wait_connections_gone(redis_url, "fc-passed-test") == 0


def _invalid(**options) -> str:
    with pytest.raises(FastcoreError) as info:
        fastcore.App().register(redis, **options)
    assert info.value.code == "FC_ERR_INVALID_OPTION"
    assert str(info.value).startswith("redis: ")
    return str(info.value)


def test_every_option_is_checked_at_register():
    client = aioredis.Redis()
    assert "url" in _invalid(url=6379)
    assert "url 'http://127.0.0.1:6379'" in _invalid(url="http://127.0.0.1:6379")
    assert "client" in _invalid(client=redis_py.Redis())          # a sync client
    assert "url and client" in _invalid(client=client, url="redis://127.0.0.1/0")
    assert "decode_responses" in _invalid(client=client, decode_responses=True)
    assert "namespace" in _invalid(namespace="")
    assert "namespace" in _invalid(namespace=3)
    assert "close_client" in _invalid(close_client="no", client=client)
    assert "close_client=False" in _invalid(close_client=False)
    assert "no_such_keyword" in _invalid(no_such_keyword=1)
