"""Load benchmark: fastcore against its peers, real servers under wrk.

How this works. The script first makes sure each chosen peer can run (its
Python packages, programs and node modules; see ``prepare_peers``), skipping
with a note any that cannot. Then for each case (a route, possibly pipelined or
at -c200, or the idle-connections test), for each round, each server serving
that route (fastcore first, then every peer from ``bench/peers``) is started on
a fresh loopback port pinned to one CPU, waited for by polling its port,
checked with one request, warmed up and measured by ``wrk`` pinned to the other
CPU; its peak RSS is read from /proc, then it is stopped before the next server
starts. Servers therefore alternate (A B A B ...) and never run side by side,
so slow drifts of a shared machine hit every server alike and the per-round
ratio fastcore/peer stays meaningful even when absolute numbers do not
(shared/bench/WORKLOAD.md).

The idle case replaces wrk by a small asyncio client that opens N keep-alive
connections, sends one request on each, keeps them open and idle, and reads the
server's resident memory before and after: the memory each idle connection
costs.

A run whose server fails to start or dies, or whose wrk reports socket errors or
non-2xx responses, is kept in the results with its errors, shown as such in the
table, and left out of medians and ratios; the exit status is then 1.

Usage: python bench/load.py [--rounds 3] [--duration 8] [--warmup 2]
       [--connections 50] [--routes json,users] [--peers uvicorn] [--quick]
       [--c200] [--pipeline 16] [--idle 10000] [--install] [--json PATH]
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.environment import environment  # noqa: E402
from bench.install import prepare_peers  # noqa: E402
from bench.peers import FASTCORE, PEERS, Server  # noqa: E402
from bench.servers import (  # noqa: E402
    HOST, RunError, _log_tail, free_port, peak_rss_kib, placeholder_values, raise_nofile,
    rss_kib, running_server, server_nofile, wait_for_port,
)

START_TIMEOUT = 30.0   # seconds for a server to accept connections
WRK_GRACE = 30.0       # seconds a wrk run may take beyond its duration
ORDER_BODY = '{"symbol":"BTC-USD","side":"buy","qty":0.5,"price":43250.5}'

IDLE_CONCURRENCY = 256  # connections the idle client opens at a time
IDLE_SETTLE_S = 1.0     # pause between the last response and the RSS reading
IDLE_CONNECT_TIMEOUT = 15.0
FD_MARGIN = 256         # descriptors beyond the idle connections, per process


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


@dataclass(frozen=True)
class Case:
    """One row group of the table: a route under one kind of load."""

    name: str                 # shown in the table: "json", "json c200", ...
    route: Route
    connections: int          # wrk -c; 0 for the idle test
    pipeline: int = 1         # requests per write
    idle: int = 0             # > 0: the idle-connections test with this many

    @property
    def kind(self) -> str:
        return "idle" if self.idle else "wrk"


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
class IdleResult:
    requested: int
    opened: int = 0           # connections that got their response
    alive: int = 0            # of those, still open when the RSS was read
    failures: dict[str, int] = field(default_factory=dict)   # exception -> count
    open_s: float | None = None
    rss_before_kib: int | None = None
    rss_after_kib: int | None = None
    server_nofile: int | None = None
    bytes_per_conn: float | None = None


@dataclass
class Run:
    case: str
    route: str
    server: str
    round: int
    port: int
    connections: int = 0
    pipeline: int = 1
    startup_s: float | None = None
    first_response: dict | None = None
    warmup: WrkResult | None = None
    wrk: WrkResult | None = None
    idle: IdleResult | None = None
    peak_rss_kib: int | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def value(self) -> float | None:
        """Requests/s, or bytes per idle connection for the idle test."""
        if self.idle is not None:
            return self.idle.bytes_per_conn
        return self.wrk.rps if self.wrk is not None else None

    @property
    def ok(self) -> bool:
        return not self.errors and self.value is not None


# --- cases ----------------------------------------------------------------------

def build_cases(routes: list[Route], connections: int, pipeline: int = 0,
                c200: bool = False, idle: int = 0) -> list[Case]:
    """The cases in table order: each route, then its pipelined run, /json at
    -c200 right after /json's rows, the idle test last."""
    cases: list[Case] = []
    extra_c200 = [Case("json c200", ROUTES["json"], 200)] if c200 else []
    for route in routes:
        cases.append(Case(route.name, route, connections))
        if pipeline > 1 and route.method == "GET" and route.body is None:
            cases.append(Case(f"{route.name} pipeline {pipeline}", route, connections,
                              pipeline=pipeline))
        if route.name == "json":
            cases += extra_c200
            extra_c200 = []
    cases += extra_c200
    if idle:
        cases.append(Case(f"json idle {idle}", ROUTES["json"], 0, idle=idle))
    return cases


