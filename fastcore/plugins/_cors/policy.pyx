# cython: language_level=3
"""What each request is compared with and answered (compiled).

How this works
--------------
:class:`Policy` holds the plugin's options, prepared once at ``register``:
``match(origin, request)`` (a plain function, or one that returns an
awaitable) and every constant header value already joined. :func:`make_hook`
makes the ``on_request`` hook from it. Per request (the Fetch standard's CORS
protocol), through the public ``request``/``reply`` API only:

1. ``Vary: Origin`` is added unless the allowed origin is a fixed ``"*"``.
   A request without ``Origin`` is not a CORS request: nothing else is done.
2. A route with ``config={"cors": False}`` is left alone.
3. ``OPTIONS`` with ``Access-Control-Request-Method`` is a preflight (when
   ``preflight``), answered 204 here, with the allow headers when the origin
   is allowed; ``OPTIONS`` with ``Origin`` but no such header is refused with
   ``FC_ERR_CORS_INVALID_PREFLIGHT`` under ``strict_preflight``.
4. Any other request from an allowed origin gets the allow headers; one from
   a disallowed origin gets none and is served all the same.
"""

from inspect import isawaitable

from .errors import CorsInvalidPreflightError


# The public methods used per request, taken from the request's and the
# reply's class once: a call through the class skips looking the method up on
# every object.
cdef object _reply_type = None
cdef object _reply_get_header = None
cdef object _reply_header = None
cdef object _request_type = None
cdef object _request_get_header = None


cpdef add_vary(object reply, str name):
    """Add ``name`` to the reply's ``Vary``, unless it is there (or ``*`` is)."""
    global _reply_type, _reply_get_header, _reply_header
    if type(reply) is not _reply_type:
        _reply_get_header = type(reply).get_header
        _reply_header = type(reply).header
        _reply_type = type(reply)
    current = _reply_get_header(reply, "vary")
    if current is None:
        _reply_header(reply, "vary", name)
        return
    current = str(current)
    names = [part.strip().lower() for part in current.split(",")]
    if "*" not in names and name.lower() not in names:
        reply.header("vary", current + ", " + name)


cdef class Policy:
    """The options, prepared once (``__init__`` of the package builds them)."""

    def __init__(self, match, *, bint credentials, bint star, methods, allowed_headers,
                 exposed_headers, max_age, bint preflight, bint strict):
        self.match = match
        self.credentials = credentials
        self.star = star
        self.vary = not star
        self.methods = methods
        self.allowed_headers = allowed_headers
        self.exposed_headers = exposed_headers
        self.max_age = max_age
        self.preflight = preflight
        self.strict = strict

    cpdef allow(self, object reply, object origin):
        """The headers of every answer to an allowed origin."""
        reply.header("access-control-allow-origin", "*" if self.star else origin)
        if self.credentials:
            reply.header("access-control-allow-credentials", "true")
        if self.exposed_headers:
            reply.header("access-control-expose-headers", self.exposed_headers)

    cpdef allow_preflight(self, object request, object reply):
        """The headers only a preflight's answer carries."""
        reply.header("access-control-allow-methods", self.methods)
        if self.allowed_headers is None:
            add_vary(reply, "Access-Control-Request-Headers")
            asked = request.headers.get("access-control-request-headers")
            if asked:
                reply.header("access-control-allow-headers", asked)
        elif self.allowed_headers:
            reply.header("access-control-allow-headers", self.allowed_headers)
        if self.max_age is not None:
            reply.header("access-control-max-age", self.max_age)

    cpdef answer(self, object request, object reply, object origin, object allowed):
        """Set the headers for an origin, allowed or not; answer a preflight."""
        cdef bint preflight = self.preflight and request.method == "OPTIONS"
        if preflight and self.strict and request.headers.get(
                "access-control-request-method") is None:
            raise CorsInvalidPreflightError()
        if allowed:
            self.allow(reply, origin)
            if preflight:
                self.allow_preflight(request, reply)
        if preflight:
            reply.code(204).send()


def make_hook(Policy policy, object answer_later):
    """The ``on_request`` hook; for an origin function that returns an awaitable it
    returns ``answer_later(request, reply, origin, awaitable)``, the coroutine that
    awaits it and answers."""
    match = policy.match

    def on_request(request, reply):
        # HOT PATH: bench/icount.py --app bench.app_plugins. Runs for every
        # request: without Origin, one header lookup (and Vary).
        global _request_type, _request_get_header
        if policy.vary:
            add_vary(reply, "Origin")
        if type(request) is not _request_type:
            _request_get_header = type(request).get_header
            _request_type = type(request)
        origin = _request_get_header(request, "origin")
        if origin is None:
            return None
        config = request.route_config
        if config and config.get("cors") is False:
            return None
        allowed = match(origin, request)
        if allowed.__class__ is not bool and isawaitable(allowed):
            return answer_later(request, reply, origin, allowed)
        policy.answer(request, reply, origin, allowed)
        return None

    return on_request
