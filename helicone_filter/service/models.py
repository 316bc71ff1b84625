"""pydantic models of the HTTP service's JSON, its OpenAPI document made from them, and the
words of its refusals.

Every request body, every 200 answer and the error body is a model here; `openapi_document`
writes them into `components/schemas` (OpenAPI 3.1, whose schemas are JSON Schema 2020-12, as
pydantic writes them) and refers to them from each operation. Filters are typed with the
FilterNode models of `frontends/models.py`. A field's docstring is its description in the
document.

The service reads each request body with its model (`Model.model_validate(body)`), so that the
document and the service take the same bodies; `refusal` words the first fault pydantic finds
as the service always has. Three fields are typed for the document but taken as they come
(`_as_is`): a filter's FilterNode JSON, which the checker reads (once, with its own problems),
the sort object, which `query_body` reads, and `map_keys`, whose checks have words of their
own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from functools import cache
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema
from typing_extensions import TypeAliasType

from helicone_filter.api.outputs import query_body
from helicone_filter.backends.clickhouse import column_names
from helicone_filter.backends.request_body import QueryError
from helicone_filter.defaults import (
    MAX_MAP_KEY_LENGTH,
    MAX_MAP_KEYS,
    MAX_SAFE_INTEGER,
)
from helicone_filter.errors import did_you_mean
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT, ENDPOINTS, EndpointName, endpoint
from helicone_filter.facts.endpoints import ENDPOINT_NAMES as QUERY_ENDPOINTS
from helicone_filter.facts.query_options import QUERY_OPTIONS, QueryOption, rows_named
from helicone_filter.frontends.models import FilterNode as _FilterNode
from helicone_filter.frontends.models import RequestFilterNode as _RequestFilterNode
from helicone_filter.frontends.models import (
    SortLeafRequest,
    SortLeafUsers,
    Timestamp,
    UserMetricsQueryParams,
)

# A name of its own in components/schemas, so that every use refers to one FilterNode: the
# user-metrics endpoint's, and the request endpoints' (`endpoint: "requests"`).
FilterNode = TypeAliasType("FilterNode", _FilterNode)
RequestFilterNode = TypeAliasType("RequestFilterNode", _RequestFilterNode)
FilterInput = TypeAliasType("FilterInput", StrictStr | FilterNode | RequestFilterNode)

# An optional field of a request: absent by default, and null is refused (as the service does).
_ABSENT: Any = None
Severity = Literal["error", "warning"]
# The map fields, whose known keys /complete offers (a test checks them against the schema).
MapField = Literal["properties", "search_properties", "scores"]
MapKeys = Annotated[
    list[Annotated[StrictStr, Field(max_length=MAX_MAP_KEY_LENGTH)]],
    Field(max_length=MAX_MAP_KEYS),
]


def shown(value: object, most: int = 40) -> str:
    """`repr(value)`, cut in the middle past `most` characters: an echo of a value of 4,000
    digits would bury the message.

    Example:
        >>> shown(10**50)
        '10000000000000000000…00000000 (51 digits)'
    """
    try:
        text = repr(value)
    except ValueError:  # an int past Python's limit of 4,300 digits for writing one
        return f"a number of {len(format(value, 'x')) * math.log10(16):,.0f} digits or so"
    if len(text) <= most:
        return text
    unit = "digits" if isinstance(value, int) else "characters"
    return f"{text[: most // 2]}…{text[-8:]} ({len(text):,} {unit})"


# -- fields taken as they come ----------------------------------------------------------------

_KIND_NAMES: dict[type, str] = {str: "string", int: "integer", dict: "object", list: "array"}


def _as_is(
    documented: Any, *kinds: type, then: Callable[[str, Any], None] | None = None
) -> PlainValidator:
    """A field's value as it came, if it is one of `kinds` (JSON's; a bool is no number) and
    passes `then`; `documented` is its type in the OpenAPI document."""

    def take(value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if isinstance(value, bool) or not isinstance(value, kinds):
            wanted = " or ".join(_KIND_NAMES[k] for k in kinds)
            raise ValueError(f"{name!r} must be {wanted}")
        if then is not None:
            then(name, value)
        return value

    return PlainValidator(take, json_schema_input_type=documented)


def _known_map_keys(name: str, given: dict[str, Any]) -> None:
    """At most `MAX_MAP_KEYS` keys of at most `MAX_MAP_KEY_LENGTH` characters for each of some
    map fields. (Checked here, not by the schema's types: pydantic refuses a lone surrogate in
    a string it measures, and a browser's text field can hold one.)"""
    maps = get_args(MapField)
    for field, keys in given.items():
        if field not in maps:
            near = did_you_mean(str(field), maps)
            raise ValueError(
                f"{name!r} has keys for {shown(field)}, which is not a map field"
                + (f" ({near})" if near else "")
                + f"; the map fields are {', '.join(maps)}"
            )
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError(
                f"{name!r} gives each field a list of strings; {field!r} has something else"
            )
        if len(keys) > MAX_MAP_KEYS:
            raise ValueError(
                f"{name!r} has {len(keys):,} keys for {field!r}; give at most {MAX_MAP_KEYS:,}"
                " (the ones a user is likeliest to want)"
            )
        for k in keys:
            if len(k) > MAX_MAP_KEY_LENGTH:
                raise ValueError(
                    f"a key for {field!r} in {name!r} is {len(k):,} characters long; a key "
                    f"may be at most {MAX_MAP_KEY_LENGTH:,}"
                )


# Filter text or FilterNode JSON: the checker reads the JSON, once (an array too, which it
# refuses with a problem of its own).
FilterField = Annotated[FilterInput, _as_is(FilterInput, str, dict, list)]
# `FIELD:desc` or a SortLeafUsers (SortLeafRequest) object, which `query_body` reads.
SortField = Annotated[
    StrictStr | SortLeafUsers | SortLeafRequest,  # type: ignore[valid-type]
    _as_is(StrictStr | SortLeafUsers | SortLeafRequest, str, dict),
]
MapKeysField = Annotated[
    dict[MapField, MapKeys], _as_is(dict[MapField, MapKeys], dict, then=_known_map_keys)
]

# Known values /complete offers: at most this many fields (each value list is bounded as a
# map's keys are: MAX_MAP_KEYS values of at most MAX_MAP_KEY_LENGTH characters).
MAX_VALUE_FIELDS = 1_000
KnownValue = Annotated[StrictStr, Field(max_length=MAX_MAP_KEY_LENGTH)] | StrictInt | StrictFloat
KnownValues = dict[
    Annotated[StrictStr, Field(max_length=MAX_MAP_KEY_LENGTH)],
    Annotated[list[KnownValue], Field(max_length=MAX_MAP_KEYS)],
]


def _known_values(name: str, given: dict[str, Any]) -> None:
    """At most `MAX_VALUE_FIELDS` fields, each with a list of at most `MAX_MAP_KEYS` strings
    (of at most `MAX_MAP_KEY_LENGTH` characters) or numbers (finite; integers that JavaScript
    reads exactly)."""
    if len(given) > MAX_VALUE_FIELDS:
        raise ValueError(
            f"{name!r} has values for {len(given):,} fields; give at most {MAX_VALUE_FIELDS:,}"
        )
    for field, values in given.items():
        if len(field) > MAX_MAP_KEY_LENGTH:
            raise ValueError(
                f"a field in {name!r} is {len(field):,} characters long; at most "
                f"{MAX_MAP_KEY_LENGTH:,}"
            )
        if not isinstance(values, list):
            raise ValueError(
                f"{name!r} gives each field a list of strings or numbers "
                f'(e.g. {{"model": ["gpt-4o"]}}); {shown(field)} has {shown(values)}'
            )
        if len(values) > MAX_MAP_KEYS:
            raise ValueError(
                f"{name!r} has {len(values):,} values for {shown(field)}; give at most "
                f"{MAX_MAP_KEYS:,} (the ones a user is likeliest to want)"
            )
        for v in values:
            if isinstance(v, str):
                if len(v) > MAX_MAP_KEY_LENGTH:
                    raise ValueError(
                        f"a value for {shown(field)} in {name!r} is {len(v):,} characters long; "
                        f"a value may be at most {MAX_MAP_KEY_LENGTH:,}"
                    )
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(
                    f"{name!r} gives each field a list of strings or numbers; {shown(field)} "
                    f"has {shown(v)}"
                )
            elif isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"a value for {shown(field)} in {name!r} is not finite: {v}")
            elif isinstance(v, int) and abs(v) > MAX_SAFE_INTEGER:
                raise ValueError(
                    f"a value for {shown(field)} in {name!r} is {shown(v)}, beyond what "
                    f"JavaScript reads exactly (±{MAX_SAFE_INTEGER:,}); send it as a string"
                )


