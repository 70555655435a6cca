"""fastcore.plugins.compress through app.inject (SPEC §13, as @fastify/compress)."""
from __future__ import annotations

import gzip
import os
import zlib

import brotli
import orjson
import pytest

import fastcore
from fastcore.plugins import compress
from fastcore.plugins._compress import CtpInvalidEncodingError, CtpUnsupportedEncodingError
from tests.integration.helpers import refused_at_register

ITEMS = {"items": [{"id": i, "name": "product %d" % i} for i in range(200)]}
BIG = orjson.dumps(ITEMS)              # about 6 KB of JSON
TEXT = "lorem ipsum dolor sit amet " * 100


def decode(coding, body):
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "deflate":
        return zlib.decompress(body)
    if coding == "br":
        return brotli.decompress(body)
    assert coding is None
    return body


def make_app(**options):
    app = fastcore.App()
    app.register(compress, **options)
    app.get("/items", lambda request, reply: ITEMS)
    app.get("/small", lambda request, reply: {"id": 1})
    app.get("/text", lambda request, reply: TEXT)

    @app.get("/typed/:kind/:sub")
    def typed(request, reply):
        reply.type("%s/%s" % (request.params["kind"], request.params["sub"]))
        return TEXT.encode()

    app.post("/echo", lambda request, reply: {"got": request.body})
    return app


def fetch(app, url="/items", accept="gzip", method="GET", **kwargs):
    headers = {} if accept is None else {"accept-encoding": accept}
    return app.inject_sync(method, url, headers=headers, **kwargs)


# -- responses -------------------------------------------------------------------------

@pytest.mark.parametrize("coding", ["br", "gzip", "deflate"])
def test_each_coding_compresses_with_a_byte_accurate_content_length(coding):
    response = fetch(make_app(), accept=coding)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == coding
    assert response.headers["vary"] == "Accept-Encoding"
    assert int(response.headers["content-length"]) == len(response.body) < len(BIG)
    assert decode(coding, response.body) == BIG
    assert response.headers["content-type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("accept, chosen", [
    ("gzip, deflate, br", "br"),                  # equal weights: the server's order
    ("*", "br"),
    ("gzip;q=0.5, br;q=0.4", "gzip"),
    ("br;q=0, *", "gzip"),                        # excluded, then the next the server has
    ("deflate;q=0.001", "deflate"),
    ("GZIP", "gzip"),
    ("x-gzip", "gzip"),
    ("gzip ; q=0.8 , deflate;Q=0.9", "deflate"),
    ("identity", None),
    ("", None),
    ("compress, zstd", None),                     # nothing the server has
    ("*;q=0", None),                              # nothing acceptable: sent as it is
    ("br;q=0, gzip;q=0, deflate;q=0", None),
    ("identity;q=1, gzip;q=0.5", None),           # the client prefers it plain
    ("identity;q=0.5, gzip;q=0.5", "gzip"),
    ("gzip;q=2", None),                           # a malformed weight drops its member
    ("gzip;q=0.1234, deflate", "deflate"),
])
def test_accept_encoding_is_negotiated_with_weights(accept, chosen):
    response = fetch(make_app(), accept=accept)
    assert response.headers.get("content-encoding") == chosen
    assert decode(chosen, response.body) == BIG
    assert response.headers["vary"] == "Accept-Encoding"


def test_the_encodings_option_sets_the_servers_codings_and_order():
    app = make_app(encodings=["gzip", "deflate"])
    assert fetch(app, accept="br, deflate, gzip").headers["content-encoding"] == "gzip"
    assert "content-encoding" not in fetch(app, accept="br").headers


def test_below_the_threshold_the_body_is_left_alone():
    app = make_app()
    app.get("/medium", lambda request, reply: "a" * 500)
    response = fetch(app, "/small")
    assert response.body == b'{"id":1}' and "content-encoding" not in response.headers
    assert "vary" not in response.headers
    assert "content-encoding" not in fetch(app, "/medium").headers
    app = make_app(threshold=0)
    app.get("/medium", lambda request, reply: "a" * 500)
    response = fetch(app, "/medium")
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(response.body) == b"a" * 500


def test_threshold_counts_the_serialized_bytes():
    exactly = len(TEXT.encode())
    assert fetch(make_app(threshold=exactly), "/text").headers["content-encoding"] == "gzip"
    assert "content-encoding" not in fetch(make_app(threshold=exactly + 1), "/text").headers


