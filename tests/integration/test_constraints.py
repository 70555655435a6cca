"""Custom constraint strategies (SPEC §5): App(constraints={name: strategy})."""
from __future__ import annotations

import pytest

import fastcore
from fastcore import errors


class Tenant:
    """Derives the tenant from the x-tenant header (None when absent)."""

    def __init__(self) -> None:
        self.calls = 0

    def derive(self, request):
        self.calls += 1
        return request.headers.get("x-tenant")


def make_app(strategy=None):
    app = fastcore.App(constraints={"tenant": strategy or Tenant()})
    app.get("/home", lambda request, reply: "acme home", constraints={"tenant": "acme"})
    app.get("/home", lambda request, reply: "globex home", constraints={"tenant": "globex"})
    app.get("/home", lambda request, reply: "default home")
    app.get("/only-acme", lambda request, reply: "acme only", constraints={"tenant": "acme"})
    return app


@pytest.mark.parametrize("headers, body", [
    ({"x-tenant": "acme"}, b"acme home"), ({"x-tenant": "globex"}, b"globex home"),
    ({"x-tenant": "initech"}, b"default home"), ({}, b"default home")])
def test_route_is_chosen_by_the_derived_value(headers, body):
    r = make_app().inject_sync("GET", "/home", headers=headers)
    assert (r.status_code, r.body) == (200, body)


def test_route_with_the_constraint_only_matches_its_value():
    app = make_app()
    assert app.inject_sync("GET", "/only-acme", headers={"x-tenant": "acme"}).body == b"acme only"
    r = app.inject_sync("GET", "/only-acme", headers={"x-tenant": "globex"})
    assert r.status_code == 404 and r.json()["message"] == "Route GET:/only-acme not found"


def test_head_follows_the_get_route_of_the_same_value():
    r = make_app().inject_sync("HEAD", "/home", headers={"x-tenant": "acme"})
    assert r.status_code == 200 and r.headers["content-length"] == str(len(b"acme home"))


def test_derive_runs_only_when_a_route_uses_the_strategy():
    unused = Tenant()
    app = fastcore.App(constraints={"tenant": unused})
    app.get("/", lambda request, reply: "ok")
    assert app.inject_sync("GET", "/").body == b"ok"
    assert unused.calls == 0
    used = Tenant()
    app = make_app(used)
    app.inject_sync("GET", "/home")
    assert used.calls == 1


def test_derive_that_raises_is_a_500_and_the_app_keeps_serving():
    class Broken:
        def derive(self, request):
            if request.headers.get("x-break"):
                raise RuntimeError("derive failed")
            return None

    app = make_app(Broken())
    r = app.inject_sync("GET", "/home", headers={"x-break": "1"})
    assert r.status_code == 500 and r.json()["message"] == "Internal Server Error"
    assert app.inject_sync("GET", "/home").body == b"default home"


def test_unknown_constraint_name_is_refused_at_route():
    app = fastcore.App(constraints={"tenant": Tenant()})
    with pytest.raises(errors.InvalidRouteError, match="unknown constraint"):
        app.get("/x", lambda request, reply: "x", constraints={"region": "eu"})


class AsyncDerive:
    async def derive(self, request):
        return None


@pytest.mark.parametrize("value", [
    {"tenant": object()}, {"tenant": AsyncDerive()}, {"version": Tenant()},
    {"host": Tenant()}, {"": Tenant()}, ["tenant"]])
def test_invalid_constraints_option(value):
    with pytest.raises(errors.InvalidOptionError, match="constraints"):
        fastcore.App(constraints=value)
