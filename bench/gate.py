"""Performance regression gate: the micro benchmarks against a committed baseline.

How this works
--------------
``run`` times a fixed table of micro cases (``CASES``: the pytest-benchmark
cases of ``bench/`` that cover the hot paths, plus GET /prices through the
protocol, defined here) in ``--processes`` pytest processes, one after the
other. This module is also loaded into them as a pytest plugin: it repeats
the collected items into ``--passes`` passes per process, each pass taking
every case once with a *reference slot* before the first case, between every
two cases and after the last. A slot times one of the two references, in
turn: a fixed pure-Python loop or ``orjson.dumps`` of the /prices payload.
They do not touch fastcore, so they measure only how fast this machine is at
that moment. Every other pass takes the cases in reverse order.

A case's figure in one pass is its median time divided by the reference
time around it (the geometric mean of the slots just before and just after
it, so one of each reference); the run keeps, per case, the median of those
ratios over all passes. A ratio carries across machines, and across a busy
and a quiet minute on one machine, far better than a time does.

``check`` compares a run's ratios with ``bench/baseline.json``:
change = now / baseline - 1; a case whose change is above its tolerance
fails the gate (exit status 1), and so does a case of the baseline that the
run lacks. A case faster than its baseline beyond tolerance passes, with a
note that a new baseline would tighten the gate. Given several runs, each
case's lowest ratio counts: ``ci`` uses this to confirm a failure with a
second run before failing.

``record`` writes the baseline from one or more runs: the median ratio per
case and, from several runs, the most each case was seen slower than that
median, from which its tolerance is set (``tolerance_for``). The baseline
names the commit, Python, Cython, orjson and the build it was measured on.

    python bench/gate.py run [--out .gate.json]
    python bench/gate.py check [RUN.json ...] [--baseline bench/baseline.json] [--tolerance X]
    python bench/gate.py ci [--out .gate.json]
    python bench/gate.py record [RUN.json ...] [--baseline bench/baseline.json]
    python bench/gate.py noise RUN.json RUN.json ...

The comparison itself (geometric mean, ``compare`` and its verdicts, best of
several runs, the table) is ``fastcore.gate``, the library module behind
``python -m fastcore gate`` for users' own route benchmarks; this module adds
the passes and slots, the baseline format with a tolerance per case, and
recording. The functions under ``# --- pure parts`` take and return plain
data; they are tested in tests/unit/test_gate.py. bench/README.md ("Regression gate") gives
the measured noise behind the tolerances.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest

from fastcore.gate import (FASTER, best_of, failed, format_cell as _fmt, format_columns,
                           format_table, geomean)
from fastcore.gate import compare as compare_ratios

ROOT = Path(__file__).resolve().parent.parent
THIS = "bench/gate.py"
DEFAULT_OUT = str(ROOT / ".gate.json")      # git-ignored (.gate*.json)
DEFAULT_BASELINE = str(ROOT / "bench" / "baseline.json")
FORMAT = 1

# Gate case name -> pytest node id (relative to the repository root).
CASES = {
    "protocol: GET /json": "bench/test_bench_protocol.py::test_protocol[protocol: GET 8 headers]",
    "protocol: GET /json, pipelined x16":
        "bench/test_bench_protocol.py::test_protocol[protocol: GET 8 headers, pipelined x16]",
    "protocol: GET /prices": THIS + "::test_protocol_prices",
    "protocol: POST /order": "bench/test_bench_protocol.py::test_protocol[protocol: POST /order]",
    "protocol: GET /users/:id":
        "bench/test_bench_protocol.py::test_protocol[protocol: GET /users/:id]",
    "find: static": "bench/test_bench_router.py::test_find[find: static-1000 routes]",
    "find: 1 param": "bench/test_bench_router.py::test_find[find: 1 param-1000 routes]",
    "find: 2 params": "bench/test_bench_router.py::test_find[find: 2 params-1000 routes]",
    "find: miss": "bench/test_bench_router.py::test_find[find: miss-1000 routes]",
    "serialize: /prices": "bench/test_bench_serialize.py::test_prices[serialize: compiled]",
    "validate: /order body": "bench/test_bench_validate.py::test_order_body_fastcore",
    "inject: GET /json": "bench/test_bench_protocol.py::test_inject_json",
    "hooks: 5 root hooks": "bench/test_bench_hooks.py::test_hooks_protocol[5 root hooks]",
    "hooks: 5 async root hooks":
        "bench/test_bench_hooks.py::test_hooks_protocol[5 async root hooks]",
}

# The slots alternate between the two references, so that every case sits
# between one of each (bench/README.md, "Regression gate", says why both).
REFERENCE_KINDS = ("python loop", "orjson /prices")
REFERENCE = "python loop / orjson /prices, alternating slots"


def slot_kind(number: int) -> str:
    """The reference of the `number`-th slot of a run (counted across passes,
    so that the last slot of a pass and the first of the next differ: pytest
    cannot run one item twice in a row)."""
    return REFERENCE_KINDS[number % len(REFERENCE_KINDS)]


def reference_node(kind: str) -> str:
    return "%s::test_reference[%s]" % (THIS, kind)


def reference_key(slot: int) -> str:
    """The name of a reference slot's timing in a pass record."""
    return "reference @%d" % slot


