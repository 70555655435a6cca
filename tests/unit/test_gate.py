"""The pure parts of the benchmark gate (bench/gate.py), on made-up timings."""
from __future__ import annotations

import json
import math

import pytest

from bench import gate

CASES = {"a": "x.py::test_a", "b": "x.py::test_b"}
REF = gate.reference_key


def times(a: float, b: float, refs=(1e-5, 1e-5, 1e-5)) -> dict:
    """One pass's timings: case a ran between slots 0 and 1, b between 1 and 2."""
    out = {"a": a, "b": b}
    out.update({REF(slot): ref for slot, ref in enumerate(refs)})
    return out


def one_pass(a: float, b: float, refs=(1e-5, 1e-5, 1e-5), order=("a", "b")) -> dict:
    return {"order": list(order), "median": times(a, b, refs),
            "min": times(a / 2, b / 2, refs)}


def baseline(cases: dict, tolerances: dict | None = None) -> dict:
    return {"format": gate.FORMAT, "reference": gate.REFERENCE, "cases": cases,
            "tolerances": tolerances or {}, "recorded": {}}


# --- the order of a run --------------------------------------------------------------

def test_pass_order_alternates_direction():
    assert gate.pass_order(0, CASES) == ["a", "b"]
    assert gate.pass_order(1, CASES) == ["b", "a"]
    assert gate.pass_order(2) == list(gate.CASES)
    assert gate.pass_order(3) == list(gate.CASES)[::-1]


def test_pass_timings_put_a_reference_slot_around_every_case():
    timings = gate.pass_timings(0, CASES)
    assert [key for key, _ in timings] == [REF(0), "a", REF(1), "b", REF(2)]
    assert [node for _, node in timings][1::2] == ["x.py::test_a", "x.py::test_b"]
    kinds = [node for _, node in timings][0::2]
    assert kinds == [gate.reference_node(k) for k in
                     ("python loop", "orjson /prices", "python loop")]


def test_every_case_sits_between_one_reference_of_each_kind():
    for index in range(4):
        nodes = [node for _, node in gate.pass_timings(index)]
        for i in range(1, len(nodes), 2):
            assert {nodes[i - 1], nodes[i + 1]} == {
                gate.reference_node(kind) for kind in gate.REFERENCE_KINDS}


def test_run_sequence_never_repeats_an_item_back_to_back():
    for cases in (CASES, {"a": "x::a"}, gate.CASES):
        nodes = [node for _, _, node in gate.run_sequence(4, cases)]
        assert all(x != y for x, y in zip(nodes, nodes[1:]))


def test_run_sequence_numbers_the_passes():
    sequence = gate.run_sequence(2, CASES)
    assert [(i, key) for i, key, _ in sequence] == [
        (0, REF(0)), (0, "a"), (0, REF(1)), (0, "b"), (0, REF(2)),
        (1, REF(0)), (1, "b"), (1, REF(1)), (1, "a"), (1, REF(2))]


def bench_entry(node: str, median: float) -> dict:
    return {"fullname": node, "stats": {"median": median, "min": median / 2}}


def test_split_passes_reads_the_timings_in_the_order_they_ran():
    sequence = gate.run_sequence(2, CASES)
    entries = [bench_entry(node, float(n + 1)) for n, (_, _, node) in enumerate(sequence)]
    records = gate.split_passes(entries, 2, CASES)
    assert [r["order"] for r in records] == [["a", "b"], ["b", "a"]]
    assert records[0]["median"] == {REF(0): 1.0, "a": 2.0, REF(1): 3.0, "b": 4.0, REF(2): 5.0}
    assert records[1]["median"]["b"] == 7.0 and records[1]["min"]["b"] == 3.5


def test_split_passes_of_a_later_process_continue_the_numbering():
    sequence = gate.run_sequence(1, CASES, first=3)
    assert [i for i, _, _ in sequence] == [3] * 5
    entries = [bench_entry(node, float(n + 1)) for n, (_, _, node) in enumerate(sequence)]
    (record,) = gate.split_passes(entries, 1, CASES, first=3)
    assert record["order"] == ["b", "a"]
    assert record["median"]["b"] == 2.0


def test_split_passes_refuses_timings_out_of_order_or_missing():
    sequence = gate.run_sequence(1, CASES)
    entries = [bench_entry(node, 1e-6) for _, _, node in sequence]
    with pytest.raises(ValueError, match="expected 5 timings, got 4"):
        gate.split_passes(entries[:-1], 1, CASES)
    entries[1], entries[3] = entries[3], entries[1]
    with pytest.raises(ValueError, match="test_b where x.py::test_a was expected"):
        gate.split_passes(entries, 1, CASES)


