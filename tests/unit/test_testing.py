"""fastcore.testing: the sync client, build() and the pytest fixture factory."""
from __future__ import annotations

import pytest

import fastcore
from fastcore.testing import Client, app_fixture, build


def create_app():
    app = fastcore.App()

    @app.get("/ping")
    async def ping(request, reply):
        return {"pong": True}

    @app.route(["POST", "PUT", "PATCH", "DELETE", "OPTIONS"], "/echo")
    async def echo(request, reply):
        return {"method": request.method, "body": request.body,
                "type": request.headers.get("content-type"), "query": request.query,
                "token": request.headers.get("x-token"), "cookie": request.headers.get("cookie")}

    @app.get("/text")
    def text(request, reply):
        return "hello"

    return app


class RecordingApp(fastcore.App):
    closes = 0

    async def close(self):
        type(self).closes += 1
        await super().close()


client = app_fixture(create_app)
shared = app_fixture(create_app, scope="module", name="shared_client")


def test_fixture_yields_a_ready_client(client):
    assert isinstance(client, Client)
    res = client.get("/ping")
    assert res.status_code == 200
    assert res.json() == {"pong": True}
    assert res.headers["content-type"] == "application/json; charset=utf-8"


def test_fixture_is_fresh_per_test(client):
    assert client.get("/ping").status_code == 200
    assert not client.loop.is_closed()


def test_named_module_fixture(shared_client):
    assert shared_client.get("/text").text == "hello"


def test_named_module_fixture_is_shared(shared_client, request):
    assert shared_client is request.getfixturevalue("shared_client")


def test_post_json(client):
    res = client.post("/echo", json={"name": "x"}, headers={"x-token": "t"})
    assert res.json() == {"method": "POST", "body": {"name": "x"}, "type": "application/json",
                          "query": {}, "token": "t", "cookie": None}


def test_json_scalar_is_sent_as_json(client):
    assert client.put("/echo", json="abc").json()["body"] == "abc"


def test_json_keeps_a_given_content_type(client):
    res = client.post("/echo", json={"a": 1},
                      headers={"Content-Type": "application/json; charset=utf-8"})
    assert res.json()["type"] == "application/json; charset=utf-8"


def test_payload_query_and_cookies(client):
    res = client.patch("/echo", payload="plain", headers={"content-type": "text/plain"},
                       query={"limit": "2"}, cookies={"sid": "abc"})
    assert res.json()["body"] == "plain"
    assert res.json()["query"] == {"limit": "2"}
    assert res.json()["cookie"] == "sid=abc"


def test_other_methods(client):
    assert client.delete("/echo").json()["method"] == "DELETE"
    assert client.options("/echo").json()["method"] == "OPTIONS"
    assert client.request("POST", "/echo").json()["method"] == "POST"
    res = client.head("/text")
    assert res.status_code == 200 and res.body == b""


def test_not_found_through_the_pipeline(client):
    res = client.get("/missing")
    assert res.status_code == 404
    assert res.json()["message"] == "Route GET:/missing not found"


def test_payload_and_json_together_is_an_error(client):
    with pytest.raises(ValueError):
        client.post("/echo", payload=b"x", json={})


def test_build_context_manager_closes_app_and_loop():
    RecordingApp.closes = 0

    def factory():
        app = RecordingApp()
        app.get("/", lambda request, reply: "ok")
        return app

    with build(factory) as c:
        assert c.get("/").text == "ok"
    assert RecordingApp.closes == 1
    assert c.loop.is_closed()
    c.close()
    assert RecordingApp.closes == 1
    with pytest.raises(RuntimeError):
        c.get("/")


def test_build_accepts_an_app_and_factory_arguments():
    app = create_app()
    with build(app) as c:
        assert c.app is app and c.get("/ping").status_code == 200

    def factory(prefix):
        a = fastcore.App()
        a.get(prefix, lambda request, reply: {"at": prefix})
        return a

    with build(factory, "/here") as c:
        assert c.get("/here").json() == {"at": "/here"}


def test_build_accepts_an_async_factory():
    async def factory():
        return create_app()

    with build(factory) as c:
        assert c.get("/ping").json() == {"pong": True}


def test_build_boots_the_app():
    with build(create_app) as c:
        with pytest.raises(fastcore.errors.InstanceAlreadyStartedError):
            c.app.get("/late", lambda request, reply: None)


def test_client_on_a_given_loop_leaves_it_open():
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        c = Client(create_app(), loop).ready()
        assert c.get("/ping").status_code == 200
        c.close()
        assert not loop.is_closed()
    finally:
        loop.close()
