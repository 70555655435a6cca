"""Slow and abusive clients against the workload app, with normal clients measured beside them.

How this works. For the baseline and for each attack, a fresh server
(``bench.app:app``, one worker) is started on a free loopback port pinned to
CPU 0 with ``running_server`` from ``bench/servers.py``; its open-files limit
is inherited from this script, which raises its own first (``raise_nofile``),
so that 10,000 idle connections fit on both sides. Then:

1. a sampler thread reads, once a second, the server's VmRSS and open fds from
   /proc and makes one probe request (GET /json on a fresh connection, 2 s
   timeout), i.e. what a newly arriving client gets;
2. the attacker starts, pinned to CPU 1: ``slowhttptest`` for slowloris (-H),
   slow body (-B) and slow read (-X), or this same file in ``--attacker``
   mode for the others (idle keep-alive connections, header flood,
   pipelining flood, never-reading clients), each an asyncio client that
   prints ``READY`` once its connections are in place and a ``RESULT`` JSON
   line at the end;
3. once it is ready, ``wrk -t1 -c20 --latency`` (CPU 1) loads GET /json for
   the run's duration; the CPU time of wrk, of the server and of the attacker
   over that window comes from /proc/PID/stat (a load generator that
   saturates its core measures itself, so its CPU is shown too);
4. the attacker is stopped (it ends on its own at the deadline), and after a
   short settle the script checks that the server still answers a normal GET
   and how many fds it still holds (a leak shows there).

The baseline is the same sequence without an attacker. Each attack names the
server limit that should stop it (``Attack.limit``); the table shows req/s
and p99 during the attack next to the baseline, RSS min/max, fds, probe
successes, the attacker's own summary (slowhttptest's last "service
available" verdict) and the after-check.

Usage: python bench/abuse.py [--only NAME[,NAME]] [--duration S] [--json PATH]
       [--conns N] [--no-baseline]
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import parse_wrk  # noqa: E402
from bench.peers import FASTCORE  # noqa: E402
from bench.servers import (  # noqa: E402
    HOST, _process_tree, free_port, placeholder_values, raise_nofile, rss_kib,
    running_server, wait_for_port,
)

SERVER_CPU = 0
CLIENT_CPU = 1
# Descriptors for 10,000 connections and their margin; an unprivileged
# process cannot go past its hard limit, which is enough when >= 10,300.
NOFILE = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
WRK_CONNECTIONS = 20
SETTLE_S = 2.0           # after the attacker stops, before the after-check
READY_TIMEOUT_S = 90.0   # an attacker must have its connections in place by then
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- /proc readings -------------------------------------------------------------------

def cpu_seconds(pid: int, tree: bool = True) -> float | None:
    """utime + stime of ``pid`` (and its descendants), in seconds."""
    total, found = 0, False
    for member in (_process_tree(pid) if tree else [pid]):
        try:
            with open(f"/proc/{member}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])   # utime, stime
            found = True
        except (OSError, ValueError, IndexError):
            continue
    return total / CLK_TCK if found else None


def cpu_jiffies() -> dict[int, tuple[int, int]]:
    """Per CPU, (busy, total) jiffies from /proc/stat. Loopback TCP work done in
    softirq is charged to no process, so per-process CPU understates what the
    network costs; the per-CPU busy share shows whether a core is saturated."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                ticks = list(map(int, values[:8]))
                idle = ticks[3] + ticks[4]            # idle, iowait
                out[int(name[3:])] = (sum(ticks) - idle, sum(ticks))
    return out


def busy_share(before: dict, after: dict) -> dict[str, float]:
    """Share of each CPU busy between two ``cpu_jiffies`` readings."""
    shares = {}
    for cpu, (busy, total) in after.items():
        b0, t0 = before.get(cpu, (0, 0))
        if total > t0:
            shares[f"cpu{cpu}"] = round((busy - b0) / (total - t0), 2)
    return shares


def fd_count(pid: int) -> int | None:
    """Open descriptors of the server's processes."""
    total, found = 0, False
    for member in _process_tree(pid):
        try:
            total += len(os.listdir(f"/proc/{member}/fd"))
            found = True
        except OSError:
            continue
    return total if found else None


def probe(port: int, timeout: float = 2.0) -> tuple[int | None, float]:
    """GET /json on a fresh connection: the status (None on failure), seconds."""
    start = time.monotonic()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", "/json")
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.monotonic() - start
    except (OSError, http.client.HTTPException):
        return None, time.monotonic() - start
    finally:
        conn.close()


