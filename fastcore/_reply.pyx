# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, so that the FASTCORE_DEBUG=1 build can turn the checks back on.
"""Request and reply objects, and the response writer.

How this works
--------------
This is the bottom of the three compiled modules that serve a connection
(``_reply`` <- ``_lifecycle`` <- ``_http1``); each defines a ``cdef class``
that the next one extends, so every call between them is a C call through
the class's method table, never a Python-level call.

Here live the objects a request is made of: ``RouteRecord`` (everything
decided about a route before traffic), ``Server`` (per-app runtime state
shared by every connection: options, counters, the connection registry and
its deadline sweep), ``Request`` and ``Reply`` (what hooks and handlers see;
heavier request fields are built on first use), and ``Connection``, the
transport side of one connection:

* the response writer: ``_write`` turns a reply and its body bytes into one
  head + body allocation (laid out by ``_head``: status line and header
  bytes cached, ``Date`` rebuilt once a second, byte-accurate
  ``Content-Length``, never with ``Transfer-Encoding``); ``_stream`` writes
  chunked bodies paced by the transport (``pause_writing``/``resume_writing``);
* ``_out``/``_flush``: everything written while ``batching`` is set (one
  ``data_received``) leaves in a single ``transport.write``; ``_close``
  closes after that flush.

``Connection`` declares, without implementing, the steps that belong to the
layers above: ``_send`` (payload rules and the send hooks, ``_lifecycle``),
``_responded`` (completion logging and ``on_response``, ``_lifecycle``),
``_finish`` and ``_check_deadline`` (keep-alive, the next pipelined request
and deadlines, ``_http1``) and ``_hand_over`` (the seam where a connection
leaves HTTP/1 after an upgrade: ``transport.set_protocol``, ``_http1``).
``Reply.send`` reaches ``_send`` this way.

This module imports nothing from the Python layer except ``fastcore.errors``.
"""

cimport cython

import asyncio
import logging
from urllib.parse import quote as _quote, unquote_plus as _unquote_plus

import orjson

from fastcore import errors
from fastcore._sse import EventStream, sse_chunk

from cpython.bytes cimport PyBytes_GET_SIZE

from fastcore._head cimport (CONN_CLOSE, CONN_KEEP, CT_NONE, NAME_CONTENT_TYPE, NAME_FRAMING,
                             NAME_SET_COOKIE, build_response, check_header_value, checked_name,
                             content_type_line, encode_header_lines, header_value_str,
                             name_kind, status_line)
from fastcore._router cimport Router


cdef object _orjson_dumps = orjson.dumps
cdef object _log = logging.getLogger("fastcore")
cdef object _CancelledError = asyncio.CancelledError


cdef Py_ssize_t JOIN_LIMIT = 16384      # bodies above this are written apart from the head

cdef str _URL_SAFE = "".join(chr(c) for c in range(33, 127))


def now():
    """The clock the protocol's deadlines use (monotonic seconds)."""
    return monotonic()


# Request header names as received -> their lower-case str, made once: the
# same few names come on every request, and a str made once keeps its hash.
# Bounded: past the limit a name is decoded every time.
cdef dict _HEADER_NAMES = {}


cdef str _header_name(bytes raw):
    cdef str name = raw.decode("latin-1").lower()
    if len(_HEADER_NAMES) < 512:
        _HEADER_NAMES[raw] = name
    return name


cdef class Headers(dict):
    """Request headers: a dict with lower-case keys, looked up case-insensitively."""

    def __getitem__(self, key):
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            return dict.__getitem__(self, key.lower())

    def get(self, key, default=None):
        value = dict.get(self, key, self)
        if value is self:
            value = dict.get(self, key.lower(), default)
        return value

    def __contains__(self, key):
        return dict.__contains__(self, key) or (
            isinstance(key, str) and dict.__contains__(self, key.lower()))


