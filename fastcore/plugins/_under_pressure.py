"""The ``under_pressure`` plugin (SPEC §13): 503 while the process is over a limit,
as ``@fastify/under-pressure``.

``app.register(under_pressure, max_event_loop_delay=1.0,
max_event_loop_utilization=0, max_rss_bytes=0, health_check=None,
health_check_interval=5.0, retry_after=10, status_route="/status")``;
then ``app.is_under_pressure()`` and ``app.pressure()``.

How this works
--------------
A :class:`Sampler` runs a probe timer on the app's event loop every
``period`` seconds (``health_check_interval / 2``, at most 0.05 s). Each time
the probe runs it records:

- its *lateness*: how long after its due time it ran. While the loop runs
  other code (a callback, a handler that blocks in ``time.sleep``), the
  timer cannot fire, so a loop blocked for B seconds makes some probe late
  by at least B - ``period``;
- the loop thread's CPU time since the previous probe
  (``time.thread_time()``, read on the loop's own thread).

Every ``health_check_interval`` seconds the probe publishes the samples of
the interval just ended, then starts the next one from zero:

- ``event_loop_delay``: the greatest lateness seen in the interval, in
  seconds;
- ``event_loop_utilization``: the share of the interval the loop was busy.
  Neither asyncio nor uvloop tells, through a public API, how long the loop
  waited for I/O, so this is an estimate: for each probe period, the loop
  was busy for at least its thread's CPU time (the loop thread uses no CPU
  while it waits for I/O) and at least the probe's lateness (time it was
  kept from running, CPU or not: blocking calls included); the estimate sums
  the greater of the two over the periods of the interval and divides by
  the interval's length (capped at 1). It counts what a loop-thread CPU
  profile and the timer's lateness can see; a loop kept busy by many short
  blocking calls (no CPU, each shorter than a probe period) is undercounted;
- ``rss_bytes``: the resident set size now (``/proc/self/statm``; where
  there is no ``/proc``, the peak RSS from ``getrusage``);
- ``health_check``: the result of ``health_check()`` (sync or async; truthy
  when healthy; an error or a check slower than the interval counts as
  unhealthy). It runs at start and once per interval.

The app is under pressure while a published sample is over its limit (0
disables a limit) or the last health check failed. The plugin's
``on_request`` hook then answers ``FC_ERR_UNDER_PRESSURE`` (503) with
``Retry-After``; otherwise it costs one attribute test per request.
``status_route`` answers ``{"status": "ok"}``, or the same 503.

The sampler starts at ``ready()`` (``on_ready``, which waits for the first
health check) and, if the app then listens on another loop, again there
(``on_listen``); ``on_close`` stops it: no timer or task is left behind.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import os
import sys
import time
from numbers import Real
from typing import Any, Callable

import fastcore
from fastcore.errors import FastcoreError

__all__ = ["under_pressure", "UnderPressureError"]

log = logging.getLogger("fastcore")


class UnderPressureError(FastcoreError):
    """A request arrived while the app was over one of under_pressure's limits."""

    code = "FC_ERR_UNDER_PRESSURE"
    status_code = 503
    default_message = "Service Unavailable"


DEFAULTS: dict[str, Any] = {
    "max_event_loop_delay": 1.0, "max_event_loop_utilization": 0, "max_rss_bytes": 0,
    "health_check": None, "health_check_interval": 5.0, "retry_after": 10,
    "status_route": "/status",
}
_PROBE_PERIOD = 0.05    # the longest probe period: the delay's resolution, in seconds


# -- options ---------------------------------------------------------------------------

def _number(options: dict, name: str, least: float, above: bool = False) -> None:
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, Real) or (
            value <= least if above else value < least):
        raise ValueError("%s is a number %s %g, got %r"
                         % (name, ">" if above else ">=", least, value))