def test_vary_is_sent_without_accept_encoding_and_added_to_an_existing_one():
    app = make_app()

    @app.get("/varied")
    def varied(request, reply):
        reply.header("vary", "Origin")
        return ITEMS

    response = fetch(app, accept=None)
    assert response.body == BIG and "content-encoding" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"
    response = fetch(app, "/varied")
    assert response.headers["vary"] == "Origin, Accept-Encoding"
    assert response.headers["content-encoding"] == "gzip"


@pytest.mark.parametrize("content_type", [
    "text/html", "text/css", "text/csv", "text/event-stream", "application/xml",
    "application/problem+json", "application/ld+json", "image/svg+xml",
    "application/javascript", "text/javascript", "application/x-ndjson",
    "application/octet-stream", "application/wasm", "font/ttf", "application/json",
])
def test_compressible_types_are_compressed(content_type):
    response = fetch(make_app(), "/typed/" + content_type)
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(response.body) == TEXT.encode()


@pytest.mark.parametrize("content_type", [
    "image/png", "image/jpeg", "video/mp4", "audio/ogg", "application/zip",
    "application/gzip", "application/pdf", "font/woff2",
])
def test_other_types_are_not_compressed_and_do_not_vary(content_type):
    response = fetch(make_app(), "/typed/" + content_type)
    assert "content-encoding" not in response.headers and "vary" not in response.headers
    assert response.body == TEXT.encode()


def test_a_content_type_with_parameters_is_judged_by_its_media_type():
    app = make_app()

    @app.get("/html")
    def html(request, reply):
        reply.type("Text/HTML; charset=utf-8")
        return TEXT

    assert fetch(app, "/html").headers["content-encoding"] == "gzip"


def test_a_body_that_already_has_a_content_encoding_is_left_alone():
    app = make_app()
    packed = gzip.compress(BIG)

    @app.get("/packed")
    def packed_route(request, reply):
        reply.header("content-encoding", "gzip").type("application/json")
        return packed

    response = fetch(app, "/packed", accept="br")
    assert response.headers["content-encoding"] == "gzip" and response.body == packed


def test_a_partial_content_answer_is_left_alone():
    app = make_app()

    @app.get("/range")
    def ranged(request, reply):
        reply.code(206).header("content-range", "bytes 0-1999/9000").type("text/plain")
        return TEXT[:2000]

    response = fetch(app, "/range")
    assert response.status_code == 206 and "content-encoding" not in response.headers


def test_head_sends_the_plain_length_and_vary_without_compressing():
    response = fetch(make_app(), method="HEAD")
    assert response.status_code == 200 and response.body == b""
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(BIG))
    assert response.headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize("status", [204, 304])
def test_no_content_answers_are_not_compressed(status):
    app = make_app()
    app.get("/none", lambda request, reply: reply.code(status).send(TEXT))
    response = fetch(app, "/none")
    assert response.status_code == status and response.body == b""
    assert "content-encoding" not in response.headers


def test_a_route_opts_out_with_config_compress_false():
    app = make_app()
    app.get("/raw", lambda request, reply: ITEMS, config={"compress": False})
    response = fetch(app, "/raw")
    assert response.body == BIG and "content-encoding" not in response.headers
    assert "vary" not in response.headers


def test_incompressible_bytes_are_sent_as_they_are():
    noise = os.urandom(8192)
    app = make_app()
    app.get("/noise", lambda request, reply: noise)
    response = fetch(app, "/noise")
    assert response.body == noise and "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(noise))


def test_error_answers_are_compressed_like_any_other():
    app = make_app(threshold=10)
    response = fetch(app, "/nowhere/" + "x" * 50)
    assert response.status_code == 404 and response.headers["content-encoding"] == "gzip"
    assert orjson.loads(gzip.decompress(response.body))["statusCode"] == 404


def test_a_plugin_registered_in_a_child_context_compresses_only_there():
    app = fastcore.App()

    async def api(child, opts):
        child.register(compress)
        child.get("/items", lambda request, reply: ITEMS)

    app.register(api, prefix="/api")
    app.get("/items", lambda request, reply: ITEMS)
    assert fetch(app, "/api/items").headers["content-encoding"] == "gzip"
    assert "content-encoding" not in fetch(app, "/items").headers


