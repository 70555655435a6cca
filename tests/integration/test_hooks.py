"""The request lifecycle as it runs (SPEC §3): order, short-circuits, errors.

Every hook appends its name to a list; the tests compare the whole list, so a
hook that runs out of order, twice, or not at all fails them.
"""
import asyncio

import pytest

import fastcore
from fastcore import errors

REQUEST_HOOKS = ("on_request", "pre_parsing", "pre_validation", "pre_handler")


def recording_app(*, asynchronous=False, suspend=False, **options):
    """An app whose every hook records itself (sync, async, or really waiting)."""
    app = fastcore.App(**options)
    seen = []
    app.seen = seen

    def make(name):
        if asynchronous:
            async def hook(request, reply):
                if suspend:
                    await asyncio.sleep(0)
                seen.append(name)
        else:
            def hook(request, reply):
                seen.append(name)
        return hook

    for name in REQUEST_HOOKS:
        app.add_hook(name, make(name))

    def pre_serialization(request, reply, payload):
        seen.append("pre_serialization")
        return payload

    async def on_send(request, reply, payload):
        if suspend:
            await asyncio.sleep(0)
        seen.append("on_send")
        return payload

    def on_response(request, reply):
        seen.append("on_response")

    def on_error(request, reply, error):
        seen.append("on_error:%s" % type(error).__name__)

    app.add_hook("pre_serialization", pre_serialization)
    app.add_hook("on_send", on_send)
    app.add_hook("on_response", on_response)
    app.add_hook("on_error", on_error)

    @app.post("/ok")
    async def ok(request, reply):
        if suspend:
            await asyncio.sleep(0)
        seen.append("handler:%s" % (request.body,))
        return {"ok": True}

    @app.get("/boom")
    def boom(request, reply):
        seen.append("handler")
        raise errors.Conflict("taken")

    @app.get("/text")
    def text(request, reply):
        seen.append("handler")
        return "plain"

    return app


FULL = ["on_request", "pre_parsing", "pre_validation", "pre_handler", "handler:{'a': 1}",
        "pre_serialization", "on_send", "on_response"]


@pytest.mark.parametrize("kind", ["sync", "async", "async-suspending"])
def test_hooks_run_in_lifecycle_order(kind):
    app = recording_app(asynchronous=kind != "sync", suspend=kind == "async-suspending")
    r = app.inject_sync("POST", "/ok", payload={"a": 1})
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert app.seen == FULL


def test_body_is_parsed_between_pre_parsing_and_pre_validation():
    app = fastcore.App()
    bodies = {}

    def record(name):
        def hook(request, reply):
            bodies[name] = (request.body, request.raw_body)
        return hook

    app.add_hook("pre_parsing", record("pre_parsing"))
    app.add_hook("pre_validation", record("pre_validation"))
    app.post("/x", lambda request, reply: None)
    app.inject_sync("POST", "/x", payload={"a": 1})
    assert bodies["pre_parsing"] == (None, b'{"a":1}')
    assert bodies["pre_validation"] == ({"a": 1}, b'{"a":1}')


def test_pre_serialization_is_skipped_for_text_payloads():
    app = recording_app()
    r = app.inject_sync("GET", "/text")
    assert r.body == b"plain"
    assert app.seen == ["on_request", "pre_parsing", "pre_validation", "pre_handler", "handler",
                        "on_send", "on_response"]


def test_error_runs_on_error_then_on_send_and_on_response():
    app = recording_app()
    r = app.inject_sync("GET", "/boom")
    assert r.status_code == 409
    assert r.body == b'{"statusCode":409,"error":"Conflict","message":"taken"}'
    assert app.seen == ["on_request", "pre_parsing", "pre_validation", "pre_handler", "handler",
                        "on_error:Conflict", "on_send", "on_response"]


def test_not_found_runs_the_root_hooks():
    app = recording_app()
    r = app.inject_sync("GET", "/missing")
    assert r.status_code == 404
    assert app.seen == ["on_request", "pre_parsing", "pre_validation", "pre_handler",
                        "pre_serialization", "on_send", "on_response"]


@pytest.mark.parametrize("stage", REQUEST_HOOKS)
@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_hook_that_sends_ends_the_chain(stage, asynchronous):
    app = recording_app()
    if asynchronous:
        async def stop(request, reply):
            await asyncio.sleep(0)
            reply.code(401).send({"stopped": stage})
    else:
        def stop(request, reply):
            reply.code(401).send({"stopped": stage})
    app.add_hook(stage, stop)
    r = app.inject_sync("POST", "/ok", payload={"a": 1})
    assert r.status_code == 401 and r.json() == {"stopped": stage}
    before = list(REQUEST_HOOKS[:REQUEST_HOOKS.index(stage) + 1])
    assert app.seen == before + ["pre_serialization", "on_send", "on_response"]


