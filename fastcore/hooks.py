"""Hook names, their signature checks, and the per-route chains built at ready().

Request hooks run for each request, in lifecycle order (SPEC §3); application
hooks run at boot, listen, close, and when routes or child contexts are
created. Every hook is checked when it is added: its name must be known and
``inspect.signature(fn).bind(*args)`` must accept the hook's positional
arguments, so a wrong signature fails at registration, not per request.

Contexts keep the hooks added to them in lists. At ready() each context's
chain (its ancestors' hooks root first, then its own) is computed once, and
every route record gets one tuple per request hook: that chain plus the
route's own hooks, or ``None`` when there is none, so an unused hook costs
one ``is None`` test per request.
"""
from __future__ import annotations

import inspect
import logging
import weakref
from typing import Any, Callable, Iterable

from . import errors

log = logging.getLogger("fastcore")

# name -> the positional arguments the hook is called with
REQUEST_HOOKS: dict[str, tuple[str, ...]] = {
    "on_request": ("request", "reply"),
    "pre_parsing": ("request", "reply"),
    "pre_validation": ("request", "reply"),
    "pre_handler": ("request", "reply"),
    "pre_serialization": ("request", "reply", "payload"),
    "on_send": ("request", "reply", "payload"),
    "on_response": ("request", "reply"),
    "on_error": ("request", "reply", "error"),
    "on_timeout": ("request", "reply"),
    "on_request_abort": ("request",),
}

APPLICATION_HOOKS: dict[str, tuple[str, ...]] = {
    "on_ready": (),
    "on_listen": (),
    "pre_close": (),
    "on_close": ("app",),
    "on_route": ("route_options",),
    "on_register": ("child", "opts"),
}

# Application hooks that run once for the whole app, in registration order
# across every context (on_close in reverse).
LIFECYCLE_HOOKS = ("on_ready", "on_listen", "pre_close", "on_close")
# Run inside the registering call (route(), a plugin's boot step), so they are
# synchronous, as in Fastify: an async one is refused when added.
SYNC_HOOKS = ("on_route", "on_register")

_ALL_HOOKS = {**REQUEST_HOOKS, **APPLICATION_HOOKS}

# fn -> hook names it passed the signature check for. The same hook function
# is often given to many routes, and inspect.signature is the slow part of
# registering a route.
_CHECKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def is_async_callable(fn: Any) -> bool:
    """True for ``async def`` functions and objects with an ``async def __call__``."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None))


def check_hook(name: str, fn: Any) -> None:
    """Raise the FC_ERR_HOOK_* error that ``add_hook(name, fn)`` deserves, if any."""
    args = _ALL_HOOKS.get(name) if isinstance(name, str) else None
    if args is None:
        raise errors.HookNotSupportedError("%r hook not supported!" % (name,))
    if not callable(fn):
        raise errors.HookInvalidHandlerError(
            "%s hook should be a function, instead got %s" % (name, type(fn).__name__))
    if name in SYNC_HOOKS and is_async_callable(fn):
        raise errors.HookInvalidAsyncHandlerError(
            "%s hook %s must be a plain function: %s hooks run synchronously, inside the "
            "call that registers" % (name, _label(fn), name))
    try:
        passed = _CHECKED.get(fn)
    except TypeError:           # not weakly referenceable: check it every time
        passed = None
    if passed is not None and name in passed:
        return
    _check_signature(name, args, fn)
    if passed is None:
        try:
            _CHECKED[fn] = {name}
        except TypeError:
            pass
    else:
        passed.add(name)


def _check_signature(name: str, args: tuple[str, ...], fn: Any) -> None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # no introspectable signature (some builtins): trust the caller
    try:
        signature.bind(*args)
    except TypeError:
        wanted = "(%s)" % ", ".join(args)
        if is_async_callable(fn):
            raise errors.HookInvalidAsyncHandlerError(
                "Async %s hook %s%s cannot be called as %s%s" % (
                    name, _label(fn), signature, name, wanted)) from None
        raise errors.HookInvalidHandlerError(
            "%s hook %s%s cannot be called as %s%s" % (
                name, _label(fn), signature, name, wanted)) from None


def _label(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__


def route_hook_lists(options: dict) -> dict[str, tuple]:
    """The route-level request hooks of route ``options``, checked, as tuples.

    Each option may be one function or a list/tuple of them; unset ones are
    left out of the result.
    """
    out = {}
    for name in REQUEST_HOOKS:
        value = options.get(name)
        if value is None:
            continue
        fns = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        for fn in fns:
            check_hook(name, fn)
        if fns:
            out[name] = fns
    return out


def chain_hooks(parent_chain: dict[str, tuple] | None,
                own: dict[str, list]) -> dict[str, tuple]:
    """One context's request hook chain: the parent's chain, then its own hooks."""
    chain = {}
    for name in REQUEST_HOOKS:
        inherited = parent_chain[name] if parent_chain is not None else ()
        mine = own.get(name)
        chain[name] = inherited + tuple(mine) if mine else inherited
    return chain


def apply_hooks(record: Any, chain: dict[str, tuple], route_hooks: dict[str, tuple]) -> None:
    """Set the record's hook fields: chain + route hooks, ``None`` when empty."""
    for name in REQUEST_HOOKS:
        fns = chain[name]
        extra = route_hooks.get(name)
        if extra:
            fns = fns + extra
        setattr(record, name, fns or None)


async def call_hook(fn: Callable, *args: Any) -> Any:
    """Call a sync or async hook and return its result."""
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def run_logged(name: str, entries: Iterable[tuple[Any, Callable]],
                     with_context: bool) -> None:
    """Run lifecycle hooks in order; an error is logged and the next hook still runs."""
    for context, fn in entries:
        try:
            if with_context:
                await call_hook(fn, context)
            else:
                await call_hook(fn)
        except Exception:
            log.exception("%s hook %s failed", name, _label(fn))
