# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, not from this header, so that the FASTCORE_DEBUG=1 build turns them on.
"""Response schemas compiled into serializer plans (SPEC §7): the cold half
of the serializer; ``_serialize.pyx`` walks what this builds.

How this works
--------------
``compile_plan(schema, schemas)`` turns a response schema, once, into a tree
of typed plan nodes (``_Node``: a kind, nullable, string format, enum; for
objects the ``_Prop`` entries in schema order with each key already encoded
as ``,"key":`` bytes and a C array view of them, ``_PropC``, that the hot
loop reads without reference counting; for arrays the prefix and items
nodes; for unions the branches).

``_Compiler`` resolves ``$ref``s at compile time against the shared ``$id``
schemas and the ids found inside the schema itself (RFC 3986 resolution
against each schema's base URI); a recursive schema becomes a cyclic plan,
since nodes are cached per schema object and base URI before their children
are compiled. ``allOf`` is merged into one schema; type unions,
``anyOf``/``oneOf`` become choice nodes; keywords that only annotate are
ignored. A reference that names no known schema is ``SchemaRefError``.

Nothing here runs per request.
"""
import re
import sys
from urllib.parse import unquote, urljoin

import orjson

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject

cdef object _orjson_dumps = orjson.dumps


class SchemaRefError(ValueError):
    """A ``$ref`` in the schema names no known schema; ``ref`` is the reference."""

    ref = None

    def __init__(self, ref, message=None):
        super().__init__(message or "cannot resolve $ref %r" % (ref,))
        self.ref = ref


cdef class _Prop:
    pass


@cython.auto_pickle(False)
cdef class _Node:

    def __dealloc__(self):
        PyMem_Free(self.cprops)

    cdef int set_props(self, tuple props) except -1:
        """Fills the C view of `props`; the keys get 16 bytes of padding so that
        the hot loop copies short keys with one fixed-size memcpy."""
        cdef _Prop p
        cdef Py_ssize_t i
        cdef Py_ssize_t n = len(props)
        self.cprops = <_PropC*>PyMem_Malloc(max(n, 1) * sizeof(_PropC))
        if self.cprops == NULL:
            raise MemoryError()
        self.props = props
        self.n_props = n
        for i in range(n):
            p = props[i]
            p.key_bytes = p.key_bytes + bytes(16)
            self.cprops[i].name = <PyObject*>p.name
            self.cprops[i].node = <PyObject*>p.node
            self.cprops[i].key = PyBytes_AS_STRING(p.key_bytes)
            self.cprops[i].key_len = len(p.key_bytes) - 16
            self.cprops[i].check = p.required or p.has_default
        return 0


cdef _Node compile_plan(object schema, object schemas):
    return _Compiler(schema, schemas).compile_root()


# --- compilation -----------------------------------------------------------------

cdef dict _TYPES = {"string": K_STRING, "integer": K_INTEGER, "number": K_NUMBER,
                    "boolean": K_BOOLEAN, "null": K_NULL, "object": K_OBJECT,
                    "array": K_ARRAY}
cdef dict _FORMATS = {"date-time": F_DATE_TIME, "date": F_DATE, "time": F_TIME}
cdef tuple _OBJECT_KEYWORDS = ("properties", "patternProperties", "additionalProperties",
                               "required")
cdef tuple _ARRAY_KEYWORDS = ("items", "prefixItems", "additionalItems")
# Keywords that say nothing about the written value; anyOf branches ignore them.
cdef frozenset _ANNOTATIONS = frozenset((
    "$id", "$schema", "$comment", "title", "description", "examples", "definitions",
    "$defs", "default", "readOnly", "writeOnly", "deprecated"))


cdef _Node _new_node(int kind):
    cdef _Node node = _Node.__new__(_Node)
    node.kind = kind
    node.n_props = 0
    node.n_prefix = 0
    return node


