# cython: language_level=3
# Declarations of the compiled validation fast path. See _validate.pyx for how
# a flat object schema becomes a plan and when the generated validator decides.
from fastcore._reply cimport Request

cdef class _Prop:
    cdef str name
    cdef int kind                 # K_ANY, K_STR, K_INT, K_NUM, K_BOOL
    cdef bint required
    cdef bint has_default
    cdef object default
    cdef Py_ssize_t min_len       # -1: no bound
    cdef Py_ssize_t max_len
    cdef bint bounded             # any of the four numeric bounds is set
    cdef object minimum           # None: no bound
    cdef object maximum
    cdef object xminimum
    cdef object xmaximum
    cdef frozenset choices        # None: any string


cdef class FlatCheck:
    cdef tuple props              # _Prop, in schema order
    cdef tuple extra_required     # required names that are not properties
    cdef readonly object fallback # the generated validator
    cdef bint coerce

    cdef object run(self, object data)


cdef class ValidateStep:
    cdef tuple parts              # PART_* codes, in Fastify's order
    cdef tuple checks
    cdef bint attach
    cdef object formatter

    cdef int _failed(self, Request request, object err, str part) except -1
