"""fastcore.logging: the logger option, pino-like JSON lines, per-request lines."""
from __future__ import annotations

import io
import logging
import os
import socket
import sys
import time
import uuid

import orjson
import pytest

from fastcore import errors
from fastcore import logging as fclog


class FakeRequest:
    def __init__(self, id="req-1", method="GET", url="/items?limit=2", hostname="localhost:3000",
                 ip="127.0.0.1", port=None):
        self.id = id
        self.method = method
        self.url = url
        self.hostname = hostname
        self.ip = ip
        if port is not None:
            self.remote_port = port


class FakeReply:
    def __init__(self, status_code=200, elapsed_time=1.25):
        self.status_code = status_code
        self.elapsed_time = elapsed_time


@pytest.fixture
def managed():
    """Build loggers under unique names; drop their handlers afterwards."""
    names = []

    def make(**option):
        option.setdefault("name", "fastcore.test." + uuid.uuid4().hex)
        names.append(option["name"])
        return fclog.build_logger(option)

    yield make
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)


def lines(stream):
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


# -- build_logger ----------------------------------------------------------------------

def test_build_logger_false_is_none():
    assert fclog.build_logger(False) is None


def test_build_logger_true_configures_fastcore_once():
    logger = logging.getLogger("fastcore")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    try:
        first = fclog.build_logger(True)
        second = fclog.build_logger(True)
        assert first is second is logger
        assert logger.level == logging.INFO
        assert logger.propagate is False
        managed = [h for h in logger.handlers if getattr(h, "_fastcore_managed", False)]
        assert len(managed) == 1
        assert managed[0].stream is sys.stdout
        assert isinstance(managed[0].formatter, fclog.JsonFormatter)
    finally:
        logger.handlers[:] = saved[0]
        logger.setLevel(saved[1])
        logger.propagate = saved[2]


def test_build_logger_user_logger_is_used_untouched():
    user = logging.getLogger("fastcore.test.user." + uuid.uuid4().hex)
    handler = logging.NullHandler()
    user.addHandler(handler)
    user.setLevel(logging.DEBUG)
    try:
        assert fclog.build_logger(user) is user
        assert user.handlers == [handler]
        assert user.level == logging.DEBUG
    finally:
        user.removeHandler(handler)


def test_build_logger_dict_sets_level_stream_name(managed):
    stream = io.StringIO()
    logger = managed(level="debug", stream=stream)
    assert logger.level == logging.DEBUG
    logger.debug("hi")
    assert lines(stream)[0]["msg"] == "hi"
    assert lines(stream)[0]["level"] == 20


@pytest.mark.parametrize("name, expected", [
    ("trace", fclog.TRACE), ("debug", logging.DEBUG), ("info", logging.INFO),
    ("INFO", logging.INFO), ("warn", logging.WARNING), ("warning", logging.WARNING),
    ("error", logging.ERROR), ("fatal", logging.CRITICAL), ("critical", logging.CRITICAL),
    (15, 15)])
def test_build_logger_dict_level_names(managed, name, expected):
    assert managed(level=name, stream=io.StringIO()).level == expected


def test_build_logger_dict_silent_writes_nothing(managed):
    stream = io.StringIO()
    logger = managed(level="silent", stream=stream)
    logger.critical("no")
    assert stream.getvalue() == ""


def test_build_logger_dict_defaults_to_info_on_stdout(managed):
    logger = managed()
    assert logger.level == logging.INFO
    assert logger.handlers[0].stream is sys.stdout


def test_build_logger_again_switches_the_stream_without_stacking(managed):
    name = "fastcore.test." + uuid.uuid4().hex
    first, second = io.StringIO(), io.StringIO()
    managed(name=name, stream=first)
    logger = managed(name=name, stream=second, level="warn")
    assert len(logger.handlers) == 1
    assert logger.level == logging.WARNING
    logger.warning("x")
    assert first.getvalue() == "" and lines(second)[0]["msg"] == "x"


