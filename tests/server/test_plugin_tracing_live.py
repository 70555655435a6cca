"""fastcore.plugins.tracing over real sockets (SPEC §14): keep-alive requests
carrying ``traceparent``, handlers that wait while other connections are
served (traced or not, inside the plugin's context or outside it), each
seeing only its own request's span, and the server serving on."""
from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import fastcore
from fastcore.plugins import tracing
from tests.conftest import get, live_server


def traceparent(trace_id: int, span_id: int = 0x00F067AA0BA902B7) -> str:
    return "traceparent: 00-%032x-%016x-01\r\n" % (trace_id, span_id)


class Waiting:
    """A handler that notes the trace current at each step and waits for a
    gate in between; ``arrived`` tells the test thread it is waiting."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.gate: asyncio.Event | None = None
        self.notes: list[int] = []

    async def __call__(self, request, reply):
        self.gate = asyncio.Event()
        self.notes.append(current_trace_id())
        self.arrived.set()
        await self.gate.wait()
        self.notes.append(current_trace_id())
        return "released"

    def release(self, server) -> None:
        server.loop.call_soon_threadsafe(self.gate.set)


def current_trace_id() -> int:
    return trace.get_current_span().get_span_context().trace_id


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def seen_by(notes: list):
    def handler(request, reply):
        notes.append(current_trace_id())
        return "seen"
    return handler


def test_keep_alive_requests_with_traceparent_each_get_their_span(spans, caplog):
    provider, exporter = spans
    app = fastcore.App()
    app.register(tracing, tracer_provider=provider)
    tracer = provider.get_tracer("test")

    @app.get("/quotes/:symbol")
    async def quote(request, reply):
        await asyncio.sleep(0)
        with tracer.start_as_current_span("lookup"):
            return {"symbol": request.params["symbol"]}

    with caplog.at_level(logging.ERROR), live_server(app) as server:
        client = server.client()
        for i in range(1, 4):
            response = client.request(get("/quotes/BTC-%d" % i, traceparent(i)))
            assert response.status == 200 and response.header("connection") != "close"
        assert client.request(get("/missing", traceparent(9))).status == 404
        assert server.client().request(get("/quotes/ETH")).status == 200
    server_spans = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [(s.name, s.context.trace_id) for s in server_spans[:4]] == [
        ("GET /quotes/:symbol", 1), ("GET /quotes/:symbol", 2), ("GET /quotes/:symbol", 3),
        ("GET", 9)]
    for span in server_spans[:4]:
        assert span.parent.span_id == 0x00F067AA0BA902B7 and span.parent.is_remote
        assert span.attributes["server.port"] == 80      # the raw client's "Host: t"
        assert span.attributes["client.address"] == "127.0.0.1"
    assert server_spans[4].parent is None
    lookups = [s for s in exporter.get_finished_spans() if s.name == "lookup"]
    assert [s.parent.span_id for s in lookups] == [s.context.span_id for s in
                                                   server_spans if s.name != "GET"]
    assert "Failed to detach context" not in caplog.text


@pytest.mark.parametrize("after_boot", [False, True], ids=["declared-before", "declared-after"])
def test_a_waiting_handler_leaves_no_span_current_for_untraced_routes(spans, caplog,
                                                                      after_boot):
    """Tracing is registered in /api only; while an /api handler waits, a
    request to a route outside /api, on another connection, runs with no
    span current."""
    provider, exporter = spans
    waiting, outside = Waiting(), []
    app = fastcore.App()

    async def api(api, opts):
        api.register(tracing, tracer_provider=provider)
        if after_boot:
            async def routes(api, opts):
                api.get("/wait", waiting)
            api.register(routes)
        else:
            api.get("/wait", waiting)
    app.register(api, prefix="/api")
    app.get("/plain", seen_by(outside))

    with caplog.at_level(logging.ERROR), live_server(app) as server:
        first, second = server.client(), server.client()
        first.send(get("/api/wait", traceparent(7)))
        assert waiting.arrived.wait(5)
        assert second.request(get("/plain")).body == b"seen"
        waiting.release(server)
        assert first.read_response().body == b"released"
        assert second.request(get("/plain")).status == 200
    assert waiting.notes == [7, 7]
    assert outside == [0, 0]
    [span] = exporter.get_finished_spans()
    assert span.name == "GET /api/wait" and span.context.trace_id == 7
    assert "Failed to detach context" not in caplog.text


class Gated:
    """Handlers that note the trace current before and after waiting for
    their request's gate (``/…/:name``), and after one more loop turn."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.notes: dict[str, list[int]] = {}
        self.waiting = threading.Semaphore(0)
        self.gates: dict[str, asyncio.Event] = {}

    async def __call__(self, request, reply):
        name = request.params["name"]
        gate = self.gates[name] = asyncio.Event()
        notes = self.notes[name] = [current_trace_id()]
        self.waiting.release()
        await gate.wait()
        notes.append(current_trace_id())
        await asyncio.sleep(0)
        notes.append(current_trace_id())
        return name

    def release(self, server, name: str) -> None:
        server.loop.call_soon_threadsafe(self.gates[name].set)


