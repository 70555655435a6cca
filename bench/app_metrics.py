"""The workload app with the ``metrics`` plugin registered.

``python bench/load.py --peers fastcore-metrics`` compares it with the plain
app: what counting every request (per route, method and status, with its
duration) costs on the real server. ``/metrics`` is never loaded.
"""
from fastcore.plugins import metrics

from bench.app import build_app

app = build_app()
app.register(metrics)
