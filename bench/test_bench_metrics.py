"""Scrape time: ``/metrics`` of an app with 1,000 routes, each seen once.

The app declares the GitHub-shaped table's 1,000 routes with the ``metrics``
plugin registered; one request to each (outside the timing) gives 1,000
``http_requests_total`` series and 1,000 histograms of 15 buckets. The timed
call is one scrape through the endpoint (``app.inject``): reading the core's
counts, building the metric families and writing the text exposition.

    python -m pytest bench/test_bench_metrics.py --benchmark-only -q
"""
from __future__ import annotations

import asyncio
import re

import fastcore
from bench.routes_table import large_table
from fastcore.plugins import metrics

ROUTES = large_table()[:1000]


def handler(request, reply):
    return {"ok": True}


def concrete(url: str) -> str:
    """A path the route pattern matches (each param and wildcard filled in)."""
    return re.sub(r":\w+|\*", "x", url)


def scraped_app():
    app = fastcore.App()
    app.register(metrics)
    for method, url in ROUTES:
        app.route(method, url, handler)
    loop = asyncio.new_event_loop()

    async def visit():
        for method, url in ROUTES:
            response = await app.inject(method, concrete(url))
            assert response.status_code == 200, (method, url, response.status_code)
    loop.run_until_complete(visit())
    return app, loop


def test_scrape_1000_routes(benchmark):
    app, loop = scraped_app()

    def scrape():
        return loop.run_until_complete(app.inject("GET", "/metrics"))
    response = benchmark(scrape)
    assert response.status_code == 200
    assert response.text.count("http_requests_total{") == len(ROUTES)
    loop.close()
