"""The workload app with ``tracing`` registered and the global tracer provider
(the OpenTelemetry API's no-op, as in a service that has not configured one).

``python bench/load.py --peers fastcore-tracing`` compares it with the plain
app. ``app`` declares the routes before the plugin boots, as ``bench.app``
does, so its async handlers are not wrapped; ``wrapped_app`` declares them in
a plugin registered after it, so they are (each step in the request's own
``contextvars`` context). ``python bench/icount.py --app bench.app_tracing``
counts the first, ``--app bench.app_tracing_wrapped`` the second.
"""
import fastcore
from fastcore.plugins import tracing

from bench import app as workload
from bench.app import build_app


async def _workload_routes(app, opts):
    app.get("/json", workload.hello)
    app.get("/prices", workload.prices, schema={"response": {200: workload.PRICES_SCHEMA}})
    app.post("/order", workload.order, schema={"body": workload.ORDER_SCHEMA})
    app.get("/users/:id", workload.user, schema=workload.USER_SCHEMA)


def build_wrapped_app() -> fastcore.App:
    """The same routes, declared after the plugin booted."""
    wrapped = fastcore.App(logger=False)
    wrapped.register(tracing)
    wrapped.register(_workload_routes)
    return wrapped


app = build_app()
app.register(tracing)
