"""Compile human-readable filter text into Helicone's filter JSON, with errors that point.

>>> import helicone_filter
>>> helicone_filter.compile("user_cost > 5")
{'users_view': {'user_cost': {'gt': 5}}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from helicone_filter.api import check_text, compile, compile_with_spans  # noqa: A004 - the API's verb
from helicone_filter.api.reading import checked_endpoint
from helicone_filter.api.text import build_chain, parse
from helicone_filter.defaults import DEFAULT_LIMIT
from helicone_filter.errors import (
    FilterArgumentError,
    FilterError,
    FilterSyntaxError,
    FilterTypeError,
    FilterValidationError,
    Fix,
    Problem,
    RowError,
)
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT
from helicone_filter.frontends.syntax_tree import (
    All,
    And,
    Comparison,
    FieldRef,
    Group,
    Node,
    Not,
    Or,
    Value,
)

__version__ = "0.2.0"

__all__ = [
    "All",
    "And",
    "Comparison",
    "Completion",
    "Diagnostic",
    "FieldRef",
    "FilterArgumentError",
    "FilterBranch",
    "FilterError",
    "FilterLeaf",
    "FilterNode",
    "FilterSyntaxError",
    "FilterTypeError",
    "FilterValidationError",
    "Fix",
    "Group",
    "LocalTable",
    "Node",
    "Not",
    "Or",
    "Problem",
    "RowError",
    "Value",
    "__version__",
    "build_chain",
    "check",
    "check_text",
    "compile",
    "compile_with_spans",
    "complete",
    "count_body",
    "diagnose",
    "json_schema",
    "matches",
    "normalize",
    "parse",
    "query_body",
    "simplify",
    "to_clickhouse",
    "to_text",
    "validate",
]


if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from helicone_filter.api.local_table import LocalTable
    from helicone_filter.backends.clickhouse import Params, Target
    from helicone_filter.backends.helicone_json import JSON, Nesting
    from helicone_filter.backends.node_types import FilterBranch, FilterLeaf, FilterNode
    from helicone_filter.backends.request_body import TimeFilter
    from helicone_filter.backends.row_matching import Row
    from helicone_filter.diagnostics import Diagnostic
    from helicone_filter.frontends.completion import Completion

# The JSON side and the other backends are imported on first use, so that compiling (and a
# one-shot command line call) loads only the compiler. The functions below stand in for the
# ways in of `api/` until then: each has the signature and docstring of the function it calls
# (tests/language/test_api.py holds them equal), so that help(), dir(), an editor and a type
# checker show them as they are.


def complete(
    text: str,
    cursor: int | None = None,
    *,
    map_keys: Mapping[str, Iterable[str]] | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
) -> list[Completion]:
    """What may stand at `cursor` (default: the end) in `text`, best first; nothing for a
    `text` that is not a str (an editor's half-made state).

    Args:
        text: the filter as typed so far.
        cursor: an offset in code points, clamped to the text.
        map_keys: known keys of the map columns, e.g. `{"properties": ["environment"]}`,
            offered after `properties.`.
        endpoint: the endpoint of Helicone whose fields are offered ("user-metrics" or
            "requests").

    Raises:
        FilterArgumentError: an unknown endpoint (a ValueError).
        FilterTypeError: a `cursor`, `map_keys` or `endpoint` of the wrong type.

    Example:
        >>> [c.label for c in complete("cached ")][:3]
        ['=', '!=', 'and']
    """
    from helicone_filter.api.diagnosis import complete as loaded

    return loaded(text, cursor, map_keys=map_keys, endpoint=endpoint)


def diagnose(
    text: str,
    *,
    now: datetime | None = None,
    analyze: bool = True,
    endpoint: str = DEFAULT_ENDPOINT,
) -> list[Diagnostic]:
    """Every problem of `text` (errors and warnings) with ranges and fix-its, by position;
    with `analyze` False, without the analysis's warnings (analysis.py); `endpoint` is the
    endpoint of Helicone the text is for (ValueError for an unknown one).

    Example:
        >>> d = diagnose('modle = "x"')[0]
        >>> (d.code, d.start, d.end, d.fixes[0].replacement)
        ('unknown-field', 0, 5, 'model')
    """
    from helicone_filter.api.diagnosis import diagnose as loaded

    return loaded(text, now=now, analyze=analyze, endpoint=endpoint)


def check(obj: Any, *, analyze: bool = True, endpoint: str = DEFAULT_ENDPOINT) -> list[Problem]:
    """Every problem with a FilterNode from elsewhere, in document order.

    Args:
        obj: any JSON value (as `json.loads` returns it).
        analyze: when the filter has no error, add the analysis's warnings (analysis.py:
            conditions that never match together, always match, or say something twice).
        endpoint: the endpoint of Helicone the filter is for: "user-metrics" (its
            UserFilterNode) or "requests" (RequestFilterNode).

    Returns:
        The problems, each with a `severity` ("error" or "warning"), a stable `code`, a
        message, a hint and a JSON `path` such as `$.left.users_view.user_cost.gt`. Offsets
        are 0 and line and column None: JSON problems have a path instead. A string other
        than "all" is no FilterNode: its problem's hint names `check_text`, which checks
        filter text. Never raises for a filter (FilterArgumentError for an unknown endpoint).

    Example:
        >>> [(p.severity, p.code) for p in check({"users_view": {"user_cost": {"gt": "5"}}})]
        [('warning', 'converted-value')]
    """
    from helicone_filter.api.filter_nodes import check as loaded

    return loaded(obj, analyze=analyze, endpoint=endpoint)


def normalize(obj: Any, *, nesting: Nesting = "balanced", endpoint: str = DEFAULT_ENDPOINT) -> JSON:
    """The canonical form of a valid FilterNode: the shape the compiler gives its text.

    Leaves with several tables, columns, keys or operators become and-chains of one condition
    each (what their author meant; Helicone itself keeps only the first); chains are flattened
    and rebuilt balanced (or right-nested), so a tree too deep for Helicone becomes one it
    runs; `all` and `{}` leave and-chains and swallow or-chains. Each value becomes the one
    Helicone runs with where that differs from what is written (`check` warns): strings its
    validator converts (`"5"` to 5, `"TRUE"` to true), timestamps in the form
    `YYYY-MM-DDTHH:MM:SS.sssZ`, integers past 2^53 as JavaScript rounds them, and a whole
    bound past the 32-bit integer Helicone binds as the one it wraps to.

    Raises:
        FilterValidationError: `obj` has errors other than leaves with several conditions or
            a tree too deep for Helicone (or the right-nested result would be too deep).

    Example:
        >>> normalize({"users_view": {"user_cost": {"gt": 5, "lt": 10}}})["operator"]
        'and'
    """
    from helicone_filter.api.filter_nodes import normalize as loaded

    return loaded(obj, nesting=nesting, endpoint=endpoint)


def validate(obj: Any, *, endpoint: str = DEFAULT_ENDPOINT) -> Any:
    """`obj` itself when `check` finds no error (warnings are fine).

    Raises:
        FilterValidationError: with every problem, warnings included.

    Example:
        >>> validate("all")
        'all'
    """
    from helicone_filter.api.filter_nodes import validate as loaded

    return loaded(obj, endpoint=endpoint)


def count_body(
    filter: FilterNode | Mapping[str, Any] | str,  # noqa: A002 - the body's own name for it
    *,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The body of POST /v1/request/count/query: the filter, compiled for the request
    endpoints, with the window's `request_created_at` leaves as `query_body` writes them.

    Helicone's count takes the same body as query-clickhouse but ignores its page, its sort
    and `isScored`, so none is written (and, as Helicone runs it today, it answers 0 for
    every filter: see docs/api.md).

    Raises:
        FilterError: the filter is not valid. QueryError: the window is not.

    Example:
        >>> count_body('model = "gpt-4o"')
        {'filter': {'request_response_rmt': {'model': {'equals': 'gpt-4o'}}}}
    """
    from helicone_filter.api.outputs import count_body as loaded

    return loaded(filter, since=since, until=until, now=now)


