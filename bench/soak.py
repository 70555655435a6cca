"""Soak: a million mixed requests, valid and malformed, and the server's RSS curve.

How this works. One worker of the workload app (``bench.app:app``) is started
pinned to CPU 0 with ``running_server`` (bench/servers.py). The valid load is
``wrk -t1 -c50`` pinned to CPU 1 running ``bench/soak.lua``, which cycles the
four WORKLOAD routes (GET /json, GET /prices, POST /order, GET /users/42).
wrk runs in slices: a short first slice measures the rate, from which each
later slice's length is chosen to carry about ``--slice`` requests (100,000);
the requests wrk reports per slice are summed, and after every slice the
server's VmRSS, open fds and CPU time are read from /proc. That gives the
curve "requests served -> RSS" without the server exposing any counter.

Beside wrk, threads of this script (also on CPU 1) send malformed requests
on fresh connections at one for every ``--bad-ratio`` (50) valid ones, at the
rate of the last slice: a body that is not JSON, a header past
max_header_size, an invalid chunked body and a bad %-escape in the path, in
turn. Each must get its 4xx status (400, 431, 400, 400) and a close; any other
answer or none is counted as unexpected.

The curve is printed (requests -> RSS MiB) with the first, last and max
values and the growth after warm-up (the first slice); ``--csv PATH`` writes
it, ``--svg PATH`` draws it. Nothing is asserted: this is a measurement
script.

Usage: python bench/soak.py [--requests 1000000] [--slice 100000] [--bad-ratio 50]
       [--bad-threads 4] [--csv PATH] [--svg PATH]
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.abuse import busy_share, cpu_jiffies, cpu_seconds, fd_count  # noqa: E402
from bench.load import parse_wrk  # noqa: E402
from bench.peers import FASTCORE  # noqa: E402
from bench.servers import (  # noqa: E402
    HOST, free_port, placeholder_values, rss_kib, running_server, wait_for_port,
)

SERVER_CPU = 0
CLIENT_CPU = 1
WRK_CONNECTIONS = 50
LUA = Path(__file__).resolve().parent / "soak.lua"
FIRST_SLICE_S = 3

ORDER = '{"symbol":"BTC-USD","side":"buy","qty":0.5,"price":43250.5}'


def _request(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode() + body


# name -> (bytes sent on a fresh connection, status expected)
MALFORMED = {
    "bad_json": (_request("POST /order HTTP/1.1\nHost: x\nContent-Type: application/json\n"
                          "Content-Length: 18\n\n", b'{"symbol":"BTC-USD'), 400),
    "oversize_header": (_request("GET /json HTTP/1.1\nHost: x\nX-Big: " + "a" * 20_000
                                 + "\n\n"), 431),
    "bad_chunked": (_request("POST /order HTTP/1.1\nHost: x\nContent-Type: application/json\n"
                             "Transfer-Encoding: chunked\n\n", b"zz\r\n{}\r\n0\r\n\r\n"), 400),
    "bad_escape": (_request("GET /users/%zz?fields=name HTTP/1.1\nHost: x\n\n"), 400),
}


class MalformedSender(threading.Thread):
    """Sends the malformed requests in turn at ``rate`` per second (set by the
    main thread after each slice); counts the statuses per kind."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port = port
        self.rate = 0.0
        self.sent = 0
        self.statuses: dict[str, dict[str, int]] = {name: {} for name in MALFORMED}
        self.unexpected = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        kinds = list(MALFORMED)
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            if self.rate <= 0:
                self.stop_event.wait(0.1)
                next_at = time.monotonic()
                continue
            kind = kinds[self.sent % len(kinds)]
            status = self.send_one(*MALFORMED[kind])
            self.sent += 1
            counts = self.statuses[kind]
            counts[status] = counts.get(status, 0) + 1
            if status != str(MALFORMED[kind][1]):
                self.unexpected += 1
            # Paced, not bursty: a steady 1 in N of the traffic.
            next_at += 1.0 / self.rate
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stop_event.wait(delay)
            elif delay < -1.0:
                next_at = time.monotonic()   # fell behind: do not try to catch up

    def send_one(self, data: bytes, expected: int) -> str:
        """The status line's code, or what went wrong."""
        try:
            with socket.create_connection((HOST, self.port), timeout=5) as sock:
                sock.sendall(data)
                reply = sock.recv(4096)
        except socket.timeout:
            return "timeout"
        except OSError as exc:
            return type(exc).__name__
        if not reply.startswith(b"HTTP/1.1 "):
            return "no response"
        return reply[9:12].decode()


