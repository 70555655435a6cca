"""fastcore.plugins.metrics through app.inject (SPEC §14), the exposition read
back with prometheus-client's own parser."""
from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

import fastcore
from fastcore.plugins import metrics
from tests.integration.helpers import refused_at_register


def scrape(app, **headers):
    response = app.inject_sync("GET", "/metrics", headers=headers or None)
    assert response.status_code == 200
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def sample(families, family, name, **labels):
    """The value of the one sample ``name`` whose labels include ``labels``."""
    found = [s.value for s in families[family].samples
             if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, families[family].samples)
    return found[0]


def requests_of(families, **labels):
    return sample(families, "http_requests", "http_requests_total", **labels)


def make_app(**options):
    app = fastcore.App()
    app.register(metrics, **options)

    @app.get("/users/:id")
    def user(request, reply):
        return {"id": request.params["id"]}

    @app.post("/users")
    def create(request, reply):
        reply.code(201)
        return {"ok": True}

    @app.get("/boom")
    def boom(request, reply):
        raise ValueError("boom")

    @app.get("/slow")
    async def slow(request, reply):
        await asyncio.sleep(0.03)
        return "late"
    return app


def test_requests_counted_by_method_route_pattern_and_status():
    app = make_app()
    for path in ("/users/1", "/users/2", "/users/3"):
        app.inject_sync("GET", path)
    app.inject_sync("HEAD", "/users/4")
    app.inject_sync("POST", "/users", payload={})
    app.inject_sync("GET", "/boom")
    app.inject_sync("GET", "/nowhere")
    app.inject_sync("GET", "/also/nowhere")
    families = scrape(app)
    assert requests_of(families, method="GET", route="/users/:id", status_code="200") == 3
    assert requests_of(families, method="HEAD", route="/users/:id", status_code="200") == 1
    assert requests_of(families, method="POST", route="/users", status_code="201") == 1
    assert requests_of(families, method="GET", route="/boom", status_code="500") == 1
    assert requests_of(families, method="GET", route="__not_found__", status_code="404") == 2
    routes = {s.labels["route"] for s in families["http_requests"].samples}
    assert routes == {"/users/:id", "/users", "/boom", "__not_found__"}   # not /metrics


def test_the_endpoint_is_not_counted_even_after_many_scrapes():
    app = make_app()
    for _ in range(3):
        families = scrape(app)
    assert "http_requests" not in families or not families["http_requests"].samples


def test_duration_histogram_buckets_are_cumulative_and_match_the_count():
    app = make_app(buckets=[0.01, 0.02, 5])
    app.inject_sync("GET", "/users/1")
    app.inject_sync("GET", "/slow")
    families = scrape(app)
    histogram = "http_request_duration_seconds"
    fast = {"method": "GET", "route": "/users/:id", "status_code": "200"}
    slow = {"method": "GET", "route": "/slow", "status_code": "200"}
    assert [sample(families, histogram, histogram + "_bucket", le=le, **fast)
            for le in ("0.01", "0.02", "5.0", "+Inf")] == [1, 1, 1, 1]
    assert [sample(families, histogram, histogram + "_bucket", le=le, **slow)
            for le in ("0.01", "0.02", "5.0", "+Inf")] == [0, 0, 1, 1]
    assert sample(families, histogram, histogram + "_count", **slow) == 1
    assert 0.03 <= sample(families, histogram, histogram + "_sum", **slow) < 5
    assert 0 < sample(families, histogram, histogram + "_sum", **fast) < 0.01


def test_group_status_codes_labels_by_class():
    app = make_app(group_status_codes=True)
    app.inject_sync("GET", "/users/1")
    app.inject_sync("POST", "/users", payload={})
    app.inject_sync("GET", "/nowhere")
    families = scrape(app)
    assert requests_of(families, method="GET", route="/users/:id", status_code="2xx") == 1
    assert requests_of(families, method="POST", route="/users", status_code="2xx") == 1
    assert requests_of(families, method="GET", route="__not_found__", status_code="4xx") == 1


def test_exclude_leaves_those_routes_uncounted():
    app = make_app(exclude=["/users/:id"])
    app.inject_sync("GET", "/users/1")
    app.inject_sync("GET", "/boom")
    families = scrape(app)
    assert {s.labels["route"] for s in families["http_requests"].samples} == {"/boom"}


def test_error_handler_invocations_and_bad_urls_are_counted():
    app = make_app()

    @app.get("/handled")
    def handled(request, reply):
        raise fastcore.errors.FastcoreError("nope")
    app.inject_sync("GET", "/boom")
    app.inject_sync("GET", "/boom")
    app.inject_sync("GET", "/handled")
    app.inject_sync("GET", "/users/%ff")
    families = scrape(app)
    calls = "fastcore_error_handler_invocations"
    assert sample(families, calls, calls + "_total", route="/boom") == 2
    assert sample(families, calls, calls + "_total", route="/handled") == 1
    assert sample(families, calls, calls + "_total", route="/users/:id") == 0
    assert sample(families, "fastcore_bad_url", "fastcore_bad_url_total") == 1


