"""Hooks that only a real socket can trigger: on_request_abort."""
import asyncio
import queue
import threading

import fastcore
from tests.conftest import get, live_server


def test_on_request_abort_runs_when_the_client_leaves_mid_request():
    app = fastcore.App()
    aborted = threading.Event()
    entered = threading.Event()
    app.add_hook("on_request_abort", lambda request: aborted.set())

    @app.get("/slow")
    async def slow(request, reply):
        entered.set()
        await asyncio.sleep(5)
        return "late"

    with live_server(app) as srv:
        c = srv.client()
        c.send(get("/slow"))
        assert entered.wait(5)
        c.close()
        assert aborted.wait(5), "on_request_abort did not run"
        # The server goes on serving everyone else.
        app2 = srv.client()
        app2.send(get("/missing"))
        assert app2.read_response().status == 404


def test_route_on_request_abort_runs_for_its_route_only():
    app = fastcore.App()
    route_level = []
    aborts = queue.Queue()
    entered = threading.Event()
    app.add_hook("on_request_abort", lambda request: aborts.put(request.url))

    async def slow(request, reply):
        entered.set()
        await asyncio.sleep(1)  # outlives the abort; close() waits for it

    app.get("/with", slow, on_request_abort=lambda request: route_level.append(request.url))
    app.get("/without", slow)

    with live_server(app) as srv:
        for path in ("/without", "/with"):
            entered.clear()
            c = srv.client()
            c.send(get(path))
            assert entered.wait(5)
            c.close()
            # The app-level hook runs for both; the route's own only for /with.
            assert aborts.get(timeout=5) == path
            srv.run(lambda: None)  # the rest of that hook chain has run on the loop
            assert route_level == ([] if path == "/without" else ["/with"])
