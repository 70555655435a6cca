"""App options: defaults and validation (``FC_ERR_INVALID_OPTION``).

Each option has a default and a check; ``validate_options`` runs every check at
construction, so a wrong type or value is reported before anything is built,
naming the option. Unknown keywords never get here: ``App.__init__`` takes
keyword-only parameters, so Python raises ``TypeError`` for them.
"""
from __future__ import annotations

import inspect
import logging
import ssl as _ssl
from typing import Any, Callable

from .errors import InvalidOptionError

_VALIDATION_KEYS = ("coerce_types", "use_defaults", "remove_additional", "all_errors")


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_positive(v: Any) -> bool:
    return _is_count(v) and v > 0


def is_seconds(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 and v == v and v != float("inf")


def _is_callable_or_none(v: Any) -> bool:
    return v is None or callable(v)


def _check_logger(v: Any) -> bool:
    if isinstance(v, (bool, logging.Logger)):
        return True
    if isinstance(v, dict):
        return set(v) <= {"level", "stream", "name"}
    return False


def _check_trust_proxy(v: Any) -> bool:
    if isinstance(v, bool) or callable(v) or _is_count(v) or isinstance(v, str):
        return True
    return isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v)


def _check_constraints(v: Any) -> bool:
    # {name: strategy}; a strategy's derive(request) is called inside routing,
    # which is synchronous (SPEC §5), so an async one is refused here.
    if v is None:
        return True
    return isinstance(v, dict) and all(
        isinstance(name, str) and name and name not in ("version", "host")
        and callable(getattr(strategy, "derive", None))
        and not inspect.iscoroutinefunction(strategy.derive)
        for name, strategy in v.items())


def _check_validation(v: Any) -> bool:
    return v is None or (isinstance(v, dict) and set(v) <= set(_VALIDATION_KEYS)
                         and all(isinstance(x, bool) for x in v.values()))


def _check_ssl(v: Any) -> bool:
    if v is None or isinstance(v, _ssl.SSLContext):
        return True
    return isinstance(v, dict) and "certfile" in v and set(v) <= {"certfile", "keyfile", "password"}


# name -> (default, check, what a valid value is)
OPTIONS: dict[str, tuple[Any, Callable[[Any], bool], str]] = {
    "logger": (False, _check_logger, "a bool, a logging.Logger or a dict (level, stream)"),
    "disable_request_logging": (False, lambda v: _is_bool(v) or callable(v), "a bool or a function"),
    "body_limit": (1_048_576, _is_positive, "a positive int (bytes)"),
    "max_header_size": (16_384, _is_positive, "a positive int (bytes)"),
    "header_timeout": (10.0, is_seconds, "a number of seconds >= 0"),
    "request_timeout": (30.0, is_seconds, "a number of seconds >= 0"),
    "keep_alive_timeout": (72.0, is_seconds, "a number of seconds >= 0"),
    "connection_timeout": (0.0, is_seconds, "a number of seconds >= 0"),
    "handler_timeout": (0.0, is_seconds, "a number of seconds >= 0"),
    "write_timeout": (60.0, is_seconds, "a number of seconds >= 0"),
    "max_requests_per_socket": (0, _is_count, "an int >= 0"),
    "max_connections": (0, _is_count, "an int >= 0"),
    "force_close_connections": ("idle", lambda v: v is True or v is False or v == "idle",
                                "True, False or 'idle'"),
    "return_503_on_closing": (True, _is_bool, "a bool"),
    "plugin_timeout": (10.0, is_seconds, "a number of seconds >= 0"),
    "request_id_header": ("request-id", lambda v: v is False or (isinstance(v, str) and v != ""),
                          "a header name or False"),
    "request_id_log_label": ("reqId", lambda v: isinstance(v, str) and v != "", "a non-empty str"),
    "gen_req_id": (None, _is_callable_or_none, "a function or None"),
    "trust_proxy": (False, _check_trust_proxy,
                    "a bool, a hop count, a CIDR string or list, or a function"),
    "rewrite_url": (None, _is_callable_or_none, "a function or None"),
    "framework_errors": (None, _is_callable_or_none, "a function or None"),
    "case_sensitive": (True, _is_bool, "a bool"),
    "ignore_trailing_slash": (False, _is_bool, "a bool"),
    "ignore_duplicate_slashes": (False, _is_bool, "a bool"),
    "max_param_length": (100, _is_positive, "a positive int"),
    "constraints": (None, _check_constraints,
                    "a dict of name -> strategy with a sync derive(request) method "
                    "(names other than version and host)"),
    "allow_error_handler_override": (True, _is_bool, "a bool"),
    "expose_errors": (False, _is_bool, "a bool"),
    "expose_head_routes": (True, _is_bool, "a bool"),
    "validation": (None, _check_validation, "a dict of " + ", ".join(_VALIDATION_KEYS)),
    "ws_max_message_size": (1_048_576, _is_positive, "a positive int (bytes)"),
    "ws_close_timeout": (10.0, is_seconds, "a number of seconds >= 0"),
    "ws_ping_interval": (20.0, is_seconds, "a number of seconds >= 0"),
    "ws_ping_timeout": (20.0, is_seconds, "a number of seconds >= 0"),
    "ssl": (None, _check_ssl, "an ssl.SSLContext or a dict with certfile (and keyfile)"),
}


def validate_options(given: dict[str, Any]) -> dict[str, Any]:
    """Return every option with its default filled in; raise on a bad value."""
    out = {}
    for name, (default, check, expected) in OPTIONS.items():
        value = given.get(name, default)
        if not check(value):
            raise InvalidOptionError(
                "Invalid value for option %r: expected %s, got %r" % (name, expected, value))
        out[name] = value
    if isinstance(out["ssl"], dict):
        ctx = _ssl.create_default_context(_ssl.Purpose.CLIENT_AUTH)
        try:
            ctx.load_cert_chain(**out["ssl"])
        except (OSError, _ssl.SSLError) as exc:
            raise InvalidOptionError(
                "Invalid value for option 'ssl': cannot load the certificate (%s)" % exc) from exc
        out["ssl"] = ctx
    return out
