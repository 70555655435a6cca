"""Counters in this process's memory, bounded.

How this works
--------------
A namespace (the plugin's default counters, a route's own, a group's) is an
``OrderedDict`` key -> ``[count, reset_at]``, ``reset_at`` on the monotonic
clock. A window is opened by inserting at the end (an expired entry is
removed first), so the table is in order of window start, and within one
namespace every window has the same length: the entries at the front are
the first to expire. Opening a window therefore drops the expired entries at
the front (each entry is dropped once: amortised O(1)), and when the table
still holds ``cache`` entries it drops the oldest window. Memory is bounded
by ``cache`` entries per namespace, and the number of namespaces by the route
table. ``continue_exceeding`` restarts a window in place and moves it to the
end, which keeps the order.

Counting a request inside its window is one dict lookup and arithmetic.
"""
from __future__ import annotations

from collections import OrderedDict
from time import monotonic as _monotonic
from typing import Any


class MemoryStore:
    """Every namespace's counters, in memory."""

    errors: tuple = ()              # nothing to fail: no store error to skip

    def __init__(self, cache: int) -> None:
        self._cache = cache
        self._tables: dict[str, OrderedDict] = {}

    def counter(self, namespace: str, window: float, limit: int,
                extend: bool) -> MemoryCounter:
        """The counter of ``namespace`` (shared by every plan that names it)."""
        table = self._tables.setdefault(namespace, OrderedDict())
        return MemoryCounter(table, window, limit, extend, self._cache)


class MemoryCounter:
    """One plan's view of a namespace: its window length, limit and policy."""

    __slots__ = ("table", "window", "limit", "extend", "cache")

    def __init__(self, table: OrderedDict, window: float, limit: int, extend: bool,
                 cache: int) -> None:
        self.table = table
        self.window = window
        self.limit = limit
        self.extend = extend
        self.cache = cache

    def hit(self, key: Any) -> tuple[int, float]:
        """Count a request of ``key``: ``(requests in the window, seconds left)``."""
        # Runs for every limited request: one lookup, a compare, an add.
        now = _monotonic()
        entry = self.table.get(key)
        if entry is None or entry[1] <= now:
            return self._open(key, now)
        count = entry[0] = entry[0] + 1
        if count > self.limit and self.extend:
            entry[1] = now + self.window
            self.table.move_to_end(key)
        return count, entry[1] - now

    def _open(self, key: Any, now: float) -> tuple[int, float]:
        table = self.table
        table.pop(key, None)
        while table:
            first = next(iter(table.values()))
            if first[1] > now:
                break
            table.popitem(last=False)
        if len(table) >= self.cache:
            table.popitem(last=False)
        table[key] = [1, now + self.window]
        return 1, self.window
