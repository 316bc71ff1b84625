"""Helicone's own table: the rows Helicone's SQL selects, `matches`, and `to_clickhouse` on our
layout must agree, for generated filters on generated adversarial rows.

The table has Helicone's column types (tests/helicone_table.py); rows are stored as Helicone
stores them (cost in nano-dollars, UUIDs, Int64 scores, no `cached` column) and given to
`matches` and `LocalTable` in the documented layout. Request filters run in the WHERE of
Helicone's table; user filters in the HAVING of its user-metrics query, over per-user
aggregates; a filter on both is split as Helicone splits it, and checked against aggregates
computed here in Python.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import NOW
from engine_pools import engine_filter, engine_row, universe
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import filter_text

import helicone_filter
from helicone_filter import check, matches
from helicone_filter.facts.schema import REQUEST_RESPONSE_RMT, USERS_VIEW

pytest.importorskip("chdb")

from helicone_table import (
    HeliconeTable,
    from_native,
    to_native,
    user_row,
    user_rows,
)

from helicone_filter.api.local_table import LocalTable
from helicone_filter.api.outputs import to_clickhouse

R, U = REQUEST_RESPONSE_RMT, USERS_VIEW
CI = bool(os.environ.get("CI"))
FILTERS_RUN: list[Any] = []


def _native_universe() -> list[dict[str, Any]]:
    rows = [to_native(r) for r in universe()]
    for r in rows:  # per-user times are DateTimes (seconds up to 2106-02-07)
        r["request_created_at"] = min(r["request_created_at"], "2106-02-07 06:28:15.000")
    return rows


NATIVE = _native_universe()
ROWS = [from_native(r) for r in NATIVE]


@pytest.fixture(scope="module")
def tables() -> Iterator[tuple[HeliconeTable, LocalTable, list[dict[str, Any]], LocalTable]]:
    helicone = HeliconeTable(NATIVE)
    ours = LocalTable(ROWS)
    users = [user_row(u) for u in helicone.users()]
    our_users = LocalTable(users)
    yield helicone, ours, users, our_users
    ours.drop()
    our_users.drop()


def request_filters() -> st.SearchStrategy[Any]:
    text = filter_text(R, small=True).map(lambda t: helicone_filter.compile(t, now=NOW))
    return st.one_of(engine_filter(tables=(R,)), engine_filter(tables=(R,)), text)


@settings(max_examples=1000 if CI else 150)
@given(obj=request_filters())
def test_request_filters_select_what_helicone_selects(
    tables: tuple[HeliconeTable, LocalTable, list[dict[str, Any]], LocalTable], obj: Any
) -> None:
    helicone, ours, _, _ = tables
    # Leaves with several columns or operators run in Helicone, which keeps one: check says so.
    errors = {p.code for p in check(obj) if p.severity == "error"}
    assert errors <= {"multiple-columns", "multiple-operators", "multiple-keys"}
    sql, params = to_clickhouse(obj, target="helicone-where")
    selected = helicone.where(sql, params)
    assert [i for i, r in enumerate(ROWS) if matches(obj, r)] == selected, (obj, sql, params)
    assert ours.where(obj) == selected, (obj, to_clickhouse(obj))
    FILTERS_RUN.append(obj)


@settings(max_examples=500 if CI else 100)
@given(obj=engine_filter(tables=(U,)))
def test_user_filters_select_the_users_helicone_selects(
    tables: tuple[HeliconeTable, LocalTable, list[dict[str, Any]], LocalTable], obj: Any
) -> None:
    helicone, _, users, our_users = tables
    having, params = to_clickhouse(obj, target="helicone-having")
    selected = [u["user_id"] for u in helicone.users("true", having, params)]
    assert [u["user_user_id"] for u in users if matches(obj, u)] == selected, (obj, having)
    assert [users[i]["user_user_id"] for i in our_users.where(obj)] == selected
    FILTERS_RUN.append(obj)


def _renamed(sql: str, params: dict[str, Any], prefix: str) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters with every parameter renamed, so two can share a query."""
    return re.sub(r"\{p(\d+):", rf"{{{prefix}\1:", sql), {
        prefix + k[1:]: v for k, v in params.items()
    }


@settings(max_examples=300 if CI else 60)
@given(obj=engine_filter(tables=(R, U)))
def test_both_tables_split_as_helicone_splits_them(
    tables: tuple[HeliconeTable, LocalTable, list[dict[str, Any]], LocalTable], obj: Any
) -> None:
    """Requests first (WHERE), then the aggregates of each user's remaining requests (HAVING):
    the users the query returns are those whose aggregates, computed here from the requests
    `matches` keeps, pass the user conditions."""
    helicone = tables[0]
    where, where_params = to_clickhouse(obj, target="helicone-where")
    having, having_params = _renamed(*to_clickhouse(obj, target="helicone-having"), "h")
    got = helicone.users(where, having, {**where_params, **having_params})
    requests, users = obj["left"], obj["right"]
    kept = [n for n, r in zip(NATIVE, ROWS, strict=True) if matches(requests, r)]
    aggregates = user_rows(kept)
    assert [u["user_id"] for u in got] == sorted(
        user for user, row in aggregates.items() if matches(users, row)
    ), obj
    for u in got:  # and the aggregates themselves are those computed here
        assert user_row(u) == aggregates[u["user_id"]]
    FILTERS_RUN.append(obj)


@settings(max_examples=100 if CI else 25)
@given(
    rows=st.lists(engine_row(), min_size=1, max_size=8),
    filters=st.lists(engine_filter(tables=(R,)), min_size=3, max_size=3),
)
def test_on_generated_rows_too(rows: list[dict[str, Any]], filters: list[Any]) -> None:
    native = [to_native(r) for r in rows]
    layout = [from_native(n) for n in native]
    helicone, ours = HeliconeTable(native), LocalTable(layout)
    try:
        for obj in filters:
            selected = helicone.where(*to_clickhouse(obj, target="helicone-where"))
            assert [i for i, r in enumerate(layout) if matches(obj, r)] == selected, obj
            assert ours.where(obj) == selected, obj
            FILTERS_RUN.append(obj)
    finally:
        ours.drop()


def test_enough_filters_ran() -> None:
    if not FILTERS_RUN:
        pytest.skip("the differential tests were not run in this session")
    distinct = {json.dumps(f, sort_keys=True) for f in FILTERS_RUN}
    assert len(distinct) >= (1000 if CI else 150), len(distinct)
