"""matches(): Helicone's SQL semantics for one row, case by case, and a row value of the wrong
type as our error."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import NOW
from hypothesis import given, settings
from hypothesis import strategies as st

import helicone_filter
from helicone_filter import FilterValidationError, RowError, matches
from helicone_filter.facts.schema import FIELDS


def m(text: str, **row: Any) -> bool:
    return matches(helicone_filter.compile(text), row)


CASES: list[tuple[str, dict[str, Any], bool]] = [
    ('model = "gpt-4o"', {"model": "gpt-4o"}, True),
    ('model = "GPT-4o"', {"model": "gpt-4o"}, False),  # equals is case-sensitive
    ('model != "a"', {"model": None}, False),  # NULL compares false
    ('model != "a"', {}, False),  # a missing column is NULL
    ('model contains "GPT"', {"model": "gpt-4o"}, True),  # contains is case-insensitive
    ('model contains "4_"', {"model": "gpt-4o"}, True),  # _ is a wildcard inside contains
    ('model contains "g%o"', {"model": "gpt-4o"}, True),  # and so is %
    ('model not contains "4_"', {"model": "gpt-4o"}, False),
    ('model not contains "x"', {"model": None}, False),
    ('model like "gpt%"', {"model": "gpt-4o"}, True),
    ('model like "GPT%"', {"model": "gpt-4o"}, False),  # like is case-sensitive
    ('model ilike "GPT%"', {"model": "gpt-4o"}, True),
    ('model like "gpt-_o"', {"model": "gpt-4o"}, True),
    ('model like "100\\\\%"', {"model": "100%"}, True),  # \% is a literal %
    ('model like "100\\\\%"', {"model": "1000"}, False),
    ('model like "a%"', {"model": "a\nb"}, True),
    ('model like "a\\\\b"', {"model": "a\\b"}, True),  # \b: a literal backslash, then b
    ('model like "a\\\\b"', {"model": "ab"}, False),
    ('model contains "a\\\\"', {"model": "xa%"}, True),  # a trailing \ escapes the closing %
    ('request_created_at > "1960-01-01"', {"request_created_at": "1969-06-01T00:00:00Z"}, False),
    ('request_created_at < "2200-01-01"', {"request_created_at": "2150-01-01T00:00:00Z"}, False),
    ("model is null", {"model": None}, True),
    ("model is null", {"model": ""}, False),
    ("model is not null", {"model": ""}, True),
    ("model is empty", {"model": ""}, True),
    ("model is empty", {"model": None}, False),
    ('model like "null"', {"model": "null"}, False),  # "null" pasted as SQL null
    ('properties.k = "null"', {"properties": {"k": "null"}}, True),  # literal inside maps
    ('properties.k = "v"', {"properties": {"k": "v"}}, True),
    ('properties.k != "v"', {"properties": {}}, True),  # unguarded: a missing key reads as ''
    ('properties.k != "v"', {"properties": None}, True),
    ('properties.k = ""', {"properties": {"j": "v"}}, True),
    ('scores.k != "1"', {"scores": {}}, False),  # has(scores, k) guards
    ('scores.k = "+1"', {"scores": {"k": 1}}, True),  # compared as Int64
    ('properties["a b"] ilike "V%"', {"properties": {"a b": "value"}}, True),
    ('property_key = "k"', {"properties": {"k": ""}}, True),
    ('property_key = "k"', {"properties": {"j": "k"}}, False),
    ("cost > 1", {"cost": 1.5}, True),
    ("cost > 1", {"cost": None}, False),
    ("status in [200, 201]", {"status": 201}, True),
    ("status not in [200, 201]", {"status": 201}, False),
    ("cached", {"cached": True}, True),
    ("not cached", {"cached": False}, True),
    ("cached", {"cached": None}, False),
    ('request_created_at > "2025-01-01"', {"request_created_at": "2025-01-01T00:00:00.001Z"}, True),
    (
        'request_created_at > "2025-01-01T10:00+02:00"',
        {"request_created_at": "2025-01-01T08:00:01Z"},
        True,
    ),
    (
        'request_created_at = "2025-01-01T00:00:00Z"',
        {"request_created_at": datetime(2025, 1, 1, tzinfo=UTC)},
        True,
    ),
    # Helicone binds the filter's time as a DateTime: its milliseconds are dropped.
    (
        'request_created_at >= "2025-01-01T00:00:00.900Z"',
        {"request_created_at": "2025-01-01T00:00:00.100Z"},
        True,
    ),
    ('user_cost > 5 and model = "a"', {"user_cost": 6, "model": "a"}, True),
    ('user_cost > 5 and model = "a"', {"user_cost": 6, "model": "b"}, False),
    ('model = "a" or model = "b"', {"model": "b"}, True),
    ("all", {}, True),
]


@pytest.mark.parametrize(("text", "row", "expected"), CASES, ids=[c[0] for c in CASES])
def test_matches(text: str, row: dict[str, Any], expected: bool) -> None:
    assert m(text, **row) is expected


def test_several_columns_keep_what_helicone_keeps() -> None:
    # Helicone keeps the first column; for request_response_rmt `cost` outranks `model`.
    leaf = {"request_response_rmt": {"model": {"equals": "a"}, "cost": {"gt": 1}}}
    assert matches(leaf, {"model": "b", "cost": 2}) is True
    assert matches({"users_view": {"user_cost": {"gt": 5, "lt": 1}}}, {"user_cost": 6}) is True
    both = {
        "users_view": {"user_cost": {"gt": 5}},
        "request_response_rmt": {"model": {"equals": "a"}},
    }
    assert matches(both, {"user_cost": 6, "model": "b"}) is False  # tables are and-ed


def test_invalid_filters_are_refused() -> None:
    with pytest.raises(FilterValidationError):
        matches({"users_view": {"user_cost": {"gt": "5x"}}}, {})


# -- rows that no column holds ---------------------------------------------------------------------

# Values a careless or hostile caller puts in a row: the ends of a double, NaN, integers past
# any column, digits that are not ASCII, text that reads almost as a number or a moment.
ODD_VALUES = st.one_of(
    st.sampled_from(
        [
            1e300,
            -1e300,
            float("nan"),
            float("inf"),
            -float("inf"),
            10**400,
            -(10**5000),
            "²",
            "١٢",
            "+-1",
            "9" * 5000,
            " 1 ",
            "1e999",
            "nan",
            "2025-13-01",
            "\x00",
            "\ud800",
            True,
            None,
            [],
            {},
            {"k": float("nan")},
            {"k": "²"},
            {"\ud800": 1},
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31),
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.text(max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(
    text=st.sampled_from(
        [
            "cost > 1",
            "latency > 1",
            "user_cost > 1",
            "helicone-score-feedback",
            "cached",
            'scores.x = "1"',
            'scores_column = "{}"',
            'properties.k = "a"',
            'property_key = "k"',
            "request_created_at > now - 1d",
            "user_first_active > now - 1d",
            'request_id = "00000000-0000-0000-0000-000000000001"',
            'model contains "a"',
            "threat",
        ]
    ),
    column=st.sampled_from(sorted(FIELDS)),
    value=ODD_VALUES,
)
def test_a_row_no_column_holds_raises_row_error_only(text: str, column: str, value: Any) -> None:
    node = helicone_filter.compile(text, now=NOW)
    for row in ({column: value}, {column: {"x": value, "k": value}}):
        with contextlib.suppress(RowError):  # anything else fails the test
            assert matches(node, row) in (True, False)


def test_numbers_past_a_column_are_row_errors() -> None:
    for text, row in [
        ("cost > 1", {"cost": 1e300}),  # its nano-dollars overflow
        ("cost > 1", {"cost": float("nan")}),
        ("cost > 1", {"cost": 10**400}),
        ("latency > 1", {"latency": float("nan")}),  # an Int column holds no NaN
        ("helicone-score-feedback", {"helicone-score-feedback": float("inf")}),
        ('scores.x = "1"', {"scores": {"x": "²"}}),  # isdigit, but no digits ClickHouse reads
        ('scores.x = "1"', {"scores": {"x": "+-1"}}),
    ]:
        with pytest.raises(RowError):
            m(text, **row)
    assert m("user_cost > 1", user_cost=float("inf")) is True  # a Float64 column holds it


# -- a row value of the wrong type ----------------------------------------------------------------


@pytest.mark.hostile
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


@pytest.mark.parametrize(
    ("node", "row"),
    [
        ({"request_response_rmt": {"model": {"equals": "x"}}}, {"model": 10**5000}),
        (
            {"request_response_rmt": {"properties": {"a": {"equals": "x"}}}},
            {"properties": {"a": 10**5000}},
        ),
    ],
)
def test_a_number_too_long_to_write_as_text_is_a_row_error(node: Any, row: Any) -> None:
    with pytest.raises(RowError, match="holds text"):
        matches(node, row)
