"""Hypothesis strategies over the schema table: filter text, FilterNode JSON, and rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from helicone_filter.facts.schema import (
    ALLOWED_OPERATORS,
    EMPTY_MAGIC,
    FIELD_OPERATORS,
    FIELDS,
    JSON_OPERATORS,
    KEYWORDS,
    NAME_PATTERN,
    NULL_MAGIC,
    OPERATOR_JSON,
    REQUEST_RESPONSE_RMT,
    TABLES,
    Field,
)
from helicone_filter.facts.timestamps import format_timestamp

# The columns Helicone can filter on (the others make its query fail; see test_check).
COLUMNS = {
    t: [n for n, f in FIELDS.items() if f.table == t and f.column is not None] for t in TABLES
}

# -- values ----------------------------------------------------------------------------------

# Broad: every kind of character, escapes, magic strings, wildcards.
BROAD_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="\"'\\/\n\r\t\b\f%_ aé😀“”\x00\x1f\u2028", max_size=8),
    st.sampled_from([NULL_MAGIC, EMPTY_MAGIC, "", "all", "and", "not", "true", "5"]),
)
# Helicone binds whole numbers as 32-bit integers (a bound past them is refused in text), and
# fails on those JavaScript writes with an exponent: floats that are whole stay in range too.
INT32 = (-(2**31), 2**31 - 1)
BROAD_NUMBER = st.one_of(
    st.integers(*INT32),
    st.integers(-10, 10),
    st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda x: x != int(x) or INT32[0] <= x <= INT32[1] if abs(x) < 1e300 else False
    ),
)
# Request cost is multiplied by 10^9 before that bind: dollar bounds within ±2.147483647.
BROAD_COST = st.one_of(
    st.floats(-2.147, 2.147, allow_nan=False),
    st.integers(-2, 2),
    st.sampled_from([0.5, 1.001, 1e-9, 1.5e-9, 2.147483647, -2.147483648]),
)
# Helicone's UUID columns take UUIDs, in any case, with or without dashes.
UUIDS = [
    "00000000-0000-0000-0000-000000000000",
    "0f8fad5b-d9cb-469f-a165-70867728950e",
    "0F8FAD5B-D9CB-469F-A165-70867728950E",
    "0f8fad5bd9cb469fa16570867728950e",
    "7c9e6679-7425-40de-944b-e07fc1f90ae7",
]
# Scores are Int64: a condition on one compares it with a whole number in a string.
SCORE_TEXT = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.sampled_from(["0", "1", "+1", "-1", "01", "-0", "5"]),
)
SMALL_SCORES = ["0", "1", "+1", "-1", "01", "5", "-9223372036854775808"]
# scores_column compares the whole map with a literal, item by item in order.
MAP_LITERALS = ["{}", "{'k':1}", "{'k': 1, 'K': -1}", "{'K':-1,'k':1}", "{ 'k k' : 0 }"]
KEYS = st.one_of(
    st.from_regex(NAME_PATTERN, fullmatch=True).filter(lambda k: len(k) < 20),
    st.sampled_from([*sorted(KEYWORDS), "a b", "a.b", "1x", "", "Helicone-Session-Id", "ключ"]),
    st.text(max_size=6),
)
INSTANTS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1))


@st.composite
def timestamp_text(draw: st.DrawFn) -> str:
    """A timestamp in any form the language accepts (no zone means UTC)."""
    moment = draw(INSTANTS)
    form = draw(st.integers(0, 4))
    if form == 0:
        return moment.strftime("%Y-%m-%d")
    sep = draw(st.sampled_from(["T", " "]))
    base = moment.strftime(f"%Y-%m-%d{sep}%H:%M")
    if form >= 2:
        base += moment.strftime(":%S")
    if form >= 3:
        base += "." + str(moment.microsecond).rjust(6, "0")[: draw(st.integers(1, 6))]
    zone = draw(st.sampled_from(["", "Z", "+02:00", "-05:30", "+00:00"]))
    return base + zone


def canonical_timestamp(moment: datetime) -> str:
    return format_timestamp(moment.replace(tzinfo=UTC))


# Small pools, so that rows and filters meet.
SMALL_TEXT = st.sampled_from(["", "a", "A", "ab", "b", "a%", "x_y", "abc", "B"])
SMALL_NUMBER = st.sampled_from([-1, 0, 1, 2, 2.5, 10])
SMALL_TIMES = [
    datetime(2025, 1, 1, h, 0, s, ms * 1000, tzinfo=UTC)
    for h in (0, 1)
    for s in (0, 30)
    for ms in (0, 500)
]
SMALL_KEYS = ["k", "k k", "and"]


def quote(s: str, single: bool = False) -> str:
    if not single:
        return json.dumps(s, ensure_ascii=False)
    body = json.dumps(s, ensure_ascii=False)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{body}'"


def key_text(key: str) -> str:
    import re

    if re.fullmatch(NAME_PATTERN, key) and key.lower() not in KEYWORDS:
        return f".{key}"
    return f"[{quote(key)}]"


def _lone_trailing_backslash(value: str) -> bool:
    return (len(value) - len(value.rstrip("\\"))) % 2 == 1


def _like_safe(json_op: str, value: Any) -> Any:
    """`value`, with a backslash added where it would end a like pattern in a lone one (which
    ClickHouse, and so the checker, refuses)."""
    if json_op in ("like", "ilike") and isinstance(value, str) and _lone_trailing_backslash(value):
        return value + "\\"
    return value


def text_runs(json_op: str, value: str, magic: bool) -> str:
    """A string Helicone runs under `json_op` on a text column: its magic strings only where
    its SQL takes them ("null" nowhere under contains, "__empty__" only under equals), and no
    like pattern ending in a lone backslash."""
    if magic and value == NULL_MAGIC and json_op in ("contains", "not-contains"):
        return "v"
    if magic and value == EMPTY_MAGIC and json_op != "equals":
        return "v"
    return str(_like_safe(json_op, value))


def family_value(draw: st.DrawFn, field: Field, keyed: bool, json_op: str, small: bool) -> Any:
    """A JSON value for `{json_op: value}` on `field` (on one of its keys) that Helicone runs."""
    family = "scores" if keyed and field.name == "scores" else field.family
    if keyed and field.name != "scores":
        family = "map"
    if family == "uuid":
        pool = [*UUIDS, NULL_MAGIC] + ([EMPTY_MAGIC] if json_op == "equals" else [])
        return draw(st.sampled_from(pool))
    if family == "scores":
        return draw(st.sampled_from(SMALL_SCORES) if small else SCORE_TEXT)
    if family == "scores_column":
        return draw(st.sampled_from(MAP_LITERALS))
    if family == "cost":
        return draw(st.sampled_from([0, 0.5, 1, 1.001, 1e-9]) if small else BROAD_COST)
    if field.kind == "number":
        return draw(SMALL_NUMBER if small else BROAD_NUMBER)
    if field.kind in ("text", "map", "property_key") or keyed:
        value = draw(SMALL_TEXT if small else BROAD_TEXT)
        return text_runs(json_op, value, magic=field.kind == "text" and not keyed)
    raise AssertionError(family)


# -- filter text -------------------------------------------------------------------------------

NEGATABLE = {
    "text": ["=", "!=", "contains", "not contains", "in", "not in", "is null", "is not null"],
    "number": list(ALLOWED_OPERATORS["number"]),
    "timestamp": list(ALLOWED_OPERATORS["timestamp"]),
    "boolean": ["=", "!=", "bare"],
    "map": ["=", "!=", "contains", "not contains", "in", "not in"],
    "property_key": [],
}


def _operators(column: str, negatable: bool) -> list[str]:
    """The operators of the language that Helicone runs on `column`; only negatable ones when
    asked."""
    f = FIELDS[column]
    ops = [op for op in FIELD_OPERATORS[column] if op in ALLOWED_OPERATORS[f.kind]]
    if f.kind == "boolean":
        ops.append("bare")
    if negatable:
        ops = [op for op in ops if op in NEGATABLE[f.kind]]
        if f.kind == "text":  # negated, contains and not contains swap: keep both or neither
            ops = [op for op in ops if op not in ("contains", "not contains")] + (
                ["contains", "not contains"] if "contains" in ops else []
            )
    return ops


@st.composite
def leaf_text(draw: st.DrawFn, table: str, negatable: bool, small: bool = False) -> str:
    """One condition on a column of `table`, as text; only negatable ones when asked."""
    columns = [c for c in COLUMNS[table] if _operators(c, negatable)]
    column = draw(st.sampled_from(columns))
    field = FIELDS[column]
    kind = field.kind
    name = column
    if draw(st.integers(0, 4)) == 0:
        name = f"{table}.{column}"
    if kind == "map":
        key = draw(st.sampled_from(SMALL_KEYS) if small else KEYS)
        name += key_text(key) if draw(st.booleans()) else f"[{quote(key)}]"
    op = draw(st.sampled_from(_operators(column, negatable)))
    if op == "bare":
        return name
    if op.startswith("is "):
        return f"{name} {op}"

    def one() -> str:
        if kind in ("text", "map", "property_key"):
            json_op = OPERATOR_JSON.get(op, "equals" if op == "in" else "not-equals")
            value = family_value(draw, field, kind == "map", json_op, small)
            if negatable and kind == "text" and value in (NULL_MAGIC, EMPTY_MAGIC):
                value = "v" if field.family != "uuid" else UUIDS[1]  # no exact opposite
            return quote(value, draw(st.booleans()))
        if kind == "number":
            return repr(family_value(draw, field, False, "equals", small))
        if kind == "timestamp":
            if small:
                return quote(format_timestamp(draw(st.sampled_from(SMALL_TIMES))))
            if draw(st.integers(0, 3)) == 0:
                unit = draw(st.sampled_from("smhdw"))
                return f"now - {draw(st.integers(0, 500))}{unit}"
            return quote(draw(timestamp_text()))
        return draw(st.sampled_from(["true", "false", "TRUE"]))

    if op in ("in", "not in"):
        values = [one() for _ in range(draw(st.integers(1, 4)))]
        return f"{name} {op} [{', '.join(values)}]"
    return f"{name} {op} {one()}"


def filter_text(table: str, negatable: bool = False, small: bool = False) -> st.SearchStrategy[str]:
    """Conditions on one table joined by and/or, grouped, negated where that is allowed."""

    def extend(sub: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        word = st.sampled_from(["and", "or", "AND", "Or", "&&", "||"])
        return st.one_of(
            st.tuples(sub, word, sub).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            sub.map(lambda s: f"({s})"),
        )

    base = st.recursive(leaf_text(table, negatable, small), extend, max_leaves=10)
    if not negatable:
        negated = st.recursive(leaf_text(table, True, small), extend, max_leaves=6).map(
            lambda s: f"not ({s})"
        )
        return st.recursive(
            st.one_of(base, negated),
            lambda sub: st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(
                lambda t: f"({t[0]}) {t[1]} ({t[2]})"
            ),
            max_leaves=3,
        )
    return st.recursive(
        base, lambda sub: sub.map(lambda s: f"not ({s})") | extend(sub), max_leaves=10
    )


@st.composite
def any_filter_text(draw: st.DrawFn, negatable: bool = False, small: bool = False) -> str:
    """A valid filter: each table's part on its own, the two joined with `and`."""
    parts = [draw(filter_text(t, negatable, small)) for t in TABLES if draw(st.booleans())]
    if not parts:
        parts = [draw(filter_text(REQUEST_RESPONSE_RMT, negatable, small))]
    return " and ".join(f"({p})" for p in parts)


