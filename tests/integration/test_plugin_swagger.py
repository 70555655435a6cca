"""fastcore.plugins.swagger through app.inject (SPEC §15): the OpenAPI 3.1
document built from the routes, the UI page and its assets."""
from __future__ import annotations

import asyncio
import re
from types import MappingProxyType

import orjson
import pytest
from openapi_spec_validator import validate

import fastcore
from bench.app import build_app
from fastcore.plugins import swagger
from tests.integration.helpers import ok, refused_at_register

INFO = {"title": "Shop", "version": "2.1.0"}

PRODUCT = {
    "$id": "Product",
    "type": "object",
    "required": ["id", "name"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "name": {"type": "string"},
        "note": {"type": "string", "nullable": True},
        "tags": {"type": "array", "items": {"$ref": "Tag#"}},
    },
}
TAG = {"$id": "Tag", "type": "string", "enum": ["new", "sale"]}
ORDER = {
    "$id": "Order",
    "type": "object",
    "required": ["product", "qty"],
    "properties": {
        "product": {"$ref": "Product#"},
        "product_id": {"$ref": "Product#/properties/id"},
        "qty": {"type": "integer", "minimum": 1},
    },
}
ERROR = {"type": "object", "properties": {"statusCode": {"type": "integer"},
                                          "message": {"type": "string"}}}


def rich_app(**options) -> fastcore.App:
    """An app using every route schema key the document reads."""
    app = fastcore.App()
    for schema in (TAG, PRODUCT, ORDER):
        app.add_schema(schema)
    app.register(swagger, openapi={"info": INFO}, **options)
    app.get("/products/:id", ok, schema={
        "summary": "One product", "description": "By its id.", "tags": ["products"],
        "operation_id": "getProduct",
        "params": {"type": "object", "properties": {"id": {"type": "integer"}}},
        "querystring": {"type": "object", "required": ["fields"],
                        "properties": {"fields": {"type": "string", "description": "which"},
                                       "limit": {"type": "integer", "maximum": 100}}},
        "headers": {"type": "object", "required": ["x-tenant"],
                    "properties": {"x-tenant": {"type": "string"}, "x-trace": {"type": "string"}}},
        "response": {200: {"$ref": "Product#"}, "4xx": ERROR, "default": ERROR},
    })
    app.post("/orders", ok, schema={
        "body": {"$ref": "Order#"}, "tags": ["orders"], "deprecated": True,
        "security": [{"bearer": []}],
        "response": {201: {"description": "Created", "$ref": "Order#"}, 204: {}},
    })
    app.delete("/orders/:order_id", ok, schema={"hide": True})
    app.get("/files/*", ok)
    app.get("/ranges/:low(^\\d+$)-:high", ok)
    app.get("/plain", ok)
    return app


