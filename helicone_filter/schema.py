"""The field/operator matrix of Helicone's user-metrics filter, as data every module reads."""

from __future__ import annotations

from typing import Any, Final, Literal

from ._record import Record

Kind = Literal["text", "number", "timestamp", "boolean", "map", "property_key"]

USERS_VIEW: Final = "users_view"
REQUEST_RESPONSE_RMT: Final = "request_response_rmt"
TABLES: Final = (USERS_VIEW, REQUEST_RESPONSE_RMT)

# Bit per table, so that the tables under a chain combine with `|`.
TABLE_BITS: Final = {USERS_VIEW: 1, REQUEST_RESPONSE_RMT: 2}


class Field(Record):
    """One column of the endpoint's filter: its table, its name and its kind."""

    __slots__ = ("table", "name", "kind")
    table: str
    name: str
    kind: Kind

    def __init__(self, table: str, name: str, kind: Kind) -> None:
        self.table = table
        self.name = name
        self.kind = kind

    @property
    def kind_label(self) -> str:
        """The kind in the words the docs and error messages use."""
        return KIND_LABELS[self.kind]


KIND_LABELS: Final[dict[Kind, str]] = {
    "text": "text",
    "number": "number",
    "timestamp": "timestamp",
    "boolean": "boolean",
    "map": "map of text",
    "property_key": "property key",
}

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

FIELDS: Final[dict[str, Field]] = {
    name: Field(table, name, kind)
    for table, kinds in _COLUMNS.items()
    for kind, names in kinds.items()
    for name in names
}
"""Every column by its bare name; names are unique across the two tables."""

FIELDS_BY_TABLE: Final[dict[str, dict[str, Field]]] = {
    table: {name: f for name, f in FIELDS.items() if f.table == table} for table in TABLES
}

# The JSON operators Helicone accepts for each kind of column (OpenAPI: Partial_*Operators_).
JSON_OPERATORS: Final[dict[Kind, tuple[str, ...]]] = {
    "text": ("equals", "not-equals", "like", "ilike", "contains", "not-contains"),
    "number": ("equals", "not-equals", "gt", "gte", "lt", "lte"),
    "timestamp": ("equals", "gt", "gte", "lt", "lte"),
    "boolean": ("equals",),
    "map": ("equals", "not-equals", "like", "ilike", "contains", "not-contains"),
    "property_key": ("equals",),
}

# Text operators of the language. Each maps to the JSON operator it writes for a plain leaf;
# sugar (`in`, `is null`, `!=` on booleans and timestamps) is lowered in lower.py.
OPERATOR_JSON: Final[dict[str, str]] = {
    "=": "equals",
    "!=": "not-equals",
    ">": "gt",
    ">=": "gte",
    "<": "lt",
    "<=": "lte",
    "like": "like",
    "ilike": "ilike",
    "contains": "contains",
    "not contains": "not-contains",
}
JSON_OPERATOR_TEXT: Final[dict[str, str]] = {v: k for k, v in OPERATOR_JSON.items()}

# Synonyms that the lexer accepts for the canonical spelling.
OPERATOR_SYNONYMS: Final[dict[str, str]] = {"==": "=", "<>": "!="}

_TEXT_OPS: Final = (
    "=",
    "!=",
    "like",
    "ilike",
    "contains",
    "not contains",
    "in",
    "not in",
    "is null",
    "is not null",
    "is empty",
)
_ORDER_OPS: Final = (">", ">=", "<", "<=")

# Which text operators each kind of column allows (LANGUAGE.md section 3).
ALLOWED_OPERATORS: Final[dict[Kind, tuple[str, ...]]] = {
    "text": _TEXT_OPS,
    "number": ("=", "!=", *_ORDER_OPS, "in", "not in"),
    "timestamp": ("=", "!=", *_ORDER_OPS),
    "boolean": ("=", "!="),
    # Inside maps Helicone's magic strings are literal, so `is null` / `is empty` do not apply.
    "map": _TEXT_OPS[:8],
    "property_key": ("=",),
}

# What `not` turns each operator into, where a single dual exists. Booleans, timestamps and
# the operators missing here are handled (or refused) in lower.py.
NEGATED_OPERATOR: Final[dict[str, str]] = {
    "=": "!=",
    "!=": "=",
    ">": "<=",
    "<=": ">",
    ">=": "<",
    "<": ">=",
    "contains": "not contains",
    "not contains": "contains",
    "in": "not in",
    "not in": "in",
    "is null": "is not null",
    "is not null": "is null",
}

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


def field_table() -> list[dict[str, Any]]:
    """Every field as plain data: name, table, type, its operators in the language and in JSON."""
    return [
        {
            "field": name,
            "table": f.table,
            "type": f.kind_label,
            "operators": list(ALLOWED_OPERATORS[f.kind]),
            "json_operators": list(JSON_OPERATORS[f.kind]),
        }
        for name, f in FIELDS.items()
    ]