def matches(obj: Any, row: Row, *, endpoint: str = DEFAULT_ENDPOINT) -> bool:
    """Whether Helicone's SQL selects `row` with the filter `obj`.

    Args:
        obj: a FilterNode ("all", a leaf or a branch), of any depth.
        row: a dict keyed by bare column name (see the module's docstring); for
            session_tag (endpoint "requests"), `session_tags` is the list of the tags of
            the row's session.
        endpoint: the endpoint of Helicone the filter is for ("user-metrics", "requests").

    Raises:
        FilterValidationError: `obj` is not a valid FilterNode (leaves with several
            conditions are fine: only the one Helicone keeps counts).
        RowError: `row` is not a dict, or holds a value its column cannot hold.

    Example:
        >>> matches({"request_response_rmt": {"model": {"contains": "GPT"}}}, {"model": "gpt-4o"})
        True
    """
    from helicone_filter.api.outputs import matches as loaded

    return loaded(obj, row, endpoint=endpoint)


def query_body(
    filter: FilterNode | Mapping[str, Any] | str,  # noqa: A002 - the body's own name for it
    *,
    endpoint: str = DEFAULT_ENDPOINT,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: str | dict[str, Any] | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    tz_offset: int | None = None,
    now: datetime | None = None,
    time_filter: TimeFilter | None = None,
    is_scored: bool | None = None,
) -> dict[str, Any]:
    """The body of the endpoint's query: POST /v1/user/metrics/query (`UserMetricsQueryParams`)
    or, for `endpoint="requests"`, POST /v1/request/query-clickhouse (`RequestQueryParams`).

    Args:
        filter: filter text, compiled for the endpoint (`"all"` is all); or a FilterNode dict,
            validated.
        endpoint: "user-metrics" (default) or "requests".
        limit: rows per page: users 1 to 1,000 (`MAX_LIMIT`: Helicone refuses more);
            requests 0 to 1,000 (Helicone answers HTTP 500 past it; its own default is 10,
            ours 100 for both). offset: rows to skip, 0 to 2^53 - 1 (`MAX_OFFSET`: what a
            JavaScript number holds).
        sort: `"cost:desc"`, a sort dict (SortLeafUsers, SortLeafRequest), or None for
            Helicone's default (users: `last_active desc`; requests: `created_at desc`). For
            users `"none"` is no order; for requests `"random"` a random order and
            `"properties.NAME:desc"` a property's (NAME of letters, digits and _); the keys
            Helicone cannot run are refused (`is_cached`: its query fails; `cache_created_at`,
            `last_active`, `values`: ordered by created_at desc whatever is asked).
        since, until: the time window; a datetime or a string that `parse_time` reads. With
            only `since`, the window ends now. Users: `timeFilter` (with only `until`, it starts
            at the unix epoch). Requests: `request_created_at` `gte`/`lte` leaves ANDed to the
            filter (with only `until`, no `gte` leaf).
        tz_offset: users only: minutes, -1,440 to 1,440, sent as `timeZoneDifferenceMinutes`
            (Helicone shifts user_first_active and user_last_active comparisons by it).
        now: the moment relative times count back from (default: now).
        time_filter: users only: the window another way: the API's own
            `{"startTimeUnixSeconds": ..., "endTimeUnixSeconds": ...}` or a `(since, until)`
            pair (either may be None); not together with `since`/`until`.
        is_scored: requests only: `isScored`, True for only the requests with scores, False
            for only those without; None (default) for both.

    Raises:
        FilterError: the filter is not valid. QueryError: another argument is not (an option
        of another endpoint, given, too). ValueError: an unknown endpoint.

    Example:
        >>> query_body("user_cost > 5", limit=10, sort="cost:desc")
        {'filter': {'users_view': {'user_cost': {'gt': 5}}}, 'offset': 0, 'limit': 10, \
'sort': {'cost': 'desc'}}
        >>> query_body("status = 200", endpoint="requests", sort="latency:desc", is_scored=True)
        {'filter': {'request_response_rmt': {'status': {'equals': 200}}}, 'offset': 0, \
'limit': 100, 'sort': {'latency': 'desc'}, 'isScored': True}
    """
    from helicone_filter.api.outputs import query_body as loaded

    return loaded(
        filter,
        endpoint=endpoint,
        limit=limit,
        offset=offset,
        sort=sort,
        since=since,
        until=until,
        tz_offset=tz_offset,
        now=now,
        time_filter=time_filter,
        is_scored=is_scored,
    )


