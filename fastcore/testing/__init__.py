"""Test helpers: drive an app through ``inject`` from plain (sync) pytest tests.

A :class:`Client` owns a private event loop. It boots the app (``ready()``)
once, sends every request through the full pipeline with ``app.inject`` (no
socket), and closes the app, then the loop, at the end. Responses are the
usual inject responses: ``status_code``, ``headers`` (lower-case), ``body``,
``text``, ``json()``.

In a ``conftest.py`` or a test module::

    from fastcore.testing import app_fixture

    def create_app():
        app = fastcore.App()

        @app.get("/ping")
        async def ping(request, reply):
            return {"pong": True}

        return app

    client = app_fixture(create_app)          # a fixture named "client"

    def test_ping(client):
        res = client.get("/ping")
        assert res.status_code == 200
        assert res.json() == {"pong": True}

``app_fixture(factory, scope="module")`` shares one app across a module;
``name="api"`` names the fixture explicitly. Without pytest fixtures::

    with build(create_app) as client:
        client.post("/items", json={"name": "x"}, headers={"x-token": "t"})

The factory may be a plain function or ``async def`` returning the app, or
an ``App`` may be passed directly. Async tests can simply ``await
app.inject(...)`` instead.

The package is also a pytest plugin (``plugin.py``, loaded through the
``pytest11`` entry point): the ``route_benchmark`` fixture times one route
with pytest-benchmark, and ``python -m fastcore gate`` (``fastcore/gate.py``)
compares its results with a baseline.
"""
from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable

import orjson

from ..inject_ws import WebSocketRefused

__all__ = ["Client", "WebSocketRefused", "build", "app_fixture"]

_UNSET: Any = object()


class Client:
    """Synchronous requests against one app, on the client's own event loop."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.app = app
        self.loop = loop if loop is not None else asyncio.new_event_loop()
        self._owns_loop = loop is None
        self._closed = False

    def ready(self) -> "Client":
        """Boot the app (plugins, hooks, routes); later calls do nothing."""
        self.loop.run_until_complete(self.app.ready())
        return self

    def request(self, method: str, url: str = "/", *, headers: dict | None = None,
                query: dict | None = None, payload: Any = None, json: Any = _UNSET,
                cookies: dict | None = None) -> Any:
        """Send one request; ``json=`` serializes a value and sets the content type."""
        if self._closed:
            raise RuntimeError("this client is closed")
        if json is not _UNSET:
            if payload is not None:
                raise ValueError("pass either payload or json, not both")
            payload = orjson.dumps(json)
            headers = dict(headers or {})
            if not any(name.lower() == "content-type" for name in headers):
                headers["content-type"] = "application/json"
        return self.loop.run_until_complete(self.app.inject(
            method, url, headers=headers, query=query, payload=payload, cookies=cookies))

    def get(self, url: str = "/", **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def head(self, url: str = "/", **kwargs: Any) -> Any:
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str = "/", **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def put(self, url: str = "/", **kwargs: Any) -> Any:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str = "/", **kwargs: Any) -> Any:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str = "/", **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)

    def options(self, url: str = "/", **kwargs: Any) -> Any:
        return self.request("OPTIONS", url, **kwargs)

    def close(self) -> None:
        """Close the app (``on_close`` hooks run), then the client's loop. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.loop.run_until_complete(self.app.close())
        finally:
            if self._owns_loop:
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
                self.loop.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def build(factory: Any, *args: Any, **kwargs: Any) -> Client:
    """A ready :class:`Client` for ``factory(*args, **kwargs)`` (or an app itself)."""
    loop = asyncio.new_event_loop()
    try:
        app = factory(*args, **kwargs) if callable(factory) and not _is_app(factory) else factory
        if inspect.isawaitable(app):
            app = loop.run_until_complete(app)
        client = Client(app, loop)
        client._owns_loop = True
        return client.ready()
    except BaseException:
        loop.close()
        raise


def _is_app(value: Any) -> bool:
    return hasattr(value, "inject") and hasattr(value, "ready")


def app_fixture(factory: Callable[[], Any], *, scope: str = "function",
                name: str | None = None) -> Callable:
    """A pytest fixture yielding a ready :class:`Client` for ``factory()``."""
    import pytest

    def fixture():
        client = build(factory)
        try:
            yield client
        finally:
            client.close()

    fixture.__doc__ = "A fastcore test client for %s." % getattr(factory, "__name__", factory)
    return pytest.fixture(fixture, scope=scope, name=name)