def servers_for(case: Case, servers: list[Server]) -> list[Server]:
    """The fastcore slot, then the peers that serve the case's route."""
    return [servers[0], *(s for s in servers[1:] if s.serves(case.route.name))]


# --- servers ------------------------------------------------------------------

def first_response(route: Route, port: int, extra: list[str] = ()) -> dict:
    """One request before the load: the status, Content-Type and body it got."""
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    headers = {"Content-Type": route.content_type} if route.content_type else {}
    headers.update(header.split(": ", 1) for header in extra)
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


# --- wrk ------------------------------------------------------------------------

_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_REQUESTS_RE = re.compile(r"^\s*(\d+) requests in ", re.M)
_PERCENTILE_RE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_SOCKET_RE = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def parse_wrk(output: str, pipelined: bool = False) -> WrkResult:
    """Read requests/s, the latency distribution and the error counts.

    With ``pipelined`` the latency distribution is not required: wrk corrects
    its latencies for coordinated omission assuming one request per write, so
    under pipelining its percentiles are meaningless (often printed as 0).
    """
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
    result.errors = _wrk_errors(result, pipelined)
    return result


def _wrk_errors(result: WrkResult, pipelined: bool = False) -> list[str]:
    errors = []
    if result.rps is None or ("99" not in result.latency_ms and not pipelined):
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


def wrk_script(route: Route, pipeline: int = 1) -> str | None:
    """The text of a wrk Lua script for ``route``; None for a plain GET sent one
    request per write, which needs none.

    With ``pipeline`` > 1 each write carries that many copies of the request,
    built once in ``init`` with ``wrk.format``; wrk counts every response.
    """
    plain = route.method == "GET" and route.body is None and route.content_type is None
    if plain and pipeline <= 1:
        return None
    lines = []
    if route.method != "GET":
        lines.append(f"wrk.method = {lua_string(route.method)}")
    if route.body is not None:
        lines.append(f"wrk.body = {lua_string(route.body)}")
    if route.content_type is not None:
        lines.append(f'wrk.headers["Content-Type"] = {lua_string(route.content_type)}')
    if pipeline > 1:
        lines += [
            f"-- {pipeline} requests per write",
            f"local depth = {pipeline}",
            f"local path = {lua_string(route.path)}",
            "local pipelined",
            "init = function(args)",
            "  local requests = {}",
            "  for i = 1, depth do",
            "    requests[i] = wrk.format(nil, path)",
            "  end",
            "  pipelined = table.concat(requests)",
            "end",
            "request = function()",
            "  return pipelined",
            "end",
        ]
    return "\n".join(lines) + "\n"


def write_wrk_script(route: Route, directory: Path, pipeline: int = 1) -> Path | None:
    """The script of ``wrk_script`` written into ``directory``; None if not needed."""
    text = wrk_script(route, pipeline)
    if text is None:
        return None
    path = directory / (f"{route.name}.lua" if pipeline <= 1
                        else f"{route.name}-pipeline{pipeline}.lua")
    path.write_text(text)
    return path


