"""pydantic models of the endpoint's JSON (the OpenAPI file's schemas), for the edges only.

The compiler never imports this module: pydantic is for JSON that arrives from outside, the
request body of POST /v1/user/metrics/query, and JSON Schema. The column models are built from
the schema table, so they cannot drift from it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    WithJsonSchema,
    create_model,
)

from helicone_filter.facts.schema import (
    FIELDS_BY_TABLE,
    JSON_OPERATORS,
    REQUEST_RESPONSE_RMT,
    SORT_KEYS,
    USERS_VIEW,
)
from helicone_filter.facts.timestamps import parse_timestamp

Number = StrictInt | StrictFloat


def _timestamp(value: str) -> str:
    if parse_timestamp(value) is None:
        raise ValueError("not an ISO 8601 date or date-time that Helicone accepts")
    return value


Timestamp = Annotated[
    StrictStr,
    AfterValidator(_timestamp),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

# Optional fields default to None but do not accept null: Helicone refuses JSON null.
_ABSENT: Any = None


def _operators(name: str, kind: str, value_type: Any, required: bool = False) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for op in JSON_OPERATORS[kind]:  # type: ignore[index]
        fields[op.replace("-", "_")] = (value_type, Field(... if required else _ABSENT, alias=op))
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid", populate_by_name=True),
        **fields,
    )


TextOperators = _operators("TextOperators", "text", StrictStr)
NumberOperators = _operators("NumberOperators", "number", Number)
TimestampOperators = _operators("TimestampOperatorsTyped", "timestamp", Timestamp)
BooleanOperators = _operators("BooleanOperators", "boolean", StrictBool)
PropertyKeyOperators = _operators("PropertyKeyOperators", "property_key", StrictStr, True)

_BY_KIND: dict[str, Any] = {
    "text": TextOperators,
    "number": NumberOperators,
    "timestamp": TimestampOperators,
    "boolean": BooleanOperators,
    "map": dict[str, TextOperators],  # type: ignore[valid-type]
    "property_key": PropertyKeyOperators,
}


def _columns(name: str, table: str) -> type[BaseModel]:
    fields: dict[str, Any] = {
        column.replace("-", "_"): (_BY_KIND[f.kind], Field(_ABSENT, alias=column))
        for column, f in FIELDS_BY_TABLE[table].items()
    }
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid", populate_by_name=True),
        **fields,
    )


UserViewColumns = _columns("UserViewToOperators", USERS_VIEW)
RequestResponseRMTColumns = _columns("RequestResponseRMTToOperators", REQUEST_RESPONSE_RMT)


class FilterLeaf(BaseModel):
    """`{"users_view": {...}}` and/or `{"request_response_rmt": {...}}`."""

    model_config = ConfigDict(extra="forbid")

    users_view: UserViewColumns = Field(_ABSENT)  # type: ignore[valid-type]
    request_response_rmt: RequestResponseRMTColumns = Field(_ABSENT)  # type: ignore[valid-type]


class FilterBranch(BaseModel):
    """`{"left": node, "operator": "and" | "or", "right": node}`."""

    model_config = ConfigDict(extra="forbid")

    left: FilterNode
    operator: Literal["or", "and"]
    right: FilterNode


def _node_kind(value: Any) -> str:
    if isinstance(value, str):
        return "all"
    if isinstance(value, dict):
        return "branch" if {"left", "operator", "right"} & set(value) else "leaf"
    if isinstance(value, FilterBranch):
        return "branch"
    return "leaf"


FilterNode = Annotated[
    Annotated[FilterLeaf, Tag("leaf")]
    | Annotated[FilterBranch, Tag("branch")]
    | Annotated[Literal["all"], Tag("all")],
    Discriminator(_node_kind),
]
FilterBranch.model_rebuild()

SortDirection = Literal["asc", "desc"]


SortLeafUsers: type[BaseModel] = create_model(
    "SortLeafUsers",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Which user metric to sort by; omitted means `last_active desc`, `{}` unordered.",
    **{key: (SortDirection, Field(_ABSENT)) for key in SORT_KEYS},  # type: ignore[call-overload]
)


class TimeFilter(BaseModel):
    """The time window, in unix seconds."""

    model_config = ConfigDict(extra="forbid")

    startTimeUnixSeconds: Number
    endTimeUnixSeconds: Number


class UserMetricsQueryParams(BaseModel):
    """The body of POST /v1/user/metrics/query."""

    model_config = ConfigDict(extra="forbid")

    filter: FilterNode
    offset: Number
    limit: Number
    timeFilter: TimeFilter = Field(_ABSENT)
    timeZoneDifferenceMinutes: Number = Field(_ABSENT)
    sort: SortLeafUsers = Field(_ABSENT)  # type: ignore[valid-type]  # built from SORT_KEYS


FILTER_NODE: TypeAdapter[Any] = TypeAdapter(FilterNode)


def json_schema(which: Literal["query", "filter"] = "query") -> dict[str, Any]:
    """The JSON Schema of the request body (`"query"`) or of a FilterNode (`"filter"`).

    Example:
        >>> sorted(json_schema()["required"])
        ['filter', 'limit', 'offset']
    """
    if which == "filter":
        return FILTER_NODE.json_schema(by_alias=True)
    return UserMetricsQueryParams.model_json_schema(by_alias=True)
