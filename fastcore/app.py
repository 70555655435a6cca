"""The App: options, route registration, the ready barrier, listen/close, inject.

Registration is plain Python and happens once. Each route becomes a
``RouteRecord`` (``_protocol.pyx``) inserted into the compiled router at once,
so a duplicate is reported by the call that causes it. ``ready()`` finishes
the blueprint (HEAD routes for GET routes) and locks it; after that the
request path only reads records.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from . import errors
from ._protocol import RouteRecord, Server
from ._router import Router
from ._version import __version__
from .inject import inject_request
from .options import validate_options

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE")
SUPPORTED_METHODS = frozenset(HTTP_METHODS + (
    "CONNECT", "SEARCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",
    "UNLOCK", "REPORT", "MKCALENDAR", "QUERY"))


def _default_not_found(request, reply):
    return {"message": "Route %s:%s not found" % (request.method, request.url),
            "error": "Not Found", "statusCode": 404}


class App:
    """The root of a fastcore application."""

    def __init__(self, *, logger=False, disable_request_logging=False, body_limit=1_048_576,
                 max_header_size=16_384, header_timeout=10.0, request_timeout=30.0,
                 keep_alive_timeout=72.0, connection_timeout=0.0, handler_timeout=0.0,
                 max_requests_per_socket=0, max_connections=0, force_close_connections="idle",
                 return_503_on_closing=True, plugin_timeout=10.0, request_id_header="request-id",
                 request_id_log_label="reqId", gen_req_id=None, trust_proxy=False,
                 rewrite_url=None, framework_errors=None, case_sensitive=True,
                 ignore_trailing_slash=False, ignore_duplicate_slashes=False,
                 max_param_length=100, allow_error_handler_override=True, expose_errors=False,
                 expose_head_routes=True, validation=None, ssl=None) -> None:
        given = dict(locals())
        del given["self"]
        self._options = validate_options(given)
        opts = self._options
        self._router = Router(
            case_sensitive=opts["case_sensitive"],
            ignore_trailing_slash=opts["ignore_trailing_slash"],
            ignore_duplicate_slashes=opts["ignore_duplicate_slashes"],
            max_param_length=opts["max_param_length"])
        self._records: list[RouteRecord] = []
        self._not_found = RouteRecord("*", "*", _default_not_found, context=self,
                                      is_not_found=True)
        self._started = False
        self._booting: asyncio.Task | None = None
        self._state: Server | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._closing: asyncio.Task | None = None
        self._sync_loop: asyncio.AbstractEventLoop | None = None

    # -- introspection -----------------------------------------------------------
    @property
    def version(self) -> str:
        return __version__

    @property
    def initial_config(self) -> dict[str, Any]:
        """The validated options (a copy)."""
        return dict(self._options)

    @property
    def routes(self) -> tuple:
        """The registered routes as ``(method, url, constraints)`` tuples."""
        return tuple((m, p, c) for m, p, c, _ in self._router.routes())

    def has_route(self, method: str, url: str, constraints: dict | None = None) -> bool:
        return self._router.has_route(method.upper(), url, constraints)

    def print_routes(self) -> str:
        return self._router.print_routes()

    # -- registration -------------------------------------------------------------
    def _check_open(self, method_name: str) -> None:
        if self._started:
            raise errors.InstanceAlreadyStartedError(
                'Cannot call "%s" when fastcore instance is already started!' % method_name)

    def route(self, method: str | list[str] = "GET", url: str | None = None,
              handler: Callable | None = None, *, constraints: dict | None = None,
              body_limit: int | None = None, config: dict | None = None,
              error_handler: Callable | None = None):
        """Declare a route; without ``handler`` it works as a decorator."""
        if handler is None:
            def decorate(fn):
                self.route(method, url, fn, constraints=constraints, body_limit=body_limit,
                           config=config, error_handler=error_handler)
                return fn
            return decorate
        self._check_open("route")
        methods = [method] if isinstance(method, str) else list(method)
        if not isinstance(url, str) or not url.startswith(("/", "*")):
            raise errors.InvalidRouteError("The route url must be a str starting with '/': %r" % (url,))
        if not callable(handler):
            raise errors.RouteMissingHandlerError(
                "Missing handler function for %s:%s route." % ("/".join(map(str, methods)), url))
        if body_limit is not None and (not isinstance(body_limit, int) or isinstance(body_limit, bool)
                                       or body_limit <= 0):
            raise errors.InvalidRouteError("body_limit must be a positive int, got %r" % (body_limit,))
        if error_handler is not None and not callable(error_handler):
            raise errors.InvalidRouteError("error_handler must be callable")
        methods = [str(m).upper() for m in methods]
        for m in methods:
            if m not in SUPPORTED_METHODS:
                raise errors.RouteMethodNotSupportedError("%s method is not supported." % m)
        for m in methods:
            record = RouteRecord(m, url, handler, body_limit=-1 if body_limit is None else body_limit,
                                 config=dict(config or {}), context=self)
            record.error_handlers = (error_handler,) if error_handler is not None else None
            self._router.on(m, url, record, dict(constraints) if constraints else None)
            self._records.append(record)
        return self

    def _shorthand(self, method, url, handler, options):
        if handler is None:
            return self.route(method, url, None, **options)
        return self.route(method, url, handler, **options)

    def get(self, url, handler=None, **options):
        return self._shorthand("GET", url, handler, options)

    def post(self, url, handler=None, **options):
        return self._shorthand("POST", url, handler, options)

    def put(self, url, handler=None, **options):
        return self._shorthand("PUT", url, handler, options)

    def patch(self, url, handler=None, **options):
        return self._shorthand("PATCH", url, handler, options)

    def delete(self, url, handler=None, **options):
        return self._shorthand("DELETE", url, handler, options)

    def head(self, url, handler=None, **options):
        return self._shorthand("HEAD", url, handler, options)

    def options(self, url, handler=None, **options):
        return self._shorthand("OPTIONS", url, handler, options)

    def trace(self, url, handler=None, **options):
        return self._shorthand("TRACE", url, handler, options)

    def all(self, url, handler=None, **options):
        return self._shorthand(list(HTTP_METHODS), url, handler, options)

    # -- lifecycle ----------------------------------------------------------------
    async def ready(self) -> "App":
        """Boot once; concurrent and repeated calls share the same outcome."""
        if self._started and self._booting is None:
            return self
        loop = asyncio.get_running_loop()
        if self._booting is None or self._booting.get_loop() is not loop:
            self._booting = loop.create_task(self._boot())
        await asyncio.shield(self._booting)
        return self

    async def _boot(self) -> None:
        if not self._started:
            self._expose_head_routes()
            self._started = True

    def _expose_head_routes(self) -> None:
        if not self._options["expose_head_routes"]:
            return
        routes = self._router.routes()
        for method, url, constraints, record in routes:
            if method == "GET" and not self._router.has_route("HEAD", url, constraints):
                self._router.on("HEAD", url, record, constraints)

    def _runtime(self, loop: asyncio.AbstractEventLoop) -> Server:
        """The connection state shared by sockets and inject, bound to ``loop``."""
        state = self._state
        if state is None:
            opts = self._options
            state = Server(
                self._router, self._not_found, loop=loop,
                max_header_size=opts["max_header_size"], body_limit=opts["body_limit"],
                header_timeout=float(opts["header_timeout"]),
                request_timeout=float(opts["request_timeout"]),
                keep_alive_timeout=float(opts["keep_alive_timeout"]),
                connection_timeout=float(opts["connection_timeout"]),
                handler_timeout=float(opts["handler_timeout"]),
                max_requests_per_socket=opts["max_requests_per_socket"],
                max_connections=opts["max_connections"],
                return_503_on_closing=opts["return_503_on_closing"],
                expose_errors=opts["expose_errors"], ssl=opts["ssl"])
            self._state = state
        if state.loop is not loop and not self._servers:
            state.loop = loop
        state.start(loop)
        return state

    async def listen(self, host: str = "127.0.0.1", port: int = 3000, backlog: int = 1024,
                     reuse_port: bool = False, sock=None) -> str:
        """Start serving inside the running loop; returns the bound address."""
        await self.ready()
        if self._closing is not None:
            raise errors.InstanceAlreadyStartedError("Cannot listen on a closed instance")
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
        return "%s://%s:%d" % ("https" if state.ssl is not None else "http", shown, bound[1])

    @property
    def addresses(self) -> list[tuple]:
        """The socket addresses the app listens on."""
        return [s.getsockname() for srv in self._servers for s in srv.sockets]

    async def close(self) -> None:
        """Stop accepting, let in-flight requests finish, close sockets. Idempotent."""
        loop = asyncio.get_running_loop()
        if self._closing is None or self._closing.get_loop() is not loop:
            self._closing = loop.create_task(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
        state = self._state
        if state is not None:
            mode = self._options["force_close_connections"]
            state.begin_close(force=mode is True, idle=mode == "idle")
            await state.wait_closed()
        for server in self._servers:
            await server.wait_closed()

    def run(self, host: str = "127.0.0.1", port: int = 3000, workers: int = 1,
            backlog: int = 1024) -> None:
        """Serve until SIGINT/SIGTERM; ``workers > 1`` forks SO_REUSEPORT workers."""
        from .server import serve
        serve(self, host=host, port=port, workers=workers, backlog=backlog)

    # -- in-process requests ------------------------------------------------------
    async def inject(self, method: str = "GET", url: str = "/", headers: dict | None = None,
                     query: dict | None = None, payload: Any = None,
                     cookies: dict | None = None):
        """Send one request through the full pipeline without a socket."""
        await self.ready()
        state = self._runtime(asyncio.get_running_loop())
        return await inject_request(state, method=method, url=url, headers=headers,
                                    query=query, payload=payload, cookies=cookies)

    def inject_sync(self, method: str = "GET", url: str = "/", **kwargs):
        """``inject`` for code that is not running an event loop."""
        if self._sync_loop is None:
            self._sync_loop = asyncio.new_event_loop()
        return self._sync_loop.run_until_complete(self.inject(method, url, **kwargs))
