"""Counting a request in its window, and the hook's synchronous path (compiled)."""
from collections import OrderedDict
from typing import Any, Awaitable, Callable

class Window:
    """One key's count in its current window, and when the window ends."""
    count: int
    reset_at: float
    def __init__(self, count: int, reset_at: float) -> None: ...

class MemoryCounter:
    """One plan's view of a namespace: its window length, limit and policy."""
    table: OrderedDict[Any, Window]
    window: float
    limit: int
    extend: bool
    cache: int
    def __init__(self, table: OrderedDict[Any, Window], window: float, limit: int,
                 extend: bool, cache: int) -> None: ...
    def hit(self, key: Any) -> tuple[int, float]:
        """Count a request of ``key``: ``(requests in the window, seconds left)``."""

class Plan:
    """How the requests of some routes are counted."""
    limit: int
    limit_value: int
    key: Callable[[Any], Any]
    allowed: Callable[[Any, Any], Any] | None
    hit: Callable[[Any], Any]
    is_async: bool
    def __init__(self, limit: int, key: Callable[[Any], Any],
                 allowed: Callable[[Any, Any], Any] | None, counter: Any,
                 is_async: bool) -> None: ...

def answer(reply: Any, plan: Plan, count: int, seconds_left: float) -> None:
    """The rate-limit headers; past the limit, ``retry-after`` and the 429 error."""

def limiter(default: Plan, lookup: Callable[[dict, Any], Plan | None],
            limit_async: Callable[[Plan, Any, Any], Awaitable[None]]
            ) -> Callable[[Any, Any], Any]:
    """The ``on_request`` hook."""
