"""Tests of the compiled router, fastcore._router.

Explicit cases for each rule, then a differential test: random route tables and
random paths, the router against a naive linear matcher written below.
"""
from __future__ import annotations

import ast
import itertools
import pathlib
import re
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcore import errors
from fastcore._router import Router


def make(routes, **options):
    router = Router(**options)
    for route in routes:
        method, pattern = route[0], route[1]
        constraints = route[2] if len(route) > 2 else None
        router.on(method, pattern, (method, pattern, repr(constraints)), constraints)
    return router


def store_of(result):
    assert result is not None
    return result[0][1]


# --- static, params, wildcard -------------------------------------------------------

def test_find_static_param_and_wildcard_routes():
    router = make([("GET", "/"), ("GET", "/users"), ("GET", "/users/:id"),
                   ("GET", "/users/:id/posts/:post_id"), ("GET", "/files/*")])
    assert router.find("GET", "/") == (("GET", "/", "None"), {})
    assert router.find("GET", "/users")[1] == {}
    assert router.find("GET", "/users/42") == (("GET", "/users/:id", "None"), {"id": "42"})
    assert router.find("GET", "/users/42/posts/7")[1] == {"id": "42", "post_id": "7"}
    assert router.find("GET", "/files/a/b/c.txt")[1] == {"*": "a/b/c.txt"}


def test_find_returns_none_on_miss_unknown_method_or_relative_path():
    router = make([("GET", "/users/:id")])
    assert router.find("GET", "/nope") is None
    assert router.find("GET", "/users") is None
    assert router.find("GET", "/users/1/more") is None
    assert router.find("POST", "/users/1") is None
    assert router.find("GET", "users/1") is None
    assert router.find("GET", "") is None
    assert router.find("OPTIONS", "*") is None


def test_find_param_does_not_match_an_empty_segment():
    router = make([("GET", "/users/:id")])
    assert router.find("GET", "/users/") is None


def test_find_method_is_case_sensitive_and_routes_are_per_method():
    router = make([("GET", "/x"), ("POST", "/x/:id")])
    assert router.find("get", "/x") is None
    assert router.find("POST", "/x") is None
    assert store_of(router.find("POST", "/x/1")) == "/x/:id"


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_find_static_beats_param_beats_wildcard_whatever_the_order(order):
    table = [("GET", "/a/b"), ("GET", "/a/:p"), ("GET", "/a/*")]
    router = make([table[k] for k in order])
    assert store_of(router.find("GET", "/a/b")) == "/a/b"
    assert router.find("GET", "/a/c")[1] == {"p": "c"}
    assert router.find("GET", "/a/c/d")[1] == {"*": "c/d"}


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_find_regex_and_multi_params_come_before_the_plain_param(order):
    table = [("GET", "/n/:id(^\\d+$)"), ("GET", "/n/:name"), ("GET", "/n/:a-:b"),
             ("GET", "/n/file.:ext")]
    router = make([table[k] for k in order])
    assert router.find("GET", "/n/12") == (("GET", "/n/:id(^\\d+$)", "None"), {"id": "12"})
    assert router.find("GET", "/n/abc") == (("GET", "/n/:name", "None"), {"name": "abc"})
    assert router.find("GET", "/n/x-y")[1] == {"a": "x", "b": "y"}
    # more static characters first: "file." (5) beats "-" (1)
    assert router.find("GET", "/n/file.tar-gz")[1] == {"ext": "tar-gz"}


def test_find_backtracks_to_param_when_the_static_branch_fails_deeper():
    router = make([("GET", "/a/b/c"), ("GET", "/a/:x/d"), ("GET", "/a/*")])
    assert store_of(router.find("GET", "/a/b/c")) == "/a/b/c"
    assert router.find("GET", "/a/b/d") == (("GET", "/a/:x/d", "None"), {"x": "b"})
    assert router.find("GET", "/a/b/e") == (("GET", "/a/*", "None"), {"*": "b/e"})


def test_find_backtracks_through_several_levels():
    router = make([("GET", "/:a/b/c/d"), ("GET", "/x/:b/c/e"), ("GET", "/x/y/:c/f"),
                   ("GET", "/x/y/z/g")])
    assert router.find("GET", "/x/b/c/d")[1] == {"a": "x"}
    assert router.find("GET", "/x/y/c/e")[1] == {"b": "y"}
    assert router.find("GET", "/x/y/z/f")[1] == {"c": "z"}
    assert store_of(router.find("GET", "/x/y/z/g")) == "/x/y/z/g"


def test_find_backtracking_pops_params_of_failed_branches():
    router = make([("GET", "/:a/:b/x"), ("GET", "/:c/*")])
    assert router.find("GET", "/1/2/y") == (("GET", "/:c/*", "None"), {"c": "1", "*": "2/y"})


# --- several params in one segment, regex params ---------------------------------------

