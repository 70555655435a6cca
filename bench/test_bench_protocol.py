"""Micro benchmarks of the protocol path: bytes in, response bytes out.

Cases (WORKLOAD.md "Micro cases"): the 8-header GET and the POST /order,
whole and pipelined x16, each fed to a real ``HttpProtocol`` on an in-memory
transport (llhttp parse, route lookup, handler, serialization, response
head); and the full ``inject`` of ``/json``. Each case first checks the bytes
it produced, so a broken path fails instead of timing an error page.

    pytest bench/test_bench_protocol.py --benchmark-only
"""
import asyncio

import pytest

from bench.app import app

GET_8 = (b"GET /json HTTP/1.1\r\n"
         b"Host: 127.0.0.1:3000\r\n"
         b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\n"
         b"Accept: application/json, text/plain, */*\r\n"
         b"Accept-Language: en-US,en;q=0.9\r\n"
         b"Accept-Encoding: gzip, deflate, br\r\n"
         b"Connection: keep-alive\r\n"
         b"Cache-Control: no-cache\r\n"
         b"X-Request-Id: 0f8fad5b-d9cb-469f-a165-70867728950e\r\n\r\n")
ORDER_BODY = b'{"symbol":"BTC-USD","side":"buy","qty":0.5,"price":43250.5}'
POST_ORDER = (b"POST /order HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
              % (len(ORDER_BODY), ORDER_BODY))
USERS = b"GET /users/42?fields=name HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\r\n"


class NullTransport(asyncio.Transport):
    """Counts what is written; nothing leaves the process."""

    def __init__(self):
        super().__init__()
        self.written = []

    def write(self, data):
        self.written.append(data)

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 50000) if name == "peername" else default

    def is_closing(self):
        return False

    def close(self):
        pass

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    loop.run_until_complete(app.ready())
    yield loop
    loop.close()


@pytest.fixture
def connection(loop):
    state = app._runtime(loop)
    proto = state.protocol_factory()
    transport = NullTransport()
    proto.connection_made(transport)
    yield proto, transport
    proto.connection_lost(None)


CASES = {
    "protocol: GET 8 headers": (GET_8, 1, b'{"hello":"world"}'),
    "protocol: GET 8 headers, pipelined x16": (GET_8 * 16, 16, b'{"hello":"world"}'),
    "protocol: POST /order": (POST_ORDER, 1, ORDER_BODY),
    "protocol: POST /order, pipelined x16": (POST_ORDER * 16, 16, ORDER_BODY),
    "protocol: GET /users/:id": (USERS, 1, b'{"id":42,"fields":"name"}'),
}


@pytest.mark.parametrize("name", CASES)
def test_protocol(benchmark, connection, name):
    proto, transport = connection
    raw, count, body = CASES[name]
    proto.data_received(raw)
    out = b"".join(transport.written)
    assert out.count(b"HTTP/1.1 200 OK\r\n") == count
    assert out.endswith(body)
    assert len(transport.written) == 1, "pipelined responses must leave in one write"
    transport.written.clear()
    benchmark.group = "protocol"
    benchmark.name = name

    def feed():
        proto.data_received(raw)
        transport.written.clear()
    benchmark(feed)


def test_inject_json(benchmark, loop):
    response = loop.run_until_complete(app.inject("GET", "/json"))
    assert response.status_code == 200 and response.body == b'{"hello":"world"}'
    benchmark.group = "inject"
    benchmark(lambda: loop.run_until_complete(app.inject("GET", "/json")))