@pytest.mark.parametrize("stage", REQUEST_HOOKS)
def test_a_hook_that_raises_goes_to_the_error_handler(stage):
    app = recording_app()

    def fail(request, reply):
        raise errors.Forbidden("no")

    app.add_hook(stage, fail)
    r = app.inject_sync("POST", "/ok", payload={"a": 1})
    assert r.status_code == 403
    assert r.body == b'{"statusCode":403,"error":"Forbidden","message":"no"}'
    assert "handler:{'a': 1}" not in app.seen
    assert app.seen[-3:] == ["on_error:Forbidden", "on_send", "on_response"]


def test_pre_serialization_and_on_send_replace_the_payload():
    app = fastcore.App()
    app.add_hook("pre_serialization", lambda request, reply, payload: {**payload, "b": 2})

    async def on_send(request, reply, payload):
        await asyncio.sleep(0)
        return payload.replace(b'"b":2', b'"b":3')

    app.add_hook("on_send", on_send)
    app.get("/x", lambda request, reply: {"a": 1})
    r = app.inject_sync("GET", "/x")
    assert r.body == b'{"a":1,"b":3}'
    assert r.headers["content-length"] == str(len(r.body))


def test_route_level_hooks_run_after_context_hooks():
    app = fastcore.App()
    seen = []
    app.add_hook("on_request", lambda request, reply: seen.append("app"))
    app.get("/x", lambda request, reply: seen.append("handler"),
            on_request=[lambda request, reply: seen.append("route")])
    app.inject_sync("GET", "/x")
    assert seen == ["app", "route", "handler"]


def test_plugin_hooks_are_encapsulated():
    app = fastcore.App()
    seen = []

    async def child(ctx, opts):
        ctx.add_hook("on_request", lambda request, reply: seen.append("child:" + request.url))
        ctx.get("/in", lambda request, reply: "in")

    app.register(child, prefix="/c")
    app.get("/out", lambda request, reply: "out")
    app.add_hook("on_request", lambda request, reply: seen.append("root:" + request.url))
    assert app.inject_sync("GET", "/c/in").body == b"in"
    assert app.inject_sync("GET", "/out").body == b"out"
    assert seen == ["root:/c/in", "child:/c/in", "root:/out"]


def test_error_handler_chain_falls_back_to_the_parent():
    app = fastcore.App()

    def root_handler(error, request, reply):
        return reply.code(418).send({"handled_by": "root", "error": str(error)})

    async def plugin(ctx, opts):
        def child_handler(error, request, reply):
            raise ValueError("child gave up on %s" % error)
        ctx.set_error_handler(child_handler)

        @ctx.get("/x")
        def x(request, reply):
            raise RuntimeError("boom")

    app.set_error_handler(root_handler)
    app.register(plugin)
    r = app.inject_sync("GET", "/x")
    assert r.status_code == 418
    assert r.json() == {"handled_by": "root", "error": "child gave up on boom"}


def test_error_handler_return_value_is_sent_with_the_error_status():
    app = fastcore.App()
    app.set_error_handler(lambda error, request, reply: {"oops": str(error)})

    @app.get("/x")
    def x(request, reply):
        raise errors.NotFound("gone")

    r = app.inject_sync("GET", "/x")
    assert r.status_code == 404 and r.json() == {"oops": "gone"}


def test_async_error_handler_that_waits():
    app = fastcore.App()

    async def handler(error, request, reply):
        await asyncio.sleep(0.01)
        reply.code(502)
        return "upstream: %s" % error

    app.set_error_handler(handler)

    @app.get("/x")
    async def x(request, reply):
        await asyncio.sleep(0)
        raise RuntimeError("down")

    r = app.inject_sync("GET", "/x")
    assert r.status_code == 502 and r.body == b"upstream: down"


def test_reply_send_of_an_exception_renders_it():
    app = fastcore.App()
    app.get("/x", lambda request, reply: reply.send(errors.BadRequest("nope")))
    r = app.inject_sync("GET", "/x")
    assert r.status_code == 400
    assert r.body == b'{"statusCode":400,"error":"Bad Request","message":"nope"}'


def test_failing_on_response_hook_is_logged_and_the_reply_stands(caplog):
    app = fastcore.App()

    def broken(request, reply):
        raise RuntimeError("metrics down")

    app.add_hook("on_response", broken)
    app.get("/x", lambda request, reply: "fine")
    r = app.inject_sync("GET", "/x")
    assert r.status_code == 200 and r.body == b"fine"
    assert "on_response hook failed" in caplog.text


