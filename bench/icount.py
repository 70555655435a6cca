"""Instructions per request through the protocol, counted by valgrind.

On a shared machine a timing moves by tens of percent between runs; the
number of instructions a request costs does not. This script feeds the same
request bytes to a real ``HttpProtocol`` (the bench app, an in-memory
transport, as in ``bench/test_bench_protocol.py``) inside
``valgrind --tool=callgrind`` twice, with 0 and with N requests after a
warm-up, and divides the difference by N: start-up cancels out. Hash
randomisation is pinned (``PYTHONHASHSEED=0``) so two runs of one build agree
to a few instructions.

    python bench/icount.py                          # every route, this checkout
    python bench/icount.py --routes users,json --ref ../other-checkout
    python bench/icount.py --routes json --app bench.app_plugins   # with plugins

``--ref`` names another checkout, built in place, to count side by side. Each
count takes about half a minute (the interpreter's start-up under valgrind).
It complements the timed cases: it says how much work a change removed, not
how long the work takes (cache misses and branch mispredictions are not in it).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

REQUESTS = {
    "json": b"GET /json HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\r\n",
    "prices": b"GET /prices HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\r\n",
    "users": b"GET /users/42?fields=name HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\r\n",
    "order": (b"POST /order HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n"
              b"Content-Type: application/json\r\nContent-Length: 59\r\n\r\n"
              b'{"symbol":"BTC-USD","side":"buy","qty":0.5,"price":43250.5}'),
}
WARMUP = 50
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def parse_collected(stderr: str) -> int:
    """The instruction total callgrind prints on exit."""
    match = _COLLECTED.search(stderr)
    if match is None:
        raise RuntimeError("no instruction count in valgrind's output:\n" + stderr[-2000:])
    return int(match.group(1))


def drive(root: str, module: str, route: str, count: int) -> None:
    """Feed ``count`` requests (after the warm-up) to one connection of the
    ``app`` of ``module`` in the checkout at ``root``; check the answer."""
    import asyncio
    import importlib

    import fastcore
    app = importlib.import_module(module).app

    if not os.path.abspath(fastcore.__file__).startswith(root + os.sep):
        raise SystemExit("fastcore imported from %s, not from %s" % (fastcore.__file__, root))
    from bench.test_bench_protocol import NullTransport

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(app.ready())
    proto = app._runtime(loop).protocol_factory()
    transport = NullTransport()
    proto.connection_made(transport)
    raw = REQUESTS[route]

    async def feed(n: int, check: bool) -> None:
        # Inside the running loop, as on a server (a plugin may need it).
        for _ in range(n):
            proto.data_received(raw)
            if check and not transport.written[-1].startswith(b"HTTP/1.1 200 OK\r\n"):
                raise SystemExit("unexpected answer: %r" % transport.written[-1][:200])
            transport.written.clear()

    loop.run_until_complete(feed(WARMUP, True))
    loop.run_until_complete(feed(count, False))


def count_instructions(root: str, module: str, route: str, count: int) -> int:
    """Total instructions of one driver run under callgrind."""
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=root)
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            sys.executable, os.path.abspath(__file__), "--child", root, module, route, str(count)]
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError("the driver failed in %s:\n%s" % (root, done.stderr[-2000:]))
    return parse_collected(done.stderr)


def per_request(root: str, module: str, route: str, count: int) -> int:
    return (count_instructions(root, module, route, count)
            - count_instructions(root, module, route, 0)) // count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", default=",".join(REQUESTS),
                        help="comma list of %s" % ",".join(REQUESTS))
    parser.add_argument("--requests", type=int, default=2000, help="requests counted (2000)")
    parser.add_argument("--ref", help="another checkout, built in place, to count too")
    parser.add_argument("--app", default="bench.app",
                        help="module whose `app` serves the requests (bench.app)")
    parser.add_argument("--child", nargs=4, metavar=("ROOT", "MODULE", "ROUTE", "N"),
                        help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child:
        root, module, route, count = opts.child
        sys.path.insert(0, root)
        drive(root, module, route, int(count))
        return 0
    routes = [r for r in opts.routes.split(",") if r]
    unknown = [r for r in routes if r not in REQUESTS]
    if unknown or opts.requests < 1:
        parser.error("unknown routes %s" % unknown if unknown else "--requests must be >= 1")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    roots = [("this", ROOT)] + ([("ref", os.path.abspath(opts.ref))] if opts.ref else [])
    print("route     " + "".join("%14s" % name for name, _ in roots)
          + ("     this/ref" if opts.ref else ""))
    for route in routes:
        counts = [per_request(root, opts.app, route, opts.requests) for _, root in roots]
        line = "%-10s" % route + "".join("%14s" % format(c, ",") for c in counts)
        if opts.ref:
            line += "%13.3f" % (counts[0] / counts[1])
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
