# Declarations of policy.pyx (the cors plugin's compiled part).

cpdef add_vary(object reply, str name)


cdef class Policy:
    cdef readonly object match              # (origin, request) -> bool or awaitable
    cdef readonly bint credentials
    cdef readonly bint star                 # "*" is sent as such (no credentials)
    cdef readonly bint vary                 # Vary: Origin on every answer
    cdef readonly object methods            # the joined values, or None
    cdef readonly object allowed_headers
    cdef readonly object exposed_headers
    cdef readonly object max_age            # seconds as a str, or None
    cdef readonly bint preflight
    cdef readonly bint strict

    cpdef allow(self, object reply, object origin)
    cpdef allow_preflight(self, object request, object reply)
    cpdef answer(self, object request, object reply, object origin, object allowed)
