"""listen/close over real sockets, and the command line with worker processes."""
import asyncio
import os
import signal
import time

import pytest

import fastcore
from tests.conftest import RawClient, get, live_server, start_cli, stop_cli

BODY_503 = b'{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}'


def make_app(**options):
    app = fastcore.App(**options)
    gate = {}

    @app.get("/json")
    def hello(request, reply):
        return {"hello": "world"}

    @app.get("/wait")
    async def wait(request, reply):
        gate["entered"].set()
        await gate["release"].wait()
        return "done"

    app.gate = gate
    return app


def wait_until(srv, predicate, timeout=5.0):
    """Poll a condition on the server's loop (state, not start-up)."""
    deadline = time.monotonic() + timeout
    while not srv.run(predicate):
        assert time.monotonic() < deadline, "condition not reached"
        srv.call(asyncio.sleep(0.01))


def start_close(srv):
    """Begin app.close() on the server loop without waiting for it."""
    return asyncio.run_coroutine_threadsafe(srv.app.close(), srv.loop)


def arm_gate(srv):
    async def arm():
        srv.app.gate["entered"] = asyncio.Event()
        srv.app.gate["release"] = asyncio.Event()
    srv.call(arm())
    # Whatever the test asserts, the parked handler is released before close.
    srv.app.add_release = lambda: srv.run(srv.app.gate["release"].set)


def parked_client(srv):
    """A client whose GET /wait is in flight, parked until the gate is released."""
    arm_gate(srv)
    busy = srv.client()
    busy.send(get("/wait"))
    srv.call(srv.app.gate["entered"].wait())
    return busy


def test_close_lets_in_flight_requests_finish_and_closes_idle_sockets():
    app = make_app()
    with live_server(app) as srv:
        arm_gate(srv)
        idle = srv.client()
        assert idle.request(get("/json")).status == 200
        busy = srv.client()
        busy.send(get("/wait"))
        srv.call(app.gate["entered"].wait())
        closing = start_close(srv)
        assert idle.is_closed(), "idle keep-alive socket left open on close"
        with pytest.raises(OSError):
            RawClient(srv.host, srv.port, timeout=1).request(get("/json"))
        srv.run(app.gate["release"].set)
        r = busy.read_response()
        assert r.status == 200 and r.body == b"done"
        assert r.header("connection") == "close"
        assert busy.is_closed()
        closing.result(5)


def test_new_request_on_open_connection_during_close_gets_503():
    app = make_app()
    with live_server(app) as srv:
        busy = parked_client(srv)
        late = srv.client()
        late.send(b"GET /json HTTP/1.1\r\n")  # mid-head: not idle, so not closed at once
        wait_until(srv, lambda: sum(not p.is_idle for p in app._state.connections) == 2)
        closing = start_close(srv)
        wait_until(srv, lambda: app._state.closing)
        r = late.request(b"Host: t\r\n\r\n")
        assert r.status == 503 and r.body == BODY_503
        assert r.header("content-length") == str(len(BODY_503))
        assert r.header("connection") == "close"
        assert late.is_closed()
        srv.run(app.gate["release"].set)
        assert busy.read_response().body == b"done"
        closing.result(5)


def test_force_close_connections_true_destroys_in_flight_sockets():
    app = make_app(force_close_connections=True)
    with live_server(app) as srv:
        busy = parked_client(srv)
        srv.call(app.close())
        assert busy.is_closed()
        app.add_release()


def test_close_is_idempotent():
    app = make_app()
    with live_server(app) as srv:
        srv.call(app.close())
        srv.call(app.close())


def test_listen_inside_callers_loop_and_inject_share_the_app():
    async def main():
        app = make_app()
        address = await app.listen(port=0)
        assert address.startswith("http://127.0.0.1:")
        r = await app.inject("GET", "/json")
        assert r.json() == {"hello": "world"}
        reader, writer = await asyncio.open_connection("127.0.0.1", app.addresses[0][1])
        writer.write(get("/json"))
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK")
        writer.close()
        await app.close()
    asyncio.run(main())


