"""The workload app with 5 no-op ``on_request`` hooks on the root context.

``python bench/load.py --peers fastcore-hooks`` compares it with the plain app:
the hooks' cost per request, measured on the real server.
"""
from bench.app import build_app

app = build_app(on_request_hooks=5)
