"""Tests of the schema-compiled serializer, fastcore._serialize.

Explicit cases for each keyword and coercion rule, then differential tests:
random schemas and data, the serializer against ``orjson.dumps`` of the data
filtered and coerced by ``reference`` (written below, plain Python), byte for
byte; and floats against orjson on random and boundary values.
"""
from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import enum
import math
import pathlib
import random
import struct
import uuid
from collections import OrderedDict

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fastcore import errors
from fastcore import _serialize
from fastcore._serialize import SchemaRefError, Serializer, compile_serializer

Failed = errors.FailedSerializationError

from bench.app import PRICES_SCHEMA as PRICE_SCHEMA  # noqa: E402  (route 2's schema)


def dumps(schema, data, schemas=None):
    return compile_serializer(schema, schemas)(data)


def obj(**properties):
    return {"type": "object", "properties": properties}


def fails(schema, data, pointer, schemas=None):
    with pytest.raises(Failed) as info:
        dumps(schema, data, schemas)
    assert info.value.code == "FC_ERR_FAILED_SERIALIZATION"
    assert info.value.pointer == pointer
    assert str(info.value).startswith(pointer + ": ")
    return info.value


# --- the API ---------------------------------------------------------------------------

def test_compile_returns_a_serializer_with_call_and_dumps():
    serializer = compile_serializer(PRICE_SCHEMA)
    assert isinstance(serializer, Serializer)
    data = [{"symbol": "BTC-USD", "bid": 1.5, "ask": 2.0, "ts": 1, "venue": "x"}]
    assert serializer(data) == serializer.dumps(data) == orjson.dumps(data)
    assert type(serializer(data)) is bytes


def test_serializer_class_compiles_too():
    assert Serializer({"type": "integer"})(3.7) == b"3"


def test_uncompiled_serializer_raises_instead_of_crashing():
    with pytest.raises(TypeError):
        Serializer.__new__(Serializer)(1)


