"""WebSocket load benchmark: fastcore against socketify.py, uvicorn and Node ``ws``.

Three cases, each run for every server in turn (fastcore first, then the peers;
A B C A B C ... over the rounds), the server pinned to one CPU and the load
generator to the other:

- ``echo``: N connections (50) to ``/echo``, each with one 64-byte text
  message in flight (``--depth``): messages echoed per second.
- ``push``: 1,000 connections to ``/push``; the first sends a 64-byte message,
  the server sends it to every connection (one ``send`` each), and when all
  1,000 have it the next round starts: deliveries per second.
- ``idle``: N WebSockets (10,000) opened and left idle; the server's resident
  memory read before and after: bytes each connection adds. A warm-up batch of
  100 is opened and closed first, so lazily loaded code is not counted.

The load comes from ``bench/wsload.c``, built here with the system C compiler
into ``.cache/`` (a Python client costs more CPU per message than the servers
it loads). It reports its own CPU time and the server's over the measured
seconds; both are printed, so a run whose load generator was saturated shows
as such. The servers are ``bench/ws_app.py`` and ``bench/peers/ws_*``; what
they need is installed as ``bench/load.py`` does (``--install``).

Usage: python bench/ws_load.py [--cases echo,push,idle] [--rounds 3]
       [--duration 8] [--warmup 2] [--connections 50] [--depth 1]
       [--push-clients 1000] [--idle 10000] [--peers socketify,uvicorn,node-ws]
       [--install] [--quick] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.environment import _command_output, machine, versions  # noqa: E402
from bench.install import prepare_peers  # noqa: E402
from bench.peers import WS_FASTCORE, WS_PEERS, Server  # noqa: E402
from bench.servers import (  # noqa: E402
    HOST, RunError, free_port, placeholder_values, raise_nofile, rss_kib, running_server,
    wait_for_port,
)

SOURCE = ROOT / "bench" / "wsload.c"
BINARY = ROOT / ".cache" / "wsload"
CASES = ("echo", "push", "idle")
WARM_IDLE = 100            # connections opened and closed before the idle reading
IDLE_SETTLE_S = 1.0        # pause between the last upgrade and the RSS reading
LOAD_GRACE_S = 90.0        # beyond warm-up + duration: connecting, exiting
FD_MARGIN = 256
UNITS = {"echo": "msg/s", "push": "deliveries/s", "idle": "B/conn"}


@dataclass
class Run:
    case: str
    server: str
    round: int
    value: float | None = None          # messages/s, deliveries/s or bytes per connection
    server_cpu: float | None = None     # share of one CPU over the measured seconds
    load_cpu: float | None = None
    detail: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.value is not None


def build_client() -> Path:
    """Compile bench/wsload.c into .cache/ unless the binary is newer."""
    if BINARY.exists() and BINARY.stat().st_mtime >= SOURCE.stat().st_mtime:
        return BINARY
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("no C compiler (cc or gcc) on PATH: it builds bench/wsload.c")
    BINARY.parent.mkdir(exist_ok=True)
    subprocess.run([compiler, "-O2", "-Wall", "-o", str(BINARY), str(SOURCE)], check=True)
    return BINARY


def client_argv(opts, mode: str, path: str, port: int, conns: int, arg: int,
                warmup: float, seconds: float, pid: int | None = None) -> list[str]:
    """The load generator's command line, pinned to ``opts.load_cpu``."""
    argv = ["taskset", "-c", str(opts.load_cpu), str(BINARY), mode, HOST, str(port), path,
            str(conns), str(arg), str(warmup), str(seconds)]
    return argv + ([str(pid)] if pid is not None else [])


def _last_json(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.startswith("{")]
    if not lines:
        raise RunError("the load generator printed no result")
    return json.loads(lines[-1])


