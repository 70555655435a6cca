# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, not from this header, so that the FASTCORE_DEBUG=1 build turns them on.
"""The schema-compiled JSON serializer (SPEC §7).

How this works
--------------
``compile_serializer(schema, schemas)`` has ``_serialize_plan.pyx`` turn a
response schema, once, into a tree of typed plan nodes (``_Node``; objects
hold ``_Prop`` entries with the key already encoded as ``,"key":`` bytes;
``$ref``s resolved, a recursive schema a cyclic plan). This module is the hot
half: the walk over that plan. Integer and float digits come from the
inline C of ``_numbers.pxd``.

``Serializer.dumps(data)`` walks the plan and the data together and writes JSON
into one growing C buffer (a stack array first, PyMem memory past it), then
copies it into a ``bytes`` once. No intermediate dict or string is built for
the common case.

Per value, ``_write_value`` handles the exact types the schema expects inline
(str for string, int/float for number, int for integer, bool, dict for object,
list/tuple for array); everything else (None, coercions, subclasses, objects
read through attributes, unions, anyOf/oneOf, untyped values, dates) goes to
the one slow-path function ``_write_slow``.

The output is byte for byte what ``orjson.dumps`` writes for the data once
filtered and coerced as described below: strings, ints and floats are written
here with orjson's rules, and every value of a type this module does not write
itself is handed to orjson whole.

Rules (fast-json-stringify's, adapted to Python values):
* object: exactly the schema's ``properties``, in schema order; a missing
  property is omitted, written from its ``default`` if it has one, or an error
  if it is ``required``. Other keys are written only when ``patternProperties``
  (first matching pattern, searched anywhere in the key) or
  ``additionalProperties`` (true: as orjson would; a schema: through it) take
  them, after the properties, in the data's order. Dicts are read by key,
  other mappings through ``dict()``, any other object through its attributes
  (extra keys from ``vars()`` or dataclass fields).
* integer: int as is; bool as 0/1; float truncated toward zero (NaN and
  infinities are errors); str parsed as an int, else as a float and truncated.
* number: int stays int, float stays float (NaN/inf are written ``null``, as
  orjson does); bool as 0/1; str parsed as int, else float; other objects
  through ``__index__`` or ``__float__``.
* string: str as is; date, time and datetime as orjson renders them (with
  ``format: date`` / ``time`` a datetime keeps only that part); anything else
  ``str(value)``.
* boolean: Python truthiness. null: always ``null``.
* None where the schema does not allow null becomes the type's empty value:
  ``""``, ``0``, ``false``, ``{}``, ``[]`` (fast-json-stringify's rule).
* array: list or tuple (subclasses too); tuple-form ``items``/``prefixItems``
  then ``additionalItems``/``items`` (false: longer arrays are an error).
* type unions and anyOf/oneOf: the first branch the value fits (its Python type
  matches the branch type; for objects the required keys are present and the
  present properties fit; enum/const membership); failing that, the first
  branch the value can be coerced to.
* no type, enum, const, ``{}``: the value as orjson writes it.
Every failure is ``FailedSerializationError`` naming the JSON pointer of the
bad value (``#/0/ts``). Ints must fit orjson's 64-bit range; containers nest at
most 254 deep, as in orjson (a value handed to orjson whole counts its own
nesting from zero).
"""
import dataclasses
import datetime as _dt
import re
import sys
from collections.abc import Mapping
from operator import index as _operator_index
from urllib.parse import unquote, urljoin

import orjson

from fastcore import errors

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItemWithError, PyDict_Next
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_AsUnsignedLongLong
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DATA, PyUnicode_GET_LENGTH
from libc.math cimport isfinite, signbit
from libc.string cimport memcmp, memcpy

from fastcore._numbers cimport _digits_before, _format_float, _ndigits, _utoa
from fastcore._serialize_plan cimport (
    F_DATE, F_DATE_TIME, F_NONE, F_TIME, K_ANY, K_ARRAY, K_BOOLEAN, K_CHOICE, K_INTEGER,
    K_NEVER, K_NULL, K_NUMBER, K_OBJECT, K_STRING, _Node, _Prop, _PropC, compile_plan)