# -- FilterNode JSON from elsewhere --------------------------------------------------------------


@st.composite
def json_value(draw: st.DrawFn, field: Field, json_op: str, small: bool) -> Any:
    kind = field.kind
    if kind in ("text", "map", "property_key", "number"):
        return family_value(draw, field, kind == "map", json_op, small)
    if kind == "timestamp":
        if small:
            moment = draw(st.sampled_from(SMALL_TIMES))
            offset = draw(st.sampled_from([0, 120, -330]))
            local = moment.astimezone(timezone(timedelta(minutes=offset)))
            return local.isoformat(timespec=draw(st.sampled_from(["seconds", "milliseconds"])))
        text = draw(timestamp_text())
        return text if text.endswith(("Z", "00", "30")) or len(text) == 10 else text + "Z"
    return draw(st.booleans())


@st.composite
def json_leaf(draw: st.DrawFn, table: str, small: bool, several: bool) -> Any:
    """A leaf; with `several`, sometimes with more than one column or operator."""
    names = draw(
        st.lists(
            st.sampled_from(COLUMNS[table]), min_size=1, max_size=3 if several else 1, unique=True
        )
    )
    columns: dict[str, Any] = {}
    for column in names:
        field = FIELDS[column]
        kind = field.kind
        op_kind = "text" if kind == "map" else kind
        ops = draw(
            st.lists(
                st.sampled_from(json_operators(column, op_kind)),
                min_size=1,
                max_size=2 if several else 1,
                unique=True,
            )
        )
        operators = {op: draw(json_value(field, op, small)) for op in ops}
        if kind == "map":
            key = draw(st.sampled_from(SMALL_KEYS) if small else KEYS)
            columns[column] = {key: operators}
        else:
            columns[column] = operators
    return {table: columns}


