"""JSON Schema draft-07 validators, compiled once into specialised Python code.

How this works
--------------
``compile_validator(schema)`` walks the schema once and writes the source of a
Python function that checks exactly that schema, then ``exec``s it. The checks
are inlined: a required property is one ``in`` test, a string length one
``len`` and two comparisons, an all-string ``enum`` one frozenset lookup, a
number type test two ``type(v) is ...`` comparisons. Only three things become
calls of their own: a ``$ref`` target (one generated function per target, so
recursive schemas work), a subschema under a composite keyword (``anyOf``,
``oneOf``, ``not``, ``if``, ``contains``, ``propertyNames``: it must be able to
fail without failing the whole), and the slow paths (type coercion, deep
equality, formats). The happy path therefore does no allocation and no call
beyond what the data itself needs.

Data modification follows Fastify's Ajv setup (coerceTypes ``"array"``,
useDefaults, removeAdditional ``true``, allErrors ``false``, for every part,
body included): a value of the wrong type is coerced and written back into its
parent; a missing property gets a copy of its ``default`` before ``required``
is checked (not inside composite keywords, as Ajv); properties refused by
``additionalProperties: false`` are deleted instead of reported. Keywords run
in Ajv's order (type first, then ``$ref``/``const``/``enum``/applicators, then
number, string, array and object keywords), so the first error reported is the
one Fastify would report, with Ajv's message and params.

Failure: generated code raises the internal ``_Invalid`` with a list of error
dicts whose ``instance_path`` is relative to the function that raised; a caller
that crossed a ``$ref`` or composite boundary prefixes its own path on the way
out (``try`` costs nothing in CPython 3.11 until something is raised), and the
entry point turns it into ``SchemaValidationError`` (``FC_ERR_VALIDATION``)
whose message is Fastify's ``<part><instance path> <message>`` joined by ", ".
With ``all_errors=True`` the same code appends to a list instead of raising
and keyword groups are guarded by type tests.

Where this deliberately differs from Ajv: ``$ref`` siblings are applied (as
Ajv does, though draft-07 says to ignore them); ``multipleOf`` falls back to
exact decimal arithmetic when float division is inexact (19.99 is a multiple
of 0.01 here, not in Ajv); a number coerced from a string is an ``int`` when
integral; patterns are ECMAScript regexes translated to Python ``re``.

Choice and figures (``bench/test_bench_validate.py``, CPython 3.11, minimum
of three pinned runs on the 2-core machine; the median wanders with the
neighbours): the ``/order`` body (WORKLOAD.md route 3) validates in 0.47 µs
with the generated code and 2.16 µs with ``fastjsonschema`` 2.22, which also
generates Python but with generic code (two sets built per object, for the
missing required keys and the keys left over, and repeated ``isinstance``
tests), does no coercion and no removal of
additional properties, and words its errors its own way; adding those would
take a second walk over the data. The failing body (``price`` missing) costs
3.8 µs against 4.2 µs, mostly raising and building the error. Route 4's
params plus a querystring with three coercions, a default and a
one-element-array wrap: 2.0 µs (0.3 µs of which is copying the inputs). So
fastcore compiles its own checks; fastjsonschema stays a benchmark peer only.

A flat object schema gets, in front of the generated function, the compiled
``FlatCheck`` of ``_validate.pyx``, which settles values already of their type
(and digit strings, ``"true"``/``"false"``) and hands everything else to the
generated function unchanged.

This module is the compiler. What the generated code calls at run time is in
``validation_runtime.py``, the ``format`` checks (``FORMATS``) in
``validation_formats.py``, the ECMAScript ``pattern`` translation in
``validation_patterns.py``.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ._validate import flat_check
from .errors import SchemaValidationError
from .schemas import Resolver, SchemaStore
from .validation_formats import FORMATS
from .validation_patterns import _js_regex
from .validation_runtime import _esc, _js_num, _runtime_namespace

__all__ = ["compile_validator", "format_errors", "FORMATS"]


def format_errors(errors: list, part: str) -> str:
    """Fastify's message: ``<part><instance path> <message>``, joined by ", "."""
    return ", ".join(part + e["instance_path"] + " " + e["message"] for e in errors)