from fastcore._serialize_plan import SchemaRefError

cdef extern from "Python.h":
    bint PyUnicode_IS_COMPACT_ASCII(object o)
    int PyUnicode_KIND(object o)
    Py_ssize_t PySequence_Fast_GET_SIZE(object o)
    PyObject* PySequence_Fast_GET_ITEM(object o, Py_ssize_t i)

__all__ = ["compile_serializer", "Serializer", "SchemaRefError"]

cdef enum:
    STACK_BUFFER = 4096
    MAX_DEPTH = 254     # orjson's limit on nested arrays/objects
    FITS_DEPTH = 64     # how deep branch selection looks into a value

cdef object _orjson_dumps = orjson.dumps
cdef object _Failed = errors.FailedSerializationError
cdef object _Mapping = Mapping
cdef object _datetime = _dt.datetime
cdef object _date_types = (_dt.datetime, _dt.date, _dt.time)
cdef object _MISSING = object()

cdef const char* _HEX = b"0123456789abcdef"

# For each byte, 0 when it is copied as is, else the letter after the backslash
# ('u' for the \u00XX form), as orjson escapes strings (RFC 8259 §7).
cdef unsigned char _ESC[256]
_ESC[:] = [0] * 256
for _c in range(0x20):
    _ESC[_c] = ord("u")
_ESC[0x08] = ord("b")
_ESC[0x09] = ord("t")
_ESC[0x0A] = ord("n")
_ESC[0x0C] = ord("f")
_ESC[0x0D] = ord("r")
_ESC[0x22] = ord('"')
_ESC[0x5C] = ord("\\")


# --- errors --------------------------------------------------------------------

cdef str _pointer(_Frame* at):
    """RFC 6901 pointer of the value at `at`, as a URI fragment (``#/0/ts``)."""
    cdef list parts = []
    while at != NULL:
        if at.key != NULL:
            parts.append(str(<object>at.key).replace("~", "~0").replace("/", "~1"))
        else:
            parts.append(str(at.index))
        at = at.parent
    parts.append("#")
    parts.reverse()
    return "/".join(parts)


cdef int _fail(_Frame* at, str reason, object cause=None) except -1:
    ptr = _pointer(at)
    exc = _Failed("%s: %s" % (ptr, reason))
    exc.pointer = ptr
    if cause is not None:
        raise exc from cause
    raise exc


cdef int _fail_key(_Frame* at, object key, str reason) except -1:
    cdef _Frame f
    f.parent = at
    f.key = <PyObject*>key
    f.index = 0
    return _fail(&f, reason)


# --- the output buffer -----------------------------------------------------------

cdef int _grow(_Writer* w, Py_ssize_t n) except -1:
    cdef Py_ssize_t cap = w.cap * 2
    cdef char* buf
    if cap < w.len + n:
        cap = w.len + n
    if w.heap:
        buf = <char*>PyMem_Realloc(w.buf, cap)
    else:
        buf = <char*>PyMem_Malloc(cap)
        if buf != NULL:
            memcpy(buf, w.buf, w.len)
    if buf == NULL:
        raise MemoryError()
    w.buf = buf
    w.cap = cap
    w.heap = True
    return 0


cdef inline int _reserve(_Writer* w, Py_ssize_t n) except -1:
    if w.len + n > w.cap:
        return _grow(w, n)
    return 0


cdef inline int _put_raw(_Writer* w, const char* s, Py_ssize_t n) except -1:
    _reserve(w, n)
    memcpy(w.buf + w.len, s, n)
    w.len += n
    return 0


cdef int _put_bytes(_Writer* w, bytes b) except -1:
    return _put_raw(w, PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))


cdef int _put_orjson(_Writer* w, object value, _Frame* at) except -1:
    """Slow path for any value: orjson's own bytes for it."""
    try:
        b = _orjson_dumps(value)
    except Exception as exc:
        return _fail(at, str(exc), exc)
    return _put_bytes(w, b)