class SenderPool:
    """A few MalformedSenders sharing the rate: one Python thread making a new
    connection per request falls behind 1 in 50 of a 30k req/s load."""

    def __init__(self, port: int, threads: int):
        self.senders = [MalformedSender(port) for _ in range(threads)]

    def start(self, rate: float) -> None:
        self.set_rate(rate)
        for sender in self.senders:
            sender.start()

    def set_rate(self, rate: float) -> None:
        for sender in self.senders:
            sender.rate = rate / len(self.senders)

    def stop(self) -> None:
        for sender in self.senders:
            sender.stop_event.set()
        for sender in self.senders:
            sender.join(10)

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self.senders)

    @property
    def unexpected(self) -> int:
        return sum(s.unexpected for s in self.senders)

    @property
    def statuses(self) -> dict[str, dict[str, int]]:
        merged: dict[str, dict[str, int]] = {name: {} for name in MALFORMED}
        for sender in self.senders:
            for kind, counts in sender.statuses.items():
                for status, n in counts.items():
                    merged[kind][status] = merged[kind].get(status, 0) + n
        return merged


@dataclass
class Point:
    requests: int            # valid (wrk) + malformed, cumulative
    valid: int
    malformed: int
    rss_kib: int | None
    fds: int | None
    rps: float | None
    p99_ms: float | None
    server_cpu: float        # share of a core over the slice
    wrk_cpu: float
    cpu0_busy: float = 0.0   # whole-CPU busy share, softirq included
    cpu1_busy: float = 0.0
    errors: list[str] = field(default_factory=list)


def run_slice(port: int, seconds: int, server_pid: int) -> tuple[object, float, float, dict]:
    """One wrk slice: its parsed result, the CPU of the server and of wrk, and
    how busy each CPU was (softirq included)."""
    argv = ["taskset", "-c", str(CLIENT_CPU), "wrk", "-t1", f"-c{WRK_CONNECTIONS}",
            f"-d{seconds}s", "--latency", "-s", str(LUA), f"http://{HOST}:{port}"]
    server0 = cpu_seconds(server_pid) or 0.0
    jiffies0 = cpu_jiffies()
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wrk_cpu = 0.0
    while proc.poll() is None:
        wrk_cpu = cpu_seconds(proc.pid, tree=False) or wrk_cpu
        time.sleep(0.25)
    out, err = proc.communicate()
    wall = time.monotonic() - start
    busy = busy_share(jiffies0, cpu_jiffies())
    result = parse_wrk(out)
    if proc.returncode:
        result.errors.append(f"wrk exited {proc.returncode}: {err.strip()[:200]}")
    server_cpu = ((cpu_seconds(server_pid) or server0) - server0) / wall
    return result, server_cpu, wrk_cpu / wall, busy


def soak(opts, workdir: Path) -> tuple[list[Point], SenderPool, float]:
    port = free_port()
    log = workdir / "server.log"
    with running_server(FASTCORE, placeholder_values(port, workdir, 1024), SERVER_CPU,
                        log) as server:
        wait_for_port(server, port, log, 30)
        sender = SenderPool(port, opts.bad_threads)
        # A guess until the first slice has measured the rate.
        sender.start(15_000 / opts.bad_ratio)
        points = [Point(0, 0, 0, rss_kib(server.pid), fd_count(server.pid), None, None, 0, 0)]
        valid, seconds, own0 = 0, FIRST_SLICE_S, cpu_seconds(os.getpid(), tree=False) or 0
        start = time.monotonic()
        while points[-1].requests < opts.requests:
            result, server_cpu, wrk_cpu, busy = run_slice(port, seconds, server.pid)
            valid += result.requests or 0
            rate = result.rps or 0.0
            sender.set_rate(rate / opts.bad_ratio)
            points.append(Point(valid + sender.sent, valid, sender.sent, rss_kib(server.pid),
                                fd_count(server.pid), result.rps,
                                result.latency_ms.get("99"), round(server_cpu, 2),
                                round(wrk_cpu, 2), busy.get(f"cpu{SERVER_CPU}", 0.0),
                                busy.get(f"cpu{CLIENT_CPU}", 0.0), result.errors))
            print(f"  {points[-1].requests:>9} requests  RSS {_mib(points[-1].rss_kib)} MiB  "
                  f"{rate:.0f} req/s  server CPU {server_cpu:.2f}  wrk CPU {wrk_cpu:.2f}  "
                  f"busy cpu0 {points[-1].cpu0_busy:.2f} cpu1 {points[-1].cpu1_busy:.2f}"
                  + (f"  {'; '.join(result.errors)}" if result.errors else ""),
                  file=sys.stderr, flush=True)
            if server.poll() is not None:
                points[-1].errors.append(f"server exited with status {server.returncode}")
                break
            left = opts.requests - points[-1].requests
            # About --slice requests per slice at the rate just measured.
            seconds = max(1, round(min(opts.slice, left) / max(rate * 1.02, 1.0)))
        elapsed = time.monotonic() - start
        sender.stop()
        own_cpu = ((cpu_seconds(os.getpid(), tree=False) or 0) - own0) / elapsed
    return points, sender, own_cpu


def _mib(kib) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f}"


