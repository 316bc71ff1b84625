"""Hostile input: every reproducer of the sweep that found quadratic time, misread tables,
and inputs only Python can make. Each fails on the code before its fix.

Time is asserted only with a wide margin (the bug took seconds to minutes where the bound is a
fraction of that), so a slow machine does not fail them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest

import helicone_filter
from helicone_filter.errors import FilterError


def _seconds(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    with contextlib.suppress(FilterError):
        call()
    return time.perf_counter() - start


# -- text: linear in its length ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "call"),
    [
        # 26 s before: a search for the word before the error tried every position of it.
        ("a long word, then a dot", lambda: helicone_filter.compile("a" * 40_000 + ".")),
        ("the same, checked", lambda: helicone_filter.check_text("a" * 40_000 + ".")),
        ("the same, diagnosed", lambda: helicone_filter.diagnose("a" * 40_000 + ".")),
        # 3.4 s before: completion matched the field before the cursor with its own regex.
        ("a long run of x_", lambda: helicone_filter.complete("model " + "x_" * 2_560 + " < 1000")),
    ],
)
def test_no_quadratic_time(what: str, call: Callable[[], Any]) -> None:
    assert _seconds(call) < 2.0, what


def test_a_number_of_thousands_of_digits_is_our_error() -> None:
    """Python refuses to convert an integer of more than 4,300 digits (ValueError)."""
    with pytest.raises(FilterError) as info:
        helicone_filter.compile("latency > " + "9" * 5_000)
    (problem,) = info.value.problems
    assert problem.code == "number-out-of-range"
    assert (problem.start, problem.end) == (10, 5_010)
    assert "(5,000 characters) is too large for a double" in problem.message
    assert len(problem.message) < 100
    assert [p.code for p in helicone_filter.check_text("cost < -" + "1" * 400)] == [
        "number-out-of-range"
    ]
