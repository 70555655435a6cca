"""fastcore.plugins.tracing through app.inject (SPEC §14), with the OpenTelemetry
SDK's in-memory exporter behind the ``tracer_provider`` option."""
from __future__ import annotations

import asyncio
import logging

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator, default_getter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import fastcore
from fastcore.plugins import tracing
from tests.integration.helpers import refused_at_register

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
PARENT_ID = 0x00F067AA0BA902B7
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def exporter():
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def by_name(exporter) -> dict:
    return {span.name: span for span in exporter.get_finished_spans()}


def server_spans(exporter) -> list:
    return [span for span in exporter.get_finished_spans() if span.kind is SpanKind.SERVER]


async def _declare(app, opts):
    opts["declare"](app)


def traced_app(provider, declare, after_boot: bool, **options) -> fastcore.App:
    """An app with tracing; ``declare(app)`` adds the routes, before the plugin
    boots (declared on the app) or after it (in a plugin registered after it)."""
    app = fastcore.App()
    app.register(tracing, tracer_provider=provider, **options)
    if after_boot:
        app.register(_declare, declare=declare)
    else:
        declare(app)
    return app


# -- the span and its attributes ------------------------------------------------------

def test_one_server_span_named_after_the_route_with_every_attribute(provider, exporter):
    def declare(app):
        app.get("/users/:id", lambda request, reply: {"id": request.params["id"]})
    app = traced_app(provider, declare, after_boot=False)
    response = app.inject_sync("GET", "/users/42?x=1", headers={
        "user-agent": "probe/1.0", "host": "api.example:8443"})
    assert response.status_code == 200
    [span] = exporter.get_finished_spans()
    assert span.name == "GET /users/:id" and span.kind is SpanKind.SERVER
    assert dict(span.attributes) == {
        "http.request.method": "GET", "url.path": "/users/42", "url.scheme": "http",
        "http.route": "/users/:id", "http.response.status_code": 200,
        "client.address": "127.0.0.1", "server.address": "api.example",
        "server.port": 8443, "user_agent.original": "probe/1.0"}
    assert span.status.status_code is StatusCode.UNSET
    assert span.parent is None


def test_a_host_without_port_gives_the_scheme_default(provider, exporter):
    app = traced_app(provider, lambda app: app.post("/orders", lambda r, p: "ok"), False)
    app.inject_sync("POST", "/orders", headers={"host": "shop.example"}, payload="x")
    [span] = exporter.get_finished_spans()
    assert span.name == "POST /orders"
    assert span.attributes["server.address"] == "shop.example"
    assert span.attributes["server.port"] == 80
    assert span.attributes["http.request.method"] == "POST"


def test_the_parent_comes_from_traceparent_and_tracestate_is_kept(provider, exporter):
    app = traced_app(provider, lambda app: app.get("/x", lambda r, p: "ok"), False)
    app.inject_sync("GET", "/x", headers={"traceparent": TRACEPARENT,
                                         "tracestate": "vendor=abc,other=1"})
    [span] = exporter.get_finished_spans()
    assert span.context.trace_id == TRACE_ID
    assert span.parent.span_id == PARENT_ID and span.parent.is_remote
    assert span.context.span_id != PARENT_ID
    assert span.context.trace_state.get("vendor") == "abc"
    assert span.context.trace_state.get("other") == "1"


def test_a_malformed_traceparent_starts_a_new_trace(provider, exporter):
    app = traced_app(provider, lambda app: app.get("/x", lambda r, p: "ok"), False)
    app.inject_sync("GET", "/x", headers={"traceparent": "00-zz-00f067aa0ba902b7-01"})
    [span] = exporter.get_finished_spans()
    assert span.parent is None and span.context.trace_id != TRACE_ID


# -- the handler runs in the span's context -----------------------------------------