@pytest.mark.parametrize("option", [
    None, 1, "info", [], object(),
    {"level": "loud"}, {"level": True}, {"level": None},
    {"stream": None}, {"stream": "stdout"}, {"name": ""}, {"name": 3},
    {"colour": True}])
def test_build_logger_invalid_option_raises(option):
    with pytest.raises(errors.LogInvalidLoggerError) as info:
        fclog.build_logger(option)
    assert info.value.code == "FC_ERR_LOG_INVALID_LOGGER"


# -- JsonFormatter ---------------------------------------------------------------------

def format_record(level=logging.INFO, msg="hello", args=(), exc_info=None, **attrs):
    record = logging.LogRecord("t", level, __file__, 1, msg, args, exc_info)
    for key, value in attrs.items():
        setattr(record, key, value)
    return fclog.JsonFormatter().format(record)


def test_json_formatter_keys_in_pino_order():
    text = format_record(bindings={"reqId": "req-7"}, fields={"req": {"method": "GET"}})
    assert "\n" not in text
    obj = orjson.loads(text)
    assert list(obj) == ["level", "time", "pid", "hostname", "reqId", "req", "msg"]
    assert obj["pid"] == os.getpid()
    assert obj["hostname"] == socket.gethostname()
    assert obj["msg"] == "hello"


def test_json_formatter_time_is_epoch_milliseconds():
    before = int(time.time() * 1000)
    obj = orjson.loads(format_record())
    assert isinstance(obj["time"], int)
    assert before - 5 <= obj["time"] <= int(time.time() * 1000) + 5


@pytest.mark.parametrize("levelno, pino", [
    (fclog.TRACE, 10), (logging.DEBUG, 20), (logging.INFO, 30), (logging.WARNING, 40),
    (logging.ERROR, 50), (logging.CRITICAL, 60), (25, 30), (1, 10)])
def test_json_formatter_uses_pino_level_numbers(levelno, pino):
    assert orjson.loads(format_record(level=levelno))["level"] == pino


def test_json_formatter_interpolates_args():
    assert orjson.loads(format_record(msg="%s=%d", args=("a", 3)))["msg"] == "a=3"


def test_json_formatter_error_shape():
    try:
        raise errors.CtpInvalidJsonError()
    except errors.CtpInvalidJsonError:
        obj = orjson.loads(format_record(level=logging.ERROR, exc_info=sys.exc_info()))
    err = obj["err"]
    assert err["type"] == "CtpInvalidJsonError"
    assert err["message"] == "Body is not valid JSON"
    assert err["code"] == "FC_ERR_CTP_INVALID_JSON"
    assert err["stack"].startswith("Traceback") and "CtpInvalidJsonError" in err["stack"]
    assert list(obj)[-2:] == ["err", "msg"]


def test_json_formatter_writes_values_orjson_cannot():
    obj = orjson.loads(format_record(fields={"tags": {"a"}, "when": object, 1: "int key"}))
    assert obj["tags"] == ["a"]
    assert obj["when"] == str(object)
    assert obj["1"] == "int key"


# -- RequestLogger -----------------------------------------------------------------------

def test_request_logger_incoming_line(managed):
    stream = io.StringIO()
    fclog.RequestLogger(managed(stream=stream)).incoming(FakeRequest(port=51418))
    (obj,) = lines(stream)
    assert obj["msg"] == "incoming request"
    assert obj["reqId"] == "req-1"
    assert obj["req"] == {"method": "GET", "url": "/items?limit=2", "hostname": "localhost:3000",
                          "remoteAddress": "127.0.0.1", "remotePort": 51418}
    assert list(obj)[-3:] == ["reqId", "req", "msg"]


def test_request_logger_remote_port_missing_is_null(managed):
    stream = io.StringIO()
    fclog.RequestLogger(managed(stream=stream)).incoming(FakeRequest())
    assert lines(stream)[0]["req"]["remotePort"] is None


