"""The compiled fast path of flat object schemas (fastcore._validate).

``compile_validator`` puts a ``FlatCheck`` in front of the generated validator
when a schema is flat. The fast path must never change an outcome: the
differential test feeds both the same schemas and data and compares the
result, the data left behind (values, types, key order) and the error.
"""
import copy
import math

import pytest
from hypothesis import given, settings, strategies as st

from bench.app import ORDER_SCHEMA, USER_SCHEMA
from fastcore._validate import FlatCheck, flat_check
from fastcore.errors import SchemaValidationError
from fastcore.validation import compile_validator

NAMES = ("a", "b", "id", "q")

VALUES = st.one_of(
    st.sampled_from(["42", "0042", "-1", "+3", "1.5", "1e3", " 7", "", "true", "false",
                     "abc", "\u0664\u0662", "9" * 18, "9" * 19, "0x1f", "null"]),
    st.text(max_size=6),
    st.sampled_from(["0", "3", "5", "50", "-5"]),
    st.integers(-6, 51),
    st.integers(min_value=-10**20, max_value=10**20),
    st.sampled_from([0.0, -0.0, 0.5, 2.0, 1e300, float("inf"), float("nan")]),
    st.floats(allow_nan=False, width=32),
    st.booleans(),
    st.none(),
    st.lists(st.sampled_from(["1", 1, "x"]), max_size=2),
    st.just({"x": 1}),
)
LIMITS = st.one_of(st.none(), st.integers(-5, 50), st.sampled_from([0, 0.5, 2.5, -1.0]))
LENGTHS = st.one_of(st.none(), st.integers(0, 6))


@st.composite
def prop_schemas(draw):
    kind = draw(st.sampled_from(["string", "integer", "number", "boolean", None]))
    schema = {} if kind is None else {"type": kind}
    if kind == "string":
        for keyword in ("minLength", "maxLength"):
            value = draw(LENGTHS)
            if value is not None:
                schema[keyword] = value
        if draw(st.booleans()):
            schema["enum"] = draw(st.lists(st.sampled_from(["x", "abc", "42", ""]), min_size=1))
    elif kind in ("integer", "number"):
        for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            value = draw(LIMITS)
            if value is not None:
                schema[keyword] = value
    if draw(st.integers(0, 3)) == 0:
        schema["default"] = draw(st.sampled_from(["7", 3, 2.5, True, "abc", None, "", "true"]))
    if draw(st.integers(0, 5)) == 0:
        schema["description"] = "annotated"
    return schema


@st.composite
def flat_schemas(draw):
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    schema = {"type": "object", "properties": {n: draw(prop_schemas()) for n in names}}
    required = draw(st.lists(st.sampled_from(NAMES + ("extra",)), unique=True, max_size=3))
    if required:
        schema["required"] = required
    return schema


def _outcome(check, data):
    try:
        result = check(data)
    except SchemaValidationError as exc:
        return "error", str(exc), repr(exc.validation)
    return "ok", _typed(result)


def _typed(value):
    # Types, key order and NaN-safe values, for an exact comparison.
    if isinstance(value, dict):
        return [(k, _typed(v)) for k, v in value.items()]
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return type(value).__name__, repr(value)


@settings(max_examples=600, deadline=None)
@given(schema=flat_schemas(),
       data=st.one_of(st.dictionaries(st.sampled_from(NAMES + ("extra",)), VALUES, max_size=5),
                      VALUES),
       coerce=st.sampled_from([None, False, "array"]),
       defaults=st.booleans(),
       remove=st.sampled_from([True, False, "failing"]),
       all_errors=st.booleans(),
       part=st.sampled_from(["body", "querystring", "params", "headers"]))
def test_flat_check_matches_generated_validator(schema, data, coerce, defaults, remove,
                                                all_errors, part):
    check = compile_validator(schema, part=part, coerce_types=coerce, use_defaults=defaults,
                              remove_additional=remove, all_errors=all_errors)
    assert isinstance(check, FlatCheck)
    fast_data, slow_data = copy.deepcopy(data), copy.deepcopy(data)
    assert _outcome(check, fast_data) == _outcome(check.fallback, slow_data)
    assert _typed(fast_data) == _typed(slow_data)


