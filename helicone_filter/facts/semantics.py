"""What Helicone does with one condition: the one place both the text compiler and the JSON
checker consult, and the values (JavaScript's numbers, the 32-bit bind, UUIDs, map literals,
DateTime's range) that the column families of `columns.py` compare.

Helicone's API server validates the request body (tsoa, with `bodyCoercion`), converting some
values on the way; its filter builder then writes SQL that runs on ClickHouse with each value
bound as a typed parameter (docs/helicone.md). `read_condition` follows a condition through both
steps and says what comes out: an error where Helicone answers 422 or its SQL fails, a warning
where it runs the condition otherwise than written, and the value it runs with.
`columns.compared` gives that value as Helicone's SQL compares it (the 32-bit integer bind,
the cost floor, whole seconds, UUIDs as numbers, scores as Int64).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from helicone_filter.facts.quoting import key_text
from helicone_filter.facts.schema import (
    EMPTY_MAGIC,
    JSON_OPERATOR_TEXT,
    KINDS,
    MISSING_COLUMNS,
    NULL_MAGIC,
    PATTERN_OPERATORS,
    SCHEMAS,
    EndpointSchema,
    Field,
)
from helicone_filter.facts.timestamps import canonical_timestamp, format_timestamp
from helicone_filter.value_class import Record

INT32: Final = (-(2**31), 2**31 - 1)
# Helicone binds a timestamp as a ClickHouse DateTime: whole seconds, which ClickHouse clamps
# to these moments (1970-01-01 .. 2106-02-07T06:28:15Z).
DATETIME_MIN: Final = datetime(1970, 1, 1, tzinfo=UTC)
DATETIME_MAX: Final = datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC)
DATETIME_SECONDS: Final = (0, 2**32 - 1)
# Helicone multiplies a request cost bound by this before it binds it (nano-dollars).
COST_SCALE: Final = 1_000_000_000
ZERO_UUID: Final = "00000000-0000-0000-0000-000000000000"
MAX_SAFE_INTEGER: Final = 2**53 - 1

# How deep a tree Helicone can run, in branches from the root to a leaf. Measured with
# Helicone's validator on Node.js 20 (the version its API server runs) and its SQL on
# ClickHouse 26.9 (chdb):
# - the validator recurses once per level and overflows the stack at 431 levels for a
#   right-nested chain (589 left-nested): HTTP 500;
# - ClickHouse refuses an expression whose AST is deeper than 1000 (`max_ast_depth`), which a
#   filter reaches at 496 levels inside the user-metrics query;
# - ClickHouse's parser counts each `(` that opens a left operand: a left-nested chain of 198
#   branches passes its `max_parser_depth` of 1000.
# The limits below keep a margin under the first failure of each kind.
HELICONE_MAX_DEPTH: Final = 400
HELICONE_MAX_LEFT_RUN: Final = 190

Severity = Literal["error", "warning"]


class Quirk(Record):
    """One thing Helicone does with a condition: an error (422 or a failing query) or a warning
    (it runs, but not as written). `where` says what it is about: "value", "operator",
    "field" (the field with its key), "column" (the field without its key) or "tree"."""

    severity: Severity
    code: str
    message: str
    hint: str = ""
    where: str = "value"


class Reading(Record):
    """What Helicone does with a condition: the value it runs with (JSON form, canonical for
    timestamps) and the quirks it meets; `value` is meaningless when a quirk is an error."""

    value: Any
    quirks: list[Quirk]

    @property
    def ok(self) -> bool:
        """No error: Helicone runs the condition."""
        return not any(q.severity == "error" for q in self.quirks)


def describe(value: Any) -> str:
    """A JSON value's type in words: "a number", "an array", "null"..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# -- JavaScript's numbers --------------------------------------------------------------------------


def js_number(value: int | float) -> float:
    """The double JavaScript reads for a JSON number (big integers round; huge ones overflow)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def js_is_integer(x: float) -> bool:
    """JavaScript's `Number.isInteger`: finite and whole (so 5.0 and 1e300 are integers)."""
    return math.isfinite(x) and x == math.floor(x)


def wrap_signed(n: int, bits: int) -> int:
    """`n` read into a signed integer of `bits` bits as ClickHouse reads text: modulo 2^bits."""
    half = 1 << (bits - 1)
    return (n + half) % (1 << bits) - half


