"""Payload rules (SPEC §2) and the Reply API, through ``app.inject``."""
from __future__ import annotations

import asyncio
import dataclasses
import logging

import orjson
import pytest

import fastcore
from fastcore import errors

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
OCTET = "application/octet-stream"


def assert_length(response) -> None:
    assert response.headers["content-length"] == str(len(response.body))
    assert "transfer-encoding" not in response.headers


def head_lines(raw: bytes) -> list[bytes]:
    head, sep, _ = raw.partition(b"\r\n\r\n")
    assert sep, raw
    return head.split(b"\r\n")[1:]


def header_names(raw: bytes) -> list[bytes]:
    return [line.split(b":", 1)[0].lower() for line in head_lines(raw)]


def serve(payload, **route_options):
    """An app whose GET /p returns ``payload`` (a callable is called per request)."""
    app = fastcore.App()

    def handler(request, reply):
        return payload() if callable(payload) else payload

    app.get("/p", handler, **route_options)
    return app


# --- payload rules -----------------------------------------------------------------------------

@pytest.mark.parametrize("payload, body", [
    ({"a": 1, "b": "é", "c": [1.5, None, True]}, '{"a":1,"b":"é","c":[1.5,null,true]}'.encode()),
    ([1, "✓", {"k": []}], '[1,"✓",{"k":[]}]'.encode()),
    ({}, b"{}"),
    ([], b"[]"),
])
def test_dict_and_list_are_json(payload, body):
    response = serve(payload).inject_sync("GET", "/p")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.body == body
    assert_length(response)


@pytest.mark.parametrize("payload", ["plain", "héllo wörld ✓ 😀", ""])
def test_str_is_utf8_text(payload):
    response = serve(payload).inject_sync("GET", "/p")
    assert response.status_code == 200
    assert response.headers["content-type"] == TEXT
    assert response.body == payload.encode("utf-8")
    assert response.headers["content-length"] == str(len(payload.encode("utf-8")))
    assert_length(response)


@pytest.mark.parametrize("make", [bytes, bytearray, lambda b: memoryview(bytes(b))])
def test_binary_payloads_are_octet_stream(make):
    data = b"\x00\xff\xfe binary \xc3\xa9"
    response = serve(lambda: make(data)).inject_sync("GET", "/p")
    assert response.status_code == 200
    assert response.headers["content-type"] == OCTET
    assert response.body == data
    assert_length(response)


def test_none_is_an_empty_body():
    response = serve(None).inject_sync("GET", "/p")
    assert response.status_code == 200
    assert response.body == b""
    assert response.headers["content-length"] == "0"
    assert "content-type" not in response.headers
    assert "transfer-encoding" not in response.headers


@dataclasses.dataclass
class Product:
    id: int
    name: str
    tags: list


def test_dataclass_is_json():
    response = serve(Product(1, "café", ["a"])).inject_sync("GET", "/p")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.body == '{"id":1,"name":"café","tags":["a"]}'.encode()
    assert_length(response)


def test_nested_dataclass_inside_a_dict_is_json():
    response = serve({"items": [Product(2, "x", [])]}).inject_sync("GET", "/p")
    assert response.body == b'{"items":[{"id":2,"name":"x","tags":[]}]}'
    assert_length(response)


@pytest.mark.parametrize("payload, body", [(12, b"12"), (1.5, b"1.5"), (True, b"true")])
def test_other_json_able_values_are_json(payload, body):
    response = serve(payload).inject_sync("GET", "/p")
    assert response.headers["content-type"] == JSON
    assert response.body == body
    assert_length(response)


async def chunks():
    yield b"first,"
    await asyncio.sleep(0)
    yield "sécond,"
    yield b""
    yield bytearray(b"third")


def test_async_generator_is_streamed_chunked():
    app = fastcore.App()
    app.get("/s", lambda request, reply: chunks())
    response = app.inject_sync("GET", "/s")
    assert response.status_code == 200
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers
    assert b"content-length" not in header_names(response.raw)
    assert response.body == "first,sécond,third".encode()
    assert response.raw.endswith(b"0\r\n\r\n")