@cython.auto_pickle(False)
cdef class _Compiler:
    """Resolves $refs and builds the plan; lives for one compile_serializer call."""
    cdef object root
    cdef dict docs                # "$id" (base URI, no trailing '#') -> schema
    cdef dict cache               # (id(schema), base) -> _Node
    cdef list keep                # every schema seen, so that id() stays unique
    cdef set resolving

    def __init__(self, root, schemas):
        self.root = root
        self.docs = {}
        self.cache = {}
        self.keep = []
        self.resolving = set()
        if isinstance(schemas, dict):
            for key, shared in schemas.items():
                self._register(shared, _strip_hash(str(key)))
                self._add_ids(shared, _strip_hash(str(key)))
        elif schemas is not None:
            for shared in schemas:
                if not isinstance(shared, dict) or not isinstance(shared.get("$id"), str):
                    raise ValueError("a shared schema needs an \"$id\"")
                self._add_ids(shared, "")
        self._register(root, "")
        self._add_ids(root, "")

    def _register(self, schema, str uri):
        self.docs.setdefault(uri, schema)

    def _add_ids(self, schema, str base):
        """Registers every $id under `schema`, resolved against its base URI."""
        if isinstance(schema, list):
            for item in schema:
                self._add_ids(item, base)
            return
        if not isinstance(schema, dict):
            return
        sid = schema.get("$id")
        if isinstance(sid, str):
            if sid.startswith("#"):
                self._register(schema, base + sid)
            else:
                base = _strip_hash(urljoin(base, sid) if base else sid)
                self._register(schema, base)
                self._register(schema, _strip_hash(sid))
        for key, sub in schema.items():
            if key not in ("enum", "const", "default", "examples"):
                self._add_ids(sub, base)

    def compile_root(self):
        base = ""
        if isinstance(self.root, dict) and isinstance(self.root.get("$id"), str):
            base = _strip_hash(self.root["$id"])
        return self.node(self.root, base)

    def resolve(self, str ref, str base):
        """(schema, base) that `ref` names, seen from a schema under `base`."""
        uri, _, fragment = ref.partition("#")
        if uri:
            doc_uri = uri if uri in self.docs else urljoin(base, uri) if base else uri
        else:
            doc_uri = base
        if doc_uri not in self.docs:
            raise SchemaRefError(ref)
        target = self.docs[doc_uri]
        if fragment and not fragment.startswith("/"):
            anchor = doc_uri + "#" + fragment
            if anchor not in self.docs:
                raise SchemaRefError(ref)
            return self.docs[anchor], doc_uri
        for token in fragment.split("/")[1:]:
            token = unquote(token).replace("~1", "/").replace("~0", "~")
            try:
                target = target[int(token) if isinstance(target, list) else token]
            except (KeyError, IndexError, ValueError, TypeError):
                raise SchemaRefError(ref) from None
        return target, doc_uri

    def deref(self, schema, str base):
        """Follows $refs until a schema without one; returns (schema, base)."""
        seen = set()
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            if (ref, base) in seen:
                raise SchemaRefError(ref, "$ref %r refers to itself" % (ref,))
            seen.add((ref, base))
            schema, base = self.resolve(ref, base)
        return schema, base

    def node(self, schema, str base):
        schema, base = self.deref(schema, base)
        if schema is True:
            return _new_node(K_ANY)
        if schema is False:
            return _new_node(K_NEVER)
        if not isinstance(schema, dict):
            raise TypeError("a schema must be a dict or a bool, got %s"
                            % type(schema).__name__)
        key = (id(schema), base)
        node = self.cache.get(key)
        if node is not None:
            return node
        sid = schema.get("$id")
        if isinstance(sid, str) and not sid.startswith("#"):
            base = _strip_hash(urljoin(base, sid) if base else sid)
        node = _new_node(K_ANY)
        self.cache[key] = node
        self.keep.append(schema)
        self.fill(node, schema, base)
        return node

    def fill(self, _Node node, dict schema, str base):
        if "allOf" in schema:
            schema = self.merge_all_of(schema, base)
            self.keep.append(schema)
        if "enum" in schema:
            node.enum = tuple(schema["enum"])
        elif "const" in schema:
            node.enum = (schema["const"],)
        choices = schema.get("anyOf", schema.get("oneOf"))
        if choices is not None:
            return self.fill_choice(node, schema, choices, base)
        nullable = schema.get("nullable") is True
        types = schema.get("type")
        if isinstance(types, list):
            types = list(dict.fromkeys(types))
            if "null" in types and len(types) > 1:
                nullable = True
                types.remove("null")
            if len(types) > 1:
                node.kind = K_CHOICE
                node.branches = tuple(self.typed(_new_node(K_ANY), schema, t, base)
                                      for t in types)
                node.nullable = nullable
                return
            types = types[0] if types else None
        if types is None:
            if any(k in schema for k in _OBJECT_KEYWORDS):
                types = "object"
            elif any(k in schema for k in _ARRAY_KEYWORDS):
                types = "array"
        if types is not None:
            self.typed(node, schema, types, base)
        node.nullable = nullable

    def typed(self, _Node node, dict schema, t, str base):
        if t not in _TYPES:
            raise ValueError("unknown JSON Schema type %r" % (t,))
        node.kind = _TYPES[t]
        if node.kind == K_STRING:
            node.fmt = _FORMATS.get(schema.get("format"), F_NONE)
        elif node.kind == K_OBJECT:
            self.fill_object(node, schema, base)
        elif node.kind == K_ARRAY:
            self.fill_array(node, schema, base)
        return node

    def fill_object(self, _Node node, dict schema, str base):
        properties = schema.get("properties") or {}
        required = schema.get("required") or ()
        props = []
        for name, sub in properties.items():
            if not isinstance(name, str):
                raise TypeError("property names must be str, got %r" % (name,))
            props.append(self.prop(name, sub, name in required, base))
        node.set_props(tuple(props))
        node.prop_names = frozenset(properties)
        only = tuple(sys.intern(n) for n in required if n not in properties)
        node.required_only = only or None
        patterns = schema.get("patternProperties")
        if patterns:
            node.patterns = tuple((re.compile(p).search, self.node(s, base))
                                  for p, s in patterns.items())
        extra = schema.get("additionalProperties", False)
        if extra is not False:
            node.additional = self.node(extra, base)
        node.has_extras = node.patterns is not None or node.additional is not None

    def prop(self, str name, sub, bint required, str base):
        cdef _Prop p = _Prop.__new__(_Prop)
        p.name = sys.intern(name)
        p.node = self.node(sub, base)
        p.required = required
        try:
            p.key_bytes = b"," + _orjson_dumps(name) + b":"
        except orjson.JSONEncodeError:
            p.key_bytes = b""           # never written: a present value is an error
        resolved, _ = self.deref(sub, base)
        if isinstance(resolved, dict) and "default" in resolved:
            p.has_default = True
            p.default = resolved["default"]
        return p

    def fill_array(self, _Node node, dict schema, str base):
        items = schema.get("items", True)
        prefix = schema.get("prefixItems")
        if isinstance(items, list):
            prefix, items = items, schema.get("additionalItems", True)
        node.items = self.node(items, base)
        if prefix:
            node.prefix = tuple(self.node(s, base) for s in prefix)
            node.n_prefix = len(prefix)

    def fill_choice(self, _Node node, dict schema, choices, str base):
        rest = {k: v for k, v in schema.items()
                if k not in ("anyOf", "oneOf") and k not in _ANNOTATIONS}
        branches = []
        for choice in choices:
            if rest:
                choice, choice_base = self.deref(choice, base)
                if isinstance(choice, dict):
                    choice = dict(rest, **choice)
                    self.keep.append(choice)
                branches.append(self.node(choice, choice_base))
            else:
                branches.append(self.node(choice, base))
        node.kind = K_CHOICE
        node.branches = tuple(branches)
        node.nullable = schema.get("nullable") is True

    def merge_all_of(self, dict schema, str base):
        """allOf folded into one schema: properties merged, required joined,
        other keywords taken from the first schema that has them."""
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for sub in schema["allOf"]:
            sub, _ = self.deref(sub, base)
            if not isinstance(sub, dict):
                continue
            if "allOf" in sub:
                sub = self.merge_all_of(sub, base)
            for key, value in sub.items():
                if key == "properties":
                    merged["properties"] = dict(merged.get("properties") or {}, **value)
                elif key == "required":
                    merged["required"] = list(dict.fromkeys(
                        list(merged.get("required") or ()) + list(value)))
                else:
                    merged.setdefault(key, value)
        return merged


cdef str _strip_hash(str uri):
    return uri[:len(uri) - 1] if uri.endswith("#") else uri