def int32_bind(x: float) -> int | None:
    """The integer ClickHouse reads from Helicone's Int32 parameter for the whole number `x`,
    or None when JavaScript writes `x` in exponent form (1e21 and up), which fails the query."""
    if INT32[0] <= x <= INT32[1]:
        return int(x)
    from helicone_filter.facts.node_dates import (
        js_number_text,
    )  # JavaScript's and Python's digits differ past 2^53

    text = js_number_text(x)
    if "e" in text:
        return None
    return wrap_signed(int(text), 32)


def _looks_float(s: str) -> bool:
    """The validator's test for a number in a string (optional sign, digits, a point, an
    exponent; at least one digit before the exponent)."""
    return re.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", s) is not None


def _whole(x: float) -> int | float:
    """A number as JSON writes it best: whole numbers (within JavaScript's exact range) as
    integers, others as floats."""
    if js_is_integer(x) and abs(x) <= MAX_SAFE_INTEGER:
        return int(x)
    return x


# -- names and operators: the messages both paths give -------------------------------------------


_DEFAULT: Final = SCHEMAS["user-metrics"]


def unknown_table(written: str, schema: EndpointSchema = _DEFAULT) -> tuple[str, str, str | None]:
    """The message and hint for a table that does not exist, and the table meant (or None)."""
    from helicone_filter.errors import closest  # only when a name is wrong

    tables = schema.tables
    near = closest(written, tables)
    hint = f"did you mean '{near[0]}'?" if near else f"the tables are {' and '.join(tables)}"
    return f"unknown table '{written}'", hint, near[0] if near else None


def unknown_column(
    written: str, table: str | None = None, schema: EndpointSchema = _DEFAULT
) -> tuple[str, str, str | None]:
    """The message and hint for a column that is not in `table` (or in no table), and the
    name meant (or None)."""
    from helicone_filter.errors import closest  # only when a name is wrong

    fields, by_table = schema.fields, schema.fields_by_table
    if table is not None and written in fields:
        other = fields[written].table
        return (
            f"{table} has no column {written}; {written} is in {other}",
            f"write {other}.{written}, or just {written}",
            written,
        )
    pool = fields if table is None else by_table[table]
    near = closest(written, pool)
    if written in schema.tables:
        example = next(iter(by_table[written]))
        hint = f"name a column of the table, e.g. {written}.{example}"
    elif near:
        hint = f"did you mean '{near[0]}'?"
    else:
        hint = "fields are named as in Helicone's schema: user_cost, model, properties.k, ..."
    where = f"{table} has no column" if table is not None else "unknown field"
    return f"{where} '{written}'", hint, near[0] if near and written not in schema.tables else None


def other_endpoint(name: str, schema: EndpointSchema) -> Quirk | None:
    """The error for a field or table that another endpoint takes and `schema`'s does not
    (Helicone answers 422), or None when `name` is no such thing."""
    refusal = schema.endpoint.refused_tables.get(name)
    if refusal is not None and refusal.answer == "422":
        return Quirk("error", "other-endpoint", refusal.why, refusal.instead, "field")
    theirs = schema.foreign.get(name)
    if theirs is None:
        return None
    table = SCHEMAS[theirs].fields[name].table
    return Quirk(
        "error",
        "other-endpoint",
        f"{name} is a field of the {theirs} endpoint ({table}), not of the {schema.name} "
        "endpoint: Helicone answers 422",
        f'filter on it with the {theirs} endpoint (endpoint="{theirs}", --endpoint {theirs})',
        "field",
    )


def refused_table(table: str, schema: EndpointSchema) -> Quirk | None:
    """The error for a table that the endpoint's schema takes but whose conditions Helicone
    cannot run (its query fails: an empty page; or HTTP 500), or None."""
    refusal = schema.endpoint.refused_tables.get(table)
    if refusal is None:
        return None
    if refusal.answer == "422":
        return other_endpoint(table, schema)
    return Quirk("error", "table-fails", refusal.why, refusal.instead, "field")


def dropped_column(table: str, column: str, schema: EndpointSchema) -> Quirk | None:
    """The error for a column that Helicone takes and drops without a word on this endpoint
    (the condition reads as true), or None."""
    instead = schema.dropped(table, column)
    if instead is None:
        return None
    return Quirk(
        "error",
        "dropped-column",
        f"Helicone's {schema.name} endpoint takes {table}.{column} and drops it without a "
        "word: the condition reads as true and selects every request",
        instead,
        "field",
    )