def test_on_timeout_runs_when_handler_timeout_fires():
    app = fastcore.App(handler_timeout=0.05)
    seen = []
    app.add_hook("on_timeout", lambda request, reply: seen.append(request.url))

    @app.get("/slow")
    async def slow(request, reply):
        await asyncio.sleep(5)

    r = app.inject_sync("GET", "/slow")
    assert r.status_code == 503
    assert seen == ["/slow"]


def test_request_decorations_are_per_request():
    app = fastcore.App()
    app.decorate_request("user", None)

    def auth(request, reply):
        request.user = request.headers.get("x-user")

    app.add_hook("on_request", auth)
    app.get("/me", lambda request, reply: {"user": request.user})
    assert app.inject_sync("GET", "/me", headers={"x-user": "ann"}).json() == {"user": "ann"}
    assert app.inject_sync("GET", "/me").json() == {"user": None}


def test_custom_content_type_parser_sync_and_async():
    app = fastcore.App()
    app.add_content_type_parser("application/x-www-form-urlencoded",
                                lambda request, body: dict(p.split("=") for p in body.split("&")),
                                parse_as="str")

    async def csv(request, body):
        await asyncio.sleep(0)
        return body.decode().split(",")

    app.add_content_type_parser("text/csv", csv)
    app.post("/echo", lambda request, reply: {"body": request.body})
    r = app.inject_sync("POST", "/echo", payload="a=1&b=2",
                        headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.json() == {"body": {"a": "1", "b": "2"}}
    r = app.inject_sync("POST", "/echo", payload="x,y", headers={"content-type": "text/csv"})
    assert r.json() == {"body": ["x", "y"]}
    r = app.inject_sync("POST", "/echo", payload="<a/>", headers={"content-type": "text/xml"})
    assert r.status_code == 415


def test_parser_body_limit_applies():
    app = fastcore.App()
    app.add_content_type_parser("text/csv", lambda request, body: body, body_limit=4)
    app.post("/echo", lambda request, reply: "ok")
    r = app.inject_sync("POST", "/echo", payload="1,2,3", headers={"content-type": "text/csv"})
    assert r.status_code == 413
    assert r.json()["code"] == "FC_ERR_CTP_BODY_TOO_LARGE"


def test_rewrite_url_and_its_type_error():
    app = fastcore.App(rewrite_url=lambda request: request.url.replace("/old", "/new"))
    app.get("/new/x", lambda request, reply: {"url": request.url})
    assert app.inject_sync("GET", "/old/x").json() == {"url": "/new/x"}
    bad = fastcore.App(rewrite_url=lambda request: 42)
    bad.get("/", lambda request, reply: "x")
    r = bad.inject_sync("GET", "/")
    assert r.status_code == 500
    assert r.json()["code"] == "FC_ERR_ROUTE_REWRITE_NOT_STR"


def test_framework_errors_render_bad_urls():
    def render(error, request, reply):
        return reply.code(400).send({"custom": error.code})

    app = fastcore.App(framework_errors=render)
    app.get("/u/:id", lambda request, reply: "x")
    r = app.inject_sync("GET", "/u/%E0%A4%A")
    assert r.status_code == 400 and r.json() == {"custom": "FC_ERR_BAD_URL"}


def test_request_id_header_and_gen_req_id():
    app = fastcore.App(gen_req_id=lambda request: "gen-" + request.method)
    app.get("/id", lambda request, reply: request.id)
    assert app.inject_sync("GET", "/id").body == b"gen-GET"
    assert app.inject_sync("GET", "/id", headers={"request-id": "abc"}).body == b"abc"
    off = fastcore.App(request_id_header=False)
    off.get("/id", lambda request, reply: request.id)
    assert off.inject_sync("GET", "/id", headers={"request-id": "abc"}).body == b"req-1"


def test_on_send_that_always_fails_still_gets_an_answer():
    app = fastcore.App()

    def broken(request, reply, payload):
        raise RuntimeError("on_send down")

    app.add_hook("on_send", broken)
    app.get("/x", lambda request, reply: "fine")
    r = asyncio.run(asyncio.wait_for(app.inject("GET", "/x"), 5))
    assert r.status_code == 500
    assert r.body == b'{"statusCode":500,"error":"Internal Server Error","message":"Internal Server Error"}'


@pytest.mark.parametrize("payload, expected", [
    ({"a": 1}, "application/json; charset=utf-8"),
    ("text", "text/plain; charset=utf-8"),
    (b"bytes", "application/octet-stream"),
    (None, None),
])
def test_on_send_sees_the_content_type_the_payload_got(payload, expected):
    app = fastcore.App()
    seen = []

    def look(request, reply, body):
        seen.append(reply.get_header("content-type"))
        return body

    app.get("/x", on_send=look)(lambda request, reply: reply.send(payload))
    r = app.inject_sync("GET", "/x")
    assert seen == [expected]
    assert r.headers.get("content-type") == expected
