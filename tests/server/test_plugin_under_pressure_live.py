"""fastcore.plugins.under_pressure on a live server (uvloop's loop where installed):
a handler that blocks the loop, memory over a tiny limit, a failing health check
(SPEC §13)."""
from __future__ import annotations

import asyncio
import threading
import time

from tests.conftest import get, live_server
from tests.integration.test_plugin_under_pressure import BODY_503, make_app


def poll(client, path, wanted, seconds=10.0):
    """Request ``path`` until the status is ``wanted``; the responses seen."""
    seen = []
    deadline = time.monotonic() + seconds
    while not seen or seen[-1].status != wanted:
        assert time.monotonic() < deadline, [r.status for r in seen]
        seen.append(client.request(get(path)))
    return seen


def assert_unavailable(response, retry_after):
    assert response.status == 503 and response.body == BODY_503
    assert response.header("retry-after") == retry_after
    assert response.header("content-length") == str(len(response.body))


def test_a_blocked_loop_gets_503s_then_the_server_recovers():
    app = make_app(max_event_loop_delay=0.2, health_check_interval=1.0, retry_after=3)
    with live_server(app) as srv:
        client = srv.client()
        assert client.request(get("/")).status == 200
        assert client.request(get("/sleep?s=1.5")).body == b"slept"
        # The first probe after the block ran 1.5 s late and, the interval being
        # over, published it: 503s for the next interval.
        assert_unavailable(poll(client, "/", 503)[-1], "3")
        assert_unavailable(client.request(get("/status")), "3")
        assert srv.run(app.pressure)["event_loop_delay"] >= 1.4
        recovered = poll(client, "/", 200)
        assert recovered[-1].body == b"home"
        assert client.request(get("/status")).body == b'{"status":"ok"}'
        assert srv.run(app.is_under_pressure) is False
        client.close()


def test_a_tiny_rss_limit_answers_503_on_every_connection():
    app = make_app(max_rss_bytes=1024)
    with live_server(app) as srv:
        for _ in range(2):
            client = srv.client()
            assert_unavailable(client.request(get("/")), "10")
            assert_unavailable(client.request(get("/status")), "10")
            client.close()
        assert srv.run(app.pressure)["rss_bytes"] > 1024


def test_a_failing_health_check_then_a_passing_one_and_none_after_close():
    healthy = threading.Event()
    calls = []

    async def check():
        calls.append(time.monotonic())
        return healthy.is_set()

    app = make_app(health_check=check, health_check_interval=0.05)
    with live_server(app) as srv:
        client = srv.client()
        assert_unavailable(client.request(get("/")), "10")
        healthy.set()
        assert poll(client, "/status", 200)[-1].body == b'{"status":"ok"}'
        assert client.request(get("/")).body == b"home"
        client.close()
        srv.call(app.close())
        stopped = len(calls)
        # The loop runs on for four intervals: no health check runs after close.
        srv.call(asyncio.sleep(0.2))
        assert len(calls) == stopped >= 2
