"""fastcore.plugins.postgres through app.inject, against a real PostgreSQL (SPEC §13)."""
from __future__ import annotations

import asyncio
import socket

import asyncpg
import pytest

import fastcore
from fastcore.plugins import postgres
from tests.integration.helpers import refused_at_register

SCHEMA = """
CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL);
CREATE TABLE codes (code text,
                    CONSTRAINT one_code UNIQUE (code) DEFERRABLE INITIALLY DEFERRED);
"""


def run(coro):
    return asyncio.run(coro)


async def prepare(dsn):
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(SCHEMA)
    finally:
        await connection.close()


async def items(dsn, table="orders", column="item"):
    """What the database holds, read over a connection of the test's own."""
    connection = await asyncpg.connect(dsn)
    try:
        return [row[0] for row in await connection.fetch(
            "SELECT %s FROM %s ORDER BY 1" % (column, table))]
    finally:
        await connection.close()


def transactional_app(dsn, **options):
    app = fastcore.App()
    app.register(postgres, dsn=dsn, **options)
    tx = {"pg": {"transact": True}}

    @app.post("/orders", config=tx)
    async def create(request, reply):
        await request.pg.execute("INSERT INTO orders (item) VALUES ($1)", request.body["item"])
        if request.body.get("fail"):
            raise RuntimeError("the handler failed after its insert")
        if request.body.get("refuse"):
            return reply.code(409).send({"refused": True})
        return {"in_transaction": request.pg.is_in_transaction()}

    @app.post("/validated", config=tx, schema={
        "body": {"type": "object", "required": ["item"],
                 "properties": {"item": {"type": "string"}}}})
    async def validated(request, reply):
        await request.pg.execute("INSERT INTO orders (item) VALUES ($1)", request.body["item"])
        return {"ok": True}

    @app.post("/codes", config=tx)
    async def codes(request, reply):
        for code in request.body["codes"]:
            await request.pg.execute("INSERT INTO codes (code) VALUES ($1)", code)
        return {"ok": True}

    @app.get("/plain")
    async def plain(request, reply):
        return {"pg": request.pg, "one": await app.pg.fetchval("SELECT 1")}

    return app


def idle_is_full(app):
    return app.pg.get_idle_size() == app.pg.get_size()


def test_app_pg_is_an_asyncpg_pool_with_transact(postgres_dsn):
    async def main():
        app = fastcore.App()
        app.register(postgres, dsn=postgres_dsn, min_size=2, max_size=4)
        await app.ready()
        try:
            assert isinstance(app.pg, asyncpg.Pool)
            assert (app.pg.get_min_size(), app.pg.get_max_size()) == (2, 4)
            assert app.pg.get_size() == 2                 # min_size opened at boot
            assert await app.pg.fetchval("SELECT $1::int + 1", 41) == 42
            async with app.pg.acquire() as connection:
                assert await connection.fetchval("SELECT current_database()") \
                    == postgres_dsn.rsplit("/", 1)[1]
        finally:
            await app.close()
        assert app.pg.is_closing()

    run(main())


def test_transact_commits_what_fn_did_and_returns_its_result(postgres_dsn):
    async def main():
        await prepare(postgres_dsn)
        app = fastcore.App()
        app.register(postgres, dsn=postgres_dsn)
        await app.ready()
        try:
            async def insert(connection):
                assert connection.is_in_transaction()
                await connection.execute("INSERT INTO orders (item) VALUES ('a')")
                return await connection.fetchval("SELECT count(*) FROM orders")

            assert await app.pg.transact(insert) == 1
            # A sync fn that returns an awaitable.
            status = await app.pg.transact(
                lambda connection: connection.execute("INSERT INTO orders (item) VALUES ('b')"))
            assert status == "INSERT 0 1"
            assert await items(postgres_dsn) == ["a", "b"]

            async def fail(connection):
                await connection.execute("INSERT INTO orders (item) VALUES ('c')")
                raise LookupError("rolled back")

            with pytest.raises(LookupError, match="rolled back"):
                await app.pg.transact(fail)
            assert await items(postgres_dsn) == ["a", "b"]
            assert idle_is_full(app)
        finally:
            await app.close()

    run(main())


def test_a_transactional_route_commits_when_the_handler_succeeds(postgres_dsn):
    async def main():
        await prepare(postgres_dsn)
        app = transactional_app(postgres_dsn)
        try:
            response = await app.inject("POST", "/orders", payload={"item": "kept"})
            assert (response.status_code, response.json()) == (200, {"in_transaction": True})
            assert await items(postgres_dsn) == ["kept"]
            assert idle_is_full(app)
        finally:
            await app.close()

    run(main())


