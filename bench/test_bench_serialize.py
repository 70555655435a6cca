"""Serializer micro benchmarks (WORKLOAD.md "serialize").

Groups, each compared side by side in one run:

* ``serialize: /prices`` — route 2's 20-item payload: fastcore's compiled
  serializer (filters to the schema's properties, coerces), ``orjson.dumps``
  (no filtering), ``json.dumps`` (stdlib, compact separators) and msgspec
  encoding the same rows as Structs (skipped when msgspec is not installed).
* ``serialize: nested/large`` — ten order books of 2 x 100 levels with nested
  objects, arrays of strings and extra keys the schema drops (about 60 KB):
  compiled against ``orjson.dumps`` of the data as given.

Every case first checks that its bytes are orjson's for the same data.

    pytest bench/test_bench_serialize.py --benchmark-only
"""
from __future__ import annotations

import json

import orjson
import pytest

from fastcore._serialize import compile_serializer

# Route 2's payload and schema, exactly as the workload app serves them.
from bench.app import PRICES, PRICES_SCHEMA, SYMBOLS  # noqa: E402

LEVEL = {"type": "object", "properties": {
    "price": {"type": "number"}, "qty": {"type": "number"}, "orders": {"type": "integer"}}}
BOOKS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["symbol", "bids", "asks"],
        "properties": {
            "symbol": {"type": "string"},
            "seq": {"type": "integer"},
            "bids": {"type": "array", "items": {"$ref": "#/definitions/level"}},
            "asks": {"type": "array", "items": {"$ref": "#/definitions/level"}},
            "meta": {"type": "object", "properties": {
                "venue": {"type": "string"}, "flags": {"type": "array", "items": {"type": "string"}},
                "halted": {"type": "boolean"}, "note": {"type": ["string", "null"]}}},
        },
    },
    "definitions": {"level": LEVEL},
}


def _books():
    books = []
    for b in range(10):
        mid = 43250.5 + b * 17.25
        books.append({
            "symbol": SYMBOLS[b], "seq": 9_000_000 + b,
            "bids": [{"price": mid - i * 0.25, "qty": 0.125 * (i % 7 + 1), "orders": i % 5 + 1}
                     for i in range(100)],
            "asks": [{"price": mid + i * 0.25, "qty": 0.5 + i * 0.01, "orders": i % 3 + 1}
                     for i in range(100)],
            "meta": {"venue": "x", "flags": ["live", "l2", "snapshot"], "halted": False,
                     "note": None},
        })
    return books


BOOKS = _books()


def _msgspec_case():
    msgspec = pytest.importorskip("msgspec")

    class Price(msgspec.Struct):
        symbol: str
        bid: float
        ask: float
        ts: int
        venue: str

    rows = [Price(**price) for price in PRICES]
    return msgspec.json.Encoder().encode, rows


def _json_dumps(data):
    return json.dumps(data, separators=(",", ":")).encode()


PRICES_CASES = {
    "serialize: compiled": lambda: (compile_serializer(PRICES_SCHEMA), PRICES),
    "serialize: orjson.dumps": lambda: (orjson.dumps, PRICES),
    "serialize: json.dumps": lambda: (_json_dumps, PRICES),
    "serialize: msgspec Struct encode": _msgspec_case,
}


@pytest.mark.parametrize("case", list(PRICES_CASES))
def test_prices(benchmark, case):
    fn, data = PRICES_CASES[case]()
    assert fn(data) == orjson.dumps(PRICES)
    benchmark.group = "serialize: /prices"
    benchmark.extra_info["bytes"] = len(fn(data))
    benchmark(fn, data)


NESTED_CASES = {
    "serialize: nested/large, compiled": lambda: compile_serializer(BOOKS_SCHEMA),
    "serialize: nested/large, orjson.dumps": lambda: orjson.dumps,
}


@pytest.mark.parametrize("case", list(NESTED_CASES))
def test_nested_large(benchmark, case):
    fn = NESTED_CASES[case]()
    assert fn(BOOKS) == orjson.dumps(BOOKS)
    benchmark.group = "serialize: nested/large"
    benchmark.extra_info["bytes"] = len(fn(BOOKS))
    benchmark(fn, BOOKS)