KnownValuesField = Annotated[KnownValues, _as_is(KnownValues, dict, then=_known_values)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


# -- the shapes the answers share -------------------------------------------------------------


class Fix(_Model):
    """One way to mend a problem: replace `text[start:end]` with `replacement`. The one shape
    of a fix-it, in every answer and on the command line."""

    start: StrictInt
    """Where the replaced text starts, in code points."""
    end: StrictInt
    """Where it ends (exclusive), in code points; equal to `start` to insert."""
    replacement: StrictStr
    """The text to put there ("" to delete)."""
    start_utf16: StrictInt
    """`start` in UTF-16 code units (a browser's offsets)."""
    end_utf16: StrictInt
    """`end` in UTF-16 code units."""


class Problem(_Model):
    """One thing wrong with a filter, or worth a warning."""

    code: StrictStr
    """A stable kebab-case identifier, e.g. `unknown-field`."""
    message: StrictStr
    """What is wrong, in a user's words."""
    start: StrictInt
    """Where the offending text starts, in code points (0 for JSON input)."""
    end: StrictInt
    """Where it ends (exclusive), in code points; equal to `start` at the end of the text."""
    line: StrictInt | None
    """The 1-based line of `start`; null for JSON input, whose problems have a `path`."""
    column: StrictInt | None
    """The 1-based column of `start`, in code points; null for JSON input."""
    hint: StrictStr
    """How to fix it, or "" when there is nothing more to say."""
    severity: Severity
    """`error`, or `warning` for something that works but probably not as meant."""
    path: StrictStr | None
    """For JSON input, the JSON path of the offending value (`$.left.users_view`); else null."""
    fixes: list[Fix]
    """Ways to mend it (filter text only), each one replacement."""
    start_utf16: StrictInt
    """`start` in UTF-16 code units."""
    end_utf16: StrictInt
    """`end` in UTF-16 code units."""


class ErrorDetail(_Model):
    """What went wrong."""

    message: StrictStr
    """One line: the first problem's message, or why the request was refused."""
    problems: list[Problem]
    """Every problem of a filter that does not compile (422); empty for other errors."""


class Error(_Model):
    """The body of every error answer."""

    error: ErrorDetail
    """What went wrong."""


# -- requests ---------------------------------------------------------------------------------


# The endpoint of Helicone a filter is for: a field of every body that reads one (and the query
# parameter of GET /fields); its words are the same everywhere.
ENDPOINT_DESCRIPTION = (
    f"The endpoint of Helicone the filter is for, which says its fields; default "
    f"`{DEFAULT_ENDPOINT}`. "
    + "; ".join(f"`{name}`: {', '.join(row.paths)}" for name, row in ENDPOINTS.items())
    + "."
)


def _endpoint_field() -> Any:
    return Field(_ABSENT, description=ENDPOINT_DESCRIPTION)


class _Body(_Model):
    """A request body: its fields are the model's, and an unknown one is named before anything
    else is checked (pydantic cannot name one that holds a lone surrogate)."""

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, body: Any) -> Any:
        for name in body if isinstance(body, dict) else ():
            if name not in cls.model_fields:
                raise ValueError(_unknown_field(cls, name))
        return body