# --- the compiler ------------------------------------------------------------------

# Exact-type tests for the fast path; anything else goes through _coerce.
_FAST_TEST = {
    "string": "type({v}) is str", "number": "type({v}) is float or type({v}) is int",
    "integer": "type({v}) is int", "boolean": "type({v}) is bool", "null": "{v} is None",
    "object": "type({v}) is dict", "array": "type({v}) is list",
}
_SCALARS = frozenset(("string", "number", "integer", "boolean", "null"))
# Keywords whose subschemas check the same value, and so may coerce it.
_REPLACERS = ("$ref", "allOf", "anyOf", "oneOf", "if")
# Ajv's keyword groups, in its order: (group, keywords, types it applies to, guard).
_GROUPS = (
    ("number", ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf"),
     frozenset(("number", "integer")), "_isnum({v})"),
    ("string", ("maxLength", "minLength", "pattern", "format"),
     frozenset(("string",)), "isinstance({v}, str)"),
    ("array", ("maxItems", "minItems", "additionalItems", "items", "contains", "uniqueItems"),
     frozenset(("array",)), "isinstance({v}, list)"),
    ("object", ("maxProperties", "minProperties", "required", "propertyNames",
                "additionalProperties", "dependencies", "properties", "patternProperties"),
     frozenset(("object",)), "isinstance({v}, dict)"),
)
_LIMITS = {"maximum": ("{v} > {n}", "<="), "minimum": ("{v} < {n}", ">="),
           "exclusiveMaximum": ("{v} >= {n}", "<"), "exclusiveMinimum": ("{v} <= {n}", ">")}
_COUNTS = {"maxLength": ("more", "characters"), "minLength": ("fewer", "characters"),
           "maxItems": ("more", "items"), "minItems": ("fewer", "items"),
           "maxProperties": ("more", "properties"), "minProperties": ("fewer", "properties")}


class _Writer:
    """Indented source lines; a block that ends up empty is dropped."""

    def __init__(self, depth: int) -> None:
        self.lines: list[str] = []
        self.depth = depth

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.line(header)
        start = len(self.lines)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
        if len(self.lines) == start:
            self.lines.pop()


def _render(path: tuple) -> str:
    """A Python expression for an instance path: literal parts and loop variables."""
    pieces, buf = [], ""
    for kind, value in path:
        if kind == "s":
            buf += value
        else:
            pieces.append(repr(buf + "/"))
            buf = ""
            pieces.append(("_esc(%s)" if kind == "k" else "str(%s)") % value)
    if buf or not pieces:
        pieces.append(repr(buf))
    return " + ".join(pieces)