def handlers(tracer, seen: list) -> dict:
    """Handlers that each start a span of their own and note the current span."""
    def plain(request, reply):
        seen.append(trace.get_current_span())
        with tracer.start_as_current_span("work"):
            return "ok"

    async def direct(request, reply):
        seen.append(trace.get_current_span())
        with tracer.start_as_current_span("work"):
            return "ok"

    async def suspends(request, reply):
        await asyncio.sleep(0)
        seen.append(trace.get_current_span())
        with tracer.start_as_current_span("work"):
            with tracer.start_as_current_span("inner"):
                return "ok"

    async def waits_for_a_future(request, reply):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loop.call_later(0.01, future.set_result, "ok")
        result = await future
        await loop.run_in_executor(None, lambda: None)
        seen.append(trace.get_current_span())
        with tracer.start_as_current_span("work"):
            with tracer.start_as_current_span("inner"):
                return result

    return {"plain": plain, "direct": direct, "suspends": suspends,
            "waits_for_a_future": waits_for_a_future}


@pytest.mark.parametrize("after_boot", [False, True], ids=["declared-before", "declared-after"])
@pytest.mark.parametrize("kind", ["plain", "direct", "suspends", "waits_for_a_future"])
def test_spans_the_handler_starts_nest_under_the_server_span(provider, exporter, kind,
                                                             after_boot, caplog):
    seen: list = []
    handler = handlers(provider.get_tracer("test"), seen)[kind]
    app = traced_app(provider, lambda app: app.get("/h", handler), after_boot)
    with caplog.at_level(logging.ERROR):
        response = app.inject_sync("GET", "/h", headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200 and response.text == "ok"
    spans = by_name(exporter)
    server, work = spans["GET /h"], spans["work"]
    assert work.parent.span_id == server.context.span_id
    assert work.context.trace_id == server.context.trace_id == TRACE_ID
    if "inner" in spans:
        assert spans["inner"].parent.span_id == work.context.span_id
    assert seen[0].get_span_context().span_id == server.context.span_id
    assert "Failed to detach context" not in caplog.text
    assert trace.get_current_span() is trace.INVALID_SPAN


@pytest.mark.parametrize("after_boot", [False, True], ids=["declared-before", "declared-after"])
def test_a_span_kept_current_across_awaits_nests_and_detaches_cleanly(provider, exporter,
                                                                     caplog, after_boot):
    """The handler runs in the request's own context, whenever its route was
    declared: what it attaches before an await is detached after it, in the
    same context, whichever task resumed it."""
    tracer = provider.get_tracer("test")

    async def handler(request, reply):
        loop = asyncio.get_running_loop()
        with tracer.start_as_current_span("work"):
            await asyncio.sleep(0.01)
            with tracer.start_as_current_span("inner"):
                await loop.run_in_executor(None, lambda: None)
            future = loop.create_future()
            loop.call_later(0.01, future.set_result, "ok")
            return await future
    app = traced_app(provider, lambda app: app.get("/h", handler), after_boot)
    with caplog.at_level(logging.ERROR):
        assert app.inject_sync("GET", "/h").text == "ok"
        assert app.inject_sync("GET", "/h").text == "ok"
    first, second = (s for s in server_spans(exporter))
    works = [s for s in exporter.get_finished_spans() if s.name == "work"]
    inners = [s for s in exporter.get_finished_spans() if s.name == "inner"]
    assert [s.parent.span_id for s in works] == [first.context.span_id,
                                                 second.context.span_id]
    assert [s.parent.span_id for s in inners] == [s.context.span_id for s in works]
    assert first.context.trace_id != second.context.trace_id
    assert "Failed to detach context" not in caplog.text


@pytest.mark.parametrize("after_boot", [False, True], ids=["declared-before", "declared-after"])
def test_hooks_after_on_request_and_a_sync_handler_see_the_span(provider, exporter, caplog,
                                                                after_boot):
    """Sync and async hooks of every stage after on_request, and a sync
    handler after an async hook that waited, all run with the span current;
    an on_response hook runs with it before the plugin's on_response (hooks
    added before the plugin booted), without it after (added later)."""
    seen: dict[str, int] = {}

    def note(stage):
        seen[stage] = trace.get_current_span().get_span_context().span_id

    def declare(app):
        async def waits(request, reply):
            await asyncio.sleep(0.01)
            note("pre_validation")
        app.add_hook("pre_parsing", lambda request, reply: note("pre_parsing"))
        app.add_hook("pre_validation", waits)
        app.add_hook("pre_handler", lambda request, reply: note("pre_handler"))

        async def on_send(request, reply, payload):
            await asyncio.sleep(0)
            note("on_send")
            return payload
        app.add_hook("on_send", on_send)
        app.add_hook("on_response", lambda request, reply: note("on_response"))

        @app.post("/h")
        def handler(request, reply):
            note("handler")
            return {"ok": True}
    app = traced_app(provider, declare, after_boot)
    with caplog.at_level(logging.ERROR):
        assert app.inject_sync("POST", "/h", payload={"a": 1}).status_code == 200
    [server] = exporter.get_finished_spans()
    span_id = server.context.span_id
    assert seen == {"pre_parsing": span_id, "pre_validation": span_id,
                    "pre_handler": span_id, "handler": span_id, "on_send": span_id,
                    "on_response": 0 if after_boot else span_id}
    assert "Failed to detach context" not in caplog.text


def test_a_streamed_reply_ends_its_span_when_the_stream_ends(provider, exporter, caplog):
    """A streamed body is pulled by a task of its own, in a copy of the
    request's context: the span is current there, and ends (without a
    detach error) when the last chunk is out."""
    tracer = provider.get_tracer("test")

    async def chunks():
        for i in range(3):
            await asyncio.sleep(0)
            with tracer.start_as_current_span("chunk"):
                yield b"%d" % i

    def declare(app):
        app.get("/stream", lambda request, reply: reply.send(chunks()))
    app = traced_app(provider, declare, after_boot=False)
    with caplog.at_level(logging.ERROR):
        response = app.inject_sync("GET", "/stream")
    assert response.status_code == 200 and response.body == b"012"
    [server] = server_spans(exporter)
    chunk_spans = [s for s in exporter.get_finished_spans() if s.name == "chunk"]
    assert len(chunk_spans) == 3
    assert all(s.parent.span_id == server.context.span_id for s in chunk_spans)
    assert all(s.end_time <= server.end_time for s in chunk_spans)
    assert server.attributes["http.response.status_code"] == 200
    assert "Failed to detach context" not in caplog.text


def test_with_the_global_no_op_provider_the_incoming_trace_is_current():
    seen: list = []
    app = fastcore.App()
    app.register(tracing)

    async def handler(request, reply):
        await asyncio.sleep(0)
        seen.append(trace.get_current_span().get_span_context())
        return "ok"
    app.get("/x", handler)
    app.get("/y", handler)
    app.inject_sync("GET", "/x", headers={"traceparent": TRACEPARENT})
    app.inject_sync("GET", "/y")
    assert seen[0].trace_id == TRACE_ID and seen[0].span_id == PARENT_ID
    assert not seen[1].is_valid


def test_baggage_is_current_in_the_handler(provider, exporter):
    """Baggage comes with the parent: alone with a recording provider; with
    the no-op one only along with traceparent (the no-op tracer makes a span
    of a parent span only, and a request it makes none for is left alone)."""
    seen: list = []

    async def handler(request, reply):
        await asyncio.sleep(0)
        seen.append(baggage.get_baggage("tenant"))
        return "ok"
    recording = traced_app(provider, lambda app: app.get("/x", handler), False)
    no_op = fastcore.App()
    no_op.register(tracing)
    no_op.get("/x", handler)
    recording.inject_sync("GET", "/x", headers={"baggage": "tenant=acme"})
    no_op.inject_sync("GET", "/x", headers={"baggage": "tenant=acme"})
    no_op.inject_sync("GET", "/x", headers={"baggage": "tenant=acme",
                                            "traceparent": TRACEPARENT})
    assert seen == ["acme", None, "acme"]
    [span] = exporter.get_finished_spans()
    assert span.parent is None


def test_a_websocket_handler_starts_without_the_upgrade_span(provider, exporter, caplog):
    """The upgrade request's span ends with its 101 (on_response), whose
    detach leaves the WebSocket handler, started after it, no span current."""
    seen: list = []

    def declare(app):
        @app.get("/ws", websocket=True)
        async def feed(ws, request):
            seen.append(trace.get_current_span())
            await ws.send("hello")

    app = traced_app(provider, declare, after_boot=False)

    async def main():
        async with app.inject_ws("/ws", headers={"traceparent": TRACEPARENT}) as client:
            return await client.receive()

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(main()) == "hello"
    [span] = exporter.get_finished_spans()
    assert span.name == "GET /ws" and span.attributes["http.response.status_code"] == 101
    assert seen == [trace.INVALID_SPAN]
    assert "Failed to detach context" not in caplog.text


# -- statuses and errors --------------------------------------------------------------

def test_not_found_is_named_by_the_method_alone_without_a_route(provider, exporter):
    app = traced_app(provider, lambda app: app.get("/x", lambda r, p: "ok"), False)
    assert app.inject_sync("DELETE", "/nowhere").status_code == 404
    [span] = exporter.get_finished_spans()
    assert span.name == "DELETE" and "http.route" not in span.attributes
    assert span.attributes["http.response.status_code"] == 404
    assert span.attributes["url.path"] == "/nowhere"
    assert span.status.status_code is StatusCode.UNSET


def test_client_errors_are_not_span_errors(provider, exporter):
    def declare(app):
        @app.get("/teapot")
        def teapot(request, reply):
            raise fastcore.HTTPError(418)
        app.post("/strict", lambda r, p: "ok",
                 schema={"body": {"type": "object", "required": ["a"]}})
    app = traced_app(provider, declare, False)
    assert app.inject_sync("GET", "/teapot").status_code == 418
    assert app.inject_sync("POST", "/strict", payload={}).status_code == 400
    for span in exporter.get_finished_spans():
        assert span.status.status_code is StatusCode.UNSET
        assert "error.type" not in span.attributes
    assert sorted(s.attributes["http.response.status_code"]
                  for s in exporter.get_finished_spans()) == [400, 418]


def test_a_fastcore_error_5xx_is_an_error_typed_by_its_code(provider, exporter):
    schema = {"response": {200: {"type": "object", "required": ["id"],
                                 "properties": {"id": {"type": "integer"}}}}}
    app = traced_app(provider, lambda app: app.get("/bad", lambda r, p: {}, schema=schema),
                     False)
    response = app.inject_sync("GET", "/bad")
    assert response.status_code == 500
    assert response.json()["code"] == "FC_ERR_FAILED_SERIALIZATION"
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "FC_ERR_FAILED_SERIALIZATION"
    assert span.attributes["http.response.status_code"] == 500
    assert [event.name for event in span.events] == ["exception"]


@pytest.mark.parametrize("after_boot", [False, True], ids=["declared-before", "declared-after"])
def test_an_unexpected_exception_is_an_error_typed_by_its_class(provider, exporter,
                                                                 after_boot):
    class LedgerUnavailable(Exception):
        pass

    async def handler(request, reply):
        await asyncio.sleep(0)
        raise LedgerUnavailable("ledger down")
    app = traced_app(provider, lambda app: app.get("/pay", handler), after_boot)
    assert app.inject_sync("GET", "/pay").status_code == 500
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"].endswith("LedgerUnavailable")
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes["exception.message"] == "ledger down"


def test_a_5xx_answered_without_an_exception_is_typed_by_its_status(provider, exporter):
    app = traced_app(provider, lambda app: app.get("/busy", lambda r, p: p.code(503).send("")),
                     False)
    assert app.inject_sync("GET", "/busy").status_code == 503
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "503" and not span.events


# -- hook spans, exclude, options -----------------------------------------------------

def declare_with_hooks(app):
    app.add_hook("pre_handler", lambda request, reply: None)
    app.get("/h", lambda request, reply: {"ok": True})


@pytest.mark.parametrize("after_boot", [False, True], ids=["declared-before", "declared-after"])
def test_hook_spans_add_one_child_span_per_stage(provider, exporter, after_boot):
    app = traced_app(provider, declare_with_hooks, after_boot, hook_spans=True)
    assert app.inject_sync("GET", "/h").status_code == 200
    spans = by_name(exporter)
    server = spans.pop("GET /h")
    assert set(spans) == {"on_request", "pre_parsing", "pre_validation", "pre_handler",
                          "pre_serialization", "on_send"}
    for span in spans.values():
        assert span.parent.span_id == server.context.span_id
        assert span.kind is SpanKind.INTERNAL
        assert server.start_time <= span.start_time <= span.end_time <= server.end_time
    order = sorted(spans.values(), key=lambda span: span.start_time)
    assert [span.name for span in order] == ["on_request", "pre_parsing", "pre_validation",
                                             "pre_handler", "pre_serialization", "on_send"]


def test_the_pre_handler_stage_span_lasts_to_the_handler_end(provider, exporter):
    """No hook runs between the last pre_handler hook and the handler, so the
    pre_handler stage covers both, up to the next stage's hook."""
    tracer = provider.get_tracer("test")

    async def handler(request, reply):
        await asyncio.sleep(0.01)
        with tracer.start_as_current_span("work"):
            await asyncio.sleep(0.01)
        return {"ok": True}
    app = traced_app(provider, lambda app: app.get("/h", handler), False, hook_spans=True)
    assert app.inject_sync("GET", "/h").status_code == 200
    spans = by_name(exporter)
    work, stage = spans["work"], spans["pre_handler"]
    assert work.parent.span_id == spans["GET /h"].context.span_id
    assert stage.start_time <= work.start_time and work.end_time <= stage.end_time
    assert stage.end_time <= spans["pre_serialization"].start_time


def test_without_hook_spans_only_the_server_span_is_made(provider, exporter):
    app = traced_app(provider, declare_with_hooks, True)
    app.inject_sync("GET", "/h")
    assert [span.name for span in exporter.get_finished_spans()] == ["GET /h"]


def test_excluded_routes_are_not_traced(provider, exporter):
    seen: list = []

    def declare(app):
        @app.get("/health")
        async def health(request, reply):
            await asyncio.sleep(0)
            seen.append(trace.get_current_span())
            return "ok"
        app.get("/x", lambda r, p: "ok")
    for after_boot in (False, True):
        app = traced_app(provider, declare, after_boot, exclude=["/health"])
        app.inject_sync("GET", "/health", headers={"traceparent": TRACEPARENT})
        app.inject_sync("GET", "/x")
    assert [span.name for span in exporter.get_finished_spans()] == ["GET /x", "GET /x"]
    assert seen == [trace.INVALID_SPAN, trace.INVALID_SPAN]


def test_nothing_is_traced_when_the_plugin_is_not_registered(provider, exporter):
    seen: list = []
    app = fastcore.App()

    async def handler(request, reply):
        seen.append((trace.get_current_span(), hasattr(request, "_tracing")))
        return "ok"
    app.get("/x", handler)
    app.inject_sync("GET", "/x", headers={"traceparent": TRACEPARENT})
    assert exporter.get_finished_spans() == ()
    assert seen == [(trace.INVALID_SPAN, False)]


@pytest.mark.parametrize("options, message", [
    ({"hook_spans": 1}, "hook_spans is a bool"),
    ({"exclude": "/health"}, "exclude is a list of route patterns"),
    ({"exclude": ["health"]}, "exclude holds route patterns"),
    ({"tracer_provider": object()}, "tracer_provider is an OpenTelemetry TracerProvider"),
    ({"sample": 1}, "unknown option(s) sample"),
])
def test_bad_options_are_refused_at_register(options, message):
    refused_at_register(tracing, options, message)


# -- concurrency: no span current in another request ---------------------------------

@pytest.mark.parametrize("after_boot", [False, True], ids=["declared-before", "declared-after"])
def test_interleaved_requests_each_see_only_their_own_span(provider, exporter, after_boot,
                                                          caplog):
    """Five requests wait on events released in reverse order; each handler
    notes the current trace at every step, and must only ever see its own."""
    gates: dict[str, asyncio.Event] = {}
    notes: dict[str, list] = {}

    async def handler(request, reply):
        name = request.params["name"]
        notes[name] = [trace.get_current_span().get_span_context().trace_id]
        await gates[name].wait()
        notes[name].append(trace.get_current_span().get_span_context().trace_id)
        await asyncio.sleep(0)
        notes[name].append(trace.get_current_span().get_span_context().trace_id)
        return name

    app = traced_app(provider, lambda app: app.get("/wait/:name", handler), after_boot)
    names = ["r%d" % i for i in range(5)]

    async def main():
        for name in names:
            gates[name] = asyncio.Event()
        calls = [asyncio.ensure_future(app.inject(
            "GET", "/wait/" + name,
            headers={"traceparent": "00-%032x-00f067aa0ba902b7-01" % (i + 1)}))
            for i, name in enumerate(names)]
        while len(notes) < len(names):
            await asyncio.sleep(0.001)
        for name in reversed(names):
            gates[name].set()
            await asyncio.sleep(0)
        return [response.text for response in await asyncio.gather(*calls)]

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(main()) == names
    for i, name in enumerate(names):
        assert notes[name] == [i + 1] * 3, (name, notes[name])
    assert sorted(span.context.trace_id for span in server_spans(exporter)) == \
        list(range(1, 6))
    assert "Failed to detach context" not in caplog.text


class HeaderPropagator(TextMapPropagator):
    """A propagator of its own: the parent's trace and span ids in one header."""

    fields = {"x-parent"}

    def extract(self, carrier, context=None, getter=default_getter):
        value = getter.get(carrier, "x-parent")
        if not value:
            return context
        trace_id, span_id = (int(part, 16) for part in value[0].split(":"))
        parent = trace.SpanContext(trace_id, span_id, is_remote=True,
                                   trace_flags=trace.TraceFlags(1))
        return trace.set_span_in_context(trace.NonRecordingSpan(parent), context)

    def inject(self, carrier, context=None, setter=None):
        raise NotImplementedError


def test_the_parent_comes_from_the_global_propagator(provider, exporter):
    app = traced_app(provider, lambda app: app.get("/x", lambda r, p: "ok"), False)
    previous = propagate.get_global_textmap()
    propagate.set_global_textmap(HeaderPropagator())
    try:
        app.inject_sync("GET", "/x", headers={"x-parent": "abc:def"})
        app.inject_sync("GET", "/x", headers={"traceparent": TRACEPARENT})
    finally:
        propagate.set_global_textmap(previous)
    first, second = exporter.get_finished_spans()
    assert first.context.trace_id == 0xABC and first.parent.span_id == 0xDEF
    assert second.parent is None and second.context.trace_id != TRACE_ID


def test_with_the_no_op_provider_every_field_that_can_carry_a_parent_is_looked_for():
    """Two propagators, two headers that can carry the parent span: either
    one makes the incoming trace current (the no-op provider records nothing)."""
    seen: list = []
    app = fastcore.App()
    app.register(tracing)

    async def handler(request, reply):
        await asyncio.sleep(0)
        seen.append(trace.get_current_span().get_span_context())
        return "ok"
    app.get("/x", handler)
    previous = propagate.get_global_textmap()
    propagate.set_global_textmap(CompositePropagator(
        [HeaderPropagator(), TraceContextTextMapPropagator()]))
    try:
        app.inject_sync("GET", "/x", headers={"x-parent": "abc:def"})
        app.inject_sync("GET", "/x", headers={"traceparent": TRACEPARENT})
        app.inject_sync("GET", "/x", headers={"tracestate": "vendor=abc"})
    finally:
        propagate.set_global_textmap(previous)
    assert [(c.trace_id, c.span_id) for c in seen] == [(0xABC, 0xDEF),
                                                        (TRACE_ID, PARENT_ID), (0, 0)]


class CountingPropagator(CompositePropagator):
    """The default propagators, counting extractions."""

    def __init__(self) -> None:
        super().__init__([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
        self.extracted = 0

    def extract(self, carrier, context=None, getter=default_getter):
        self.extracted += 1
        return super().extract(carrier, context, getter)


def test_with_the_no_op_provider_only_traceparent_leads_to_an_extraction():
    """The no-op fast path: without traceparent (baggage alone included)
    nothing is extracted, nothing started, nothing attached."""
    app = fastcore.App()
    app.register(tracing)
    app.get("/x", lambda request, reply: "ok")
    counting = CountingPropagator()
    previous = propagate.get_global_textmap()
    propagate.set_global_textmap(counting)
    try:
        app.inject_sync("GET", "/x")
        app.inject_sync("GET", "/x", headers={"baggage": "tenant=acme",
                                              "tracestate": "vendor=abc"})
        assert counting.extracted == 0
        app.inject_sync("GET", "/x", headers={"traceparent": TRACEPARENT})
        assert counting.extracted == 1
    finally:
        propagate.set_global_textmap(previous)
