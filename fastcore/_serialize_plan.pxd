# cython: language_level=3
# Declarations of _serialize_plan.pyx: the plan a response schema compiles to.
# _serialize.pyx walks it.
from cpython.object cimport PyObject


# Plan node kinds.
cdef enum:
    K_ANY = 0        # anything: written as orjson writes it
    K_STRING = 1
    K_INTEGER = 2
    K_NUMBER = 3
    K_BOOLEAN = 4
    K_NULL = 5
    K_OBJECT = 6
    K_ARRAY = 7
    K_CHOICE = 8     # type union or anyOf/oneOf: `branches`
    K_NEVER = 9      # the `false` schema: every value is an error

cdef enum:
    F_NONE = 0
    F_DATE_TIME = 1
    F_DATE = 2
    F_TIME = 3


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
    cdef int kind                 # K_* above
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


# The plan of `schema` (with shared `$id` schemas for `$ref`s); raises
# SchemaRefError for a reference that names no known schema.
cdef _Node compile_plan(object schema, object schemas)
