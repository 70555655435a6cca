# cython: language_level=3
# Declarations of the schema-compiled JSON serializer. See _serialize.pyx for
# how a schema becomes a plan and how the plan is walked.
from cpython.object cimport PyObject

from fastcore._serialize_plan cimport _Node


cdef struct _Writer:
    char* buf                     # the output so far: a stack array, then PyMem memory
    Py_ssize_t len
    Py_ssize_t cap
    bint heap                     # buf came from PyMem_Malloc and must be freed
    int depth                     # open arrays/objects, capped as orjson caps them


cdef struct _Frame:
    # Where the value being written sits, read only to name it in an error.
    _Frame* parent                # the enclosing container's frame, NULL at the root
    PyObject* key                 # borrowed property name, or NULL for an array index
    Py_ssize_t index


cdef class Serializer:
    cdef _Node root
    cdef Py_ssize_t size_hint     # the largest output so far (+1/8) once past the stack buffer
    cpdef bytes dumps(self, object data)
