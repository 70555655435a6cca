"""The fan-out benchmark (bench/fanout_app.py's routes) on socketify.py, with
uWebSockets' own pub/sub: ``ws.subscribe("ticks")`` and ``app.publish``.

Run with ``python bench/peers/fanout_socketify.py --host 127.0.0.1 --port 3000``.
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import orjson  # noqa: E402
from socketify import App, CompressOptions, OpCode  # noqa: E402

from bench.peers.socketify_main import serve  # noqa: E402

from bench.peers.ticks import paced, tick  # noqa: E402


def build_app() -> App:
    app = App()

    def publish() -> None:
        app.publish("ticks", orjson.dumps(tick()), OpCode.TEXT)

    def control(ws, message, opcode) -> None:
        text = message.decode() if isinstance(message, bytes) else message
        if text.startswith("go:"):
            for _ in range(int(text[3:])):
                publish()
        elif text.startswith("rate:"):
            app.loop.create_task(paced(publish, int(text[5:])))

    app.ws("/ws", {"compression": CompressOptions.DISABLED,
                   "open": lambda ws: ws.subscribe("ticks"),
                   "message": lambda ws, message, opcode: None})
    app.ws("/control", {"compression": CompressOptions.DISABLED, "message": control})
    return app


def main() -> None:
    serve(build_app, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
