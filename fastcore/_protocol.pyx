# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, so that the FASTCORE_DEBUG=1 build can turn the checks back on.
"""HTTP/1.1 protocol: bytes in, route, handler, bytes out.

How this works
--------------
One ``HttpProtocol`` per connection, driven by asyncio (uvloop) callbacks.
``data_received`` feeds llhttp (through httptools) whose callbacks build a
``Request``:

    on_message_begin -> on_url* -> on_header* -> on_headers_complete
        -> on_body* -> on_message_complete

Route lookup happens at ``on_headers_complete`` so that the route's body limit
and ``Expect: 100-continue`` can be answered before the body is read. At
``on_message_complete`` the request is dispatched at once when nothing else is
in flight on the connection, else queued: responses leave in request order
(RFC 9112 §9.3.2). Everything written while ``data_received`` runs is joined
into one ``transport.write`` (pipelined responses coalesce).

Handlers run without a task: a plain function is called; a coroutine is
stepped once, and only when it suspends does an ``asyncio.Task`` take it over
(see ``fastcore/_tasks.py``).

Limits. llhttp sets none, so the protocol counts. The header section is
counted in raw bytes before llhttp sees them (``_feed``): a chunk that could
carry the head past ``max_header_size`` is split at the end of the head
(``\\r\\n\\r\\n``) and at Content-Length body boundaries so that every head
is measured exactly; only a head that begins behind a chunked body inside the
same chunk is measured by what the callbacks report, which still bounds what
is buffered to twice the limit. Bodies are counted in ``on_body``.

Timeouts are deadlines (monotonic seconds) on each connection, checked by one
periodic sweep per server: no timer handle is created per request.

Errors before a request object exists go through
``fastcore.errors.map_client_error``; the response closes the connection once
the requests before it have been answered.
"""

cimport cython

import asyncio
import logging
import re
from functools import partial
import sys
from email.utils import formatdate
from urllib.parse import quote as _quote, unquote_plus as _unquote_plus

import httptools
import orjson

from fastcore import errors
from fastcore._tasks import Resume

from cpython.ref cimport PyObject, Py_XDECREF
from cpython.dict cimport PyDict_DelItem, PyDict_GetItem, PyDict_SetItem
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy, memchr, memcmp
from libc.time cimport time as c_time, time_t
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from fastcore._router cimport Router
from fastcore._serialize cimport write_decimal

cdef extern from "strings.h":
    int strncasecmp(const char *s1, const char *s2, size_t n)

cdef extern from "Python.h":
    bint PyCoro_CheckExact(object o)
    int PyIter_Send(object iter, object arg, PyObject** presult) except -1


# --- module-level caches (no attribute lookups on the hot path) ---------------

cdef object _HttpParserUpgrade = httptools.HttpParserUpgrade
cdef object _HttpParserError = httptools.HttpParserError
cdef object _HttpRequestParser = httptools.HttpRequestParser
cdef object _orjson_dumps = orjson.dumps
cdef object _orjson_loads = orjson.loads
cdef object _JSONDecodeError = orjson.JSONDecodeError
cdef object _FastcoreError = errors.FastcoreError
cdef object _BadUrlError = errors.BadUrlError
cdef object _error_body = errors.error_body
cdef object _map_client_error = errors.map_client_error
cdef object _log = logging.getLogger("fastcore")
cdef object _CancelledError = asyncio.CancelledError
cdef object _enter_task = asyncio.tasks._enter_task
cdef object _leave_task = asyncio.tasks._leave_task
cdef object _Task = asyncio.Task


def _find_current_tasks():
    # asyncio keeps each loop's current task in a dict (CPython 3.11-3.13). When
    # it is the dict _enter_task writes, _step sets the stand-in there itself,
    # without the two calls per handler; otherwise it calls them.
    tasks = getattr(asyncio.tasks, "_current_tasks", None)
    if type(tasks) is not dict:
        return None
    key, marker = object(), object()
    _enter_task(key, marker)
    try:
        found = tasks.get(key) is marker
    finally:
        _leave_task(key, marker)
    return tasks if found else None


cdef dict _current_tasks = _find_current_tasks()


cdef inline bint _enter_stand_in(object loop, FirstStep stand_in) except -1:
    # False when a task is already current (code calling the protocol from
    # inside one): the coroutine then runs under that task.
    if _current_tasks is None:
        try:
            _enter_task(loop, stand_in)
        except RuntimeError:
            return False
        return True
    if PyDict_GetItem(_current_tasks, loop) is not NULL:
        return False
    PyDict_SetItem(_current_tasks, loop, stand_in)
    return True


cdef inline int _leave_stand_in(object loop, FirstStep stand_in) except -1:
    if _current_tasks is None:
        _leave_task(loop, stand_in)
    elif PyDict_GetItem(_current_tasks, loop) is <PyObject*>stand_in:
        PyDict_DelItem(_current_tasks, loop)
    return 0

cdef enum:
    # deadline kinds
    DL_NONE = 0
    DL_IDLE = 1        # no request in progress: close silently
    DL_HEAD = 2        # head incomplete: 408
    DL_BODY = 3        # body incomplete: 408

cdef enum:
    # transport-level failure kinds (map_client_error)
    FAIL_NONE = 0
    FAIL_MALFORMED = 1
    FAIL_TIMEOUT = 2
    FAIL_HEADER_OVERFLOW = 3
    FAIL_ERROR = 4     # a FastcoreError answered with the JSON error body (413, 417…)
    FAIL_STOP = 5      # stop parsing, write nothing more

cdef enum:
    # what a finished coroutine (or call) continues with: see _on_done
    PHASE_HANDLER = 0
    PHASE_ERROR_HANDLER = 1
    PHASE_HOOK = 2
    PHASE_PARSER = 3
    PHASE_SERIALIZATION = 4
    PHASE_ON_SEND = 5
    PHASE_ON_ERROR = 6
    PHASE_RESPONSE = 7

cdef enum:
    # request lifecycle stages up to the handler (SPEC §3)
    S_ON_REQUEST = 0
    S_PRE_PARSING = 1
    S_PARSE = 2
    S_PRE_VALIDATION = 3
    S_VALIDATE = 4
    S_PRE_HANDLER = 5
    S_HANDLER = 6
    S_DONE = 7

cdef Py_ssize_t QUEUE_PAUSE = 32        # pipelined requests queued before pause_reading
cdef Py_ssize_t JOIN_LIMIT = 16384      # bodies above this are written apart from the head

