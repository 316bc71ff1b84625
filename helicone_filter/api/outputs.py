"""A filter as text or as FilterNode JSON, read once, handed to one backend: `to_text` (the
canonical text), `simplify`, `matches` (one row), `to_clickhouse` (SQL), `query_body` (the
request body of Helicone's user-metrics or requests query) and `count_body` (the body of its
request count).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from helicone_filter.api.filter_nodes import validate
from helicone_filter.api.reading import checked_endpoint, lower_text, read_filter
from helicone_filter.api.text import compile as compile_filter
from helicone_filter.backends.analysis import simplified
from helicone_filter.backends.canonical_text import filter_text
from helicone_filter.backends.clickhouse import Params, Target, check_target, column_names, sql_of
from helicone_filter.backends.helicone_json import to_json
from helicone_filter.backends.request_body import (
    DEFAULT_LIMIT,
    TimeFilter,
    body_of,
    count_body_of,
)
from helicone_filter.backends.row_matching import Row, checked_row, filter_matches
from helicone_filter.errors import FilterArgumentError, FilterTypeError
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT
from helicone_filter.facts.query_options import options_of
from helicone_filter.frontends.checker import SPLITTABLE, normalized_ir
from helicone_filter.frontends.syntax_tree import Node
from helicone_filter.frontends.tree_text import tree_text

if TYPE_CHECKING:
    from helicone_filter.backends.node_types import FilterNode


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
    checked_endpoint(endpoint)
    if isinstance(obj, Node):
        return tree_text(obj)
    return filter_text(normalized_ir(obj, endpoint=endpoint))


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
    if isinstance(obj, str):
        return filter_text(simplified(lower_text(obj, now=now, endpoint=endpoint)))
    return to_json(simplified(normalized_ir(obj, frozenset(), checked_endpoint(endpoint))))


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
    node = normalized_ir(obj, SPLITTABLE, checked_endpoint(endpoint))
    return filter_matches(node, checked_row(row))


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
    checked_endpoint(endpoint)
    if table_map is not None and not isinstance(table_map, Mapping):
        raise FilterTypeError.because(
            f"table_map must be a mapping of names, not {type(table_map).__name__}",
            'e.g. table_map={"request_response_rmt": "requests"}',
        )
    try:
        check_target(target)
        column_names(table_map, target)
    except (ValueError, TypeError) as e:
        raise FilterArgumentError.because(str(e)) from None
    node = read_filter(filter, now=now, endpoint=endpoint)
    return sql_of(node, table_map=table_map, target=target)


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
    options = options_of(locals(), None)  # every option, by its rows of QUERY_OPTIONS
    now = _whole_seconds(now)
    node = _node(filter, now, endpoint)
    return body_of(node, now=now, endpoint=endpoint, **options)


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
    now = _whole_seconds(now)
    return count_body_of(_node(filter, now, "requests"), now=now, since=since, until=until)


def _whole_seconds(now: datetime | None) -> datetime:
    """`now`, or the current time in whole seconds (whole unix seconds in the window)."""
    return datetime.now(UTC).replace(microsecond=0) if now is None else now


def _node(filter: Mapping[str, Any] | str, now: datetime, endpoint: str) -> Any:  # noqa: A002
    """The FilterNode of filter text (compiled) or of a dict (validated), for the endpoint."""
    if isinstance(filter, str):
        return compile_filter(filter, now=now, endpoint=endpoint)
    return validate(filter, endpoint=endpoint)