def operator_not_allowed(field: Field, key: str | None, op: str, allowed: str) -> tuple[str, str]:
    """The message and hint for an operator that the field's kind does not take (`op` and
    `allowed` as the input spells them: text or JSON operators)."""
    label = "a map key (text)" if key is not None else f"a {field.kind_label} field"
    hint = f"{label} takes {allowed}"
    if op in ("is null", "is not null", "is empty") and key is not None:
        hint = "inside maps Helicone compares the strings literally; " + hint
    elif field.kind == "timestamp" and op in ("in", "not in"):
        hint = "for a time range write >= and <=; " + hint
    elif field.kind == "map" and key is None:
        hint = f'a map needs a key: {field.name}.environment or {field.name}["my key"]'
    name = field.name if key is None else f"{field.name}{key_text(key)}"
    return f"'{op}' does not apply to {name}, {label}", hint


def wrong_type(name: str, kind: str, written: str, hint: str = "") -> Quirk:
    """A value of the wrong type for a field of `kind` (`written`: what it is, in words)."""
    wanted = KINDS["map" if kind == "map" else kind].value  # type: ignore[index]
    return Quirk("error", "wrong-value-type", f"{name} takes {wanted}, not {written}", hint)


# -- values as Helicone's validator reads them -----------------------------------------------------

_TEXT_KINDS: Final = frozenset({"text", "map", "property_key"})


def _wrong_type(field: Field, kind: str, value: Any, hint: str = "") -> Quirk:
    return wrong_type(field.name, kind, describe(value), hint)


def _read_value(field: Field, kind: str, raw: Any) -> tuple[Any, list[Quirk]]:
    """The value the validator passes on for a JSON value, and what it did to it."""
    if kind in _TEXT_KINDS:
        if isinstance(raw, str):
            if re.search(r"[\ud800-\udfff]", raw):
                return raw, [
                    Quirk(
                        "error",
                        "invalid-character",
                        "the string holds a lone surrogate, which is not a character",
                        "remove it; it usually comes from text cut in the middle of an emoji",
                    )
                ]
            return raw, []
        hint = f'write it as a string: "{raw}"' if isinstance(raw, (int, float)) else ""
        return raw, [_wrong_type(field, kind, raw, hint)]
    if kind == "number":
        return _read_number(field, raw)
    if kind == "timestamp":
        return _read_timestamp(field, raw)
    return _read_boolean(field, raw)


def _array(field: Field, raw: list[Any], inner: Any) -> Quirk:
    return Quirk(
        "error",
        "array-value",
        f"{field.name} takes one value, not an array; Helicone unwraps "
        f"{_js_json(raw)} to {_js_json(inner)} without a word",
        f"write {_js_json(inner)} itself",
    )


def _js_json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _read_number(field: Field, raw: Any) -> tuple[Any, list[Quirk]]:
    if isinstance(raw, bool) or raw is None or isinstance(raw, dict):
        return raw, [_wrong_type(field, "number", raw)]
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw):
            return raw, [Quirk("error", "number-out-of-range", f"{raw} is not a finite number", "")]
        if isinstance(raw, int) and abs(raw) > MAX_SAFE_INTEGER:
            x = js_number(raw)
            if not math.isfinite(x):
                return raw, [
                    Quirk("error", "number-out-of-range", f"{raw} is too large for a double")
                ]
            rounded = int(x)
            if rounded == raw:
                return raw, []  # a double holds it exactly
            return rounded, [
                Quirk(
                    "warning",
                    "rounded-integer",
                    f"{raw} is beyond ±(2^53 − 1): JavaScript reads it as {rounded}, and "
                    "Helicone runs that",
                    f"write {rounded}, or a number JavaScript holds exactly",
                )
            ]
        return raw, []
    from helicone_filter.facts.node_dates import js_string

    text = js_string(raw)
    if not _looks_float(text):
        hint = "write a number, e.g. 5 or 0.25"
        return raw, [_wrong_type(field, "number", raw, hint)]
    x = float(text)
    if isinstance(raw, list):
        return raw, [_array(field, raw, _whole(x))]
    assert isinstance(raw, str)
    if not math.isfinite(x):
        return raw, [
            Quirk(
                "error",
                "number-out-of-range",
                f"Helicone reads {raw!r} as {'-' if x < 0 else ''}Infinity, which no bound "
                "is meant to be",
                "write a finite number",
            )
        ]
    value = _whole(x)
    return value, [
        Quirk(
            "warning",
            "converted-value",
            f"{field.name} takes a number; Helicone converts the string {raw!r} to {value}",
            f"write the number itself: {value}",
        )
    ]


