"""fastcore: Fastify's design for Python, with the hot path compiled in Cython."""
from . import errors
from ._sse import EventStream, ServerSentEvent, sse_chunk
from ._version import __version__
from .boot import plugin
from .errors import FastcoreError, HTTPError

__all__ = ["App", "Context", "EventSink", "EventStream", "FastcoreError", "HTTPError",
           "ServerSentEvent", "WebSocketClosed", "compile_serializer", "compile_validator",
           "errors", "plugin", "sse_chunk", "websocket_frame", "__version__"]


def __getattr__(name):
    # App and Context pull in the compiled modules; importing them lazily keeps
    # ``import fastcore.errors`` cheap and usable on its own.
    if name == "App":
        from .app import App
        return App
    if name == "Context":
        from .context import Context
        return Context
    if name == "compile_serializer":
        from ._serialize import compile_serializer
        return compile_serializer
    if name == "WebSocketClosed":
        from ._websocket import WebSocketClosed
        return WebSocketClosed
    if name == "websocket_frame":
        from ._websocket import websocket_frame
        return websocket_frame
    if name == "EventSink":
        from ._event_sink import EventSink
        return EventSink
    if name == "compile_validator":
        from .validation import compile_validator
        return compile_validator
    raise AttributeError(f"module 'fastcore' has no attribute {name!r}")
