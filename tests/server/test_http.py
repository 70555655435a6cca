"""HTTP/1.1 behaviour over real sockets: keep-alive, pipelining, bodies, HEAD, streams."""
import asyncio
import socket

import pytest

import fastcore
from tests.conftest import RawClient, get, live_server


def make_app(**options):
    app = fastcore.App(**options)

    @app.get("/json")
    def hello(request, reply):
        return {"hello": "world"}

    @app.get("/slow")
    async def slow(request, reply):
        await asyncio.sleep(0.05)
        return "slow"

    @app.post("/echo")
    def echo(request, reply):
        return reply.type(request.content_type or "application/octet-stream").send(
            request.raw_body or b"")

    @app.get("/text")
    def text(request, reply):
        return "héllo wörld"

    @app.get("/status/:code")
    def status(request, reply):
        return reply.code(int(request.params["code"])).send("ignored body")

    @app.get("/stream")
    async def stream(request, reply):
        async def chunks():
            for i in range(5):
                yield "part%d;" % i
        return chunks()

    return app


@pytest.fixture(scope="module")
def server():
    with live_server(make_app()) as srv:
        yield srv


def test_get_json_has_exact_length_date_and_keep_alive(server):
    c = server.client()
    r = c.request(get("/json"))
    assert r.status == 200
    assert r.body == b'{"hello":"world"}'
    assert r.header("content-length") == str(len(r.body))
    assert r.header("content-type") == "application/json; charset=utf-8"
    assert r.header("date").endswith(" GMT")
    assert r.header("connection") == "keep-alive"
    assert r.header("transfer-encoding") is None


@pytest.mark.parametrize("code", [204, 304])
def test_no_content_answers_have_no_body_and_no_content_length(server, code):
    # RFC 9110 §8.6: a 304 may only repeat the 200's length, so none is sent.
    c = server.client()
    r = c.request(get("/status/%d" % code))
    assert r.status == code and r.body == b""
    assert r.header("content-length") is None and r.header("transfer-encoding") is None
    assert c.request(get("/json")).body == b'{"hello":"world"}'     # framing held


def test_content_length_counts_utf8_bytes(server):
    r = server.client().request(get("/text"))
    assert r.body == "héllo wörld".encode()
    assert int(r.header("content-length")) == len("héllo wörld".encode()) == 13


def test_keep_alive_serves_many_requests_on_one_socket(server):
    c = server.client()
    for _ in range(5):
        assert c.request(get("/json")).status == 200
    assert not c.is_closed(timeout=0.05)


def test_pipelined_requests_are_answered_in_order(server):
    c = server.client()
    c.send(get("/slow") + get("/json") + get("/text") + get("/slow") + get("/missing"))
    bodies = [c.read_response().body for _ in range(5)]
    assert bodies[0] == b"slow"
    assert bodies[1] == b'{"hello":"world"}'
    assert bodies[2] == "héllo wörld".encode()
    assert bodies[3] == b"slow"
    assert b"Route GET:/missing not found" in bodies[4]


def test_pipelined_responses_leave_in_one_write(server):
    c = server.client()
    c.send(get("/json") * 16)
    for _ in range(16):
        assert c.read_response().status == 200