def test_request_logger_completed_line(managed):
    stream = io.StringIO()
    fclog.RequestLogger(managed(stream=stream)).completed(FakeRequest(), FakeReply(404, 3))
    (obj,) = lines(stream)
    assert obj["msg"] == "request completed"
    assert obj["res"] == {"statusCode": 404}
    assert obj["responseTime"] == 3.0 and isinstance(obj["responseTime"], float)
    assert obj["level"] == 30


def test_request_logger_custom_label(managed):
    stream = io.StringIO()
    fclog.RequestLogger(managed(stream=stream), label="requestId").incoming(FakeRequest(id="abc"))
    obj = lines(stream)[0]
    assert obj["requestId"] == "abc" and "reqId" not in obj


def test_request_logger_disable_true_logs_nothing(managed):
    stream = io.StringIO()
    rl = fclog.RequestLogger(managed(stream=stream), disable=True)
    rl.incoming(FakeRequest())
    rl.completed(FakeRequest(), FakeReply())
    assert stream.getvalue() == ""


def test_request_logger_disable_function_decides_per_request(managed):
    stream = io.StringIO()
    rl = fclog.RequestLogger(managed(stream=stream), disable=lambda r: r.url == "/health")
    rl.incoming(FakeRequest(url="/health"))
    rl.completed(FakeRequest(url="/health"), FakeReply())
    rl.incoming(FakeRequest(url="/x"))
    assert [o["req"]["url"] for o in lines(stream)] == ["/x"]


def test_request_logger_level_off_skips_disable_function(managed):
    calls = []
    stream = io.StringIO()
    rl = fclog.RequestLogger(managed(stream=stream, level="warn"),
                             disable=lambda r: calls.append(r) or False)
    rl.incoming(FakeRequest())
    rl.completed(FakeRequest(), FakeReply())
    assert stream.getvalue() == "" and calls == []


def test_request_logger_child_binds_request_id(managed):
    stream = io.StringIO()
    log = fclog.RequestLogger(managed(stream=stream), disable=True).child(FakeRequest(id="req-9"))
    assert isinstance(log, logging.LoggerAdapter)
    log.warning("careful %s", "now", extra={"fields": {"sku": "A1"}})
    (obj,) = lines(stream)
    assert obj["reqId"] == "req-9" and obj["sku"] == "A1" and obj["msg"] == "careful now"
    assert obj["level"] == 40
    assert list(obj) == ["level", "time", "pid", "hostname", "reqId", "sku", "msg"]


def test_request_logger_child_exception_carries_err(managed):
    stream = io.StringIO()
    log = fclog.RequestLogger(managed(stream=stream)).child(FakeRequest())
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("failed")
    obj = lines(stream)[0]
    assert obj["level"] == 50 and obj["err"]["type"] == "ValueError"
    assert obj["err"]["message"] == "bad" and obj["reqId"] == "req-1"


def test_bound_logger_child_and_trace(managed):
    stream = io.StringIO()
    base = fclog.RequestLogger(managed(stream=stream, level="trace")).child(FakeRequest())
    base.child(plugin="db").trace("deep")
    obj = lines(stream)[0]
    assert obj["level"] == 10 and obj["reqId"] == "req-1" and obj["plugin"] == "db"


def test_bound_logger_keeps_user_extra_attributes():
    seen = []

    class Capture(logging.Handler):
        def emit(self, record):
            seen.append(record)

    logger = logging.getLogger("fastcore.test.extra." + uuid.uuid4().hex)
    logger.addHandler(Capture())
    logger.setLevel(logging.INFO)
    logger.propagate = False
    fclog.BoundLogger(logger, {"reqId": "r"}).info("m", extra={"user": 1})
    assert seen[0].user == 1 and seen[0].bindings == {"reqId": "r"}


def test_request_logger_rejects_bad_arguments():
    with pytest.raises(errors.LogInvalidLoggerError):
        fclog.RequestLogger(None)
    with pytest.raises(TypeError):
        fclog.RequestLogger(logging.getLogger("fastcore.test.bad"), disable="yes")


def test_module_uses_the_standard_logging_package():
    assert fclog._logging is logging
    assert issubclass(fclog.JsonFormatter, logging.Formatter)
