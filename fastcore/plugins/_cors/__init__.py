"""The ``cors`` plugin (SPEC §13): Cross-Origin Resource Sharing, as ``@fastify/cors``.

``app.register(cors, origin=True, methods=("GET", "HEAD", "PUT", "PATCH", "POST",
"DELETE"), allowed_headers=None, exposed_headers=None, credentials=False,
max_age=None, preflight=True, strict_preflight=True)``.

How this works
--------------
At ``register`` the options become a :class:`~.policy.Policy`: the ``origin``
option turned into one ``match(origin, request)`` function (always true, a set
membership, a regex search, or the user's function, which may be async), and
every constant header value joined once. The plugin adds one ``on_request``
hook to the context it is registered in, so it sees every request of that
context's routes and, at the root, of the not-found handler: a preflight
needs no route of its own, whatever its path. What the hook does per request
(compiled) is told in ``policy``.

``"*"`` is never sent together with credentials: the request's origin is
reflected instead, as the Fetch standard requires.
"""
from __future__ import annotations

import re
from numbers import Real
from typing import Any, Callable

import fastcore

from .errors import CorsInvalidPreflightError
from .policy import Policy, make_hook

__all__ = ["cors", "CorsInvalidPreflightError"]


DEFAULTS: dict[str, Any] = {
    "origin": True, "methods": ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"),
    "allowed_headers": None, "exposed_headers": None, "credentials": False,
    "max_age": None, "preflight": True, "strict_preflight": True,
}

_Pattern = re.Pattern


# -- options ---------------------------------------------------------------------------

def _header_list(name: str, value: Any, empty_ok: bool) -> str | None:
    """A str or a sequence of str, joined with ", " (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, (list, tuple, set, frozenset)) and all(
            isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise TypeError("%s is a str or a list of str, got %r" % (name, value))
    if not items and not empty_ok:
        raise ValueError("%s is empty" % name)
    if any(not item.strip() or "\r" in item or "\n" in item for item in items):
        raise ValueError("%s holds an empty name or a line break: %r" % (name, value))
    return ", ".join(item.strip() for item in items)


def _check_origin(origin: Any) -> None:
    if origin is True or isinstance(origin, (str, _Pattern)) or callable(origin):
        return
    if isinstance(origin, (list, tuple, set, frozenset)) and all(
            isinstance(item, (str, _Pattern)) for item in origin):
        return
    raise TypeError("origin is True, \"*\", an origin, a list of origins or patterns, a "
                    "compiled regex or a function (origin, request) -> bool, got %r"
                    % (origin,))


def _check(opts: dict) -> dict:
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise TypeError("unknown option(s) %s" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    _check_origin(options["origin"])
    _header_list("methods", options["methods"], empty_ok=False)
    _header_list("allowed_headers", options["allowed_headers"], empty_ok=True)
    _header_list("exposed_headers", options["exposed_headers"], empty_ok=True)
    for name in ("credentials", "preflight", "strict_preflight"):
        if not isinstance(options[name], bool):
            raise TypeError("%s is a bool, got %r" % (name, options[name]))
    max_age = options["max_age"]
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, Real)
                                or max_age < 0):
        raise ValueError("max_age is a number of seconds >= 0 or None, got %r" % (max_age,))
    return options


# -- the policy ------------------------------------------------------------------------

def _always(origin: str, request: Any) -> bool:
    return True


def _matcher(origin: Any) -> Callable[[str, Any], Any]:
    """``match(origin, request) -> bool`` (or an awaitable) for the origin option."""
    if origin is True or origin == "*":
        return _always
    if isinstance(origin, str):
        return lambda value, request: value == origin
    if isinstance(origin, _Pattern):
        search = origin.search
        return lambda value, request: search(value) is not None
    if callable(origin):
        return origin
    exact = frozenset(item for item in origin if isinstance(item, str))
    patterns = tuple(item.search for item in origin if isinstance(item, _Pattern))
    return lambda value, request: value in exact or any(
        search(value) is not None for search in patterns)


def _policy(options: dict) -> Policy:
    origin = options["origin"]
    credentials = options["credentials"]
    max_age = options["max_age"]
    return Policy(
        _matcher(origin), credentials=credentials,
        star=origin == "*" and not credentials,
        methods=_header_list("methods", options["methods"], empty_ok=False),
        allowed_headers=_header_list("allowed_headers", options["allowed_headers"],
                                     empty_ok=True),
        exposed_headers=_header_list("exposed_headers", options["exposed_headers"],
                                     empty_ok=True),
        max_age=None if max_age is None else str(int(max_age)),
        preflight=options["preflight"], strict=options["strict_preflight"])


@fastcore.plugin(name="cors", options=_check)
async def cors(app: Any, options: dict) -> None:
    """Answer preflights and add the CORS headers to this context's replies."""
    policy = _policy(options)

    async def answer_later(request: Any, reply: Any, origin: str, allowed: Any) -> None:
        policy.answer(request, reply, origin, await allowed)

    app.add_hook("on_request", make_hook(policy, answer_later))
