# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, so that the FASTCORE_DEBUG=1 build can turn the checks back on.
"""WebSocket frames (RFC 6455 §5), server side, sans-I/O: bytes in, events out.

How this works
--------------
``FrameParser.feed(data)`` appends the bytes to a buffer and returns the
events of every frame completed by them, in order:

    (OP_TEXT, str) (OP_BINARY, bytes) (OP_PING, bytes) (OP_PONG, bytes)
    (OP_CLOSE, (code, reason))

A frame's header is read as soon as its bytes are there; every rule that
the header alone can break is checked then, before its payload is buffered:
reserved bits without an extension, an unknown opcode, an unmasked client
frame, a fragmented or over-125-byte control frame, a 64-bit length with its
top bit set, a continuation with no message begun or a new message before
the last one ended (1002), and a message that would grow past
``max_message_size`` (1009). The payload is unmasked in C, eight bytes at a
time. Fragments gather until the final one; a text message is decoded as
strict UTF-8 once complete (1007 otherwise, also when its fragments split a
character). A close frame's code must be one a peer may send (1000-1003,
1007-1011, 3000-4999; none at all reads as 1005) and its reason UTF-8 (1007);
a one-byte close payload is 1002.

The first violation stops the parser: ``feed`` returns the events before it
and sets ``error_code``/``error_reason`` (the close code SPEC §11 gives);
later input is ignored, as it is after a close frame.

``build_frame(opcode, payload)`` writes one final, unmasked server frame: the
same bytes object can go to every receiver of a message.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy

# The Python-visible names of the C enum in _ws_frames.pxd (the code below
# compares against the enum, so no module global is looked up per frame).
OP_CONTINUATION = WS_CONTINUATION
OP_TEXT = WS_TEXT
OP_BINARY = WS_BINARY
OP_CLOSE = WS_CLOSE
OP_PING = WS_PING
OP_PONG = WS_PONG

CLOSE_NORMAL = WS_CLOSE_NORMAL
CLOSE_NO_STATUS = WS_CLOSE_NO_STATUS      # a close frame without a code (never sent)
CLOSE_PROTOCOL_ERROR = WS_CLOSE_PROTOCOL_ERROR
CLOSE_INVALID_DATA = WS_CLOSE_INVALID_DATA
CLOSE_TOO_BIG = WS_CLOSE_TOO_BIG


cdef bint close_code_allowed(int code):
    # RFC 6455 §7.4: codes a peer may put in a close frame.
    return (1000 <= code <= 1003 or 1007 <= code <= 1011 or 3000 <= code <= 4999)


def is_valid_close_code(int code):
    """Whether a peer may send ``code`` in a close frame (RFC 6455 §7.4)."""
    return close_code_allowed(code)


cdef void unmask_into(char* out, const char* data, Py_ssize_t n, const char* key) noexcept nogil:
    # out = data XOR the 4-byte key repeated: eight bytes per step, then the rest.
    cdef uint32_t k32
    cdef uint64_t k64, word
    cdef Py_ssize_t i = 0
    memcpy(&k32, key, 4)
    k64 = (<uint64_t>k32 << 32) | k32
    while i + 8 <= n:
        memcpy(&word, data + i, 8)
        word ^= k64
        memcpy(out + i, &word, 8)
        i += 8
    while i < n:
        out[i] = data[i] ^ key[i & 3]
        i += 1


@cython.final
cdef class FrameParser:
    """Parses what a client sends (see the module doc)."""

    def __init__(self, Py_ssize_t max_message_size=1048576):
        self.buf = bytearray()
        self.max_message_size = max_message_size
        self.message = None
        self.message_opcode = 0
        self.message_size = 0
        self.error_code = 0
        self.error_reason = ""
        self.stopped = False

    cdef int _fail(self, int code, str reason) except -1:
        self.error_code = code
        self.error_reason = reason
        self.stopped = True
        self.buf = bytearray()
        self.message = None
        return 0

    cpdef list feed(self, object data):
        """The events of the frames that ``data`` completes (module doc)."""
        # HOT PATH: bench/test_bench_ws_frames.py (parse: fastcore)
        cdef list events = []
        cdef bytearray buf
        cdef const uint8_t* p
        cdef Py_ssize_t n, pos = 0, header, length, i
        cdef uint64_t ulen
        cdef int opcode, b0, b1, len7
        cdef bint fin
        if self.stopped:
            return events
        self.buf += data
        buf = self.buf
        while not self.stopped:
            n = len(buf) - pos
            if n < 2:
                break
            p = <const uint8_t*>(<char*>buf) + pos
            b0 = p[0]
            b1 = p[1]
            fin = (b0 & 0x80) != 0
            opcode = b0 & 0x0F
            if b0 & 0x70:
                self._fail(WS_CLOSE_PROTOCOL_ERROR, "reserved bits set without an extension")
                break
            if not (b1 & 0x80):
                self._fail(WS_CLOSE_PROTOCOL_ERROR, "client frames must be masked")
                break
            if opcode >= 8:
                if opcode > WS_PONG:
                    self._fail(WS_CLOSE_PROTOCOL_ERROR, "unknown opcode %d" % opcode)
                    break
                if not fin:
                    self._fail(WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame")
                    break
            elif opcode > WS_BINARY:
                self._fail(WS_CLOSE_PROTOCOL_ERROR, "unknown opcode %d" % opcode)
                break
            elif opcode == WS_CONTINUATION and self.message_opcode == 0:
                self._fail(WS_CLOSE_PROTOCOL_ERROR, "continuation frame without a message")
                break
            elif opcode != WS_CONTINUATION and self.message_opcode != 0:
                self._fail(WS_CLOSE_PROTOCOL_ERROR, "new message before the last one ended")
                break
            len7 = b1 & 0x7F
            if len7 < 126:
                header = 6
                length = len7
            elif opcode >= 8:
                self._fail(WS_CLOSE_PROTOCOL_ERROR, "control frame over 125 bytes")
                break
            elif len7 == 126:
                header = 8
                if n < header:
                    break
                length = (p[2] << 8) | p[3]
            else:
                header = 14
                if n < header:
                    break
                if p[2] & 0x80:
                    self._fail(WS_CLOSE_PROTOCOL_ERROR, "64-bit length with its top bit set")
                    break
                ulen = 0
                for i in range(2, 10):
                    ulen = (ulen << 8) | p[i]
                if ulen > <uint64_t>(self.max_message_size - self.message_size):
                    self._fail(WS_CLOSE_TOO_BIG, "message over %d bytes" % self.max_message_size)
                    break
                length = <Py_ssize_t>ulen
            if opcode < 8 and self.message_size + length > self.max_message_size:
                self._fail(WS_CLOSE_TOO_BIG, "message over %d bytes" % self.max_message_size)
                break
            if n < header + length:
                break
            # A new object, written once: PyBytes_FromStringAndSize(data, 1)
            # would hand back CPython's shared one-byte bytes, not to be written.
            payload = PyBytes_FromStringAndSize(NULL, length)
            unmask_into(PyBytes_AS_STRING(payload), <const char*>p + header, length,
                        <const char*>p + header - 4)
            pos += header + length
            if opcode >= 8:
                self._control(opcode, payload, events)
            else:
                self._data(opcode, fin, payload, events)
        if not self.stopped and pos:
            del buf[:pos]
        return events

    cdef int _data(self, int opcode, bint fin, bytes payload, list events) except -1:
        if opcode != WS_CONTINUATION:
            self.message_opcode = opcode
            if fin:
                return self._complete(payload, events)
            self.message = [payload]
            self.message_size = PyBytes_GET_SIZE(payload)
            return 0
        (<list>self.message).append(payload)
        self.message_size += PyBytes_GET_SIZE(payload)
        if fin:
            whole = b"".join(<list>self.message)
            self.message = None
            self.message_size = 0
            return self._complete(whole, events)
        return 0

    cdef int _complete(self, bytes payload, list events) except -1:
        cdef int opcode = self.message_opcode
        self.message_opcode = 0
        if opcode == WS_BINARY:
            events.append((WS_BINARY, payload))
            return 0
        try:
            text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload),
                                        NULL)
        except UnicodeDecodeError:
            return self._fail(WS_CLOSE_INVALID_DATA, "invalid UTF-8 in a text message")
        events.append((WS_TEXT, text))
        return 0

    cdef int _control(self, int opcode, bytes payload, list events) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(payload)
        cdef int code
        if opcode != WS_CLOSE:
            events.append((opcode, payload))
            return 0
        if n == 0:
            events.append((WS_CLOSE, (WS_CLOSE_NO_STATUS, "")))
            self.stopped = True
            return 0
        if n == 1:
            return self._fail(WS_CLOSE_PROTOCOL_ERROR, "one-byte close payload")
        code = (p[0] << 8) | p[1]
        if not close_code_allowed(code):
            return self._fail(WS_CLOSE_PROTOCOL_ERROR, "invalid close code %d" % code)
        try:
            reason = PyUnicode_DecodeUTF8(<const char*>p + 2, n - 2, NULL)
        except UnicodeDecodeError:
            return self._fail(WS_CLOSE_INVALID_DATA, "invalid UTF-8 in a close reason")
        events.append((WS_CLOSE, (code, reason)))
        self.stopped = True
        return 0


cpdef bytes build_frame(int opcode, bytes payload):
    """One final, unmasked server frame carrying ``payload`` (RFC 6455 §5.2)."""
    # HOT PATH: bench/test_bench_ws_frames.py (build: fastcore)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
    cdef Py_ssize_t header = 2 if n < 126 else 4 if n < 65536 else 10
    cdef bytes out = PyBytes_FromStringAndSize(NULL, header + n)
    cdef uint8_t* p = <uint8_t*>PyBytes_AS_STRING(out)
    cdef int i
    p[0] = 0x80 | opcode
    if n < 126:
        p[1] = <uint8_t>n
    elif n < 65536:
        p[1] = 126
        p[2] = <uint8_t>(n >> 8)
        p[3] = <uint8_t>n
    else:
        p[1] = 127
        for i in range(8):
            p[2 + i] = <uint8_t>((<uint64_t>n) >> (56 - 8 * i))
    memcpy(p + header, PyBytes_AS_STRING(payload), n)
    return out


def close_payload(int code, str reason=""):
    """The payload of a close frame: the code, big-endian, then the UTF-8 reason
    (at most 123 bytes, so that the frame stays a control frame)."""
    cdef bytes text = reason.encode("utf-8")
    if PyBytes_GET_SIZE(text) > 123:
        raise ValueError("a close reason holds at most 123 bytes of UTF-8")
    return bytes(((code >> 8) & 0xFF, code & 0xFF)) + text
