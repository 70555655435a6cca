"""Tests of fastcore.options: every default against SPEC §8, a wrong type or
value for each option, and unknown keywords."""
from __future__ import annotations

import inspect
import logging
import shutil
import ssl
import subprocess

import pytest

import fastcore
from fastcore import errors
from fastcore.options import OPTIONS, validate_options
from tests import external

# SPEC §8 (and §1 for expose_head_routes); durations in seconds.
SPEC_DEFAULTS = {
    "logger": False,
    "disable_request_logging": False,
    "body_limit": 1024 * 1024,
    "max_header_size": 16 * 1024,
    "header_timeout": 10,
    "request_timeout": 30,
    "keep_alive_timeout": 72,
    "connection_timeout": 0,
    "handler_timeout": 0,
    "max_requests_per_socket": 0,
    "max_connections": 0,
    "force_close_connections": "idle",
    "return_503_on_closing": True,
    "plugin_timeout": 10,
    "request_id_header": "request-id",
    "request_id_log_label": "reqId",
    "trust_proxy": False,
    "rewrite_url": None,
    "framework_errors": None,
    "case_sensitive": True,
    "ignore_trailing_slash": False,
    "ignore_duplicate_slashes": False,
    "max_param_length": 100,
    "constraints": None,
    "allow_error_handler_override": True,
    "expose_errors": False,
    "expose_head_routes": True,
    "ws_max_message_size": 1024 * 1024,
    "ws_close_timeout": 10,
    "ws_ping_interval": 20,
    "ws_ping_timeout": 20,
    "ssl": None,
}
# Defaults SPEC describes in words: "counter" (the built-in generator) and
# "see section 7" (the built-in validation settings).
DESCRIBED_DEFAULTS = ("gen_req_id", "validation")
# Options beyond SPEC §8, with their defaults.
EXTRA_DEFAULTS = {
    "write_timeout": 60,
}

class _Strategy:
    def derive(self, request):
        return None


class _AsyncStrategy:
    async def derive(self, request):
        return None


BAD_VALUES = {
    "logger": ["yes", 1, {"level": "info", "color": True}, ["stream"]],
    "disable_request_logging": ["no", 1, None],
    "body_limit": [0, -1, "1024", 1.5, True, None],
    "max_header_size": [0, -1, "16k", 1.0, False],
    "header_timeout": [-1, "10", True, float("nan"), float("inf"), None],
    "request_timeout": [-0.5, "30", False, float("inf")],
    "keep_alive_timeout": [-1, "72", True, float("nan")],
    "connection_timeout": [-1, "0", True],
    "handler_timeout": [-0.001, "1", True, float("inf")],
    "write_timeout": [-1, "60", True, float("nan"), None],
    "max_requests_per_socket": [-1, 1.5, "10", True],
    "max_connections": [-1, 2.0, "10", False],
    "force_close_connections": ["all", "IDLE", 1, None],
    "return_503_on_closing": [1, "yes", None],
    "plugin_timeout": [-1, "10", True],
    "request_id_header": ["", 1, True, None],
    "request_id_log_label": ["", 1, None, False],
    "gen_req_id": ["counter", 1],
    "trust_proxy": [1.5, None, [1, 2], -1],
    "rewrite_url": ["/x", 1],
    "framework_errors": ["handler", 1],
    "case_sensitive": ["yes", 1, None],
    "ignore_trailing_slash": ["no", 0, None],
    "ignore_duplicate_slashes": [0, "yes"],
    "max_param_length": [0, -1, 1.5, "100", True],
    "constraints": [["tenant"], {"tenant": lambda request: "a"}, {"host": _Strategy()},
                    {1: _Strategy()}, {"tenant": _AsyncStrategy()}],
    "allow_error_handler_override": ["no", 1],
    "expose_errors": [1, "yes"],
    "expose_head_routes": ["yes", 0],
    "validation": ["strict", [], {"unknown": True}, {"coerce_types": "yes"}],
    "ws_max_message_size": [0, -1, "1m", True],
    "ws_close_timeout": [-1, "10", True, float("inf")],
    "ws_ping_interval": [-1, "20", True],
    "ws_ping_timeout": [-0.5, "20", False],
    "ssl": ["cert.pem", 1, {"keyfile": "key.pem"}, {"certfile": "c", "bogus": 1}],
}

GOOD_VALUES = {
    "logger": [True, logging.getLogger("x"), {"level": "info"}, {}],
    "disable_request_logging": [True, lambda request: True],
    "body_limit": [1, 10 * 1024 * 1024],
    "header_timeout": [0, 0.5, 3],
    "request_timeout": [0],
    "max_requests_per_socket": [5],
    "force_close_connections": [True, False, "idle"],
    "request_id_header": [False, "x-request-id"],
    "gen_req_id": [lambda raw: "id"],
    "trust_proxy": [True, 2, ["127.0.0.1", "10.0.0.0/8"], lambda addr, hop: True],
    "rewrite_url": [lambda request: "/"],
    "framework_errors": [lambda error, request, reply: None],
    "constraints": [{}, {"tenant": _Strategy(), "region": _Strategy()}],
    "validation": [{"coerce_types": False, "use_defaults": True, "remove_additional": True,
                    "all_errors": False}, {}],
    "ssl": [ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)],
}


