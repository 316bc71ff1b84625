"""The field/operator matrix of Helicone's filters, as data every module reads: the fields of
each endpoint (`facts/endpoints.py`), the operators, the kinds and what Helicone's SQL runs.

`FIELDS`, `FIELDS_BY_TABLE`, `FIELD_OPERATORS` and `FIELD_NOTES` are the default endpoint's
(user metrics); `schema_of(endpoint)` gives any endpoint's (`EndpointSchema`), which the front
ends read."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Final, Literal

from helicone_filter.facts.endpoints import (
    DEFAULT_ENDPOINT,
    ENDPOINTS,
    Endpoint,
    endpoint,
)
from helicone_filter.facts.endpoints import REQUEST_RESPONSE_RMT as REQUEST_RESPONSE_RMT
from helicone_filter.facts.endpoints import (
    SESSIONS_REQUEST_RESPONSE_RMT as SESSIONS_REQUEST_RESPONSE_RMT,
)
from helicone_filter.facts.endpoints import USERS_VIEW as USERS_VIEW
from helicone_filter.value_class import Record

Kind = Literal["text", "number", "timestamp", "boolean", "map", "property_key"]

TABLES: Final = ENDPOINTS[DEFAULT_ENDPOINT].tables
"""The tables of the default endpoint (user metrics)."""

# Bit per table, so that the tables under a chain combine with `|` (users_view is the one the
# user-metrics query compares in its HAVING).
TABLE_BITS: Final = {USERS_VIEW: 1, REQUEST_RESPONSE_RMT: 2, SESSIONS_REQUEST_RESPONSE_RMT: 2}


class Field(Record):
    """One column of the endpoint's filter: its table, its name, its kind, and the ClickHouse
    type of what Helicone compares it with (`column`; None where its SQL names no column)."""

    table: str
    name: str
    kind: Kind
    column: str | None = None
    family: Family | None = None  # how Helicone's column compares values; None: no column

    @property
    def kind_label(self) -> str:
        """The kind in the words the docs and error messages use."""
        return KIND_LABELS[self.kind]

    @property
    def nullable(self) -> bool:
        """Whether Helicone's column can hold NULL."""
        return self.column is not None and self.column.startswith("Nullable(")


_COLUMNS: Final[dict[str, dict[Kind, tuple[str, ...]]]] = {
    USERS_VIEW: {
        "text": ("user_user_id",),
        "number": (
            "user_active_for",
            "user_total_requests",
            "user_average_requests_per_day_active",
            "user_average_tokens_per_request",
            "user_total_completion_tokens",
            "user_total_prompt_tokens",
            "user_cost",
        ),
        "timestamp": ("user_first_active", "user_last_active"),
    },
    REQUEST_RESPONSE_RMT: {
        "text": (
            "country_code",
            "provider",
            "model",
            "user_id",
            "organization_id",
            "node_id",
            "job_id",
            "request_id",
            "target_url",
            "scores_column",
            "request_body",
            "response_body",
            "cache_reference_id",
            "assets",
            "prompt_id",
            "prompt_version",
            "request_referrer",
        ),
        "number": (
            "latency",
            "cost",
            "time_to_first_token",
            "status",
            "prompt_tokens",
            "completion_tokens",
            "prompt_cache_read_tokens",
            "prompt_cache_write_tokens",
            "total_tokens",
        ),
        "timestamp": ("request_created_at", "response_created_at"),
        "boolean": (
            "threat",
            "cache_enabled",
            "cached",
            "helicone-score-feedback",
            "is_passthrough_billing",
        ),
        "map": ("properties", "search_properties", "scores"),
        "property_key": ("property_key",),
    },
}

# The fields of the request endpoints' own table: session_tag, which Helicone runs as a
# subquery on its `tags` table (the other keys of the table it drops: endpoints.py).
_SESSION_COLUMNS: Final[dict[Kind, tuple[str, ...]]] = {"text": ("session_tag",)}

