"""The OpenAPI 3.1 document of an app's routes (SPEC §15).

How this works
--------------
:func:`build_document` runs once, when the route table is final (the
plugin's ``on_ready`` hook), and reads only the public API: the declared
routes (``app.get_route_definitions()``: method, URL, the options the
``on_route`` hooks saw, the declaring context), each context's shared
schemas (``get_schemas()``) and content types (``get_content_types()``).
The HEAD routes ``ready()`` adds for GET routes are not declared, so they are
never listed; a HEAD route declared by hand is.

1. Components. Every ``$id`` schema that some route's context (or the app)
   sees becomes ``components/schemas/<name>``; the name is the ``$id`` with
   each character a component name may not hold (``[A-Za-z0-9._-]``) made
   ``_``, and a ``_2``-style suffix when two ids end up alike. When sibling
   contexts declare the same ``$id``, the first one met wins.
2. Schemas are copied into the document, never changed in place, by
   :class:`SchemaConverter`: a ``$ref`` is resolved against the ``$id`` of
   the shared schema it sits in (RFC 3986), and one that lands on a shared
   schema is rewritten to ``#/components/schemas/<name>`` plus its JSON
   pointer (``Product#/properties/id`` →
   ``#/components/schemas/Product/properties/id``). ``$id`` and ``$schema``
   are dropped (an ``$id`` left in a component would change the base URI of
   the refs inside it). Routes declare JSON Schema draft-07 and OpenAPI 3.1
   speaks the 2020-12 dialect, so ``nullable: true`` becomes a ``"null"``
   type, and the array form of ``items`` becomes ``prefixItems`` (with
   ``additionalItems`` as ``items``). ``enum``, ``const``, ``default`` and
   examples are values, copied as they are.
3. Paths. ``/users/:id`` → ``/users/{id}``; a regex param
   (``:id(^\\d+$)``) also gets its regex as an anchored ``pattern``; the
   wildcard ``*`` becomes the path parameter ``{*}`` (its name in
   ``request.params``), which may be empty and hold slashes; ``::`` is a
   literal colon. Path parameters are always required; one without a
   ``params`` schema is a string; a string one gets ``minLength: 1`` and
   ``maxLength`` set to the app's ``max_param_length`` unless its schema
   says otherwise (the router matches nothing else).
4. Operations: one per declared method among the eight OpenAPI knows
   (others, such as ``PROPFIND``, and WebSocket-only routes cannot be
   described and are left out), unless the route schema has ``hide``. A
   method and path met twice (routes that differ only by constraints) is
   listed once, for the first route. ``params``/``querystring``/``headers``
   → ``parameters``, one per property (a part given as a ``$ref`` to a
   shared schema is looked up); ``body`` → a required ``requestBody`` for
   every content type the route's context parses (``text/plain`` only when
   the body schema allows a string); ``response`` → ``responses`` (``"2xx"``
   → ``2XX``, ``default`` kept, 204/304 without content); a route without
   ``response`` gets ``200 Default Response``. ``summary``,
   ``description``, ``tags``, ``operation_id`` (``operationId``, suffixed
   with ``_<method>`` when already taken, as by a route with several
   methods), ``deprecated`` and ``security`` are copied.
5. The ``openapi`` option is merged last: its ``components`` section by
   section (its own entries win), its ``paths`` path by path, every other
   key as given.

A local ``$ref`` inside a route's own schema (``#/definitions/x``) points
into that schema, which the document does not hold at its root: share such
schemas with ``add_schema`` instead.
"""
from __future__ import annotations

import copy
import re
from http import HTTPStatus
from typing import Any, Iterable
from urllib.parse import urljoin

__all__ = ["build_document", "openapi_path", "SchemaConverter"]

OPENAPI_VERSION = "3.1.0"
DEFAULT_INFO = {"title": "API", "version": "1.0.0"}
COMPONENTS = "#/components/schemas/"
OPERATIONS = frozenset(("get", "put", "post", "delete", "options", "head", "patch", "trace"))
ROUTE_KEYS = (("summary", "summary"), ("description", "description"), ("tags", "tags"),
              ("operation_id", "operationId"), ("deprecated", "deprecated"),
              ("security", "security"))