def test_find_several_params_in_one_segment():
    router = make([("GET", "/flights/:from-:to"), ("GET", "/file.:ext"),
                   ("GET", "/near/:lat-:lng/radius/:r")])
    assert router.find("GET", "/flights/LHR-CDG")[1] == {"from": "LHR", "to": "CDG"}
    # the first param ends at the first separator, the last one takes the rest
    assert router.find("GET", "/flights/a-b-c")[1] == {"from": "a", "to": "b-c"}
    assert router.find("GET", "/file.tar.gz")[1] == {"ext": "tar.gz"}
    assert router.find("GET", "/near/1.5-2.5/radius/10")[1] == {
        "lat": "1.5", "lng": "2.5", "r": "10"}
    assert router.find("GET", "/flights/LHR") is None
    assert router.find("GET", "/flights/-CDG") is None


def test_find_plain_param_ends_at_the_first_following_text_without_backtracking():
    router = make([("GET", "/m/:a-:b(^\\d+$)"), ("GET", "/s/:a-:b-:c.x")],
                  max_param_length=100_000)
    assert router.find("GET", "/m/x-1")[1] == {"a": "x", "b": "1"}
    assert router.find("GET", "/m/x-y-1") is None
    assert router.find("GET", "/s/" + "-" * 20_000 + ".y") is None
    assert router.find("GET", "/s/" + "a-" * 10_000 + ".x")[1]["a"] == "a"


def test_find_regex_param_tests_the_whole_value():
    router = make([("GET", "/users/:id(^\\d+$)"), ("GET", "/tags/:tag([a-z]+)")])
    assert router.find("GET", "/users/123")[1] == {"id": "123"}
    assert router.find("GET", "/users/12a") is None
    assert router.find("GET", "/tags/abc")[1] == {"tag": "abc"}
    # anchors are implied: the regex must match the whole value
    assert router.find("GET", "/tags/abc1") is None


def test_find_several_regex_params_in_one_segment():
    router = make([("GET", "/at/:hour(^\\d{2})h:minute(^\\d{2})m")])
    assert router.find("GET", "/at/09h30m")[1] == {"hour": "09", "minute": "30"}
    assert router.find("GET", "/at/9h30m") is None


def test_find_regex_with_its_own_groups_and_parens():
    router = make([("GET", "/v/:ver(^(\\d+)\\.(\\d+)$)-:tail"),
                   ("GET", "/p/:x(^[()]+$)")])
    assert router.find("GET", "/v/1.2-beta")[1] == {"ver": "1.2", "tail": "beta"}
    assert router.find("GET", "/p/(())")[1] == {"x": "(())"}


def test_find_regex_may_hold_a_slash_without_splitting_the_pattern():
    router = make([("GET", "/d/:date(^\\d{4}/\\d{2}$)")])
    assert router.find("GET", "/d/2024%2F05")[1] == {"date": "2024/05"}
    assert router.find("GET", "/d/2024/05") is None


def test_find_double_colon_is_a_literal_colon():
    router = make([("POST", "/name::verb"), ("POST", "/:id::cancel")])
    assert store_of(router.find("POST", "/name:verb")) == "/name::verb"
    assert router.find("POST", "/42:cancel")[1] == {"id": "42"}


# --- wildcard ---------------------------------------------------------------------

def test_find_wildcard_value_may_be_empty_or_hold_slashes():
    router = make([("GET", "/static/*"), ("GET", "*")])
    assert router.find("GET", "/static/")[1] == {"*": ""}
    assert router.find("GET", "/static/css/site.css")[1] == {"*": "css/site.css"}
    assert router.find("GET", "/static")[1] == {"*": "static"}
    assert router.find("GET", "/")[1] == {"*": ""}
    assert router.find("GET", "/x/y")[1] == {"*": "x/y"}


def test_find_wildcard_without_root_catch_all_needs_the_slash():
    router = make([("GET", "/static/*")])
    assert router.find("GET", "/static") is None
    trailing = make([("GET", "/static/*")], ignore_trailing_slash=True)
    assert trailing.find("GET", "/static")[1] == {"*": ""}
    assert trailing.find("GET", "/static/")[1] == {"*": ""}


def test_find_wildcard_is_percent_decoded_and_not_length_limited():
    router = make([("GET", "/f/*")], max_param_length=5)
    assert router.find("GET", "/f/a%20b/%C3%A9t%C3%A9")[1] == {"*": "a b/été"}
    assert router.find("GET", "/f/" + "x" * 50)[1] == {"*": "x" * 50}


def test_find_wildcard_after_params():
    router = make([("GET", "/repos/:owner/:repo/contents/*")])
    assert router.find("GET", "/repos/o/r/contents/docs/a.md")[1] == {
        "owner": "o", "repo": "r", "*": "docs/a.md"}


# --- case, slashes -----------------------------------------------------------------

def test_find_is_case_sensitive_by_default():
    router = make([("GET", "/Users/:id")])
    assert router.find("GET", "/users/1") is None
    assert router.find("GET", "/Users/1") is not None


def test_find_case_insensitive_matches_static_parts_and_keeps_param_case():
    router = make([("GET", "/Users/:Id"), ("GET", "/static/Path"), ("GET", "/f/File.:Ext"),
                   ("GET", "/w/*")], case_sensitive=False)
    assert router.find("GET", "/USERS/AbC")[1] == {"Id": "AbC"}
    assert store_of(router.find("GET", "/STATIC/path")) == "/static/Path"
    assert store_of(router.find("GET", "/Static/P%41TH")) == "/static/Path"
    assert router.find("GET", "/F/fILE.TxT")[1] == {"Ext": "TxT"}
    assert router.find("GET", "/W/MiXeD/Case")[1] == {"*": "MiXeD/Case"}


