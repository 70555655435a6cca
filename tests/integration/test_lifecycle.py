"""The instance lifecycle (SPEC §1): ready barrier, blueprint lock, inject from
plain and async code, handlers that need a task, and close()."""
from __future__ import annotations

import asyncio
import logging

import pytest

import fastcore
from fastcore import errors
from tests.integration.helpers import ok


# --- ready() ----------------------------------------------------------------------------------

# Until plugins exist, booting has no side effect a test can count from outside,
# so these two tests wrap the instance's boot coroutine to count its runs.
def test_concurrent_ready_calls_share_one_boot():
    app = fastcore.App()
    app.get("/x", ok)
    boots = []
    real_boot = app._boot

    async def counting_boot():
        boots.append(1)
        await asyncio.sleep(0.01)
        await real_boot()

    app._boot = counting_boot

    async def main():
        results = await asyncio.gather(*[app.ready() for _ in range(10)])
        again = await app.ready()
        return results, again

    results, again = asyncio.run(main())
    assert all(result is app for result in results)
    assert again is app
    assert len(boots) == 1
    assert app.has_route("HEAD", "/x")


def test_concurrent_ready_calls_share_one_failure():
    app = fastcore.App()
    boots = []
    failure = RuntimeError("boot failed")

    async def failing_boot():
        boots.append(1)
        await asyncio.sleep(0.01)
        raise failure

    app._boot = failing_boot

    async def main():
        results = await asyncio.gather(*[app.ready() for _ in range(10)],
                                       return_exceptions=True)
        try:
            await app.ready()
        except RuntimeError as exc:
            results.append(exc)
        return results

    results = asyncio.run(main())
    assert len(results) == 11
    assert all(result is failure for result in results)
    assert len(boots) == 1


def test_repeated_ready_calls_return_the_app():
    app = fastcore.App()
    app.get("/x", ok)

    async def main():
        first = await app.ready()
        second = await app.ready()
        response = await app.inject("GET", "/x")
        return first, second, response

    first, second, response = asyncio.run(main())
    assert first is second is app
    assert (response.status_code, response.body) == (200, b"ok")


def test_ready_exposes_head_routes_once():
    app = fastcore.App()
    app.get("/x", ok)

    async def main():
        await asyncio.gather(*[app.ready() for _ in range(10)])
        await app.ready()

    asyncio.run(main())
    heads = [route for route in app.routes if route[0] == "HEAD" and route[1] == "/x"]
    assert len(heads) == 1


# --- blueprint lock ---------------------------------------------------------------------------

def test_route_after_ready_is_refused_naming_the_method():
    app = fastcore.App()
    app.get("/x", ok)
    asyncio.run(app.ready())
    with pytest.raises(errors.InstanceAlreadyStartedError) as info:
        app.route(method="GET", url="/late", handler=ok)
    assert info.value.code == "FC_ERR_INSTANCE_ALREADY_STARTED"
    assert '"route"' in str(info.value)
    assert not app.has_route("GET", "/late")


@pytest.mark.parametrize("shorthand", ["get", "post", "put", "patch", "delete", "head",
                                       "options", "trace", "all"])
def test_shorthands_after_ready_are_refused(shorthand):
    app = fastcore.App()
    asyncio.run(app.ready())
    with pytest.raises(errors.InstanceAlreadyStartedError) as info:
        getattr(app, shorthand)("/late", ok)
    assert info.value.code == "FC_ERR_INSTANCE_ALREADY_STARTED"
    # A shorthand is a form of ``route``; either name identifies the method.
    message = str(info.value)
    assert '"route"' in message or '"%s"' % shorthand in message
    with pytest.raises(errors.InstanceAlreadyStartedError):
        getattr(app, shorthand)("/late")(ok)
    assert not any(url == "/late" for _, url, _ in app.routes)


