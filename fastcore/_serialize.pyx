# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, not from this header, so that the FASTCORE_DEBUG=1 build turns them on.
"""The schema-compiled JSON serializer (SPEC §7).

How this works
--------------
``compile_serializer(schema, schemas)`` turns a response schema, once, into a
tree of typed plan nodes (``_Node``; objects hold ``_Prop`` entries with the
key already encoded as ``,"key":`` bytes). ``$ref``s are resolved at compile
time; a recursive schema becomes a cyclic plan (nodes are cached per schema
object and base URI before their children are compiled).

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

cdef extern from "Python.h":
    bint PyUnicode_IS_COMPACT_ASCII(object o)
    int PyUnicode_KIND(object o)
    Py_ssize_t PySequence_Fast_GET_SIZE(object o)
    PyObject* PySequence_Fast_GET_ITEM(object o, Py_ssize_t i)

__all__ = ["compile_serializer", "Serializer", "SchemaRefError"]

# Plan node kinds.
cdef enum:
    K_ANY = 0        # anything: written as orjson writes it
    K_STRING = 1
    K_INTEGER = 2
    K_NUMBER = 3
    K_BOOLEAN = 4
    K_NULL = 5
    K_OBJECT = 6
    K_ARRAY = 7
    K_CHOICE = 8     # type union or anyOf/oneOf: `branches`
    K_NEVER = 9      # the `false` schema: every value is an error

cdef enum:
    F_NONE = 0
    F_DATE_TIME = 1
    F_DATE = 2
    F_TIME = 3

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

# 10**d, exact as doubles up to d = 22.
cdef double _P10[23]
_P10[:] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
           1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

cdef const char* _DIGITS = (
    b"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    b"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    b"8081828384858687888990919293949596979899")
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


class SchemaRefError(ValueError):
    """A ``$ref`` in the schema names no known schema; ``ref`` is the reference."""

    ref = None

    def __init__(self, ref, message=None):
        super().__init__(message or "cannot resolve $ref %r" % (ref,))
        self.ref = ref


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

cdef inline int _ndigits(unsigned long long v) noexcept nogil:
    cdef int n = 1
    while True:
        if v < 10:
            return n
        if v < 100:
            return n + 1
        if v < 1000:
            return n + 2
        if v < 10000:
            return n + 3
        v //= 10000
        n += 4


cdef inline void _put4(unsigned long long v, char* out) noexcept nogil:
    """The 4 digits of v < 10000 (with leading zeros) at out."""
    cdef unsigned long long hi = v // 100
    memcpy(out, _DIGITS + 2 * hi, 2)
    memcpy(out + 2, _DIGITS + 2 * (v - hi * 100), 2)


cdef inline void _digits_before(unsigned long long v, char* end) noexcept nogil:
    """Writes v in decimal so that its last digit is just before `end`.
    Eight, then four digits per round: the halves of a round are independent."""
    cdef unsigned long long q, r
    while v >= 100000000:
        q = v // 100000000
        r = v - q * 100000000
        end -= 8
        _put4(r // 10000, end)
        _put4(r % 10000, end + 4)
        v = q
    if v >= 10000:
        q = v // 10000
        end -= 4
        _put4(v - q * 10000, end)
        v = q
    if v >= 100:
        q = v // 100
        end -= 2
        memcpy(end, _DIGITS + 2 * (v - q * 100), 2)
        v = q
    if v >= 10:
        memcpy(end - 2, _DIGITS + 2 * v, 2)
    else:
        (end - 1)[0] = <char>(48 + v)


cdef inline int _utoa(unsigned long long v, char* out) noexcept nogil:
    """Writes v in decimal at out; returns the number of digits."""
    cdef int n = _ndigits(v)
    _digits_before(v, out + n)
    return n


cdef int write_decimal(unsigned long long v, char* out) noexcept nogil:
    return _utoa(v, out)


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


cdef inline int _long_decimal(double ax, long long* pm, int* pd) noexcept nogil:
    """m and d with ax == m / 10**d, m at most 15 digits, d smallest; -1 if none.

    d starts as the most fractional digits that keep m below 10**15: ax is in
    [2**(e2-1), 2**e2) (e2 from the IEEE exponent bits; subnormals end up with
    d = 22 and fail the check), so floor(log10(ax)) is est or est + 1. One
    division checks that m / 10**d reads back as ax (else ax needs 16-17
    digits); then m's trailing zeros go, 8, 4, 2 and 1 at a time.
    """
    cdef unsigned long long bits
    cdef int e2, est
    cdef int d
    cdef long long m
    cdef double r
    memcpy(&bits, &ax, 8)
    e2 = <int>((bits >> 52) & 0x7FF) - 1022
    est = <int>((e2 - 1) * 0.30102999566398120 + 1000.0) - 1000
    d = 14 - est
    if d > 22:
        d = 22
    r = ax * _P10[d]
    if r >= 1e15:
        d -= 1
        r = ax * _P10[d]
    if d < 1:
        return -1
    m = <long long>(r + 0.5)
    if <double>m / _P10[d] != ax:
        return -1
    if d > 8 and m % 100000000 == 0:
        m //= 100000000
        d -= 8
    if d > 4 and m % 10000 == 0:
        m //= 10000
        d -= 4
    if d > 2 and m % 100 == 0:
        m //= 100
        d -= 2
    if d > 1 and m % 10 == 0:
        m //= 10
        d -= 1
    pm[0] = m
    pd[0] = d
    return 0


cdef inline Py_ssize_t _format_float(double x, char* out) noexcept nogil:
    """orjson's bytes for x when they are easy to get, else -1.

    orjson writes the shortest digits that read back as x, in fixed notation
    for 1e-5 <= |x| < 1e16 (".0" after whole numbers) and as ``1.5e-7`` /
    ``1e+16`` otherwise. Handled here: integral |x| < 2**53 (the digits are the
    integer's) and values equal to m / 10**d with m <= 10**15. A decimal of at
    most 15 significant digits is the only one of its length that reads back
    as x (DBL_DIG), and m / 10**d with both exact doubles is correctly rounded,
    so m / 10**d == x at the smallest such d is exactly the shortest
    round-trip digit string. d = 1..3 are tried first, then _long_decimal.
    """
    # HOT PATH: bench/test_bench_serialize.py ("serialize: compiled").
    cdef char* p = out
    cdef double ax = x
    cdef double r
    cdef long long m
    cdef int d = 0
    cdef int n, e, k
    if not isfinite(x):
        memcpy(out, b"null", 4)
        return 4
    if signbit(x):
        p[0] = b"-"
        p += 1
        ax = -x
    if ax >= 1e15:                     # whole numbers from here to 2**53, else orjson
        if ax < 9007199254740992.0 and ax == <double>(<long long>ax):
            p += _utoa(<unsigned long long>ax, p)
            memcpy(p, b".0", 2)
            return p + 2 - out
        return -1
    m = <long long>ax
    if <double>m != ax:
        # Few fractional digits (prices) are found by trying d = 1, 2, 3; the
        # divisions are independent, so they overlap.
        d = 1
        while d <= 3:
            r = ax * _P10[d]
            if r >= 1e15:
                return -1
            m = <long long>(r + 0.5)
            if <double>m / _P10[d] == ax:
                break
            d += 1
        if d > 3 and _long_decimal(ax, &m, &d) < 0:
            return -1
    if d == 0:                         # a whole number: 43251.0
        p += _utoa(<unsigned long long>m, p)
        memcpy(p, b".0", 2)
        return p + 2 - out
    n = _ndigits(<unsigned long long>m)
    e = n - 1 - d                      # x = D.DDD * 10**e
    if e >= 0:                         # 43250.75: the d last digits after the point
        p += n + 1
        for k in range(d):
            (p - 1 - k)[0] = <char>(48 + m % 10)
            m //= 10
        (p - 1 - d)[0] = b"."
        _digits_before(<unsigned long long>m, p - 1 - d)
    elif e >= -5:                      # 0.00001234
        memcpy(p, b"0.0000", 2 + d - n)
        p += 2 + d - n
        p += _utoa(<unsigned long long>m, p)
    else:                              # 1.5e-7
        _digits_before(<unsigned long long>m, p + n + 1)
        p[0] = p[1]
        if n > 1:
            p[1] = b"."
            p += n + 1
        else:
            p += 1
        memcpy(p, b"e-", 2)
        p += 2 + _utoa(<unsigned long long>(-e), p + 2)
    return p - out


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


# --- the public object -------------------------------------------------------------

@cython.auto_pickle(False)
cdef class Serializer:
    """A schema compiled once: ``serializer(data) -> bytes``."""

    def __init__(self, schema, schemas=None):
        self.root = _Compiler(schema, schemas).compile_root()

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