def _check(opts: dict) -> dict:
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise TypeError("unknown option(s) %s" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    _number(options, "max_event_loop_delay", 0)
    _number(options, "max_event_loop_utilization", 0)
    if options["max_event_loop_utilization"] > 1:
        raise ValueError("max_event_loop_utilization is a share between 0 and 1, got %r"
                         % (options["max_event_loop_utilization"],))
    rss = options["max_rss_bytes"]
    if isinstance(rss, bool) or not isinstance(rss, int) or rss < 0:
        raise ValueError("max_rss_bytes is an int >= 0, got %r" % (rss,))
    if options["health_check"] is not None and not callable(options["health_check"]):
        raise TypeError("health_check is a function () -> bool, got %r"
                        % (options["health_check"],))
    _number(options, "health_check_interval", 0, above=True)
    retry = options["retry_after"]
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        raise ValueError("retry_after is an int of seconds >= 0, got %r" % (retry,))
    route = options["status_route"]
    if route is not None and (not isinstance(route, str) or not route.startswith("/")):
        raise ValueError("status_route is a path starting with '/' or None, got %r" % (route,))
    return options


# -- resident memory -------------------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# getrusage's ru_maxrss is in KiB on Linux, in bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024


def rss_bytes() -> int:
    """The resident set size of this process (the peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        import resource         # POSIX only; Linux always has /proc
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _MAXRSS_UNIT


# -- the sampler -----------------------------------------------------------------------

class Sampler:
    """The probe timer, the samples of the last interval, and the verdict."""

    def __init__(self, options: dict) -> None:
        self.max_delay: float = options["max_event_loop_delay"]
        self.max_utilization: float = options["max_event_loop_utilization"]
        self.max_rss: int = options["max_rss_bytes"]
        self.health_check: Callable | None = options["health_check"]
        self.interval = float(options["health_check_interval"])
        self.period = min(_PROBE_PERIOD, self.interval / 2)
        self.under = False
        self.delay = 0.0
        self.utilization = 0.0
        self.rss = 0
        self.healthy = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._check_task: asyncio.Task | None = None
        self._closed = False
        self._reset(time.monotonic())

    # -- start and stop ------------------------------------------------------------------
    async def start(self) -> None:
        """Sample on the running loop (once per loop), after a first sample now."""
        loop = asyncio.get_running_loop()
        if self._closed or (self._loop is loop and self._timer is not None):
            return
        self.stop_timer()
        self._loop = loop
        now = time.monotonic()
        self._reset(now)
        self._next_sample = now + self.interval
        self.rss = rss_bytes()
        self._schedule(now)             # first: a second start() on this loop is a no-op
        self.healthy = await self._run_check()
        self._decide()

    def stop_timer(self) -> None:
        """Cancel the probe and a running health check (nothing to do on a closed loop)."""
        if self._timer is not None and not self._loop.is_closed():
            self._timer.cancel()
        self._timer = None
        task, self._check_task = self._check_task, None
        if task is not None and not task.done() and not task.get_loop().is_closed():
            task.cancel()

    async def close(self, app: Any = None) -> None:
        """``on_close``: no more samples, no timer or task left."""
        self._closed = True
        task = self._check_task
        self.stop_timer()
        if task is not None and task.get_loop() is asyncio.get_running_loop():
            await asyncio.gather(task, return_exceptions=True)

    # -- the probe -----------------------------------------------------------------------
    def _reset(self, now: float) -> None:
        self._interval_start = now
        self._max_late = 0.0
        self._busy = 0.0
        self._last = now
        self._cpu = time.thread_time()

    def _schedule(self, now: float) -> None:
        self._due = now + self.period
        self._timer = self._loop.call_later(self.period, self._probe)

    def _probe(self) -> None:
        now = time.monotonic()
        cpu = time.thread_time()
        late = now - self._due
        if late > self._max_late:
            self._max_late = late
        # The period's busy time is at least its CPU time and at least the
        # lateness; never more than the period's wall time.
        self._busy += min(now - self._last, max(cpu - self._cpu, late, 0.0))
        self._last, self._cpu = now, cpu
        if now >= self._next_sample:
            self._publish(now)
        self._schedule(now)

    def _publish(self, now: float) -> None:
        elapsed = now - self._interval_start
        self.delay = self._max_late
        self.utilization = min(1.0, self._busy / elapsed) if elapsed > 0 else 0.0
        self.rss = rss_bytes()
        self._reset(now)
        self._next_sample = now + self.interval
        if self.health_check is not None and self._check_task is None:
            self._check_task = self._loop.create_task(self._check_later())
        self._decide()

    # -- the health check ----------------------------------------------------------------
    async def _run_check(self) -> bool:
        """The health check's verdict: falsy, raising or slower than the interval fails."""
        if self.health_check is None:
            return True
        try:
            async with asyncio.timeout(self.interval):
                result = self.health_check()
                if inspect.isawaitable(result):
                    result = await result
        except Exception as exc:
            log.error("under_pressure: the health check failed: %r", exc)
            return False
        if not result:
            log.error("under_pressure: the health check reported unhealthy")
        return bool(result)

    async def _check_later(self) -> None:
        try:
            self.healthy = await self._run_check()
            self._decide()
        finally:
            self._check_task = None

    # -- the verdict ---------------------------------------------------------------------
    def _decide(self) -> None:
        under = (not self.healthy
                 or (self.max_delay > 0 and self.delay > self.max_delay)
                 or (self.max_utilization > 0 and self.utilization > self.max_utilization)
                 or (self.max_rss > 0 and self.rss > self.max_rss))
        entering = under and not self.under
        self.under = under
        if entering:
            log.warning("under_pressure: over a limit, answering 503: %s", self.samples())

    def is_under_pressure(self) -> bool:
        """Whether requests are answered 503 now."""
        return self.under

    def samples(self) -> dict[str, Any]:
        """The samples of the last interval (delay in seconds, utilization 0 to 1)."""
        return {"event_loop_delay": self.delay, "event_loop_utilization": self.utilization,
                "rss_bytes": self.rss, "health_check": self.healthy,
                "under_pressure": self.under}


# -- the plugin ------------------------------------------------------------------------

def make_hook(sampler: Sampler, retry_after: int) -> Callable:
    """The ``on_request`` hook: one attribute test while all is well."""
    def on_request(request: Any, reply: Any) -> None:
        if sampler.under:
            reply.header("retry-after", retry_after)
            raise UnderPressureError()
    return on_request


def make_status(sampler: Sampler, retry_after: int) -> Callable:
    """The ``status_route`` handler."""
    def status(request: Any, reply: Any) -> dict:
        if sampler.under:
            reply.header("retry-after", retry_after)
            raise UnderPressureError()
        return {"status": "ok"}
    return status


@fastcore.plugin(name="under_pressure", options=_check)
async def under_pressure(app: Any, options: dict) -> None:
    """Answer 503 while the event loop, the memory or the health check is over a limit."""
    sampler = Sampler(options)
    app.add_hook("on_close", sampler.close)
    app.decorate("is_under_pressure", sampler.is_under_pressure)
    app.decorate("pressure", sampler.samples)
    app.add_hook("on_ready", sampler.start)
    app.add_hook("on_listen", sampler.start)
    app.add_hook("on_request", make_hook(sampler, options["retry_after"]))
    if options["status_route"] is not None:
        app.get(options["status_route"], make_status(sampler, options["retry_after"]))
