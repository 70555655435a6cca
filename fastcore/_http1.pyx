# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, so that the FASTCORE_DEBUG=1 build can turn the checks back on.
"""HTTP/1.1 connections: bytes in, framing, pipelining, limits, deadlines.

How this works
--------------
One ``HttpProtocol`` per connection (a ``Lifecycle`` of ``_lifecycle``),
driven by asyncio (uvloop) callbacks. ``data_received`` feeds llhttp
(through httptools) whose callbacks build a ``Request``:

    on_message_begin -> on_url* -> on_header* -> on_headers_complete
        -> on_body* -> on_message_complete

Route lookup happens at ``on_headers_complete`` so that the route's body limit
and ``Expect: 100-continue`` can be answered before the body is read. At
``on_message_complete`` the request is dispatched at once (``_dispatch``,
the lifecycle) when nothing else is in flight on the connection, else
queued: responses leave in request order (RFC 9112 §9.3.2). ``_finish``
decides keep-alive and takes the next queued request.

Backpressure. A client that does not read its answers is not read either:
``pause_writing`` (the transport's buffer is past its high-water mark) and a
queue of 32 requests both pause reading. One read can still carry thousands
of pipelined requests, whose answers are many times their size, so a read
over 4 KiB is parsed a slice at a time, its answers handed to the transport
whenever 64 KiB of them are batched; when either limit is hit, the rest of
the read waits unparsed (``pending``) until the answers drain
(``_resume_input``). While
this side is not reading, a request's head or body deadline does not run.

Framing rules beyond llhttp's strict mode (``docs/http-conformance.md``):
HTTP/1.x only, Host required on HTTP/1.1 and never twice, one Content-Type,
no ``_`` aliases of framing headers, no Transfer-Encoding in HTTP/1.0, no
framing or routing fields in trailers, request-target forms per method.

Limits. llhttp sets none, so the protocol counts. The header section is
counted in raw bytes before llhttp sees them (``_feed``): a chunk that could
carry the head past ``max_header_size`` is split at the end of the head
(``\\r\\n\\r\\n``) and at Content-Length body boundaries so that every head
is measured exactly; only a head that begins behind a chunked body inside the
same chunk is measured by what the callbacks report, which still bounds what
is buffered to twice the limit. Bodies are counted in ``on_body``.

Timeouts are deadlines (monotonic seconds) on each connection, checked by one
periodic sweep per server (``Server._sweep`` calls ``_check_deadline``): no
timer handle is created per request.

Errors before a request object exists go through
``fastcore.errors.map_client_error``; the response closes the connection once
the requests before it have been answered.
"""

cimport cython

import re

import httptools

from fastcore import errors

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.string cimport memchr, memcmp

from fastcore._lifecycle cimport Lifecycle
from fastcore._head cimport (CONN_CLOSE, CT_JSON, build_response, client_error_response,
                             status_line)
from fastcore._reply cimport (Reply, Request, RouteRecord, Server, monotonic,
                              release_empty_dict, seed_request)
from fastcore._router cimport Router

cdef extern from "strings.h":
    int strncasecmp(const char *s1, const char *s2, size_t n)


cdef object _HttpParserUpgrade = httptools.HttpParserUpgrade
cdef object _HttpParserError = httptools.HttpParserError
cdef object _HttpRequestParser = httptools.HttpRequestParser
cdef object _FastcoreError = errors.FastcoreError
cdef object _map_client_error = errors.map_client_error
cdef object _error_body = errors.error_body
cdef object _BadUrlError = errors.BadUrlError

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

cdef Py_ssize_t QUEUE_PAUSE = 32        # pipelined requests queued before pause_reading
# A chunk larger than this (many pipelined requests in one read) is parsed a
# slice at a time ...
cdef Py_ssize_t FEED_SLICE = 4096
# ... and its answers go to the transport once this much is batched (asyncio's
# default high-water mark): below it, pipelined answers still leave in one write.
cdef Py_ssize_t FLUSH_AT = 65536
# Once this many requests of one read have begun, the other connections get a
# turn before its next slice (which is parsed from a callback of the next loop
# iteration): a whole read (uvloop reads up to 256 KiB, 7,900 small requests)
# held the loop for a quarter of a second. A body is not held back. Slices
# are TURN_SLICE bytes while they begin requests, so that a turn stays near
# TURN_REQUESTS requests however small they are.
cdef unsigned long long TURN_REQUESTS = 16
cdef Py_ssize_t TURN_SLICE = 512

