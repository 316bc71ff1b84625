"""How each family of Helicone's columns compares values: one class per family, one table.

A field's family (`Field.family`, picked by the ClickHouse type of the column Helicone compares
it with, `schema.HELICONE_COLUMNS`) decides everything the backends do with a condition on it.
Each family is a class, in the manner of sqlglot's dialects, whose class attributes and class
methods say:

- `row_type`: the column `create_table` gives the field (Helicone's type, Nullable), and
  `stored`, a row's value as that column takes it;
- `compared`: the value of a condition as Helicone's SQL compares it (the 32-bit integer bind,
  the cost floor, whole seconds, UUIDs as numbers, Int64 scores);
- `sql`: the tests that select what Helicone's SQL selects, each value bound;
- `holds`, `read`: what a row may hold for the column, and the value Helicone's SQL reads
  from it (nano-dollars, milliseconds or seconds since 1970, UUIDs as numbers, `cached` and
  feedback derived as Helicone derives them);
- `matches`: whether a condition holds on a row, as Helicone's SQL answers;
- `cut`, `reading`: how the analysis cuts the column's values into regions, and what it reads
  of a condition (the magic it tests, or the value it compares with);
- `magic`, `empty`: whether Helicone's magic strings are tests on the column (on text
  columns: strings, UUIDs, the whole scores map), equals / not-equals "null" being IS NULL /
  IS NOT NULL and equals "__empty__" `empty(col)`, true for `empty`; "null" under like / ilike
  is SQL NULL, which nothing matches.

`FAMILIES` maps each family's name to its class; `family_of(field)` gives a field's. The SQL
writer (`backends/clickhouse.py`), `matches` (`backends/row_matching.py`) and the analysis
(`backends/analysis.py`) read them, and test no family by name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar, Final, Protocol

from helicone_filter.errors import RowError
from helicone_filter.facts.schema import EMPTY_MAGIC, JSON_OPERATOR, NULL_MAGIC, Family, Field
from helicone_filter.facts.semantics import (
    COST_SCALE,
    DATETIME_SECONDS,
    ZERO_UUID,
    describe,
    int32_bind,
    is_uuid,
    js_is_integer,
    js_number,
    map_literal,
    parse_canonical,
    uuid_number,
    wrap_signed,
)
from helicone_filter.facts.timestamps import parse_timestamp

Row = dict[str, Any]
# A reading of the analysis: how the column's values are cut, and the value compared with
# (or "null", None for the magic "null").
Reading = tuple[str, Any]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)
_DATETIME: Final = "DateTime('UTC')"
_ORDERED: Final = ("equals", "not-equals", "gt", "gte", "lt", "lte")
_EQUALITY: Final = ("equals", "not-equals")
_NUMBER: Final = (int, float)
_WHOLE: Final = re.compile(r"\s*[+-]?[0-9]+\s*")


class ConditionLike(Protocol):
    """A condition as the families read it (form.Condition is one)."""

    @property
    def field(self) -> Field: ...
    @property
    def key(self) -> str | None: ...
    @property
    def op(self) -> str: ...
    @property
    def value(self) -> Any: ...


class SqlWriter(Protocol):
    """What a family's `sql` needs of the writer: the SQL of each field's column, the target
    ("rows" for `create_table`'s table, else Helicone's own), and a binder of values."""

    @property
    def columns(self) -> Mapping[str, str]: ...
    @property
    def target(self) -> str: ...
    def bind(self, value: Any, type_name: str) -> str: ...


# -- comparisons in Python, as ClickHouse makes them ---------------------------------------------


@lru_cache(maxsize=4096)
def like_pattern(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    """ClickHouse's LIKE as a regular expression: `%` any run, `_` one character; a backslash
    before `%`, `_` or a backslash makes that character literal, and is itself literal before
    anything else (a pattern ending in a lone backslash is refused by the checker)."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and pattern[i + 1 : i + 2] in ("%", "_", "\\"):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if case_insensitive else 0)
    return re.compile("".join(out), flags)


def _compare(op: str, a: Any, b: Any) -> bool:
    compare = JSON_OPERATOR[op].compare
    assert compare is not None  # =, !=, <, ...: not a pattern
    return bool(compare(a, b))


