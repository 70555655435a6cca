"""The ``tracing`` plugin (SPEC §14): one OpenTelemetry SERVER span per request.

``app.register(tracing, tracer_provider=None, hook_spans=False, exclude=())``.

How this works
--------------
The plugin uses the OpenTelemetry API only; spans are recorded by whatever
``tracer_provider`` is, or by the global provider when it is None (the API's
no-op until the application sets one). Request hooks go to the context the
plugin is registered in, ahead of the hooks registered after it (register it
first, at the root, to trace every request):

- ``on_request``: the parent is what the global propagator extracts from the
  headers (W3C ``traceparent``/``tracestate`` and ``baggage`` by default),
  looked for only when one of the propagator's fields is there; otherwise
  the parent is the empty context, never whatever happens to be current.
  The span is named ``"GET /users/:id"`` (the method alone for a request no
  route matched), started as SERVER, kept on the request, and its context
  attached. A route listed in ``exclude`` gets nothing.
- ``on_error`` keeps the error; ``on_response`` sets the status code and, for
  a 5xx, status ERROR with ``error.type`` (the ``FC_ERR_*`` code, else the
  exception's class name, else the status), ends the span and detaches its
  context; ``on_request_abort`` ends it with ``error.type`` ``"aborted"``.

fastcore runs every hook and the handler of a request in a
``contextvars.Context`` of the request's own (its tasks get it as their
context), so what ``on_request`` attaches is current for the rest of that
request, sync or async, before and after each ``await``, whatever route
the handler belongs to and whenever it was declared, and for no other
request. Nothing has to be released for that: the request's context goes
with the request. The detach in ``on_response`` is tidiness (the hooks after
it and a WebSocket handler start without the ended span); it is made only
when ``on_response`` runs in the context ``on_request`` attached in (not in
the copy a streamed reply's task runs in, where it would fail), which a
token of ``_ATTACHED`` taken along with the attachment tells.

Attributes are computed only for a provider that is not the no-op one, and
given when the span starts (so samplers see them). With the no-op provider
(known at boot, ``ready()``, ``listen()`` and every second while serving) a
request without ``traceparent`` costs the two hook calls and one header
probe (one per propagator field that can carry a parent span: nothing else
makes the no-op tracer start a span); with it the no-op tracer hands back the
incoming span, whose context is attached as a real span's would be, so
outgoing calls from the handler carry the caller's trace on.

``hook_spans=True`` adds a child span per lifecycle stage, started by the
plugin's hook of that stage and ended by its next one: ``on_request``,
``pre_parsing`` (and the body parse), ``pre_validation`` (and validation),
``pre_handler`` (the ``pre_handler`` hooks and the handler: no hook runs
between the last of them and the handler, so a handler span of its own
would need the handler wrapped), ``pre_serialization`` (JSON payloads),
``on_send`` (up to the end of the response).
"""
from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterable
from typing import Any, Callable

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.trace import INVALID_SPAN, SpanKind, Status, StatusCode
except ImportError as exc:          # pragma: no cover - depends on the environment
    raise ImportError('the tracing plugin needs the OpenTelemetry API: '
                      'pip install "fastcore-http[tracing]"') from exc

import fastcore

__all__ = ["tracing"]

DEFAULTS: dict[str, Any] = {"tracer_provider": None, "hook_spans": False, "exclude": ()}

_ROOT = otel_context.Context()
_SERVER = SpanKind.SERVER
_METHODS = frozenset(("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
                      "TRACE"))
_STAGES = ("on_request", "pre_parsing", "pre_validation", "pre_handler",
           "pre_serialization", "on_send")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_RECHECK = 1.0          # seconds between two looks at the global provider, while serving

# Set by on_request along with the attachment: resetting it succeeds only in
# the contextvars.Context it was set in, which is where the detach may be made.
_ATTACHED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "fastcore_tracing_attached", default=False)


# -- options -------------------------------------------------------------------------