# The tables and fields of each endpoint, by kind.
ENDPOINT_COLUMNS: Final[dict[str, dict[str, dict[Kind, tuple[str, ...]]]]] = {
    "user-metrics": _COLUMNS,
    "requests": {
        REQUEST_RESPONSE_RMT: _COLUMNS[REQUEST_RESPONSE_RMT],
        SESSIONS_REQUEST_RESPONSE_RMT: _SESSION_COLUMNS,
    },
}

_CANNOT: Final = "remove the condition: Helicone cannot filter on it"


class MissingColumn(Record):
    """A field Helicone's schema allows whose SQL names a column its table does not have, so
    every query on it fails: why (`reason`, in the words of the error; `note`, in those of
    the field table), and what to write instead."""

    reason: str
    note: str
    instead: str = _CANNOT


def _absent(name: str, instead: str = _CANNOT) -> MissingColumn:
    """A field Helicone's SQL reads from a column of its own name, which its table lacks."""
    return MissingColumn(
        f"Helicone's table has no column {name}",
        f"Helicone's table has no {name} column, so its query fails",
        instead,
    )


# The fields Helicone lacks a column for: the one list of them (the checker refuses them,
# completion leaves them out, the backends never see them).
MISSING_COLUMNS: Final[dict[str, MissingColumn]] = {
    "node_id": _absent("node_id"),
    "job_id": _absent("job_id"),
    "total_tokens": _absent(
        "total_tokens", "filter on prompt_tokens and completion_tokens instead"
    ),
    "assets": MissingColumn(
        "Helicone reads assets from a column asset_ids that its table does not have",
        "Helicone reads it from asset_ids, a column its table lacks",
    ),
    "search_properties": MissingColumn(
        "Helicone writes search_properties as a bare column `key`, which its table does not have",
        "Helicone writes it as a bare column key, which its table lacks",
        "filter on properties instead",
    ),
}

# What Helicone compares each field with: the type of the column of its table
# request_response_rmt (ClickHouse migrations schema_41 and later ALTERs), or of the per-user
# aggregate its user-metrics query computes (users_view). The fields it lacks a column for are
# in MISSING_COLUMNS.
HELICONE_COLUMNS: Final[dict[str, str]] = {
    # users_view: the aggregates of the user-metrics query, compared in HAVING
    "user_user_id": "LowCardinality(String)",  # the grouping key, r.user_id
    "user_active_for": "UInt64",  # count(DISTINCT day)
    "user_first_active": "DateTime",  # toDateTime(min(request_created_at)): whole seconds
    "user_last_active": "DateTime",
    "user_total_requests": "Int32",  # count()::Int32
    "user_average_requests_per_day_active": "Float64",
    "user_average_tokens_per_request": "Nullable(Float64)",  # NULL when no request had tokens
    "user_total_completion_tokens": "Nullable(Int64)",  # sum of a Nullable(Int64)
    "user_total_prompt_tokens": "Nullable(Int64)",
    "user_cost": "Float64",  # sum(cost) / 1e9: dollars
    # request_response_rmt
    "country_code": "Nullable(String)",
    "provider": "LowCardinality(String)",
    "model": "LowCardinality(String)",
    "user_id": "LowCardinality(String)",
    "organization_id": "UUID",
    "request_id": "UUID",
    "target_url": "Nullable(String)",
    "scores_column": "Map(LowCardinality(String), Int64)",  # the whole scores map
    "request_body": "String",
    "response_body": "String",
    "cache_reference_id": "UUID",
    "prompt_id": "String",
    "prompt_version": "String",
    "request_referrer": "String",
    "latency": "Nullable(Int64)",
    "cost": "UInt64",  # nano-dollars; Helicone multiplies the bound by 10^9
    "time_to_first_token": "Nullable(Int64)",
    "status": "Int64",
    "prompt_tokens": "Nullable(Int64)",
    "completion_tokens": "Nullable(Int64)",
    "prompt_cache_read_tokens": "Int64",
    "prompt_cache_write_tokens": "Int64",
    "request_created_at": "DateTime64(3)",
    "response_created_at": "Nullable(DateTime64(3))",
    "threat": "Nullable(Bool)",
    "cache_enabled": "Bool",
    "cached": "UUID",  # cache_reference_id compared with the all-zero UUID
    "helicone-score-feedback": "Int64",  # scores['helicone-score-feedback'], unguarded (0)
    "is_passthrough_billing": "Bool",
    "properties": "Map(LowCardinality(String), String)",  # properties[k], unguarded ('')
    "scores": "Map(LowCardinality(String), Int64)",  # has(scores, k) AND scores[k]
    "property_key": "Map(LowCardinality(String), String)",  # has(properties, k)
}

