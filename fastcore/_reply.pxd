# cython: language_level=3
# Declarations of _reply.pyx: the request/reply objects, route records, server
# state, and the transport side of a connection with the response writer.
# _lifecycle and _http1 cimport these and extend Connection.
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from fastcore._router cimport Router


cdef inline double monotonic():
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


cdef dict parse_query(str qs)


cdef class RouteRecord:
    cdef public str method
    cdef public str url
    cdef public object handler
    cdef public Py_ssize_t body_limit          # -1: the server's body_limit
    cdef public double handler_timeout         # < 0: the server's handler_timeout; 0 disables
    cdef public object config
    cdef public object context                 # the App context that declared it
    cdef public object error_handlers          # (fn(error, request, reply), ...) nearest first, or None
    cdef public object parsers                 # content_types.ContentTypeParsers, or None: built-ins only
    cdef public bint is_not_found
    cdef public object serializers             # {status: fn(payload) -> bytes}, or None (orjson)
    # Seams filled at ready(): flattened hook tuples (None when empty) and
    # compiled validators. The request path only reads them.
    cdef public object on_request
    cdef public object pre_parsing
    cdef public object pre_validation
    cdef public object pre_handler
    cdef public object pre_serialization
    cdef public object on_send
    cdef public object on_response
    cdef public object on_error
    cdef public object on_timeout
    cdef public object on_request_abort
    cdef public object validate
    cdef public object ws_handler              # fn(ws, request) for upgrade requests, or None
    cdef public tuple ws_subprotocols          # the subprotocols it speaks, or None
    # decorate_request / decorate_reply defaults of its context ({name: value}, or
    # None when there are none): each request and reply starts with them as attributes.
    cdef public dict request_decorations
    cdef public dict reply_decorations
    cdef public unsigned long long error_handler_calls  # errors handled for its requests
    cdef public dict tallies                   # {method: {status: _tally.ResponseTally}}, or None


cdef class Server:
    cdef public Router router
    cdef public object loop
    cdef public set connections
    cdef public RouteRecord not_found
    cdef public object logger
    cdef public object not_found_resolver      # fn(path) -> RouteRecord, or None: not_found
    cdef public object rewrite_url             # fn(request) -> str, or None
    cdef public tuple derive_constraints       # ((name, derive(request)), ...) of the custom
                                               # strategies routes use, or None
    cdef public object framework_errors        # fn(error, request, reply), or None
    cdef public object request_logger          # .incoming(request) / .completed(request, reply), or None
    cdef public object disable_request_logging # fn(request) -> bool, or None
    cdef public str request_id_header          # lower-case header name, or None
    cdef public object gen_req_id              # fn(request) -> str, or None
    cdef public object trust_proxy             # fn(request) -> (ip, ips, hostname, protocol), or None
    cdef public object ssl
    cdef public Py_ssize_t max_header_size
    cdef public Py_ssize_t body_limit
    cdef public double header_timeout
    cdef public double request_timeout
    cdef public double keep_alive_timeout
    cdef public double connection_timeout
    cdef public double handler_timeout
    cdef public double write_timeout
    cdef public Py_ssize_t max_requests_per_socket
    cdef public Py_ssize_t max_connections
    cdef public bint return_503_on_closing
    cdef public bint expose_errors
    cdef public bint closing
    cdef public set websockets                 # open WebSocket connections (after the upgrade)
    cdef public Py_ssize_t ws_max_message_size
    cdef public double ws_close_timeout
    cdef public double ws_ping_interval
    cdef public double ws_ping_timeout
    cdef public object ws_keepalive            # the KeepAlive walk (_ws_keepalive), or None
    cdef unsigned long long req_counter
    # What the core counts at its choke points (App.stats()): connections it
    # answered with 408, 431 or another transport-level refusal, and URLs that
    # could not be decoded (FC_ERR_BAD_URL). Plain C additions, paid only there.
    cdef public unsigned long long client_timeouts
    cdef public unsigned long long client_header_overflows
    cdef public unsigned long long client_errors
    cdef public unsigned long long bad_urls
    cdef public object response_buckets        # _tally.Buckets while responses are counted, or None
    cdef object _sweeper
    cdef object _all_closed
    cdef double _tick

    cdef public object protocol                # the connection class, called with the Server

    cdef void _connection_lost(self, Connection proto)


