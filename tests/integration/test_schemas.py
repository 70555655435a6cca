"""Route schemas end to end through inject (SPEC §6, §7)."""
import asyncio

import orjson
import pytest

import fastcore
from fastcore import errors

from bench.app import ORDER_SCHEMA as ORDER  # noqa: E402  (route 3's schema)
GOOD_ORDER = {"symbol": "BTC-USD", "side": "buy", "qty": 0.5, "price": 43250.5}


def error_body(message):
    return orjson.dumps({"statusCode": 400, "code": "FC_ERR_VALIDATION",
                         "error": "Bad Request", "message": message})


def order_app(**route):
    app = fastcore.App()
    app.post("/order", lambda request, reply: request.body, schema={"body": ORDER}, **route)
    return app


def test_valid_body_reaches_the_handler():
    r = order_app().inject_sync("POST", "/order", payload=GOOD_ORDER)
    assert r.status_code == 200 and r.json() == GOOD_ORDER


@pytest.mark.parametrize("body, message", [
    ({"symbol": "BTC-USD", "side": "buy", "qty": 0.5}, "body must have required property 'price'"),
    ({**GOOD_ORDER, "side": "hold"}, "body/side must be equal to one of the allowed values"),
    ({**GOOD_ORDER, "qty": 0}, "body/qty must be > 0"),
    ({**GOOD_ORDER, "symbol": "X" * 17}, "body/symbol must NOT have more than 16 characters"),
    ([1, 2], "body must be object"),
])
def test_invalid_body_gets_the_exact_400(body, message):
    r = order_app().inject_sync("POST", "/order", payload=body)
    assert r.status_code == 400
    assert r.body == error_body(message)
    assert r.headers["content-length"] == str(len(r.body))


def test_params_and_querystring_are_coerced_with_defaults():
    app = fastcore.App()

    @app.get("/users/:id", schema={
        "params": {"type": "object", "properties": {"id": {"type": "integer"}}},
        "querystring": {"type": "object", "properties": {
            "fields": {"type": "string"},
            "limit": {"type": "integer", "maximum": 100, "default": 10}}},
    })
    def user(request, reply):
        return {"id": request.params["id"], "query": request.query}

    r = app.inject_sync("GET", "/users/42?fields=name")
    assert r.json() == {"id": 42, "query": {"fields": "name", "limit": 10}}
    r = app.inject_sync("GET", "/users/abc")
    assert r.status_code == 400 and r.body == error_body("params/id must be integer")
    r = app.inject_sync("GET", "/users/1?limit=500")
    assert r.status_code == 400 and r.body == error_body("querystring/limit must be <= 100")


def test_additional_properties_false_removes_extras():
    app = fastcore.App()
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"a": {"type": "integer"}}}
    app.post("/x", lambda request, reply: request.body, schema={"body": schema})
    assert app.inject_sync("POST", "/x", payload={"a": 1, "b": 2}).json() == {"a": 1}


def test_attach_validation_lets_the_handler_decide():
    app = order_app(attach_validation=True)
    app.post("/peek", lambda request, reply: {
        "context": request.validation_error.validation_context,
        "keyword": request.validation_error.validation[0]["keyword"],
        "message": str(request.validation_error)},
        schema={"body": ORDER}, attach_validation=True)
    r = app.inject_sync("POST", "/peek", payload={"symbol": "A"})
    assert r.status_code == 200
    assert r.json() == {"context": "body", "keyword": "required",
                        "message": "body must have required property 'side'"}


def test_schema_error_formatter_rewrites_the_message():
    app = fastcore.App()
    app.set_schema_error_formatter(lambda validation, part: "bad %s (%d)" % (part, len(validation)))
    app.post("/order", lambda request, reply: "ok", schema={"body": ORDER})
    r = app.inject_sync("POST", "/order", payload={})
    assert r.status_code == 400 and r.body == error_body("bad body (1)")


