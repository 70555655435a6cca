"""The /json ceiling: a minimal uvloop + httptools protocol.

For every request it parses, it writes one prebuilt response with
``{"hello":"world"}`` and fastcore's Content-Type, whatever the method or path:
no routing, no serialization, no Date header. It measures how fast a Python
server on this event loop and parser could possibly answer, which, on these
machines, is also about the rate a single ``wrk`` thread can generate.
Run with::

    python bench/peers/ceiling.py --host 127.0.0.1 --port 3000
"""
from __future__ import annotations

import argparse
import asyncio

import httptools
import uvloop

BODY = b'{"hello":"world"}'
RESPONSE = (b"HTTP/1.1 200 OK\r\n"
            b"content-type: application/json; charset=utf-8\r\n"
            b"content-length: " + str(len(BODY)).encode() + b"\r\n"
            b"connection: keep-alive\r\n"
            b"\r\n" + BODY)


class CeilingProtocol(asyncio.Protocol):
    __slots__ = ("transport", "parser")

    def __init__(self) -> None:
        self.transport = None
        self.parser = httptools.HttpRequestParser(self)

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        self.transport.write(RESPONSE)
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(CeilingProtocol, host, port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="the /json ceiling server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
