"""Route plans and cache keys.

How this works
--------------
A route opts in with ``config={"cache": {...}}``; :func:`compile_plan`
checks that setting once and turns it into a :class:`RoutePlan` (ttl, the
``vary`` header names, ``private``, and the method its entries are filed
under). A GET route also answers HEAD with the same record, so a HEAD request
reads and fills the GET entry: a HEAD answer is the GET answer without its
body (RFC 9110 §9.3.2). An explicit HEAD route keeps entries of its own.

:meth:`RoutePlan.key` is the key of one request, a tuple whose first item is
the path (what ``invalidate`` removes by):

    (path, method, query, credentials[, vary header values])

- path: as received, with percent-escapes in one canonical form (RFC 3986
  §6.2.2: unreserved characters decoded, hex digits upper case);
- query: its ``name=value`` pairs ordered by name; pairs of one name keep
  their order, since ``?a=1&a=2`` and ``?a=2&a=1`` are different lists;
- credentials: ``""`` without ``Authorization``. A request that carries one
  is not cached unless the route is ``private``; then this is the token's
  subject (``sub``, read with PyJWT without verifying, when PyJWT is
  installed and the token is a JWT) *and* a digest of the whole header. The
  digest is what keeps one user's entry from another: a hit is answered
  before the route's own authentication runs, and an unverified ``sub`` can
  be forged by anyone, so an entry is only served to the very credentials
  that filled it.
"""
from __future__ import annotations

import math
import re
import string
from hashlib import blake2b
from typing import Any
from urllib.parse import quote

from .errors import CacheConfigError

try:
    import jwt as pyjwt
except ImportError:                 # pragma: no cover - depends on the environment
    pyjwt = None

ROUTE_KEYS = frozenset(("ttl", "vary", "private"))
CACHED_METHODS = ("GET", "HEAD")

_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# What quote() leaves as it is in a path: the RFC 3986 §3.3 pchar set, "/", "%".
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"


class RoutePlan:
    """What one route's ``config["cache"]`` decides, compiled once."""

    __slots__ = ("ttl", "vary", "private", "method")

    def __init__(self, ttl: float, vary: tuple[str, ...], private: bool, method: str) -> None:
        self.ttl = ttl
        self.vary = vary
        self.private = private
        self.method = method

    def key(self, request: Any) -> tuple | None:
        """The request's cache key, or None when it must not be cached."""
        get_header = request.get_header          # (request.headers is built on first use)
        authorization = get_header("authorization")
        if authorization is None:
            credentials: Any = ""
        elif self.private:
            credentials = credentials_of(authorization)
        else:
            return None
        path = request.path
        if "%" in path:
            path = canonical_path(path)
        query = request.query_string
        if "&" in query:
            query = sorted_query(query)
        if self.vary:
            return (path, self.method, query, credentials,
                    tuple([get_header(name) for name in self.vary]))
        return (path, self.method, query, credentials)


def compile_plan(spec: Any, default_ttl: float, method: str, where: str) -> RoutePlan | None:
    """``config["cache"]`` of the route ``where`` as a plan; None when it caches nothing.

    ``spec`` is ``True`` (the plugin's ttl), ``False``/``None`` (off) or a dict
    of ``ttl``, ``vary`` and ``private``; anything else is ``FC_ERR_CACHE_INVALID_CONFIG``.
    """
    if spec is None or spec is False:
        return None
    if spec is True:
        spec = {}
    if not isinstance(spec, dict):
        raise _invalid(where, "is a dict, True or False, got %r" % (spec,))
    unknown = set(spec) - ROUTE_KEYS
    if unknown:
        raise _invalid(where, "has unknown key(s) %s (known: ttl, vary, private)"
                       % ", ".join(sorted(map(str, unknown))))
    ttl = spec.get("ttl", default_ttl)
    if not is_ttl(ttl):
        raise _invalid(where, "ttl is a number of seconds > 0, got %r" % (ttl,))
    private = spec.get("private", False)
    if not isinstance(private, bool):
        raise _invalid(where, "private is a bool, got %r" % (private,))
    vary = _vary(spec.get("vary", ()), where)
    if method not in CACHED_METHODS:
        return None
    return RoutePlan(float(ttl), vary, private, method)


def is_ttl(value: Any) -> bool:
    """A number of seconds above zero (not a bool, not infinite)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _vary(vary: Any, where: str) -> tuple[str, ...]:
    if isinstance(vary, str) or not isinstance(vary, (list, tuple)) or not all(
            isinstance(name, str) and name for name in vary):
        raise _invalid(where, "vary is a list of header names, got %r" % (vary,))
    return tuple(name.lower() for name in vary)


def _invalid(where: str, reason: str) -> CacheConfigError:
    return CacheConfigError('route %s: config["cache"] %s' % (where, reason))


def canonical_path(path: str) -> str:
    """``path`` with its percent-escapes normalized (RFC 3986 §6.2.2.1 and §6.2.2.2)."""
    return _ESCAPE.sub(_canonical_escape, path)


def _canonical_escape(match: re.Match) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def path_key(path: Any) -> str:
    """The path as keys hold it, from a path as a user writes it (``/café``)."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("invalidate() takes a path starting with '/', got %r" % (path,))
    if "?" in path:
        raise ValueError("invalidate() takes a path without query string (every query "
                         "string of the path is invalidated), got %r" % (path,))
    return canonical_path(quote(path, safe=_PATH_SAFE))


def sorted_query(query: str) -> str:
    """The query's pairs ordered by name (a stable sort: one name's values keep their order)."""
    pairs = [pair for pair in query.split("&") if pair]
    pairs.sort(key=_pair_name)
    return "&".join(pairs)


def _pair_name(pair: str) -> str:
    return pair.partition("=")[0]


def credentials_of(authorization: str) -> tuple[str, str]:
    """(subject or "", digest of the whole header) for a private route's key."""
    digest = blake2b(authorization.encode("utf-8", "surrogatepass"),
                     digest_size=16).hexdigest()
    return (token_subject(authorization) or "", digest)


def token_subject(authorization: str) -> str | None:
    """The ``sub`` claim of a ``Bearer`` JWT, read without verification, or None."""
    scheme, _, token = authorization.partition(" ")
    if pyjwt is None or scheme.lower() != "bearer":
        return None
    try:
        claims = pyjwt.decode(token.strip(), options={"verify_signature": False})
    except Exception:           # not a JWT at all: the digest alone keys it
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return subject if isinstance(subject, str) else None