def run_wrk(url: str, script: Path | None, seconds: int, case: Case, opts) -> WrkResult:
    connections = case.connections
    argv = ["taskset", "-c", str(opts.wrk_cpu), "wrk", "-t1", f"-c{connections}",
            f"-d{seconds}s", "--latency"]
    for header in opts.header:
        argv += ["-H", header]
    if script is not None:
        argv += ["-s", str(script)]
    try:
        done = subprocess.run(argv + [url], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=seconds + WRK_GRACE)
    except subprocess.TimeoutExpired:
        raise RunError(f"wrk did not finish within {seconds + WRK_GRACE:.0f} s") from None
    result = parse_wrk(done.stdout, pipelined=case.pipeline > 1)
    if done.returncode != 0:
        result.errors.insert(0, f"wrk exited with status {done.returncode}: "
                                f"{done.stderr.strip()[:300]}")
    return result


# --- the idle-connections client ------------------------------------------------------

def parse_response_head(head: bytes) -> tuple[int, int | None]:
    """The status and Content-Length of a response head (None if it has none)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"not an HTTP response: {lines[0][:60]!r}")
    status, length = int(parts[1]), None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return status, length


async def _open_one(port: int, request: bytes, limit: asyncio.Semaphore, conns: list):
    """Connect, send ``request``, read the whole response; keep the connection."""
    async with limit:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, port), IDLE_CONNECT_TIMEOUT)
        try:
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"),
                                          IDLE_CONNECT_TIMEOUT)
            status, length = parse_response_head(head)
            if length is None:
                raise ValueError("response without Content-Length")
            await asyncio.wait_for(reader.readexactly(length), IDLE_CONNECT_TIMEOUT)
            if status != 200:
                raise ValueError(f"status {status}")
        except BaseException:
            writer.close()
            raise
        conns.append((reader, writer))


def idle_deadline_s(count: int) -> float:
    """How long opening ``count`` connections may take in all."""
    return max(60.0, count / 100)


async def hold_idle_connections(port: int, count: int, request: bytes,
                                sample: Callable[[], int | None],
                                result: IdleResult) -> None:
    """Open ``count`` connections, one request each; read memory with them idle."""
    limit = asyncio.Semaphore(IDLE_CONCURRENCY)
    conns: list = []
    start = time.monotonic()
    tasks = [asyncio.ensure_future(_open_one(port, request, limit, conns))
             for _ in range(count)]
    try:
        done, pending = await asyncio.wait(tasks, timeout=idle_deadline_s(count))
        result.open_s = time.monotonic() - start
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            key = f"not answered within {idle_deadline_s(count):.0f} s in all"
            result.failures[key] = len(pending)
        for task in done:
            exc = task.exception()
            if exc is not None:
                detail = str(exc)[:60]
                key = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
                result.failures[key] = result.failures.get(key, 0) + 1
        result.opened = len(conns)
        await asyncio.sleep(IDLE_SETTLE_S)
        result.rss_after_kib = sample()
        # A connection the server closed has seen its end of stream by now.
        result.alive = sum(1 for reader, _ in conns
                           if not reader.at_eof() and reader.exception() is None)
    finally:
        for task in tasks:
            task.cancel()
        for _, writer in conns:
            writer.close()
        await asyncio.sleep(0)


def _run_coroutine(coro):
    """Run on uvloop when it is there (the client must not be the bottleneck)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def idle_bytes_per_conn(before_kib: int | None, after_kib: int | None,
                        alive: int) -> float | None:
    if before_kib is None or after_kib is None or alive <= 0:
        return None
    return (after_kib - before_kib) * 1024 / alive