cdef dict _METHODS = {m.encode(): m for m in (
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT")}

cdef bytes CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"


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
cdef Py_ssize_t _batched_size(object out):
    # Bytes waiting in a connection's batch (Connection.pending_out).
    cdef Py_ssize_t n = 0
    if out is None:
        return 0
    if type(out) is list:
        for part in <list>out:
            n += len(part)
        return n
    return len(out)


cdef bint _only_chunked(bytes value):
    # A Transfer-Encoding value that is exactly "chunked" (any case, optional
    # whitespace around it, RFC 9110 §5.5).
    cdef bytes coding = value.strip(b" \t")
    return len(coding) == 7 and coding.lower() == b"chunked"


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


class _Abort(Exception):
    """Raised in an llhttp callback to stop parsing; the reason is on the protocol."""


cdef Py_ssize_t _content_length(bytes value) except -2:
    # The digits llhttp accepted; a number past what a size holds is larger
    # than any body_limit and reads as the largest size (413 follows).
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(value)
    cdef Py_ssize_t i
    cdef Py_ssize_t n = PyBytes_GET_SIZE(value)
    cdef unsigned long long total = 0
    cdef unsigned int digit
    for i in range(n):
        digit = p[i] - 48
        if digit > 9:
            return int(value)          # (not digits: llhttp refused them already)
        if total > (<unsigned long long>PY_SSIZE_T_MAX - digit) // 10:
            return PY_SSIZE_T_MAX
        total = total * 10 + digit
    return <Py_ssize_t>total


cdef class HttpProtocol(Lifecycle):
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
        self.pending = None
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
        # are still written, for clients that only half-closed (not an event
        # stream's). Then close.
        cdef Request req
        if self.pending is not None and not self.closed:
            # Complete requests are still held unparsed: answered first.
            self.eof_pending = True
            return True
        self.no_more = True
        if self.current is not None or self.queue:
            if self.current is not None and not self.current._answered:
                self._aborted(self.current)
            for req in self.queue or ():
                self._aborted(req)
            # An event stream never ends on its own: its half-closed client
            # would hold it open until the next write failed.
            return not self.stream_endless
        return False

    def pause_writing(self):
        self.paused_writing = True
        if self.server.write_timeout > 0:
            self.write_deadline = monotonic() + self.server.write_timeout
        if not self.paused_reading and self.transport is not None:
            # A client that stops reading stops being read (RFC 9112 §9.3.2).
            self.paused_reading = True
            self.transport.pause_reading()

    def resume_writing(self):
        self.paused_writing = False
        self.write_deadline = 0
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)
        if self.pending is not None:
            self._resume_input()
        elif self.paused_reading and not self._queue_full():
            self.paused_reading = False
            if not self.closed:
                self.transport.resume_reading()

    def data_received(self, data):
        # HOT PATH: bench/test_bench_protocol.py (parse: GET, POST, pipelined x16)
        if self.held is not None:
            rest = self._collect_held(data)
            if rest:
                self._keep_after_upgrade(rest)
            self._flush()
            return
        if self.no_more:
            if self.upgraded:
                self._keep_after_upgrade(data)
            return
        if self.server.connection_timeout > 0:
            self.last_activity = monotonic()
        self._receive(data, 0)

    cdef int _receive(self, object data, Py_ssize_t start) except -1:
        # Parse one chunk (from ``start``) with the answers batched into one write.
        self.batching = True
        try:
            if start or len(data) > FEED_SLICE:
                self._feed_slices(data, start)
            else:
                self._feed(data)
        except _HttpParserUpgrade as exc:
            # No protocol switch is offered (RFC 9110 §7.8 lets a server ignore
            # Upgrade): the request is answered as a plain one, then the
            # connection closes, since what follows is another protocol's data.
            self.upgraded = True
            self.no_more = True
            rest = data[exc.args[0]:]
            if self.held is not None:
                rest = self._collect_held(rest)
            if rest:
                self._keep_after_upgrade(rest)
        except _HttpParserError as exc:
            self._parse_error(exc)
        finally:
            self.batching = False
            self._flush()
            if self.switch_to is not None:
                self._hand_over(self.switch_to)
        return 0

    cdef int _feed_slices(self, object data, Py_ssize_t pos) except -1:
        # One read can carry thousands of pipelined requests, and their answers
        # are many times their size. Parsed a slice at a time, with the answers
        # handed to the transport once 64 KiB are batched: once its buffer is
        # past its limit (pause_writing: the client is not reading) or too many
        # requests wait, the rest stays unparsed (``pending`` from
        # ``pending_at``), reading paused, until the answers drain
        # (_resume_input). A client that never reads holds one read and about
        # 64 KiB of answers beyond the transport's limit, not the answers to the
        # whole read. Slices of a read that carries requests are small, and
        # past TURN_REQUESTS the rest waits for the next loop iteration, so that
        # one connection's read takes about a millisecond at a time.
        cdef Py_ssize_t n = len(data)
        cdef Py_ssize_t end
        cdef Py_ssize_t size = TURN_SLICE
        cdef unsigned long long begun_before
        cdef unsigned long long begun_at = self.begun
        cdef bint turn_over
        while pos < n:
            if self.closed:
                return 0
            turn_over = self.begun - begun_at >= TURN_REQUESTS
            if turn_over or self._held_back():
                self.pending = data if type(data) is bytes else bytes(data)
                self.pending_at = pos
                if not self.paused_reading:
                    self.paused_reading = True
                    self.transport.pause_reading()
                if turn_over:
                    self.server.loop.call_soon(self._next_turn)
                return 0
            end = pos + size if pos + size < n else n
            begun_before = self.begun
            try:
                self._feed(data[pos:end])
            except _HttpParserUpgrade as exc:
                raise _HttpParserUpgrade(pos + exc.args[0]) from None
            pos = end
            # Slices stay small while they begin requests and double up to
            # FEED_SLICE while they carry a body.
            if self.begun != begun_before:
                size = TURN_SLICE
            elif size < FEED_SLICE:
                size *= 2
            if _batched_size(self.pending_out) >= FLUSH_AT:
                self._flush_now()
        return 0

    cdef bint _queue_full(self):
        return self.queue is not None and len(self.queue) >= QUEUE_PAUSE

    cdef bint _held_back(self):
        # Input waits: the client is not reading its answers, or too many wait.
        return self.paused_writing or self._queue_full()

    def _next_turn(self):
        # The rest of a read held back for fairness (TURN_REQUESTS).
        self._resume_input()

    cdef int _resume_input(self) except -1:
        # Nothing holds the input back any more (the transport's buffer drained,
        # the queue shrank): parse what was held, then read again.
        if self.closed or self.batching:
            return 0          # (while a chunk is parsed, its own loop goes on)
        if self._held_back():
            return 0
        if self.pending is not None:
            data = self.pending
            self.pending = None
            self._receive(data, self.pending_at)
            if self.pending is not None or self.closed:
                return 0
            if self.eof_pending:
                self.eof_pending = False
                if not self.eof_received():
                    self._close()
                return 0
        if self.paused_reading and not self.upgraded and self.held is None:
            self.paused_reading = False
            self.transport.resume_reading()
        return 0

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
        release_empty_dict(req)
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
            req._clen = _content_length(value)
        elif n == 4 and header_is(name, b"host", 4):
            if req._host is not None:
                # Two Host headers: ambiguous target (RFC 9112 §3.2).
                self.abort_kind = FAIL_MALFORMED
                raise _Abort()
            req._host = value
        elif n == 17 and header_is(name, b"transfer-encoding", 17):
            if req._chunked or not _only_chunked(value):
                # chunked is the one coding fastcore decodes: another one before it
                # would reach the handler still coded (RFC 9112 §6.1 lets a server
                # refuse a coding it does not understand), and chunked twice is
                # not allowed. Refused like the other framing faults: 400, close.
                self.abort_kind = FAIL_MALFORMED
                raise _Abort()
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
        """Read the body of an upgrade request that llhttp skipped (by length);
        returns the bytes after it."""
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
        if self.switch_to is not None:
            # Switched while the held request was answered: the rest goes along.
            self._keep_after_upgrade(data[take:])
            self._hand_over(self.switch_to)
            return b""
        return data[take:]

    # leaving HTTP/1 ----------------------------------------------------------------

    cdef int _keep_after_upgrade(self, object data) except -1:
        # Bytes behind an upgrade request belong to the protocol it asks for:
        # kept for _hand_over, with reading paused so that little arrives
        # before the answer (a client should wait for it, RFC 6455 §4.1).
        if self.closed:
            return 0
        self.after_upgrade = (self.after_upgrade or b"") + bytes(data)
        if PyBytes_GET_SIZE(self.after_upgrade) > self.server.max_header_size:
            self.after_upgrade = None
            self.closed = True
            self.transport.abort()
            return 0
        if not self.paused_reading:
            self.paused_reading = True
            self.transport.pause_reading()
        return 0

    cdef int _hand_over(self, object protocol) except -1:
        # The seam for a connection that leaves HTTP/1 (RFC 9110 §7.8): once the
        # answer to the upgrade request is written, the transport and the bytes
        # that came after that request go to ``protocol``, and this object lets
        # go of the connection (no more parsing, deadlines or HTTP bookkeeping).
        cdef bytes rest
        transport = self.transport
        if self.batching:
            # Asked for while a chunk is parsed (a handler that switched at
            # once): done when that chunk is, with every byte behind the request.
            self.switch_to = protocol
            return 0
        self.switch_to = None
        self._flush()
        if self.closed or transport is None:
            return 0
        rest = self.after_upgrade
        self.after_upgrade = None
        self.no_more = True
        self.closed = True            # nothing of HTTP/1 is written from here on
        self.parser = None
        self.req = None
        self.current = None
        self.queue = None
        self.deadline = 0
        self.deadline_kind = DL_NONE
        self.server._connection_lost(self)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if rest:
            protocol.data_received(rest)
        if self.paused_reading:
            self.paused_reading = False
            transport.resume_reading()
        return 0

    def switch_protocol(self, protocol):
        """Hand this connection's transport to ``protocol`` (an asyncio protocol)
        after the answer to an upgrade request has been written; the bytes
        received after that request are passed to its ``data_received``."""
        self._hand_over(protocol)

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
            if type(exc) is _BadUrlError:
                server.bad_urls += 1
            req._lookup_error = exc
            return 0
        if found is not None:
            req.record = <RouteRecord>found[0]
            req.params = <dict>found[1]
            seed_request(req, req.record)
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
        if kind == FAIL_TIMEOUT:
            self.server.client_timeouts += 1
        elif kind == FAIL_HEADER_OVERFLOW:
            self.server.client_header_overflows += 1
        elif kind != FAIL_STOP:
            self.server.client_errors += 1
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

    cdef int _finish(self, Request req, bint keep) except -1:
        self.current = None
        if not keep:
            self.no_more = True
            self.queue = None
            return self._close()
        if self.queue:
            if self.pending is not None:
                self._resume_input()
            elif self.paused_reading and not self._held_back():
                self.paused_reading = False
                self.transport.resume_reading()
            return self._drain()
        if self.pending is not None:
            return self._resume_input()
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

    cdef int _check_deadline(self, double t) except -1:
        cdef Server server = self.server
        cdef int kind
        if self.write_deadline > 0 and t >= self.write_deadline:
            # The transport's buffer stayed full for write_timeout: the client
            # reads too little of its answers (or nothing) to be kept. Also
            # once closed: a close waits for the buffer to be written.
            self.write_deadline = 0
            server.client_timeouts += 1
            self.closed = True
            self.transport.abort()
            return 0
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
            if self.paused_reading and not self.upgraded:
                # The request is incomplete because this side stopped reading
                # (its client is not reading the answers, or too many wait):
                # not the client's delay. The time runs again from here.
                self.deadline = t + (server.header_timeout if kind == DL_HEAD
                                     else server.request_timeout)
                self.deadline_kind = kind
                return 0
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