def test_shared_schema_refs_and_missing_ref():
    app = fastcore.App()
    app.add_schema({"$id": "Order", **ORDER})
    app.add_schema({"$id": "Wrapper", "type": "object",
                    "properties": {"symbol": {"$ref": "Order#/properties/symbol"}}})
    app.post("/order", lambda request, reply: request.body, schema={"body": {"$ref": "Order#"}})
    app.post("/w", lambda request, reply: request.body, schema={"body": {"$ref": "Wrapper#"}})
    assert app.inject_sync("POST", "/order", payload=GOOD_ORDER).json() == GOOD_ORDER
    r = app.inject_sync("POST", "/w", payload={"symbol": ""})
    assert r.status_code == 400
    assert r.body == error_body("body/symbol must NOT have fewer than 1 characters")

    broken = fastcore.App()
    broken.post("/x", lambda request, reply: "x", schema={"body": {"$ref": "Nope#"}})
    with pytest.raises(errors.SchemaRefNotFoundError) as info:
        asyncio.run(broken.ready())
    assert "Nope" in str(info.value) and "POST /x" in str(info.value)


def test_schemas_are_encapsulated():
    app = fastcore.App()

    async def a(ctx, opts):
        ctx.add_schema({"$id": "Secret", "type": "string"})

    async def b(ctx, opts):
        ctx.post("/b", lambda request, reply: "x", schema={"body": {"$ref": "Secret#"}})

    app.register(a)
    app.register(b)
    with pytest.raises(errors.SchemaRefNotFoundError):
        asyncio.run(app.ready())


def test_response_schema_filters_and_is_chosen_by_status():
    app = fastcore.App()
    user = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    problem = {"type": "object", "properties": {"error": {"type": "string"}}}

    @app.get("/user/:kind", schema={"response": {200: user, "4xx": problem, "default": problem}})
    def get_user(request, reply):
        kind = request.params["kind"]
        if kind == "ok":
            return {"id": "7", "name": "ann", "password": "hunter2"}
        if kind == "gone":
            reply.code(410)
        else:
            reply.code(503)
        return {"error": kind, "trace": "secret"}

    assert app.inject_sync("GET", "/user/ok").body == b'{"id":7,"name":"ann"}'
    r = app.inject_sync("GET", "/user/gone")
    assert r.status_code == 410 and r.body == b'{"error":"gone"}'
    r = app.inject_sync("GET", "/user/down")
    assert r.status_code == 503 and r.body == b'{"error":"down"}'


def test_missing_required_response_property_is_a_500():
    app = fastcore.App()
    schema = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
    app.get("/x", lambda request, reply: {"name": "no id"}, schema={"response": {200: schema}})
    r = app.inject_sync("GET", "/x")
    assert r.status_code == 500
    assert r.json()["code"] == "FC_ERR_FAILED_SERIALIZATION"


def test_custom_compilers_and_reply_serializer():
    app = fastcore.App()
    seen = []

    def validator_compiler(schema, part, method, url):
        seen.append((part, method, url))

        def validate(data):
            if data.get("ok") is not True:
                raise errors.SchemaValidationError("%s must be ok" % part)
            return data
        return validate

    app.set_validator_compiler(validator_compiler)
    app.set_serializer_compiler(lambda schema, status, method, url: lambda data: b"custom")
    app.post("/v", lambda request, reply: {"x": 1},
             schema={"body": {"type": "object"}, "response": {200: {"type": "object"}}})
    app.get("/s", lambda request, reply: reply.serializer(lambda data: "by reply").send({"a": 1}),
            schema={"response": {200: {"type": "object"}}})
    assert app.inject_sync("POST", "/v", payload={"ok": True}).body == b"custom"
    r = app.inject_sync("POST", "/v", payload={"ok": False})
    assert r.status_code == 400 and r.json()["message"] == "body must be ok"
    assert app.inject_sync("GET", "/s").body == b"by reply"
    assert seen == [("body", "POST", "/v")]


def test_public_compilers():
    serialize = fastcore.compile_serializer(
        {"type": "object", "properties": {"bid": {"type": "number"}, "ts": {"type": "integer"}}})
    assert serialize({"bid": 1.5, "ts": 3.9, "x": 1}) == b'{"bid":1.5,"ts":3}'
    validate = fastcore.compile_validator(ORDER)
    assert validate(dict(GOOD_ORDER)) == GOOD_ORDER
    with pytest.raises(errors.SchemaValidationError) as info:
        validate({})
    assert info.value.code == "FC_ERR_VALIDATION"
