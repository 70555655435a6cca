"""From counts to metric families: what a scrape reads.

How this works
--------------
``core_values(app)`` reads ``app.stats()`` (and ``app.channels.stats()``
when channels is registered) once and lists every core metric as
``(name, kind, help, label names, [(label values, value), ...])``. Both
modes start from that list:

- ``LocalCollector`` (one process) yields it as prometheus-client metric
  families, with the request counter and histogram built from the core's
  response counts (``stats["responses"]``, see ``App.count_responses``);
- ``CoreSync`` (several workers) copies it into prometheus-client metric
  objects, whose values go to the multiprocess files: a gauge is set, a
  counter is increased by what it grew since the last copy. It copies every
  ``SYNC_INTERVAL`` seconds and before each scrape.

Gauges of several workers add up (``livesum``), except durations, where the
slowest live worker is reported (``livemax``).
"""
from __future__ import annotations

import asyncio
from typing import Any, Iterator

from .requests import DURATION_HELP, LABELS, REQUESTS_HELP, status_label

SYNC_INTERVAL = 1.0
POLICIES = ("conflate", "drop_oldest", "disconnect")

COUNTER, GAUGE, DURATION = "counter", "gauge", "duration"


def core_values(app: Any, stats: dict | None = None) -> list[tuple]:
    """Every core (and channels) metric with its current samples."""
    if stats is None:
        stats = app.stats()
    connections = stats["connections"]
    ready = stats["ready_seconds"]
    values = [
        ("fastcore_client_errors_total", COUNTER,
         "Connections answered with a transport-level error, by kind", ("kind",),
         [((kind,), n) for kind, n in stats["client_errors"].items()]),
        ("fastcore_bad_url_total", COUNTER, "Requests whose URL could not be decoded", (),
         [((), stats["bad_urls"])]),
        ("fastcore_error_handler_invocations_total", COUNTER,
         "Error handler runs, by route pattern", ("route",),
         [((route,), n) for route, n in stats["error_handler_calls"].items()]),
        ("fastcore_open_connections", GAUGE, "Open connections (HTTP/1 and WebSocket)", (),
         [((), connections["open"])]),
        ("fastcore_keepalive_connections", GAUGE,
         "HTTP/1 connections idle between requests", (), [((), connections["keep_alive"])]),
        ("fastcore_websocket_connections", GAUGE, "Open WebSocket connections", (),
         [((), connections["websocket"])]),
        ("fastcore_plugin_boot_seconds", DURATION,
         "Seconds each plugin took to boot, its own plugins included", ("plugin",),
         [((name,), seconds) for name, seconds in stats["plugins"].items()]),
        ("fastcore_ready_duration_seconds", DURATION, "Seconds the whole ready() took", (),
         [((), ready)] if ready is not None else []),
    ]
    if app.has_decorator("channels"):
        values.extend(_channel_values(app.channels.stats()))
    return values


def _channel_values(stats: dict) -> list[tuple]:
    return [
        ("fastcore_channel_published_total", COUNTER, "Messages published", (),
         [((), stats["published"])]),
        ("fastcore_channel_delivered_total", COUNTER, "Messages delivered to subscribers", (),
         [((), stats["delivered"])]),
        ("fastcore_channel_dropped_total", COUNTER,
         "Messages a slow-consumer policy dropped, by policy", ("policy",),
         [((policy,), stats["dropped"].get(policy, 0)) for policy in POLICIES]),
        ("fastcore_channel_subscribers", GAUGE, "Current channel subscribers", (),
         [((), stats["subscribers"])]),
    ]


class LocalCollector:
    """A prometheus-client collector over one process's counts."""

    def __init__(self, app: Any, grouped: bool, skipped: set) -> None:
        self._app = app
        self._grouped = grouped
        self._skipped = skipped

    def collect(self) -> Iterator[Any]:
        stats = self._app.stats()
        yield from self._request_families(stats)
        for name, kind, help_text, label_names, samples in core_values(self._app, stats):
            yield _family(name, kind, help_text, label_names, samples)

    def _request_families(self, stats: dict) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
        from prometheus_client.utils import floatToGoString
        requests = CounterMetricFamily("http_requests_total", REQUESTS_HELP, labels=LABELS)
        duration = HistogramMetricFamily("http_request_duration_seconds", DURATION_HELP,
                                         labels=LABELS)
        edges = [floatToGoString(bound) for bound in stats["response_buckets"]] + ["+Inf"]
        for labels, (counts, total) in self._series(stats["responses"]).items():
            cumulative, buckets = 0, []
            for edge, count in zip(edges, counts):
                cumulative += count
                buckets.append((edge, cumulative))
            requests.add_metric(labels, cumulative)
            duration.add_metric(labels, buckets, total)
        yield requests
        yield duration

    def _series(self, responses: list) -> dict[tuple, tuple]:
        """``{(method, route, status label): (bucket counts, seconds)}``, the
        statuses of one class summed when grouped, excluded routes left out."""
        series: dict[tuple, tuple] = {}
        for method, route, status, tally in responses:
            if route in self._skipped:
                continue
            labels = (method, route, status_label(status, self._grouped))
            counts, total = tally.buckets, tally.total_seconds
            if labels in series:
                before, before_total = series[labels]
                counts = tuple(a + b for a, b in zip(before, counts))
                total += before_total
            series[labels] = (counts, total)
        return series


def _family(name: str, kind: str, help_text: str, label_names: tuple, samples: list) -> Any:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    cls = CounterMetricFamily if kind == COUNTER else GaugeMetricFamily
    family = cls(name, help_text, labels=label_names)
    for label_values, value in samples:
        family.add_metric(label_values, value)
    return family


class CoreSync:
    """Copies the core's counts into prometheus-client objects (several workers)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._metrics: dict[str, Any] = {}
        self._seen: dict[tuple, float] = {}     # (name, label values) -> value copied
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self.sync()
        self._timer = asyncio.get_running_loop().call_later(SYNC_INTERVAL, self._tick)

    def stop(self, app: Any = None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.sync()

    def _tick(self) -> None:
        self.sync()
        self._timer = asyncio.get_running_loop().call_later(SYNC_INTERVAL, self._tick)

    def sync(self) -> None:
        for name, kind, help_text, label_names, samples in core_values(self._app):
            metric = self._metric(name, kind, help_text, label_names)
            for label_values, value in samples:
                child = metric.labels(*label_values) if label_names else metric
                if kind == COUNTER:
                    key = (name, label_values)
                    grown = value - self._seen.get(key, 0)
                    if grown > 0:
                        child.inc(grown)
                        self._seen[key] = value
                else:
                    child.set(value)

    def _metric(self, name: str, kind: str, help_text: str, label_names: tuple) -> Any:
        metric = self._metrics.get(name)
        if metric is None:
            from prometheus_client import Counter, Gauge
            if kind == COUNTER:
                metric = Counter(name, help_text, label_names, registry=None)
            else:
                mode = "livesum" if kind == GAUGE else "livemax"
                metric = Gauge(name, help_text, label_names, registry=None,
                               multiprocess_mode=mode)
            self._metrics[name] = metric
        return metric
