"""fastcore.plugins.swagger over real sockets (SPEC §15): a property-based
client (schemathesis) reads the served OpenAPI document and sends requests
generated from it, every answer must be documented and none a 5xx; and the
UI page, opened in headless Chromium, renders the operations from assets the
app serves itself."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

import fastcore
from bench.app import build_app
from fastcore.plugins import swagger
from tests.conftest import live_server
from tests.external import missing

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = 25           # per operation: the whole module runs in a few seconds

INT64 = {"minimum": -2 ** 63, "maximum": 2 ** 63 - 1}


def bound_user_ids(document: dict) -> dict:
    """The bench app's ``GET /users/:id`` writes the id back, and a JSON
    integer beyond 64 bits cannot be written (``FC_ERR_FAILED_SERIALIZATION``,
    SPEC §7) while its params schema accepts any integer: the document says
    which ids the route answers."""
    for parameter in document["paths"]["/users/{id}"]["get"]["parameters"]:
        if parameter["name"] == "id":
            parameter["schema"].update(INT64)
    return document


def bench_app() -> fastcore.App:
    app = build_app()
    app.register(swagger, openapi={"info": {"title": "Bench", "version": "1.0.0"}},
                 transform=bound_user_ids)
    return app


PRODUCT = {"$id": "Product", "type": "object", "required": ["id", "name"],
           "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 10 ** 9},
                          "name": {"type": "string"},
                          "note": {"type": "string", "nullable": True}}}
ORDER = {"$id": "Order", "type": "object", "required": ["product_id", "qty"],
         "properties": {"product_id": {"$ref": "Product#/properties/id"},
                        "qty": {"type": "integer", "minimum": 1, "maximum": 1000}}}


def shop_app() -> fastcore.App:
    """Every kind of path and parameter the document describes, answered as documented."""
    app = fastcore.App()
    app.add_schema(PRODUCT)
    app.add_schema(ORDER)
    app.register(swagger, openapi={"info": {"title": "Shop", "version": "1.0.0"}})
    app.get("/products/:id", lambda request, reply: {"id": request.params["id"], "name": "x",
                                                     "note": request.query.get("note")},
            schema={"params": {"type": "object", "properties": {
                        "id": {"$ref": "Product#/properties/id"}}},
                    "querystring": {"type": "object", "properties": {
                        "note": {"type": "string", "maxLength": 20}}},
                    "headers": {"type": "object", "required": ["x-tenant"],
                                "properties": {"x-tenant": {"type": "string", "minLength": 1}}},
                    "response": {200: {"$ref": "Product#"}}})

    def create(request, reply):
        reply.code(201)
        return request.body
    app.post("/orders", create, schema={"body": {"$ref": "Order#"},
                                        "response": {201: {"$ref": "Order#"}}})
    app.get("/ranges/:low(^\\d{1,6}$)-:high(^\\d{1,6}$)",
            lambda request, reply: {"low": int(request.params["low"])},
            schema={"response": {"2xx": {"type": "object", "required": ["low"],
                                         "properties": {"low": {"type": "integer"}}}}})
    app.get("/files/*", lambda request, reply: {"path": request.params["*"]},
            schema={"response": {200: {"type": "object", "properties": {
                "path": {"type": "string"}}}}})
    return app


def fuzz(server) -> tuple[Counter, dict]:
    """Requests per operation, and the failures schemathesis found, by operation."""
    schema = schemathesis.openapi.from_url(server.address + "/docs/json")
    calls: Counter = Counter()
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = "%s %s" % (operation.method.upper(), operation.path)

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            calls[label] += 1
            case.call_and_validate(checks=CHECKS, timeout=10)
        try:
            check()
        except Exception as exc:        # schemathesis' failure group, with curl lines
            failures[label] = str(exc)
    return calls, failures


@pytest.mark.parametrize("make_app, operations", [
    (bench_app, {"GET /json", "GET /prices", "POST /order", "GET /users/{id}"}),
    (shop_app, {"GET /products/{id}", "POST /orders", "GET /ranges/{low}-{high}",
                "GET /files/{*}"}),
], ids=["bench", "shop"])
def test_every_generated_request_gets_a_documented_answer_and_no_5xx(make_app, operations):
    with live_server(make_app()) as server:
        calls, failures = fuzz(server)
    assert not failures, "\n\n".join("%s:\n%s" % item for item in failures.items())
    assert set(calls) == operations and all(count > 0 for count in calls.values())


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("chromium not found on PATH (install the Debian package chromium)")
    return found


def render(binary: str, url: str) -> str:
    """The DOM of ``url`` once its scripts ran, from headless Chromium. Any host
    but this machine goes through a proxy that does not exist, so the page
    renders only if everything it needs comes from the app."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--user-data-dir=" + profile, "--proxy-server=http://127.0.0.1:9",
             "--virtual-time-budget=15000", "--dump-dom", url],
            capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("page", ["/docs", "/docs/"])
def test_the_ui_page_renders_the_operations_in_headless_chromium(page):
    binary = _chromium()
    with live_server(bench_app()) as server:
        dom = render(binary, server.address + page)
    assert 'id="swagger-ui"' in dom and "<title>Bench</title>" in dom
    # Swagger UI draws one .opblock per operation, named by method and path.
    blocks = re.findall(r'<div class="opblock opblock-(\w+)[^"]*" id="operations-[^"]*">', dom)
    assert sorted(blocks) == ["get", "get", "get", "post"], blocks
    paths = set(re.findall(r'data-path="([^"]+)"', dom))
    assert paths == {"/json", "/prices", "/order", "/users/{id}"}
