"""Arguments of the wrong type or value: every public function answers with the package's own
errors (jmespath's contract: it succeeds or raises our error; anything else is a bug), and
the common mistakes read clearly."""

from __future__ import annotations

import contextlib
import inspect
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from conftest import NOW
from hypothesis import given
from hypothesis import strategies as st

import helicone_filter as hf
from helicone_filter.backends.request_body import QueryError
from helicone_filter.errors import (
    FilterArgumentError,
    FilterError,
    FilterTypeError,
    RowError,
)

# Each public function that takes arguments, with arguments it takes: the first value of each
# is replaced by a wrong one in turn.
CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "compile": (
        ("cost > 1",),
        {"now": NOW, "nesting": "right", "max_length": 99, "max_depth": 9, "endpoint": "requests"},
    ),
    "compile_with_spans": (
        ("cost > 1",),
        {"now": NOW, "nesting": "right", "max_length": 99, "max_depth": 9, "endpoint": "requests"},
    ),
    "check_text": (
        ("cost > 1",),
        {"now": NOW, "max_length": 99, "max_depth": 9, "analyze": False, "endpoint": "requests"},
    ),
    "diagnose": (("cost > 1",), {"now": NOW, "analyze": False, "endpoint": "requests"}),
    "complete": (("cost > 1", 3), {"map_keys": {"properties": ["a"]}, "endpoint": "requests"}),
    "parse": (("cost > 1",), {"max_length": 99, "max_depth": 9}),
    "check": (
        ({"users_view": {"user_cost": {"gt": 5}}},),
        {"analyze": False, "endpoint": "user-metrics"},
    ),
    "validate": (("all",), {"endpoint": "requests"}),
    "normalize": (("all",), {"nesting": "right", "endpoint": "requests"}),
    "to_text": (("all",), {"endpoint": "requests"}),
    "simplify": (("cost > 1",), {"now": NOW, "endpoint": "requests"}),
    "matches": (
        ({"request_response_rmt": {"status": {"equals": 200}}}, {"status": 200}),
        {"endpoint": "requests"},
    ),
    "to_clickhouse": (
        ("cost > 1",),
        {
            "table_map": {"request_response_rmt": "t"},
            "now": NOW,
            "target": "rows",
            "endpoint": "requests",
        },
    ),
    "query_body": (("all",), {"endpoint": "requests", "limit": 5, "offset": 1, "now": NOW}),
    "count_body": (("all",), {"now": NOW}),
    "json_schema": (("filter",), {"endpoint": "requests"}),
    "build_chain": (([{"users_view": {"user_cost": {"gt": 5}}}] * 2, "and"), {"nesting": "right"}),
}

OURS = (FilterError, RowError, QueryError)

_ODD = st.sampled_from(
    [
        None,
        0,
        -1,
        2**70,
        1.5,
        math.nan,
        True,
        b"cost > 1",
        bytearray(b"x"),
        Decimal("1"),
        [],
        ["cost > 1"],
        (),
        {},
        {"a": 1},
        {1, 2},
        object(),
        "",
        "cost > 1",
        "\x00",
        "\ud800",
        datetime(2025, 1, 1),
        datetime(2025, 1, 1, tzinfo=UTC),
        "2025-01-01",
        print,
        type,
    ]
)


def test_the_table_holds_every_public_function() -> None:
    functions = {n for n in hf.__all__ if inspect.isfunction(getattr(hf, n))}
    assert functions - set(CALLS) == set()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_table_calls_succeed(name: str) -> None:
    args, named = CALLS[name]
    getattr(hf, name)(*args, **named)


@pytest.mark.parametrize("name", sorted(CALLS))
@given(data=st.data())
def test_only_our_errors_escape(name: str, data: st.DataObject) -> None:
    args, named = CALLS[name]
    slots = [*range(len(args)), *named]
    slot = data.draw(st.sampled_from(slots), label="argument")
    odd = data.draw(_ODD, label="value")
    args2, named2 = list(args), dict(named)
    if isinstance(slot, int):
        args2[slot] = odd
    else:
        named2[slot] = odd
    with contextlib.suppress(OURS):  # anything else is a bug
        getattr(hf, name)(*args2, **named2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: hf.compile({"users_view": {}}),  # type: ignore[arg-type]
            "compile takes filter text; for FilterNode JSON use check()/normalize()/to_text()",
        ),
        (lambda: hf.compile(123), "compile takes filter text (a str), not int 123"),  # type: ignore[arg-type]
        (
            lambda: hf.compile("cached", now="2025-01-01"),  # type: ignore[arg-type]
            "now must be an aware datetime, not str '2025-01-01'",
        ),
        (lambda: hf.check_text(None), "check_text takes filter text (a str), not NoneType None"),
        (
            lambda: hf.compile_with_spans(1.5),  # type: ignore[arg-type]
            "compile_with_spans takes filter text (a str), not float 1.5",
        ),
        (
            lambda: hf.compile("cached", endpoint=1),  # type: ignore[arg-type]
            "endpoint must be a string, not int 1",
        ),
        (
            lambda: hf.compile("cached", max_length="9"),  # type: ignore[arg-type]
            "max_length must be an int, not str '9'",
        ),
    ],
)
def test_a_wrong_type_is_a_type_error_of_ours(call: Any, message: str) -> None:
    with pytest.raises(FilterTypeError) as info:
        call()
    assert isinstance(info.value, TypeError) and isinstance(info.value, FilterError)
    (p,) = info.value.problems
    assert (p.code, p.message, p.line, p.column) == ("wrong-argument-type", message, None, None)
    assert p.hint
    assert str(info.value) == f"{message}\n  hint: {p.hint}"


def test_a_wrong_value_is_a_value_error_of_ours() -> None:
    with pytest.raises(FilterArgumentError) as info:
        hf.compile("cached", endpoint="sessions")
    assert isinstance(info.value, ValueError) and not isinstance(info.value, TypeError)
    assert info.value.code == "invalid-argument"
    assert "unknown endpoint 'sessions'" in str(info.value)


def test_check_of_filter_text_points_to_check_text() -> None:
    (p,) = hf.check("model = 1")
    assert p.code == "not-a-filter" and "check_text" in p.hint
    assert (p.line, p.column, p.path) == (None, None, "$")
    (p,) = hf.check('{"users_view": {}}')
    assert "json.loads" in p.hint
    assert hf.check("all") == []
