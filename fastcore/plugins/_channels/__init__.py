"""The ``channels`` plugin (SPEC §12): ``app.register(channels, backend="memory",
history=0, max_backlog=256, slow_consumer="conflate")``, then ``app.channels``.

``hub`` is ``app.channels``; ``subscribers`` holds the WebSocket and SSE
subscriber kinds and their backlog policies; ``message`` the message framed
once; ``memory`` and ``redis_backend`` the backends (sequence numbers, history, last
values, and, with Redis, the fan-out across processes).
"""
from __future__ import annotations

from typing import Any

import fastcore

from .hub import Channels
from .memory import MemoryBackend
from .subscribers import POLICIES

DEFAULTS = {"backend": "memory", "history": 0, "max_backlog": 256,
            "slow_consumer": "conflate"}


def _check(opts: dict) -> dict:
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise TypeError("unknown option(s) %s" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    backend = options["backend"]
    if not isinstance(backend, str) or not (backend == "memory" or backend.startswith(
            ("redis://", "rediss://", "unix://"))):
        raise ValueError("backend is \"memory\" or a redis:// URL, got %r"
                         % (backend,))
    for name, least in (("history", 0), ("max_backlog", 1)):
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError("%s is an int >= %d, got %r" % (name, least, value))
    if options["slow_consumer"] not in POLICIES:
        raise ValueError("slow_consumer is one of %s, got %r"
                         % (", ".join(POLICIES), options["slow_consumer"]))
    return options


def _backend(options: dict) -> Any:
    if options["backend"] == "memory":
        return MemoryBackend(options["history"])
    from .redis_backend import RedisBackend
    return RedisBackend(options["backend"], options["history"])


@fastcore.plugin(name="channels", options=_check)
async def channels(app: Any, options: dict) -> None:
    """Decorates the app with ``channels`` (a ``Channels``); closed at ``on_close``."""
    backend = _backend(options)
    hub = Channels(backend, max_backlog=options["max_backlog"],
                   slow_consumer=options["slow_consumer"])
    await backend.start(hub.deliver)
    app.decorate("channels", hub)

    async def close(instance: Any) -> None:
        await hub.close()

    app.add_hook("on_close", close)
