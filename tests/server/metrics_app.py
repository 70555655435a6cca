"""An app with the metrics plugin for the multi-worker tests: answers with the
worker's pid, so a test can tell which worker served a request."""
import os

import fastcore
from fastcore.plugins import metrics

app = fastcore.App()
app.register(metrics)


@app.get("/pid")
def pid(request, reply):
    return str(os.getpid())


@app.get("/items/:id")
def item(request, reply):
    return {"id": request.params["id"]}


_orders = []


@app.post("/orders")
def take(request, reply):
    # A metric of the app's own, created in the worker after it started.
    if not _orders:
        _orders.append(app.metrics.client.Counter(
            "orders", "Orders taken", registry=app.metrics.registry))
    _orders[0].inc()
    return {"ok": True}