class _FilterBody(_Body):
    """A request body with a filter, as text or as FilterNode JSON: in `text`, the name
    /compile gives it too, or in `input`, its old name, still taken."""

    text: FilterField = Field(_ABSENT)
    """Filter text, or FilterNode JSON (as an object or as a JSON string). Required (unless
    the deprecated `input` is given)."""
    input: FilterField = Field(_ABSENT, json_schema_extra={"deprecated": True})
    """Deprecated: the old name of `text`, still taken; give one of the two."""

    @model_validator(mode="after")
    def _one_filter(self) -> Self:
        if self.text is None and self.input is None:
            raise ValueError("the body needs 'text'")
        if self.text is not None and self.input is not None:
            raise ValueError("give the filter as 'text' or as 'input' (its old name), not both")
        return self

    @property
    def given(self) -> Any:
        """The filter as given, in `text` or in `input`."""
        return self.input if self.text is None else self.text


class CompileRequest(_Body):
    """Filter text to compile."""

    text: StrictStr
    """The filter text."""
    now: Timestamp = Field(_ABSENT)
    """The moment relative times (`now - 7d`) count back from, ISO 8601; default: now."""
    nesting: Literal["balanced", "right"] = Field(_ABSENT)
    """How a chain of `and`s or `or`s is nested in the JSON; default `balanced`."""
    endpoint: EndpointName = _endpoint_field()