# One run: PROCESSES pytest processes of PASSES passes each, every case and
# slot timed for about MAX_TIME seconds (medians of hundreds to thousands of
# rounds), with no GC pauses inside the timings.
PROCESSES = 3
PASSES = 2
MAX_TIME = 0.05
PYTEST_BENCH_ARGS = [
    "--benchmark-only", "--benchmark-disable-gc", "--benchmark-min-rounds=15",
    "--benchmark-min-time=0.00002", "--benchmark-warmup=on",
    "--benchmark-warmup-iterations=500", "--benchmark-sort=fullname",
]

# Tolerances: a case fails when it is slower than its baseline by more than
# its tolerance. `record` sets them from the spread of several runs (see
# tolerance_for); these are the rule's parameters.
TOLERANCE_FLOOR = 0.20
TOLERANCE_MARGIN = 2.0


# --- pure parts ---------------------------------------------------------------------

def pass_order(index: int, cases=CASES) -> list:
    """The cases of pass `index` in the order they run: every other pass takes
    them in reverse, so that no case always runs at the same point of a pass."""
    names = list(cases)
    return names[::-1] if index % 2 else names


def pass_timings(index: int, cases=CASES) -> list:
    """(key, node id) of the timings of pass `index`, in the order they are
    taken: reference slot 0, a case, slot 1, a case, ..., slot len(cases)."""
    order = pass_order(index, cases)
    first = index * (len(order) + 1)

    def slot(number):
        return (reference_key(number), reference_node(slot_kind(first + number)))
    timings = []
    for number, name in enumerate(order):
        timings += [slot(number), (name, cases[name])]
    return timings + [slot(len(order))]


def run_sequence(passes: int, cases=CASES, first: int = 0) -> list:
    """(pass index, key, node id) of every timing of passes first, first + 1,
    ... (`passes` of them, the share of one pytest process), in order."""
    return [(index, key, node) for index in range(first, first + passes)
            for key, node in pass_timings(index, cases)]


def split_passes(benchmarks: list, passes: int, cases=CASES, first: int = 0) -> list:
    """Pass records from a --benchmark-json "benchmarks" list in the order
    they ran: [{"order": [case, ...], "median": {key: s}, "min": {key: s}}]."""
    sequence = run_sequence(passes, cases, first)
    if len(benchmarks) != len(sequence):
        raise ValueError("expected %d timings, got %d" % (len(sequence), len(benchmarks)))
    records = [{"order": pass_order(first + i, cases), "median": {}, "min": {}}
               for i in range(passes)]
    for (index, key, node), bench in zip(sequence, benchmarks):
        if bench["fullname"] != node:
            raise ValueError("timing of %s where %s was expected" % (bench["fullname"], node))
        for stat in ("median", "min"):
            records[index - first][stat][key] = bench["stats"][stat]
    return records


def reference_time(times: dict, slots, reference: str = REFERENCE) -> float:
    """The reference time around a case: the geometric mean of the timings of
    `slots` (reference "none": 1 second, which leaves times as they are, to
    show what the reference removes)."""
    if reference == "none":
        return 1.0
    keys = [reference_key(slot) for slot in slots]
    missing = [key for key in keys if key not in times]
    if missing:
        raise KeyError("reference not measured: %s" % ", ".join(missing))
    return geomean(times[key] for key in keys)


