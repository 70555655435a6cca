# cython: language_level=3
# Declarations of the schema-compiled JSON serializer. See _serialize.pyx for
# how a schema becomes a plan and how the plan is walked.
from cpython.object cimport PyObject


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


cdef struct _PropC:
    # The hot loop's view of a _Prop: borrowed pointers, no reference counting.
    PyObject* name                # the interned property name
    PyObject* node                # its _Node
    const char* key               # b',"name":' followed by 16 zero bytes of padding
    Py_ssize_t key_len            # without the padding; 0 when the name cannot be encoded
    bint check                    # required or has a default: a missing value matters


cdef class _Prop:
    """One entry of an object's ``properties``, in schema order."""
    cdef str name                 # interned, so dict probes hit on identity
    cdef bytes key_bytes          # b',"name":' as orjson escapes it plus padding, or None
    cdef _Node node
    cdef bint required
    cdef bint has_default
    cdef object default           # written through `node` when the property is missing


cdef class _Node:
    """One compiled schema: what to write for a value at this position."""
    cdef int kind                 # K_* in _serialize.pyx
    cdef bint nullable            # None is written as null (nullable: true, or "null" in type)
    cdef int fmt                  # F_* for strings: date-time, date, time, or none
    cdef tuple enum               # enum/const values, consulted only to pick a branch
    # objects
    cdef tuple props              # _Prop, in schema order; they own what cprops points to
    cdef _PropC* cprops           # PyMem array, one per prop
    cdef Py_ssize_t n_props
    cdef tuple required_only      # required names that are not in properties: checked only
    cdef frozenset prop_names     # keys never treated as extra
    cdef tuple patterns           # ((compiled regex search, _Node), ...) or None
    cdef _Node additional         # node for extra keys, or None: extras are dropped
    cdef bint has_extras          # patterns or additional set
    # arrays
    cdef _Node items              # node for items past the prefix (a K_ANY node by default)
    cdef tuple prefix             # tuple-form items, one _Node per position
    cdef Py_ssize_t n_prefix
    # anyOf / oneOf / type unions
    cdef tuple branches

    cdef int set_props(self, tuple props) except -1


cdef class Serializer:
    cdef _Node root
    cdef Py_ssize_t size_hint     # the largest output so far (+1/8) once past the stack buffer
    cpdef bytes dumps(self, object data)


# Decimal digits of v at out (room for 20); the number written. Shared with
# the protocol's response writer (Content-Length).
cdef int write_decimal(unsigned long long v, char* out) noexcept nogil
