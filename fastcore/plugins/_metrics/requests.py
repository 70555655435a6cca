"""Counting each request by route, method and status with prometheus-client's
objects: the multiprocess mode's hook (one process reads the core's own
counts instead, ``App.count_responses``).

How this works
--------------
A table maps ``id(request.route_config)`` (one dict per route record, kept
for the app's life) to ``{method: {status: cell}}``, a cell holding the
counter and histogram children of those labels, which write to the
multiprocess files. The hook reads three dicts and updates the cell; a level
that is missing sends the request to ``_first``, which creates it (or marks
an excluded route) and counts the request. So the children of a route,
method and status are bound once, on their first request, and never looked
up by their labels again.
"""
from __future__ import annotations

from typing import Any, Callable

NOT_FOUND = "__not_found__"

REQUESTS_HELP = "Requests answered, by method, route pattern and status code"
DURATION_HELP = "Time from the request's first byte to its response written, in seconds"
LABELS = ("method", "route", "status_code")

_SKIP: dict = {}            # the methods of a route that is not counted: always empty


def status_label(status: int, grouped: bool) -> str:
    return "%dxx" % (status // 100) if grouped else str(status)


class Table:
    """The route -> method -> status levels, over cells a subclass makes and updates."""

    def __init__(self, buckets: tuple, grouped: bool, skipped: set) -> None:
        self.buckets = buckets
        self.grouped = grouped
        self.skipped = skipped
        self.by_route: dict[int, dict] = {}
        self.labels: dict[int, str] = {}        # id(route config) -> route label

    def _first(self, request: Any, reply: Any) -> None:
        """Create what the request's labels lack, then count it."""
        key = id(request.route_config)
        methods = self.by_route.get(key)
        if methods is None:
            route = request.route_url or NOT_FOUND
            methods = _SKIP if route in self.skipped else {}
            self.by_route[key] = methods
            self.labels[key] = route
        if methods is _SKIP:
            return None
        statuses = methods.setdefault(request.method, {})
        status = reply.status_code
        cell = statuses.get(status)
        if cell is None:
            cell = statuses[status] = self.new_cell(
                request.method, self.labels[key], status_label(status, self.grouped))
        self.update(cell, reply)
        return None

    def new_cell(self, method: str, route: str, status: str) -> Any:
        raise NotImplementedError

    def update(self, cell: Any, reply: Any) -> None:
        raise NotImplementedError


class SharedTable(Table):
    """Counts written through prometheus-client's objects (multiprocess files)."""

    def __init__(self, buckets: tuple, grouped: bool, skipped: set) -> None:
        from prometheus_client import Counter, Histogram
        super().__init__(buckets, grouped, skipped)
        self.requests = Counter("http_requests_total", REQUESTS_HELP, LABELS, registry=None)
        self.duration = Histogram("http_request_duration_seconds", DURATION_HELP, LABELS,
                                  buckets=buckets, registry=None)

    def new_cell(self, method: str, route: str, status: str) -> tuple:
        return (self.requests.labels(method, route, status),
                self.duration.labels(method, route, status))

    def update(self, cell: tuple, reply: Any) -> None:
        cell[0].inc()
        cell[1].observe(reply.elapsed_time / 1000.0)

    def hook(self) -> Callable[[Any, Any], None]:
        by_route = self.by_route
        first = self._first

        def on_response(request: Any, reply: Any) -> None:
            methods = by_route.get(id(request.route_config))
            if methods is None:
                return first(request, reply)
            statuses = methods.get(request.method)
            if statuses is None:
                return first(request, reply)
            cell = statuses.get(reply.status_code)
            if cell is None:
                return first(request, reply)
            cell[0].inc()
            cell[1].observe(reply.elapsed_time / 1000.0)
            return None
        return on_response
