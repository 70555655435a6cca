"""Benchmark gate: judge benchmark results against a baseline by ratios.

How this works
--------------
A timing alone says little on a shared or unknown machine: the same code
reads tens of per cent faster or slower from one minute to the next. So a
case is judged by its *ratio*: its median time divided by the time of a
fixed reference workload sampled in the same process, one sample before each
timed round of the case (``route_benchmark`` in ``fastcore.testing`` records
that reference in each case's ``extra_info``, under ``EXTRA_KEY``). A slower
machine slows both and leaves the ratio; a slower route raises it.

``compare`` turns two ``{case: ratio}`` dicts (the baseline's and the run's)
into rows: change = now / baseline - 1, and a case whose change is above its
tolerance is ``SLOWER``. A case of the baseline missing from the run is
``MISSING`` (a renamed or deleted case needs a new baseline, on purpose);
both fail. Faster cases never fail (``faster`` beyond the tolerance, else
``ok``), and a case the baseline lacks is ``new``. Given several runs, each
case's lowest ratio counts (``best_of``): a re-run confirms a failure or
clears a noisy minute.

``run_gate`` is ``python -m fastcore gate RESULTS ... --baseline BASELINE``:
both are pytest-benchmark ``--benchmark-json`` files (a baseline is simply
the results file of an earlier run). Exit status: 0 passed, 1 a regression
(the failing cases are named), 2 unusable input (``GateError``). The pure
functions here are also the comparison behind ``bench/gate.py``.
"""
from __future__ import annotations

import json
import math
import statistics
from typing import Callable, Iterable, Mapping

__all__ = ["DEFAULT_TOLERANCE", "EXTRA_KEY", "REFERENCE_ID", "GateError", "best_of",
           "case_ratios", "compare", "failed", "format_table", "geomean", "run_gate"]

DEFAULT_TOLERANCE = 0.20
EXTRA_KEY = "fastcore"
# Names the reference workload and how it is timed; results recorded against
# another one cannot be compared (their ratios are on another scale).
REFERENCE_ID = "python loop + orjson, one sample before each round of a case (1)"
FASTER = "faster"    # the verdict of a case faster than its baseline beyond tolerance
FAILING = ("SLOWER", "MISSING")


class GateError(ValueError):
    """Input the gate cannot judge: exit status 2."""


# --- pure parts ----------------------------------------------------------------------

def geomean(values: Iterable[float]) -> float:
    values = list(values)
    if not values or any(v <= 0 for v in values):
        raise ValueError("geometric mean of %r" % (values,))
    return math.exp(sum(math.log(v) for v in values) / len(values))


def best_of(runs: list) -> dict:
    """{case: its lowest ratio over `runs`}: a case counts as slower only if it
    was slower in every run."""
    names = list(dict.fromkeys(name for run in runs for name in run))
    return {name: min(run[name] for run in runs if name in run) for name in names}


def compare(baseline: Mapping[str, float], now: Mapping[str, float],
            tolerance: float | Mapping[str, float] = DEFAULT_TOLERANCE) -> list:
    """One row per case: (case, baseline ratio, ratio now, change, tolerance, verdict).

    `tolerance` is one fraction for every case (0.2: 20% slower) or
    {case: fraction}, DEFAULT_TOLERANCE for a case it lacks. Verdicts: "ok";
    "SLOWER" (fails); "MISSING" (in the baseline, not now: fails); "faster"
    (beyond tolerance: passes); "new" (not in the baseline: passes)."""
    rows = []
    for case, base in baseline.items():
        tol = (tolerance.get(case, DEFAULT_TOLERANCE) if isinstance(tolerance, Mapping)
               else tolerance)
        if case not in now:
            rows.append((case, base, None, None, tol, "MISSING"))
            continue
        change = now[case] / base - 1
        verdict = "SLOWER" if change > tol else FASTER if change < -tol else "ok"
        rows.append((case, base, now[case], change, tol, verdict))
    for case, ratio in now.items():
        if case not in baseline:
            rows.append((case, None, ratio, None, None, "new"))
    return rows


def failed(rows: list) -> bool:
    return any(row[5] in FAILING for row in rows)


def format_columns(header: tuple, body: list) -> str:
    """A plain text table: the first column left-aligned, the others right-aligned."""
    lines = [header, header] + body
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    lines[1] = tuple("-" * w for w in widths)
    return "\n".join(
        "  ".join(cell.ljust(widths[0]) if j == 0 else cell.rjust(widths[j])
                  for j, cell in enumerate(line)).rstrip()
        for line in lines)