def _check(opts: dict) -> dict:
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise TypeError("unknown option(s) %s" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    provider = options["tracer_provider"]
    if provider is not None and not callable(getattr(provider, "get_tracer", None)):
        raise TypeError("tracer_provider is an OpenTelemetry TracerProvider or None, got %r"
                        % (provider,))
    if not isinstance(options["hook_spans"], bool):
        raise TypeError("hook_spans is a bool, got %r" % (options["hook_spans"],))
    exclude = options["exclude"]
    if isinstance(exclude, str) or not isinstance(exclude, Iterable):
        raise TypeError("exclude is a list of route patterns, got %r" % (exclude,))
    exclude = tuple(exclude)
    if not all(isinstance(url, str) and url.startswith(("/", "*")) for url in exclude):
        raise ValueError("exclude holds route patterns such as '/health', got %r"
                         % (exclude,))
    options["exclude"] = frozenset(exclude)
    return options


# -- one request's trace --------------------------------------------------------------

class _Trace:
    """The server span of one request, its context (attached where the
    request runs), and what ends it."""

    __slots__ = ("span", "ctx", "token", "attached", "error", "ended", "tracer", "stage")

    def __init__(self, span: Any, ctx: otel_context.Context, tracer: Any) -> None:
        self.span = span
        self.ctx = ctx
        self.token = otel_context.attach(ctx)
        self.attached: contextvars.Token | None = _ATTACHED.set(True)
        self.error: BaseException | None = None
        self.ended = False
        self.tracer = tracer
        self.stage: Any = None

    def detach(self) -> None:
        """Detach the span's context, once, if this runs in the request's
        context; in a copy of it (a streamed reply's task) there is nothing to
        undo: the copy goes with its task."""
        attached = self.attached
        if attached is None:
            return
        try:
            _ATTACHED.reset(attached)
        except ValueError:
            return
        self.attached = None
        otel_context.detach(self.token)

    def begin_stage(self, name: str | None) -> None:
        """End the running stage span (if any) and start the one named ``name``."""
        stage = self.stage
        if stage is not None:
            stage.end()
        self.stage = None if name is None else self.tracer.start_span(name, self.ctx)

    def finish(self, reply: Any) -> None:
        """End the span with the reply's status (``reply`` None: the client went away)."""
        if self.ended:
            return
        self.ended = True
        span = self.span
        if span.is_recording():
            if self.stage is not None:
                self.begin_stage(None)
            if reply is None:
                span.set_attribute("error.type", "aborted")
                span.set_status(Status(StatusCode.ERROR, "aborted"))
            else:
                status = reply.status_code
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    self.fail(span, status)
        span.end()

    def abort(self) -> None:
        self.finish(None)

    def fail(self, span: Any, status: int) -> None:
        error = self.error
        if error is None:
            kind = str(status)
        else:
            code = getattr(error, "code", None)
            kind = code if isinstance(code, str) and code.startswith("FC_ERR_") \
                else type(error).__qualname__
            span.record_exception(error)
        span.set_attribute("error.type", kind)
        span.set_status(Status(StatusCode.ERROR, kind))


def _server_address(request: Any, scheme: str) -> tuple[str | None, int | None]:
    """``(host, port)`` from the Host header (or the trusted X-Forwarded-Host)."""
    host = request.hostname
    if not host:
        return None, None
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and (not name.startswith("[") or name.endswith("]")):
        return name.strip("[]"), int(port)
    return host.strip("[]"), _DEFAULT_PORTS.get(scheme)


def _attributes(request: Any, route: str | None) -> dict[str, Any]:
    """The HTTP server semantic-convention attributes known when the request starts."""
    method = request.method
    scheme = request.protocol
    attrs: dict[str, Any] = {
        "http.request.method": method if method in _METHODS else "_OTHER",
        "url.path": request.path, "url.scheme": scheme,
    }
    if method not in _METHODS:
        attrs["http.request.method_original"] = method
    if route is not None:
        attrs["http.route"] = route
    client = request.ip
    if client:
        attrs["client.address"] = client
    host, port = _server_address(request, scheme)
    if host:
        attrs["server.address"] = host
    if port is not None:
        attrs["server.port"] = port
    agent = request.headers.get("user-agent")
    if agent:
        attrs["user_agent.original"] = agent
    return attrs


def _trace_of(request: Any) -> _Trace | None:
    """The request's trace (kept on the request: ``on_request_abort`` runs
    outside the request's context)."""
    return getattr(request, "_tracing", None)


# -- the hooks ------------------------------------------------------------------------

class Tracer:
    """The plugin's state: the tracer, the options, what the propagator reads."""

    def __init__(self, options: dict) -> None:
        self.provider = options["tracer_provider"]
        self.hook_spans: bool = options["hook_spans"]
        self.exclude: frozenset = options["exclude"]
        self.tracer: Any = None
        self.noop = True
        self.propagator: Any = None
        self.probes: tuple = ()
        self.span_probes: tuple = ()
        self.noop_probe: str | None = None
        self.watch: asyncio.TimerHandle | None = None
        self.resolve()

    def resolve(self) -> None:
        """Look up the tracer, whether it is the no-op one, and the header
        fields of the global propagator (at boot, at ready and listen, then
        every ``_RECHECK`` seconds while serving: a global provider or
        propagator set later is picked up then)."""
        provider = self.provider
        if provider is None:
            provider = trace.get_tracer_provider()
        noop = isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))
        if self.tracer is None or (self.noop and not noop):
            self.tracer = provider.get_tracer("fastcore", getattr(fastcore, "__version__", None))
        self.noop = noop
        propagator = propagate.get_global_textmap()
        if propagator is not self.propagator:
            fields = tuple(field.lower() for field in propagator.fields)
            # W3C Trace Context reads tracestate only along with a valid
            # traceparent: a request with tracestate alone has nothing to extract.
            self.probes = tuple(f for f in fields if f != "tracestate") or fields
            # The no-op tracer makes a span only of a parent span (it hands that
            # back), which W3C baggage never carries: a request with baggage
            # alone has nothing to propagate through it.
            self.span_probes = tuple(f for f in self.probes if f != "baggage")
            self.propagator = propagator
        # The one header the no-op path looks for, when there is one (no loop).
        spans = self.span_probes
        self.noop_probe = spans[0] if noop and len(spans) == 1 else None

    def start_watch(self) -> None:
        """``on_listen``: resolve now, and again every ``_RECHECK`` seconds."""
        self.resolve()
        if self.watch is None:
            loop = asyncio.get_running_loop()
            self.watch = loop.call_later(_RECHECK, self.tick, loop)

    def tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.resolve()
        self.watch = loop.call_later(_RECHECK, self.tick, loop)

    def stop_watch(self, app: Any) -> None:
        """``on_close``."""
        if self.watch is not None:
            self.watch.cancel()
            self.watch = None

    def parent(self, request: Any) -> otel_context.Context:
        """The context the propagator extracts from the headers, or the empty
        one when none of its fields is there."""
        get_header = request.get_header
        for field in self.probes:
            if get_header(field) is not None:
                return self.propagator.extract(request.headers, _ROOT)
        return _ROOT

    def may_have_parent(self, request: Any) -> bool:
        """Whether one of the headers that can carry a parent span is there."""
        get_header = request.get_header
        for field in self.span_probes:
            if get_header(field) is not None:
                return True
        return False

    def start(self, request: Any) -> bool:
        """Start the request's span, keep it on the request and attach its
        context (current for the rest of the request); False when there is
        nothing to record or propagate (or the route is excluded)."""
        route = request.route_url
        if route in self.exclude:
            return False
        parent = self.parent(request)
        # Given at the start, the attributes are seen by the sampler too (and
        # checked once); the no-op tracer would drop them unread.
        span = self.tracer.start_span(
            request.method if route is None else request.method + " " + route,
            parent, _SERVER, None if self.noop else _attributes(request, route))
        if span is INVALID_SPAN:
            return False
        state = request._tracing = _Trace(span, trace.set_span_in_context(span, parent),
                                          self.tracer)
        if self.hook_spans:
            state.begin_stage("on_request")
        return True

    @staticmethod
    def on_error(request: Any, reply: Any, error: BaseException) -> None:
        state = _trace_of(request)
        if state is not None:
            state.error = error

    @staticmethod
    def on_request_abort(request: Any) -> None:
        state = _trace_of(request)
        if state is not None:
            state.abort()