class FormatRequest(_FilterBody):
    """A filter to write as canonical text."""

    now: Timestamp = Field(_ABSENT)
    """The moment relative times in filter text count back from; default: now."""
    endpoint: EndpointName = _endpoint_field()


class CheckRequest(_FilterBody):
    """A filter to check."""

    now: Timestamp = Field(_ABSENT)
    """The moment relative times in filter text count back from; default: now."""
    endpoint: EndpointName = _endpoint_field()


class CompleteRequest(_Body):
    """Filter text being typed, and where the cursor is (give `cursor` or `cursor_utf16`)."""

    text: StrictStr
    """The filter as typed so far."""
    cursor: StrictInt = Field(_ABSENT, ge=0, le=MAX_SAFE_INTEGER)
    """The cursor, in code points; past the end of the text is the end; default: the end."""
    cursor_utf16: StrictInt = Field(_ABSENT, ge=0, le=MAX_SAFE_INTEGER)
    """The cursor in UTF-16 code units (a browser's `selectionStart`); past the end of the text
    is the end."""
    map_keys: MapKeysField = Field(_ABSENT)
    """Keys to offer after a map field, by field (`{"properties": ["env", "team"]}`): at most
    10,000 a field, each at most 1,000 characters."""
    values: KnownValuesField = Field(_ABSENT)
    """Known values to offer after a field and its operator, by the field as the canonical text
    writes it (`{"model": ["gpt-4o"], "status": [200], "properties.environment": ["prod"]}`),
    in the order given: at most 1,000 fields, 10,000 values a field, each string at most 1,000
    characters."""
    endpoint: EndpointName = _endpoint_field()

    @model_validator(mode="after")
    def _one_cursor(self) -> Self:
        if self.cursor is not None and self.cursor_utf16 is not None:
            raise ValueError("give 'cursor' (code points) or 'cursor_utf16', not both")
        return self


class DiagnoseRequest(_Body):
    """Filter text to diagnose."""

    text: StrictStr
    """The filter text."""
    now: Timestamp = Field(_ABSENT)
    """The moment relative times count back from; default: now."""
    endpoint: EndpointName = _endpoint_field()


class SqlRequest(_FilterBody):
    """A filter to write as ClickHouse SQL."""

    now: Timestamp = Field(_ABSENT)
    """The moment relative times in filter text count back from; default: now."""
    endpoint: EndpointName = _endpoint_field()
    table_map: dict[str, StrictStr] = Field(_ABSENT)
    """The name to write for each of Helicone's tables (`{"request_response_rmt": "t"}`)."""
    target: Literal["rows", "helicone-where", "helicone-having"] = Field(_ABSENT)
    """`rows` (default): one WHERE for the rows of both tables; `helicone-where` and
    `helicone-having`: the parts of Helicone's own user-metrics query."""

    @model_validator(mode="after")
    def _names_fit(self) -> Self:
        column_names(self.table_map, self.target or "rows")  # its ValueError says what is wrong
        return self


def _option(name: str) -> Any:
    """The field of a query option: optional, with its range (the widest of its endpoints'; the
    endpoint's own is `query_body`'s to check) and description from its rows of
    `QUERY_OPTIONS`."""
    rows = rows_named(name)
    lows = [row.low for row in rows if row.low is not None]
    highs = [row.high for row in rows if row.high is not None]
    return Field(
        _ABSENT,
        ge=min(lows) if lows else None,
        le=max(highs) if highs else None,
        description=_described(rows),
    )


def _described(rows: tuple[QueryOption, ...]) -> str:
    """The description of an option's field: its rows', each but a lone one under its
    endpoint's name."""
    if len(rows) == 1 and len(rows[0].endpoints) == len(QUERY_ENDPOINTS):
        return rows[0].description
    return " ".join(f"{' and '.join(row.endpoints)}: {row.description}" for row in rows)