class _Compiler:
    """Writes one Python function per entry point and per ``$ref``/composite target.

    ``emit`` writes the checks of one schema for the value in local ``var``;
    ``path`` is the instance path relative to the function being written, and
    ``wb`` a template that stores a replaced (coerced) value back into its parent.
    """

    def __init__(self, resolver: Resolver, *, coerce: int, defaults: bool, remove: Any,
                 all_errors: bool, formats: dict) -> None:
        self.resolver, self.coerce, self.defaults = resolver, coerce, defaults
        self.remove, self.all_errors, self.formats = remove, all_errors, formats
        self.ns = _runtime_namespace()
        self._count = 0
        self._consts: dict[int, tuple[str, Any]] = {}
        self._units: dict[tuple, str] = {}
        self._pending: list[tuple] = []
        self._source: list[str] = []
        self._tail: list[str] = []
        self._regexes: dict[str, Callable] = {}

    # -- names, constants, failures --------------------------------------------------
    def name(self, prefix: str) -> str:
        self._count += 1
        return "%s%d" % (prefix, self._count)

    def const(self, value: Any) -> str:
        entry = self._consts.get(id(value))
        if entry is None:
            entry = (self.name("_k"), value)  # the value is kept alive, so its id stays unique
            self._consts[id(value)] = entry
            self.ns[entry[0]] = value
        return entry[0]

    def lit(self, x: Any) -> str:
        if x is None or isinstance(x, (str, int)) or (isinstance(x, float) and math.isfinite(x)):
            return repr(x)
        return self.const(x)

    def fail(self, w: _Writer, path: tuple, keyword: str, message: str, params: str) -> None:
        err = "_e(%s, %r, %s, %s)" % (_render(path), keyword, message, params)
        w.line("_errs.append(%s)" % err if self.all_errors else "raise _Invalid([%s])" % err)

    def call(self, w: _Writer, expr: str, var: str | None, path: tuple, wb: str | None) -> None:
        """Run ``expr``, which returns the (maybe coerced) value or raises _Invalid."""
        assign = "%s = %s" % (var, expr) if var else expr
        if not path and not self.all_errors:
            w.line(assign)
        else:
            with w.block("try:"):
                w.line(assign)
            with w.block("except _Invalid as _x:"):
                x = "_pre(_x, %s)" % _render(path) if path else "_x"
                w.line("_errs.extend(%s.errors)" % x if self.all_errors else "raise " + x)
        if var and wb and self.coerce:
            w.line(wb.format(var))

    def unit(self, schema: Any, base: str, composite: bool) -> str:
        """The name of the function checking ``schema`` (written later, once)."""
        key = (id(schema), base, composite)
        name = self._units.get(key)
        if name is None:
            name = self._units[key] = self.name("_f")
            self.const(schema)
            self._pending.append((name, schema, base, composite))
        return name

    def units(self, schemas: Any, base: str, composite: bool, keyword: str) -> str:
        if not isinstance(schemas, list) or not schemas:
            raise ValueError("%s must be a non-empty array of schemas" % keyword)
        name = self.name("_t")
        self._tail.append("%s = (%s,)" % (name, ", ".join(
            self.unit(s, base, composite) for s in schemas)))
        return name

    def regex(self, pattern: Any) -> str:
        if not isinstance(pattern, str):
            raise ValueError("pattern must be a string, got %r" % (pattern,))
        if pattern not in self._regexes:
            self._regexes[pattern] = _js_regex(pattern)
        return self.const(self._regexes[pattern])

    def default_expr(self, value: Any) -> str:
        """An expression for a fresh copy of ``value`` (defaults, error params)."""
        if isinstance(value, (dict, list)):
            return "_copy(%s)" % self.const(value)
        return self.lit(value)

    @staticmethod
    def mapping(schema: dict, keyword: str) -> dict:
        value = schema.get(keyword, {})
        if not isinstance(value, dict):
            raise ValueError("%s must be an object, got %r" % (keyword, value))
        return value

    @staticmethod
    def count(schema: dict, keyword: str) -> int:
        n = schema[keyword]
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError("%s must be a non-negative integer, got %r" % (keyword, n))
        return n

    @staticmethod
    def number(schema: dict, keyword: str) -> Any:
        n = schema[keyword]
        if isinstance(n, bool) or not isinstance(n, (int, float)) or not math.isfinite(n):
            raise ValueError("%s must be a number, got %r" % (keyword, n))
        if keyword == "multipleOf" and n <= 0:
            raise ValueError("multipleOf must be greater than 0, got %r" % (n,))
        return n

    # -- entry points ------------------------------------------------------------------
    def build(self, schema: Any, make_error: Callable) -> Callable[[Any], Any]:
        self.ns["_error"] = make_error
        body = _Writer(2)
        self.write_body(body, schema, self.resolver.root_base, False)
        while self._pending:
            self.write_unit(*self._pending.pop())
        source = "\n".join(self._source + self._tail + [
            "def validate(v):", "    try:", *(body.lines or ["        pass"]),
            "    except _Invalid as _x:", "        raise _error(_x.errors) from None",
            "    return v", ""])
        exec(compile(source, "<fastcore validator>", "exec"), self.ns)  # noqa: S102
        validate = self.ns["validate"]
        validate.source = source
        return validate

    def write_body(self, w: _Writer, schema: Any, base: str, composite: bool) -> None:
        if self.all_errors:
            w.line("_errs = []")
        self.emit(w, schema, "v", (), None, base, composite)
        if self.all_errors:
            with w.block("if _errs:"):
                w.line("raise _Invalid(_errs)")

    def write_unit(self, name: str, schema: Any, base: str, composite: bool) -> None:
        w = _Writer(1)
        self.write_body(w, schema, base, composite)
        self._source += ["def %s(v):" % name, *w.lines, "    return v"]

    # -- one schema ----------------------------------------------------------------------
    def emit(self, w: _Writer, schema: Any, var: str, path: tuple, wb: str | None,
             base: str, composite: bool) -> None:
        if schema is True:
            return
        if schema is False:
            self.fail(w, path, "false schema", "'boolean schema is false'", "{}")
            return
        if not isinstance(schema, dict):
            raise ValueError("a schema must be an object or a boolean, got %r" % (schema,))
        base = self.resolver.base_of(schema, base)
        known = self.emit_type(w, schema, var, path, wb)
        if self.coerce and any(k in schema for k in _REPLACERS):
            known = None  # a subschema may coerce the value into another type
        self.emit_untyped(w, schema, var, path, wb, base, composite, known)
        for group, keywords, types, guard in _GROUPS:
            if not any(k in schema for k in keywords):
                continue
            if known is not None and not known & types:
                continue  # the value can never be of this group's type here
            emit_group = getattr(self, "emit_" + group)
            if known is not None and known <= types:
                emit_group(w, schema, var, path, base, composite, known)
            else:
                with w.block("if %s:" % guard.format(v=var)):
                    emit_group(w, schema, var, path, base, composite, known)

    def emit_member(self, w: _Writer, schema: Any, x: str, var: str, kind: str, key: str,
                    path: tuple, base: str, composite: bool) -> None:
        """Checks for ``x``, the member ``var[key]`` (``key`` a loop variable)."""
        self.emit(w, schema, x, path + ((kind, key),), "%s[%s] = {}" % (var, key), base, composite)

    def emit_type(self, w: _Writer, schema: dict, var: str, path: tuple,
                  wb: str | None) -> frozenset | None:
        """Type test, coercion slow path; returns the types ``var`` surely has after."""
        declared = schema.get("type")
        if declared is None:
            return None
        types = [declared] if isinstance(declared, str) else list(declared) \
            if isinstance(declared, list) else None
        if not types or any(t not in _FAST_TEST for t in types):
            raise ValueError("invalid type %r in schema" % (declared,))
        if schema.get("nullable") is True and "null" not in types:
            types.append("null")
        shown = declared if isinstance(declared, str) else ",".join(declared)
        with w.block("if not (%s):" % " or ".join(_FAST_TEST[t].format(v=var) for t in types)):
            if len(types) == 1 and types[0] in ("integer", "number", "boolean", "array"):
                w.line("_c = _coerce_%s(%s, %d)" % (types[0], var, self.coerce))
            else:
                w.line("_c = _coerce(%s, %s, %d)" % (var, self.const(tuple(types)), self.coerce))
            with w.block("if _c is _NO:"):
                self.fail(w, path, "type", repr("must be " + shown),
                          "{'type': %s}" % self.default_expr(declared))
            stores = ["%s = _c" % var] + ([wb.format(var)] if wb and self.coerce else [])
            if self.all_errors:
                with w.block("else:"):
                    for line in stores:
                        w.line(line)
            else:
                for line in stores:
                    w.line(line)
        return None if self.all_errors else frozenset(types)

    def emit_untyped(self, w: _Writer, schema: dict, var: str, path: tuple, wb: str | None,
                     base: str, composite: bool, known: frozenset | None) -> None:
        ref = schema.get("$ref")
        if ref is not None:
            if not isinstance(ref, str):
                raise ValueError("$ref must be a string, got %r" % (ref,))
            target, target_base = self.resolver.resolve(ref, base)
            self.call(w, "%s(%s)" % (self.unit(target, target_base, composite), var), var, path, wb)
        if "const" in schema:
            value = schema["const"]
            with w.block("if not _json_eq(%s, %s):" % (var, self.lit(value))):
                self.fail(w, path, "const", "'must be equal to constant'",
                          "{'allowedValue': %s}" % self.default_expr(value))
        if "enum" in schema:
            self.emit_enum(w, schema["enum"], var, path, known)
        if "not" in schema:
            fn = self.unit(schema["not"], base, True)
            self.call(w, "_not(%s, %s)" % (var, fn), None, path, None)
        for keyword, helper in (("anyOf", "_any_of"), ("oneOf", "_one_of")):
            if keyword in schema:
                fns = self.units(schema[keyword], base, True, keyword)
                self.call(w, "%s(%s, %s)" % (helper, var, fns), var, path, wb)
        if "allOf" in schema:
            if not isinstance(schema["allOf"], list) or not schema["allOf"]:
                raise ValueError("allOf must be a non-empty array of schemas")
            for sub in schema["allOf"]:
                self.emit(w, sub, var, path, wb, base, composite)
        if "if" in schema and ("then" in schema or "else" in schema):
            names = [self.unit(schema["if"], base, True)] + [
                self.unit(schema[k], base, composite) if k in schema else "None"
                for k in ("then", "else")]
            self.call(w, "_if_then_else(%s, %s)" % (var, ", ".join(names)), var, path, wb)

    def emit_enum(self, w: _Writer, values: Any, var: str, path: tuple,
                  known: frozenset | None) -> None:
        if not isinstance(values, list) or not values:
            raise ValueError("enum must be a non-empty array, got %r" % (values,))
        if all(type(x) is str for x in values):
            allowed = self.const(frozenset(values))
            test = "%s not in %s" % (var, allowed) if known == {"string"} else \
                "not (isinstance(%s, str) and %s in %s)" % (var, var, allowed)
        else:
            test = "not _in_enum(%s, %s)" % (var, self.const(values))
        with w.block("if %s:" % test):
            self.fail(w, path, "enum", "'must be equal to one of the allowed values'",
                      "{'allowedValues': %s}" % self.default_expr(values))

    def emit_count(self, w: _Writer, schema: dict, keyword: str, size: str, path: tuple) -> None:
        n = self.count(schema, keyword)
        comp, unit = _COUNTS[keyword]
        with w.block("if %s %s %d:" % (size, ">" if comp == "more" else "<", n)):
            self.fail(w, path, keyword, repr("must NOT have %s than %d %s" % (comp, n, unit)),
                      "{'limit': %d}" % n)

    # -- typed groups ----------------------------------------------------------------------
    def emit_number(self, w: _Writer, schema: dict, var: str, path: tuple, base: str,
                    composite: bool, known: frozenset | None) -> None:
        for keyword, (test, comp) in _LIMITS.items():
            if keyword in schema:
                n = self.number(schema, keyword)
                with w.block("if %s:" % test.format(v=var, n=repr(n))):
                    self.fail(w, path, keyword, repr("must be %s %s" % (comp, _js_num(n))),
                              "{'comparison': %r, 'limit': %r}" % (comp, n))
        if "multipleOf" in schema:
            m = self.number(schema, "multipleOf")
            with w.block("if _not_multiple(%s, %r):" % (var, m)):
                self.fail(w, path, "multipleOf", repr("must be multiple of " + _js_num(m)),
                          "{'multipleOf': %r}" % m)

    def emit_string(self, w: _Writer, schema: dict, var: str, path: tuple, base: str,
                    composite: bool, known: frozenset | None) -> None:
        size = "len(%s)" % var
        if "maxLength" in schema and "minLength" in schema:
            size = self.name("_n")
            w.line("%s = len(%s)" % (size, var))
        for keyword in ("maxLength", "minLength"):
            if keyword in schema:
                self.emit_count(w, schema, keyword, size, path)
        if "pattern" in schema:
            pattern = schema["pattern"]
            with w.block("if %s(%s) is None:" % (self.regex(pattern), var)):
                self.fail(w, path, "pattern", repr('must match pattern "%s"' % pattern),
                          "{'pattern': %r}" % pattern)
        fmt = schema.get("format")
        check = self.formats.get(fmt) if isinstance(fmt, str) else None
        if check is not None:  # unknown formats are ignored (draft-07 §7.2)
            with w.block("if not %s(%s):" % (self.const(check), var)):
                self.fail(w, path, "format", repr('must match format "%s"' % schema["format"]),
                          "{'format': %r}" % schema["format"])

    def emit_array(self, w: _Writer, schema: dict, var: str, path: tuple, base: str,
                   composite: bool, known: frozenset | None) -> None:
        items = schema.get("items")
        if self.defaults and not composite and isinstance(items, list):
            for i, sub in enumerate(items):
                if isinstance(sub, dict) and "default" in sub:
                    w.line("if len(%s) == %d: %s.append(%s)" % (
                        var, i, var, self.default_expr(sub["default"])))
        for keyword in ("maxItems", "minItems"):
            if keyword in schema:
                self.emit_count(w, schema, keyword, "len(%s)" % var, path)
        if isinstance(items, list):
            self.emit_tuple(w, schema, items, var, path, base, composite)
        elif items is not None:
            i, x = self.name("_i"), self.name("_x")
            with w.block("for %s, %s in enumerate(%s):" % (i, x, var)):
                self.emit_member(w, items, x, var, "i", i, path, base, composite)
        if "contains" in schema:
            fn = self.unit(schema["contains"], base, True)
            self.call(w, "_contains(%s, %s)" % (var, fn), None, path, None)
        if schema.get("uniqueItems") is True:  # Ajv runs it after the item keywords
            self.emit_unique(w, items, var, path)

    def emit_unique(self, w: _Writer, items: Any, var: str, path: tuple) -> None:
        scalar = None
        if isinstance(items, dict) and items.get("type") is not None:
            types = items["type"] if isinstance(items["type"], list) else [items["type"]]
            types = list(types) + (["null"] if items.get("nullable") is True else [])
            if set(types) <= _SCALARS:
                scalar = self.const(tuple(types))
        d = self.name("_d")
        w.line("%s = _duplicate(%s, %s)" % (d, var, scalar))
        with w.block("if %s is not None:" % d):
            text = "must NOT have duplicate items (items ## %d and %d are identical)"
            self.fail(w, path, "uniqueItems", "%r %% (%s[1], %s[0])" % (text, d, d),
                      "{'i': %s[0], 'j': %s[1]}" % (d, d))

    def emit_tuple(self, w: _Writer, schema: dict, items: list, var: str, path: tuple,
                   base: str, composite: bool) -> None:
        extra = schema.get("additionalItems")
        if extra is False:
            with w.block("if len(%s) > %d:" % (var, len(items))):
                self.fail(w, path, "additionalItems",
                          repr("must NOT have more than %d items" % len(items)),
                          "{'limit': %d}" % len(items))
        elif extra is not None:
            i, x = self.name("_i"), self.name("_x")
            with w.block("for %s in range(%d, len(%s)):" % (i, len(items), var)):
                w.line("%s = %s[%s]" % (x, var, i))
                self.emit_member(w, extra, x, var, "i", i, path, base, composite)
        for index, sub in enumerate(items):
            x = self.name("_x")
            inner = _Writer(w.depth + 1)
            self.emit(inner, sub, x, path + (("s", "/%d" % index),),
                      "%s[%d] = {}" % (var, index), base, composite)
            if inner.lines:
                w.line("if len(%s) > %d:" % (var, index))
                w.lines.append("    " * inner.depth + "%s = %s[%d]" % (x, var, index))
                w.lines.extend(inner.lines)

    def emit_object(self, w: _Writer, schema: dict, var: str, path: tuple, base: str,
                    composite: bool, known: frozenset | None) -> None:
        props = self.mapping(schema, "properties")
        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(k, str) for k in required):
            raise ValueError("required must be an array of strings, got %r" % (required,))
        present = set()  # keys surely in the dict when properties are checked
        if self.defaults and not composite:
            for key, sub in props.items():
                if isinstance(sub, dict) and "default" in sub:
                    with w.block("if %r not in %s:" % (key, var)):
                        w.line("%s[%r] = %s" % (var, key, self.default_expr(sub["default"])))
                    present.add(key)
        for keyword in ("maxProperties", "minProperties"):
            if keyword in schema:
                self.emit_count(w, schema, keyword, "len(%s)" % var, path)
        for key in required:
            with w.block("if %r not in %s:" % (key, var)):
                self.fail(w, path, "required", repr("must have required property '%s'" % key),
                          "{'missingProperty': %r}" % key)
        if not self.all_errors:
            present.update(required)
        if schema.get("propertyNames", True) not in (True, {}):
            fn = self.unit(schema["propertyNames"], base, True)
            self.call(w, "_property_names(%s, %s)" % (var, fn), None, path, None)
        self.emit_additional(w, schema, props, var, path, base, composite)
        deps = self.mapping(schema, "dependencies")
        if self.emit_dependencies(w, deps, var, path, base, composite):
            present.clear()
        self.emit_properties(w, props, present, var, path, base, composite)
        for pattern, sub in self.mapping(schema, "patternProperties").items():
            k, x = self.name("_k"), self.name("_x")
            with w.block("for %s in %s:" % (k, var)):
                with w.block("if %s(%s) is not None:" % (self.regex(pattern), k)):
                    w.line("%s = %s[%s]" % (x, var, k))
                    self.emit_member(w, sub, x, var, "k", k, path, base, composite)

    def emit_properties(self, w: _Writer, props: dict, present: set, var: str, path: tuple,
                        base: str, composite: bool) -> None:
        """Each property's checks; a key known to be present is read without a test."""
        for key, sub in props.items():
            x = self.name("_v")
            inner = _Writer(w.depth + (key not in present))
            self.emit(inner, sub, x, path + (("s", "/" + _esc(key)),),
                      "%s[%r] = {}" % (var, key), base, composite)
            if inner.lines:
                if key not in present:
                    w.line("if %r in %s:" % (key, var))
                w.lines.append("    " * inner.depth + "%s = %s[%r]" % (x, var, key))
                w.lines.extend(inner.lines)

    def emit_additional(self, w: _Writer, schema: dict, props: dict, var: str, path: tuple,
                        base: str, composite: bool) -> None:
        extra = schema.get("additionalProperties", True)
        remove_all = self.remove == "all" and (
            "additionalProperties" in schema or "properties" in schema)
        if extra in (True, {}) and not remove_all:
            return
        k = self.name("_k")
        test = "%s not in %s" % (k, self.const(frozenset(props)))
        patterns = self.mapping(schema, "patternProperties")
        if patterns:
            searches = tuple(self.ns[self.regex(p)] for p in patterns)
            test += " and not _any_match(%s, %s)" % (self.const(searches), k)
        if remove_all or (extra is False and self.remove):
            w.line("for %s in [%s for %s in %s if %s]: del %s[%s]" % (k, k, k, var, test, var, k))
        elif extra is False:
            with w.block("for %s in %s:" % (k, var)):
                with w.block("if %s:" % test):
                    self.fail(w, path, "additionalProperties",
                              "'must NOT have additional properties'",
                              "{'additionalProperty': %s}" % k)
        elif self.remove == "failing":
            fn = self.unit(extra, base, composite)
            with w.block("for %s in [%s for %s in %s if %s]:" % (k, k, k, var, test)):
                with w.block("try:"):
                    w.line("%s[%s] = %s(%s[%s])" % (var, k, fn, var, k))
                with w.block("except _Invalid:"):
                    w.line("del %s[%s]" % (var, k))
        else:
            x = self.name("_x")
            with w.block("for %s in %s:" % (k, var)):
                with w.block("if %s:" % test):
                    w.line("%s = %s[%s]" % (x, var, k))
                    self.emit_member(w, extra, x, var, "k", k, path, base, composite)

    def emit_dependencies(self, w: _Writer, deps: dict, var: str, path: tuple, base: str,
                          composite: bool) -> bool:
        """Property dependencies, then schema dependencies (Ajv's order); True when a
        schema dependency ran (it may have changed which keys are present)."""
        for prop, dep in deps.items():
            if isinstance(dep, list) and dep:
                shown = ", ".join(dep)
                message = "must have %s %s when property %s is present" % (
                    "property" if len(dep) == 1 else "properties", shown, prop)
                with w.block("if %r in %s:" % (prop, var)):
                    for name in dep:
                        with w.block("if %r not in %s:" % (name, var)):
                            self.fail(w, path, "dependencies", repr(message),
                                      "{'property': %r, 'missingProperty': %r, 'depsCount': %d, "
                                      "'deps': %r}" % (prop, name, len(dep), shown))
        ran = False
        for prop, dep in deps.items():
            if not isinstance(dep, list) and dep not in (True, {}):
                ran = True
                with w.block("if %r in %s:" % (prop, var)):
                    self.emit(w, dep, var, path, None, base, composite)
        return ran