cdef dict parse_query(str qs):
    # HOT PATH: bench/test_bench_protocol.py (GET /users/:id). Same result as
    # urllib.parse.parse_qsl(keep_blank_values=True), repeated keys as lists;
    # only fields holding '%' or '+' go through unquote_plus.
    cdef dict out = {}
    cdef Py_ssize_t n = len(qs)
    cdef Py_ssize_t start = 0, end, eq
    cdef str field, key, value
    while start <= n:
        end = qs.find("&", start)
        if end < 0:
            end = n
        if end > start:
            field = qs[start:end]
            eq = field.find("=")
            if eq < 0:
                key = field
                value = ""
            else:
                key = field[:eq]
                value = field[eq + 1:]
            if "%" in key or "+" in key:
                key = _unquote_plus(key)
            if "%" in value or "+" in value:
                value = _unquote_plus(value)
            old = out.get(key)
            if old is None:
                out[key] = value
            elif type(old) is list:
                (<list>old).append(value)
            else:
                out[key] = [old, value]
        start = end + 1
    return out


cdef str _base36(unsigned long long n):
    cdef str digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    cdef list out = []
    if n == 0:
        return "0"
    while n:
        out.append(digits[n % 36])
        n //= 36
    out.reverse()
    return "".join(out)


# --- routes and server state ----------------------------------------------------

cdef class RouteRecord:
    """Everything the request path needs about one route, decided before traffic."""

    def __init__(self, str method, str url, handler, *, Py_ssize_t body_limit=-1,
                 double handler_timeout=-1.0, config=None, context=None,
                 bint is_not_found=False):
        self.method = method
        self.url = url
        self.handler = handler
        self.body_limit = body_limit
        self.handler_timeout = handler_timeout
        self.config = config if config is not None else {}
        self.context = context
        self.is_not_found = is_not_found

    def __repr__(self):
        return "<RouteRecord %s %s>" % (self.method, self.url)


# Decorations are plain attributes: a request or reply starts with its route's
# context's defaults in its __dict__ (values set per request replace them).
# Neither class defines __getattr__, so a method call on them takes the
# interpreter's fast attribute path.

cdef int seed_request(Request req, RouteRecord record) except -1:
    if record.request_decorations is not None:
        _seed(getattr(req, "__dict__"), record.request_decorations)
    return 0


cdef int seed_reply(Reply reply, RouteRecord record) except -1:
    if record.reply_decorations is not None:
        _seed(getattr(reply, "__dict__"), record.reply_decorations)
    return 0


cdef int _seed(dict own, dict defaults) except -1:
    for name, value in defaults.items():
        own.setdefault(name, value)
    return 0


cdef class Server:
    """Per-app runtime state shared by every connection of a listening app."""

    def __init__(self, Router router, RouteRecord not_found, *, loop=None,
                 Py_ssize_t max_header_size=16384, Py_ssize_t body_limit=1048576,
                 double header_timeout=10.0, double request_timeout=30.0,
                 double keep_alive_timeout=72.0, double connection_timeout=0.0,
                 double handler_timeout=0.0, double write_timeout=60.0,
                 Py_ssize_t max_requests_per_socket=0, Py_ssize_t max_connections=0,
                 bint return_503_on_closing=True, bint expose_errors=False,
                 logger=None, ssl=None, protocol=None):
        self.protocol = protocol
        self.router = router
        self.not_found = not_found
        self.loop = loop
        self.connections = set()
        self.max_header_size = max_header_size
        self.body_limit = body_limit
        self.header_timeout = header_timeout
        self.request_timeout = request_timeout
        self.keep_alive_timeout = keep_alive_timeout
        self.connection_timeout = connection_timeout
        self.handler_timeout = handler_timeout
        self.write_timeout = write_timeout
        self.max_requests_per_socket = max_requests_per_socket
        self.max_connections = max_connections
        self.return_503_on_closing = return_503_on_closing
        self.expose_errors = expose_errors
        self.logger = logger if logger is not None else _log
        self.ssl = ssl
        self.closing = False
        self.websockets = set()
        self.ws_max_message_size = 1048576
        self.ws_close_timeout = 10.0
        self.ws_ping_interval = 20.0
        self.ws_ping_timeout = 20.0
        self.ws_keepalive = None
        self.req_counter = 0
        self._all_closed = None
        cdef double smallest = 1.0
        for t in (header_timeout, request_timeout, keep_alive_timeout, connection_timeout,
                  write_timeout):
            if t > 0 and t / 4 < smallest:
                smallest = t / 4
        self._tick = max(smallest, 0.01)

    def protocol_factory(self):
        """Called by ``loop.create_server`` for each accepted connection."""
        return self.protocol(self)

    def start(self, loop=None):
        """Start the deadline sweep on ``loop`` (the running loop by default)."""
        if loop is None:
            loop = asyncio.get_running_loop()
        self.loop = loop
        if self._sweeper is None:
            self._sweeper = loop.call_later(self._tick, self._sweep)

    def _sweep(self):
        cdef double t = monotonic()
        cdef Connection proto
        for proto in list(self.connections):
            try:
                proto._check_deadline(t)
            except Exception:
                self.logger.exception("deadline check failed")
        if self._sweeper is not None:
            self._sweeper = self.loop.call_later(self._tick, self._sweep)

    def begin_close(self, force=False, idle=True):
        """Stop serving new requests; close idle sockets (every socket if ``force``)."""
        cdef Connection proto
        self.closing = True
        for proto in list(self.connections):
            if force:
                proto.closed = True
                proto.transport.abort()
            elif idle and proto.current is None and proto.req is None:
                proto._close()
            elif proto.stream_endless and proto.stream_task is not None:
                proto.stream_task.cancel()      # ends with its last chunk, then closes

    async def wait_closed(self):
        """Wait until every connection has gone, then stop the sweep."""
        if self.connections:
            self._all_closed = self.loop.create_future()
            await self._all_closed
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    cdef void _connection_lost(self, Connection proto):
        self.connections.discard(proto)
        if not self.connections and self._all_closed is not None:
            if not self._all_closed.done():
                self._all_closed.set_result(None)

    def next_request_seq(self):
        self.req_counter += 1
        return self.req_counter