def bad_cases():
    for name, values in BAD_VALUES.items():
        for value in values:
            yield pytest.param(name, value, id="%s=%r" % (name, value))


def good_cases():
    for name, values in GOOD_VALUES.items():
        for value in values:
            yield pytest.param(name, value, id="%s=%r" % (name, value))


# --- the option set ------------------------------------------------------------------------

def test_every_option_is_covered_here():
    names = set(OPTIONS)
    assert names == set(SPEC_DEFAULTS) | set(DESCRIBED_DEFAULTS) | set(EXTRA_DEFAULTS)
    assert names == set(BAD_VALUES)


def test_app_keywords_are_the_options():
    params = inspect.signature(fastcore.App.__init__).parameters
    keywords = {name for name, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keywords == set(OPTIONS)


# --- defaults -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SPEC_DEFAULTS) + sorted(EXTRA_DEFAULTS))
def test_default_matches_spec(name):
    expected = SPEC_DEFAULTS[name] if name in SPEC_DEFAULTS else EXTRA_DEFAULTS[name]
    from_module = validate_options({})[name]
    from_app = fastcore.App().initial_config[name]
    for value in (from_module, from_app):
        assert value == expected, name
        assert type(value) is not bool or type(expected) is bool, name


def test_app_signature_defaults_match_the_option_table():
    params = inspect.signature(fastcore.App.__init__).parameters
    for name, (default, _, _) in OPTIONS.items():
        assert params[name].default == default, name


def test_described_defaults_are_accepted_and_neutral():
    config = validate_options({})
    assert config["gen_req_id"] is None or callable(config["gen_req_id"])
    assert config["validation"] is None or isinstance(config["validation"], dict)


def test_validate_options_fills_every_option():
    config = validate_options({"body_limit": 10})
    assert set(config) == set(OPTIONS)
    assert config["body_limit"] == 10


def test_initial_config_is_a_copy():
    app = fastcore.App(body_limit=5)
    config = app.initial_config
    config["body_limit"] = 99
    assert app.initial_config["body_limit"] == 5


# --- wrong types and values -------------------------------------------------------------------

@pytest.mark.parametrize("name, value", list(bad_cases()))
def test_wrong_value_raises_invalid_option_naming_it(name, value):
    with pytest.raises(errors.InvalidOptionError) as info:
        fastcore.App(**{name: value})
    assert info.value.code == "FC_ERR_INVALID_OPTION"
    assert name in str(info.value)
    with pytest.raises(errors.InvalidOptionError) as direct:
        validate_options({name: value})
    assert name in str(direct.value)


@pytest.mark.parametrize("name, value", list(good_cases()))
def test_valid_value_is_accepted(name, value):
    app = fastcore.App(**{name: value})
    assert app.initial_config[name] is value or app.initial_config[name] == value


def test_first_bad_option_is_the_one_named():
    with pytest.raises(errors.InvalidOptionError) as info:
        fastcore.App(body_limit=10, max_param_length=0)
    assert "max_param_length" in str(info.value)
    assert "body_limit" not in str(info.value)


# --- ssl given as files ---------------------------------------------------------------------------

def test_ssl_dict_is_loaded_into_a_context(tmp_path):
    if shutil.which("openssl") is None:
        external.missing("needs the openssl command (Debian package openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    app = fastcore.App(ssl={"certfile": str(cert), "keyfile": str(key)})
    assert isinstance(app.initial_config["ssl"], ssl.SSLContext)


@pytest.mark.parametrize("content", [None, b"not a certificate"], ids=["missing", "garbage"])
def test_ssl_dict_with_an_unusable_file_is_an_invalid_option(tmp_path, content):
    cert = tmp_path / "cert.pem"
    if content is not None:
        cert.write_bytes(content)
    with pytest.raises(errors.InvalidOptionError) as info:
        fastcore.App(ssl={"certfile": str(cert)})
    assert "ssl" in str(info.value)


# --- unknown keywords ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bodyLimit", "port", "loggerr", "max_body_size"])
def test_unknown_keyword_is_a_type_error(name):
    with pytest.raises(TypeError) as info:
        fastcore.App(**{name: 1})
    assert not isinstance(info.value, errors.FastcoreError)
    assert name in str(info.value)


def test_positional_arguments_are_refused():
    with pytest.raises(TypeError):
        fastcore.App(False)
