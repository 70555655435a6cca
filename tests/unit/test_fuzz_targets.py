"""Each fuzz target (``fuzz/``) runs a fixed number of inputs and finds nothing.

The targets run as subprocesses (libFuzzer owns the process and exits on the
first failure), with a fixed seed so a run is repeatable. Without atheris
the tests skip, or fail where external inputs are required
(FASTCORE_REQUIRE_EXTERNAL=1, as in CI).
"""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.external import missing

ROOT = Path(__file__).resolve().parents[2]
# Runs per target: a few seconds each on a shared two-core machine.
RUNS = {"http1": 3000, "router": 20000, "ws_frames": 20000, "serializer": 20000}


@pytest.mark.parametrize("target", sorted(RUNS))
def test_fuzz_target(target, tmp_path):
    if importlib.util.find_spec("atheris") is None:
        missing("atheris is not installed (pip install atheris)")
    cmd = [sys.executable, "-m", "fuzz.%s" % target, "-runs=%d" % RUNS[target], "-seed=1",
           "-artifact_prefix=%s/" % tmp_path]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, "%s\n%s" % (" ".join(cmd), done.stderr[-3000:])
    assert "Done %d runs" % RUNS[target] in done.stderr
