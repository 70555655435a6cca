"""The ``cors`` plugin (SPEC §13): Cross-Origin Resource Sharing, as ``@fastify/cors``.

``app.register(cors, origin=True, methods=("GET", "HEAD", "PUT", "PATCH", "POST",
"DELETE"), allowed_headers=None, exposed_headers=None, credentials=False,
max_age=None, preflight=True, strict_preflight=True)``.

How this works
--------------
At ``register`` the options become a :class:`Policy`: the ``origin`` option
turned into one ``match(origin, request)`` function (always true, a set
membership, a regex search, or the user's function, which may be async), and
every constant header value joined once. The plugin adds one ``on_request``
hook to the context it is registered in, so it sees every request of that
context's routes and, at the root, of the not-found handler: a preflight
needs no route of its own, whatever its path.

Per request (the Fetch standard's CORS protocol):

1. ``Vary: Origin`` is added unless the allowed origin is a fixed ``"*"``
   (the answer depends on the Origin header, so shared caches must key on
   it). A request without ``Origin`` is not a CORS request: nothing else is
   done, and it is served as usual.
2. A route with ``config={"cors": False}`` is left alone.
3. ``OPTIONS`` with ``Access-Control-Request-Method`` is a preflight
   (when ``preflight``): answered 204 by the hook with the allow headers
   when the origin is allowed, with none when it is not. ``OPTIONS`` with
   ``Origin`` but no ``Access-Control-Request-Method`` is refused with
   ``FC_ERR_CORS_INVALID_PREFLIGHT`` (400) under ``strict_preflight``, and
   answered as a preflight otherwise.
4. Any other request with an allowed origin gets
   ``Access-Control-Allow-Origin`` (``"*"``, or the request's origin),
   ``Access-Control-Allow-Credentials`` and ``Access-Control-Expose-Headers``
   when configured; a disallowed origin gets no CORS header and the request
   is served all the same (the browser withholds the response).

``"*"`` is never sent together with credentials: the request's origin is
reflected instead, as the Fetch standard requires.
"""
from __future__ import annotations

import inspect
import re
from numbers import Real
from typing import Any, Callable

import fastcore
from fastcore.errors import FastcoreError

__all__ = ["cors", "CorsInvalidPreflightError"]


class CorsInvalidPreflightError(FastcoreError):
    """An ``OPTIONS`` request with ``Origin`` but no ``Access-Control-Request-Method``
    while ``strict_preflight`` is on."""

    code = "FC_ERR_CORS_INVALID_PREFLIGHT"
    status_code = 400
    default_message = "Invalid Preflight Request"


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


def _add_vary(reply: Any, name: str) -> None:
    current = reply.get_header("vary")
    if current is None:
        reply.header("vary", name)
    else:
        _merge_vary(reply, str(current), name)


def _merge_vary(reply: Any, current: str, name: str) -> None:
    """Add ``name`` to a Vary value already set, unless it is there (or ``*`` is)."""
    names = [part.strip().lower() for part in current.split(",")]
    if "*" not in names and name.lower() not in names:
        reply.header("vary", current + ", " + name)


class Policy:
    """The options, prepared once: what each request is compared with and answered."""

    def __init__(self, options: dict) -> None:
        origin = options["origin"]
        self.match = _matcher(origin)
        self.credentials: bool = options["credentials"]
        # "*" is sent as such only without credentials; otherwise the origin is reflected.
        self.star = origin == "*" and not self.credentials
        self.vary = not self.star
        self.methods = _header_list("methods", options["methods"], empty_ok=False)
        self.allowed_headers = _header_list("allowed_headers", options["allowed_headers"],
                                            empty_ok=True)
        self.exposed_headers = _header_list("exposed_headers", options["exposed_headers"],
                                            empty_ok=True)
        max_age = options["max_age"]
        self.max_age = None if max_age is None else str(int(max_age))
        self.preflight: bool = options["preflight"]
        self.strict: bool = options["strict_preflight"]

    def allow(self, reply: Any, origin: str) -> None:
        """The headers of every answer to an allowed origin."""
        reply.header("access-control-allow-origin", "*" if self.star else origin)
        if self.credentials:
            reply.header("access-control-allow-credentials", "true")
        if self.exposed_headers:
            reply.header("access-control-expose-headers", self.exposed_headers)

    def allow_preflight(self, request: Any, reply: Any) -> None:
        """The headers only a preflight's answer carries."""
        reply.header("access-control-allow-methods", self.methods)
        if self.allowed_headers is None:
            _add_vary(reply, "Access-Control-Request-Headers")
            asked = request.headers.get("access-control-request-headers")
            if asked:
                reply.header("access-control-allow-headers", asked)
        elif self.allowed_headers:
            reply.header("access-control-allow-headers", self.allowed_headers)
        if self.max_age is not None:
            reply.header("access-control-max-age", self.max_age)

    def answer(self, request: Any, reply: Any, origin: str, allowed: Any) -> None:
        """Set the headers for an origin, allowed or not; answer a preflight."""
        preflight = self.preflight and request.method == "OPTIONS"
        if preflight and self.strict and request.headers.get(
                "access-control-request-method") is None:
            raise CorsInvalidPreflightError()
        if allowed:
            self.allow(reply, origin)
            if preflight:
                self.allow_preflight(request, reply)
        if preflight:
            reply.code(204).send()


def make_hook(policy: Policy) -> Callable:
    """The ``on_request`` hook; it returns a coroutine only for an async origin function."""
    match = policy.match
    vary = policy.vary
    answer = policy.answer

    async def answer_later(request: Any, reply: Any, origin: str, allowed: Any) -> None:
        answer(request, reply, origin, await allowed)

    def on_request(request: Any, reply: Any) -> Any:
        # Runs for every request: without Origin, one header lookup (and Vary).
        if vary:
            current = reply.get_header("vary")
            if current is None:
                reply.header("vary", "Origin")
            else:
                _merge_vary(reply, str(current), "Origin")
        origin = request.get_header("origin")
        if origin is None:
            return None
        config = request.route_config
        if config and config.get("cors") is False:
            return None
        allowed = match(origin, request)
        if allowed.__class__ is not bool and inspect.isawaitable(allowed):
            return answer_later(request, reply, origin, allowed)
        return answer(request, reply, origin, allowed)

    return on_request


@fastcore.plugin(name="cors", options=_check)
async def cors(app: Any, options: dict) -> None:
    """Answer preflights and add the CORS headers to this context's replies."""
    app.add_hook("on_request", make_hook(Policy(options)))
