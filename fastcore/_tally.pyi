"""Type information for fastcore/_tally.pyx: responses counted per route,
method and status, with their durations."""
from typing import Iterable

class Buckets:
    """Upper bounds of the duration buckets, in seconds (+Inf implied)."""
    size: int
    seconds: tuple[float, ...]
    def __init__(self, bounds: Iterable[float]) -> None: ...

class ResponseTally:
    """The responses of one route, method and status."""
    size: int
    total_ms: float
    @property
    def buckets(self) -> tuple[int, ...]:
        """Each bucket's own count (not cumulative), the +Inf bucket last."""
    @property
    def count(self) -> int: ...
    @property
    def total_seconds(self) -> float: ...