def test_find_case_insensitive_registration_is_one_route():
    router = make([("GET", "/abc")], case_sensitive=False)
    with pytest.raises(errors.DuplicatedRouteError):
        router.on("GET", "/ABC", None)


def test_find_trailing_slash_is_significant_by_default():
    router = make([("GET", "/foo"), ("GET", "/bar/")])
    assert router.find("GET", "/foo/") is None
    assert router.find("GET", "/bar") is None
    assert router.find("GET", "/bar/") is not None


def test_find_ignore_trailing_slash_at_registration_and_lookup():
    router = make([("GET", "/foo/"), ("GET", "/bar"), ("GET", "/p/:id/")],
                  ignore_trailing_slash=True)
    for path in ("/foo", "/foo/", "/bar", "/bar/"):
        assert router.find("GET", path) is not None, path
    assert router.find("GET", "/p/1/")[1] == {"id": "1"}
    assert router.find("GET", "/") is None
    with pytest.raises(errors.DuplicatedRouteError):
        router.on("GET", "/foo", None)
    root = make([("GET", "/")], ignore_trailing_slash=True)
    assert root.find("GET", "/") is not None


def test_find_duplicate_slashes_are_significant_by_default():
    router = make([("GET", "/a/b")])
    assert router.find("GET", "/a//b") is None
    empty = make([("GET", "/a//b")])
    assert empty.find("GET", "/a//b") is not None
    assert empty.find("GET", "/a/b") is None


def test_find_ignore_duplicate_slashes_at_registration_and_lookup():
    router = make([("GET", "/a//b"), ("GET", "/p/:id"), ("GET", "/w/*")],
                  ignore_duplicate_slashes=True)
    assert router.find("GET", "/a/b") is not None
    assert router.find("GET", "//a///b") is not None
    assert router.find("GET", "/p//7")[1] == {"id": "7"}
    assert router.find("GET", "/w//x//y")[1] == {"*": "x/y"}
    with pytest.raises(errors.DuplicatedRouteError):
        router.on("GET", "//a/b", None)


def test_find_both_slash_options_together():
    router = make([("GET", "/a/b//")], ignore_duplicate_slashes=True,
                  ignore_trailing_slash=True)
    for path in ("/a/b", "/a/b/", "/a//b//", "//a/b"):
        assert router.find("GET", path) is not None, path


# --- percent-decoding --------------------------------------------------------------

def test_find_decodes_params():
    router = make([("GET", "/users/:name"), ("GET", "/q/:a-:b")])
    assert router.find("GET", "/users/J%C3%BCrgen%20M")[1] == {"name": "Jürgen M"}
    assert router.find("GET", "/users/%F0%9F%98%80")[1] == {"name": "\U0001F600"}
    assert router.find("GET", "/q/%41-%42")[1] == {"a": "A", "b": "B"}


def test_find_keeps_raw_non_ascii_characters_beside_an_escape():
    # A segment holding both a raw non-ASCII character and a %-escape is
    # decoded whole (the character re-encoded as UTF-8, then decoded with the
    # escaped bytes): nothing before the character may be lost.
    router = make([("GET", "/u/:id"), ("GET", "/s/ab%C3%A9"), ("POST", "/caf\xe9/*")])
    assert router.find("GET", "/u/ab\xe9cd%41")[1] == {"id": "ab\xe9cdA"}
    assert router.find("GET", "/u/%41\u20ac\U0001F600z")[1] == {"id": "A\u20ac\U0001F600z"}
    assert store_of(router.find("GET", "/s/a%62\xe9")) == "/s/ab%C3%A9"
    assert router.find("POST", "/caf\xe9/a/%31")[1] == {"*": "a/1"}


def test_find_encoded_slash_stays_in_its_segment():
    router = make([("GET", "/users/:name"), ("GET", "/users/:name/x")])
    assert router.find("GET", "/users/a%2Fb")[1] == {"name": "a/b"}
    assert router.find("GET", "/users/a%2fb/x")[1] == {"name": "a/b"}


def test_find_static_parts_match_the_decoded_path():
    router = make([("GET", "/café"), ("GET", "/a b/:x"), ("GET", "/caf%C3%A9s")])
    assert store_of(router.find("GET", "/caf%C3%A9")) == "/café"
    assert store_of(router.find("GET", "/caf%c3%a9")) == "/café"
    assert router.find("GET", "/a%20b/1")[1] == {"x": "1"}
    assert store_of(router.find("GET", "/cafés")) == "/caf%C3%A9s"
    assert store_of(router.find("GET", "/caf%C3%A9s")) == "/caf%C3%A9s"
    assert router.find("GET", "/%61%20b/1") is not None


def test_find_encoded_slash_in_a_static_route_is_not_a_separator():
    router = make([("GET", "/a%2Fb"), ("GET", "/a/b")])
    assert store_of(router.find("GET", "/a%2Fb")) == "/a%2Fb"
    assert store_of(router.find("GET", "/a/b")) == "/a/b"


