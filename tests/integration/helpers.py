"""Small helpers shared by the integration tests."""
import asyncio


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
