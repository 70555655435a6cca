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
"""
from __future__ import annotations

import ipaddress
import math
import re
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ._validate import flat_check
from .errors import SchemaValidationError
from .schemas import Resolver, SchemaStore

__all__ = ["compile_validator", "format_errors", "FORMATS"]


# --- runtime: errors ---------------------------------------------------------------

class _Invalid(Exception):
    """Internal failure signal: ``errors`` paths are relative to the raiser."""

    __slots__ = ("errors",)

    def __init__(self, errors: list) -> None:
        self.errors = errors


def _e(path: str, keyword: str, message: str, params: dict) -> dict:
    return {"instance_path": path, "keyword": keyword, "message": message, "params": params}


def _pre(x: _Invalid, prefix: str) -> _Invalid:
    for err in x.errors:
        err["instance_path"] = prefix + err["instance_path"]
    return x


def _esc(key: Any) -> str:
    """A property name as a JSON pointer token (RFC 6901 §3)."""
    return str(key).replace("~", "~0").replace("/", "~1")


def format_errors(errors: list, part: str) -> str:
    """Fastify's message: ``<part><instance path> <message>``, joined by ", "."""
    return ", ".join(part + e["instance_path"] + " " + e["message"] for e in errors)


# --- runtime: JSON values ------------------------------------------------------------

_NO = object()  # "could not coerce"; None is a legitimate coerced value


