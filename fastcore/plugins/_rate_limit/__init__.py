"""The ``rate_limit`` plugin (SPEC §13): requests per key and time window.

``app.register(rate_limit, max=100, time_window=60, key=None, store="memory",
allow_list=None, continue_exceeding=False, skip_on_error=True, cache=10_000)``.

How this works
--------------
The plugin adds one ``on_request`` hook to the context it is registered in,
so every route of that context counts, and so does its not-found handler
(at the root: every unmatched URL). A *plan* says how a request is counted:
its limit, key function, allow list and counter. The plugin's options make
the default plan, whose counter is shared by every route without a
``rate_limit`` entry in its ``config``. A route with
``config={"rate_limit": {...}}`` gets a plan of its own (its counter named
after the route, or after its ``group``, which routes share), built the first
time one of its requests arrives and kept by the identity of the route's
config dict; ``config={"rate_limit": False}`` turns limiting off for it.
Routes declared after the plugin booted have that entry checked when they are
declared (``on_route``); the others when first requested.

Per request: the key (``request.ip`` by default), the allow list, then one
``hit`` on the counter, which returns the count in the window and the
seconds left. Every counted reply gets ``x-ratelimit-limit``,
``x-ratelimit-remaining`` and ``x-ratelimit-reset`` (seconds, rounded up);
past the limit the hook also sets ``retry-after`` and raises
``FC_ERR_RATE_LIMITED`` (429), which the error handlers render. With the
memory store and sync functions the hook is a plain function; a Redis counter
or an async ``key``/``allow_list`` makes it return a coroutine. A failing
store lets the request through (logged) with ``skip_on_error``, else raises
``FC_ERR_RATE_LIMIT_STORE`` (503).

``memory`` holds the in-process counters, ``redis_store`` the shared ones.
"""
from __future__ import annotations

import inspect
from numbers import Real
from operator import attrgetter
from typing import Any, Callable

import fastcore
from fastcore.errors import InvalidOptionError, PluginNotPresentError

from .errors import RateLimitedError, RateLimitStoreError
from .memory import MemoryStore
from .window import Plan, answer, limiter

__all__ = ["rate_limit", "RateLimitedError", "RateLimitStoreError"]

DEFAULTS: dict[str, Any] = {
    "max": 100, "time_window": 60, "key": None, "store": "memory", "allow_list": None,
    "continue_exceeding": False, "skip_on_error": True, "cache": 10_000,
}
# What a route's config["rate_limit"] may set; the rest comes from the plugin.
ROUTE_KEYS = ("max", "time_window", "group", "key", "allow_list", "continue_exceeding")

_request_ip = attrgetter("ip")
_MISSING = object()


# -- options ---------------------------------------------------------------------------

def _check(opts: dict) -> dict:
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise TypeError("unknown option(s) %s" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    _check_plan(options)
    if options["store"] not in ("memory", "redis"):
        raise ValueError('store is "memory" or "redis", got %r' % (options["store"],))
    if not isinstance(options["skip_on_error"], bool):
        raise TypeError("skip_on_error is a bool, got %r" % (options["skip_on_error"],))
    cache = options["cache"]
    if isinstance(cache, bool) or not isinstance(cache, int) or cache < 1:
        raise ValueError("cache is an int >= 1, got %r" % (cache,))
    return options


def _check_plan(options: dict) -> None:
    """The options a route may override too (``options`` holds all of them)."""
    limit = options["max"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError("max is an int >= 1, got %r" % (limit,))
    window = options["time_window"]
    if isinstance(window, bool) or not isinstance(window, Real) or not window > 0:
        raise ValueError("time_window is a number of seconds > 0, got %r" % (window,))
    if options["key"] is not None and not callable(options["key"]):
        raise TypeError("key is a function (request) -> str, got %r" % (options["key"],))
    allow = options["allow_list"]
    if allow is not None and not callable(allow) and not isinstance(
            allow, (list, tuple, set, frozenset)):
        raise TypeError("allow_list is a list of keys or a function (request, key) -> bool, "
                        "got %r" % (allow,))
    if not isinstance(options["continue_exceeding"], bool):
        raise TypeError("continue_exceeding is a bool, got %r"
                        % (options["continue_exceeding"],))


def check_route_entry(entry: Any) -> dict | None:
    """A route's ``config["rate_limit"]``: its overrides, or None when it is False."""
    if entry is False:
        return None
    if not isinstance(entry, dict):
        raise TypeError("config rate_limit is a dict of options or False, got %r" % (entry,))
    unknown = set(entry) - set(ROUTE_KEYS)
    if unknown:
        raise TypeError("config rate_limit: unknown option(s) %s" % ", ".join(sorted(unknown)))
    group = entry.get("group")
    if group is not None and (not isinstance(group, str) or not group):
        raise TypeError("config rate_limit: group is a non-empty str, got %r" % (group,))
    try:
        _check_plan({**DEFAULTS, **entry})
    except (TypeError, ValueError) as exc:
        raise type(exc)("config rate_limit: %s" % exc) from None
    return entry


# -- plans -----------------------------------------------------------------------------

def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None))


