"""The options of the user-metrics query's request body, said once.

`query_body` and the client take them by these names, the command line makes its flags of
them, the service its request fields and their descriptions; `backends/request_body.py`
writes them into Helicone's body. Plain data, cheap to import (the command line builds its
`query` flags from it on every run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helicone_filter.defaults import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, MAX_TZ_OFFSET_MINUTES
from helicone_filter.facts.schema import SORT_KEYS
from helicone_filter.value_class import Record


class QueryOption(Record):
    """One option of the request body, as every face takes it.

    `name` is its keyword (`query_body`, `query_user_metrics`, the service's field, the
    command line's dest); `key` its key in Helicone's body; `flag` and `metavar` its
    command-line flag ("" for none: given to `query_body` and the client only); `help` the
    flag's help; `description` the service field's (in the OpenAPI document); `kind` what it
    holds ("whole": a whole number from `low` to `high`, "sort", "time", "window");
    `default` what an absent option is; `what` how a bad flag value is named ("... is not
    {what}: give ..."), whose range the flag checks up to `high` only when `flag_high` (past it,
    `body_of` says why in its own words).
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
    flag_high: bool = False
    why: str = ""  # for a whole number, why its range is what it is


_TIME = "ISO 8601, now - 7d, 7d (ago), or unix seconds"

# The options of POST /v1/user/metrics/query, said once: `query_body` and the client take them
# (by these names), the command line makes its flags of them, the service its fields.
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
        "since",
        "timeFilter",
        "--since",
        "TIME",
        f"start of the time window: {_TIME}",
        "The window's start: ISO 8601, `now`, `now - 7d`, `7d` (ago) or unix seconds.",
        "time",
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
        flag_high=True,
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
QUERY_OPTION = {option.name: option for option in QUERY_OPTIONS}


def options_of(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The query options among a function's `arguments` (its `locals()`), by the table: how
    `query_body` and the client, whose typed signatures name each option, forward them."""
    return {option.name: arguments[option.name] for option in QUERY_OPTIONS}