@pytest.mark.parametrize("path", [
    "/user/%E0%A4%A", "/user/%zz", "/user/%4", "/user/%", "/user/%C3", "/user/%ff",
    "/user/%C3%28", "/user/%ED%A0%80", "/%E0%A4%A/user", "/user/ok/%G1",
])
def test_find_bad_escape_raises_bad_url_with_the_path_as_received(path):
    router = make([("GET", "/user/:name"), ("GET", "/:a/user"), ("GET", "/user/ok/*")])
    with pytest.raises(errors.BadUrlError) as info:
        router.find("GET", path)
    assert str(info.value) == "'%s' is not a valid url component" % path
    assert info.value.code == "FC_ERR_BAD_URL"
    assert info.value.status_code == 400


def test_find_bad_escape_raises_whatever_route_would_match():
    router = make([("GET", "/static")])
    for method in ("GET", "DELETE"):
        with pytest.raises(errors.BadUrlError):
            router.find(method, "/nothing/%zz")


def test_find_bad_escape_message_uses_the_path_before_slash_rewriting():
    router = make([("GET", "/a/:b")], ignore_duplicate_slashes=True,
                  ignore_trailing_slash=True)
    with pytest.raises(errors.BadUrlError) as info:
        router.find("GET", "//a//%E0%A4%A/")
    assert str(info.value) == "'//a//%E0%A4%A/' is not a valid url component"


# --- max_param_length -----------------------------------------------------------------

def test_find_param_too_long_raises_414():
    router = make([("GET", "/u/:id"), ("GET", "/r/:id(^\\w+$)"), ("GET", "/m/:a-:b")],
                  max_param_length=10)
    assert router.find("GET", "/u/" + "x" * 10)[1] == {"id": "x" * 10}
    for path in ("/u/" + "x" * 11, "/r/" + "y" * 11, "/m/a-" + "z" * 11):
        with pytest.raises(errors.ParamTooLongError) as info:
            router.find("GET", path)
        assert info.value.code == "FC_ERR_PARAM_TOO_LONG"
        assert info.value.status_code == 414


def test_find_param_length_counts_decoded_characters():
    router = make([("GET", "/u/:id")], max_param_length=3)
    assert router.find("GET", "/u/%C3%A9%C3%A9%C3%A9")[1] == {"id": "ééé"}
    with pytest.raises(errors.ParamTooLongError):
        router.find("GET", "/u/%41%41%41%41")


def test_router_default_max_param_length_is_100():
    router = make([("GET", "/u/:id")])
    assert router.max_param_length == 100
    assert router.find("GET", "/u/" + "a" * 100) is not None
    with pytest.raises(errors.ParamTooLongError):
        router.find("GET", "/u/" + "a" * 101)
    with pytest.raises(ValueError):
        Router(max_param_length=0)


# --- duplicates and invalid patterns -----------------------------------------------------

@pytest.mark.parametrize("first, second", [
    ("/a", "/a"),
    ("/users/:id", "/users/:name"),
    ("/f/:a-:b", "/f/:x-:y"),
    ("/r/:id(^\\d+$)", "/r/:n(\\d+)"),
    ("/w/*", "/w/*"),
    ("/caf%C3%A9", "/café"),
])
def test_on_same_method_and_normalised_pattern_is_a_duplicate(first, second):
    router = make([("GET", first)])
    with pytest.raises(errors.DuplicatedRouteError) as info:
        router.on("GET", second, None)
    assert info.value.code == "FC_ERR_DUPLICATED_ROUTE"


def test_on_same_pattern_with_other_method_or_regex_is_not_a_duplicate():
    router = make([("GET", "/users/:id"), ("POST", "/users/:id"),
                   ("GET", "/users/:id(^\\d+$)"), ("GET", "/users/:id/"), ("GET", "/Users/:id")])
    assert len(router.routes()) == 5


def test_on_same_pattern_with_other_constraints_is_allowed_same_twice_is_not():
    router = make([("GET", "/"), ("GET", "/", {"version": "1.0.0"}),
                   ("GET", "/", {"version": "2.0.0"}), ("GET", "/", {"host": "a.io"}),
                   ("GET", "/", {"host": re.compile(r"\.a\.io$")}),
                   ("GET", "/", {"host": "a.io", "version": "1.0.0"})])
    for constraints in ({"version": "1.0.0"}, {"version": "1.0"}, {"host": "A.IO"},
                        {"host": re.compile(r"\.a\.io$")},
                        {"version": "1.0.0", "host": "a.io"}, {}, None):
        with pytest.raises(errors.DuplicatedRouteError):
            router.on("GET", "/", None, constraints)


@pytest.mark.parametrize("pattern", [
    "no-slash", "", "/a/*/b", "/a*", "/*a", "/a/:b*", "/:", "/:(\\d+)", "/x/:-:y",
    "/:id(^\\d+", "/:id(^\\d+$", "/:a:b", "/:a:b(\\d+)", "/:id/:id", "/:id([)", "/:id(*)",
    "/x/:a-*",
])
def test_on_malformed_pattern_raises_invalid_route(pattern):
    router = Router()
    with pytest.raises(errors.InvalidRouteError) as info:
        router.on("GET", pattern, None)
    assert info.value.code == "FC_ERR_INVALID_ROUTE"
    assert router.routes() == []