def test_plugin_boot_seconds_name_plugins_registered_before_and_after_metrics():
    app = fastcore.App()

    @fastcore.plugin(name="early")
    async def early(app, opts):
        await asyncio.sleep(0.02)

    @fastcore.plugin(name="late")
    async def late(app, opts):
        await asyncio.sleep(0.01)
    app.register(early)
    app.register(metrics)
    app.register(late)
    families = scrape(app)
    boot = "fastcore_plugin_boot_seconds"
    assert sample(families, boot, boot, plugin="early") >= 0.02
    assert sample(families, boot, boot, plugin="late") >= 0.01
    assert sample(families, boot, boot, plugin="metrics") > 0
    ready = sample(families, "fastcore_ready_duration_seconds", "fastcore_ready_duration_seconds")
    assert ready >= 0.03


def test_connection_gauges_are_present_without_traffic():
    families = scrape(make_app())
    for name in ("fastcore_open_connections", "fastcore_keepalive_connections",
                 "fastcore_websocket_connections"):
        assert families[name].type == "gauge"
    assert sample(families, "fastcore_websocket_connections",
                  "fastcore_websocket_connections") == 0
    kinds = {s.labels["kind"] for s in families["fastcore_client_errors"].samples
             if s.name.endswith("_total")}
    assert kinds == {"timeout", "header_overflow", "error"}


def test_default_metrics_add_the_process_collectors_and_can_be_turned_off():
    assert "process_cpu_seconds" in scrape(make_app())
    assert "process_cpu_seconds" not in scrape(make_app(default_metrics=False))


def test_openmetrics_when_the_scraper_asks_for_it():
    app = make_app()
    app.inject_sync("GET", "/users/1")
    response = app.inject_sync("GET", "/metrics",
                               headers={"accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def test_own_metrics_in_the_registry_are_exposed():
    app = make_app()
    app.inject_sync("GET", "/users/1")        # boots the plugin
    counter = app.metrics.client.Counter("orders", "Orders taken",
                                         registry=app.metrics.registry)
    counter.inc(3)
    assert sample(scrape(app), "orders", "orders_total") == 3


def test_another_endpoint_or_none():
    app = make_app(endpoint="/internal/metrics")
    assert app.inject_sync("GET", "/internal/metrics").status_code == 200
    assert app.inject_sync("GET", "/metrics").status_code == 404
    app = make_app(endpoint=None)
    assert app.inject_sync("GET", "/metrics").status_code == 404
    body, content_type = app.metrics.expose()
    assert content_type.startswith("text/plain") and b"http_requests_total" in body


@pytest.mark.parametrize("options, message", [
    ({"endpoint": "metrics"}, "endpoint"), ({"endpoint": 5}, "endpoint"),
    ({"default_metrics": "yes"}, "default_metrics"),
    ({"group_status_codes": 1}, "group_status_codes"), ({"buckets": []}, "buckets"),
    ({"buckets": [0.5, 0.1]}, "increasing"), ({"buckets": [0, 1]}, "positive"),
    ({"buckets": ["1"]}, "numbers"), ({"buckets": [1, float("inf")]}, "finite"),
    ({"exclude": "/users"}, "exclude"), ({"exclude": [1]}, "exclude"),
    ({"unknown": True}, "unknown"),
])
def test_bad_options_are_refused_at_register(options, message):
    refused_at_register(metrics, options, message)


def test_channel_metrics_when_channels_is_registered():
    from fastcore.plugins import channels
    app = fastcore.App()
    app.register(channels)
    app.register(metrics)

    @app.get("/ws", websocket=True)
    async def feed(ws, request):
        await app.channels.subscribe(ws, "ticks")
        await ws.send("subscribed")
        async for _ in ws:
            pass

    async def main():
        await app.ready()
        async with app.inject_ws("/ws") as one, app.inject_ws("/ws") as two:
            for client in (one, two):
                assert await client.receive() == "subscribed"
            for i in range(3):
                await app.channels.publish("ticks", i)
            for client in (one, two):
                assert [await client.receive() for _ in range(3)] == ["0", "1", "2"]
            response = await app.inject("GET", "/metrics")
        await app.close()
        return {f.name: f for f in text_string_to_metric_families(response.text)}

    families = asyncio.run(main())
    assert sample(families, "fastcore_channel_published", "fastcore_channel_published_total") == 3
    assert sample(families, "fastcore_channel_delivered", "fastcore_channel_delivered_total") == 6
    assert sample(families, "fastcore_channel_subscribers", "fastcore_channel_subscribers") == 2
    for policy in ("conflate", "drop_oldest", "disconnect"):
        assert sample(families, "fastcore_channel_dropped", "fastcore_channel_dropped_total",
                      policy=policy) == 0


def test_no_channel_metrics_without_channels():
    assert "fastcore_channel_published" not in scrape(make_app())
