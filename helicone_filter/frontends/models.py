"""pydantic models of the endpoints' JSON (the OpenAPI file's schemas), for the edges only.

The compiler never imports this module: pydantic is for JSON that arrives from outside, the
request bodies of POST /v1/user/metrics/query and of the request endpoints, and JSON Schema.
The column models are built from each endpoint's schema table, so they cannot drift from it.
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

from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT, SESSIONS_REQUEST_RESPONSE_RMT
from helicone_filter.facts.schema import (
    JSON_OPERATORS,
    REQUEST_RESPONSE_RMT,
    SORT_KEYS,
    USERS_VIEW,
    schema_of,
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


def _columns(name: str, table: str, endpoint: str = DEFAULT_ENDPOINT) -> type[BaseModel]:
    by_table = schema_of(endpoint).fields_by_table
    fields: dict[str, Any] = {
        column.replace("-", "_"): (_BY_KIND[f.kind], Field(_ABSENT, alias=column))
        for column, f in by_table[table].items()
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

# -- the request endpoints (POST /v1/request/query-clickhouse, /v1/request/count/query) ----------

SessionsColumns = _columns(
    "SessionsRequestResponseRMTToOperators", SESSIONS_REQUEST_RESPONSE_RMT, "requests"
)


class RequestFilterLeaf(BaseModel):
    """`{"request_response_rmt": {...}}` and/or `{"sessions_request_response_rmt": {...}}`
    (session_tag: the keys Helicone drops, and its other tables, are left out)."""

    model_config = ConfigDict(extra="forbid")

    request_response_rmt: RequestResponseRMTColumns = Field(_ABSENT)  # type: ignore[valid-type]
    sessions_request_response_rmt: SessionsColumns = Field(_ABSENT)  # type: ignore[valid-type]


class RequestFilterBranch(BaseModel):
    """`{"left": node, "operator": "and" | "or", "right": node}` of the request endpoints."""

    model_config = ConfigDict(extra="forbid")

    left: RequestFilterNode
    operator: Literal["or", "and"]
    right: RequestFilterNode


RequestFilterNode = Annotated[
    Annotated[RequestFilterLeaf, Tag("leaf")]
    | Annotated[RequestFilterBranch, Tag("branch")]
    | Annotated[Literal["all"], Tag("all")],
    Discriminator(_node_kind),
]
RequestFilterBranch.model_rebuild()

# What the requests can be sorted by (OpenAPI: SortLeafRequest), each `asc` or `desc`;
# `random` is `true`, `properties` and `values` a direction by key.
REQUEST_SORT_KEYS: tuple[str, ...] = (
    "created_at",
    "cache_created_at",
    "latency",
    "last_active",
    "total_tokens",
    "completion_tokens",
    "prompt_tokens",
    "user_id",
    "body_model",
    "is_cached",
    "request_prompt",
    "response_text",
    "cost",
    "time_to_first_token",
)

SortLeafRequest: type[BaseModel] = create_model(
    "SortLeafRequest",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Which request column to sort by; omitted means `created_at desc`.",
    random=(Literal[True], Field(_ABSENT)),
    properties=(dict[str, SortDirection], Field(_ABSENT)),
    values=(dict[str, SortDirection], Field(_ABSENT)),
    **{key: (SortDirection, Field(_ABSENT)) for key in REQUEST_SORT_KEYS},  # type: ignore[call-overload]
)


class RequestQueryParams(BaseModel):
    """The body of POST /v1/request/query-clickhouse and /v1/request/count/query."""

    model_config = ConfigDict(extra="forbid")

    filter: RequestFilterNode
    offset: Number = Field(_ABSENT)
    limit: Number = Field(_ABSENT)
    sort: SortLeafRequest = Field(_ABSENT)  # type: ignore[valid-type]
    isCached: StrictBool = Field(_ABSENT)
    includeInputs: StrictBool = Field(_ABSENT)
    isPartOfExperiment: StrictBool = Field(_ABSENT)
    isScored: StrictBool = Field(_ABSENT)


REQUEST_FILTER_NODE: TypeAdapter[Any] = TypeAdapter(RequestFilterNode)

# Each endpoint's body and FilterNode.
_SCHEMAS: dict[str, tuple[type[BaseModel], TypeAdapter[Any]]] = {
    "user-metrics": (UserMetricsQueryParams, FILTER_NODE),
    "requests": (RequestQueryParams, REQUEST_FILTER_NODE),
}


def json_schema(
    which: Literal["query", "filter"] = "query", *, endpoint: str = DEFAULT_ENDPOINT
) -> dict[str, Any]:
    """The JSON Schema of an endpoint's request body (`"query"`) or of its FilterNode
    (`"filter"`).

    Raises:
        ValueError: an unknown endpoint.

    Example:
        >>> sorted(json_schema()["required"])
        ['filter', 'limit', 'offset']
        >>> json_schema(endpoint="requests")["required"]
        ['filter']
    """
    body, node = _SCHEMAS[schema_of(endpoint).name]
    if which == "filter":
        return node.json_schema(by_alias=True)
    return body.model_json_schema(by_alias=True)