def test_async_generator_from_an_async_handler_with_a_type():
    app = fastcore.App()

    @app.get("/s")
    async def handler(request, reply):
        await asyncio.sleep(0)
        reply.type("text/csv")
        return chunks()

    response = app.inject_sync("GET", "/s")
    assert response.headers["content-type"] == "text/csv"
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.body == "first,sécond,third".encode()


def test_stream_drops_a_content_length_set_by_the_handler():
    app = fastcore.App()

    @app.get("/s")
    def handler(request, reply):
        reply.header("content-length", "5")
        return chunks()

    response = app.inject_sync("GET", "/s")
    names = header_names(response.raw)
    assert b"transfer-encoding" in names
    assert b"content-length" not in names
    assert response.body == "first,sécond,third".encode()


def test_fixed_body_drops_a_transfer_encoding_set_by_the_handler():
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        reply.header("transfer-encoding", "chunked").header("content-length", "999")
        return "héllo"

    response = app.inject_sync("GET", "/p")
    names = header_names(response.raw)
    assert names.count(b"content-length") == 1
    assert b"transfer-encoding" not in names
    assert response.body == "héllo".encode()
    assert response.headers["content-length"] == "6"


@pytest.mark.parametrize("name, value, line", [
    ("Content-Length", "999", b"content-length: 6"),
    ("TRANSFER-ENCODING", "chunked", None),
    ("Connection", "close", b"connection: close"),
    ("connection", "keep-alive", b"connection: keep-alive"),
])
def test_each_framing_header_set_alone_is_replaced_by_the_servers_own(name, value, line):
    app = fastcore.App()
    app.get("/p", lambda request, reply: reply.header(name, value) and "héllo")
    response = app.inject_sync("GET", "/p")
    lines = [item for item in head_lines(response.raw)
             if item.lower().startswith(name.lower().encode() + b":")]
    assert lines == ([line] if line is not None else [])
    assert response.body == "héllo".encode()
    assert_length(response)


@pytest.mark.parametrize("payload, ctype, body", [
    ("<p>é</p>", "text/html; charset=utf-8", "<p>é</p>".encode()),
    ({"a": 1}, "application/vnd.api+json", b'{"a":1}'),
    (b"\x89PNG", "image/png", b"\x89PNG"),
    (None, "text/plain", b""),
])
def test_reply_type_overrides_the_content_type(payload, ctype, body):
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        assert reply.type(ctype) is reply
        return payload

    response = app.inject_sync("GET", "/p")
    assert response.headers["content-type"] == ctype
    assert response.body == body
    assert_length(response)


def test_content_type_header_set_by_name_overrides_too():
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        reply.header("Content-Type", "application/xml")
        return "<a/>"

    response = app.inject_sync("GET", "/p")
    assert response.headers["content-type"] == "application/xml"
    assert header_names(response.raw).count(b"content-type") == 1


def test_reply_send_from_a_sync_handler():
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        reply.code(202).send({"sent": True})

    response = app.inject_sync("GET", "/p")
    assert response.status_code == 202
    assert response.body == b'{"sent":true}'
    assert_length(response)


def test_reply_send_from_an_async_handler_after_an_await():
    app = fastcore.App()

    @app.get("/p")
    async def handler(request, reply):
        await asyncio.sleep(0.001)
        reply.send("later ✓")

    response = app.inject_sync("GET", "/p")
    assert response.body == "later ✓".encode()
    assert_length(response)


def test_first_send_wins_and_a_returned_value_is_ignored_with_a_warning(caplog):
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        reply.send("first")
        return {"second": True}

    with caplog.at_level(logging.WARNING, logger="fastcore"):
        response = app.inject_sync("GET", "/p")
    assert response.status_code == 200
    assert response.body == b"first"
    assert response.headers["content-type"] == TEXT
    assert_length(response)
    warnings = [r for r in caplog.records
                if r.name == "fastcore" and r.levelno == logging.WARNING]
    assert len(warnings) == 1