def test_lock_applies_after_inject_sync_booted_the_app():
    app = fastcore.App()
    app.get("/x", ok)
    assert app.inject_sync("GET", "/x").body == b"ok"
    with pytest.raises(errors.InstanceAlreadyStartedError):
        app.post("/y", ok)
    assert app.inject_sync("POST", "/y", payload=b"").status_code == 404


def test_registration_before_ready_is_served():
    app = fastcore.App()
    for i in range(5):
        app.get("/r%d" % i, lambda request, reply, i=i: {"i": i})
    for i in range(5):
        assert app.inject_sync("GET", "/r%d" % i).body == b'{"i":%d}' % i


# --- inject -----------------------------------------------------------------------------------

def test_inject_sync_from_plain_code():
    app = fastcore.App()
    app.get("/x", lambda request, reply: {"hello": "wörld"})
    for _ in range(3):
        response = app.inject_sync("GET", "/x")
        assert response.status_code == 200
        assert response.body == '{"hello":"wörld"}'.encode()
        assert response.headers["content-length"] == str(len(response.body))
        assert response.json() == {"hello": "wörld"}
        assert response.text == '{"hello":"wörld"}'


def test_inject_inside_a_running_loop():
    app = fastcore.App()
    app.post("/x", lambda request, reply: request.body)

    async def main():
        assert asyncio.get_running_loop() is not None
        first = await app.inject("POST", "/x", payload={"n": 1})
        together = await asyncio.gather(*[app.inject("POST", "/x", payload={"n": i})
                                          for i in range(10)])
        return first, together

    first, together = asyncio.run(main())
    assert (first.status_code, first.body) == (200, b'{"n":1}')
    assert [r.body for r in together] == [b'{"n":%d}' % i for i in range(10)]


def test_inject_in_successive_event_loops():
    app = fastcore.App()
    app.get("/x", ok)
    for _ in range(3):
        response = asyncio.run(app.inject("GET", "/x"))
        assert (response.status_code, response.body) == (200, b"ok")


def test_inject_defaults_to_get_slash():
    app = fastcore.App()
    app.get("/", lambda request, reply: request.method + " " + request.url)
    assert app.inject_sync().body == b"GET /"


# --- handlers that need a task ----------------------------------------------------------------

def test_asyncio_timeout_and_current_task_work_in_a_handler():
    app = fastcore.App()
    seen = {}

    @app.get("/t")
    async def handler(request, reply):
        async with asyncio.timeout(5):
            seen["before"] = asyncio.current_task()
            await asyncio.sleep(0.001)
            seen["after"] = asyncio.current_task()
        return {"ok": True}

    response = app.inject_sync("GET", "/t")
    assert (response.status_code, response.body) == (200, b'{"ok":true}')
    assert seen["before"] is not None
    assert seen["after"] is not None


def test_current_task_in_a_handler_that_never_suspends():
    app = fastcore.App()
    seen = {}

    @app.get("/t")
    async def handler(request, reply):
        seen["task"] = asyncio.current_task()
        async with asyncio.timeout(1):
            pass
        return "done"

    response = asyncio.run(app.inject("GET", "/t"))
    assert response.body == b"done"
    assert seen["task"] is not None


def test_handler_that_sleeps_still_answers():
    app = fastcore.App()

    @app.get("/sleep")
    async def handler(request, reply):
        await asyncio.sleep(0.01)
        return {"slept": True}

    response = app.inject_sync("GET", "/sleep")
    assert (response.status_code, response.body) == (200, b'{"slept":true}')
    assert response.headers["content-length"] == str(len(response.body))