def json_operators(column: str, kind: str) -> list[str]:
    """The JSON operators Helicone runs on `column` (of kind `kind`)."""
    text_ops = FIELD_OPERATORS[column]
    runs = {OPERATOR_JSON[op] for op in text_ops if op in OPERATOR_JSON}
    if {"in", "is null", "is empty"} & set(text_ops):
        runs.add("equals")
    if {"not in", "is not null"} & set(text_ops):
        runs.add("not-equals")
    return [op for op in JSON_OPERATORS[kind] if op in runs or kind == "boolean"]


def tree(leaf: st.SearchStrategy[Any], max_leaves: int) -> st.SearchStrategy[Any]:
    """Branches over leaves drawn from `leaf` (and "all"), any shape."""
    return st.recursive(
        st.one_of(leaf, leaf, st.just("all")),
        lambda sub: st.builds(
            lambda left, op, right: {"left": left, "operator": op, "right": right},
            sub,
            st.sampled_from(["and", "or"]),
            sub,
        ),
        max_leaves=max_leaves,
    )


def json_tree(table: str, small: bool = False, several: bool = False) -> st.SearchStrategy[Any]:
    return tree(json_leaf(table, small, several), 12)


@st.composite
def per_table(draw: st.DrawFn, tree_of: Callable[[str], st.SearchStrategy[Any]]) -> Any:
    """A valid filter: a tree on each table (or one), the two joined with `and`."""
    parts = [draw(tree_of(t)) for t in TABLES if draw(st.booleans())]
    if not parts:
        return draw(tree_of(draw(st.sampled_from(TABLES))))
    if len(parts) == 1:
        return parts[0]
    return {"left": parts[0], "operator": "and", "right": parts[1]}