def measure_idle(run: Run, case: Case, proc: subprocess.Popen, port: int) -> None:
    """The idle test on a started server: RSS before, N idle connections, RSS after."""
    result = IdleResult(requested=case.idle)
    run.idle = result
    result.server_nofile = server_nofile(proc.pid)
    if result.server_nofile is not None and result.server_nofile < case.idle + 16:
        run.warnings.append(
            f"the server's open-files limit is {result.server_nofile}, below the "
            f"{case.idle} connections asked: connections past it will fail")
    time.sleep(IDLE_SETTLE_S / 2)
    result.rss_before_kib = rss_kib(proc.pid)
    request = (f"GET {case.route.path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n").encode()
    _run_coroutine(hold_idle_connections(port, case.idle, request,
                                         lambda: rss_kib(proc.pid), result))
    result.bytes_per_conn = idle_bytes_per_conn(result.rss_before_kib,
                                                result.rss_after_kib, result.alive)
    failed = case.idle - result.opened
    if failed:
        causes = ", ".join(f"{k} x{v}" for k, v in sorted(result.failures.items()))
        run.errors.append(f"{failed} of {case.idle} idle connections got no response "
                          f"({causes})")
    if result.opened and result.alive < result.opened:
        run.warnings.append(
            f"the server closed {result.opened - result.alive} of {result.opened} idle "
            f"connections before the RSS was read ({result.open_s:.1f} s to open them); "
            "bytes per connection are over the ones still open")
    if result.bytes_per_conn is None and not run.errors:
        run.errors.append("no RSS reading or no connection left open")


# --- one run, all runs ------------------------------------------------------------

def measure(server: Server, case: Case, rnd: int, script: Path | None,
            workdir: Path, opts) -> Run:
    """Start ``server``, load it with ``case`` (warm-up, then measured), stop it."""
    port = free_port()
    route = case.route
    run = Run(case=case.name, route=route.name, server=server.name, round=rnd, port=port,
              connections=case.connections, pipeline=case.pipeline)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{server.name}-{case.name}-{rnd}")
    log = workdir / f"{slug}.log"
    values = placeholder_values(port, workdir / slug, opts.idle + 1024)
    url = f"http://{HOST}:{port}{route.path}"
    try:
        with running_server(server, values, opts.server_cpu, log) as proc:
            run.startup_s = wait_for_port(proc, port, log, opts.start_timeout)
            run.first_response = first_response(route, port, opts.header)
            if case.kind == "idle":
                measure_idle(run, case, proc, port)
            else:
                if opts.warmup > 0:
                    run.warmup = run_wrk(url, script, opts.warmup, case, opts)
                    run.errors += [f"warm-up: {e}" for e in run.warmup.errors]
                run.wrk = run_wrk(url, script, opts.duration, case, opts)
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
    if run.ok and run.idle is not None:
        idle = run.idle
        status = (f"{idle.bytes_per_conn:,.0f} B/conn  ({idle.opened} opened in "
                  f"{idle.open_s:.1f} s, {idle.alive} open, RSS {_mib(idle.rss_before_kib)}"
                  f" -> {_mib(idle.rss_after_kib)})")
    elif run.ok:
        p99 = "-" if run.pipeline > 1 else f"{run.wrk.latency_ms['99']:.2f} ms"
        status = f"{run.wrk.rps:,.0f} req/s  p99 {p99}  RSS {_mib(run.peak_rss_kib)}"
    else:
        status = "FAILED: " + "; ".join(e.splitlines()[0] for e in run.errors)
    print(f"[{index}/{total}] {run.case:<18} round {run.round}  {run.server:<10} {status}",
          file=sys.stderr, flush=True)


def measure_all(servers: list[Server], cases: list[Case], opts, workdir: Path) -> list[Run]:
    """Every case, every round, every server serving it in turn (A B A B ...)."""
    runs: list[Run] = []
    total = sum(len(servers_for(c, servers)) for c in cases) * opts.rounds
    for case in cases:
        script = (None if case.kind == "idle"
                  else write_wrk_script(case.route, workdir, case.pipeline))
        for rnd in range(1, opts.rounds + 1):
            for server in servers_for(case, servers):
                run = measure(server, case, rnd, script, workdir, opts)
                runs.append(run)
                _progress(run, len(runs), total)
    return runs


