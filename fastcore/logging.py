"""JSON-lines logging on top of the standard ``logging`` module.

The ``logger`` option of ``App`` goes through :func:`build_logger`:

- ``False``: no logger at all. The app keeps ``None`` and the request path
  never builds a log record, so logging off costs nothing per request.
- ``True``: the ``"fastcore"`` logger at INFO, writing one JSON object per
  line to ``sys.stdout`` through :class:`JsonFormatter`.
- a ``logging.Logger``: used as given; its handlers, levels and formats stay
  the user's.
- a dict with any of ``level`` (a name such as ``"info"``/``"debug"``/
  ``"trace"``/``"warn"``/``"fatal"``/``"silent"``, or a number), ``stream``
  (anything with ``write``) and ``name`` (the logger name): like ``True``
  with those settings.

A logger configured by fastcore gets exactly one managed handler, however
many apps are built: building again updates that handler's stream and the
logger's level (the last configuration wins), it never stacks handlers. Such
a logger does not propagate to the root logger, so a line is written once.

Records look like pino's, key order included::

    {"level":30,"time":1700000000000,"pid":42,"hostname":"box",
     "reqId":"req-1","req":{"method":"GET","url":"/",...},"msg":"incoming request"}

``level`` uses pino's numbers, ``time`` is epoch milliseconds, then come the
bound fields (the request id, see :meth:`RequestLogger.child`), the
structured fields given as ``extra={"fields": {...}}``, ``err`` when the
record carries an exception, and ``msg`` last.

:class:`RequestLogger` writes the two per-request lines (``incoming
request`` and ``request completed``) and hands out ``request.log``: a
``logging.LoggerAdapter`` that binds the request id under the configured
label (``request_id_log_label``, ``"reqId"`` by default).
"""
from __future__ import annotations

import logging as _logging
import os
import socket
import sys
import traceback
from typing import Any, Callable, MutableMapping

import orjson

from .errors import LogInvalidLoggerError

__all__ = ["JsonFormatter", "RequestLogger", "BoundLogger", "build_logger", "pino_level",
           "TRACE"]

# Python has no level below DEBUG; pino's "trace" maps to this one.
TRACE = 5
_logging.addLevelName(TRACE, "TRACE")

_LEVEL_NAMES = {
    "trace": TRACE,
    "debug": _logging.DEBUG,
    "info": _logging.INFO,
    "warn": _logging.WARNING,
    "warning": _logging.WARNING,
    "error": _logging.ERROR,
    "fatal": _logging.CRITICAL,
    "critical": _logging.CRITICAL,
    "silent": _logging.CRITICAL + 10,
}

_DEFAULT_NAME = "fastcore"


def pino_level(levelno: int) -> int:
    """The pino level number for a ``logging`` level number."""
    if levelno >= _logging.CRITICAL:
        return 60
    if levelno >= _logging.ERROR:
        return 50
    if levelno >= _logging.WARNING:
        return 40
    if levelno >= _logging.INFO:
        return 30
    if levelno >= _logging.DEBUG:
        return 20
    return 10


def _dumps_default(value: Any) -> Any:
    # Values orjson cannot write natively (sets, exceptions, custom objects)
    # become their text rather than failing the log call.
    if isinstance(value, (set, frozenset)):
        return list(value)
    return str(value)


class JsonFormatter(_logging.Formatter):
    """Formats a record as one pino-like JSON object (no trailing newline)."""

    def __init__(self) -> None:
        super().__init__()
        self.hostname = socket.gethostname()

    def format(self, record: _logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "level": pino_level(record.levelno),
            "time": int(record.created * 1000),
            "pid": record.process if record.process is not None else os.getpid(),
            "hostname": self.hostname,
        }
        bindings = getattr(record, "bindings", None)
        if bindings:
            out.update(bindings)
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            out["err"] = self.format_error(record.exc_info)
        out["msg"] = record.getMessage()
        return orjson.dumps(out, default=_dumps_default,
                            option=orjson.OPT_NON_STR_KEYS).decode("utf-8")

    @staticmethod
    def format_error(exc_info) -> dict[str, Any]:
        """pino's error shape: ``type``, ``message``, ``stack`` (and ``code``)."""
        exc_type, exc, tb = exc_info
        err: dict[str, Any] = {
            "type": exc_type.__name__,
            "message": str(exc),
            "stack": "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n"),
        }
        code = getattr(exc, "code", None)
        if isinstance(code, str):
            err["code"] = code
        return err


