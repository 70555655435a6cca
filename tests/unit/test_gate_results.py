"""fastcore.gate: ratios from pytest-benchmark JSON, verdicts, the table and the
`python -m fastcore gate` command, on made-up results."""
from __future__ import annotations

import json

import pytest

from fastcore import gate
from fastcore.cli import main as cli_main


def entry(name: str, median: float, reference: float | None = 1e-5,
          ref_id: str = gate.REFERENCE_ID) -> dict:
    """One --benchmark-json entry, as route_benchmark records it."""
    extra = {}
    if reference is not None:
        extra[gate.EXTRA_KEY] = {"route": "GET /x", "status": 200,
                                 "reference": {"id": ref_id, "seconds": reference}}
    return {"name": name.split("::")[-1], "fullname": name, "extra_info": extra,
            "stats": {"median": median, "min": median / 2}}


def results(*entries) -> dict:
    return {"machine_info": {}, "benchmarks": list(entries)}


def write(tmp_path, name: str, document) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


# --- ratios --------------------------------------------------------------------------

def test_case_ratio_is_the_median_over_the_reference_recorded_with_it():
    ratios = gate.case_ratios(results(entry("t.py::a", 2e-5, 1e-5), entry("t.py::b", 3e-6, 2e-5)))
    assert ratios == {"t.py::a": pytest.approx(2.0), "t.py::b": pytest.approx(0.15)}


def test_a_slower_machine_leaves_the_ratio_and_a_slower_case_raises_it():
    quiet = gate.case_ratios(results(entry("t.py::a", 2e-5, 1e-5)))
    busy = gate.case_ratios(results(entry("t.py::a", 5e-5, 2.5e-5)))
    slower = gate.case_ratios(results(entry("t.py::a", 5e-5, 1e-5)))
    assert busy["t.py::a"] == pytest.approx(quiet["t.py::a"])
    assert slower["t.py::a"] == pytest.approx(2.5 * quiet["t.py::a"])


def test_a_case_timed_twice_keeps_the_median_ratio():
    doc = results(entry("t.py::a", 1e-5), entry("t.py::a", 3e-5), entry("t.py::a", 2e-5))
    assert gate.case_ratios(doc) == {"t.py::a": pytest.approx(2.0)}


def test_benchmarks_without_a_reference_are_left_out_and_listed():
    doc = results(entry("t.py::a", 1e-5), entry("t.py::plain", 1e-5, reference=None))
    assert set(gate.case_ratios(doc)) == {"t.py::a"}
    assert gate.unjudged(doc) == ["t.py::plain"]


def test_results_without_any_reference_are_refused():
    with pytest.raises(gate.GateError, match="no case with a fastcore reference"):
        gate.case_ratios(results(entry("t.py::plain", 1e-5, reference=None)))
    with pytest.raises(gate.GateError, match="not a pytest-benchmark JSON"):
        gate.case_ratios({"cases": {}})


def test_results_timed_against_another_reference_are_refused():
    with pytest.raises(gate.GateError, match="another reference"):
        gate.case_ratios(results(entry("t.py::a", 1e-5, ref_id="something else")))


def test_an_unreadable_entry_is_refused():
    broken = entry("t.py::a", 1e-5)
    del broken["stats"]
    with pytest.raises(gate.GateError, match="unreadable entry"):
        gate.case_ratios(results(broken))


# --- comparison ----------------------------------------------------------------------

def test_compare_verdicts_with_one_tolerance():
    base = {"same": 1.0, "slower": 1.0, "faster": 1.0, "edge": 1.0, "gone": 1.0}
    now = {"same": 1.05, "slower": 1.3, "faster": 0.5, "edge": 1.25, "added": 5.0}
    rows = {row[0]: row for row in gate.compare(base, now, 0.25)}
    assert rows["same"][5] == "ok" and rows["same"][3] == pytest.approx(0.05)
    assert rows["slower"][5] == "SLOWER" and rows["slower"][4] == 0.25
    assert rows["faster"][5] == "faster"
    assert rows["edge"][5] == "ok"           # at the tolerance, not beyond it
    assert rows["gone"][5] == "MISSING" and rows["gone"][2] is None
    assert rows["added"][5] == "new" and rows["added"][1] is None
    assert gate.failed(list(rows.values()))


def test_compare_takes_a_tolerance_per_case_with_the_default_for_the_rest():
    rows = gate.compare({"a": 1.0, "b": 1.0}, {"a": 1.3, "b": 1.3}, {"a": 0.5})
    assert [(row[4], row[5]) for row in rows] == [(0.5, "ok"),
                                                  (gate.DEFAULT_TOLERANCE, "SLOWER")]


def test_faster_cases_never_fail():
    rows = gate.compare({"a": 1.0, "b": 1.0}, {"a": 0.01, "b": 0.99}, 0.0)
    assert [row[5] for row in rows] == ["faster", "faster"]
    assert not gate.failed(rows)


