"""Type information for fastcore/_reply.pyx: request and reply objects, route
records, server state, and the transport side of a connection."""
import asyncio
from typing import Any, Callable, Iterator, Mapping

from ._router import Router

def now() -> float:
    """The monotonic clock the protocol's deadlines use, in seconds."""

class Headers(dict[str, Any]):
    """Request headers: lower-case keys, looked up case-insensitively."""
    def get(self, key: str, default: Any = None) -> Any: ...

class RouteRecord:
    """Everything the request path needs about one route, decided before traffic."""
    method: str
    url: str
    handler: Callable[..., Any]
    body_limit: int
    handler_timeout: float
    config: dict[str, Any]
    context: Any
    error_handlers: tuple[Callable[..., Any], ...] | None
    parsers: Any
    is_not_found: bool
    serializers: dict[int, Callable[[Any], bytes]] | None
    on_request: tuple[Callable[..., Any], ...] | None
    pre_parsing: tuple[Callable[..., Any], ...] | None
    pre_validation: tuple[Callable[..., Any], ...] | None
    pre_handler: tuple[Callable[..., Any], ...] | None
    pre_serialization: tuple[Callable[..., Any], ...] | None
    on_send: tuple[Callable[..., Any], ...] | None
    on_response: tuple[Callable[..., Any], ...] | None
    on_error: tuple[Callable[..., Any], ...] | None
    on_timeout: tuple[Callable[..., Any], ...] | None
    on_request_abort: tuple[Callable[..., Any], ...] | None
    validate: Callable[..., Any] | None
    def __init__(self, method: str, url: str, handler: Callable[..., Any], *,
                 body_limit: int = -1, handler_timeout: float = -1.0,
                 config: dict[str, Any] | None = None, context: Any = None,
                 is_not_found: bool = False) -> None: ...

class Server:
    """Per-app runtime state shared by every connection of a listening app."""
    router: Router
    loop: asyncio.AbstractEventLoop | None
    connections: set[Connection]
    not_found: RouteRecord
    logger: Any
    not_found_resolver: Callable[[str], RouteRecord] | None
    rewrite_url: Callable[[Request], str] | None
    framework_errors: Callable[..., Any] | None
    request_logger: Any
    disable_request_logging: Any
    request_id_header: str | None
    gen_req_id: Callable[[Request], str] | None
    trust_proxy: Callable[[Request], tuple[Any, ...]] | None
    ssl: Any
    max_header_size: int
    body_limit: int
    header_timeout: float
    request_timeout: float
    keep_alive_timeout: float
    connection_timeout: float
    handler_timeout: float
    write_timeout: float
    max_requests_per_socket: int
    max_connections: int
    return_503_on_closing: bool
    expose_errors: bool
    closing: bool
    def __init__(self, router: Router, not_found: RouteRecord, *,
                 loop: asyncio.AbstractEventLoop | None = None, max_header_size: int = 16384,
                 body_limit: int = 1048576, header_timeout: float = 10.0,
                 request_timeout: float = 30.0, keep_alive_timeout: float = 72.0,
                 connection_timeout: float = 0.0, handler_timeout: float = 0.0,
                 write_timeout: float = 60.0, max_requests_per_socket: int = 0, max_connections: int = 0,
                 return_503_on_closing: bool = True, expose_errors: bool = False,
                 logger: Any = None, ssl: Any = None,
                 protocol: Callable[[Server], Connection] | None = None) -> None: ...
    protocol: Callable[[Server], Connection] | None
    """The connection class (``_http1.HttpProtocol``), called with this Server."""
    def protocol_factory(self) -> Connection:
        """A new protocol for an accepted connection (``loop.create_server``)."""
    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start the periodic deadline sweep."""
    def begin_close(self, force: bool = False, idle: bool = True) -> None:
        """Stop serving new requests; close idle (or all) connections."""
    async def wait_closed(self) -> None:
        """Wait until every connection is gone."""
    def next_request_seq(self) -> int: ...

class Request:
    """The request as handlers see it."""
    method: str
    url: str
    path: str
    query_string: str
    params: dict[str, str]
    body: Any
    raw_body: bytes | None
    record: RouteRecord | None
    validation_error: Any
    keep_alive: bool
    is_aborted: bool
    is_head: bool
    id: str
    query: dict[str, str | list[str]]
    @property
    def headers(self) -> Headers: ...
    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]: ...
    @property
    def remote_address(self) -> str | None: ...
    @property
    def remote_port(self) -> int | None: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def ips(self) -> list[str]: ...
    @property
    def hostname(self) -> str | None: ...
    @property
    def protocol(self) -> str: ...
    @property
    def route_url(self) -> str | None: ...
    def get_header(self, name: str, default: Any = None) -> Any:
        """One header's value, as ``headers.get(name, default)`` gives it,
        without building ``headers`` when they were not built yet."""
    @property
    def route_config(self) -> dict[str, Any] | None: ...
    @property
    def body_limit(self) -> int:
        """The most body bytes this request may carry (parser's, route's or server's limit)."""
    @property
    def app(self) -> Any: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def last_event_id(self) -> str | None:
        """The ``Last-Event-ID`` header a reconnecting EventSource sends, or None."""
    @property
    def log(self) -> Any: ...
    def __getattr__(self, name: str) -> Any: ...

class Reply:
    """Builds the response: status, headers, then one ``send``."""
    request: Request
    sent: bool
    hijacked: bool
    status_code: int
    def code(self, status: int) -> Reply: ...
    def header(self, name: str, value: Any) -> Reply: ...
    def headers(self, mapping: Mapping[str, Any]) -> Reply: ...
    def get_header(self, name: str) -> Any: ...
    def get_headers(self) -> dict[str, Any]: ...
    def has_header(self, name: str) -> bool: ...
    def remove_header(self, name: str) -> Reply: ...
    def type(self, content_type: str) -> Reply: ...
    def serializer(self, fn: Callable[[Any], bytes | str]) -> Reply: ...
    def serialize(self, payload: Any) -> bytes | str: ...
    def send(self, payload: Any = None) -> Reply: ...
    def redirect(self, url: str, code: int = 302) -> Reply: ...
    def sse(self, source: Any, *, heartbeat: float | None = 15.0,
            retry: float | None = None) -> Reply:
        """Stream ``source``, an async iterable of events, as Server-Sent Events."""
    def hijack(self) -> Reply: ...
    @property
    def raw(self) -> asyncio.Transport: ...
    @property
    def elapsed_time(self) -> float: ...
    @property
    def log(self) -> Any: ...
    @property
    def server(self) -> Any: ...
    def __getattr__(self, name: str) -> Any: ...

class Connection:
    """The transport side of one connection and the response writer (extended by
    ``_lifecycle.Lifecycle`` and ``_http1.HttpProtocol``)."""
