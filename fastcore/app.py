"""The App: the root context, its options, the ready barrier, listen/close, inject.

Registration methods live on :class:`~fastcore.context.Context`, which the App
extends: each route becomes a ``RouteRecord`` (``_reply.pyx``) inserted
into the compiled router at once, so a duplicate is reported by the call that
causes it. ``ready()`` boots the queued plugins (``boot.py``), locks the
blueprint, then finishes every record from its context (flattened hook
tuples, error-handler chain, parsers), adds HEAD routes for GET routes, builds
the not-found resolver, and runs the ``on_ready`` hooks. After that the
request path only reads records.
"""
from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any, Callable, Iterable, Iterator

from . import errors
from ._http1 import HttpProtocol
from ._reply import RouteRecord, Server
from ._tally import Buckets
from ._router import Router
from ._ws_keepalive import KeepAlive
from .boot import PluginNode, load_late, load_queue, plugin_durations
from .context import Context, RouteEntry
from .context import HTTP_METHODS, SUPPORTED_METHODS  # noqa: F401  (re-exported)
from .hooks import LIFECYCLE_HOOKS, call_hook, run_logged
from .inject import inject_request
from .logging import RequestLogger, build_logger
from .options import validate_options
from .proxy import make_trust, resolve


def _no_plugin(app, opts):
    return None


def _default_not_found(request, reply):
    return {"message": "Route %s:%s not found" % (request.method, request.url),
            "error": "Not Found", "statusCode": 404}



def _addressing(trust, scheme, request):
    """``(ip, ips, hostname, protocol)`` of a request behind trusted proxies."""
    return resolve(trust, request.remote_address, request.headers, scheme)

