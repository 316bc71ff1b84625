"""Small pools in which generated filters and rows meet, for the differential tests: what
makes Helicone's semantics hard (case, wildcards, backslashes, magic strings, non-ASCII
letters, NULL, the ends of DateTime, the 32-bit bind and the cost floor, UUIDs in both cases,
Int64 scores), per column family, and filters and rows drawn from them."""

from __future__ import annotations

from typing import Any

from conftest import NOW
from hypothesis import strategies as st
from strategies import COLUMNS, any_filter_text, per_table, tree

import helicone_filter
from helicone_filter.backends.clickhouse import COLUMN_TYPES
from helicone_filter.facts.schema import FIELDS
from helicone_filter.facts.semantics import like_escape_error

# Pools small enough that rows and filters meet, with what makes the semantics hard: case,
# wildcards, backslashes, magic strings, non-ASCII letters, NULL, the ends of DateTime, the
# 32-bit bind and the cost floor, UUIDs in both cases and the all-zero one, Int64 scores.
TEXT = [
    "",
    "a",
    "A",
    "ab",
    "aB",
    "a%",
    "a_b",
    "%",
    "_",
    "\\",
    "a\\b",
    "a\\%",
    "\\\\",
    "é",
    "É",
    "жЖ",
    "a\nb",
    "null",
    "__empty__",
    "'",
]
PATTERNS = ["%", "a%", "%b", "_", "a_", "%\\%", "a\\_b", "a\\b", "%\\\\%", "É%", "%ж%", "A%B"]
BOUNDS = [
    -1,
    0,
    1,
    2,
    2.5,
    10,
    0.1,
    1e-300,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    5_000_000_000,
    2**53 + 1,
]
INTEGERS = [-1, 0, 1, 2, 10, 2**31 - 1, 2**31, 705032704, 5_000_000_000, -5]
FLOATS = [-1.0, 0.0, 0.1, 2.5, 10.0, 1e-300, 705032704.0, 5e9]
COSTS = [0, 0.5, 1, 1.001, 1.000999999, 1e-9, 0.705032704, 2.147483647, 2.147483648, 5, -1]
ROW_COSTS = [0, 0.5, 1.001, 1.000999999, 0.705032704, 0.705032703, 5, 2.147483648, 1e-9]
UUIDS = [
    "00000000-0000-0000-0000-000000000000",
    "0f8fad5b-d9cb-469f-a165-70867728950e",
    "0F8FAD5B-D9CB-469F-A165-70867728950E",
    "7c9e6679-7425-40de-944b-e07fc1f90ae7",
]
FILTER_UUIDS = [*UUIDS, "0f8fad5bd9cb469fa16570867728950e"]
SCORES = ["0", "1", "+1", "-1", "01", "5", "-0", "9223372036854775807", "18446744073709551617"]
ROW_SCORES = [0, 1, -1, 5, 2**63 - 1, -(2**63)]
MAP_LITERALS = ["{}", "{'k':1}", "{'k': 1, 'K': -1}", "{'K':-1,'k':1}", "{ 'é' : 5 }"]
TIMES = [
    "1960-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00.500Z",
    "2025-01-01T00:00:00Z",
    "2025-01-01T00:00:00.500Z",
    "2025-01-01T00:00:30+02:00",
    "2106-02-07T06:28:15Z",
    "2150-01-01T00:00:00Z",
]
KEYS = ["k", "K", "a b", "", "é"]
OPERATORS = {
    "text": ["equals", "not-equals", "like", "ilike", "contains", "not-contains"],
    "number": ["equals", "not-equals", "gt", "gte", "lt", "lte"],
    "timestamp": ["equals", "gt", "gte", "lt", "lte"],
    "boolean": ["equals"],
    "property_key": ["equals"],
}


def _runs(op: str, value: str, magic: bool) -> bool:
    """Whether Helicone runs `op` with this string (see test_check for what it refuses)."""
    if op in ("like", "ilike") and like_escape_error(op, value) is not None:
        return False
    if magic and value == "null" and op in ("contains", "not-contains"):
        return False
    return not (magic and value == "__empty__" and op != "equals")


def condition_pool(name: str, keyed: bool, op: str) -> list[Any]:
    """The values a condition `{op: value}` on the field takes here."""
    f = FIELDS[name]
    family = "key" if keyed else f.family
    if keyed and name == "scores":
        return SCORES
    if family == "uuid":
        return [*FILTER_UUIDS, "null"] + (["__empty__"] if op == "equals" else [])
    if family == "scores_column":
        return [*MAP_LITERALS, "null"] + (["__empty__"] if op == "equals" else [])
    if f.kind in ("text", "property_key") or keyed:
        texts = TEXT + PATTERNS if op in ("like", "ilike") else TEXT
        return [t for t in texts if _runs(op, t, magic=f.kind == "text" and not keyed)]
    if family == "cost":
        return COSTS
    if f.kind == "number":
        return BOUNDS
    if f.kind == "timestamp":
        return TIMES
    return [True, False]