def _js_num(x: Any) -> str:
    """A number as JavaScript's ``String(n)`` writes it (messages match Ajv's)."""
    if isinstance(x, int):
        return str(x)
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    if 1e-6 <= abs(x) < 1e21:
        text = format(Decimal(repr(x)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exp = repr(x).split("e")
    return "%se%s%d" % (mantissa, "+" if int(exp) > 0 else "-", abs(int(exp)))


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_number(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return isinstance(v, int) or math.isfinite(v)


def _is_integer(v: Any) -> bool:
    return _is_number(v) and (isinstance(v, int) or v.is_integer())


_IS = {
    "string": _is_str, "number": _is_number, "integer": _is_integer,
    "boolean": lambda v: isinstance(v, bool), "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
}

# ECMAScript StrWhiteSpaceChar: what Number(" 5 ") trims.
_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
            "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_INT = re.compile(r"[+-]?[0-9]+\Z")
_JS_DEC = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_JS_RADIX = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)\Z")


def _js_number(s: str) -> Any:
    """``Number(s)`` for a non-empty string: an int, a finite float or _NO."""
    t = s.strip(_JS_SPACE)
    if not t:
        return 0
    try:
        if t.isdigit() and t.isascii():
            return int(t)
        if _JS_INT.match(t):
            return int(t)
        if _JS_RADIX.match(t):
            return int(t[2:], {"x": 16, "o": 8, "b": 2}[t[1].lower()])
        if _JS_DEC.match(t):
            f = float(t)
            if not math.isfinite(f):
                return _NO
            return int(f) if f.is_integer() and abs(f) < 2 ** 53 else f
    except ValueError:  # more digits than int() accepts
        return _NO
    return _NO


def _to_string(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _js_num(v)
    return _NO


def _to_number(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if v is None:
        return 0
    if isinstance(v, str) and v:
        return _js_number(v)
    return _NO


def _to_integer(v: Any) -> Any:
    n = _to_number(v)
    if isinstance(n, float):
        return int(n) if n.is_integer() else _NO
    return n


def _to_boolean(v: Any) -> Any:
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    if v == "false" or v is None or (number and v == 0):
        return False
    if v == "true" or (number and v == 1):
        return True
    return _NO


def _to_null(v: Any) -> Any:
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    if v == "" or v is False or (number and v == 0):
        return None
    return _NO


def _to_array(v: Any) -> Any:
    return [v] if v is None or isinstance(v, (str, int, float)) else _NO


_TO = {"string": _to_string, "number": _to_number, "integer": _to_integer,
       "boolean": _to_boolean, "null": _to_null, "array": _to_array}


def _coerce(v: Any, types: tuple, mode: int) -> Any:
    """Slow path of a failed exact type test. mode 0: check only (subclasses,
    integral floats); 2: coerce scalars, and wrap a value into / unwrap it from a
    one-element array. Types are tried in the schema's order, as Ajv does."""
    for t in types:
        if _IS[t](v):
            return v
    if mode == 0:
        return _NO
    if type(v) is list and len(v) == 1:
        v = v[0]
        for t in types:
            if _IS[t](v):
                return v
    for t in types:
        conv = _TO.get(t)
        if conv is not None:
            c = conv(v)
            if c is not _NO:
                return c
    return _NO


# Fast paths of _coerce for a string (what querystrings, params and headers hold)
# against one type.
def _coerce_integer(v: Any, mode: int) -> Any:
    if type(v) is str and mode:
        if v.isdigit() and v.isascii() and len(v) < 4000:  # int() refuses more digits
            return int(v)
        return _to_integer(v)
    return _coerce(v, ("integer",), mode)


def _coerce_number(v: Any, mode: int) -> Any:
    if type(v) is str and mode:
        return _js_number(v) if v else _NO
    return _coerce(v, ("number",), mode)


def _coerce_boolean(v: Any, mode: int) -> Any:
    if type(v) is str and mode:
        return True if v == "true" else False if v == "false" else _NO
    return _coerce(v, ("boolean",), mode)


def _coerce_array(v: Any, mode: int) -> Any:
    if type(v) is str and mode:
        return [v]
    return _coerce(v, ("array",), mode)


def _isnum(v: Any) -> bool:
    t = type(v)
    return t is int or t is float or _is_number(v)


def _json_eq(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, True != 1, objects compare unordered."""
    if a is b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, (int, float)):
        return isinstance(b, (int, float)) and a == b
    if isinstance(a, str) or a is None:
        return isinstance(b, str) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and len(a) == len(b) and \
            all(k in b and _json_eq(x, b[k]) for k, x in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_json_eq, a, b))
    return a == b


def _in_enum(v: Any, values: list) -> bool:
    return any(_json_eq(v, x) for x in values)


class _Tag:
    __slots__ = ()


_BOOL, _OBJ = _Tag(), _Tag()


def _canon(x: Any) -> Any:
    """A hashable key equal for JSON-equal values and only for them."""
    if isinstance(x, bool):
        return (_BOOL, x)
    if isinstance(x, dict):
        return (_OBJ, frozenset((k, _canon(y)) for k, y in x.items()))
    if isinstance(x, list):
        return tuple(_canon(y) for y in x)
    return x


def _duplicate(items: list, scalar_types: tuple | None) -> tuple[int, int] | None:
    """(i, j) of the duplicate Ajv reports for ``uniqueItems``, or None.

    With item types all scalar Ajv scans from the end with a map (i < j);
    otherwise it compares each item with the ones before it (j < i)."""
    if scalar_types is not None:
        seen: dict = {}
        for i in range(len(items) - 1, -1, -1):
            x = items[i]
            if not any(_IS[t](x) for t in scalar_types):
                continue
            key = _canon(x)
            if key in seen:
                return i, seen[key]
            seen[key] = i
        return None
    keys = [_canon(x) for x in items]
    first: dict = {}
    for idx, key in enumerate(keys):
        first.setdefault(key, idx)
    for i in range(len(keys) - 1, 0, -1):
        if first[keys[i]] < i:
            return i, next(j for j in range(i - 1, -1, -1) if keys[j] == keys[i])
    return None


def _not_multiple(v: Any, m: Any) -> bool:
    if type(v) is int and type(m) is int:
        return v % m != 0
    try:
        q = v / m
        if math.isfinite(q) and q == int(q):
            return False
    except OverflowError:
        pass
    # Exact arithmetic on the numbers as written (19.99 is a multiple of 0.01).
    return Fraction(repr(v)) % Fraction(repr(m)) != 0


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(x) for k, x in value.items()}
    if isinstance(value, list):
        return [_copy(x) for x in value]
    return value


# --- runtime: composite keywords (each raises _Invalid with relative paths) ---------

def _any_of(v: Any, fns: tuple) -> Any:
    errors: list = []
    for fn in fns:
        try:
            return fn(v)
        except _Invalid as x:
            errors.extend(x.errors)
    errors.append(_e("", "anyOf", "must match a schema in anyOf", {}))
    raise _Invalid(errors)


def _one_of(v: Any, fns: tuple) -> Any:
    errors: list = []
    passing, result = None, v
    for i, fn in enumerate(fns):
        try:
            r = fn(v)
        except _Invalid as x:
            errors.extend(x.errors)
            continue
        if passing is not None:
            errors.append(_e("", "oneOf", "must match exactly one schema in oneOf",
                             {"passingSchemas": [passing, i]}))
            raise _Invalid(errors)
        passing, result = i, r
    if passing is None:
        errors.append(_e("", "oneOf", "must match exactly one schema in oneOf",
                         {"passingSchemas": None}))
        raise _Invalid(errors)
    return result


def _not(v: Any, fn: Callable) -> Any:
    try:
        fn(v)
    except _Invalid:
        return v
    raise _Invalid([_e("", "not", "must NOT be valid", {})])


def _if_then_else(v: Any, f_if: Callable, f_then: Callable | None, f_else: Callable | None) -> Any:
    try:
        v = f_if(v)
        fn, clause = f_then, "then"
    except _Invalid:
        fn, clause = f_else, "else"
    if fn is None:
        return v
    try:
        return fn(v)
    except _Invalid as x:
        x.errors.append(_e("", "if", 'must match "%s" schema' % clause, {"failingKeyword": clause}))
        raise


def _contains(v: list, fn: Callable) -> None:
    errors: list = []
    for i, item in enumerate(v):
        try:
            fn(item)
            return
        except _Invalid as x:
            errors.extend(_pre(x, "/%d" % i).errors)
    errors.append(_e("", "contains", "must contain at least 1 valid item(s)", {"minContains": 1}))
    raise _Invalid(errors)


def _property_names(v: dict, fn: Callable) -> None:
    for key in v:
        try:
            fn(key)
        except _Invalid as x:
            x.errors.append(_e("", "propertyNames", "property name must be valid",
                               {"propertyName": key}))
            raise


def _any_match(searches: tuple, key: str) -> bool:
    for search in searches:
        if search(key) is not None:
            return True
    return False


# --- formats (ajv-formats' "full" mode semantics; RFC 3339 for dates and times) -----

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
                   r"(?:[zZ]|([+-])([0-9]{2}):([0-9]{2}))\Z")
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_date(s: str) -> bool:
    m = _DATE.match(s)
    if m is None:
        return False
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= (29 if month == 2 and leap else _MONTH_DAYS[month])


def _is_time(s: str) -> bool:
    m = _TIME.match(s)
    if m is None:
        return False
    hour, minute, second = int(m[1]), int(m[2]), int(m[3])
    off_h, off_m = (int(m[5]), int(m[6])) if m[4] else (0, 0)
    if hour > 23 or minute > 59 or off_h > 23 or off_m > 59 or second > 60:
        return False
    if second < 60:
        return True
    sign = -1 if m[4] == "-" else 1  # a leap second exists only at 23:59:60 UTC
    return (hour * 60 + minute - sign * (off_h * 60 + off_m)) % 1440 == 1439


def _is_date_time(s: str) -> bool:
    return len(s) > 11 and s[10] in "Tt " and _is_date(s[:10]) and _is_time(s[11:])


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(r"%s(?:\.%s)*@(?:%s\.)+%s\Z" % (_ATEXT, _ATEXT, _LABEL, _LABEL))
_UUID = re.compile(r"(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\Z", re.I)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = re.compile(r"%s(?:\.%s){3}\Z" % (_OCTET, _OCTET))
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")

# RFC 3986 §3: an absolute URI with scheme, hierarchical part, query, fragment.
_UNRESERVED, _SUB_DELIMS, _PCT = r"A-Za-z0-9\-._~", r"!$&'()*+,;=", r"%[0-9A-Fa-f]{2}"
_PCHAR = r"(?:[%s%s:@]|%s)" % (_UNRESERVED, _SUB_DELIMS, _PCT)
_AUTHORITY = r"(?:(?:[%s%s:]|%s)*@)?(?:\[(?P<ip>[^\]]*)\]|(?:[%s%s]|%s)*)(?::[0-9]*)?" % (
    _UNRESERVED, _SUB_DELIMS, _PCT, _UNRESERVED, _SUB_DELIMS, _PCT)
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+\-.]*:"
    r"(?://{a}(?:/{p}*)*|/(?:{p}+(?:/{p}*)*)?|{p}+(?:/{p}*)*|)"
    r"(?:\?(?:{p}|[/?])*)?(?:#(?:{p}|[/?])*)?\Z".format(a=_AUTHORITY, p=_PCHAR))
_IPVFUTURE = re.compile(r"v[0-9A-Fa-f]+\.[%s%s:]+\Z" % (_UNRESERVED, _SUB_DELIMS))


def _is_ipv6(s: str) -> bool:
    if not s or not _IPV6_CHARS.issuperset(s):  # no zone ids, no non-ASCII digits
        return False
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


def _is_hostname(s: str) -> bool:
    if s.endswith("."):
        s = s[:-1]  # a fully-qualified name may end with the root's dot
    return 0 < len(s) <= 253 and all(_HOST_LABEL.match(label) for label in s.split("."))


def _is_uri(s: str) -> bool:
    m = _URI.match(s)
    if m is None:
        return False
    ip = m.group("ip")
    return ip is None or _is_ipv6(ip) or _IPVFUTURE.match(ip) is not None


FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _is_date_time, "date": _is_date, "time": _is_time,
    "email": lambda s: _EMAIL.match(s) is not None,
    "uuid": lambda s: _UUID.match(s) is not None,
    "uri": _is_uri,
    "ipv4": lambda s: _IPV4.match(s) is not None,
    "ipv6": _is_ipv6,
    "hostname": _is_hostname,
}


# --- ECMAScript patterns -------------------------------------------------------------

# JS ``\s`` (WhiteSpace and LineTerminator); Python's differs (\x1c-\x1f, \x85, \ufeff).
_JS_S = "\\t\\n\\v\\f\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_CLASS_BODIES = {"d": "0-9", "w": "A-Za-z0-9_", "s": _JS_S}
# Unicode General_Category names and aliases usable in \p{...}.
_CATEGORIES = {
    "L": "L", "Letter": "L", "Lu": "Lu", "Uppercase_Letter": "Lu", "Ll": "Ll",
    "Lowercase_Letter": "Ll", "Lt": "Lt", "Titlecase_Letter": "Lt", "Lm": "Lm",
    "Modifier_Letter": "Lm", "Lo": "Lo", "Other_Letter": "Lo", "M": "M", "Mark": "M",
    "Mn": "Mn", "Mc": "Mc", "Me": "Me", "N": "N", "Number": "N", "Nd": "Nd",
    "Decimal_Number": "Nd", "digit": "Nd", "Nl": "Nl", "No": "No", "P": "P",
    "Punctuation": "P", "S": "S", "Symbol": "S", "Sm": "Sm", "Sc": "Sc", "Z": "Z",
    "Separator": "Z", "Zs": "Zs", "Space_Separator": "Zs", "C": "C", "Other": "C",
    "Cc": "Cc", "Control": "Cc", "Cf": "Cf", "Format": "Cf",
}


@lru_cache(maxsize=None)
def _category_class(category: str) -> str:
    """The body of a character class matching one Unicode general category."""
    import unicodedata

    ranges, start, prev = [], None, None
    for cp in range(0x110000):
        if unicodedata.category(chr(cp)).startswith(category):
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            ranges.append((start, prev))
            start = None
    if start is not None:
        ranges.append((start, prev))
    return "".join("\\U%08x" % a if a == b else "\\U%08x-\\U%08x" % (a, b) for a, b in ranges)


def _js_escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate the escape starting at ``pattern[i] == "\\"``; returns (text, next i)."""
    d = pattern[i + 1]
    i += 2
    if d in "dws":
        return (_CLASS_BODIES[d] if in_class else "[%s]" % _CLASS_BODIES[d]), i
    if d in "DWS" and not in_class:
        return "[^%s]" % _CLASS_BODIES[d.lower()], i
    if d in "pP" and pattern.startswith("{", i):
        end = pattern.index("}", i)
        name = pattern[i + 1:end]
        if name not in _CATEGORIES or (d == "P" and in_class):
            raise ValueError("unsupported property escape \\%s{%s}" % (d, name))
        body = _category_class(_CATEGORIES[name])
        return (body if in_class else "[%s%s]" % ("^" if d == "P" else "", body)), end + 1
    if d == "c" and i < len(pattern) and pattern[i].isascii() and pattern[i].isalpha():
        return "\\x%02x" % (ord(pattern[i]) % 32), i + 1
    if d == "k" and pattern.startswith("<", i):
        end = pattern.index(">", i)
        return "(?P=%s)" % pattern[i + 1:end], end + 1
    if d == "u" and pattern.startswith("{", i):
        end = pattern.index("}", i)
        return "\\U%08x" % int(pattern[i + 1:end], 16), end + 1
    return "\\" + d, i


def _js_regex(pattern: str) -> Callable[[str], Any]:
    """Translate an ECMAScript (``u`` flag) pattern to Python and return its search.

    Handled: ``\\d``/``\\w`` are ASCII-only and ``\\s`` has its own set in JS;
    ``$`` matches only at the very end; ``(?<name>``/``\\k<name>`` named groups;
    ``[^]`` and ``[]``; ``\\u{...}``; ``\\cX``; ``\\p{...}`` general categories."""
    out, i, n, in_class = [], 0, len(pattern), False
    try:
        while i < n:
            c = pattern[i]
            if c == "\\" and i + 1 < n:
                text, i = _js_escape(pattern, i, in_class)
                out.append(text)
                continue
            if in_class:
                in_class = c != "]"
                out.append("\\" + c if c in "[&|~" else c)
            elif pattern.startswith("[^]", i) or pattern.startswith("[]", i):
                negated = pattern[i + 1] == "^"
                out.append(r"[\s\S]" if negated else "(?!)")
                i += 3 if negated else 2
                continue
            elif c == "[":
                in_class = True
                out.append(c)
                if pattern.startswith("^", i + 1):
                    out.append("^")
                    i += 1
            elif c == "$":
                out.append(r"\Z")
            elif pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
                out.append("(?P<")
                i += 3
                continue
            else:
                out.append(c)
            i += 1
        return re.compile("".join(out)).search
    except (re.error, ValueError, IndexError) as exc:
        raise ValueError("invalid pattern %r in schema: %s" % (pattern, exc)) from None


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


_RUNTIME_NAMES = (
    "_Invalid", "_e", "_pre", "_esc", "_NO", "_coerce", "_coerce_integer", "_coerce_number",
    "_coerce_boolean", "_coerce_array", "_isnum", "_json_eq", "_in_enum", "_duplicate",
    "_not_multiple", "_copy", "_any_of", "_one_of", "_not", "_if_then_else", "_contains",
    "_property_names", "_any_match",
)


def _runtime_namespace() -> dict[str, Any]:
    """The globals of generated code."""
    return {name: globals()[name] for name in _RUNTIME_NAMES}
