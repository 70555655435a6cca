"""Fan-out benchmark: one publisher, thousands of subscribers (SPEC §12).

fastcore's channels plugin (``bench/fanout_app.py``) against socketify.py's
uWebSockets pub/sub (``app.publish``, ``peers/fanout_socketify.py``) and
``websockets``' ``broadcast`` on uvicorn (``peers/fanout_uvicorn.py``). Each
server publishes a ~100-byte JSON tick whose ``t`` is its monotonic clock at
the publish; the load generator (``bench/wsload.c``, the same as
``ws_load.py``'s) reads the same clock, so it measures publish-to-receive
latency as well as deliveries.

Cases (``--cases``):

- ``ws-1000``, ``ws-10000``: that many WebSocket subscribers; a control
  connection asks for one tick (``--burst``), and when every subscriber has
  it, for the next: deliveries per second with the publisher never ahead of
  the slowest subscriber.
- ``ws-1000-rate``: 1,000 subscribers, the server publishing ``--rate``
  (1,000) ticks a second on its own: deliveries per second and the latency's
  p50 and p99 (the goal: p99 under 10 ms).
- ``ws-1000-rate-stall``: the same with one subscriber that stops reading
  after its upgrade: the other 999's deliveries and latency, to compare with
  ``ws-1000-rate`` (a slow subscriber must not delay the others).
- ``sse-1000``, ``sse-1000-rate``: the same over Server-Sent Events (fastcore
  only: the peers have no SSE fan-out).

Servers run one at a time on CPU 0 (``--server-cpu``), the load generator on
CPU 1, rounds alternating as in ``load.py``; the table shows both CPUs.

Usage: python bench/fanout.py [--cases ws-1000,ws-10000,ws-1000-rate,ws-1000-rate-stall,
       sse-1000,sse-1000-rate]
       [--rounds 3] [--duration 8] [--warmup 2] [--burst 1] [--rate 1000]
       [--peers socketify,uvicorn] [--install] [--quick] [--json PATH]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.peers import Server  # noqa: E402
from bench.servers import (  # noqa: E402
    RunError, free_port, placeholder_values, running_server, wait_for_port,
)
from bench.ws_load import (  # noqa: E402
    FD_MARGIN, Run, client_argv, common_options, format_table, parse_common, prepare, report,
    run_client,
)


@dataclass(frozen=True)
class Case:
    name: str
    path: str          # /ws or /sse
    subscribers: int
    paced: bool        # the server publishes at --rate; else one burst per round
    stalled: bool = False   # paced, with one subscriber that stops reading


CASES = {c.name: c for c in (
    Case("ws-1000", "/ws", 1000, False),
    Case("ws-10000", "/ws", 10000, False),
    Case("ws-1000-rate", "/ws", 1000, True),
    Case("ws-1000-rate-stall", "/ws", 1000, True, stalled=True),
    Case("sse-1000", "/sse", 1000, False),
    Case("sse-1000-rate", "/sse", 1000, True),
)}

FASTCORE = Server(
    name="fastcore",
    argv=("{python}", "-m", "fastcore", "run", "bench.fanout_app:app",
          "--host", "{host}", "--port", "{port}"),
    packages=("fastcore-http", "uvloop", "orjson"),
)
PEERS = {
    # uWebSockets' topic pub/sub: ws.subscribe("ticks"), app.publish(...).
    "socketify": Server(
        name="socketify",
        argv=("{python}", "{root}/bench/peers/fanout_socketify.py",
              "--host", "{host}", "--port", "{port}"),
        packages=("socketify",), pip=("socketify",), routes=("/ws",),
    ),
    # websockets.broadcast over uvicorn's websockets protocol objects.
    "uvicorn": Server(
        name="uvicorn",
        argv=("{python}", "-m", "uvicorn", "bench.peers.fanout_uvicorn:app",
              "--ws", "websockets", "--loop", "uvloop", "--http", "httptools",
              "--no-access-log", "--log-level", "warning",
              "--host", "{host}", "--port", "{port}"),
        packages=("uvicorn", "websockets", "uvloop"), pip=("uvicorn", "websockets", "uvloop"),
        routes=("/ws",),
    ),
}


def measure(server: Server, case: Case, rnd: int, opts, workdir: Path) -> Run:
    run = Run(case=case.name, server=server.name, round=rnd)
    port = free_port()
    values = placeholder_values(port, workdir / f"{server.name}-{case.name}-{rnd}",
                                case.subscribers + FD_MARGIN)
    log = workdir / f"{server.name}-{case.name}-{rnd}.log"
    mode, arg = ("stall" if case.stalled else "rate", opts.rate) if case.paced else (
        "fanout", opts.burst)
    try:
        with running_server(server, values, opts.server_cpu, log) as proc:
            wait_for_port(proc, port, log, opts.start_timeout)
            run_client(run, opts, client_argv(opts, mode, case.path, port, case.subscribers,
                                              arg, opts.warmup, opts.duration, proc.pid))
            if proc.poll() is not None:
                run.errors.append(f"server exited with status {proc.returncode}")
    except RunError as exc:
        run.errors.append(str(exc))
    return run


def _median(runs: list[Run], pick) -> float | None:
    values = [pick(r) for r in runs if r.ok and pick(r) is not None]
    return statistics.median(values) if values else None


def _ms(value: float | None) -> str:
    return "-" if value is None or value < 0 else f"{value / 1000:.2f}"


def summarize(runs: list[Run], servers: list[Server], opts) -> str:
    rows = [["case", "server", *[f"round {i + 1}" for i in range(opts.rounds)],
             "deliveries/s", "p50 ms", "p99 ms", "server CPU", "load CPU", "fastcore/server"]]
    for name in opts.cases:
        mine = {s.name: [r for r in runs if r.case == name and r.server == s.name]
                for s in servers}
        fast = _median(mine[servers[0].name], lambda r: r.value)
        for server in servers:
            own = mine[server.name]
            if not own:
                continue
            value = _median(own, lambda r: r.value)
            ratio = f"{fast / value:.2f}x" if fast and value and own is not mine[
                servers[0].name] else ""
            rows.append([name, server.name,
                         *[f"{r.value:,.0f}" if r.ok else "error" for r in own],
                         "-" if value is None else f"{value:,.0f}",
                         _ms(_median(own, lambda r: r.detail.get("p50_us"))),
                         _ms(_median(own, lambda r: r.detail.get("p99_us"))),
                         _percent(_median(own, lambda r: r.server_cpu)),
                         _percent(_median(own, lambda r: r.load_cpu)), ratio])
    return format_table(rows) + ("\nlatency: publish to receive, over the measured seconds;"
                                 " medians of the rounds' percentiles")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = common_options(__doc__.splitlines()[0], ",".join(CASES), ",".join(PEERS),
                            "1 round, 1 s warm-up, 2 s runs, cases ws-1000 and sse-1000-rate")
    parser.add_argument("--burst", type=int, default=1)
    parser.add_argument("--rate", type=int, default=1000)
    opts = parse_common(parser, argv, {"cases": "ws-1000,sse-1000-rate"})
    opts.cases = [c for c in opts.cases.split(",") if c]
    opts.peer_names = [p for p in opts.peers.split(",") if p]
    if any(c not in CASES for c in opts.cases) or any(p not in PEERS for p in opts.peer_names):
        parser.error(f"cases are {', '.join(CASES)}; peers are {', '.join(PEERS)}")
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    servers, setups = prepare([FASTCORE, *[PEERS[p] for p in opts.peer_names]], opts.install,
                              max(CASES[c].subscribers for c in opts.cases))
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="fastcore-fanout-") as tmp:
        for name in opts.cases:
            case = CASES[name]
            for rnd in range(opts.rounds):
                for server in servers:
                    if not server.serves(case.path):
                        continue
                    run = measure(server, case, rnd, opts, Path(tmp))
                    runs.append(run)
                    print(f"  {name} round {rnd + 1} {server.name}: "
                          + (f"{run.value:,.0f}" if run.ok else "; ".join(run.errors)),
                          file=sys.stderr, flush=True)
    return report(summarize(runs, servers, opts), runs, servers, setups, opts)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