def any_json_filter(small: bool = False, several: bool = False) -> st.SearchStrategy[Any]:
    return per_table(lambda t: json_tree(t, small, several))


# -- rows --------------------------------------------------------------------------------------


@st.composite
def row(draw: st.DrawFn, nulls: bool = True) -> dict[str, Any]:
    """A row keyed by bare column name, values from the small pools; None is NULL."""
    out: dict[str, Any] = {}
    for name, f in FIELDS.items():
        if f.kind == "property_key" or f.column is None or f.family == "scores_column":
            continue
        if nulls and draw(st.integers(0, 5)) == 0:
            out[name] = None
            continue
        if f.kind == "map":
            keys = (
                SMALL_KEYS
                if not nulls
                else draw(st.lists(st.sampled_from(SMALL_KEYS), unique=True))
            )
            values = st.sampled_from([0, 1, -1, 5]) if f.family == "scores" else SMALL_TEXT
            out[name] = {k: draw(values) for k in keys}
        elif f.family == "uuid":
            out[name] = draw(st.sampled_from(UUIDS))
        elif f.family == "cost":
            out[name] = draw(st.sampled_from([0, 0.5, 1.001, 1.000999999, 0.705032704]))
        elif f.kind == "text":
            out[name] = draw(SMALL_TEXT)
        elif f.kind == "number":
            out[name] = draw(SMALL_NUMBER)
        elif f.kind == "timestamp":
            moment = draw(st.sampled_from(SMALL_TIMES))
            out[name] = moment if draw(st.booleans()) else moment.isoformat()
        else:
            out[name] = draw(st.booleans())
    return out


