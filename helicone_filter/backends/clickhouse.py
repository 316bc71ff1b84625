"""A second backend: a filter as a ClickHouse WHERE expression, every value a bound parameter.

Helicone runs every filter on ClickHouse. `to_clickhouse` writes SQL that selects exactly the
rows Helicone's own SQL selects (docs/helicone.md), so that the same filter runs on exported
logs, on a self-hosted ClickHouse or on a cluster, and agrees with `matches`. Two targets:

- `"rows"` (the default): one table with a column per field, named as the fields, request cost
  in dollars, as `matches` takes rows and `create_table` makes them: Helicone's column types,
  each Nullable (a missing value is NULL). Each condition is written to select what Helicone's
  does: whole-number bounds wrapped as its 32-bit bind wraps them, request cost compared in
  nano-dollars (`round(cost * 1e9)` against `Math.floor(v * 1e9)`), timestamps bound in whole
  seconds clamped to 1970..2106, UUIDs compared as UUIDs, `properties[k]` unguarded (a
  missing key is ''), `has(scores, k) AND scores[k] = v` over Int64 scores, `cached` from the
  row's `cached` or else its `cache_reference_id`, `helicone-score-feedback` from its own
  column or else `scores`.
- `"helicone-where"` / `"helicone-having"`: Helicone's own table request_response_rmt (cost in
  nano-dollars, `cached` through `cache_reference_id`, feedback through `scores`), split as
  Helicone's user-metrics query splits a filter: the request conditions for its WHERE (user
  conditions read as true there), the user conditions for the HAVING over its per-user
  aggregates (`user_id`, `active_for`, `first_active`, ... `cost`; request conditions read as
  true there). On the request endpoints (`endpoint="requests"`) there is no HAVING: their
  WHERE is the whole filter, and `session_tag` is Helicone's subquery on its `tags` table
  (`properties['Helicone-Session-Id'] IN (SELECT entity_id FROM tags WHERE tag <op> v AND
  entity_type = 'session')`); on `"rows"` it tests the row's `session_tags` array.

The magic strings work as in Helicone: on text columns "null" under equals / not-equals is
`IS NULL` / `IS NOT NULL`, equals "__empty__" is `empty(col)`, and "null" under like / ilike is
SQL `NULL` (never true). Leaves with several conditions keep only the one Helicone keeps, as
`matches` does (`check` reports such leaves).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from helicone_filter.backends.row_matching import Row
from helicone_filter.facts.columns import FAMILIES, family_of
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT
from helicone_filter.facts.schema import (
    ALL_FIELDS,
    ALL_TABLES,
    FIELDS,
    USERS_VIEW,
    Field,
    schema_of,
)
from helicone_filter.form import Chain, Condition, Filter, fold

Params = dict[str, Any]
Target = Literal["rows", "helicone-where", "helicone-having"]

# A piece of SQL, and the operator joining it at its top ("" for one test).
_Piece = tuple[str, str]


COLUMN_TYPES: Mapping[str, str] = {
    name: column
    for name, f in FIELDS.items()
    if f.family is not None and (column := FAMILIES[f.family].row_type(f)) is not None
}
"""The column of each field in `create_table`'s table, by field name: Helicone's own type,
Nullable, except request cost in dollars and the columns Helicone derives (`cached`,
feedback); none for a field read from another column, or one Helicone has no column for."""

# Helicone's names for the users_view fields in the HAVING of its user-metrics query.
HELICONE_AGGREGATES: Mapping[str, str] = {
    "user_user_id": "user_id",
    "user_active_for": "active_for",
    "user_first_active": "first_active",
    "user_last_active": "last_active",
    "user_total_requests": "total_requests",
    "user_average_requests_per_day_active": "average_requests_per_day_active",
    "user_average_tokens_per_request": "average_tokens_per_request",
    "user_total_completion_tokens": "total_completion_tokens",
    "user_total_prompt_tokens": "total_prompt_tokens",
    "user_cost": "cost",
}
# Helicone's columns of request_response_rmt, for the fields read from another column.
_HELICONE_READS: Mapping[str, str] = {
    name: reads
    for name, f in ALL_FIELDS.items()
    if f.family is not None and (reads := FAMILIES[f.family].reads) is not None
}


def quote_name(name: str) -> str:
    """A ClickHouse identifier in backquotes, whatever it holds.

    Example:
        >>> quote_name("helicone-score-feedback")
        '`helicone-score-feedback`'
    """
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def column_names(
    table_map: Mapping[str, str] | None = None, target: Target = "rows"
) -> dict[str, str]:
    """The SQL for each field's column: its name, renamed and qualified by `table_map`.
    The dict is shared between calls with the same arguments: read it, do not change it.

    Args:
        table_map: keys are Helicone's table names (the value is the table's name here, maybe
            `database.table`, and qualifies its columns) or field names (the value is that
            column's name here).
        target: "rows" for `create_table`'s table, or Helicone's own ("helicone-where",
            "helicone-having"), where some fields are read from other columns.

    Raises:
        ValueError: a key that is neither a table nor a field, or a value that is not a
            non-empty string.
    """
    for key, value in (table_map or {}).items():
        if key not in ALL_TABLES and (key not in FIELDS or key not in COLUMN_TYPES):
            raise ValueError(
                f"table_map: {key!r} is neither a table ({', '.join(ALL_TABLES)}) nor a column"
                " (see `helicone-filter fields`)"
            )
        if not isinstance(value, str) or not value:
            raise ValueError(f"table_map: the name for {key!r} must be a non-empty string")
    return _columns(frozenset((table_map or {}).items()), target)


@lru_cache(maxsize=64)
def _columns(renames: frozenset[tuple[str, str]], target: Target) -> dict[str, str]:
    table_map = dict(renames)
    helicone = target != "rows"
    out: dict[str, str] = {}
    for name, f in ALL_FIELDS.items():
        if f.column is None:
            continue
        column = name
        if helicone:
            column = _HELICONE_READS.get(name, HELICONE_AGGREGATES.get(name, name))
        elif name in _HELICONE_READS and name not in COLUMN_TYPES:
            column = _HELICONE_READS[name]
        column = table_map.get(column, column)
        sql = quote_name(column)
        table = table_map.get(f.table)
        if helicone:  # qualified, as Helicone writes them: its query has a column named
            # like an aggregate (`cost`), which a bare name would mean
            table = None if f.table == USERS_VIEW else table or f.table
        if table is not None:
            sql = ".".join(quote_name(part) for part in table.split(".")) + "." + sql
        out[name] = sql
    return out


class _Writer:
    """Conditions into SQL, each value bound as the next parameter."""

    def __init__(self, columns: dict[str, str], target: Target) -> None:
        self.columns = columns
        self.target = target
        self.params: Params = {}

    def bind(self, value: Any, type_name: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"{{{name}:{type_name}}}"

    def condition(self, c: Condition) -> list[str]:
        """The SQL of one condition, as the tests that must all hold."""
        f: Field = c.field
        if self.target != "rows" and (f.table == USERS_VIEW) != (self.target == "helicone-having"):
            return []  # read as true in this part of Helicone's query
        return family_of(f).sql(self, c, self.columns[f.name])


def check_target(target: str) -> None:
    """ValueError unless `target` is one of the targets (see the module's docstring)."""
    if target not in ("rows", "helicone-where", "helicone-having"):
        raise ValueError(
            f"target must be 'rows', 'helicone-where' or 'helicone-having', not {target!r}"
        )


def sql_of(
    node: Filter, *, table_map: Mapping[str, str] | None = None, target: Target = "rows"
) -> tuple[str, Params]:
    """`to_clickhouse` of a filter in its validated form: the SQL and its parameters.

    Example:
        >>> from helicone_filter.form import ALL
        >>> sql_of(ALL)
        ('true', {})
    """
    check_target(target)
    writer = _Writer(column_names(table_map, target), target)

    def leaf(c: Condition) -> _Piece | None:
        # None: true here (a condition Helicone drops, or one of the other part of its query)
        tests = writer.condition(c) if c.kept else []
        if not tests:
            return None
        return (tests[0], "") if len(tests) == 1 else (" AND ".join(tests), "and")

    def chain(c: Chain, pieces: list[_Piece | None]) -> _Piece | None:
        if c.op == "or" and None in pieces:
            return None  # true or x
        found = [p for p in pieces if p is not None]
        if len(found) <= 1:
            return found[0] if found else None
        # A chain is flat, so only a piece joined by the other operator needs parentheses.
        sql = f" {c.op.upper()} ".join(
            sql if top in ("", c.op) else f"({sql})" for sql, top in found
        )
        return sql, c.op

    piece = fold(node, leaf, chain, None)
    return ("true" if piece is None else piece[0]), writer.params


def param_text(value: Any) -> str:
    """A parameter's value as ClickHouse reads it from text (its HTTP `param_` form, and what
    chdb's `params` take): strings escaped, `true`/`false`, `YYYY-MM-DD hh:mm:ss` in UTC.

    Example:
        >>> param_text("a\\tb\\\\")
        'a\\\\tb\\\\\\\\'
    """
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return repr(value)


_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0", "\b": "\\b", "\f": "\\f"}
)


def _row_fields(endpoint: str) -> dict[str, Field]:
    """The field behind each column of `create_table`'s table for an endpoint, by column."""
    out: dict[str, Field] = {}
    for f in schema_of(endpoint).fields.values():
        if f.family is not None and FAMILIES[f.family].row_type(f) is not None:
            out[FAMILIES[f.family].row_column(f)] = f
    return out


def table_columns(endpoint: str = DEFAULT_ENDPOINT) -> dict[str, str]:
    """The columns of `create_table`'s table for an endpoint's fields, by name: `COLUMN_TYPES`
    for user metrics; for the request endpoints, those of request_response_rmt and
    `session_tags Array(String)`, the tags of the row's session.

    Raises:
        ValueError: an unknown endpoint.
    """
    return {column: family_of(f).row_type(f) or "" for column, f in _row_fields(endpoint).items()}


def create_table(
    name: str = "requests", *, engine: str = "Memory", endpoint: str = DEFAULT_ENDPOINT
) -> str:
    """CREATE TABLE for a table with one column per field of an endpoint (`table_columns`:
    `COLUMN_TYPES` by default), and `_row` (the row's number).

    The columns take Helicone's types (UUID, Int64, DateTime64(3), Map(..., Int64) for
    scores...), each Nullable, for NULL is a missing value; request cost is in dollars; maps
    are not Nullable (a missing map is an empty one).

    Example:
        >>> create_table().splitlines()[1]
        '    `_row` UInt64,'
    """
    types = table_columns(endpoint)
    columns = ["`_row` UInt64"] + [f"{quote_name(n)} {t}" for n, t in types.items()]
    body = ",\n".join(f"    {c}" for c in columns)
    return f"CREATE TABLE {quote_name(name)} (\n{body}\n) ENGINE = {engine}"


def row_json(number: int, row: Row, *, endpoint: str = DEFAULT_ENDPOINT) -> str:
    """A row as `matches` takes it, in JSONEachRow form for `create_table`'s table (of the
    endpoint's fields)."""
    out: dict[str, Any] = {"_row": number}
    for column, field in _row_fields(endpoint).items():
        out[column] = family_of(field).stored(row.get(column))
    return json.dumps(out, ensure_ascii=False)
