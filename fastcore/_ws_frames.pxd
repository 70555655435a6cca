# cython: language_level=3
# Declarations of _ws_frames.pyx: RFC 6455 frames, server side, sans-I/O.


cdef enum:
    # opcodes (RFC 6455 §5.2) and the close codes the parser gives
    WS_CONTINUATION = 0
    WS_TEXT = 1
    WS_BINARY = 2
    WS_CLOSE = 8
    WS_PING = 9
    WS_PONG = 10
    WS_CLOSE_NORMAL = 1000
    WS_CLOSE_PROTOCOL_ERROR = 1002
    WS_CLOSE_NO_STATUS = 1005
    WS_CLOSE_INVALID_DATA = 1007
    WS_CLOSE_TOO_BIG = 1009


cdef bint close_code_allowed(int code)


cdef class FrameParser:
    cdef bytearray buf             # bytes not yet parsed into a whole frame
    cdef readonly Py_ssize_t max_message_size
    cdef object message            # fragments of the message in progress (list), or None
    cdef int message_opcode        # its opcode (text or binary), 0 when none is in progress
    cdef Py_ssize_t message_size
    cdef readonly int error_code   # the close code of the first violation, 0 while none
    cdef readonly str error_reason
    cdef readonly bint stopped     # after a close frame or a violation: input is ignored

    cdef int _fail(self, int code, str reason) except -1
    cpdef list feed(self, object data)
    cdef int _data(self, int opcode, bint fin, bytes payload, list events) except -1
    cdef int _complete(self, bytes payload, list events) except -1
    cdef int _control(self, int opcode, bytes payload, list events) except -1


cpdef bytes build_frame(int opcode, bytes payload)