cdef inline int _enter(_Writer* w, _Frame* at) except -1:
    w.depth += 1
    if w.depth > MAX_DEPTH:
        return _fail(at, "Recursion limit reached")
    return 0


# --- scalars ----------------------------------------------------------------------

cdef inline int _put_int(_Writer* w, object value, _Frame* at) except -1:
    # HOT PATH: bench/test_bench_serialize.py ("serialize: compiled").
    cdef int overflow = 0
    cdef long long x = PyLong_AsLongLongAndOverflow(value, &overflow)
    cdef char* out
    if overflow != 0:
        return _put_big_int(w, value, overflow, at)
    _reserve(w, 24)
    out = w.buf + w.len
    if x < 0:
        out[0] = b"-"
        w.len += 1 + _utoa(<unsigned long long>(-(x + 1)) + 1, out + 1)
    else:
        w.len += _utoa(<unsigned long long>x, out)
    return 0


cdef int _put_big_int(_Writer* w, object value, int overflow, _Frame* at) except -1:
    cdef unsigned long long u
    if overflow > 0:
        try:
            u = PyLong_AsUnsignedLongLong(value)
        except OverflowError:
            pass
        else:
            _reserve(w, 24)
            w.len += _utoa(u, w.buf + w.len)
            return 0
    return _fail(at, "Integer exceeds 64-bit range")


cdef inline int _put_float(_Writer* w, double x) except -1:
    # HOT PATH: bench/test_bench_serialize.py ("serialize: compiled").
    cdef Py_ssize_t n
    _reserve(w, 32)
    n = _format_float(x, w.buf + w.len)
    if n < 0:                          # slow path: orjson formats this one
        return _put_bytes(w, _orjson_dumps(x))
    w.len += n
    return 0


def _fast_float_bytes(double x):
    """The fast path's bytes for x, or None where it defers to orjson (for tests)."""
    cdef char out[32]
    cdef Py_ssize_t n = _format_float(x, out)
    return None if n < 0 else PyBytes_FromStringAndSize(out, n)


cdef const char* _utf8(str s, Py_ssize_t* n, _Frame* at) except NULL:
    try:
        return PyUnicode_AsUTF8AndSize(s, n)
    except UnicodeEncodeError as exc:
        _fail(at, "str is not valid UTF-8: surrogates not allowed", exc)
    return NULL


cdef inline int _put_str(_Writer* w, str s, _Frame* at) except -1:
    # HOT PATH: bench/test_bench_serialize.py ("serialize: compiled").
    # One pass copies and checks; the first byte that needs escaping restarts
    # the string in _put_escaped.
    cdef const unsigned char* data
    cdef Py_ssize_t n, i
    cdef unsigned char c
    cdef char* out
    if PyUnicode_IS_COMPACT_ASCII(s):
        data = <const unsigned char*>PyUnicode_DATA(s)
        n = PyUnicode_GET_LENGTH(s)
    else:
        data = <const unsigned char*>_utf8(s, &n, at)
    _reserve(w, n + 2)
    out = w.buf + w.len
    out[0] = b'"'
    for i in range(n):
        c = data[i]
        if _ESC[c]:
            return _put_escaped(w, data, n)
        out[i + 1] = <char>c
    out[n + 1] = b'"'
    w.len += n + 2
    return 0


cdef int _put_escaped(_Writer* w, const unsigned char* data, Py_ssize_t n) except -1:
    cdef Py_ssize_t i, j = 1
    cdef unsigned char c, e
    cdef char* out
    _reserve(w, 6 * n + 2)
    out = w.buf + w.len
    out[0] = b'"'
    for i in range(n):
        c = data[i]
        e = _ESC[c]
        if e == 0:
            out[j] = <char>c
            j += 1
        elif e == ord("u"):
            memcpy(out + j, b"\\u00", 4)
            out[j + 4] = _HEX[c >> 4]
            out[j + 5] = _HEX[c & 15]
            j += 6
        else:
            out[j] = b"\\"
            out[j + 1] = <char>e
            j += 2
    out[j] = b'"'
    w.len += j + 1
    return 0