class Sampler(threading.Thread):
    """Once a second: the server's RSS and fds, and one probe request."""

    def __init__(self, pid: int, port: int):
        super().__init__(daemon=True)
        self.pid, self.port = pid, port
        self.samples: list[dict] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stop_event.is_set():
            status, seconds = probe(self.port)
            self.samples.append({"t": round(time.monotonic() - start, 2),
                                 "rss_kib": rss_kib(self.pid), "fds": fd_count(self.pid),
                                 "probe_status": status, "probe_s": round(seconds, 4)})
            self.stop_event.wait(max(0.0, 1.0 - seconds))

    def stop(self) -> list[dict]:
        self.stop_event.set()
        self.join(5)
        return self.samples


# --- attacks ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Attack:
    name: str
    what: str
    limit: str                                     # the server limit that should stop it
    argv: Callable[[int, int], list[str]]          # (port, duration) -> argv
    ready_line: bool = True                        # prints READY (else: wait ramp_s)
    ramp_s: float = 0.0


def slowhttptest_argv(mode: str, *args: str) -> Callable[[int, int], list[str]]:
    def build(port: int, duration: int) -> list[str]:
        # The attacker outlives wrk by a few seconds: ramp before, slack after.
        return ["slowhttptest", mode, *args, "-l", str(duration + 8), "-p", "3",
                "-u", f"http://{HOST}:{port}" + ("/order" if mode == "-B" else
                                                 "/prices" if mode == "-X" else "/json")]
    return build


# Connection counts given with --conns, for the attackers that take one.
CONNS_OVERRIDE: dict[str, int] = {}


def self_argv(name: str) -> Callable[[int, int], list[str]]:
    def build(port: int, duration: int) -> list[str]:
        argv = [sys.executable, str(Path(__file__).resolve()), "--attacker", name,
                "--port", str(port), "--duration", str(duration + 2)]
        if name in CONNS_OVERRIDE:
            argv += ["--conns", str(CONNS_OVERRIDE[name])]
        return argv
    return build


ATTACKS = {a.name: a for a in (
    Attack("slowloris", "slowhttptest -H: 1000 conns, a header line every 5 s",
           "header_timeout 10 s -> 408 + close",
           slowhttptest_argv("-H", "-c", "1000", "-r", "250", "-i", "5", "-x", "24"),
           ready_line=False, ramp_s=5),
    Attack("slow_body", "slowhttptest -B: 1000 conns POST /order, body bytes every 5 s",
           "request_timeout 30 s -> 408 + close",
           slowhttptest_argv("-B", "-c", "1000", "-r", "250", "-i", "5", "-x", "10",
                             "-s", "8192", "-f", "application/json"),
           ready_line=False, ramp_s=5),
    Attack("slow_read", "slowhttptest -X: 1000 conns GET /prices x10 pipelined, "
                        "window 1-64 B, 32 B read every 2 s",
           "keep_alive_timeout 72 s once answered; write_timeout 60 s if buffers fill",
           slowhttptest_argv("-X", "-c", "1000", "-r", "250", "-k", "10", "-w", "1",
                             "-y", "64", "-n", "2", "-z", "32"),
           ready_line=False, ramp_s=5),
    Attack("idle_10k", "10,000 keep-alive connections, one GET each, then idle",
           "keep_alive_timeout 72 s (not reached); RSS per connection",
           self_argv("idle")),
    Attack("header_flood", "200 conns each streaming header lines without end, reconnecting",
           "max_header_size 16 KiB -> 431 + close", self_argv("header_flood")),
    Attack("pipeline_flood", "1 conn writing pipelined GET /json without reading",
           "QUEUE_PAUSE 32 + write high-water -> pause_reading", self_argv("pipeline_flood")),
    Attack("never_read", "50 conns sending GET /prices continuously, never recv()",
           "write high-water -> pause_reading, write_timeout 60 s -> abort; "
           "RSS must stay flat", self_argv("never_read")),
)}


# --- attacker mode: the asyncio clients ---------------------------------------------------

def _emit(tag: str, data: dict | None = None) -> None:
    print(tag if data is None else f"{tag} {json.dumps(data)}", flush=True)