def request_hooks(tracer: Tracer) -> tuple[Callable, Callable]:
    """``on_request`` and ``on_response``. Closures, so that the path every
    request takes with the no-op provider and no trace headers is short: a
    header probe per field that can carry a parent span (``traceparent``),
    and on the way out one identity test."""
    untraced: Any = None            # the last request on_request left untraced

    def on_request(request: Any, reply: Any) -> None:
        nonlocal untraced
        probe = tracer.noop_probe
        if probe is not None:
            if request.get_header(probe) is None:
                untraced = request
                return
        elif tracer.noop and not tracer.may_have_parent(request):
            untraced = request
            return
        if not tracer.start(request):
            untraced = request

    def on_response(request: Any, reply: Any) -> None:
        if request is untraced:
            return
        state = _trace_of(request)
        if state is not None:
            state.finish(reply)
            state.detach()

    return on_request, on_response


def stage_hook(name: str) -> Callable[..., Any]:
    """The hook that starts the stage span ``name`` (hook_spans); the stages
    that see the payload hand it on unchanged."""
    def hook(request: Any, reply: Any) -> None:
        state = _trace_of(request)
        if state is not None and not state.ended:
            state.begin_stage(name)

    def payload_hook(request: Any, reply: Any, payload: Any) -> Any:
        hook(request, reply)
        return payload

    chosen = payload_hook if name in ("pre_serialization", "on_send") else hook
    chosen.__name__ = chosen.__qualname__ = "tracing_" + name
    return chosen


# -- the plugin -----------------------------------------------------------------------

@fastcore.plugin(name="tracing", options=_check)
async def tracing(app: Any, options: dict) -> None:
    """One OpenTelemetry SERVER span per request of this context."""
    tracer = Tracer(options)
    on_request, on_response = request_hooks(tracer)
    app.add_hook("on_close", tracer.stop_watch)
    app.add_hook("on_request", on_request)
    if tracer.hook_spans:
        for stage in _STAGES[1:]:
            app.add_hook(stage, stage_hook(stage))
    app.add_hook("on_error", tracer.on_error)
    app.add_hook("on_response", on_response)
    app.add_hook("on_request_abort", tracer.on_request_abort)
    app.add_hook("on_ready", tracer.resolve)
    app.add_hook("on_listen", tracer.start_watch)