# --- the walk ---------------------------------------------------------------------

cdef inline int _write_item(_Node node, _Writer* w, PyObject* item, _Frame* at) except -1:
    # HOT PATH: bench/test_bench_serialize.py ("serialize: compiled").
    # The scalar cases of _write_value, inlined into the container loops. They
    # run no Python code, so `item` stays borrowed from its container; the
    # other cases own a reference while they write (coercion may run user code).
    cdef int k = node.kind
    cdef object value
    if k == K_STRING:
        if type(<object>item) is str:
            return _put_str(w, <str>item, at)
    elif k == K_NUMBER:
        if type(<object>item) is float:
            return _put_float(w, PyFloat_AS_DOUBLE(<object>item))
        if type(<object>item) is int:
            return _put_int(w, <object>item, at)
    elif k == K_INTEGER:
        if type(<object>item) is int:
            return _put_int(w, <object>item, at)
    value = <object>item
    return _write_value(node, w, value, at)


cdef int _write_value(_Node node, _Writer* w, object value, _Frame* at) except -1:
    # HOT PATH: bench/test_bench_serialize.py ("serialize: compiled", "nested/large").
    # The exact types a schema usually meets are written inline; all else goes
    # to _write_slow.
    cdef int k = node.kind
    if k == K_STRING:
        if type(value) is str:
            return _put_str(w, <str>value, at)
    elif k == K_NUMBER:
        if type(value) is float:
            return _put_float(w, PyFloat_AS_DOUBLE(value))
        if type(value) is int:
            return _put_int(w, value, at)
    elif k == K_INTEGER:
        if type(value) is int:
            return _put_int(w, value, at)
    elif k == K_OBJECT:
        if type(value) is dict:
            return _write_object(node, w, <dict>value, at)
    elif k == K_ARRAY:
        if type(value) is list or type(value) is tuple:
            return _write_array(node, w, value, at)
    elif k == K_BOOLEAN:
        if value is True:
            return _put_raw(w, b"true", 4)
        if value is False:
            return _put_raw(w, b"false", 5)
    return _write_slow(node, w, value, at)


cdef inline bint _same_key(PyObject* key, PyObject* name) noexcept:
    """key (from a dict) equals the interned property name; C-level only."""
    cdef Py_ssize_t n
    if key == name:
        return True
    if type(<object>key) is not str:
        return False
    n = PyUnicode_GET_LENGTH(<object>key)
    return (n == PyUnicode_GET_LENGTH(<object>name)
            and PyUnicode_KIND(<object>key) == PyUnicode_KIND(<object>name)
            and memcmp(PyUnicode_DATA(<object>key), PyUnicode_DATA(<object>name),
                       n * PyUnicode_KIND(<object>key)) == 0)


cdef int _write_object(_Node node, _Writer* w, dict d, _Frame* at) except -1:
    # HOT PATH: bench/test_bench_serialize.py ("serialize: compiled", "nested/large").
    # One loop over the schema's properties. Dicts usually hold their keys in
    # schema order, so the dict's next entry is tried first (no hashing); a
    # property that is not there is probed by key, and after a few such misses
    # only probes are made.
    cdef _Frame f
    cdef _PropC* pc
    cdef PyObject* found
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t i, pos = 0, saved
    cdef int misses = 0
    cdef int skip = 1                  # 1 drops the leading comma of the first key
    _enter(w, at)
    _put_raw(w, b"{", 1)
    f.parent = at
    f.index = 0
    for i in range(node.n_props):
        pc = node.cprops + i
        found = NULL
        if misses < 3:               # pale yellow: _same_key's casts, no refcounting
            saved = pos
            if PyDict_Next(d, &pos, &k, &v) and _same_key(k, pc.name):
                found = v
            else:
                pos = saved
                misses += 1
        if found == NULL:
            # Yellow: NULL may mean an error (a key's __eq__ raised), checked by Cython.
            found = PyDict_GetItemWithError(d, <object>pc.name)
            if found == NULL:
                if pc.check:
                    _write_missing(node, i, w, &skip, at)
                continue
        f.key = pc.name
        if pc.key_len == 0:
            _fail(&f, "str is not valid UTF-8: surrogates not allowed")
        _reserve(w, pc.key_len + 16)
        if pc.key_len <= 16:
            memcpy(w.buf + w.len, pc.key + skip, 16)
        else:
            memcpy(w.buf + w.len, pc.key + skip, pc.key_len)
        w.len += pc.key_len - skip
        skip = 0
        _write_item(<_Node>pc.node, w, found, &f)
    if node.required_only is not None:
        _check_required_only(node, d, at)
    if node.has_extras:
        _write_extras(node, w, d, &skip, at)
    _put_raw(w, b"}", 1)
    w.depth -= 1
    return 0


