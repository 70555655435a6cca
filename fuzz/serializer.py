"""Fuzz target: the schema-compiled serializer (fastcore.compile_serializer).

A fixed set of schemas is compiled once. Each input picks a schema and builds
a JSON-like Python value from the fuzzer's bytes (None, bools, ints of any
size, floats including NaN and infinities, strings that may hold lone
surrogates, lists, dicts whose keys are mostly the schema's property names).
The serializer must either return bytes or raise FailedSerializationError.
``expected`` restates the documented filtering and coercion rules (module
doc of fastcore/_serialize.pyx) for the cases they state simply; there the
output must be byte for byte ``orjson.dumps`` of the expected value, and a
value the rules refuse must be refused. Where the rules are not restated
here (a string coerced to a number, a container where a scalar is declared)
``expected`` raises Unmodelled and only the weaker invariant is checked: the
output is valid JSON.
"""
import math
import sys

import atheris
import orjson

with atheris.instrument_imports():
    from fastcore import compile_serializer
    from fastcore.errors import FailedSerializationError

ITEM = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "score": {"type": "number"},
        "ok": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "label": {"type": "string", "default": "none"},
        "child": {"type": "object", "properties": {"x": {"type": "integer"}}},
    },
}
SCHEMAS = [
    ITEM,
    {"type": "array", "items": ITEM},
    {"type": "object", "additionalProperties": True,
     "properties": {"id": {"type": "integer"}, "any": {}}},
    {},
    {"type": "array", "items": {"type": "number"}},
    {"type": "string"},
    {"type": "integer"},
]
SERIALIZERS = [compile_serializer(schema) for schema in SCHEMAS]
KEYS = ["id", "name", "score", "ok", "tags", "label", "child", "x", "any", "other"]
INT_MIN, INT_MAX = -(1 << 63), (1 << 64) - 1   # orjson's integer range


class Refused(Exception):
    """The documented rules make this value an error."""


class Unmodelled(Exception):
    """The rules for this value are not restated here."""


@atheris.instrument_func
def make_value(fdp, depth):
    kind = fdp.ConsumeIntInRange(0, 8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return fdp.ConsumeBool()
    if kind == 2:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 10))
    if kind == 3:
        return fdp.ConsumeFloat()
    if kind in (4, 5):
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 12))
    if kind in (6, 7):
        return {make_key(fdp): make_value(fdp, depth + 1)
                for _ in range(fdp.ConsumeIntInRange(0, 5))}
    return [make_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]


def make_key(fdp):
    return fdp.PickValueInList(KEYS) if fdp.ConsumeBool() else fdp.ConsumeUnicode(4)


def check_str(value):
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused("lone surrogate") from None
    return value


def check_int(value):
    if not INT_MIN <= value <= INT_MAX:
        raise Refused("int beyond 64 bits")
    return value


@atheris.instrument_func
def as_integer(value):
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return check_int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise Refused("NaN or infinity as integer")
        return check_int(math.trunc(value))
    raise Unmodelled(type(value))


@atheris.instrument_func
def as_number(value):
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return check_int(value)
    if isinstance(value, float):
        return value    # orjson itself writes NaN and infinities as null
    raise Unmodelled(type(value))


@atheris.instrument_func
def as_string(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return check_str(value)
    if isinstance(value, (bool, int, float)):
        return str(value)
    raise Unmodelled(type(value))


@atheris.instrument_func
def as_object(schema, value):
    if value is None:
        # The empty object then goes through the rules: defaults are written
        # and a required property is missing (as compiled; the module doc
        # only says "None becomes {}").
        value = {}
    if not isinstance(value, dict):
        raise Unmodelled(type(value))
    props = schema.get("properties", {})
    out = {}
    for key, sub in props.items():
        if key in value:
            out[key] = expected(sub, value[key])
        elif "default" in sub:
            out[key] = sub["default"]
        elif key in schema.get("required", ()):
            raise Refused("missing required %r" % key)
    if schema.get("additionalProperties") is True:
        for key, item in value.items():
            if key not in props:
                out[check_str(key)] = expected({}, item)
    return out


@atheris.instrument_func
def as_any(value):
    """No type: the value as orjson writes it (orjson decides what it refuses)."""
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise Refused("orjson refuses it") from None
    return value


@atheris.instrument_func
def expected(schema, value):
    kind = schema.get("type")
    if kind == "object":
        return as_object(schema, value)
    if kind == "array":
        if value is None:
            return []
        if not isinstance(value, list):
            raise Unmodelled(type(value))
        return [expected(schema["items"], item) for item in value]
    if kind == "integer":
        return as_integer(value)
    if kind == "number":
        return as_number(value)
    if kind == "string":
        return as_string(value)
    if kind == "boolean":
        return bool(value)
    return as_any(value)


@atheris.instrument_func
def TestOneInput(data):
    fdp = atheris.FuzzedDataProvider(data)
    index = fdp.ConsumeIntInRange(0, len(SCHEMAS) - 1)
    value = make_value(fdp, 0)
    try:
        out = SERIALIZERS[index](value)
    except FailedSerializationError:
        out = None
    try:
        want = expected(SCHEMAS[index], value)
    except Refused as exc:
        assert out is None, "schema %d accepted %r (%s): %r" % (index, value, exc, out)
        return
    except Unmodelled:
        if out is not None:
            orjson.loads(out)
        return
    assert out is not None, "schema %d refused %r, expected %r" % (index, value, want)
    assert out == orjson.dumps(want), "schema %d: %r -> %r, expected %r" % (
        index, value, out, orjson.dumps(want))


def main():
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