# The type of what Helicone compares the request endpoints' own fields with: session_tag is
# the `tag` (String) of its tags table, in a subquery (columns.SessionTagFamily).
REQUEST_ENDPOINT_COLUMNS: Final[dict[str, str]] = {"session_tag": "String"}

# What each field is, in one line (`helicone-filter fields`, the service's /fields, the
# playground's Fields table): every field of every endpoint, the refused ones too.
FIELD_MEANINGS: Final[dict[str, str]] = {
    "user_user_id": "the user's id, the Helicone-User-Id their requests carried",
    "user_active_for": "days from the user's first request to their last",
    "user_total_requests": "the user's requests (those the request conditions select)",
    "user_average_requests_per_day_active": "the user's requests per day they were active",
    "user_average_tokens_per_request": "tokens per request, on average over the user's",
    "user_total_completion_tokens": "completion tokens over the user's requests",
    "user_total_prompt_tokens": "prompt tokens over the user's requests",
    "user_cost": "dollars spent over the user's requests",
    "user_first_active": "when the user's first request was made",
    "user_last_active": "when the user's last request was made",
    "country_code": "the country the request came from (two letters, e.g. US)",
    "provider": "the model's provider, e.g. OPENAI or ANTHROPIC",
    "model": "the model the request used, e.g. gpt-4o",
    "user_id": "the user the request was made for (its Helicone-User-Id header)",
    "organization_id": "the Helicone organisation the request was logged in",
    "node_id": "a node of Helicone's former jobs feature",
    "job_id": "a job of Helicone's former jobs feature",
    "request_id": "the request's id (a UUID)",
    "target_url": "the URL the request was sent to",
    "scores_column": "the request's whole map of scores",
    "request_body": "the request's body, as text",
    "response_body": "the response's body, as text",
    "cache_reference_id": "for a cached response, the request it was cached from (a UUID)",
    "assets": "the ids of the request's assets (images, files)",
    "prompt_id": "the Helicone prompt the request was made from",
    "prompt_version": "the version of that prompt",
    "request_referrer": "where the request came from, as Helicone recorded it",
    "latency": "milliseconds from the request to the end of its response",
    "cost": "what the request cost, in dollars",
    "time_to_first_token": "milliseconds to the first token of a streamed response",
    "status": "the response's HTTP status, e.g. 200 or 429",
    "prompt_tokens": "tokens of the prompt",
    "completion_tokens": "tokens of the completion",
    "prompt_cache_read_tokens": "prompt tokens read from the provider's prompt cache",
    "prompt_cache_write_tokens": "prompt tokens written to the provider's prompt cache",
    "total_tokens": "prompt and completion tokens together",
    "request_created_at": "when the request was made",
    "response_created_at": "when the response came back",
    "threat": "whether Helicone flagged the prompt as a threat (prompt injection)",
    "cache_enabled": "whether the request asked for Helicone's cache",
    "cached": "whether the response came from Helicone's cache",
    "helicone-score-feedback": "the feedback given on the request (thumbs up is true)",
    "is_passthrough_billing": "whether the request was billed through Helicone",
    "properties": "the request's custom properties (Helicone-Property-* headers), by key",
    "search_properties": "the custom properties, for search",
    "scores": "the request's scores (evaluations), by name",
    "property_key": "a key the request's custom properties have",
    "session_tag": "a tag of the session the request belongs to",
}

