"""Hostile input: every reproducer of the sweep that found quadratic time, misread tables,
and inputs only Python can make. Each fails on the code before its fix.

Time is asserted only with a wide margin (the bug took seconds to minutes where the bound is a
fraction of that), so a slow machine does not fail them.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

import helicone_filter
from helicone_filter.api import load_json
from helicone_filter.errors import FilterError, FilterSyntaxError, RowError


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


# -- inputs only Python can make ----------------------------------------------------------------

LEAF = {"users_view": {"user_cost": {"gt": 5}}}


def _cycle() -> dict[str, Any]:
    branch: dict[str, Any] = {"operator": "and", "right": LEAF}
    branch["left"] = branch
    return branch


def _value_cycle() -> dict[str, Any]:
    items: list[Any] = ["a"]
    items.append(items)
    return {"request_response_rmt": {"model": {"equals": items}}}


@pytest.mark.parametrize(
    ("what", "obj", "path"),
    [
        ("a branch that contains itself", _cycle(), "$.left"),
        ("a value that contains itself", _value_cycle(), "$.request_response_rmt.model.equals[1]"),
        ("a key that is a number", {"users_view": {1: {"gt": 5}}}, "$.users_view"),
        ("a key that is None", {None: LEAF}, "$"),
        ("an integer too long to write", {"users_view": {"user_cost": {"gt": 10**5000}}}, None),
        ("a Decimal", {"users_view": {"user_cost": {"gt": Decimal("1.5")}}}, None),
        ("a set", {"request_response_rmt": {"model": {"equals": {"a"}}}}, None),
        ("bytes", {"request_response_rmt": {"model": {"equals": b"a"}}}, None),
        ("a tuple", {"request_response_rmt": {"model": {"equals": ("a",)}}}, None),
    ],
)
def test_what_is_not_json_is_a_problem_never_an_exception(
    what: str, obj: Any, path: str | None
) -> None:
    """Before: check looped while memory grew (a cycle), or raised AttributeError, ValueError,
    TypeError or RecursionError."""
    start = time.perf_counter()
    problems = helicone_filter.check(obj)
    assert time.perf_counter() - start < 2.0, what
    assert [p.code for p in problems] == ["not-json"], what
    if path is not None:
        assert problems[0].path == path
    for call in (helicone_filter.validate, helicone_filter.normalize, helicone_filter.to_text):
        with pytest.raises(FilterError):
            call(obj)
    with pytest.raises(FilterError):
        helicone_filter.matches(obj, {})
    with pytest.raises(FilterError):
        helicone_filter.to_clickhouse(obj)


def test_a_leaf_used_twice_is_no_cycle() -> None:
    # The same object twice is no cycle, so no not-json problem: only the analysis's word
    # that the condition is written twice.
    problems = helicone_filter.check({"left": LEAF, "operator": "or", "right": LEAF})
    assert [p.code for p in problems] == ["duplicate"]
    assert (
        helicone_filter.check({"left": LEAF, "operator": "or", "right": LEAF}, analyze=False) == []
    )


def test_subclasses_of_json_types_are_json() -> None:
    class Name(str):
        pass

    obj = OrderedDict({"users_view": {Name("user_cost"): {"gt": 5}}})
    assert helicone_filter.check(obj) == []
    assert helicone_filter.normalize(obj) == LEAF


@pytest.mark.parametrize(
    ("text", "row", "message"),
    [
        ("user_cost > 1", {"user_cost": "text"}, "row['user_cost'] is a string ('text'), but"),
        ("user_cost > 1", {"user_cost": True}, "user_cost holds a number"),
        ("request_created_at > now - 1d", {"request_created_at": "soon"}, "ISO 8601"),
        ("cached", {"cached": "yes"}, "cached holds true or false"),
        ('request_id = "00000000-0000-0000-0000-000000000000"', {"request_id": "x"}, "UUID"),
        ('properties.env = "a"', {"properties": ["env"]}, "properties holds a dict"),
        ("scores.a = 1", {"scores": {"a": "high"}}, "row['scores']['a'] is a string"),
        ("cached", [("cached", True)], "a row is a dict keyed by column name"),
    ],
)
def test_a_row_value_of_the_wrong_type_is_our_error(text: str, row: Any, message: str) -> None:
    """Before: a bare TypeError or ValueError, or a timestamp that does not read silently
    matched nothing."""
    compiled = helicone_filter.compile(text.replace("scores.a = 1", 'scores.a = "1"'))
    with pytest.raises(RowError, match=re.escape(message)):
        helicone_filter.matches(compiled, row)


def test_json_text_nested_too_deeply_is_our_error() -> None:
    """json.loads raises RecursionError on deep nesting; the command line printed it."""
    with pytest.raises(FilterSyntaxError) as info:
        load_json("[" * 100_000)
    assert info.value.problems[0].code == "json-too-deep"
    with pytest.raises(FilterSyntaxError) as info:
        load_json('{"a": }')
    assert info.value.problems[0].message == "not valid JSON: Expecting value at line 1, column 7"
