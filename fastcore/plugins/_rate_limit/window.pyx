# cython: language_level=3
"""Counting a request in its window, and the hook's synchronous path (compiled).

How this works
--------------
A :class:`Plan` says how the requests of some routes are counted: the limit,
the key function, the allow list and the counter. :func:`limiter` makes the
``on_request`` hook from the default plan and the route plans' lookup; for a
plan that waits (a Redis counter, an async ``key`` or ``allow_list``) it hands
the request to the plugin's coroutine, otherwise it counts it here, in
:class:`MemoryCounter`, and sets the headers (:func:`answer`).

The memory counters of a namespace (the plugin's default counters, a route's
own, a group's) are an ``OrderedDict`` key -> :class:`Window` (the count and
the window's end on the monotonic clock). A window is opened by inserting at
the end (an expired entry is removed first), so the table is in order of
window start, and within one namespace every window has the same length: the
entries at the front are the first to expire. Opening a window therefore
drops the expired entries at the front (each entry is dropped once: amortised
O(1)), and when the table still holds ``cache`` entries it drops the oldest
window. Memory is bounded by ``cache`` entries per namespace, and the number
of namespaces by the route table. ``continue_exceeding`` restarts a window in
place and moves it to the end, which keeps the order.

Counting a request inside its window is one dict lookup and arithmetic on C
numbers; the hook reads the request and sets the headers through the public
``request``/``reply`` API only.
"""

from libc.math cimport ceil
from cpython.dict cimport PyDict_GetItem
from cpython.ref cimport PyObject
from cpython.time cimport monotonic

from .errors import RateLimitedError


cdef class Window:
    """One key's count in its current window, and when the window ends."""

    def __init__(self, long long count, double reset_at):
        self.count = count
        self.reset_at = reset_at

    def __repr__(self):
        return "Window(count=%d, reset_at=%r)" % (self.count, self.reset_at)


cdef class MemoryCounter:
    """One plan's view of a namespace: its window length, limit and policy."""

    def __init__(self, table, double window, long long limit, bint extend, Py_ssize_t cache):
        self.table = table
        self.window = window
        self.limit = limit
        self.extend = extend
        self.cache = cache

    def hit(self, key):
        """Count a request of ``key``: ``(requests in the window, seconds left)``."""
        cdef long long count
        cdef double left
        self.count(key, &count, &left)
        return count, left

    cdef int count(self, object key, long long* count, double* left) except -1:
        # HOT PATH: bench/icount.py --app bench.app_plugins (every limited request).
        cdef double now = monotonic()
        cdef PyObject* found = PyDict_GetItem(self.table, key)   # an OrderedDict is a dict
        cdef Window entry
        if found == NULL or (<Window>found).reset_at <= now:
            self._open(key, now)
            count[0] = 1
            left[0] = self.window
            return 0
        entry = <Window>found
        entry.count += 1
        if entry.count > self.limit and self.extend:
            entry.reset_at = now + self.window
            self.table.move_to_end(key)
        count[0] = entry.count
        left[0] = entry.reset_at - now
        return 0

    cdef int _open(self, object key, double now) except -1:
        cdef object table = self.table
        table.pop(key, None)
        while table:
            first = next(iter(table.values()))
            if (<Window>first).reset_at > now:
                break
            table.popitem(last=False)
        if len(table) >= self.cache:
            table.popitem(last=False)
        table[key] = Window(1, now + self.window)
        return 0


cdef class Plan:
    """How the requests of some routes are counted."""

    def __init__(self, long long limit, key, allowed, counter, bint is_async):
        self.limit = limit
        self.limit_value = limit
        self.key = key
        self.allowed = allowed
        self.hit = counter.hit
        self.is_async = is_async
        self.counter = counter if isinstance(counter, MemoryCounter) else None
        if self.counter is None and not is_async:
            raise TypeError("a counter other than the memory one waits: the plan is async")


# The public members used per request, taken from the request's and the
# reply's class once: a call through the class (and a property read through
# its descriptor) skips looking the name up on every object.
cdef object _reply_type = None
cdef object _reply_header = None
cdef object _request_type = None
cdef object _route_config = None

cdef extern from *:
    """
    static CYTHON_INLINE PyObject *fastcore_rl_descr_get(PyObject *descr, PyObject *obj) {
        return Py_TYPE(descr)->tp_descr_get(descr, obj, (PyObject *)Py_TYPE(obj));
    }
    """
    object descr_get "fastcore_rl_descr_get"(object descr, object obj)


cdef inline object _route_config_of(object request):
    global _request_type, _route_config
    if type(request) is not _request_type:
        found = getattr(type(request), "route_config", None)
        _route_config = found if hasattr(type(found), "__get__") else None
        _request_type = type(request)
    if _route_config is None:
        return request.route_config
    return descr_get(_route_config, request)


cpdef answer(object reply, Plan plan, long long count, double seconds_left):
    """The rate-limit headers; past the limit, ``retry-after`` and the 429 error."""
    global _reply_type, _reply_header
    cdef long long reset = <long long>ceil(seconds_left)
    cdef long long remaining = plan.limit - count
    if type(reply) is not _reply_type:
        _reply_header = type(reply).header
        _reply_type = type(reply)
    header = _reply_header
    header(reply, "x-ratelimit-limit", plan.limit_value)
    header(reply, "x-ratelimit-remaining", remaining if remaining > 0 else 0)
    header(reply, "x-ratelimit-reset", reset)
    if remaining < 0:
        reply.header("retry-after", reset)
        raise RateLimitedError("Rate limit exceeded, retry in %d seconds", reset)


def limiter(Plan default, object lookup, object limit_async):
    """The ``on_request`` hook. ``lookup(config, request)`` is the plan of a route
    with a config (None when limiting is off for it); ``limit_async(plan,
    request, reply)`` the coroutine that counts for a plan that waits."""

    def limit(request, reply):
        # HOT PATH: bench/icount.py --app bench.app_plugins. Runs for every
        # request of the context: a plan lookup, the key, one count, three headers.
        cdef Plan plan = default
        cdef long long count
        cdef double left
        config = _route_config_of(request)
        if config:
            found = lookup(config, request)
            if found is None:
                return None
            plan = <Plan>found
        if plan.is_async:
            return limit_async(plan, request, reply)
        key = plan.key(request)
        if plan.allowed is not None and plan.allowed(request, key):
            return None
        plan.counter.count(key, &count, &left)
        answer(reply, plan, count, left)
        return None

    return limit
