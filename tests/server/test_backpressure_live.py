"""A pipelining client that stops reading, on a real socket.

The server stops reading it in turn (its answers are not read), usually in
the middle of a request's head. That head is then incomplete because of the
server, not the client: ``header_timeout`` must not cut the connection while
the server is the one not reading, and every request must be answered once
the client reads again.
"""
from __future__ import annotations

import asyncio

import fastcore
from bench.abuse import read_answers
from tests.conftest import live_server

REQUEST = b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n"
HEADER_TIMEOUT = 1.0


def make_app():
    app = fastcore.App(logger=False, header_timeout=HEADER_TIMEOUT)

    @app.get("/json")
    def hello(request, reply):
        return {"hello": "world"}

    return app


async def flood_then_read(host: str, port: int) -> tuple[int, int, str]:
    reader, writer = await asyncio.open_connection(host, port)
    # Writes of a size that is no multiple of a request's: wherever the server's
    # last read before it stops ends, it most likely ends inside a request.
    stream = REQUEST * 4096
    step = 10_000
    written = 0
    # Write until the server stops reading us: the kernel buffers both ways fill.
    while True:
        start = written % len(stream)
        chunk = (stream + stream)[start:start + step]
        writer.write(chunk)
        written += step
        try:
            await asyncio.wait_for(writer.drain(), 0.5)
        except asyncio.TimeoutError:
            break
    # Read nothing for longer than the header timeout; then complete the last
    # request and read everything.
    await asyncio.sleep(3 * HEADER_TIMEOUT)
    rest = -written % len(REQUEST)
    writer.write(REQUEST[len(REQUEST) - rest:] if rest else b"")
    sent = (written + rest) // len(REQUEST)
    answered, ending = await read_answers(reader, sent, read_timeout=10, total_timeout=60)
    writer.close()
    return sent, answered, ending


def test_a_client_that_stops_reading_gets_every_answer_when_it_reads_again():
    with live_server(make_app()) as server:
        sent, answered, ending = server.call(flood_then_read(server.host, server.port),
                                             timeout=120)
    assert sent > 1000
    assert (answered, ending) == (sent, "all answered")