def _as_store(schemas: Any) -> SchemaStore | None:
    if schemas is None or isinstance(schemas, SchemaStore):
        return schemas
    items = schemas.values() if isinstance(schemas, dict) else schemas
    return SchemaStore().extend(items)


def _headers_schema(schema: Any) -> Any:
    """Header names are case-insensitive: match them lower-cased, as Fastify does."""
    if not isinstance(schema, dict):
        return schema
    schema = dict(schema)
    if isinstance(schema.get("properties"), dict):
        schema["properties"] = {k.lower(): v for k, v in schema["properties"].items()}
    if isinstance(schema.get("required"), list):
        schema["required"] = [k.lower() if isinstance(k, str) else k for k in schema["required"]]
    return schema


def compile_validator(schema: Any, schemas: Any = None, *, part: str = "body",
                      coerce_types: bool | str | None = None, use_defaults: bool = True,
                      remove_additional: bool | str = True, all_errors: bool = False,
                      formats: dict[str, Callable[[str], bool]] | None = None
                      ) -> Callable[[Any], Any]:
    """Compile ``schema`` into ``validate(data) -> data``.

    ``validate`` returns the data (coerced, defaults applied, additional
    properties removed; nested values are changed in place) or raises
    ``SchemaValidationError`` (``FC_ERR_VALIDATION``) with ``.validation`` (the
    error dicts) and ``.validation_context`` (``part``).

    ``schemas``: a :class:`SchemaStore`, or an iterable (or dict) of schemas
    with ``$id`` for ``$ref``. ``coerce_types``: ``None``/``True``/``"array"``
    coerce as Fastify does (scalars, and one value <-> one-element array),
    ``False`` never. ``remove_additional``: ``True`` (where
    ``additionalProperties`` is false), ``"all"``, ``"failing"`` or ``False``.
    ``formats`` adds or replaces format checks (name -> ``fn(str) -> bool``).
    A ``$ref`` that cannot be resolved raises ``FC_ERR_SCHEMA_REF_NOT_FOUND``;
    an invalid schema raises ``ValueError``.
    """
    store = _as_store(schemas)
    if part == "headers":
        schema = _headers_schema(schema)
    resolver = store.resolver(schema) if store is not None else Resolver(schema)
    if coerce_types not in (None, True, False, "array"):
        raise ValueError("coerce_types must be None, True, False or 'array'")
    mode = 0 if coerce_types is False else 2
    if remove_additional not in (True, False, "all", "failing"):
        raise ValueError("remove_additional must be True, False, 'all' or 'failing'")
    checks = dict(FORMATS)
    if formats:
        checks.update(formats)
    compiler = _Compiler(resolver, coerce=mode, defaults=use_defaults, remove=remove_additional,
                         all_errors=all_errors, formats=checks)

    def raise_error(errors: list) -> SchemaValidationError:
        return SchemaValidationError(format_errors(errors, part), validation=errors,
                                     validation_context=part)

    validate = compiler.build(schema, raise_error)
    fast = flat_check(schema, validate, coerce=bool(mode), defaults=use_defaults,
                      remove_additional=remove_additional)
    return validate if fast is None else fast
