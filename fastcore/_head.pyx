# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, so that the FASTCORE_DEBUG=1 build can turn the checks back on.
"""The response head: its lines, and the header names and values replies are given.

How this works
--------------
``build_response`` lays a response out in one allocation: the status line
(cached per status), the reply's own header lines, the Content-Type line,
Content-Length, Date (rebuilt once a second, RFC 9110 §6.6.1), Connection,
the blank line and the body. ``encode_header_lines`` writes a reply's own
headers into a stack buffer (ints as digits; anything it cannot write there
takes the slow path through str formatting).

``checked_name`` is where every header name a reply is given goes first: a
token (RFC 9110 §5.1), lower-cased, cached by the name as given (a service
sets the same few on every reply). The few names a reply handles apart come
back as one str object each, which ``name_kind`` tells by identity.
``check_header_value`` refuses controls and anything outside latin-1
(RFC 9110 §5.5): a value can never split the head.

``_reply`` (the writer, ``Reply.header``), ``_lifecycle`` and ``_http1`` use
these; nothing here knows a request or a connection.
"""

import re
from email.utils import formatdate

from fastcore import errors

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Next
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.string cimport memcpy
from libc.time cimport time as c_time, time_t

from fastcore._numbers cimport write_decimal

cdef extern from "Python.h":
    int PyUnicode_KIND(object o)
    void* PyUnicode_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)


# Header lines shared with _reply, _lifecycle and _http1 (declared in _head.pxd).
CT_JSON = b"content-type: application/json; charset=utf-8\r\n"
CT_TEXT = b"content-type: text/plain; charset=utf-8\r\n"
CT_OCTET = b"content-type: application/octet-stream\r\n"
CT_NONE = b""
CONN_KEEP = b"connection: keep-alive\r\n"
CONN_CLOSE = b"connection: close\r\n"


cdef dict _status_lines = {}


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


cdef int _content_length_line(char* buf, Py_ssize_t length):
    # b"content-length: <length>\r\n" into buf (at least 40 bytes); its size.
    cdef int n
    memcpy(buf, b"content-length: ", 16)
    n = 16 + write_decimal(<unsigned long long>length, buf + 16)
    buf[n] = b"\r"
    buf[n + 1] = b"\n"
    return n + 2


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


cdef str header_value_str(object value):
    if isinstance(value, str):
        return <str>value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


# Content types as written, by the str a reply was given: a service sends a
# few. Bounded: past the limit a line is built every time.
cdef dict _CTYPE_LINES = {}


cdef bytes content_type_line(object ctype):
    cdef bytes line = _CTYPE_LINES.get(ctype)
    if line is None:
        line = ("content-type: %s\r\n" % ctype).encode("latin-1")
        if len(_CTYPE_LINES) < 256 and type(ctype) is str:
            _CTYPE_LINES[ctype] = line
    return line


cdef bytes encode_header_lines(dict headers):
    # HOT PATH: every reply with headers of its own (plugins set some on each).
    # Reply headers as written: lower-case names, one line per value. CR/LF in a
    # value was refused by reply.header(), so a value cannot split the head.
    # Written into a stack buffer: names and one-byte str values are copied,
    # ints written as digits; anything else, or a head past the buffer, is
    # encoded by _encode_lines_slow.
    cdef char buf[HEAD_BUF]
    cdef Py_ssize_t n = 0
    cdef Py_ssize_t pos = 0
    cdef PyObject* kp
    cdef PyObject* vp
    while PyDict_Next(headers, &pos, &kp, &vp):
        if type(<object>vp) is list:
            for item in <list>vp:
                n = _put_line(buf, n, <object>kp, item)
                if n < 0:
                    return _encode_lines_slow(headers)
        else:
            n = _put_line(buf, n, <object>kp, <object>vp)
            if n < 0:
                return _encode_lines_slow(headers)
    return PyBytes_FromStringAndSize(buf, n)


cdef enum:
    HEAD_BUF = 2048


cdef inline Py_ssize_t _put_str(char* buf, Py_ssize_t n, object s) noexcept:
    # A one-byte str (its latin-1 bytes) at buf + n; -1 when it does not fit or
    # is not one-byte.
    cdef Py_ssize_t size
    if type(s) is not str or PyUnicode_KIND(s) != 1:
        return -1
    size = PyUnicode_GET_LENGTH(s)
    if n + size > HEAD_BUF - 4:
        return -1
    memcpy(buf + n, PyUnicode_DATA(s), size)
    return n + size