# --- report -------------------------------------------------------------------------

def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _number(value: float | None, idle: bool) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} B" if idle else f"{value:,.0f}"


def _cell(run: Run | None) -> str:
    if run is None or run.value is None:
        return "FAILED"
    return _number(run.value, run.idle is not None) + ("" if run.ok else "!")


def summarize(runs: list[Run], servers: list[Server], cases: list[Case], rounds: int):
    """Rows of the table and per-case/server summaries for the JSON output."""
    by_key = {(r.case, r.server, r.round): r for r in runs}
    rows, summary = [], []
    for case in cases:
        serving = servers_for(case, servers)
        idle = case.kind == "idle"
        for server in serving:
            cells = [by_key.get((case.name, server.name, n)) for n in range(1, rounds + 1)]
            good = [r for r in cells if r is not None and r.ok]
            value = _median([r.value for r in good])
            # No p99 for pipelined runs: see parse_wrk.
            p99 = (None if idle or case.pipeline > 1
                   else _median([r.wrk.latency_ms["99"] for r in good]))
            rss = max((r.peak_rss_kib for r in cells if r and r.peak_rss_kib), default=None)
            entry = {"case": case.name, "route": case.route.name, "server": server.name,
                     "peak_rss_kib": rss, "valid_rounds": len(good)}
            if idle:
                entry["median_bytes_per_conn"] = value
            else:
                entry.update(median_rps=value, median_p99_ms=p99)
            summary.append(entry)
            rows.append([case.name, server.name, *map(_cell, cells), _number(value, idle),
                         "-" if p99 is None else f"{p99:.2f} ms", _mib(rss)])
        rows += _ratio_rows(case, serving, by_key, rounds, summary)
    return rows, summary


def _ratio_rows(case, servers, by_key, rounds, summary) -> list[list[str]]:
    """One row per peer: fastcore's value divided by the peer's, round by round
    (requests/s; bytes per connection for the idle test)."""
    rows = []
    main = servers[0]
    for peer in servers[1:]:
        ratios: list[float | None] = []
        for n in range(1, rounds + 1):
            a, b = by_key.get((case.name, main.name, n)), by_key.get((case.name, peer.name, n))
            ok = a is not None and b is not None and a.ok and b.ok and b.value
            ratios.append(a.value / b.value if ok else None)
        med = _median([x for x in ratios if x is not None])
        summary.append({"case": case.name, "route": case.route.name,
                        "ratio": f"{main.name}/{peer.name}",
                        "of": "bytes_per_conn" if case.kind == "idle" else "rps",
                        "per_round": ratios, "median": med})
        rows.append([case.name, f"{main.name}/{peer.name}",
                     *("-" if x is None else f"{x:.3f}" for x in ratios),
                     "-" if med is None else f"{med:.3f}", "", ""])
    return rows


def format_table(rows: list[list[str]], rounds: int) -> str:
    header = ["route/mode", "server", *(f"round {n}" for n in range(1, rounds + 1)),
              "median req/s", "median p99", "peak RSS"]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(c).ljust(w) if i < 2 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _json_value(text: str):
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def response_notes(runs: list[Run], cases: list[Case]) -> list[str]:
    """Notes for cases whose servers' first responses differ: in bytes only
    (the same JSON value, e.g. ``43251`` for ``43251.0``), or in substance."""
    notes = []
    for case in cases:
        answers: dict[tuple, set[str]] = {}
        for r in runs:
            if r.case == case.name and r.first_response:
                resp = r.first_response
                key = (resp["status"], resp["content_type"] or "", resp["body"])
                answers.setdefault(key, set()).add(r.server)
        if len(answers) < 2:
            continue
        # Python's == on the parsed values: 43251 == 43251.0, key order ignored.
        parsed = [(_json_value(body), status, ctype) for status, ctype, body in answers]
        (_, first), status0, ctype0 = parsed[0]
        same_json = all(ok and value == first and status == status0 and ctype == ctype0
                        for (ok, value), status, ctype in parsed)
        detail = "; ".join(
            f"{'/'.join(sorted(names))}: {status} {ctype} {len(body.encode())} B"
            + ("" if same_json else f" {body[:80]}")
            for (status, ctype, body), names in sorted(answers.items()))
        if same_json:
            notes.append(f"note: {case.name}: same JSON value, different bytes: {detail}")
        else:
            notes.append(f"note: servers answered {case.name} differently: {detail}")
    return notes