def test_async_handler_returning_after_send_is_ignored_with_a_warning(caplog):
    app = fastcore.App()

    @app.get("/p")
    async def handler(request, reply):
        reply.send("first")
        await asyncio.sleep(0)
        return "second"

    def warned():
        return any(r.name == "fastcore" and r.levelno == logging.WARNING for r in caplog.records)

    async def main():
        response = await app.inject("GET", "/p")
        # The response is out before the handler returns: let it finish.
        for _ in range(200):
            if warned():
                break
            await asyncio.sleep(0.001)
        return response

    with caplog.at_level(logging.WARNING, logger="fastcore"):
        response = asyncio.run(main())
    assert response.body == b"first"
    assert response.raw.count(b"HTTP/1.1 ") == 1
    assert warned()


def test_second_send_is_ignored_with_a_warning(caplog):
    app = fastcore.App()
    outcome = {}

    @app.get("/p")
    def handler(request, reply):
        reply.send("one")
        outcome["second"] = reply.send("two")

    with caplog.at_level(logging.WARNING, logger="fastcore"):
        response = app.inject_sync("GET", "/p")
    assert response.body == b"one"
    assert response.raw.count(b"HTTP/1.1 ") == 1
    assert outcome["second"] is not None
    assert any(r.name == "fastcore" and r.levelno == logging.WARNING for r in caplog.records)


def test_returning_none_after_send_logs_no_warning(caplog):
    app = fastcore.App()
    app.get("/p", lambda request, reply: reply.send("x") and None)
    with caplog.at_level(logging.WARNING, logger="fastcore"):
        response = app.inject_sync("GET", "/p")
    assert response.body == b"x"
    assert not [r for r in caplog.records if r.name == "fastcore"]


@pytest.mark.parametrize("payload", [
    {"x": object()},
    [1, {2, 3}],
    {1, 2},
    object(),
])
def test_unserializable_payload_is_500_failed_serialization(payload):
    response = serve(payload).inject_sync("GET", "/p")
    assert response.status_code == 500
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert body["statusCode"] == 500
    assert body["code"] == "FC_ERR_FAILED_SERIALIZATION"
    assert body["error"] == "Internal Server Error"
    assert isinstance(body["message"], str) and body["message"]
    assert list(body) == ["statusCode", "code", "error", "message"]
    assert_length(response)


# --- the Reply API ---------------------------------------------------------------------------

def test_code_chains_and_sets_the_status():
    app = fastcore.App()

    @app.post("/p")
    def handler(request, reply):
        assert reply.code(201) is reply
        assert reply.status_code == 201
        return {"created": True}

    response = app.inject_sync("POST", "/p", payload={})
    assert response.status_code == 201
    assert response.body == b'{"created":true}'


def test_status_code_property_reads_and_writes():
    app = fastcore.App()
    seen = {}

    @app.get("/p")
    def handler(request, reply):
        seen["default"] = reply.status_code
        reply.status_code = 202
        seen["after"] = reply.status_code
        with pytest.raises(errors.BadStatusCodeError):
            reply.status_code = 1000
        return "ok"

    response = app.inject_sync("GET", "/p")
    assert seen == {"default": 200, "after": 202}
    assert response.status_code == 202


@pytest.mark.parametrize("bad", [99, 600, 1000, -1, "200", 200.0, None, True])
def test_invalid_code_is_refused(bad):
    app = fastcore.App()
    seen = {}

    @app.get("/p")
    def handler(request, reply):
        try:
            reply.code(bad)
        except errors.BadStatusCodeError as exc:
            seen["code"] = exc.code
        seen["status"] = reply.status_code
        return "ok"

    response = app.inject_sync("GET", "/p")
    assert seen == {"code": "FC_ERR_BAD_STATUS_CODE", "status": 200}
    assert response.status_code == 200


def test_uncaught_invalid_code_becomes_a_500_with_its_code():
    app = fastcore.App()
    app.get("/p", lambda request, reply: reply.code(999))
    response = app.inject_sync("GET", "/p")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "FC_ERR_BAD_STATUS_CODE"
    assert body["statusCode"] == 500
    assert_length(response)


@pytest.mark.parametrize("status", [100, 201, 299, 404, 451, 599])
def test_every_status_in_range_is_accepted(status):
    app = fastcore.App()
    app.get("/p", lambda request, reply: reply.code(status) and None)
    assert app.inject_sync("GET", "/p").status_code == status