def run_client(run: Run, opts, argv: list[str]) -> dict:
    """Run the load generator; its result, with the rate and both CPUs set on ``run``."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=opts.warmup + opts.duration + LOAD_GRACE_S)
    except subprocess.TimeoutExpired:
        raise RunError("the load generator did not finish in time") from None
    if done.returncode != 0:
        raise RunError(f"load generator failed ({done.returncode}): "
                       + " | ".join(done.stderr.strip().splitlines()[-3:]))
    result = _last_json(done.stdout)
    seconds = result["seconds"]
    run.detail = result
    run.value = result["messages"] / seconds
    run.load_cpu = result["cpu_seconds"] / seconds
    if result["server_cpu_seconds"] >= 0:
        run.server_cpu = result["server_cpu_seconds"] / seconds
    return result


def measure_traffic(run: Run, opts, proc: subprocess.Popen, port: int) -> None:
    """One echo or push run: the load generator's figures and both CPUs."""
    conns = opts.connections if run.case == "echo" else opts.push_clients
    depth = opts.depth if run.case == "echo" else 0
    run_client(run, opts, client_argv(opts, run.case, "/" + run.case, port, conns, depth,
                                      opts.warmup, opts.duration, proc.pid))


def _hold(opts, port: int, conns: int, then=None) -> dict:
    """Open ``conns`` idle WebSockets, call ``then()`` while they are open, close them."""
    client = subprocess.Popen(client_argv(opts, "idle", "/echo", port, conns, 0, 0, 0),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        ready = client.stdout.readline()
        if not ready.startswith("{"):
            client.wait(timeout=10)
            raise RunError("idle connections failed: "
                           + " | ".join(client.stderr.read().strip().splitlines()[-3:]))
        extra = then() if then is not None else {}
        out, err = client.communicate(timeout=30)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    if client.returncode != 0:
        raise RunError("idle client failed: " + " | ".join(err.strip().splitlines()[-3:]))
    return {**json.loads(ready), **_last_json(out), **extra}


def measure_idle(run: Run, opts, proc: subprocess.Popen, port: int) -> None:
    """RSS added by ``opts.idle`` idle WebSockets, per connection."""
    _hold(opts, port, WARM_IDLE)
    time.sleep(IDLE_SETTLE_S)
    before = rss_kib(proc.pid)

    def read_after() -> dict:
        time.sleep(IDLE_SETTLE_S)
        return {"rss_after_kib": rss_kib(proc.pid)}

    detail = _hold(opts, port, opts.idle, read_after)
    detail["rss_before_kib"] = before
    run.detail = detail
    if detail["closed_by_server"]:
        run.errors.append(f"the server closed {detail['closed_by_server']} idle connections")
    if before is not None and detail["rss_after_kib"] is not None:
        run.value = (detail["rss_after_kib"] - before) * 1024 / opts.idle


def measure(server: Server, case: str, rnd: int, opts, workdir: Path) -> Run:
    run = Run(case=case, server=server.name, round=rnd)
    port = free_port()
    rundir = workdir / f"{server.name}-{case}-{rnd}"
    values = placeholder_values(port, rundir, max(opts.idle, opts.push_clients) + FD_MARGIN)
    log = workdir / f"{server.name}-{case}-{rnd}.log"
    try:
        with running_server(server, values, opts.server_cpu, log) as proc:
            wait_for_port(proc, port, log, opts.start_timeout)
            (measure_idle if case == "idle" else measure_traffic)(run, opts, proc, port)
            if proc.poll() is not None:
                run.errors.append(f"server exited with status {proc.returncode}")
    except RunError as exc:
        run.errors.append(str(exc))
    return run


def _cell(run: Run) -> str:
    if not run.ok:
        return "error"
    return f"{run.value:,.0f}"


def _cpu(runs: list[Run], attr: str) -> str:
    values = [getattr(r, attr) for r in runs if r.ok and getattr(r, attr) is not None]
    return f"{statistics.median(values) * 100:.0f}%" if values else "-"


def summarize(runs: list[Run], servers: list[Server], opts) -> str:
    """One table: per case and server, each round, the median, CPUs, fastcore/peer."""
    lines = []
    header = ["case", "server", *[f"round {i + 1}" for i in range(opts.rounds)],
              "median", "server CPU", "load CPU", "fastcore/server"]
    rows = [header]
    for case in opts.cases:
        medians = {}
        for server in servers:
            mine = [r for r in runs if r.case == case and r.server == server.name]
            good = [r.value for r in mine if r.ok]
            medians[server.name] = statistics.median(good) if good else None
            rows.append([f"{case} ({UNITS[case]})", server.name,
                         *[_cell(r) for r in mine], "-" if not good else f"{medians[server.name]:,.0f}",
                         _cpu(mine, "server_cpu"), _cpu(mine, "load_cpu"), ""])
        fast = medians.get(servers[0].name)
        for row in rows[-len(servers):]:
            peer = medians.get(row[1])
            if fast and peer and row[1] != servers[0].name:
                # For memory, less is better: the ratio is peer/fastcore there.
                ratio = peer / fast if case == "idle" else fast / peer
                row[-1] = f"{ratio:.2f}x"
    lines.append(format_table(rows))
    lines.append("fastcore/server: throughput ratio for echo and push; for idle, the "
                 "server's bytes per connection over fastcore's (above 1: fastcore uses less)")
    return "\n".join(lines)


def format_table(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; the first two left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) if i > 1 else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths)))
                     for row in rows)


