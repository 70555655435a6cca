"""Running a handler's coroutine without a task until it really has to wait.

The protocol steps a handler's coroutine once itself (``coro.send(None)``). Most
handlers finish in that step and never need a task. A handler that suspends has
already yielded the future it waits on; :class:`Resume` wraps the half-run
coroutine so that an ordinary ``asyncio.Task`` can take it from there: the task
receives that same future first, then every later one, and cancellation is
thrown into the handler exactly as if the task had run it from the start.

During the first step there is no task yet; the protocol's ``FirstStep``
(compiled, in ``_lifecycle.pyx``) stands in as the current task meanwhile.

Pure Python with no package imports: the compiled protocol imports it.
"""
from __future__ import annotations

import collections.abc


class Resume:
    """A coroutine-like object continuing ``coro``, suspended on ``pending``.

    The task's first ``send`` hands it ``pending`` (the future the handler
    waits on, or None for a bare yield); later sends and every ``throw``
    go straight to the handler. A cancellation thrown before the first send
    (a timeout that fired while the handler ran its first step) reaches the
    handler too, where a generator would have raised it before its first line.
    """

    __slots__ = ("coro", "pending", "started")

    def __init__(self, coro, pending) -> None:
        self.coro = coro
        self.pending = pending
        self.started = False

    def send(self, value):
        if not self.started:
            self.started = True
            pending, self.pending = self.pending, None
            return pending
        return self.coro.send(value)

    def throw(self, typ, val=None, tb=None):
        self.started = True
        self.pending = None
        if val is None and tb is None:
            return self.coro.throw(typ)
        return self.coro.throw(typ, val, tb)

    def close(self) -> None:
        self.coro.close()

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)


collections.abc.Coroutine.register(Resume)
