"""to_clickhouse: the SQL it writes, and the rows ClickHouse (chdb, in-process) selects with it
against the rows `matches` selects: the two must agree on every generated filter and row."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import NOW
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import COLUMNS, any_filter_text, per_table, tree

import helicone_filter
from helicone_filter import FilterSyntaxError, FilterValidationError, matches
from helicone_filter.schema import FIELDS, REQUEST_RESPONSE_RMT, USERS_VIEW
from helicone_filter.semantics import like_escape_error

chdb = pytest.importorskip("chdb")

from helicone_filter.clickhouse import (  # noqa: E402 - after the skip
    LocalTable,
    column_names,
    create_table,
    param_text,
    quote_name,
    to_clickhouse,
)

R, U = REQUEST_RESPONSE_RMT, USERS_VIEW


# -- the SQL ---------------------------------------------------------------------------------

SQL = [
    ('model = "gpt-4o"', "`model` = {p0:String}", {"p0": "gpt-4o"}),
    ('model != "a"', "`model` != {p0:String}", {"p0": "a"}),
    ("model is null", "`model` IS NULL", {}),
    ("model is not null", "`model` IS NOT NULL", {}),
    ("model is empty", "empty(`model`)", {}),
    ('model != "__empty__"', "`model` != {p0:String}", {"p0": "__empty__"}),
    ('model like "null"', "`model` LIKE NULL", {}),
    ('model not contains "null"', "`model` NOT ILIKE NULL", {}),
    ('model like "gpt%"', "`model` LIKE {p0:String}", {"p0": "gpt%"}),
    ('model ilike "GPT%"', "`model` ILIKE {p0:String}", {"p0": "GPT%"}),
    ('model contains "4o"', "`model` ILIKE concat('%', {p0:String}, '%')", {"p0": "4o"}),
    (
        'model not contains "4o"',
        "`model` NOT ILIKE concat('%', {p0:String}, '%')",
        {"p0": "4o"},
    ),
    ("status >= 200", "`status` >= {p0:Int64}", {"p0": 200}),
    ("user_cost < 0.5", "`user_cost` < {p0:Float64}", {"p0": 0.5}),
    ("cached", "`cached` = {p0:Bool}", {"p0": True}),
    ("not `helicone-score-feedback`", None, None),  # not the language: a syntax error
    ("helicone-score-feedback", "`helicone-score-feedback` = {p0:Bool}", {"p0": True}),
    (
        'request_created_at >= "2025-01-01T10:00:00.750+02:00"',
        "`request_created_at` >= {p0:DateTime('UTC')}",
        {"p0": "2025-01-01 08:00:00"},  # in UTC, milliseconds dropped, as Helicone binds it
    ),
    (
        'request_created_at > "1900-01-01"',
        "`request_created_at` > {p0:DateTime('UTC')}",
        {"p0": "1970-01-01 00:00:00"},  # clamped, as ClickHouse's DateTime
    ),
    (
        'properties.env = "prod"',
        "has(`properties`, {p0:String}) AND `properties`[{p0:String}] = {p1:String}",
        {"p0": "env", "p1": "prod"},
    ),
    (
        'property_key = "env"',
        "has(`properties`, {p0:String})",
        {"p0": "env"},
    ),
    (
        'scores["a b"] = "null" or model = "x"',
        "(has(`scores`, {p0:String}) AND `scores`[{p0:String}] = {p1:String}) OR "
        "`model` = {p2:String}",
        {"p0": "a b", "p1": "null", "p2": "x"},
    ),
    (
        'status in [200, 201] and not (model = "a" or model = "b")',
        "(`status` = {p0:Int64} OR `status` = {p1:Int64}) AND `model` != {p2:String} AND "
        "`model` != {p3:String}",
        {"p0": 200, "p1": 201, "p2": "a", "p3": "b"},
    ),
    ("all", "true", {}),
]


@pytest.mark.parametrize(("text", "sql", "params"), SQL, ids=[s[0] for s in SQL])
def test_sql(text: str, sql: str | None, params: dict[str, Any] | None) -> None:
    if sql is None:
        with pytest.raises(FilterSyntaxError):
            to_clickhouse(text, now=NOW)
        return
    assert to_clickhouse(text, now=NOW) == (sql, params)


@given(text=any_filter_text())
def test_text_and_its_json_give_the_same_sql(text: str) -> None:
    # Text takes a shorter way (its JSON is not validated again, each leaf is one condition).
    assert to_clickhouse(text, now=NOW) == to_clickhouse(helicone_filter.compile(text, now=NOW))


def test_json_leaves_keep_what_helicone_keeps() -> None:
    # Helicone keeps the first operator; several tables in one leaf are anded.
    leaf = {U: {"user_cost": {"gt": 5, "lt": 10}}, R: {"model": {"equals": "x"}}}
    assert to_clickhouse(leaf) == (
        "`user_cost` > {p0:Int64} AND `model` = {p1:String}",
        {"p0": 5, "p1": "x"},
    )
    assert to_clickhouse({}) == ("true", {})


def test_a_long_chain_is_flat_sql() -> None:
    text = " or ".join(f"status = {i}" for i in range(3000))
    sql, params = to_clickhouse(text)
    assert "(" not in sql and len(params) == 3000
    deep: Any = "all"
    for i in range(3000):
        deep = {"left": {R: {"status": {"equals": i}}}, "operator": "and", "right": deep}
    sql, params = to_clickhouse(deep)
    assert sql.count(" AND ") == 3000 and "(" not in sql


def test_table_map() -> None:
    sql, _ = to_clickhouse(
        'model = "x" and user_cost > 1',
        table_map={R: "logs.requests", "model": "model_name", U: "users"},
    )
    assert sql == (
        "`logs`.`requests`.`model_name` = {p0:String} AND `users`.`user_cost` > {p1:Int64}"
    )
    assert column_names({"properties": "props"})["property_key"] == "`props`"
    with pytest.raises(ValueError, match="neither a table"):
        to_clickhouse("all", table_map={"modle": "m"})
    with pytest.raises(ValueError, match="non-empty string"):
        to_clickhouse("all", table_map={"model": ""})


def test_bad_filters_raise_our_errors() -> None:
    with pytest.raises(FilterSyntaxError):
        to_clickhouse("model = ")
    with pytest.raises(FilterValidationError):
        to_clickhouse({R: {"model": {"gt": 5}}})
    with pytest.raises(FilterValidationError):
        to_clickhouse('model like "50\\\\"')  # a lone trailing backslash: ClickHouse refuses it


def test_param_text() -> None:
    assert param_text("a'b\\c\n\t\0") == "a'b\\\\c\\n\\t\\0"
    assert param_text(True) == "true"
    assert param_text(2.5) == "2.5"
    assert param_text(datetime(2025, 1, 1, 10, tzinfo=UTC)) == "2025-01-01 10:00:00"


def test_create_table_has_a_column_per_field() -> None:
    ddl = create_table("t")
    for name, f in FIELDS.items():
        assert (quote_name(name) in ddl) is (f.kind != "property_key")


# -- ClickHouse against matches ---------------------------------------------------------------

# Pools small enough that rows and filters meet, with what makes the semantics hard: case,
# wildcards, backslashes, magic strings, non-ASCII letters, NULL, the ends of DateTime.
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
NUMBERS = [-1, 0, 1, 2, 2.5, 10, 0.1, 1e-300, 2**53 - 1]
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
# ClickHouse refuses a pattern ending in a lone backslash (the checker does too).
LIKE_PATTERNS = [p for p in TEXT + PATTERNS if like_escape_error("like", p) is None]
OPERATORS = {
    "text": ["equals", "not-equals", "like", "ilike", "contains", "not-contains"],
    "number": ["equals", "not-equals", "gt", "gte", "lt", "lte"],
    "timestamp": ["equals", "gt", "gte", "lt", "lte"],
    "boolean": ["equals"],
    "property_key": ["equals"],
}


@st.composite
def condition_value(draw: st.DrawFn, kind: str, op: str) -> Any:
    if kind in ("text", "map", "property_key"):
        if op in ("like", "ilike"):  # ClickHouse refuses a pattern ending in a lone backslash
            return draw(
                st.sampled_from([p for p in TEXT + PATTERNS if not like_escape_error(op, p)])
            )
        return draw(st.sampled_from(TEXT))
    if kind == "number":
        return draw(st.sampled_from(NUMBERS))
    if kind == "timestamp":
        return draw(st.sampled_from(TIMES))
    return draw(st.booleans())


@st.composite
def engine_leaf(draw: st.DrawFn, table: str) -> Any:
    """A leaf, sometimes with several columns or operators (Helicone keeps one)."""
    columns: dict[str, Any] = {}
    # A kind first, then a column of it: each kind is met as often as any other.
    by_kind: dict[str, list[str]] = {}
    for name in COLUMNS[table]:
        by_kind.setdefault(FIELDS[name].kind, []).append(name)
    column_of_a_kind = st.sampled_from(sorted(by_kind)).flatmap(
        lambda kind: st.sampled_from(by_kind[kind])
    )
    for column in draw(st.lists(column_of_a_kind, min_size=1, max_size=2, unique=True)):
        kind = FIELDS[column].kind
        ops = draw(
            st.lists(
                st.sampled_from(OPERATORS["text" if kind == "map" else kind]),
                min_size=1,
                max_size=2,
                unique=True,
            )
        )
        operators = {op: draw(condition_value(kind, op)) for op in ops}
        columns[column] = {draw(st.sampled_from(KEYS)): operators} if kind == "map" else operators
    return {table: columns}


def engine_tree(table: str) -> st.SearchStrategy[Any]:
    return tree(engine_leaf(table), 8)


@st.composite
def engine_filter(draw: st.DrawFn) -> Any:
    """A FilterNode as JSON, or compiled from generated text (in, not, is null...)."""
    if draw(st.integers(0, 3)) == 0:
        return helicone_filter.compile(draw(any_filter_text(small=True)), now=NOW)
    return draw(per_table(engine_tree))


@st.composite
def engine_row(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, f in FIELDS.items():
        if f.kind == "property_key" or draw(st.integers(0, 6)) == 0:
            continue  # a missing column is NULL (a missing map, no keys)
        if f.kind == "map":
            out[name] = draw(
                st.dictionaries(st.sampled_from(KEYS), st.sampled_from(TEXT + PATTERNS))
            )
        elif f.kind == "text":
            out[name] = draw(st.sampled_from(TEXT + PATTERNS))
        elif f.kind == "number":
            out[name] = draw(st.sampled_from(NUMBERS))
        elif f.kind == "timestamp":
            out[name] = draw(st.sampled_from(TIMES[1:]))  # DateTime64's range holds these
        else:
            out[name] = draw(st.booleans())
    return out


def universe() -> list[dict[str, Any]]:
    """Rows in which every column meets every value of its pool (and NULL), each column
    shifted differently, so that any generated condition meets every value it could test."""
    pools: dict[str, list[Any]] = {
        "text": [*TEXT, *PATTERNS, None],
        "number": [*NUMBERS, None],
        "timestamp": [*TIMES[1:], None],
        "boolean": [True, False, None],
    }
    texts = pools["text"][:-1]
    rows: list[dict[str, Any]] = []
    for i in range(2 * len(pools["text"])):
        row: dict[str, Any] = {}
        for j, (name, f) in enumerate(FIELDS.items()):
            if f.kind == "map":
                row[name] = {
                    KEYS[(i + j + n) % len(KEYS)]: texts[(i * (n + 1) + 5 * j) % len(texts)]
                    for n in range(i % 3)
                }
            elif f.kind != "property_key":
                pool = pools[f.kind]
                row[name] = pool[(i + 7 * j) % len(pool)]
        rows.append(row)
    return rows


UNIVERSE = universe()


@pytest.fixture(scope="module")
def universe_table() -> Iterator[LocalTable]:
    table = LocalTable(UNIVERSE)
    yield table
    table.drop()


# At least 500 generated filters in CI; fewer on a developer's machine.
CI = bool(os.environ.get("CI"))


FILTERS_RUN: list[Any] = []  # every filter the differential tests ran, to count them


@settings(max_examples=600 if CI else 150)
@given(obj=engine_filter())
def test_clickhouse_selects_what_matches_selects(universe_table: LocalTable, obj: Any) -> None:
    expected = [i for i, r in enumerate(UNIVERSE) if matches(obj, r)]
    assert universe_table.where(obj) == expected, to_clickhouse(obj)
    FILTERS_RUN.append(obj)


@settings(max_examples=150 if CI else 40)
@given(
    rows=st.lists(engine_row(), min_size=1, max_size=8),
    filters=st.lists(engine_filter(), min_size=3, max_size=3),
)
def test_on_generated_rows_too(rows: list[dict[str, Any]], filters: list[Any]) -> None:
    table = LocalTable(rows)
    try:
        for obj in filters:
            expected = [i for i, r in enumerate(rows) if matches(obj, r)]
            assert table.where(obj) == expected, (obj, to_clickhouse(obj))
            FILTERS_RUN.append(obj)
    finally:
        table.drop()


def test_the_differential_tests_ran_enough_filters() -> None:
    if not FILTERS_RUN:
        pytest.skip("the differential tests were not run in this session")
    distinct = {json.dumps(f, sort_keys=True) for f in FILTERS_RUN}
    # Hypothesis may repeat an example; count the distinct filters.
    assert len(distinct) >= (500 if CI else 100), len(distinct)


# Cases the generator met once, and the edges the semantics turn on, kept as examples.
EDGES: list[tuple[Any, dict[str, Any], bool]] = [
    ('model like "a\\\\b"', {"model": "a\\b"}, True),  # \b: a literal backslash, then b
    ('model like "a\\\\b"', {"model": "ab"}, False),
    ('model like "a\\\\%"', {"model": "a%"}, True),  # \%: a literal %
    ('model like "a\\\\%"', {"model": "ab"}, False),
    ('model like "a\\\\\\\\"', {"model": "a\\"}, True),  # \\: one literal backslash
    ('model contains "a\\\\"', {"model": "xa%"}, True),  # the closing % is escaped
    ('model contains "a\\\\"', {"model": "xa\\"}, False),
    ('model ilike "é"', {"model": "É"}, True),
    ('model like "a_b"', {"model": "aжb"}, True),  # _ is one character, not one byte
    ('model like "a%"', {"model": "a\nb"}, True),
    ('request_created_at > "1960-01-01"', {"request_created_at": "1969-06-01T00:00:00Z"}, False),
    ('request_created_at > "2200-01-01"', {"request_created_at": "2150-01-01T00:00:00Z"}, True),
    ('request_created_at = "2025-01-01T00:00:00.500Z"', {"request_created_at": "2025-01-01"}, True),
    ("model is empty", {"model": None}, False),
    ('properties.k = "null"', {"properties": {"k": "null"}}, True),
]


@pytest.mark.parametrize(("text", "row", "selected"), EDGES, ids=[e[0] for e in EDGES])
def test_edges(text: str, row: dict[str, Any], selected: bool) -> None:
    obj = helicone_filter.compile(text, now=NOW)
    assert matches(obj, row) is selected
    table = LocalTable([row])
    try:
        assert table.where(obj) == ([0] if selected else [])
    finally:
        table.drop()


# -- injection ----------------------------------------------------------------------------------

HOSTILE = [
    "'",
    '"',
    "\\",
    "\\'",
    "'; DROP TABLE requests; --",
    "') OR 1=1 --",
    "{p0:String}",
    "{p1:Int64}",
    "\x00",
    "a\x00b",
    "\n\r\t\b\f",
    "`",
    "$$",
    ":p0",
    "?",
    "%",
    "_",
    "é😀",
    "\u2028\u202e",
    "\\x41",
    "\\N",
]

BENIGN = "plain"


def _positions(value: str) -> list[tuple[str, Any, list[dict[str, Any]]]]:
    """(name, filter with `value` in one position, rows: the first is the one to select)."""
    return [
        (
            "text value",
            {R: {"model": {"equals": value}}},
            [{"model": value}, {"model": value + "x"}, {"model": BENIGN}],
        ),
        (
            "map value",
            {R: {"properties": {"k": {"equals": value}}}},
            [{"properties": {"k": value}}, {"properties": {"k": value + "x"}}],
        ),
        (
            "map key",
            {R: {"scores": {value: {"equals": "v"}}}},
            [{"scores": {value: "v"}}, {"scores": {value + "x": "v"}}, {"scores": {"k": "v"}}],
        ),
        (
            "property key",
            {R: {"property_key": {"equals": value}}},
            [{"properties": {value: ""}}, {"properties": {value + "x": ""}}],
        ),
        (
            "user id",
            {U: {"user_user_id": {"not-equals": value}}},
            [{"user_user_id": BENIGN}, {"user_user_id": value}],
        ),
    ]


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(h) for h in HOSTILE])
def test_hostile_values_are_bound_and_match_literally(value: str) -> None:
    for (name, obj, rows), (_, benign, _) in zip(
        _positions(value), _positions(BENIGN), strict=True
    ):
        sql, params = to_clickhouse(obj)
        # The SQL is the same text whatever the value: it only names parameters.
        assert sql == to_clickhouse(benign)[0], name
        assert value in params.values(), name
        table = LocalTable(rows)
        try:
            assert table.where(obj) == [0], name
            assert [i for i, r in enumerate(rows) if matches(obj, r)] == [0], name
        finally:
            table.drop()


@pytest.mark.parametrize("name", HOSTILE, ids=[repr(h) for h in HOSTILE])
def test_hostile_names_in_table_map_stay_names(name: str) -> None:
    column = column_names({"model": name})["model"]
    table = LocalTable()
    try:
        out = table.query(f"SELECT 1 AS {column}")
    finally:
        table.drop()
    assert [json.loads(line) for line in out.splitlines()] == [{name: 1}]


# -- the official client's binding -------------------------------------------------------------


def _bound_by_clickhouse_connect(sql: str, params: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The query and `param_` values clickhouse-connect would send to a server (no server
    needed: its binding is a pure function), named as chdb takes them."""
    binding = pytest.importorskip("clickhouse_connect.driver.binding")
    query, bound = binding.bind_query(sql, params)
    assert isinstance(query, str)
    return query, {k.removeprefix("param_"): v for k, v in bound.items()}


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(h) for h in HOSTILE])
def test_the_readme_client_binds_hostile_values_literally(value: str) -> None:
    for name, obj, rows in _positions(value):
        sql, params = to_clickhouse(obj)
        table = LocalTable(rows)
        try:
            query, bound = _bound_by_clickhouse_connect(
                f"SELECT _row FROM {quote_name(table.name)} WHERE {sql}", params
            )
            out = LocalTable._session.query(query, "JSONEachRow", params=bound).bytes()
            assert [json.loads(line)["_row"] for line in out.decode().splitlines()] == [0], name
        finally:
            table.drop()


def test_the_readme_client_binds_every_type() -> None:
    text = (
        'request_created_at > "2025-01-01T00:00:00.900Z" and cost >= 0.5 and status = 200 '
        "and cached and not threat"
    )
    rows = [
        {
            "request_created_at": "2025-01-01T00:00:01Z",
            "cost": 0.5,
            "status": 200,
            "cached": True,
            "threat": False,
        },
        {"request_created_at": "2025-01-01T00:00:00Z", "cost": 0.5, "status": 200},
    ]
    sql, params = to_clickhouse(text, now=NOW)
    table = LocalTable(rows)
    try:
        query, bound = _bound_by_clickhouse_connect(
            f"SELECT _row FROM {quote_name(table.name)} WHERE {sql}", params
        )
        out = LocalTable._session.query(query, "JSONEachRow", params=bound).bytes()
    finally:
        table.drop()
    assert [json.loads(line)["_row"] for line in out.decode().splitlines()] == [0]
    assert [i for i, r in enumerate(rows) if matches(helicone_filter.compile(text), r)] == [0]