def pass_ratios(times: dict, order: list, reference: str = REFERENCE) -> dict:
    """{case: its time / the reference around it} for one pass.

    `order` lists the pass's cases as they ran: the i-th sat between
    reference slots i and i + 1. Unmeasured cases are left out."""
    return {name: times[name] / reference_time(times, (i, i + 1), reference)
            for i, name in enumerate(order) if name in times}


def run_ratios(passes: list, reference: str = REFERENCE, stat: str = "median") -> dict:
    """{case: median over the passes of its ratio}, in the first pass's order."""
    per_pass = [pass_ratios(p[stat], p["order"], reference) for p in passes]
    names = [name for name in passes[0]["order"] if any(name in r for r in per_pass)]
    return {name: statistics.median(r[name] for r in per_pass if name in r) for name in names}


def spread(values) -> dict:
    """Median, extremes, and how far above and below the median they lie
    ("slower": max / median - 1, "faster": 1 - min / median)."""
    values = sorted(values)
    mid = statistics.median(values)
    return {"median": mid, "min": values[0], "max": values[-1],
            "slower": values[-1] / mid - 1, "faster": 1 - values[0] / mid}


def tolerance_for(slower: float, floor: float = TOLERANCE_FLOOR,
                  margin: float = TOLERANCE_MARGIN) -> float:
    """A case's tolerance: `margin` times the most it was seen slower than its
    median with the code unchanged, at least `floor`, rounded up to a whole
    percent. Only the slow side matters: being faster never fails."""
    return math.ceil(round(max(floor, margin * slower) * 100, 6)) / 100


def noise(runs: list) -> dict:
    """{case: spread of its ratio over the runs} (each run a {case: ratio} dict)."""
    names = [name for name in runs[0] if all(name in run for run in runs)]
    return {name: spread(run[name] for run in runs) for name in names}


def make_baseline(runs: list, env: dict, reference: str = REFERENCE,
                  floor: float = TOLERANCE_FLOOR, margin: float = TOLERANCE_MARGIN,
                  previous: dict | None = None, keep_tolerances: bool = False) -> dict:
    """A baseline: the median ratio of each case over `runs` ({case: ratio} dicts).

    With two runs or more each case's tolerance comes from its spread; from
    one run, or with `keep_tolerances` (runs all taken on a quiet machine
    understate the noise), the tolerances of `previous` (the baseline it
    replaces) are kept, and a case it lacks gets the one from the spread."""
    spreads = noise(runs)
    baseline = {
        "format": FORMAT, "reference": reference, "runs": len(runs),
        "cases": {name: s["median"] for name, s in spreads.items()},
        "tolerances": {}, "recorded": env,
    }
    if len(runs) >= 2 and keep_tolerances and previous is not None:
        baseline["noise"] = spreads
        baseline["tolerances"] = {
            name: previous["tolerances"].get(name, tolerance_for(s["slower"], floor, margin))
            for name, s in spreads.items()}
        if "tolerance_rule" in previous:
            baseline["tolerance_rule"] = previous["tolerance_rule"]
    elif len(runs) >= 2:
        baseline["tolerance_rule"] = {"floor": floor, "margin": margin}
        baseline["tolerances"] = {name: tolerance_for(s["slower"], floor, margin)
                                  for name, s in spreads.items()}
        baseline["noise"] = spreads
    elif previous is not None:
        baseline["tolerances"] = {name: tol for name, tol in previous["tolerances"].items()
                                  if name in baseline["cases"]}
        if "tolerance_rule" in previous:
            baseline["tolerance_rule"] = previous["tolerance_rule"]
    return baseline


def tolerance_of(baseline: dict, case: str, override: float | None = None) -> float:
    if override is not None:
        return override
    return baseline.get("tolerances", {}).get(case, TOLERANCE_FLOOR)


def compare(baseline: dict, ratios: dict, override: float | None = None) -> list:
    """fastcore.gate.compare of a run's ratios with a baseline of this module's
    format: each case against its own tolerance (or `override` for all)."""
    tolerances = {case: tolerance_of(baseline, case, override) for case in baseline["cases"]}
    return compare_ratios(baseline["cases"], ratios, tolerances)


