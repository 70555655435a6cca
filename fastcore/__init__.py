"""fastcore: Fastify's design for Python, with the hot path compiled in Cython."""
from . import errors
from ._version import __version__
from .errors import FastcoreError, HTTPError

__all__ = ["App", "FastcoreError", "HTTPError", "errors", "__version__"]


def __getattr__(name):
    # App pulls in the compiled modules; importing it lazily keeps
    # ``import fastcore.errors`` cheap and usable on its own.
    if name == "App":
        from .app import App
        return App
    raise AttributeError(f"module 'fastcore' has no attribute {name!r}")
