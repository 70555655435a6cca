"""Load benchmark: fastcore against its peers, real servers under wrk.

How this works. For each route, for each round, each server (fastcore first,
then every peer from ``bench/peers``) is started on a fresh loopback port pinned
to one CPU, waited for by polling its port, checked with one request, warmed up
and measured by ``wrk`` pinned to the other CPU; its peak RSS is read from
/proc, then it is stopped before the next server starts. Servers therefore
alternate (A B A B ...) and never run side by side, so slow drifts of a shared
machine hit every server alike and the per-round ratio fastcore/peer stays
meaningful even when absolute numbers do not (shared/bench/WORKLOAD.md).

A run whose server fails to start or dies, or whose wrk reports socket errors or
non-2xx responses, is kept in the results with its errors, shown as such in the
table, and left out of medians and ratios; the exit status is then 1.

Usage: python bench/load.py [--rounds 3] [--duration 8] [--warmup 2]
       [--connections 50] [--routes json,users] [--peers uvicorn] [--quick]
       [--json PATH]
"""
from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.peers import FASTCORE, PEERS, Server  # noqa: E402

HOST = "127.0.0.1"
START_TIMEOUT = 30.0   # seconds for a server to accept connections
STOP_TIMEOUT = 10.0    # seconds between SIGTERM and SIGKILL
WRK_GRACE = 30.0       # seconds a wrk run may take beyond its duration
ORDER_BODY = '{"symbol":"BTC-USD","side":"buy","qty":0.5,"price":43250.5}'


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    body: str | None = None
    content_type: str | None = None


ROUTES = {
    "json": Route("json", "GET", "/json"),
    "prices": Route("prices", "GET", "/prices"),
    "order": Route("order", "POST", "/order", ORDER_BODY, "application/json"),
    "users": Route("users", "GET", "/users/42?fields=name"),
}
DEFAULT_ROUTES = "json,users"


class RunError(Exception):
    """A server or wrk failure that invalidates one run."""


@dataclass
class WrkResult:
    rps: float | None = None
    requests: int | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)   # "50" .. "99"
    socket_errors: dict[str, int] = field(default_factory=dict)
    non_2xx: int = 0
    errors: list[str] = field(default_factory=list)
    output: str = ""


@dataclass
class Run:
    route: str
    server: str
    round: int
    port: int
    startup_s: float | None = None
    first_response: dict | None = None
    warmup: WrkResult | None = None
    wrk: WrkResult | None = None
    peak_rss_kib: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.wrk is not None and self.wrk.rps is not None


# --- servers ------------------------------------------------------------------