def format_noise(spreads: dict, floor: float = TOLERANCE_FLOOR,
                 margin: float = TOLERANCE_MARGIN) -> str:
    return format_columns(
        ("case", "median", "min", "max", "faster", "slower", "tolerance"),
        [(name, "%.4g" % s["median"], "%.4g" % s["min"], "%.4g" % s["max"],
          "-%.1f%%" % (100 * s["faster"]), "+%.1f%%" % (100 * s["slower"]),
          "%.0f%%" % (100 * tolerance_for(s["slower"], floor, margin)))
         for name, s in spreads.items()])


def env_warnings(baseline_env: dict, run_env: dict) -> list:
    """What differs between where the baseline and the run were measured."""
    return ["%s differs: baseline %r, run %r" % (key, baseline_env.get(key), run_env.get(key))
            for key in ("python", "cython", "orjson", "build")
            if baseline_env.get(key) != run_env.get(key)]


def load_json(path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save_json(path, document: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


# --- measuring ----------------------------------------------------------------------

def _git(*args) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _version(distribution: str):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def build_label() -> str:
    """The build flags, as declared: FASTCORE_GATE_BUILD if set, else what
    setup.py builds with FASTCORE_DEBUG as it is now."""
    declared = os.environ.get("FASTCORE_GATE_BUILD")
    if declared:
        return declared
    if os.environ.get("FASTCORE_DEBUG") == "1":
        return "debug: boundscheck, wraparound, initializedcheck, nonecheck on; -O0 -g"
    return "release: boundscheck, wraparound, initializedcheck off; cdivision on"


def environment(modules: dict) -> dict:
    """Where a run was measured. `modules` comes from the measuring process."""
    cython = _version("Cython")
    return {
        "commit": _git("rev-parse", "HEAD") or None,
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "python": "%s %s" % (platform.python_implementation(), platform.python_version()),
        "cython": cython,
        "orjson": _version("orjson"),
        "build": build_label(),
        "cflags": sysconfig.get_config_var("CFLAGS"),
        "modules": modules,
        "machine": "%s, %s CPUs" % (platform.machine(), os.cpu_count()),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def measure_in_process(passes: int, first: int, max_time: float) -> tuple:
    """One pytest process timing passes first, first + 1, ...; returns its
    pass records and the compiled modules it imported."""
    with tempfile.TemporaryDirectory(prefix="gate-") as tmpdir:
        out = os.path.join(tmpdir, "benchmarks.json")
        nodes = [reference_node(kind) for kind in REFERENCE_KINDS] + list(CASES.values())
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "-o", "addopts=", "-p", "bench.gate", "--gate-passes=%d" % passes,
                "--gate-first=%d" % first, *PYTEST_BENCH_ARGS,
                "--benchmark-max-time=%g" % max_time, "--benchmark-json=" + out, *nodes]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.exists(out):
            sys.stderr.write(proc.stdout[-8000:] + proc.stderr[-4000:])
            raise SystemExit("gate: the benchmarks failed (pytest exit %d)" % proc.returncode)
        benchmarks = load_json(out)["benchmarks"]
    modules = {}
    for bench in benchmarks:
        modules.update(bench.get("extra_info", {}).get("modules", {}))
    return split_passes(benchmarks, passes, CASES, first), modules


def measure(processes: int, passes: int, max_time: float) -> dict:
    """A run: `processes` pytest processes of `passes` passes each; the
    timings and the ratios. Several processes, because a process's memory
    layout can favour or penalise a case for as long as it lives."""
    started = time.monotonic()
    records = []
    for number in range(processes):
        done, modules = measure_in_process(passes, number * passes, max_time)
        records += done
    return {
        "format": FORMAT, "reference": REFERENCE, "env": environment(modules),
        "settings": {"processes": processes, "passes": passes, "max_time": max_time,
                     "pytest": PYTEST_BENCH_ARGS,
                     "seconds": round(time.monotonic() - started, 1)},
        "cases": CASES, "passes": records,
        "ratios": run_ratios(records, REFERENCE),
    }


def ratios_of(run: dict, reference: str, stat: str = "median") -> dict:
    """A run's ratios against `reference`, recomputed from its timings (the
    medians; stat="min" uses the minimums, for comparison only)."""
    return run_ratios(run["passes"], reference, stat)


# --- the pytest plugin: `run` loads this module with -p bench.gate ------------------

def pytest_addoption(parser):
    group = parser.getgroup("bench/gate.py")
    group.addoption("--gate-passes", type=int, default=None,
                    help="time the collected cases in this many passes")
    group.addoption("--gate-first", type=int, default=0,
                    help="the number of the first of those passes")


def pytest_collection_modifyitems(session, config, items):
    passes = config.getoption("--gate-passes")
    if not passes:
        return
    sequence = run_sequence(passes, CASES, config.getoption("--gate-first"))
    by_node = {item.nodeid: item for item in items}
    missing = sorted({node for _, _, node in sequence} - set(by_node))
    if missing:
        raise pytest.UsageError("bench/gate.py: cases not collected: %s" % ", ".join(missing))
    items[:] = [by_node[node] for _, _, node in sequence]


# --- commands -----------------------------------------------------------------------

def cmd_run(opts) -> int:
    run = measure(opts.processes, opts.passes, opts.max_time)
    save_json(opts.out, run)
    print(format_columns(("case", "ratio"),
                         [(name, "%.4g" % ratio) for name, ratio in run["ratios"].items()]))
    print("gate: %d processes x %d passes in %.0f s; wrote %s"
          % (opts.processes, opts.passes, run["settings"]["seconds"], opts.out))
    return 0


def cmd_check(opts) -> int:
    baseline = load_json(opts.baseline)
    paths = opts.results or [DEFAULT_OUT]
    runs = [load_json(path) for path in paths]
    if baseline["reference"] != REFERENCE:
        print("gate: %s was recorded against another reference (%r); record it again"
              % (opts.baseline, baseline["reference"]))
        return 2
    rows = compare(baseline, best_of([ratios_of(run, REFERENCE) for run in runs]),
                   opts.tolerance)
    print("gate: %s against %s (commit %s)%s" % (
        ", ".join(paths), opts.baseline, (baseline["recorded"].get("commit") or "?")[:12],
        "; each case's best of the %d runs" % len(runs) if len(runs) > 1 else ""))
    for note in env_warnings(baseline["recorded"], runs[0]["env"]):
        print("warning: " + note)
    print(format_table(rows))
    if failed(rows):
        print("gate: FAILED: slower than the baseline beyond tolerance, or a case is missing")
        return 1
    if any(row[5] == FASTER for row in rows):
        print("gate: passed; cases marked faster would tighten a new baseline "
              "(python bench/gate.py record)")
    else:
        print("gate: passed")
    return 0


def cmd_ci(opts) -> int:
    """run + check; on a failure, one more run, and a case fails only if it is
    slower in both (a busy minute on a shared machine is not a regression)."""
    first = opts.out
    second = str(Path(first).with_name(Path(first).stem + "-confirm.json"))
    check = argparse.Namespace(baseline=opts.baseline, tolerance=opts.tolerance, results=[first])
    settings = dict(processes=opts.processes, passes=opts.passes, max_time=opts.max_time)
    cmd_run(argparse.Namespace(out=first, **settings))
    status = cmd_check(check)
    if status != 1:
        return status
    print("gate: confirming on a second run")
    cmd_run(argparse.Namespace(out=second, **settings))
    check.results = [first, second]
    return cmd_check(check)


def cmd_record(opts) -> int:
    runs = ([load_json(path) for path in opts.results]
            or [measure(opts.processes, opts.passes, opts.max_time)])
    previous = load_json(opts.baseline) if os.path.exists(opts.baseline) else None
    baseline = make_baseline([ratios_of(run, REFERENCE) for run in runs], runs[-1]["env"],
                             REFERENCE, opts.floor, opts.margin, previous,
                             keep_tolerances=opts.keep_tolerances)
    save_json(opts.baseline, baseline)
    if "noise" in baseline and not opts.keep_tolerances:
        print(format_noise(baseline["noise"], opts.floor, opts.margin))
    else:
        print(format_columns(("case", "ratio", "tolerance"), [
            (name, "%.4g" % ratio, _fmt(baseline["tolerances"].get(name), ".0%"))
            for name, ratio in baseline["cases"].items()]))
    print("gate: wrote %s from %d run(s)" % (opts.baseline, len(runs)))
    return 0


def cmd_noise(opts) -> int:
    runs = [load_json(path) for path in opts.results]
    for reference in ("none", REFERENCE):
        print("reference: %s (%s of each case, %d runs)" % (reference, opts.stat, len(runs)))
        print(format_noise(noise([ratios_of(run, reference, opts.stat) for run in runs]),
                           opts.floor, opts.margin))
        print()
    return 0


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="bench/gate.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="time the cases and write their ratios")
    run.add_argument("--out", default=DEFAULT_OUT)
    check = sub.add_parser("check", help="compare a run with the baseline")
    check.add_argument("results", nargs="*",
                       help="runs (default %s); with several, each case's lowest "
                            "ratio counts" % DEFAULT_OUT)
    ci = sub.add_parser("ci", help="run and check; confirm a failure with a second run")
    ci.add_argument("--out", default=DEFAULT_OUT)
    record = sub.add_parser("record", help="write the baseline (from a new run if no RUN.json)")
    record.add_argument("results", nargs="*")
    record.add_argument("--baseline", default=DEFAULT_BASELINE)
    record.add_argument("--keep-tolerances", action="store_true",
                        help="keep the replaced baseline's tolerances (new runs all quiet)")
    spread_cmd = sub.add_parser("noise", help="spread of each case's ratio over several runs")
    spread_cmd.add_argument("results", nargs="+")
    spread_cmd.add_argument("--stat", choices=("median", "min"), default="median")
    for sp in (check, ci):
        sp.add_argument("--baseline", default=DEFAULT_BASELINE)
        sp.add_argument("--tolerance", type=float, default=None,
                        help="one tolerance for every case (0.25: 25%% slower), "
                             "instead of the baseline's own")
    for sp in (run, ci, record):
        sp.add_argument("--processes", type=_count, default=PROCESSES)
        sp.add_argument("--passes", type=_count, default=PASSES, help="passes per process")
        sp.add_argument("--max-time", type=float, default=MAX_TIME,
                        help="pytest-benchmark seconds per timing")
    for sp in (record, spread_cmd):
        sp.add_argument("--floor", type=float, default=TOLERANCE_FLOOR)
        sp.add_argument("--margin", type=float, default=TOLERANCE_MARGIN)
    return p.parse_args(argv)


def main(argv=None) -> int:
    opts = parse_args(argv)
    return {"run": cmd_run, "check": cmd_check, "ci": cmd_ci, "record": cmd_record,
            "noise": cmd_noise}[opts.command](opts)


# --- the gate's own benchmark cases (collected only when `run` names them) ----------

def _python_loop():
    # A fixed mix of what the interpreter spends its time on: integer
    # arithmetic, dict reads and writes, method calls.
    table = {}
    total = 0
    for i in range(300):
        key = i & 31
        table[key] = table.get(key, 0) + i
        total += (i * 7) % 13
    return total + len(table)


def _compiled_modules() -> dict:
    import importlib
    names = sorted(p.stem for p in Path(ROOT, "fastcore").glob("_*.pyx"))
    modules = [importlib.import_module("fastcore." + name) for name in names]
    return {m.__name__: os.path.relpath(m.__file__, ROOT) for m in modules}


@pytest.mark.parametrize("kind", REFERENCE_KINDS)
def test_reference(benchmark, kind):
    if kind == "python loop":
        fn, args = _python_loop, ()
        assert fn() == 1826
    else:
        import orjson
        from bench.app import PRICES
        fn, args = orjson.dumps, (PRICES,)
    benchmark.group = "gate: reference"
    benchmark.extra_info["modules"] = _compiled_modules()
    benchmark(fn, *args)


PRICES_REQUEST = b"GET /prices HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\r\n"


def test_protocol_prices(benchmark):
    """GET /prices through the protocol: the compiled serializer behind a route."""
    import orjson
    from bench.app import PRICES, build_app
    from bench.test_bench_protocol import NullTransport

    app = build_app()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(app.ready())
    proto = app._runtime(loop).protocol_factory()
    transport = NullTransport()
    proto.connection_made(transport)
    proto.data_received(PRICES_REQUEST)
    assert b"".join(transport.written).endswith(b"\r\n\r\n" + orjson.dumps(PRICES))
    transport.written.clear()

    def feed():
        proto.data_received(PRICES_REQUEST)
        transport.written.clear()
    benchmark.group = "protocol"
    benchmark(feed)
    proto.connection_lost(None)
    loop.close()


if __name__ == "__main__":
    sys.exit(main())
