"""tests/cases/identity.txt: every canonical filter prints back to itself."""

from __future__ import annotations

import pytest
from conftest import CASES

import helicone_filter

LINES = [
    line
    for line in (CASES / "identity.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]


def test_there_are_at_least_a_hundred() -> None:
    assert len(LINES) >= 100
    assert len(set(LINES)) == len(LINES)


@pytest.mark.parametrize("line", LINES)
def test_prints_back_to_itself(line: str) -> None:
    compiled = helicone_filter.compile(line)
    assert helicone_filter.to_text(compiled) == line
    assert helicone_filter.to_text(helicone_filter.parse(line)) == line