cdef class Request:
    cdef dict __dict__
    cdef public Connection proto
    cdef public str method
    cdef public str url
    cdef public str path
    cdef public str query_string
    cdef public dict params
    cdef public object body
    cdef public object raw_body
    cdef public RouteRecord record
    cdef public object validation_error
    cdef public bint keep_alive
    cdef public bint is_aborted
    cdef public bint is_head
    cdef list _raw_headers
    cdef object _headers
    cdef object _query
    cdef object _ctype
    cdef object _lookup_error
    cdef object _host
    cdef bytes _expect
    cdef Py_ssize_t _held_left
    cdef int _stage
    cdef Py_ssize_t _hook_i
    cdef Py_ssize_t _resp_i
    cdef object _error
    cdef object _context          # the contextvars.Context its hooks and handler run in
    cdef bint _in_context         # that context is entered (a burst of its work is running)
    cdef bytes _send_ctype
    cdef bint _on_error_ran
    cdef bint _error_rendered
    cdef bint _logged
    cdef bint _answered
    cdef object _proxy
    cdef object _log
    cdef tuple _addressing(self)
    cdef object _parsed_query(self)
    cdef int _pack_headers(self) except -1
    cdef object _id
    cdef unsigned long long _seq
    cdef Py_ssize_t _body_len
    cdef Py_ssize_t _clen
    cdef Py_ssize_t _body_limit
    cdef bint _chunked
    cdef bint _closing_503
    cdef bint _http10
    cdef bint _upgrade_header
    cdef double _start


cdef class Reply:
    cdef dict __dict__
    cdef public Request request
    cdef Connection proto
    cdef public int _status
    cdef dict _headers
    cdef object _ctype
    cdef object _serializer
    cdef public bint sent
    cdef public bint hijacked
    cdef int _error_depth
    cdef object _timer
    cdef object _task
    cdef public bint _written
    cdef bint _framing            # a content-length, transfer-encoding or connection header was set
    cdef int _set_header(self, object name, object value) except -1


cdef class Connection:
    cdef Server server
    cdef object base_context      # the context its first request began in: each request's starts as it
    cdef object transport
    cdef Request req              # the request being read (head or body still coming in)
    cdef Request current          # the request being answered
    cdef list queue               # complete requests waiting behind ``current``
    cdef object stream_task
    cdef bint stream_endless      # the stream is an event stream: close() ends it
    cdef object drain_waiter
    cdef object pending_out
    cdef object peer
    cdef bint batching            # inside data_received: writes join into one
    cdef bint close_after_flush
    cdef bint closed
    cdef bint no_more             # no further request is read on this connection
    cdef bint paused_reading
    cdef bint paused_writing
    cdef Py_ssize_t nrequests

    cdef int _write(self, Reply reply, object body, bytes ctype) except -1
    cdef bint _keep(self, Request req)
    cdef object _peername(self)
    cdef int _stream(self, Reply reply, object source, bytes ctype) except -1
    cdef int _abort_stream(self) except -1
    cdef int _write_last(self, object encoder) except -1
    cdef int _end_stream(self, Request req, Reply reply, bint keep, bint cut) except -1
    cdef int _out(self, object data) except -1
    cdef int _flush(self) except -1
    cdef int _close(self) except -1
    # implemented by the layers above
    cdef int _send(self, Reply reply, object payload) except -1
    cdef int _responded(self, Request req, Reply reply) except -1
    cdef int _finish(self, Request req, bint keep) except -1
    cdef int _check_deadline(self, double t) except -1
    cdef int _hand_over(self, object protocol) except -1


cdef int seed_request(Request req, RouteRecord record) except -1
cdef int seed_reply(Reply reply, RouteRecord record) except -1


cdef extern from *:
    """
    /* Cython's tp_new gives a Request and a Reply an empty __dict__. Released,
       it is made again by the first attribute set on the object (decorations,
       a handler's own), and until then looking up a method skips the probe of
       an empty instance dict. */
    static CYTHON_INLINE void fastcore_release_empty_dict(PyObject *o) {
        PyObject **slot = (PyObject **)((char *)o + Py_TYPE(o)->tp_dictoffset);
        if (*slot != NULL && PyDict_GET_SIZE(*slot) == 0) {
            Py_CLEAR(*slot);
        }
    }
    """
    void release_empty_dict "fastcore_release_empty_dict"(object o) noexcept
