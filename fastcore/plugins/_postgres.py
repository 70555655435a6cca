"""The ``postgres`` plugin (SPEC §13): an asyncpg pool as ``app.pg``, and a
transaction per request on the routes that ask for one.

``app.register(postgres, dsn=None, min_size=1, max_size=10, namespace=None,
**pool_kwargs)``; a route with ``config={"pg": {"transact": True}}`` gets
``request.pg``.

How this works
--------------
The pool: at ``register`` the options are checked (each of ``pool_kwargs``
must be a keyword of ``asyncpg.create_pool`` or ``asyncpg.connect``). At
boot the plugin builds a :class:`Pool`, asyncpg's ``Pool`` class itself with
``transact()`` and ``[namespace]`` added, from the same arguments and
defaults as ``asyncpg.create_pool`` (read from its signature), registers the
``on_close`` that closes it, then opens it: ``min_size`` connections are
made at once, so a PostgreSQL that cannot be reached fails the boot
(``FC_ERR_PLUGIN_BOOT``, the driver's error as ``__cause__``). ``app.pg``
is the pool; with ``namespace``, ``app.pg[namespace]`` (``app.pg`` is then
the pool registered without one, or a :class:`PoolNamespaces` mapping if
there is none yet).

``await app.pg.transact(fn)``: a connection from the pool, ``fn(connection)``
(sync or async) inside a transaction, committed when ``fn`` returns and
rolled back when it raises (the error propagates); its result is returned.

Transactions per request: the first registration in a context adds the
request decorations ``pg`` (the connection) and ``pg_transaction`` (its
asyncpg ``Transaction``) and four hooks there: ``on_route`` checks the
``config["pg"]`` of routes declared from then on (a bad one raises
``ValueError`` from the declaration; a route declared before the boot
raises it from its requests, a 500), and the three below, each of which
returns at once on a route whose config has no ``"pg"`` key.

- ``pre_handler``: for ``{"transact": True}`` (the pool without namespace)
  or ``{"transact": "<namespace>"}``, acquires a connection and starts a
  transaction: after validation, so a request refused there holds nothing.
  A WebSocket upgrade gets none (no hook runs once it is upgraded).
- ``on_send``: the reply is known: a status below 400 commits, any other
  (the handler raised, or answered an error) rolls back; then the
  connection goes back to the pool. A failing commit raises, so the client
  gets the error, not a success. The transaction ends when the reply is
  sent: a streamed body cannot use ``request.pg``.
- ``on_request_abort``: the client went away first: the transaction is
  rolled back at once and the connection released. If the handler is still
  running a query, the connection is terminated instead (PostgreSQL rolls
  back when it goes; the pool opens another). ``request.pg`` is then None,
  and a handler still running fails at its next use of the connection. A
  request whose client left while it waited for a connection releases the
  connection as soon as it gets it and ends with ``CancelledError``: its
  handler does not run.

Aborts are handled when they happen because nothing else would: when the
handler raises after its connection closed, the core runs no hook. So the
connection returns to the pool however the request ends, except for a
reply the route hijacks (``hijack()``: no hook runs after it).
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import fastcore
from fastcore.errors import DecAlreadyPresentError

try:
    import asyncpg
except ImportError as exc:          # pragma: no cover - depends on the environment
    raise ImportError('the postgres plugin needs asyncpg: pip install "fastcore-http[postgres]"'
                      ) from exc

__all__ = ["postgres", "Pool", "PoolNamespaces"]

log = logging.getLogger("fastcore")

DEFAULTS: dict[str, Any] = {"dsn": None, "min_size": 1, "max_size": 10, "namespace": None}

# create_pool's keywords and their defaults: how a Pool is built here too.
_CREATE_POOL = {name: p.default for name, p in
                inspect.signature(asyncpg.create_pool).parameters.items()
                if p.kind is p.KEYWORD_ONLY}
_CONNECT = {name for name, p in inspect.signature(asyncpg.connect).parameters.items()
            if p.kind is p.KEYWORD_ONLY}
POOL_KWARGS = frozenset(_CREATE_POOL.keys() | _CONNECT) - {"dsn", "loop", "min_size",
                                                           "max_size"}
CLOSE_TIMEOUT = 10.0     # seconds on_close waits for connections in use, then terminates


class Pool(asyncpg.Pool):
    """asyncpg's pool, plus :meth:`transact`; ``pool[namespace]`` is the
    namespaced pool registered beside it."""

    fastcore_namespaces: dict[str, Pool] | None = None

    async def transact(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(connection)`` (sync or async) in a transaction: committed when it
        returns, rolled back when it raises. Returns what ``fn`` returns."""
        async with self.acquire() as connection:
            async with connection.transaction():
                result = fn(connection)
                if inspect.isawaitable(result):
                    result = await result
                return result

    def __getitem__(self, namespace: str) -> Pool:
        if self.fastcore_namespaces is None or namespace not in self.fastcore_namespaces:
            raise KeyError(namespace)
        return self.fastcore_namespaces[namespace]