cdef int _write_array(_Node node, _Writer* w, object seq, _Frame* at) except -1:
    # HOT PATH: bench/test_bench_serialize.py ("serialize: compiled", "nested/large").
    # seq is an exact list or tuple. A list's size is read again each round:
    # coercion may run user code that changes it. The pale yellow lines are the
    # casts around the sequence macros; they add no reference counting.
    cdef _Frame f
    cdef _Node item_node
    cdef Py_ssize_t i = 0
    _enter(w, at)
    _put_raw(w, b"[", 1)
    f.parent = at
    f.key = NULL
    while i < PySequence_Fast_GET_SIZE(seq):
        if i:
            _put_raw(w, b",", 1)
        item_node = node.items
        if i < node.n_prefix:
            item_node = <_Node>PyTuple_GET_ITEM(node.prefix, i)
        f.index = i
        _write_item(item_node, w, PySequence_Fast_GET_ITEM(seq, i), &f)
        i += 1
    _put_raw(w, b"]", 1)
    w.depth -= 1
    return 0


cdef int _write_missing(_Node node, Py_ssize_t i, _Writer* w, int* skip, _Frame* at) except -1:
    cdef _Prop p = node.props[i]
    if not p.has_default:
        return _fail_key(at, p.name, "required property is missing")
    cdef _Frame f
    f.parent = at
    f.key = <PyObject*>p.name
    f.index = 0
    if node.cprops[i].key_len == 0:
        return _fail(&f, "str is not valid UTF-8: surrogates not allowed")
    _put_raw(w, node.cprops[i].key + skip[0], node.cprops[i].key_len - skip[0])
    skip[0] = 0
    return _write_value(p.node, w, p.default, &f)


cdef int _check_required_only(_Node node, dict d, _Frame* at) except -1:
    for name in node.required_only:
        if name not in d:
            return _fail_key(at, name, "required property is missing")
    return 0


cdef int _write_extras(_Node node, _Writer* w, dict d, int* skip, _Frame* at) except -1:
    """Keys outside `properties`, taken by patternProperties or additionalProperties."""
    cdef Py_ssize_t pos = 0
    cdef PyObject* kp
    cdef PyObject* vp
    cdef _Node target
    cdef _Frame f
    f.parent = at
    f.index = 0
    while PyDict_Next(d, &pos, &kp, &vp):
        key = <object>kp
        value = <object>vp
        if key in node.prop_names:
            continue
        target = None
        if node.patterns is not None and type(key) is str:
            for search, pattern_node in node.patterns:
                if search(key) is not None:
                    target = pattern_node
                    break
        if target is None:
            target = node.additional
            if target is None:
                continue
        f.key = kp
        if type(key) is not str:
            return _fail(&f, "Dict key must be str")
        if not skip[0]:
            _put_raw(w, b",", 1)
        skip[0] = 0
        _put_str(w, <str>key, &f)
        _put_raw(w, b":", 1)
        _write_value(target, w, value, &f)
    return 0