def _text_matches(op: str, text: str, value: str) -> bool:
    operator = JSON_OPERATOR[op]
    if not operator.pattern:
        return _compare(op, text, value)
    pattern = f"%{value}%" if operator.wrapped else value  # contains: live wildcards, too
    found = like_pattern(pattern, operator.case_insensitive).fullmatch(text) is not None
    return found is not operator.negates


def _text_sql(w: SqlWriter, column: str, op: str, value: str) -> str:
    """`column op value` for the text operators (no magic strings here)."""
    operator = JSON_OPERATOR[op]
    bound = w.bind(value, "String")
    if operator.wrapped:  # contains: '%' || v || '%', its wildcards live, as Helicone's
        bound = f"concat('%', {bound}, '%')"
    return f"{column} {operator.sql} {bound}"


def _magic_sql(column: str, op: str, value: Any) -> list[str] | None:
    """The SQL Helicone writes for a magic string on a text column, or None for no magic."""
    if value == NULL_MAGIC:
        if op in _EQUALITY:
            return [f"{column} IS {'NOT ' if op == 'not-equals' else ''}NULL"]
        # Helicone pastes "null" itself into the SQL: the test is never true.
        return [f"{column} {op.upper()} NULL"]
    if value == EMPTY_MAGIC and op == "equals":
        return [f"empty({column})"]
    return None


def _magic_matches(op: str, value: Any, got: Any, empty: Any) -> bool | None:
    """What Helicone's SQL answers for a magic string on a text column, or None for no magic."""
    if value == NULL_MAGIC:
        if op == "equals":
            return got is None
        if op == "not-equals":
            return got is not None
        return False  # pasted as SQL null
    if value == EMPTY_MAGIC and op == "equals":  # empty(col)
        return bool(got == empty)
    return None


# -- what a row holds --------------------------------------------------------------------------


def shown(value: Any) -> str:
    """A row's value in an error: its type in words and its start."""
    if isinstance(value, (str, int, float, list, dict)):
        kind = describe(value)
    else:
        kind = f"a {type(value).__name__}"
    try:
        text = repr(value)
    except ValueError:  # an int too long for Python to write
        text = "..."
    return f"{kind} ({text[:40]}{'…' if len(text) > 40 else ''})"


def _wrong(column: str, value: Any, wanted: str) -> RowError:
    return RowError(f"row[{column!r}] is {shown(value)}, but {column} holds {wanted}")


def _as_text(value: Any, refused: Callable[[], RowError]) -> str:
    """A row's value as the text a text column compares: a number is written out, one too
    long for Python to write (over 4,300 digits) is `refused()`."""
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except ValueError:
        raise refused() from None


