"""The request endpoints (POST /v1/request/query-clickhouse, /v1/request/count/query) on
Helicone's own table: the requests Helicone's WHERE selects, `matches`, and `to_clickhouse` on
our layout must agree, for generated filters that mix request_response_rmt conditions, joined
by `and` and `or`, with session_tag, which Helicone runs as a subquery on its `tags` table.

A row in our layout carries its session's tags as `session_tags`; Helicone's table holds the
session id in `properties['Helicone-Session-Id']` and the tags in `tags` (with the same tags
on requests beside them, which must not count).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import NOW
from engine_pools import engine_filter, universe
from hypothesis import given, settings
from hypothesis import strategies as st

import helicone_filter
from helicone_filter import check, matches, to_clickhouse
from helicone_filter.backends.clickhouse import create_table, row_json

pytest.importorskip("chdb")

from helicone_table import (
    SESSION_ID,
    TABLE,
    HeliconeTable,
    from_native,
    session_tag_rows,
    to_native,
)

R, S = "request_response_rmt", "sessions_request_response_rmt"
CI = bool(os.environ.get("CI"))
REQUESTS = "requests"
# Each row's session (by its number, in turn) and the session's tags.
SESSIONS: list[tuple[str, list[str]]] = [
    ("s-1", ["prod", "Beta"]),
    ("s-2", ["prod_x", "a%b", "é"]),
    ("s-3", []),
    ("", []),  # no session
    ("s-4", ["PROD"]),
]
TAG_VALUES = ["prod", "PROD", "prod%", "%", "_", "a\\%b", "a%b", "", "beta", "É", "x", "prod_x"]
TAG_OPERATORS = ["equals", "not-equals", "like", "ilike", "contains", "not-contains"]


def _rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stored rows and the same rows in our layout, each in a session of SESSIONS."""
    native, layout = [], []
    for i, row in enumerate(universe()):
        session, tags = SESSIONS[i % len(SESSIONS)]
        stored = to_native(row)
        properties = dict(stored["properties"])
        properties.pop(SESSION_ID, None)
        if session:
            properties[SESSION_ID] = session
        stored["properties"] = properties
        native.append(stored)
        layout.append({**from_native(stored), "session_tags": tags})
    return native, layout


NATIVE, ROWS = _rows()
OURS = "ours_requests"


@pytest.fixture(scope="module")
def helicone() -> Iterator[HeliconeTable]:
    table = HeliconeTable(NATIVE, session_tag_rows(ROWS))
    table.query(f"DROP TABLE IF EXISTS {OURS}")
    table.query(create_table(OURS, endpoint=REQUESTS))
    lines = [row_json(i, r, endpoint=REQUESTS) for i, r in enumerate(ROWS)]
    table.query(f"INSERT INTO {OURS} FORMAT JSONEachRow\n" + "\n".join(lines))
    yield table
    table.query(f"DROP TABLE IF EXISTS {OURS}")


def _ours(table: HeliconeTable, sql: str, params: dict[str, Any]) -> list[int]:
    out = table.query(f"SELECT _row FROM {OURS} WHERE {sql} ORDER BY _row", params)
    return [r["_row"] for r in out]


@st.composite
def session_leaf(draw: st.DrawFn) -> Any:
    op = draw(st.sampled_from(TAG_OPERATORS))
    return {S: {"session_tag": {op: draw(st.sampled_from(TAG_VALUES))}}}


@st.composite
def request_filter(draw: st.DrawFn) -> Any:
    """A FilterNode of the request endpoints: request conditions and session tags under `and`
    and `or`, in any mix."""
    leaves = st.one_of(session_leaf(), engine_filter(tables=(R,)))
    parts = draw(st.lists(leaves, min_size=1, max_size=4))
    node = parts[0]
    for part in parts[1:]:
        node = {"left": node, "operator": draw(st.sampled_from(["and", "or"])), "right": part}
    return node