def test_stub_lists_exactly_what_the_module_exports():
    stub = pathlib.Path(_serialize.__file__).with_name("_serialize.pyi")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    names = {node.name for node in tree.body
             if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    assert names == {"SchemaRefError", "Serializer", "compile_serializer"}
    assert _serialize.__file__.endswith((".so", ".pyd"))
    for name in names:
        assert hasattr(_serialize, name)
    for method in ("dumps", "__call__"):
        assert hasattr(Serializer, method)


def test_large_output_grows_past_the_stack_buffer():
    data = [{"symbol": "S" * 100, "bid": i + 0.5, "ask": i, "ts": i, "venue": "v"}
            for i in range(2000)]
    assert dumps(PRICE_SCHEMA, data) == orjson.dumps(data)


# --- objects ---------------------------------------------------------------------------

def test_object_keeps_only_schema_properties_in_schema_order():
    schema = obj(b={"type": "integer"}, a={"type": "string"})
    assert dumps(schema, {"a": "x", "z": 1, "b": 2}) == b'{"b":2,"a":"x"}'


def test_object_missing_optional_property_is_omitted():
    schema = obj(a={"type": "integer"}, b={"type": "integer"}, c={"type": "integer"})
    assert dumps(schema, {"c": 3}) == b'{"c":3}'
    assert dumps(schema, {"a": 1, "c": 3}) == b'{"a":1,"c":3}'
    assert dumps(schema, {}) == b"{}"


def test_object_keys_in_any_order_and_with_extras_in_between():
    schema = obj(a={"type": "integer"}, b={"type": "integer"}, c={"type": "integer"},
                 d={"type": "integer"})
    data = {"x": 0, "d": 4, "y": 0, "c": 3, "b": 2, "z": 0, "a": 1}
    assert dumps(schema, data) == b'{"a":1,"b":2,"c":3,"d":4}'


def test_object_keys_not_interned_still_match():
    key = "".join(["sym", "bol"])          # an equal string, not the same object
    assert dumps(obj(symbol={"type": "string"}), {key: "x"}) == b'{"symbol":"x"}'


def test_object_missing_required_property_fails_with_its_pointer():
    schema = {"type": "array", "items": {**obj(a={"type": "integer"}), "required": ["a"]}}
    error = fails(schema, [{"a": 1}, {}], "#/1/a")
    assert "required" in str(error)


def test_required_names_outside_properties_are_checked_not_written():
    schema = {**obj(a={"type": "integer"}), "required": ["a", "b"]}
    assert dumps(schema, {"a": 1, "b": 2}) == b'{"a":1}'
    fails(schema, {"a": 1}, "#/b")


def test_missing_property_with_default_is_written_coerced():
    schema = obj(a={"type": "integer", "default": 5.5}, b={"type": "string", "default": 3})
    assert dumps(schema, {}) == b'{"a":5,"b":"3"}'
    assert dumps(schema, {"a": 1}) == b'{"a":1,"b":"3"}'


def test_property_names_are_escaped_like_orjson():
    names = ['qu"ote', "back\\slash", "new\nline", "caf\u00e9", "\x00", "/slash"]
    schema = obj(**{name: {"type": "integer"} for name in names})
    data = {name: i for i, name in enumerate(names)}
    assert dumps(schema, data) == orjson.dumps(data)


def test_property_name_with_a_lone_surrogate_fails_only_when_present():
    schema = obj(**{"ok": {"type": "integer"}, "\ud800": {"type": "integer"}})
    assert dumps(schema, {"ok": 1}) == b'{"ok":1}'
    fails(schema, {"ok": 1, "\ud800": 2}, "#/\ud800")


def test_pointer_escapes_tilde_and_slash():
    schema = obj(**{"a/b~c": {"type": "integer"}})
    fails(schema, {"a/b~c": 2 ** 64}, "#/a~1b~0c")


def test_object_without_properties_writes_nothing_by_default():
    assert dumps({"type": "object"}, {"a": 1}) == b"{}"


def test_additional_properties_true_writes_extras_as_orjson_would():
    schema = {**obj(a={"type": "integer"}), "additionalProperties": True}
    data = {"z": [1, {"q": 2.5, "n": None}], "a": "7", "u": uuid.UUID(int=1)}
    assert dumps(schema, data) == orjson.dumps({"a": 7, "z": data["z"], "u": data["u"]})


def test_additional_properties_schema_coerces_extras():
    schema = {**obj(a={"type": "integer"}), "additionalProperties": {"type": "string"}}
    assert dumps(schema, {"b": 1, "a": 2, "c": None}) == b'{"a":2,"b":"1","c":""}'


def test_additional_properties_false_drops_extras():
    schema = {**obj(a={"type": "integer"}), "additionalProperties": False}
    assert dumps(schema, {"a": 1, "b": 2}) == b'{"a":1}'


def test_pattern_properties_first_match_wins_then_additional_properties():
    schema = {
        **obj(a={"type": "string"}),
        "patternProperties": {"^n_": {"type": "integer"}, "_s$": {"type": "string"}},
        "additionalProperties": {"type": "boolean"},
    }
    data = {"n_s": "3", "a": 1, "x_s": 4, "other": 0, "n_1": 2.9}
    assert dumps(schema, data) == b'{"a":"1","n_s":3,"x_s":"4","other":false,"n_1":2}'


def test_pattern_properties_search_anywhere_and_drop_unmatched():
    schema = {"type": "object", "patternProperties": {"id": {"type": "integer"}}}
    assert dumps(schema, {"user_id": "5", "name": "x"}) == b'{"user_id":5}'


def test_extra_key_that_is_not_a_str_fails():
    schema = {"type": "object", "additionalProperties": True}
    fails(schema, {1: "x"}, "#/1")


def test_extra_keys_of_str_subclass_fail_as_in_orjson():
    class Key(str):
        pass
    schema = {"type": "object", "additionalProperties": True}
    with pytest.raises(TypeError):
        orjson.dumps({Key("k"): 1})
    fails(schema, {Key("k"): 1}, "#/k")


def test_mapping_and_dict_subclasses_are_objects():
    schema = obj(a={"type": "integer"}, b={"type": "integer"})
    assert dumps(schema, OrderedDict([("b", 2), ("a", 1)])) == b'{"a":1,"b":2}'

    class Missing(dict):
        def __missing__(self, key):
            return 0
    assert dumps(schema, Missing(a=1)) == b'{"a":1}'


def test_objects_are_read_through_attributes():
    @dataclasses.dataclass
    class Point:
        x: int
        y: float
        label: str = "p"

    schema = obj(label={"type": "string"}, x={"type": "integer"})
    assert dumps(schema, Point(1, 2.5)) == b'{"label":"p","x":1}'
    extra = {**obj(x={"type": "integer"}), "additionalProperties": True}
    assert dumps(extra, Point(1, 2.5)) == b'{"x":1,"y":2.5,"label":"p"}'


def test_slotted_objects_and_properties():
    class Slotted:
        __slots__ = ("a",)

        def __init__(self):
            self.a = 1

        @property
        def b(self):
            return "computed"

    schema = {**obj(a={"type": "integer"}, b={"type": "string"}), "additionalProperties": True}
    assert dumps(schema, Slotted()) == b'{"a":1,"b":"computed"}'


def test_attribute_that_raises_fails_with_its_pointer():
    class Broken:
        @property
        def a(self):
            raise RuntimeError("boom")
    fails(obj(a={"type": "integer"}), Broken(), "#/a")


@pytest.mark.parametrize("value", ["text", 1, 2.5, [1], (1,), b"x", {1, 2}])
def test_primitive_where_an_object_is_declared_fails(value):
    fails(obj(a={"type": "integer"}), value, "#")


# --- scalars: coercion ----------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (3, b"3"), (-7, b"-7"), (3.99, b"3"), (-3.99, b"-3"), (True, b"1"), (False, b"0"),
    ("42", b"42"), ("12.7", b"12"), (" -8 ", b"-8"), ("1e3", b"1000"), (None, b"0"),
    (2 ** 63 - 1, b"9223372036854775807"), (-2 ** 63, b"-9223372036854775808"),
    (2 ** 64 - 1, b"18446744073709551615"), ("18446744073709551615", b"18446744073709551615"),
])
def test_integer_coercion(value, expected):
    assert dumps({"type": "integer"}, value) == expected