@pytest.mark.parametrize("constraints", [
    {"version": "1.x"}, {"version": "abc"}, {"version": 1}, {"version": "1.2.3.4"},
    {"version": "1.2.3-beta"}, {"host": 12}, {"host": ""}, {"accept": "json"},
])
def test_on_bad_constraints_raise_invalid_route(constraints):
    router = Router()
    with pytest.raises(errors.InvalidRouteError):
        router.on("GET", "/", None, constraints)
    assert not router.has_version_constraints and not router.has_host_constraints


def test_on_bad_static_escape_raises_invalid_route():
    with pytest.raises(errors.InvalidRouteError):
        Router().on("GET", "/a%zz", None)


def test_on_failed_registration_leaves_the_router_unchanged():
    router = make([("GET", "/a/:b")])
    with pytest.raises(errors.DuplicatedRouteError):
        router.on("GET", "/a/:c", "other")
    assert router.find("GET", "/a/1")[0] == ("GET", "/a/:b", "None")
    assert len(router.routes()) == 1


# --- version constraints ------------------------------------------------------------------

def test_version_highest_satisfying_version_wins():
    router = make([("GET", "/", {"version": "1.2.0"}), ("GET", "/", {"version": "1.10.1"}),
                   ("GET", "/", {"version": "1.2.3"}), ("GET", "/", {"version": "2.0.0"}),
                   ("GET", "/", {"version": "3.1"})])

    def version_for(accept):
        result = router.find("GET", "/", version=accept)
        return None if result is None else result[0][2]

    assert version_for("1.2.0") == repr({"version": "1.2.0"})
    assert version_for("1.2.x") == repr({"version": "1.2.3"})
    assert version_for("1.x") == repr({"version": "1.10.1"})
    assert version_for("1.x.x") == repr({"version": "1.10.1"})
    assert version_for("1") == repr({"version": "1.10.1"})
    assert version_for("1.2") == repr({"version": "1.2.3"})
    assert version_for("*") == repr({"version": "3.1"})
    assert version_for("x") == repr({"version": "3.1"})
    assert version_for("3.1.0") == repr({"version": "3.1"})
    assert version_for(" 2.x ") == repr({"version": "2.0.0"})
    for missing in ("1.3.x", "4", "2.0.1", "1.x.3", "garbage", "", "1.2.3.4", "v1"):
        assert version_for(missing) is None, missing


def test_version_routes_need_a_version_and_versions_skip_plain_routes():
    router = make([("GET", "/a"), ("GET", "/a", {"version": "1.0.0"}), ("GET", "/b")])
    assert router.has_version_constraints
    assert router.find("GET", "/a")[0][2] == "None"
    assert router.find("GET", "/a", version="1.x")[0][2] == repr({"version": "1.0.0"})
    assert router.find("GET", "/a", version="2.x") is None
    # once a route is versioned, a request naming a version only matches versioned routes
    assert router.find("GET", "/b", version="1.x") is None
    assert router.find("GET", "/b") is not None


def test_version_is_ignored_while_no_route_uses_it():
    router = make([("GET", "/a"), ("GET", "/b/:id")])
    assert not router.has_version_constraints
    assert router.find("GET", "/a", version="9.9.9") is not None
    assert router.find("GET", "/b/1", version="1.x")[1] == {"id": "1"}


def test_version_on_param_routes_with_distinct_param_names():
    router = make([("GET", "/u/:id", {"version": "1.0.0"}),
                   ("GET", "/u/:uid", {"version": "2.0.0"})])
    assert router.find("GET", "/u/5", version="1.x")[1] == {"id": "5"}
    assert router.find("GET", "/u/5", version="2.x")[1] == {"uid": "5"}


def test_version_mismatch_backtracks_to_another_branch():
    router = make([("GET", "/a/b", {"version": "1.0.0"}), ("GET", "/a/:p", {"version": "2.0.0"})])
    assert router.find("GET", "/a/b", version="2.x")[1] == {"p": "b"}
    assert router.find("GET", "/a/b", version="1.x")[1] == {}


# --- host constraints ---------------------------------------------------------------------

def test_host_exact_case_insensitive_and_unconstrained_fallback():
    router = make([("GET", "/"), ("GET", "/", {"host": "fastify.io"}),
                   ("GET", "/", {"host": "Example.com"})])
    assert router.has_host_constraints
    assert router.find("GET", "/")[0][2] == "None"
    assert router.find("GET", "/", host="something-else.io")[0][2] == "None"
    assert router.find("GET", "/", host="FASTIFY.io")[0][2] == repr({"host": "fastify.io"})
    assert router.find("GET", "/", host="example.com")[0][2] == repr({"host": "Example.com"})
    # the Host value is compared as given: a port is part of it
    assert router.find("GET", "/", host="fastify.io:8080")[0][2] == "None"