def test_header_api():
    app = fastcore.App()
    seen = {}

    @app.get("/p")
    def handler(request, reply):
        assert reply.header("X-One", "1") is reply
        assert reply.headers({"X-Two": "2", "x-three": 3}) is reply
        seen["get"] = reply.get_header("x-one")
        seen["get_upper"] = reply.get_header("X-TWO")
        seen["missing"] = reply.get_header("x-missing")
        seen["has"] = reply.has_header("X-Three")
        seen["has_missing"] = reply.has_header("x-missing")
        assert reply.remove_header("X-TWO") is reply
        seen["has_removed"] = reply.has_header("x-two")
        reply.header("x-one", "replaced")
        reply.type("text/x-custom")
        seen["ctype"] = reply.get_header("Content-Type")
        seen["has_ctype"] = reply.has_header("content-type")
        return "ok"

    response = app.inject_sync("GET", "/p")
    assert seen == {"get": "1", "get_upper": "2", "missing": None, "has": True,
                    "has_missing": False, "has_removed": False, "ctype": "text/x-custom",
                    "has_ctype": True}
    assert response.headers["x-one"] == "replaced"
    assert response.headers["x-three"] == "3"
    assert "x-two" not in response.headers
    assert response.headers["content-type"] == "text/x-custom"
    names = header_names(response.raw)
    assert names.count(b"x-one") == 1
    assert all(name == name.lower() for name in names)


def test_many_header_names_each_keep_their_own_lower_case_name():
    # More distinct names than the name cache has slots, set as fresh str
    # objects and again as the same objects: each comes out under its own name.
    app = fastcore.App()
    names = ["X-Name-%03d" % i for i in range(300)]

    @app.get("/p")
    def handler(request, reply):
        for round_ in range(2):
            for i, name in enumerate(names):
                reply.header(name if round_ else "x-NAME-%03d" % i, i)
        return "ok"

    for _ in range(2):
        response = app.inject_sync("GET", "/p")
        assert [response.headers["x-name-%03d" % i] for i in range(300)] == [
            str(i) for i in range(300)]
        assert header_names(response.raw).count(b"x-name-007") == 1


def test_remove_header_of_content_type_restores_the_default():
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        reply.type("text/html").remove_header("content-type")
        return {"a": 1}

    assert app.inject_sync("GET", "/p").headers["content-type"] == JSON


def test_remove_header_of_a_missing_header_is_harmless():
    app = fastcore.App()
    app.get("/p", lambda request, reply: reply.remove_header("x-nope") and "ok")
    response = app.inject_sync("GET", "/p")
    assert (response.status_code, response.body) == (200, b"ok")


@pytest.mark.parametrize("name, value", [
    ("x-evil", "a\r\nx-injected: 1"),
    ("x-evil", "a\nx-injected: 1"),
    ("x-evil", "a\rb"),
    ("x-evil", ["ok", "a\r\nx-injected: 1"]),
    ("x-evil\r\nx-injected", "1"),
    ("x-evil\n", "1"),
])
def test_header_with_cr_or_lf_is_refused(name, value):
    app = fastcore.App()
    seen = {}

    @app.get("/p")
    def handler(request, reply):
        with pytest.raises(errors.ReplyInvalidHeaderError) as info:
            reply.header(name, value)
        seen["code"] = info.value.code
        seen["has"] = reply.has_header("x-evil")
        return "ok"

    response = app.inject_sync("GET", "/p")
    assert seen == {"code": "FC_ERR_REP_INVALID_HEADER", "has": False}
    assert response.status_code == 200
    assert "x-injected" not in response.headers
    assert b"x-injected" not in response.raw


@pytest.mark.parametrize("name, value", [
    ("x-evil", "a\x00b"),
    ("x bad", "1"),
    ("x-bad\x00", "1"),
    ("x(bad)", "1"),
])
def test_header_with_a_forbidden_character_is_refused(name, value):
    app = fastcore.App()
    seen = {}

    @app.get("/p")
    def handler(request, reply):
        try:
            reply.header(name, value)
        except errors.ReplyInvalidHeaderError as exc:
            seen["code"] = exc.code
        return "ok"

    response = asyncio.run(asyncio.wait_for(app.inject("GET", "/p"), 5))
    assert seen == {"code": "FC_ERR_REP_INVALID_HEADER"}
    assert (response.status_code, response.body) == (200, b"ok")


