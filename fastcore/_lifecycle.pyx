# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, so that the FASTCORE_DEBUG=1 build can turn the checks back on.
"""The request lifecycle: the stage machine every request goes through.

How this works
--------------
``Lifecycle`` (a ``Connection`` of ``_reply``, extended by ``_http1``'s
``HttpProtocol``) takes a complete ``Request`` at ``_dispatch`` and walks it
through SPEC §3's stages with the route's precomputed hook tuples:

    on_request -> pre_parsing -> body parse -> pre_validation -> validate
        -> pre_handler -> handler -> pre_serialization -> serialize
        -> on_send -> write (_reply) -> on_response

``_advance`` is one loop over ``req._stage``; a stage whose hooks are
``None`` costs one check. Hooks, parsers, handlers and error handlers may be
plain functions or ``async``: a coroutine is stepped once with
``PyIter_Send`` under a reused stand-in current task (``FirstStep``), and
only one that really waits is handed to an ``asyncio.Task``; when it
finishes, ``_on_done`` continues by phase (``PHASE_*``). A hook that sends
ends the chain; ``on_send``/``on_response`` still run.

Errors go to the nearest error handler of the route's chain; one that
raises passes to the next; the last resort is the default JSON error body,
preceded by ``on_error`` hooks. ``handler_timeout`` arms one timer, and only
for work that waits.

``_send`` holds the payload rules (SPEC §2): dict/list through the route's
compiled serializer or orjson, str, bytes, None, errors, async iterators
(streamed by ``_reply``).

What it may call: ``_reply`` (objects, the writer) below it, and
``_finish``/``_check_deadline`` of the connection above it, through the
method table. HTTP requests and ``inject`` go through it alike.
"""

cimport cython

import asyncio
import logging
from functools import partial

import orjson

from fastcore import errors
from fastcore._tasks import Resume
from fastcore._websocket import WebSocket, handshake, is_upgrade, start_handler

from cpython.ref cimport PyObject, Py_XDECREF
from cpython.dict cimport PyDict_DelItem, PyDict_GetItem, PyDict_SetItem

from fastcore._tally cimport tally_response
from fastcore._head cimport CT_JSON, CT_NONE, CT_OCTET, CT_TEXT, client_error_response
from fastcore._reply cimport (Connection, Reply, Request, RouteRecord, Server, monotonic,
                              release_empty_dict, seed_reply, seed_request)

cdef extern from "Python.h":
    object PyContext_CopyCurrent()
    object PyContext_Copy(object ctx)
    int PyContext_Enter(object ctx) except -1
    int PyContext_Exit(object ctx) except -1
    bint PyCoro_CheckExact(object o)
    int PyIter_Send(object iter, object arg, PyObject** presult) except -1


cdef object _orjson_dumps = orjson.dumps


cdef bint _enter_request(Request req) except -1:
    # A later burst of a request's work (a task finished, a timer fired) runs
    # in the request's context, as its first burst did (Lifecycle._dispatch).
    # Whether it entered it now (and _leave_request must leave it).
    if req._context is None or req._in_context:
        return False
    PyContext_Enter(req._context)
    req._in_context = True
    return True


cdef int _leave_request(Request req, bint entered) except -1:
    if entered:
        req._in_context = False
        PyContext_Exit(req._context)
    return 0
cdef object _orjson_loads = orjson.loads
cdef object _JSONDecodeError = orjson.JSONDecodeError
cdef object _FastcoreError = errors.FastcoreError
cdef object _BadUrlError = errors.BadUrlError
cdef object _error_body = errors.error_body
cdef object _log = logging.getLogger("fastcore")
cdef object _CancelledError = asyncio.CancelledError
cdef object _enter_task = asyncio.tasks._enter_task
cdef object _leave_task = asyncio.tasks._leave_task
cdef object _Task = asyncio.Task

cdef bytes BODY_503 = (b'{"error":"Service Unavailable","message":"Service Unavailable",'
                       b'"statusCode":503}')


def _find_current_tasks():
    # asyncio keeps each loop's current task in a dict (CPython 3.11-3.13). When
    # it is the dict _enter_task writes, _step sets the stand-in there itself,
    # without the two calls per handler; otherwise it calls them.
    tasks = getattr(asyncio.tasks, "_current_tasks", None)
    if type(tasks) is not dict:
        return None
    key, marker = object(), object()
    _enter_task(key, marker)
    try:
        found = tasks.get(key) is marker
    finally:
        _leave_task(key, marker)
    return tasks if found else None