def _read_boolean(field: Field, raw: Any) -> tuple[Any, list[Quirk]]:
    if isinstance(raw, bool):
        return raw, []
    if raw is None:
        return raw, [
            Quirk(
                "error",
                "null-value",
                f"{field.name} takes true or false; Helicone reads null as false",
                "write false (or true)",
            )
        ]
    from helicone_filter.facts.node_dates import js_string

    text = js_string(raw).lower() if isinstance(raw, (str, list)) else ""
    if text in ("true", "false"):
        value = text == "true"
        if isinstance(raw, list):
            return raw, [_array(field, raw, value)]
        return value, [
            Quirk(
                "warning",
                "converted-value",
                f"{field.name} takes true or false; Helicone converts the string {raw!r} to {text}",
                f"write {text} without quotes",
            )
        ]
    return raw, [_wrong_type(field, "boolean", raw)]


def _read_timestamp(field: Field, raw: Any) -> tuple[Any, list[Quirk]]:
    from helicone_filter.facts.node_dates import (
        helicone_timestamp,
        is_local_time,
    )  # JSON and rare text only

    status, millis = helicone_timestamp(raw)
    if status == "refused":
        if isinstance(raw, str):
            return raw, [
                Quirk(
                    "error",
                    "invalid-timestamp",
                    f"{raw!r} is not a date or time Helicone accepts",
                    'write ISO 8601, e.g. "2025-01-31T12:00:00.000Z"',
                )
            ]
        hint = "Helicone refuses unix numbers; write an ISO 8601 string"
        return raw, [_wrong_type(field, "timestamp", raw, hint)]
    if status == "invalid-date" or millis is None:
        return raw, [
            Quirk(
                "error",
                "invalid-date",
                f"Helicone's validator lets {_js_json(raw)} through, but JavaScript reads no "
                "date from it, and the query fails (HTTP 500)",
                'write ISO 8601, e.g. "2025-01-31T12:00:00.000Z"',
            )
        ]
    try:
        moment = DATETIME_MIN + timedelta(milliseconds=millis)
    except OverflowError:  # a year past 9999 (or before 1)
        return raw, [
            Quirk(
                "error",
                "invalid-timestamp",
                f"JavaScript reads {_js_json(raw)} as a year before 1 or after 9999, which "
                "Helicone writes in a form ClickHouse cannot read: the query fails",
                'write a time between 1970 and 2106, e.g. "2025-01-31T12:00:00.000Z"',
            )
        ]
    canonical = format_timestamp(moment)
    if isinstance(raw, list):
        return raw, [_array(field, raw, canonical)]
    if not isinstance(raw, str):
        return canonical, [
            Quirk(
                "warning",
                "converted-value",
                f"Helicone reads the number {_js_json(raw)} as the time {canonical}",
                f'write "{canonical}"',
            )
        ]
    quirks: list[Quirk] = []
    if canonical_timestamp(raw) is None:  # not as the language writes it: "2024", "T24:00"...
        quirks.append(
            Quirk(
                "warning",
                "timestamp-spelling",
                f"Helicone reads {raw!r} as {canonical}",
                f'write "{canonical}"',
            )
        )
    if is_local_time(raw):
        quirks.append(
            Quirk(
                "warning",
                "timestamp-without-zone",
                f"{raw!r} has no zone; Helicone reads it in its server's zone",
                f'write it in UTC with a Z: "{canonical}"',
            )
        )
    return canonical, quirks


# -- the condition -------------------------------------------------------------------------------

_PATTERN_OPS: Final = PATTERN_OPERATORS
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_UUID_PLAIN = re.compile(r"[0-9a-fA-F]{32}")
_INT64_TEXT = re.compile(r"[+-]?[0-9]+")


def uuid_number(text: str) -> int:
    """A UUID (36 characters with dashes or 32 hex digits, any case) as its 128-bit number."""
    return int(text.replace("-", ""), 16)


def is_uuid(text: str) -> bool:
    """Whether ClickHouse reads `text` as a UUID (36 characters with dashes, or 32 hex digits;
    any case)."""
    return bool(_UUID.fullmatch(text) or _UUID_PLAIN.fullmatch(text))