def answer_within(app, url, seconds=2.0):
    return asyncio.run(asyncio.wait_for(app.inject("GET", url), seconds))


def test_header_value_outside_latin1_still_gets_an_answer():
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        try:
            reply.header("x-mark", "✓")
        except errors.ReplyInvalidHeaderError:
            return "refused"
        return "accepted"

    response = answer_within(app, "/p")
    assert response.status_code in (200, 500)
    assert_length(response)


def test_redirect_to_a_non_ascii_url_still_gets_an_answer():
    app = fastcore.App()

    @app.get("/old")
    def handler(request, reply):
        reply.redirect("/caf✓")

    response = answer_within(app, "/old")
    assert response.status_code in (302, 500)
    assert_length(response)


def test_header_with_crlf_through_headers_mapping_is_refused():
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        reply.headers({"x-evil": "a\r\nx-injected: 1"})

    response = app.inject_sync("GET", "/p")
    assert response.status_code == 500
    assert response.json()["code"] == "FC_ERR_REP_INVALID_HEADER"
    assert b"x-injected" not in response.raw
    assert_length(response)


def test_redirect_defaults_to_302():
    app = fastcore.App()

    @app.get("/old")
    def handler(request, reply):
        reply.redirect("/new?x=1")

    response = app.inject_sync("GET", "/old")
    assert response.status_code == 302
    assert response.headers["location"] == "/new?x=1"
    assert response.body == b""
    assert response.headers["content-length"] == "0"


def test_redirect_with_an_explicit_code():
    app = fastcore.App()

    @app.get("/old")
    async def handler(request, reply):
        reply.redirect("https://example.com/new", 301)

    response = app.inject_sync("GET", "/old")
    assert response.status_code == 301
    assert response.headers["location"] == "https://example.com/new"
    assert response.headers["content-length"] == "0"


def test_set_cookie_twice_gives_two_header_lines():
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        reply.header("set-cookie", "a=1; Path=/").header("Set-Cookie", "b=2; HttpOnly")
        return "ok"

    response = app.inject_sync("GET", "/p")
    lines = [line for line in head_lines(response.raw) if line.lower().startswith(b"set-cookie:")]
    assert lines == [b"set-cookie: a=1; Path=/", b"set-cookie: b=2; HttpOnly"]
    assert response.headers["set-cookie"] == ["a=1; Path=/", "b=2; HttpOnly"]


@pytest.mark.parametrize("value, line", [
    ("plain", b"x-v: plain"),
    ("caf\u00e9", b"x-v: caf\xe9"),                 # latin-1, one byte each
    (0, b"x-v: 0"),
    (1234567890123, b"x-v: 1234567890123"),
    (-42, b"x-v: -42"),
    (2 ** 70, b"x-v: " + str(2 ** 70).encode()),
    (True, b"x-v: True"),
    (1.5, b"x-v: 1.5"),
    (b"raw", b"x-v: raw"),
    (["a", 2], None),                                # two lines, in order
])
def test_header_values_of_every_kind_are_written_as_text(value, line):
    app = fastcore.App()
    app.get("/p", lambda request, reply: reply.header("x-v", value) and "ok")
    lines = [item for item in head_lines(app.inject_sync("GET", "/p").raw)
             if item.startswith(b"x-v:")]
    assert lines == ([line] if line is not None else [b"x-v: a", b"x-v: 2"])


def test_a_head_longer_than_the_write_buffer_is_written_whole():
    app = fastcore.App()
    values = ["%04d" % i + "v" * 90 for i in range(60)]       # about 6 KB of headers

    @app.get("/p")
    def handler(request, reply):
        for i, value in enumerate(values):
            reply.header("x-h%d" % i, value)
        return "ok"

    response = app.inject_sync("GET", "/p")
    assert [response.headers["x-h%d" % i] for i in range(60)] == values
    assert response.body == b"ok"
    assert_length(response)


