"""Type information for fastcore/_event_sink.pyx: push-style Server-Sent Events."""
from typing import Any, Callable

class EventSink:
    """An open event stream's writing side, given to a push source's
    ``start_events(sink)`` by ``reply.sse``."""
    closed: bool
    def write_chunk(self, chunk: bytes) -> bool:
        """Write ``chunk`` (from ``fastcore.sse_chunk``); whether more may follow now."""
    def send(self, event: Any) -> bool:
        """Write one event (a ``ServerSentEvent`` or plain data); whether more may follow now."""
    @property
    def writable(self) -> bool: ...
    async def wait_writable(self) -> None:
        """Return once the transport takes writes again, or the stream is over."""
    def end(self) -> None:
        """End the stream: its last chunk is written after what was written."""
    def on_close(self, callback: Callable[[EventSink], Any]) -> None:
        """Call ``callback(sink)`` once when the stream is over, however it ends."""

async def push_events(proto: Any, req: Any, reply: Any, stream: Any, keep: bool) -> None: ...