@settings(max_examples=400 if CI else 80)
@given(obj=request_filter())
def test_requests_select_what_helicone_selects(helicone: HeliconeTable, obj: Any) -> None:
    errors = {p.code for p in check(obj, endpoint=REQUESTS) if p.severity == "error"}
    assert errors <= {"multiple-columns", "multiple-operators", "multiple-keys"}, errors
    sql, params = to_clickhouse(obj, target="helicone-where", endpoint=REQUESTS)
    selected = helicone.where(sql, params)
    assert [i for i, r in enumerate(ROWS) if matches(obj, r, endpoint=REQUESTS)] == selected, (
        obj,
        sql,
        params,
    )
    assert _ours(helicone, *to_clickhouse(obj, endpoint=REQUESTS)) == selected, obj


@pytest.mark.parametrize(
    ("text", "sessions"),
    [
        ('session_tag = "prod"', {"s-1"}),
        ('session_tag contains "prod"', {"s-1", "s-4"}),  # no %: whole tags, any case
        ('session_tag ilike "prod%"', {"s-1", "s-2", "s-4"}),
        ('session_tag != "prod"', {"s-1", "s-2", "s-4"}),  # any tag but prod: not its opposite
        ('session_tag in ["é", "Beta"]', {"s-1", "s-2"}),
        ('session_tag = "prod" or model = "no such model"', {"s-1"}),
    ],
)
def test_session_tag_reads_the_tags_of_the_session(
    helicone: HeliconeTable, text: str, sessions: set[str]
) -> None:
    obj = helicone_filter.compile(text, now=NOW, endpoint=REQUESTS)
    sql, params = to_clickhouse(obj, target="helicone-where", endpoint=REQUESTS)
    selected = helicone.where(sql, params)
    want = [i for i, r in enumerate(NATIVE) if r["properties"].get(SESSION_ID) in sessions]
    assert selected == want
    assert [i for i, r in enumerate(ROWS) if matches(obj, r, endpoint=REQUESTS)] == want


def test_the_where_is_helicones_subquery_on_tags() -> None:
    sql, params = to_clickhouse(
        'session_tag contains "prod" and cost > 1', endpoint=REQUESTS, target="helicone-where"
    )
    assert sql == (
        f"`{TABLE}`.`properties`['Helicone-Session-Id'] IN (SELECT entity_id FROM tags WHERE "
        "tag ILIKE {p0:String} AND entity_type = 'session') AND "
        f"`{TABLE}`.`cost` > {{p1:Int64}}"
    )
    assert params == {"p0": "prod", "p1": 1_000_000_000}


def test_a_row_without_session_tags_matches_no_tag_test() -> None:
    for op in TAG_OPERATORS:
        leaf = {S: {"session_tag": {op: "x"}}}
        assert not matches(leaf, {}, endpoint=REQUESTS)
        assert not matches(leaf, {"session_tags": None}, endpoint=REQUESTS)
    with pytest.raises(helicone_filter.RowError):
        matches({S: {"session_tag": {"equals": "x"}}}, {"session_tags": "x"}, endpoint=REQUESTS)


def test_create_table_for_the_request_endpoints() -> None:
    columns = create_table(endpoint=REQUESTS)
    assert "`session_tags` Array(String)" in columns and "user_cost" not in columns
    assert "session_tags" not in create_table()
    assert json.loads(row_json(0, {"session_tags": ["a"]}, endpoint=REQUESTS))["session_tags"] == [
        "a"
    ]


@pytest.mark.parametrize(
    "text",
    [
        'session_tag = "prod"',
        'session_tag ilike "prod%" or status = 200',
        "latency > 1000 and not cached",
        "all",
    ],
)
def test_a_local_table_of_the_request_endpoints(text: str) -> None:
    from helicone_filter import LocalTable

    table = LocalTable(ROWS, endpoint=REQUESTS)
    try:
        node = helicone_filter.compile(text, endpoint=REQUESTS)
        assert table.where(text) == [
            i for i, r in enumerate(ROWS) if matches(node, r, endpoint=REQUESTS)
        ]
        with pytest.raises(helicone_filter.FilterError, match="user-metrics endpoint"):
            table.where("user_cost > 5")  # read for its endpoint
    finally:
        table.drop()
