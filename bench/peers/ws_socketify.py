"""The WebSocket benchmark (bench/ws_app.py's routes) on socketify.py (uWebSockets).

``/echo`` sends every message back; ``/push`` sends a message received on any
of its connections to each of them, one ``send`` each, as bench/ws_app.py does.
Compression off; uWebSockets' defaults otherwise. Run with::

    python bench/peers/ws_socketify.py --host 127.0.0.1 --port 3000
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from socketify import App, CompressOptions  # noqa: E402

from bench.peers.socketify_main import serve  # noqa: E402

subscribers: set = set()


def echo_message(ws, message, opcode) -> None:
    ws.send(message, opcode)


def push_open(ws) -> None:
    subscribers.add(ws)


def push_message(ws, message, opcode) -> None:
    for subscriber in list(subscribers):
        subscriber.send(message, opcode)


def push_close(ws, code, message) -> None:
    subscribers.discard(ws)


def build_app() -> App:
    app = App()
    app.ws("/echo", {"compression": CompressOptions.DISABLED, "message": echo_message})
    app.ws("/push", {"compression": CompressOptions.DISABLED, "open": push_open,
                     "message": push_message, "close": push_close})
    return app


def main() -> None:
    serve(build_app, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
