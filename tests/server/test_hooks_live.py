"""Hooks that only a real socket can trigger: on_request_abort."""
import asyncio
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
