"""What Helicone's SQL answers for one row, evaluated in Python (`matches` of the ways in).

A row is a dict keyed by bare column name; map columns are dicts; timestamps are ISO 8601
strings or datetimes; request `cost` is in dollars; None, or a missing column, is SQL NULL. As
in SQL a comparison with NULL is false, and only equals/not-equals "null" (is null / is not
null) and equals "__empty__" (is empty) look at it. Each condition is read as Helicone's SQL
reads it on its own table (docs/helicone.md; `semantics.compared` gives the bound):

- equals / not-equals: `=` / `!=`, case-sensitive; on text columns "null" means IS NULL /
  IS NOT NULL and equals "__empty__" means empty (the empty string, the all-zero UUID).
- like / ilike: the SQL pattern as given; `%` is any run, `_` one character, `\\` escapes
  `%`, `_` and itself (before anything else it is a literal backslash).
- contains / not-contains: ILIKE / NOT ILIKE '%' || v || '%', so `%` and `_` in v are
  wildcards too; "null" under like / ilike is SQL null and matches nothing.
- Numbers: a whole bound is the 32-bit integer Helicone binds (wrapped past its range); request
  cost compares the row's nano-dollars, `round(cost * 1e9)`, with `Math.floor(v * 1e9)`.
- Timestamps: the bound in whole seconds, clamped to 1970-01-01 .. 2106-02-07; the row's
  request times to the millisecond, per-user times (users_view) to the second.
- UUIDs (request_id, organization_id, cache_reference_id) compare as UUIDs, in any case.
- properties[k]: a missing key reads as ''. scores[k]: `has(scores, k) AND scores[k] op v`, the
  value read as an Int64 ("+1" is 1). scores_column: the whole map, item by item, in order.
- `cached`: the row's `cached`, or else whether `cache_reference_id` is not all zeros.
  `helicone-score-feedback`: the row's value (true is 1), or else
  `scores['helicone-score-feedback']`, which is 0 when missing.
- `property_key = k` is true when the row's `properties` has the key k.
- A value a column cannot hold (a string for a number, a timestamp that does not read, a score
  that is no whole number) raises RowError: the row, not the filter, is wrong.
- A leaf with several tables ands them. A leaf with several columns, keys or operators keeps
  only the one Helicone keeps (the first; for request_response_rmt the first of property_key,
  properties, search_properties, scores, cached, cost).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from helicone_filter.errors import RowError
from helicone_filter.facts.schema import EMPTY_MAGIC, JSON_OPERATOR, NULL_MAGIC, Family, Field
from helicone_filter.facts.semantics import COST_SCALE, compared, describe, is_uuid, uuid_number
from helicone_filter.facts.timestamps import parse_timestamp
from helicone_filter.form import Chain, Condition, Filter, fold

Row = dict[str, Any]
T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What empty(col) is true for, by family: the empty string, else these.
_EMPTY: dict[str, Any] = {"uuid": 0, "scores_column": {}}
_MILLISECOND = timedelta(milliseconds=1)
_SECOND = timedelta(seconds=1)


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


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return parse_timestamp(value)
    return None


def _compare(op: str, a: Any, b: Any) -> bool:
    compare = JSON_OPERATOR[op].compare
    assert compare is not None  # =, !=, <, ...: not a pattern
    return bool(compare(a, b))


def _uuid(value: Any) -> int:
    return uuid_number(str(value))


_NUMBER = (int, float)
# What a row may hold for a column of each family (None, NULL, always), in words for errors.
_HOLDS: dict[Family, tuple[tuple[type, ...], str]] = {
    "string": ((str, int, float), "a string"),
    "uuid": ((str,), "a UUID string"),
    "int": (_NUMBER, "a number"),
    "float": (_NUMBER, "a number"),
    "cost": (_NUMBER, "a number of dollars"),
    "datetime": ((datetime, str), "a datetime or an ISO 8601 string"),
    "datetime64": ((datetime, str), "a datetime or an ISO 8601 string"),
    "bool": ((bool,), "true or false"),
    "cached": ((bool,), "true or false"),
    "feedback": ((bool, int, float), "true, false or a number"),
    "map": ((dict,), "a dict of strings"),
    "scores": ((dict,), "a dict of whole numbers"),
    "scores_column": ((dict,), "a dict of whole numbers"),
}


def _shown(value: Any) -> str:
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
    return RowError(f"row[{column!r}] is {_shown(value)}, but {column} holds {wanted}")


# The families whose columns hold no NaN or infinity (Float64 columns do).
_FINITE = frozenset({"int", "cost", "feedback"})


def _held(field: Field, column: str, value: Any) -> Any:
    """`value` if a row's `column` can hold it (a bool is no number, nor NaN or infinity a
    whole number); else RowError."""
    family = field.family or "string"
    types, wanted = _HOLDS[family]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise _wrong(column, value, wanted)
    if family in _FINITE and isinstance(value, float) and not math.isfinite(value):
        raise _wrong(column, value, wanted.replace("a number", "a finite number"))
    return value


_WHOLE = re.compile(r"\s*[+-]?[0-9]+\s*")


def _score(column: str, key: str, value: Any) -> int:
    """A score as ClickHouse reads it from Int64: a whole number, or the text of one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) < 1000 and _WHOLE.fullmatch(value):
        return int(value)
    raise RowError(f"row[{column!r}][{key!r}] is {_shown(value)}, but scores are whole numbers")