def report(points: list[Point], sender: SenderPool, own_cpu: float) -> None:
    print(f"{'requests':>10}  {'RSS MiB':>8}  {'fds':>4}  {'req/s':>7}  {'p99 ms':>7}  "
          f"{'srv CPU':>7}  {'wrk CPU':>7}  {'cpu0':>5}  {'cpu1':>5}  errors")
    for p in points:
        print(f"{p.requests:>10}  {_mib(p.rss_kib):>8}  {p.fds!s:>4}  "
              f"{'-' if p.rps is None else f'{p.rps:.0f}':>7}  "
              f"{'-' if p.p99_ms is None else f'{p.p99_ms:.2f}':>7}  "
              f"{p.server_cpu:>7.2f}  {p.wrk_cpu:>7.2f}  {p.cpu0_busy:>5.2f}  "
              f"{p.cpu1_busy:>5.2f}  {'; '.join(p.errors)}")
    rss = [p.rss_kib for p in points[1:] if p.rss_kib]
    if rss:
        warm = points[1].rss_kib
        print(f"RSS: first {_mib(rss[0])} MiB (after warm-up slice), last {_mib(rss[-1])}, "
              f"max {_mib(max(rss))}; growth after warm-up {_mib(rss[-1] - warm)} MiB "
              f"over {points[-1].requests - points[1].requests} requests; "
              f"before any load {_mib(points[0].rss_kib)}")
    valid = points[-1].valid
    print(f"malformed: {sender.sent} sent (1 per {valid / max(sender.sent, 1):.0f} valid), "
          f"{sender.unexpected} unexpected answers; "
          + ", ".join(f"{k} {v}" for k, v in sender.statuses.items()))
    print(f"this script's own CPU (malformed sender, sampling): {own_cpu:.2f}")


def write_csv(path: str, points: list[Point]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["requests", "valid", "malformed", "rss_mib", "fds", "rps", "p99_ms",
                      "server_cpu", "wrk_cpu", "cpu0_busy", "cpu1_busy", "errors"])
        for p in points:
            out.writerow([p.requests, p.valid, p.malformed,
                          None if p.rss_kib is None else round(p.rss_kib / 1024, 2), p.fds,
                          p.rps, p.p99_ms, p.server_cpu, p.wrk_cpu, p.cpu0_busy, p.cpu1_busy,
                          "; ".join(p.errors)])


def write_svg(path: str, points: list[Point]) -> None:
    """The curve as a small SVG line chart: requests served -> RSS MiB (from 0)."""
    pts = [(p.requests, p.rss_kib / 1024) for p in points if p.rss_kib]
    width, height, left, bottom, top, right = 640, 320, 60, 40, 20, 20
    max_x = max(x for x, _ in pts) or 1
    max_y = 10 * math.ceil(max(y for _, y in pts) * 1.25 / 10)     # a round top, with room

    def at(x: float, y: float) -> str:
        px = left + (width - left - right) * x / max_x
        py = height - bottom - (height - bottom - top) * y / max_y
        return f"{px:.1f},{py:.1f}"

    lines = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<polyline fill="none" stroke="black" points="{at(0, 0)} {at(0, max_y)}"/>',
             f'<polyline fill="none" stroke="black" points="{at(0, 0)} {at(max_x, 0)}"/>']
    for i in range(5):
        y = max_y * i / 4
        lines.append(f'<text x="{left - 6}" y="{at(0, y).split(",")[1]}" text-anchor="end" '
                     f'dominant-baseline="middle">{y:.0f}</text>')
        x = max_x * i / 4
        lines.append(f'<text x="{at(x, 0).split(",")[0]}" y="{height - bottom + 16}" '
                     f'text-anchor="middle">{x / 1e6:.2f}M</text>')
    lines.append(f'<polyline fill="none" stroke="#1f6feb" stroke-width="2" '
                 f'points="{" ".join(at(x, y) for x, y in pts)}"/>')
    lines.append(f'<text x="{width / 2}" y="{height - 6}" text-anchor="middle">'
                 f'requests served</text>')
    lines.append(f'<text x="14" y="{height / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {height / 2})">server RSS (MiB)</text>')
    lines.append("</svg>")
    Path(path).write_text("\n".join(lines) + "\n")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=1_000_000,
                   help="requests in all, valid and malformed (1000000)")
    p.add_argument("--slice", type=int, default=100_000,
                   help="requests between two RSS readings (100000)")
    p.add_argument("--bad-ratio", type=int, default=50,
                   help="one malformed request per this many valid ones (50)")
    p.add_argument("--bad-threads", type=int, default=4,
                   help="threads sending the malformed requests (4)")
    p.add_argument("--csv", metavar="PATH", help="write the curve here")
    p.add_argument("--svg", metavar="PATH", help="draw the curve here (an SVG chart)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    opts = parse_args(argv)
    # The sender and the sampling share the load generator's CPU, not the server's.
    os.sched_setaffinity(0, {CLIENT_CPU})
    with tempfile.TemporaryDirectory(prefix="fastcore-soak-") as tmp:
        points, sender, own_cpu = soak(opts, Path(tmp))
    report(points, sender, own_cpu)
    if opts.csv:
        write_csv(opts.csv, points)
    if opts.svg:
        write_svg(opts.svg, points)
    failed = any(p.errors for p in points) or sender.unexpected
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
