"""Contexts: the encapsulation unit of the plugin tree, and every registration method.

The App is the root context; each plugin registered without
:func:`fastcore.plugin` boots in a child context. A context holds what was
added to it (hooks, decorations, error handler, content-type parsers) and a
link to its parent; it sees its ancestors' additions and nothing of its
siblings' or descendants'. Routes go straight into the app's one compiled
router (a duplicate fails at once) with their URL prefixed by the context's
prefix, which composes through nested registers.

Nothing is resolved per request by walking this tree: at ready() the app
calls :meth:`Context._freeze` on every context, parents first (hook chains,
error-handler chains and decorations become flat tuples and dicts), then
:meth:`Context._complete_record` fills each route record from its context.
After that the blueprint is locked: every registration method raises
``FC_ERR_INSTANCE_ALREADY_STARTED`` naming itself.
"""
from __future__ import annotations

import warnings
from types import MappingProxyType
from typing import Any, Callable

from . import boot, errors, route_schema
from ._reply import Reply, Request, RouteRecord
from ._version import __version__
from .content_types import ContentTypeParsers
from .decorators import Decorations
from .options import is_seconds
from .schemas import SchemaStore
from .hooks import (APPLICATION_HOOKS, LIFECYCLE_HOOKS, REQUEST_HOOKS, apply_hooks,
                    chain_hooks, check_hook, route_hook_lists)

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE")
SUPPORTED_METHODS = frozenset(HTTP_METHODS + (
    "CONNECT", "SEARCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",
    "UNLOCK", "REPORT", "MKCALENDAR", "QUERY"))

# Route options and their defaults (SPEC §1). Besides the URL, method and
# handler, route() reads constraints, body_limit, config, error_handler and
# the request hooks; every option is kept on the route's RouteEntry for the
# parts of the app that compile from them at ready().
ROUTE_OPTIONS: dict[str, Any] = {
    "schema": None, "constraints": None, "body_limit": None, "config": None,
    **{name: None for name in REQUEST_HOOKS},
    "error_handler": None, "websocket": False, "attach_validation": False,
    "handler_timeout": None, "serializer_compiler": None, "validator_compiler": None,
    "schema_error_formatter": None, "ws_handler": None, "ws_subprotocols": None,
}

_MISSING = object()


class RouteEntry:
    """A declared route as the app keeps it: its record, context, route-level hooks,
    and ``options``, the dict the on_route hooks saw (method, url, handler and
    every route option)."""

    __slots__ = ("record", "context", "hooks", "options")

    def __init__(self, record: RouteRecord, context: Context, hooks: dict[str, tuple],
                 options: dict[str, Any]) -> None:
        self.record = record
        self.context = context
        self.hooks = hooks
        self.options = options


def normalize_prefix(prefix: Any) -> str:
    """``"v1/"`` → ``"/v1"``; ``""`` and ``"/"`` → ``""``."""
    if not isinstance(prefix, str):
        raise TypeError("A prefix must be a str, got %r" % (prefix,))
    prefix = prefix.strip().rstrip("/")
    if prefix and not prefix.startswith("/"):
        prefix = "/" + prefix
    return prefix