# --- request and reply ---------------------------------------------------------

cdef list _header_lines(list raw):
    # Request._raw_headers: [name, value, name, value, ...], or [packed] once
    # _pack_headers ran (a list of one: never a real list's length).
    if len(raw) == 1:
        return (<bytes>raw[0]).split(b"\n")
    return raw


cdef dict _WANTED_NAMES = {}     # get_header(): names asked for -> lower-case bytes


cdef bint _same_name(bytes received, bytes lowered):
    # ASCII case-insensitive equality of two header names of the same length.
    cdef const unsigned char* a = <const unsigned char*><const char*>received
    cdef const unsigned char* b = <const unsigned char*><const char*>lowered
    cdef Py_ssize_t i
    cdef unsigned char c
    for i in range(len(received)):
        c = a[i]
        if 65 <= c <= 90:
            c += 32
        if c != b[i]:
            return False
    return True


@cython.freelist(64)
cdef class Request:
    """The request as the handler sees it; heavier fields are built on first use."""

    @property
    def headers(self):
        # HOT PATH: read by most plugins on every request (bench: /json with plugins)
        cdef Py_ssize_t i
        cdef Headers h
        cdef dict d
        cdef list raw
        if self._headers is None:
            h = Headers()
            d = <dict>h                   # C-level dict calls, not the type's methods
            raw = _header_lines(self._raw_headers)
            for i in range(0, len(raw), 2):
                name = _HEADER_NAMES.get(raw[i])
                if name is None:
                    name = _header_name(raw[i])
                value = (<bytes>raw[i + 1]).decode("latin-1")
                old = d.get(name)
                if old is None:
                    d[name] = value
                elif name == "set-cookie":
                    d[name] = (old if type(old) is list else [old]) + [value]
                else:
                    d[name] = old + ", " + value
            self._headers = h
        return self._headers

    def get_header(self, name, default=None):
        """One header's value, as ``headers.get(name, default)`` gives it,
        without building ``headers`` when they were not built yet."""
        # HOT PATH: plugins read a header or two of every request (cors: Origin)
        cdef Py_ssize_t i
        cdef bytes line
        if self._headers is not None:
            return self._headers.get(name, default)
        cdef bytes wanted = _WANTED_NAMES.get(name)
        if wanted is None:
            wanted = name.lower().encode("latin-1")
            if len(_WANTED_NAMES) < 512:
                _WANTED_NAMES[name] = wanted
        cdef list raw = _header_lines(self._raw_headers)
        found = None
        for i in range(0, len(raw), 2):
            line = <bytes>raw[i]
            if len(line) == len(wanted) and _same_name(line, wanted):
                if found is not None:
                    return self.headers.get(name, default)     # repeated: joined there
                found = (<bytes>raw[i + 1]).decode("latin-1")
        return default if found is None else found

    @property
    def raw_headers(self):
        """The header lines as received: a list of (name, value) bytes pairs."""
        raw = _header_lines(self._raw_headers)
        return [(raw[i], raw[i + 1]) for i in range(0, len(raw), 2)]

    cdef int _pack_headers(self) except -1:
        # For a request that outlives its exchange (a WebSocket's, SPEC §11):
        # the raw lines as one bytes object, "\n" between names and values
        # (neither can hold one: the parser refuses CR and LF in headers).
        # Ten header objects and their list cost about 500 bytes more.
        if len(self._raw_headers) > 1:
            self._raw_headers = [b"\n".join(self._raw_headers)]
        return 0

    @property
    def query(self):
        return self._parsed_query()

    cdef object _parsed_query(self):
        # The querystring, parsed on first use.
        if self._query is None:
            self._query = parse_query(self.query_string) if self.query_string else {}
        return self._query

    @query.setter
    def query(self, value):
        self._query = value

    @property
    def id(self):
        # The request-id header when configured and present, else gen_req_id,
        # else a per-server counter ("req-1", "req-2", ... base 36).
        cdef Server server
        if self._id is None:
            server = self.proto.server
            if server.request_id_header is not None:
                self._id = self.headers.get(server.request_id_header)
            if self._id is None and server.gen_req_id is not None:
                self._id = str(server.gen_req_id(self))
            if self._id is None:
                self._id = "req-" + _base36(self._seq)
        return self._id

    @id.setter
    def id(self, value):
        self._id = value

    cdef tuple _addressing(self):
        # (ip, ips, hostname, protocol): from the socket, or through trust_proxy.
        if self._proxy is None:
            trust = self.proto.server.trust_proxy
            if trust is not None:
                self._proxy = tuple(trust(self))
            else:
                ip = self.remote_address
                self._proxy = (ip, [ip] if ip is not None else [], self.headers.get("host"),
                               "https" if self.proto.server.ssl is not None else "http")
        return <tuple>self._proxy

    @property
    def remote_address(self):
        """The peer's address on the socket, whatever proxies say."""
        peer = self.proto._peername()
        return peer[0] if peer else None

    @property
    def remote_port(self):
        peer = self.proto._peername()
        return peer[1] if peer and len(peer) > 1 else None

    @property
    def ip(self):
        # HOT PATH: rate_limit's default key. Without trust_proxy it is the
        # socket peer: no need to build the headers for the hostname.
        cdef tuple peer
        if self._proxy is None and self.proto.server.trust_proxy is None:
            peer = self.proto._peername()
            return peer[0] if peer else None
        return self._addressing()[0]

    @property
    def ips(self):
        return self._addressing()[1]

    @property
    def hostname(self):
        return self._addressing()[2]

    @property
    def protocol(self):
        return self._addressing()[3]

    @property
    def route_url(self):
        return self.record.url if self.record is not None and not self.record.is_not_found else None

    @property
    def route_config(self):
        return self.record.config if self.record is not None else None

    @property
    def body_limit(self):
        """The most body bytes this request may carry: its content-type
        parser's ``body_limit``, else its route's, else the server's."""
        return self._body_limit

    @property
    def app(self):
        return self.record.context if self.record is not None else None

    @property
    def content_type(self):
        return self._ctype.decode("latin-1") if self._ctype is not None else None

    @property
    def last_event_id(self):
        """The ``Last-Event-ID`` header a reconnecting EventSource sends, or None."""
        return self.headers.get("last-event-id")

    @property
    def log(self):
        """A logger bound to this request's id (the module logger when logging is off)."""
        cdef Server server = self.proto.server
        if server.request_logger is None:
            return server.logger
        if self._log is None:
            self._log = server.request_logger.child(self)
        return self._log

    def __repr__(self):
        return "<Request %s %s>" % (self.method, self.url)


