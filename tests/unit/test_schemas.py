"""fastcore.schemas: the encapsulated schema store and $ref resolution."""
from __future__ import annotations

import re

import pytest

from fastcore.errors import (SchemaDuplicateError, SchemaMissingIdError,
                             SchemaRefNotFoundError)
from fastcore.schemas import Resolver, SchemaStore, resolve_uri, walk_subschemas

PRODUCT = {
    "$id": "Product",
    "type": "object",
    "properties": {"name": {"type": "string"}, "price": {"$ref": "#/definitions/money"}},
    "definitions": {"money": {"type": "number", "minimum": 0}},
}


def test_store_add_get_all():
    store = SchemaStore()
    store.add(PRODUCT)
    assert store.get("Product") is PRODUCT
    assert store.get("Nope") is None
    assert store.all() == {"Product": PRODUCT}
    assert "Product" in store and len(store) == 1


def test_store_add_without_id_raises_missing_id():
    with pytest.raises(SchemaMissingIdError) as info:
        SchemaStore().add({"type": "string"})
    assert info.value.code == "FC_ERR_SCHEMA_MISSING_ID"
    with pytest.raises(SchemaMissingIdError):
        SchemaStore().add(True)


def test_store_duplicate_id_raises():
    store = SchemaStore()
    store.add({"$id": "A"})
    with pytest.raises(SchemaDuplicateError, match="'A'") as info:
        store.add({"$id": "A", "type": "string"})
    assert info.value.code == "FC_ERR_SCHEMA_DUPLICATE"


def test_store_child_sees_parent_schemas_but_not_the_reverse():
    parent = SchemaStore()
    parent.add({"$id": "A"})
    child = parent.child()
    child.add({"$id": "B"})
    assert child.get("A") == {"$id": "A"}
    assert parent.get("B") is None
    assert list(child.all()) == ["A", "B"]
    assert parent.all() == {"A": {"$id": "A"}}
    sibling = parent.child()
    sibling.add({"$id": "B", "title": "another"})  # siblings are independent
    assert sibling.get("B")["title"] == "another"


def test_store_child_sees_schemas_added_to_parent_later():
    parent = SchemaStore()
    child = parent.child()
    parent.add({"$id": "Late", "type": "integer"})
    assert child.resolve("Late#") == ({"$id": "Late", "type": "integer"}, "Late")


def test_store_child_cannot_shadow_an_ancestor_id():
    parent = SchemaStore()
    parent.add({"$id": "A"})
    with pytest.raises(SchemaDuplicateError):
        parent.child().add({"$id": "A"})


@pytest.mark.parametrize("ref, expected", [
    ("Product#", PRODUCT),
    ("Product", PRODUCT),
    ("Product#/properties/name", {"type": "string"}),
    ("Product#/definitions/money", {"type": "number", "minimum": 0}),
])
def test_resolve_store_ref_forms(ref, expected):
    store = SchemaStore().extend([PRODUCT])
    target, base = store.resolve(ref)
    assert target == expected
    assert base == "Product"


def test_resolve_local_ref_inside_a_stored_schema_uses_its_id_as_base():
    store = SchemaStore().extend([PRODUCT])
    money, base = store.resolve("#/definitions/money", base="Product")
    assert money == {"type": "number", "minimum": 0}


def test_resolve_local_ref_against_the_root_schema():
    root = {"type": "object", "definitions": {"x": {"type": "integer"}},
            "properties": {"a": {"$ref": "#/definitions/x"}}}
    resolver = SchemaStore().resolver(root)
    assert resolver.resolve("#/definitions/x") == ({"type": "integer"}, "")
    assert resolver.resolve("#") == (root, "")


def test_resolve_pointer_escapes_and_percent_encoding():
    root = {"definitions": {"a/b": {"const": 1}, "c~d": {"const": 2}, "e%f": {"const": 3},
                            "list": [{"const": 4}]}}
    resolver = Resolver(root)
    assert resolver.resolve("#/definitions/a~1b")[0] == {"const": 1}
    assert resolver.resolve("#/definitions/c~0d")[0] == {"const": 2}
    assert resolver.resolve("#/definitions/e%25f")[0] == {"const": 3}
    assert resolver.resolve("#/definitions/list/0")[0] == {"const": 4}


def test_resolve_missing_ref_names_the_ref():
    store = SchemaStore().extend([PRODUCT])
    for ref in ("Missing#", "Product#/properties/nope", "#/definitions/none", "Product#anchor"):
        with pytest.raises(SchemaRefNotFoundError, match=re.escape(ref)) as info:
            store.resolve(ref)
        assert info.value.code == "FC_ERR_SCHEMA_REF_NOT_FOUND"
        assert info.value.ref == ref