def row_value(field: Field, row: Row) -> Any:
    """The value a row holds for a field's column as Helicone's SQL reads it (None is NULL):
    nano-dollars for request cost, milliseconds (request times) or seconds (per-user times)
    since 1970, UUIDs as numbers, `cached` and `helicone-score-feedback` as Helicone derives
    them."""
    family = field.family
    column = "scores" if family == "scores_column" else field.name
    value = row.get(column)
    if value is not None:
        _held(field, column, value)
    if family == "scores_column":
        return {k: _score(column, k, v) for k, v in value.items()} if value else {}
    if family == "cached" and value is None:
        reference = row.get("cache_reference_id")
        if reference is None:
            return None
        if not isinstance(reference, str) or not is_uuid(reference):
            raise _wrong("cache_reference_id", reference, "a UUID string")
        return _uuid(reference) != 0
    if family == "feedback":
        if value is None:
            scores = row.get("scores")
            if scores is not None and not isinstance(scores, dict):
                raise _wrong("scores", scores, "a dict of whole numbers")
            found = scores.get(field.name, 0) if scores else 0
            value = None if found is None else _score("scores", field.name, found)
        return None if value is None else int(value)
    if value is None:
        return None
    if family == "cost":
        try:
            nanos = float(value) * COST_SCALE
        except OverflowError:  # an int past a double's range
            nanos = math.inf
        if not math.isfinite(nanos):
            raise _wrong(column, value, "dollars whose nano-dollars a double holds (< 1.8e299)")
        return round(nanos)
    if family == "uuid":
        if not is_uuid(value):
            raise _wrong(column, value, "a UUID string")
        return _uuid(value)
    if family in ("datetime", "datetime64"):
        moment = _instant(value)
        if moment is None:
            raise _wrong(column, value, "a datetime or an ISO 8601 string")
        return (moment - _EPOCH) // (_MILLISECOND if family == "datetime64" else _SECOND)
    return value


def _text_matches(op: str, text: str, value: str) -> bool:
    operator = JSON_OPERATOR[op]
    if not operator.pattern:
        return _compare(op, text, value)
    pattern = f"%{value}%" if operator.wrapped else value  # contains: live wildcards, too
    found = like_pattern(pattern, operator.case_insensitive).fullmatch(text) is not None
    return found is not operator.negates


def condition_matches(c: Condition, row: Row) -> bool:
    """One condition on one row, as Helicone's SQL would answer it."""
    field, op, value = c.field, c.op, c.value
    family = field.family
    if family == "property_key":
        props = row.get("properties")
        if props is not None and not isinstance(props, dict):
            raise _wrong("properties", props, "a dict of strings")
        return props is not None and value in props
    if c.key is not None:
        found = row.get(field.name)
        found = {} if found is None else _held(field, field.name, found)
        if field.name == "scores":  # guarded by has(), compared as Int64
            if c.key not in found or found[c.key] is None:
                return False
            score = _score(field.name, c.key, found[c.key])
            return _compare(op, score, compared(field, c.key, value))
        got = found.get(c.key)  # unguarded: a missing key is ''
        return _text_matches(op, "" if got is None else str(got), value)
    got = row_value(field, row)
    if field.kind == "text":
        if value == NULL_MAGIC:
            if op == "equals":
                return got is None
            if op == "not-equals":
                return got is not None
            return False  # pasted as SQL null
        if value == EMPTY_MAGIC and op == "equals":  # empty(col)
            return bool(got == _EMPTY.get(family or "", ""))
    if got is None:
        return False
    if family == "string":
        return _text_matches(op, got if isinstance(got, str) else str(got), value)
    if family == "scores_column":
        return _compare(op, list(got.items()), compared(field, None, value))
    if family == "datetime64":
        return _compare(op, got, compared(field, None, value) * 1000)
    if family in ("bool", "cached"):
        return bool(got) is value
    if family == "feedback":
        return bool(got == (1 if value else 0))
    return _compare(op, got, compared(field, None, value))


def filter_matches(node: Filter, row: Row) -> bool:
    """Whether Helicone's SQL selects `row` with a filter in its validated form (a condition
    Helicone drops counts as true)."""

    def leaf(c: Condition) -> bool:
        return not c.kept or condition_matches(c, row)

    def chain(c: Chain, results: list[bool]) -> bool:
        return all(results) if c.op == "and" else any(results)

    return fold(node, leaf, chain, True)


def checked_row(row: Any) -> Row:
    """`row` itself, or RowError when it is not a dict."""
    if not isinstance(row, dict):
        raise RowError(f"a row is a dict keyed by column name, not {_shown(row)}")
    return row
