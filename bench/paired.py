"""Two servers under load at the same moment, on one core: the ratio of their costs.

On a shared machine one server's requests/s moves by tens of percent from one
minute to the next, so ``bench/load.py``, which loads A then B, gives per-round
ratios that spread as widely. Here both servers run at once, pinned to the
same CPU, each loaded by its own wrk (both wrks pinned to the other CPU): what
slows the machine slows both alike. The scheduler gives each server half of
the core, so the ratio of their requests/s is the inverse ratio of their CPU
time per request, which each round also reports from ``/proc/PID/stat``
(both servers should be near 50% of the core). The wrks' CPU (their rusage)
is shown beside it: near 100% of their core, they and not the servers would
set the pace, and the round would measure nothing.

    python bench/paired.py --peer fastcore-plugins --route json --rounds 8 --duration 4

The first server is fastcore's workload app (``bench.app``); ``--peer`` names
any server ``bench/load.py`` knows. The last line is the median of the
per-round ratios (peer / fastcore).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import START_TIMEOUT, ROUTES, Case, run_wrk, write_wrk_script  # noqa: E402
from bench.peers import FASTCORE, PEERS  # noqa: E402
from bench.servers import (  # noqa: E402
    free_port, placeholder_values, running_server, wait_for_port,
)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (fields 14 and 15 of its stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_both(urls: list[str], script, seconds: int, case: Case, opts) -> list:
    """One wrk per server, started together; their results in the same order."""
    with ThreadPoolExecutor(len(urls)) as pool:
        futures = [pool.submit(run_wrk, url, script, seconds, case, opts) for url in urls]
        return [future.result() for future in futures]


def one_round(procs, urls, script, case, opts) -> dict:
    before = [cpu_seconds(p.pid) for p in procs]
    wrk_before = children_cpu()
    results = load_both(urls, script, opts.duration, case, opts)
    used = [cpu_seconds(p.pid) - b for p, b in zip(procs, before)]
    errors = [e for r in results for e in r.errors]
    if errors:
        raise SystemExit("wrk: " + "; ".join(errors))
    rps = [r.rps for r in results]
    return {"rps": rps, "cpu_pct": [100 * u / opts.duration for u in used],
            "us_per_req": [1e6 * u / (r * opts.duration) for u, r in zip(used, rps)],
            "wrk_cpu_pct": 100 * (children_cpu() - wrk_before) / opts.duration,
            "ratio": rps[1] / rps[0]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer", default="fastcore-plugins", choices=sorted(PEERS))
    p.add_argument("--route", default="json", choices=sorted(ROUTES))
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--duration", type=int, default=4, help="seconds per round (4)")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up (2)")
    p.add_argument("--connections", type=int, default=50, help="per wrk (50)")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--wrk-cpu", type=int, default=1)
    opts = p.parse_args(argv)
    opts.header = []
    servers = [FASTCORE, PEERS[opts.peer]]
    case = Case(opts.route, ROUTES[opts.route], opts.connections)
    workdir = Path(tempfile.mkdtemp(prefix="fastcore-paired-"))
    script = write_wrk_script(case.route, workdir)
    with ExitStack() as stack:
        procs, urls = [], []
        for server in servers:
            port = free_port()
            log = workdir / f"{server.name}.log"
            values = placeholder_values(port, workdir / server.name, 1024)
            proc = stack.enter_context(running_server(server, values, opts.server_cpu, log))
            wait_for_port(proc, port, log, START_TIMEOUT)
            procs.append(proc)
            urls.append(f"http://127.0.0.1:{port}{case.route.path}")
        if opts.warmup > 0:
            load_both(urls, script, opts.warmup, case, opts)
        names = " / ".join(s.name for s in servers)
        print(f"{case.name}: {names}, servers on CPU {opts.server_cpu}, both wrk on CPU "
              f"{opts.wrk_cpu}, -c{opts.connections} each, {opts.duration} s rounds")
        ratios = []
        for rnd in range(1, opts.rounds + 1):
            r = one_round(procs, urls, script, case, opts)
            ratios.append(r["ratio"])
            print(f"round {rnd}: " + "  |  ".join(
                f"{s.name} {rps:,.0f} req/s, CPU {cpu:.0f}%, {us:.1f} us/req"
                for s, rps, cpu, us in zip(servers, r["rps"], r["cpu_pct"], r["us_per_req"]))
                + f"  |  wrk CPU {r['wrk_cpu_pct']:.0f}%  |  ratio {r['ratio']:.3f}",
                flush=True)
    print(f"median ratio {servers[1].name}/{servers[0].name}: {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}, {len(ratios)} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
