# cython: language_level=3
# Release directives come from setup.py (the FASTCORE_DEBUG=1 build turns the
# checks back on).
"""Compiled fast path of request validation.

How this works
--------------
``validation.compile_validator`` writes a Python function per schema; that
function is the reference and handles every keyword, coercion and error
message. Most request schemas are flat, though: an object whose properties are
strings, integers, numbers or booleans with lengths, bounds, string enums and
scalar defaults (route params, querystrings, small JSON bodies). For those,
``flat_check(schema, validate, ...)`` builds a ``FlatCheck``: a typed plan of
the properties that one loop walks in C.

``FlatCheck(data)`` settles the common case itself: every value already of its
type, or a string of ASCII digits for an integer or number, ``"true"`` /
``"false"`` for a boolean (when coercion is on), inside its bounds. It works in
two passes, so that the data is changed only once it is known to pass: the
first computes the new values (coercions and defaults), the second writes them.
Anything else — a missing required property, a value of another type, a bound
broken, a float written as text — is handed, unchanged, to the generated
validator, which coerces it or raises the exact error. So the fast path only
ever accepts what the generated validator accepts, with the same result; a
differential test holds the two together.

``ValidateStep(request)`` is a route's validate step (``record.validate``): it
runs each part's check in Fastify's order (params, body, querystring, headers)
and writes the results back to the request.
"""
cimport cython
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.object cimport PyObject, PyObject_RichCompareBool, Py_GT, Py_GE, Py_LT, Py_LE
from cpython.unicode cimport PyUnicode_GET_LENGTH


from . import errors

cdef extern from "Python.h":
    int PyUnicode_KIND(object u)
    void* PyUnicode_DATA(object u)
    int PyUnicode_1BYTE_KIND

cdef enum:
    K_ANY = 0
    K_STR = 1
    K_INT = 2
    K_NUM = 3
    K_BOOL = 4

cdef enum:
    PART_PARAMS = 0
    PART_BODY = 1
    PART_QUERY = 2
    PART_HEADERS = 3

_KINDS = {"string": K_STR, "integer": K_INT, "number": K_NUM, "boolean": K_BOOL}
_ANNOTATIONS = frozenset(("title", "description", "$comment", "examples"))
_OBJECT_KEYS = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties",
                               "$id", "$schema"}
_PROP_KEYS = {
    K_ANY: _ANNOTATIONS | {"default"},
    K_STR: _ANNOTATIONS | {"type", "default", "minLength", "maxLength", "enum"},
    K_INT: _ANNOTATIONS | {"type", "default", "minimum", "maximum", "exclusiveMinimum",
                           "exclusiveMaximum"},
    K_BOOL: _ANNOTATIONS | {"type", "default"},
}
_PROP_KEYS[K_NUM] = _PROP_KEYS[K_INT]
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_PART_NAMES = ("params", "body", "querystring", "headers")     # by PART_* code

# What a value check returns when the value needs the generated validator.
cdef object _SLOW = object()


@cython.final
cdef class _Prop:
    """One property of a flat object schema, planned."""


cdef inline object _digits_to_int(str s):
    # An int for 1..18 ASCII digits, else None.
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(s), i
    cdef const unsigned char* p
    cdef long long value = 0
    cdef unsigned char c
    if n == 0 or n > 18 or PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND:
        return None
    p = <const unsigned char*>PyUnicode_DATA(s)
    for i in range(n):
        c = p[i]
        if c < 48 or c > 57:
            return None
        value = value * 10 + (c - 48)
    return value


cdef object _check_value(_Prop p, object v, bint coerce):
    # HOT PATH: bench/test_bench_validate.py. v itself, its coerced value, or
    # _SLOW when the generated validator must decide.
    cdef type t = type(v)
    cdef Py_ssize_t n
    if p.kind == K_STR:
        if t is not str:
            return _SLOW
        if p.min_len >= 0 or p.max_len >= 0:
            n = PyUnicode_GET_LENGTH(v)
            if (p.max_len >= 0 and n > p.max_len) or n < p.min_len:
                return _SLOW
        if p.choices is not None and v not in p.choices:
            return _SLOW
        return v
    if p.kind == K_INT or p.kind == K_NUM:
        if t is not int and (p.kind == K_INT or t is not float):
            if t is not str or not coerce:
                return _SLOW
            v = _digits_to_int(<str>v)
            if v is None:
                return _SLOW
        if p.bounded and _out_of_bounds(p, v):
            return _SLOW
        return v
    if p.kind == K_BOOL:
        if t is bool:
            return v
        if t is str and coerce:
            if v == "true":
                return True
            if v == "false":
                return False
        return _SLOW
    return v


cdef bint _out_of_bounds(_Prop p, object v) except -1:
    # The generated validator's comparisons, in the same operators.
    if p.maximum is not None and PyObject_RichCompareBool(v, p.maximum, Py_GT):
        return True
    if p.minimum is not None and PyObject_RichCompareBool(v, p.minimum, Py_LT):
        return True
    if p.xmaximum is not None and PyObject_RichCompareBool(v, p.xmaximum, Py_GE):
        return True
    if p.xminimum is not None and PyObject_RichCompareBool(v, p.xminimum, Py_LE):
        return True
    return False