def operators_of(name: str, keyed: bool) -> list[str]:
    """The JSON operators Helicone runs on the field (on a key of it)."""
    f = FIELDS[name]
    kind = "text" if keyed else f.kind
    if f.family == "uuid":
        return ["equals", "not-equals"]
    if f.family == "scores_column" or (keyed and name == "scores"):
        return ["equals", "not-equals"]
    return OPERATORS[kind]


@st.composite
def engine_leaf(draw: st.DrawFn, table: str) -> Any:
    """A leaf, sometimes with several columns or operators (Helicone keeps one)."""
    columns: dict[str, Any] = {}
    # A family first, then a column of it: each is met as often as any other.
    by_family: dict[str, list[str]] = {}
    for name in COLUMNS[table]:
        by_family.setdefault(f"{FIELDS[name].kind}/{FIELDS[name].family}", []).append(name)
    column_of_a_kind = st.sampled_from(sorted(by_family)).flatmap(
        lambda family: st.sampled_from(by_family[family])
    )
    for column in draw(st.lists(column_of_a_kind, min_size=1, max_size=2, unique=True)):
        keyed = FIELDS[column].kind == "map"
        ops = draw(
            st.lists(
                st.sampled_from(operators_of(column, keyed)), min_size=1, max_size=2, unique=True
            )
        )
        operators = {op: draw(st.sampled_from(condition_pool(column, keyed, op))) for op in ops}
        columns[column] = {draw(st.sampled_from(KEYS)): operators} if keyed else operators
    return {table: columns}


def row_pool(name: str) -> list[Any]:
    """The values (and NULL) a row's column takes here; a map is a list of its values."""
    f = FIELDS[name]
    family, column = f.family, f.column or ""
    if family == "uuid":
        return [*UUIDS, None]
    if family == "cost":
        return [*ROW_COSTS, None]
    if family in ("bool", "cached"):
        return [True, False, None]
    if family == "feedback":
        return [0, 1, 5, True, None]
    if family == "scores":
        return ROW_SCORES
    if family == "map":
        return TEXT + PATTERNS
    if family == "int":
        if column.endswith("Int32"):
            return [n for n in INTEGERS if -(2**31) <= n < 2**31] + [None]
        if "UInt64" in column:
            return [n for n in INTEGERS if n >= 0] + [None]
        return [*INTEGERS, None]
    if family == "float":
        return [*FLOATS, None]
    if family == "datetime":  # per-user times: whole seconds, within DateTime's range
        return [t for t in TIMES[1:] if t < "2106"] + [None]
    if family == "datetime64":
        return [*TIMES[1:], None]  # DateTime64's range holds these
    return [*TEXT, *PATTERNS, None]


ROW_COLUMNS = [n for n in COLUMN_TYPES if n in FIELDS]


@st.composite
def engine_row(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ROW_COLUMNS:
        if draw(st.integers(0, 6)) == 0:
            continue  # a missing column is NULL (a missing map, no keys)
        pool = row_pool(name)
        if FIELDS[name].kind == "map":
            out[name] = draw(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(pool)))
        else:
            out[name] = draw(st.sampled_from(pool))
    return out


def universe() -> list[dict[str, Any]]:
    """Rows in which every column meets every value of its pool (and NULL), each column
    shifted differently, so that any generated condition meets every value it could test."""
    size = max(len(row_pool(n)) for n in ROW_COLUMNS)
    rows: list[dict[str, Any]] = []
    for i in range(2 * size):
        row: dict[str, Any] = {}
        for j, name in enumerate(ROW_COLUMNS):
            pool = row_pool(name)
            if FIELDS[name].kind == "map":
                row[name] = {
                    KEYS[(i + j + n) % len(KEYS)]: pool[(i * (n + 1) + 5 * j) % len(pool)]
                    for n in range(i % 3)
                }
            else:
                row[name] = pool[(i + 7 * j) % len(pool)]
        rows.append(row)
    return rows


def engine_tree(table: str) -> st.SearchStrategy[Any]:
    return tree(engine_leaf(table), 8)


@st.composite
def engine_filter(draw: st.DrawFn, tables: tuple[str, ...] | None = None) -> Any:
    """A FilterNode as JSON, or compiled from generated text (in, not, is null...); on the
    given tables only, when asked."""
    if tables is None and draw(st.integers(0, 3)) == 0:
        return helicone_filter.compile(draw(any_filter_text(small=True)), now=NOW)
    if tables is not None:
        parts = [draw(engine_tree(t)) for t in tables]
        if len(parts) == 1:
            return parts[0]
        return {"left": parts[0], "operator": "and", "right": parts[1]}
    return draw(per_table(engine_tree))
