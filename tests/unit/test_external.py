"""A missing external input skips on a user's clone and fails where it is required (CI)."""
from __future__ import annotations

import pytest

from tests import external


def test_missing_input_skips_with_its_reason(monkeypatch):
    monkeypatch.delenv(external.REQUIRE_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="corpus not in /x"):
        external.missing("corpus not in /x")


@pytest.mark.parametrize("value", ["1", "true"])
def test_missing_input_fails_when_required(monkeypatch, value):
    monkeypatch.setenv(external.REQUIRE_VARIABLE, value)
    with pytest.raises(pytest.fail.Exception, match="corpus not in /x"):
        external.missing("corpus not in /x")


def test_zero_does_not_require(monkeypatch):
    monkeypatch.setenv(external.REQUIRE_VARIABLE, "0")
    assert not external.required()
