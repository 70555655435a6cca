# cython: language_level=3
# Declarations of _tally.pyx: responses counted per route, method and status.
from fastcore._reply cimport Request, Server


cdef class Buckets:
    cdef double* ms                 # upper bounds in milliseconds, increasing
    cdef readonly Py_ssize_t size
    cdef readonly tuple seconds     # the same bounds, in seconds


cdef class ResponseTally:
    cdef unsigned long long* counts     # size buckets, the last +Inf
    cdef readonly Py_ssize_t size
    cdef readonly double total_ms


cdef int tally_response(Server server, Request req, int status) except -1