def _per_endpoint(schema: dict[str, Any]) -> None:
    """The query options' ranges that differ by endpoint, and the options an endpoint does not
    take, in the schema as `if`/`then` (JSON Schema 2020-12), from the rows of
    `QUERY_OPTIONS`: the document refuses what `query_body` refuses."""
    from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT
    from helicone_filter.facts.query_options import OPTIONS_BY_ENDPOINT

    fields = schema.get("properties", {})
    rules = []
    for name, options in OPTIONS_BY_ENDPOINT.items():
        chosen: dict[str, Any] = {"properties": {"endpoint": {"const": name}}}
        if name != DEFAULT_ENDPOINT:  # an absent endpoint is the default one
            chosen["required"] = ["endpoint"]
        ranges = {
            o.name: {"minimum": o.low, "maximum": o.high}
            for o in options.values()
            if o.kind == "whole" and o.name in fields
        }
        refused = [n for n in fields if n in _QUERY_OPTION_NAMES and n not in options]
        then: dict[str, Any] = {"properties": ranges}
        if refused:
            then["not"] = {"anyOf": [{"required": [n]} for n in refused]}
        rules.append({"if": chosen, "then": then})
    schema["allOf"] = rules


_QUERY_OPTION_NAMES = frozenset(o.name for o in QUERY_OPTIONS)


class QueryRequest(_FilterBody):
    """A filter and the options of Helicone's query for an endpoint: POST
    /v1/user/metrics/query, or POST /v1/request/query-clickhouse for `endpoint: requests`."""

    model_config = ConfigDict(json_schema_extra=_per_endpoint)
    endpoint: EndpointName = Field(_ABSENT)
    """The endpoint whose body to write: `user-metrics` (default) or `requests`."""
    # The query options: their ranges and descriptions are their rows of `QUERY_OPTIONS`
    # (`_option`); their types are said here, for the OpenAPI document.
    limit: StrictInt = _option("limit")
    offset: StrictInt = _option("offset")
    sort: SortField = _option("sort")
    since: StrictStr = _option("since")
    until: StrictStr = _option("until")
    tz_offset: StrictInt = _option("tz_offset")
    is_scored: StrictBool = _option("is_scored")
    now: Timestamp = Field(_ABSENT)
    """The moment relative times count back from; default: now."""


# -- refusals: a fault pydantic found, in the service's words ----------------------------------


def _cursor_words(name: str, unit: str) -> Callable[[Any], str]:
    def words(value: Any) -> str:
        return (
            f"{name!r} must be 0 to {MAX_SAFE_INTEGER:,} ({unit}; past the end of the text is "
            f"its end), not {shown(value)}"
        )

    return words


def _query_words(name: str) -> Callable[[Any, Mapping[str, Any]], str]:
    """What `query_body`, which checks its options for every caller, says of `value` for the
    body's endpoint."""

    def words(value: Any, body: Mapping[str, Any]) -> str:
        chosen = body.get("endpoint")
        try:
            endpoint_name = endpoint(chosen).name if isinstance(chosen, str) else DEFAULT_ENDPOINT
        except ValueError:
            endpoint_name = DEFAULT_ENDPOINT
        try:
            query_body("all", endpoint=endpoint_name, **{name: value})
        except QueryError as e:
            return str(e)
        return f"{name!r} is out of range"  # not reached: the model's range is query_body's

    return words


def _value_words(words: Callable[[Any], str]) -> Callable[[Any, Mapping[str, Any]], str]:
    return lambda value, _body: words(value)


# For a value out of its field's range, or with a part that is wrong: what to say, by field
# (a field of one name means the same in every body; a query option's range is its endpoint's).
_WORDS: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
    "now": _value_words(lambda value: f"'now' {shown(value)} is not an ISO 8601 timestamp"),
    "cursor": _value_words(_cursor_words("cursor", "code points")),
    "cursor_utf16": _value_words(_cursor_words("cursor_utf16", "UTF-16 code units")),
    "table_map": _value_words(lambda value: "'table_map' maps names to names (strings)"),
    **{o.name: _query_words(o.name) for o in QUERY_OPTIONS if o.kind == "whole"},
}
# pydantic's type errors, by the JSON type the field wants.
_TYPE_ERRORS = {"string_type": "string", "int_type": "integer", "dict_type": "object"}