def _score(column: str, key: str, value: Any) -> int:
    """A score as ClickHouse reads it from Int64: a whole number, or the text of one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) < 1000 and _WHOLE.fullmatch(value):
        return int(value)
    raise RowError(f"row[{column!r}][{key!r}] is {shown(value)}, but scores are whole numbers")


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return parse_timestamp(value)
    return None


# -- the families --------------------------------------------------------------------------------


class ColumnFamily:
    """A family of columns that compare alike. The base is a column of its own, of text or
    numbers, compared with Python's operators; each family overrides what differs."""

    name: ClassVar[Family]
    holds: ClassVar[tuple[type, ...]] = (str, int, float)  # what a row may hold (or None)
    holds_words: ClassVar[str] = "a string"
    finite: ClassVar[bool] = False  # no NaN or infinity (Float64 columns hold them)
    magic: ClassVar[bool] = False  # "null" and "__empty__" are tests on it
    empty: ClassVar[Any] = ""  # what empty(col) is true for
    own_column: ClassVar[bool] = True  # a column of its own in `create_table`'s table
    reads: ClassVar[str | None] = None  # Helicone's column it is read from, if not its own
    cut: ClassVar[str | None] = None  # the analysis's cut: "real", "int", "points", "bool"
    cut_ops: ClassVar[tuple[str, ...]] = _ORDERED  # the operators the analysis reads

    # create_table's column

    @classmethod
    def row_type(cls, field: Field) -> str | None:
        """The column type of `create_table` for a field: Helicone's own, Nullable (None: the
        field is read from another column)."""
        column = field.column
        assert column is not None
        inner = column.removeprefix("Nullable(").removesuffix(")") if field.nullable else column
        inner = inner.removeprefix("LowCardinality(").removesuffix(")")
        return f"Nullable({inner})"

    @classmethod
    def stored(cls, value: Any) -> Any:
        """A row's value (None: NULL) as the column of `create_table` takes it in JSON."""
        return value

    # the value of a condition

    @classmethod
    def compared(cls, field: Field, key: str | None, value: Any) -> Any:
        """The value of a checked condition as Helicone's SQL compares it, in Python."""
        return value

    # SQL

    @classmethod
    def sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        """The SQL of one condition on `column`, as the tests that must all hold."""
        if cls.magic:
            found = _magic_sql(column, c.op, c.value)
            if found is not None:
                return found
        return cls.test_sql(w, c, column)

    @classmethod
    def test_sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        """The SQL of a condition that is no magic string."""
        raise NotImplementedError(cls.name)

    # rows

    @classmethod
    def row_column(cls, field: Field) -> str:
        """The column of a row (as `matches` takes it) that holds the field's value."""
        return field.name if cls.own_column or cls.reads is None else cls.reads

    @classmethod
    def held(cls, column: str, value: Any) -> Any:
        """`value` if a row's `column` can hold it (a bool is no number, nor NaN or infinity a
        whole number); else RowError."""
        if not isinstance(value, cls.holds) or (isinstance(value, bool) and bool not in cls.holds):
            raise _wrong(column, value, cls.holds_words)
        if cls.finite and isinstance(value, float) and not math.isfinite(value):
            raise _wrong(column, value, cls.holds_words.replace("a number", "a finite number"))
        return value

    @classmethod
    def read(cls, field: Field, row: Row) -> Any:
        """The value a row holds for the field's column as Helicone's SQL reads it (None is
        NULL)."""
        column = cls.row_column(field)
        value = row.get(column)
        if value is None:
            return cls.missing(field, row)
        return cls.value(column, cls.held(column, value))

    @classmethod
    def missing(cls, field: Field, row: Row) -> Any:
        """What Helicone's SQL reads where the row's column is NULL."""
        return None

    @classmethod
    def value(cls, column: str, value: Any) -> Any:
        """A row's value (not NULL, of a type the column holds) as Helicone's SQL reads it."""
        return value

    @classmethod
    def matches(cls, c: ConditionLike, row: Row) -> bool:
        """One condition on one row, as Helicone's SQL would answer it."""
        got = cls.read(c.field, row)
        if cls.magic:
            found = _magic_matches(c.op, c.value, got, cls.empty)
            if found is not None:
                return found
        if got is None:
            return False
        return cls.test(c.op, got, cls.compared(c.field, None, c.value))

    @classmethod
    def test(cls, op: str, got: Any, bound: Any) -> bool:
        """`got op bound`: a row's value (not NULL) and a condition's, as `read` and
        `compared` give them."""
        return _compare(op, got, bound)

    # the analysis

    @classmethod
    def reading(cls, c: ConditionLike) -> Reading | None:
        """How the analysis reads a condition: (how the column's values are cut, the value it
        compares with), or None for a condition it does not read."""
        if cls.cut is None or c.op not in cls.cut_ops:
            return None
        return cls.cut, cls.compared(c.field, c.key, c.value)


class StringFamily(ColumnFamily):
    """Text: =, != and the LIKE patterns, case-sensitive but for ilike and contains."""

    name: ClassVar[Family] = "string"
    magic = True
    cut = "points"
    cut_ops = _EQUALITY

    @classmethod
    def test_sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        return [_text_sql(w, column, c.op, c.value)]

    @classmethod
    def value(cls, column: str, value: Any) -> Any:
        _as_text(value, lambda: _wrong(column, value, "text"))  # writable as text, or refused
        return value

    @classmethod
    def test(cls, op: str, got: Any, bound: Any) -> bool:
        return _text_matches(op, got if isinstance(got, str) else str(got), bound)

    @classmethod
    def reading(cls, c: ConditionLike) -> Reading | None:
        if c.op not in cls.cut_ops:
            return None
        if c.value == NULL_MAGIC:
            return "null", None
        if c.value == EMPTY_MAGIC:
            return ("points", cls.empty) if c.op == "equals" else None
        return "points", cls.compared(c.field, None, c.value)