def free_port() -> int:
    """A port the kernel says is free now; the server binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return ("\n    " + "\n    ".join(text[-lines:])) if text else ""


@contextmanager
def running_server(server: Server, port: int, cpu: int, log: Path):
    """Start ``server`` pinned to ``cpu``; always stop it on the way out."""
    argv, cwd, extra_env = server.expand(
        python=sys.executable, root=str(ROOT), host=HOST, port=str(port))
    env = dict(os.environ, **extra_env)
    with open(log, "wb") as out:
        # Its own session: Ctrl-C reaches only this script, which then stops
        # the server in order; the process group holds any workers it forks.
        proc = subprocess.Popen(["taskset", "-c", str(cpu), *argv], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_server(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM the server, SIGKILL its process group if it outstays STOP_TIMEOUT."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.wait()
    except KeyboardInterrupt:
        _kill_group(proc)
        proc.wait()
        raise
    # Workers that outlived their parent belong to the group we created.
    _kill_group(proc)


def wait_for_port(proc: subprocess.Popen, port: int, log: Path, timeout: float) -> float:
    """Poll the port until it accepts a connection; the seconds it took."""
    start = time.monotonic()
    while True:
        code = proc.poll()
        if code is not None:
            raise RunError(f"server exited with status {code} before listening"
                           + _log_tail(log))
        try:
            socket.create_connection((HOST, port), timeout=0.25).close()
            return time.monotonic() - start
        except OSError:
            pass
        if time.monotonic() - start > timeout:
            raise RunError(f"server did not listen on port {port} within {timeout:.0f} s"
                           + _log_tail(log))
        time.sleep(0.02)


def first_response(route: Route, port: int) -> dict:
    """One request before the load: the status, Content-Type and body it got."""
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    headers = {"Content-Type": route.content_type} if route.content_type else {}
    try:
        conn.request(route.method, route.path, body=route.body, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        raise RunError(f"first request failed: {exc!r}") from None
    finally:
        conn.close()
    return {"status": resp.status, "content_type": resp.getheader("Content-Type"),
            "body": body.decode("utf-8", "replace")}


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # The command name may hold spaces and parentheses: split after it.
                ppid = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM summed over the server and its children (an upper bound if forked)."""
    total, found = 0, False
    for member in _process_tree(pid):
        try:
            with open(f"/proc/{member}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
                        found = True
                        break
        except (OSError, ValueError):
            continue
    return total if found else None


# --- wrk ------------------------------------------------------------------------

_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_REQUESTS_RE = re.compile(r"^\s*(\d+) requests in ", re.M)
_PERCENTILE_RE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_SOCKET_RE = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def parse_wrk(output: str) -> WrkResult:
    """Read requests/s, the latency distribution and the error counts."""
    result = WrkResult(output=output)
    match = _RPS_RE.search(output)
    result.rps = float(match.group(1)) if match else None
    match = _REQUESTS_RE.search(output)
    result.requests = int(match.group(1)) if match else None
    for pct, value, unit in _PERCENTILE_RE.findall(output):
        result.latency_ms[pct] = float(value) * _UNITS_MS[unit]
    match = _SOCKET_RE.search(output)
    if match:
        result.socket_errors = dict(zip(("connect", "read", "write", "timeout"),
                                        map(int, match.groups())))
    match = _NON_2XX_RE.search(output)
    result.non_2xx = int(match.group(1)) if match else 0
    result.errors = _wrk_errors(result)
    return result


def _wrk_errors(result: WrkResult) -> list[str]:
    errors = []
    if result.rps is None or "99" not in result.latency_ms:
        errors.append("wrk output has no requests/s or p99 latency")
    if not result.requests:
        errors.append("no request completed")
    if result.non_2xx:
        errors.append(f"{result.non_2xx} non-2xx/3xx responses")
    failed = {k: v for k, v in result.socket_errors.items() if v}
    if failed:
        errors.append("socket errors " + ", ".join(f"{k} {v}" for k, v in failed.items()))
    return errors


def lua_string(text: str) -> str:
    """``text`` as a double-quoted Lua string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def write_wrk_script(route: Route, directory: Path) -> Path | None:
    """A wrk Lua script for routes that are not a plain GET; None otherwise."""
    if route.method == "GET" and route.body is None:
        return None
    lines = [f"wrk.method = {lua_string(route.method)}"]
    if route.body is not None:
        lines.append(f"wrk.body = {lua_string(route.body)}")
    if route.content_type is not None:
        lines.append(f'wrk.headers["Content-Type"] = {lua_string(route.content_type)}')
    path = directory / f"{route.name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(url: str, script: Path | None, seconds: int, opts) -> WrkResult:
    argv = ["taskset", "-c", str(opts.wrk_cpu), "wrk", "-t1", f"-c{opts.connections}",
            f"-d{seconds}s", "--latency"]
    if script is not None:
        argv += ["-s", str(script)]
    try:
        done = subprocess.run(argv + [url], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=seconds + WRK_GRACE)
    except subprocess.TimeoutExpired:
        raise RunError(f"wrk did not finish within {seconds + WRK_GRACE:.0f} s") from None
    result = parse_wrk(done.stdout)
    if done.returncode != 0:
        result.errors.insert(0, f"wrk exited with status {done.returncode}: "
                                f"{done.stderr.strip()[:300]}")
    return result


# --- one run, all runs ------------------------------------------------------------

def measure(server: Server, route: Route, rnd: int, script: Path | None,
            workdir: Path, opts) -> Run:
    """Start ``server``, load ``route`` once (warm-up, then measured), stop it."""
    port = free_port()
    run = Run(route=route.name, server=server.name, round=rnd, port=port)
    log = workdir / f"{server.name}-{route.name}-{rnd}.log"
    url = f"http://{HOST}:{port}{route.path}"
    try:
        with running_server(server, port, opts.server_cpu, log) as proc:
            run.startup_s = wait_for_port(proc, port, log, opts.start_timeout)
            run.first_response = first_response(route, port)
            if opts.warmup > 0:
                run.warmup = run_wrk(url, script, opts.warmup, opts)
                run.errors += [f"warm-up: {e}" for e in run.warmup.errors]
            run.wrk = run_wrk(url, script, opts.duration, opts)
            run.errors += run.wrk.errors
            run.peak_rss_kib = peak_rss_kib(proc.pid)
            if proc.poll() is not None:
                run.errors.append(f"server exited with status {proc.returncode} "
                                  "during the run" + _log_tail(log))
    except RunError as exc:
        run.errors.append(str(exc))
    except OSError as exc:  # the command cannot be started, e.g. a bad cwd
        run.errors.append(f"cannot start the server: {exc}")
    return run


def _progress(run: Run, index: int, total: int) -> None:
    if run.ok:
        status = (f"{run.wrk.rps:,.0f} req/s  p99 {run.wrk.latency_ms['99']:.2f} ms  "
                  f"RSS {_mib(run.peak_rss_kib)}")
    else:
        status = "FAILED: " + "; ".join(e.splitlines()[0] for e in run.errors)
    print(f"[{index}/{total}] {run.route:<7} round {run.round}  {run.server:<10} {status}",
          file=sys.stderr, flush=True)


def measure_all(servers: list[Server], routes: list[Route], opts, workdir: Path) -> list[Run]:
    """Every route, every round, every server in turn (A B A B ...)."""
    runs: list[Run] = []
    total = len(routes) * opts.rounds * len(servers)
    for route in routes:
        script = write_wrk_script(route, workdir)
        for rnd in range(1, opts.rounds + 1):
            for server in servers:
                run = measure(server, route, rnd, script, workdir, opts)
                runs.append(run)
                _progress(run, len(runs), total)
    return runs


# --- report -------------------------------------------------------------------------

def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _cell(run: Run | None) -> str:
    if run is None or run.wrk is None or run.wrk.rps is None:
        return "FAILED"
    return f"{run.wrk.rps:,.0f}" + ("" if run.ok else "!")


def summarize(runs: list[Run], servers: list[Server], routes: list[Route], rounds: int):
    """Rows of the table and per-route/server summaries for the JSON output."""
    by_key = {(r.route, r.server, r.round): r for r in runs}
    rows, summary = [], []
    for route in routes:
        for server in servers:
            cells = [by_key.get((route.name, server.name, n)) for n in range(1, rounds + 1)]
            good = [r for r in cells if r is not None and r.ok]
            rps = _median([r.wrk.rps for r in good])
            p99 = _median([r.wrk.latency_ms["99"] for r in good])
            rss = max((r.peak_rss_kib for r in cells if r and r.peak_rss_kib), default=None)
            summary.append({"route": route.name, "server": server.name,
                            "median_rps": rps, "median_p99_ms": p99,
                            "peak_rss_kib": rss, "valid_rounds": len(good)})
            rows.append([route.name, server.name, *map(_cell, cells),
                         "-" if rps is None else f"{rps:,.0f}",
                         "-" if p99 is None else f"{p99:.2f} ms", _mib(rss)])
        rows += _ratio_rows(route, servers, by_key, rounds, summary)
    return rows, summary


def _ratio_rows(route, servers, by_key, rounds, summary) -> list[list[str]]:
    """One row per peer: fastcore req/s divided by the peer's, round by round."""
    rows = []
    main = servers[0]
    for peer in servers[1:]:
        ratios: list[float | None] = []
        for n in range(1, rounds + 1):
            a, b = by_key.get((route.name, main.name, n)), by_key.get((route.name, peer.name, n))
            ok = a is not None and b is not None and a.ok and b.ok
            ratios.append(a.wrk.rps / b.wrk.rps if ok else None)
        med = _median([x for x in ratios if x is not None])
        summary.append({"route": route.name, "ratio": f"{main.name}/{peer.name}",
                        "per_round": ratios, "median": med})
        rows.append([route.name, f"{main.name}/{peer.name}",
                     *("-" if x is None else f"{x:.3f}" for x in ratios),
                     "-" if med is None else f"{med:.3f}", "", ""])
    return rows


def format_table(rows: list[list[str]], rounds: int) -> str:
    header = ["route", "server", *(f"round {n}" for n in range(1, rounds + 1)),
              "median req/s", "median p99", "peak RSS"]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(c).ljust(w) if i < 2 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_notes(runs: list[Run], routes: list[Route]) -> list[str]:
    """Failed runs, and routes whose servers answered with different bytes."""
    notes = [f"! {r.route} round {r.round} {r.server}: " + "; ".join(r.errors)
             for r in runs if not r.ok]
    for route in routes:
        seen = {(r.first_response["status"], r.first_response["content_type"] or "",
                 r.first_response["body"])
                for r in runs if r.route == route.name and r.first_response}
        if len(seen) > 1:
            answers = "; ".join(f"{status} {ctype} {body[:80]}"
                                for status, ctype, body in sorted(seen))
            notes.append(f"note: servers answered {route.name} differently: {answers}")
    return notes


# --- metadata, options, main ----------------------------------------------------------

def _command_output(argv: list[str], cwd: Path = ROOT) -> str | None:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment(servers: list[Server]) -> dict:
    """What the results depend on: commit, interpreter, tools, versions, flags."""
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f
                    if line.startswith("model name")), platform.processor())
    dirty = _command_output(["git", "--no-optional-locks", "status", "--porcelain",
                             "--untracked-files=no"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": _command_output(["git", "rev-parse", "HEAD"]),
        "tree_modified": bool(dirty),
        "python": sys.version.split()[0], "python_executable": sys.executable,
        "platform": platform.platform(), "cpu": cpu, "cpus": os.cpu_count(),
        "wrk": _command_output(["wrk", "-v"]),
        "build_env": {k: v for k, v in os.environ.items()
                      if k.startswith("FASTCORE_") or k in ("CFLAGS", "CYTHON_TRACE")},
        "servers": {s.name: {"argv": list(s.argv), "cwd": s.cwd, "env": dict(s.env),
                             "versions": {p: _version(p) for p in s.packages}}
                    for s in servers},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Load-test fastcore against peer servers with wrk "
                    "(shared/bench/WORKLOAD.md).")
    p.add_argument("--rounds", type=int, help="rounds per route (default 3)")
    p.add_argument("--duration", type=int, help="seconds per measured run (default 8)")
    p.add_argument("--warmup", type=int, help="seconds of warm-up before each run "
                   "(default 2; 0 for none)")
    p.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    p.add_argument("--routes", help=f"comma list of {','.join(ROUTES)} "
                   f"(default {DEFAULT_ROUTES})")
    p.add_argument("--peers", default="uvicorn",
                   help=f"comma list of {','.join(PEERS)}; empty for none (default uvicorn)")
    p.add_argument("--quick", action="store_true",
                   help="smoke check: 1 round, 1 s warm-up, 2 s runs, route json")
    p.add_argument("--json", metavar="PATH", help="write the raw results here")
    p.add_argument("--fastcore-cmd", metavar="CMD",
                   help="start the fastcore slot with this command instead "
                        "(placeholders {python} {root} {host} {port})")
    p.add_argument("--self-test", action="store_true",
                   help="run the uvicorn peer in the fastcore slot too, "
                        "to check this script end to end")
    p.add_argument("--server-cpu", type=int, default=0, help="CPU for servers (default 0)")
    p.add_argument("--wrk-cpu", type=int, default=1, help="CPU for wrk (default 1)")
    p.add_argument("--start-timeout", type=float, default=START_TIMEOUT,
                   help=f"seconds a server may take to listen (default {START_TIMEOUT:.0f})")
    opts = p.parse_args(argv)
    quick = opts.quick
    for name, normal, fast in (("rounds", 3, 1), ("duration", 8, 2), ("warmup", 2, 1),
                               ("routes", DEFAULT_ROUTES, "json")):
        if getattr(opts, name) is None:
            setattr(opts, name, fast if quick else normal)
    _check_options(p, opts)
    return opts


def _check_options(parser: argparse.ArgumentParser, opts) -> None:
    if opts.rounds < 1 or opts.duration < 1 or opts.warmup < 0 or opts.connections < 1:
        parser.error("--rounds, --duration and --connections must be >= 1, --warmup >= 0")
    unknown = [r for r in _split(opts.routes) if r not in ROUTES]
    unknown += [p for p in _split(opts.peers) if p not in PEERS]
    if unknown or not _split(opts.routes):
        parser.error(f"unknown or missing route/peer: {', '.join(unknown) or '(none)'}")
    if opts.self_test and opts.fastcore_cmd:
        parser.error("--self-test and --fastcore-cmd are exclusive")
    allowed = os.sched_getaffinity(0)
    if {opts.server_cpu, opts.wrk_cpu} - allowed or opts.server_cpu == opts.wrk_cpu:
        parser.error(f"--server-cpu and --wrk-cpu must be two different CPUs of "
                     f"{sorted(allowed)}")
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def select_servers(opts) -> list[Server]:
    """The fastcore slot first, then the chosen peers, in the order given."""
    main = FASTCORE
    if opts.self_test:
        main = Server(name="uvicorn-a", argv=PEERS["uvicorn"].argv,
                      packages=PEERS["uvicorn"].packages)
    elif opts.fastcore_cmd:
        main = Server(name="fastcore", argv=tuple(shlex.split(opts.fastcore_cmd)),
                      packages=FASTCORE.packages)
    return [main, *(PEERS[name] for name in _split(opts.peers))]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    servers = select_servers(opts)
    routes = [ROUTES[name] for name in _split(opts.routes)]
    # SIGTERM unwinds like Ctrl-C, so every running server is stopped.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    runs_count = len(routes) * opts.rounds * len(servers)
    print(f"{runs_count} runs of {opts.warmup}+{opts.duration} s, -c{opts.connections}, "
          f"servers on CPU {opts.server_cpu}, wrk on CPU {opts.wrk_cpu}: about "
          f"{runs_count * (opts.warmup + opts.duration + 1.5) / 60:.1f} min", file=sys.stderr)
    for server in servers:
        print(f"  {server.name}: {' '.join(server.argv)}", file=sys.stderr)
    meta = environment(servers)
    try:
        with tempfile.TemporaryDirectory(prefix="fastcore-load-") as tmp:
            runs = measure_all(servers, routes, opts, Path(tmp))
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    rows, summary = summarize(runs, servers, routes, opts.rounds)
    print(format_table(rows, opts.rounds))
    for note in format_notes(runs, routes):
        print(note)
    if opts.json:
        write_json(opts, meta, runs, summary)
    return 0 if all(r.ok for r in runs) else 1


def write_json(opts, meta: dict, runs: list[Run], summary: list[dict]) -> None:
    options = {k: v for k, v in vars(opts).items() if k != "json"}
    data = {"meta": meta, "options": options, "summary": summary,
            "runs": [dict(asdict(r), ok=r.ok) for r in runs]}
    Path(opts.json).write_text(json.dumps(data, indent=2) + "\n")
    print(f"raw results: {opts.json}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