def read_condition(
    field: Field, key: str | None, op: str, raw: Any, *, text: bool = False
) -> Reading:
    """What Helicone does with `{op: raw}` on `field` (on map key `key`).

    Args:
        field: the column.
        key: the map key, for properties, search_properties and scores.
        op: the JSON operator (already one the API's schema takes for the field's kind).
        raw: the value as JSON gives it (for text, the value the compiler writes).
        text: the condition comes from filter text, where a value Helicone would read
            otherwise than written is an error rather than a warning.

    Returns:
        The value Helicone runs with and every quirk, errors first.
    """
    if field.column is None:
        missing = MISSING_COLUMNS[field.name]
        return Reading(
            raw,
            [
                Quirk(
                    "error",
                    "no-column",
                    f"{missing.reason}, so every query on it fails (HTTP 500)",
                    missing.instead,
                    "column",
                )
            ],
        )
    kind = "map" if key is not None else field.kind
    if text and key != "__proto__" and plain_text_value(field.family, kind, op, raw):
        return Reading(raw, [])  # the common case, with nothing to say
    quirks: list[Quirk] = []
    if key is not None and key == "__proto__":
        quirks.append(
            Quirk(
                "error",
                "proto-key",
                "the key __proto__ is the prototype of every object in Helicone's JavaScript, "
                "which reads it as no key of the map",
                "use another key",
                "field",
            )
        )
    # Text values are typed by the grammar; a timestamp still meets the validator.
    value, found = (raw, []) if text and kind != "timestamp" else _read_value(field, kind, raw)
    quirks += found
    if any(q.severity == "error" for q in quirks):
        return Reading(value, quirks)
    family = field.family
    if kind == "map":
        family = "scores" if field.name == "scores" else "map"
    check = _CHECKS.get(family or "")
    if check is not None:
        found = check(field, op, value, text)
        if any(q.code == "int64-overflow" for q in found):
            value = str(wrap_signed(int(value), 64))  # what ClickHouse reads
        quirks += found
    # Strings, and Helicone's magic strings on the other text columns (UUIDs, the scores map)
    if (
        isinstance(value, str)
        and kind in _TEXT_KINDS
        and family != "scores"
        and (
            family in ("string", "map", "property_key")
            or (family == "session_tag" and value not in (NULL_MAGIC, EMPTY_MAGIC))
            or (family != "session_tag" and value in (NULL_MAGIC, EMPTY_MAGIC))
        )
    ):
        quirks += _text_quirks(kind, op, value)
    if kind == "number":
        value, found = _number_quirks(field, op, value, text)
        quirks += found
    if kind == "timestamp":
        quirks += _timestamp_quirks(value)
    quirks.sort(key=lambda q: q.severity != "error")
    return Reading(value, quirks)


def plain_text_value(family: str | None, kind: str, op: str, value: Any) -> bool:
    """Whether a value from filter text needs no look: a string on a string column that is
    no magic string, holds no wildcard under contains and ends in no backslash; a number
    within the 32-bit bind; a boolean; a canonical timestamp within DateTime's range in whole
    seconds."""
    if family == "string" or (family == "map" and kind == "map"):
        return (
            type(value) is str
            and value not in (NULL_MAGIC, EMPTY_MAGIC)
            and value[-1:] != "\\"
            and not (op in ("contains", "not-contains") and ("%" in value or "_" in value))
        )
    if family in ("int", "float"):
        return type(value) is int and INT32[0] <= value <= INT32[1]
    if kind == "boolean":
        return True
    if kind == "timestamp":  # YYYY-MM-DDTHH:MM:SS.000Z, from 1970 to 2106-02-07
        return (
            type(value) is str
            and "1970" <= value[:4] <= "2105"
            and value.endswith(".000Z")
            and len(value) == 24
        )
    return False


def _uuid_checks(field: Field, op: str, value: Any, text: bool) -> list[Quirk]:
    if value in (NULL_MAGIC, EMPTY_MAGIC):
        return []  # pasted into the SQL as they are: see _text_quirks
    if op in _PATTERN_OPS:
        return [
            Quirk(
                "error",
                "uuid-operator",
                f"{field.name} is a UUID column, which ClickHouse cannot match with {op} "
                "(Illegal type UUID): the query fails",
                "compare the whole UUID with = or !=",
                "operator",
            )
        ]
    if isinstance(value, str) and not is_uuid(value):
        return [
            Quirk(
                "error",
                "invalid-uuid",
                f"{value!r} is not a UUID, and ClickHouse fails to read it as one for {field.name}",
                'write the 36 characters, e.g. "0f8fad5b-d9cb-469f-a165-70867728950e"',
            )
        ]
    return []