_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]")
_VALUES = frozenset(("enum", "const", "default", "examples", "example"))
_SCHEMA_MAPS = frozenset(("properties", "patternProperties", "definitions", "$defs",
                          "dependentSchemas"))
_CLASSES = {"1": "Informational", "2": "Success", "3": "Redirection", "4": "Client Error",
            "5": "Server Error"}
_NO_CONTENT = frozenset(("204", "304"))


# -- schemas -----------------------------------------------------------------------------

def _doc_id(sid: str) -> str:
    """The document part of an ``$id`` (``"Product#"`` is the document ``Product``)."""
    return sid.partition("#")[0]


def component_names(ids: Iterable[str]) -> dict[str, str]:
    """``{$id document: component name}``, names unique and made of allowed characters."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for sid in ids:
        base = _NOT_NAME.sub("_", _doc_id(sid)) or "schema"
        name, n = base, 1
        while name in taken:
            n += 1
            name = "%s_%d" % (base, n)
        taken.add(name)
        names[_doc_id(sid)] = name
    return names


def _modernize(schema: dict) -> dict:
    """The 2020-12 form of the draft-07 keywords OpenAPI 3.1 reads differently."""
    if "nullable" in schema:
        if schema.pop("nullable") is True:
            _allow_null(schema)
    items = schema.get("items")
    if isinstance(items, list):
        schema["prefixItems"] = schema.pop("items")
        if "additionalItems" in schema:
            schema["items"] = schema.pop("additionalItems")
    return schema


def _allow_null(schema: dict) -> None:
    kind = schema.get("type")
    if isinstance(kind, str) and kind != "null":
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = kind + ["null"]
    enum = schema.get("enum")
    if isinstance(enum, list) and None not in enum:
        schema["enum"] = enum + [None]


class SchemaConverter:
    """Copies schemas into the document with their refs pointing at the components."""

    def __init__(self, shared: dict[str, Any]) -> None:
        self.shared = shared
        self.names = component_names(shared)
        self._by_doc = {_doc_id(sid): schema for sid, schema in shared.items()}

    def components(self) -> dict[str, Any]:
        return {self.names[_doc_id(sid)]: self.convert(schema, _doc_id(sid))
                for sid, schema in self.shared.items()}

    def lookup(self, ref: str, base: str = "") -> tuple[Any, str] | None:
        """The shared schema a whole-document ``$ref`` names, and its id, else None."""
        doc, _, fragment = (urljoin(base, ref) if base else ref).partition("#")
        if fragment or doc not in self._by_doc:
            return None
        return self._by_doc[doc], doc

    def convert(self, value: Any, base: str = "") -> Any:
        """A copy of ``value`` (a schema, or a list of them) fit for the document;
        ``base`` is the ``$id`` of the shared schema it sits in."""
        if isinstance(value, list):
            return [self.convert(item, base) for item in value]
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for key, sub in value.items():
            if key in ("$id", "$schema"):
                continue
            if key in _VALUES:
                out[key] = copy.deepcopy(sub)
            elif key == "$ref" and isinstance(sub, str):
                out[key] = self.ref(sub, base)
            elif key in _SCHEMA_MAPS and isinstance(sub, dict):
                out[key] = {name: self.convert(item, base) for name, item in sub.items()}
            else:
                out[key] = self.convert(sub, base)
        return _modernize(out)

    def ref(self, ref: str, base: str) -> str:
        """``ref`` pointing into the components when it lands on a shared schema."""
        doc, _, fragment = (urljoin(base, ref) if base else ref).partition("#")
        name = self.names.get(doc) if doc else None
        if name is None or (fragment and not fragment.startswith("/")):
            return ref          # not a shared schema, or a plain-name anchor
        return COMPONENTS + name + fragment


# -- paths -------------------------------------------------------------------------------

def _closing_paren(url: str, start: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``start`` (escapes and [...] skipped)."""
    depth, in_class, k = 0, False, start
    while k < len(url):
        c = url[k]
        if c == "\\":
            k += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return len(url)