cdef dict _METHODS = {m.encode(): m for m in (
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT")}

cdef bytes CT_JSON = b"content-type: application/json; charset=utf-8\r\n"
cdef bytes CT_TEXT = b"content-type: text/plain; charset=utf-8\r\n"
cdef bytes CT_OCTET = b"content-type: application/octet-stream\r\n"
cdef bytes CT_NONE = b""
cdef bytes CONN_KEEP = b"connection: keep-alive\r\n"
cdef bytes CONN_CLOSE = b"connection: close\r\n"
cdef bytes CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"
cdef bytes BODY_503 = (b'{"error":"Service Unavailable","message":"Service Unavailable",'
                       b'"statusCode":503}')

cdef dict _status_lines = {}
cdef str _URL_SAFE = "".join(chr(c) for c in range(33, 127))


cdef bytes status_line(int status):
    line = _status_lines.get(status)
    if line is None:
        line = ("HTTP/1.1 %d %s\r\n" % (status, errors.reason_phrase(status))).encode("latin-1")
        _status_lines[status] = line
    return <bytes>line


cdef time_t _date_second = 0
cdef bytes _date_line = b""


cdef inline bytes date_line():
    # The Date header (RFC 9110 §6.6.1) changes once a second; rebuild it then.
    global _date_second, _date_line
    cdef time_t now = c_time(NULL)
    if now != _date_second:
        _date_second = now
        _date_line = ("date: " + formatdate(now, usegmt=True) + "\r\n").encode("latin-1")
    return _date_line


cdef inline double monotonic():
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


def now():
    """The clock the protocol's deadlines use (monotonic seconds)."""
    return monotonic()


cdef int _content_length_line(char* buf, Py_ssize_t length):
    # b"content-length: <length>\r\n" into buf (at least 40 bytes); its size.
    cdef int n
    memcpy(buf, b"content-length: ", 16)
    n = 16 + write_decimal(<unsigned long long>length, buf + 16)
    buf[n] = b"\r"
    buf[n + 1] = b"\n"
    return n + 2


cdef int _line_version(bytes chunk):
    # 11 or 10 when the chunk's first line, a request line llhttp accepted,
    # ends in HTTP/1.1 or HTTP/1.0; 0 when it cannot tell (ask llhttp).
    cdef const char* s = PyBytes_AS_STRING(chunk)
    cdef const char* nl = <const char*>memchr(s, b"\n", PyBytes_GET_SIZE(chunk))
    cdef Py_ssize_t end
    if nl == NULL:
        return 0
    end = nl - s
    if end > 0 and s[end - 1] == b"\r":
        end -= 1
    if end < 9 or memcmp(s + end - 8, b"HTTP/1.", 7) != 0 or s[end - 9] != b" ":
        return 0
    if s[end - 1] == b"1":
        return 11
    if s[end - 1] == b"0":
        return 10
    return 0


cdef bytes build_response(bytes status, bytes headers, bytes ctype, Py_ssize_t length,
                          bytes conn, object body):
    # HOT PATH: bench/test_bench_protocol.py (inject, parse). One allocation for
    # head and body; ``length`` < 0 writes no Content-Length, ``body`` None no body.
    cdef char clbuf[48]
    cdef int cllen = 0
    cdef bytes date = date_line()
    cdef Py_ssize_t blen = 0
    cdef Py_ssize_t total
    cdef char* p
    if length >= 0:
        cllen = _content_length_line(clbuf, length)
    if body is not None:
        blen = PyBytes_GET_SIZE(body)
    total = (PyBytes_GET_SIZE(status) + PyBytes_GET_SIZE(headers) + PyBytes_GET_SIZE(ctype)
             + cllen + PyBytes_GET_SIZE(date) + PyBytes_GET_SIZE(conn) + 2 + blen)
    out = PyBytes_FromStringAndSize(NULL, total)
    p = PyBytes_AS_STRING(out)
    memcpy(p, PyBytes_AS_STRING(status), PyBytes_GET_SIZE(status))
    p += PyBytes_GET_SIZE(status)
    memcpy(p, PyBytes_AS_STRING(headers), PyBytes_GET_SIZE(headers))
    p += PyBytes_GET_SIZE(headers)
    memcpy(p, PyBytes_AS_STRING(ctype), PyBytes_GET_SIZE(ctype))
    p += PyBytes_GET_SIZE(ctype)
    memcpy(p, clbuf, cllen)
    p += cllen
    memcpy(p, PyBytes_AS_STRING(date), PyBytes_GET_SIZE(date))
    p += PyBytes_GET_SIZE(date)
    memcpy(p, PyBytes_AS_STRING(conn), PyBytes_GET_SIZE(conn))
    p += PyBytes_GET_SIZE(conn)
    p[0] = b"\r"
    p[1] = b"\n"
    p += 2
    if blen:
        memcpy(p, PyBytes_AS_STRING(body), blen)
    return out


cdef bytes client_error_response(int status, bytes body):
    # Transport-level answers: Fastify's bytes, plus Date, then close.
    return build_response(status_line(status), b"",
                          b"content-type: application/json\r\n",
                          PyBytes_GET_SIZE(body), CONN_CLOSE, body)


cdef inline bint header_is(bytes name, const char* lower, Py_ssize_t n):
    return PyBytes_GET_SIZE(name) == n and strncasecmp(PyBytes_AS_STRING(name), lower, n) == 0


# A header name that becomes a framing header when a proxy maps "_" to "-"
# (CGI-style environments do): refused like the framing ambiguity it is.
cdef bint is_framing_alias(bytes name):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(name)
    if (n != 14 and n != 17) or memchr(PyBytes_AS_STRING(name), b"_", n) == NULL:
        return False
    alias = name.replace(b"_", b"-")
    return header_is(alias, b"content-length", 14) or header_is(alias, b"transfer-encoding", 17)


# Request-target forms other than origin-form (RFC 9112 §3.2.2-3.2.4), checked
# only for targets that do not start with "/". The host of an absolute-form
# target must be a valid, non-empty host (RFC 9110 §4.2.1); authority-form
# (host ":" port) is for CONNECT alone, and "*" for OPTIONS alone.
_HOST = (r"(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]"
         r"|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)")
cdef object _ABSOLUTE_FORM = re.compile(
    (r"[A-Za-z][A-Za-z0-9+.\-]*://(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*@)?"
     + _HOST + r"(?::[0-9]*)?(?:[/?].*)?").encode(), re.DOTALL)
cdef object _AUTHORITY_FORM = re.compile((_HOST + r":[0-9]+").encode())


cdef bint target_form_ok(bytes url, str method):
    if url == b"*":
        return method == "OPTIONS"
    if method == "CONNECT":
        return _AUTHORITY_FORM.fullmatch(url) is not None
    return _ABSOLUTE_FORM.fullmatch(url) is not None


cdef str header_value_str(object value):
    if isinstance(value, str):
        return <str>value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


cdef bytes encode_header_lines(dict headers):
    # Reply headers as written: lower-case names, one line per value. CR/LF in a
    # value was refused by reply.header(), so a value cannot split the head.
    parts = []
    for name, value in headers.items():
        if type(value) is list:
            for item in value:
                parts.append("%s: %s\r\n" % (name, header_value_str(item)))
        else:
            parts.append("%s: %s\r\n" % (name, header_value_str(value)))
    return "".join(parts).encode("latin-1")


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


cdef class Server:
    """Per-app runtime state shared by every connection of a listening app."""

    def __init__(self, Router router, RouteRecord not_found, *, loop=None,
                 Py_ssize_t max_header_size=16384, Py_ssize_t body_limit=1048576,
                 double header_timeout=10.0, double request_timeout=30.0,
                 double keep_alive_timeout=72.0, double connection_timeout=0.0,
                 double handler_timeout=0.0,
                 Py_ssize_t max_requests_per_socket=0, Py_ssize_t max_connections=0,
                 bint return_503_on_closing=True, bint expose_errors=False,
                 logger=None, ssl=None):
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
        self.max_requests_per_socket = max_requests_per_socket
        self.max_connections = max_connections
        self.return_503_on_closing = return_503_on_closing
        self.expose_errors = expose_errors
        self.logger = logger if logger is not None else _log
        self.ssl = ssl
        self.closing = False
        self.req_counter = 0
        self._all_closed = None
        cdef double smallest = 1.0
        for t in (header_timeout, request_timeout, keep_alive_timeout, connection_timeout):
            if t > 0 and t / 4 < smallest:
                smallest = t / 4
        self._tick = max(smallest, 0.01)

    def protocol_factory(self):
        """Called by ``loop.create_server`` for each accepted connection."""
        return HttpProtocol(self)

    def start(self, loop=None):
        """Start the deadline sweep on ``loop`` (the running loop by default)."""
        if loop is None:
            loop = asyncio.get_running_loop()
        self.loop = loop
        if self._sweeper is None:
            self._sweeper = loop.call_later(self._tick, self._sweep)

    def _sweep(self):
        cdef double t = monotonic()
        cdef HttpProtocol proto
        for proto in list(self.connections):
            try:
                proto._check_deadline(t)
            except Exception:
                self.logger.exception("deadline check failed")
        if self._sweeper is not None:
            self._sweeper = self.loop.call_later(self._tick, self._sweep)

    def begin_close(self, force=False, idle=True):
        """Stop serving new requests; close idle sockets (every socket if ``force``)."""
        cdef HttpProtocol proto
        self.closing = True
        for proto in list(self.connections):
            if force:
                proto.closed = True
                proto.transport.abort()
            elif idle and proto.current is None and proto.req is None:
                proto._close()

    async def wait_closed(self):
        """Wait until every connection has gone, then stop the sweep."""
        if self.connections:
            self._all_closed = self.loop.create_future()
            await self._all_closed
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    cdef void _connection_lost(self, HttpProtocol proto):
        self.connections.discard(proto)
        if not self.connections and self._all_closed is not None:
            if not self._all_closed.done():
                self._all_closed.set_result(None)

    def next_request_seq(self):
        self.req_counter += 1
        return self.req_counter


@cython.freelist(16)
cdef class FirstStep:
    """The current task while a handler runs its first, task-less step.

    ``asyncio.current_task()`` returns it, so ``asyncio.timeout()`` and other
    code that needs a task work from the handler's first line. Once a real
    task takes over, ``cancel``/``cancelling``/``uncancel`` go to it; cancels
    asked for before that are replayed on it.
    """

    def __cinit__(self, loop):
        self._loop = loop

    def get_loop(self):
        return self._loop

    def cancel(self, msg=None):
        if self.task is not None:
            return self.task.cancel(msg)
        self._cancel_requests += 1
        return True

    def cancelling(self):
        if self.task is not None:
            return self.task.cancelling()
        return self._cancel_requests

    def uncancel(self):
        if self.task is not None:
            return self.task.uncancel()
        if self._cancel_requests:
            self._cancel_requests -= 1
        return self._cancel_requests

    def done(self):
        return self.task is not None and self.task.done()

    def get_name(self):
        return "fastcore-handler"

    def adopt(self, task):
        self.task = task
        for _ in range(self._cancel_requests):
            task.cancel()


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


cdef int _error_status(object exc):
    # An error's own status when it is an HTTP error status, else 500 (SPEC §6).
    code = getattr(exc, "status_code", None)
    if type(code) is int and 400 <= code <= 599:
        return code
    return 500


def _log_task_error(task):
    if not task.cancelled() and task.exception() is not None:
        _log.error("hook task failed", exc_info=task.exception())


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


# --- request and reply ---------------------------------------------------------

@cython.freelist(64)
cdef class Request:
    """The request as the handler sees it; heavier fields are built on first use."""

    @property
    def headers(self):
        cdef Py_ssize_t i
        cdef Headers h
        if self._headers is None:
            h = Headers()
            raw = self._raw_headers
            for i in range(0, len(raw), 2):
                name = (<bytes>raw[i]).decode("latin-1").lower()
                value = (<bytes>raw[i + 1]).decode("latin-1")
                old = dict.get(h, name)
                if old is None:
                    dict.__setitem__(h, name, value)
                elif name == "set-cookie":
                    dict.__setitem__(h, name, (old if type(old) is list else [old]) + [value])
                else:
                    dict.__setitem__(h, name, old + ", " + value)
            self._headers = h
        return self._headers

    @property
    def raw_headers(self):
        """The header lines as received: a list of (name, value) bytes pairs."""
        raw = self._raw_headers
        return [(raw[i], raw[i + 1]) for i in range(0, len(raw), 2)]

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
    def app(self):
        return self.record.context if self.record is not None else None

    @property
    def content_type(self):
        return self._ctype.decode("latin-1") if self._ctype is not None else None

    @property
    def log(self):
        """A logger bound to this request's id (the module logger when logging is off)."""
        cdef Server server = self.proto.server
        if server.request_logger is None:
            return server.logger
        if self._log is None:
            self._log = server.request_logger.child(self)
        return self._log

    def __getattr__(self, name):
        # Request decorations: defaults declared with decorate_request, looked
        # up in the route's context (values set per request live in __dict__).
        if name[:1] != "_" and self.record is not None and self.record.context is not None:
            lookup = getattr(self.record.context, "get_request_decoration", None)
            if lookup is not None:
                return lookup(name)
        raise AttributeError(name)

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
        cdef str key = name.lower()
        if type(value) is list:
            for item in value:
                _check_header_value(key, item)
        else:
            _check_header_value(key, value)
        if self._headers is None:
            self._headers = {}
        if key == "content-type":
            self._ctype = header_value_str(value)
            return self
        if key == "set-cookie" and key in self._headers:
            old = self._headers[key]
            self._headers[key] = (old if type(old) is list else [old]) + (
                value if type(value) is list else [value])
            return self
        self._headers[key] = value
        return self

    def headers(self, mapping):
        for name, value in mapping.items():
            self.header(name, value)
        return self

    def get_header(self, name):
        cdef str key = name.lower()
        if key == "content-type":
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

    def __getattr__(self, name):
        # Reply decorations (decorate_reply), as for requests.
        record = self.request.record if self.request is not None else None
        if name[:1] != "_" and record is not None and record.context is not None:
            lookup = getattr(record.context, "get_reply_decoration", None)
            if lookup is not None:
                return lookup(name)
        raise AttributeError(name)

    def __repr__(self):
        return "<Reply %d>" % self._status


cdef object _TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
cdef object _BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]").search


cdef _check_header_value(str name, object value):
    # RFC 9110 §5.1: a name is a token; §5.5: no CR, LF, NUL or other controls
    # in a value, and the head is written as latin-1 bytes.
    s = header_value_str(value)
    if _TOKEN(name) is None:
        raise errors.ReplyInvalidHeaderError("Invalid header name %r" % (name,))
    if _BAD_VALUE(s) is not None:
        raise errors.ReplyInvalidHeaderError("Invalid character in header %r" % (name,))
    try:
        s.encode("latin-1")
    except UnicodeEncodeError:
        raise errors.ReplyInvalidHeaderError(
            "Header %r holds characters outside latin-1" % (name,)) from None


class _Abort(Exception):
    """Raised in an llhttp callback to stop parsing; the reason is on the protocol."""


# --- the protocol ----------------------------------------------------------------

cdef class HttpProtocol:
    """One HTTP/1.1 connection (asyncio protocol interface)."""

    def __init__(self, Server server):
        self.server = server
        self.in_head = True
        self.body_left = -1
        self.tail = b""

    # asyncio callbacks ---------------------------------------------------------

    def connection_made(self, transport):
        cdef Server server = self.server
        self.transport = transport
        if server.closing or (server.max_connections > 0
                              and len(server.connections) >= server.max_connections):
            self.closed = True
            transport.abort()
            return
        server.connections.add(self)
        self.parser = _HttpRequestParser(self)
        self.last_activity = monotonic()
        if server.header_timeout > 0:
            self.deadline = self.last_activity + server.header_timeout
            self.deadline_kind = DL_IDLE

    def connection_lost(self, exc):
        cdef Request req
        if self.closed and self.transport is None:
            return
        self.closed = True
        self.no_more = True
        self.head_chunk = None
        self.server._connection_lost(self)
        req = self.current
        if req is not None and not req._answered and not req.is_aborted:
            self._aborted(req)
        if self.queue:
            for req in self.queue:
                if not req.is_aborted:
                    self._aborted(req)
            self.queue = None
        if self.stream_task is not None:
            self.stream_task.cancel()
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)
        self.parser = None

    def _aborted(self, Request req):
        # The client went away before its response: on_request_abort hooks.
        req.is_aborted = True
        if req.record is not None and req.record.on_request_abort is not None:
            self._run_simple_hooks(req, None, req.record.on_request_abort, "on_request_abort")

    def eof_received(self):
        # The client closed its sending side. Like Node, that aborts what is in
        # flight (on_request_abort, request.is_aborted); unlike Node the answers
        # are still written, for clients that only half-closed. Then close.
        cdef Request req
        self.no_more = True
        if self.current is not None or self.queue:
            if self.current is not None and not self.current._answered:
                self._aborted(self.current)
            for req in self.queue or ():
                self._aborted(req)
            return True
        return False

    def pause_writing(self):
        self.paused_writing = True
        if not self.paused_reading and self.transport is not None:
            # A client that stops reading stops being read (RFC 9112 §9.3.2).
            self.paused_reading = True
            self.transport.pause_reading()

    def resume_writing(self):
        self.paused_writing = False
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)
        if self.paused_reading and not (self.queue and len(self.queue) >= QUEUE_PAUSE):
            self.paused_reading = False
            if not self.closed:
                self.transport.resume_reading()

    def data_received(self, data):
        # HOT PATH: bench/test_bench_protocol.py (parse: GET, POST, pipelined x16)
        if self.held is not None:
            self._collect_held(data)
            self._flush()
            return
        if self.no_more:
            return
        if self.server.connection_timeout > 0:
            self.last_activity = monotonic()
        self.batching = True
        try:
            self._feed(data)
        except _HttpParserUpgrade as exc:
            # No protocol switch is offered (RFC 9110 §7.8 lets a server ignore
            # Upgrade): the request is answered as a plain one, then the
            # connection closes, since what follows is another protocol's data.
            self.upgraded = True
            self.no_more = True
            if self.held is not None:
                self._collect_held(data[exc.args[0]:])
        except _HttpParserError as exc:
            self._parse_error(exc)
        finally:
            self.batching = False
            self._flush()

    # llhttp callbacks ------------------------------------------------------------

    def on_message_begin(self):
        cdef Request req
        cdef Server server = self.server
        cdef double t
        if self.no_more:
            self.abort_kind = FAIL_STOP
            raise _Abort()
        self.in_head = True
        self.head_size = 0
        self.head_seen = 0
        self.begun += 1
        self.url = None
        t = monotonic()
        req = Request.__new__(Request)
        req.proto = self
        req._raw_headers = []
        req._clen = -1
        req._start = t
        self.req = req
        if server.header_timeout > 0:
            self.deadline = t + server.header_timeout
            self.deadline_kind = DL_HEAD

    def on_url(self, bytes url):
        self.head_seen += PyBytes_GET_SIZE(url) + 12
        if self.url is None:
            self.url = url
        else:
            self.url = self.url + url

    def on_header(self, bytes name, bytes value):
        cdef Request req = self.req
        cdef Py_ssize_t n = PyBytes_GET_SIZE(name)
        self.head_seen += n + PyBytes_GET_SIZE(value) + 4
        if self.head_seen > self.server.max_header_size:
            self.abort_kind = FAIL_HEADER_OVERFLOW
            raise _Abort()
        if not self.in_head:
            self._on_trailer(name)
        req._raw_headers.append(name)
        req._raw_headers.append(value)
        if n == 12 and header_is(name, b"content-type", 12):
            if req._ctype is not None:
                # Two Content-Type headers: which media type the body is in is
                # ambiguous (RFC 9110 §5.3 allows no list for it).
                self.abort_kind = FAIL_MALFORMED
                raise _Abort()
            req._ctype = value
        elif n == 14 and header_is(name, b"content-length", 14):
            req._clen = int(value)
        elif n == 4 and header_is(name, b"host", 4):
            if req._host is not None:
                # Two Host headers: ambiguous target (RFC 9112 §3.2).
                self.abort_kind = FAIL_MALFORMED
                raise _Abort()
            req._host = value
        elif n == 17 and header_is(name, b"transfer-encoding", 17):
            req._chunked = True
        elif n == 6 and header_is(name, b"expect", 6):
            req._expect = value
        elif n == 7 and header_is(name, b"upgrade", 7):
            req._upgrade_header = True
        elif is_framing_alias(name):
            self.abort_kind = FAIL_MALFORMED
            raise _Abort()

    cdef int _on_trailer(self, bytes name) except -1:
        # Fields that frame or route the message have no meaning in a trailer
        # section and must not be merged into the header section (RFC 9110
        # §6.5.1): a request that sends one is refused.
        if (header_is(name, b"content-length", 14) or header_is(name, b"transfer-encoding", 17)
                or header_is(name, b"host", 4)):
            self.abort_kind = FAIL_MALFORMED
            raise _Abort()
        return 0

    def on_headers_complete(self):
        # HOT PATH: bench/test_bench_protocol.py (parse)
        cdef Request req = self.req
        cdef Server server = self.server
        cdef RouteRecord record
        cdef bytes url = self.url
        cdef const char* s
        cdef const char* q
        cdef Py_ssize_t n, limit
        cdef int version = 0
        cdef object parser = self.parser
        self.in_head = False
        if self.head_chunk is not None:
            version = _line_version(<bytes>self.head_chunk)
            self.head_chunk = None
        if version == 0:
            text = parser.get_http_version()
            version = 11 if text == "1.1" else 10 if text == "1.0" else -1
        if version == 11:
            if req._host is None:
                self.abort_kind = FAIL_MALFORMED
                raise _Abort()
        elif version == 10:
            req._http10 = True
            if req._chunked:
                # Transfer-Encoding in HTTP/1.0: the framing is faulty (RFC 9112 §6.1).
                self.abort_kind = FAIL_MALFORMED
                raise _Abort()
        else:
            # HTTP/0.9 request lines and other majors are refused (RFC 9112 §2.3).
            self.abort_kind = FAIL_MALFORMED
            raise _Abort()
        if url is None or not url.isascii():
            # Raw non-ASCII bytes in the target: clients must percent-encode.
            self.abort_kind = FAIL_MALFORMED
            raise _Abort()
        method = parser.get_method()
        req.method = _METHODS.get(method) or method.decode("ascii")
        req.is_head = req.method == "HEAD"
        s = PyBytes_AS_STRING(url)
        n = PyBytes_GET_SIZE(url)
        if (n == 0 or s[0] != b"/") and not target_form_ok(url, req.method):
            self.abort_kind = FAIL_MALFORMED
            raise _Abort()
        req.url = url.decode("ascii")
        q = <const char*>memchr(s, b"?", n)
        if q == NULL:
            req.path = req.url
            req.query_string = ""
        else:
            req.path = req.url[:q - s]
            req.query_string = req.url[q - s + 1:]
        req.keep_alive = parser.should_keep_alive()
        # llhttp only upgrades on an Upgrade header or CONNECT.
        if (req._upgrade_header or req.method == "CONNECT") and parser.should_upgrade():
            # llhttp will skip the body of an upgrade request: read it here.
            req.keep_alive = False
            if req._chunked:
                self.abort_kind = FAIL_MALFORMED
                raise _Abort()
            if req._clen > 0:
                req._held_left = req._clen
        if server.rewrite_url is not None:
            self._rewrite(req)
        if server.closing and server.return_503_on_closing:
            req._closing_503 = True
        elif req._lookup_error is None:
            self._route(req)
        record = req.record
        limit = server.body_limit
        if record is not None:
            if record.body_limit >= 0:
                limit = record.body_limit
            if record.parsers is not None and req._ctype is not None:
                # A parser's own body_limit wins for the bodies it parses.
                parser = record.parsers.match(req._ctype.decode("latin-1"))
                if parser is not None and parser.body_limit is not None:
                    limit = parser.body_limit
        req._body_limit = limit
        if req._clen > limit:
            # Refused from the declared length alone, before reading the body.
            self.abort_kind = FAIL_ERROR
            self.abort_error = errors.CtpBodyTooLargeError()
            raise _Abort()
        self.body_left = -1 if req._chunked else (req._clen if req._clen > 0 else 0)
        if server.request_timeout > 0:
            self.deadline = req._start + server.request_timeout
            self.deadline_kind = DL_BODY
        else:
            self.deadline = 0
            self.deadline_kind = DL_NONE
        if req._expect is not None and not req._http10:
            self._expect_continue(req)

    def on_body(self, bytes body):
        cdef Request req = self.req
        cdef Py_ssize_t n = PyBytes_GET_SIZE(body)
        req._body_len += n
        if req._body_len > req._body_limit:
            self.abort_kind = FAIL_ERROR
            self.abort_error = errors.CtpBodyTooLargeError()
            raise _Abort()
        if self.body_left > 0:
            self.body_left -= n
        # Raw bytes gather in raw_body; body is set by the parser (SPEC §3).
        if req.raw_body is None:
            req.raw_body = body
        elif type(req.raw_body) is list:
            req.raw_body.append(body)
        else:
            req.raw_body = [req.raw_body, body]

    def on_message_complete(self):
        cdef Request req = self.req
        self.req = None
        self.in_head = True
        self.head_size = 0
        self.head_seen = 0
        self.body_left = -1
        if type(req.raw_body) is list:
            req.raw_body = b"".join(req.raw_body)
        if req._held_left > 0:
            self.held = req
            return
        self.deadline = 0
        self.deadline_kind = DL_NONE
        self._enqueue(req)

    def _collect_held(self, data):
        """Read the body of an upgrade request that llhttp skipped (by length)."""
        cdef Request req = self.held
        cdef Py_ssize_t take = min(len(data), req._held_left)
        if take > 0:
            part = bytes(data[:take])
            req._held_left -= take
            req.raw_body = part if req.raw_body is None else req.raw_body + part
        if req._held_left == 0:
            self.held = None
            self.deadline = 0
            self.deadline_kind = DL_NONE
            self.batching = True
            try:
                self._enqueue(req)
            finally:
                self.batching = False

    # parsing helpers -------------------------------------------------------------

    cdef int _rewrite(self, Request req) except -1:
        # rewrite_url(request) -> str runs before routing (SPEC §5).
        try:
            url = self.server.rewrite_url(req)
        except BaseException as exc:
            req._lookup_error = exc
            return 0
        if not isinstance(url, str):
            req._lookup_error = errors.RouteRewriteNotStrError(
                'Rewrite url for "%s" needs to be of type "str" but received "%s"'
                % (req.url, type(url).__name__))
            return 0
        req.url = url
        path, sep, query = url.partition("?")
        req.path = path
        req.query_string = query
        return 0

    cdef int _route(self, Request req) except -1:
        cdef Server server = self.server
        cdef Router router = server.router
        host = None
        version = None
        if router.has_host_constraints:
            if req._host is not None:
                host = (<bytes>req._host).decode("latin-1")
        if router.has_version_constraints:
            version = req.headers.get("accept-version")
        try:
            if server.derive_constraints is None:
                found = router.find(req.method, req.path, host, version)
            else:
                custom = {name: derive(req) for name, derive in server.derive_constraints}
                found = router.find(req.method, req.path, host, version, custom)
        except Exception as exc:
            # A bad URL, or a strategy's derive() that raised: the error handler answers.
            req._lookup_error = exc
            return 0
        if found is not None:
            req.record = <RouteRecord>found[0]
            req.params = <dict>found[1]
        return 0

    cdef int _expect_continue(self, Request req) except -1:
        # RFC 9110 §10.1.1: answer 100 before the client sends the body.
        cdef bytes value = req._expect
        if value.lower() != b"100-continue":
            self.abort_kind = FAIL_ERROR
            self.abort_error = errors.ExpectationFailedError()
            raise _Abort()
        if self.current is None and not self.queue and (req._clen != 0 or req._chunked):
            self._out(CONTINUE_100)
            self._flush_now()
        return 0

    def _peername(self):
        if self.peer is None and self.transport is not None:
            self.peer = self.transport.get_extra_info("peername") or ()
        return self.peer

    def _flush_now(self):
        cdef bint was = self.batching
        self.batching = False
        self._flush()
        self.batching = was

    cdef int _feed(self, object data) except -1:
        # HOT PATH: bench/test_bench_protocol.py (parse)
        cdef Py_ssize_t n = len(data)
        cdef unsigned long long begun
        if self.in_head and self.head_size + n > self.server.max_header_size:
            return self._feed_guarded(data)
        cdef bint idle = self.in_head and self.req is None
        begun = self.begun
        if self.in_head:
            self.head_size += n
        # A head that begins at the chunk's first byte can have its request
        # line read back from the chunk (see _line_version).
        self.head_chunk = data if idle and type(data) is bytes else None
        self.parser.feed_data(data)
        if self.in_head and self.begun != begun:
            if idle and self.begun == begun + 1:
                # The head began at the chunk's first byte and is not complete yet.
                self.head_size = n
            else:
                # A head began inside the chunk: count what the callbacks saw of it.
                self.head_size = self.head_seen
        if self.in_head and self.head_size > 0:
            self.tail = bytes(data[n - 3 if n >= 3 else 0:])
        return 0

    cdef int _feed_guarded(self, object data) except -1:
        # The chunk may carry a head past the limit: feed it head by head.
        cdef bytes buf = bytes(data)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(buf)
        cdef Py_ssize_t pos = 0, end, k
        cdef Py_ssize_t limit = self.server.max_header_size
        self.head_chunk = None
        while pos < n and not self.no_more and self.abort_kind == FAIL_NONE:
            if self.in_head:
                end = self._head_end(buf, pos)
                if end < 0:
                    if self.head_size + (n - pos) > limit:
                        self._fail(FAIL_HEADER_OVERFLOW, None)
                        return 0
                    self.head_size += n - pos
                    self.tail = buf[n - 3:] if n >= 3 else buf
                    self._feed_part(buf[pos:])
                    return 0
                if self.head_size + (end - pos) > limit:
                    self._fail(FAIL_HEADER_OVERFLOW, None)
                    return 0
                self._feed_part(buf[pos:end])
                pos = end
            elif self.body_left > 0:
                k = min(n - pos, self.body_left)
                self._feed_part(buf[pos:pos + k])
                pos += k
            else:
                # A chunked body: its end is only known to llhttp.
                begun = self.begun
                self._feed_part(buf[pos:])
                if self.in_head and self.begun != begun:
                    self.head_size = self.head_seen
                return 0
        return 0

    def _head_end(self, bytes buf, Py_ssize_t pos):
        """Index just past the first CRLFCRLF at or after ``pos`` (-1 if none),
        looking back into the previous chunk when a head spans chunks."""
        cdef Py_ssize_t i
        if pos == 0 and self.head_size > 0 and self.tail:
            joined = self.tail + buf[:3]
            i = joined.find(b"\r\n\r\n")
            if i >= 0:
                return i + 4 - len(self.tail)
        i = buf.find(b"\r\n\r\n", pos)
        return i + 4 if i >= 0 else -1

    cdef int _feed_part(self, object part) except -1:
        self.parser.feed_data(part)
        return 0

    cdef int _parse_error(self, object exc) except -1:
        cdef int kind = self.abort_kind
        self.abort_kind = FAIL_NONE
        if kind == FAIL_STOP or self.close_after_flush or self.closed:
            # The last response said "close": bytes after it are not answered
            # (RFC 9112 §9.6).
            return 0
        if kind == FAIL_NONE:
            if isinstance(exc.__context__, Exception) and not isinstance(exc.__context__, _Abort):
                # A bug in a callback must not take the worker down: log it.
                self.server.logger.error("protocol callback failed", exc_info=exc.__context__)
            kind = FAIL_MALFORMED
        self._fail(kind, self.abort_error)
        self.abort_error = None
        return 0

    cdef int _fail(self, int kind, object error) except -1:
        # Stop reading; answer once the requests before this one are answered.
        self.no_more = True
        self.req = None
        if self.current is not None:
            self.fail_kind = kind
            self.fail_error = error
            return 0
        return self._write_fail(kind, error)

    cdef int _write_fail(self, int kind, object error) except -1:
        cdef bytes body
        if kind == FAIL_ERROR:
            body = _error_body(error.status_code, str(error), error.code)
            self._out(build_response(status_line(error.status_code), b"", CT_JSON,
                                     PyBytes_GET_SIZE(body), CONN_CLOSE, body))
        elif kind != FAIL_STOP:
            mapped = _map_client_error(
                "timeout" if kind == FAIL_TIMEOUT else
                "header_overflow" if kind == FAIL_HEADER_OVERFLOW else "malformed")
            if mapped is not None:
                self._out(client_error_response(mapped[0], mapped[1]))
        self._close()
        return 0

    # dispatch --------------------------------------------------------------------

    cdef int _enqueue(self, Request req) except -1:
        if self.current is None and not self.queue:
            self.current = req
            return self._dispatch(req)
        if self.queue is None:
            self.queue = []
        self.queue.append(req)
        if len(self.queue) >= QUEUE_PAUSE and not self.paused_reading:
            self.paused_reading = True
            self.transport.pause_reading()
        return 0

    cdef int _drain(self) except -1:
        # Answer queued pipelined requests in order; a loop, not recursion.
        cdef Request req
        if self.draining:
            return 0
        self.draining = True
        try:
            while self.current is None and self.queue:
                req = self.queue.pop(0)
                self.current = req
                self._dispatch(req)
        finally:
            self.draining = False
        return 0

    cdef int _dispatch(self, Request req) except -1:
        # HOT PATH: bench/test_bench_protocol.py (inject /json)
        cdef Server server = self.server
        cdef Reply reply = Reply.__new__(Reply)
        server.req_counter += 1
        req._seq = server.req_counter
        self.nrequests += 1
        reply.request = req
        reply.proto = self
        reply._status = 200
        if req._closing_503:
            reply.sent = True
            reply._written = True
            self._out(build_response(status_line(503), b"", b"content-type: application/json\r\n",
                                     PyBytes_GET_SIZE(BODY_503), CONN_CLOSE, BODY_503))
            return self._finish(req, False)
        if req.record is None:
            if server.not_found_resolver is not None:
                try:
                    req.record = server.not_found_resolver(req.path)
                except BaseException as exc:
                    server.logger.error("not-found resolver failed", exc_info=exc)
            if req.record is None:
                req.record = server.not_found
            reply._status = 404
        if req.params is None:
            req.params = {}
        if server.request_logger is not None:
            req._logged = True
            try:
                server.request_logger.incoming(req)
            except BaseException as exc:
                server.logger.error("request logging failed", exc_info=exc)
        if req._lookup_error is not None:
            # A bad URL is rendered by framework_errors, or by default; the
            # request never reaches hooks or handlers (as in Fastify).
            if server.framework_errors is not None:
                reply._error_depth = 1 << 20
                return self._run(req, reply, server.framework_errors,
                                 (req._lookup_error, req, reply), PHASE_ERROR_HANDLER)
            return self._write_error(req, reply, req._lookup_error)
        return self._advance(req, reply)

    cdef int _advance(self, Request req, Reply reply) except -1:
        # HOT PATH: bench/test_bench_protocol.py (inject /json). The lifecycle up
        # to the handler; a hook that returns a coroutine which suspends resumes
        # it through _on_done. Stages with no hooks cost one None check.
        cdef RouteRecord record = req.record
        cdef int stage
        cdef object hooks
        try:
            while True:
                if reply.sent or reply.hijacked or self.closed:
                    return self._after_short_circuit(req, reply)
                stage = req._stage
                if stage == S_ON_REQUEST:
                    hooks = record.on_request
                elif stage == S_PRE_PARSING:
                    hooks = record.pre_parsing
                elif stage == S_PARSE:
                    req._stage = S_PRE_VALIDATION
                    req._hook_i = 0
                    if (req.raw_body is not None or req._clen == 0) and not record.is_not_found:
                        if self._parse_body(req, reply):
                            return 0  # an async parser is running
                    continue
                elif stage == S_PRE_VALIDATION:
                    hooks = record.pre_validation
                elif stage == S_VALIDATE:
                    req._stage = S_PRE_HANDLER
                    req._hook_i = 0
                    if record.validate is not None:
                        record.validate(req)
                    continue
                elif stage == S_PRE_HANDLER:
                    hooks = record.pre_handler
                else:
                    req._stage = S_DONE
                    return self._run(req, reply, record.handler, None, PHASE_HANDLER)
                if hooks is None or req._hook_i >= len(<tuple>hooks):
                    req._stage = stage + 1
                    req._hook_i = 0
                    continue
                fn = (<tuple>hooks)[req._hook_i]
                req._hook_i += 1
                result = fn(req, reply)
                if PyCoro_CheckExact(result):
                    return self._step(req, reply, result, PHASE_HOOK)
        except BaseException as exc:
            return self._error(req, reply, exc)

    cdef int _after_short_circuit(self, Request req, Reply reply) except -1:
        if reply.hijacked and not reply.sent:
            # The handler took the socket: nothing more is parsed or written.
            self.current = None
            self.no_more = True
        return 0

    cdef int _parse_body(self, Request req, Reply reply) except -1:
        # Returns 1 when an async parser took over (it resumes _advance).
        cdef bytes ctype = req._ctype
        cdef object parsers = req.record.parsers
        body = req.raw_body
        if body is None:
            body = b""
        if ctype is None:
            if len(body) == 0:
                req.body = None
                return 0
            if parsers is not None:
                parser = parsers.match("")
                if parser is not None and parser.builtin is None:
                    return self._custom_parse(req, reply, parser, body)
            raise errors.CtpInvalidMediaTypeError()
        if parsers is not None:
            parser = parsers.match(ctype.decode("latin-1"))
            if parser is None:
                if len(body) == 0:
                    req.body = None
                    return 0
                raise errors.CtpInvalidMediaTypeError(
                    "Unsupported Media Type: %s" % ctype.decode("latin-1"))
            if parser.builtin is None:
                return self._custom_parse(req, reply, parser, body)
            if parser.builtin == "json":
                return self._parse_json(req, body)
            return self._parse_text(req, body)
        lowered = ctype.lower()
        if lowered.startswith(b"application/json") or (b"+json" in lowered.split(b";")[0]):
            return self._parse_json(req, body)
        if lowered.startswith(b"text/plain"):
            return self._parse_text(req, body)
        if len(body) == 0:
            req.body = None
            return 0
        raise errors.CtpInvalidMediaTypeError(
            "Unsupported Media Type: %s" % ctype.decode("latin-1"))

    cdef int _parse_json(self, Request req, object body) except -1:
        if len(body) == 0:
            if req.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
                req.body = None
                return 0
            raise errors.CtpEmptyJsonBodyError()
        try:
            req.body = _orjson_loads(body)
        except _JSONDecodeError:
            raise errors.CtpInvalidJsonError() from None
        return 0

    cdef int _parse_text(self, Request req, object body) except -1:
        try:
            req.body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.CtpInvalidMediaTypeError("Body is not valid UTF-8 text") from None
        return 0

    cdef int _custom_parse(self, Request req, Reply reply, object parser, object body) except -1:
        if parser.parse_as == "str":
            body = body.decode("utf-8")
        result = parser.fn(req, body)
        if PyCoro_CheckExact(result):
            self._step(req, reply, result, PHASE_PARSER)
            return 1
        req.body = result
        return 0

    cdef int _run(self, Request req, Reply reply, object fn, object args, int phase) except -1:
        # HOT PATH: bench/test_bench_protocol.py (inject /json)
        try:
            if args is None:
                result = fn(req, reply)
            else:
                result = fn(*args)
            if PyCoro_CheckExact(result):
                return self._step(req, reply, result, phase)
        except BaseException as exc:
            return self._on_fail(req, reply, phase, exc)
        return self._on_done(req, reply, phase, result)

    cdef int _step(self, Request req, Reply reply, object coro, int phase) except -1:
        # HOT PATH: bench/test_bench_hooks.py. Run the coroutine until it
        # finishes or really waits (see _tasks.py). PyIter_Send reports a return
        # without raising StopIteration. The stand-in current task is reused
        # until a real task adopts it.
        cdef object loop = self.server.loop
        cdef FirstStep stand_in
        cdef PyObject* out = NULL
        cdef int status
        if loop is None:
            loop = self.server.loop = asyncio.get_event_loop()
        stand_in = self.stand_in
        if stand_in is None or stand_in.task is not None or stand_in._loop is not loop:
            stand_in = self.stand_in = FirstStep(loop)
        if not _enter_stand_in(loop, stand_in):
            stand_in = None
        try:
            status = PyIter_Send(coro, None, &out)
        except BaseException as exc:
            if stand_in is not None:
                _leave_stand_in(loop, stand_in)
            return self._on_fail(req, reply, phase, exc)
        if stand_in is not None:
            _leave_stand_in(loop, stand_in)
        value = <object>out
        Py_XDECREF(out)
        if status == 0:
            return self._on_done(req, reply, phase, value)
        task = _Task(Resume(coro, value), loop=loop)
        if stand_in is not None:
            stand_in.adopt(task)
        self._track_task(req, reply, task, phase, loop)
        return 0

    cdef int _track_task(self, Request req, Reply reply, object task, int phase, object loop) except -1:
        cdef double limit = req.record.handler_timeout
        if limit < 0:
            limit = self.server.handler_timeout
        reply._task = task
        task.add_done_callback(partial(self._task_done_cb, req, reply, phase))
        if limit > 0 and reply._timer is None and phase != PHASE_RESPONSE:
            # handler_timeout counts from the request's arrival; only work that
            # waits can overrun it, so only then is a timer armed (once).
            reply._timer = loop.call_at(
                loop.time() + max(0.0, limit - (monotonic() - req._start)),
                self._handler_timed_out, req, reply)
        return 0

    def _handler_timed_out(self, Request req, Reply reply):
        reply._timer = None
        if reply._written or reply.hijacked or self.closed:
            return
        task = reply._task
        if task is not None and not task.done():
            task.cancel()
        self._run_simple_hooks(req, reply, req.record.on_timeout, "on_timeout")
        reply.sent = False
        reply._error_depth = 1 << 20
        self._write_error(req, reply, errors.HandlerTimeoutError())
        self._flush()

    def _task_done_cb(self, Request req, Reply reply, int phase, task):
        if reply._task is task:
            reply._task = None
        if task.cancelled() and (reply._written or self.closed):
            return
        self._task_done(req, reply, task, phase)
        if not self.batching:
            self._flush()

    def _task_done(self, Request req, Reply reply, task, int phase):
        try:
            value = task.result()
        except BaseException as exc:
            return self._on_fail(req, reply, phase, exc)
        return self._on_done(req, reply, phase, value)

    cdef int _on_done(self, Request req, Reply reply, int phase, object value) except -1:
        # Where each kind of work continues once it has finished.
        if phase == PHASE_HANDLER or phase == PHASE_ERROR_HANDLER:
            return self._complete(req, reply, value)
        if phase == PHASE_HOOK:
            return self._advance(req, reply)
        if phase == PHASE_PARSER:
            req.body = value
            return self._advance(req, reply)
        if phase == PHASE_SERIALIZATION or phase == PHASE_ON_SEND:
            try:
                if phase == PHASE_SERIALIZATION:
                    return self._serialize_next(req, reply, value)
                return self._on_send_next(req, reply, value)
            except BaseException as exc:
                return self._error(req, reply, exc)
        if phase == PHASE_ON_ERROR:
            return self._on_error_next(req, reply)
        return 0  # PHASE_RESPONSE: nothing follows

    cdef int _on_fail(self, Request req, Reply reply, int phase, object exc) except -1:
        if phase == PHASE_RESPONSE or phase == PHASE_ON_ERROR:
            if not isinstance(exc, _CancelledError):
                self.server.logger.error("%s hook failed", "on_response" if phase == PHASE_RESPONSE
                                         else "on_error", exc_info=exc)
            if phase == PHASE_ON_ERROR:
                return self._on_error_next(req, reply)
            return 0
        return self._error(req, reply, exc)

    cdef int _complete(self, Request req, Reply reply, object value) except -1:
        if value is reply:
            # ``return reply`` (or ``return reply.send(x)``): the reply is, or
            # will be, sent by the handler itself.
            return 0
        if reply.sent or reply.hijacked:
            if value is not None and reply.sent:
                self.server.logger.warning(
                    "Reply was already sent; the handler's return value is ignored")
            return self._after_short_circuit(req, reply)
        try:
            self._send(reply, value)
        except BaseException as exc:
            return self._error(req, reply, exc)
        return 0

    # errors ---------------------------------------------------------------------------

    cdef int _error(self, Request req, Reply reply, object exc) except -1:
        # The error handlers of the route's contexts, nearest first; one that
        # raises passes its error to the next; the default renders the last.
        cdef RouteRecord record = req.record
        cdef int i
        if reply._written or self.closed:
            if not isinstance(exc, _CancelledError):
                self.server.logger.error("error after the reply was sent", exc_info=exc)
            if reply._written and self.stream_task is not None:
                self.transport.abort()
            return 0
        reply.sent = False
        handlers = record.error_handlers if record is not None else None
        i = reply._error_depth
        reply._error_depth += 1
        if handlers is not None and i < len(<tuple>handlers):
            reply._status = _error_status(exc)
            return self._run(req, reply, (<tuple>handlers)[i], (exc, req, reply),
                             PHASE_ERROR_HANDLER)
        return self._write_error(req, reply, exc)

    cdef int _write_error(self, Request req, Reply reply, object exc) except -1:
        # on_error hooks see the error that is about to be sent back (they
        # cannot change the reply), then the default error body is written.
        cdef RouteRecord record = req.record
        req._error = exc
        if record is not None and record.on_error is not None and not req._on_error_ran:
            req._on_error_ran = True
            req._hook_i = 0
            return self._on_error_next(req, reply)
        return self._default_error(req, reply, exc)

    cdef int _on_error_next(self, Request req, Reply reply) except -1:
        cdef tuple hooks = req.record.on_error
        while req._hook_i < len(hooks):
            fn = hooks[req._hook_i]
            req._hook_i += 1
            try:
                result = fn(req, reply, req._error)
                if PyCoro_CheckExact(result):
                    return self._step(req, reply, result, PHASE_ON_ERROR)
            except BaseException as exc:
                self.server.logger.error("on_error hook failed", exc_info=exc)
        if reply._written or self.closed:
            return 0
        return self._default_error(req, reply, req._error)

    cdef int _default_error(self, Request req, Reply reply, object exc) except -1:
        cdef int status = _error_status(exc)
        cdef bytes body
        expected = isinstance(exc, _FastcoreError)
        if status >= 500 and not expected:
            self.server.logger.error("unhandled error in %s %s", req.method, req.url, exc_info=exc)
            message = str(exc) if self.server.expose_errors else "Internal Server Error"
        else:
            message = str(exc)
        err_code = getattr(exc, "code", None)
        if type(exc) is _BadUrlError:
            # Fastify's bad-URL answer has its own key order.
            body = _orjson_dumps({"error": "Bad Request", "code": err_code, "message": message,
                                  "statusCode": 400})
        else:
            body = _error_body(status, message, err_code if isinstance(err_code, str) else None)
        reply._status = status
        reply.sent = True
        if reply._headers is not None:
            reply._headers.pop("content-length", None)
        reply._ctype = None
        if req._error_rendered:
            # on_send failed on the error reply itself: write it as it is.
            return self._write(reply, body, CT_JSON)
        req._error_rendered = True
        return self._emit(reply, body, CT_JSON)

    cdef int _run_simple_hooks(self, Request req, Reply reply, object hooks, str name) except -1:
        # Hooks whose outcome changes nothing (on_timeout, on_request_abort):
        # sync ones run now, async ones run on as tasks; errors are logged.
        if hooks is None:
            return 0
        for fn in <tuple>hooks:
            try:
                result = fn(req) if name == "on_request_abort" else fn(req, reply)
                if PyCoro_CheckExact(result):
                    loop = self.server.loop or asyncio.get_event_loop()
                    loop.create_task(result).add_done_callback(_log_task_error)
            except BaseException as exc:
                self.server.logger.error("%s hook failed", name, exc_info=exc)
        return 0

    # writing ------------------------------------------------------------------------

    cdef int _send(self, Reply reply, object payload) except -1:
        # HOT PATH: bench/test_bench_protocol.py (inject /json)
        cdef Request req = reply.request
        cdef object t = type(payload)
        reply.sent = True
        if t is dict or t is list:
            if req.record.pre_serialization is not None:
                req._hook_i = 0
                return self._serialize_next(req, reply, payload)
            return self._emit(reply, self._serialize(reply, payload), CT_JSON)
        if t is str:
            return self._emit(reply, (<str>payload).encode("utf-8"), CT_TEXT)
        if t is bytes:
            return self._emit(reply, payload, CT_OCTET)
        if payload is None:
            return self._emit(reply, None, CT_NONE)
        if t is bytearray or t is memoryview:
            return self._emit(reply, bytes(payload), CT_OCTET)
        if isinstance(payload, BaseException):
            # reply.send(error) renders the error, as raising it would.
            reply.sent = False
            return self._error(req, reply, payload)
        if hasattr(payload, "__aiter__"):
            return self._stream(reply, payload, CT_OCTET)
        if req.record.pre_serialization is not None:
            req._hook_i = 0
            return self._serialize_next(req, reply, payload)
        return self._emit(reply, self._serialize(reply, payload), CT_JSON)

    cdef bytes _serialize(self, Reply reply, object payload):
        # HOT PATH: bench/test_bench_protocol.py. The reply's serializer, else
        # the route's compiled one for this status, else orjson.
        cdef object fn = None
        cdef object table = reply.request.record.serializers
        if reply._serializer is not None:
            fn = reply._serializer
        elif table is not None:
            fn = (<dict>table).get(reply._status)
        if fn is not None:
            body = fn(payload)
        else:
            try:
                return _orjson_dumps(payload)
            except TypeError as exc:
                raise errors.FailedSerializationError(str(exc)) from exc
        if type(body) is str:
            return (<str>body).encode("utf-8")
        return bytes(body)

    cdef int _serialize_next(self, Request req, Reply reply, object payload) except -1:
        # pre_serialization hooks, each returning the payload to serialize.
        cdef tuple hooks = req.record.pre_serialization
        while req._hook_i < len(hooks):
            fn = hooks[req._hook_i]
            req._hook_i += 1
            payload = fn(req, reply, payload)
            if PyCoro_CheckExact(payload):
                return self._step(req, reply, payload, PHASE_SERIALIZATION)
        if type(payload) is str:
            return self._emit(reply, (<str>payload).encode("utf-8"), CT_TEXT)
        if type(payload) is bytes:
            return self._emit(reply, payload, CT_OCTET)
        return self._emit(reply, self._serialize(reply, payload), CT_JSON)

    cdef int _emit(self, Reply reply, object body, bytes ctype) except -1:
        cdef Request req = reply.request
        if req.record.on_send is not None:
            req._hook_i = 0
            req._send_ctype = ctype
            return self._on_send_next(req, reply, body)
        return self._write(reply, body, ctype)

    cdef int _on_send_next(self, Request req, Reply reply, object payload) except -1:
        # on_send hooks see the serialized payload and may replace it.
        cdef tuple hooks = req.record.on_send
        while req._hook_i < len(hooks):
            fn = hooks[req._hook_i]
            req._hook_i += 1
            payload = fn(req, reply, payload)
            if PyCoro_CheckExact(payload):
                return self._step(req, reply, payload, PHASE_ON_SEND)
        if type(payload) is str:
            payload = (<str>payload).encode("utf-8")
        elif payload is not None and type(payload) is not bytes:
            payload = bytes(payload)
        return self._write(reply, payload, req._send_ctype)

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
            h.pop("content-length", None)
            h.pop("transfer-encoding", None)
            if header_value_str(h.get("connection", "")).lower() == "close":
                keep = False
            h.pop("connection", None)
            headers = encode_header_lines(h)
        if reply._ctype is not None:
            ctype_line = ("content-type: %s\r\n" % reply._ctype).encode("latin-1")
        elif body is None:
            ctype_line = CT_NONE
        if body is None:
            length = 0
        else:
            length = PyBytes_GET_SIZE(body)
        if status == 204 or status == 304 or status < 200:
            # RFC 9110 §8.6: no Content-Length with 1xx/204; 304 carries no body.
            with_body = False
            if status != 304:
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

    cdef int _responded(self, Request req, Reply reply) except -1:
        # After the last byte was handed to the transport: the completion log
        # line and on_response hooks, which cannot change anything any more.
        cdef Server server = self.server
        if reply._timer is not None:
            reply._timer.cancel()
            reply._timer = None
        if req._logged and server.request_logger is not None:
            try:
                server.request_logger.completed(req, reply)
            except BaseException as exc:
                server.logger.error("request logging failed", exc_info=exc)
        if req.record is not None and req.record.on_response is not None:
            req._resp_i = 0
            self._on_response_next(req, reply)
        return 0

    cdef int _on_response_next(self, Request req, Reply reply) except -1:
        cdef tuple hooks = req.record.on_response
        while req._resp_i < len(hooks):
            fn = hooks[req._resp_i]
            req._resp_i += 1
            try:
                result = fn(req, reply)
                if PyCoro_CheckExact(result):
                    return self._step(req, reply, result, PHASE_RESPONSE)
            except BaseException as exc:
                self.server.logger.error("on_response hook failed", exc_info=exc)
        return 0

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
        self.stream_task = loop.create_task(self._pump(req, reply, source, keep))
        return 0

    async def _pump(self, Request req, Reply reply, source, bint keep):
        try:
            async for chunk in source:
                if self.closed:
                    break
                if type(chunk) is str:
                    chunk = (<str>chunk).encode("utf-8")
                elif type(chunk) is not bytes:
                    chunk = bytes(chunk)
                if not chunk:
                    continue
                self.transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                if self.paused_writing:
                    self.drain_waiter = self.server.loop.create_future()
                    await self.drain_waiter
                    self.drain_waiter = None
        except _CancelledError:
            keep = False
        except BaseException:
            self.server.logger.exception("stream failed in %s %s", req.method, req.url)
            if not self.closed:
                self.transport.abort()
            self.stream_task = None
            return
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None and self.closed:
                try:
                    await aclose()
                except BaseException:
                    pass
        self.stream_task = None
        if self.closed:
            return
        req._answered = True
        self.transport.write(b"0\r\n\r\n")
        self._responded(req, reply)
        self._finish(req, keep)
        self._flush()

    cdef int _finish(self, Request req, bint keep) except -1:
        self.current = None
        if not keep:
            self.no_more = True
            self.queue = None
            return self._close()
        if self.queue:
            if self.paused_reading and len(self.queue) < QUEUE_PAUSE and not self.paused_writing:
                self.paused_reading = False
                self.transport.resume_reading()
            return self._drain()
        if self.fail_kind != FAIL_NONE:
            kind = self.fail_kind
            self.fail_kind = FAIL_NONE
            return self._write_fail(kind, self.fail_error)
        if self.no_more:
            return self._close()
        if self.req is None and self.server.keep_alive_timeout > 0:
            self.deadline = monotonic() + self.server.keep_alive_timeout
            self.deadline_kind = DL_IDLE
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

    cdef int _check_deadline(self, double t) except -1:
        cdef Server server = self.server
        cdef int kind
        if self.closed:
            return 0
        if server.connection_timeout > 0 and t - self.last_activity >= server.connection_timeout:
            self.closed = True
            self.transport.abort()
            return 0
        if self.deadline <= 0 or t < self.deadline:
            return 0
        kind = self.deadline_kind
        self.deadline = 0
        self.deadline_kind = DL_NONE
        if kind == DL_IDLE:
            if self.current is None and self.req is None:
                self._close()
        elif kind == DL_HEAD or kind == DL_BODY:
            self._fail(FAIL_TIMEOUT, None)
        return 0

    # introspection used by the server and tests ------------------------------------

    @property
    def is_idle(self):
        return self.current is None and self.req is None

    @property
    def reading(self):
        """Whether a request is partly received (its head or body still coming in)."""
        return self.req is not None

    @property
    def queued(self):
        """Requests received whole and waiting behind the one being answered."""
        return len(self.queue) if self.queue else 0

    def close(self):
        self._close()