class App(Context):
    """The root of a fastcore application."""

    def __init__(self, *, logger=False, disable_request_logging=False, body_limit=1_048_576,
                 max_header_size=16_384, header_timeout=10.0, request_timeout=30.0,
                 keep_alive_timeout=72.0, connection_timeout=0.0, handler_timeout=0.0,
                 write_timeout=60.0, max_requests_per_socket=0, max_connections=0, force_close_connections="idle",
                 return_503_on_closing=True, plugin_timeout=10.0, request_id_header="request-id",
                 request_id_log_label="reqId", gen_req_id=None, trust_proxy=False,
                 rewrite_url=None, framework_errors=None, case_sensitive=True,
                 ignore_trailing_slash=False, ignore_duplicate_slashes=False,
                 max_param_length=100, constraints=None, allow_error_handler_override=True,
                 expose_errors=False,
                 expose_head_routes=True, validation=None, ws_max_message_size=1_048_576,
                 ws_close_timeout=10.0, ws_ping_interval=20.0, ws_ping_timeout=20.0,
                 ssl=None) -> None:
        given = dict(locals())
        del given["self"]
        self._options = validate_options(given)
        opts = self._options
        self._logger = build_logger(opts["logger"])
        self._trust = make_trust(opts["trust_proxy"])
        self._router = Router(
            case_sensitive=opts["case_sensitive"],
            ignore_trailing_slash=opts["ignore_trailing_slash"],
            ignore_duplicate_slashes=opts["ignore_duplicate_slashes"],
            max_param_length=opts["max_param_length"],
            custom_constraints=tuple(opts["constraints"] or ()))
        # The app-wide registries every context writes into.
        self._route_entries: list[RouteEntry] = []
        self._contexts: list[Context] = []
        self._lifecycle_hooks: dict[str, list[tuple[Context, Callable]]] = {
            name: [] for name in LIFECYCLE_HOOKS}
        self._not_found_handlers: dict[str, tuple[Context, Callable, dict]] = {}
        # The root of the plugin tree: its queue is what register() on the app fills.
        self._root_node = PluginNode(_no_plugin, {}, "", None, name="root")
        self._started = False
        self._boot_error: BaseException | None = None
        self._late_plugins: list = []       # (booted node, plugin node) registered late
        self._ready_seconds: float | None = None
        self._response_buckets: Buckets | None = None      # count_responses()
        self._not_found_records: list[RouteRecord] = []   # built at ready(), per prefix
        Context.__init__(self, self, None, "", "root")
        self._contexts.append(self)
        self._node = self._root_node
        self._root_node.context = self
        self._not_found = RouteRecord("*", "*", _default_not_found, context=self,
                                      is_not_found=True)
        self._not_found_resolver: Callable[[str], RouteRecord] | None = None
        self._booting: asyncio.Task | None = None
        self._state: Server | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._closing: asyncio.Task | None = None
        self._sync_loop: asyncio.AbstractEventLoop | None = None

    @property
    def addresses(self) -> list[tuple]:
        """The socket addresses the app listens on."""
        return [s.getsockname() for srv in self._servers for s in srv.sockets]

    # -- lifecycle ----------------------------------------------------------------
    async def ready(self) -> "App":
        """Boot once; concurrent and repeated calls share the same outcome."""
        task = self._booting
        if task is not None and task.done() and not task.cancelled():
            task.result()           # re-raises the boot's failure, if it failed
            return self
        loop = asyncio.get_running_loop()
        if task is None or task.done():
            # A boot cancelled with its event loop resumes where it stopped.
            task = self._booting = loop.create_task(self._boot())
        elif task.get_loop() is not loop:
            raise RuntimeError("ready() is already running in another event loop")
        elif task is asyncio.current_task():
            raise RuntimeError("ready() cannot be awaited while booting (from a plugin "
                               "or an on_ready hook): it would wait for itself")
        await asyncio.shield(task)
        return self

    async def _boot(self) -> None:
        if self._started:
            return
        if self._boot_error is not None:
            raise self._boot_error
        started = time.perf_counter()
        try:
            await load_queue(self._root_node, self)
            await load_late(self)
        finally:
            self._root_node.elapsed = time.perf_counter() - started
        self._started = True
        self._finalize()
        for _, fn in self._lifecycle_hooks["on_ready"]:
            await call_hook(fn)
        self._ready_seconds = time.perf_counter() - started

    def _finalize(self) -> None:
        """Complete every record from its context; runs once, with the blueprint locked."""
        for context in self._contexts:          # creation order: parents first
            context._freeze()
        compiled = {}
        for entry in self._route_entries:
            entry.context._complete_record(entry.record, entry.hooks,
                                           entry.options.get("error_handler"))
            # One record may serve several methods' entries: compile it once.
            if id(entry.record) not in compiled:
                compiled[id(entry.record)] = True
                entry.context._compile_schema(entry.record, entry.options)
        self._expose_head_routes()
        self._build_not_found()

    def _expose_head_routes(self) -> None:
        if not self._options["expose_head_routes"]:
            return
        routes = self._router.routes()
        for method, url, constraints, record in routes:
            if method == "GET" and not self._router.has_route("HEAD", url, constraints):
                self._router.on("HEAD", url, record, constraints)

    def _build_not_found(self) -> None:
        """Not-found records per prefix, and the resolver picking the deepest match."""
        table = []
        for prefix, (context, handler, hooks) in self._not_found_handlers.items():
            record = RouteRecord("*", "*", handler, context=context, is_not_found=True)
            context._complete_record(record, hooks, None)
            self._not_found_records.append(record)
            if prefix:
                table.append((prefix, record))
            else:
                self._not_found = record
        if "" not in self._not_found_handlers:
            self._complete_record(self._not_found, {}, None)
        if table:
            table.sort(key=lambda item: len(item[0]), reverse=True)
            self._not_found_resolver = _prefix_resolver(
                table, self._not_found, self._options["case_sensitive"])

    def _runtime(self, loop: asyncio.AbstractEventLoop) -> Server:
        """The connection state shared by sockets and inject, bound to ``loop``."""
        state = self._state
        if state is None:
            state = self._state = self._new_server(loop)
        if state.loop is not loop and not self._servers:
            state.loop = loop
        state.start(loop)
        return state

    def _new_server(self, loop: asyncio.AbstractEventLoop) -> Server:
        opts = self._options
        state = Server(
            self._router, self._not_found, loop=loop,
            max_header_size=opts["max_header_size"], body_limit=opts["body_limit"],
            header_timeout=float(opts["header_timeout"]),
            request_timeout=float(opts["request_timeout"]),
            keep_alive_timeout=float(opts["keep_alive_timeout"]),
            connection_timeout=float(opts["connection_timeout"]),
            handler_timeout=float(opts["handler_timeout"]),
            write_timeout=float(opts["write_timeout"]),
            max_requests_per_socket=opts["max_requests_per_socket"],
            max_connections=opts["max_connections"],
            return_503_on_closing=opts["return_503_on_closing"],
            expose_errors=opts["expose_errors"], ssl=opts["ssl"], protocol=HttpProtocol)
        state.not_found_resolver = self._not_found_resolver
        state.rewrite_url = opts["rewrite_url"]
        state.framework_errors = opts["framework_errors"]
        state.response_buckets = self._response_buckets
        state.ws_max_message_size = opts["ws_max_message_size"]
        state.ws_close_timeout = float(opts["ws_close_timeout"])
        state.ws_ping_interval = float(opts["ws_ping_interval"])
        state.ws_ping_timeout = float(opts["ws_ping_timeout"])
        if state.ws_ping_interval > 0:
            state.ws_keepalive = KeepAlive(state.websockets, state.ws_ping_interval,
                                           state.ws_ping_timeout)
        strategies = opts["constraints"] or {}
        state.derive_constraints = tuple(
            (name, strategies[name].derive) for name in self._router.custom_used) or None
        header = opts["request_id_header"]
        state.request_id_header = header.lower() if header else None
        state.gen_req_id = opts["gen_req_id"]
        if self._logger is not None:
            state.logger = self._logger
            state.request_logger = RequestLogger(self._logger, opts["request_id_log_label"],
                                                 opts["disable_request_logging"])
        if self._trust is not None:
            state.trust_proxy = partial(_addressing, self._trust,
                                        "https" if opts["ssl"] is not None else "http")
        return state

    async def listen(self, host: str = "127.0.0.1", port: int = 3000, backlog: int = 1024,
                     reuse_port: bool = False, sock=None) -> str:
        """Start serving inside the running loop; returns the bound address."""
        await self.ready()
        if self._closing is not None:
            raise errors.InstanceAlreadyStartedError("Cannot listen on a closed instance")
        if self._servers:
            raise errors.InstanceAlreadyListeningError()
        loop = asyncio.get_running_loop()
        state = self._runtime(loop)
        kwargs = {"backlog": backlog, "ssl": state.ssl}
        if sock is not None:
            server = await loop.create_server(state.protocol_factory, sock=sock, **kwargs)
        else:
            server = await loop.create_server(state.protocol_factory, host=host, port=port,
                                              reuse_port=reuse_port or None, **kwargs)
        self._servers.append(server)
        bound = server.sockets[0].getsockname()
        shown = "[%s]" % bound[0] if ":" in bound[0] else bound[0]
        await run_logged("on_listen", self._lifecycle_hooks["on_listen"], with_context=False)
        return "%s://%s:%d" % ("https" if state.ssl is not None else "http", shown, bound[1])

    async def close(self) -> None:
        """pre_close hooks, stop accepting, let in-flight requests finish, close
        sockets, then on_close hooks in reverse order. Idempotent."""
        task = self._closing
        if task is not None and task.done():
            return task.result()
        loop = asyncio.get_running_loop()
        if task is None:
            task = self._closing = loop.create_task(self._close())
        elif task.get_loop() is not loop:
            raise RuntimeError("close() is already running in another event loop")
        await asyncio.shield(task)

    async def _close(self) -> None:
        hooks = self._lifecycle_hooks
        await run_logged("pre_close", hooks["pre_close"], with_context=False)
        for server in self._servers:
            server.close()
        state = self._state
        if state is not None:
            mode = self._options["force_close_connections"]
            state.begin_close(force=mode is True, idle=mode == "idle")
            # Open WebSockets get close 1001 and their closing handshake, each
            # at most ws_close_timeout (SPEC §11).
            await asyncio.gather(*(ws.close(1001) for ws in list(state.websockets)),
                                 return_exceptions=True)
            if state.ws_keepalive is not None:
                state.ws_keepalive.stop()
            await state.wait_closed()
        for server in self._servers:
            await server.wait_closed()
        await run_logged("on_close", reversed(hooks["on_close"]), with_context=True)

    def run(self, host: str = "127.0.0.1", port: int = 3000, workers: int = 1,
            backlog: int = 1024) -> None:
        """Serve until SIGINT/SIGTERM; ``workers > 1`` forks SO_REUSEPORT workers."""
        from .server import serve
        serve(self, host=host, port=port, workers=workers, backlog=backlog)

    # -- introspection --------------------------------------------------------------
    def count_responses(self, buckets: Iterable[float]) -> None:
        """From now on, count every response by route, method and status, with
        its duration (from the request's first byte to its last byte written)
        in ``buckets``: upper bounds in seconds, increasing (+Inf is added).
        ``stats()["responses"]`` reads the counts. The counting is compiled
        and runs after the response is written; until this is called it costs
        nothing. A second call must give the same bounds."""
        bounds = tuple(float(b) for b in buckets)
        if not bounds or any(not 0 < b < float("inf") for b in bounds) or any(
                a >= b for a, b in zip(bounds, bounds[1:])):
            raise ValueError("buckets are finite positive bounds in increasing order, got %r"
                             % (buckets,))
        if self._response_buckets is not None:
            if self._response_buckets.seconds != bounds:
                raise ValueError("responses are already counted in the buckets %r"
                                 % (self._response_buckets.seconds,))
            return
        self._response_buckets = Buckets(bounds)
        if self._state is not None:
            self._state.response_buckets = self._response_buckets

    def stats(self) -> dict[str, Any]:
        """What the core has counted so far, read in one pass (SPEC §14): the
        metrics plugin turns it into gauges and counters at each scrape.

        ``connections``: ``open`` (HTTP/1 connections and WebSockets),
        ``keep_alive`` (HTTP/1 connections idle between requests), ``websocket``.
        ``client_errors``: connections refused at the transport level, by kind
        (``timeout``: 408, or a client that left its answers unread for
        ``write_timeout``; ``header_overflow``: 431; ``error``: any other).
        ``bad_urls``: requests whose URL could not be decoded (FC_ERR_BAD_URL).
        ``error_handler_calls``: ``{route pattern: n}``, each error handler run
        (the default one included), ``"__not_found__"`` for unmatched requests.
        ``plugins``: ``{name: seconds}`` each booted plugin took, its own
        plugins included (a name registered twice: the sum). ``ready_seconds``:
        the whole ``ready()``, or None before it finished. Once
        ``count_responses`` was called, ``response_buckets`` (its bounds) and
        ``responses``: ``[(method, route pattern, status, tally), ...]``, each
        tally a ``_tally.ResponseTally`` (``buckets``: each bucket's own count,
        +Inf last; ``count``; ``total_seconds``); else None for both.
        """
        state = self._state
        buckets = self._response_buckets
        http = tuple(state.connections) if state is not None else ()
        ws = len(state.websockets) if state is not None else 0
        return {
            "connections": {"open": len(http) + ws, "websocket": ws,
                            "keep_alive": sum(1 for proto in http if proto.is_idle)},
            "client_errors": {
                "timeout": state.client_timeouts if state is not None else 0,
                "header_overflow": state.client_header_overflows if state is not None else 0,
                "error": state.client_errors if state is not None else 0},
            "bad_urls": state.bad_urls if state is not None else 0,
            "error_handler_calls": self._error_handler_calls(),
            "plugins": plugin_durations(self._root_node),
            "ready_seconds": self._ready_seconds,
            "response_buckets": buckets.seconds if buckets is not None else None,
            "responses": self._responses() if buckets is not None else None,
        }

    def _records(self) -> Iterator[tuple[str, RouteRecord]]:
        """``(route label, record)`` of every record once, not-found ones last."""
        seen = set()
        for record in [entry.record for entry in self._route_entries] + [
                self._not_found, *self._not_found_records]:
            if id(record) not in seen:
                seen.add(id(record))
                yield ("__not_found__" if record.is_not_found else record.url), record

    def _error_handler_calls(self) -> dict[str, int]:
        calls: dict[str, int] = {}
        for label, record in self._records():
            calls[label] = calls.get(label, 0) + record.error_handler_calls
        return calls

    def _responses(self) -> list[tuple]:
        return [(method, label, status, tally)
                for label, record in self._records() if record.tallies
                for method, statuses in list(record.tallies.items())
                for status, tally in list(statuses.items())]

    # -- in-process requests ------------------------------------------------------
    async def inject(self, method: str = "GET", url: str = "/", headers: dict | None = None,
                     query: dict | None = None, payload: Any = None,
                     cookies: dict | None = None):
        """Send one request through the full pipeline without a socket."""
        await self.ready()
        state = self._runtime(asyncio.get_running_loop())
        return await inject_request(state, method=method, url=url, headers=headers,
                                    query=query, payload=payload, cookies=cookies)

    def inject_ws(self, url: str = "/", headers: dict | None = None,
                  subprotocols: list | None = None):
        """``async with app.inject_ws(url) as client``: a WebSocket through the real
        protocol, without a socket (``fastcore/inject_ws.py``)."""
        from .inject_ws import InjectedWebSocket
        return InjectedWebSocket(self, url, headers, subprotocols)

    def inject_sync(self, method: str = "GET", url: str = "/", **kwargs):
        """``inject`` for code that is not running an event loop."""
        if self._sync_loop is None:
            self._sync_loop = asyncio.new_event_loop()
        return self._sync_loop.run_until_complete(self.inject(method, url, **kwargs))


def _prefix_resolver(table: list[tuple[str, RouteRecord]], fallback: RouteRecord,
                     case_sensitive: bool) -> Callable[[str], RouteRecord]:
    """``resolve(path)``: the record of the longest prefix that is ``path`` or a
    leading run of its segments (``/v1`` matches ``/v1`` and ``/v1/x``, not
    ``/v10``), else ``fallback``. Called for unmatched requests only."""
    if not case_sensitive:
        table = [(prefix.lower(), record) for prefix, record in table]

    def resolve(path: str) -> RouteRecord:
        if not case_sensitive:
            path = path.lower()
        for prefix, record in table:
            if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                return record
        return fallback
    return resolve