def _param_name_end(url: str, i: int) -> int:
    while i < len(url) and url[i].isascii() and (url[i].isalnum() or url[i] == "_"):
        i += 1
    return i


def openapi_path(url: str) -> tuple[str, list[tuple[str, str | None]]]:
    """``("/users/{id}", [("id", regex or None)])`` for a route URL."""
    if url.startswith("*"):
        url = "/" + url
    out: list[str] = []
    params: list[tuple[str, str | None]] = []
    i = 0
    while i < len(url):
        c = url[i]
        if url.startswith("::", i):
            out.append(":")
            i += 2
        elif c == ":":
            j = _param_name_end(url, i + 1)
            name, regex = url[i + 1:j], None
            if j < len(url) and url[j] == "(":
                k = _closing_paren(url, j)
                regex, j = url[j + 1:k], k + 1
            params.append((name, regex))
            out.append("{%s}" % name)
            i = j
        elif c == "*":
            params.append(("*", None))
            out.append("{*}")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out), params


def _anchored(regex: str) -> str:
    """A route param's regex as a JSON Schema pattern: the whole value must match."""
    if regex.startswith("^"):
        regex = regex[1:]
    if regex.endswith("$") and not regex.endswith("\\$"):
        regex = regex[:-1]
    return "^(?:%s)$" % regex


def _is_string_schema(schema: dict) -> bool:
    kind = schema.get("type")
    return kind is None or kind == "string" or (isinstance(kind, list) and "string" in kind)


# -- operations --------------------------------------------------------------------------

def _status_key(key: Any) -> str:
    text = str(key).lower()
    if len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
        return text[0] + "XX"
    return text


def _description(code: str, schema: Any) -> str:
    if isinstance(schema, dict) and isinstance(schema.get("description"), str):
        return schema["description"]
    if code.isdigit():
        try:
            return HTTPStatus(int(code)).phrase
        except ValueError:
            return "Response"
    return _CLASSES.get(code[0], "Default Response")


def _accepts_string(schema: Any) -> bool:
    return isinstance(schema, dict) and "type" in schema and _is_string_schema(schema)