def test_expired_asyncio_timeout_becomes_a_500(caplog):
    app = fastcore.App()
    reached = []

    @app.get("/slow")
    async def handler(request, reply):
        async with asyncio.timeout(0.01):
            await asyncio.sleep(10)
        reached.append(True)
        return "never"

    async def main():
        return await asyncio.wait_for(app.inject("GET", "/slow"), 5)

    with caplog.at_level(logging.ERROR, logger="fastcore"):
        response = asyncio.run(main())
    assert response.status_code == 500
    assert response.body == (b'{"statusCode":500,"error":"Internal Server Error",'
                             b'"message":"Internal Server Error"}')
    assert response.headers["content-length"] == str(len(response.body))
    assert reached == []
    logged = [r for r in caplog.records if r.name == "fastcore" and r.exc_info]
    assert logged and isinstance(logged[0].exc_info[1], TimeoutError)


@pytest.mark.parametrize("delay", [0.01, 0], ids=["expires-while-waiting", "already-due"])
def test_timeout_caught_by_the_handler_lets_it_answer(delay):
    # With 0 the timeout is due before the handler's first step ends: the
    # cancellation must still reach the handler once a task takes over.
    app = fastcore.App()

    @app.get("/slow")
    async def handler(request, reply):
        try:
            async with asyncio.timeout(delay):
                await asyncio.sleep(10)
        except TimeoutError:
            return {"timed_out": True}
        return {"timed_out": False}

    response = app.inject_sync("GET", "/slow")
    assert (response.status_code, response.body) == (200, b'{"timed_out":true}')


def test_handler_can_await_another_task():
    app = fastcore.App()

    @app.get("/gather")
    async def handler(request, reply):
        async def part(n):
            await asyncio.sleep(0.001)
            return n * 2
        return await asyncio.gather(part(1), part(2), asyncio.create_task(part(3)))

    response = app.inject_sync("GET", "/gather")
    assert response.body == b"[2,4,6]"


# --- close() ----------------------------------------------------------------------------------

def test_close_is_idempotent():
    app = fastcore.App()
    app.get("/x", ok)

    async def main():
        response = await app.inject("GET", "/x")
        await app.close()
        await app.close()
        await asyncio.gather(app.close(), app.close(), app.close())
        return response

    assert asyncio.run(main()).body == b"ok"


def test_close_of_an_app_that_never_started():
    app = fastcore.App()

    async def main():
        await app.close()
        await app.close()

    asyncio.run(main())


# -- contextvars: one context per request ----------------------------------------------

def test_a_context_variable_set_before_an_await_resets_after_it():
    import contextvars
    current = contextvars.ContextVar("current_user", default=None)
    app = fastcore.App()

    @app.get("/me")
    async def me(request, reply):
        token = current.set(request.query.get("name"))
        await asyncio.sleep(0.001)                  # really suspends: a task goes on
        seen = current.get()
        current.reset(token)                        # the same context as the set
        return {"seen": seen, "after": current.get()}

    answer = app.inject_sync("GET", "/me", query={"name": "ann"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"seen": "ann", "after": None}


def test_what_a_request_sets_is_its_own_and_its_async_hooks_share_it():
    import contextvars
    tenant = contextvars.ContextVar("tenant", default="none")
    app = fastcore.App()

    @app.hook("on_request")
    async def pick_tenant(request, reply):
        if "tenant" in request.query:
            tenant.set(request.query["tenant"])     # never reset: must not leak

    @app.get("/tenant")
    async def show(request, reply):
        before = tenant.get()
        await asyncio.sleep(0)
        return {"before": before, "after": tenant.get()}

    async def main():
        first = await app.inject("GET", "/tenant", query={"tenant": "acme"})
        second = await app.inject("GET", "/tenant")
        both = await asyncio.gather(app.inject("GET", "/tenant", query={"tenant": "x"}),
                                    app.inject("GET", "/tenant", query={"tenant": "y"}))
        return first.json(), second.json(), [r.json() for r in both], tenant.get()

    first, second, both, outside = asyncio.run(main())
    assert first == {"before": "acme", "after": "acme"}
    assert second == {"before": "none", "after": "none"}
    assert both == [{"before": "x", "after": "x"}, {"before": "y", "after": "y"}]
    assert outside == "none"