@cython.freelist(64)
cdef class Reply:
    """Builds the response: status, headers, then one ``send``."""

    @property
    def status_code(self):
        return self._status

    @status_code.setter
    def status_code(self, value):
        self.code(value)

    def code(self, status):
        if type(status) is not int or not 100 <= status <= 599:
            raise errors.BadStatusCodeError("Called reply with an invalid status code: %r" % (status,))
        self._status = status
        return self

    def header(self, name, value):
        # HOT PATH: plugins set headers on every request (rate_limit, cors, cache)
        self._set_header(name, value)
        return self

    def headers(self, mapping):
        for name, value in mapping.items():
            self._set_header(name, value)
        return self

    cdef int _set_header(self, object name, object value) except -1:
        # HOT PATH: reply.header() and reply.headers()
        cdef str key = checked_name(name)
        cdef int kind
        if type(value) is list:
            for item in value:
                check_header_value(key, item)
        elif type(value) is not int:         # an int is digits (a bool is not an int here)
            check_header_value(key, value)
        if self._headers is None:
            self._headers = {}
        kind = name_kind(key)
        if kind == NAME_CONTENT_TYPE:
            self._ctype = header_value_str(value)
            return 0
        if kind == NAME_SET_COOKIE:
            if key in self._headers:
                old = self._headers[key]
                self._headers[key] = (old if type(old) is list else [old]) + (
                    value if type(value) is list else [value])
                return 0
        elif kind == NAME_FRAMING:
            self._framing = True
        self._headers[key] = value
        return 0

    def get_header(self, name):
        # HOT PATH: cors reads Vary on every request
        cdef str key
        try:
            key = checked_name(name)
        except errors.ReplyInvalidHeaderError:
            return None                      # (never set: header() refuses it)
        if name_kind(key) == NAME_CONTENT_TYPE:
            return self._ctype
        if self._headers is None:
            return None
        return self._headers.get(key)

    def get_headers(self):
        out = dict(self._headers) if self._headers is not None else {}
        if self._ctype is not None:
            out["content-type"] = self._ctype
        return out

    def has_header(self, name):
        return self.get_header(name) is not None

    def remove_header(self, name):
        cdef str key = name.lower()
        if key == "content-type":
            self._ctype = None
        elif self._headers is not None:
            self._headers.pop(key, None)
        return self

    def type(self, content_type):
        return self.header("content-type", content_type)

    def serializer(self, fn):
        self._serializer = fn
        return self

    def serialize(self, payload):
        """Serialize ``payload`` as this reply would, without sending it."""
        if self._serializer is not None:
            out = self._serializer(payload)
        elif (self.request.record is not None and self.request.record.serializers is not None
              and self._status in self.request.record.serializers):
            out = self.request.record.serializers[self._status](payload)
        else:
            out = _orjson_dumps(payload)
        return out

    def send(self, payload=None):
        if self.sent:
            self.proto.server.logger.warning("Reply was already sent, did you forget to return?")
            return self
        if self.hijacked:
            return self
        self.proto._send(self, payload)
        return self

    def redirect(self, url, code=302):
        if not isinstance(url, str):
            url, code = code, url
        # Non-ASCII characters are percent-encoded (UTF-8), as a browser would.
        self.header("location", _quote(url, safe=_URL_SAFE))
        self.code(code)
        return self.send(None)

    def sse(self, source, *, heartbeat=15.0, retry=None):
        """Stream ``source``, an async iterable of events, as Server-Sent Events
        (SPEC §11): 200, ``text/event-stream``, chunked, a ``: ping`` comment
        after ``heartbeat`` seconds without an event, ``retry`` (seconds) sent
        first. Items are ``ServerSentEvent``s or plain data. A push source
        (an object with ``start_events(sink)``) writes events to the
        ``EventSink`` it is given instead of being pulled."""
        stream = EventStream(source, heartbeat, retry)
        self.type("text/event-stream; charset=utf-8")
        self.header("cache-control", "no-cache")
        self.header("x-accel-buffering", "no")
        return self.send(stream)

    def hijack(self):
        """Take over the response: fastcore writes nothing for this request."""
        self.hijacked = True
        return self

    @property
    def raw(self):
        """The transport, for hijacked replies."""
        return self.proto.transport

    @property
    def elapsed_time(self):
        return (monotonic() - self.request._start) * 1000.0

    @property
    def log(self):
        return self.request.log

    @property
    def server(self):
        return self.request.app

    def __repr__(self):
        return "<Reply %d>" % self._status


