from fastcore._reply cimport Connection


cdef class EventSink:
    cdef Connection proto
    cdef object _ended               # future: end() was called
    cdef list _callbacks
    cdef Py_ssize_t _writes
    cdef Py_ssize_t _seen            # _writes at the heartbeat timer's last visit
    cdef double _heartbeat
    cdef object _timer
    cdef object _encoder             # the stream's encoder (EventStream.encoder), or None
    cdef readonly bint closed

    cpdef bint write_chunk(self, bytes chunk)
    cdef bytes _encoded(self, bytes chunk)
    cdef int _start_heartbeat(self, object heartbeat) except -1
    cdef int _over(self) except -1