cdef dict _current_tasks = _find_current_tasks()


cdef inline bint _enter_stand_in(object loop, FirstStep stand_in) except -1:
    # False when a task is already current (code calling the protocol from
    # inside one): the coroutine then runs under that task.
    if _current_tasks is None:
        try:
            _enter_task(loop, stand_in)
        except RuntimeError:
            return False
        return True
    if PyDict_GetItem(_current_tasks, loop) is not NULL:
        return False
    PyDict_SetItem(_current_tasks, loop, stand_in)
    return True


cdef inline int _leave_stand_in(object loop, FirstStep stand_in) except -1:
    if _current_tasks is None:
        _leave_task(loop, stand_in)
    elif PyDict_GetItem(_current_tasks, loop) is <PyObject*>stand_in:
        PyDict_DelItem(_current_tasks, loop)
    return 0


@cython.freelist(16)
cdef class FirstStep:
    """The current task while a handler runs its first, task-less step.

    ``asyncio.current_task()`` returns it, so ``asyncio.timeout()`` and other
    code that needs a task work from the handler's first line. Once a real
    task takes over, ``cancel``/``cancelling``/``uncancel`` go to it; cancels
    asked for before that are replayed on it.
    """

    def __cinit__(self, loop):
        self._loop = loop

    def get_loop(self):
        return self._loop

    def cancel(self, msg=None):
        if self.task is not None:
            return self.task.cancel(msg)
        self._cancel_requests += 1
        return True

    def cancelling(self):
        if self.task is not None:
            return self.task.cancelling()
        return self._cancel_requests

    def uncancel(self):
        if self.task is not None:
            return self.task.uncancel()
        if self._cancel_requests:
            self._cancel_requests -= 1
        return self._cancel_requests

    def done(self):
        return self.task is not None and self.task.done()

    def get_name(self):
        return "fastcore-handler"

    def adopt(self, task):
        self.task = task
        for _ in range(self._cancel_requests):
            task.cancel()


cdef int _error_status(object exc):
    # An error's own status when it is an HTTP error status, else 500 (SPEC §6).
    code = getattr(exc, "status_code", None)
    if type(code) is int and 400 <= code <= 599:
        return code
    return 500


def _log_task_error(task):
    if not task.cancelled() and task.exception() is not None:
        _log.error("hook task failed", exc_info=task.exception())


