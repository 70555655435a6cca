"""The workload app with ``tracing`` registered and the global tracer provider
(the OpenTelemetry API's no-op, as in a service that has not configured one).

``python bench/load.py --peers fastcore-tracing`` compares it with the plain
app; ``python bench/icount.py --app bench.app_tracing --routes json`` counts
the instructions of its requests (against ``--app bench.app``).
"""
from fastcore.plugins import tracing

from bench.app import build_app

app = build_app()
app.register(tracing)