def test_host_regex_and_exact_beats_regex_first_regex_wins():
    first = re.compile(r".+\.fastify\.io$")
    second = re.compile(r"^auth\.")
    router = make([("GET", "/", {"host": first}), ("GET", "/", {"host": second}),
                   ("GET", "/", {"host": "auth.fastify.io"})])
    assert router.find("GET", "/", host="foo.fastify.io")[0][2] == repr({"host": first})
    assert router.find("GET", "/", host="AUTH.FASTIFY.IO")[0][2] == repr(
        {"host": "auth.fastify.io"})
    assert router.find("GET", "/", host="auth.example.com")[0][2] == repr({"host": second})
    assert router.find("GET", "/", host="auth.other.fastify.io")[0][2] == repr({"host": first})
    assert router.find("GET", "/", host="example.com") is None
    assert router.find("GET", "/") is None


def test_host_is_ignored_while_no_route_uses_it():
    router = make([("GET", "/a")])
    assert not router.has_host_constraints
    assert router.find("GET", "/a", host="anything") is not None


def test_host_mismatch_on_static_backtracks_to_param():
    router = make([("GET", "/a/b", {"host": "x.io"}), ("GET", "/a/:p")])
    assert router.find("GET", "/a/b", host="x.io")[1] == {}
    assert router.find("GET", "/a/b", host="y.io")[1] == {"p": "b"}
    assert router.find("GET", "/a/b")[1] == {"p": "b"}


# --- constraints together (find-my-way's rules) ------------------------------------------------

def test_constraints_all_must_match():
    router = make([("GET", "/", {"host": "fastify.io", "version": "1.1.0"}),
                   ("GET", "/", {"host": "fastify.io", "version": "2.1.0"})])
    assert router.find("GET", "/", host="fastify.io", version="1.x")[0][2].count("1.1.0")
    assert router.find("GET", "/", host="fastify.io", version="2.1.x")[0][2].count("2.1.0")
    assert router.find("GET", "/", host="fastify.io", version="3.x") is None
    assert router.find("GET", "/", host="other.io", version="1.x") is None
    assert router.find("GET", "/", host="fastify.io") is None


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_constraints_most_constrained_first_then_unconstrained(order):
    table = [("GET", "/", {"host": "fastify.io", "version": "1.0.0"}),
             ("GET", "/", {"host": "fastify.io"}),
             ("GET", "/", {})]
    router = make([table[k] for k in order])

    def which(**request):
        result = router.find("GET", "/", **request)
        return None if result is None else result[0][2]

    assert which(host="fastify.io", version="1.0.0") == repr(table[0][2])
    assert which(host="fastify.io") == repr(table[1][2])
    assert which(host="example.io") == repr({})
    assert which() == repr({})
    assert which(host="fastify.io", version="2.0.0") is None


def test_constraints_highest_version_among_routes_matching_the_host():
    router = make([("GET", "/", {"version": "1.1.0", "host": "a.io"}),
                   ("GET", "/", {"version": "1.0.0", "host": "b.io"})])
    assert router.find("GET", "/", host="b.io", version="1.x")[0][2].count("1.0.0")
    assert router.find("GET", "/", host="a.io", version="1.x")[0][2].count("1.1.0")


def test_constraints_static_fast_path_agrees_with_the_trie():
    router = make([("GET", "/s", {"host": "a.io"}), ("GET", "/:p")])
    assert router.find("GET", "/s", host="a.io")[1] == {}
    assert router.find("GET", "/s", host="b.io")[1] == {"p": "s"}


# --- custom strategies (SPEC §5) ---------------------------------------------------------

def test_custom_constraint_exact_match_and_unconstrained_fallback():
    router = make([("GET", "/", {"tenant": "a"}), ("GET", "/", {"tenant": "b"}), ("GET", "/")],
                  custom_constraints=("tenant",))
    assert router.custom_used == ("tenant",)
    assert store_of(router.find("GET", "/", custom={"tenant": "a"})) == "/"
    assert router.find("GET", "/", custom={"tenant": "a"})[0][2] == repr({"tenant": "a"})
    assert router.find("GET", "/", custom={"tenant": "b"})[0][2] == repr({"tenant": "b"})
    assert router.find("GET", "/", custom={"tenant": "c"})[0][2] == repr(None)
    assert router.find("GET", "/", custom={"tenant": None})[0][2] == repr(None)
    assert router.find("GET", "/")[0][2] == repr(None)


def test_custom_constraint_combines_with_host_and_backtracks():
    router = make([("GET", "/s", {"tenant": "a", "host": "x.io"}), ("GET", "/:p")],
                  custom_constraints=("tenant", "tier"))
    assert router.custom_used == ("tenant",)
    assert router.find("GET", "/s", host="x.io", custom={"tenant": "a"})[1] == {}
    assert router.find("GET", "/s", host="y.io", custom={"tenant": "a"})[1] == {"p": "s"}
    assert router.find("GET", "/s", host="x.io", custom={"tenant": "b"})[1] == {"p": "s"}