class BoundLogger(_logging.LoggerAdapter):
    """A ``LoggerAdapter`` whose bound fields land in every record it writes.

    The bindings travel as the record's ``bindings`` attribute, so a user's own
    ``extra`` (including ``extra={"fields": {...}}``) is kept, not replaced.
    """

    def process(self, msg: Any,
                kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        extra = kwargs.get("extra")
        if extra:
            merged = dict(extra)
            inner = extra.get("bindings")
            merged["bindings"] = {**self.extra, **inner} if inner else self.extra
            kwargs["extra"] = merged
        else:
            kwargs["extra"] = {"bindings": self.extra}
        return msg, kwargs

    def child(self, **bindings: Any) -> "BoundLogger":
        """A logger with this one's bindings plus ``bindings``."""
        return BoundLogger(self.logger, {**self.extra, **bindings})

    def trace(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(TRACE, msg, *args, **kwargs)


# -- the logger option ------------------------------------------------------------

def _parse_level(value: Any) -> int:
    if isinstance(value, bool):
        raise LogInvalidLoggerError("Invalid logger level: %r" % (value,))
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lower() in _LEVEL_NAMES:
        return _LEVEL_NAMES[value.lower()]
    raise LogInvalidLoggerError(
        "Invalid logger level: %r (expected one of %s, or a number)"
        % (value, ", ".join(_LEVEL_NAMES)))


def _configure(name: str, level: int, stream: Any) -> _logging.Logger:
    logger = _logging.getLogger(name)
    logger.setLevel(level)
    logger.propagate = False
    for handler in logger.handlers:
        if getattr(handler, "_fastcore_managed", False):
            if handler.stream is not stream:
                handler.setStream(stream)
            return logger
    handler = _logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler._fastcore_managed = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    return logger


def build_logger(option: Any) -> _logging.Logger | None:
    """The ``logging.Logger`` for the ``logger`` option, or ``None`` when off."""
    if option is False:
        return None
    if option is True:
        return _configure(_DEFAULT_NAME, _logging.INFO, sys.stdout)
    if isinstance(option, _logging.Logger):
        return option
    if isinstance(option, dict):
        unknown = set(option) - {"level", "stream", "name"}
        if unknown:
            raise LogInvalidLoggerError(
                "Invalid logger option keys: %s (expected level, stream, name)"
                % ", ".join(sorted(map(str, unknown))))
        level = _parse_level(option.get("level", "info"))
        stream = option.get("stream", sys.stdout)
        if stream is None or not callable(getattr(stream, "write", None)):
            raise LogInvalidLoggerError("Invalid logger stream: %r has no write()" % (stream,))
        name = option.get("name", _DEFAULT_NAME)
        if not isinstance(name, str) or not name:
            raise LogInvalidLoggerError("Invalid logger name: %r" % (name,))
        return _configure(name, level, stream)
    raise LogInvalidLoggerError(
        "Invalid logger: expected a bool, a logging.Logger or a dict "
        "(level, stream, name), got %r" % (option,))


# -- per-request lines --------------------------------------------------------------

def _never(request: Any) -> bool:
    return False


def _always(request: Any) -> bool:
    return True


class RequestLogger:
    """Writes ``incoming request`` / ``request completed`` and binds ``request.log``.

    ``disable`` is the ``disable_request_logging`` option: ``True`` silences
    both lines for every request, a function ``fn(request) -> bool`` decides per
    request (it is asked once per line). ``request.log`` keeps working either way.
    """

    __slots__ = ("logger", "label", "_disabled")

    def __init__(self, logger: _logging.Logger, label: str = "reqId",
                 disable: bool | Callable[[Any], bool] | None = None) -> None:
        if not isinstance(logger, _logging.Logger):
            raise LogInvalidLoggerError("RequestLogger needs a logging.Logger, got %r" % (logger,))
        self.logger = logger
        self.label = label
        if disable is None or disable is False:
            self._disabled: Callable[[Any], bool] = _never
        elif disable is True:
            self._disabled = _always
        elif callable(disable):
            self._disabled = disable
        else:
            raise TypeError("disable must be a bool or a function, got %r" % (disable,))

    def child(self, request: Any) -> BoundLogger:
        """The logger for one request: every record carries its id under ``label``."""
        return BoundLogger(self.logger, {self.label: request.id})

    def incoming(self, request: Any) -> None:
        logger = self.logger
        if not logger.isEnabledFor(_logging.INFO) or self._disabled(request):
            return
        req = {
            "method": request.method,
            "url": request.url,
            "hostname": request.hostname,
            "remoteAddress": request.ip,
            "remotePort": getattr(request, "remote_port", None),
        }
        logger.info("incoming request", extra={
            "bindings": {self.label: request.id}, "fields": {"req": req}})

    def completed(self, request: Any, reply: Any) -> None:
        logger = self.logger
        if not logger.isEnabledFor(_logging.INFO) or self._disabled(request):
            return
        logger.info("request completed", extra={
            "bindings": {self.label: request.id},
            "fields": {"res": {"statusCode": reply.status_code},
                       "responseTime": float(reply.elapsed_time)}})
