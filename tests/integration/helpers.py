"""Small helpers shared by the integration tests."""
import asyncio

import pytest

import fastcore
from fastcore.errors import InvalidOptionError


def ok(request, reply):
    """A handler that answers "ok"."""
    return "ok"


def record(app, method, url):
    """The RouteRecord the app's router finds for ``method url``."""
    found = app._router.find(method, url)
    assert found is not None, (method, url)
    return found[0]


def booted(app):
    """``app`` after ``ready()``, run in a fresh event loop."""
    asyncio.run(app.ready())
    return app


def refused_at_register(plugin, options: dict, message: str) -> None:
    """``register(plugin, **options)`` raises FC_ERR_INVALID_OPTION naming the
    plugin, with ``message`` in it."""
    with pytest.raises(InvalidOptionError) as info:
        fastcore.App().register(plugin, **options)
    assert info.value.code == "FC_ERR_INVALID_OPTION"
    assert str(info.value).startswith(plugin.name + ": ") and message in str(info.value)
