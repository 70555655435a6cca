"""The schema-compiled JSON serializer: a response schema in, orjson-identical bytes out."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

class SchemaRefError(ValueError):
    """A ``$ref`` in the schema names no known schema (or only itself)."""

    ref: str
    """The ``$ref`` value that could not be resolved."""

    def __init__(self, ref: str, message: str | None = None) -> None: ...

class Serializer:
    """A schema compiled once into a plan; calling it turns data into JSON bytes.

    The output holds exactly the schema's ``properties`` in schema order,
    values coerced to their declared types, and is byte for byte what
    ``orjson.dumps`` writes for the data so filtered and coerced. Every failure
    (a missing required property, an int beyond 64 bits, a lone surrogate, a
    value that fits no branch) raises
    :class:`fastcore.errors.FailedSerializationError`, whose message and
    ``pointer`` attribute name the JSON pointer of the bad value (``#/0/ts``).
    """

    def __init__(
        self,
        schema: Mapping[str, Any] | bool,
        schemas: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Compiles `schema`; `schemas` are shared schemas for ``$ref`` (see
        :func:`compile_serializer`). Raises :class:`SchemaRefError` for a
        ``$ref`` that names nothing, ``ValueError`` for an unknown type."""

    def __call__(self, data: Any) -> bytes:
        """Same as :meth:`dumps`."""

    def dumps(self, data: Any) -> bytes:
        """The JSON bytes of `data` as the schema shapes it."""

def compile_serializer(
    schema: Mapping[str, Any] | bool,
    schemas: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]] | None = None,
) -> Serializer:
    """Compiles a JSON Schema (draft-07, plus ``nullable``) into a :class:`Serializer`.

    `schemas` are shared schemas that ``$ref`` can name: a list of schemas each
    carrying an ``"$id"``, or a ``{id: schema}`` dict. References take the
    forms ``Id#``, ``Id#/properties/x``, ``#/definitions/x`` (within the
    schema holding the reference) and ``Id#anchor``.
    """
