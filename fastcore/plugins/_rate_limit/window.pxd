# Declarations of window.pyx (the rate_limit plugin's compiled part).

cdef class Window:
    cdef public long long count
    cdef public double reset_at


cdef class MemoryCounter:
    cdef readonly object table              # OrderedDict key -> Window, oldest window first
    cdef readonly double window
    cdef readonly long long limit
    cdef readonly bint extend               # continue_exceeding: a hit past the limit restarts it
    cdef readonly Py_ssize_t cache          # the most keys kept

    cdef int count(self, object key, long long* count, double* left) except -1
    cdef int _open(self, object key, double now) except -1


cdef class Plan:
    cdef readonly long long limit
    cdef readonly object limit_value        # the limit as a Python int, for its header
    cdef readonly object key                # (request) -> key, maybe async
    cdef readonly object allowed            # (request, key) -> bool, maybe async, or None
    cdef readonly object hit                # the counter's hit (key) -> (count, seconds left)
    cdef readonly bint is_async             # it waits: limit_async counts the request
    cdef MemoryCounter counter              # the memory counter, when it is one


cpdef answer(object reply, Plan plan, long long count, double seconds_left)