# -- anything at all ---------------------------------------------------------------------------

FILTER_WORDS = st.sampled_from(
    [
        *TABLES,
        *FIELDS,
        *sorted({o for ops in JSON_OPERATORS.values() for o in ops}),
        "left",
        "right",
        "operator",
        "and",
        "or",
        "all",
        "ALL",
        "AND",
    ]
)
ANY_JSON = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5), FILTER_WORDS
    ),
    lambda c: st.one_of(
        st.lists(c, max_size=3),
        st.dictionaries(st.one_of(FILTER_WORDS, st.text(max_size=4)), c, max_size=4),
    ),
    max_leaves=20,
)


# -- what Helicone's validator converts ----------------------------------------------------------


def _respell(draw: st.DrawFn, field: Field | None, value: Any) -> Any:
    """`value` in another spelling that Helicone reads as the same value (or a whole number
    that its 32-bit bind wraps to the same), or `value` itself."""
    if field is None or draw(st.integers(0, 2)) == 0:
        return value
    if isinstance(value, bool):
        return draw(st.sampled_from(["true" if value else "false", "TRUE" if value else "False"]))
    if isinstance(value, (int, float)):
        if field.family in ("int", "float") and isinstance(value, int) and draw(st.booleans()):
            return value + draw(st.sampled_from([2**32, -(2**32)]))  # wraps to itself
        return json.dumps(value)
    if field.kind == "timestamp" and isinstance(value, str):
        if value.endswith("Z"):
            return value[:-1] + draw(st.sampled_from(["+0000", "z", "+00:00"]))
        if value[-6:-5] in "+-" and value[-3:-2] == ":":
            return value[:-3] + value[-2:]  # +02:00 as +0200
    return value


@st.composite
def respelled(draw: st.DrawFn, node: Any) -> Any:
    """A FilterNode with values respelled as Helicone's validator converts them, and `{}`
    (true) joined to some leaves with `and`: the same filter to Helicone."""
    if isinstance(node, dict) and "operator" in node:
        return {
            "left": draw(respelled(node["left"])),
            "operator": node["operator"],
            "right": draw(respelled(node["right"])),
        }
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for table, columns in node.items():
        out[table] = {}
        for column, inner in columns.items():
            field = FIELDS.get(column)
            if field is not None and field.kind == "map":
                out[table][column] = inner
                continue
            out[table][column] = {op: _respell(draw, field, v) for op, v in inner.items()}
    if draw(st.integers(0, 4)) == 0:
        return {"left": {}, "operator": "and", "right": out}
    return out
