"""What tests do when something from outside the repository is missing.

Some tests read data that does not ship with the repository (the llhttp
request corpus beside it in ``shared/conformance``, test suites fetched from
PyPI at test time) or need a program the machine may lack (``redis-server``,
``openssl``). On a user's fresh clone such a test skips, and its reason says
what is missing and where it was looked for. CI sets
``FASTCORE_REQUIRE_EXTERNAL=1``: there the same condition fails the test, so a
green CI run can never mean "skipped because the data was not there".
"""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

REQUIRE_VARIABLE = "FASTCORE_REQUIRE_EXTERNAL"


def required() -> bool:
    """True when a missing external input must fail the test instead of skipping it."""
    return os.environ.get(REQUIRE_VARIABLE, "") not in ("", "0")


def missing(reason: str) -> None:
    """Skip the running test with ``reason``, or fail it when external inputs are required."""
    if required():
        pytest.fail("%s (%s=1: external inputs are required)" % (reason, REQUIRE_VARIABLE),
                    pytrace=False)
    pytest.skip(reason)


CACHE = Path(__file__).resolve().parents[1] / ".cache"


def fetch_sdist(name: str, version: str, subdir: str) -> Path:
    """``subdir`` of the pinned source distribution ``name==version`` from PyPI.

    Fetched once with ``pip download`` into ``.cache/<name>-<version>/`` at the
    repository root (git-ignored) and reused by later runs; only the members
    under ``subdir`` are unpacked, into a temporary folder renamed into place,
    so an interrupted fetch leaves nothing that looks complete. A fetch that
    fails goes through ``missing`` (skip here, failure where required).
    """
    root = CACHE / ("%s-%s" % (name, version))
    target = root / subdir
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--no-binary", ":all:", "%s==%s" % (name, version), "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        archives = list(Path(tmp).glob("*.tar.gz"))
        if done.returncode != 0 or not archives:
            missing("cannot fetch %s==%s (%s): %s"
                    % (name, version, " ".join(cmd), done.stderr[-500:]))
        prefix = "%s-%s/%s/" % (archives[0].name[:-len("-%s.tar.gz" % version)], version, subdir)
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(archives[0]) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix) and m.isfile()]
            try:
                tar.extractall(unpacked, members=members, filter="data")
            except TypeError:  # Python before 3.11.4: no extraction filters
                tar.extractall(unpacked, members=members)
        if not members:
            missing("%s==%s has no %s/ in its sdist" % (name, version, subdir))
        target.parent.mkdir(parents=True, exist_ok=True)
        (unpacked / prefix).rename(target)
    return target
