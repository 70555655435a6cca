"""In-process requests: the real protocol on an in-memory transport.

``inject`` builds the request bytes a client would send, hands them to a fresh
``HttpProtocol`` exactly as a socket would (from a loop callback, not from the
caller's task), and parses what the protocol writes back with llhttp's response
parser. Same parser, same pipeline, same writer as a served request.
"""
from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, urlencode

import httptools
import orjson

_SAFE_URL_CHARS = "/?&=%:@!$'()*+,;[]~#-._"


class InjectResponse:
    """What came back: ``status_code``, ``headers`` (lower-case), ``body``."""

    def __init__(self, status_code: int, headers: dict[str, Any], body: bytes, raw: bytes):
        self.status_code = status_code
        self.headers = headers
        self.body = body
        self.raw = raw

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def payload(self) -> str:
        return self.text

    def json(self) -> Any:
        return orjson.loads(self.body)

    def __repr__(self) -> str:
        return "<InjectResponse %d, %d bytes>" % (self.status_code, len(self.body))


class _ResponseReader:
    """Collects one response from the bytes the protocol writes."""

    def __init__(self, future: asyncio.Future, head_only: bool) -> None:
        self.future = future
        self.head_only = head_only
        self.headers: dict[str, Any] = {}
        self.body: list[bytes] = []
        self.raw: list[bytes] = []
        self.parser = httptools.HttpResponseParser(self)

    def feed(self, data: bytes) -> None:
        if self.future.done():
            return
        self.raw.append(bytes(data))
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.future.set_exception(exc)

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        old = self.headers.get(key)
        if old is None:
            self.headers[key] = text
        elif isinstance(old, list):
            old.append(text)
        else:
            self.headers[key] = [old, text]

    def on_headers_complete(self) -> None:
        if self.head_only:
            self._done()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self._done()

    def _done(self) -> None:
        if not self.future.done():
            self.future.set_result(InjectResponse(
                self.parser.get_status_code(), self.headers, b"".join(self.body),
                b"".join(self.raw)))

    def closed(self) -> None:
        if not self.future.done():
            # A response without Content-Length ends with the connection.
            try:
                self.parser.feed_data(b"")
            except httptools.HttpParserError:
                pass
            if self.raw and not self.future.done():
                self._done()
            elif not self.future.done():
                self.future.set_exception(ConnectionError("connection closed without a response"))


class InjectTransport(asyncio.Transport):
    """The transport side of an injected connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop, reader: _ResponseReader) -> None:
        super().__init__()
        self._loop = loop
        self._reader = reader
        self._protocol = None
        self._closing = False

    def write(self, data) -> None:
        self._reader.feed(data)

    def set_protocol(self, protocol) -> None:
        # After an upgrade the connection belongs to another protocol object.
        self._protocol = protocol

    def get_protocol(self):
        return self._protocol

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 0), "sockname": ("127.0.0.1", 80)}.get(name, default)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._reader.closed()
        if self._protocol is not None:
            self._loop.call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return not self._closing

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        pass


def build_request(method: str, url: str, headers: dict | None, query: dict | None,
                  payload: Any, cookies: dict | None) -> bytes:
    """The bytes a client would send for these arguments."""
    target = quote(url, safe=_SAFE_URL_CHARS)
    if query:
        target += ("&" if "?" in target else "?") + urlencode(query, doseq=True)
    lines = {"host": "localhost:80", "user-agent": "fastcore-inject"}
    for name, value in (headers or {}).items():
        lines[name.lower()] = value
    body = b""
    if payload is not None:
        if isinstance(payload, (bytes, bytearray, memoryview)):
            body = bytes(payload)
        elif isinstance(payload, str):
            body = payload.encode("utf-8")
        else:
            body = orjson.dumps(payload)
            lines.setdefault("content-type", "application/json")
    if cookies:
        lines["cookie"] = "; ".join("%s=%s" % item for item in cookies.items())
    if body or method.upper() in ("POST", "PUT", "PATCH") or "content-length" in lines:
        lines["content-length"] = str(len(body))
    head = ["%s %s HTTP/1.1\r\n" % (method.upper(), target)]
    for name, value in lines.items():
        for item in value if isinstance(value, list) else [value]:
            head.append("%s: %s\r\n" % (name, item))
    head.append("\r\n")
    return "".join(head).encode("latin-1") + body


async def inject_request(state, *, method: str, url: str, headers: dict | None,
                         query: dict | None, payload: Any, cookies: dict | None) -> InjectResponse:
    """Run one request through ``state`` (a ``_reply.Server``) in memory."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    reader = _ResponseReader(future, head_only=method.upper() == "HEAD")
    transport = InjectTransport(loop, reader)
    protocol = state.protocol_factory()
    transport._protocol = protocol
    protocol.connection_made(transport)
    loop.call_soon(protocol.data_received,
                   build_request(method, url, headers, query, payload, cookies))
    try:
        return await future
    finally:
        transport.close()
