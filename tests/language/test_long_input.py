"""Long and deep input: long chains compile to shallow JSON, deep or long input fails cleanly,
time stays linear in the length of the text, and numbers of thousands of digits are our error.

Time is asserted only with a wide margin (the bugs took seconds to minutes where the bound is a
fraction of that), so a slow machine does not fail them."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from conftest import NOW, json_depth

import helicone_filter
from helicone_filter import FilterError, FilterSyntaxError, FilterValidationError


def _mixed_chain(n: int) -> str:
    """n comparison terms: numbers, strings, timestamps, and/or, parentheses."""
    terms = []
    for i in range(n):
        terms.append(
            [
                f'user_id = "u{i}"',
                f"latency > {i}",
                f'request_created_at >= "2024-01-0{1 + i % 9}T00:00:00Z"',
                f'(model = "m{i}" or latency < {i}.5)',
            ][i % 4]
        )
    return " and ".join(terms)


def _leaves(node: Any) -> int:
    count, stack = 0, [node]
    while stack:
        x = stack.pop()
        if "operator" in x:
            stack += [x["left"], x["right"]]
        else:
            count += 1
    return count


def test_ten_thousand_ids_in_a_list() -> None:
    ids = ", ".join(f'"id-{i}"' for i in range(10_000))
    result = helicone_filter.compile(f"user_id in [{ids}]")
    assert _leaves(result) == 10_000
    assert json_depth(result) <= 4 * 15  # 14 levels of branches, each two JSON objects deep
    text = json.dumps(result)
    assert json.loads(text) == result
    assert orjson.loads(orjson.dumps(result)) == result


def test_ten_thousand_mixed_terms() -> None:
    result = helicone_filter.compile(_mixed_chain(10_000), now=NOW)
    assert _leaves(result) == 10_000 + 10_000 // 4
    assert orjson.loads(orjson.dumps(result)) == json.loads(json.dumps(result))


def test_right_nesting_of_a_long_chain_is_as_deep_as_asked() -> None:
    ids = ", ".join(f"{i}" for i in range(401))
    result = helicone_filter.compile(f"status in [{ids}]", nesting="right")
    depth, node = 0, result
    while isinstance(node, dict) and "operator" in node:
        assert node["left"] == {"request_response_rmt": {"status": {"equals": depth}}}
        node, depth = node["right"], depth + 1
    assert depth == 400


def test_right_nesting_never_makes_a_tree_too_deep_for_helicone() -> None:
    ids = ", ".join(f"{i}" for i in range(2_000))
    with pytest.raises(FilterValidationError) as info:
        helicone_filter.compile(f"status in [{ids}]", nesting="right")
    assert [p.code for p in info.value.problems] == ["too-deep-for-helicone"]
    assert "balanced" in info.value.problems[0].hint
    # The default, balanced, nesting of the same chain is 11 levels deep.
    assert helicone_filter.compile(f"status in [{ids}]")["operator"] == "or"


def test_too_long() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        helicone_filter.compile("cached and threat", max_length=10)
    (problem,) = info.value.problems
    assert (problem.code, problem.start, problem.end) == ("too-long", 10, 17)
    assert "limit is 10" in problem.message


def test_default_length_limit_is_a_million_characters() -> None:
    text = "cached" + " " * (1_000_000 - 6)
    assert helicone_filter.compile(text) == {"request_response_rmt": {"cached": {"equals": True}}}
    with pytest.raises(FilterSyntaxError, match="1,000,001 characters"):
        helicone_filter.compile(text + " ")


@pytest.mark.parametrize("depth", [100, 101])
def test_parentheses_depth(depth: int) -> None:
    text = "(" * depth + "cached" + ")" * depth
    if depth <= 100:
        assert helicone_filter.compile(text) == {
            "request_response_rmt": {"cached": {"equals": True}}
        }
        return
    with pytest.raises(FilterSyntaxError) as info:
        helicone_filter.compile(text)
    (problem,) = info.value.problems
    assert (problem.code, problem.start, problem.end) == ("too-deep", 100, 101)


def test_not_counts_toward_depth() -> None:
    assert helicone_filter.compile("not " * 100 + "cached") == {
        "request_response_rmt": {"cached": {"equals": True}}
    }
    with pytest.raises(FilterSyntaxError) as info:
        helicone_filter.compile("not " * 101 + "cached")
    assert info.value.code == "too-deep"
    assert info.value.problems[0].start == 400


def test_half_a_million_open_parentheses_fail_fast_and_cleanly() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        helicone_filter.compile("(" * 500_000)
    assert info.value.code == "too-deep"


def test_raised_limits_never_recurse() -> None:
    """With the limits lifted, nesting far past Python's recursion limit still compiles."""
    depth = sys.getrecursionlimit() * 20
    text = "(" * depth + "not " * depth + "cached" + ")" * depth
    result = helicone_filter.compile(text, max_depth=3 * depth)
    assert result == {"request_response_rmt": {"cached": {"equals": True}}}


def test_alternating_groups_nest_as_written() -> None:
    text = "cost > 0"
    for i in range(1, 100):
        op = "and" if i % 2 else "or"
        text = f"(latency > {i} {op} {text})"
    result = helicone_filter.compile(text)
    assert json_depth(result) < 255 * 2
    assert orjson.loads(orjson.dumps(result)) == result


# -- hostile text: linear in its length, numbers of thousands of digits ----------------------


def _seconds(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    with contextlib.suppress(FilterError):
        call()
    return time.perf_counter() - start


# -- text: linear in its length ---------------------------------------------------------------


@pytest.mark.hostile
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


@pytest.mark.hostile
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