def _start_cli(*args):
    return start_cli("tests.server.worker_app:app", *args)


def _pid_of_worker(port):
    c = RawClient("127.0.0.1", port, timeout=5)
    try:
        return int(c.request(get("/pid", "Connection: close\r\n")).body)
    finally:
        c.close()


def _stop(proc):
    return stop_cli(proc)


def test_cli_serves_one_worker_and_stops_on_sigterm():
    proc, port = _start_cli()
    try:
        assert _pid_of_worker(port) == proc.pid
    finally:
        assert _stop(proc) == 0


@pytest.mark.slow
def test_workers_share_the_port_and_a_dead_worker_is_replaced():
    proc, port = _start_cli("--workers", "2")
    try:
        seen = set()
        deadline = time.monotonic() + 20
        while len(seen) < 2 and time.monotonic() < deadline:
            seen.add(_pid_of_worker(port))
        assert len(seen) == 2, "requests never reached a second worker"
        victim = seen.pop()
        os.kill(victim, signal.SIGKILL)
        survivors = set(seen)
        replacement = None
        deadline = time.monotonic() + 20
        while replacement is None and time.monotonic() < deadline:
            try:
                pid = _pid_of_worker(port)
            except ConnectionError:
                continue
            assert pid != victim
            if pid not in survivors:
                replacement = pid
        assert replacement is not None, "the dead worker was not replaced"
    finally:
        assert _stop(proc) == 0
    for pid in survivors | {replacement}:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_listen_twice_raises_already_listening():
    async def main():
        app = make_app()
        await app.listen(port=0)
        try:
            with pytest.raises(fastcore.errors.InstanceAlreadyListeningError):
                await app.listen(port=0)
        finally:
            await app.close()
    asyncio.run(main())


@pytest.mark.parametrize("arrival", ["whole", "head_split"])
def test_request_behind_an_in_flight_one_during_close_gets_503(arrival):
    # SPEC §1: a request that arrives on an open connection while the app closes
    # is answered 503 with Connection: close, also when it arrived behind one
    # still in flight (whole, or with its head still coming in).
    app = make_app()
    with live_server(app) as srv:
        busy = parked_client(srv)
        closing = start_close(srv)
        wait_until(srv, lambda: app._state.closing)
        (proto,) = srv.run(lambda: list(app._state.connections))
        if arrival == "whole":
            busy.send(get("/json"))
            wait_until(srv, lambda: proto.queued == 1)
        else:
            busy.send(b"GET /json HTTP/1.1\r\n")
            wait_until(srv, lambda: proto.reading and proto.queued == 0)
        srv.run(app.gate["release"].set)
        first = busy.read_response()
        assert (first.status, first.body) == (200, b"done")
        assert first.header("connection") != "close"
        if arrival == "head_split":
            busy.send(b"Host: t\r\n\r\n")
        second = busy.read_response()
        assert (second.status, second.body) == (503, BODY_503)
        assert second.header("content-length") == str(len(BODY_503))
        assert second.header("connection") == "close"
        assert busy.is_closed()
        closing.result(5)


def test_what_one_request_sets_in_a_context_variable_never_reaches_the_next():
    # The protocol's callbacks share one contextvars context; each request's
    # coroutines run in a context of their own.
    import contextvars
    tenant = contextvars.ContextVar("tenant", default="none")
    app = fastcore.App()

    @app.hook("on_request")
    async def pick_tenant(request, reply):
        if "tenant" in request.query:
            tenant.set(request.query["tenant"])

    @app.get("/tenant")
    async def show(request, reply):
        return tenant.get()

    with live_server(app) as srv:
        client = srv.client()
        assert client.request(get("/tenant?tenant=acme")).body == b"acme"
        assert client.request(get("/tenant")).body == b"none"
        other = srv.client()
        assert other.request(get("/tenant")).body == b"none"