# --- the transport side of a connection ----------------------------------------

cdef class Connection:
    """One connection's transport, flags and response writer (see the module doc)."""

    cdef object _peername(self):
        if self.peer is None and self.transport is not None:
            self.peer = self.transport.get_extra_info("peername") or ()
        return self.peer

    def _flush_now(self):
        cdef bint was = self.batching
        self.batching = False
        self._flush()
        self.batching = was

    cdef int _write(self, Reply reply, object body, bytes ctype) except -1:
        # HOT PATH: bench/test_bench_protocol.py (inject /json)
        cdef Request req = reply.request
        cdef Server server = self.server
        cdef int status = reply._status
        cdef bint keep
        cdef bytes headers = b""
        cdef bytes ctype_line = ctype
        cdef Py_ssize_t length
        cdef bint with_body = True
        if reply._written or self.closed:
            return 0
        keep = self._keep(req)
        if reply._headers is not None:
            h = reply._headers
            if reply._framing:
                h.pop("content-length", None)      # (rare: the framing is ours to write)
                h.pop("transfer-encoding", None)
                if header_value_str(h.get("connection", "")).lower() == "close":
                    keep = False
                h.pop("connection", None)
            headers = encode_header_lines(h)
        if reply._ctype is not None:
            ctype_line = content_type_line(reply._ctype)
        elif body is None:
            ctype_line = CT_NONE
        if body is None:
            length = 0
        else:
            length = PyBytes_GET_SIZE(body)
        if status == 204 or status == 304 or status < 200:
            # No body and no Content-Length (RFC 9110 §8.6): never with 1xx/204,
            # and on a 304 it could only be the 200's length, unknown here.
            with_body = False
            length = -1
        if req.is_head:
            with_body = False
        reply.sent = True
        reply._written = True
        req._answered = True
        if with_body and length > JOIN_LIMIT:
            self._out(build_response(status_line(status), headers, ctype_line, length,
                                     CONN_KEEP if keep else CONN_CLOSE, None))
            self._out(body)
        else:
            self._out(build_response(status_line(status), headers, ctype_line, length,
                                     CONN_KEEP if keep else CONN_CLOSE,
                                     body if with_body else None))
        self._responded(req, reply)
        return self._finish(req, keep)

    cdef inline bint _keep(self, Request req):
        # Whether the connection stays open after this response (RFC 9112 §9.3).
        # While the app closes, a connection stays open only for the requests
        # already on it (queued or being read): each of those gets its 503.
        cdef Server server = self.server
        return (req.keep_alive and not self.no_more
                and not (server.closing and not self.queue
                         and (self.req is None or self.req is req))
                and not (server.max_requests_per_socket > 0
                         and self.nrequests >= server.max_requests_per_socket))

    cdef int _stream(self, Reply reply, object source, bytes ctype) except -1:
        # Chunked transfer coding (RFC 9112 §7.1), paced by the transport.
        cdef Request req = reply.request
        cdef Server server = self.server
        cdef bytes headers = b""
        cdef bytes ctype_line = ctype
        keep = self._keep(req)
        if reply._headers is not None:
            reply._headers.pop("content-length", None)
            reply._headers.pop("transfer-encoding", None)
            headers = encode_header_lines(reply._headers)
        if reply._ctype is not None:
            ctype_line = ("content-type: %s\r\n" % reply._ctype).encode("latin-1")
        reply.sent = True
        reply._written = True
        self._out(build_response(status_line(reply._status),
                                 headers + b"transfer-encoding: chunked\r\n", ctype_line, -1,
                                 CONN_KEEP if keep else CONN_CLOSE, None))
        if req.is_head:
            self._responded(req, reply)
            return self._finish(req, keep)
        self._flush_now()
        loop = self.server.loop or asyncio.get_event_loop()
        # An event stream only ends when its client or the app goes: close()
        # ends it instead of waiting for it (SPEC §11).
        self.stream_endless = type(source) is EventStream
        if self.stream_endless and (<object>source).pushes:
            from fastcore._event_sink import push_events    # (it cimports this module)
            self.stream_task = loop.create_task(push_events(self, req, reply, source, keep))
        else:
            self.stream_task = loop.create_task(self._pump(req, reply, source, keep))
        return 0

    async def _pump(self, Request req, Reply reply, source, bint keep):
        cdef bint cut = False
        try:
            async for chunk in source:
                if self.closed:
                    break
                if type(chunk) is str:
                    chunk = (<str>chunk).encode("utf-8")
                elif type(chunk) is not bytes:
                    chunk = bytes(chunk)
                if self.stream_endless:
                    # Events already waiting leave in the same write.
                    chunk += (<object>source).take_ready()
                    if (<object>source).encoder is not None:
                        chunk = (<object>source).encoder.encode(chunk)
                if not chunk:
                    continue
                self.transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                if self.paused_writing:
                    self.drain_waiter = self.server.loop.create_future()
                    await self.drain_waiter
                    self.drain_waiter = None
        except _CancelledError:
            keep = False
            cut = True
        except BaseException:
            self.server.logger.exception("stream failed in %s %s", req.method, req.url)
            self._abort_stream()
            return
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None and (self.closed or cut):
                try:
                    await aclose()
                except BaseException:
                    pass
        if self.stream_endless and (<object>source).encoder is not None:
            self._write_last(source.encoder)
        self._end_stream(req, reply, keep, cut)

    cdef int _write_last(self, object encoder) except -1:
        # What a stream's encoder still holds, before the stream's last chunk.
        if not self.closed:
            tail = encoder.finish()
            if tail:
                self.transport.write(sse_chunk(tail))
        return 0

    cdef int _abort_stream(self) except -1:
        # The stream's source failed: the client cannot tell it from an end.
        if not self.closed:
            self.transport.abort()
        self.stream_task = None
        return 0

    cdef int _end_stream(self, Request req, Reply reply, bint keep, bint cut) except -1:
        # The stream is over: its last chunk, then the next request (``cut``:
        # ended by the client going away or by close(), not by its source).
        self.stream_task = None
        self.stream_endless = False
        if self.closed:
            return 0
        req._answered = True
        if cut and (self.paused_writing or self.transport.get_write_buffer_size()):
            # Ended by close() while the client is not taking what was sent: a
            # graceful close would wait for it forever.
            self.closed = True
            self.transport.abort()
            return 0
        self.transport.write(b"0\r\n\r\n")
        self._responded(req, reply)
        self._finish(req, keep)
        self._flush()
        if cut and self.transport.get_write_buffer_size():
            self.transport.abort()      # the last chunk did not leave either
        return 0

    cdef int _out(self, object data) except -1:
        # HOT PATH: every response goes through here.
        if self.closed:
            return 0
        if not self.batching:
            self.transport.write(data)
        elif self.pending_out is None:
            self.pending_out = data
        elif type(self.pending_out) is list:
            self.pending_out.append(data)
        else:
            self.pending_out = [self.pending_out, data]
        return 0

    cdef int _flush(self) except -1:
        out = self.pending_out
        if out is not None:
            self.pending_out = None
            if not self.closed:
                if type(out) is list:
                    self.transport.write(b"".join(out))
                else:
                    self.transport.write(out)
        if self.close_after_flush and not self.closed:
            self.close_after_flush = False
            self.closed = True
            self.transport.close()
        return 0

    cdef int _close(self) except -1:
        self.no_more = True
        if self.closed:
            return 0
        if self.batching:
            self.close_after_flush = True
            return 0
        self._flush()
        if not self.closed:
            self.closed = True
            self.transport.close()
        return 0

    # steps of the layers above (_lifecycle, _http1), declared here -----------------

    cdef int _send(self, Reply reply, object payload) except -1:
        raise NotImplementedError

    cdef int _responded(self, Request req, Reply reply) except -1:
        raise NotImplementedError

    cdef int _finish(self, Request req, bint keep) except -1:
        raise NotImplementedError

    cdef int _check_deadline(self, double t) except -1:
        raise NotImplementedError

    cdef int _hand_over(self, object protocol) except -1:
        # Give the transport to another protocol after an upgrade (_http1).
        raise NotImplementedError
