"""Type information for fastcore/_http1.pyx: HTTP/1.1 connections."""
import asyncio

from ._lifecycle import Lifecycle
from ._reply import Server

class HttpProtocol(Lifecycle, asyncio.Protocol):
    """One HTTP/1.1 connection."""
    def __init__(self, server: Server) -> None: ...
    @property
    def is_idle(self) -> bool: ...
    @property
    def reading(self) -> bool:
        """Whether a request is partly received (its head or body still coming in)."""
    @property
    def queued(self) -> int:
        """Requests received whole and waiting behind the one being answered."""
    def close(self) -> None: ...
    def switch_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Hand this connection's transport to ``protocol`` after the answer to an
        upgrade request has been written; the bytes received after that request
        are passed to its ``data_received``."""
