"""Command line: ``python -m fastcore run module:app --host --port --workers``, and
``python -m fastcore gate RESULTS --baseline BASELINE`` (``fastcore/gate.py``)."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from .gate import DEFAULT_TOLERANCE


def load_app(spec: str):
    """Import ``module:attribute`` (the current directory is importable)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit("expected module:app, got %r" % spec)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    app = module
    for part in attr.split("."):
        app = getattr(app, part)
    from .app import App
    if not isinstance(app, App):
        raise SystemExit("%s is not a fastcore.App" % spec)
    return app


def _fraction(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 or more, e.g. 0.2 for 20%")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fastcore", description="Run a fastcore app, or gate route benchmarks.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve an app")
    run.add_argument("app", help="module:attribute of the App")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=3000)
    run.add_argument("--workers", type=int, default=1)
    run.add_argument("--backlog", type=int, default=1024)
    run.add_argument("--log-level", default="warning",
                     choices=["debug", "info", "warning", "error", "critical"])
    gate = commands.add_parser(
        "gate", help="compare pytest-benchmark results with a baseline (route_benchmark cases)")
    gate.add_argument("results", nargs="+",
                      help="--benchmark-json files; with several, each case's best ratio counts")
    gate.add_argument("--baseline", required=True,
                      help="the --benchmark-json file of an earlier run")
    gate.add_argument("--tolerance", type=_fraction, default=DEFAULT_TOLERANCE,
                      help="how much slower a case may be (0.2: 20%%, the default)")
    args = parser.parse_args(argv)
    if args.command == "gate":
        from .gate import run_gate
        return run_gate(args.results, args.baseline, args.tolerance)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = load_app(args.app)
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    app.run(host=args.host, port=args.port, workers=args.workers, backlog=args.backlog)
    return 0