# What a user of each field should know about Helicone's reading of it (the field table of
# docs/language.md, `helicone-filter fields`).
FIELD_NOTES: Final[dict[str, str]] = {
    **{name: f"refused: {missing.note}" for name, missing in MISSING_COLUMNS.items()},
    "scores_column": 'the whole scores map: only = or != a map literal such as "{}"',
    "request_id": "a UUID (any case): = and != a UUID, no patterns",
    "organization_id": "a UUID (any case): = and != a UUID, no patterns",
    "cache_reference_id": "a UUID (any case): = and != a UUID, no patterns; empty is all zeros",
    "cost": "dollars; Helicone binds cost x 10^9 as a 32-bit integer: bounds below 2.147483648",
    "cached": "Helicone tests cache_reference_id against the all-zero UUID",
    "helicone-score-feedback": "scores['helicone-score-feedback'] = 1 (true) / 0; missing is 0",
    "properties": 'a missing key reads as "" (Helicone does not test for the key)',
    "scores": "whole numbers: = and != an integer in quotes; a missing key matches nothing",
    "user_first_active": "whole seconds, shifted by the query's timeZoneDifferenceMinutes",
    "user_last_active": "whole seconds, shifted by the query's timeZoneDifferenceMinutes",
}

Family = Literal[
    "string",
    "uuid",
    "int",
    "float",
    "datetime",
    "datetime64",
    "bool",
    "map",
    "scores",
    "cost",
    "cached",
    "feedback",
    "scores_column",
    "property_key",
    "session_tag",
]
# The family of each ClickHouse type (inside Nullable, LowCardinality; before its arguments).
_TYPE_FAMILIES: Final[dict[str, Family]] = {
    "String": "string",
    "UUID": "uuid",
    "Int32": "int",
    "Int64": "int",
    "UInt64": "int",
    "Float64": "float",
    "DateTime": "datetime",
    "DateTime64": "datetime64",
    "Bool": "bool",
}
# Fields that Helicone reads through a column of another kind.
_FAMILIES: Final[dict[str, Family]] = {
    "cost": "cost",
    "cached": "cached",
    "helicone-score-feedback": "feedback",
    "scores_column": "scores_column",
    "property_key": "property_key",
    "scores": "scores",
    "properties": "map",
    "session_tag": "session_tag",
}


def _family(column: str | None) -> Family | None:
    """How Helicone's column of this type compares values (`columns.FAMILIES`)."""
    if column is None:
        return None
    inner = column.removeprefix("Nullable(").removeprefix("LowCardinality(").rstrip(")")
    family = _TYPE_FAMILIES.get(inner.partition("(")[0])
    if family is None:
        raise ValueError(f"no family for the column type {column}")
    return family


def _fields(columns: dict[str, dict[Kind, tuple[str, ...]]]) -> dict[str, Field]:
    """The fields of tables given by kind, by bare name; one Field per name whatever the
    endpoint, so that the backends read every endpoint's conditions alike."""
    return {
        name: _FIELD_CACHE.setdefault(name, _field(table, name, kind))
        for table, kinds in columns.items()
        for kind, names in kinds.items()
        for name in names
    }


def _field(table: str, name: str, kind: Kind) -> Field:
    column = HELICONE_COLUMNS.get(name) or REQUEST_ENDPOINT_COLUMNS.get(name)
    return Field(table, name, kind, column, _FAMILIES.get(name) or _family(column))


_FIELD_CACHE: Final[dict[str, Field]] = {}

FIELDS: Final[dict[str, Field]] = _fields(_COLUMNS)
"""Every column of the default endpoint (user metrics) by its bare name; names are unique
across its two tables."""