def test_chunked_request_body(server):
    c = server.client()
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    r = c.request(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert r.status == 200
    assert r.body == b"hello world"


def test_chunked_request_with_trailers(server):
    c = server.client()
    r = c.request(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n")
    assert r.status == 200 and r.body == b"abc"


def test_expect_100_continue_is_answered_before_the_body(server):
    c = server.client()
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
           b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    first = c.sock.recv(100)
    assert first == b"HTTP/1.1 100 Continue\r\n\r\n"
    r = c.request(b"hello")
    assert r.status == 200 and r.body == b"hello"


def test_unknown_expectation_gets_417(server):
    c = server.client()
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: magic\r\n\r\n")
    r = c.read_response()
    assert r.status == 417
    assert r.body == (b'{"statusCode":417,"code":"FC_ERR_EXPECTATION_FAILED",'
                      b'"error":"Expectation Failed","message":"Expectation Failed"}')
    assert c.is_closed()


def test_head_has_headers_and_no_body(server):
    c = server.client()
    c.send(b"HEAD /json HTTP/1.1\r\nHost: t\r\n\r\n" + get("/json"))
    r = c.read_head_response()
    assert r.status == 200
    assert r.header("content-length") == "17"
    # Nothing follows the head: the next response starts right after it.
    while c.received.count(b"\r\n\r\n") < 2 or not c.received.endswith(b"}"):
        c.received += c.sock.recv(4096)
    rest = c.received.split(b"\r\n\r\n", 1)[1]
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")
    assert rest.endswith(b'\r\n\r\n{"hello":"world"}')


def test_stream_uses_chunked_encoding_without_content_length(server):
    r = server.client().request(get("/stream"))
    assert r.status == 200
    assert r.body == b"part0;part1;part2;part3;part4;"
    assert r.header("transfer-encoding") == "chunked"
    assert r.header("content-length") is None


def test_connection_close_is_honoured(server):
    c = server.client()
    r = c.request(get("/json", "Connection: close\r\n"))
    assert r.header("connection") == "close"
    assert c.is_closed()


def test_http10_closes_unless_keep_alive_is_asked(server):
    c = server.client()
    r = c.request(b"GET /json HTTP/1.0\r\n\r\n")
    assert r.status == 200 and r.header("connection") == "close"
    assert c.is_closed()
    c = server.client()
    r = c.request(b"GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert r.header("connection") == "keep-alive"
    assert c.request(b"GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").status == 200


@pytest.mark.parametrize("raw, statuses, connection", [
    (b"GET /json HTTP/1.1\r\nHost: t\r\n\r\nGET /json HTTP/1.0\r\n\r\n", [200, 200],
     "close"),
    (b"GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /json HTTP/1.1\r\n\r\n",
     [200, 400], "close"),
    (b"\r\nGET /json?x=HTTP/1.1 HTTP/1.0\r\n\r\n", [200], "close"),
    (b"GET /json?v=HTTP/1.0 HTTP/1.1\r\nHost: t\r\n\r\n", [200], "keep-alive"),
], ids=["1.1 then 1.0 in one chunk", "1.0 then 1.1 without Host", "leading CRLF",
        "version-like query"])
def test_each_request_is_answered_by_its_own_version(server, raw, statuses, connection):
    c = server.client()
    c.send(raw)
    responses = [c.read_response() for _ in statuses]
    assert [r.status for r in responses] == statuses
    assert responses[-1].header("connection") == connection
    assert c.is_closed() == (connection == "close")


@pytest.mark.parametrize("raw, status, closed", [
    (b"GET /json HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
     200, True),
    (b"GET /json HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n\r\n", 200, False),
    (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 404, True),
], ids=["upgrade asked", "upgrade header alone", "connect"])
def test_protocol_switches_are_answered_as_plain_requests(server, raw, status, closed):
    c = server.client()
    c.send(raw)
    assert c.read_response().status == status
    assert c.is_closed() == closed


def test_request_split_at_every_byte(server):
    c = server.client()
    raw = get("/json", "X-A: 1\r\n")
    for i in range(len(raw)):
        c.send(raw[i:i + 1])
    assert c.read_response().body == b'{"hello":"world"}'


def test_listen_returns_the_bound_address():
    app = make_app()
    with live_server(app) as srv:
        assert srv.address == "http://127.0.0.1:%d" % srv.port
        assert srv.port != 0


def test_stream_pauses_when_the_client_does_not_read():
    produced = []
    app = fastcore.App()

    @app.get("/big")
    async def big(request, reply):
        async def chunks():
            for i in range(100_000):
                produced.append(i)
                yield b"x" * 65536
        return chunks()

    with live_server(app) as srv:
        c = srv.client()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.send(get("/big"))
        # The client reads nothing: the stream must stall at the transport's limit
        # instead of buffering 6 GB.
        seen = -1
        for _ in range(50):
            count = srv.run(len, produced)
            if count == seen:
                break
            seen = count
            srv.call(asyncio.sleep(0.05))
        assert seen < 400, "stream kept producing while the client read nothing"
        # Reading resumes the stream.
        before = seen
        c.sock.settimeout(5)
        for _ in range(200):
            c.sock.recv(1 << 20)
        assert srv.run(len, produced) > before
        c.close()
