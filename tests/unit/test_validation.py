"""fastcore.validation: compiled validators, Fastify's defaults, Ajv's messages."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:  # a peer for the differential test; optional
    import fastjsonschema
except ImportError:  # pragma: no cover
    fastjsonschema = None

from fastcore.errors import FastcoreError, SchemaRefNotFoundError, SchemaValidationError
from fastcore.schemas import SchemaStore
from fastcore.validation import FORMATS, _js_num, _js_regex, compile_validator, format_errors

from bench.app import ORDER_SCHEMA  # noqa: E402  (route 3's schema)
ORDER = {"symbol": "BTC-USD", "side": "buy", "qty": 0.5, "price": 43250.5}
FASTJSONSCHEMA_ORDER = fastjsonschema.compile(ORDER_SCHEMA) if fastjsonschema else None


def error_of(schema, data, **options):
    """The SchemaValidationError raised for ``data`` (fails the test if none)."""
    validate = compile_validator(schema, **options)
    with pytest.raises(SchemaValidationError) as info:
        validate(data)
    return info.value


def message(schema, data, **options) -> str:
    return str(error_of(schema, data, **options))


def plain(schema, **options):
    """A validator that checks only (no coercion, defaults or removal)."""
    return compile_validator(schema, coerce_types=False, use_defaults=False,
                             remove_additional=False, **options)


# --- the /order body (WORKLOAD.md route 3) --------------------------------------------

def test_validate_order_body_returns_the_same_object():
    data = dict(ORDER)
    assert compile_validator(ORDER_SCHEMA)(data) is data
    assert data == ORDER


@pytest.mark.parametrize("change, expected", [
    ({"price": None}, "body must have required property 'price'"),
    ({"side": "hold"}, "body/side must be equal to one of the allowed values"),
    ({"qty": 0}, "body/qty must be > 0"),
    ({"qty": -1.5}, "body/qty must be > 0"),
    ({"symbol": "X" * 17}, "body/symbol must NOT have more than 16 characters"),
    ({"symbol": ""}, "body/symbol must NOT have fewer than 1 characters"),
    ({"price": [1, 2]}, "body/price must be number"),
    ({"symbol": {"a": 1}}, "body/symbol must be string"),
])
def test_validate_order_body_errors(change, expected):
    data = dict(ORDER, **change)
    data = {k: v for k, v in data.items() if v is not None}
    assert message(ORDER_SCHEMA, data) == expected


def test_validate_order_body_not_an_object():
    err = error_of(ORDER_SCHEMA, [1])
    assert str(err) == "body must be object"
    assert err.validation == [{"instance_path": "", "keyword": "type", "message": "must be object",
                               "params": {"type": "object"}}]


def test_validate_required_reported_before_property_errors():
    data = {"symbol": "BTC-USD", "side": "hold", "qty": 0}
    assert message(ORDER_SCHEMA, data) == "body must have required property 'price'"


def test_error_object_shape():
    err = error_of(ORDER_SCHEMA, {"symbol": "BTC-USD", "side": "buy", "qty": 0.5})
    assert isinstance(err, FastcoreError)
    assert err.code == "FC_ERR_VALIDATION" and err.status_code == 400
    assert err.validation_context == "body"
    assert err.validation == [{"instance_path": "", "keyword": "required",
                               "message": "must have required property 'price'",
                               "params": {"missingProperty": "price"}}]
    assert list(err.validation[0]) == ["instance_path", "keyword", "message", "params"]


def test_format_errors_joins_like_fastify():
    errors = [{"instance_path": "/a", "message": "must be string"},
              {"instance_path": "", "message": "must match a schema in anyOf"}]
    assert format_errors(errors, "querystring") == \
        "querystring/a must be string, querystring must match a schema in anyOf"


# --- parts and coercion (Fastify: coerceTypes "array" everywhere) -------------------

def test_params_integer_coerced_and_error():
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    assert compile_validator(schema, part="params")({"id": "42"}) == {"id": 42}
    err = error_of(schema, {"id": "abc"}, part="params")
    assert str(err) == "params/id must be integer"
    assert err.validation_context == "params"
    assert err.validation[0]["params"] == {"type": "integer"}


def test_querystring_limit_maximum():
    schema = {"type": "object", "properties": {"limit": {"type": "integer", "maximum": 100}}}
    err = error_of(schema, {"limit": "500"}, part="querystring")
    assert str(err) == "querystring/limit must be <= 100"
    assert err.validation[0]["params"] == {"comparison": "<=", "limit": 100}


@pytest.mark.parametrize("type_, given, expected", [
    ("integer", "42", 42), ("integer", "-7", -7), ("integer", " 12 ", 12), ("integer", "1e3", 1000),
    ("integer", "0x1F", 31), ("integer", "5.0", 5), ("integer", "1e20", 10 ** 20),
    ("integer", True, 1), ("integer", None, 0),
    ("number", "1.5", 1.5), ("number", "42", 42), ("number", ".5", 0.5), ("number", False, 0),
    ("number", "12345678901234567890", 12345678901234567890),
    ("boolean", "true", True), ("boolean", "false", False), ("boolean", 1, True),
    ("boolean", 0, False), ("boolean", None, False),
    ("null", "", None), ("null", 0, None), ("null", False, None),
    ("string", 5, "5"), ("string", 1.5, "1.5"), ("string", 2.0, "2"), ("string", True, "true"),
    ("string", None, ""),
    ("array", "a", ["a"]), ("array", 3, [3]), ("array", None, [None]),
    ("integer", ["7"], 7), ("string", ["x"], "x"),
])
def test_coercion_rules(type_, given, expected):
    result = compile_validator({"type": type_}, part="querystring")(given)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("type_, given", [
    ("integer", "1.5"), ("integer", "abc"), ("integer", ""), ("integer", "Infinity"),
    ("integer", "1_000"), ("integer", "٣"), ("integer", 1.5), ("number", "NaN"),
    ("number", "0x"), ("boolean", "1"), ("boolean", "yes"), ("null", "null"),
    ("string", {"a": 1}), ("string", [1, 2]), ("object", "x"), ("array", {"a": 1}),
])
def test_coercion_refused(type_, given):
    assert message({"type": type_}, given, part="querystring") == "querystring must be " + type_


def test_coercion_tries_union_types_in_schema_order():
    assert compile_validator({"type": ["boolean", "integer"]})("1") == 1
    assert compile_validator({"type": ["integer", "boolean"]})("true") is True
    assert compile_validator({"type": ["null", "string"]})("") == ""
    assert compile_validator({"type": ["integer", "null"]})("") is None


def test_coercion_writes_back_into_parents():
    schema = {"type": "object", "properties": {
        "ids": {"type": "array", "items": {"type": "integer"}},
        "nested": {"type": "object", "properties": {"flag": {"type": "boolean"}}}}}
    data = {"ids": "5", "nested": {"flag": "false"}}
    assert compile_validator(schema, part="querystring")(data) is data
    assert data == {"ids": [5], "nested": {"flag": False}}
    data = {"ids": ["1", "2"]}
    compile_validator(schema)(data)
    assert data == {"ids": [1, 2]}


def test_subschema_coercing_into_another_type_skips_the_other_keywords():
    schema = {"type": "string", "minLength": 2, "allOf": [{"type": "integer"}]}
    assert compile_validator(schema)("5") == 5
    ref = {"definitions": {"n": {"type": "number"}}, "type": "string", "$ref": "#/definitions/n",
           "enum": ["5"], "maxLength": 0}
    assert message(ref, "5") == "body must be equal to one of the allowed values"


def test_body_is_coerced_too_as_in_fastify():
    assert compile_validator(ORDER_SCHEMA)(dict(ORDER, qty="0.5"))["qty"] == 0.5


def test_coercion_off():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert message(schema, {"n": "5"}, coerce_types=False) == "body/n must be integer"
    assert compile_validator({"type": "integer"}, coerce_types=False)(3.0) == 3.0


def test_nullable_adds_null_and_keeps_message():
    schema = {"type": "object", "properties": {"a": {"type": "integer", "nullable": True}}}
    validate = compile_validator(schema)
    assert validate({"a": None}) == {"a": None}
    assert validate({"a": ""}) == {"a": None}
    err = error_of(schema, {"a": "x"})
    assert str(err) == "body/a must be integer"
    assert err.validation[0]["params"] == {"type": "integer"}


def test_type_union_message_and_params():
    err = error_of({"type": ["string", "number"]}, {})
    assert str(err) == "body must be string,number"
    assert err.validation[0]["params"] == {"type": ["string", "number"]}


def test_headers_schema_matches_lower_case_names():
    schema = {"type": "object", "required": ["X-Token"],
              "properties": {"X-Token": {"type": "string", "minLength": 4}}}
    validate = compile_validator(schema, part="headers")
    assert validate({"x-token": "abcd"}) == {"x-token": "abcd"}
    assert message(schema, {}, part="headers") == "headers must have required property 'x-token'"
    assert message(schema, {"x-token": "a"}, part="headers") == \
        "headers/x-token must NOT have fewer than 4 characters"
    assert schema["required"] == ["X-Token"]  # the caller's schema is left alone


# --- defaults and removal ---------------------------------------------------------

def test_defaults_applied_before_required_and_copied():
    schema = {"type": "object", "required": ["tags"], "properties": {
        "limit": {"type": "integer", "default": 20},
        "tags": {"type": "array", "default": ["a"]},
        "opts": {"type": "object", "default": {"x": [1]}}}}
    validate = compile_validator(schema)
    first, second = validate({}), validate({})
    assert first == {"limit": 20, "tags": ["a"], "opts": {"x": [1]}}
    first["tags"].append("b")
    first["opts"]["x"].append(2)
    assert second == {"limit": 20, "tags": ["a"], "opts": {"x": [1]}}
    assert schema["properties"]["tags"]["default"] == ["a"]
    assert validate({"limit": 5, "tags": []})["limit"] == 5


def test_defaults_not_applied_inside_composite_keywords_but_in_allof_and_then():
    schema = {"type": "object",
              "anyOf": [{"properties": {"a": {"default": 1}}}],
              "allOf": [{"properties": {"b": {"default": 2}}}],
              "if": {"properties": {"c": {"default": 3}}},
              "then": {"properties": {"d": {"default": 4}}}}
    assert compile_validator(schema)({}) == {"b": 2, "d": 4}


def test_defaults_off_and_tuple_item_defaults():
    schema = {"type": "array", "items": [{"type": "integer"}, {"default": "x"}]}
    assert compile_validator(schema)([1]) == [1, "x"]
    assert compile_validator(schema, use_defaults=False)([1]) == [1]
    obj = {"type": "object", "properties": {"a": {"default": 1}}}
    assert compile_validator(obj, use_defaults=False)({}) == {}


def test_remove_additional_modes():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}},
              "patternProperties": {"^x-": {}}, "additionalProperties": False}
    data = {"a": 1, "b": 2, "x-y": 3}
    assert compile_validator(schema)(dict(data)) == {"a": 1, "x-y": 3}
    err = error_of(schema, dict(data), remove_additional=False)
    assert str(err) == "body must NOT have additional properties"
    assert err.validation[0]["params"] == {"additionalProperty": "b"}
    open_schema = {"type": "object", "properties": {"a": {}}}
    assert compile_validator(open_schema)({"a": 1, "b": 2}) == {"a": 1, "b": 2}
    assert compile_validator(open_schema, remove_additional="all")({"a": 1, "b": 2}) == {"a": 1}
    typed = {"type": "object", "properties": {"a": {}}, "additionalProperties": {"type": "integer"}}
    assert message(typed, {"a": 1, "b": "x"}, coerce_types=False) == "body/b must be integer"
    failing = compile_validator(typed, remove_additional="failing", coerce_types=False)
    assert failing({"a": "s", "b": "x", "c": 2}) == {"a": "s", "c": 2}


def test_nested_removal_and_error_paths():
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["price"], "additionalProperties": False,
        "properties": {"price": {"type": "number", "minimum": 0}}}}}}
    data = {"items": [{"price": 1, "junk": True}, {"price": 2}]}
    assert compile_validator(schema)(data) == {"items": [{"price": 1}, {"price": 2}]}
    assert message(schema, {"items": [{"price": 1}, {"price": -1}]}) == \
        "body/items/1/price must be >= 0"
    assert message(schema, {"items": [{}]}) == "body/items/0 must have required property 'price'"


def test_instance_path_escapes_keys():
    schema = {"type": "object", "additionalProperties": {"type": "integer"}}
    err = error_of(schema, {"a/b~c": "x"})
    assert err.validation[0]["instance_path"] == "/a~1b~0c"


def test_all_errors_collects_every_failure():
    schema = {"type": "object", "required": ["a", "b"],
              "properties": {"c": {"type": "integer", "maximum": 3}, "d": {"type": "string"}}}
    err = error_of(schema, {"c": 9, "d": []}, all_errors=True)
    assert str(err) == ("body must have required property 'a', body must have required "
                        "property 'b', body/c must be <= 3, body/d must be string")
    assert [e["keyword"] for e in err.validation] == ["required", "required", "maximum", "type"]
    ok = compile_validator(schema, all_errors=True)
    assert ok({"a": 1, "b": 2, "c": "2"}) == {"a": 1, "b": 2, "c": 2}


# --- each keyword: Ajv's message and params -------------------------------------------

KEYWORD_CASES = [
    ({"minimum": 5}, 4, "must be >= 5", {"comparison": ">=", "limit": 5}),
    ({"maximum": 1.5}, 2, "must be <= 1.5", {"comparison": "<=", "limit": 1.5}),
    ({"exclusiveMaximum": 100.0}, 100, "must be < 100", {"comparison": "<", "limit": 100.0}),
    ({"exclusiveMinimum": 0}, 0, "must be > 0", {"comparison": ">", "limit": 0}),
    ({"multipleOf": 0.01}, 19.999, "must be multiple of 0.01", {"multipleOf": 0.01}),
    ({"multipleOf": 3}, 10, "must be multiple of 3", {"multipleOf": 3}),
    ({"maxLength": 2}, "abc", "must NOT have more than 2 characters", {"limit": 2}),
    ({"minLength": 3}, "ab", "must NOT have fewer than 3 characters", {"limit": 3}),
    ({"pattern": "^[a-z]+$"}, "A1", 'must match pattern "^[a-z]+$"', {"pattern": "^[a-z]+$"}),
    ({"format": "email"}, "nope", 'must match format "email"', {"format": "email"}),
    ({"enum": [1, "a", None]}, 2, "must be equal to one of the allowed values",
     {"allowedValues": [1, "a", None]}),
    ({"const": {"a": [1]}}, {"a": [2]}, "must be equal to constant", {"allowedValue": {"a": [1]}}),
    ({"maxItems": 1}, [1, 2], "must NOT have more than 1 items", {"limit": 1}),
    ({"minItems": 2}, [1], "must NOT have fewer than 2 items", {"limit": 2}),
    ({"uniqueItems": True}, [1, 2, 1],
     "must NOT have duplicate items (items ## 0 and 2 are identical)", {"i": 2, "j": 0}),
    ({"items": {"type": "integer"}, "uniqueItems": True}, [1, 2, 1],
     "must NOT have duplicate items (items ## 2 and 0 are identical)", {"i": 0, "j": 2}),
    ({"maxProperties": 1}, {"a": 1, "b": 2}, "must NOT have more than 1 properties", {"limit": 1}),
    ({"minProperties": 1}, {}, "must NOT have fewer than 1 properties", {"limit": 1}),
    ({"dependencies": {"a": ["b", "c"]}}, {"a": 1, "b": 2},
     "must have properties b, c when property a is present",
     {"property": "a", "missingProperty": "c", "depsCount": 2, "deps": "b, c"}),
    ({"dependencies": {"a": ["b"]}}, {"a": 1}, "must have property b when property a is present",
     {"property": "a", "missingProperty": "b", "depsCount": 1, "deps": "b"}),
    ({"items": [{}], "additionalItems": False}, [1, 2], "must NOT have more than 1 items",
     {"limit": 1}),
    ({"not": {"type": "string"}}, "x", "must NOT be valid", {}),
    ({"oneOf": [{"minimum": 0}, {"maximum": 10}]}, 5, "must match exactly one schema in oneOf",
     {"passingSchemas": [0, 1]}),
    (False, 1, "boolean schema is false", {}),
]


@pytest.mark.parametrize("schema, data, expected, params", KEYWORD_CASES)
def test_keyword_message_and_params(schema, data, expected, params):
    err = error_of(schema, data, coerce_types=False)
    assert str(err) == "body " + expected
    assert err.validation[-1]["message"] == expected
    assert err.validation[-1]["params"] == params


def test_composite_keywords_report_branch_errors_then_their_own():
    assert message({"anyOf": [{"type": "string"}, {"type": "number"}]}, []) == \
        "body must be string, body must be number, body must match a schema in anyOf"
    assert message({"oneOf": [{"type": "string"}, {"type": "object"}]}, [],
                   coerce_types=False) == \
        "body must be string, body must be object, body must match exactly one schema in oneOf"
    assert message({"if": {"minimum": 10}, "then": {"multipleOf": 10}, "else": {"maximum": 3}},
                   15) == 'body must be multiple of 10, body must match "then" schema'
    assert message({"if": {"minimum": 10}, "then": {"multipleOf": 10}, "else": {"maximum": 3}},
                   5) == 'body must be <= 3, body must match "else" schema'
    assert message({"contains": {"const": "x"}}, [1, 2]) == \
        "body/0 must be equal to constant, body/1 must be equal to constant, " \
        "body must contain at least 1 valid item(s)"
    err = error_of({"propertyNames": {"maxLength": 3}}, {"ab": 1, "abcd": 2})
    assert str(err) == "body must NOT have more than 3 characters, body property name must be valid"
    assert err.validation[1]["params"] == {"propertyName": "abcd"}
    assert message({"allOf": [{"type": "integer"}, {"minimum": 2}]}, 1) == "body must be >= 2"


def test_composite_keywords_pass():
    assert compile_validator({"anyOf": [{"type": "integer"}, {"type": "string"}]})("5") == 5
    assert compile_validator({"oneOf": [{"type": "integer"}, {"type": "object"}]})({}) == {}
    assert compile_validator({"not": {"type": "null"}})("x") == "x"
    assert compile_validator({"contains": {"minimum": 3}})([1, 5]) == [1, 5]
    assert compile_validator({"if": {"type": "integer"}, "then": {"minimum": 5}}, part="querystring"
                             )("7") == 7


def test_items_paths_and_tuple_items():
    assert message({"items": {"type": "integer"}}, [1, "a"], coerce_types=False) == \
        "body/1 must be integer"
    assert message({"items": [{"type": "integer"}, {"type": "string"}]}, [1, 2],
                   coerce_types=False) == "body/1 must be string"
    assert message({"items": [{}], "additionalItems": {"type": "string"}}, [1, "a", 3],
                   coerce_types=False) == "body/2 must be string"
    assert compile_validator({"items": [{"type": "string"}]})([1, 2]) == ["1", 2]


def test_lengths_count_code_points():
    validate = compile_validator({"type": "string", "maxLength": 2})
    assert validate("💩💩") == "💩💩"
    assert message({"maxLength": 2}, "é💩x") == "body must NOT have more than 2 characters"


def test_multiple_of_is_exact_for_decimals():
    validate = compile_validator({"multipleOf": 0.01})
    for value in (19.99, 0.07, 1e-2, 43250.5, 10):
        assert validate(value) == value
    assert compile_validator({"type": "integer", "multipleOf": 0.5})(1e308) == 1e308


def test_enum_and_const_use_json_equality():
    validate = plain({"enum": [1, "a", [1, {"b": None}]]})
    assert validate(1.0) == 1.0 and validate([1.0, {"b": None}])
    with pytest.raises(SchemaValidationError):
        validate(True)
    with pytest.raises(SchemaValidationError):
        plain({"const": 0})(False)
    assert plain({"const": {"a": 1, "b": 2}})({"b": 2, "a": 1})


def test_array_keywords_run_in_ajv_order():
    schema = {"maxItems": 3, "items": {"type": "string"}, "uniqueItems": True}
    assert message(schema, [1, 1], coerce_types=False) == "body/0 must be string"
    assert message(schema, [1, 1]) == \
        "body must NOT have duplicate items (items ## 1 and 0 are identical)"
    assert message(schema, [1, 1, 1, 1]) == "body must NOT have more than 3 items"


def test_unique_items_json_equality():
    validate = plain({"uniqueItems": True})
    assert validate([1, True, "1", [1], {"a": 1}, {"a": True}, None, 0, False])
    for dup in ([1, 1.0], [{"a": 1, "b": 2}, {"b": 2, "a": 1}], [[1, [2]], [1, [2]]], [None, None]):
        with pytest.raises(SchemaValidationError):
            validate(dup)


def test_dependencies_schema_form():
    schema = {"dependencies": {"card": {"required": ["billing"]}}}
    assert message(schema, {"card": 1}) == "body must have required property 'billing'"
    assert compile_validator(schema)({"billing": 1}) == {"billing": 1}


def test_pattern_follows_ecmascript():
    validate = compile_validator({"type": "string", "pattern": "^\\d+$"})
    assert validate("123") == "123"
    with pytest.raises(SchemaValidationError):
        validate("١٢٣")  # JS \d is ASCII only
    with pytest.raises(SchemaValidationError):
        validate("123\n")  # JS $ is the very end
    assert _js_regex("(?<y>[0-9]{4})-\\k<y>")("2020-2020")
    assert _js_regex("^\\p{Lu}\\p{Ll}+$")("Émile")
    assert _js_regex("^[^]$")("\n") and not _js_regex("[]")("a")
    assert _js_regex("\\u{1F4A9}")("💩")
    assert compile_validator({"pattern": "b"})("abc") == "abc"  # search, not match


def test_patterns_that_python_cannot_compile_are_schema_errors():
    with pytest.raises(ValueError, match="invalid pattern"):
        compile_validator({"pattern": "(unclosed"})
    with pytest.raises(ValueError, match="invalid pattern"):
        compile_validator({"pattern": "\\p{Script=Greek}"})


@pytest.mark.parametrize("fmt, good, bad", [
    ("date-time", ["2024-02-29T10:20:30Z", "1998-12-31T23:59:60Z", "2024-01-01t00:00:00.123+05:30",
                   "2024-01-01 10:00:00-01:00"],
     ["2023-02-29T10:20:30Z", "2024-01-01T24:00:00Z", "2024-01-01T10:00:00", "2024-01-01",
      "1998-12-31T22:59:60Z", "2024-01-01T10:00:00+0100"]),
    ("date", ["2024-02-29", "2000-02-29"], ["2023-02-29", "1900-02-29", "2024-13-01", "2024-1-01",
                                            "2024-01-0١"]),
    ("time", ["10:20:30Z", "23:59:60Z", "08:30:06.283185+01:00"],
     ["10:20:30", "25:00:00Z", "10:60:00Z", "10:20:30+24:00", "22:59:60Z"]),
    ("email", ["joe.bloggs@example.com", "te~st@example.com", "a+b@x.io"],
     ["2962", "a..b@example.com", ".a@example.com", "a.@example.com", "a@localhost", "a b@x.io"]),
    ("uuid", ["2eb8aa08-aa98-11ea-b4aa-73b441d16380",
              "urn:uuid:2EB8AA08-AA98-11EA-B4AA-73B441D16380"],
     ["2eb8aa08-aa98-11ea-b4aa-73b441d1638", "2eb8aa08aa9811eab4aa73b441d16380"]),
    ("uri", ["http://foo.bar/?baz=qux#quux", "urn:isbn:0451450523", "mailto:a@b.c",
             "http://[2001:db8::7]/c=GB?objectClass?one", "ftp://ftp.is.co.za/rfc/rfc1808.txt"],
     ["//foo.bar/?baz=qux#quux", "/abc", "abc", "http:// shouldfail.com", "1http://x",
      "http://[::1x]/"]),
    ("ipv4", ["192.168.0.1", "0.0.0.0", "255.255.255.255"],
     ["256.0.0.1", "192.168.0", "087.10.0.1", "1.2.3.4.5", "১২৭.0.0.1"]),
    ("ipv6", ["::1", "2001:db8::8a2e:370:7334", "::ffff:192.168.0.1", "1:2:3:4:5:6:7:8"],
     ["12345::", "1::2::3", "fe80::1%eth0", "::ffff:192.168.0.256", "1:2:3:4:5:6:7:8:9", ""]),
    ("hostname", ["www.example.com", "xn--4gbwdl.xn--wgbh1c", "a", "example.com."],
     ["-a.com", "a-.com", "a_b.com", "a" * 64 + ".com", "", ".", "a..b"]),
])
def test_formats(fmt, good, bad):
    validate = compile_validator({"type": "string", "format": fmt})
    for value in good:
        assert validate(value) == value, value
    for value in bad:
        with pytest.raises(SchemaValidationError, match='must match format "%s"' % fmt):
            validate(value)
    assert compile_validator({"format": fmt})(12) == 12  # formats apply to strings only


def test_unknown_and_custom_formats():
    assert compile_validator({"format": "no-such-format"})("x") == "x"
    validate = compile_validator({"format": "even"}, formats={"even": lambda s: len(s) % 2 == 0})
    assert validate("ab") == "ab"
    with pytest.raises(SchemaValidationError, match='must match format "even"'):
        validate("abc")
    assert set(FORMATS) == {"date-time", "date", "time", "email", "uuid", "uri", "ipv4", "ipv6",
                            "hostname"}


# --- $ref --------------------------------------------------------------------------------

PRODUCT = {"$id": "Product", "type": "object", "required": ["price"],
           "properties": {"name": {"type": "string"}, "price": {"$ref": "#/definitions/money"}},
           "definitions": {"money": {"type": "number", "minimum": 0}}}


def test_refs_to_shared_schemas():
    body = {"type": "object", "properties": {"product": {"$ref": "Product#"},
                                             "name": {"$ref": "Product#/properties/name"}}}
    validate = compile_validator(body, [PRODUCT])
    assert validate({"product": {"price": "3"}, "name": "x"}) == \
        {"product": {"price": 3}, "name": "x"}
    assert message(body, {"product": {"price": -1}}, schemas=[PRODUCT]) == \
        "body/product/price must be >= 0"
    assert message(body, {"product": {}}, schemas={"Product": PRODUCT}) == \
        "body/product must have required property 'price'"
    store = SchemaStore().extend([PRODUCT])
    assert message({"$ref": "Product"}, [], schemas=store.child()) == "body must be object"


def test_ref_with_siblings_applies_both_as_ajv():
    schema = {"definitions": {"a": {"type": "integer"}}, "$ref": "#/definitions/a", "minimum": 3}
    assert message(schema, 2) == "body must be >= 3"


def test_recursive_refs():
    tree = {"$id": "Tree", "type": "object", "required": ["value"],
            "properties": {"value": {"type": "integer"},
                           "children": {"type": "array", "items": {"$ref": "#"}}}}
    validate = compile_validator({"$ref": "Tree#"}, [tree])
    data = {"value": "1", "children": [{"value": 2, "children": [{"value": "3"}]}]}
    assert validate(data) == {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}
    bad = {"value": 1, "children": [{"value": 2, "children": [{"value": 3}, {"value": "x"}]}]}
    assert message({"$ref": "Tree#"}, bad, schemas=[tree]) == \
        "body/children/0/children/1/value must be integer"


def test_missing_ref_raises_ref_not_found_naming_it():
    with pytest.raises(SchemaRefNotFoundError, match="Nope#/x") as info:
        compile_validator({"type": "object", "properties": {"a": {"$ref": "Nope#/x"}}}, [PRODUCT])
    assert info.value.code == "FC_ERR_SCHEMA_REF_NOT_FOUND" and info.value.status_code == 500


# --- invalid schemas -----------------------------------------------------------------------

@pytest.mark.parametrize("schema", [
    {"type": "str"}, {"type": []}, {"exclusiveMinimum": True}, {"minLength": -1},
    {"maxItems": "3"}, {"multipleOf": 0}, {"enum": []}, {"anyOf": []}, {"properties": []},
    {"$ref": 5}, "string", {"items": 3},
])
def test_invalid_schemas_raise_value_error(schema):
    with pytest.raises(ValueError):
        compile_validator(schema)


def test_invalid_remove_additional_option():
    with pytest.raises(ValueError):
        compile_validator({}, remove_additional="some")


def test_empty_schemas_accept_anything():
    for schema in ({}, True, {"title": "x", "description": "y"}):
        validate = compile_validator(schema)
        assert validate({"any": [1]}) == {"any": [1]}
        assert validate(None) is None


def test_js_number_formatting_in_messages():
    assert [_js_num(x) for x in (100.0, 0.5, 1e21, 1e-7, 0.000001, 1.5e300, -0.0, 2 ** 70)] == \
        ["100", "0.5", "1e+21", "1e-7", "0.000001", "1.5e+300", "0", str(2 ** 70)]
    assert _js_num(math.inf) == "Infinity"


# --- generated code agrees with itself and with a peer ---------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(-10, 10, allow_nan=False)
    | st.sampled_from(["", "BTC-USD", "buy", "sell", "x" * 17, "5", "0.5"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["symbol", "side", "qty", "price", "x"]), inner, max_size=5),
    max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_first_error_and_all_errors_agree_on_validity(data):
    first, every = plain(ORDER_SCHEMA), plain(ORDER_SCHEMA, all_errors=True)
    outcomes = []
    for validate in (first, every):
        try:
            validate(data)
            outcomes.append(None)
        except SchemaValidationError as exc:
            outcomes.append(exc.validation)
    assert (outcomes[0] is None) == (outcomes[1] is None)
    if outcomes[0] is not None:
        assert outcomes[0][0] == outcomes[1][0]


@pytest.mark.skipif(fastjsonschema is None, reason="fastjsonschema is not installed")
@settings(max_examples=300, deadline=None)
@given(JSON)
def test_validity_matches_fastjsonschema(data):
    try:
        FASTJSONSCHEMA_ORDER(data)
        expected = True
    except fastjsonschema.JsonSchemaValueException:
        expected = False
    try:
        plain(ORDER_SCHEMA)(data)
        got = True
    except SchemaValidationError:
        got = False
    assert got == expected