@pytest.mark.parametrize("after_boot", [False, True], ids=["declared-before", "declared-after"])
def test_interleaved_requests_inside_and_outside_the_plugin_see_only_their_own(
        spans, caplog, after_boot):
    """Four traced requests and two requests to a route outside the plugin's
    context wait at once on six connections, while more requests (traced,
    untraced, outside) come and go; released in reverse order, each handler
    sees its own trace (or none) at every step."""
    provider, exporter = spans
    traced, outside = Gated(["t1", "t2", "t3", "t4"]), Gated(["o1", "o2"])
    quick: list[int] = []
    app = fastcore.App()

    async def api(api, opts):
        api.register(tracing, tracer_provider=provider)

        def declare(api):
            api.get("/wait/:name", traced)
            api.get("/quick", seen_by(quick))
        if after_boot:
            async def routes(api, opts):
                declare(api)
            api.register(routes)
        else:
            declare(api)
    app.register(api, prefix="/api")
    app.get("/outside/:name", outside)
    app.get("/quick", seen_by(quick))

    with caplog.at_level(logging.ERROR), live_server(app) as server:
        clients = {}
        for i, name in enumerate(["t1", "o1", "t2", "t3", "o2", "t4"]):
            clients[name] = server.client()
            if name.startswith("t"):
                clients[name].send(get("/api/wait/" + name, traceparent(int(name[1:]))))
            else:
                clients[name].send(get("/outside/" + name, traceparent(50 + i)))
            assert (traced if name.startswith("t") else outside).waiting.acquire(timeout=5)
        other = server.client()
        assert other.request(get("/api/quick", traceparent(20))).body == b"seen"
        assert other.request(get("/quick", traceparent(21))).body == b"seen"
        assert other.request(get("/api/quick")).body == b"seen"
        for name in ["t4", "o2", "t3", "t2", "o1", "t1"]:
            gated = traced if name.startswith("t") else outside
            gated.release(server, name)
            assert clients[name].read_response().body == name.encode()
            assert other.request(get("/quick")).body == b"seen"
    assert traced.notes == {"t%d" % i: [i, i, i] for i in range(1, 5)}
    assert outside.notes == {"o1": [0, 0, 0], "o2": [0, 0, 0]}
    assert quick[0] == 20 and quick[1] == 0 and quick[2] not in (0, 1, 2, 3, 4, 20)
    assert quick[3:] == [0] * 6
    names = sorted((s.context.trace_id, s.name) for s in exporter.get_finished_spans())
    assert names[:5] == [(1, "GET /api/wait/:name"), (2, "GET /api/wait/:name"),
                         (3, "GET /api/wait/:name"), (4, "GET /api/wait/:name"),
                         (20, "GET /api/quick")]
    assert len(names) == 6
    assert "Failed to detach context" not in caplog.text


@pytest.mark.parametrize("provider", ["sdk", "global-no-op"])
@pytest.mark.parametrize("after_boot", [False, True], ids=["declared-before", "declared-after"])
def test_traced_requests_interleaved_on_two_connections_see_only_their_own(spans, caplog,
                                                                          after_boot, provider):
    """With the no-op provider a request without trace headers attaches
    nothing: it must still not run in the waiting request's trace."""
    sdk, exporter = spans
    waiting, others = Waiting(), []
    app = fastcore.App()
    app.register(tracing, tracer_provider=sdk if provider == "sdk" else None)

    def declare(app):
        app.get("/wait", waiting)
        app.get("/other", seen_by(others))
    if after_boot:
        async def routes(app, opts):
            declare(app)
        app.register(routes)
    else:
        declare(app)

    with caplog.at_level(logging.ERROR), live_server(app) as server:
        first, second = server.client(), server.client()
        first.send(get("/wait", traceparent(1)))
        assert waiting.arrived.wait(5)
        assert second.request(get("/other", traceparent(2))).body == b"seen"
        assert second.request(get("/other")).body == b"seen"
        waiting.release(server)
        assert first.read_response().body == b"released"
        assert first.request(get("/other", traceparent(3))).body == b"seen"
        assert first.request(get("/other")).body == b"seen"
    assert waiting.notes == [1, 1]
    assert others[0] == 2 and others[2] == 3
    if provider == "sdk":
        assert others[1] not in (0, 1, 2) and others[3] not in (0, 1, 2, 3)
        names = sorted((s.context.trace_id, s.name) for s in exporter.get_finished_spans())
        assert names[0] == (1, "GET /wait") and (2, "GET /other") in names
    else:
        assert others[1] == others[3] == 0
        assert exporter.get_finished_spans() == ()
    assert "Failed to detach context" not in caplog.text


def test_a_client_that_goes_away_ends_the_span_as_aborted(spans, caplog):
    provider, exporter = spans
    waiting = Waiting()
    app = fastcore.App()
    app.register(tracing, tracer_provider=provider)
    app.get("/wait", waiting)
    app.get("/ok", lambda request, reply: "ok")
    with caplog.at_level(logging.ERROR), live_server(app) as server:
        client = server.client()
        client.send(get("/wait", traceparent(5)))
        assert waiting.arrived.wait(5)
        client.close()
        [span] = server.call(wait_for_spans(exporter, 1))
        waiting.release(server)
        assert server.client().request(get("/ok")).body == b"ok"
    assert [s.name for s in exporter.get_finished_spans()] == ["GET /wait", "GET /ok"]
    assert span.name == "GET /wait" and span.context.trace_id == 5
    assert span.attributes["error.type"] == "aborted"
    assert span.status.status_code.name == "ERROR"
    assert "Failed to detach context" not in caplog.text


async def wait_for_spans(exporter, count: int, timeout: float = 5.0) -> tuple:
    """The exported spans once there are ``count`` of them (polled on the
    server's loop: the abort is seen when the loop reads the socket's end)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(exporter.get_finished_spans()) < count and loop.time() < deadline:
        await asyncio.sleep(0.005)
    return exporter.get_finished_spans()