def test_other_headers_set_twice_are_replaced():
    app = fastcore.App()
    app.get("/p", lambda request, reply: reply.header("x-a", "1").header("x-a", "2") and "ok")
    response = app.inject_sync("GET", "/p")
    assert response.headers["x-a"] == "2"
    assert header_names(response.raw).count(b"x-a") == 1


@pytest.mark.parametrize("output, body", [
    (lambda payload: "custom:" + payload["name"], "custom:café".encode()),
    (lambda payload: b"raw:" + str(payload["n"]).encode(), b"raw:1"),
])
def test_reply_serializer_is_used_for_json_payloads(output, body):
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        assert reply.serializer(output) is reply
        return {"name": "café", "n": 1}

    response = app.inject_sync("GET", "/p")
    assert response.status_code == 200
    assert response.body == body
    assert response.headers["content-type"] == JSON
    assert_length(response)


def test_reply_serializer_is_used_for_a_dataclass():
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        reply.serializer(lambda product: "product %d" % product.id)
        return Product(9, "x", [])

    response = app.inject_sync("GET", "/p")
    assert response.body == b"product 9"
    assert_length(response)


def test_reply_serializer_is_not_used_for_text():
    app = fastcore.App()

    @app.get("/p")
    def handler(request, reply):
        reply.serializer(lambda payload: "serialized")
        return "plain"

    response = app.inject_sync("GET", "/p")
    assert response.body == b"plain"
    assert response.headers["content-type"] == TEXT


def test_reply_serialize_returns_the_bytes_without_sending():
    app = fastcore.App()
    seen = {}

    @app.get("/p")
    def handler(request, reply):
        seen["default"] = reply.serialize({"a": "é", "b": [1]})
        seen["sent"] = reply.sent
        reply.serializer(lambda payload: "custom")
        seen["custom"] = reply.serialize({"a": 1})
        return None

    response = app.inject_sync("GET", "/p")
    assert seen["default"] == orjson.dumps({"a": "é", "b": [1]})
    assert seen["sent"] is False
    assert seen["custom"] == "custom"
    assert response.body == b""


def test_hijack_leaves_the_response_to_the_handler():
    app = fastcore.App()
    written = b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\nx-hijacked: 1\r\n\r\nmanual!"

    @app.get("/p")
    def handler(request, reply):
        assert reply.hijack() is reply
        reply.raw.write(written)
        return "ignored"

    response = app.inject_sync("GET", "/p")
    assert response.raw == written
    assert response.body == b"manual!"
    assert response.headers["x-hijacked"] == "1"


def test_hijack_then_send_writes_nothing_from_fastcore():
    app = fastcore.App()
    written = b"HTTP/1.1 204 No Content\r\n\r\n"

    @app.get("/p")
    async def handler(request, reply):
        reply.hijack()
        await asyncio.sleep(0)
        reply.send("not written")
        reply.raw.write(written)

    response = app.inject_sync("GET", "/p")
    assert response.raw == written
    assert response.status_code == 204


def test_sent_flag():
    app = fastcore.App()
    seen = {}

    @app.get("/p")
    def handler(request, reply):
        seen["before"] = reply.sent
        reply.send("x")
        seen["after"] = reply.sent

    app.inject_sync("GET", "/p")
    assert seen == {"before": False, "after": True}


def test_elapsed_time_grows_while_the_handler_waits():
    app = fastcore.App()
    seen = {}

    @app.get("/p")
    async def handler(request, reply):
        seen["first"] = reply.elapsed_time
        await asyncio.sleep(0.02)
        seen["second"] = reply.elapsed_time
        return "ok"

    assert app.inject_sync("GET", "/p").status_code == 200
    assert isinstance(seen["first"], float)
    assert 0 <= seen["first"] <= seen["second"]
    assert seen["second"] >= 0.015


def test_reply_request_is_the_request():
    app = fastcore.App()
    seen = {}

    @app.get("/p")
    def handler(request, reply):
        seen["same"] = reply.request is request
        return None

    app.inject_sync("GET", "/p")
    assert seen == {"same": True}