def test_custom_constraint_most_constrained_wins():
    router = make([("GET", "/x", {"tenant": "a"}), ("GET", "/x", {"tenant": "a", "tier": "gold"})],
                  custom_constraints=("tenant", "tier"))
    both = {"tenant": "a", "tier": "gold"}
    assert router.find("GET", "/x", custom=both)[0][2] == repr(both)
    assert router.find("GET", "/x", custom={"tenant": "a", "tier": "free"})[0][2] == \
        repr({"tenant": "a"})


@pytest.mark.parametrize("constraints, message", [
    ({"tenant": 1}, "must be a string"), ({"other": "a"}, "unknown constraint")])
def test_custom_constraint_values_are_strings_of_known_strategies(constraints, message):
    router = Router(custom_constraints=("tenant",))
    with pytest.raises(errors.InvalidRouteError, match=message):
        router.on("GET", "/", None, constraints)


def test_custom_constraints_are_part_of_the_duplicate_key():
    router = make([("GET", "/", {"tenant": "a"})], custom_constraints=("tenant",))
    router.on("GET", "/", None, {"tenant": "b"})
    with pytest.raises(errors.DuplicatedRouteError):
        router.on("GET", "/", None, {"tenant": "a"})
    assert router.has_route("GET", "/", {"tenant": "b"})


def test_custom_strategy_may_not_take_a_built_in_name():
    with pytest.raises(ValueError):
        Router(custom_constraints=("version",))


# --- introspection ------------------------------------------------------------------------

def test_has_route_uses_the_normalised_pattern_and_constraints():
    router = make([("GET", "/users/:id"), ("GET", "/v", {"version": "1.2.0"})],
                  ignore_trailing_slash=True)
    assert router.has_route("GET", "/users/:id")
    assert router.has_route("GET", "/users/:other/")
    assert not router.has_route("POST", "/users/:id")
    assert not router.has_route("GET", "/users")
    assert not router.has_route("GET", "/users/:id(^\\d+$)")
    assert router.has_route("GET", "/v", {"version": "1.2"})
    assert not router.has_route("GET", "/v")
    assert not router.has_route("GET", "/v", {"version": "1.3.0"})


def test_routes_lists_registrations_in_order():
    host = re.compile("x")
    router = Router()
    router.on("GET", "/b", 1)
    router.on("POST", "/a/:id", 2, {"host": host})
    router.on("GET", "/b", 3, {"version": "1.0.0"})
    assert router.routes() == [("GET", "/b", {}, 1), ("POST", "/a/:id", {"host": host}, 2),
                               ("GET", "/b", {"version": "1.0.0"}, 3)]
    router.routes()[0][2]["mutated"] = True
    assert router.routes()[0][2] == {}


def test_print_routes_draws_the_tree_with_methods_per_node():
    router = make([("GET", "/"), ("GET", "/users"), ("POST", "/users"),
                   ("GET", "/users/:id"), ("DELETE", "/users/:id"), ("GET", "/users/me"),
                   ("GET", "/users/:id/posts/:post_id(^\\d+$)"), ("GET", "/static/*"),
                   ("GET", "/v", {"version": "1.2.0"})])
    assert router.print_routes() == "\n".join([
        "├── / (GET)",
        "├── /static",
        "│   └── /* (GET)",
        "├── /users (GET, POST)",
        "│   ├── /me (GET)",
        "│   └── /:id (GET, DELETE)",
        "│       └── /posts",
        "│           └── /:post_id(^\\d+$) (GET)",
        "└── /v (GET [version=1.2.0])",
    ])
    assert Router().print_routes() == ""


def test_constraint_flags_start_false_and_are_read_only():
    router = Router()
    assert not router.has_version_constraints and not router.has_host_constraints
    router.on("GET", "/", None, {"host": "a.io"})
    assert router.has_host_constraints and not router.has_version_constraints
    with pytest.raises(AttributeError):
        router.has_host_constraints = False


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        Router(False)


def test_stub_declares_the_runtime_api():
    stub = pathlib.Path(__file__).parents[2] / "fastcore" / "_router.pyi"
    tree = ast.parse(stub.read_text())
    router = next(node for node in tree.body
                  if isinstance(node, ast.ClassDef) and node.name == "Router")
    declared = {node.name for node in router.body if isinstance(node, ast.FunctionDef)}
    declared |= {node.target.id for node in router.body if isinstance(node, ast.AnnAssign)}
    public = {name for name in dir(Router) if not name.startswith("_")}
    assert declared - {"__init__"} == public


# --- differential test: the router against a naive linear matcher ----------------------------
#
# Pattern segments in the random tables: static words, ":p" (whole segment),
# "ver:p" (3 static characters then a param), ":p-:q" (two params around "-"),
# "*" (last only), and "" (an empty segment: a trailing or doubled slash).

SEGMENT_KINDS = ["a", "b", "ver", ":p", "ver:p", ":p-:q", ""]
PATH_SEGMENTS = ["a", "b", "A", "%61", "ver", "ver1", "VER2", "x-y", "ver-1", "-", "x",
                 "", "%2F", "q%2Fr", "%C3%A9", "b-%2F"]


def naive_normalise(segments, options):
    segments = list(segments)
    if options["ignore_duplicate_slashes"]:
        segments = [s for k, s in enumerate(segments) if s != "" or k == len(segments) - 1]
    if options["ignore_trailing_slash"] and len(segments) > 1 and segments[-1] == "":
        segments.pop()
    return segments