# --- ratios --------------------------------------------------------------------------

def test_geomean_of_values_and_refusal_of_empty_or_non_positive():
    assert gate.geomean([2.0, 8.0]) == pytest.approx(4.0)
    assert gate.geomean([3.0]) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        gate.geomean([])
    with pytest.raises(ValueError):
        gate.geomean([1.0, 0.0])


def test_reference_time_is_the_geomean_of_the_slots_around_a_case():
    t = times(1.0, 1.0, refs=(1e-5, 4e-5, 9e-5))
    assert gate.reference_time(t, (0, 1)) == pytest.approx(2e-5)
    assert gate.reference_time(t, (1, 2)) == pytest.approx(6e-5)
    assert gate.reference_time(t, (0, 1), "none") == 1.0


def test_reference_time_without_the_slot_raises():
    t = times(1.0, 1.0)
    del t[REF(1)]
    with pytest.raises(KeyError, match="reference @1"):
        gate.reference_time(t, (0, 1))


def test_pass_ratios_divide_each_case_by_the_reference_around_it():
    ratios = gate.pass_ratios(times(2e-6, 3e-5, refs=(1e-5, 1e-5, 4e-5)), ["a", "b"])
    assert ratios == {"a": pytest.approx(0.2), "b": pytest.approx(1.5)}


def test_pass_ratios_follow_the_order_the_cases_ran_in():
    # b ran first (between slots 0 and 1), a second (between 1 and 2).
    t = {"b": 1e-5, "a": 8e-5, REF(0): 1e-5, REF(1): 1e-5, REF(2): 4e-5}
    assert gate.pass_ratios(t, ["b", "a"]) == {"b": pytest.approx(1.0), "a": pytest.approx(4.0)}


def test_pass_ratios_leave_out_unmeasured_cases():
    t = times(2e-6, 3e-5)
    del t["b"]
    assert set(gate.pass_ratios(t, ["a", "b"])) == {"a"}


def test_ratio_is_unchanged_when_the_machine_slows_down_around_a_case():
    steady = gate.pass_ratios(times(2e-6, 3e-5, refs=(1e-5, 1e-5, 1e-5)), ["a", "b"])
    slowed = gate.pass_ratios(times(2e-6, 6e-5, refs=(1e-5, 2e-5, 2e-5)), ["a", "b"])
    assert slowed["b"] == pytest.approx(steady["b"])
    assert slowed["a"] == pytest.approx(steady["a"] / 2 ** 0.5)   # one of its slots slowed


def test_run_ratios_take_the_median_over_passes():
    passes = [one_pass(1e-6, 1e-5), one_pass(3e-6, 1e-5), one_pass(2e-6, 9e-5)]
    assert gate.run_ratios(passes) == {"a": pytest.approx(0.2), "b": pytest.approx(1.0)}
    assert gate.run_ratios(passes, stat="min")["a"] == pytest.approx(0.1)


def test_ratios_of_recomputes_from_the_timings():
    run = {"passes": [one_pass(2e-6, 4e-6)]}
    assert gate.ratios_of(run, gate.REFERENCE)["a"] == pytest.approx(0.2)
    assert gate.ratios_of(run, gate.REFERENCE, "min")["a"] == pytest.approx(0.1)
    assert gate.ratios_of(run, "none")["b"] == pytest.approx(4e-6)


def test_best_of_takes_each_cases_lowest_ratio():
    assert gate.best_of([{"a": 1.3, "b": 1.0}, {"a": 1.1, "b": 1.2, "c": 2.0}]) == {
        "a": 1.1, "b": 1.0, "c": 2.0}


# --- noise and tolerances ------------------------------------------------------------

def test_spread_reports_how_far_above_and_below_the_median():
    s = gate.spread([1.0, 0.9, 1.2])
    assert (s["median"], s["min"], s["max"]) == (1.0, 0.9, 1.2)
    assert s["slower"] == pytest.approx(0.2) and s["faster"] == pytest.approx(0.1)
    s = gate.spread([1.0, 0.5, 1.1, 1.0])
    assert s["slower"] == pytest.approx(0.1) and s["faster"] == pytest.approx(0.5)