def test_integer_coercion_of_numeric_types():
    from decimal import Decimal
    from fractions import Fraction

    class Level(enum.IntEnum):
        HIGH = 3
    assert dumps({"type": "integer"}, Level.HIGH) == b"3"
    assert dumps({"type": "integer"}, Decimal("-2.5")) == b"-2"
    assert dumps({"type": "integer"}, Fraction(7, 2)) == b"3"


@pytest.mark.parametrize("value", [
    2 ** 64, -2 ** 63 - 1, 1e20, "abc", "", float("nan"), float("inf"), "inf", [1], {}, b"1"])
def test_integer_that_cannot_be_written_fails(value):
    fails({"type": "integer"}, value, "#")


@pytest.mark.parametrize("value, expected", [
    (3, b"3"), (3.0, b"3.0"), (0.1, b"0.1"), (True, b"1"), (None, b"0"), ("7", b"7"),
    ("7.50", b"7.5"), (float("nan"), b"null"), (float("-inf"), b"null"),
    (-0.0, b"-0.0"), (2 ** 64 - 1, b"18446744073709551615"),
])
def test_number_coercion_keeps_ints_and_floats_apart(value, expected):
    assert dumps({"type": "number"}, value) == expected


def test_number_coercion_of_other_numeric_types():
    from decimal import Decimal

    class Price(float):
        pass
    assert dumps({"type": "number"}, Decimal("1.25")) == b"1.25"
    assert dumps({"type": "number"}, Price(2.5)) == b"2.5"


@pytest.mark.parametrize("value", [2 ** 64, "x1", [], {}, object(), b"1"])
def test_number_that_cannot_be_written_fails(value):
    fails({"type": "number"}, value, "#")


@pytest.mark.parametrize("value, expected", [
    ("plain", b'"plain"'), (None, b'""'), (12, b'"12"'), (1.5, b'"1.5"'), (True, b'"True"'),
    (uuid.UUID(int=1), b'"00000000-0000-0000-0000-000000000001"'),
])
def test_string_coercion_uses_str(value, expected):
    assert dumps({"type": "string"}, value) == expected


def test_string_subclass_is_written_as_its_content():
    class Symbol(str):
        def __str__(self):
            return "not this"

    class Color(str, enum.Enum):
        RED = "red"
    assert dumps({"type": "string"}, Symbol("BTC")) == b'"BTC"'
    assert dumps({"type": "string"}, Color.RED) == b'"red"'


def test_string_whose_str_raises_fails():
    class Bad:
        def __str__(self):
            raise ValueError("no")
    fails(obj(a={"type": "string"}), {"a": Bad()}, "#/a")


@pytest.mark.parametrize("text", [
    "", "plain ascii", 'quote " and \\ backslash', "ctrl \x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f",
    "caf\u00e9 \u2028 \u4e2d\u6587 \U0001f600", "/not/escaped/", "x" * 10000,
    "\u00e9" + "\x1f" * 100,
])
def test_strings_are_escaped_exactly_as_orjson(text):
    assert dumps({"type": "string"}, text) == orjson.dumps(text)
    assert dumps({}, [text, {"k": text}]) == orjson.dumps([text, {"k": text}])


def test_lone_surrogate_fails_like_orjson():
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps("\ud800")
    fails({"type": "array", "items": {"type": "string"}}, ["ok", "a\udfffb"], "#/1")
    fails({}, {"k": ["\ud800"]}, "#/k/0")


@pytest.mark.parametrize("value, expected", [
    (True, b"true"), (False, b"false"), (None, b"false"), (1, b"true"), (0, b"false"),
    ("", b"false"), ("false", b"true"), ([], b"false"),
])
def test_boolean_coercion_is_truthiness(value, expected):
    assert dumps({"type": "boolean"}, value) == expected


def test_boolean_whose_truth_raises_fails():
    class Ambiguous:
        def __bool__(self):
            raise ValueError("ambiguous")
    fails({"type": "boolean"}, Ambiguous(), "#")


@pytest.mark.parametrize("value", [None, 1, "x", {"a": 1}])
def test_null_is_always_null(value):
    assert dumps({"type": "null"}, value) == b"null"


