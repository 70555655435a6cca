"""Content-type parsers: an encapsulated registry and Fastify's matching rules.

Each App context owns a :class:`ContentTypeParsers`. A child registry sees
everything its parent sees (live: later additions to the parent show through)
and adds or removes parsers for itself only. The root starts with two
built-ins, which the compiled pipeline runs in C: JSON (``application/json``,
orjson) and text (``text/plain``); they are :class:`Parser` objects with
``builtin`` set to ``"json"`` or ``"text"``.

Registration (:meth:`ContentTypeParsers.add`) takes a media type string
(``"application/xml"``, or with parameters: ``"text/html; charset=utf-8"``),
a list or tuple of them, a compiled ``re.Pattern``, or ``"*"`` (the catch-all).
Strings are trimmed, lower-cased and normalized to ``type/subtype`` plus
``; name="value"`` parameters; a string that is not a media type is
``FC_ERR_CTP_INVALID_TYPE``. Adding a type that is already visible is
``FC_ERR_CTP_ALREADY_PRESENT`` - in a child too, as in Fastify - except that a
built-in may be replaced directly. To replace an inherited custom parser,
``remove`` it first (which hides it in this registry only).

Matching (:meth:`ContentTypeParsers.match`), in this order:

1. the whole normalized header, parameters included, against string parsers
   (a parser registered with parameters matches only those parameters);
2. the header's media type alone (``type/subtype``) against string parsers,
   so ``application/json; charset=utf-8`` finds the ``application/json``
   parser;
3. regex parsers, most recently registered first (this registry's before its
   ancestors'), tested with ``re.search`` on the normalized header
   (``type/subtype; name="value"``, lower-cased);
4. the catch-all ``"*"``, if any.

A header that is not a media type (or is empty) goes straight to the
catch-all. ``None`` from ``match`` means 415.

Results are cached per registry in a bounded dict keyed by the raw header
value (the same few values repeat). Every registry of a tree shares one
mutation counter; a change anywhere invalidates the flattened view and the
caches lazily, at the next ``match``.
"""
from __future__ import annotations

import inspect
import re
from typing import Any, Callable, Iterable

import orjson

from . import errors

__all__ = ["ContentTypeParsers", "Parser", "normalize_content_type"]

_CACHE_SIZE = 256
_PARSE_AS = ("bytes", "str")

_TYPE_RE = re.compile(r"[\w!#$%&'*+.^`|~-]+\Z", re.ASCII)
_PARAM_RE = re.compile(r"(?:^|;)\s*([\w!#$%&'*+.^`|~-]+)=([^;]*)", re.ASCII)


def normalize_content_type(value: str) -> tuple[str, str] | None:
    """``(normalized, media_type)`` for a Content-Type value, ``None`` if invalid.

    ``"Text/HTML ; Charset=UTF-8"`` gives ``('text/html; charset="utf-8"',
    'text/html')``. Parameter names and values are lower-cased and values
    unquoted, then written back quoted, in their original order.
    """
    value = value.lower()
    head, sep, params = value.partition(";")
    slash = head.find("/")
    if slash == -1:
        return None
    kind = head[:slash].lstrip()
    subtype = head[slash + 1:].rstrip()
    if not _TYPE_RE.match(kind) or not _TYPE_RE.match(subtype):
        return None
    media_type = kind + "/" + subtype
    if not sep:
        return media_type, media_type
    parts = []
    for name, raw in _PARAM_RE.findall(params.strip()):
        if raw.startswith('"'):
            raw = raw[1:-1] if len(raw) > 1 and raw.endswith('"') else "invalid quoted string"
        parts.append('%s="%s"' % (name, raw))
    if not parts:
        return media_type, media_type
    return media_type + "; " + "; ".join(parts), media_type


def _is_async(fn: Callable) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None))


class Parser:
    """One registered parser.

    ``content_type`` is the normalized string, the ``re.Pattern`` or ``"*"``;
    ``fn(request, body)`` returns the parsed body (or an awaitable of it when
    ``is_async``); ``parse_as`` says whether ``body`` is given as ``bytes`` or
    as ``str`` (decoded as UTF-8); ``body_limit`` is ``None`` for the route's
    limit; ``builtin`` is ``"json"`` or ``"text"`` for the built-ins (which
    the compiled pipeline runs itself; their ``fn`` is the equivalent Python).
    """

    __slots__ = ("content_type", "fn", "parse_as", "body_limit", "builtin", "is_async")

    def __init__(self, content_type: Any, fn: Callable, parse_as: str = "bytes",
                 body_limit: int | None = None, builtin: str | None = None) -> None:
        self.content_type = content_type
        self.fn = fn
        self.parse_as = parse_as
        self.body_limit = body_limit
        self.builtin = builtin
        self.is_async = _is_async(fn)

    def __repr__(self) -> str:
        kind = self.content_type.pattern if isinstance(self.content_type, re.Pattern) \
            else self.content_type
        return "<Parser %r%s>" % (kind, " builtin=%s" % self.builtin if self.builtin else "")


