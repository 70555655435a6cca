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
  route matched), started as SERVER, and its context made current (below).
  A route listed in ``exclude`` gets nothing.
- ``on_error`` keeps the error; ``on_response`` sets the status code and, for
  a 5xx, status ERROR with ``error.type`` (the ``FC_ERR_*`` code, else the
  exception's class name, else the status), then ends the span;
  ``on_request_abort`` ends it with ``error.type`` ``"aborted"``.
- ``on_route`` wraps the handler of each route declared from then on.

Attributes are computed only for a provider that is not the no-op one, and
given when the span starts (so samplers see them). With the no-op provider
(known at boot, ``ready()``, ``listen()`` and every second while serving) a
request without trace headers costs the two hook calls and a header probe
per propagator field; with ``traceparent`` the no-op tracer hands back the
incoming span, whose context is made current as a real span's would be, so
outgoing calls from the handler carry the caller's trace on.

The current context
-------------------
fastcore runs hooks and handlers in its protocol callbacks, whose
``contextvars`` context is shared by every connection of a server; a
coroutine runs its first step there and gets an ``asyncio.Task`` (with a copy
of that context) only if it suspends, and the hooks after it run in another
copy, taken at that moment. So ``on_request`` attaches the span's context
where the request's chain runs, through an :class:`_Activation` that keeps
the tokens it took there, and it is released:

- by ``on_response``, when the request ends in that same context;
- by a wrapped handler when it suspends, before control goes back to the
  protocol, so the task and the later hooks start from clean copies. The
  wrapper steps the handler's coroutine in a ``contextvars.Context`` of its
  own, copied when it starts: what the handler attaches before an ``await``
  is detached after it in the same context, whichever task resumed it;
- otherwise (a hook suspended, or a handler that is not wrapped suspended)
  by the next request's ``on_request`` in that context, before anything else
  of that request runs.

A release resets the variables with its own tokens only in the context they
were taken in; a copy of an activation in a task's context is left alone
(the copy goes with the task). So the plugin never makes OpenTelemetry log
"Failed to detach context", and no traced request runs with another's span
current.

``on_route`` sees only the routes declared after the plugin booted (in
plugins registered after it, or after ``await app.after()``): fastcore
inserts a route when it is declared. An earlier route is traced all the same
and its handler runs in the span's context, but while it waits that context
stays current in the protocol's context until the next request of the
plugin's context starts; a request of a context the plugin does not cover
could see it meanwhile.

``hook_spans=True`` adds a child span per lifecycle stage, started by the
plugin's hook of that stage and ended by its next one: ``on_request``,
``pre_parsing`` (and the body parse), ``pre_validation`` (and validation),
``pre_handler``, ``handler`` (wrapped routes; on others ``pre_handler`` lasts
up to the handler's end), ``pre_serialization`` (JSON payloads), ``on_send``
(up to the end of the response).
"""
from __future__ import annotations

import asyncio
import contextvars
import types
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
_Coroutine = types.CoroutineType
_RECHECK = 1.0          # seconds between two looks at the global provider, while serving

# The activation current in this contextvars context (set by _Activation only).
_ACTIVE: contextvars.ContextVar[_Activation | None] = contextvars.ContextVar(
    "fastcore_tracing_active", default=None)


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


# -- the current context --------------------------------------------------------------

class _Activation:
    """One attachment of a trace's context, with the tokens taken in the
    ``contextvars.Context`` it was made in."""

    __slots__ = ("trace", "own", "token")

    def __init__(self, trace: _Trace, ctx: otel_context.Context) -> None:
        self.trace = trace
        self.token = otel_context.attach(ctx)
        self.own = _ACTIVE.set(self)

    def release(self) -> None:
        """Undo the attachment if this is the context it was made in, once; in
        a copy of it (a task's) there is nothing to undo: the copy is dropped."""
        try:
            _ACTIVE.reset(self.own)
        except (ValueError, RuntimeError):      # another context; already undone
            return
        otel_context.detach(self.token)


def _current_trace(request: Any) -> _Trace | None:
    """The request's trace if it is current here: it is wherever the request's
    chain runs up to its handler (what on_request attached, or a copy of it)."""
    active = _ACTIVE.get()
    if active is not None and active.trace.request is request:
        return active.trace
    return None


# -- one request's trace --------------------------------------------------------------

class _Trace:
    """The server span of one request, its context, and what ends it."""

    __slots__ = ("request", "span", "ctx", "error", "ended", "tracer", "stage", "hook_spans")

    def __init__(self, request: Any, span: Any, ctx: otel_context.Context, tracer: Any,
                 hook_spans: bool) -> None:
        self.request = request
        self.span = span
        self.ctx = ctx
        self.error: BaseException | None = None
        self.ended = False
        self.tracer = tracer
        self.stage: Any = None
        self.hook_spans = hook_spans

    def leave(self) -> None:
        """Release this trace's context if it is the one current here."""
        active = _ACTIVE.get()
        if active is not None and active.trace is self:
            active.release()

    def begin_stage(self, name: str | None) -> None:
        """End the running stage span (if any) and start the one named ``name``."""
        stage = self.stage
        if stage is not None:
            stage.end()
        self.stage = None if name is None else self.tracer.start_span(name, self.ctx)

    def finish(self, reply: Any) -> None:
        if self.ended:
            return
        self.ended = True
        span = self.span
        if span.is_recording():
            if self.stage is not None:
                self.begin_stage(None)
            status = reply.status_code
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                self.fail(span, status)
        span.end()

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
            self.propagator = propagator

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

    def trace_of(self, request: Any) -> _Trace | None:
        """The request's trace, current here or kept on the request."""
        state = _current_trace(request)
        if state is None:
            state = getattr(request, "_tracing", None)
        return state

    def parent(self, request: Any) -> otel_context.Context:
        """The context the propagator extracts from the headers, or the empty
        one when none of its fields is there."""
        get_header = request.get_header
        for field in self.probes:
            if get_header(field) is not None:
                return self.propagator.extract(request.headers, _ROOT)
        return _ROOT

    def start(self, request: Any) -> bool:
        """Start the request's span and make its context current; False when
        there is nothing to record or propagate (or the route is excluded)."""
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
        state = request._tracing = _Trace(
            request, span, trace.set_span_in_context(span, parent), self.tracer,
            self.hook_spans)
        if state.hook_spans:
            state.begin_stage("on_request")
        _Activation(state, state.ctx)
        return True

    def on_error(self, request: Any, reply: Any, error: BaseException) -> None:
        state = self.trace_of(request)
        if state is not None:
            state.error = error

    @staticmethod
    def on_request_abort(request: Any) -> None:
        state = getattr(request, "_tracing", None)
        if state is None or state.ended:
            return
        state.ended = True
        span = state.span
        if span.is_recording():
            if state.stage is not None:
                state.begin_stage(None)
            span.set_attribute("error.type", "aborted")
            span.set_status(Status(StatusCode.ERROR, "aborted"))
        span.end()
        state.leave()

    def on_route(self, route_options: dict) -> None:
        """Wrap the handler of a route declared after the plugin booted."""
        handler = route_options.get("handler")
        if not callable(handler) or route_options.get("websocket"):
            return
        urls = (route_options.get("url"),)
        if self.exclude.intersection(urls):
            return
        route_options["handler"] = wrap_handler(handler, self.hook_spans)


def request_hooks(tracer: Tracer) -> tuple[Callable, Callable]:
    """``on_request`` and ``on_response``. Closures, so that the path every
    request takes with the no-op provider and no trace headers is short: the
    release of a stale context, a header probe or two, and on the way out
    one identity test."""
    untraced: Any = None            # the last request on_request left untraced
    get_active = _ACTIVE.get

    def on_request(request: Any, reply: Any) -> None:
        nonlocal untraced
        active = get_active()
        if active is not None:
            active.release()        # a request that suspended left it here
        if tracer.noop:
            for field in tracer.probes:
                if request.get_header(field) is not None:
                    break
            else:
                untraced = request
                return
        if not tracer.start(request):
            untraced = request

    def on_response(request: Any, reply: Any) -> None:
        if request is untraced:
            return
        state = tracer.trace_of(request)
        if state is not None:
            state.finish(reply)
            state.leave()

    return on_request, on_response


def stage_hooks(tracer: Tracer, name: str) -> Callable[..., Any]:
    """The hook that starts the stage span ``name`` (hook_spans); the stages
    that see the payload hand it on unchanged."""
    def hook(request: Any, reply: Any) -> None:
        state = tracer.trace_of(request)
        if state is not None and not state.ended:
            state.begin_stage(name)

    def payload_hook(request: Any, reply: Any, payload: Any) -> Any:
        hook(request, reply)
        return payload

    chosen = payload_hook if name in ("pre_serialization", "on_send") else hook
    chosen.__name__ = chosen.__qualname__ = "tracing_" + name
    return chosen


# -- the handler wrapper --------------------------------------------------------------

def wrap_handler(handler: Callable, hook_spans: bool) -> Callable:
    """``handler``, whose coroutine (if it returns one) is stepped in a context
    of its own; with ``hook_spans`` it also starts the handler stage's span."""
    get_active = _ACTIVE.get

    def traced(request: Any, reply: Any) -> Any:
        # _current_trace inlined: this runs for every request of the route.
        active = get_active()
        if active is None or active.trace.request is not request:
            return handler(request, reply)
        state = active.trace
        if state.stage is not None:
            state.begin_stage("handler")
        result = handler(request, reply)
        if result.__class__ is _Coroutine:
            return _stepped(result, state)
        return result
    traced.__name__ = getattr(handler, "__name__", "handler")
    traced.__qualname__ = getattr(handler, "__qualname__", traced.__name__)
    traced.__doc__ = getattr(handler, "__doc__", None)
    traced.__wrapped__ = handler        # type: ignore[attr-defined]
    return traced


async def _stepped(coro: Any, state: _Trace) -> Any:
    # fastcore steps a handler's result only when it is a coroutine proper.
    return await _Steps(coro, state)


class _Steps:
    """Awaitable running a handler's coroutine one step at a time inside a
    ``contextvars.Context`` of its own, copied when the handler starts (the
    span's context current in it). Whatever the handler attaches or sets
    stays there across its suspensions, whichever task resumes it.

    When a step suspends, the span's context is released from the outer
    context (the protocol's, at the first step), so the task that takes the
    handler over, and the callback that runs the hooks after it, start from
    a clean copy."""

    __slots__ = ("coro", "state", "ctx")

    def __init__(self, coro: Any, state: _Trace) -> None:
        self.coro = coro
        self.state = state
        self.ctx = contextvars.copy_context()

    def __await__(self) -> _Steps:
        return self

    def __iter__(self) -> _Steps:
        return self

    def __next__(self) -> Any:
        return self.step(self.coro.send, None)

    def send(self, value: Any) -> Any:
        return self.step(self.coro.send, value)

    def throw(self, *exc: Any) -> Any:
        return self.step(self.coro.throw, *exc)

    def close(self) -> None:
        self.ctx.run(self.coro.close)

    def step(self, method: Callable, *args: Any) -> Any:
        waited = self.ctx.run(method, *args)     # a return or an error propagates
        self.state.leave()
        return waited


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
            app.add_hook(stage, stage_hooks(tracer, stage))
    app.add_hook("on_error", tracer.on_error)
    app.add_hook("on_response", on_response)
    app.add_hook("on_request_abort", tracer.on_request_abort)
    app.add_hook("on_route", tracer.on_route)
    app.add_hook("on_ready", tracer.resolve)
    app.add_hook("on_listen", tracer.start_watch)