def test_none_for_non_nullable_types_becomes_the_empty_value():
    schema = obj(s={"type": "string"}, i={"type": "integer"}, n={"type": "number"},
                 b={"type": "boolean"}, o=obj(x={"type": "integer"}),
                 a={"type": "array", "items": {"type": "integer"}}, any={})
    data = dict.fromkeys(["s", "i", "n", "b", "o", "a", "any"])
    assert dumps(schema, data) == b'{"s":"","i":0,"n":0,"b":false,"o":{},"a":[],"any":null}'


def test_none_for_an_object_with_required_properties_fails():
    schema = obj(o={**obj(x={"type": "integer"}), "required": ["x"]})
    fails(schema, {"o": None}, "#/o/x")


# --- nullable and type unions ------------------------------------------------------------

@pytest.mark.parametrize("schema", [
    {"type": "string", "nullable": True}, {"type": ["string", "null"]},
    {"type": ["null", "string"]}, {"type": "object", "nullable": True},
    {"type": "array", "nullable": True}, {"type": ["integer", "null"]},
])
def test_nullable_writes_none_as_null(schema):
    assert dumps(schema, None) == b"null"


def test_type_union_picks_the_branch_of_the_value_type():
    schema = {"type": ["integer", "string", "boolean", "array", "object"]}
    assert dumps(schema, 5) == b"5"
    assert dumps(schema, "5") == b'"5"'
    assert dumps(schema, True) == b"true"
    assert dumps(schema, [1, "a"]) == b'[1,"a"]'
    assert dumps(schema, {"a": 1}) == b"{}"


def test_type_union_coerces_to_the_first_branch_that_accepts_the_value():
    assert dumps({"type": ["integer", "string"]}, 2.5) == b"2"
    assert dumps({"type": ["boolean", "string"]}, 2.5) == b"true"
    assert dumps({"type": ["integer", "number"]}, 2.5) == b"2.5"
    assert dumps({"type": ["number", "string"]}, "x") == b'"x"'
    assert dumps({"type": ["integer", "string"]}, None) == b"0"


def test_type_union_of_object_and_array_keeps_each_shape():
    schema = {"type": ["object", "array"], "properties": {"a": {"type": "integer"}},
              "items": {"type": "string"}}
    assert dumps(schema, {"a": "1", "b": 2}) == b'{"a":1}'
    assert dumps(schema, [1, 2]) == b'["1","2"]'


def test_type_union_with_no_acceptable_branch_fails():
    fails({"type": ["integer", "array"]}, "abc", "#")


# --- arrays -----------------------------------------------------------------------------------

def test_array_items_are_coerced():
    assert dumps({"type": "array", "items": {"type": "integer"}}, [1, 2.7, "3", True]) \
        == b"[1,2,3,1]"


def test_array_accepts_tuples_and_sequence_subclasses():
    class Row(list):
        pass
    schema = {"type": "array", "items": {"type": "number"}}
    assert dumps(schema, (1, 2.5)) == b"[1,2.5]"
    assert dumps(schema, Row([1.5])) == b"[1.5]"


def test_array_without_items_writes_values_as_orjson():
    data = [1, "a", None, {"b": [2.5]}, dt.date(2024, 1, 2)]
    assert dumps({"type": "array"}, data) == orjson.dumps(data)


@pytest.mark.parametrize("value", ["abc", {"a": 1}, 5, {1, 2}, (i for i in range(2))])
def test_array_declared_non_sequence_fails(value):
    fails({"type": "array", "items": {"type": "integer"}}, value, "#")


def test_tuple_form_items_then_additional_items():
    base = {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}
    assert dumps(base, [1, "2", 3.5, "x"]) == b'["1",2,3.5,"x"]'
    assert dumps(base, [1]) == b'["1"]'
    assert dumps({**base, "additionalItems": {"type": "string"}}, [1, "2", 3]) == b'["1",2,"3"]'
    closed = {**base, "additionalItems": False}
    assert dumps(closed, [1, "2"]) == b'["1",2]'
    fails(closed, [1, "2", 3], "#/2")


def test_prefix_items_then_items():
    schema = {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}}
    assert dumps(schema, [1, "2", 3.9]) == b'["1",2,3]'


def test_nested_arrays_and_objects():
    schema = {"type": "array", "items": {"type": "array", "items": obj(
        v={"type": "array", "items": obj(w={"type": "number"})})}}
    data = [[{"v": [{"w": 1, "x": 0}, {"w": 0.5}]}], [], [{"v": []}]]
    assert dumps(schema, data) == b'[[{"v":[{"w":1},{"w":0.5}]}],[],[{"v":[]}]]'


def test_list_mutated_while_writing_does_not_crash():
    data = [1, 2, 3]

    class Shrink:
        def __str__(self):
            data.clear()
            return "s"
    data[0] = Shrink()
    assert dumps({"type": "array", "items": {"type": "string"}}, data) == b'["s"]'


