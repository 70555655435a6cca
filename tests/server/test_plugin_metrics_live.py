"""fastcore.plugins.metrics on real sockets (SPEC §14): the connection gauges
and client-error counters seen from outside, and several workers' counts summed
by whichever worker answers the scrape. Read back with prometheus-client's parser."""
from __future__ import annotations

import os
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

import fastcore
from fastcore.plugins import metrics
from tests.conftest import RawClient, get, live_server, start_cli, stop_cli

def values(text):
    """``{(sample name, sorted label items): value}`` of an exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(host, port):
    client = RawClient(host, port)
    try:
        response = client.request(get("/metrics", "Connection: close\r\n"))
        assert response.status == 200
        return values(response.body.decode())
    finally:
        client.close()


def make_app(**options):
    app = fastcore.App(**options)
    app.register(metrics)

    @app.get("/json")
    def json_route(request, reply):
        return {"hello": "world"}

    @app.get("/ws", websocket=True)
    async def echo(ws, request):
        async for message in ws:
            await ws.send(message)
    return app


def test_open_keep_alive_and_websocket_gauges_follow_the_sockets():
    with live_server(make_app()) as srv:
        idle = [srv.client() for _ in range(2)]
        for client in idle:
            assert client.request(get("/json")).status == 200
        with connect("ws://%s:%d/ws" % (srv.host, srv.port)) as ws:
            ws.send("hi")
            assert ws.recv() == "hi"
            seen = scrape(srv.host, srv.port)
            # The scraping connection is open and busy; the two others idle.
            assert seen[("fastcore_open_connections", ())] == 4
            assert seen[("fastcore_keepalive_connections", ())] == 2
            assert seen[("fastcore_websocket_connections", ())] == 1
        for client in idle:
            client.close()
        # Closed sockets leave the gauges once the server saw them go.
        deadline = time.monotonic() + 10
        while True:
            seen = scrape(srv.host, srv.port)
            if seen[("fastcore_open_connections", ())] == 1 or time.monotonic() > deadline:
                break
        assert seen[("fastcore_open_connections", ())] == 1
        assert seen[("fastcore_websocket_connections", ())] == 0
        assert seen[("http_requests_total", (("method", "GET"), ("route", "/json"),
                                             ("status_code", "200")))] == 2


def test_client_errors_are_counted_by_kind_and_the_server_serves_on():
    app = make_app(header_timeout=0.3, max_header_size=1024)
    with live_server(app) as srv:
        malformed = srv.client()
        malformed.send(b"GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n")
        assert malformed.read_response().status == 400
        overflow = srv.client()
        overflow.send(get("/json", "X-Big: %s\r\n" % ("a" * 4096)))
        assert overflow.read_response().status == 431
        slow = srv.client()
        slow.send(b"GET /json HTTP/1.1\r\nHost: t\r\n")        # the head never ends
        assert slow.read_response().status == 408
        for client in (malformed, overflow, slow):
            client.close()
        seen = scrape(srv.host, srv.port)
        for kind in ("timeout", "header_overflow", "error"):
            assert seen[("fastcore_client_errors_total", (("kind", kind),))] == 1, kind


# -- several workers ----------------------------------------------------------------

def start_workers(workers):
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return start_cli("tests.server.metrics_app:app", "--workers", str(workers), env=env)


def metrics_dirs():
    import tempfile
    return {name for name in os.listdir(tempfile.gettempdir())
            if name.startswith("fastcore-metrics-")}


@pytest.mark.slow
def test_any_worker_reports_the_sum_over_all_workers():
    before = metrics_dirs()
    proc, port = start_workers(2)
    try:
        pids = []
        for i in range(40):           # a new connection each: the kernel spreads them
            client = RawClient("127.0.0.1", port)
            try:
                pids.append(int(client.request(get("/pid", "Connection: close\r\n")).body))
            finally:
                client.close()
            client = RawClient("127.0.0.1", port)
            try:
                assert client.request(get("/items/%d" % i, "Connection: close\r\n")).status == 200
            finally:
                client.close()
        assert len(set(pids)) == 2, "the requests never reached a second worker"
        key = ("http_requests_total", (("method", "GET"), ("route", "/pid"),
                                       ("status_code", "200")))
        boot = ("fastcore_plugin_boot_seconds", (("plugin", "metrics"),))
        items = ("http_requests_total", (("method", "GET"), ("route", "/items/:id"),
                                         ("status_code", "200")))
        order = (b"POST /orders HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
                 b"Connection: close\r\n\r\n")
        for _ in range(20):
            for request, status in ((get("/items/%ff", "Connection: close\r\n"), 400),
                                    (order, 200)):
                client = RawClient("127.0.0.1", port)
                try:
                    assert client.request(request).status == status
                finally:
                    client.close()
        scraped_by = set()
        deadline = time.monotonic() + 20
        while len(scraped_by) < 2 and time.monotonic() < deadline:
            # /pid then /metrics on one keep-alive connection: one worker answers both.
            client = RawClient("127.0.0.1", port)
            try:
                pids.append(int(client.request(get("/pid")).body))
                response = client.request(get("/metrics"))
            finally:
                client.close()
            seen = values(response.body.decode())
            # Every worker's requests so far, whichever worker answers the scrape.
            assert seen[key] == len(pids)
            assert seen[items] == 40
            assert seen[("orders_total", ())] == 20       # the app's own, once
            assert seen[boot] > 0
            scraped_by.add(pids[-1])
        assert len(scraped_by) == 2, "no scrape reached the second worker"
        # The core's own counts reach the other workers' files within a second.
        bad_urls = ("fastcore_bad_url_total", ())
        deadline = time.monotonic() + 10
        while scrape("127.0.0.1", port)[bad_urls] < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scrape("127.0.0.1", port)[bad_urls] == 20
    finally:
        assert stop_cli(proc) == 0
    assert metrics_dirs() == before, "the supervisor left its metrics directory behind"