def test_resolve_embedded_ids_and_anchors():
    root = {
        "$id": "http://example.com/root.json",
        "definitions": {
            "A": {"$id": "#foo", "type": "integer"},
            "B": {"$id": "other.json",
                  "definitions": {"X": {"$id": "#bar", "type": "string"}, "Y": {"const": 1}}},
            "C": {"$id": "t/inner.json"},
        },
    }
    resolver = Resolver(root)
    assert resolver.resolve("#foo", "http://example.com/root.json")[0]["type"] == "integer"
    target, base = resolver.resolve("other.json#bar", "http://example.com/root.json")
    assert target["type"] == "string" and base == "http://example.com/other.json"
    target, base = resolver.resolve("http://example.com/other.json#/definitions/Y")
    assert target == {"const": 1} and base == "http://example.com/other.json"
    assert resolver.resolve("t/inner.json", "http://example.com/root.json")[1] == \
        "http://example.com/t/inner.json"


def test_id_beside_ref_is_ignored():
    root = {"definitions": {"A": {"$id": "x.json", "$ref": "#/definitions/B"}, "B": {}}}
    with pytest.raises(SchemaRefNotFoundError):
        Resolver(root).resolve("x.json")


def test_ids_inside_enum_are_not_identifiers():
    root = {"enum": [{"$id": "fake.json"}], "properties": {"a": {"const": {"$id": "f2.json"}}}}
    resolver = Resolver(root)
    for ref in ("fake.json", "f2.json"):
        with pytest.raises(SchemaRefNotFoundError):
            resolver.resolve(ref)


def test_plain_store_id_found_from_under_a_uri_base():
    store = SchemaStore().extend([PRODUCT])
    root = {"$id": "http://example.com/order.json", "properties": {"p": {"$ref": "Product#"}}}
    target, _ = store.resolver(root).resolve("Product#", "http://example.com/order.json")
    assert target is PRODUCT


def test_base_of_records_bases_of_subschemas():
    inner = {"type": "string"}
    root = {"$id": "http://x/a.json", "properties": {"s": {"$id": "sub/", "items": inner}}}
    assert Resolver(root).base_of(inner) == "http://x/sub/"
    assert Resolver(root).base_of({"unknown": 1}, "dflt") == "dflt"


# RFC 3986 §5.4: normal and abnormal examples.
RFC3986 = {
    "g:h": "g:h", "g": "http://a/b/c/g", "./g": "http://a/b/c/g", "g/": "http://a/b/c/g/",
    "/g": "http://a/g", "//g": "http://g", "?y": "http://a/b/c/d;p?y",
    "g?y": "http://a/b/c/g?y", "#s": "http://a/b/c/d;p?q#s", "g#s": "http://a/b/c/g#s",
    "g?y#s": "http://a/b/c/g?y#s", ";x": "http://a/b/c/;x", "": "http://a/b/c/d;p?q",
    ".": "http://a/b/c/", "./": "http://a/b/c/", "..": "http://a/b/", "../": "http://a/b/",
    "../g": "http://a/b/g", "../..": "http://a/", "../../g": "http://a/g",
    "../../../g": "http://a/g", "/./g": "http://a/g", "/../g": "http://a/g",
    "g.": "http://a/b/c/g.", ".g": "http://a/b/c/.g", "g..": "http://a/b/c/g..",
    "./../g": "http://a/b/g", "./g/.": "http://a/b/c/g/", "g/./h": "http://a/b/c/g/h",
    "g/../h": "http://a/b/c/h", "g;x=1/./y": "http://a/b/c/g;x=1/y",
    "g;x=1/../y": "http://a/b/c/y",
}


@pytest.mark.parametrize("ref", list(RFC3986))
def test_resolve_uri_rfc3986_examples(ref):
    assert resolve_uri("http://a/b/c/d;p?q", ref) == RFC3986[ref]


def test_resolve_uri_relative_bases_and_urns():
    assert resolve_uri("", "Product#") == "Product#"
    assert resolve_uri("Product", "#/definitions/a") == "Product#/definitions/a"
    assert resolve_uri("schemas/a.json", "b.json") == "schemas/b.json"
    assert resolve_uri("urn:uuid:deadbeef-1234", "#/x") == "urn:uuid:deadbeef-1234#/x"


def test_walk_subschemas_visits_schema_keywords_only():
    schema = {"properties": {"a": {"type": "string"}}, "items": [True, {"const": 1}],
              "dependencies": {"a": ["b"], "c": {"minProperties": 1}},
              "anyOf": [{"type": "null"}], "not": False, "enum": [{"type": "x"}]}
    subs = list(walk_subschemas(schema))
    assert {"type": "string"} in subs and {"minProperties": 1} in subs
    assert True in subs and False in subs and {"type": "null"} in subs
    assert ["b"] not in subs and {"type": "x"} not in subs