def _score_checks(field: Field, op: str, value: Any, text: bool) -> list[Quirk]:
    if op in _PATTERN_OPS:
        return [
            Quirk(
                "error",
                "scores-operator",
                f"scores hold whole numbers (Int64), which ClickHouse cannot match with {op}: "
                "the query fails",
                'compare the score with = or !=, e.g. scores.k = "1"',
                "operator",
            )
        ]
    if isinstance(value, str) and not _INT64_TEXT.fullmatch(value):
        return [
            Quirk(
                "error",
                "invalid-score",
                f"scores hold whole numbers (Int64); ClickHouse cannot read {value!r} as one, "
                "so the query fails",
                'write a whole number in quotes, e.g. "1" or "-2"',
            )
        ]
    if isinstance(value, str) and wrap_signed(int(value), 64) != int(value):
        return [
            Quirk(
                "error" if text else "warning",
                "int64-overflow",
                f"{value} is beyond the Int64 range of scores; ClickHouse reads it as "
                f"{wrap_signed(int(value), 64)}",
                "write a whole number from -9223372036854775808 to 9223372036854775807",
            )
        ]
    return []


def _scores_column_checks(field: Field, op: str, value: Any, text: bool) -> list[Quirk]:
    if value in (NULL_MAGIC, EMPTY_MAGIC):
        return []  # pasted into the SQL as they are: see _text_quirks
    if op not in ("equals", "not-equals") or not isinstance(value, str):
        return [
            Quirk(
                "error",
                "scores-column",
                f"scores_column is the whole scores map, which ClickHouse cannot match with "
                f"{op}: the query fails",
                'compare it with = or != a map literal, e.g. "{}" or "{\'k\': 1}"; for one '
                "score write scores.k",
                "operator",
            )
        ]
    if map_literal(value) is None:
        return [
            Quirk(
                "error",
                "scores-column",
                f"{value!r} is not a map literal that ClickHouse reads as scores: the query fails",
                "write {} or {'key': 1, 'other': -2} (keys in single quotes, whole numbers)",
            )
        ]
    return []


def _session_tag_checks(field: Field, op: str, value: Any, text: bool) -> list[Quirk]:
    """Helicone's subquery on its tags table pastes "null" and "__empty__" as they are, and
    adds no `%` under contains."""
    if value in (NULL_MAGIC, EMPTY_MAGIC):
        what = (
            "as SQL NULL, so the condition matches no request"
            if value == NULL_MAGIC
            else "as a bare name, and the query fails (an empty page)"
        )
        return [
            Quirk(
                "error",
                "session-tag-magic",
                f'Helicone pastes "{value}" into its subquery on session tags {what}',
                "Helicone cannot test a session for no tag or an empty one; compare with a tag",
            )
        ]
    if op in ("contains", "not-contains"):
        return [
            Quirk(
                "warning",
                "session-tag-contains",
                f"Helicone runs {op} on session_tag as {'NOT ' if op == 'not-contains' else ''}"
                "ILIKE without %: it matches a whole tag, ignoring case",
                f'for a part of a tag write session_tag ilike "%{value}%"',
            )
        ]
    return []


_CHECKS: Final = {
    "uuid": _uuid_checks,
    "scores": _score_checks,
    "scores_column": _scores_column_checks,
    "session_tag": _session_tag_checks,
}


def _text_quirks(kind: str, op: str, value: str) -> list[Quirk]:
    """Magic strings, like patterns and contains wildcards on a string."""
    found: list[Quirk] = []
    if kind == "text" and value == NULL_MAGIC and op not in ("equals", "not-equals"):
        if op in ("contains", "not-contains"):
            found.append(
                Quirk(
                    "error",
                    "null-contains",
                    f'Helicone pastes "null" under {op} into the SQL as NULL, and ClickHouse '
                    "fails on it (Cannot convert NULL to a non-nullable type)",
                    'to test for NULL use equals / not-equals "null" (is null / is not null)',
                )
            )
        else:
            found.append(
                Quirk(
                    "warning",
                    "null-magic",
                    f'Helicone pastes "null" under {op!r} as SQL null, so this matches nothing',
                    'use equals / not-equals "null" (is null / is not null) to test for NULL',
                )
            )
    if kind == "text" and value == EMPTY_MAGIC and op != "equals":
        found.append(
            Quirk(
                "error",
                "empty-magic",
                f'Helicone pastes "{EMPTY_MAGIC}" under {op} into the SQL as a bare name, and '
                "the query fails (Unknown identifier)",
                'only equals "__empty__" (is empty) tests for the empty string; for a '
                'non-empty value write not-equals ""',
            )
        )
    error = like_escape_error(op, value)
    if error is not None:
        found.append(error)
    if op in ("contains", "not-contains") and ("%" in value or "_" in value):
        found.append(
            Quirk(
                "warning",
                "contains-wildcard",
                f"{value!r} holds % or _, which Helicone does not escape: they match any "
                "characters",
                "use like / ilike to say so, or expect the wildcards",
            )
        )
    return found


