"""The official JSON-Schema-Test-Suite (draft-07) against fastcore's validator.

Where the suite comes from: the ``jsonschema`` source distribution on PyPI ships
the suite under ``json/`` (tests and remotes). The pinned sdist is fetched once
with ``pip download`` into ``.cache/jsonschema-4.26.0/`` at the repository root
(``tests.external.fetch_sdist``); later runs reuse it. ``JSON_SCHEMA_TEST_SUITE=/path``
(a directory holding ``tests/draft7`` and ``remotes``, e.g. a checkout of the
suite or Debian's ``/usr/share/json-schema-test-suite``) overrides the fetch.

The validator runs with coercion, defaults and removal of additional
properties off (those are Fastify extensions that change the data). Remote
references (``http://localhost:1234/...``) are served from the suite's
``remotes`` folder through a :class:`SchemaStore`, which is how ``add_schema``
works; cases that need the draft-07 meta-schema itself are skipped.

Each file counts as one row (a keyword, or ``format: <name>`` for the optional
format files); ``test_suite_pass_rates`` prints the table and fails when a row
drops below its floor in ``FLOORS``.
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from fastcore.schemas import SchemaStore
from tests import external
from fastcore.validation import compile_validator
from fastcore.errors import FastcoreError, SchemaValidationError

SDIST = ("jsonschema", "4.26.0")

# Suite file (relative to tests/draft7) -> row name; rows are keywords fastcore supports.
ROWS = {
    "additionalItems.json": "additionalItems", "additionalProperties.json": "additionalProperties",
    "allOf.json": "allOf", "anyOf.json": "anyOf", "boolean_schema.json": "boolean schemas",
    "const.json": "const", "contains.json": "contains", "default.json": "default",
    "dependencies.json": "dependencies", "enum.json": "enum",
    "exclusiveMaximum.json": "exclusiveMaximum", "exclusiveMinimum.json": "exclusiveMinimum",
    "format.json": "format", "if-then-else.json": "if/then/else",
    "infinite-loop-detection.json": "$ref", "items.json": "items",
    "maxItems.json": "maxItems", "maxLength.json": "maxLength",
    "maxProperties.json": "maxProperties", "maximum.json": "maximum",
    "minItems.json": "minItems", "minLength.json": "minLength",
    "minProperties.json": "minProperties", "minimum.json": "minimum",
    "multipleOf.json": "multipleOf", "not.json": "not", "oneOf.json": "oneOf",
    "pattern.json": "pattern", "patternProperties.json": "patternProperties",
    "properties.json": "properties", "propertyNames.json": "propertyNames",
    "ref.json": "$ref", "refRemote.json": "$ref (remote)", "required.json": "required",
    "type.json": "type", "uniqueItems.json": "uniqueItems",
    "optional/bignum.json": "bignum (optional)",
    "optional/float-overflow.json": "multipleOf",
    "optional/ecmascript-regex.json": "pattern: ECMA-262 (optional)",
    "optional/non-bmp-regex.json": "pattern: ECMA-262 (optional)",
    **{"optional/format/%s.json" % name: "format: " + name
       for name in ("date-time", "date", "time", "email", "uri", "ipv4", "ipv6", "hostname")},
}

# Files not run, and why (everything else in the suite is listed in ROWS).
SKIPPED_FILES = {
    "definitions.json": "validates a schema against the draft-07 meta-schema (not bundled)",
    "optional/content.json": "contentMediaType/contentEncoding are annotations here",
    "optional/cross-draft.json": "other drafts' meta-schemas",
    "optional/id.json": "$id inside enum/const: covered by ref.json",
    "optional/unknownKeyword.json": "$id inside unknown keywords",
    "optional/format/idn-email.json": "format not supported",
    "optional/format/idn-hostname.json": "format not supported",
    "optional/format/iri.json": "format not supported",
    "optional/format/iri-reference.json": "format not supported",
    "optional/format/json-pointer.json": "format not supported",
    "optional/format/regex.json": "format not supported",
    "optional/format/relative-json-pointer.json": "format not supported",
    "optional/format/uri-reference.json": "format not supported",
    "optional/format/uri-template.json": "format not supported",
    "optional/format/unknown.json": "format not supported",
}
META_SCHEMA = "http://json-schema.org/draft-07/schema"

# Cases where fastcore follows Ajv (Fastify's validator) rather than the suite.
KNOWN_DEVIATIONS = {
    # Ajv applies keywords beside $ref (draft 2019-09 behaviour) in every draft.
    "ref.json: ref overrides any sibling keywords / ref valid, maxItems ignored",
}

# Lowest pass rate (%) each row may reach; set to what the validator achieves.
FLOORS = {
    "additionalItems": 100, "additionalProperties": 100, "allOf": 100, "anyOf": 100,
    "boolean schemas": 100, "const": 100, "contains": 100, "default": 100,
    "dependencies": 100, "enum": 100, "exclusiveMaximum": 100, "exclusiveMinimum": 100,
    "format": 100, "if/then/else": 100, "items": 100, "maxItems": 100, "maxLength": 100,
    "maxProperties": 100, "maximum": 100, "minItems": 100, "minLength": 100,
    "minProperties": 100, "minimum": 100, "multipleOf": 100, "not": 100, "oneOf": 100,
    "pattern": 100, "patternProperties": 100, "properties": 100, "propertyNames": 100,
    "$ref": 98.7, "$ref (remote)": 100, "required": 100, "type": 100, "uniqueItems": 100,
    "bignum (optional)": 100, "pattern: ECMA-262 (optional)": 100,
    "format: date-time": 100, "format: date": 100, "format: time": 100,
    "format: email": 100, "format: uri": 100, "format: ipv4": 100, "format: ipv6": 100,
    "format: hostname": 100,
}


@pytest.fixture(scope="module")
def suite_dir() -> Path:
    given = os.environ.get("JSON_SCHEMA_TEST_SUITE")
    return Path(given) if given else external.fetch_sdist(*SDIST, "json")


def _remote_store(suite: Path) -> SchemaStore:
    """The suite's remotes, served as if fetched from http://localhost:1234/."""
    store = SchemaStore()
    other_drafts = {"draft3", "draft4", "draft6", "draft2019-09", "draft2020-12", "draft-next"}
    remotes = suite / "remotes"
    for path in sorted(remotes.rglob("*.json")):
        relative = path.relative_to(remotes)
        if relative.parts[0] in other_drafts:
            continue
        schema = json.loads(path.read_text())
        if isinstance(schema, dict):
            store.add(dict(schema, **{"$id": "http://localhost:1234/" + relative.as_posix()}))
    return store