class PoolNamespaces:
    """``app.pg`` when the first pool registered had a namespace:
    ``app.pg[namespace]`` is a pool. Any other attribute is the pool
    registered without a namespace, when there is one."""

    def __init__(self) -> None:
        self._pools: dict[str, Pool] = {}
        self._default: Pool | None = None

    def __getitem__(self, namespace: str) -> Pool:
        return self._pools[namespace]

    def __contains__(self, namespace: object) -> bool:
        return namespace in self._pools

    def __iter__(self) -> Iterator[str]:
        return iter(self._pools)

    def __len__(self) -> int:
        return len(self._pools)

    def __repr__(self) -> str:
        return "<PoolNamespaces %s>" % ", ".join(sorted(self._pools))

    def __getattr__(self, name: str) -> Any:
        default = self.__dict__.get("_default")
        if default is None or name.startswith("_"):
            raise AttributeError(
                "app.pg holds only namespaced pools (%s): use app.pg[namespace]"
                % ", ".join(sorted(self.__dict__.get("_pools", ()))))
        return getattr(default, name)


# -- options ---------------------------------------------------------------------------

def _check(opts: dict) -> dict:
    pool_kwargs = {name: opts.pop(name) for name in list(opts) if name not in DEFAULTS}
    unknown = set(pool_kwargs) - POOL_KWARGS
    if unknown:
        raise TypeError("unknown option(s) %s (neither a postgres option nor a keyword of "
                        "asyncpg.create_pool or asyncpg.connect)" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    _check_dsn(options["dsn"])
    for name, least in (("min_size", 0), ("max_size", 1)):
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError("%s is an int >= %d, got %r" % (name, least, value))
    if options["min_size"] > options["max_size"]:
        raise ValueError("min_size (%d) is greater than max_size (%d)"
                         % (options["min_size"], options["max_size"]))
    namespace = options["namespace"]
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise ValueError("namespace is a non-empty str or None, got %r" % (namespace,))
    options["pool_kwargs"] = pool_kwargs
    return options


def _check_dsn(dsn: Any) -> None:
    # The value is not echoed: a DSN may hold a password.
    if dsn is None:
        return
    if not isinstance(dsn, str):
        raise ValueError("dsn is a postgres:// or postgresql:// URL, got a %s"
                         % type(dsn).__name__)
    try:
        scheme = urlsplit(dsn).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("postgres", "postgresql"):
        raise ValueError("dsn is a postgres:// or postgresql:// URL, got one with scheme %r"
                         % scheme)


# -- the plugin ------------------------------------------------------------------------

@fastcore.plugin(name="postgres", options=_check)
async def postgres(app: Any, options: dict) -> None:
    """Decorates the app with the pool (``app.pg`` or ``app.pg[namespace]``),
    and, once per context, requests with ``pg`` and the transaction hooks."""
    arguments = {**_CREATE_POOL, "min_size": options["min_size"],
                 "max_size": options["max_size"], **options["pool_kwargs"]}
    pool = Pool(options["dsn"], **arguments)

    async def close(instance: Any) -> None:
        await _close_pool(pool)

    app.add_hook("on_close", close)
    try:
        await pool
    except BaseException:
        pool.terminate()
        raise
    _decorate(app, options["namespace"], pool)
    if not app.has_request_decorator("pg"):
        _add_transactions(app)


async def _close_pool(pool: Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
    except TimeoutError:
        log.warning("postgres: connections still in use after %gs at close; terminated",
                    CLOSE_TIMEOUT)
        pool.terminate()


def _decorate(app: Any, namespace: str | None, pool: Pool) -> None:
    current = app.pg if app.has_decorator("pg") else None
    if namespace is None:
        if isinstance(current, PoolNamespaces) and current._default is None:
            current._default = pool
        elif current is not None:
            raise DecAlreadyPresentError(
                'The decorator "pg" has already been added: a pool without namespace is '
                "registered; give this one a namespace")
        else:
            app.decorate("pg", pool)
        return
    if current is None:
        current = PoolNamespaces()
        app.decorate("pg", current)
    namespaces = current._pools if isinstance(current, PoolNamespaces) else _own(current)
    if namespace in namespaces:
        raise DecAlreadyPresentError('The decorator "pg[%r]" has already been added'
                                     % namespace)
    namespaces[namespace] = pool


def _own(pool: Pool) -> dict[str, Pool]:
    if pool.fastcore_namespaces is None:
        pool.fastcore_namespaces = {}
    return pool.fastcore_namespaces


def _pool_for(app: Any, namespace: str | None) -> Pool:
    pools = app.pg
    if namespace is not None:
        return pools[namespace]
    if isinstance(pools, PoolNamespaces):
        if pools._default is None:
            raise LookupError('config {"pg": {"transact": True}} needs a postgres pool '
                              "registered without namespace")
        return pools._default
    return pools


# -- a transaction per request -----------------------------------------------------------

_NONE = object()        # the route does not transact


def _namespace(config: Any) -> Any:
    """The namespace of the pool a route transacts with (None: the default
    pool), or ``_NONE``, from its ``config["pg"]``."""
    transact = config.get("transact", False) if isinstance(config, dict) else None
    if transact is True:
        return None
    if transact is False:
        return _NONE
    if isinstance(transact, str) and transact:
        return transact
    raise ValueError('config["pg"] is {"transact": True, False or a namespace}, got %r'
                     % (config,))


def _add_transactions(app: Any) -> None:
    app.decorate_request("pg", None)
    app.decorate_request("pg_transaction", None)
    app.add_hook("on_route", _check_route)
    app.add_hook("pre_handler", _begin)
    app.add_hook("on_send", _end)
    app.add_hook("on_request_abort", _abort)


def _check_route(options: dict) -> None:
    """``on_route``: a route declared after the plugin booted has its
    ``config["pg"]`` checked at once (earlier ones, at their first request)."""
    config = options.get("config")
    if config and "pg" in config:
        _namespace(config["pg"])


def _begin(request: Any, reply: Any) -> Awaitable[None] | None:
    """``pre_handler``: a connection in a transaction for a transactional route."""
    config = request.route_config
    if not config or "pg" not in config or request.pg is not None:
        return None
    namespace = _namespace(config["pg"])
    if namespace is _NONE or request.headers.get("upgrade", "").lower() == "websocket":
        return None
    return _open(request, _pool_for(request.app, namespace))


async def _open(request: Any, pool: Pool) -> None:
    connection = await pool.acquire()
    transaction = connection.transaction()
    try:
        await transaction.start()
    except BaseException:
        await _release(pool, connection)
        raise
    if request.is_aborted:
        # The client left while the connection was being acquired: on_request_abort
        # has run already, so nothing would release it later.
        await _roll_back(pool, connection, transaction)
        raise asyncio.CancelledError()
    request.pg = connection
    request.pg_transaction = transaction


def _end(request: Any, reply: Any, payload: Any) -> Any:
    """``on_send``: commit below 400, roll back otherwise, release."""
    config = request.route_config
    if not config or "pg" not in config:
        return payload
    connection = request.pg
    if connection is None:
        return payload
    return _settle(request, connection, reply.status_code < 400, payload)


async def _settle(request: Any, connection: Any, commit: bool, payload: Any) -> Any:
    pool = _pool_for(request.app, _namespace(request.route_config["pg"]))
    transaction = request.pg_transaction
    request.pg = request.pg_transaction = None
    if commit:
        try:
            await transaction.commit()
        finally:
            await _release(pool, connection)
    else:
        await _roll_back(pool, connection, transaction)
    return payload


def _abort(request: Any) -> Awaitable[None] | None:
    """``on_request_abort``: roll back and release what the request holds."""
    config = request.route_config
    if not config or "pg" not in config or request.pg is None:
        return None
    pool = _pool_for(request.app, _namespace(config["pg"]))
    connection, transaction = request.pg, request.pg_transaction
    request.pg = request.pg_transaction = None
    return _roll_back(pool, connection, transaction)


async def _roll_back(pool: Pool, connection: Any, transaction: Any) -> None:
    try:
        await transaction.rollback()
    except Exception:
        # Busy with a query, or broken: terminated, PostgreSQL rolls back.
        connection.terminate()
    await _release(pool, connection)


async def _release(pool: Pool, connection: Any) -> None:
    try:
        await pool.release(connection)
    except Exception as exc:
        # asyncpg could not reset it and terminated it; the pool opens another.
        log.warning("postgres: a connection could not be reset and was terminated: %s", exc)