class Context:
    """The registration surface shared by the App and every child context."""

    def __init__(self, root: Any, parent: Context | None, prefix: str, name: str) -> None:
        self._root = root
        self._parent = parent
        self._chain: tuple[Context, ...] = (parent._chain if parent else ()) + (self,)
        self._prefix = prefix
        self._name = name
        self._node: boot.PluginNode | None = None
        self._hooks: dict[str, list[Callable]] = {}
        self._decorations = Decorations("instance", parent._decorations if parent else None)
        self._request_decorations = Decorations(
            "request", parent._request_decorations if parent else None)
        self._reply_decorations = Decorations(
            "reply", parent._reply_decorations if parent else None)
        self._error_handler: Callable | None = None
        self._plugin_names: set[str] = set()
        self._hook_chain: dict[str, tuple] | None = None
        self._error_chain: tuple = ()
        self._record_parsers: ContentTypeParsers | None = None
        self.parsers = parent.parsers.child() if parent else ContentTypeParsers()
        self.schemas = parent.schemas.child() if parent else SchemaStore()
        self._validator_compiler: Callable | None = None
        self._serializer_compiler: Callable | None = None
        self._schema_error_formatter: Callable | None = None

    def __repr__(self) -> str:
        return "<%s %s prefix=%r>" % (type(self).__name__, self._name, self._prefix)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the object does not have: decorations.
        decorations = self.__dict__.get("_decorations")
        if decorations is not None:
            value = decorations.get(name, _MISSING)
            if value is not _MISSING:
                return value
        raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))

    # -- introspection ---------------------------------------------------------------
    @property
    def prefix(self) -> str:
        """The URL prefix of this context (``""`` at the root)."""
        return self._prefix

    @property
    def version(self) -> str:
        return __version__

    @property
    def initial_config(self) -> dict[str, Any]:
        """The validated options (a copy)."""
        return dict(self._root._options)

    @property
    def routes(self) -> tuple:
        """The registered routes as ``(method, url, constraints)`` tuples."""
        return tuple((m, p, c) for m, p, c, _ in self._root._router.routes())

    def get_route_definitions(self) -> tuple:
        """Every route declared on the app, in declaration order, one
        ``(method, url, options, context)`` per method: ``options`` is a read-only
        view of the route options the ``on_route`` hooks saw (``schema``,
        ``config``, ...), ``context`` the context that declared the route. The HEAD
        routes ``ready()`` adds for GET routes are not declared, so not listed."""
        return tuple((entry.record.method, entry.record.url, MappingProxyType(entry.options),
                      entry.context) for entry in self._root._route_entries)

    def has_route(self, method: str, url: str, constraints: dict | None = None) -> bool:
        return self._root._router.has_route(method.upper(), url, constraints)

    def print_routes(self) -> str:
        return self._root._router.print_routes()

    def stats(self) -> dict[str, Any]:
        """What the core has counted, app-wide (``App.stats``)."""
        return self._root.stats()

    def count_responses(self, buckets: Any) -> None:
        """Count every response by route, method, status and duration (``App.count_responses``)."""
        self._root.count_responses(buckets)

    def print_plugins(self) -> str:
        """The plugin tree of the app, each plugin with its boot time in ms."""
        return boot.render_tree(self._root._root_node)

    def has_plugin(self, name: str) -> bool:
        """Whether a plugin of that name was loaded in this context or an ancestor."""
        return any(name in ctx._plugin_names for ctx in self._chain)

    # -- the blueprint lock --------------------------------------------------------------
    def _check_open(self, method_name: str) -> None:
        if self._root._started:
            raise errors.InstanceAlreadyStartedError(
                'Cannot call "%s" when fastcore instance is already started!' % method_name)

    # -- routes --------------------------------------------------------------------------
    def route(self, method: str | list[str] = "GET", url: str | None = None,
              handler: Callable | None = None, *, schema=None, constraints=None,
              body_limit=None, config=None, on_request=None, pre_parsing=None,
              pre_validation=None, pre_handler=None, pre_serialization=None, on_send=None,
              on_response=None, on_error=None, on_timeout=None, on_request_abort=None,
              error_handler=None, websocket=False, attach_validation=False,
              handler_timeout=None, serializer_compiler=None, validator_compiler=None,
              schema_error_formatter=None, ws_handler=None, ws_subprotocols=None):
        """Declare a route; without ``handler`` it works as a decorator."""
        given = locals()
        options = {name: given[name] for name in ROUTE_OPTIONS}
        return self._route("route", method, url, handler, options)

    def _route(self, caller: str, method: Any, url: Any, handler: Callable | None,
               options: dict[str, Any]):
        self._check_open(caller)
        unknown = set(options) - ROUTE_OPTIONS.keys()
        if unknown:
            raise TypeError("%s() got an unexpected keyword argument %r" % (
                caller, sorted(unknown)[0]))
        if handler is None:
            def decorator(fn: Callable) -> Callable:
                self._route(caller, method, url, fn, options)
                return fn
            return decorator
        self._add_route(method, url, handler, options)
        return self

    def get(self, url, handler=None, **options):
        return self._route("get", "GET", url, handler, options)

    def post(self, url, handler=None, **options):
        return self._route("post", "POST", url, handler, options)

    def put(self, url, handler=None, **options):
        return self._route("put", "PUT", url, handler, options)

    def patch(self, url, handler=None, **options):
        return self._route("patch", "PATCH", url, handler, options)

    def delete(self, url, handler=None, **options):
        return self._route("delete", "DELETE", url, handler, options)

    def head(self, url, handler=None, **options):
        return self._route("head", "HEAD", url, handler, options)

    def options(self, url, handler=None, **options):
        return self._route("options", "OPTIONS", url, handler, options)

    def trace(self, url, handler=None, **options):
        return self._route("trace", "TRACE", url, handler, options)

    def all(self, url, handler=None, **options):
        return self._route("all", list(HTTP_METHODS), url, handler, options)

    def _add_route(self, method: Any, url: Any, handler: Callable,
                   options: dict[str, Any]) -> None:
        """Prefix the URL, run the on_route hooks, then create and insert the records."""
        prefix = self._prefix
        if not isinstance(url, str) or not (url.startswith(("/", "*")) or (prefix and url == "")):
            raise errors.InvalidRouteError(
                "The route url must be a str starting with '/': %r" % (url,))
        full = _join(prefix, url)
        route_options = {"method": method, "url": full, "route_path": url, "prefix": prefix,
                         "handler": handler, **ROUTE_OPTIONS, **options}
        for fn in self._inherited_hooks("on_route"):
            fn(route_options)
        # With a prefix, "/" answers both "/prefix" and "/prefix/" (Fastify's
        # prefixTrailingSlash "both"), unless the router ignores trailing slashes.
        with_slash = (bool(prefix) and url == "/" and route_options["url"] == full
                      and not self._root._options["ignore_trailing_slash"])
        self._insert_route(route_options, with_slash)

    def _insert_route(self, options: dict[str, Any], with_slash: bool) -> None:
        """Create one record per method and insert it; ``options`` is kept on its entry."""
        url, handler = options["url"], options["handler"]
        methods = _check_route(options["method"], url, handler, options)
        ws_handler = options.get("ws_handler")
        if options.get("websocket"):
            # A WebSocket-only route: its handler takes (ws, request); a plain
            # request gets 426 (SPEC §11).
            ws_handler, handler = handler, _upgrade_required
        route_hooks = route_hook_lists(options)
        body_limit = options.get("body_limit")
        handler_timeout = options.get("handler_timeout")
        constraints = options.get("constraints")
        constraints = dict(constraints) if constraints else None
        paths = (url, url + "/") if with_slash else (url,)
        root = self._root
        for m in methods:
            record = RouteRecord(m, url, handler,
                                 body_limit=-1 if body_limit is None else body_limit,
                                 handler_timeout=(-1.0 if handler_timeout is None
                                                  else float(handler_timeout)),
                                 config=dict(options.get("config") or {}), context=self)
            if ws_handler is not None:
                record.ws_handler = ws_handler
                subprotocols = options.get("ws_subprotocols")
                record.ws_subprotocols = tuple(subprotocols) if subprotocols else None
            for path in paths:
                root._router.on(m, path, record, constraints)
            root._route_entries.append(RouteEntry(record, self, route_hooks, options))

    # -- hooks ---------------------------------------------------------------------------
    def add_hook(self, name: str, fn: Callable):
        """Add a request or application hook to this context (and its descendants)."""
        return self._add_hook("add_hook", name, fn)

    def hook(self, name: str):
        """``@app.hook("on_request")``: ``add_hook`` as a decorator."""
        self._check_open("hook")
        if not isinstance(name, str) or (name not in REQUEST_HOOKS
                                         and name not in APPLICATION_HOOKS):
            raise errors.HookNotSupportedError("%r hook not supported!" % (name,))

        def decorator(fn: Callable) -> Callable:
            self._add_hook("hook", name, fn)
            return fn
        return decorator

    def _add_hook(self, caller: str, name: str, fn: Callable):
        self._check_open(caller)
        check_hook(name, fn)
        if name in LIFECYCLE_HOOKS:
            self._root._lifecycle_hooks[name].append((self, fn))
        else:
            self._hooks.setdefault(name, []).append(fn)
        return self

    def _inherited_hooks(self, name: str) -> list[Callable]:
        """The hooks of ``name`` visible here: ancestors' first, then this context's."""
        return [fn for ctx in self._chain for fn in ctx._hooks.get(name, ())]

    # -- plugins -------------------------------------------------------------------------
    def register(self, plugin: Callable, prefix: str = "", **opts):
        """Queue ``plugin(app, opts)``; it boots at ready() (or ``await after()``)."""
        self._check_open("register")
        if not callable(plugin):
            raise TypeError("A plugin must be a function taking (app, opts), got %r" % (plugin,))
        prefix = normalize_prefix(prefix)
        if isinstance(plugin, boot.Plugin):
            opts = plugin.validate(opts)
        if prefix:
            opts["prefix"] = prefix
        node = boot.PluginNode(plugin, opts, prefix, self)
        if prefix and not node.encapsulated:
            warnings.warn('The prefix of plugin "%s" is ignored: it does not get its own '
                          "context" % node.name, stacklevel=2)
        self._node.add(node, self._root)
        return self

    async def after(self) -> Context:
        """Boot the plugins queued in this context so far."""
        await boot.load_queue(self._node, self._root)
        await boot.load_late(self._root)
        return self

    def _create_child(self, prefix: str, name: str) -> Context:
        child = Context(self._root, self, self._prefix + prefix, name)
        self._root._contexts.append(child)
        return child

    # -- decorations ---------------------------------------------------------------------
    def decorate(self, name: str, value: Any, dependencies=()):
        """Add ``name`` to this context (read as ``app.name``), visible in descendants."""
        self._check_open("decorate")
        taken = hasattr(type(self), name) or name in self.__dict__
        self._decorations.add(name, value, dependencies, taken)
        return self

    def decorate_request(self, name: str, default: Any, dependencies=()):
        """Give every request of this context's routes ``request.name`` (``default``)."""
        self._check_open("decorate_request")
        self._request_decorations.add(name, default, dependencies, hasattr(Request, name))
        return self

    def decorate_reply(self, name: str, default: Any, dependencies=()):
        """Give every reply of this context's routes ``reply.name`` (``default``)."""
        self._check_open("decorate_reply")
        self._reply_decorations.add(name, default, dependencies, hasattr(Reply, name))
        return self

    def has_decorator(self, name: str) -> bool:
        return self._decorations.has(name)

    def has_request_decorator(self, name: str) -> bool:
        return self._request_decorations.has(name)

    def has_reply_decorator(self, name: str) -> bool:
        return self._reply_decorations.has(name)

    def get_request_decoration(self, name: str) -> Any:
        """The request decoration default visible here; ``AttributeError`` if none."""
        try:
            return self._request_decorations.get(name)
        except KeyError:
            raise AttributeError(name) from None

    def get_reply_decoration(self, name: str) -> Any:
        """The reply decoration default visible here; ``AttributeError`` if none."""
        try:
            return self._reply_decorations.get(name)
        except KeyError:
            raise AttributeError(name) from None

    # -- error and not-found handlers ----------------------------------------------------
    def set_error_handler(self, fn: Callable):
        """``fn(error, request, reply)`` for errors of this context's routes."""
        self._check_open("set_error_handler")
        if not callable(fn):
            raise TypeError("The error handler must be a function, got %r" % (fn,))
        if self._error_handler is not None:
            if not self._root._options["allow_error_handler_override"]:
                raise errors.ErrorHandlerAlreadySetError(
                    "An error handler is already set in this context (prefix %r)"
                    % (self._prefix or "/",))
            warnings.warn("An error handler is already set in this context (prefix %r): "
                          "replacing it" % (self._prefix or "/",), stacklevel=2)
        self._error_handler = fn
        return self

    def set_not_found_handler(self, handler: Callable | None = None, **hooks: Any):
        """``handler(request, reply)`` for unmatched URLs under this context's prefix.

        Request hooks (``pre_validation=...``, ``pre_handler=...``) may be given
        for it as for a route. Without ``handler`` it works as a decorator.
        """
        self._check_open("set_not_found_handler")
        unknown = set(hooks) - REQUEST_HOOKS.keys()
        if unknown:
            raise TypeError("set_not_found_handler() got an unexpected keyword argument %r"
                            % sorted(unknown)[0])
        if handler is None:
            def decorator(fn: Callable) -> Callable:
                self.set_not_found_handler(fn, **hooks)
                return fn
            return decorator
        if not callable(handler):
            raise errors.RouteMissingHandlerError("The not-found handler must be a function")
        table = self._root._not_found_handlers
        if self._prefix in table:
            warnings.warn("A not-found handler is already set for prefix %r: replacing it"
                          % (self._prefix or "/",), stacklevel=2)
        table[self._prefix] = (self, handler, route_hook_lists(hooks))
        return self

    # -- schemas ---------------------------------------------------------------------------
    def add_schema(self, schema: dict):
        """Share a schema with an ``$id`` with this context and its children."""
        self._check_open("add_schema")
        self.schemas.add(schema)
        return self

    def get_schemas(self) -> dict[str, Any]:
        """Every shared schema this context sees, by ``$id``."""
        return self.schemas.all()

    def get_schema(self, schema_id: str) -> Any:
        return self.schemas.all().get(schema_id)

    def set_validator_compiler(self, fn: Callable):
        """``fn(schema, part, method, url) -> validate(data) -> data`` for this context."""
        self._check_open("set_validator_compiler")
        if not callable(fn):
            raise errors.InvalidRouteError("The validator compiler must be callable")
        self._validator_compiler = fn
        return self

    def set_serializer_compiler(self, fn: Callable):
        """``fn(schema, status, method, url) -> serialize(data) -> bytes`` for this context."""
        self._check_open("set_serializer_compiler")
        if not callable(fn):
            raise errors.InvalidRouteError("The serializer compiler must be callable")
        self._serializer_compiler = fn
        return self

    def set_schema_error_formatter(self, fn: Callable):
        """``fn(validation, part) -> message`` for validation errors of this context."""
        self._check_open("set_schema_error_formatter")
        if not callable(fn):
            raise errors.InvalidRouteError("The schema error formatter must be callable")
        self._schema_error_formatter = fn
        return self

    def _inherited(self, attribute: str) -> Any:
        for ctx in reversed(self._chain):
            value = getattr(ctx, attribute)
            if value is not None:
                return value
        return None

    def _compile_schema(self, record: RouteRecord, options: dict[str, Any]) -> None:
        """The record's validate step and serializers from its route's schema."""
        schema = options.get("schema")
        if not schema:
            return
        if not isinstance(schema, dict):
            raise errors.InvalidRouteError("The schema of route %s %s must be a dict"
                                           % (record.method, record.url))
        shared = self.schemas.all()
        record.validate = route_schema.build_validate(
            schema, method=record.method, url=record.url, shared=shared,
            compiler=options.get("validator_compiler") or self._inherited("_validator_compiler"),
            validation=self._root._options["validation"] or {},
            attach=bool(options.get("attach_validation")),
            formatter=(options.get("schema_error_formatter")
                       or self._inherited("_schema_error_formatter")))
        response = schema.get("response")
        if response:
            record.serializers = route_schema.build_serializers(
                response, method=record.method, url=record.url, shared=shared,
                compiler=(options.get("serializer_compiler")
                          or self._inherited("_serializer_compiler")))

    # -- content-type parsers ------------------------------------------------------------
    def add_content_type_parser(self, content_type: Any, fn: Callable, *,
                                parse_as: str = "bytes", body_limit: int | None = None):
        """``fn(request, body) -> parsed`` for bodies of that type, in this context."""
        self._check_open("add_content_type_parser")
        self.parsers.add(content_type, fn, parse_as=parse_as, body_limit=body_limit)
        return self

    def has_content_type_parser(self, content_type: Any) -> bool:
        return self.parsers.has(content_type)

    def get_content_types(self) -> tuple:
        """The media types (``type/subtype``, with any parameters it was added
        with) that a parser in this context reads, built-ins included; regex and
        catch-all parsers match no fixed type and are not listed."""
        return tuple(self.parsers._current_plan().strings)

    def remove_content_type_parser(self, content_type: Any):
        self._check_open("remove_content_type_parser")
        self.parsers.remove(content_type)
        return self

    def remove_all_content_type_parsers(self):
        self._check_open("remove_all_content_type_parsers")
        self.parsers.remove_all()
        return self

    # -- ready() ---------------------------------------------------------------------------
    def _freeze(self) -> None:
        """Flatten what this context sees (its parent must be frozen already)."""
        parent = self._parent
        self._hook_chain = chain_hooks(parent._hook_chain if parent else None, self._hooks)
        inherited = parent._error_chain if parent else ()
        handler = self._error_handler
        self._error_chain = (handler,) + inherited if handler is not None else inherited
        self._decorations.freeze()
        self._request_decorations.freeze()
        self._reply_decorations.freeze()
        self._record_parsers = None if self.parsers.only_builtins else self.parsers

    def _complete_record(self, record: RouteRecord, route_hooks: dict[str, tuple],
                         error_handler: Callable | None) -> None:
        """Fill the record's hook tuples, error-handler chain and parsers."""
        apply_hooks(record, self._hook_chain, route_hooks)
        chain = self._error_chain
        if error_handler is not None:
            chain = (error_handler,) + chain
        record.error_handlers = chain or None
        record.parsers = self._record_parsers
        record.request_decorations = self._request_decorations.flat() or None
        record.reply_decorations = self._reply_decorations.flat() or None