def test_tolerance_is_margin_times_deviation_with_a_floor_rounded_up():
    assert gate.tolerance_for(0.01, floor=0.10, margin=2.0) == 0.10
    assert gate.tolerance_for(0.01) == gate.TOLERANCE_FLOOR
    assert gate.tolerance_for(0.071, floor=0.10, margin=2.0) == 0.15
    assert gate.tolerance_for(0.10, floor=0.10, margin=2.0) == 0.20
    assert gate.tolerance_for(0.0, floor=0.12, margin=3.0) == 0.12


def test_noise_covers_the_cases_present_in_every_run():
    spreads = gate.noise([{"a": 1.0, "b": 2.0}, {"a": 1.1}, {"a": 0.9, "b": 2.0}])
    assert set(spreads) == {"a"}
    assert spreads["a"]["slower"] == pytest.approx(0.1)


# --- comparison and verdicts ---------------------------------------------------------

def test_compare_verdicts():
    base = baseline({"same": 1.0, "slower": 1.0, "faster": 1.0, "edge": 1.0, "gone": 1.0},
                    {"slower": 0.2, "faster": 0.2, "edge": 0.25})
    now = {"same": 1.05, "slower": 1.3, "faster": 0.7, "edge": 1.25, "added": 5.0}
    rows = {row[0]: row for row in gate.compare(base, now)}
    assert rows["same"][5] == "ok" and rows["same"][4] == gate.TOLERANCE_FLOOR
    assert rows["same"][3] == pytest.approx(0.05)
    assert rows["slower"][5] == "SLOWER" and rows["slower"][3] == pytest.approx(0.3)
    assert rows["faster"][5] == "faster"
    assert rows["edge"][5] == "ok"          # at the tolerance, not beyond it
    assert rows["gone"][5] == "MISSING" and rows["gone"][2] is None
    assert rows["added"][5] == "new" and rows["added"][1] is None
    assert gate.failed(list(rows.values()))


def test_compare_override_replaces_every_tolerance():
    base = baseline({"a": 1.0}, {"a": 0.5})
    assert gate.compare(base, {"a": 1.3})[0][5] == "ok"
    assert gate.compare(base, {"a": 1.3}, override=0.2)[0][5] == "SLOWER"


def test_a_failure_not_confirmed_by_a_second_run_passes():
    base = baseline({"a": 1.0, "b": 1.0}, {"a": 0.2, "b": 0.2})
    first, second = {"a": 1.5, "b": 1.5}, {"a": 1.0, "b": 1.4}
    assert [row[5] for row in gate.compare(base, first)] == ["SLOWER", "SLOWER"]
    assert [row[5] for row in gate.compare(base, gate.best_of([first, second]))] == [
        "ok", "SLOWER"]


def test_failed_only_on_slower_or_missing():
    ok = [("a", 1.0, 1.0, 0.0, 0.1, "ok"), ("b", 1.0, 0.5, -0.5, 0.1, "faster"),
          ("c", None, 1.0, None, None, "new")]
    assert not gate.failed(ok)
    assert gate.failed(ok + [("d", 1.0, None, None, 0.1, "MISSING")])
    assert gate.failed(ok + [("e", 1.0, 2.0, 1.0, 0.1, "SLOWER")])


def test_format_table_has_one_line_per_case_and_the_verdicts():
    rows = gate.compare(baseline({"find: static": 0.0125, "gone": 1.0}, {"find: static": 0.2}),
                        {"find: static": 0.02})
    lines = gate.format_table(rows).splitlines()
    assert lines[0].split() == ["case", "baseline", "now", "change", "tolerance", "verdict"]
    assert len(lines) == 4
    assert lines[2].split() == ["find:", "static", "0.0125", "0.02", "+60.0%", "20%", "SLOWER"]
    assert lines[3].split() == ["gone", "1", "-", "-", "%.0f%%" % (100 * gate.TOLERANCE_FLOOR),
                                "MISSING"]


def test_env_warnings_name_what_differs():
    base = {"python": "CPython 3.11.7", "cython": "3.3.1", "orjson": "3.10", "build": "release"}
    assert gate.env_warnings(base, dict(base)) == []
    notes = gate.env_warnings(base, dict(base, build="debug", orjson="3.11"))
    assert [note.split()[0] for note in notes] == ["orjson", "build"]


# --- baselines -----------------------------------------------------------------------

