"""Decorations: named values added to a context, or to every request or reply.

Each context holds three :class:`Decorations` (instance, request, reply),
each pointing at the same kind in the parent context, so a name decorated in
a context is visible in its descendants and nowhere else. A name may be
decorated once along a chain of contexts (siblings may reuse it), and never
over an attribute the decorated object already has.

Request and reply decorations are defaults read per request: the compiled
``Request``/``Reply`` fall back to their route's context for an attribute
they do not hold, and an assignment on the object stores a per-request value.
A default is shared by every request, so it must be immutable (or a
function): a mutable default would leak state between requests
(``FC_ERR_DEC_REFERENCE_TYPE``).

Once the app is started nothing can be added, so :meth:`Decorations.freeze`
flattens each chain into one dict and lookups become a single dict access.
"""
from __future__ import annotations

import datetime
import decimal
import enum
import fractions
import uuid
from typing import Any, Iterable

from . import errors

_MISSING = object()

_IMMUTABLE_TYPES = (type(None), bool, int, float, complex, str, bytes, range,
                    decimal.Decimal, fractions.Fraction, datetime.date, datetime.time,
                    datetime.timedelta, datetime.timezone, uuid.UUID, enum.Enum,
                    type(Ellipsis))


def is_shareable(value: Any) -> bool:
    """Whether ``value`` may be shared by every request: immutable, or callable."""
    if callable(value) or isinstance(value, _IMMUTABLE_TYPES):
        return True
    if type(value) in (tuple, frozenset):
        return all(is_shareable(item) for item in value)
    return False


class Decorations:
    """The decorations of one kind in one context, chained to the parent's."""

    __slots__ = ("kind", "parent", "own", "_flat")

    def __init__(self, kind: str, parent: Decorations | None) -> None:
        self.kind = kind
        self.parent = parent
        self.own: dict[str, Any] = {}
        self._flat: dict[str, Any] | None = None

    def get(self, name: str, default: Any = _MISSING) -> Any:
        """The value visible here; ``default`` (or ``KeyError``) when there is none."""
        value = self._find(name)
        if value is _MISSING:
            if default is _MISSING:
                raise KeyError(name)
            return default
        return value

    def _find(self, name: str) -> Any:
        flat = self._flat
        if flat is not None:
            return flat.get(name, _MISSING)
        node: Decorations | None = self
        while node is not None:
            value = node.own.get(name, _MISSING)
            if value is not _MISSING:
                return value
            node = node.parent
        return _MISSING

    def has(self, name: str) -> bool:
        return self._find(name) is not _MISSING

    def add(self, name: str, value: Any, dependencies: Iterable[str],
            taken: bool) -> None:
        """Add ``name``; ``taken`` says the decorated object already has that attribute."""
        if not isinstance(name, str) or not name:
            raise TypeError("A decorator name must be a non-empty str, got %r" % (name,))
        if taken or self.has(name):
            raise errors.DecAlreadyPresentError(
                "The %s decorator '%s' has already been added!" % (self.kind, name))
        if self.kind != "instance" and not is_shareable(value):
            raise errors.DecReferenceTypeError(
                "The decorator '%s' of the %s is a %s: a mutable default would be shared "
                "by every %s. Decorate with None (or an immutable value) and set it "
                "per %s in a hook." % (name, self.kind, type(value).__name__, self.kind,
                                        self.kind))
        missing = [dep for dep in _as_names(dependencies) if not self.has(dep)]
        if missing:
            raise errors.DecMissingDependencyError(
                "The %s decorator '%s' is missing dependency '%s'." % (
                    self.kind, name, "', '".join(missing)))
        self.own[name] = value

    def flat(self) -> dict[str, Any]:
        """Every value visible here, by name (after :meth:`freeze`)."""
        return self._flat if self._flat is not None else {}

    def freeze(self) -> None:
        """Flatten the chain into one dict (the parent must be frozen first)."""
        flat = dict(self.parent._flat if self.parent is not None else {})
        flat.update(self.own)
        self._flat = flat


def _as_names(dependencies: Iterable[str]) -> list[str]:
    if isinstance(dependencies, str):
        return [dependencies]
    return list(dependencies or ())
