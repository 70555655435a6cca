# cython: language_level=3
"""Push-style Server-Sent Events: the side of a stream its source writes to.

How this works
--------------
``reply.sse(source)`` takes an async iterable, which the response writer
pulls (``_reply.Connection._pump``), or a *push source*: an object with a
``start_events(sink)`` method. Once the response head is out, the stream's
task calls it with an ``EventSink`` (awaiting what it returns, if anything),
then waits for the stream to end. Meanwhile the source writes events
whenever it has some, from any callback or task: nothing pulls, no task
step per event. Made for fan-out: a publisher builds one chunk
(``sse_chunk``) and writes that bytes object to thousands of sinks, one
``transport.write`` each.

A write returns whether the transport still takes more: ``False`` when the
client is not reading (the transport paused) or the stream is over.
``wait_writable()`` waits until it takes writes again. What happens to
events meanwhile is the source's choice (a backlog, a policy): the sink
holds nothing beyond the transport's buffer, and that buffer stops growing
past its high-water mark when the source respects ``False``.

The stream ends with ``sink.end()`` (the last chunk goes out and the
connection serves its next request, as after any response), when the client
goes away, or at ``app.close()``; the ``on_close`` callbacks run once in
every case, with the sink. Heartbeats: every ``heartbeat`` seconds a timer
writes ``: ping`` when nothing was written since its last visit.
"""
import asyncio

from fastcore._reply cimport Connection, Reply, Request
from fastcore._sse import PING, encode_event, sse_chunk

_CancelledError = asyncio.CancelledError
_PING_CHUNK = sse_chunk(PING)


cdef class EventSink:
    """An open event stream's writing side (see the module doc)."""

    def __cinit__(self, Connection proto, object ended, object encoder=None):
        self.proto = proto
        self._ended = ended
        self._callbacks = []
        self._encoder = encoder

    cpdef bint write_chunk(self, bytes chunk):
        """Write ``chunk`` (from ``sse_chunk``); whether more may follow now."""
        # HOT PATH: bench/fanout.py (sse cases): one call per subscriber per batch
        cdef Connection proto = self.proto
        if self.closed or proto.closed:
            return False
        if self._encoder is not None:
            chunk = self._encoded(chunk)
        proto.transport.write(chunk)
        self._writes += 1
        return not proto.paused_writing

    def send(self, event):
        """Write one event (a ``ServerSentEvent`` or plain data, as ``reply.sse``
        takes them); whether more may follow now."""
        return self.write_chunk(sse_chunk(encode_event(event)))

    cdef bytes _encoded(self, bytes chunk):
        # The chunk's data through the stream's encoder, in a chunk again.
        data = self._encoder.encode(chunk[chunk.index(b"\r\n") + 2:-2])
        return sse_chunk(data) if data else b""

    @property
    def writable(self):
        """Whether a write now would go out rather than wait in the transport."""
        return not (self.closed or self.proto.closed or self.proto.paused_writing)

    async def wait_writable(self):
        """Return once the transport takes writes again, or the stream is over."""
        cdef Connection proto = self.proto
        while proto.paused_writing and not (self.closed or proto.closed):
            waiter = proto.drain_waiter
            if waiter is None or waiter.done():
                waiter = proto.drain_waiter = proto.server.loop.create_future()
            await waiter

    def end(self):
        """End the stream: its last chunk is written after what was written."""
        self.closed = True
        if not self._ended.done():
            self._ended.set_result(None)

    def on_close(self, callback):
        """Call ``callback(sink)`` once when the stream is over, however it ends."""
        if self.closed and self._callbacks is None:
            callback(self)
        else:
            self._callbacks.append(callback)

    cdef int _start_heartbeat(self, object heartbeat) except -1:
        if heartbeat:
            self._heartbeat = heartbeat
            self._timer = self.proto.server.loop.call_later(heartbeat, self._beat)
        return 0

    def _beat(self):
        if self.closed or self.proto.closed:
            return
        if self._writes == self._seen:
            self.write_chunk(_PING_CHUNK)
        self._seen = self._writes
        self._timer = self.proto.server.loop.call_later(self._heartbeat, self._beat)

    cdef int _over(self) except -1:
        # The stream is over: no more writes, the timer stops, callbacks run.
        cdef list callbacks = self._callbacks
        self.closed = True
        self._callbacks = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for callback in callbacks or ():
            try:
                callback(self)
            except Exception:
                self.proto.server.logger.exception("an event sink's on_close callback failed")
        return 0


async def push_events(Connection proto, Request req, Reply reply, stream, bint keep):
    """The task of a push source's stream (see the module doc)."""
    cdef EventSink sink = EventSink(proto, proto.server.loop.create_future(), stream.encoder)
    cdef bint cut = False
    try:
        first = stream.take_first()
        if first is not None:
            sink.write_chunk(sse_chunk(first))
        started = stream.source.start_events(sink)
        if started is not None and hasattr(started, "__await__"):
            await started
        sink._start_heartbeat(stream.heartbeat)
        await sink._ended
    except _CancelledError:
        cut = True
    except BaseException:
        proto.server.logger.exception("event source failed in %s %s", req.method, req.url)
        sink._over()
        proto._abort_stream()
        return
    sink._over()
    if sink._encoder is not None:
        proto._write_last(sink._encoder)
    proto._end_stream(req, reply, keep and not cut, cut)