def test_a_transactional_route_rolls_back_when_the_handler_raises_or_answers_an_error(
        postgres_dsn):
    async def main():
        await prepare(postgres_dsn)
        app = transactional_app(postgres_dsn)
        try:
            response = await app.inject("POST", "/orders", payload={"item": "x", "fail": 1})
            assert response.status_code == 500
            response = await app.inject("POST", "/orders", payload={"item": "y", "refuse": 1})
            assert (response.status_code, response.json()) == (409, {"refused": True})
            assert await items(postgres_dsn) == []
            assert idle_is_full(app)
            response = await app.inject("POST", "/orders", payload={"item": "z"})
            assert response.status_code == 200 and await items(postgres_dsn) == ["z"]
        finally:
            await app.close()

    run(main())


def test_a_failing_commit_answers_the_error_not_a_success(postgres_dsn):
    async def main():
        await prepare(postgres_dsn)
        app = transactional_app(postgres_dsn)
        try:
            # The deferred unique constraint is checked at COMMIT, after the handler.
            response = await app.inject("POST", "/codes", payload={"codes": ["a", "a"]})
            assert response.status_code == 500
            assert await items(postgres_dsn, "codes", "code") == []
            assert idle_is_full(app)
            response = await app.inject("POST", "/codes", payload={"codes": ["a", "b"]})
            assert response.status_code == 200
            assert await items(postgres_dsn, "codes", "code") == ["a", "b"]
        finally:
            await app.close()

    run(main())


def test_a_request_refused_by_validation_holds_no_connection(postgres_dsn):
    async def main():
        await prepare(postgres_dsn)
        app = transactional_app(postgres_dsn, min_size=0, max_size=1)
        seen = []
        app.add_hook("on_send", lambda request, reply, payload: seen.append(request.pg))
        try:
            response = await app.inject("POST", "/validated", payload={"other": 1})
            assert response.status_code == 400
            assert app.pg.get_size() == 0                 # nothing was ever acquired
            assert seen == [None]
        finally:
            await app.close()

    run(main())


def test_routes_without_the_config_have_no_request_pg(postgres_dsn):
    async def main():
        app = transactional_app(postgres_dsn)
        try:
            response = await app.inject("GET", "/plain")
            assert response.json() == {"pg": None, "one": 1}
        finally:
            await app.close()

    run(main())


def test_more_concurrent_requests_than_max_size_all_complete(postgres_dsn):
    async def main():
        await prepare(postgres_dsn)
        app = transactional_app(postgres_dsn, min_size=1, max_size=3)
        try:
            await app.ready()
            responses = await asyncio.gather(*(
                app.inject("POST", "/orders", payload={"item": "o%02d" % i, "fail": i % 4 == 0})
                for i in range(24)))
            assert sorted(r.status_code for r in responses) == [200] * 18 + [500] * 6
            assert await items(postgres_dsn) == ["o%02d" % i for i in range(24) if i % 4]
            assert app.pg.get_size() <= 3 and idle_is_full(app)
        finally:
            await app.close()

    run(main())


def test_namespaced_pools_sit_beside_the_default_one(postgres_dsn):
    async def main():
        await prepare(postgres_dsn)
        app = fastcore.App()
        app.register(postgres, dsn=postgres_dsn, max_size=2)
        app.register(postgres, dsn=postgres_dsn, namespace="audit", max_size=1,
                     server_settings={"application_name": "audit-pool"})

        @app.post("/audited", config={"pg": {"transact": "audit"}})
        async def audited(request, reply):
            await request.pg.execute("INSERT INTO orders (item) VALUES ('audited')")
            name = await request.pg.fetchval("SELECT current_setting('application_name')")
            return {"name": name}

        await app.ready()
        try:
            assert isinstance(app.pg, asyncpg.Pool) and isinstance(app.pg["audit"], asyncpg.Pool)
            assert app.pg["audit"] is not app.pg and app.pg["audit"].get_max_size() == 1
            with pytest.raises(KeyError):
                app.pg["nope"]
            response = await app.inject("POST", "/audited")
            assert response.json() == {"name": "audit-pool"}
            assert await items(postgres_dsn) == ["audited"]
            assert await app.pg["audit"].transact(
                lambda connection: connection.fetchval("SELECT 7")) == 7
        finally:
            await app.close()
        assert app.pg.is_closing() and app.pg["audit"].is_closing()

    run(main())


def test_only_namespaced_pools_make_app_pg_a_mapping(postgres_dsn):
    async def main():
        app = fastcore.App()
        app.register(postgres, dsn=postgres_dsn, namespace="primary")
        app.register(postgres, dsn=postgres_dsn, namespace="replica")
        await app.ready()
        try:
            assert sorted(app.pg) == ["primary", "replica"] and "primary" in app.pg
            assert await app.pg["replica"].fetchval("SELECT 2") == 2
            with pytest.raises(AttributeError, match="namespaced pools"):
                app.pg.fetchval
        finally:
            await app.close()

    run(main())