def naive_fold(text, options):
    return text if options["case_sensitive"] else text.lower()


PARAM = re.compile(r"^:(p\d+)$")
PREFIXED = re.compile(r"^ver:(p\d+)$")
DASHED = re.compile(r"^:(p\d+)-:(q\d+)$")


def naive_key(method, pattern, options):
    """Param names and regexes aside, two routes with the same shape are one route."""
    segments = naive_normalise(pattern[1:].split("/"), options)
    shape = []
    for seg in segments:
        if seg == "*" or PARAM.match(seg) or PREFIXED.match(seg) or DASHED.match(seg):
            shape.append(("param", re.sub(r"[pq]\d+", "", seg)))
        else:
            shape.append(("static", naive_fold(seg, options)))
    return method, tuple(shape)


def naive_segment(pattern_seg, value, options):
    """-> (rank, params) when one pattern segment accepts one decoded path segment.

    Rank per segment: static (0), params with static text (1, minus the number
    of static characters), a whole-segment param (2), the wildcard (3).
    """
    whole, prefixed, dashed = (PARAM.match(pattern_seg), PREFIXED.match(pattern_seg),
                               DASHED.match(pattern_seg))
    if whole:
        return ((2, 0), {whole[1]: value}) if value else None
    if prefixed:
        if len(value) > 3 and naive_fold(value[:3], options) == naive_fold("ver", options):
            return (1, -3), {prefixed[1]: value[3:]}
        return None
    if dashed:
        # the first param ends at the first "-"; both must be non-empty
        cut = value.find("-")
        if cut < 1 or cut == len(value) - 1:
            return None
        return (1, -1), {dashed[1]: value[:cut], dashed[2]: value[cut + 1:]}
    if naive_fold(pattern_seg, options) == naive_fold(value, options):
        return (0, 0), {}
    return None


def naive_match(pattern, raw, options):
    """-> (rank, params) when ``pattern`` matches the raw path segments."""
    segments = naive_normalise(pattern[1:].split("/"), options)
    rank, params = [], {}
    for k, seg in enumerate(segments):
        if seg == "*":
            if k < len(raw):
                params["*"] = unquote("/".join(raw[k:]), errors="strict")
            elif k == len(raw) and options["ignore_trailing_slash"]:
                params["*"] = ""
            else:
                return None
            rank.append((3, 0))
            return tuple(rank), params
        if k >= len(raw):
            return None
        accepted = naive_segment(seg, unquote(raw[k], errors="strict"), options)
        if accepted is None:
            return None
        rank.append(accepted[0])
        params.update(accepted[1])
    if len(segments) != len(raw):
        return None
    return tuple(rank), params


def naive_find(table, method, path, options):
    """Try every route; the best is the smallest per-segment rank tuple."""
    if options["ignore_duplicate_slashes"]:
        path = re.sub("/+", "/", path)
    if options["ignore_trailing_slash"] and len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    raw = path[1:].split("/")
    best = None
    for route_method, pattern, store in table:
        if route_method != method:
            continue
        found = naive_match(pattern, raw, options)
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], store, found[1])
    return None if best is None else (best[1], best[2])


@st.composite
def route_patterns(draw):
    segments = draw(st.lists(st.sampled_from(SEGMENT_KINDS), min_size=0, max_size=4))
    if draw(st.booleans()):
        segments.append("*")
    if not segments:
        segments = [""]
    return "/" + "/".join(segments)


@st.composite
def request_paths(draw):
    segments = draw(st.lists(st.sampled_from(PATH_SEGMENTS), min_size=1, max_size=6))
    return "/" + "/".join(segments)


OPTIONS = st.fixed_dictionaries({
    "case_sensitive": st.booleans(),
    "ignore_trailing_slash": st.booleans(),
    "ignore_duplicate_slashes": st.booleans(),
})


def number_params(pattern):
    """Give every param a name that is unique in its pattern: p<segment>, q<segment>."""
    segments = pattern[1:].split("/")
    named = []
    for k, seg in enumerate(segments):
        seg = seg.replace(":p", ":p%d" % k).replace(":q", ":q%d" % k)
        named.append(seg)
    return "/" + "/".join(named)


@settings(max_examples=400, deadline=None)
@given(
    table=st.lists(st.tuples(st.sampled_from(["GET", "POST"]), route_patterns()),
                   min_size=1, max_size=14),
    paths=st.lists(request_paths(), min_size=1, max_size=12),
    options=OPTIONS,
)
def test_router_agrees_with_a_naive_linear_matcher(table, paths, options):
    router = Router(max_param_length=1000, **options)
    kept, seen = [], set()
    for number, (method, pattern) in enumerate(table):
        named = number_params(pattern)
        key = naive_key(method, named, options)
        if key in seen:
            with pytest.raises(errors.DuplicatedRouteError):
                router.on(method, named, number)
            continue
        seen.add(key)
        router.on(method, named, number)
        kept.append((method, named, number))
    for path in paths:
        for method in ("GET", "POST"):
            expected = naive_find(kept, method, path, options)
            assert router.find(method, path) == expected, (method, path, kept)