def simplify(obj: Any, *, now: datetime | None = None, endpoint: str = DEFAULT_ENDPOINT) -> Any:
    """The equivalent filter with its duplicate and redundant conditions removed: for filter
    text, its canonical text (where runs of `=` on one field become `in`); for a FilterNode,
    the FilterNode (in the canonical shape `normalize` gives).

    A FilterNode that `check` finds an error in is refused, the leaves with several conditions
    among them: Helicone keeps one of their conditions, so no simpler filter both says what
    was written and selects what Helicone selects.

    Raises:
        FilterSyntaxError, FilterValidationError: the filter is not valid.

    Example:
        >>> simplify("cost > 1 and cost > 2 and model = 'a' and model = 'a'")
        'cost > 2 and model = "a"'
    """
    from helicone_filter.api.outputs import simplify as loaded

    return loaded(obj, now=now, endpoint=endpoint)


def to_clickhouse(
    filter: Any,  # noqa: A002 - the issue's and the request body's name for it
    *,
    table_map: Mapping[str, str] | None = None,
    now: datetime | None = None,
    target: Target = "rows",
    endpoint: str = DEFAULT_ENDPOINT,
) -> tuple[str, Params]:
    """A filter as a ClickHouse WHERE expression and the values of its parameters.

    Args:
        filter: filter text (compiled with `now`), or a FilterNode ("all", a leaf or a
            branch, of any depth; JSON already loaded).
        table_map: other names for the tables and columns (see `column_names`).
        now: the moment `now` means in filter text; the current time if omitted.
        target: "rows" for a table laid out as `create_table` makes it; "helicone-where" /
            "helicone-having" for Helicone's own table and the two halves of its user-metrics
            query (see the module's docstring); for the request endpoints,
            "helicone-where" is the whole of their WHERE.
        endpoint: the endpoint of Helicone the filter is for ("user-metrics", "requests").

    Returns:
        `(sql, params)`: `sql` names every value as `{p0:String}`, `{p1:Int64}`...; `params`
        maps `p0`, `p1`... to Python values (str, int, float, bool; a timestamp as
        `YYYY-MM-DD hh:mm:ss` text in UTC, which its `DateTime('UTC')` reads). Pass both
        to a client that binds ClickHouse query parameters (clickhouse-connect:
        `client.query(f"SELECT ... WHERE {sql}", parameters=params)`), or use `param_text`
        for ClickHouse's own text form of each value.

    Raises:
        FilterSyntaxError, FilterValidationError: the filter is not valid.
        FilterArgumentError: a bad `table_map`, `now`, `target` or `endpoint` (a ValueError;
            FilterTypeError, also a TypeError, when of the wrong type).

    Example:
        >>> to_clickhouse('model contains "gpt" and status = 200')
        ("`model` ILIKE concat('%', {p0:String}, '%') AND `status` = {p1:Int64}", \
{'p0': 'gpt', 'p1': 200})
    """
    from helicone_filter.api.outputs import to_clickhouse as loaded

    return loaded(filter, table_map=table_map, now=now, target=target, endpoint=endpoint)