# --- $ref ---------------------------------------------------------------------------------------

PRODUCT = {"$id": "Product", "type": "object",
           "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
           "definitions": {"tag": {"type": "string"}}}


def test_ref_to_a_shared_schema_by_id():
    schema = {"type": "array", "items": {"$ref": "Product#"}}
    assert dumps(schema, [{"id": "1", "x": 0}], [PRODUCT]) == b'[{"id":1}]'
    assert dumps({"$ref": "Product"}, {"name": 5}, [PRODUCT]) == b'{"name":"5"}'


def test_ref_to_a_property_of_a_shared_schema():
    assert dumps({"$ref": "Product#/properties/id"}, "12", [PRODUCT]) == b"12"


def test_ref_inside_a_shared_schema_is_relative_to_it():
    tagged = {"$id": "Tagged", "type": "object",
              "properties": {"tag": {"$ref": "#/definitions/tag"}},
              "definitions": {"tag": {"type": "integer"}}}
    assert dumps({"$ref": "Tagged#"}, {"tag": "3"}, [tagged]) == b'{"tag":3}'


def test_ref_to_local_definitions_and_defs():
    schema = {"definitions": {"n": {"type": "integer"}}, "$defs": {"s": {"type": "string"}},
              "type": "array", "items": [{"$ref": "#/definitions/n"}, {"$ref": "#/$defs/s"}]}
    assert dumps(schema, [1.5, 2]) == b'[1,"2"]'


def test_shared_schemas_as_a_dict():
    shared = {"Price": {"type": "number"}}
    assert dumps(obj(p={"$ref": "Price#"}), {"p": "1.5"}, shared) == b'{"p":1.5}'


def test_ref_with_uri_ids_and_anchors():
    shared = [{"$id": "http://example.com/schemas/base.json",
               "definitions": {"n": {"$id": "#num", "type": "integer"}}},
              {"$id": "http://example.com/schemas/user.json", "type": "object",
               "properties": {"age": {"$ref": "base.json#num"},
                              "score": {"$ref": "base.json#/definitions/n"}}}]
    schema = {"$ref": "http://example.com/schemas/user.json"}
    assert dumps(schema, {"age": "4", "score": 2.5}, shared) == b'{"age":4,"score":2}'


def test_ref_pointer_escapes():
    schema = {"definitions": {"a/b": {"type": "integer"}, "c~d": {"type": "string"}},
              "type": "array",
              "items": [{"$ref": "#/definitions/a~1b"}, {"$ref": "#/definitions/c~0d"}]}
    assert dumps(schema, ["1", 2]) == b'[1,"2"]'


def test_recursive_schema():
    tree = obj(v={"type": "integer"}, kids={"type": "array", "items": {"$ref": "#"}})
    data = {"v": 1, "x": 0, "kids": [{"v": 2, "kids": []}, {"v": "3", "kids": [{"v": 4}]}]}
    assert dumps(tree, data) == b'{"v":1,"kids":[{"v":2,"kids":[]},{"v":3,"kids":[{"v":4}]}]}'


def test_cyclic_data_with_a_recursive_schema_fails_at_the_depth_limit():
    tree = obj(kid={"$ref": "#"})
    data = {}
    data["kid"] = data
    with pytest.raises(Failed, match="Recursion limit"):
        dumps(tree, data)


@pytest.mark.parametrize("schema, shared", [
    ({"$ref": "Missing#"}, None),
    ({"$ref": "Product#/properties/nope"}, [PRODUCT]),
    ({"$ref": "#/definitions/x"}, None),
    ({"$ref": "Product#nope"}, [PRODUCT]),
    (obj(a={"$ref": "#/properties/a"}), None),
])
def test_unresolvable_ref_raises_schema_ref_error(schema, shared):
    with pytest.raises(SchemaRefError) as info:
        compile_serializer(schema, shared)
    assert isinstance(info.value, ValueError)
    assert info.value.ref.startswith(("Missing", "Product", "#"))


def test_shared_schema_in_a_list_needs_an_id():
    with pytest.raises(ValueError):
        compile_serializer({"type": "integer"}, [{"type": "string"}])


def test_unknown_type_is_a_compile_error():
    with pytest.raises(ValueError):
        compile_serializer({"type": "decimal"})
    with pytest.raises(TypeError):
        compile_serializer({"type": "object", "properties": {"a": 5}})


# --- anyOf / oneOf / allOf / enum / const / boolean schemas --------------------------------------

def test_any_of_picks_the_first_branch_the_value_fits():
    schema = {"anyOf": [{"type": "integer"}, {"type": "string"}, obj(a={"type": "integer"})]}
    assert dumps(schema, "a") == b'"a"'
    assert dumps(schema, 5) == b"5"
    assert dumps(schema, {"a": "1", "b": 2}) == b'{"a":1}'