def format_notes(runs: list[Run], cases: list[Case], setups: dict | None = None) -> list[str]:
    """Skipped peers, failed runs, warnings, idle readings, differing responses."""
    notes = [f"skipped: {name}: {setup.note}"
             for name, setup in (setups or {}).items() if setup.status == "skipped"]
    notes += [f"! {r.case} round {r.round} {r.server}: " + "; ".join(r.errors)
              for r in runs if not r.ok]
    notes += [f"warning: {r.case} round {r.round} {r.server}: {w}"
              for r in runs for w in r.warnings]
    for case in cases:
        if case.kind != "idle":
            continue
        servers = list(dict.fromkeys(r.server for r in runs if r.case == case.name))
        for name in servers:
            readings = [f"{_mib(r.idle.rss_before_kib)} -> {_mib(r.idle.rss_after_kib)}"
                        f" ({r.idle.alive} open)"
                        for r in runs if r.case == case.name and r.server == name and r.idle]
            notes.append(f"idle: {name}: RSS before -> after, per round: "
                         + ", ".join(readings))
    if any(c.pipeline > 1 for c in cases):
        notes.append("note: pipelined rows have no p99: wrk corrects latencies assuming "
                     "one request per write, which makes its percentiles meaningless there")
    return notes + response_notes(runs, cases)


# --- options, main ----------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Load-test fastcore against peer servers with wrk "
                    "(shared/bench/WORKLOAD.md).")
    p.add_argument("--rounds", type=int, help="rounds per case (default 3)")
    p.add_argument("--duration", type=int, help="seconds per measured run (default 8)")
    p.add_argument("--warmup", type=int, help="seconds of warm-up before each run "
                   "(default 2; 0 for none)")
    p.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    p.add_argument("--routes", help=f"comma list of {','.join(ROUTES)} "
                   f"(default {DEFAULT_ROUTES})")
    p.add_argument("--peers", default="uvicorn",
                   help=f"comma list of {','.join(PEERS)}; empty for none (default uvicorn)")
    p.add_argument("--c200", action="store_true",
                   help="also load /json with 200 connections (an extra row)")
    p.add_argument("--pipeline", type=int, default=0, metavar="N",
                   help="also load each GET route with N requests per write (extra rows)")
    p.add_argument("--idle", type=int, default=0, metavar="N",
                   help="also open N idle keep-alive connections to each server and "
                        "report the RSS each adds")
    p.add_argument("--install", action="store_true",
                   help="install missing peers' Python packages (pip, into this "
                        "interpreter) and programs (apt-get, as root)")
    p.add_argument("--quick", action="store_true",
                   help="smoke check: 1 round, 1 s warm-up, 2 s runs, route json")
    p.add_argument("--json", metavar="PATH", help="write the raw results here")
    p.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="send this header with every request (repeatable)")
    p.add_argument("--jwt", action="store_true",
                   help="send a bearer token the jwt variants accept "
                        "(peers fastcore-jwt, fastify-jwt)")
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
    if opts.jwt:
        opts.header.append("Authorization: Bearer " + bench_token())
    return opts


def bench_token() -> str:
    """The HS256 token of the jwt variants' secret (bench/peers/workload.py)."""
    import jwt
    from bench.peers.workload import JWT_CLAIMS, JWT_SECRET
    return jwt.encode(JWT_CLAIMS, JWT_SECRET, algorithm="HS256")