def _needs_meta_schema(schema) -> bool:
    return META_SCHEMA in json.dumps(schema)


def _run_case(case: dict, store: SchemaStore) -> list[tuple[str, bool, str]]:
    """[(test description, passed, detail)] for one case of a suite file."""
    try:
        validate = compile_validator(copy.deepcopy(case["schema"]), store, coerce_types=False,
                                     use_defaults=False, remove_additional=False)
    except (ValueError, FastcoreError) as exc:
        return [(t["description"], False, "compile: %s" % exc) for t in case["tests"]]
    out = []
    for test in case["tests"]:
        try:
            validate(copy.deepcopy(test["data"]))
            valid, detail = True, ""
        except SchemaValidationError as exc:
            valid, detail = False, str(exc)
        out.append((test["description"], valid == test["valid"], detail))
    return out


@pytest.fixture(scope="module")
def results(suite_dir: Path) -> dict[str, list[tuple[str, bool, str]]]:
    store = _remote_store(suite_dir)
    rows: dict[str, list] = {}
    for filename, row in ROWS.items():
        for case in json.loads((suite_dir / "tests" / "draft7" / filename).read_text()):
            if _needs_meta_schema(case["schema"]):
                continue
            label = "%s: %s" % (filename, case["description"])
            rows.setdefault(row, []).extend(("%s / %s" % (label, desc), ok, detail)
                                            for desc, ok, detail in _run_case(case, store))
    return rows


def test_suite_every_file_is_run_or_skipped_with_a_reason(suite_dir: Path):
    draft7 = suite_dir / "tests" / "draft7"
    files = {p.relative_to(draft7).as_posix() for p in draft7.rglob("*.json")}
    assert files == set(ROWS) | set(SKIPPED_FILES)


def test_suite_pass_rates(results, capsys):
    lines = ["", "%-32s %7s %7s %7s" % ("keyword", "passed", "total", "rate")]
    below = []
    for row in sorted(results):
        outcomes = results[row]
        passed = sum(ok for _, ok, _ in outcomes)
        rate = 100.0 * passed / len(outcomes)
        lines.append("%-32s %7d %7d %6.1f%%" % (row, passed, len(outcomes), rate))
        if rate < FLOORS[row]:
            below.append("%s: %.1f%% < %d%%" % (row, rate, FLOORS[row]))
    total = sum(len(v) for v in results.values())
    passed = sum(ok for v in results.values() for _, ok, _ in v)
    lines.append("%-32s %7d %7d %6.1f%%" % ("all", passed, total, 100.0 * passed / total))
    lines.append("skipped files: " + ", ".join(sorted(SKIPPED_FILES)))
    failures = [" FAIL %s %s" % (name, detail) for v in results.values()
                for name, ok, detail in v if not ok]
    with capsys.disabled():
        print("\n".join(lines + failures))
    assert not below, "pass rate below floor: " + "; ".join(below)


def test_suite_failures_are_only_the_known_deviations(results):
    failing = {name for v in results.values() for name, ok, _ in v if not ok}
    assert failing == KNOWN_DEVIATIONS
