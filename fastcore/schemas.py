"""Shared schemas (``add_schema``) and ``$ref`` resolution.

How this works
--------------
* A :class:`SchemaStore` holds the schemas added in one encapsulation context,
  keyed by their ``$id``. A child store sees its ancestors' schemas (looked up
  through the parent chain, so a schema added to a parent later is seen too);
  a child cannot reuse an ``$id`` that an ancestor already declares.
* A reference is a URI reference (RFC 3986) resolved against the base URI in
  force where it appears (JSON Schema draft-07 §8.2). ``$id: "Product"`` is a
  relative URI, so ``Product#``, ``Product#/properties/x``, ``Product`` and, inside
  that schema, ``#/definitions/x`` all resolve as Fastify users expect.
* Each schema document is indexed once (:class:`_Index`): a walk through the
  schema keywords (never into ``enum``/``const`` values) records the base URI in
  force at every subschema, every embedded ``$id`` as a document of its own and
  every plain-name ``$id`` (``"#foo"``) as an anchor. In draft-07 an ``$id``
  beside a ``$ref`` is ignored.
* :meth:`SchemaStore.resolver` layers the index of one root schema (a route's
  body schema, say) over the store's; :meth:`Resolver.resolve` returns the
  target subschema and its base URI, or raises ``FC_ERR_SCHEMA_REF_NOT_FOUND``
  naming the reference (callers add the route).

Everything here runs at registration or at ``ready()``; nothing per request.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Iterator
from urllib.parse import unquote

from .errors import SchemaDuplicateError, SchemaMissingIdError, SchemaRefNotFoundError

__all__ = ["SchemaStore", "Resolver", "resolve_uri", "split_fragment", "walk_subschemas"]

# Keywords whose value is a schema, a list of schemas, or a map of name -> schema.
_SCHEMA_ONE = ("additionalItems", "additionalProperties", "contains", "propertyNames",
               "not", "if", "then", "else")
_SCHEMA_LIST = ("allOf", "anyOf", "oneOf")
_SCHEMA_MAP = ("properties", "patternProperties", "definitions", "dependencies")

# RFC 3986 Appendix B: splits any URI reference into its five components.
_URI_PARTS = re.compile(r"^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$",
                        re.DOTALL)


def walk_subschemas(schema: Any) -> Iterator[Any]:
    """Yield the direct subschemas of ``schema`` (dicts and booleans)."""
    if not isinstance(schema, dict):
        return
    for key in _SCHEMA_ONE:
        if key in schema:
            yield schema[key]
    for key in _SCHEMA_LIST:
        value = schema.get(key)
        if isinstance(value, list):
            yield from value
    items = schema.get("items")
    if isinstance(items, list):
        yield from items
    elif items is not None:
        yield items
    for key in _SCHEMA_MAP:
        value = schema.get(key)
        if isinstance(value, dict):
            for sub in value.values():
                if isinstance(sub, (dict, bool)):  # dependencies also holds name lists
                    yield sub


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4."""
    out: list[str] = []
    while path:
        if path.startswith("../"):
            path = path[3:]
        elif path.startswith("./"):
            path = path[2:]
        elif path.startswith("/./") or path == "/.":
            path = "/" + path[3:]
        elif path.startswith("/../") or path == "/..":
            path = "/" + path[4:]
            if out:
                out.pop()
        elif path in (".", ".."):
            path = ""
        else:
            start = 1 if path.startswith("/") else 0
            end = path.find("/", start)
            end = len(path) if end < 0 else end
            out.append(path[:end])
            path = path[end:]
    return "".join(out)


def _join(scheme, authority, path, query, fragment) -> str:
    uri = ""
    if scheme is not None:
        uri += scheme + ":"
    if authority is not None:
        uri += "//" + authority
    uri += path
    if query is not None:
        uri += "?" + query
    if fragment is not None:
        uri += "#" + fragment
    return uri


def resolve_uri(base: str, ref: str) -> str:
    """Resolve the reference ``ref`` against ``base`` (RFC 3986 §5.2.2).

    A relative ``base`` (such as ``"Product"``) is accepted: its path is merged
    the same way, which is what lets plain ``$id`` names work as documents.
    """
    r_scheme, r_auth, r_path, r_query, r_frag = _URI_PARTS.match(ref).groups()
    if r_scheme is not None:
        return _join(r_scheme, r_auth, _remove_dot_segments(r_path), r_query, r_frag)
    b_scheme, b_auth, b_path, b_query, _ = _URI_PARTS.match(base).groups()
    if r_auth is not None:
        return _join(b_scheme, r_auth, _remove_dot_segments(r_path), r_query, r_frag)
    if r_path == "":
        return _join(b_scheme, b_auth, b_path, r_query if r_query is not None else b_query, r_frag)
    if r_path.startswith("/"):
        path = _remove_dot_segments(r_path)
    else:
        if b_auth is not None and b_path == "":
            merged = "/" + r_path
        else:
            cut = b_path.rfind("/")
            merged = b_path[:cut + 1] + r_path
        path = _remove_dot_segments(merged)
    return _join(b_scheme, b_auth, path, r_query, r_frag)


def split_fragment(uri: str) -> tuple[str, str]:
    """``"a#/b"`` -> ``("a", "/b")``; no ``#`` gives an empty fragment."""
    doc, _, frag = uri.partition("#")
    return doc, frag