def _check_options(parser: argparse.ArgumentParser, opts) -> None:
    if opts.rounds < 1 or opts.duration < 1 or opts.warmup < 0 or opts.connections < 1:
        parser.error("--rounds, --duration and --connections must be >= 1, --warmup >= 0")
    if opts.pipeline < 0 or opts.pipeline == 1 or opts.idle < 0:
        parser.error("--pipeline must be >= 2 (0: none), --idle >= 0")
    unknown = [r for r in _split(opts.routes) if r not in ROUTES]
    unknown += [p for p in _split(opts.peers) if p not in PEERS]
    if unknown or not _split(opts.routes):
        parser.error(f"unknown or missing route/peer: {', '.join(unknown) or '(none)'}")
    bad = [h for h in opts.header if ": " not in h]
    if bad:
        parser.error(f"--header takes 'Name: value', got {bad[0]!r}")
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
    return [main, *(PEERS[name] for name in dict.fromkeys(_split(opts.peers)))]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _estimate_s(cases: list[Case], servers: list[Server], opts) -> float:
    per_wrk = opts.warmup + opts.duration + 1.5
    per_idle = 3.0 + opts.idle / 2000
    return sum(len(servers_for(c, servers)) * (per_idle if c.kind == "idle" else per_wrk)
               for c in cases) * opts.rounds


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every running server is stopped.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    routes = [ROUTES[name] for name in _split(opts.routes)]
    limits = {}
    if opts.idle:
        # Servers started from now on inherit the raised limit.
        soft, hard, note = raise_nofile(opts.idle + FD_MARGIN)
        limits = {"nofile_soft": soft, "nofile_hard": hard, "note": note}
        if note:
            print(f"idle test skipped: {note}", file=sys.stderr)
            opts.idle = 0
    cases = build_cases(routes, opts.connections, opts.pipeline, opts.c200, opts.idle)
    try:
        servers, setups = prepare_peers(select_servers(opts), opts.install)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    runs_count = sum(len(servers_for(c, servers)) for c in cases) * opts.rounds
    print(f"{runs_count} runs ({', '.join(c.name for c in cases)}) of {opts.warmup}+"
          f"{opts.duration} s, -c{opts.connections}, servers on CPU {opts.server_cpu}, "
          f"wrk on CPU {opts.wrk_cpu}: about {_estimate_s(cases, servers, opts) / 60:.1f} min",
          file=sys.stderr)
    for server in servers:
        print(f"  {server.name}: {' '.join(server.argv)}", file=sys.stderr)
    meta = environment(servers)
    meta["limits"] = limits
    try:
        with tempfile.TemporaryDirectory(prefix="fastcore-load-") as tmp:
            runs = measure_all(servers, cases, opts, Path(tmp))
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    rows, summary = summarize(runs, servers, cases, opts.rounds)
    print(format_table(rows, opts.rounds))
    for note in format_notes(runs, cases, setups):
        print(note)
    if opts.json:
        write_json(opts, meta, cases, setups, runs, summary)
    return 0 if all(r.ok for r in runs) else 1


def write_json(opts, meta: dict, cases: list[Case], setups: dict, runs: list[Run],
               summary: list[dict]) -> None:
    options = {k: v for k, v in vars(opts).items() if k != "json"}
    data = {"meta": meta, "options": options,
            "cases": [{"name": c.name, "route": c.route.name, "connections": c.connections,
                       "pipeline": c.pipeline, "idle": c.idle} for c in cases],
            "setup": {name: asdict(s) for name, s in setups.items()},
            "summary": summary,
            "runs": [dict(asdict(r), ok=r.ok) for r in runs]}
    Path(opts.json).write_text(json.dumps(data, indent=2) + "\n")
    print(f"raw results: {opts.json}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