def _parse_json(request: Any, body: bytes) -> Any:
    if not body:
        raise errors.CtpEmptyJsonBodyError()
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise errors.CtpInvalidJsonError() from None


def _parse_text(request: Any, body: str) -> str:
    return body


JSON_PARSER = Parser("application/json", _parse_json, "bytes", None, builtin="json")
TEXT_PARSER = Parser("text/plain", _parse_text, "str", None, builtin="text")

_CATCH_ALL = "*"


def _regex_key(pattern: re.Pattern) -> tuple:
    return ("re", pattern.pattern, pattern.flags)


class _Plan:
    """The flattened view of one registry: what ``match`` walks."""

    __slots__ = ("strings", "regexes", "catch_all")

    def __init__(self, strings: dict, regexes: list, catch_all: Parser | None) -> None:
        self.strings = strings          # normalized str -> Parser
        self.regexes = regexes          # [(key, pattern, Parser)], first tested first
        self.catch_all = catch_all


class ContentTypeParsers:
    """The parsers of one context; ``parent`` is the enclosing context's registry."""

    def __init__(self, parent: ContentTypeParsers | None = None) -> None:
        self.parent = parent
        self._strings: dict[str, Parser] = {}
        self._regexes: list[tuple[tuple, re.Pattern, Parser]] = []   # registration order
        self._catch_all: Parser | None = None
        self._hidden: set = set()       # keys removed here: ancestors' entries are hidden
        self._cleared = False           # remove_all(): every ancestor entry is hidden
        if parent is None:
            self._strings["application/json"] = JSON_PARSER
            self._strings["text/plain"] = TEXT_PARSER
            self._clock = [0]
        else:
            self._clock = parent._clock
        self._plan: _Plan | None = None
        self._plan_at = -1
        self._cache: dict[Any, Parser | None] = {}

    def child(self) -> ContentTypeParsers:
        """A registry that inherits this one."""
        return ContentTypeParsers(self)

    # -- registration --------------------------------------------------------------
    def add(self, content_type: str | re.Pattern | Iterable[str | re.Pattern],
            fn: Callable, *, parse_as: str = "bytes", body_limit: int | None = None) -> None:
        """Register ``fn(request, body) -> parsed`` for one or more content types."""
        if not callable(fn):
            raise errors.CtpInvalidHandlerError()
        if parse_as not in _PARSE_AS:
            raise errors.CtpInvalidParseTypeError(
                "The body parser can parse as 'bytes' or 'str' only, got %r" % (parse_as,))
        if body_limit is not None and (not isinstance(body_limit, int)
                                       or isinstance(body_limit, bool) or body_limit <= 0):
            raise errors.InvalidOptionError(
                "body_limit must be a positive int (bytes), got %r" % (body_limit,))
        if isinstance(content_type, (list, tuple)):
            if not content_type:
                raise errors.CtpEmptyTypeError("The content type list cannot be empty")
            types = list(content_type)
        else:
            types = [content_type]
        entries = []
        seen = set()
        for item in types:
            key, value = self._key_for_add(item)
            if key in seen or self._is_taken(key):
                raise errors.CtpAlreadyPresentError(
                    "Content type parser '%s' already present." % (_shown(value),))
            seen.add(key)
            entries.append((key, value))
        for key, value in entries:
            self._insert(key, value, Parser(value, fn, parse_as, body_limit))
        self._changed()

    def _key_for_add(self, item: Any) -> tuple[Any, Any]:
        if isinstance(item, re.Pattern):
            return _regex_key(item), item
        if not isinstance(item, str):
            raise errors.CtpInvalidTypeError(
                "The content type should be a str or a compiled regex, got %r" % (item,))
        text = item.strip().lower()
        if not text:
            raise errors.CtpEmptyTypeError()
        if text == _CATCH_ALL:
            return _CATCH_ALL, _CATCH_ALL
        normalized = normalize_content_type(text)
        if normalized is None:
            raise errors.CtpInvalidTypeError(
                "The content type %r is not a valid media type (type/subtype)" % (item,))
        return normalized[0], normalized[0]

    def _is_taken(self, key: Any) -> bool:
        # Visible and not a built-in: built-ins may be replaced directly (Fastify).
        current = self._visible(key)
        return current is not None and current.builtin is None

    def _insert(self, key: Any, value: Any, parser: Parser) -> None:
        if key == _CATCH_ALL:
            self._catch_all = parser
        elif isinstance(value, re.Pattern):
            self._regexes.append((key, value, parser))
        else:
            self._strings[key] = parser

    def has(self, content_type: str | re.Pattern) -> bool:
        """Whether a parser is registered (here or inherited) for exactly this type."""
        key = self._lookup_key(content_type)
        return key is not None and self._visible(key) is not None

    def remove(self, content_type: str | re.Pattern | Iterable[str | re.Pattern]) -> bool:
        """Remove (in this registry only) the parser for this type; True if one was."""
        types = list(content_type) if isinstance(content_type, (list, tuple)) else [content_type]
        removed = False
        for item in types:
            key = self._lookup_key(item)
            if key is None:
                continue
            removed = self._visible(key) is not None or removed
            self._drop_own(key)
            self._hidden.add(key)
            self._changed()
        return removed

    def remove_all(self) -> None:
        """Remove every parser, built-ins and inherited ones included, here only."""
        self._strings = {}
        self._regexes = []
        self._catch_all = None
        self._hidden = set()
        self._cleared = True
        self._changed()

    def _drop_own(self, key: Any) -> None:
        if key == _CATCH_ALL:
            self._catch_all = None
        elif isinstance(key, tuple):
            self._regexes = [entry for entry in self._regexes if entry[0] != key]
        else:
            self._strings.pop(key, None)

    def _lookup_key(self, content_type: Any) -> Any:
        if isinstance(content_type, re.Pattern):
            return _regex_key(content_type)
        if not isinstance(content_type, str):
            raise errors.CtpInvalidTypeError(
                "The content type should be a str or a compiled regex, got %r" % (content_type,))
        text = content_type.strip().lower()
        if text == _CATCH_ALL:
            return _CATCH_ALL
        normalized = normalize_content_type(text)
        return normalized[0] if normalized is not None else None

    def _changed(self) -> None:
        self._clock[0] += 1

    # -- the flattened view ----------------------------------------------------------
    def _current_plan(self) -> _Plan:
        if self._plan_at != self._clock[0] or self._plan is None:
            self._plan = self._build_plan()
            self._plan_at = self._clock[0]
            self._cache = {}
        return self._plan

    def _build_plan(self) -> _Plan:
        if self.parent is None or self._cleared:
            strings: dict = {}
            regexes: list = []
            catch_all = None
        else:
            inherited = self.parent._current_plan()
            hidden = self._hidden
            strings = {k: p for k, p in inherited.strings.items() if k not in hidden}
            regexes = [entry for entry in inherited.regexes if entry[0] not in hidden]
            catch_all = None if _CATCH_ALL in hidden else inherited.catch_all
        strings.update(self._strings)
        own = [entry for entry in reversed(self._regexes)]
        own_keys = {entry[0] for entry in own}
        regexes = own + [entry for entry in regexes if entry[0] not in own_keys]
        if self._catch_all is not None:
            catch_all = self._catch_all
        return _Plan(strings, regexes, catch_all)

    def _visible(self, key: Any) -> Parser | None:
        plan = self._current_plan()
        if key == _CATCH_ALL:
            return plan.catch_all
        if isinstance(key, tuple):
            for entry in plan.regexes:
                if entry[0] == key:
                    return entry[2]
            return None
        return plan.strings.get(key)

    @property
    def only_builtins(self) -> bool:
        """True when exactly the two untouched built-ins are visible (C fast path)."""
        plan = self._current_plan()
        return (not plan.regexes and plan.catch_all is None and len(plan.strings) == 2
                and plan.strings.get("application/json") is JSON_PARSER
                and plan.strings.get("text/plain") is TEXT_PARSER)

    # -- matching ---------------------------------------------------------------------
    def match(self, content_type: str | bytes | None) -> Parser | None:
        """The parser for a Content-Type header value, or ``None`` (415)."""
        plan = self._current_plan()
        cache = self._cache
        try:
            return cache[content_type]
        except KeyError:
            pass
        except TypeError:               # an unhashable value: no caching
            return self._find(plan, content_type)
        parser = self._find(plan, content_type)
        if len(cache) >= _CACHE_SIZE:
            del cache[next(iter(cache))]
        cache[content_type] = parser
        return parser

    @staticmethod
    def _find(plan: _Plan, content_type: Any) -> Parser | None:
        if isinstance(content_type, (bytes, bytearray)):
            content_type = content_type.decode("latin-1")
        if not content_type:
            return plan.catch_all
        normalized = normalize_content_type(content_type)
        if normalized is None:
            return plan.catch_all
        full, media_type = normalized
        parser = plan.strings.get(full)
        if parser is None:
            parser = plan.strings.get(media_type)
        if parser is not None:
            return parser
        for _, pattern, candidate in plan.regexes:
            if pattern.search(full):
                return candidate
        return plan.catch_all


def _shown(value: Any) -> str:
    return value.pattern if isinstance(value, re.Pattern) else str(value)