class DocumentBuilder:
    """Builds the ``paths`` and ``components`` of one app's document."""

    def __init__(self, app: Any) -> None:
        self.routes = app.get_route_definitions()
        shared: dict[str, Any] = {}
        contexts = {id(context): context for context in
                    [app] + [route[3] for route in self.routes]}
        for context in contexts.values():
            for sid, schema in context.get_schemas().items():
                shared.setdefault(sid, schema)
        self.schemas = SchemaConverter(shared)
        self.max_param_length = app.initial_config.get("max_param_length") or 0
        self.operation_ids: set[str] = set()

    def paths(self) -> dict[str, dict]:
        paths: dict[str, dict] = {}
        for method, url, options, context in self.routes:
            name = method.lower()
            schema = options.get("schema") or {}
            if (name not in OPERATIONS or options.get("websocket")
                    or not isinstance(schema, dict) or schema.get("hide")):
                continue
            path, params = openapi_path(url)
            item = paths.setdefault(path, {})
            if name not in item:
                item[name] = self.operation(name, schema, params, context)
        return {path: item for path, item in paths.items() if item}

    def operation(self, method: str, schema: dict, params: list, context: Any) -> dict:
        op: dict[str, Any] = {}
        for key, name in ROUTE_KEYS:
            if key in schema:
                op[name] = copy.deepcopy(schema[key])
        if "operationId" in op:
            op["operationId"] = self._unique_operation_id(str(op["operationId"]), method)
        parameters = self.parameters(schema, params)
        if parameters:
            op["parameters"] = parameters
        if "body" in schema:
            op["requestBody"] = self.request_body(schema["body"], context)
        op["responses"] = self.responses(schema.get("response"))
        return op

    def _unique_operation_id(self, operation_id: str, method: str) -> str:
        if operation_id in self.operation_ids:
            operation_id = "%s_%s" % (operation_id, method)
        self.operation_ids.add(operation_id)
        return operation_id

    # -- parameters ---------------------------------------------------------------
    def _object_part(self, part: Any) -> tuple[dict, set, str]:
        """``(properties, required names, base id)`` of a params/query/headers schema."""
        base = ""
        if isinstance(part, dict) and isinstance(part.get("$ref"), str):
            found = self.schemas.lookup(part["$ref"])
            if found is not None:
                part, base = found
        if not isinstance(part, dict):
            return {}, set(), base
        properties = part.get("properties")
        required = part.get("required")
        return (properties if isinstance(properties, dict) else {},
                set(required) if isinstance(required, list) else set(), base)

    def parameters(self, schema: dict, path_params: list) -> list[dict]:
        properties, _, base = self._object_part(schema.get("params"))
        out = [self._path_parameter(name, regex, properties.get(name), base)
               for name, regex in path_params]
        query = schema.get("querystring", schema.get("query"))
        for part, where in ((query, "query"), (schema.get("headers"), "header")):
            properties, required, base = self._object_part(part)
            out.extend(self._parameter(name, where, name in required,
                                       self.schemas.convert(prop, base))
                       for name, prop in properties.items())
        return out

    def _path_parameter(self, name: str, regex: str | None, prop: Any, base: str) -> dict:
        converted = self.schemas.convert(prop, base) if isinstance(prop, dict) else {
            "type": "string"}
        if regex is not None and "pattern" not in converted:
            converted["pattern"] = _anchored(regex)
        if name != "*" and _is_string_schema(converted) and "$ref" not in converted:
            converted.setdefault("minLength", 1)
            if self.max_param_length:
                converted.setdefault("maxLength", self.max_param_length)
        return self._parameter(name, "path", True, converted)

    @staticmethod
    def _parameter(name: str, where: str, required: bool, schema: Any) -> dict:
        parameter = {"name": name, "in": where, "required": required, "schema": schema}
        if isinstance(schema, dict) and isinstance(schema.get("description"), str):
            parameter["description"] = schema["description"]
        return parameter

    # -- bodies -------------------------------------------------------------------
    def request_body(self, body: Any, context: Any) -> dict:
        types = [media for media in context.get_content_types()
                 if media != "text/plain" or _accepts_string(body)]
        content = {media: {"schema": self.schemas.convert(body)}
                   for media in types or ["application/json"]}
        return {"required": True, "content": content}

    def responses(self, response: Any) -> dict:
        if not isinstance(response, dict) or not response:
            return {"200": {"description": "Default Response"}}
        out: dict[str, dict] = {}
        for key, schema in response.items():
            code = _status_key(key)
            entry: dict[str, Any] = {"description": _description(code, schema)}
            if code not in _NO_CONTENT and not code.startswith("1"):
                entry["content"] = {"application/json": {"schema": self.schemas.convert(schema)}}
            out[code] = entry
        return out


# -- the document ------------------------------------------------------------------------

def _merge(document: dict, given: dict) -> None:
    """Merge the ``openapi`` option into the document (see the module docstring)."""
    for key, value in given.items():
        value = copy.deepcopy(value)
        if key == "components":
            components = document.setdefault("components", {})
            for section, entries in value.items():
                components.setdefault(section, {}).update(entries)
        elif key == "paths":
            for path, item in value.items():
                document["paths"].setdefault(path, {}).update(item)
        else:
            document[key] = value


def build_document(app: Any, given: dict) -> dict:
    """The OpenAPI 3.1 document of ``app``'s routes, with ``given`` merged in."""
    builder = DocumentBuilder(app)
    document: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": dict(DEFAULT_INFO),
                                "paths": builder.paths()}
    schemas = builder.schemas.components()
    if schemas:
        document["components"] = {"schemas": schemas}
    _merge(document, given)
    return document