FIELDS_BY_TABLE: Final[dict[str, dict[str, Field]]] = {
    table: {name: f for name, f in FIELDS.items() if f.table == table} for table in TABLES
}


class Operator(Record):
    """One operator of the language, and everything the modules know of it.

    `text` is its canonical spelling and `synonyms` the others the lexer takes; `json` the
    FilterNode operator it writes (None for sugar that lowering turns into others: `in` is an
    or-chain of equals, `is null` equals "null"); `negated` its dual under `not` (None where
    Helicone has none). For the backends: `sql`, the ClickHouse operator between column and
    value, `pattern` (a LIKE pattern: `%` and `_` are wildcards), `wrapped` (the value goes
    between `%`s: contains), `case_insensitive`, `negates` (true when it does not hold), and
    `compare`, Python's comparison for the others. For completion and messages: the grammar
    `terminal` it starts with, and what it `means`; `mistakes`, words other tools use for it
    that the language does not take, for which the parser suggests it.
    """

    text: str
    json: str | None
    negated: str | None
    terminal: str
    means: str
    synonyms: tuple[str, ...] = ()
    sql: str = ""
    compare: Callable[[Any, Any], bool] | None = None
    pattern: bool = False
    wrapped: bool = False
    case_insensitive: bool = False
    negates: bool = False
    mistakes: tuple[str, ...] = ()


# Words other tools use for an operator (more in the table): the parser suggests the operator.
_EQUALS = ("eq", "is_equal", "equal", "equal_to")
_GREATER = ("greater", "greater_than", "greaterthan", "above", "after")
_LESS = ("less", "less_than", "lessthan", "below", "before")

OPERATORS: Final[tuple[Operator, ...]] = (
    Operator("=", "equals", "!=", "CMP", "equals", ("==",), "=", operator.eq, mistakes=_EQUALS),
    Operator(
        "!=",
        "not-equals",
        "=",
        "CMP",
        "does not equal",
        ("<>",),
        "!=",
        operator.ne,
        mistakes=(
            *("not_equals", "ne", "neq", "not_equal", "notequal", "notequals", "nequals"),
            *("nequal", "noteq", "isnot", "is_not", "differs"),
        ),
    ),
    Operator(">", "gt", "<=", "CMP", "greater than", (), ">", operator.gt, mistakes=_GREATER),
    Operator(
        ">=",
        "gte",
        "<",
        "CMP",
        "greater than or equal to",
        (),
        ">=",
        operator.ge,
        mistakes=("ge", "at_least", "atleast"),
    ),
    Operator("<", "lt", ">=", "CMP", "less than", (), "<", operator.lt, mistakes=_LESS),
    Operator(
        "<=",
        "lte",
        ">",
        "CMP",
        "less than or equal to",
        (),
        "<=",
        operator.le,
        mistakes=("le", "at_most", "atmost"),
    ),
    Operator(
        "like",
        "like",
        None,
        "LIKE",
        "matches a pattern: % any run, _ one character (case-sensitive)",
        sql="LIKE",
        pattern=True,
    ),
    Operator(
        "ilike",
        "ilike",
        None,
        "ILIKE",
        "matches a pattern, ignoring case",
        sql="ILIKE",
        pattern=True,
        case_insensitive=True,
    ),
    Operator(
        "contains",
        "contains",
        "not contains",
        "CONTAINS",
        "holds the text, ignoring case",
        sql="ILIKE",
        pattern=True,
        wrapped=True,
        case_insensitive=True,
        mistakes=("has", "includes", "include", "contain"),
    ),
    Operator(
        "not contains",
        "not-contains",
        "contains",
        "NOT",
        "does not hold the text, ignoring case",
        sql="NOT ILIKE",
        pattern=True,
        wrapped=True,
        case_insensitive=True,
        negates=True,
        mistakes=(
            *("not_contains", "notcontains", "not_includes", "notincludes", "excludes"),
            *("exclude", "doesnotcontain", "does_not_contain", "lacks"),
        ),
    ),
    Operator(
        "in", None, "not in", "IN", "equals one of a list", mistakes=("one_of", "oneof", "any_of")
    ),
    Operator(
        "not in",
        None,
        "in",
        "NOT",
        "equals none of a list",
        mistakes=("not_in", "notin", "nin", "none_of", "noneof"),
    ),
    Operator("is null", None, "is not null", "IS", "has no value", mistakes=("isnull", "is_null")),
    Operator(
        "is not null",
        None,
        "is null",
        "IS",
        "has a value",
        mistakes=("isnotnull", "is_not_null", "notnull", "not_null"),
    ),
    Operator("is empty", None, None, "IS", "is the empty string"),
)
"""Every operator of the language, in the order completion offers them."""