cdef Py_ssize_t _put_line(char* buf, Py_ssize_t n, object name, object value) noexcept:
    # "name: value\r\n" at buf + n: the new length, or -1 to take the slow path.
    cdef int overflow = 0
    cdef long long v
    n = _put_str(buf, n, name)
    if n < 0:
        return -1
    buf[n] = b":"
    buf[n + 1] = b" "
    n += 2
    if type(value) is int:
        v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow or v < 0 or n + 24 > HEAD_BUF - 4:
            return -1
        n += write_decimal(<unsigned long long>v, buf + n)
    else:
        n = _put_str(buf, n, value)
        if n < 0:
            return -1
    buf[n] = b"\r"
    buf[n + 1] = b"\n"
    return n + 2


cdef bytes _encode_lines_slow(dict headers):
    parts = []
    for name, value in headers.items():
        if type(value) is list:
            for item in value:
                parts.append("%s: %s\r\n" % (name, header_value_str(item)))
        else:
            parts.append("%s: %s\r\n" % (name, header_value_str(value)))
    return "".join(parts).encode("latin-1")


# --- header names and values ---------------------------------------------------

cdef object _TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch


# Header names already checked, as given -> lower-cased: a service sets the
# same few names on every reply. Bounded: past the limit names are checked
# every time.
cdef dict _CHECKED_NAMES = {}
cdef Py_ssize_t _CHECKED_NAMES_MAX = 1024


cdef str _K_CONTENT_TYPE = "content-type"
cdef str _K_SET_COOKIE = "set-cookie"
cdef str _K_CONTENT_LENGTH = "content-length"
cdef str _K_TRANSFER_ENCODING = "transfer-encoding"
cdef str _K_CONNECTION = "connection"
cdef dict _SPECIAL_NAMES = {key: key for key in (
    _K_CONTENT_TYPE, _K_SET_COOKIE, _K_CONTENT_LENGTH, _K_TRANSFER_ENCODING, _K_CONNECTION)}


# In front of _CHECKED_NAMES, by the name object's address: a hook sets the
# same str constants on every reply, and comparing one pointer costs less than
# a dict lookup. A slot owns a reference to its name (and key), so the address
# in it is never that of a freed object.
cdef enum:
    NAME_SLOTS = 64
cdef PyObject* _slot_name[NAME_SLOTS]
cdef PyObject* _slot_key[NAME_SLOTS]


cdef inline size_t _slot(object name) noexcept:
    return (<size_t><PyObject*>name >> 4) & (NAME_SLOTS - 1)


cdef str checked_name(object name):
    # HOT PATH: every reply.header() and get_header() (bench/icount.py --app
    # bench.app_plugins). A header name a reply is given, lower-cased
    # (ReplyInvalidHeaderError when it is not a token).
    cdef size_t slot = _slot(name)
    if _slot_name[slot] == <PyObject*>name:
        return <str>_slot_key[slot]
    cdef str key = _CHECKED_NAMES.get(name)
    if key is None:
        key = _check_name(name)
    if type(name) is str:
        Py_INCREF(name)
        Py_INCREF(key)
        Py_XDECREF(_slot_name[slot])
        Py_XDECREF(_slot_key[slot])
        _slot_name[slot] = <PyObject*>name
        _slot_key[slot] = <PyObject*>key
    return key


cdef int name_kind(str key) noexcept:
    # What reply.header() does apart for a checked name (NAME_*).
    if key is _K_CONTENT_TYPE:
        return NAME_CONTENT_TYPE
    if key is _K_SET_COOKIE:
        return NAME_SET_COOKIE
    if key is _K_CONTENT_LENGTH or key is _K_TRANSFER_ENCODING or key is _K_CONNECTION:
        return NAME_FRAMING
    return NAME_OTHER


cdef str _check_name(object name):
    # RFC 9110 §5.1: a name is a token. The names reply.header() handles apart
    # come back as the one object each that name_kind compares by identity.
    cdef str key = name.lower()
    if _TOKEN(key) is None:
        raise errors.ReplyInvalidHeaderError("Invalid header name %r" % (key,))
    key = _SPECIAL_NAMES.get(key, key)
    if len(_CHECKED_NAMES) < _CHECKED_NAMES_MAX and type(name) is str:
        _CHECKED_NAMES[name] = key
    return key


cdef check_header_value(str name, object value):
    # RFC 9110 §5.5: no CR, LF, NUL or other controls in a value, and the head
    # is written as latin-1 bytes.
    cdef str s = header_value_str(value)
    cdef Py_UCS4 c
    for c in s:
        if (c < 32 and c != 9) or c == 127:
            raise errors.ReplyInvalidHeaderError("Invalid character in header %r" % (name,))
        if c > 255:
            raise errors.ReplyInvalidHeaderError(
                "Header %r holds characters outside latin-1" % (name,))
