"""fastcore.content_types: the encapsulated registry and Fastify's matching rules."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcore import errors
from fastcore.content_types import (JSON_PARSER, TEXT_PARSER, ContentTypeParsers, Parser,
                                    normalize_content_type)


def noop(request, body):
    return body


def other(request, body):
    return body


# -- normalize_content_type ----------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("application/json", ("application/json", "application/json")),
    ("  Application/JSON  ", ("application/json", "application/json")),
    ("text/html; charset=utf-8", ('text/html; charset="utf-8"', "text/html")),
    ('Text/HTML ;Charset="UTF-8"; q=1', ('text/html; charset="utf-8"; q="1"', "text/html")),
    ("text/plain;", ("text/plain", "text/plain")),
    ("application/vnd.api+json", ("application/vnd.api+json", "application/vnd.api+json")),
])
def test_normalize_content_type_valid(value, expected):
    assert normalize_content_type(value) == expected


@pytest.mark.parametrize("value", ["", "json", "/json", "application/", "a b/c", "text/(x)",
                                   "; charset=utf-8", "täxt/plain"])
def test_normalize_content_type_invalid(value):
    assert normalize_content_type(value) is None


# -- built-ins --------------------------------------------------------------------------

def test_root_has_the_builtins():
    reg = ContentTypeParsers()
    assert reg.only_builtins
    assert reg.has("application/json") and reg.has("text/plain")
    assert reg.match("application/json") is JSON_PARSER
    assert reg.match("text/plain") is TEXT_PARSER
    assert JSON_PARSER.builtin == "json" and JSON_PARSER.parse_as == "bytes"
    assert TEXT_PARSER.builtin == "text" and TEXT_PARSER.parse_as == "str"


@pytest.mark.parametrize("header", [
    "application/json; charset=utf-8", "APPLICATION/JSON", " application/json ",
    b"application/json", "application/json;charset=UTF-8"])
def test_builtin_json_matches_variants(header):
    assert ContentTypeParsers().match(header) is JSON_PARSER


@pytest.mark.parametrize("header", [
    "application/xml", "application/jsonx", "application/vnd.api+json", "text/html",
    "", None, "garbage", "application/", "text/plainx"])
def test_unsupported_types_have_no_parser(header):
    assert ContentTypeParsers().match(header) is None


def test_builtin_parser_functions():
    assert JSON_PARSER.fn(None, b'{"a":1}') == {"a": 1}
    with pytest.raises(errors.CtpEmptyJsonBodyError):
        JSON_PARSER.fn(None, b"")
    with pytest.raises(errors.CtpInvalidJsonError):
        JSON_PARSER.fn(None, b"{nope")
    assert TEXT_PARSER.fn(None, "héllo") == "héllo"


# -- add ---------------------------------------------------------------------------------

def test_add_string_parser_and_options():
    reg = ContentTypeParsers()
    reg.add("Application/XML", noop, parse_as="str", body_limit=10)
    parser = reg.match("application/xml; charset=utf-8")
    assert isinstance(parser, Parser)
    assert parser.fn is noop and parser.parse_as == "str" and parser.body_limit == 10
    assert parser.content_type == "application/xml" and parser.builtin is None
    assert parser.is_async is False
    assert not reg.only_builtins


def test_add_async_parser_is_flagged():
    async def parse(request, body):
        return body

    reg = ContentTypeParsers()
    reg.add("application/x", parse)
    assert reg.match("application/x").is_async is True


def test_add_list_registers_each_type():
    reg = ContentTypeParsers()
    reg.add(["text/xml", "application/xml"], noop)
    assert reg.match("text/xml").fn is noop
    assert reg.match("application/xml").fn is noop
    reg.add(("image/png", re.compile(r"^image/")), other)
    assert reg.match("image/png").fn is other and reg.match("image/gif").fn is other


def test_parser_with_parameters_matches_only_those_parameters():
    reg = ContentTypeParsers()
    reg.add("text/html; charset=utf-8", noop)
    assert reg.match("text/html; charset=UTF-8").fn is noop
    assert reg.match('text/html;charset="utf-8"').fn is noop
    assert reg.match("text/html") is None
    assert reg.match("text/html; charset=latin-1") is None


def test_exact_parameters_win_over_media_type():
    reg = ContentTypeParsers()
    reg.add("text/html", noop)
    reg.add("text/html; charset=latin-1", other)
    assert reg.match("text/html; charset=latin-1").fn is other
    assert reg.match("text/html; charset=utf-8").fn is noop


def test_regex_parsers_most_recent_first_and_after_strings():
    reg = ContentTypeParsers()
    reg.add(re.compile(r"^application/"), noop)
    reg.add(re.compile(r"\+xml"), other)
    reg.add("application/atom+xml", JSON_PARSER.fn)
    assert reg.match("application/atom+xml").fn is JSON_PARSER.fn
    assert reg.match("application/rss+xml").fn is other
    assert reg.match("application/pdf").fn is noop
    assert reg.match("application/json") is JSON_PARSER


def test_regex_is_tested_on_the_normalized_value():
    reg = ContentTypeParsers()
    reg.add(re.compile(r'^text/csv; charset="utf-8"$'), noop)
    assert reg.match("TEXT/CSV;charset=UTF-8").fn is noop


def test_catch_all_comes_last():
    reg = ContentTypeParsers()
    reg.add("*", other)
    reg.add(re.compile(r"^image/"), noop)
    assert reg.match("image/png").fn is noop
    assert reg.match("application/json") is JSON_PARSER
    assert reg.match("application/unknown").fn is other
    assert reg.match("not a media type").fn is other
    assert reg.match("").fn is other and reg.match(None).fn is other
    assert reg.match("*").fn is other


@pytest.mark.parametrize("content_type", [1, None, b"text/xml", object(), ["text/xml", 3]])
def test_add_invalid_type(content_type):
    with pytest.raises(errors.CtpInvalidTypeError) as info:
        ContentTypeParsers().add(content_type, noop)
    assert info.value.code == "FC_ERR_CTP_INVALID_TYPE"


@pytest.mark.parametrize("content_type", ["xml", "text/", "/xml", "a b/c"])
def test_add_string_that_is_not_a_media_type(content_type):
    with pytest.raises(errors.CtpInvalidTypeError):
        ContentTypeParsers().add(content_type, noop)


@pytest.mark.parametrize("content_type", ["", "   ", []])
def test_add_empty_type(content_type):
    with pytest.raises(errors.CtpEmptyTypeError) as info:
        ContentTypeParsers().add(content_type, noop)
    assert info.value.code == "FC_ERR_CTP_EMPTY_TYPE"


@pytest.mark.parametrize("fn", [None, "parse", 3])
def test_add_invalid_handler(fn):
    with pytest.raises(errors.CtpInvalidHandlerError) as info:
        ContentTypeParsers().add("text/xml", fn)
    assert info.value.code == "FC_ERR_CTP_INVALID_HANDLER"


@pytest.mark.parametrize("parse_as", ["buffer", "string", None, "json"])
def test_add_invalid_parse_as(parse_as):
    with pytest.raises(errors.CtpInvalidParseTypeError) as info:
        ContentTypeParsers().add("text/xml", noop, parse_as=parse_as)
    assert info.value.code == "FC_ERR_CTP_INVALID_PARSE_TYPE"


@pytest.mark.parametrize("limit", [0, -1, True, 1.5, "10"])
def test_add_invalid_body_limit(limit):
    with pytest.raises(errors.InvalidOptionError):
        ContentTypeParsers().add("text/xml", noop, body_limit=limit)


@pytest.mark.parametrize("first, second", [
    ("text/xml", "text/xml"), ("text/xml", " TEXT/XML "),
    ("text/xml; charset=utf-8", 'text/xml;charset="UTF-8"'),
    (re.compile("^a/"), re.compile("^a/")), ("*", "*")])
def test_add_same_type_twice_raises(first, second):
    reg = ContentTypeParsers()
    reg.add(first, noop)
    with pytest.raises(errors.CtpAlreadyPresentError) as info:
        reg.add(second, other)
    assert info.value.code == "FC_ERR_CTP_ALREADY_PRESENT"
    assert "already present" in str(info.value)


def test_add_same_regex_source_with_other_flags_is_distinct():
    reg = ContentTypeParsers()
    reg.add(re.compile("^a/"), noop)
    reg.add(re.compile("^a/", re.IGNORECASE), other)


def test_add_list_is_all_or_nothing():
    reg = ContentTypeParsers()
    reg.add("text/xml", noop)
    with pytest.raises(errors.CtpAlreadyPresentError):
        reg.add(["application/xml", "text/xml"], other)
    assert reg.match("application/xml") is None
    with pytest.raises(errors.CtpAlreadyPresentError):
        reg.add(["image/png", "image/png"], other)
    assert not reg.has("image/png")


def test_builtins_can_be_replaced_once():
    reg = ContentTypeParsers()
    reg.add("application/json", noop)
    reg.add("text/plain", other, parse_as="str")
    assert reg.match("application/json; charset=utf-8").fn is noop
    assert reg.match("text/plain").fn is other
    assert not reg.only_builtins
    with pytest.raises(errors.CtpAlreadyPresentError):
        reg.add("application/json", other)


# -- encapsulation --------------------------------------------------------------------------

def test_child_sees_parent_and_adds_invisibly():
    root = ContentTypeParsers()
    root.add("text/xml", noop)
    child = root.child()
    sibling = ContentTypeParsers(root)
    child.add("text/csv", other)
    assert child.match("text/xml").fn is noop
    assert child.match("text/csv").fn is other
    assert root.match("text/csv") is None and sibling.match("text/csv") is None
    assert not root.has("text/csv") and child.has("text/csv")


def test_child_sees_later_parent_additions():
    root = ContentTypeParsers()
    child = root.child()
    grandchild = child.child()
    assert grandchild.match("text/xml") is None
    root.add("text/xml", noop)
    assert grandchild.match("text/xml").fn is noop
    assert not grandchild.only_builtins


def test_child_cannot_add_an_inherited_custom_type_without_removing_it():
    root = ContentTypeParsers()
    root.add("text/xml", noop)
    child = root.child()
    with pytest.raises(errors.CtpAlreadyPresentError):
        child.add("text/xml", other)
    assert child.remove("text/xml") is True
    child.add("text/xml", other)
    assert child.match("text/xml").fn is other
    assert root.match("text/xml").fn is noop


def test_child_may_replace_a_builtin_invisibly():
    root = ContentTypeParsers()
    child = root.child()
    child.add("application/json", noop)
    assert child.match("application/json").fn is noop
    assert root.match("application/json") is JSON_PARSER
    assert root.only_builtins and not child.only_builtins


def test_child_regexes_are_tried_before_the_parents():
    root = ContentTypeParsers()
    root.add(re.compile(r"^image/"), noop)
    child = root.child()
    child.add(re.compile(r"^image/png"), other)
    assert child.match("image/png").fn is other
    assert child.match("image/gif").fn is noop
    assert root.match("image/png").fn is noop


def test_child_catch_all_overrides_only_in_child():
    root = ContentTypeParsers()
    child = root.child()
    child.add("*", other)
    assert child.match("x/y").fn is other and root.match("x/y") is None


# -- has / remove / remove_all -------------------------------------------------------------------

def test_has_by_normalized_string_regex_and_catch_all():
    reg = ContentTypeParsers()
    pattern = re.compile(r"^image/.*")
    reg.add(pattern, noop)
    reg.add("image/gif", noop)
    assert reg.has(" Image/GIF ") and reg.has(re.compile(r"^image/.*"))
    assert not reg.has(re.compile(r"^image/.+\+xml")) and not reg.has("image/png")
    assert not reg.has("*") and not reg.has("not a type")
    reg.add("*", noop)
    assert reg.has("*")
    with pytest.raises(errors.CtpInvalidTypeError):
        reg.has(3)


def test_remove_builtin_leaves_no_parser():
    reg = ContentTypeParsers()
    assert reg.remove("application/json") is True
    assert reg.match("application/json") is None
    assert not reg.has("application/json")
    assert not reg.only_builtins
    assert reg.remove("application/json") is False
    reg.add("application/json", noop)
    assert reg.match("application/json").fn is noop


def test_remove_in_child_hides_only_there():
    root = ContentTypeParsers()
    root.add(re.compile(r"^image/"), noop)
    root.add("*", noop)
    child = root.child()
    assert child.remove([re.compile(r"^image/"), "*", "text/plain"]) is True
    assert child.match("image/png") is None and child.match("text/plain") is None
    assert root.match("image/png").fn is noop and root.match("text/plain") is TEXT_PARSER


def test_remove_overridden_builtin_in_child_does_not_bring_the_builtin_back():
    root = ContentTypeParsers()
    child = root.child()
    child.add("application/json", noop)
    child.remove("application/json")
    assert child.match("application/json") is None


def test_remove_unknown_and_invalid():
    reg = ContentTypeParsers()
    assert reg.remove("text/xml") is False
    assert reg.remove("garbage") is False
    with pytest.raises(errors.CtpInvalidTypeError):
        reg.remove(None)


def test_remove_all_here_only():
    root = ContentTypeParsers()
    root.add("text/xml", noop)
    child = root.child()
    child.remove_all()
    for header in ("application/json", "text/plain", "text/xml", "x/y"):
        assert child.match(header) is None
    assert root.match("text/xml").fn is noop and root.match("application/json") is JSON_PARSER
    assert not child.only_builtins
    child.add("application/json", other)
    assert child.match("application/json").fn is other
    grandchild = child.child()
    assert grandchild.match("text/plain") is None
    assert grandchild.match("application/json").fn is other


# -- cache ------------------------------------------------------------------------------------

def test_match_cache_is_bounded_and_consistent():
    reg = ContentTypeParsers()
    reg.add(re.compile(r"^application/x-\d+$"), noop)
    for i in range(1000):
        assert reg.match("application/x-%d" % i).fn is noop
    assert len(reg._cache) <= 256
    assert reg.match("application/x-1").fn is noop


def test_match_cache_sees_changes_anywhere_up_the_tree():
    root = ContentTypeParsers()
    child = root.child()
    assert child.match("text/xml") is None
    root.add("text/xml", noop)
    assert child.match("text/xml").fn is noop
    root.remove("text/xml")
    assert child.match("text/xml") is None


def test_match_unhashable_value():
    assert ContentTypeParsers().match(bytearray(b"application/json")) is JSON_PARSER


def reference_match(registrations, header):
    """A naive reading of the rules: exact, media type, regexes newest first, '*'."""
    normalized = normalize_content_type(header) if header else None
    if normalized is None:
        return registrations.get("*")
    full, media_type = normalized
    strings = {k: v for k, v in registrations.items() if isinstance(k, str) and k != "*"}
    if full in strings:
        return strings[full]
    if media_type in strings:
        return strings[media_type]
    for key in reversed([k for k in registrations if isinstance(k, re.Pattern)]):
        if key.search(full):
            return registrations[key]
    return registrations.get("*")


_TYPES = st.sampled_from(["application/json", "text/plain", "text/xml", "image/png",
                          "application/atom+xml", "text/html; charset=utf-8", "*"])
_REGEXES = st.sampled_from([r"^image/", r"\+xml", r"^text/", r"charset"])
_HEADERS = st.one_of(
    st.sampled_from(["application/json", "TEXT/XML; charset=utf-8", "image/png", "image/gif",
                     "application/atom+xml", "text/html;charset=UTF-8", "text/html",
                     "bogus", "", "application/rss+xml; q=1"]),
    st.text(max_size=30))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_TYPES, _REGEXES.map(re.compile)), max_size=6, unique_by=str),
       st.lists(_HEADERS, min_size=1, max_size=8))
def test_match_agrees_with_a_naive_reference(types, headers):
    reg = ContentTypeParsers()
    registrations = {"application/json": JSON_PARSER, "text/plain": TEXT_PARSER}
    for i, content_type in enumerate(types):
        fn = (lambda i: lambda request, body: i)(i)
        reg.add(content_type, fn)
        if isinstance(content_type, re.Pattern) or content_type == "*":
            key = content_type
        else:
            key = normalize_content_type(content_type)[0]
        registrations[key] = next(p for p in _all_parsers(reg) if p.fn is fn)
    for header in headers:
        assert reg.match(header) is reference_match(registrations, header)
        assert reg.match(header) is reg.match(header)


def _all_parsers(reg):
    plan = reg._current_plan()
    out = list(plan.strings.values()) + [entry[2] for entry in plan.regexes]
    if plan.catch_all is not None:
        out.append(plan.catch_all)
    return out