class UuidFamily(StringFamily):
    """UUIDs, compared as UUIDs (any case, with or without dashes); empty is all zeros."""

    name: ClassVar[Family] = "uuid"
    holds = (str,)
    holds_words = "a UUID string"
    empty = 0

    @classmethod
    def compared(cls, field: Field, key: str | None, value: Any) -> Any:
        return value if value in (NULL_MAGIC, EMPTY_MAGIC) else uuid_number(value)

    @classmethod
    def test_sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        import uuid  # only for a UUID column: a one-shot compile need not load it

        bound = w.bind(str(uuid.UUID(c.value)), "UUID")
        return [f"{column} {JSON_OPERATOR[c.op].sql} {bound}"]

    @classmethod
    def value(cls, column: str, value: Any) -> Any:
        if not is_uuid(value):
            raise _wrong(column, value, "a UUID string")
        return uuid_number(value)

    @classmethod
    def test(cls, op: str, got: Any, bound: Any) -> bool:
        return _compare(op, got, bound)


class IntFamily(ColumnFamily):
    """Whole numbers: a whole bound is the 32-bit integer Helicone binds (wrapped past its
    range), any other a Float64."""

    name: ClassVar[Family] = "int"
    holds = _NUMBER
    holds_words = "a number"
    finite = True
    cut = "real"

    @classmethod
    def compared(cls, field: Field, key: str | None, value: Any) -> Any:
        x = js_number(value)
        if js_is_integer(x):
            read = int32_bind(x)
            assert read is not None  # checked
            return read
        return x

    @classmethod
    def operand(cls, w: SqlWriter, column: str) -> str:
        """What the SQL compares: the column, or what is made of it."""
        return column

    @classmethod
    def test_sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        bound = cls.compared(c.field, None, c.value)
        type_name = "Float64" if isinstance(bound, float) else "Int64"
        operand = cls.operand(w, column)
        return [f"{operand} {JSON_OPERATOR[c.op].sql} {w.bind(bound, type_name)}"]


class FloatFamily(IntFamily):
    """Float64 columns (they hold NaN and infinity), bound as the whole numbers are."""

    name: ClassVar[Family] = "float"
    finite = False


class CostFamily(IntFamily):
    """Request cost: nano-dollars in Helicone's table, dollars in `create_table`'s; the bound
    is `Math.floor(v * 1e9)`, bound as a 32-bit integer (wrapped)."""

    name: ClassVar[Family] = "cost"
    holds_words = "a number of dollars"
    cut = "int"

    @classmethod
    def row_type(cls, field: Field) -> str | None:
        return "Nullable(Float64)"

    @classmethod
    def stored(cls, value: Any) -> Any:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    @classmethod
    def compared(cls, field: Field, key: str | None, value: Any) -> Any:
        read = int32_bind(math.floor(js_number(value) * COST_SCALE))
        assert read is not None
        return read

    @classmethod
    def operand(cls, w: SqlWriter, column: str) -> str:
        return f"round({column} * {COST_SCALE})" if w.target == "rows" else column

    @classmethod
    def value(cls, column: str, value: Any) -> Any:
        try:
            nanos = float(value) * COST_SCALE
        except OverflowError:  # an int past a double's range
            nanos = math.inf
        if not math.isfinite(nanos):
            raise _wrong(column, value, "dollars whose nano-dollars a double holds (< 1.8e299)")
        return round(nanos)