def _allow_check(allow: Any) -> Callable[[Any, Any], Any] | None:
    """``allowed(request, key)`` from the allow_list option."""
    if allow is None or callable(allow):
        return allow
    keys = frozenset(allow)
    return lambda request, key: key in keys


class Plans:
    """The default plan, and each route's own, found by its config dict."""

    def __init__(self, options: dict, store: Any) -> None:
        self._options = options
        self._store = store
        self._remote = options["store"] == "redis"
        self._by_config: dict[int, Any] = {}
        self.default = self._plan(options, "default")

    def _plan(self, options: dict, namespace: str) -> Plan:
        counter = self._store.counter(namespace, float(options["time_window"]), options["max"],
                                      options["continue_exceeding"])
        key = options["key"] or _request_ip
        allowed = _allow_check(options["allow_list"])
        return Plan(options["max"], key, allowed, counter,
                    self._remote or _is_async(key) or _is_async(allowed))

    def lookup(self, config: dict, request: Any) -> Plan | None:
        """The plan of the route whose config is ``config`` (None when it is off)."""
        plan = self._by_config.get(id(config), _MISSING)
        if plan is _MISSING:
            plan = self._by_config[id(config)] = self._for_route(config, request)
        return plan

    def _for_route(self, config: dict, request: Any) -> Plan | None:
        if "rate_limit" not in config:
            return self.default
        # A GET route also answers HEAD, with one record: one counter for both.
        method = "GET" if request.method == "HEAD" else request.method
        try:
            entry = check_route_entry(config["rate_limit"])
        except (TypeError, ValueError) as exc:
            raise InvalidOptionError("rate_limit: route %s %s: %s" % (
                method, request.route_url, exc)) from exc
        if entry is None:
            return None
        group = entry.get("group")
        namespace = "group:" + group if group else "route:%s %s" % (method, request.route_url)
        return self._plan({**self._options, **entry}, namespace)

    def check_route(self, route_options: dict) -> None:
        """``on_route``: refuse a bad ``config["rate_limit"]`` when the route is declared."""
        config = route_options.get("config") or {}
        if "rate_limit" in config:
            try:
                check_route_entry(config["rate_limit"])
            except (TypeError, ValueError) as exc:
                raise InvalidOptionError("rate_limit: route %s %s: %s" % (
                    route_options["method"], route_options["url"], exc)) from exc


# -- the hook --------------------------------------------------------------------------

def make_hook(plans: Plans, store_errors: tuple, skip_on_error: bool) -> Callable:
    """The ``on_request`` hook (``window.limiter``): a plain function, returning a
    coroutine only for the plans that wait (a Redis counter, an async key or
    allow_list), which ``limit_async`` counts."""

    async def limit_async(plan: Plan, request: Any, reply: Any) -> None:
        key = plan.key(request)
        if inspect.isawaitable(key):
            key = await key
        if plan.allowed is not None:
            allowed = plan.allowed(request, key)
            if allowed if not inspect.isawaitable(allowed) else await allowed:
                return
        try:
            counted = plan.hit(key)
            count, seconds_left = await counted if inspect.isawaitable(counted) else counted
        except store_errors as exc:
            if not skip_on_error:
                raise RateLimitStoreError() from exc
            request.log.warning("rate_limit: the store failed, request not counted: %s: %s",
                                type(exc).__name__, exc)
            return
        answer(reply, plan, count, seconds_left)

    return limiter(plans.default, plans.lookup, limit_async)


# -- the plugin ------------------------------------------------------------------------

def _store(app: Any, options: dict) -> Any:
    if options["store"] == "memory":
        return MemoryStore(options["cache"])
    if not app.has_decorator("redis"):
        raise PluginNotPresentError(
            'The dependency "redis" of plugin "rate_limit" is not registered '
            '(store="redis" counts in app.redis)')
    from .redis_store import RedisStore
    return RedisStore(app.redis)


@fastcore.plugin(name="rate_limit", options=_check)
async def rate_limit(app: Any, options: dict) -> None:
    """Limit each key to ``max`` requests per ``time_window`` seconds."""
    store = _store(app, options)
    plans = Plans(options, store)
    app.add_hook("on_route", plans.check_route)
    app.add_hook("on_request", make_hook(plans, store.errors, options["skip_on_error"]))