cdef int _write_any(_Writer* w, object value, _Frame* at) except -1:
    """A value with no schema, as orjson writes it."""
    cdef type t = type(value)
    if t is str:
        return _put_str(w, <str>value, at)
    if t is int:
        return _put_int(w, value, at)
    if t is float:
        return _put_float(w, PyFloat_AS_DOUBLE(value))
    if value is None:
        return _put_raw(w, b"null", 4)
    if value is True:
        return _put_raw(w, b"true", 4)
    if value is False:
        return _put_raw(w, b"false", 5)
    if t is list or t is tuple:
        return _write_any_array(w, value, at)
    if t is dict:
        return _write_any_object(w, <dict>value, at)
    return _put_orjson(w, value, at)


cdef int _write_any_array(_Writer* w, object seq, _Frame* at) except -1:
    cdef _Frame f
    cdef Py_ssize_t i = 0
    _enter(w, at)
    _put_raw(w, b"[", 1)
    f.parent = at
    f.key = NULL
    while i < PySequence_Fast_GET_SIZE(seq):
        if i:
            _put_raw(w, b",", 1)
        item = <object>PySequence_Fast_GET_ITEM(seq, i)
        f.index = i
        _write_any(w, item, &f)
        i += 1
    _put_raw(w, b"]", 1)
    w.depth -= 1
    return 0


cdef int _write_any_object(_Writer* w, dict d, _Frame* at) except -1:
    cdef _Frame f
    cdef Py_ssize_t pos = 0
    cdef PyObject* kp
    cdef PyObject* vp
    cdef bint first = True
    _enter(w, at)
    _put_raw(w, b"{", 1)
    f.parent = at
    f.index = 0
    while PyDict_Next(d, &pos, &kp, &vp):
        key = <object>kp
        value = <object>vp
        f.key = kp
        if type(key) is not str:
            return _fail(&f, "Dict key must be str")
        if not first:
            _put_raw(w, b",", 1)
        first = False
        _put_str(w, <str>key, &f)
        _put_raw(w, b":", 1)
        _write_any(w, value, &f)
    _put_raw(w, b"}", 1)
    w.depth -= 1
    return 0


# --- the slow path ------------------------------------------------------------------

cdef int _write_slow(_Node node, _Writer* w, object value, _Frame* at) except -1:
    """Every value _write_value does not take inline: None, coercions, subclasses,
    non-dict objects, unions and anyOf/oneOf, untyped values."""
    cdef int k = node.kind
    if value is None and (node.nullable or k == K_ANY or k == K_NULL):
        return _put_raw(w, b"null", 4)
    if k == K_ANY:
        return _write_any(w, value, at)
    if k == K_STRING:
        return _put_string_slow(node, w, value, at)
    if k == K_INTEGER:
        return _put_int(w, _as_int(value, at), at)
    if k == K_NUMBER:
        value = _as_number(value, at)
        if type(value) is float:
            return _put_float(w, PyFloat_AS_DOUBLE(value))
        return _put_int(w, value, at)
    if k == K_BOOLEAN:
        return _put_bool(w, value, at)
    if k == K_NULL:
        return _put_raw(w, b"null", 4)
    if k == K_OBJECT:
        return _write_object(node, w, _as_dict(node, value, at), at)
    if k == K_ARRAY:
        return _write_array(node, w, _as_sequence(value, at), at)
    if k == K_CHOICE:
        return _write_choice(node, w, value, at)
    return _fail(at, "the schema allows no value here")


cdef int _put_string_slow(_Node node, _Writer* w, object value, _Frame* at) except -1:
    if isinstance(value, str):
        return _put_str(w, <str>value, at)
    if value is None:
        return _put_raw(w, b'""', 2)
    if isinstance(value, _date_types):
        if isinstance(value, _datetime):
            if node.fmt == F_DATE:
                value = value.date()
            elif node.fmt == F_TIME:
                value = value.time()
        return _put_orjson(w, value, at)
    try:
        text = str(value)
    except Exception as exc:
        return _fail(at, "cannot convert %s to a string" % type(value).__name__, exc)
    return _put_str(w, <str>text, at)