def to_text(obj: Any, *, endpoint: str = DEFAULT_ENDPOINT) -> str:
    """The canonical text of a FilterNode (JSON) or of a parsed filter (AST node).

    For JSON, the text compiles back to `normalize(obj)`; for the output of `compile` (with the
    default nesting), to the very same JSON. For an AST, the text keeps what was written
    (`not`, relative times, qualified names become bare) in canonical spelling.

    Raises:
        FilterValidationError: the JSON is not a valid FilterNode.

    Example:
        >>> to_text({"users_view": {"user_cost": {"gt": 5}}})
        'user_cost > 5'
    """
    from helicone_filter.api.outputs import to_text as loaded

    return loaded(obj, endpoint=endpoint)


# The classes of the JSON side and of editors, and the types of the FilterNode, are loaded on
# first use; `dir()` (hence tab
# completion and `help()`) lists them with the rest.
_LAZY = {
    "FilterBranch": "backends.node_types",
    "FilterLeaf": "backends.node_types",
    "FilterNode": "backends.node_types",
    "Completion": "frontends.completion",
    "Diagnostic": "diagnostics",
    "LocalTable": "api.local_table",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'helicone_filter' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def json_schema(
    which: Literal["query", "filter"] = "query", *, endpoint: str = "user-metrics"
) -> dict[str, Any]:
    """The JSON Schema of the request body of an endpoint of Helicone (POST
    /v1/user/metrics/query by default), or of its FilterNode.

    Args:
        which: "query" for the body (`UserMetricsQueryParams`, `RequestQueryParams`),
            "filter" for the FilterNode union (`UserFilterNode`, `RequestFilterNode`).
        endpoint: "user-metrics" or "requests" (FilterArgumentError, a ValueError, for
            another).

    Example:
        >>> json_schema("filter")["oneOf"][2]
        {'const': 'all', 'type': 'string'}
    """
    checked_endpoint(endpoint)
    if which not in ("query", "filter"):
        raise FilterArgumentError.because(
            f"which must be 'query' or 'filter', not {which!r}"[:200],
            'write json_schema("query") or json_schema("filter")',
        )
    # pydantic only when asked for
    from helicone_filter.frontends.models import json_schema as schema

    return schema(which, endpoint=endpoint)