OPERATOR: Final[dict[str, Operator]] = {op.text: op for op in OPERATORS}
"""The operators by their canonical spelling."""
JSON_OPERATOR: Final[dict[str, Operator]] = {op.json: op for op in OPERATORS if op.json}
"""The operators by the FilterNode operator they write."""
OPERATOR_JSON: Final[dict[str, str]] = {op.text: op.json for op in OPERATORS if op.json}
JSON_OPERATOR_TEXT: Final[dict[str, str]] = {json: text for text, json in OPERATOR_JSON.items()}
OPERATOR_SYNONYMS: Final[dict[str, str]] = {s: op.text for op in OPERATORS for s in op.synonyms}
NEGATED_OPERATOR: Final[dict[str, str]] = {op.text: op.negated for op in OPERATORS if op.negated}
"""What `not` turns each operator into, where a single dual exists (booleans and timestamps
are lowered otherwise; the others are refused)."""
PATTERN_OPERATORS: Final = frozenset(op.json for op in OPERATORS if op.pattern and op.json)


# A value completion offers: the grammar terminal it starts with, its label, the text it
# inserts, and what it is.
ValueExample = tuple[str, str, str, str]
_STRING_EXAMPLE: Final = ("STRING", '"..."', '""', "a string in double quotes")


class KindFacts(Record):
    """What a kind of column takes: the words for it, the operators of the language (what
    the API's schema takes), the FilterNode operators (OpenAPI: `Partial_*Operators_`), a
    value in words, and the values completion offers."""

    label: str
    operators: tuple[str, ...]
    json_operators: tuple[str, ...]
    value: str
    examples: tuple[ValueExample, ...]


_ORDERED: Final = (">", ">=", "<", "<=")
_TEXT_OPS: Final = tuple(op.text for op in OPERATORS if op.text not in _ORDERED)
_MAGIC_OPS: Final = ("is null", "is not null", "is empty")
_EQUALITY_OPS: Final = ("=", "!=", "in", "not in")
_TEXT_JSON: Final = ("equals", "not-equals", "like", "ilike", "contains", "not-contains")
_ORDER_JSON: Final = ("gt", "gte", "lt", "lte")

KINDS: Final[dict[Kind, KindFacts]] = {
    "text": KindFacts("text", _TEXT_OPS, _TEXT_JSON, "a string", (_STRING_EXAMPLE,)),
    "number": KindFacts(
        "number",
        ("=", "!=", *_ORDERED, "in", "not in"),
        ("equals", "not-equals", *_ORDER_JSON),
        "a number",
        (("NUMBER", "0", "0", "a number"),),
    ),
    "timestamp": KindFacts(
        "timestamp",
        ("=", "!=", *_ORDERED),
        ("equals", *_ORDER_JSON),
        "a timestamp",
        (
            ("NOW", "now - 7d", "now - 7d", "a week ago (s, m, h, d, w)"),
            ("NOW", "now", "now", "the time of the query"),
            ("STRING", '"2024-01-31T00:00:00Z"', '"2024-01-31T00:00:00Z"', "ISO 8601"),
        ),
    ),
    "boolean": KindFacts(
        "boolean",
        ("=", "!="),
        ("equals",),
        "true or false",
        (("TRUE", "true", "true", "a boolean"), ("FALSE", "false", "false", "a boolean")),
    ),
    # Inside maps Helicone's magic strings are literal, so `is null` / `is empty` do not apply.
    "map": KindFacts(
        "map of text",
        tuple(op for op in _TEXT_OPS if op not in _MAGIC_OPS),
        _TEXT_JSON,
        "a string",
        (_STRING_EXAMPLE,),
    ),
    "property_key": KindFacts("property key", ("=",), ("equals",), "a string", (_STRING_EXAMPLE,)),
}
"""The per-kind table: every module reads what a kind takes from here."""