def test_make_baseline_from_several_runs_sets_tolerances_from_their_slow_side():
    runs = [{"a": 1.0, "b": 2.0}, {"a": 1.1, "b": 2.0}, {"a": 0.95, "b": 2.02},
            {"a": 1.0, "b": 1.0}]
    base = gate.make_baseline(runs, {"commit": "abc"}, floor=0.10, margin=2.0)
    assert base["cases"] == {"a": 1.0, "b": 2.0}
    assert base["runs"] == 4 and base["reference"] == gate.REFERENCE
    assert base["tolerances"] == {"a": 0.2, "b": 0.10}
    assert base["tolerance_rule"] == {"floor": 0.10, "margin": 2.0}
    assert base["recorded"] == {"commit": "abc"}


def test_make_baseline_from_one_run_keeps_the_previous_tolerances():
    previous = baseline({"a": 1.0, "old": 1.0}, {"a": 0.3, "old": 0.5})
    base = gate.make_baseline([{"a": 1.2}], {}, previous=previous)
    assert base["cases"] == {"a": 1.2}
    assert base["tolerances"] == {"a": 0.3}
    assert "noise" not in base


def test_make_baseline_can_keep_the_previous_tolerances_over_quiet_runs():
    previous = baseline({"a": 1.0, "old": 1.0}, {"a": 0.3, "old": 0.5})
    runs = [{"a": 0.8, "b": 2.0}, {"a": 0.81, "b": 2.4}, {"a": 0.79, "b": 2.0}]
    base = gate.make_baseline(runs, {}, floor=0.10, margin=2.0, previous=previous,
                              keep_tolerances=True)
    assert base["cases"] == {"a": 0.8, "b": 2.0}
    assert base["tolerances"] == {"a": 0.3, "b": 0.4}
    assert base["noise"]["a"]["median"] == 0.8


def test_baseline_round_trip(tmp_path):
    runs = [{"a": 0.0123456789, "b": 2.0}, {"a": 0.0124, "b": 2.1}]
    env = {"commit": "0" * 40, "dirty": False, "python": "CPython 3.11.7",
           "cython": "3.3.1", "build": "release"}
    base = gate.make_baseline(runs, env)
    path = tmp_path / "sub" / "baseline.json"
    gate.save_json(path, base)
    loaded = gate.load_json(path)
    assert loaded == base
    assert json.loads(path.read_text())["cases"]["a"] == base["cases"]["a"]
    rows = gate.compare(loaded, loaded["cases"])
    assert [row[5] for row in rows] == ["ok", "ok"]
    assert all(row[3] == 0 for row in rows)


def test_committed_baseline_covers_every_case_with_a_tolerance():
    base = gate.load_json(gate.DEFAULT_BASELINE)
    assert base["reference"] == gate.REFERENCE
    assert set(base["cases"]) == set(gate.CASES)
    assert set(base["tolerances"]) == set(gate.CASES)
    assert all(0 < tol < 1 for tol in base["tolerances"].values())
    assert all(math.isfinite(r) and r > 0 for r in base["cases"].values())
    for key in ("commit", "python", "cython", "build"):
        assert base["recorded"].get(key)


# --- the pytest plugin ---------------------------------------------------------------

class FakeItem:
    def __init__(self, nodeid):
        self.nodeid = nodeid


class FakeConfig:
    def __init__(self, passes, first=0):
        self.options = {"--gate-passes": passes, "--gate-first": first}

    def getoption(self, name):
        return self.options[name]


def collected():
    nodes = [gate.reference_node(kind) for kind in gate.REFERENCE_KINDS]
    return [FakeItem(node) for node in nodes + list(gate.CASES.values())]


def test_plugin_repeats_the_items_into_the_run_sequence():
    items = collected()
    gate.pytest_collection_modifyitems(None, FakeConfig(3), items)
    assert [item.nodeid for item in items] == [node for _, _, node in gate.run_sequence(3)]
    items = collected()
    gate.pytest_collection_modifyitems(None, FakeConfig(2, first=3), items)
    assert [item.nodeid for item in items] == [
        node for _, _, node in gate.run_sequence(2, gate.CASES, 3)]


def test_plugin_leaves_other_sessions_alone():
    items = collected()
    gate.pytest_collection_modifyitems(None, FakeConfig(None), items)
    assert [item.nodeid for item in items] == [item.nodeid for item in collected()]


def test_plugin_refuses_a_run_without_every_case():
    items = collected()[:-1]
    with pytest.raises(pytest.UsageError, match="cases not collected"):
        gate.pytest_collection_modifyitems(None, FakeConfig(1), items)