async def attack_idle(port: int, duration: float, count: int = 10_000) -> dict:
    """Open ``count`` connections, one GET each read fully; hold them idle."""
    limit = asyncio.Semaphore(256)
    conns, failures = [], {}
    request = f"GET /json HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()

    async def one():
        async with limit:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 15)
                writer.write(request)
                await asyncio.wait_for(reader.readuntil(b"}"), 15)   # /json ends its body with }
                conns.append((reader, writer))
            except Exception as exc:                               # noqa: BLE001
                key = type(exc).__name__
                failures[key] = failures.get(key, 0) + 1

    start = time.monotonic()
    await asyncio.gather(*(one() for _ in range(count)))
    opened_s = time.monotonic() - start
    _emit("READY", {"opened": len(conns)})
    await asyncio.sleep(duration)
    alive = sum(1 for reader, _ in conns if not reader.at_eof())
    for _, writer in conns:
        writer.close()
    return {"requested": count, "opened": len(conns), "alive_at_end": alive,
            "open_s": round(opened_s, 2), "failures": failures}


async def attack_header_flood(port: int, duration: float, conns: int = 200) -> dict:
    """Each connection: a request line, then header lines until the server answers
    or closes; count what it answered and after how many bytes; reconnect."""
    deadline = time.monotonic() + duration
    stats = {"connections": 0, "statuses": {}, "closed_without_response": 0,
             "max_bytes_before_answer": 0}
    line = b"X-Flood: " + b"a" * 90 + b"\r\n"

    async def one_connection():
        reader, writer = await asyncio.open_connection(HOST, port)
        stats["connections"] += 1
        sent = 0
        writer.write(b"GET /json HTTP/1.1\r\nHost: x\r\n")
        answer = asyncio.ensure_future(reader.read(4096))
        try:
            while not answer.done() and time.monotonic() < deadline:
                writer.write(line * 10)
                sent += len(line) * 10
                try:
                    await asyncio.wait_for(writer.drain(), 1)
                except (ConnectionError, asyncio.TimeoutError):
                    break
                await asyncio.sleep(0)
            data = await asyncio.wait_for(answer, 2)
        except (ConnectionError, asyncio.TimeoutError):
            data = b""
        finally:
            writer.close()
        if data.startswith(b"HTTP/1.1 "):
            status = data[9:12].decode()
            stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
            stats["max_bytes_before_answer"] = max(stats["max_bytes_before_answer"], sent)
        elif time.monotonic() < deadline:
            stats["closed_without_response"] += 1

    async def loop_connection():
        while time.monotonic() < deadline:
            try:
                await one_connection()
            except OSError:
                stats["closed_without_response"] += 1

    tasks = [asyncio.ensure_future(loop_connection()) for _ in range(conns)]
    await asyncio.sleep(0.5)
    _emit("READY")
    await asyncio.gather(*tasks)
    return stats


async def read_answers(reader: asyncio.StreamReader, expected: int, read_timeout: float,
                       total_timeout: float = float("inf")) -> tuple[int, str]:
    """Read until ``expected`` 200 answers came: (answers counted, how reading
    ended: "all answered", "server closed", "no more answers within N s",
    "out of time" or the connection error's name)."""
    answered, tail, ending = 0, b"", "all answered"
    deadline = time.monotonic() + total_timeout
    try:
        while answered < expected:
            if time.monotonic() >= deadline:
                return answered, "out of time"
            chunk = await asyncio.wait_for(reader.read(1 << 20), read_timeout)
            if not chunk:
                return answered, "server closed"
            data = tail + chunk
            answered += data.count(b"HTTP/1.1 200 ")
            tail = data[-12:]      # a status line split across two reads is counted once
    except asyncio.TimeoutError:
        ending = "no more answers within %g s" % read_timeout
    except ConnectionError as exc:
        ending = type(exc).__name__
    return answered, ending