cdef object _as_int(object value, _Frame* at):
    """integer coercion: the int to write (its range is checked by _put_int)."""
    if value is None:
        return 0
    try:
        if isinstance(value, float):
            if isfinite(value):
                return int(value)
        elif isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                as_float = float(value)
                if isfinite(as_float):
                    return int(as_float)
        elif hasattr(type(value), "__index__"):
            return _operator_index(value)
        elif not isinstance(value, (bytes, bytearray)):
            return int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        return _fail(at, "%r cannot be converted to an integer" % (value,), exc)
    return _fail(at, "%r cannot be converted to an integer" % (value,))


cdef object _as_number(object value, _Frame* at):
    """number coercion: an int or a float to write."""
    if value is None:
        return 0
    try:
        if isinstance(value, float):
            return float(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return float(value)
        if hasattr(type(value), "__index__"):
            return _operator_index(value)
        if not isinstance(value, (bytes, bytearray)):
            return float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        return _fail(at, "%r cannot be converted to a number" % (value,), exc)
    return _fail(at, "%r cannot be converted to a number" % (value,))


cdef int _put_bool(_Writer* w, object value, _Frame* at) except -1:
    try:
        truth = bool(value)
    except Exception as exc:
        return _fail(at, "cannot convert %s to a boolean" % type(value).__name__, exc)
    if truth:
        return _put_raw(w, b"true", 4)
    return _put_raw(w, b"false", 5)


cdef object _as_sequence(object value, _Frame* at):
    """array coercion: None is [], list and tuple subclasses are read as tuples."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return _fail(at, "expected an array, got %s" % type(value).__name__)


cdef dict _as_dict(_Node node, object value, _Frame* at):
    """object coercion: a dict holding what the node will read from value."""
    if value is None:
        return {}
    if isinstance(value, _Mapping):
        return dict(value)
    if isinstance(value, (str, bytes, bytearray, int, float, list, tuple, set, frozenset)):
        _fail(at, "expected an object, got %s" % type(value).__name__)
    cdef dict d = {}
    cdef _Prop p
    for p in node.props:
        _read_attribute(value, p.name, d, at)
    if node.required_only is not None:
        for name in node.required_only:
            _read_attribute(value, name, d, at)
    if node.has_extras:
        extra = _attributes(value, at)
        for key in extra:
            if key not in d:
                d[key] = extra[key]
    return d


cdef int _read_attribute(object obj, str name, dict d, _Frame* at) except -1:
    try:
        value = getattr(obj, name, _MISSING)
    except Exception as exc:
        _fail_key(at, name, "reading the attribute raised %s" % type(exc).__name__)
    if value is not _MISSING:
        d[name] = value
    return 0


cdef dict _attributes(object obj, _Frame* at):
    try:
        if hasattr(obj, "__dict__"):
            return dict(vars(obj))
        if dataclasses.is_dataclass(obj):
            return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    except Exception as exc:
        _fail(at, "reading the attributes raised %s" % type(exc).__name__, exc)
    return {}


cdef int _write_choice(_Node node, _Writer* w, object value, _Frame* at) except -1:
    """Type unions and anyOf/oneOf: the first branch the value fits; else the
    first branch of the value's kind (object, array, string...) that writes it;
    else the first branch that can coerce it."""
    cdef _Node branch
    for branch in node.branches:
        if _fits(branch, value, 0, False):
            return _write_value(branch, w, value, at)
    for branch in node.branches:
        if _fits(branch, value, 0, True) and _try_branch(branch, w, value, at):
            return 0
    for branch in node.branches:
        if not _fits(branch, value, 0, True) and _try_branch(branch, w, value, at):
            return 0
    return _fail(at, "value matches none of the schema's alternatives (%s)"
                 % type(value).__name__)


cdef int _try_branch(_Node branch, _Writer* w, object value, _Frame* at) except -1:
    """1 when `branch` wrote value; 0 (output rolled back) when it failed."""
    cdef Py_ssize_t mark = w.len
    cdef int depth = w.depth
    try:
        _write_value(branch, w, value, at)
        return 1
    except errors.FailedSerializationError:
        w.len = mark
        w.depth = depth
        return 0


cdef int _fits(_Node node, object value, int depth, bint shallow) except -1:
    """1 when value has the shape `node` declares (branch selection only).
    Shallow: the kind of value alone (object, array, string...)."""
    cdef int k = node.kind
    cdef _Node branch
    if depth > FITS_DEPTH:
        return 1
    if not shallow and node.enum is not None and not _in_enum(value, node.enum):
        return 0
    if value is None:
        return node.nullable or k == K_NULL or k == K_ANY
    if k == K_ANY:
        return 1
    if k == K_STRING:
        return isinstance(value, str) or (node.fmt != F_NONE and isinstance(value, _date_types))
    if k == K_INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if k == K_NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if k == K_BOOLEAN:
        return isinstance(value, bool)
    if k == K_OBJECT:
        return _fits_object(node, value, depth, shallow)
    if k == K_ARRAY:
        return _fits_array(node, value, depth, shallow)
    if k == K_CHOICE:
        for branch in node.branches:
            if _fits(branch, value, depth + 1, shallow):
                return 1
    return 0


cdef bint _in_enum(object value, tuple choices) except -1:
    for choice in choices:
        if isinstance(choice, bool) == isinstance(value, bool) and choice == value:
            return True
    return False


cdef object _lookup(object value, bint mapping, str name):
    if mapping:
        return value.get(name, _MISSING)
    return getattr(value, name, _MISSING)


cdef int _fits_object(_Node node, object value, int depth, bint shallow) except -1:
    cdef _Prop p
    cdef bint mapping = isinstance(value, _Mapping)
    if not mapping and isinstance(
            value, (str, bytes, bytearray, int, float, list, tuple, set, frozenset)):
        return 0
    if shallow or isinstance(value, _date_types):
        return not isinstance(value, _date_types)
    for p in node.props:
        item = _lookup(value, mapping, p.name)
        if item is _MISSING:
            if p.required:
                return 0
        elif not _fits(p.node, item, depth + 1, False):
            return 0
    if node.required_only is not None:
        for name in node.required_only:
            if _lookup(value, mapping, name) is _MISSING:
                return 0
    return 1


cdef int _fits_array(_Node node, object value, int depth, bint shallow) except -1:
    cdef Py_ssize_t i
    cdef _Node item_node
    if not isinstance(value, (list, tuple)):
        return 0
    if shallow:
        return 1
    for i, item in enumerate(value):
        item_node = node.items
        if i < node.n_prefix:
            item_node = node.prefix[i]
        if not _fits(item_node, item, depth + 1, False):
            return 0
    return 1


@cython.auto_pickle(False)
# --- the public object -------------------------------------------------------------

@cython.auto_pickle(False)
cdef class Serializer:
    """A schema compiled once: ``serializer(data) -> bytes``."""

    def __init__(self, schema, schemas=None):
        self.root = compile_plan(schema, schemas)

    def __call__(self, data):
        return self.dumps(data)

    cpdef bytes dumps(self, object data):
        # HOT PATH: bench/test_bench_serialize.py ("serialize: compiled", "nested/large").
        # Outputs that outgrew the stack buffer before start in a heap buffer
        # of their largest size so far, so that they are not grown again.
        # Yellow: the cpdef entry and the try/finally that frees that buffer,
        # once per call.
        cdef char stack[STACK_BUFFER]
        cdef _Writer w
        w.buf = stack
        w.len = 0
        w.cap = STACK_BUFFER
        w.heap = False
        w.depth = 0
        if self.root is None:
            raise TypeError("Serializer was not compiled from a schema")
        if self.size_hint > STACK_BUFFER:
            w.buf = <char*>PyMem_Malloc(self.size_hint)
            if w.buf == NULL:
                raise MemoryError()
            w.cap = self.size_hint
            w.heap = True
        try:
            _write_value(self.root, &w, data, NULL)
            if w.len > self.size_hint:
                self.size_hint = w.len + w.len // 8
            return PyBytes_FromStringAndSize(w.buf, w.len)
        finally:
            if w.heap:
                PyMem_Free(w.buf)


def compile_serializer(schema, schemas=None):
    """Compiles `schema` (with shared `$id` schemas for ``$ref``) into a Serializer."""
    return Serializer(schema, schemas)