def test_one_of_object_branches_use_required_and_property_types():
    schema = {"oneOf": [
        {**obj(kind={"const": "circle"}, r={"type": "number"}), "required": ["kind", "r"]},
        {**obj(kind={"const": "square"}, side={"type": "number"}), "required": ["kind"]},
    ]}
    assert dumps(schema, {"kind": "square", "side": 2, "r": 1}) == b'{"kind":"square","side":2}'
    assert dumps(schema, {"kind": "circle", "r": 1.5}) == b'{"kind":"circle","r":1.5}'


def test_any_of_falls_back_to_the_first_branch_that_coerces():
    schema = {"anyOf": [{"type": "integer"}, {"type": "array"}]}
    assert dumps(schema, "7") == b"7"
    fails(schema, "x", "#")


def test_any_of_branches_inherit_sibling_keywords():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}},
              "anyOf": [{"required": ["a"]}, {"properties": {"b": {"type": "string"}}}]}
    assert dumps(schema, {"a": "1", "b": 2}) == b'{"a":1}'
    assert dumps(schema, {"b": 2}) == b'{"b":"2"}'


def test_any_of_with_nullable_and_refs():
    schema = {"anyOf": [{"$ref": "Product#"}, {"type": "null"}]}
    assert dumps(schema, None, [PRODUCT]) == b"null"
    assert dumps(schema, {"id": 1}, [PRODUCT]) == b'{"id":1}'


def test_all_of_merges_properties_and_required():
    schema = {"allOf": [obj(a={"type": "integer"}),
                        {"properties": {"b": {"type": "string"}}, "required": ["b"]}]}
    assert dumps(schema, {"a": "1", "b": 2, "c": 3}) == b'{"a":1,"b":"2"}'
    fails(schema, {"a": 1}, "#/b")


def test_enum_and_const_pass_values_through():
    assert dumps({"enum": ["a", 1, None]}, 1) == b"1"
    assert dumps({"const": {"k": [1]}}, {"k": [1]}) == b'{"k":[1]}'
    assert dumps({"type": "string", "enum": ["a"]}, 5) == b'"5"'


def test_empty_and_true_schemas_write_anything_as_orjson():
    data = {"a": [1, 2.5, None, True, "x", {"b": dt.datetime(2024, 1, 1)}]}
    assert dumps({}, data) == orjson.dumps(data)
    assert dumps(True, data) == orjson.dumps(data)


def test_false_schema_rejects_every_value():
    fails(obj(a=False), {"a": 1}, "#/a")
    assert dumps(obj(a=False), {}) == b"{}"


def test_untyped_values_fail_where_orjson_fails():
    fails({}, {"a": {1, 2}}, "#/a")
    fails({}, [{"k": 2 ** 64}], "#/0/k")
    fails({}, {"a": {3: 1}}, "#/a/3")


# --- dates and times ------------------------------------------------------------------------------

DATES = [
    dt.datetime(2024, 1, 2, 3, 4, 5),
    dt.datetime(2024, 1, 2, 3, 4, 5, 6),
    dt.datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=dt.timezone.utc),
    dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
    dt.date(2024, 2, 29),
    dt.time(1, 2, 3),
    dt.time(1, 2, 3, 400),
]


@pytest.mark.parametrize("value", DATES)
@pytest.mark.parametrize("fmt", ["date-time", None])
def test_dates_are_rendered_as_orjson_renders_them(value, fmt):
    schema = {"type": "string", "format": fmt} if fmt else {"type": "string"}
    assert dumps(schema, value) == orjson.dumps(value)
    assert dumps({}, [value]) == orjson.dumps([value])


def test_date_and_time_formats_take_that_part_of_a_datetime():
    value = dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
    assert dumps({"type": "string", "format": "date"}, value) == b'"2024-01-02"'
    assert dumps({"type": "string", "format": "time"}, value) == b'"03:04:05.000006"'
    assert dumps({"type": "string", "format": "date-time"}, "2024-01-02T00:00:00Z") \
        == b'"2024-01-02T00:00:00Z"'


def test_time_with_tzinfo_fails_as_in_orjson():
    fails({"type": "string", "format": "time"}, dt.time(1, tzinfo=dt.timezone.utc), "#")


def test_union_prefers_string_format_for_datetimes():
    schema = {"type": ["integer", "string"], "format": "date-time"}
    value = dt.datetime(2024, 1, 2)
    assert dumps(schema, value) == orjson.dumps(value)


# --- depth ---------------------------------------------------------------------------------------------

