"""The ``metrics`` plugin (SPEC §14): Prometheus metrics on prometheus-client,
as ``fastify-metrics``.

``app.register(metrics, endpoint="/metrics", default_metrics=True,
group_status_codes=False, buckets=None, exclude=())``.

How this works
--------------
The plugin adds the ``endpoint`` route and asks the core to count every
response by route, method and status with its duration in the histogram's
buckets (``app.count_responses``): compiled code run after each response is
written, two dict reads and a few C additions, no Python call. Label
cardinality is bounded by the route table: the ``route`` label is the route
pattern, ``__not_found__`` for unmatched requests.

Everything else is read when Prometheus scrapes: the core's own counts
(``app.stats()``: connections, client errors, bad URLs, error-handler runs,
plugin boot and ``ready()`` durations) and, when ``channels`` is registered,
``app.channels.stats()``; ``export.py`` turns them into metric families.

One process (the default): a collector registered in
``app.metrics.registry`` (a registry of the app's own) builds the families
from ``app.stats()`` at each scrape; excluded routes and the endpoint are
left out there, and statuses grouped by class when asked.

Several workers (``app.run(workers=N)``): the supervisor creates a directory
and sets ``PROMETHEUS_MULTIPROC_DIR`` before forking, so prometheus-client
writes every worker's values to files there and the scrape, on whichever
worker answers it, sums the files (prometheus-client's multiprocess mode).
An ``on_response`` hook then counts each request with prometheus-client's
metric objects, bound per route, method and status on first use
(``requests.py``); the core's counts are copied
into them every second and before each scrape, so another worker's figures
are at most a second old. The process collectors (``default_metrics``)
describe one process, so multiprocess mode leaves them out.

prometheus-client is imported at boot, not when this module is: its
multiprocess mode is chosen by the environment when it is first imported,
which in a worker is after the supervisor has set it.
"""
from __future__ import annotations

import os
from numbers import Real
from typing import Any

import fastcore

__all__ = ["metrics"]

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                   7.5, 10.0)

DEFAULTS: dict[str, Any] = {
    "endpoint": "/metrics", "default_metrics": True, "group_status_codes": False,
    "buckets": None, "exclude": (),
}

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


# -- options ---------------------------------------------------------------------------

def _check_buckets(buckets: Any) -> tuple:
    if buckets is None:
        return DEFAULT_BUCKETS
    if isinstance(buckets, (str, bytes)) or not hasattr(buckets, "__iter__"):
        raise TypeError("buckets is a list of upper bounds in seconds, got %r" % (buckets,))
    bounds = tuple(buckets)
    if not bounds or any(isinstance(b, bool) or not isinstance(b, Real) for b in bounds):
        raise TypeError("buckets is a non-empty list of numbers, got %r" % (buckets,))
    if any(b <= 0 or b != b or b == float("inf") for b in bounds) or any(
            a >= b for a, b in zip(bounds, bounds[1:])):
        raise ValueError("buckets are finite positive bounds in increasing order "
                         "(+Inf is always added), got %r" % (buckets,))
    return tuple(float(b) for b in bounds)


def _check(opts: dict) -> dict:
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise TypeError("unknown option(s) %s" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    endpoint = options["endpoint"]
    if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.startswith("/")):
        raise ValueError("endpoint is a path starting with / or None, got %r" % (endpoint,))
    for name in ("default_metrics", "group_status_codes"):
        if not isinstance(options[name], bool):
            raise TypeError("%s is a bool, got %r" % (name, options[name]))
    options["buckets"] = _check_buckets(options["buckets"])
    exclude = options["exclude"]
    if isinstance(exclude, str) or not isinstance(exclude, (list, tuple, set, frozenset)) \
            or not all(isinstance(item, str) for item in exclude):
        raise TypeError("exclude is a list of route patterns, got %r" % (exclude,))
    options["exclude"] = frozenset(exclude)
    return options


# -- the plugin ------------------------------------------------------------------------

class Metrics:
    """``app.metrics``: the registry for your own metrics, prometheus-client
    itself (``client``), and the exposition.

    With several workers your metrics reach the scrape through the
    multiprocess files whatever registry they name; ``registry`` is then one
    the exposition does not read, so nothing is reported twice.
    """

    def __init__(self, registry: Any, client: Any, exposed: Any, before_scrape: Any) -> None:
        self.registry = registry
        self.client = client
        self._exposed = exposed
        self._before_scrape = before_scrape

    def expose(self, accept: str | None = None) -> tuple[bytes, str]:
        """``(body, content type)`` of a scrape, in the format ``accept`` asks for."""
        from prometheus_client.exposition import choose_encoder
        self._before_scrape()
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self._exposed), content_type


def _multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_VARIABLE))


@fastcore.plugin(name="metrics", options=_check)
async def metrics(app: Any, options: dict) -> None:
    """Count requests per route, method and status; serve them at ``endpoint``."""
    import prometheus_client

    from . import export, requests
    skipped = set(options["exclude"])
    if options["endpoint"] is not None:
        skipped.add(options["endpoint"])
    if _multiprocess():
        from prometheus_client import multiprocess
        exposed = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(exposed)
        registry = prometheus_client.CollectorRegistry()
        table = requests.SharedTable(options["buckets"], options["group_status_codes"], skipped)
        app.add_hook("on_response", table.hook())
        syncer = export.CoreSync(app)
        app.add_hook("on_ready", syncer.start)
        app.add_hook("on_close", syncer.stop)
        before_scrape = syncer.sync
    else:
        registry = exposed = prometheus_client.CollectorRegistry()
        app.count_responses(options["buckets"])
        registry.register(export.LocalCollector(app, options["group_status_codes"], skipped))
        if options["default_metrics"]:
            prometheus_client.ProcessCollector(registry=registry)
            prometheus_client.PlatformCollector(registry=registry)
            prometheus_client.GCCollector(registry=registry)
        before_scrape = _nothing
    exposition = Metrics(registry, prometheus_client, exposed, before_scrape)
    app.decorate("metrics", exposition)
    if options["endpoint"] is not None:
        app.get(options["endpoint"], _scrape_handler(exposition), schema={"hide": True})


def _nothing() -> None:
    return None


def _scrape_handler(exposition: Metrics) -> Any:
    def scrape(request: Any, reply: Any) -> bytes:
        body, content_type = exposition.expose(request.headers.get("accept"))
        reply.type(content_type)
        return body
    return scrape