def like_escape_error(op: str, value: str) -> Quirk | None:
    """The error for a like/ilike pattern that ends in a lone backslash, which ClickHouse
    refuses ("Invalid escape sequence at the end of LIKE pattern": HTTP 500 from Helicone)."""
    if op not in ("like", "ilike") or not value.endswith("\\"):
        return None
    if (len(value) - len(value.rstrip("\\"))) % 2 == 0:
        return None  # \\ is an escaped backslash
    return Quirk(
        "error",
        "like-trailing-escape",
        "the pattern ends in a lone backslash, which escapes nothing: ClickHouse refuses it",
        "write two backslashes for a literal one (in filter text: four inside quotes)",
    )


def _number_quirks(field: Field, op: str, value: Any, text: bool) -> tuple[Any, list[Quirk]]:
    """The bind of a number: whole numbers (JavaScript's) go to a 32-bit integer, which wraps
    past its range; request cost is multiplied by 10^9 first."""
    cost = field.family == "cost"
    if not cost and type(value) is int and INT32[0] <= value <= INT32[1]:
        return value, []  # the common case
    x = js_number(value)
    scaled = x * COST_SCALE if cost else x
    if not math.isfinite(scaled):
        return value, [
            Quirk(
                "error",
                "number-fails",
                f"JavaScript multiplies {value} by 10^9 to Infinity, which Helicone compares "
                "request cost with",
                "request cost bounds must lie between -2.147483648 and 2.147483647",
            )
        ]
    bound = math.floor(scaled) if cost else x
    if not js_is_integer(bound):
        return value, []  # bound as Float64: exact
    if INT32[0] <= bound <= INT32[1]:
        return value, []
    read = int32_bind(bound)
    from helicone_filter.facts.node_dates import js_number_text

    written = js_number_text(float(bound))
    if read is None:
        what = f"{value} × 10^9" if cost else str(value)
        return value, [
            Quirk(
                "error",
                "number-fails",
                f"JavaScript writes {what} as {written}, which ClickHouse cannot read as the "
                "32-bit integer Helicone binds: the query fails",
                "request cost bounds must lie between -2.147483648 and 2.147483647"
                if cost
                else "write a smaller number",
            )
        ]
    if read == int(written):
        return value, []
    if cost:
        dollars = _cost_dollars(read)
        return dollars, [
            Quirk(
                "error" if text else "warning",
                "cost-overflow",
                f"Helicone multiplies request cost by 10^9 and binds it as a 32-bit integer, "
                f"which {value} overflows: it compares with {dollars} instead "
                f"({field.name} {JSON_OPERATOR_TEXT[op]} {dollars})",
                "Helicone can only filter request cost between -2.147483648 and 2.147483647 "
                "dollars; for larger amounts filter on user_cost",
            )
        ]
    equivalent = _int32_equivalent(field, op, int(written))
    hint = (
        f"write {field.name} {equivalent}: a bound that is not whole is bound exactly"
        if equivalent
        else "write a bound within ±2147483647"
    )
    return read, [
        Quirk(
            "error" if text else "warning",
            "int32-overflow",
            f"Helicone binds whole numbers as 32-bit integers, which {value} overflows: it "
            f"compares with {read} instead ({field.name} {JSON_OPERATOR_TEXT[op]} {read})",
            hint,
        )
    ]


def _int32_equivalent(field: Field, op: str, n: int) -> str:
    """An equivalent condition that Helicone binds exactly, as a Float64 because its bound is
    not whole: on whole numbers `x > n` is `x > n + 0.5`; on floats `x > n` is
    `x >= n + ulp`. Empty where no single condition says the same."""
    if abs(n) >= 2**52 or op not in ("gt", "gte", "lt", "lte"):
        return ""
    if field.family == "int":
        sign, delta = {"gt": (">", 0.5), "gte": (">", -0.5), "lt": ("<", -0.5), "lte": ("<", 0.5)}[
            op
        ]
        return f"{sign} {n + delta!r}"
    up, down = math.nextafter(n, math.inf), math.nextafter(n, -math.inf)
    sign, bound = {"gt": (">=", up), "gte": (">", down), "lt": ("<=", down), "lte": ("<", up)}[op]
    return f"{sign} {bound!r}"


def _cost_dollars(nanos: int) -> float:
    """The dollar bound whose `Math.floor(v * 1e9)` is `nanos`."""
    v = nanos / COST_SCALE
    while math.floor(v * COST_SCALE) < nanos:
        v = math.nextafter(v, math.inf)
    while math.floor(v * COST_SCALE) > nanos:
        v = math.nextafter(v, -math.inf)
    return v


