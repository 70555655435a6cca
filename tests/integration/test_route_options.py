"""Every option route() accepts takes effect (SPEC §1).

One case per option: the same handler is registered twice, at ``/with`` with the
option and at ``/without`` without it, and the case shows the difference a
client sees. ``test_every_route_option_has_a_case`` keeps the table complete:
an option added to route() without a case here fails it.
"""
from __future__ import annotations

import asyncio

import pytest

import fastcore
from fastcore import errors
from fastcore.context import ROUTE_OPTIONS
from fastcore.hooks import REQUEST_HOOKS

# Checked with a real socket instead: a client that leaves mid-request
# (tests/server/test_hooks_live.py::test_route_on_request_abort_runs_for_its_route_only)
# and WebSocket upgrades (tests/server/test_websocket_routes.py:
# test_ws_handler_beside_a_plain_handler, test_subprotocol_is_the_first_...).
CHECKED_ELSEWHERE = {"on_request_abort", "ws_handler", "ws_subprotocols"}


def both(option: str, value, handler=None, method: str = "GET", **more):
    """An app with ``/with`` (option set) and ``/without`` (not set)."""
    app = fastcore.App()
    handler = handler or (lambda request, reply: {"ok": True})
    app.route(method=method, url="/with", handler=handler, **{option: value}, **more)
    app.route(method=method, url="/without", handler=handler, **more)
    return app


def calls(log: list, name: str):
    def hook(*args):
        log.append(name)
        return args[2] if len(args) == 3 and name in ("pre_serialization", "on_send") else None
    return hook


def case_schema():
    app = both("schema", {"body": {"type": "object", "required": ["a"]}}, method="POST")
    assert app.inject_sync("POST", "/with", payload={}).status_code == 400
    assert app.inject_sync("POST", "/without", payload={}).status_code == 200


def case_constraints():
    app = both("constraints", {"version": "1.2.0"})
    assert app.inject_sync("GET", "/with").status_code == 404
    assert app.inject_sync("GET", "/with", headers={"accept-version": "1.x"}).status_code == 200
    assert app.inject_sync("GET", "/without").status_code == 200


def case_body_limit():
    app = both("body_limit", 8, method="POST")
    assert app.inject_sync("POST", "/with", payload={"a": "0123456789"}).status_code == 413
    assert app.inject_sync("POST", "/without", payload={"a": "0123456789"}).status_code == 200


def case_config():
    app = both("config", {"tier": "gold"}, handler=lambda request, reply: request.route_config)
    assert app.inject_sync("GET", "/with").json() == {"tier": "gold"}
    assert app.inject_sync("GET", "/without").json() == {}


def case_error_handler():
    def boom(request, reply):
        raise ValueError("boom")
    app = both("error_handler", lambda error, request, reply: reply.code(418).send("mine"),
               handler=boom)
    assert (app.inject_sync("GET", "/with").status_code, app.inject_sync("GET", "/with").text) \
        == (418, "mine")
    assert app.inject_sync("GET", "/without").status_code == 500


def case_attach_validation():
    app = both("attach_validation", True, method="POST",
               handler=lambda request, reply: {"attached": request.validation_error is not None},
               schema={"body": {"type": "object", "required": ["a"]}})
    assert app.inject_sync("POST", "/with", payload={}).json() == {"attached": True}
    assert app.inject_sync("POST", "/without", payload={}).status_code == 400


def case_handler_timeout():
    async def slow(request, reply):
        await asyncio.sleep(3)
        return "late"
    app = both("handler_timeout", 0.05, handler=slow)

    async def main():
        r = await app.inject("GET", "/with")
        assert (r.status_code, r.json()["code"]) == (503, "FC_ERR_HANDLER_TIMEOUT")
        task = asyncio.ensure_future(app.inject("GET", "/without"))
        await asyncio.sleep(0.2)
        assert not task.done(), "the route without the option timed out"
        task.cancel()
    asyncio.run(main())


def case_serializer_compiler():
    app = both("serializer_compiler", lambda schema, status, method, url: lambda data: b"custom",
               schema={"response": {200: {"type": "object",
                                          "properties": {"ok": {"type": "boolean"}}}}})
    assert app.inject_sync("GET", "/with").body == b"custom"
    assert app.inject_sync("GET", "/without").json() == {"ok": True}


def case_validator_compiler():
    def compiler(schema, part, method, url):
        def validate(data):
            raise errors.SchemaValidationError("%s refused by the route's compiler" % part)
        return validate
    app = both("validator_compiler", compiler, method="POST",
               schema={"body": {"type": "object"}})
    r = app.inject_sync("POST", "/with", payload={})
    assert (r.status_code, r.json()["message"]) == (400, "body refused by the route's compiler")
    assert app.inject_sync("POST", "/without", payload={}).status_code == 200


def case_schema_error_formatter():
    app = both("schema_error_formatter", lambda validation, part: "formatted %s" % part,
               method="POST", schema={"body": {"type": "object", "required": ["a"]}})
    assert app.inject_sync("POST", "/with", payload={}).json()["message"] == "formatted body"
    assert app.inject_sync("POST", "/without", payload={}).json()["message"] == \
        "body must have required property 'a'"


