"""A price-feed service on fastcore (SPEC §16): ``python -m fastcore run
examples.pricefeed:app`` from the repository root.

Settings come from the environment (``settings.py``); with none, everything
runs in the process: the catalogue and accounts in memory, memory stores for
the cache and the rate limiter, and a simulated feed. Accounts: ``demo`` /
``demo`` (role ``user``) and ``admin`` / ``admin`` (role ``admin``).
"""
from .app import build_app

app = build_app()

__all__ = ["app", "build_app"]