def _timestamp_quirks(value: Any) -> list[Quirk]:
    found: list[Quirk] = []
    moment = parse_canonical(value)
    if moment is None:
        return found
    if not DATETIME_MIN <= moment <= DATETIME_MAX:
        end = DATETIME_MIN if moment < DATETIME_MIN else DATETIME_MAX
        found.append(
            Quirk(
                "warning",
                "timestamp-out-of-range",
                f"Helicone binds timestamps as ClickHouse DateTime, which holds 1970-01-01 to "
                f"2106-02-07; {value} is compared as {end.strftime('%Y-%m-%dT%H:%M:%SZ')}",
                "use a time within that range",
            )
        )
    elif moment.microsecond:
        found.append(
            Quirk(
                "warning",
                "milliseconds-dropped",
                f"Helicone binds timestamps in whole seconds: {value} is compared as "
                f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.000Z",
                "write whole seconds",
            )
        )
    return found


def parse_canonical(value: Any) -> datetime | None:
    """A timestamp in the canonical form `YYYY-MM-DDTHH:MM:SS.sssZ` as a datetime."""
    if not isinstance(value, str) or len(value) != 24 or value[-1] != "Z":
        return None
    try:
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
    except ValueError:
        return None


# -- the scores map as a literal ------------------------------------------------------------------

_MAP_ITEM = re.compile(r"\s*'((?:[^'\\]|\\.)*)'\s*:\s*([+-]?[0-9]+)\s*")


def map_literal(text: str) -> list[tuple[str, int]] | None:
    """The items of a map literal such as `{'k': 1, 'j': -2}` as ClickHouse reads it into the
    scores map (keys in single quotes with backslash escapes, whole numbers), or None for text
    outside the forms we read. Order and repeats are kept: ClickHouse compares maps item by
    item.

    Example:
        >>> map_literal("{'a': 1, 'b': -2}")
        [('a', 1), ('b', -2)]
    """
    inner = text.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        return None
    inner = inner[1:-1]
    if not inner.strip():
        return []
    items: list[tuple[str, int]] = []
    for part in _split_items(inner):
        m = _MAP_ITEM.fullmatch(part)
        if m is None:
            return None
        key = _unescape(m.group(1))
        if key is None:
            return None
        number = int(m.group(2))
        if wrap_signed(number, 64) != number:
            return None
        items.append((key, number))
    return items


def _split_items(inner: str) -> list[str]:
    parts, start, quoted, i = [], 0, False, 0
    while i < len(inner):
        c = inner[i]
        if c == "\\" and quoted:
            i += 2
            continue
        if c == "'":
            quoted = not quoted
        elif c == "," and not quoted:
            parts.append(inner[start:i])
            start = i + 1
        i += 1
    parts.append(inner[start:])
    return parts


_ESCAPES: Final = {"\\": "\\", "'": "'", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def _unescape(s: str) -> str | None:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\":
            c = s[i + 1 : i + 2]
            if c not in _ESCAPES:
                return None
            out.append(_ESCAPES[c])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


# -- the shape of the tree -----------------------------------------------------------------------


def or_across_tables(users: str, requests: str) -> tuple[str, str]:
    """The message and hint for `or` across the two tables, given one condition on each (as
    written, or where it is)."""
    return (
        f"'or' joins a users_view condition ({users}) with a request_response_rmt condition "
        f"({requests}); Helicone answers such a filter with every user",
        "user conditions are applied after requests are grouped by user, so they cannot be "
        "or-ed with request conditions: join them with 'and', or run two queries",
    )


def tree_limits(depth: int, left_run: int) -> Quirk | None:
    """The error for a tree too deep for Helicone, given its deepest path (in branches) and its
    longest run of branches each the left operand of the one above."""
    if depth <= HELICONE_MAX_DEPTH and left_run <= HELICONE_MAX_LEFT_RUN:
        return None
    if left_run > HELICONE_MAX_LEFT_RUN:
        why = (
            f"{left_run} branches nest one inside the left side of the next, past the "
            f"{HELICONE_MAX_LEFT_RUN} that ClickHouse's parser takes in Helicone's SQL"
        )
    else:
        why = (
            f"it nests {depth} branches deep, past the {HELICONE_MAX_DEPTH} that Helicone's "
            "validator and ClickHouse take"
        )
    return Quirk(
        "error",
        "too-deep-for-helicone",
        f"the filter is too deep for Helicone: {why}; it answers with an error",
        "join long chains of one operator balanced (the default nesting), not as one side "
        "nested in the other",
        "tree",
    )
