"""The command line the socketify.py peers share: ``--host``, ``--port``, serve."""
from __future__ import annotations

import argparse
from typing import Any, Callable


def serve(build_app: Callable[[], Any], description: str) -> None:
    """Parse ``--host``/``--port``, build the app, listen and run until stopped."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    app = build_app()
    app.listen({"port": args.port, "host": args.host},
               lambda config: print(f"socketify listening on {args.host}:{args.port}",
                                    flush=True))
    app.run()
