"""The table of column families (facts/columns.py): every family the schema names has a class,
every field a family or a place among the columns Helicone lacks, and, family by family,
`matches` and ClickHouse (chdb) running `to_clickhouse`'s SQL select the same rows, on
`create_table`'s table and on Helicone's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import pytest
from engine_pools import KEYS, condition_pool, operators_of, universe

from helicone_filter import check, matches
from helicone_filter.backends.clickhouse import COLUMN_TYPES
from helicone_filter.facts.columns import FAMILIES, ColumnFamily, family_of
from helicone_filter.facts.schema import (
    FIELD_NOTES,
    FIELD_OPERATORS,
    FIELDS,
    HELICONE_COLUMNS,
    MISSING_COLUMNS,
    USERS_VIEW,
    Family,
)

# -- the table -----------------------------------------------------------------------------------


def test_every_family_of_the_schema_is_in_the_table() -> None:
    assert set(FAMILIES) == set(get_args(Family))
    for name, family in FAMILIES.items():
        assert family.name == name
        assert issubclass(family, ColumnFamily)


def test_every_field_has_a_family_or_lacks_its_column() -> None:
    for name, f in FIELDS.items():
        if name in MISSING_COLUMNS:
            assert (f.column, f.family) == (None, None), name
        else:
            assert f.family in FAMILIES, name
            assert family_of(f).name == f.family


def test_the_columns_helicone_lacks_are_said_once() -> None:
    assert set(HELICONE_COLUMNS) | set(MISSING_COLUMNS) == set(FIELDS)
    assert not set(HELICONE_COLUMNS) & set(MISSING_COLUMNS)
    for name, missing in MISSING_COLUMNS.items():
        f = FIELDS[name]
        assert FIELD_OPERATORS[name] == ()
        assert name not in COLUMN_TYPES
        assert FIELD_NOTES[name] == f"refused: {missing.note}"
        condition = {"k": {"equals": "x"}} if f.kind == "map" else {"equals": "x"}
        problems = [p for p in check({f.table: {name: condition}}) if p.code == "no-column"]
        assert [(p.message, p.hint) for p in problems] == [
            (f"{missing.reason}, so every query on it fails (HTTP 500)", missing.instead)
        ]


def test_a_family_reads_what_its_row_column_holds() -> None:
    for name, f in FIELDS.items():
        if f.family is None:
            continue
        family = family_of(f)
        column = family.row_column(f)
        assert column == name if family.own_column else column in COLUMN_TYPES, name
        assert (name in COLUMN_TYPES) is family.own_column, name


# -- matches and ClickHouse, family by family ------------------------------------------------

chdb = pytest.importorskip("chdb")

from helicone_table import HeliconeTable, from_native, to_native, user_row  # noqa: E402

from helicone_filter import to_clickhouse  # noqa: E402
from helicone_filter.api.local_table import LocalTable  # noqa: E402

UNIVERSE = universe()
NATIVE = [to_native(r) for r in UNIVERSE]
for _row in NATIVE:  # per-user times are DateTimes (seconds up to 2106-02-07)
    _row["request_created_at"] = min(_row["request_created_at"], "2106-02-07 06:28:15.000")
ROWS = [from_native(r) for r in NATIVE]


def _few(values: list[Any], n: int = 4) -> list[Any]:
    """A few values spread over a pool, its first and last among them."""
    if len(values) <= n:
        return values
    step = (len(values) - 1) / (n - 1)
    return [values[round(i * step)] for i in range(n)]


def _leaves(family: str) -> list[Any]:
    """Leaves on the fields of a family: each operator Helicone runs, a few values each."""
    out = []
    for name, f in FIELDS.items():
        if f.family != family:
            continue
        keyed = f.kind == "map"
        for op in operators_of(name, keyed):
            for value in _few(condition_pool(name, keyed, op)):
                condition = {op: value}
                if keyed:
                    out += [{f.table: {name: {key: condition}}} for key in KEYS[:2]]
                else:
                    out.append({f.table: {name: condition}})
    return out


@pytest.fixture(scope="module")
def tables() -> Iterator[tuple[LocalTable, HeliconeTable, list[dict[str, Any]]]]:
    ours = LocalTable(UNIVERSE)
    helicone = HeliconeTable(NATIVE)
    users = [user_row(u) for u in helicone.users()]
    yield ours, helicone, users
    ours.drop()


# session_tag is a field of the request endpoints alone: tests/backends/test_request_endpoints.py
@pytest.mark.parametrize("family", sorted(set(FAMILIES) - {"session_tag"}))
def test_matches_and_clickhouse_agree_on_each_family(
    tables: tuple[LocalTable, HeliconeTable, list[dict[str, Any]]], family: str
) -> None:
    ours, helicone, users = tables
    leaves = _leaves(family)
    assert leaves, f"no field of the family {family}"
    for leaf in leaves:
        expected = [i for i, r in enumerate(UNIVERSE) if matches(leaf, r)]
        assert ours.where(leaf) == expected, (leaf, to_clickhouse(leaf))
        if USERS_VIEW in leaf:
            having, params = to_clickhouse(leaf, target="helicone-having")
            selected = [u["user_id"] for u in helicone.users("true", having, params)]
            assert [u["user_user_id"] for u in users if matches(leaf, u)] == selected, leaf
        else:
            sql, params = to_clickhouse(leaf, target="helicone-where")
            wanted = [i for i, r in enumerate(ROWS) if matches(leaf, r)]
            assert helicone.where(sql, params) == wanted, (leaf, sql, params)
