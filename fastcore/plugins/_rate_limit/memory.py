"""Counters in this process's memory, bounded.

A namespace (the plugin's default counters, a route's own, a group's) is one
``OrderedDict`` of windows, shared by every plan that names it; each plan
counts in it through a :class:`~.window.MemoryCounter` with its own window
length, limit and policy (``window`` says how the table stays bounded).
"""
from __future__ import annotations

from collections import OrderedDict

from .window import MemoryCounter


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
