"""`matches`: what Helicone's SQL answers for one row, evaluated in Python.

A row is a dict keyed by bare column name; map columns are dicts; timestamps are ISO 8601
strings or datetimes; None, or a missing column, is SQL NULL. As in SQL a comparison with NULL
is false, and only equals/not-equals "null" (is null / is not null) and equals "__empty__"
(is empty) look at it. Each operator follows HELICONE.md:

- equals / not-equals: `=` / `!=`, case-sensitive; on text columns "null" means IS NULL /
  IS NOT NULL and equals "__empty__" means empty (the empty string).
- like / ilike: the SQL pattern as given; `%` is any run, `_` one character, `\\` escapes
  `%`, `_` and itself (before anything else it is a literal backslash).
- contains / not-contains: ILIKE / NOT ILIKE '%' || v || '%', so `%` and `_` in v are
  wildcards too; "null" under any of these is SQL null and matches nothing.
- Timestamps are compared as instants; Helicone binds the filter's value as a DateTime, so its
  milliseconds are dropped (the row's are kept) and it is clamped to 1970-01-01 .. 2106-02-07.
- A map condition needs the key: `has(m, k) AND m[k] op v`. `property_key = k` is true when
  the row's `properties` has the key k.
- A leaf with several tables ands them. A leaf with several columns, keys or operators keeps
  only the one Helicone keeps (the first; for request_response_rmt the first of property_key,
  properties, search_properties, scores, cached, cost).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from .checker import ROOT, Condition, _Checker, _kept_column, normalized_ir
from .schema import EMPTY_MAGIC, FIELDS, NULL_MAGIC
from .semantics import DATETIME_MAX, DATETIME_MIN
from .timestamps import parse_timestamp

Row = dict[str, Any]
T = TypeVar("T")


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
    if op == "equals":
        return bool(a == b)
    if op == "not-equals":
        return bool(a != b)
    if op == "gt":
        return bool(a > b)
    if op == "gte":
        return bool(a >= b)
    if op == "lt":
        return bool(a < b)
    return bool(a <= b)  # lte


def condition_matches(c: Condition, row: Row) -> bool:
    """One condition on one row, as Helicone's SQL would answer it."""
    kind = c.field.kind
    value = row.get(c.field.name)
    if kind == "property_key":
        props = row.get("properties")
        return isinstance(props, dict) and c.value in props
    if c.key is not None:
        if not isinstance(value, dict) or c.key not in value:
            return False
        value = value[c.key]
    elif kind == "text":
        if c.value == NULL_MAGIC:
            if c.operator == "equals":
                return value is None
            if c.operator == "not-equals":
                return value is not None
            return False  # pasted as SQL null
        if c.value == EMPTY_MAGIC and c.operator == "equals":
            return value == ""
    if value is None:
        return False
    op = c.operator
    if kind in ("text", "map"):
        text = value if isinstance(value, str) else str(value)
        if op in ("like", "ilike"):
            return like_pattern(c.value, op == "ilike").fullmatch(text) is not None
        if op in ("contains", "not-contains"):
            found = like_pattern(f"%{c.value}%", True).fullmatch(text) is not None
            return found if op == "contains" else not found
        return _compare(op, text, c.value)
    if kind == "timestamp":
        moment = _instant(value)
        bound = parse_timestamp(c.value)
        if moment is None or bound is None:
            return False
        bound = min(max(bound.replace(microsecond=0), DATETIME_MIN), DATETIME_MAX)
        return _compare(op, moment, bound)
    if kind == "boolean":
        return bool(value) is c.value
    return _compare(op, value, c.value)


def helicone_conditions(leaf: dict[str, Any]) -> list[Condition]:
    """The conditions of a checked leaf that Helicone keeps: one per table."""
    checker = _Checker()
    kept: list[Condition] = []
    for table, columns in leaf.items():
        column = _kept_column(table, list(columns))
        operators = columns[column]
        found = checker.column(table, column, operators, ROOT)
        if found:
            first = found[0]
            if first.key is not None:  # the first key, and its first operator
                first = next(c for c in found if c.key == next(iter(operators)))
            kept.append(first)
    return kept


def _compiled_condition(leaf: dict[str, Any]) -> list[Condition]:
    """The one condition of a leaf the compiler made: one table, column (key) and operator,
    the value already in canonical form."""
    ((_, columns),) = leaf.items()
    ((column, inner),) = columns.items()
    field = FIELDS[column]
    key = None
    if field.kind == "map":
        ((key, inner),) = inner.items()
    ((op, value),) = inner.items()
    return [Condition(field, key, op, value, ROOT)]


def fold_as_helicone(
    obj: Any,
    leaf: Callable[[list[Condition]], T],
    everything: T,
    branch: Callable[[str, T, T], T],
    *,
    checked: bool = False,
) -> T:
    """Fold a FilterNode the way Helicone reads it: `leaf` gets the conditions Helicone keeps
    of each leaf (several when it names several tables, which Helicone ands), `everything`
    stands for "all" and `{}`, `branch(op, left, right)` joins two sides.

    The peers `matches` and `to_clickhouse` are two folds; the walk is a post-order with an
    explicit stack, so any depth is fine. `checked` is for JSON the compiler has just made:
    it is not validated again, and each leaf is one condition.

    Raises:
        FilterValidationError: `obj` is not a valid FilterNode (leaves with several
            conditions are fine: only the one Helicone keeps counts).
    """
    if not checked:
        normalized_ir(obj)  # raises on errors; leaves with several conditions are fine here
    conditions = _compiled_condition if checked else helicone_conditions
    todo: list[tuple[Any, bool]] = [(obj, False)]
    out: list[T] = []
    while todo:
        node, done = todo.pop()
        if node == "all" or node == {}:
            out.append(everything)
        elif "operator" in node:
            if not done:
                todo += [(node, True), (node["right"], False), (node["left"], False)]
                continue
            right, left = out.pop(), out.pop()
            out.append(branch(node["operator"], left, right))
        else:
            out.append(leaf(conditions(node)))
    return out[0]


def _both(op: str, left: bool, right: bool) -> bool:
    return left and right if op == "and" else left or right


def matches(obj: Any, row: Row) -> bool:
    """Whether Helicone's SQL selects `row` with the filter `obj`.

    Args:
        obj: a FilterNode ("all", a leaf or a branch), of any depth.
        row: a dict keyed by bare column name (see the module's docstring).

    Raises:
        FilterValidationError: `obj` is not a valid FilterNode (leaves with several
            conditions are fine: only the one Helicone keeps counts).

    Example:
        >>> matches({"request_response_rmt": {"model": {"contains": "GPT"}}}, {"model": "gpt-4o"})
        True
    """
    return fold_as_helicone(
        obj, lambda kept: all(condition_matches(c, row) for c in kept), True, _both
    )