KIND_LABELS: Final[dict[Kind, str]] = {kind: facts.label for kind, facts in KINDS.items()}
ALLOWED_OPERATORS: Final[dict[Kind, tuple[str, ...]]] = {
    kind: facts.operators for kind, facts in KINDS.items()
}
"""Which operators of the language each kind of column allows (docs/language.md, "Operators"): what
the API's schema takes. Some fields run fewer in Helicone's SQL: FIELD_OPERATORS."""
JSON_OPERATORS: Final[dict[Kind, tuple[str, ...]]] = {
    kind: facts.json_operators for kind, facts in KINDS.items()
}

# The operators Helicone's SQL runs, by how its column compares (Field.family): UUID columns
# take no patterns, the Int64 scores no patterns either, the whole scores map only (in)equality.
_FAMILY_OPERATORS: Final[dict[Family, tuple[str, ...]]] = {
    "string": KINDS["text"].operators,
    "uuid": (*_EQUALITY_OPS, *_MAGIC_OPS),
    "int": KINDS["number"].operators,
    "float": KINDS["number"].operators,
    "cost": KINDS["number"].operators,
    "datetime": KINDS["timestamp"].operators,
    "datetime64": KINDS["timestamp"].operators,
    "bool": ("=", "!="),
    "cached": ("=", "!="),
    "feedback": ("=", "!="),
    "map": KINDS["map"].operators,  # of a key
    "scores": _EQUALITY_OPS,  # of a key
    "scores_column": ("=", "!="),
    "property_key": ("=",),
    # tag <op> v in a subquery, where Helicone pastes "null" and "__empty__" as they are
    "session_tag": tuple(op for op in KINDS["text"].operators if op not in _MAGIC_OPS),
}

FIELD_OPERATORS: Final[dict[str, tuple[str, ...]]] = {
    name: _FAMILY_OPERATORS[f.family] if f.family is not None else () for name, f in FIELDS.items()
}
"""The operators of the language that Helicone runs on each field (on a key, for a map); empty
for a field whose SQL always fails."""


# Helicone's magic strings: under equals / not-equals on a text column they become SQL tests.
NULL_MAGIC: Final = "null"
EMPTY_MAGIC: Final = "__empty__"

# Every keyword of the language, lower case (they are case-insensitive).
KEYWORDS: Final = frozenset(
    {"and", "or", "not", "in", "is", "null", "empty", "like", "ilike", "contains"}
    | {"true", "false", "all", "now"}
)

# JavaScript integers are exact only up to 2**53 - 1; Helicone's API is written in TypeScript.
MAX_SAFE_INTEGER: Final = 2**53 - 1

# A name as the language reads it; a map key printed with a dot must be one (and no keyword).
NAME_PATTERN: Final = r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*"


# What the users can be sorted by (OpenAPI: SortLeafUsers), each `asc` or `desc`. No sort
# means `last_active desc`; an empty one, no order.
SORT_KEYS: Final[tuple[str, ...]] = (
    "id",
    "user_id",
    "active_for",
    "first_active",
    "last_active",
    "total_requests",
    "average_requests_per_day_active",
    "average_tokens_per_request",
    "total_prompt_tokens",
    "total_completion_tokens",
    "cost",
    "rate_limited_count",
)
SORT_DIRECTIONS: Final[tuple[str, ...]] = ("asc", "desc")


