"""The instruction-count script's own parts (bench/icount.py), without valgrind."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench import icount

CALLGRIND_TAIL = """\
==26176== Events    : Ir
==26176== Collected : 58879563
==26176==
==26176== I   refs:      58,879,563
"""


def test_parse_collected_reads_the_instruction_total():
    assert icount.parse_collected(CALLGRIND_TAIL) == 58879563


def test_parse_collected_refuses_output_without_a_count():
    with pytest.raises(RuntimeError, match="no instruction count"):
        icount.parse_collected("valgrind: command not found\n")


@pytest.mark.parametrize("module, route", [("bench.app", route) for route in sorted(
    icount.REQUESTS)] + [("bench.app_plugins", "json")])
def test_the_driver_serves_every_route(module, route):
    # The child the script runs under valgrind, run directly: it checks the
    # answer itself and exits non-zero on anything but 200.
    done = subprocess.run(
        [sys.executable, os.path.join(icount.ROOT, "bench", "icount.py"), "--child", icount.ROOT,
         module, route, "3"],
        cwd=icount.ROOT, env=dict(os.environ, PYTHONPATH=icount.ROOT),
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_unknown_routes_are_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        icount.main(["--routes", "json,nope"])
    assert exc.value.code == 2
    assert "nope" in capsys.readouterr().err
