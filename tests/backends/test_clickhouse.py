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
from engine_pools import engine_filter, engine_row, universe
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import any_filter_text

import helicone_filter
from helicone_filter import FilterSyntaxError, FilterValidationError, matches, to_clickhouse
from helicone_filter.facts.schema import FIELDS, REQUEST_RESPONSE_RMT, USERS_VIEW

chdb = pytest.importorskip("chdb")

from helicone_filter.api.local_table import LocalTable  # noqa: E402 - after the skip
from helicone_filter.backends.clickhouse import (  # noqa: E402 - after the skip
    column_names,
    create_table,
    param_text,
    quote_name,
)

R, U = REQUEST_RESPONSE_RMT, USERS_VIEW


# -- the SQL ---------------------------------------------------------------------------------

U_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SQL = [
    ('model = "gpt-4o"', "`model` = {p0:String}", {"p0": "gpt-4o"}),
    ('model != "a"', "`model` != {p0:String}", {"p0": "a"}),
    ("model is null", "`model` IS NULL", {}),
    ("model is not null", "`model` IS NOT NULL", {}),
    ("model is empty", "empty(`model`)", {}),
    ('model like "null"', "`model` LIKE NULL", {}),
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
    # nano-dollars: Math.floor(1.001 * 1e9) is 1000999999, as Helicone binds it
    ("cost > 1.001", "round(`cost` * 1000000000) > {p0:Int64}", {"p0": 1000999999}),
    (
        "cached",
        "coalesce(`cached`, `cache_reference_id` != toUUID('00000000-0000-0000-0000-000000000000'))"
        " = {p0:Bool}",
        {"p0": True},
    ),
    ("not `helicone-score-feedback`", None, None),  # not the language: a syntax error
    (
        "helicone-score-feedback",
        "coalesce(`helicone-score-feedback`, `scores`['helicone-score-feedback']) = {p0:Int64}",
        {"p0": 1},
    ),
    (f'request_id = "{U_ID.upper()}"', "`request_id` = {p0:UUID}", {"p0": U_ID}),
    ("request_id is empty", "empty(`request_id`)", {}),
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
    (  # no has(): a missing key reads as ''
        'properties.env = "prod"',
        "`properties`[{p0:String}] = {p1:String}",
        {"p0": "env", "p1": "prod"},
    ),
    (
        'property_key = "env"',
        "has(`properties`, {p0:String})",
        {"p0": "env"},
    ),
    (
        'scores["a b"] = "+1" or model = "x"',
        "(has(`scores`, {p0:String}) AND `scores`[{p0:String}] = {p1:Int64}) OR "
        "`model` = {p2:String}",
        {"p0": "a b", "p1": 1, "p2": "x"},
    ),
    ('scores_column = "{}"', "`scores` = {p0:String}", {"p0": "{}"}),
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


def test_json_binds_what_helicone_binds() -> None:
    # A whole bound past 32 bits wraps as Helicone's Int32 bind wraps it; cost in nano-dollars.
    assert to_clickhouse({R: {"latency": {"gt": 5_000_000_000}}}) == (
        "`latency` > {p0:Int64}",
        {"p0": 705032704},
    )
    assert to_clickhouse({R: {"cost": {"lt": 5}}}) == (
        "round(`cost` * 1000000000) < {p0:Int64}",
        {"p0": 705032704},
    )
    assert to_clickhouse({R: {"cost": {"lt": 5}}}, target="helicone-where") == (
        "`request_response_rmt`.`cost` < {p0:Int64}",
        {"p0": 705032704},
    )


def test_helicone_targets_split_the_filter_as_helicone_does() -> None:
    both = {U: {"user_cost": {"gt": 5}}, R: {"cached": {"equals": True}}}
    zero = "toUUID('00000000-0000-0000-0000-000000000000')"
    assert to_clickhouse(both, target="helicone-where") == (
        f"`request_response_rmt`.`cache_reference_id` != {zero}",
        {},
    )
    assert to_clickhouse(both, target="helicone-having") == ("`cost` > {p0:Int64}", {"p0": 5})
    with pytest.raises(ValueError, match="target"):
        to_clickhouse(both, target="elsewhere")  # type: ignore[arg-type]


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
    for i in range(400):  # as deep as Helicone runs
        deep = {"left": {R: {"status": {"equals": i}}}, "operator": "and", "right": deep}
    sql, params = to_clickhouse(deep)
    assert sql.count(" AND ") == 399 and "(" not in sql  # the innermost "all" drops out
    deeper = {"left": {R: {"status": {"equals": 0}}}, "operator": "and", "right": deep}
    with pytest.raises(FilterValidationError, match="too deep for Helicone"):
        to_clickhouse(deeper)


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
        # Not the fields Helicone cannot filter on, nor those read from another column.
        has_own_column = f.column is not None and name not in ("property_key", "scores_column")
        assert (quote_name(name) in ddl) is has_own_column, name
    assert "`request_id` Nullable(UUID)" in ddl and "`cost` Nullable(Float64)" in ddl
    assert "`scores` Map(LowCardinality(String), Int64)" in ddl


# -- ClickHouse against matches ---------------------------------------------------------------

UNIVERSE = universe()


@pytest.fixture(scope="module")
def universe_table() -> Iterator[LocalTable]:
    table = LocalTable(UNIVERSE)
    yield table
    table.drop()


# At least 1,000 generated filters in CI; fewer on a developer's machine.
CI = bool(os.environ.get("CI"))


FILTERS_RUN: list[Any] = []  # every filter the differential tests ran, to count them


@settings(max_examples=1100 if CI else 150)
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
    assert len(distinct) >= (1000 if CI else 100), len(distinct)


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
    ('properties.k != "x"', {"properties": {}}, True),  # unguarded: a missing key is ''
    ('scores.k = "+1"', {"scores": {"k": 1}}, True),
    ('scores.k != "1"', {"scores": {}}, False),  # has() guards scores
    ("cost > 1.001", {"cost": 1.000999999}, False),  # floor(1.001e9) = 1000999999
    ("cost > 1.001", {"cost": 1.001}, True),
    ("request_id is empty", {"request_id": "00000000-0000-0000-0000-000000000000"}, True),
    (
        'request_id = "0F8FAD5B-D9CB-469F-A165-70867728950E"',
        {"request_id": "0f8fad5b-d9cb-469f-a165-70867728950e"},
        True,
    ),
    ("cached", {"cache_reference_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"}, True),
    ("not cached", {"cache_reference_id": "00000000-0000-0000-0000-000000000000"}, True),
    ("helicone-score-feedback = false", {}, True),  # no score reads as 0
    ("helicone-score-feedback", {"scores": {"helicone-score-feedback": 1}}, True),
    ('scores_column = "{}"', {}, True),
    ('user_first_active > "2025-01-01"', {"user_first_active": "2025-01-01T00:00:00.900Z"}, False),
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
            {R: {"properties": {value: {"equals": "v"}}}},
            [
                {"properties": {value: "v"}},
                {"properties": {value + "x": "v"}},
                {"properties": {"k": "v"}},
            ],
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
        'and cached and not threat and request_id != "7c9e6679-7425-40de-944b-e07fc1f90ae7"'
    )
    rows = [
        {
            "request_created_at": "2025-01-01T00:00:01Z",
            "cost": 0.5,
            "status": 200,
            "cached": True,
            "threat": False,
            "request_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
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