def test_a_second_pool_without_namespace_is_refused(postgres_dsn):
    async def main():
        app = fastcore.App()
        app.register(postgres, dsn=postgres_dsn)
        app.register(postgres, dsn=postgres_dsn)
        with pytest.raises(fastcore.errors.PluginBootError) as info:
            await app.ready()
        assert isinstance(info.value.__cause__, fastcore.errors.DecAlreadyPresentError)
        await app.close()

    run(main())


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_postgresql_fails_the_boot_with_the_drivers_error():
    async def main():
        app = fastcore.App()
        app.register(postgres, dsn="postgresql://nobody@127.0.0.1:%d/none" % closed_port())
        with pytest.raises(fastcore.errors.PluginBootError) as info:
            await app.ready()
        assert info.value.code == "FC_ERR_PLUGIN_BOOT" and '"postgres"' in str(info.value)
        assert isinstance(info.value.__cause__, OSError)      # connection refused
        await app.close()

    run(main())


def test_wrong_credentials_fail_the_boot_with_asyncpgs_error(postgres_dsn):
    async def main():
        app = fastcore.App()
        app.register(postgres, dsn=postgres_dsn.rsplit("/", 1)[0] + "/no_such_database")
        with pytest.raises(fastcore.errors.PluginBootError) as info:
            await app.ready()
        assert isinstance(info.value.__cause__, asyncpg.InvalidCatalogNameError)
        await app.close()

    run(main())


@pytest.mark.parametrize("options, message", [
    ({"dsn": "mysql://u@h/db"}, "dsn"),
    ({"dsn": 5432}, "dsn"),
    ({"min_size": -1}, "min_size"),
    ({"min_size": "1"}, "min_size"),
    ({"max_size": 0}, "max_size"),
    ({"max_size": True}, "max_size"),
    ({"min_size": 5, "max_size": 2}, "min_size"),
    ({"namespace": ""}, "namespace"),
    ({"namespace": 3}, "namespace"),
    ({"pool_size": 3}, "unknown option"),
])
def test_bad_options_are_refused_at_register(options, message):
    refused_at_register(postgres, options, message)


def test_a_dsn_is_never_echoed_in_an_option_error():
    app = fastcore.App()
    with pytest.raises(fastcore.errors.InvalidOptionError) as info:
        app.register(postgres, dsn="mysql://user:s3cret@host/db")
    assert "s3cret" not in str(info.value)


def test_asyncpg_keywords_pass_through_to_the_pool(postgres_dsn):
    async def main():
        app = fastcore.App()
        app.register(postgres, dsn=postgres_dsn, command_timeout=30,
                     server_settings={"application_name": "fastcore-tests"},
                     max_inactive_connection_lifetime=60.0)
        await app.ready()
        try:
            assert await app.pg.fetchval("SELECT current_setting('application_name')") \
                == "fastcore-tests"
        finally:
            await app.close()

    run(main())


def test_a_bad_pg_route_config_is_refused(postgres_dsn):
    async def main():
        app = fastcore.App()
        app.register(postgres, dsn=postgres_dsn)
        app.post("/early", lambda request, reply: "ok", config={"pg": {"transact": 1}})

        async def later(child, opts):
            with pytest.raises(ValueError, match="transact"):
                child.post("/late", lambda request, reply: "ok", config={"pg": "yes"})
            child.post("/fine", lambda request, reply: "ok", config={"pg": {"transact": False}})

        app.register(later)
        await app.ready()
        try:
            assert (await app.inject("POST", "/early")).status_code == 500
            assert (await app.inject("POST", "/fine")).text == "ok"
            assert idle_is_full(app)
        finally:
            await app.close()

    run(main())


def test_a_websocket_upgrade_on_a_transactional_route_holds_no_connection(postgres_dsn):
    async def main():
        app = fastcore.App()
        app.register(postgres, dsn=postgres_dsn, min_size=0, max_size=1)

        async def talk(ws, request):
            await ws.send({"pg": request.pg is None})

        app.route("GET", "/live", lambda request, reply: {"in_tx": request.pg is not None},
                  ws_handler=talk, config={"pg": {"transact": True}})
        await app.ready()
        try:
            async with app.inject_ws("/live") as client:
                assert await client.receive_json() == {"pg": True}
            assert app.pg.get_size() == 0                 # never acquired
            assert (await app.inject("GET", "/live")).json() == {"in_tx": True}
            assert idle_is_full(app)
        finally:
            await app.close()

    run(main())
