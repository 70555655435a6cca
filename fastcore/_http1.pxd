# cython: language_level=3
# Declarations of _http1.pyx: one HTTP/1.1 connection, llhttp's callbacks,
# limits, pipelining and deadlines.
from fastcore._lifecycle cimport Lifecycle
from fastcore._reply cimport Reply, Request


cdef class HttpProtocol(Lifecycle):
    cdef object parser
    cdef Request held             # an upgrade request whose body is read by length
    cdef object url
    cdef bint in_head
    cdef bint draining
    cdef bint upgraded
    cdef int abort_kind
    cdef object abort_error
    cdef int fail_kind
    cdef object fail_error
    cdef Py_ssize_t head_size
    cdef Py_ssize_t head_seen
    cdef Py_ssize_t body_left
    cdef unsigned long long begun
    cdef double deadline
    cdef int deadline_kind
    cdef double last_activity
    cdef double write_deadline    # while writing is paused: when the client has read too little
    cdef bytes tail
    cdef object head_chunk        # the chunk a head began at the first byte of, until parsed
    cdef bytes after_upgrade      # bytes behind an upgrade request, for _hand_over
    cdef object switch_to         # a protocol to hand over to once the chunk is parsed
    cdef bytes pending            # a large chunk not parsed whole yet (writing paused, or its turn over)
    cdef Py_ssize_t pending_at    # where its unparsed rest begins
    cdef bint eof_pending         # the client's EOF came while ``pending`` was held

    cdef int _receive(self, object data, Py_ssize_t start) except -1
    cdef int _feed_slices(self, object data, Py_ssize_t pos) except -1
    cdef int _resume_input(self) except -1
    cdef bint _queue_full(self)
    cdef bint _held_back(self)

    cdef int _feed(self, object data) except -1
    cdef int _feed_guarded(self, object data) except -1
    cdef int _feed_part(self, object part) except -1
    cdef int _parse_error(self, object exc) except -1
    cdef int _rewrite(self, Request req) except -1
    cdef int _route(self, Request req) except -1
    cdef int _expect_continue(self, Request req) except -1
    cdef int _fail(self, int kind, object error) except -1
    cdef int _write_fail(self, int kind, object error) except -1
    cdef int _enqueue(self, Request req) except -1
    cdef int _on_trailer(self, bytes name) except -1
    cdef int _drain(self) except -1
    cdef int _keep_after_upgrade(self, object data) except -1
    cdef int _hand_over(self, object protocol) except -1
    cdef int _finish(self, Request req, bint keep) except -1
    cdef int _check_deadline(self, double now) except -1
