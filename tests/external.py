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
