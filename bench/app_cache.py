"""The workload app with the ``cache`` plugin (memory store) and every GET
route cached: after the first request, /prices is answered from the cache.

``python bench/load.py --routes prices --peers fastcore-cache`` compares a
cache hit with the route computed and serialized on every request.
"""
from fastcore.plugins import cache

from bench.app import build_app

app = build_app(config={"cache": {"ttl": 3600}})
app.register(cache)
