"""The compiled router: a trie per HTTP method, find-my-way's matching rules."""
from __future__ import annotations

import re
from typing import Any

class Router:
    """Maps ``(method, path, host, version)`` to a registered store and its params.

    Patterns: static segments, ``:name`` params, several params in one segment
    (``/:from-:to``, ``/file.:ext``), regex params (``/:id(^\\d+$)``; the regex
    must match the whole value), and ``*`` as the whole last segment (its value,
    slashes included, is ``params["*"]``). ``::`` is a literal colon.

    Per segment, static beats params with static text or a regex, which beat a
    whole-segment param, which beats the wildcard, whatever the registration
    order; a dead end backtracks to the next alternative.
    """

    has_version_constraints: bool
    """True once a route has a ``version`` constraint; until then versions are ignored."""
    has_host_constraints: bool
    """True once a route has a ``host`` constraint; until then hosts are ignored."""
    custom_constraints: frozenset[str]
    """The names of the custom strategies routes may use as constraints."""
    has_custom_constraints: bool
    """True once a route has a custom constraint; until then ``custom`` is ignored."""
    custom_used: tuple[str, ...]
    """The custom strategy names some route uses, sorted; until one does, ``custom`` is ignored."""
    case_sensitive: bool
    """Whether static parts match case-sensitively (params always keep their case)."""
    ignore_trailing_slash: bool
    """Whether ``/foo`` and ``/foo/`` are the same route."""
    ignore_duplicate_slashes: bool
    """Whether runs of ``/`` count as one."""
    max_param_length: int
    """Longest accepted param value, in decoded characters (the wildcard is not limited)."""

    def __init__(
        self,
        *,
        case_sensitive: bool = True,
        ignore_trailing_slash: bool = False,
        ignore_duplicate_slashes: bool = False,
        max_param_length: int = 100,
        custom_constraints: tuple[str, ...] | frozenset[str] = (),
    ) -> None:
        """Create an empty router; ``max_param_length`` must be at least 1.

        ``custom_constraints`` names the custom strategies (not ``version`` or
        ``host``) whose values routes may declare.
        """

    def on(
        self,
        method: str,
        pattern: str,
        store: Any,
        constraints: dict[str, str | re.Pattern[str]] | None = None,
    ) -> None:
        """Register ``pattern`` for ``method``, returning ``store`` on a match.

        ``constraints`` may hold ``version`` (``"1.2.0"``, ``"1.2"`` or ``"1"``)
        and ``host`` (a string compared case-insensitively, or a compiled regex
        searched in the lower-cased Host), and, for each custom strategy name,
        a string the request's derived value must equal.

        Raises ``DuplicatedRouteError`` when the method, the normalised pattern
        (param names ignored) and the constraints are already registered, and
        ``InvalidRouteError`` for a malformed pattern (not starting with ``/``,
        ``*`` not a whole last segment, empty or repeated param name, unclosed
        or invalid regex, two plain params with nothing between them, bad
        percent-escape) or bad constraints.
        """

    def find(
        self,
        method: str,
        path: str,
        host: str | None = None,
        version: str | None = None,
        custom: dict[str, str | None] | None = None,
    ) -> tuple[Any, dict[str, str]] | None:
        """``(store, params)`` for the request, or ``None`` when nothing matches.

        ``path`` is the request path without its query string, as received
        (percent-encoded). ``host`` is the Host header, ``version`` the
        Accept-Version header (an exact version or an x-range: ``1.2.x``, ``1.x``,
        ``1``, ``*``). ``custom`` holds each custom strategy's derived value; a
        route with a custom constraint matches only an equal value, a route
        without one matches any. Params are percent-decoded; ``%2F`` never
        splits a segment.

        Raises ``BadUrlError`` for a malformed escape or escapes that are not
        UTF-8, and ``ParamTooLongError`` when a matched param is longer than
        ``max_param_length``.
        """

    def has_route(
        self,
        method: str,
        pattern: str,
        constraints: dict[str, str | re.Pattern[str]] | None = None,
    ) -> bool:
        """Whether ``on(method, pattern, ..., constraints)`` would be a duplicate.

        Raises ``InvalidRouteError`` for a malformed pattern, as ``on`` does.
        """

    def routes(self) -> list[tuple[str, str, dict[str, Any], Any]]:
        """``(method, pattern, constraints, store)`` of each route, in registration order."""

    def print_routes(self) -> str:
        """An indented tree, one line per segment, with the methods ending at each node."""
