"""The workload app with ``cors`` and ``rate_limit`` (memory store) registered.

``python bench/load.py --peers fastcore-plugins`` compares it with the plain
app: what the two plugins cost per request on the real server (the limit is
high enough that wrk's requests are never refused).
"""
from fastcore.plugins import cors, rate_limit

from bench.app import build_app

app = build_app()
app.register(cors)
app.register(rate_limit, max=1_000_000_000, time_window=60)
