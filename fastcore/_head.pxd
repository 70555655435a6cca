# cython: language_level=3
# Declarations of _head.pyx: the response head's lines, and the header names
# and values replies are given. _reply, _lifecycle and _http1 cimport these.

# Header lines (defined in _head.pyx).
cdef bytes CT_JSON, CT_TEXT, CT_OCTET, CT_NONE, CONN_KEEP, CONN_CLOSE

# What reply.header() does apart for a name (name_kind).
cdef enum:
    NAME_OTHER = 0
    NAME_CONTENT_TYPE = 1
    NAME_SET_COOKIE = 2
    NAME_FRAMING = 3            # content-length, transfer-encoding, connection


cdef bytes status_line(int status)
cdef bytes build_response(bytes status, bytes headers, bytes ctype, Py_ssize_t length,
                          bytes conn, object body)
cdef bytes client_error_response(int status, bytes body)
cdef str header_value_str(object value)
cdef bytes content_type_line(object ctype)
cdef bytes encode_header_lines(dict headers)
cdef str checked_name(object name)
cdef int name_kind(str key) noexcept
cdef check_header_value(str name, object value)