def case_websocket():
    async def on_ws(ws, request):
        await ws.send("hi")
    app = fastcore.App()
    app.get("/with", on_ws, websocket=True)
    app.get("/without", lambda request, reply: "plain")
    r = app.inject_sync("GET", "/with")
    assert (r.status_code, r.json()["code"], r.headers["upgrade"]) == \
        (426, "FC_ERR_WS_UPGRADE_REQUIRED", "websocket")
    assert app.inject_sync("GET", "/without").body == b"plain"


def case_hook(name: str):
    log: list = []

    async def slow(request, reply):
        await asyncio.sleep(3)

    def failing(request, reply):
        raise ValueError("fails")

    handler = {"on_error": failing, "on_timeout": slow}.get(name)
    more = {"handler_timeout": 0.05} if name == "on_timeout" else {}
    app = both(name, calls(log, name), handler=handler, **more)

    async def main():
        await app.inject("GET", "/with")
        assert log == [name]
        await app.inject("GET", "/without")
        assert log == [name]
    asyncio.run(main())


CASES = {
    "schema": case_schema, "constraints": case_constraints, "body_limit": case_body_limit,
    "config": case_config, "error_handler": case_error_handler,
    "attach_validation": case_attach_validation, "handler_timeout": case_handler_timeout,
    "serializer_compiler": case_serializer_compiler,
    "validator_compiler": case_validator_compiler,
    "schema_error_formatter": case_schema_error_formatter, "websocket": case_websocket,
    **{name: (lambda name=name: case_hook(name)) for name in REQUEST_HOOKS
       if name not in CHECKED_ELSEWHERE},
}


def test_every_route_option_has_a_case():
    assert set(CASES) | CHECKED_ELSEWHERE == set(ROUTE_OPTIONS)


@pytest.mark.parametrize("option", sorted(CASES))
def test_route_option_takes_effect(option):
    CASES[option]()


@pytest.mark.parametrize("options, message", [
    ({"method": "POST", "websocket": True}, "GET route"),
    ({"websocket": True, "ws_handler": lambda ws, request: None}, "ws_handler"),
    ({"ws_handler": "not callable"}, "callable"),
    ({"websocket": True, "ws_subprotocols": "chat"}, "ws_subprotocols"),
])
def test_websocket_route_options_are_checked(options, message):
    app = fastcore.App()
    options = {"method": "GET", **options}
    with pytest.raises(errors.InvalidRouteError, match=message):
        app.route(url="/ws", handler=lambda request, reply: None, **options)


# --- handler_timeout on a route --------------------------------------------------------

def test_route_handler_timeout_cancels_runs_on_timeout_and_answers_503():
    seen = []
    app = fastcore.App()

    async def slow(request, reply):
        try:
            await asyncio.sleep(3)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    app.get("/slow", slow, handler_timeout=0.2, on_timeout=lambda request, reply: seen.append("hook"))

    async def main():
        start = asyncio.get_running_loop().time()
        r = await app.inject("GET", "/slow")
        elapsed = asyncio.get_running_loop().time() - start
        await asyncio.sleep(0)
        return r, elapsed

    r, elapsed = asyncio.run(main())
    body = (b'{"statusCode":503,"code":"FC_ERR_HANDLER_TIMEOUT",'
            b'"error":"Service Unavailable","message":"Request timed out"}')
    assert (r.status_code, r.body, r.headers["content-length"]) == (503, body, str(len(body)))
    assert elapsed < 2.0
    assert seen == ["hook", "cancelled"]


def test_route_handler_timeout_overrides_the_app_option():
    async def pause(request, reply):
        await asyncio.sleep(0.15)
        return "done"

    app = fastcore.App(handler_timeout=0.05)
    app.get("/app", pause)
    app.get("/longer", pause, handler_timeout=2.0)
    app.get("/disabled", pause, handler_timeout=0)
    assert app.inject_sync("GET", "/app").status_code == 503
    assert app.inject_sync("GET", "/longer").body == b"done"
    assert app.inject_sync("GET", "/disabled").body == b"done"


@pytest.mark.parametrize("value", [-1, "1", True, float("nan"), float("inf")])
def test_route_handler_timeout_must_be_seconds(value):
    app = fastcore.App()
    with pytest.raises(errors.InvalidRouteError, match="handler_timeout"):
        app.get("/x", lambda request, reply: "x", handler_timeout=value)


def test_request_body_limit_is_the_limit_that_applies_to_it():
    app = fastcore.App(body_limit=1000)
    app.post("/default")(lambda request, reply: {"limit": request.body_limit})
    app.post("/small", body_limit=10)(lambda request, reply: {"limit": request.body_limit})
    assert app.inject_sync("POST", "/default", payload={}).json() == {"limit": 1000}
    assert app.inject_sync("POST", "/small", payload={}).json() == {"limit": 10}
