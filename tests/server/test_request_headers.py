"""request.get_header (one header without building request.headers), reply.header's
checks on names it has seen before, and request.ip without trust_proxy."""
from __future__ import annotations

import orjson
import pytest

import fastcore
from fastcore import errors
from tests.conftest import live_server


def echo_app():
    app = fastcore.App()

    @app.get("/one")
    def one(request, reply):
        got = {name: request.get_header(name, "-")
               for name in ("x-token", "X-TOKEN", "accept", "missing", "set-cookie")}
        built = request.headers                  # built after, then read through it
        got["after"] = request.get_header("X-Token")
        got["same"] = {name: built.get(name, "-") for name in ("x-token", "accept", "missing")}
        return got

    return app


def test_get_header_reads_one_header_as_headers_would():
    # Two Accept lines (a raw request: inject sends one line per name).
    raw = (b"GET /one HTTP/1.1\r\nHost: t\r\nX-Token: abc\r\nAccept: text/plain\r\n"
           b"accept: application/json\r\n\r\n")
    with live_server(echo_app()) as srv:
        got = orjson.loads(srv.client().request(raw).body)
    assert got["x-token"] == got["X-TOKEN"] == got["after"] == "abc"
    assert got["accept"] == "text/plain, application/json"    # repeated: joined, as headers
    assert got["missing"] == got["set-cookie"] == "-"
    assert got["same"] == {"x-token": "abc", "accept": "text/plain, application/json",
                           "missing": "-"}


@pytest.mark.parametrize("name, value", [
    ("x-ok", "bad\r\nvalue"), ("x-ok", "nul\x00"), ("x-ok", "snowman \u2603"),
    ("bad name", "v"), ("x-ok:", "v"),
])
def test_reply_header_refuses_bad_names_and_values_every_time(name, value):
    app = fastcore.App()
    seen = []

    @app.get("/h")
    def handler(request, reply):
        reply.header("x-ok", 1).header("x-ok", "fine")           # the name is known now
        for _ in range(2):
            try:
                reply.header(name, value)
            except errors.ReplyInvalidHeaderError:
                seen.append("refused")
        return "done"

    assert app.inject_sync("GET", "/h").body == b"done"
    assert seen == ["refused", "refused"]


def test_ip_without_trust_proxy_is_the_socket_peer_and_headers_are_not_needed():
    app = fastcore.App()
    app.get("/ip")(lambda request, reply: {"ip": request.ip, "ips": request.ips,
                                            "peer": request.remote_address})
    got = app.inject_sync("GET", "/ip", headers={"X-Forwarded-For": "203.0.113.9"}).json()
    assert got["ip"] == got["peer"] and got["ips"] == [got["peer"]]