cdef class Lifecycle(Connection):
    """The stage machine of SPEC §3 for the requests of one connection."""

    cdef int _dispatch(self, Request req) except -1:
        # HOT PATH: bench/test_bench_protocol.py (inject /json). The request's
        # hooks and handler run in a contextvars.Context of its own, copied from
        # the connection's first one (not from the current one: a pipelined
        # request starts inside the one before it), as if a task per request
        # ran them: what one request sets no other sees, and a token set before
        # an await resets after it. Entered here, and by each later burst of
        # the request's work (_resume); its tasks get it as their context.
        cdef object ctx
        if self.base_context is None:
            self.base_context = PyContext_CopyCurrent()
        ctx = req._context = PyContext_Copy(self.base_context)
        PyContext_Enter(ctx)
        req._in_context = True
        try:
            return self._start(req)
        finally:
            req._in_context = False
            PyContext_Exit(ctx)

    cdef int _start(self, Request req) except -1:
        cdef Server server = self.server
        cdef Reply reply = Reply.__new__(Reply)
        release_empty_dict(reply)
        server.req_counter += 1
        req._seq = server.req_counter
        self.nrequests += 1
        reply.request = req
        reply.proto = self
        reply._status = 200
        if req._closing_503:
            reply.sent = True
            reply._written = True
            self._out(client_error_response(503, BODY_503))
            return self._finish(req, False)
        if req.record is None:
            if server.not_found_resolver is not None:
                try:
                    req.record = server.not_found_resolver(req.path)
                except BaseException as exc:
                    server.logger.error("not-found resolver failed", exc_info=exc)
            if req.record is None:
                req.record = server.not_found
            reply._status = 404
            seed_request(req, req.record)
        seed_reply(reply, req.record)
        if req.params is None:
            req.params = {}
        if server.request_logger is not None:
            req._logged = True
            try:
                server.request_logger.incoming(req)
            except BaseException as exc:
                server.logger.error("request logging failed", exc_info=exc)
        if req._lookup_error is not None:
            # A bad URL is rendered by framework_errors, or by default; the
            # request never reaches hooks or handlers (as in Fastify).
            if server.framework_errors is not None:
                reply._error_depth = 1 << 20
                return self._run(req, reply, server.framework_errors,
                                 (req._lookup_error, req, reply), PHASE_ERROR_HANDLER)
            return self._write_error(req, reply, req._lookup_error)
        return self._advance(req, reply)

    cdef int _advance(self, Request req, Reply reply) except -1:
        # HOT PATH: bench/test_bench_protocol.py (inject /json). The lifecycle up
        # to the handler; a hook that returns a coroutine which suspends resumes
        # it through _on_done. Stages with no hooks cost one None check.
        cdef RouteRecord record = req.record
        cdef int stage
        cdef object hooks
        try:
            while True:
                if reply.sent or reply.hijacked or self.closed:
                    return self._after_short_circuit(req, reply)
                stage = req._stage
                if stage == S_ON_REQUEST:
                    hooks = record.on_request
                elif stage == S_PRE_PARSING:
                    hooks = record.pre_parsing
                elif stage == S_PARSE:
                    req._stage = S_PRE_VALIDATION
                    req._hook_i = 0
                    if (req.raw_body is not None or req._clen == 0) and not record.is_not_found:
                        if self._parse_body(req, reply):
                            return 0  # an async parser is running
                    continue
                elif stage == S_PRE_VALIDATION:
                    hooks = record.pre_validation
                elif stage == S_VALIDATE:
                    req._stage = S_PRE_HANDLER
                    req._hook_i = 0
                    if record.validate is not None:
                        record.validate(req)
                    continue
                elif stage == S_PRE_HANDLER:
                    hooks = record.pre_handler
                else:
                    req._stage = S_DONE
                    if record.ws_handler is not None and is_upgrade(req):
                        return self._upgrade(req, reply)
                    return self._run(req, reply, record.handler, None, PHASE_HANDLER)
                if hooks is None or req._hook_i >= len(<tuple>hooks):
                    req._stage = stage + 1
                    req._hook_i = 0
                    continue
                fn = (<tuple>hooks)[req._hook_i]
                req._hook_i += 1
                result = fn(req, reply)
                if PyCoro_CheckExact(result):
                    return self._step(req, reply, result, PHASE_HOOK)
        except BaseException as exc:
            return self._error(req, reply, exc)

    cdef int _upgrade(self, Request req, Reply reply) except -1:
        # A WebSocket route's upgrade request passed its hooks and validation:
        # check the handshake (SPEC §11), write the 101, hand the connection to
        # a WebSocket protocol object and run the route's ws handler on it.
        cdef Server server = self.server
        cdef RouteRecord record = req.record
        try:
            head, subprotocol = handshake(req, record.ws_subprotocols)
        except errors.WsUpgradeRequiredError as exc:
            reply.header("sec-websocket-version", "13")
            return self._error(req, reply, exc)
        except BaseException as exc:
            return self._error(req, reply, exc)
        req._pack_headers()
        reply._status = 101
        reply.sent = True
        reply._written = True
        req._answered = True
        self._out(head)
        self._responded(req, reply)
        ws = WebSocket(req, subprotocol=subprotocol,
                       max_message_size=server.ws_max_message_size,
                       close_timeout=server.ws_close_timeout,
                       members=server.websockets, keepalive=server.ws_keepalive)
        self._hand_over(ws)
        start_handler(record.ws_handler, ws, req, server.logger)
        return 0

    cdef int _after_short_circuit(self, Request req, Reply reply) except -1:
        if reply.hijacked and not reply.sent:
            # The handler took the socket: nothing more is parsed or written.
            self.current = None
            self.no_more = True
        return 0

    cdef int _parse_body(self, Request req, Reply reply) except -1:
        # Returns 1 when an async parser took over (it resumes _advance).
        cdef bytes ctype = req._ctype
        cdef object parsers = req.record.parsers
        body = req.raw_body
        if body is None:
            body = b""
        if ctype is None:
            if len(body) == 0:
                req.body = None
                return 0
            if parsers is not None:
                parser = parsers.match("")
                if parser is not None and parser.builtin is None:
                    return self._custom_parse(req, reply, parser, body)
            raise errors.CtpInvalidMediaTypeError()
        if parsers is not None:
            parser = parsers.match(ctype.decode("latin-1"))
            if parser is None:
                if len(body) == 0:
                    req.body = None
                    return 0
                raise errors.CtpInvalidMediaTypeError(
                    "Unsupported Media Type: %s" % ctype.decode("latin-1"))
            if parser.builtin is None:
                return self._custom_parse(req, reply, parser, body)
            if parser.builtin == "json":
                return self._parse_json(req, body)
            return self._parse_text(req, body)
        lowered = ctype.lower()
        if lowered.startswith(b"application/json") or (b"+json" in lowered.split(b";")[0]):
            return self._parse_json(req, body)
        if lowered.startswith(b"text/plain"):
            return self._parse_text(req, body)
        if len(body) == 0:
            req.body = None
            return 0
        raise errors.CtpInvalidMediaTypeError(
            "Unsupported Media Type: %s" % ctype.decode("latin-1"))

    cdef int _parse_json(self, Request req, object body) except -1:
        if len(body) == 0:
            if req.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
                req.body = None
                return 0
            raise errors.CtpEmptyJsonBodyError()
        try:
            req.body = _orjson_loads(body)
        except _JSONDecodeError:
            raise errors.CtpInvalidJsonError() from None
        return 0

    cdef int _parse_text(self, Request req, object body) except -1:
        try:
            req.body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.CtpInvalidMediaTypeError("Body is not valid UTF-8 text") from None
        return 0

    cdef int _custom_parse(self, Request req, Reply reply, object parser, object body) except -1:
        if parser.parse_as == "str":
            body = body.decode("utf-8")
        result = parser.fn(req, body)
        if PyCoro_CheckExact(result):
            self._step(req, reply, result, PHASE_PARSER)
            return 1
        req.body = result
        return 0

    cdef int _run(self, Request req, Reply reply, object fn, object args, int phase) except -1:
        # HOT PATH: bench/test_bench_protocol.py (inject /json)
        try:
            if args is None:
                result = fn(req, reply)
            else:
                result = fn(*args)
            if PyCoro_CheckExact(result):
                return self._step(req, reply, result, phase)
        except BaseException as exc:
            return self._on_fail(req, reply, phase, exc)
        return self._on_done(req, reply, phase, result)

    cdef int _step(self, Request req, Reply reply, object coro, int phase) except -1:
        # HOT PATH: bench/test_bench_hooks.py. Run the coroutine until it
        # finishes or really waits (see _tasks.py). PyIter_Send reports a return
        # without raising StopIteration. The stand-in current task is reused
        # until a real task adopts it.
        cdef object loop = self.server.loop
        cdef FirstStep stand_in
        cdef PyObject* out = NULL
        cdef int status
        if loop is None:
            loop = self.server.loop = asyncio.get_event_loop()
        stand_in = self.stand_in
        if stand_in is None or stand_in.task is not None or stand_in._loop is not loop:
            stand_in = self.stand_in = FirstStep(loop)
        if not _enter_stand_in(loop, stand_in):
            stand_in = None
        # The request's context (see _dispatch) is entered already when this
        # runs inside one of its bursts, or inside its task (a coroutine that
        # called reply.send after an await); a new task continues in it.
        ctx = req._context
        if ctx is None:
            ctx = req._context = PyContext_CopyCurrent()
        entered = not req._in_context and reply._task is None
        if entered:
            PyContext_Enter(ctx)
            req._in_context = True
        try:
            status = PyIter_Send(coro, None, &out)
        except BaseException as exc:
            if entered:
                req._in_context = False
                PyContext_Exit(ctx)
            if stand_in is not None:
                _leave_stand_in(loop, stand_in)
            return self._on_fail(req, reply, phase, exc)
        if entered:
            req._in_context = False
            PyContext_Exit(ctx)
        if stand_in is not None:
            _leave_stand_in(loop, stand_in)
        value = <object>out
        Py_XDECREF(out)
        if status == 0:
            return self._on_done(req, reply, phase, value)
        task = _Task(Resume(coro, value), loop=loop, context=ctx)
        if stand_in is not None:
            stand_in.adopt(task)
        self._track_task(req, reply, task, phase, loop)
        return 0

    cdef int _track_task(self, Request req, Reply reply, object task, int phase, object loop) except -1:
        cdef double limit = req.record.handler_timeout
        if limit < 0:
            limit = self.server.handler_timeout
        reply._task = task
        task.add_done_callback(partial(self._task_done_cb, req, reply, phase))
        if limit > 0 and reply._timer is None and phase != PHASE_RESPONSE:
            # handler_timeout counts from the request's arrival; only work that
            # waits can overrun it, so only then is a timer armed (once).
            reply._timer = loop.call_at(
                loop.time() + max(0.0, limit - (monotonic() - req._start)),
                self._handler_timed_out, req, reply)
        return 0

    def _handler_timed_out(self, Request req, Reply reply):
        reply._timer = None
        if reply._written or reply.hijacked or self.closed:
            return
        entered = _enter_request(req)
        try:
            self._timed_out(req, reply)
        finally:
            _leave_request(req, entered)

    def _timed_out(self, Request req, Reply reply):
        task = reply._task
        if task is not None and not task.done():
            task.cancel()
        self._run_simple_hooks(req, reply, req.record.on_timeout, "on_timeout")
        reply.sent = False
        reply._error_depth = 1 << 20
        self._write_error(req, reply, errors.HandlerTimeoutError())
        self._flush()

    def _task_done_cb(self, Request req, Reply reply, int phase, task):
        if reply._task is task:
            reply._task = None
        if task.cancelled() and (reply._written or self.closed):
            return
        entered = _enter_request(req)
        try:
            self._task_done(req, reply, task, phase)
        finally:
            _leave_request(req, entered)
        if not self.batching:
            self._flush()

    def _task_done(self, Request req, Reply reply, task, int phase):
        try:
            value = task.result()
        except BaseException as exc:
            return self._on_fail(req, reply, phase, exc)
        return self._on_done(req, reply, phase, value)

    cdef int _on_done(self, Request req, Reply reply, int phase, object value) except -1:
        # Where each kind of work continues once it has finished.
        if phase == PHASE_HANDLER or phase == PHASE_ERROR_HANDLER:
            return self._complete(req, reply, value)
        if phase == PHASE_HOOK:
            return self._advance(req, reply)
        if phase == PHASE_PARSER:
            req.body = value
            return self._advance(req, reply)
        if phase == PHASE_SERIALIZATION or phase == PHASE_ON_SEND:
            try:
                if phase == PHASE_SERIALIZATION:
                    return self._serialize_next(req, reply, value)
                return self._on_send_next(req, reply, value)
            except BaseException as exc:
                return self._error(req, reply, exc)
        if phase == PHASE_ON_ERROR:
            return self._on_error_next(req, reply)
        return 0  # PHASE_RESPONSE: nothing follows

    cdef int _on_fail(self, Request req, Reply reply, int phase, object exc) except -1:
        if phase == PHASE_RESPONSE or phase == PHASE_ON_ERROR:
            if not isinstance(exc, _CancelledError):
                self.server.logger.error("%s hook failed", "on_response" if phase == PHASE_RESPONSE
                                         else "on_error", exc_info=exc)
            if phase == PHASE_ON_ERROR:
                return self._on_error_next(req, reply)
            return 0
        return self._error(req, reply, exc)

    cdef int _complete(self, Request req, Reply reply, object value) except -1:
        if value is reply:
            # ``return reply`` (or ``return reply.send(x)``): the reply is, or
            # will be, sent by the handler itself.
            return 0
        if reply.sent or reply.hijacked:
            if value is not None and reply.sent:
                self.server.logger.warning(
                    "Reply was already sent; the handler's return value is ignored")
            return self._after_short_circuit(req, reply)
        try:
            self._send(reply, value)
        except BaseException as exc:
            return self._error(req, reply, exc)
        return 0

    # errors ---------------------------------------------------------------------------

    cdef int _error(self, Request req, Reply reply, object exc) except -1:
        # The error handlers of the route's contexts, nearest first; one that
        # raises passes its error to the next; the default renders the last.
        cdef RouteRecord record = req.record
        cdef int i
        if reply._written or self.closed:
            if not isinstance(exc, _CancelledError):
                self.server.logger.error("error after the reply was sent", exc_info=exc)
            if reply._written and self.stream_task is not None:
                self.transport.abort()
            return 0
        reply.sent = False
        if record is not None:
            record.error_handler_calls += 1
        else:
            self.server.not_found.error_handler_calls += 1
        handlers = record.error_handlers if record is not None else None
        i = reply._error_depth
        reply._error_depth += 1
        if handlers is not None and i < len(<tuple>handlers):
            reply._status = _error_status(exc)
            return self._run(req, reply, (<tuple>handlers)[i], (exc, req, reply),
                             PHASE_ERROR_HANDLER)
        return self._write_error(req, reply, exc)

    cdef int _write_error(self, Request req, Reply reply, object exc) except -1:
        # on_error hooks see the error that is about to be sent back (they
        # cannot change the reply), then the default error body is written.
        cdef RouteRecord record = req.record
        req._error = exc
        if record is not None and record.on_error is not None and not req._on_error_ran:
            req._on_error_ran = True
            req._hook_i = 0
            return self._on_error_next(req, reply)
        return self._default_error(req, reply, exc)

    cdef int _on_error_next(self, Request req, Reply reply) except -1:
        cdef tuple hooks = req.record.on_error
        while req._hook_i < len(hooks):
            fn = hooks[req._hook_i]
            req._hook_i += 1
            try:
                result = fn(req, reply, req._error)
                if PyCoro_CheckExact(result):
                    return self._step(req, reply, result, PHASE_ON_ERROR)
            except BaseException as exc:
                self.server.logger.error("on_error hook failed", exc_info=exc)
        if reply._written or self.closed:
            return 0
        return self._default_error(req, reply, req._error)

    cdef int _default_error(self, Request req, Reply reply, object exc) except -1:
        cdef int status = _error_status(exc)
        cdef bytes body
        expected = isinstance(exc, _FastcoreError)
        if status >= 500 and not expected:
            self.server.logger.error("unhandled error in %s %s", req.method, req.url, exc_info=exc)
            message = str(exc) if self.server.expose_errors else "Internal Server Error"
        else:
            message = str(exc)
        err_code = getattr(exc, "code", None)
        if type(exc) is _BadUrlError:
            # Fastify's bad-URL answer has its own key order.
            body = _orjson_dumps({"error": "Bad Request", "code": err_code, "message": message,
                                  "statusCode": 400})
        else:
            body = _error_body(status, message, err_code if isinstance(err_code, str) else None)
        reply._status = status
        reply.sent = True
        if reply._headers is not None:
            reply._headers.pop("content-length", None)
        reply._ctype = None
        if req._error_rendered:
            # on_send failed on the error reply itself: write it as it is.
            return self._write(reply, body, CT_JSON)
        req._error_rendered = True
        return self._emit(reply, body, CT_JSON)

    cdef int _run_simple_hooks(self, Request req, Reply reply, object hooks, str name) except -1:
        # Hooks whose outcome changes nothing (on_timeout, on_request_abort):
        # sync ones run now, async ones run on as tasks; errors are logged.
        if hooks is None:
            return 0
        for fn in <tuple>hooks:
            try:
                result = fn(req) if name == "on_request_abort" else fn(req, reply)
                if PyCoro_CheckExact(result):
                    loop = self.server.loop or asyncio.get_event_loop()
                    loop.create_task(result).add_done_callback(_log_task_error)
            except BaseException as exc:
                self.server.logger.error("%s hook failed", name, exc_info=exc)
        return 0

    cdef int _send(self, Reply reply, object payload) except -1:
        # HOT PATH: bench/test_bench_protocol.py (inject /json)
        cdef Request req = reply.request
        cdef object t = type(payload)
        reply.sent = True
        if t is dict or t is list:
            if req.record.pre_serialization is not None:
                req._hook_i = 0
                return self._serialize_next(req, reply, payload)
            return self._emit(reply, self._serialize(reply, payload), CT_JSON)
        if t is str:
            return self._emit(reply, (<str>payload).encode("utf-8"), CT_TEXT)
        if t is bytes:
            return self._emit(reply, payload, CT_OCTET)
        if payload is None:
            return self._emit(reply, None, CT_NONE)
        if t is bytearray or t is memoryview:
            return self._emit(reply, bytes(payload), CT_OCTET)
        if isinstance(payload, BaseException):
            # reply.send(error) renders the error, as raising it would.
            reply.sent = False
            return self._error(req, reply, payload)
        if hasattr(payload, "__aiter__"):
            if req.record.on_send is not None:
                return self._emit(reply, payload, CT_OCTET)   # hooks may wrap the stream
            return self._stream(reply, payload, CT_OCTET)
        if req.record.pre_serialization is not None:
            req._hook_i = 0
            return self._serialize_next(req, reply, payload)
        return self._emit(reply, self._serialize(reply, payload), CT_JSON)

    cdef bytes _serialize(self, Reply reply, object payload):
        # HOT PATH: bench/test_bench_protocol.py. The reply's serializer, else
        # the route's compiled one for this status, else orjson.
        cdef object fn = None
        cdef object table = reply.request.record.serializers
        if reply._serializer is not None:
            fn = reply._serializer
        elif table is not None:
            fn = (<dict>table).get(reply._status)
        if fn is not None:
            body = fn(payload)
        else:
            try:
                return _orjson_dumps(payload)
            except TypeError as exc:
                raise errors.FailedSerializationError(str(exc)) from exc
        if type(body) is str:
            return (<str>body).encode("utf-8")
        return bytes(body)

    cdef int _serialize_next(self, Request req, Reply reply, object payload) except -1:
        # pre_serialization hooks, each returning the payload to serialize.
        cdef tuple hooks = req.record.pre_serialization
        while req._hook_i < len(hooks):
            fn = hooks[req._hook_i]
            req._hook_i += 1
            payload = fn(req, reply, payload)
            if PyCoro_CheckExact(payload):
                return self._step(req, reply, payload, PHASE_SERIALIZATION)
        if type(payload) is str:
            return self._emit(reply, (<str>payload).encode("utf-8"), CT_TEXT)
        if type(payload) is bytes:
            return self._emit(reply, payload, CT_OCTET)
        return self._emit(reply, self._serialize(reply, payload), CT_JSON)

    cdef int _emit(self, Reply reply, object body, bytes ctype) except -1:
        cdef Request req = reply.request
        if req.record.on_send is not None:
            req._hook_i = 0
            req._send_ctype = ctype
            if reply._ctype is None and len(ctype) > 16:
                # As in Fastify, on_send hooks see the type the payload got.
                reply._ctype = ctype[14:-2].decode("latin-1")
            return self._on_send_next(req, reply, body)
        return self._write(reply, body, ctype)

    cdef int _on_send_next(self, Request req, Reply reply, object payload) except -1:
        # on_send hooks see the serialized payload and may replace it.
        cdef tuple hooks = req.record.on_send
        while req._hook_i < len(hooks):
            fn = hooks[req._hook_i]
            req._hook_i += 1
            payload = fn(req, reply, payload)
            if PyCoro_CheckExact(payload):
                return self._step(req, reply, payload, PHASE_ON_SEND)
        if type(payload) is str:
            payload = (<str>payload).encode("utf-8")
        elif payload is not None and type(payload) is not bytes:
            if hasattr(payload, "__aiter__"):
                return self._stream(reply, payload, req._send_ctype)
            payload = bytes(payload)
        return self._write(reply, payload, req._send_ctype)

    cdef int _responded(self, Request req, Reply reply) except -1:
        # After the last byte was handed to the transport: the completion log
        # line and on_response hooks, which cannot change anything any more.
        cdef Server server = self.server
        if reply._timer is not None:
            reply._timer.cancel()
            reply._timer = None
        if req._logged and server.request_logger is not None:
            try:
                server.request_logger.completed(req, reply)
            except BaseException as exc:
                server.logger.error("request logging failed", exc_info=exc)
        if server.response_buckets is not None:
            tally_response(server, req, reply._status)
        if req.record is not None and req.record.on_response is not None:
            req._resp_i = 0
            self._on_response_next(req, reply)
        return 0

    cdef int _on_response_next(self, Request req, Reply reply) except -1:
        cdef tuple hooks = req.record.on_response
        while req._resp_i < len(hooks):
            fn = hooks[req._resp_i]
            req._resp_i += 1
            try:
                result = fn(req, reply)
                if PyCoro_CheckExact(result):
                    return self._step(req, reply, result, PHASE_RESPONSE)
            except BaseException as exc:
                self.server.logger.error("on_response hook failed", exc_info=exc)
        return 0