# -- streams ---------------------------------------------------------------------------

@pytest.mark.parametrize("coding", ["br", "gzip", "deflate"])
def test_a_stream_is_compressed_whatever_its_size(coding):
    app = make_app()

    async def chunks():
        yield "first "
        yield b"second "
        yield "third"

    app.get("/stream", lambda request, reply: reply.type("text/plain").send(chunks()))
    response = fetch(app, "/stream", accept=coding)
    assert response.headers["content-encoding"] == coding
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers
    assert decode(coding, response.body) == b"first second third"


def test_a_stream_is_left_alone_without_an_accepted_coding():
    app = make_app()

    async def chunks():
        yield "plain"

    app.get("/stream", lambda request, reply: reply.send(chunks()))
    response = fetch(app, "/stream", accept="identity")
    assert response.body == b"plain" and "content-encoding" not in response.headers


@pytest.mark.parametrize("coding", ["br", "gzip", "deflate"])
def test_server_sent_events_are_compressed_pulled_or_pushed(coding):
    app = make_app()

    async def events():
        for i in range(3):
            yield fastcore.ServerSentEvent({"tick": i}, id=str(i))

    class Pushed:
        def start_events(self, sink):
            sink.send("pushed")
            sink.end()

    app.get("/pulled", lambda request, reply: reply.sse(events(), retry=2))
    app.get("/pushed", lambda request, reply: reply.sse(Pushed()))
    response = fetch(app, "/pulled", accept=coding)
    assert response.headers["content-encoding"] == coding
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert decode(coding, response.body) == (
        b"retry: 2000\n\n" + b"".join(b'id: %d\ndata: {"tick":%d}\n\n' % (i, i)
                                      for i in range(3)))
    response = fetch(app, "/pushed", accept=coding)
    assert response.headers["content-encoding"] == coding
    assert decode(coding, response.body) == b"data: pushed\n\n"


# -- request bodies ----------------------------------------------------------------------

PAYLOAD = orjson.dumps({"name": "widget", "notes": "n" * 3000})


def post(app, body, encoding, url="/echo", content_type="application/json"):
    headers = {"content-type": content_type}
    if encoding is not None:
        headers["content-encoding"] = encoding
    return app.inject_sync("POST", url, headers=headers, payload=body)


def raw_deflate(data):
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize("encoding, body", [
    ("gzip", gzip.compress(PAYLOAD)),
    ("x-gzip", gzip.compress(PAYLOAD)),
    ("GZip", gzip.compress(PAYLOAD)),
    ("deflate", zlib.compress(PAYLOAD)),
    ("deflate", raw_deflate(PAYLOAD)),
    ("br", brotli.compress(PAYLOAD)),
    ("identity", PAYLOAD),
    ("gzip, br", brotli.compress(gzip.compress(PAYLOAD))),    # applied in that order
    ("gzip", gzip.compress(PAYLOAD[:1000]) + gzip.compress(PAYLOAD[1000:])),  # two members
])
def test_request_bodies_are_inflated_before_parsing(encoding, body):
    response = post(make_app(), body, encoding)
    assert response.status_code == 200
    assert response.json() == {"got": orjson.loads(PAYLOAD)}


def error_body(status, code, error, message):
    return orjson.dumps({"statusCode": status, "code": code, "error": error,
                         "message": message})


def assert_error(response, status, code, error, message):
    expected = error_body(status, code, error, message)
    assert (response.status_code, response.body) == (status, expected)
    assert response.headers["content-length"] == str(len(expected))


def test_an_unknown_encoding_is_415():
    response = post(make_app(), PAYLOAD, "compress")
    assert_error(response, 415, "FC_ERR_CTP_UNSUPPORTED_ENCODING", "Unsupported Media Type",
                 "Unsupported Content-Encoding: compress")
    response = post(make_app(), PAYLOAD, "zstd, gzip")
    assert response.status_code == 415 and response.json()["message"].endswith("zstd")