# What a user of the request endpoints' own fields should know.
_REQUEST_NOTES: Final[dict[str, str]] = {
    "session_tag": "a tag of the request's session (Helicone's tags table); contains adds no %, "
    "so it matches a whole tag, ignoring case",
}


class EndpointSchema(Record):
    """The fields of one endpoint, as the front ends read them: its row (`endpoint`), every
    field by bare name (unique across its tables) and by table, the operators Helicone runs on
    each, the notes of the field table, and the fields of the other endpoints that it does
    not take (their name -> the endpoint that takes them)."""

    endpoint: Endpoint
    fields: dict[str, Field]
    fields_by_table: dict[str, dict[str, Field]]
    field_operators: dict[str, tuple[str, ...]]
    notes: dict[str, str]
    foreign: dict[str, str]

    @property
    def name(self) -> str:
        """The endpoint's name."""
        return self.endpoint.name

    @property
    def tables(self) -> tuple[str, ...]:
        """The leaf tables the language writes for the endpoint."""
        return self.endpoint.tables

    def dropped(self, table: str, column: str) -> str | None:
        """What to write instead of a column Helicone drops without a word on this endpoint,
        or None when it does not drop it."""
        return self.endpoint.dropped_columns.get(table, {}).get(column)


def _schema(row: Endpoint) -> EndpointSchema:
    fields = _fields(ENDPOINT_COLUMNS[row.name])
    return EndpointSchema(
        row,
        fields,
        {table: {n: f for n, f in fields.items() if f.table == table} for table in row.tables},
        {
            name: _FAMILY_OPERATORS[f.family] if f.family is not None else ()
            for name, f in fields.items()
        },
        {n: note for n, note in {**FIELD_NOTES, **_REQUEST_NOTES}.items() if n in fields},
        {},
    )


def _schemas() -> dict[str, EndpointSchema]:
    made: dict[str, EndpointSchema] = {name: _schema(row) for name, row in ENDPOINTS.items()}
    for schema in made.values():
        for other, theirs in made.items():
            for field in theirs.fields:
                if field not in schema.fields:
                    schema.foreign.setdefault(field, other)
    return made


SCHEMAS: Final[dict[str, EndpointSchema]] = _schemas()
"""The fields of every endpoint, by the endpoint's name."""

ALL_FIELDS: Final[dict[str, Field]] = {
    name: f for schema in SCHEMAS.values() for name, f in schema.fields.items()
}
"""The fields of every endpoint, by bare name (the default endpoint's first): what the
backends may meet in a validated form."""
ALL_TABLES: Final[tuple[str, ...]] = tuple(
    dict.fromkeys(t for schema in SCHEMAS.values() for t in schema.tables)
)


def schema_of(name: str = DEFAULT_ENDPOINT) -> EndpointSchema:
    """The fields of the endpoint `name`.

    Raises:
        ValueError: no endpoint has that name (endpoints.endpoint).

    Example:
        >>> "session_tag" in schema_of("requests").fields
        True
    """
    found = SCHEMAS.get(name) if isinstance(name, str) else None
    return found if found is not None else SCHEMAS[endpoint(name).name]


def field_table(endpoint: str = DEFAULT_ENDPOINT) -> list[dict[str, Any]]:
    """Every field of an endpoint as plain data: name, table, type, its operators in the
    language and in JSON, what it is, and what Helicone does with it.

    Raises:
        ValueError: an unknown endpoint.
    """
    schema = schema_of(endpoint)
    return [
        {
            "field": name,
            "table": f.table,
            "type": f.kind_label,
            "operators": list(schema.field_operators[name]),
            "json_operators": list(JSON_OPERATORS[f.kind]) if f.column is not None else [],
            "means": FIELD_MEANINGS[name],
            "helicone": schema.notes.get(name, ""),
        }
        for name, f in schema.fields.items()
    ]
