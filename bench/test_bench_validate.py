"""Validation micro benchmarks (WORKLOAD.md "validate: the /order body").

Groups, each compared side by side:

* ``validate: /order body`` — route 3's body against its schema: fastcore's
  compiled validator (Fastify defaults: coercion, defaults, removal on) and
  ``fastjsonschema`` (no coercion or removal; skipped when not installed).
* ``validate: /order body, first error`` — the same with ``price`` missing:
  the cost of building the error.
* ``validate: querystring coercion`` — route 4's params plus a querystring
  whose values are strings to coerce (integer, boolean, one value into an
  array) and a default to apply. Coercion rewrites the data, so each call
  validates a fresh shallow copy; the copy alone is its own case.

    pytest bench/test_bench_validate.py --benchmark-only
"""
from __future__ import annotations

import pytest

from fastcore.errors import SchemaValidationError
from fastcore.validation import compile_validator

from bench.app import ORDER_SCHEMA  # noqa: E402  (route 3's schema, as served)
ORDER = {"symbol": "BTC-USD", "side": "buy", "qty": 0.5, "price": 43250.5}
ORDER_NO_PRICE = {"symbol": "BTC-USD", "side": "buy", "qty": 0.5}

QUERY_SCHEMA = {
    "type": "object",
    "properties": {
        "fields": {"type": "string"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        "active": {"type": "boolean"},
        "ids": {"type": "array", "items": {"type": "integer"}},
    },
}
QUERY = {"fields": "name", "active": "true", "ids": "42"}
PARAMS_SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}}
PARAMS = {"id": "42"}


def _fastjsonschema():
    return pytest.importorskip("fastjsonschema")


def test_order_body_fastcore(benchmark):
    validate = compile_validator(ORDER_SCHEMA)
    assert validate(dict(ORDER)) == ORDER
    benchmark.group = "validate: /order body"
    benchmark(validate, ORDER)


def test_order_body_fastjsonschema(benchmark):
    validate = _fastjsonschema().compile(ORDER_SCHEMA)
    assert validate(dict(ORDER)) == ORDER
    benchmark.group = "validate: /order body"
    benchmark(validate, ORDER)


def test_order_body_error_fastcore(benchmark):
    validate = compile_validator(ORDER_SCHEMA)

    def run():
        try:
            validate(ORDER_NO_PRICE)
        except SchemaValidationError as exc:
            return exc
    assert str(run()) == "body must have required property 'price'"
    benchmark.group = "validate: /order body, first error"
    benchmark(run)


def test_order_body_error_fastjsonschema(benchmark):
    fjs = _fastjsonschema()
    validate = fjs.compile(ORDER_SCHEMA)

    def run():
        try:
            validate(ORDER_NO_PRICE)
        except fjs.JsonSchemaValueException as exc:
            return exc
    assert run() is not None
    benchmark.group = "validate: /order body, first error"
    benchmark(run)


def test_querystring_coercion(benchmark):
    validate_query = compile_validator(QUERY_SCHEMA, part="querystring")
    validate_params = compile_validator(PARAMS_SCHEMA, part="params")

    def run():
        return validate_params(dict(PARAMS)), validate_query(dict(QUERY))
    assert run() == ({"id": 42}, {"fields": "name", "active": True, "ids": [42], "limit": 20})
    benchmark.group = "validate: querystring coercion"
    benchmark(run)


def test_querystring_copy_only(benchmark):
    benchmark.group = "validate: querystring coercion"
    benchmark(lambda: (dict(PARAMS), dict(QUERY)))