def nested_lists(levels):
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize("levels", [253, 254, 255, 256])
def test_nesting_limit_matches_orjson(levels):
    data = nested_lists(levels)
    try:
        expected = orjson.dumps(data)
    except orjson.JSONEncodeError:
        with pytest.raises(Failed, match="Recursion limit"):
            dumps({}, data)
        with pytest.raises(Failed, match="Recursion limit"):
            dumps({"type": "array", "items": {"$ref": "#"}}, data)
    else:
        assert dumps({}, data) == expected
        assert dumps({"type": "array", "items": {"$ref": "#"}}, data) == expected


# --- the /prices workload ---------------------------------------------------------------------------

def test_prices_payload_is_byte_identical_to_orjson():
    from bench.app import PRICES
    assert dumps(PRICE_SCHEMA, PRICES) == orjson.dumps(PRICES)


# --- floats ----------------------------------------------------------------------------------------------

FLOAT_CASES = [
    0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 1 / 3, 2 / 3, 1e16, 1e15, 9999999999999998.0,
    999999999999999.9, 123456789012345.6, 1e17, 1.5e-7, 1e-5, 1e-6, 1.234e-5, 0.0001,
    0.001, 123456789.0, 1e21, 1e22, 1e23, 43250.75, 5e-324, 2.2250738585072014e-308,
    1.7976931348623157e308, 2.0 ** 53, 2.0 ** 53 + 2, 2.0 ** 53 - 1, 2.0 ** 52 + 0.5,
    4.35, 0.07, 1e-22, 1e-23, 9.999999999999999e-6, 1.0000000000000002, 0.30000000000000004,
    float("nan"), float("inf"), float("-inf"), 100.0, 1e14 + 0.5, 12345.678901234,
]


@pytest.mark.parametrize("x", FLOAT_CASES)
def test_float_boundaries_match_orjson(x):
    assert dumps({"type": "number"}, x) == orjson.dumps(x)
    assert dumps({}, x) == orjson.dumps(x)
    fast = _serialize._fast_float_bytes(x)
    assert fast is None or fast == orjson.dumps(x)


def test_fast_float_path_covers_prices():
    for i in range(100000):
        x = round(i * 0.01 + 43000, 2)
        assert _serialize._fast_float_bytes(x) == orjson.dumps(x)


def random_floats(rnd, n):
    """Floats from several distributions: raw bit patterns, uniform, decimals
    of few digits at every scale, and integers."""
    for i in range(n):
        kind = i % 5
        if kind == 0:
            yield struct.unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0]
        elif kind == 1:
            yield rnd.uniform(-1e6, 1e6)
        elif kind == 2:
            yield rnd.randint(-10 ** 9, 10 ** 9) / 10 ** rnd.randint(0, 22)
        elif kind == 3:
            yield round(rnd.uniform(-1e5, 1e5), rnd.randint(0, 15)) * 10.0 ** rnd.randint(-30, 30)
        else:
            yield float(rnd.randint(-2 ** 60, 2 ** 60) >> rnd.randint(0, 60))


@pytest.mark.slow
def test_half_a_million_random_floats_match_orjson():
    rnd = random.Random(20241122)
    fast_hits = 0
    for x in random_floats(rnd, 500000):
        expected = orjson.dumps(x)
        fast = _serialize._fast_float_bytes(x)
        if fast is not None:
            fast_hits += 1
            assert fast == expected, repr(x)
    assert fast_hits > 200000
    values = list(random_floats(rnd, 100000))
    assert dumps({"type": "array", "items": {"type": "number"}}, values) == orjson.dumps(values)


@settings(max_examples=3000, deadline=None)
@given(st.floats())
def test_any_float_matches_orjson(x):
    assert dumps({"type": "number"}, x) == orjson.dumps(x)
    fast = _serialize._fast_float_bytes(x)
    assert fast is None or fast == orjson.dumps(x)


@settings(max_examples=2000, deadline=None)
@given(st.integers(min_value=-10 ** 12, max_value=10 ** 12), st.integers(0, 22))
def test_short_decimals_take_the_fast_path(m, d):
    x = m / 10 ** d
    assert _serialize._fast_float_bytes(x) == orjson.dumps(x)


# --- differential: random schemas, random data ---------------------------------------------------------

class Rejected(Exception):
    """The reference says the value cannot be written."""


def coerce_int(value):
    if value is None:
        return 0
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise Rejected
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                raise Rejected from None
            if math.isnan(number) or math.isinf(number):
                raise Rejected from None
            return int(number)
    if isinstance(value, int):
        return int(value)
    raise Rejected


def coerce_number(value):
    if value is None:
        return 0
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                raise Rejected from None
    raise Rejected