class _Index:
    """Documents, anchors and base URIs found in one schema document."""

    __slots__ = ("docs", "anchors", "bases", "_keep")

    def __init__(self) -> None:
        self.docs: dict[str, Any] = {}
        self.anchors: dict[str, Any] = {}
        self.bases: dict[int, str] = {}
        self._keep: list[Any] = []  # keeps indexed objects alive so ids stay unique

    def add_document(self, schema: Any, base: str) -> None:
        doc, _ = split_fragment(base)
        self.docs.setdefault(doc, schema)
        self._walk(schema, doc)

    def _walk(self, schema: Any, base: str) -> None:
        if not isinstance(schema, dict):
            return
        sid = schema.get("$id")
        if isinstance(sid, str) and "$ref" not in schema:
            absolute = resolve_uri(base, sid)
            doc, frag = split_fragment(absolute)
            if frag:
                self.anchors.setdefault(absolute, schema)
            else:
                self.docs.setdefault(doc, schema)
            base = doc
        if id(schema) in self.bases:
            return  # already walked (a shared sub-dict, or a cycle through Python objects)
        self.bases[id(schema)] = base
        self._keep.append(schema)
        for sub in walk_subschemas(schema):
            self._walk(sub, base)


class Resolver:
    """Resolves ``$ref``s for one root schema against it and a store."""

    def __init__(self, root: Any = None, store: "SchemaStore | None" = None) -> None:
        self._store = store
        self._root = _Index()
        self.root_base = ""
        if root is not None:
            sid = root.get("$id") if isinstance(root, dict) else None
            self.root_base = split_fragment(sid)[0] if isinstance(sid, str) else ""
            self._root.add_document(root, self.root_base)

    def _indexes(self) -> Iterator[_Index]:
        yield self._root
        store = self._store
        while store is not None:
            yield store._get_index()
            store = store.parent

    def base_of(self, schema: Any, default: str = "") -> str:
        """The base URI in force at ``schema`` (``default`` when not indexed)."""
        for index in self._indexes():
            base = index.bases.get(id(schema))
            if base is not None:
                return base
        return default

    def _document(self, doc: str) -> Any:
        for index in self._indexes():
            if doc in index.docs:
                return index.docs[doc]
        return _MISSING

    def resolve(self, ref: str, base: str = "") -> tuple[Any, str]:
        """The subschema ``ref`` points at, and the base URI in force there."""
        absolute = resolve_uri(base, ref)
        found = self._lookup(absolute)
        if found is _MISSING and absolute != ref:
            found = self._lookup(ref)  # a plain store id referenced from under a URI base
        if found is _MISSING:
            err = SchemaRefNotFoundError(
                "Cannot resolve reference '%s' from base '%s'" % (ref, base or "#"))
            err.ref, err.base = ref, base
            raise err
        target, doc_base = found
        return target, self.base_of(target, doc_base)

    def _lookup(self, absolute: str) -> Any:
        doc, frag = split_fragment(absolute)
        if frag and not frag.startswith("/"):
            for index in self._indexes():
                if absolute in index.anchors:
                    return index.anchors[absolute], doc
            return _MISSING
        schema = self._document(doc)
        if schema is _MISSING:
            return _MISSING
        if frag:
            schema = _follow_pointer(schema, frag)
        return _MISSING if schema is _MISSING else (schema, doc)


_MISSING = object()


def _follow_pointer(schema: Any, pointer: str) -> Any:
    """Evaluate a URI-fragment JSON pointer (RFC 6901 §6) from ``schema``."""
    node = schema
    for token in unquote(pointer).split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node) \
                and (token == "0" or not token.startswith("0")):
            node = node[int(token)]
        else:
            return _MISSING
    return node


class SchemaStore:
    """Schemas shared by ``$id`` within one encapsulation context."""

    def __init__(self, parent: "SchemaStore | None" = None) -> None:
        self.parent = parent
        self._schemas: dict[str, Any] = {}
        self._index: _Index | None = None

    def child(self) -> "SchemaStore":
        """A store for a child context: it sees this store's schemas."""
        return SchemaStore(self)

    def add(self, schema: Any) -> None:
        """Add a schema; it needs an ``$id`` not yet used here or in an ancestor."""
        sid = schema.get("$id") if isinstance(schema, dict) else None
        if not isinstance(sid, str) or not sid:
            raise SchemaMissingIdError("Schema is missing an $id: %r" % (schema,))
        if self.get(sid) is not None:
            raise SchemaDuplicateError("Schema with id '%s' already declared" % sid)
        self._schemas[sid] = schema
        self._index = None

    def extend(self, schemas: Iterable[Any]) -> "SchemaStore":
        for schema in schemas:
            self.add(schema)
        return self

    def get(self, sid: str) -> Any:
        """The schema added with ``$id`` ``sid`` here or in an ancestor, else None."""
        store: SchemaStore | None = self
        while store is not None:
            if sid in store._schemas:
                return store._schemas[sid]
            store = store.parent
        return None

    def all(self) -> dict[str, Any]:
        """Every schema visible here, id -> schema, ancestors' first."""
        out = self.parent.all() if self.parent is not None else {}
        out.update(self._schemas)
        return out

    def __contains__(self, sid: str) -> bool:
        return self.get(sid) is not None

    def __len__(self) -> int:
        return len(self.all())

    def _get_index(self) -> _Index:
        if self._index is None:
            index = _Index()
            for sid, schema in self._schemas.items():
                index.add_document(schema, resolve_uri("", sid))
            self._index = index
        return self._index

    def resolver(self, root: Any = None) -> Resolver:
        """A :class:`Resolver` for ``root`` (a route schema) over this store."""
        return Resolver(root, self)

    def resolve(self, ref: str, base: str = "", root: Any = None) -> tuple[Any, str]:
        """Shortcut for ``self.resolver(root).resolve(ref, base)``."""
        return self.resolver(root).resolve(ref, base)