def test_best_of_several_runs_and_geomean():
    assert gate.best_of([{"a": 1.3, "b": 1.0}, {"a": 1.1, "c": 2.0}]) == {
        "a": 1.1, "b": 1.0, "c": 2.0}
    assert gate.geomean([2.0, 8.0]) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        gate.geomean([1.0, -1.0])


def test_failures_name_each_failing_case():
    rows = gate.compare({"t.py::a": 1.0, "t.py::b": 1.0, "t.py::c": 1.0},
                        {"t.py::a": 1.5, "t.py::c": 1.0}, 0.2)
    assert gate.failures(rows) == [
        "t.py::a is 50.0% slower than its baseline (tolerance 20%)",
        "t.py::b is in the baseline but not in the results"]


def test_format_table_has_a_row_per_case():
    rows = gate.compare({"t.py::test_prices": 0.0125, "gone": 1.0}, {"t.py::test_prices": 0.02})
    lines = gate.format_table(rows).splitlines()
    assert lines[0].split() == ["case", "baseline", "now", "change", "tolerance", "verdict"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["t.py::test_prices", "0.0125", "0.02", "+60.0%", "20%", "SLOWER"]
    assert lines[3].split() == ["gone", "1", "-", "-", "20%", "MISSING"]


# --- the command ---------------------------------------------------------------------

def run_cli(capsys, *argv) -> tuple:
    status = cli_main(["gate", *argv])
    return status, capsys.readouterr().out


def test_gate_passes_on_a_slower_machine(tmp_path, capsys):
    base = write(tmp_path, "base.json", results(entry("t.py::a", 2e-5, 1e-5),
                                                entry("t.py::b", 1e-5, 1e-5)))
    now = write(tmp_path, "now.json", results(entry("t.py::a", 6e-5, 3e-5),
                                              entry("t.py::b", 3.3e-5, 3e-5)))
    status, out = run_cli(capsys, now, "--baseline", base)
    assert status == 0, out
    assert "this machine 3.00x slower" in out
    assert "gate: passed (2 cases)" in out


def test_gate_fails_naming_the_slower_case(tmp_path, capsys):
    base = write(tmp_path, "base.json", results(entry("t.py::a", 2e-5), entry("t.py::b", 1e-5)))
    now = write(tmp_path, "now.json", results(entry("t.py::a", 2e-5), entry("t.py::b", 1.3e-5)))
    status, out = run_cli(capsys, now, "--baseline", base)
    assert status == 1
    assert "gate: FAILED: t.py::b is 30.0% slower than its baseline (tolerance 20%)" in out
    assert "t.py::a" in out and "FAILED: t.py::a" not in out
    status, out = run_cli(capsys, now, "--baseline", base, "--tolerance", "0.35")
    assert status == 0, out


def test_gate_fails_when_a_baseline_case_is_missing(tmp_path, capsys):
    base = write(tmp_path, "base.json", results(entry("t.py::a", 2e-5), entry("t.py::b", 1e-5)))
    now = write(tmp_path, "now.json", results(entry("t.py::a", 2e-5), entry("t.py::c", 1e-5)))
    status, out = run_cli(capsys, now, "--baseline", base)
    assert status == 1
    assert "t.py::b is in the baseline but not in the results" in out
    assert "new" in out


def test_gate_with_several_runs_takes_each_cases_best(tmp_path, capsys):
    base = write(tmp_path, "base.json", results(entry("t.py::a", 1e-5)))
    noisy = write(tmp_path, "noisy.json", results(entry("t.py::a", 1.6e-5)))
    calm = write(tmp_path, "calm.json", results(entry("t.py::a", 1.1e-5)))
    assert run_cli(capsys, noisy, "--baseline", base)[0] == 1
    status, out = run_cli(capsys, noisy, calm, "--baseline", base)
    assert status == 0 and "best of the 2 runs" in out


@pytest.mark.parametrize("problem, message", [
    ("missing", "cannot read"),
    ("not json", "is not JSON"),
    ("no reference", "no case with a fastcore reference"),
    ("disjoint", "no case is in both"),
])
def test_gate_refuses_unusable_input_with_status_2(tmp_path, capsys, problem, message):
    base = write(tmp_path, "base.json", results(entry("t.py::a", 1e-5)))
    content = {
        "missing": None,
        "not json": "{not json",
        "no reference": results(entry("t.py::a", 1e-5, reference=None)),
        "disjoint": results(entry("t.py::z", 1e-5)),
    }[problem]
    now = str(tmp_path / "absent.json") if content is None else write(tmp_path, "now.json",
                                                                        content)
    status, out = run_cli(capsys, now, "--baseline", base)
    assert status == 2
    assert out.startswith("gate: error: ") and message in out


def test_gate_command_refuses_a_negative_tolerance(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["gate", "now.json", "--baseline", "base.json", "--tolerance", "-0.1"])
    assert exc.value.code == 2
    assert "must be 0 or more" in capsys.readouterr().err
