# cython: language_level=3
# Declarations of _lifecycle.pyx: the stage machine every request goes
# through. _http1's HttpProtocol extends Lifecycle.
from fastcore._reply cimport Connection, Reply, Request


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


cdef class FirstStep:
    cdef public object task
    cdef object _loop
    cdef int _cancel_requests


cdef class Lifecycle(Connection):
    cdef FirstStep stand_in

    cdef int _dispatch(self, Request req) except -1
    cdef int _start(self, Request req) except -1
    cdef int _advance(self, Request req, Reply reply) except -1
    cdef int _after_short_circuit(self, Request req, Reply reply) except -1
    cdef int _upgrade(self, Request req, Reply reply) except -1
    cdef int _parse_body(self, Request req, Reply reply) except -1
    cdef int _parse_json(self, Request req, object body) except -1
    cdef int _parse_text(self, Request req, object body) except -1
    cdef int _custom_parse(self, Request req, Reply reply, object parser, object body) except -1
    cdef int _run(self, Request req, Reply reply, object fn, object args, int phase) except -1
    cdef int _step(self, Request req, Reply reply, object coro, int phase) except -1
    cdef int _track_task(self, Request req, Reply reply, object task, int phase, object loop) except -1
    cdef int _on_done(self, Request req, Reply reply, int phase, object value) except -1
    cdef int _on_fail(self, Request req, Reply reply, int phase, object exc) except -1
    cdef int _complete(self, Request req, Reply reply, object value) except -1
    cdef int _error(self, Request req, Reply reply, object exc) except -1
    cdef int _write_error(self, Request req, Reply reply, object exc) except -1
    cdef int _on_error_next(self, Request req, Reply reply) except -1
    cdef int _default_error(self, Request req, Reply reply, object exc) except -1
    cdef int _run_simple_hooks(self, Request req, Reply reply, object hooks, str name) except -1
    cdef int _send(self, Reply reply, object payload) except -1
    cdef bytes _serialize(self, Reply reply, object payload)
    cdef int _serialize_next(self, Request req, Reply reply, object payload) except -1
    cdef int _emit(self, Reply reply, object body, bytes ctype) except -1
    cdef int _on_send_next(self, Request req, Reply reply, object payload) except -1
    cdef int _responded(self, Request req, Reply reply) except -1
    cdef int _on_response_next(self, Request req, Reply reply) except -1
