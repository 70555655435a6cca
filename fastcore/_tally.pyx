# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, so that the FASTCORE_DEBUG=1 build can turn the checks back on.
"""Responses counted per route, method and status, with their durations.

How this works
--------------
Nothing here runs until an app asks for it (``count_responses``, which the
metrics plugin calls): the server then holds a ``Buckets``, the upper bounds
of the duration buckets in milliseconds as a C array. After the last byte of
each response, ``tally_response`` finds the ``ResponseTally`` of the
request's route record, method and status (two dict reads on the record's
``tallies``, ``{method: {status: tally}}``; created on first use), walks the
bounds to the first one at or above the request's duration (Prometheus's
``le``), adds one to that bucket and the duration to the sum. No Python
call, no allocation once a route, method and status have been seen; the
counts are C integers read only when someone asks (``App.stats()``).

This module imports nothing from the Python layer.
"""

cimport cython
from cpython.dict cimport PyDict_GetItem
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject

from fastcore._reply cimport Request, RouteRecord, Server, monotonic


@cython.final
cdef class Buckets:
    """Upper bounds of the duration buckets (+Inf is implied after the last)."""

    def __cinit__(self, bounds):
        cdef Py_ssize_t i
        values = [float(bound) for bound in bounds]
        self.size = len(values)
        self.ms = <double*>PyMem_Malloc((self.size if self.size else 1) * sizeof(double))
        if self.ms is NULL:
            raise MemoryError()
        for i in range(self.size):
            self.ms[i] = values[i] * 1000.0
        self.seconds = tuple(values)

    def __dealloc__(self):
        PyMem_Free(self.ms)


@cython.final
cdef class ResponseTally:
    """The responses of one route, method and status: a count per bucket (the
    last one +Inf) and the sum of their durations."""

    def __cinit__(self, Py_ssize_t size):
        cdef Py_ssize_t i
        self.size = size
        self.counts = <unsigned long long*>PyMem_Malloc(size * sizeof(unsigned long long))
        if self.counts is NULL:
            raise MemoryError()
        for i in range(size):
            self.counts[i] = 0
        self.total_ms = 0.0

    def __dealloc__(self):
        PyMem_Free(self.counts)

    @property
    def buckets(self):
        """Each bucket's own count (not cumulative), the +Inf bucket last."""
        return tuple([self.counts[i] for i in range(self.size)])

    @property
    def count(self):
        cdef unsigned long long total = 0
        cdef Py_ssize_t i
        for i in range(self.size):
            total += self.counts[i]
        return total

    @property
    def total_seconds(self):
        return self.total_ms / 1000.0


cdef int tally_response(Server server, Request req, int status) except -1:
    # HOT PATH: bench/icount.py --app bench.app_metrics (once per response
    # while counting is on): two dict reads, a walk over the bounds, two adds.
    cdef Buckets buckets = <Buckets>server.response_buckets
    cdef RouteRecord record = req.record if req.record is not None else server.not_found
    cdef double ms = (monotonic() - req._start) * 1000.0
    cdef dict by_method = record.tallies
    cdef dict statuses
    cdef ResponseTally tally
    cdef PyObject* found
    cdef Py_ssize_t i = 0
    if by_method is None:
        by_method = record.tallies = {}
    found = PyDict_GetItem(by_method, req.method)
    if found is NULL:
        statuses = by_method[req.method] = {}
    else:
        statuses = <dict>found
    key = status
    found = PyDict_GetItem(statuses, key)
    if found is NULL:
        tally = statuses[key] = ResponseTally(buckets.size + 1)
    else:
        tally = <ResponseTally>found
    while i < buckets.size and ms > buckets.ms[i]:
        i += 1
    tally.counts[i] += 1
    tally.total_ms += ms
    return 0
