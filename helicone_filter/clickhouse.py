"""A second backend: a filter as a ClickHouse WHERE expression, every value a bound parameter.

Helicone runs every filter on ClickHouse. `to_clickhouse` writes the SQL its backend writes
(HELICONE.md), over one table with a column per field, so that the same filter runs on exported
logs, on a self-hosted ClickHouse or on a cluster, and selects the rows `matches` selects:

- equals / not-equals: `=` / `!=`; on text columns "null" is `IS NULL` / `IS NOT NULL` and
  equals "__empty__" is `empty(col)`; under any other operator "null" is SQL `NULL`, as
  Helicone pastes it (the condition is never true).
- like / ilike: `LIKE` / `ILIKE` with the pattern as given (`%`, `_`, and `\\` before them or
  before itself, are special; a `\\` before anything else is a literal backslash).
- contains / not-contains: `ILIKE concat('%', v, '%')` / `NOT ILIKE ...`, wildcards in v
  unescaped, as Helicone does.
- maps: `has(m, k) AND m[k] = v` (bracketed inside `OR`); `property_key = k` is
  `has(properties, k)`.
- numbers bind as Int64 or Float64 (exact comparisons; Helicone's Int32 overflow is a warning
  of the validator instead); booleans as Bool; timestamps as `DateTime('UTC')` (UTC text),
  without milliseconds and clamped to 1970-01-01 .. 2106-02-07, as Helicone's bind is.

Column names come from the schema table; `table_map` renames them for tables named otherwise.
Leaves with several conditions keep only the one Helicone keeps, as `matches` does (`check`
reports such leaves).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .checker import Condition
from .evaluate import Row, fold_as_helicone
from .schema import EMPTY_MAGIC, FIELDS, NULL_MAGIC, TABLES, Field
from .semantics import DATETIME_MAX, DATETIME_MIN
from .timestamps import parse_timestamp

Params = dict[str, Any]

# A compound piece of SQL: the operator joining it, and its parts (already SQL).
_Piece = tuple[str, deque[str]]

_DATETIME = "DateTime('UTC')"
_COMPARE = {"equals": "=", "not-equals": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

# The column types of `create_table`, by kind: NULL stands for a missing value, as in `matches`.
COLUMN_TYPES: Mapping[str, str] = {
    "text": "Nullable(String)",
    "number": "Nullable(Float64)",
    "timestamp": "Nullable(DateTime64(6, 'UTC'))",
    "boolean": "Nullable(Bool)",
    "map": "Map(String, String)",
}


def quote_name(name: str) -> str:
    """A ClickHouse identifier in backquotes, whatever it holds.

    Example:
        >>> quote_name("helicone-score-feedback")
        '`helicone-score-feedback`'
    """
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def column_names(table_map: Mapping[str, str] | None = None) -> dict[str, str]:
    """The SQL for each field's column: its name, renamed and qualified by `table_map`.
    The dict is shared between calls with the same `table_map`: read it, do not change it.

    Args:
        table_map: keys are Helicone's table names (the value is the table's name here, maybe
            `database.table`, and qualifies its columns) or field names (the value is that
            column's name here).

    Raises:
        ValueError: a key that is neither a table nor a field, or a value that is not a
            non-empty string.
    """
    for key, value in (table_map or {}).items():
        if key not in TABLES and (key not in FIELDS or FIELDS[key].kind == "property_key"):
            raise ValueError(
                f"table_map: {key!r} is neither a table ({', '.join(TABLES)}) nor a column"
                " (see `helicone-filter fields`)"
            )
        if not isinstance(value, str) or not value:
            raise ValueError(f"table_map: the name for {key!r} must be a non-empty string")
    return _columns(frozenset((table_map or {}).items()))


@lru_cache(maxsize=64)
def _columns(renames: frozenset[tuple[str, str]]) -> dict[str, str]:
    table_map = dict(renames)
    out: dict[str, str] = {}
    for name, f in FIELDS.items():
        if f.kind == "property_key":
            continue
        column = quote_name(table_map.get(name, name))
        table = table_map.get(f.table)
        if table is not None:
            column = ".".join(quote_name(part) for part in table.split(".")) + "." + column
        out[name] = column
    out["property_key"] = out["properties"]
    return out


class _Writer:
    """Conditions into SQL, each value bound as the next parameter."""

    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns
        self.params: Params = {}

    def bind(self, value: Any, type_name: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"{{{name}:{type_name}}}"

    def text_test(self, column: str, op: str, value: str) -> str:
        """`column op value` for the text operators (no magic strings here)."""
        if op in ("equals", "not-equals"):
            return f"{column} {_COMPARE[op]} {self.bind(value, 'String')}"
        if op in ("like", "ilike"):
            return f"{column} {op.upper()} {self.bind(value, 'String')}"
        pattern = f"concat('%', {self.bind(value, 'String')}, '%')"
        return f"{column} {'ILIKE' if op == 'contains' else 'NOT ILIKE'} {pattern}"

    def condition(self, c: Condition) -> list[str]:
        """The SQL of one condition, as the tests that must all hold."""
        f: Field = c.field
        column = self.columns[f.name]
        op, value = c.operator, c.value
        if f.kind == "property_key":
            return [f"has({column}, {self.bind(value, 'String')})"]
        if c.key is not None:
            key = self.bind(c.key, "String")
            return [f"has({column}, {key})", self.text_test(f"{column}[{key}]", op, value)]
        if f.kind == "text":
            if value == NULL_MAGIC:
                if op in ("equals", "not-equals"):
                    return [f"{column} IS {'NOT ' if op == 'not-equals' else ''}NULL"]
                # Helicone pastes "null" itself into the SQL: the test is never true.
                like = {"like": "LIKE", "ilike": "ILIKE", "contains": "ILIKE"}
                return [f"{column} {like.get(op, 'NOT ILIKE')} NULL"]
            if value == EMPTY_MAGIC and op == "equals":
                return [f"empty({column})"]
            return [self.text_test(column, op, value)]
        if f.kind == "number":
            type_name = "Float64" if isinstance(value, float) else "Int64"
            return [f"{column} {_COMPARE[op]} {self.bind(value, type_name)}"]
        if f.kind == "timestamp":
            # As text in UTC, which DateTime('UTC') reads as UTC whatever the server's zone (a
            # client given a datetime would write it in the server's zone).
            if "1970" <= value[:4] <= "2105":  # canonical: YYYY-MM-DDTHH:MM:SS.sssZ
                text = f"{value[:10]} {value[11:19]}"
            else:
                moment = parse_timestamp(value)
                assert moment is not None  # checked
                bound = min(max(moment.replace(microsecond=0), DATETIME_MIN), DATETIME_MAX)
                text = bound.strftime("%Y-%m-%d %H:%M:%S")
            return [f"{column} {_COMPARE[op]} {self.bind(text, _DATETIME)}"]
        return [f"{column} = {self.bind(value, 'Bool')}"]  # boolean


def _wrap(piece: str | _Piece) -> str:
    """A piece as an operand of a chain."""
    if isinstance(piece, str):
        return piece
    op, parts = piece
    return "(" + f" {op.upper()} ".join(parts) + ")"


def to_clickhouse(
    filter: Any,  # noqa: A002 - the issue's and the request body's name for it
    *,
    table_map: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> tuple[str, Params]:
    """A filter as a ClickHouse WHERE expression and the values of its parameters.

    Args:
        filter: filter text (compiled with `now`), or a FilterNode ("all", a leaf or a
            branch, of any depth; JSON already loaded).
        table_map: other names for the tables and columns (see `column_names`).
        now: the moment `now` means in filter text; the current time if omitted.

    Returns:
        `(sql, params)`: `sql` names every value as `{p0:String}`, `{p1:Int64}`...; `params`
        maps `p0`, `p1`... to Python values (str, int, float, bool; a timestamp as
        `YYYY-MM-DD hh:mm:ss` text in UTC, which its `DateTime('UTC')` reads). Pass both
        to a client that binds ClickHouse query parameters (clickhouse-connect:
        `client.query(f"SELECT ... WHERE {sql}", parameters=params)`), or use `param_text`
        for ClickHouse's own text form of each value.

    Raises:
        FilterSyntaxError, FilterValidationError: the filter is not valid.
        ValueError: a bad `table_map` or `now`.

    Example:
        >>> to_clickhouse('model contains "gpt" and status = 200')
        ("`model` ILIKE concat('%', {p0:String}, '%') AND `status` = {p1:Int64}", \
{'p0': 'gpt', 'p1': 200})
    """
    writer = _Writer(column_names(table_map))
    node = filter
    compiled = isinstance(node, str)
    if compiled:
        from . import compile as compile_text

        node = compile_text(node, now=now)

    def leaf(kept: list[Condition]) -> str | _Piece:
        # One test is SQL as it stands; several are an and-chain.
        parts = [sql for c in kept for sql in writer.condition(c)]
        if not parts:
            return "true"
        return parts[0] if len(parts) == 1 else ("and", deque(parts))

    def branch(op: str, left: str | _Piece, right: str | _Piece) -> str | _Piece:
        # Same-operator chains are flattened, so a long chain is one level of SQL, not
        # thousands (ClickHouse limits the depth of what it parses).
        if not isinstance(left, str) and left[0] == op:
            if not isinstance(right, str) and right[0] == op:
                if len(left[1]) >= len(right[1]):
                    left[1].extend(right[1])
                    return left
                right[1].extendleft(reversed(left[1]))
                return right
            left[1].append(_wrap(right))
            return left
        if not isinstance(right, str) and right[0] == op:
            right[1].appendleft(_wrap(left))
            return right
        return op, deque((_wrap(left), _wrap(right)))

    everything: str | _Piece = "true"
    piece = fold_as_helicone(node, leaf, everything, branch, checked=compiled)
    sql = piece if isinstance(piece, str) else f" {piece[0].upper()} ".join(piece[1])
    return sql, writer.params


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


def create_table(name: str = "requests", *, engine: str = "Memory") -> str:
    """CREATE TABLE for a table with one column per field, and `_row` (the row's number).

    Text, number, timestamp and boolean columns are Nullable (NULL is a missing value); maps
    are `Map(String, String)` (a missing map is an empty one).

    Example:
        >>> create_table().splitlines()[1]
        '    `_row` UInt64,'
    """
    columns = ["`_row` UInt64"] + [
        f"{quote_name(n)} {COLUMN_TYPES[f.kind]}"
        for n, f in FIELDS.items()
        if f.kind != "property_key"
    ]
    body = ",\n".join(f"    {c}" for c in columns)
    return f"CREATE TABLE {quote_name(name)} (\n{body}\n) ENGINE = {engine}"


def row_json(number: int, row: Row) -> str:
    """A row as `matches` takes it, in JSONEachRow form for `create_table`'s table."""
    out: dict[str, Any] = {"_row": number}
    for name, f in FIELDS.items():
        value = row.get(name)
        if f.kind == "property_key":
            continue
        if f.kind == "map":
            value = value if isinstance(value, dict) else {}
        elif f.kind == "timestamp" and value is not None:
            moment = value if isinstance(value, datetime) else parse_timestamp(str(value))
            if moment is not None and moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            value = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if moment else None
        out[name] = value
    return json.dumps(out, ensure_ascii=False)


class LocalTable:
    """Rows in ClickHouse's own engine, in this process (chdb): the filter's SQL run for real.

    Example:
        >>> table = LocalTable([{"model": "gpt-4o"}, {"model": "claude"}])
        >>> table.where('model ilike "GPT%"')
        [0]
    """

    _session: Any = None
    _count = 0

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        if LocalTable._session is None:
            try:
                from chdb import session
            except ImportError:
                raise ImportError(
                    "LocalTable needs chdb: pip install 'helicone-filter[clickhouse]'"
                ) from None
            LocalTable._session = session.Session()  # type: ignore[no-untyped-call]
        LocalTable._count += 1
        self.name = f"helicone_filter_rows_{LocalTable._count}"
        self.size = 0
        self.query(create_table(self.name))
        self.insert(rows)

    def query(self, sql: str, params: Params | None = None) -> str:
        """Run any SQL on the engine, `params` bound; the result as JSON lines."""
        texts = {k: param_text(v) for k, v in (params or {}).items()}
        result = LocalTable._session.query(sql, "JSONEachRow", params=texts)
        return bytes(result.bytes()).decode()

    def insert(self, rows: Iterable[Row]) -> None:
        """Add rows (dicts keyed by bare column name, as `matches` takes them)."""
        lines = [row_json(self.size + i, r) for i, r in enumerate(rows)]
        if lines:
            self.query(
                f"INSERT INTO {quote_name(self.name)} FORMAT JSONEachRow\n" + "\n".join(lines)
            )
            self.size += len(lines)

    def where(self, node: Any, *, now: datetime | None = None) -> list[int]:
        """The numbers (0-based, in insertion order) of the rows a filter (text or FilterNode)
        selects."""
        sql, params = to_clickhouse(node, now=now)
        out = self.query(
            f"SELECT _row FROM {quote_name(self.name)} WHERE {sql} ORDER BY _row", params
        )
        return [json.loads(line)["_row"] for line in out.splitlines()]

    def drop(self) -> None:
        """Remove the table from the engine."""
        self.query(f"DROP TABLE IF EXISTS {quote_name(self.name)}")