def _join(prefix: str, url: str) -> str:
    if not prefix:
        return url
    if url in ("", "/"):
        return prefix
    if url.startswith("*"):
        return prefix + "/" + url
    return prefix + url


def _check_route(method: Any, url: Any, handler: Any, options: dict[str, Any]) -> list[str]:
    """Validate what route() got (after the on_route hooks); the upper-cased methods."""
    methods = [method] if isinstance(method, str) else list(method)
    if not isinstance(url, str) or not url.startswith(("/", "*")):
        raise errors.InvalidRouteError("The route url must be a str starting with '/': %r" % (url,))
    if not callable(handler):
        raise errors.RouteMissingHandlerError(
            "Missing handler function for %s:%s route." % ("/".join(map(str, methods)), url))
    body_limit = options.get("body_limit")
    if body_limit is not None and (not isinstance(body_limit, int) or isinstance(body_limit, bool)
                                   or body_limit <= 0):
        raise errors.InvalidRouteError("body_limit must be a positive int, got %r" % (body_limit,))
    if options.get("error_handler") is not None and not callable(options["error_handler"]):
        raise errors.InvalidRouteError("error_handler must be callable")
    _check_websocket_route(methods, options)
    handler_timeout = options.get("handler_timeout")
    if handler_timeout is not None and not is_seconds(handler_timeout):
        raise errors.InvalidRouteError(
            "handler_timeout must be a number of seconds >= 0, got %r" % (handler_timeout,))
    methods = [str(m).upper() for m in methods]
    for m in methods:
        if m not in SUPPORTED_METHODS:
            raise errors.RouteMethodNotSupportedError("%s method is not supported." % m)
    return methods