def common_options(description: str, cases: str, peers: str,
                   quick: str) -> argparse.ArgumentParser:
    """The options ws_load.py and fanout.py share; each adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cases", default=cases)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--peers", default=peers)
    parser.add_argument("--install", action="store_true")
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--load-cpu", type=int, default=1)
    parser.add_argument("--start-timeout", type=float, default=30.0)
    return parser


def parse_common(parser: argparse.ArgumentParser, argv: list[str] | None,
                 quick: dict) -> argparse.Namespace:
    """Parse; with --quick, ``quick``'s values for the options not given."""
    opts = parser.parse_args(argv)
    given = set(argv if argv is not None else sys.argv[1:])
    if opts.quick:
        for name, value in {"rounds": 1, "warmup": 1.0, "duration": 2.0, **quick}.items():
            if f"--{name}" not in given:
                setattr(opts, name, value)
    return opts


def prepare(servers: list[Server], install: bool, connections: int) -> tuple[list, dict]:
    """SIGTERM ends the script, the load generator is built, the peers made
    ready (see ``prepare_peers``), the open-files limit raised for ``connections``."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(130))
    build_client()
    ready, setups = prepare_peers(servers, install)
    *_, note = raise_nofile(connections + FD_MARGIN)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    return ready, setups


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = common_options(__doc__.splitlines()[0], ",".join(CASES), "socketify,uvicorn,node-ws",
                            "1 round, 1 s warm-up, 2 s runs, 1,000 idle connections")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--push-clients", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=10000)
    opts = parse_common(parser, argv, {"idle": 1000})
    opts.cases = [c for c in opts.cases.split(",") if c]
    unknown = [c for c in opts.cases if c not in CASES]
    peers = [p for p in opts.peers.split(",") if p]
    if unknown or any(p not in WS_PEERS for p in peers):
        parser.error(f"cases are {', '.join(CASES)}; peers are {', '.join(WS_PEERS)}")
    opts.peer_names = peers
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    servers, setups = prepare([WS_FASTCORE, *[WS_PEERS[p] for p in opts.peer_names]],
                              opts.install, max(opts.idle, opts.push_clients))
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="fastcore-ws-load-") as tmp:
        for case in opts.cases:
            for rnd in range(opts.rounds):
                for server in servers:
                    run = measure(server, case, rnd, opts, Path(tmp))
                    runs.append(run)
                    print(f"  {case} round {rnd + 1} {server.name}: {_cell(run)}"
                          + (f"  ({'; '.join(run.errors)})" if run.errors else ""),
                          file=sys.stderr, flush=True)
    return report(summarize(runs, servers, opts), runs, servers, setups, opts)


def report(table: str, runs: list[Run], servers: list[Server], setups: dict, opts) -> int:
    """Print the table and the skipped peers, write ``--json``; the exit status."""
    print(table)
    for name, setup in setups.items():
        if setup.status == "skipped":
            print(f"skipped {name}: {setup.note}")
    if opts.json:
        opts.json.write_text(json.dumps({
            "options": {k: v for k, v in vars(opts).items() if k != "json"},
            "machine": machine(), "versions": versions(servers),
            "commit": _command_output(["git", "rev-parse", "HEAD"]),
            "runs": [asdict(r) for r in runs]}, indent=2, default=str))
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