def reference(schema, value):
    """The data the serializer should write for `value`, as plain Python values.

    Covers the schemas `schemas()` generates: typed scalars, objects with
    properties / required / additionalProperties, arrays with items, nullable.
    """
    kind = schema.get("type")
    if value is None and schema.get("nullable"):
        return None
    if kind is None:
        return value
    if kind == "string":
        return "" if value is None else value if isinstance(value, str) else str(value)
    if kind == "integer":
        return coerce_int(value)
    if kind == "number":
        return coerce_number(value)
    if kind == "boolean":
        return bool(value)
    if kind == "null":
        return None
    if kind == "array":
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise Rejected
        return [reference(schema.get("items", {}), item) for item in value]
    assert kind == "object"
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise Rejected
    out = {}
    properties = schema.get("properties", {})
    for name, sub in properties.items():
        if name in value:
            out[name] = reference(sub, value[name])
        elif name in schema.get("required", ()):
            raise Rejected
    extra = schema.get("additionalProperties", False)
    if extra is not False:
        for key, item in value.items():
            if key not in properties:
                out[key] = item if extra is True else reference(extra, item)
    return out


names = st.sampled_from(["a", "b", "id", "name", "price", "x y", "caf\u00e9", 'q"uote', "k\n"])
scalar_types = st.sampled_from(["string", "integer", "number", "boolean", "null"])


def schemas():
    scalar = st.builds(lambda t, n: {"type": t, **({"nullable": True} if n else {})},
                       scalar_types, st.booleans()) | st.just({})

    def containers(children):
        objects = st.builds(
            lambda props, req, extra, n: {
                "type": "object", "properties": props,
                "required": [k for k in props if k in req],
                **({"additionalProperties": extra} if extra is not None else {}),
                **({"nullable": True} if n else {})},
            st.dictionaries(names, children, max_size=5),
            st.sets(names),
            st.none() | st.booleans() | scalar,
            st.booleans())
        arrays = st.builds(lambda items: {"type": "array", "items": items}, children)
        return objects | arrays
    return st.recursive(scalar, containers, max_leaves=12)


json_scalars = (st.none() | st.booleans() | st.integers(-2 ** 65, 2 ** 65)
                | st.floats() | st.text(max_size=12))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5),
                                                                      children, max_size=4),
    max_leaves=10)


def data_for(schema):
    """Values shaped like `schema`, with wrong types, None and extra keys mixed in."""
    kind = schema.get("type")
    if kind == "object":
        props = schema["properties"]
        fitting = st.fixed_dictionaries(
            {}, optional={name: data_for(sub) for name, sub in props.items()})
        extras = st.dictionaries(names | st.text(max_size=4), json_values, max_size=3)
        shaped = st.builds(lambda a, b: {**b, **a} if a else b, fitting, extras)
        return shaped | st.none()
    if kind == "array":
        return st.lists(data_for(schema["items"]), max_size=5) | st.none()
    typical = {
        "string": st.text(max_size=10),
        "integer": st.integers(-2 ** 66, 2 ** 66),
        "number": st.floats() | st.integers(-2 ** 65, 2 ** 65),
        "boolean": st.booleans(),
        "null": st.none(),
    }.get(kind, json_values)
    odd = (st.none() | st.booleans() | st.integers(-10 ** 6, 10 ** 6) | st.floats(-1e6, 1e6)
           | st.sampled_from(["12", "-3.75", "1e3", "abc", " 7 ", "nan", ""]))
    return st.one_of(typical, typical, odd)


def expected_bytes(schema, data):
    try:
        return orjson.dumps(reference(schema, data))
    except (Rejected, orjson.JSONEncodeError):
        return None


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_random_schemas_and_data_match_orjson_of_the_reference(data):
    schema = data.draw(schemas(), label="schema")
    value = data.draw(data_for(schema), label="value")
    expected = expected_bytes(schema, value)
    serializer = compile_serializer(schema)
    if expected is None:
        with pytest.raises(Failed) as info:
            serializer(value)
        assert info.value.pointer.startswith("#")
    else:
        assert serializer(value) == expected


@settings(max_examples=1000, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(schemas(), json_values | st.sets(st.integers(), max_size=2) | st.binary(max_size=3))
def test_random_schemas_with_unrelated_data_write_the_reference_or_fail(schema, value):
    expected = expected_bytes(schema, value)
    serializer = compile_serializer(schema)
    if expected is None:
        with pytest.raises(Failed):
            serializer(value)
    else:
        assert serializer(value) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "symbol": st.text(max_size=10), "bid": st.floats(), "ask": st.floats() | st.integers(0, 10 ** 6),
    "ts": st.integers(0, 2 ** 63 - 1), "venue": st.text(max_size=3)}), max_size=30))
def test_random_price_lists_match_orjson(prices):
    order = list(PRICE_SCHEMA["items"]["properties"])
    try:
        expected = orjson.dumps([{key: price[key] for key in order} for price in prices])
    except orjson.JSONEncodeError:
        with pytest.raises(Failed):
            dumps(PRICE_SCHEMA, prices)
    else:
        assert dumps(PRICE_SCHEMA, prices) == expected
