"""The ``redis`` plugin (SPEC §13): a redis-py asyncio client as ``app.redis``.

``app.register(redis, url="redis://127.0.0.1:6379/0", client=None,
namespace=None, close_client=True, **client_kwargs)``.

How this works
--------------
At ``register`` the options are checked: the URL parsed as redis-py parses
it, ``client`` an asyncio client, each of ``client_kwargs`` a keyword that
``redis.asyncio.Redis`` takes. At boot the plugin builds the client with
``Redis.from_url(url, **client_kwargs)`` (or takes ``client``), registers its
``on_close`` (which ``aclose()``s the client, unless it was passed in with
``close_client=False``), then sends one ``PING``: a Redis that does not
answer fails the boot (``FC_ERR_PLUGIN_BOOT``, whose ``__cause__`` is the
Redis error), and a client the plugin built is closed at once.

Where the client goes:

- without ``namespace``: ``app.redis`` is the client itself, redis-py as it
  is;
- with ``namespace``: ``app.redis[namespace]``; ``app.redis`` is then a
  :class:`RedisNamespaces` mapping, unless a client without namespace was
  registered first: then ``app.redis`` stays that client, and indexing it
  reaches the namespaced ones (a client the plugin built is a
  :class:`Redis`, redis-py's client plus ``[namespace]``). A client without
  namespace registered after namespaced ones answers ``app.redis.<command>``
  through the mapping.
"""
from __future__ import annotations

import contextlib
import inspect
from typing import Any, Iterator

import fastcore
from fastcore.errors import DecAlreadyPresentError

try:
    import redis.asyncio as aioredis
    from redis.asyncio.connection import parse_url
except ImportError as exc:          # pragma: no cover - depends on the environment
    raise ImportError('the redis plugin needs redis-py: pip install "fastcore-http[redis]"'
                      ) from exc

DEFAULTS: dict[str, Any] = {"url": "redis://127.0.0.1:6379/0", "client": None,
                            "namespace": None, "close_client": True}

# What Redis.from_url passes on to the client and its connection pool.
CLIENT_KWARGS = frozenset(inspect.signature(aioredis.Redis.__init__).parameters) - {
    "self", "connection_pool"}

_CLIENT_TYPES = (aioredis.Redis, aioredis.RedisCluster)


class Redis(aioredis.Redis):
    """redis-py's asyncio client; ``client[namespace]`` is the namespaced client
    registered beside it (the one ``app.redis`` holds when both kinds are used)."""

    fastcore_namespaces: dict[str, Any] | None = None

    def __getitem__(self, namespace: str) -> Any:
        if self.fastcore_namespaces is None or namespace not in self.fastcore_namespaces:
            raise KeyError(namespace)
        return self.fastcore_namespaces[namespace]


class RedisNamespaces:
    """``app.redis`` when clients were registered with a namespace:
    ``app.redis[namespace]`` is a client. Any other attribute is the client
    registered without a namespace, when there is one (so the mapping has no
    methods of its own that could hide a Redis command such as ``get``)."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._default: Any = None

    def __getitem__(self, namespace: str) -> Any:
        return self._clients[namespace]

    def __contains__(self, namespace: object) -> bool:
        return namespace in self._clients

    def __iter__(self) -> Iterator[str]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    def __repr__(self) -> str:
        return "<RedisNamespaces %s>" % ", ".join(sorted(self._clients))

    def __getattr__(self, name: str) -> Any:
        default = self.__dict__.get("_default")
        if default is None or name.startswith("_"):
            raise AttributeError(
                "app.redis holds only namespaced clients (%s): use app.redis[namespace]"
                % ", ".join(sorted(self.__dict__.get("_clients", ()))))
        return getattr(default, name)


def _check(opts: dict) -> dict:
    client_kwargs = {name: opts.pop(name) for name in list(opts) if name not in DEFAULTS}
    unknown = set(client_kwargs) - CLIENT_KWARGS
    if unknown:
        raise TypeError("unknown option(s) %s (neither a redis option nor one of "
                        "redis.asyncio.Redis's keywords)" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    _check_client(options, given=opts, client_kwargs=client_kwargs)
    namespace = options["namespace"]
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise ValueError("namespace is a non-empty str or None, got %r" % (namespace,))
    if not isinstance(options["close_client"], bool):
        raise ValueError("close_client is a bool, got %r" % (options["close_client"],))
    options["client_kwargs"] = client_kwargs
    return options


def _check_client(options: dict, given: dict, client_kwargs: dict) -> None:
    """Either a URL (with client keywords) or a ready client."""
    client = options["client"]
    if client is None:
        url = options["url"]
        if not isinstance(url, str):
            raise ValueError("url is a redis://, rediss:// or unix:// URL, got %r" % (url,))
        try:
            parse_url(url)
        except ValueError as exc:
            raise ValueError("url %r is not a Redis URL: %s" % (url, exc)) from None
        if options["close_client"] is False:
            raise ValueError("close_client=False applies to a client passed with client=; "
                             "the client built from url is always closed")
        return
    if not isinstance(client, _CLIENT_TYPES):
        raise ValueError("client is a redis.asyncio.Redis (or RedisCluster), got %r"
                         % (type(client).__name__,))
    if "url" in given:
        raise ValueError("url and client exclude each other")
    if client_kwargs:
        raise ValueError("client keywords (%s) only apply to a client built from url"
                         % ", ".join(sorted(client_kwargs)))


@fastcore.plugin(name="redis", options=_check)
async def redis(app: Any, options: dict) -> None:
    """Decorates the app with the client (``app.redis`` or ``app.redis[namespace]``)."""
    client = options["client"]
    built = client is None
    if built:
        client = Redis.from_url(options["url"], **options["client_kwargs"])
    if built or options["close_client"]:
        async def close(instance: Any) -> None:
            await client.aclose()

        app.add_hook("on_close", close)
    try:
        await client.ping()
    except BaseException:
        if built:
            with contextlib.suppress(Exception):    # the PING's error is the one to report
                await client.aclose()
        raise
    _decorate(app, options["namespace"], client)


def _decorate(app: Any, namespace: str | None, client: Any) -> None:
    current = app.redis if app.has_decorator("redis") else None
    if namespace is None:
        if isinstance(current, RedisNamespaces) and current._default is None:
            current._default = client
        elif current is not None:
            raise DecAlreadyPresentError(
                'The decorator "redis" has already been added: a client without '
                "namespace is registered; give this one a namespace")
        else:
            app.decorate("redis", client)
        return
    if current is None:
        current = RedisNamespaces()
        app.decorate("redis", current)
    namespaces = _namespaces_of(current)
    if namespace in namespaces:
        raise DecAlreadyPresentError(
            'The decorator "redis[%r]" has already been added' % namespace)
    namespaces[namespace] = client


def _namespaces_of(current: Any) -> dict:
    """Where namespaced clients go: the mapping, or the client registered first."""
    if isinstance(current, RedisNamespaces):
        return current._clients
    if isinstance(current, Redis):
        if current.fastcore_namespaces is None:
            current.fastcore_namespaces = {}
        return current.fastcore_namespaces
    raise DecAlreadyPresentError(
        'The decorator "redis" is a client passed with client=, which cannot hold '
        "namespaced clients: register the namespaced clients first")
