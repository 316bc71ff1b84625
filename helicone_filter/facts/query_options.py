"""The options of the request bodies of Helicone's queries, said once, a row per option and
endpoint.

`query_body` and the client take them by these names, the command line makes its flags of
them, the service its request fields and their descriptions; `backends/request_body.py`
writes them into Helicone's body. An option of two endpoints whose range or words differ has a
row for each (`limit`: 1 to 1,000 users, 0 to 1,000 requests); a new endpoint ("sessions") is
its rows here, tagged with its name. Plain data, cheap to import (the command line builds its
`query` flags from it on every run).

The request endpoints' sort keys are here too (`REQUEST_SORTS`): the keys of Helicone's
`SortLeafRequest`, what each orders by, and the ones refused with why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from helicone_filter.defaults import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, MAX_TZ_OFFSET_MINUTES
from helicone_filter.facts.endpoints import ENDPOINT_NAMES, EndpointName
from helicone_filter.facts.schema import SORT_KEYS
from helicone_filter.value_class import Record

USER_METRICS: Final[tuple[EndpointName, ...]] = ("user-metrics",)
REQUESTS: Final[tuple[EndpointName, ...]] = ("requests",)


class QueryOption(Record):
    """One option of a request body, as every face takes it.

    `name` is its keyword (`query_body`, `query_user_metrics`, the service's field, the
    command line's dest); `key` its key in Helicone's body ("filter" for the request
    endpoints' window, written as leaves of the filter); `flag` and `metavar` its command-line
    flag ("" for none: given to `query_body` and the client only); `help` the flag's help;
    `description` the service field's (in the OpenAPI document); `kind` what it holds
    ("whole": a whole number from `low` to `high`, "sort", "time", "window", "bool");
    `default` what an absent option is; `what` how a bad flag value is named ("... is not
    {what}: give ...", with the range and `why`); `endpoints` the endpoints whose body takes
    it.
    """

    name: str
    key: str
    flag: str
    metavar: str | None
    help: str
    description: str
    kind: str
    low: int | None = None
    high: int | None = None
    default: Any = None
    what: str = ""
    why: str = ""  # for a whole number, why its range is what it is
    endpoints: tuple[EndpointName, ...] = USER_METRICS


class SortKey(Record):
    """A key of the request endpoints' sort (`SortLeafRequest`): what Helicone orders by, or,
    for a key it cannot run as asked, why it is refused and what to write instead."""

    key: str
    orders_by: str
    refused: str = ""


_TIME = "ISO 8601, now - 7d, 7d (ago), or unix seconds"

# The keys of SortLeafRequest, as Helicone's ClickHouse query runs them (its order expressions
# for query-clickhouse; count/query ignores the sort). Every key but `random` and `created_at`
# breaks ties by request_created_at desc.
REQUEST_SORTS: Final[tuple[SortKey, ...]] = (
    SortKey("created_at", "request_created_at (Helicone's default: created_at desc)"),
    SortKey("latency", "latency, requests without one last"),
    SortKey("time_to_first_token", "time_to_first_token, requests without one last"),
    SortKey("total_tokens", "prompt_tokens + completion_tokens"),
    SortKey("completion_tokens", "completion_tokens, requests without them last"),
    SortKey("prompt_tokens", "prompt_tokens, requests without them last"),
    SortKey("cost", "cost, requests without one last"),
    SortKey("user_id", "user_id"),
    SortKey("body_model", "model"),
    SortKey("request_prompt", "the request body's `prompt` (text requests; chat ones sort as '')"),
    SortKey("response_text", "the response body's first choice's `text`"),
    SortKey("random", "a random order (it takes no direction)"),
    SortKey("properties", "the property NAME, written properties.NAME (letters, digits and _)"),
    SortKey(
        "is_cached",
        "",
        "Helicone orders by a column its table does not have: the query fails and Helicone "
        "answers an empty page",
    ),
    *(
        SortKey(
            key,
            "",
            "Helicone ignores it on the request endpoints and orders by request_created_at "
            "desc, whatever the direction: write created_at:desc",
        )
        for key in ("cache_created_at", "last_active", "values")
    ),
)
REQUEST_SORT: Final[Mapping[str, SortKey]] = {row.key: row for row in REQUEST_SORTS}
RUN_REQUEST_SORTS: Final[tuple[str, ...]] = tuple(r.key for r in REQUEST_SORTS if not r.refused)
PROPERTY_SORT_NAME: Final = r"[A-Za-z0-9_]+"  # a property name Helicone sorts by; else HTTP 500

_SORTS_WRITTEN = ", ".join(
    "properties.NAME" if key == "properties" else key for key in RUN_REQUEST_SORTS
)

# The options of each endpoint's query, said once: `query_body` and the client take them (by
# these names), the command line makes its flags of them, the service its fields. The
# user-metrics query is POST /v1/user/metrics/query (UserMetricsQueryParams); the requests one
# POST /v1/request/query-clickhouse (RequestQueryParams), whose isCached, includeInputs and
# isPartOfExperiment Helicone ignores and are not offered.
QUERY_OPTIONS: tuple[QueryOption, ...] = (
    QueryOption(
        "limit",
        "limit",
        "--limit",
        None,
        f"users per page (default {DEFAULT_LIMIT})",
        f"Users per page, at most {MAX_LIMIT:,} (Helicone answers 400 past that); default "
        f"{DEFAULT_LIMIT}.",
        "whole",
        1,
        MAX_LIMIT,
        DEFAULT_LIMIT,
        "a number of users per page",
        why=f"Helicone answers at most {MAX_LIMIT:,} users a page",
    ),
    QueryOption(
        "limit",
        "limit",
        "--limit",
        None,
        f"requests per page, 0 to {MAX_LIMIT:,} (default {DEFAULT_LIMIT}; Helicone's own is 10)",
        f'Requests per page, 0 to {MAX_LIMIT:,} (Helicone answers HTTP 500 "invalid limit" '
        f"past that); default {DEFAULT_LIMIT} (Helicone's own is 10).",
        "whole",
        0,
        MAX_LIMIT,
        DEFAULT_LIMIT,
        "a number of requests per page",
        why=f'Helicone answers HTTP 500 "invalid limit" past {MAX_LIMIT:,}',
        endpoints=REQUESTS,
    ),
    QueryOption(
        "offset",
        "offset",
        "--offset",
        None,
        "users to skip (default 0)",
        "Users to skip (at most 2^53 - 1, the most a JavaScript number holds exactly); default 0.",
        "whole",
        0,
        MAX_OFFSET,
        0,
        "a number of users to skip",
        why="the most a JavaScript number holds exactly",
    ),
    QueryOption(
        "offset",
        "offset",
        "--offset",
        None,
        "requests to skip (default 0)",
        "Requests to skip (at most 2^53 - 1); default 0.",
        "whole",
        0,
        MAX_OFFSET,
        0,
        "a number of requests to skip",
        why="the most a JavaScript number holds exactly",
        endpoints=REQUESTS,
    ),
    QueryOption(
        "sort",
        "sort",
        "--sort",
        "KEY[:asc|desc]",
        "order of the users (a bare KEY is ascending; 'none' for no order; default: "
        "Helicone's, last_active desc); KEY is one of " + ", ".join(SORT_KEYS),
        "`FIELD`, `FIELD:asc`, `FIELD:desc`, `none` (no order), or a SortLeafUsers object; "
        "default: Helicone's own (`last_active desc`).",
        "sort",
    ),
    QueryOption(
        "sort",
        "sort",
        "--sort",
        "KEY[:asc|desc]",
        "order of the requests (a bare KEY is ascending; default: Helicone's, created_at "
        f"desc); KEY is one of {_SORTS_WRITTEN}",
        "`KEY`, `KEY:asc`, `KEY:desc` (KEY one of "
        f"{_SORTS_WRITTEN}), or a SortLeafRequest object; default: Helicone's own "
        "(`created_at desc`). `is_cached` is refused (Helicone's query fails: an empty page), "
        "and so are `cache_created_at`, `last_active` and `values` (Helicone orders by "
        "created_at desc instead).",
        "sort",
        endpoints=REQUESTS,
    ),
    QueryOption(
        "since",
        "timeFilter",
        "--since",
        "TIME",
        f"start of the time window: {_TIME}",
        "The window's start: ISO 8601, `now`, `now - 7d`, `7d` (ago) or unix seconds.",
        "time",
    ),
    QueryOption(
        "since",
        "filter",
        "--since",
        "TIME",
        f"start of the time window, a request_created_at >= leaf ANDed to the filter: {_TIME}",
        "The window's start, written as `since` is: a `request_created_at` `gte` leaf ANDed "
        "to the filter (the request endpoints have no timeFilter).",
        "time",
        endpoints=REQUESTS,
    ),
    QueryOption(
        "until",
        "timeFilter",
        "--until",
        "TIME",
        "end of the time window (default with --since: now)",
        "The window's end, written as `since` is; default: now when `since` is given.",
        "time",
    ),
    QueryOption(
        "until",
        "filter",
        "--until",
        "TIME",
        "end of the time window, a request_created_at <= leaf (default with --since: now)",
        "The window's end: a `request_created_at` `lte` leaf ANDed to the filter; default: now "
        "when `since` is given.",
        "time",
        endpoints=REQUESTS,
    ),
    QueryOption(
        "tz_offset",
        "timeZoneDifferenceMinutes",
        "--tz-offset",
        "MINUTES",
        "timeZoneDifferenceMinutes: Helicone shifts user_first_active and user_last_active "
        "comparisons by it",
        "Minutes, sent as `timeZoneDifferenceMinutes`: a day at most, either way.",
        "whole",
        -MAX_TZ_OFFSET_MINUTES,
        MAX_TZ_OFFSET_MINUTES,
        None,
        "a time-zone offset in minutes",
    ),
    QueryOption(
        "is_scored",
        "isScored",
        "--is-scored",
        None,
        "isScored: only the requests with scores (--no-is-scored: only those without); "
        "default: both",
        "`isScored`: true for only the requests with scores, false for only those without; "
        "default: both. The count endpoint ignores it.",
        "bool",
        endpoints=REQUESTS,
    ),
    QueryOption(
        "time_filter",
        "timeFilter",
        "",
        None,
        "",
        "",
        "window",
    ),
)
OPTIONS_BY_ENDPOINT: Final[Mapping[EndpointName, Mapping[str, QueryOption]]] = {
    name: {option.name: option for option in QUERY_OPTIONS if name in option.endpoints}
    for name in ENDPOINT_NAMES
}
"""Each endpoint's options by name."""
QUERY_OPTION: Final[Mapping[str, QueryOption]] = OPTIONS_BY_ENDPOINT["user-metrics"]
"""The user-metrics query's options by name."""

OPTION_NAMES: Final[tuple[str, ...]] = tuple(dict.fromkeys(o.name for o in QUERY_OPTIONS))
"""The name of every option, of any endpoint, in the table's order."""


def rows_named(name: str) -> tuple[QueryOption, ...]:
    """The rows of the option `name`, one per endpoint (or per group of endpoints) taking it."""
    return tuple(option for option in QUERY_OPTIONS if option.name == name)


def options_of(
    arguments: Mapping[str, Any], endpoint: EndpointName | None = "user-metrics"
) -> dict[str, Any]:
    """The query options among a function's `arguments` (its `locals()`), by the table: how
    `query_body` (every option: `endpoint=None`) and the client (an endpoint's), whose typed
    signatures name each option, forward them."""
    names = OPTION_NAMES if endpoint is None else tuple(OPTIONS_BY_ENDPOINT[endpoint])
    return {name: arguments[name] for name in names}