def test_flat_check_serves_the_workload_schemas():
    for schema, part in ((ORDER_SCHEMA, "body"), (USER_SCHEMA["params"], "params"),
                         (USER_SCHEMA["querystring"], "querystring")):
        assert isinstance(compile_validator(schema, part=part), FlatCheck)


@pytest.mark.parametrize("schema, options", [
    ({"type": "object", "properties": {"a": {"type": "string"}},
      "additionalProperties": False}, {}),
    ({"type": "object", "properties": {"a": {"type": "string", "format": "email"}}}, {}),
    ({"type": "object", "properties": {"a": {"type": "string", "pattern": "^x"}}}, {}),
    ({"type": "object", "properties": {"a": {"type": "object"}}}, {}),
    ({"type": "object", "properties": {"a": {"type": ["string", "null"]}}}, {}),
    ({"type": "object", "properties": {"a": {"type": "integer", "enum": [1, 2]}}}, {}),
    ({"type": "object", "properties": {"a": {"type": "integer", "multipleOf": 2}}}, {}),
    ({"type": "object", "properties": {"a": {"type": "string", "default": {"x": 1}}}}, {}),
    ({"type": "object", "properties": {"a": {"$ref": "#/definitions/x"}}}, {}),
    ({"type": "object", "properties": {"a": {"type": "integer", "minimum": True}}}, {}),
    ({"type": "object", "properties": {"a": {"type": "string", "minLength": 1.5}}}, {}),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "minProperties": 1}, {}),
    ({"properties": {"a": {"type": "string"}}}, {}),
    ({"type": "array"}, {}),
    ({"type": "object", "properties": {"a": {"type": "string"}}},
     {"remove_additional": "all"}),
])
def test_flat_check_declines_what_it_cannot_decide(schema, options):
    def fallback(data):
        return data
    defaults = {"coerce": True, "defaults": True, "remove_additional": True}
    assert flat_check(schema, fallback, **{**defaults, **options}) is None


def test_flat_check_leaves_data_untouched_when_it_defers():
    check = compile_validator({"type": "object", "properties": {
        "id": {"type": "integer"}, "n": {"type": "integer", "maximum": 5},
        "limit": {"type": "integer", "default": 20}}}, part="querystring")
    data = {"id": "42", "n": "9"}
    with pytest.raises(SchemaValidationError, match="querystring/n must be <= 5"):
        check(data)
    assert data == {"id": 42, "n": 9, "limit": 20}  # what the generated validator leaves
    fresh = {"id": "42", "n": "3"}
    assert check(fresh) == {"id": 42, "n": 3, "limit": 20}
    assert list(fresh) == ["id", "n", "limit"]


GRID_VALUES = [0, 5, 6, 4, -1, 2.5, 5.0, 0.0, True, False, None, "0", "5", "6", "2.5", "",
               "true", "false", "abc", "abcdef", "x", "42", "0042", "9" * 18, "9" * 19,
               "\u0664", ["5"], {"x": 1}]
GRID_PROPS = [
    {"type": "integer", "minimum": 0}, {"type": "integer", "maximum": 5},
    {"type": "integer", "exclusiveMinimum": 0}, {"type": "integer", "exclusiveMaximum": 5},
    {"type": "number", "minimum": 2.5}, {"type": "number", "maximum": 2.5},
    {"type": "number", "exclusiveMinimum": 2.5}, {"type": "number", "exclusiveMaximum": 5},
    {"type": "string", "minLength": 1}, {"type": "string", "maxLength": 5},
    {"type": "string", "enum": ["x", "abc", "5"]}, {"type": "boolean"}, {},
    {"type": "integer", "default": "5"}, {"type": "string", "default": 5},
]


@pytest.mark.parametrize("coerce", [None, False])
@pytest.mark.parametrize("prop", GRID_PROPS, ids=repr)
def test_flat_check_matches_at_every_boundary(prop, coerce):
    for required in (False, True):
        schema = {"type": "object", "properties": {"a": prop}}
        if required:
            schema["required"] = ["a"]
        check = compile_validator(schema, coerce_types=coerce)
        assert isinstance(check, FlatCheck)
        for data in [{"a": value} for value in GRID_VALUES] + [{}, {"b": 1}]:
            fast_data, slow_data = copy.deepcopy(data), copy.deepcopy(data)
            assert _outcome(check, fast_data) == _outcome(check.fallback, slow_data), data
            assert _typed(fast_data) == _typed(slow_data), data