def document(app) -> dict:
    response = app.inject_sync("GET", "/docs/json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def parameters(operation) -> dict:
    return {(p["in"], p["name"]): p for p in operation.get("parameters", [])}


# -- the document ----------------------------------------------------------------------

def test_the_document_is_openapi_3_1_and_passes_the_validator():
    doc = document(rich_app())
    assert doc["openapi"] == "3.1.0" and doc["info"] == INFO
    validate(doc)


def test_the_bench_app_document_passes_the_validator():
    app = build_app()
    app.register(swagger)
    doc = document(app)
    validate(doc)
    assert set(doc["paths"]) == {"/json", "/prices", "/order", "/users/{id}"}


def test_path_params_become_templates_and_are_always_required():
    doc = document(rich_app())
    operation = doc["paths"]["/products/{id}"]["get"]
    param = parameters(operation)[("path", "id")]
    assert param["required"] is True and param["schema"] == {"type": "integer"}


def test_several_params_in_a_segment_and_a_regex_param():
    ranges = document(rich_app())["paths"]["/ranges/{low}-{high}"]["get"]
    low, high = parameters(ranges)[("path", "low")], parameters(ranges)[("path", "high")]
    assert low["schema"]["pattern"] == "^(?:\\d+)$"
    assert re.match(low["schema"]["pattern"], "123") and not re.match(
        low["schema"]["pattern"], "12a")
    # A param without a schema is a non-empty string within max_param_length.
    assert high["schema"] == {"type": "string", "minLength": 1, "maxLength": 100}
    assert low["required"] and high["required"]


def test_the_wildcard_is_the_path_parameter_star():
    files = document(rich_app())["paths"]["/files/{*}"]["get"]
    assert parameters(files)[("path", "*")] == {
        "name": "*", "in": "path", "required": True, "schema": {"type": "string"}}


def test_querystring_and_headers_become_parameters_with_their_required_flags():
    operation = document(rich_app())["paths"]["/products/{id}"]["get"]
    params = parameters(operation)
    assert params[("query", "fields")] == {
        "name": "fields", "in": "query", "required": True,
        "schema": {"type": "string", "description": "which"}, "description": "which"}
    assert params[("query", "limit")]["required"] is False
    assert params[("query", "limit")]["schema"] == {"type": "integer", "maximum": 100}
    assert params[("header", "x-tenant")]["required"] is True
    assert params[("header", "x-trace")]["required"] is False


def test_route_keys_are_copied_onto_the_operation():
    doc = document(rich_app())
    get = doc["paths"]["/products/{id}"]["get"]
    assert (get["summary"], get["description"], get["tags"], get["operationId"]) == (
        "One product", "By its id.", ["products"], "getProduct")
    post = doc["paths"]["/orders"]["post"]
    assert post["deprecated"] is True and post["security"] == [{"bearer": []}]
    assert "deprecated" not in get and "summary" not in post


def test_body_becomes_a_required_json_request_body():
    post = document(rich_app())["paths"]["/orders"]["post"]
    assert post["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}}


def test_a_registered_content_type_parser_adds_its_type_to_the_request_body():
    app = fastcore.App()
    app.add_content_type_parser("application/x-www-form-urlencoded", lambda req, body: {})
    app.register(swagger, ui=False)
    body = {"type": "object", "properties": {"a": {"type": "string"}}}
    app.post("/form", ok, schema={"body": body})
    app.post("/text", ok, schema={"body": {"type": "string"}})
    doc = document(app)
    form = doc["paths"]["/form"]["post"]["requestBody"]["content"]
    assert list(form) == ["application/json", "application/x-www-form-urlencoded"]
    assert form["application/json"]["schema"] == body
    # text/plain is listed only for a body schema that allows a string.
    text = doc["paths"]["/text"]["post"]["requestBody"]["content"]
    assert list(text) == ["application/json", "text/plain",
                          "application/x-www-form-urlencoded"]
    validate(doc)


def test_responses_by_status_class_and_default():
    doc = document(rich_app())
    responses = doc["paths"]["/products/{id}"]["get"]["responses"]
    assert list(responses) == ["200", "4XX", "default"]
    assert responses["200"] == {"description": "OK", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Product"}}}}
    assert responses["4XX"]["description"] == "Client Error"
    assert responses["4XX"]["content"]["application/json"]["schema"] == ERROR
    assert responses["default"]["description"] == "Default Response"
    created = doc["paths"]["/orders"]["post"]["responses"]
    assert created["201"]["description"] == "Created"
    assert created["201"]["content"]["application/json"]["schema"] == {
        "description": "Created", "$ref": "#/components/schemas/Order"}
    assert created["204"] == {"description": "No Content"}


def test_a_route_without_response_schema_gets_a_default_response():
    doc = document(rich_app())
    assert doc["paths"]["/plain"]["get"] == {
        "responses": {"200": {"description": "Default Response"}}}


def test_hidden_routes_implicit_head_and_the_plugin_routes_are_not_listed():
    app = rich_app()
    assert app.inject_sync("HEAD", "/plain").status_code == 200   # HEAD is answered
    doc = document(app)
    assert "/orders/{order_id}" not in doc["paths"]
    assert all("head" not in item for item in doc["paths"].values())
    assert not any(path.startswith("/docs") for path in doc["paths"])


def test_a_head_route_declared_by_hand_is_listed():
    app = fastcore.App()
    app.register(swagger, ui=False)
    app.head("/ping", ok)
    app.get("/ping", ok)
    assert set(document(app)["paths"]["/ping"]) == {"get", "head"}


def test_shared_schemas_become_components_without_their_id():
    components = document(rich_app())["components"]["schemas"]
    assert list(components) == ["Tag", "Product", "Order"]
    assert components["Tag"] == {"type": "string", "enum": ["new", "sale"]}
    assert "$id" not in components["Product"]


def test_refs_are_rewritten_to_the_components_in_routes_and_shared_schemas():
    components = document(rich_app())["components"]["schemas"]
    order = components["Order"]["properties"]
    assert order["product"] == {"$ref": "#/components/schemas/Product"}
    assert order["product_id"] == {"$ref": "#/components/schemas/Product/properties/id"}
    assert components["Product"]["properties"]["tags"]["items"] == {
        "$ref": "#/components/schemas/Tag"}


def test_draft_07_nullable_and_tuple_items_become_2020_12():
    app = fastcore.App()
    app.register(swagger, ui=False)
    body = {"type": "object", "properties": {
        "note": {"type": "string", "nullable": True},
        "kind": {"enum": ["a", "b"], "type": "string", "nullable": True},
        "pair": {"type": "array", "items": [{"type": "string"}, {"type": "number"}],
                 "additionalItems": False}}}
    app.post("/x", ok, schema={"body": body})
    doc = document(app)
    props = doc["paths"]["/x"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]["properties"]
    assert props["note"] == {"type": ["string", "null"]}
    assert props["kind"] == {"enum": ["a", "b", None], "type": ["string", "null"]}
    assert props["pair"] == {"type": "array", "prefixItems": [{"type": "string"},
                                                              {"type": "number"}],
                             "items": False}
    assert body["properties"]["note"] == {"type": "string", "nullable": True}  # not changed
    validate(doc)


def test_schemas_of_an_encapsulated_context_are_components_too():
    app = fastcore.App()
    app.register(swagger, ui=False)

    async def inner(child, opts):
        child.add_schema({"$id": "Inner", "type": "object",
                          "properties": {"a": {"type": "integer"}}})
        child.get("/inner", ok, schema={"response": {200: {"$ref": "Inner#"}}})
    app.register(inner, prefix="/v1")
    doc = document(app)
    assert doc["components"]["schemas"]["Inner"]["properties"] == {"a": {"type": "integer"}}
    assert doc["paths"]["/v1/inner"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"] == {"$ref": "#/components/schemas/Inner"}
    validate(doc)


def test_a_param_part_given_as_a_ref_is_looked_up():
    app = fastcore.App()
    app.add_schema({"$id": "Paging", "type": "object", "required": ["page"],
                    "properties": {"page": {"type": "integer"}}})
    app.register(swagger, ui=False)
    app.get("/list", ok, schema={"querystring": {"$ref": "Paging#"}})
    params = parameters(document(app)["paths"]["/list"]["get"])
    assert params[("query", "page")] == {"name": "page", "in": "query", "required": True,
                                          "schema": {"type": "integer"}}


def test_a_route_with_several_methods_gets_unique_operation_ids():
    app = fastcore.App()
    app.register(swagger, ui=False)
    app.route(["GET", "POST"], "/both", ok, schema={"operation_id": "both"})
    item = document(app)["paths"]["/both"]
    assert (item["get"]["operationId"], item["post"]["operationId"]) == ("both", "both_post")


def test_websocket_only_routes_are_not_listed():
    app = fastcore.App()
    app.register(swagger, ui=False)

    async def echo(ws, request):
        return None
    app.get("/ws", echo, websocket=True)
    app.get("/http", ok)
    assert list(document(app)["paths"]) == ["/http"]


# -- what the plugin reads: the public route table and content types ----------------------

def test_route_definitions_list_each_declared_route_and_method_read_only():
    app = fastcore.App()
    app.route(["GET", "POST"], "/both", ok, schema={"summary": "s"}, config={"k": 1})

    async def child(ctx, opts):
        ctx.get("/inner", ok)
    app.register(child, prefix="/v1")
    asyncio.run(app.ready())
    routes = app.get_route_definitions()
    assert [(method, url) for method, url, _, _ in routes] == [
        ("GET", "/both"), ("POST", "/both"), ("GET", "/v1/inner")]
    _, _, options, context = routes[0]
    assert options["schema"] == {"summary": "s"} and options["config"] == {"k": 1}
    assert isinstance(options, MappingProxyType) and context is app
    with pytest.raises(TypeError):
        options["schema"] = None
    assert routes[2][3] is not app and routes[2][3].prefix == "/v1"
    # ready() added HEAD /both and HEAD /v1/inner to the router; they were not declared.
    assert ("HEAD", "/both", {}) in app.routes


def test_get_content_types_lists_the_parsed_media_types_of_a_context():
    app = fastcore.App()
    assert app.get_content_types() == ("application/json", "text/plain")

    async def child(ctx, opts):
        ctx.add_content_type_parser("application/xml", lambda request, body: body)
        ctx.add_content_type_parser(re.compile("^image/"), lambda request, body: body)
        seen.append(ctx.get_content_types())
    seen = []
    app.register(child)
    asyncio.run(app.ready())
    assert seen == [("application/json", "text/plain", "application/xml")]
    assert app.get_content_types() == ("application/json", "text/plain")


# -- options -----------------------------------------------------------------------------

def test_the_openapi_option_is_merged_into_the_document():
    app = fastcore.App()
    app.add_schema({"$id": "Thing", "type": "object"})
    app.register(swagger, ui=False, openapi={
        "info": INFO,
        "servers": [{"url": "https://api.example"}],
        "tags": [{"name": "things", "description": "All things"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Extra": {"type": "string"}}},
        "externalDocs": {"url": "https://docs.example"},
    })
    app.get("/things", ok, schema={"tags": ["things"]})
    doc = document(app)
    assert doc["servers"] == [{"url": "https://api.example"}]
    assert doc["tags"] == [{"name": "things", "description": "All things"}]
    assert doc["security"] == [{"bearer": []}]
    assert doc["externalDocs"] == {"url": "https://docs.example"}
    assert doc["components"]["securitySchemes"] == {"bearer": {"type": "http",
                                                               "scheme": "bearer"}}
    assert set(doc["components"]["schemas"]) == {"Thing", "Extra"}
    validate(doc)


def test_transform_is_applied_last():
    seen = []

    def transform(doc):
        seen.append(sorted(doc["paths"]))
        doc["info"]["x-built-by"] = "transform"
        return doc
    app = rich_app(transform=transform)
    doc = document(app)
    assert doc["info"]["x-built-by"] == "transform"
    assert seen == [sorted(doc["paths"])] and "/plain" in seen[0]


def test_app_swagger_returns_the_served_document():
    app = rich_app()
    served = document(app)
    returned = app.swagger()
    assert returned == served
    returned["info"]["title"] = "changed"       # a copy: the served one stays
    assert document(app)["info"]["title"] == "Shop"


def test_app_swagger_before_ready_lists_the_routes_declared_so_far():
    app = fastcore.App()
    app.register(swagger, ui=False)
    app.get("/early", ok)
    asyncio.run(app.after())
    assert list(app.swagger()["paths"]) == ["/early"]


def test_a_transform_that_returns_no_document_fails_ready():
    app = fastcore.App()
    app.register(swagger, ui=False, transform=lambda doc: None)
    with pytest.raises(TypeError, match="transform must return the document"):
        app.inject_sync("GET", "/docs/json")


@pytest.mark.parametrize("options, message", [
    ({"openapi": []}, "openapi is a dict"),
    ({"openapi": {"openapi": "3.0.3"}}, "is a 3.1.x version"),
    ({"openapi": {"info": "Shop"}}, "openapi['info'] is a dict"),
    ({"openapi": {"info": {"title": "Shop"}}}, "openapi['info'] needs a str 'version'"),
    ({"openapi": {"servers": {"url": "/"}}}, "openapi['servers'] is a list of dicts"),
    ({"openapi": {"tags": ["a"]}}, "openapi['tags'] is a list of dicts"),
    ({"openapi": {"components": {"schemas": []}}}, "openapi['components']['schemas']"),
    ({"route_prefix": "docs"}, "route_prefix is a path starting with '/'"),
    ({"route_prefix": "/docs/:id"}, "route_prefix is a plain path"),
    ({"ui": "yes"}, "ui is a bool"),
    ({"transform": {"a": 1}}, "transform is a function"),
    ({"prefixx": "/docs"}, "unknown option(s) prefixx"),
])
def test_bad_options_are_refused_at_register(options, message):
    refused_at_register(swagger, options, message)


# -- the routes the plugin serves ----------------------------------------------------------

def test_the_route_prefix_moves_every_route():
    app = rich_app(route_prefix="/api-docs/")
    assert app.inject_sync("GET", "/api-docs/json").json()["info"] == INFO
    assert app.inject_sync("GET", "/api-docs").status_code == 200
    assert app.inject_sync("GET", "/api-docs/static/swagger-ui.css").status_code == 200
    assert app.inject_sync("GET", "/docs/json").status_code == 404


def test_the_page_loads_the_bundle_from_the_app_relative_to_its_url():
    app = rich_app()
    page = app.inject_sync("GET", "/docs")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Shop</title>" in page.text
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts == ["./docs/static/swagger-ui-bundle.js", "./docs/static/init.js"]
    assert "http" not in page.text.replace("http-equiv", "")     # no CDN
    slash = app.inject_sync("GET", "/docs/")
    assert re.findall(r'<script src="([^"]+)"', slash.text) == [
        "./static/swagger-ui-bundle.js", "./static/init.js"]


@pytest.mark.parametrize("name, content_type", [
    ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    ("swagger-ui.css", "text/css; charset=utf-8"),
    ("favicon-32x32.png", "image/png"),
    ("init.js", "text/javascript; charset=utf-8"),
])
def test_assets_are_served_with_their_type_an_etag_and_caching(name, content_type):
    app = rich_app()
    response = app.inject_sync("GET", "/docs/static/" + name)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert int(response.headers["content-length"]) == len(response.body) > 0
    etag = response.headers["etag"]
    again = app.inject_sync("GET", "/docs/static/" + name,
                            headers={"if-none-match": 'W/"other", ' + etag})
    assert again.status_code == 304 and again.body == b"" and again.headers["etag"] == etag
    other = app.inject_sync("GET", "/docs/static/" + name, headers={"if-none-match": '"x"'})
    assert other.status_code == 200 and other.body == response.body


def test_the_bundle_is_swagger_ui_5_which_reads_openapi_3_1():
    body = rich_app().inject_sync("GET", "/docs/static/swagger-ui-bundle.js").body
    version = re.search(rb'PACKAGE_VERSION:"(\d+)\.', body)
    assert version is not None and int(version.group(1)) >= 5


def test_the_init_script_points_at_the_document_beside_it():
    script = rich_app().inject_sync("GET", "/docs/static/init.js").text
    assert 'new URL("../json", document.currentScript.src)' in script


def test_the_json_route_answers_a_matching_etag_with_304():
    app = rich_app()
    first = app.inject_sync("GET", "/docs/json")
    again = app.inject_sync("GET", "/docs/json", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and again.body == b""
    assert orjson.loads(first.body) == app.swagger()


def test_ui_false_serves_only_the_document():
    app = rich_app(ui=False)
    assert app.inject_sync("GET", "/docs/json").status_code == 200
    assert app.inject_sync("GET", "/docs").status_code == 404
    assert app.inject_sync("GET", "/docs/static/swagger-ui.css").status_code == 404


def test_a_root_route_prefix_serves_the_page_at_the_root():
    app = fastcore.App()
    app.register(swagger, route_prefix="/")
    app.get("/items", ok)
    page = app.inject_sync("GET", "/")
    assert page.status_code == 200 and './static/init.js' in page.text
    assert list(app.inject_sync("GET", "/json").json()["paths"]) == ["/items"]