def refusal(model: type[BaseModel], body: Mapping[str, Any], error: ValidationError) -> str:
    """Why `body` does not fit `model`, in one line: its first fault in the order of the
    model's fields (a field that is missing, of the wrong type, or out of its range), or what
    a model validator said (an unknown field, which is looked for first; fields that do not
    go together).

    Example:
        >>> body = {"text": "cached", "nesting": "left"}
        >>> try:
        ...     CompileRequest.model_validate(body)
        ... except ValidationError as e:
        ...     print(refusal(CompileRequest, body, e))
        'nesting' is balanced or right
    """
    fault = error.errors(include_url=False)[0]
    kind, where = fault["type"], fault["loc"]
    name = str(where[0]) if where else ""
    if kind == "missing":
        return f"the body needs {name!r}"
    if kind in _TYPE_ERRORS and len(where) == 1:
        return f"{name!r} must be {_TYPE_ERRORS[kind]}"
    if kind == "literal_error" and name == "endpoint":
        return endpoint_refusal(fault["input"])
    if kind == "literal_error":
        return _not_a_choice(model, name, fault["input"])
    if name in _WORDS:
        return _WORDS[name](body[name], body)
    if kind == "value_error":
        return str(fault["ctx"]["error"])
    return f"{name!r}: {fault['msg']}"  # not expected: every fault of a body is worded above


def _unknown_field(model: type[BaseModel], name: object) -> str:
    fields = [  # the deprecated ones are taken, not offered
        n
        for n, f in model.model_fields.items()
        if not (isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("deprecated"))
    ]
    near = did_you_mean(str(name), fields)
    return (
        f"the body has an unknown field {shown(name)}"
        + (f" ({near})" if near else "")
        + f"; its fields are {', '.join(fields)}"
    )


def endpoint_refusal(value: Any) -> str:
    """Why `value` is no endpoint: the endpoints, and the one meant when it is close.

    Example:
        >>> endpoint_refusal("request")
        "unknown endpoint 'request': the endpoints are 'user-metrics' and 'requests'; did you \
mean 'requests'?"
    """
    if not isinstance(value, str):
        return "'endpoint' must be string"
    try:
        endpoint(value)
    except ValueError as e:
        return str(e)
    return f"'endpoint' {shown(value)} is not taken here"  # not reached: every name is taken


def _not_a_choice(model: type[BaseModel], name: str, value: Any) -> str:
    if not isinstance(value, str):
        return f"{name!r} must be string"
    *some, last = get_args(model.model_fields[name].annotation)
    return f"{name!r} is {', '.join(some)} or {last}"


# -- answers ----------------------------------------------------------------------------------


class LeafSpan(_Model):
    """Where in the text one leaf of the compiled JSON came from."""

    path: list[Literal["left", "right"]]
    """The leaf's path from the root of the JSON, as `left`/`right` steps."""
    start: StrictInt
    """Where its condition starts in the text, in code points."""
    end: StrictInt
    """Where its condition ends (exclusive), in code points."""
    start_utf16: StrictInt
    """`start` in UTF-16 code units."""
    end_utf16: StrictInt
    """`end` in UTF-16 code units."""


class CompileResponse(_Model):
    """The compiled filter and its source map."""

    json_: FilterNode | RequestFilterNode = Field(alias="json")
    """The FilterNode JSON of the endpoint: POST /v1/user/metrics/query's (`FilterNode`), or
    the request endpoints' (`RequestFilterNode`)."""
    spans: list[LeafSpan]
    """For each leaf of `json`, the text it came from (a condition can give several)."""


class FormatResponse(_Model):
    """The canonical text of a filter."""

    text: StrictStr
    """The filter, written canonically."""


class CheckResponse(_Model):
    """Every problem of a filter."""

    problems: list[Problem]
    """Errors and warnings; empty for a filter without either."""


class Completion(_Model):
    """One thing that may stand at the cursor."""

    label: StrictStr
    """What to show in the list."""
    kind: Literal["field", "operator", "value", "keyword", "punctuation"]
    """What it is."""
    insert_text: StrictStr
    """The text that replaces `text[replace_start:replace_end]`."""
    replace_start: StrictInt
    """Where the replaced range starts (the word under the cursor), in code points."""
    replace_end: StrictInt
    """Where it ends (exclusive), in code points."""
    detail: StrictStr
    """A field's type and table, an operator's meaning."""
    replace_start_utf16: StrictInt
    """`replace_start` in UTF-16 code units."""
    replace_end_utf16: StrictInt
    """`replace_end` in UTF-16 code units."""
    cursor_offset: StrictInt
    """Where the cursor goes within `insert_text` once it is accepted, in code points: 1 for
    the `""` template (between the quotes), 2 for the `[""]` list template, the length of
    `insert_text` otherwise."""
    cursor_offset_utf16: StrictInt
    """`cursor_offset` in UTF-16 code units (for a browser's `setSelectionRange`)."""