class DatetimeFamily(ColumnFamily):
    """DateTime: whole seconds (per-user times). The bound is whole seconds, clamped to
    1970-01-01 .. 2106-02-07."""

    name: ClassVar[Family] = "datetime"
    holds = (datetime, str)
    holds_words = "a datetime or an ISO 8601 string"
    cut = "real"
    unit: ClassVar[timedelta] = _SECOND  # of a row's value
    table_type: ClassVar[str] = "DateTime('UTC')"  # of create_table's column, inside Nullable

    @classmethod
    def row_type(cls, field: Field) -> str | None:
        return f"Nullable({cls.table_type})"

    @classmethod
    def stored(cls, value: Any) -> Any:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else parse_timestamp(str(value))
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if moment else None

    @classmethod
    def compared(cls, field: Field, key: str | None, value: Any) -> Any:
        moment = parse_canonical(value)
        assert moment is not None
        seconds = math.floor(moment.timestamp())
        return min(max(seconds, DATETIME_SECONDS[0]), DATETIME_SECONDS[1])

    @classmethod
    def test_sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        value = c.value
        if "1970" <= value[:4] <= "2105":  # canonical: whole seconds are its first 19
            text = f"{value[:10]} {value[11:19]}"
        else:
            seconds = cls.compared(c.field, None, value)  # clamped as DateTime clamps it
            text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
        return [f"{column} {JSON_OPERATOR[c.op].sql} {w.bind(text, _DATETIME)}"]

    @classmethod
    def value(cls, column: str, value: Any) -> Any:
        moment = _instant(value)
        if moment is None:
            raise _wrong(column, value, "a datetime or an ISO 8601 string")
        return (moment - _EPOCH) // cls.unit

    @classmethod
    def test(cls, op: str, got: Any, bound: Any) -> bool:
        return _compare(op, got, bound * (_SECOND // cls.unit))  # the bound in whole seconds


class Datetime64Family(DatetimeFamily):
    """DateTime64(3): request times, to the millisecond, against a bound in whole seconds."""

    name: ClassVar[Family] = "datetime64"
    unit = timedelta(milliseconds=1)
    table_type = "DateTime64(3, 'UTC')"


class BoolFamily(ColumnFamily):
    """Bool: equals true or false (`!=` is lowered to the other value)."""

    name: ClassVar[Family] = "bool"
    holds = (bool,)
    holds_words = "true or false"
    cut = "bool"

    @classmethod
    def test_sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        return [f"{column} = {w.bind(c.value, 'Bool')}"]

    @classmethod
    def test(cls, op: str, got: Any, bound: Any) -> bool:
        return bool(got) is bound


class CachedFamily(BoolFamily):
    """`cached`: Helicone tests cache_reference_id against the all-zero UUID; a row's own
    `cached`, or else its cache_reference_id."""

    name: ClassVar[Family] = "cached"
    reads = "cache_reference_id"

    @classmethod
    def row_type(cls, field: Field) -> str | None:
        return "Nullable(Bool)"

    @classmethod
    def test_sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        zero = f"toUUID('{ZERO_UUID}')"
        if w.target != "rows":
            return [f"{column} {'!=' if c.value else '='} {zero}"]
        reference = w.columns["cache_reference_id"]
        derived = f"coalesce({column}, {reference} != {zero})"
        return [f"{derived} = {w.bind(c.value, 'Bool')}"]

    @classmethod
    def missing(cls, field: Field, row: Row) -> Any:
        reference = row.get("cache_reference_id")
        if reference is None:
            return None
        if not isinstance(reference, str) or not is_uuid(reference):
            raise _wrong("cache_reference_id", reference, "a UUID string")
        return uuid_number(reference) != 0


class FeedbackFamily(ColumnFamily):
    """`helicone-score-feedback`: `scores['helicone-score-feedback']` = 1 (true) or 0,
    unguarded (a missing score is 0); a row's own value, or else its scores."""

    name: ClassVar[Family] = "feedback"
    holds = (bool, int, float)
    holds_words = "true, false or a number"
    finite = True
    reads = "scores"
    cut = "points"

    @classmethod
    def row_type(cls, field: Field) -> str | None:
        return "Nullable(Int64)"

    @classmethod
    def stored(cls, value: Any) -> Any:
        return None if value is None else int(value)

    @classmethod
    def test_sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        read = f"{w.columns['scores']}['helicone-score-feedback']"
        if w.target == "rows":
            read = f"coalesce({column}, {read})"
        return [f"{read} = {w.bind(1 if c.value else 0, 'Int64')}"]

    @classmethod
    def missing(cls, field: Field, row: Row) -> Any:
        scores = row.get("scores")
        if scores is not None and not isinstance(scores, dict):
            raise _wrong("scores", scores, "a dict of whole numbers")
        found = scores.get(field.name, 0) if scores else 0
        return None if found is None else _score("scores", field.name, found)

    @classmethod
    def value(cls, column: str, value: Any) -> Any:
        return int(value)

    @classmethod
    def test(cls, op: str, got: Any, bound: Any) -> bool:
        return bool(got == (1 if bound else 0))

    @classmethod
    def reading(cls, c: ConditionLike) -> Reading | None:
        return "points", 1 if c.value else 0


class MapFamily(ColumnFamily):
    """`properties[k]`: text, unguarded (a missing key reads as '')."""

    name: ClassVar[Family] = "map"
    holds = (dict,)
    holds_words = "a dict of strings"
    cut = "points"
    cut_ops = _EQUALITY

    @classmethod
    def row_type(cls, field: Field) -> str | None:
        return field.column

    @classmethod
    def stored(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @classmethod
    def sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        key = w.bind(c.key, "String")
        return [_text_sql(w, f"{column}[{key}]", c.op, c.value)]  # unguarded, as Helicone

    @classmethod
    def items(cls, c: ConditionLike, row: Row) -> dict[str, Any]:
        """The row's map (a missing one is empty)."""
        found = row.get(c.field.name)
        held: dict[str, Any] = {} if found is None else cls.held(c.field.name, found)
        return held

    @classmethod
    def matches(cls, c: ConditionLike, row: Row) -> bool:
        assert c.key is not None  # a condition on a map names a key
        got = cls.items(c, row).get(c.key)
        name, key = c.field.name, c.key
        text = (
            ""
            if got is None
            else _as_text(
                got,
                lambda: RowError(f"row[{name!r}][{key!r}] is {shown(got)}, but {name} holds text"),
            )
        )
        return _text_matches(c.op, text, c.value)


class ScoresFamily(MapFamily):
    """`scores[k]`: `has(scores, k) AND scores[k] op v`, over Int64 values."""

    name: ClassVar[Family] = "scores"
    holds_words = "a dict of whole numbers"
    cut = "int"

    @classmethod
    def compared(cls, field: Field, key: str | None, value: Any) -> Any:
        return wrap_signed(int(value), 64)

    @classmethod
    def sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        key = w.bind(c.key, "String")
        bound = w.bind(cls.compared(c.field, c.key, c.value), "Int64")
        return [f"has({column}, {key})", f"{column}[{key}] {JSON_OPERATOR[c.op].sql} {bound}"]

    @classmethod
    def matches(cls, c: ConditionLike, row: Row) -> bool:
        found = cls.items(c, row)
        if c.key not in found or found[c.key] is None:
            return False
        score = _score(c.field.name, c.key, found[c.key])
        return _compare(c.op, score, cls.compared(c.field, c.key, c.value))


class ScoresColumnFamily(ColumnFamily):
    """`scores_column`: the whole scores map, against a map literal, item by item in order."""

    name: ClassVar[Family] = "scores_column"
    holds = (dict,)
    holds_words = "a dict of whole numbers"
    magic = True
    empty: ClassVar[Any] = {}
    own_column = False
    reads = "scores"

    @classmethod
    def row_type(cls, field: Field) -> str | None:
        return None

    @classmethod
    def compared(cls, field: Field, key: str | None, value: Any) -> Any:
        return map_literal(value)

    @classmethod
    def test_sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        return [f"{column} {JSON_OPERATOR[c.op].sql} {w.bind(c.value, 'String')}"]

    @classmethod
    def missing(cls, field: Field, row: Row) -> Any:
        return {}

    @classmethod
    def value(cls, column: str, value: Any) -> Any:
        return {k: _score(column, k, v) for k, v in value.items()} if value else {}

    @classmethod
    def test(cls, op: str, got: Any, bound: Any) -> bool:
        return _compare(op, list(got.items()), bound)


class PropertyKeyFamily(ColumnFamily):
    """`property_key = k`: whether the row's properties have the key k."""

    name: ClassVar[Family] = "property_key"
    own_column = False
    reads = "properties"

    @classmethod
    def row_type(cls, field: Field) -> str | None:
        return None

    @classmethod
    def sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        return [f"has({column}, {w.bind(c.value, 'String')})"]

    @classmethod
    def matches(cls, c: ConditionLike, row: Row) -> bool:
        props = row.get("properties")
        if props is not None:
            MapFamily.held("properties", props)
        return props is not None and c.value in props


class SessionTagFamily(ColumnFamily):
    """`session_tag` (the request endpoints): a tag of the request's session. Helicone runs
    `properties['Helicone-Session-Id'] IN (SELECT entity_id FROM tags WHERE tag <op> v AND
    entity_type = 'session')`: contains is ILIKE v itself (no `%` added), and a request is
    selected when any tag of its session passes, so `!=` and not-contains are no opposites of
    `=` and contains. A row carries its session's tags as `session_tags`, a list of strings
    (missing or None: a session without tags), which `create_table(endpoint="requests")`
    makes an `Array(String)` column; for Helicone's own table the SQL reads its `tags`
    table."""

    name: ClassVar[Family] = "session_tag"
    holds = (list,)
    holds_words = "a list of strings"
    own_column = False
    reads = "session_tags"

    @classmethod
    def row_type(cls, field: Field) -> str | None:
        return "Array(String)"

    @classmethod
    def row_column(cls, field: Field) -> str:
        return "session_tags"

    @classmethod
    def stored(cls, value: Any) -> Any:
        return list(value) if isinstance(value, list) else []

    @classmethod
    def sql(cls, w: SqlWriter, c: ConditionLike, column: str) -> list[str]:
        operator = JSON_OPERATOR[c.op]
        bound = w.bind(c.value, "String")
        if w.target == "rows":
            return [f"arrayExists(t -> t {operator.sql} {bound}, {column})"]
        session = f"{w.columns['properties']}['Helicone-Session-Id']"
        tags = f"SELECT entity_id FROM tags WHERE tag {operator.sql} {bound}"
        return [f"{session} IN ({tags} AND entity_type = 'session')"]

    @classmethod
    def matches(cls, c: ConditionLike, row: Row) -> bool:
        found = row.get("session_tags")
        tags: list[Any] = [] if found is None else cls.held("session_tags", found)
        for tag in tags:
            if not isinstance(tag, str):
                raise _wrong("session_tags", tag, "strings")
        operator = JSON_OPERATOR[c.op]
        if not operator.pattern:
            return any(_compare(c.op, tag, c.value) for tag in tags)
        pattern = like_pattern(c.value, operator.case_insensitive)  # contains: no `%` added
        return any((pattern.fullmatch(tag) is not None) is not operator.negates for tag in tags)


FAMILIES: Final[Mapping[str, type[ColumnFamily]]] = {
    family.name: family
    for family in (
        StringFamily,
        UuidFamily,
        IntFamily,
        FloatFamily,
        CostFamily,
        DatetimeFamily,
        Datetime64Family,
        BoolFamily,
        CachedFamily,
        FeedbackFamily,
        MapFamily,
        ScoresFamily,
        ScoresColumnFamily,
        PropertyKeyFamily,
        SessionTagFamily,
    )
}
"""Every family of columns by its name (`schema.Family`)."""


def family_of(field: Field) -> type[ColumnFamily]:
    """The family of a field that has a column in Helicone's table."""
    assert field.family is not None, f"{field.name} has no column in Helicone's table"
    return FAMILIES[field.family]


def compared(field: Field, key: str | None, value: Any) -> Any:
    """The value of a checked condition as Helicone's SQL compares it, in Python.

    Numbers: the integer ClickHouse reads from the Int32 bind (wrapped), or the float; request
    cost: the nano-dollar integer `Math.floor(v * 1e9)`, wrapped; timestamps: whole seconds
    since 1970, clamped to DateTime's range; UUIDs: their 128-bit number; scores: the Int64;
    scores_column: the map's items; booleans, strings: themselves.
    """
    return family_of(field).compared(field, key, value)