@cython.final
cdef class FlatCheck:
    """A flat object schema's validator: the compiled fast path in front of the
    generated one (``fallback``), which it calls for everything else."""

    def __call__(self, data):
        return self.run(data)

    cdef object run(self, object data):
        # HOT PATH: bench/test_bench_validate.py, bench/test_bench_protocol.py
        # (GET /users/:id). Pass 1 decides and collects the new values; pass 2
        # writes them, in schema order (as the generated validator does).
        cdef _Prop p
        cdef PyObject* found
        cdef list changes = None
        cdef Py_ssize_t i
        if type(data) is not dict:
            return self.fallback(data)
        for name in self.extra_required:
            if PyDict_GetItem(data, name) is NULL:
                return self.fallback(data)
        for p in self.props:
            found = PyDict_GetItem(data, p.name)
            if found is NULL:
                if p.has_default:
                    value = _check_value(p, p.default, self.coerce)
                elif p.required:
                    return self.fallback(data)
                else:
                    continue
            else:
                value = _check_value(p, <object>found, self.coerce)
                if value is <object>found:
                    continue
            if value is _SLOW:
                return self.fallback(data)
            if changes is None:
                changes = []
            changes.append(p.name)
            changes.append(value)
        if changes is not None:
            for i in range(0, len(changes), 2):
                PyDict_SetItem(data, changes[i], changes[i + 1])
        return data

    @property
    def source(self):
        """The generated validator's source (what decides every other case)."""
        return getattr(self.fallback, "source", None)


def flat_check(schema, fallback, *, bint coerce, bint defaults, remove_additional):
    """A ``FlatCheck`` in front of ``fallback`` when ``schema`` is a flat object
    schema this module can decide, else None (``fallback`` does it all)."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return None
    if not set(schema) <= _OBJECT_KEYS or remove_additional == "all":
        return None
    if schema.get("additionalProperties", True) is not True:
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, dict) or not isinstance(required, list):
        return None
    if not all(isinstance(name, str) for name in required):
        return None
    props = []
    for name, sub in properties.items():
        prop = _plan_prop(name, sub, name in required, defaults)
        if prop is None:
            return None
        props.append(prop)
    cdef FlatCheck check = FlatCheck.__new__(FlatCheck)
    check.props = tuple(props)
    check.extra_required = tuple(dict.fromkeys(n for n in required if n not in properties))
    check.fallback = fallback
    check.coerce = coerce
    return check


cdef _Prop _plan_prop(object name, object sub, bint required, bint defaults):
    # The plan of one property, or None when it needs the generated validator.
    if not isinstance(name, str) or not isinstance(sub, dict):
        return None
    declared = sub.get("type")
    if declared is None:
        kind = K_ANY
    elif isinstance(declared, str) and declared in _KINDS:
        kind = _KINDS[declared]
    else:
        return None
    if not set(sub) <= _PROP_KEYS[kind]:
        return None
    cdef _Prop p = _Prop.__new__(_Prop)
    p.name = name
    p.kind = kind
    p.required = required
    p.has_default = defaults and "default" in sub
    if p.has_default:
        p.default = sub["default"]
        if p.default is not None and type(p.default) not in (str, int, float, bool):
            return None
    p.min_len = _length(sub, "minLength")
    p.max_len = _length(sub, "maxLength")
    if p.min_len == -2 or p.max_len == -2:
        return None
    for keyword in _BOUNDS:
        limit = sub.get(keyword)
        if limit is not None and type(limit) not in (int, float):
            return None
    p.minimum = sub.get("minimum")
    p.maximum = sub.get("maximum")
    p.xminimum = sub.get("exclusiveMinimum")
    p.xmaximum = sub.get("exclusiveMaximum")
    p.bounded = any(sub.get(keyword) is not None for keyword in _BOUNDS)
    if "enum" in sub:
        values = sub["enum"]
        if not isinstance(values, list) or not all(type(x) is str for x in values):
            return None
        p.choices = frozenset(values)
    return p


cdef Py_ssize_t _length(dict sub, str keyword):
    # A length bound: -1 when absent, -2 when not a plain non-negative int.
    value = sub.get(keyword)
    if value is None:
        return -1
    if type(value) is not int or value < 0:
        return -2
    return min(value, 1 << 60)


cdef inline object _run(object check, object data):
    # A FlatCheck is run without packing its argument; any other check is called.
    if type(check) is FlatCheck:
        return (<FlatCheck>check).run(data)
    return check(data)


@cython.final
cdef class ValidateStep:
    """A route's validate step: each part's check in Fastify's order, results
    written back to the request; a failure raises FC_ERR_VALIDATION, or with
    ``attach_validation`` is set on ``request.validation_error``."""

    def __init__(self, steps, bint attach, formatter):
        self.parts = tuple(_PART_NAMES.index(part) for part, _ in steps)
        self.checks = tuple(check for _, check in steps)
        self.attach = attach
        self.formatter = formatter

    def __call__(self, Request request):
        # HOT PATH: bench/test_bench_protocol.py (GET /users/:id)
        cdef Py_ssize_t i
        cdef int part
        for i in range(len(self.parts)):
            part = self.parts[i]
            check = self.checks[i]
            try:
                if part == PART_PARAMS:
                    request.params = _run(check, request.params)
                elif part == PART_BODY:
                    request.body = _run(check, request.body)
                elif part == PART_QUERY:
                    request._query = _run(check, request._parsed_query())
                else:
                    _run(check, dict(request.headers))
            except errors.SchemaValidationError as err:
                self._failed(request, err, _PART_NAMES[part])
                if self.attach:
                    return
                raise

    cdef int _failed(self, Request request, object err, str part) except -1:
        err.validation_context = part
        if self.formatter is not None:
            err.message = str(self.formatter(err.validation, part))
            err.args = (err.message,)
        if self.attach:
            request.validation_error = err
        return 0