class CompleteResponse(_Model):
    """What may stand at the cursor, best first."""

    completions: list[Completion]
    """The candidates, best first."""


class Diagnostic(_Model):
    """One problem as an editor shows it: a squiggle over the range, a message, fixes."""

    severity: Severity
    """`error` or `warning`."""
    code: StrictStr
    """A stable kebab-case identifier, e.g. `unknown-field`."""
    message: StrictStr
    """What is wrong, in a user's words."""
    hint: StrictStr
    """How to fix it, or ""."""
    start: StrictInt
    """Where the range starts, in code points."""
    end: StrictInt
    """Where it ends (exclusive), in code points."""
    start_utf16: StrictInt
    """`start` in UTF-16 code units."""
    end_utf16: StrictInt
    """`end` in UTF-16 code units."""
    fixes: list[Fix]
    """Fix-its, each one replacement."""


class DiagnoseResponse(_Model):
    """Every problem of filter text, by position."""

    diagnostics: list[Diagnostic]
    """Errors and warnings, ordered by range."""


class SqlResponse(_Model):
    """A filter as a ClickHouse expression whose values are typed query parameters."""

    sql: StrictStr
    """The boolean expression (`true` for a filter that keeps every row)."""
    params: dict[str, StrictStr | StrictInt | StrictFloat | StrictBool]
    """The value of each parameter (`{p0:String}` is `params["p0"]`)."""
    warnings: list[Problem]
    """For FilterNode JSON: a leaf with several operators, of which Helicone (and the SQL)
    keep one."""


class QueryResponse(_Model):
    """Helicone's request body."""

    body: UserMetricsQueryParams
    """The body to POST to /v1/user/metrics/query."""


class FieldInfo(_Model):
    """One field of the language."""

    field: StrictStr
    """Its name in filter text."""
    table: Literal["users_view", "request_response_rmt", "sessions_request_response_rmt"]
    """The table of Helicone's it belongs to."""
    type: StrictStr
    """Its type, in the words of the docs: `text`, `number`, `timestamp`, `boolean`..."""
    operators: list[StrictStr]
    """The operators filter text may use on it."""
    json_operators: list[StrictStr]
    """The operators of its FilterNode JSON (none for a field Helicone cannot filter on)."""
    means: StrictStr
    """What it is, in one line."""
    helicone: StrictStr
    """What Helicone does with it that may surprise, or ""."""


class FieldsResponse(_Model):
    """Every field of an endpoint."""

    fields: list[FieldInfo]
    """The fields, in the order of the docs."""


class Health(_Model):
    """The service is up."""

    ok: Literal[True]
    """Always true."""


