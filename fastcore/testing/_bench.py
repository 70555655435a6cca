"""Timing one route in process (request bytes in, response bytes out) and the reference.

How this works
--------------
``RouteDriver`` keeps one keep-alive connection open: a real ``HttpProtocol``
from the app's own server state, on ``_Sink``, an in-memory transport that
feeds what the protocol writes to llhttp's response parser (httptools) only
to learn when the response is complete, and its status. ``feed()`` is one
request:

1. the request bytes go to ``data_received`` while the driver's loop is
   marked as the running one, as on a server (where the loop's reader
   callback makes that call), so hooks may use ``get_running_loop()``;
2. most routes answer within that call: the protocol runs a handler's
   coroutine itself until it really has to wait (``fastcore/_tasks.py``);
3. only when the response is not complete, or the request left callbacks
   ready to run (a handler that waited, an async hook started as a task),
   the loop really runs, until the response is complete and nothing more
   is ready.

So a route that never waits costs no event-loop round trip. One that waits
pays for a ``run_until_complete`` each time (a few tens of microseconds more
than on a server's loop, which is already running): its figure includes
that, the same in every run, so its ratio still compares across runs. A connection the server
closes (``Connection: close``, ``max_requests_per_socket``) is replaced by
a new one in the next iteration, as a client would.

The reference (``Reference``) is a fixed workload that does not touch
fastcore or the app: a pure-Python loop (integer and dict work, method
calls) and ``orjson.dumps`` of a fixed payload. One sample of it is taken
just before every timed round of the case, as that round's untimed setup,
so the two are measured on the same machine in the same fraction of a
second. ``fastcore.gate`` divides the case's median by the geometric mean of
the two parts' medians.
"""
from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any, Callable

import httptools
import orjson

from ..gate import REFERENCE_ID, geomean
from ..inject import InjectResponse, build_request

SETTLE_LIMIT = 1000         # loop cycles to wait for ready callbacks after a response

_set_running_loop = asyncio.events._set_running_loop


class DriverLoop(asyncio.SelectorEventLoop):
    """The event loop of the benchmarks; it can tell whether callbacks are ready."""

    def has_ready(self) -> bool:
        # BaseEventLoop's queue of callbacks due now (unchanged since asyncio 3.4).
        return bool(self._ready)


class _Sink(asyncio.Transport):
    """The client side of the connection: parses the responses, keeps nothing
    unless `capture` is set (the first request, whose response is returned)."""

    def __init__(self, head_only: bool) -> None:
        super().__init__()
        self.head_only = head_only
        self.parser = httptools.HttpResponseParser(self)
        self.complete = False
        self.closed = False
        self.waiter: asyncio.Future | None = None
        self.capture = True
        self.status = 0
        self.headers: dict = {}
        self.body: list = []
        self.raw: list = []

    # -- transport, as the protocol sees it
    def write(self, data) -> None:
        if self.capture:
            self.raw.append(bytes(data))
        self.parser.feed_data(data)

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 80)}.get(
            name, default)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
        self._wake()

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return not self.closed

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        pass

    # -- llhttp response parser callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if self.capture:
            key = name.decode("latin-1").lower()
            old = self.headers.get(key)
            text = value.decode("latin-1")
            self.headers[key] = text if old is None else (
                old + [text] if isinstance(old, list) else [old, text])

    def on_headers_complete(self) -> None:
        if self.capture:
            self.status = self.parser.get_status_code()
        if self.head_only:
            # A HEAD response announces a body it does not send: end it here
            # and start the next response on a fresh parser.
            self.parser = httptools.HttpResponseParser(self)
            self._done()

    def on_body(self, body: bytes) -> None:
        if self.capture:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self._done()

    def _done(self) -> None:
        self.complete = True
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class RouteDriver:
    """One request, fed again and again to one app through a real protocol."""

    def __init__(self, app: Any, loop: DriverLoop, method: str, url: str, *,
                 headers: dict | None = None, query: dict | None = None,
                 payload: Any = None) -> None:
        self.app = app
        self.loop = loop
        self.raw = build_request(method, url, headers, query, payload, None)
        self.head_only = method.upper() == "HEAD"
        self.proto: Any = None
        self.sink: _Sink | None = None

    def start(self) -> InjectResponse:
        """Boot the app, open the connection, send the first request; its response."""
        self.loop.run_until_complete(self.app.ready())
        self._connect()
        sink = self.sink
        self.feed()
        sink.capture = False
        return InjectResponse(sink.status, sink.headers, b"".join(sink.body), b"".join(sink.raw))

    def _connect(self) -> None:
        if self.proto is not None:
            self.proto.connection_lost(None)
        self.sink = _Sink(self.head_only)
        self.sink.capture = self.proto is None
        self.proto = self.app._runtime(self.loop).protocol_factory()
        self.proto.connection_made(self.sink)

    def feed(self) -> None:
        """One request, bytes in to the whole response out."""
        # HOT PATH: the route_benchmark fixture (fastcore/testing/plugin.py) times this.
        sink = self.sink
        if sink.closed:
            self._connect()
            sink = self.sink
        sink.complete = False
        _set_running_loop(self.loop)
        try:
            self.proto.data_received(self.raw)
        finally:
            _set_running_loop(None)
        if not sink.complete or self.loop.has_ready():
            self.loop.run_until_complete(self._settle(sink))

    async def _settle(self, sink: _Sink) -> None:
        if not sink.complete and not sink.closed:
            sink.waiter = self.loop.create_future()
            await sink.waiter
            sink.waiter = None
        if not sink.complete:
            raise ConnectionError("the server closed the connection without a response")
        for _ in range(SETTLE_LIMIT):
            if not self.loop.has_ready():
                return
            await asyncio.sleep(0)

    def close(self) -> None:
        if self.proto is not None:
            self.proto.connection_lost(None)
            self.proto = None