def _check_websocket_route(methods: list, options: dict[str, Any]) -> None:
    """The WebSocket route options: one GET route, a callable ws_handler (not beside
    websocket=True), subprotocol names."""
    ws_handler = options.get("ws_handler")
    if options.get("websocket") and ws_handler is not None:
        raise errors.InvalidRouteError(
            "websocket=True makes the handler the WebSocket handler; ws_handler is for a "
            "route whose handler also serves plain requests")
    if options.get("websocket") or ws_handler is not None:
        if ws_handler is not None and not callable(ws_handler):
            raise errors.InvalidRouteError("ws_handler must be callable")
        if [str(m).upper() for m in methods] != ["GET"]:
            raise errors.InvalidRouteError("A WebSocket route is a GET route (RFC 6455 §4.1)")
    subprotocols = options.get("ws_subprotocols")
    if subprotocols is not None and (isinstance(subprotocols, str) or not all(
            isinstance(p, str) and p for p in subprotocols)):
        raise errors.InvalidRouteError("ws_subprotocols must be a list of subprotocol names")


def _upgrade_required(request, reply):
    """The plain-request handler of a websocket=True route (SPEC §11)."""
    reply.header("upgrade", "websocket")
    raise errors.WsUpgradeRequiredError("This route only accepts WebSocket connections")
