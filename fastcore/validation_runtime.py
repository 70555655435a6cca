"""Run-time helpers of the validators ``validation.py`` generates.

The generated source calls these by name (``_Invalid``, ``_e``, ``_coerce_*``,
``_json_eq``, ``_any_of``...): ``_runtime_namespace()`` builds the globals it
is ``exec``'d with from ``_RUNTIME_NAMES``, so every helper the compiler writes
a call to must be listed there. Three groups: errors (the internal ``_Invalid``
signal and error dicts), JSON values (type tests, Fastify's coercions, JSON
equality, ``uniqueItems``, ``multipleOf``) and composite keywords (``anyOf``,
``oneOf``, ``not``, ``if``, ``contains``, ``propertyNames``: each raises
``_Invalid`` with paths relative to itself). The compiler also uses ``_esc`` and
``_js_num`` when it writes paths and messages. Nothing here imports the compiler.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable


# --- errors ------------------------------------------------------------------------

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


# --- JSON values -------------------------------------------------------------------

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


# --- composite keywords (each raises _Invalid with relative paths) -----------------

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


_RUNTIME_NAMES = (
    "_Invalid", "_e", "_pre", "_esc", "_NO", "_coerce", "_coerce_integer", "_coerce_number",
    "_coerce_boolean", "_coerce_array", "_isnum", "_json_eq", "_in_enum", "_duplicate",
    "_not_multiple", "_copy", "_any_of", "_one_of", "_not", "_if_then_else", "_contains",
    "_property_names", "_any_match",
)


def _runtime_namespace() -> dict[str, Any]:
    """The globals of generated code."""
    return {name: globals()[name] for name in _RUNTIME_NAMES}