# --- the reference ---------------------------------------------------------------------

_PAYLOAD = [{"symbol": "REF%02d" % i, "bid": 100.0 + i / 8, "ask": 100.25 + i / 8,
             "size": 1000 * i, "venue": "XREF", "open": i % 3 != 0} for i in range(16)]
ORJSON_CALLS = 4            # orjson.dumps of _PAYLOAD per sample (one call is ~2-3 us)


def _python_loop() -> int:
    # A fixed mix of what the interpreter spends its time on: integer
    # arithmetic, dict reads and writes, method calls (about 10-15 us).
    table: dict = {}
    total = 0
    for i in range(100):
        key = i & 31
        table[key] = table.get(key, 0) + i
        total += (i * 7) % 13
    return total + len(table)


def _dump_payload() -> bytes:
    return orjson.dumps(_PAYLOAD)


class Reference:
    """Samples of the reference workload, one taken just before each timed
    round of the case (``sample`` is that round's setup, outside its timing).

    The machine's speed changes within a fraction of a second on a shared
    host, so a reference timed before and after a case can see another
    machine than the case did; interleaved round by round, both see the same."""

    def __init__(self, timer: Callable[[], float] = time.perf_counter) -> None:
        self.timer = timer
        self.python: list = []
        self.orjson: list = []

    def sample(self) -> None:
        timer = self.timer
        start = timer()
        _python_loop()
        middle = timer()
        for _ in range(ORJSON_CALLS):
            _dump_payload()
        end = timer()
        self.python.append(middle - start)
        self.orjson.append((end - middle) / ORJSON_CALLS)

    def clear(self) -> None:
        self.python.clear()
        self.orjson.clear()

    def record(self) -> dict:
        """What a case stores: each part's median and their geometric mean."""
        python = statistics.median(self.python)
        dumps = statistics.median(self.orjson)
        return {"id": REFERENCE_ID, "seconds": geomean([python, dumps]), "python": python,
                "orjson": dumps, "rounds": len(self.python)}


def plan_rounds(feed: Callable[[], Any], reference: Reference, max_time: float,
                min_rounds: int, warmup_share: float = 0.1) -> int:
    """Warm up (reference and route in turn, for a tenth of `max_time`, at
    least 10 times) and return how many rounds of both fill the rest of
    `max_time`: at least `min_rounds`."""
    timer = reference.timer
    start = timer()
    done = 0
    while done < 10 or (timer() - start < warmup_share * max_time and done < 100_000):
        reference.sample()
        feed()
        done += 1
    spent = timer() - start
    reference.clear()
    return max(min_rounds, int((max_time - spent) / (spent / done)))