async def attack_pipeline_flood(port: int, duration: float) -> dict:
    """One connection writes pipelined GETs as fast as the server lets it, reading
    nothing; at the end it reads what was answered (order and count)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    batch = b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n" * 256
    sent, stalls = 0, 0
    deadline = time.monotonic() + duration
    _emit("READY")
    while time.monotonic() < deadline:
        writer.write(batch)
        sent += 256
        try:
            await asyncio.wait_for(writer.drain(), 0.5)
        except asyncio.TimeoutError:
            stalls += 1        # the server stopped reading: backpressure works
            await asyncio.sleep(0.5)
    # Now read: every request written must be answered. A reset here loses
    # the answers still buffered (see the report's pipelining defect).
    answered, ending = await read_answers(reader, sent, read_timeout=5)
    writer.close()
    return {"requests_written": sent, "responses_read_after": answered, "ending": ending,
            "drain_stalls_0.5s": stalls}


async def attack_never_read(port: int, duration: float, conns: int = 50) -> dict:
    """``conns`` connections send GET /prices continuously and never read.

    Each write carries 2,048 requests (70 KB): the attack is the bytes, and in
    writes of a few requests this client's own CPU (on the core wrk shares)
    was what limited wrk."""
    per_write = 2048
    request = b"GET /prices HTTP/1.1\r\nHost: x\r\n\r\n" * per_write
    deadline = time.monotonic() + duration
    counts = {"requests_written": 0, "blocked_conns_at_end": 0, "errors": 0}
    writers = []

    async def one():
        sock = socket.socket()
        # A small receive buffer: the server's writes back up sooner.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (HOST, port))
        _, writer = await asyncio.open_connection(sock=sock)
        writers.append(writer)
        blocked = False
        while time.monotonic() < deadline:
            writer.write(request)
            counts["requests_written"] += per_write
            try:
                await asyncio.wait_for(writer.drain(), 1)
                blocked = False
            except asyncio.TimeoutError:
                blocked = True
            except ConnectionError:
                counts["errors"] += 1
                return
        counts["blocked_conns_at_end"] += blocked

    tasks = [asyncio.ensure_future(one()) for _ in range(conns)]
    await asyncio.sleep(0.5)
    _emit("READY")
    await asyncio.gather(*tasks, return_exceptions=True)
    for writer in writers:
        writer.transport.abort()
    return counts


ATTACKERS = {"idle": attack_idle, "header_flood": attack_header_flood,
             "pipeline_flood": attack_pipeline_flood, "never_read": attack_never_read}


def run_attacker(name: str, port: int, duration: float, conns: int | None) -> int:
    raise_nofile(NOFILE)
    try:
        import uvloop
        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        extra = {} if conns is None else {"count" if name == "idle" else "conns": conns}
        result = runner.run(ATTACKERS[name](port, duration, **extra))
    _emit("RESULT", result)
    return 0


# --- one measured run ---------------------------------------------------------------------

@dataclass
class Outcome:
    name: str
    attack: str = ""
    limit: str = ""
    wrk: dict = field(default_factory=dict)
    cpu: dict = field(default_factory=dict)       # seconds / wall over the wrk window
    rss_kib: dict = field(default_factory=dict)   # before, min, max, after
    fds: dict = field(default_factory=dict)       # before, max, after
    probes: dict = field(default_factory=dict)
    attacker: dict = field(default_factory=dict)
    after_get: dict = field(default_factory=dict)
    samples: list = field(default_factory=list)
    errors: list = field(default_factory=list)


class AttackerProcess:
    """The attacker as a child process; its stdout is collected by a thread."""

    def __init__(self, argv: list[str], log: Path):
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(["taskset", "-c", str(CLIENT_CPU), *argv],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=open(log, "wb"), text=True, cwd=ROOT)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("READY"):
                self.ready.set()

    def finish(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.2)   # let the reader thread take the last lines


def slowhttptest_summary(lines: list[str]) -> dict:
    """The last status block of slowhttptest: connection counts and its verdict."""
    # Its report is coloured with ANSI escapes even when not on a terminal.
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", "\n".join(lines))
    out = {}
    for key in ("pending", "connected", "error", "closed", "service available"):
        found = re.findall(rf"^\s*{key}:\s+(\S+)", text, re.M | re.I)
        if found:
            out[key.replace(" ", "_")] = found[-1]
    verdicts = re.findall(r"service available:\s+(\S+)", text, re.I)
    out["seconds"] = len(verdicts)
    if verdicts:
        out["available_samples"] = f"{verdicts.count('YES')}/{len(verdicts)} YES"
    exit_status = re.findall(r"Exit status:\s*(.+)", text)
    if exit_status:
        out["exit_status"] = exit_status[-1].strip()
    return out


def run_wrk_measured(port: int, duration: int, server_pid: int,
                     attacker_pid: int | None) -> tuple[dict, dict]:
    """wrk on GET /json with the CPU of wrk, server and attacker over its run."""
    argv = ["taskset", "-c", str(CLIENT_CPU), "wrk", "-t1", f"-c{WRK_CONNECTIONS}",
            f"-d{duration}s", "--latency", f"http://{HOST}:{port}/json"]
    server0 = cpu_seconds(server_pid)
    attacker0 = cpu_seconds(attacker_pid) if attacker_pid else None
    jiffies0 = cpu_jiffies()
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wrk_cpu = 0.0
    while proc.poll() is None:
        wrk_cpu = cpu_seconds(proc.pid, tree=False) or wrk_cpu   # last reading before exit
        time.sleep(0.25)
    out, err = proc.communicate()
    wall = time.monotonic() - start
    busy = busy_share(jiffies0, cpu_jiffies())
    result = parse_wrk(out)
    wrk = {"rps": result.rps, "requests": result.requests, "latency_ms": result.latency_ms,
           "socket_errors": result.socket_errors, "non_2xx": result.non_2xx,
           "errors": result.errors + ([err.strip()[:200]] if proc.returncode else [])}
    cpu = {"wrk": round(wrk_cpu / wall, 2),
           "server": round(((cpu_seconds(server_pid) or 0) - (server0 or 0)) / wall, 2)}
    cpu.update(busy)
    if attacker_pid and attacker0 is not None:
        cpu["attacker"] = round(((cpu_seconds(attacker_pid) or attacker0) - attacker0) / wall, 2)
    return wrk, cpu


def after_check(port: int) -> dict:
    status, seconds = probe(port, timeout=5)
    return {"status": status, "ms": round(seconds * 1000, 1)}


def measure(attack: Attack | None, duration: int, workdir: Path) -> Outcome:
    name = attack.name if attack else "baseline"
    out = Outcome(name, attack.what if attack else "none", attack.limit if attack else "")
    port = free_port()
    values = placeholder_values(port, workdir / name, NOFILE)
    log = workdir / f"{name}.server.log"
    with running_server(FASTCORE, values, SERVER_CPU, log) as server:
        wait_for_port(server, port, log, 30)
        probe(port)
        time.sleep(0.5)
        out.rss_kib["before"], out.fds["before"] = rss_kib(server.pid), fd_count(server.pid)
        sampler = Sampler(server.pid, port)
        sampler.start()
        attacker = None
        if attack:
            attacker = AttackerProcess(attack.argv(port, duration), workdir / f"{name}.attacker.log")
            if attack.ready_line:
                if not attacker.ready.wait(READY_TIMEOUT_S):
                    out.errors.append("attacker never printed READY")
            else:
                time.sleep(attack.ramp_s)
            # Before wrk adds its own: what the attack alone costs.
            out.rss_kib["ready"], out.fds["ready"] = rss_kib(server.pid), fd_count(server.pid)
            per_conn(out, attacker)
        out.wrk, out.cpu = run_wrk_measured(port, duration, server.pid,
                                            attacker.proc.pid if attacker else None)
        if attacker:
            attacker.finish(timeout=max(30, duration))
            out.attacker = attacker_summary(attack, attacker.lines)
            if attacker.proc.returncode not in (0, None):
                # The exception line of its traceback says what went wrong.
                tail = (workdir / f"{name}.attacker.log").read_text().strip().splitlines()
                out.errors.append(f"attacker exited {attacker.proc.returncode}: "
                                  + (tail[-1][:200] if tail else ""))
        time.sleep(SETTLE_S)
        out.after_get = after_check(port)
        out.samples = sampler.stop()
        out.rss_kib["after"], out.fds["after"] = rss_kib(server.pid), fd_count(server.pid)
        if server.poll() is not None:
            out.errors.append(f"server exited with status {server.returncode}")
    summarize_samples(out)
    return out


def per_conn(out: Outcome, attacker: AttackerProcess) -> None:
    """RSS each attacker connection costs, when the attacker says how many it holds."""
    opened = None
    for line in attacker.lines:
        if line.startswith("READY ") and "opened" in line:
            opened = json.loads(line[6:])["opened"]
    if opened and out.rss_kib.get("ready") and out.rss_kib.get("before"):
        out.rss_kib["per_conn_bytes"] = round(
            (out.rss_kib["ready"] - out.rss_kib["before"]) * 1024 / opened)


def attacker_summary(attack: Attack, lines: list[str]) -> dict:
    if not attack.ready_line:
        return slowhttptest_summary(lines)
    summary = {}
    for line in lines:
        tag, _, data = line.partition(" ")
        if tag in ("READY", "RESULT") and data:
            summary.update(json.loads(data))
    return summary


def summarize_samples(out: Outcome) -> None:
    rss = [s["rss_kib"] for s in out.samples if s["rss_kib"]]
    fds = [s["fds"] for s in out.samples if s["fds"] is not None]
    if rss:
        out.rss_kib.update(min=min(rss), max=max(rss))
    if fds:
        out.fds.update(max=max(fds))
    ok = [s for s in out.samples if s["probe_status"] == 200]
    out.probes = {"ok": len(ok), "total": len(out.samples),
                  "max_ms": round(max((s["probe_s"] for s in ok), default=0) * 1000, 1)}


# --- table ------------------------------------------------------------------------------

def _mib(kib) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"


def table(outcomes: list[Outcome]) -> str:
    base = next((o for o in outcomes if o.name == "baseline"), None)
    header = ["run", "req/s", "vs base", "p99 ms", "wrk/srv/att CPU", "busy cpu0/1", "RSS MiB before/min/max/after",
              "fds before/max/after", "probes ok", "after GET", "errors"]
    rows = [header]
    for o in outcomes:
        rps = o.wrk.get("rps")
        ratio = (f"{rps / base.wrk['rps']:.2f}" if base and rps and base.wrk.get("rps")
                 and o is not base else "")
        p99 = o.wrk.get("latency_ms", {}).get("99")
        cpu = "/".join(f"{o.cpu.get(k, 0):.2f}" for k in ("wrk", "server", "attacker"))
        busy = "/".join(f"{o.cpu.get(k, 0):.2f}" for k in ("cpu0", "cpu1"))
        rss = "/".join(_mib(o.rss_kib.get(k)) for k in ("before", "min", "max", "after"))
        fds = "/".join(str(o.fds.get(k, "-")) for k in ("before", "max", "after"))
        errs = "; ".join(o.wrk.get("errors", []) + o.errors)
        rows.append([o.name, f"{rps:.0f}" if rps else "-", ratio,
                     f"{p99:.2f}" if p99 is not None else "-", cpu, busy, rss, fds,
                     f"{o.probes.get('ok')}/{o.probes.get('total')}",
                     str(o.after_get.get("status")), errs[:70]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", help="comma list of " + ",".join(ATTACKS))
    p.add_argument("--duration", type=int, default=20, help="seconds of wrk per run (20)")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--json", metavar="PATH", help="write the raw results here")
    p.add_argument("--conns", type=int, help="connections of the idle_10k, header_flood "
                   "and never_read attackers (default 10000, 200, 50)")
    p.add_argument("--attacker", choices=sorted(ATTACKERS), help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    opts = parse_args(argv)
    if opts.attacker:
        return run_attacker(opts.attacker, opts.port, opts.duration, opts.conns)
    if opts.conns:
        for attack in ("idle", "header_flood", "never_read"):
            CONNS_OVERRIDE[attack] = opts.conns
    names = [n.strip() for n in (opts.only or ",".join(ATTACKS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in ATTACKS]
    if unknown:
        sys.exit(f"unknown attack(s): {', '.join(unknown)}")
    soft, hard, note = raise_nofile(NOFILE)   # the server and attackers inherit it
    if note:
        print(note, file=sys.stderr)
    # The probe and sampler share the clients' CPU, never the server's.
    os.sched_setaffinity(0, {CLIENT_CPU})
    runs = ([] if opts.no_baseline else [None]) + [ATTACKS[n] for n in names]
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="fastcore-abuse-") as tmp:
        for attack in runs:
            label = attack.name if attack else "baseline"
            print(f"-- {label} ({opts.duration} s)", file=sys.stderr, flush=True)
            outcome = measure(attack, opts.duration, Path(tmp))
            print(f"   {json.dumps({k: v for k, v in asdict(outcome).items() if k != 'samples'})}",
                  file=sys.stderr, flush=True)
            outcomes.append(outcome)
    print(table(outcomes))
    for o in outcomes:
        if o.attacker:
            print(f"{o.name}: {o.limit}; attacker: {json.dumps(o.attacker)}")
        if "per_conn_bytes" in o.rss_kib:
            print(f"{o.name}: RSS {_mib(o.rss_kib['before'])} -> {_mib(o.rss_kib['ready'])} MiB "
                  f"with the attacker's connections open: "
                  f"{o.rss_kib['per_conn_bytes']} bytes per connection")
    if opts.json:
        Path(opts.json).write_text(json.dumps(
            {"nofile": [soft, hard], "duration": opts.duration,
             "runs": [asdict(o) for o in outcomes]}, indent=2) + "\n")
    return 0 if all(not o.errors and o.after_get.get("status") == 200 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
