"""fastcore.plugins.postgres over real sockets and a real PostgreSQL (SPEC §13):
clients that go away mid-request leave no connection behind, and more
concurrent clients than connections are all served."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import orjson

import fastcore
from fastcore.plugins import postgres
from tests.conftest import live_server

TX = {"pg": {"transact": True}}


def prepare(dsn):
    async def main():
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute("CREATE TABLE orders (id serial PRIMARY KEY, item text)")
        finally:
            await connection.close()
    asyncio.run(main())


def items(dsn):
    async def main():
        connection = await asyncpg.connect(dsn)
        try:
            return [row[0] for row in await connection.fetch("SELECT item FROM orders ORDER BY 1")]
        finally:
            await connection.close()
    return asyncio.run(main())


def post(path: str, body: dict) -> bytes:
    data = orjson.dumps(body)
    return (b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (path.encode(), len(data))) + data


async def until(predicate, timeout=10.0):
    """Wait on the server's loop until ``predicate()`` holds (at most ``timeout`` s)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def pool_is_free(app) -> bool:
    return app.pg.get_idle_size() == app.pg.get_size()


def make_app(dsn, state, **options):
    app = fastcore.App()
    app.register(postgres, dsn=dsn, **options)
    app.add_hook("on_request_abort", lambda request: state["aborted"].set())

    @app.post("/slow", config=TX)
    async def slow(request, reply):
        state["handlers"] += 1
        await request.pg.execute("INSERT INTO orders (item) VALUES ($1)", request.body["item"])
        if request.body.get("gate"):
            state["gate"] = gate = asyncio.Event()
            state["at_gate"].set()
            await gate.wait()
            await request.pg.execute("INSERT INTO orders (item) VALUES ('after the gate')")
        if request.body.get("sleep"):
            state["sleeping"].set()         # the query is sent before the loop turns
            await request.pg.execute("SELECT pg_sleep($1)", request.body["sleep"])
        return {"ok": True}

    return app


def new_state():
    return {"aborted": threading.Event(), "at_gate": threading.Event(),
            "sleeping": threading.Event(), "handlers": 0}


def test_a_client_gone_between_queries_rolls_back_and_frees_its_connection(postgres_dsn):
    prepare(postgres_dsn)
    state = new_state()
    app = make_app(postgres_dsn, state, max_size=2)
    with live_server(app) as srv:
        client = srv.client()
        client.send(post("/slow", {"item": "abandoned", "gate": True}))
        assert state["at_gate"].wait(10)
        assert app.pg.get_idle_size() < app.pg.get_size()      # the request holds one
        client.close()
        assert state["aborted"].wait(10)
        srv.call(until(lambda: pool_is_free(app)))
        srv.run(state["gate"].set)          # the handler carries on, without its connection
        assert items(postgres_dsn) == []
        other = srv.client()
        response = other.request(post("/slow", {"item": "next"}))
        assert response.status == 200 and items(postgres_dsn) == ["next"]
        assert srv.run(pool_is_free, app)
        other.close()


def test_a_client_gone_during_a_query_frees_the_pool_slot(postgres_dsn):
    prepare(postgres_dsn)
    state = new_state()
    app = make_app(postgres_dsn, state, max_size=1)
    with live_server(app) as srv:
        client = srv.client()
        client.send(post("/slow", {"item": "abandoned", "sleep": 5}))
        assert state["sleeping"].wait(10)
        client.close()
        assert state["aborted"].wait(10)
        srv.call(until(lambda: pool_is_free(app)))
        other = srv.client()                # the only slot is usable again
        response = other.request(post("/slow", {"item": "next"}))
        assert response.status == 200 and items(postgres_dsn) == ["next"]
        other.close()


def test_a_client_gone_while_waiting_for_a_connection_gets_none_and_leaks_none(postgres_dsn):
    prepare(postgres_dsn)
    state = new_state()
    app = make_app(postgres_dsn, state, max_size=1)
    with live_server(app) as srv:
        holder = srv.client()
        holder.send(post("/slow", {"item": "holder", "gate": True}))
        assert state["at_gate"].wait(10)
        waiter = srv.client()
        waiter.send(post("/slow", {"item": "waiter"}))  # queued in acquire(): none free
        waiter.close()
        assert state["aborted"].wait(10)
        srv.run(state["gate"].set)
        response = holder.read_response()
        assert response.status == 200
        srv.call(until(lambda: pool_is_free(app)))
        assert state["handlers"] == 1       # the waiter's handler never ran
        assert items(postgres_dsn) == ["after the gate", "holder"]
        holder.close()


def test_more_concurrent_clients_than_connections_are_all_served(postgres_dsn):
    prepare(postgres_dsn)
    state = new_state()
    app = make_app(postgres_dsn, state, min_size=1, max_size=2)
    with live_server(app) as srv:
        def order(i):
            client = srv.client(timeout=30)
            try:
                return client.request(post("/slow", {"item": "o%02d" % i, "sleep": 0.02}))
            finally:
                client.close()

        with ThreadPoolExecutor(max_workers=16) as pool:
            responses = list(pool.map(order, range(16)))
        assert [r.status for r in responses] == [200] * 16
        assert items(postgres_dsn) == ["o%02d" % i for i in range(16)]
        assert srv.run(lambda: app.pg.get_size() <= 2 and pool_is_free(app))