def format_cell(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(rows: list) -> str:
    return format_columns(
        ("case", "baseline", "now", "change", "tolerance", "verdict"),
        [(case, format_cell(base, ".4g"), format_cell(now, ".4g"), format_cell(change, "+.1%"),
          format_cell(tol, ".0%"), verdict) for case, base, now, change, tol, verdict in rows])


def failures(rows: list) -> list:
    """One sentence per failing row, naming the case."""
    out = []
    for case, _base, _now, change, tol, verdict in rows:
        if verdict == "SLOWER":
            out.append("%s is %.1f%% slower than its baseline (tolerance %.0f%%)"
                       % (case, 100 * change, 100 * tol))
        elif verdict == "MISSING":
            out.append("%s is in the baseline but not in the results" % case)
    return out


# --- pytest-benchmark results ---------------------------------------------------------

def reference_of(bench: dict) -> dict | None:
    """The reference recorded with one benchmark entry, or None."""
    extra = (bench.get("extra_info") or {}).get(EXTRA_KEY)
    if not isinstance(extra, dict) or not isinstance(extra.get("reference"), dict):
        return None
    return extra["reference"]


def case_ratios(results: dict, source: str = "results") -> dict:
    """{case (pytest node id): median time / reference time} of a
    --benchmark-json document; a case timed more than once keeps the median
    of its ratios. Entries without a fastcore reference are left out."""
    if not isinstance(results, dict) or not isinstance(results.get("benchmarks"), list):
        raise GateError("%s is not a pytest-benchmark JSON file (no \"benchmarks\" list)"
                        % source)
    ratios: dict = {}
    for bench in results["benchmarks"]:
        ref = reference_of(bench)
        if ref is None:
            continue
        if ref.get("id") != REFERENCE_ID:
            raise GateError("%s: %s was timed against another reference (%r, expected %r); "
                            "measure both files with the same fastcore"
                            % (source, bench.get("fullname"), ref.get("id"), REFERENCE_ID))
        try:
            name, median = bench["fullname"], float(bench["stats"]["median"])
            ratio = median / float(ref["seconds"])
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            raise GateError("%s: an unreadable entry (%s: %s)"
                            % (source, type(exc).__name__, exc)) from exc
        ratios.setdefault(name, []).append(ratio)
    if not ratios:
        raise GateError("%s has no case with a fastcore reference: time routes with the "
                        "route_benchmark fixture (and not with --benchmark-disable)" % source)
    return {name: statistics.median(values) for name, values in ratios.items()}


def reference_seconds(results: dict) -> float:
    """The median reference time of a run (seconds), to show the machine's speed."""
    return statistics.median(ref["seconds"] for ref in map(reference_of, results["benchmarks"])
                             if ref is not None)


def unjudged(results: dict) -> list:
    """Benchmarks of a run that carry no reference (not timed by route_benchmark)."""
    return [bench.get("fullname", "?") for bench in results["benchmarks"]
            if reference_of(bench) is None]


# --- the command ----------------------------------------------------------------------

def load_results(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise GateError("cannot read %s: %s" % (path, exc.strerror or exc)) from exc
    except ValueError as exc:
        raise GateError("%s is not JSON: %s" % (path, exc)) from exc


def _speed_note(base_ref: float, now_ref: float) -> str:
    factor = now_ref / base_ref
    pace = ("as fast" if round(factor, 2) == 1 else "%.2fx slower" % factor if factor > 1
            else "%.2fx faster" % (1 / factor))
    return ("reference: %.3g us in the baseline, %.3g us now (this machine %s; "
            "the ratios already allow for it)" % (1e6 * base_ref, 1e6 * now_ref, pace))


def judge(results_paths: list, baseline_path: str, tolerance: float) -> tuple:
    """(rows, lines to print before the table); raises GateError."""
    baseline = load_results(baseline_path)
    base_ratios = case_ratios(baseline, baseline_path)
    runs = [load_results(path) for path in results_paths]
    now = best_of([case_ratios(run, path) for run, path in zip(runs, results_paths)])
    if not set(base_ratios) & set(now):
        raise GateError("no case is in both %s and %s (baseline cases: %s)" % (
            baseline_path, ", ".join(results_paths), ", ".join(sorted(base_ratios))))
    notes = ["gate: %s against %s%s" % (
        ", ".join(results_paths), baseline_path,
        "; each case's best of the %d runs" % len(runs) if len(runs) > 1 else "")]
    notes.append(_speed_note(reference_seconds(baseline), reference_seconds(runs[0])))
    skipped = sorted(set(name for run in runs for name in unjudged(run)))
    if skipped:
        notes.append("not judged (no fastcore reference): " + ", ".join(skipped))
    return compare(base_ratios, now, tolerance), notes


def run_gate(results_paths: list, baseline_path: str, tolerance: float = DEFAULT_TOLERANCE,
             out: Callable[[str], object] = print) -> int:
    """Compare, print the table; 0 passed, 1 regression, 2 unusable input."""
    try:
        rows, notes = judge(results_paths, baseline_path, tolerance)
    except GateError as exc:
        out("gate: error: %s" % exc)
        return 2
    for note in notes:
        out(note)
    out(format_table(rows))
    if failed(rows):
        for sentence in failures(rows):
            out("gate: FAILED: " + sentence)
        return 1
    out("gate: passed (%d cases)" % sum(row[5] != "new" for row in rows))
    return 0