# -- the OpenAPI document ---------------------------------------------------------------------


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema without `default` keywords or per-property titles.

    openapi-typescript types a property that has a default as always present, which is not
    true of a request's optional fields nor of FilterNode's (absent unless given); the
    defaults are said in the descriptions instead.
    """

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


# path: (operationId, summary, request model, answer model); GET when there is no request.
# The service's one table of paths: each with its operation's name, summary, request model (None
# for a GET) and answer model. The OpenAPI document is made from it, and the handlers
# (`handlers.ENDPOINTS`) take their bodies' models from it.
OPERATIONS: dict[str, tuple[str, str, type[BaseModel] | None, type[BaseModel]]] = {
    "/compile": (
        "compile",
        "Filter text to FilterNode JSON, with the span of text each leaf came from",
        CompileRequest,
        CompileResponse,
    ),
    "/format": ("format", "A filter as canonical text", FormatRequest, FormatResponse),
    "/check": (
        "check",
        "Every problem of a filter, errors and warnings",
        CheckRequest,
        CheckResponse,
    ),
    "/complete": ("complete", "What may stand at the cursor", CompleteRequest, CompleteResponse),
    "/diagnose": (
        "diagnose",
        "Every problem of filter text with its range and fix-its",
        DiagnoseRequest,
        DiagnoseResponse,
    ),
    "/sql": ("sql", "A filter as ClickHouse SQL with typed parameters", SqlRequest, SqlResponse),
    "/query": (
        "query",
        "Helicone's request body for POST /v1/user/metrics/query",
        QueryRequest,
        QueryResponse,
    ),
    "/fields": ("fields", "The fields of an endpoint and their operators", None, FieldsResponse),
    "/healthz": ("healthz", "Whether the service is up", None, Health),
}

# Every error a POST can get, and what each means; a GET gets only the last two.
_POST_ERRORS = {
    400: (
        "The body is not a JSON object (or not UTF-8, nested too deeply to read, or holding a "
        "number too long to read), or the request is not valid HTTP/1.1."
    ),
    408: "The body did not arrive in time.",
    413: "The body is over the size limit.",
    415: "The body was not sent as application/json.",
    422: (
        "The filter does not compile (`problems` says what and where), or a field of the body "
        "is missing, unknown, or of the wrong type or value (the message says its range)."
    ),
    503: (
        "The request took longer than its time limit and was given up (its work stopped), or "
        "came while the service stops, or past its limit of open connections."
    ),
}
_ANY_ERRORS = {
    421: (
        "The Host header names a host the service does not answer to, or there is none "
        "(against DNS rebinding)."
    ),
    500: "A fault of the service, logged.",
}


# The query parameters of the GET operations, by path.
PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "/fields": [
        {
            "name": "endpoint",
            "in": "query",
            "required": False,
            "description": ENDPOINT_DESCRIPTION,
            "schema": {"type": "string", "enum": list(ENDPOINTS)},
        }
    ],
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(
    path: str,
    operation_id: str,
    summary: str,
    request: type[BaseModel] | None,
    answer: type[BaseModel],
) -> dict[str, Any]:
    errors = {**_ANY_ERRORS, **(_POST_ERRORS if request is not None else {})}
    if request is None and PARAMETERS.get(path):
        errors[422] = "A query parameter is not one of its values (the message says them)."
    responses: dict[str, Any] = {
        "200": {"description": answer.__doc__ or "", "content": _json(_ref(answer.__name__))}
    }
    for status in sorted(errors):
        responses[str(status)] = {"description": errors[status], "content": _json(_ref("Error"))}
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    parameters = PARAMETERS.get(path)
    if parameters:
        operation["parameters"] = parameters
    if request is not None:
        operation["requestBody"] = {
            "required": True,
            "description": request.__doc__ or "",
            "content": _json(_ref(request.__name__)),
        }
    operation["responses"] = responses
    return {"post" if request is not None else "get": operation}


@cache
def _document_text(version: str) -> str:
    models: list[type[BaseModel]] = [Error]
    for _, _, request, answer in OPERATIONS.values():
        models += [answer] if request is None else [request, answer]
    _, definitions = models_json_schema(
        [(m, "validation") for m in models],
        by_alias=True,
        ref_template="#/components/schemas/{model}",
        schema_generator=_Schemas,
    )
    paths: dict[str, Any] = {path: _operation(path, *row) for path, row in OPERATIONS.items()}
    paths["/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {
                "200": {
                    "description": "The service's OpenAPI document.",
                    "content": _json({"type": "object"}),
                }
            },
        }
    }
    paths["/"] = {
        "get": {
            "operationId": "playground",
            "summary": "The playground page",
            "responses": {
                "200": {
                    "description": "A page to try filters in.",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
        }
    }
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "helicone-filter",
            "version": version,
            "description": (
                "Filter text compiled into Helicone's FilterNode JSON, and the tools of a "
                "filter builder: formatting, checking, completion, diagnostics, SQL and "
                "Helicone's request body. Offsets are given in code points and, as `*_utf16`, "
                "in UTF-16 code units. Every error is an `Error` body."
            ),
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(definitions["$defs"].items()))},
    }
    return json.dumps(document, ensure_ascii=False)


def openapi_document(version: str) -> dict[str, Any]:
    """The service's OpenAPI 3.1 document, its schemas made from the models of this module.

    Args:
        version: the package's version, for `info.version`.

    Returns:
        A new copy of the document as plain JSON data.

    Example:
        >>> doc = openapi_document("0.1.0")
        >>> doc["paths"]["/compile"]["post"]["responses"]["200"]["content"]["application/json"]
        {'schema': {'$ref': '#/components/schemas/CompileResponse'}}
    """
    document: dict[str, Any] = json.loads(_document_text(version))
    return document
