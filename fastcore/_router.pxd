# cython: language_level=3
# Declarations of the compiled router; `_http1.pyx` cimports Router and calls
# Router.find at C level. See _router.pyx for how the structures fit together.


cdef class _Route:
    """One registered route: what find() returns, plus its constraints."""
    cdef readonly str method
    cdef readonly str pattern
    cdef readonly object store
    cdef readonly dict constraints
    cdef tuple names              # param names in value order; "*" last for a wildcard
    cdef Py_ssize_t n_names
    cdef bint ends_in_wildcard
    cdef int n_constraints
    cdef tuple version            # (major, minor, patch) or None
    cdef object host              # lower-cased str, compiled re.Pattern, or None
    cdef bint host_exact
    cdef tuple custom             # ((strategy, value), ...) of custom constraints, or None
    cdef Py_ssize_t order         # registration index, the last tie-breaker
    cdef tuple label              # display labels of the segments (print_routes)


cdef class _Leaf:
    """The routes that end at one trie position, for one method."""
    cdef _Route plain             # the unconstrained route, or None
    cdef list constrained         # routes with constraints, or None when there are none


cdef class _Pattern:
    """A segment with several params, static text around a param, or a regex."""
    cdef object fullmatch         # bound re.Pattern.fullmatch of the whole segment
    cdef tuple groups             # group index of each param, in order
    cdef _Node child
    cdef tuple sort_key
    cdef tuple signature


cdef class _Node:
    """One segment position of one method's trie."""
    cdef dict statics             # static segment (decoded, lower-cased if needed) -> _Node
    cdef list patterns            # _Pattern children in precedence order, or None
    cdef _Node param              # the `:name` child that takes a whole segment, or None
    cdef _Leaf wildcard           # routes ending in `*` here, or None
    cdef _Leaf leaf               # routes ending exactly here, or None


cdef class Router:
    cdef readonly bint case_sensitive
    cdef readonly bint ignore_trailing_slash
    cdef readonly bint ignore_duplicate_slashes
    cdef readonly Py_ssize_t max_param_length
    cdef readonly bint has_version_constraints
    cdef readonly bint has_host_constraints
    cdef readonly frozenset custom_constraints  # names of the app's custom strategies
    cdef readonly tuple custom_used   # the custom strategy names some route uses, sorted
    cdef readonly bint has_custom_constraints
    cdef bint _normalise          # a lookup path may need rewriting before matching
    cdef dict _trees              # method -> root _Node
    cdef dict _statics            # method -> {normalised static path: _Leaf}
    cdef list _routes             # _Route in registration order
    cdef dict _keys               # duplicate key -> _Route

    cpdef tuple find(self, str method, str path, object host=*, object version=*,
                     dict custom=*)
    cdef str _normalise_path(self, str path)
    cdef dict _build_params(self, _Route route, list values)