@pytest.mark.parametrize("encoding, body", [
    ("gzip", b"not gzip at all"),
    ("gzip", gzip.compress(PAYLOAD)[:-12]),               # truncated
    ("gzip", gzip.compress(PAYLOAD) + b"trailing junk"),
    ("deflate", b"\x78\x9cnot deflate"),
    ("deflate", zlib.compress(PAYLOAD) + b"x"),
    ("br", b"\xff\xff\xff\xff not brotli"),
    ("br", brotli.compress(PAYLOAD)[:-4]),
    ("gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00" * 3),
])
def test_corrupt_data_is_400(encoding, body):
    response = post(make_app(), body, encoding)
    assert_error(response, 400, "FC_ERR_CTP_INVALID_ENCODING", "Bad Request",
                 "Could not decompress the request payload using the provided encoding: %s"
                 % encoding)


@pytest.mark.parametrize("encoding, pack", [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress),
])
def test_the_inflated_size_is_held_to_the_routes_body_limit(encoding, pack):
    app = make_app()
    app.post("/limited", lambda request, reply: {"size": len(request.body)}, body_limit=4096)
    exactly = b"x" * 4096
    response = post(app, pack(exactly), encoding, "/limited", "text/plain")
    assert response.status_code == 200 and response.json() == {"size": 4096}
    response = post(app, pack(exactly + b"x"), encoding, "/limited", "text/plain")
    assert_error(response, 413, "FC_ERR_CTP_BODY_TOO_LARGE", "Content Too Large",
                 "Request body is too large")


def test_the_limit_holds_across_gzip_members_and_stacked_codings():
    app = make_app()
    app.post("/limited", lambda request, reply: {"size": len(request.body)}, body_limit=4096)
    members = gzip.compress(b"x" * 3000) + gzip.compress(b"x" * 3000)
    response = post(app, members, "gzip", "/limited", "text/plain")
    assert response.status_code == 413
    stacked = gzip.compress(brotli.compress(b"x" * 5000))
    response = post(app, stacked, "br, gzip", "/limited", "text/plain")
    assert response.status_code == 413


def test_a_zip_bomb_is_refused_with_413():
    app = make_app()
    bomb = gzip.compress(b"\0" * 10_000_000, 9)
    assert len(bomb) < 20_000
    response = post(app, bomb, "gzip")
    assert response.status_code == 413
    assert response.json()["code"] == "FC_ERR_CTP_BODY_TOO_LARGE"
    assert post(app, gzip.compress(PAYLOAD), "gzip").status_code == 200


def test_request_decompression_false_leaves_bodies_as_they_came():
    app = make_app(request_decompression=False)
    app.post("/raw", lambda request, reply: {"size": len(request.body)})
    packed = gzip.compress(PAYLOAD)
    app.add_content_type_parser("application/octet-stream", lambda request, body: body)
    response = post(app, packed, "gzip", "/raw", "application/octet-stream")
    assert response.json() == {"size": len(packed)}
    assert post(app, PAYLOAD, "compress", "/raw", "application/octet-stream").status_code == 200


def test_a_body_without_content_encoding_is_not_touched():
    response = post(make_app(), PAYLOAD, None)
    assert response.status_code == 200 and response.json()["got"]["name"] == "widget"


def test_the_errors_are_catalogue_classes():
    assert issubclass(CtpUnsupportedEncodingError, fastcore.FastcoreError)
    assert (CtpUnsupportedEncodingError.status_code, CtpInvalidEncodingError.status_code) \
        == (415, 400)


# -- options ---------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    ({"encodings": "gzip"}, "encodings"),
    ({"encodings": []}, "encodings"),
    ({"encodings": ["gzip", "zstd"]}, "encodings"),
    ({"encodings": ["gzip", "gzip"]}, "encodings"),
    ({"encodings": [1]}, "encodings"),
    ({"threshold": -1}, "threshold"),
    ({"threshold": True}, "threshold"),
    ({"threshold": "1k"}, "threshold"),
    ({"request_decompression": "yes"}, "request_decompression"),
    ({"level": 9}, "unknown option"),
])
def test_bad_options_are_refused_at_register(options, message):
    refused_at_register(compress, options, message)


def test_encodings_accept_any_case_and_a_tuple():
    app = make_app(encodings=("GZIP", "Br"))
    assert fetch(app, accept="gzip, br").headers["content-encoding"] == "gzip"


def test_a_payload_an_earlier_on_send_hook_turned_into_str_is_compressed():
    app = fastcore.App()
    app.add_hook("on_send", lambda request, reply, payload: payload.decode())
    app.register(compress)
    app.get("/items", lambda request, reply: ITEMS)
    response = fetch(app)
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(response.body) == BIG
