"""The whole request body of Helicone's queries: POST /v1/user/metrics/query
(`UserMetricsQueryParams`), and POST /v1/request/query-clickhouse and /v1/request/count/query
(`RequestQueryParams`).

A filter (text, or FilterNode JSON that is validated), a page (`limit`, `offset`), an order
(`sort`) and a time window: for the users, `timeFilter` (unix seconds) and the time-zone shift
(`timeZoneDifferenceMinutes`); for the requests, `request_created_at` leaves ANDed to the
filter (they have no timeFilter) and `isScored`. Each endpoint's options are its rows of
`facts/query_options.py`; a writer per endpoint (`_WRITERS`) fills in the rest. Times are given
as ISO 8601 (`2025-01-31`, `2025-01-31T12:00:00Z`), `now`, `now - 7d`, a bare duration (`7d`:
seven days ago) or unix seconds (`1738281600`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from helicone_filter.backends.helicone_json import build_chain

# The defaults and ranges of the options, said once in defaults.py, under their names here.
from helicone_filter.defaults import DEFAULT_LIMIT as DEFAULT_LIMIT
from helicone_filter.defaults import MAX_LIMIT as MAX_LIMIT
from helicone_filter.defaults import MAX_OFFSET as MAX_OFFSET
from helicone_filter.defaults import MAX_TZ_OFFSET_MINUTES as MAX_TZ_OFFSET_MINUTES
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT, REQUEST_RESPONSE_RMT, EndpointName
from helicone_filter.facts.endpoints import endpoint as endpoint_row
from helicone_filter.facts.query_options import (
    OPTIONS_BY_ENDPOINT,
    PROPERTY_SORT_NAME,
    REQUEST_SORT,
    RUN_REQUEST_SORTS,
    QueryOption,
)
from helicone_filter.facts.schema import SORT_DIRECTIONS, SORT_KEYS
from helicone_filter.facts.timestamps import (
    DURATION_SECONDS,
    format_timestamp,
    parse_timestamp,
    relative,
)

_RELATIVE = re.compile(r"(?i:now)(?:\s*-\s*([0-9]+[smhdw]))?|([0-9]+[smhdw])")
_UNIX = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


# The window as the API writes it (unix seconds), or a (since, until) pair.
TimeFilter = Mapping[str, float] | tuple[str | datetime | None, str | datetime | None]


class QueryError(ValueError):
    """An option of the request body that cannot be used, with what to write instead."""


def _shown(value: object, most: int = 40) -> str:
    """`repr(value)`, cut in the middle past `most` characters (an option of 4,000 digits
    would bury the message)."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's limit of 4,300 digits for writing one
        return f"a number of {len(format(value, 'x')) * math.log10(16):,.0f} digits or so"
    if len(text) <= most:
        return text
    unit = "digits" if isinstance(value, int) else "characters"
    return f"{text[: most // 2]}…{text[-8:]} ({len(text):,} {unit})"


def parse_time(value: str, now: datetime) -> datetime:
    """The moment `value` names: ISO 8601, `now`, `now - 7d`, `7d` (ago), or unix seconds.

    Example:
        >>> parse_time("now - 1d", datetime(2025, 1, 2, tzinfo=UTC)).isoformat()
        '2025-01-01T00:00:00+00:00'
    """
    text = value.strip()
    m = _RELATIVE.fullmatch(text)
    if m is not None:
        duration = m.group(1) or m.group(2) or ""
        moment = relative(now, duration)
        if moment is None:
            raise QueryError(f"{_shown(value)} falls before the year 1")
        return moment
    if _UNIX.fullmatch(text):
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except (OverflowError, OSError, ValueError):
            raise QueryError(f"{_shown(value)} is out of range for unix seconds") from None
    parsed = parse_timestamp(text)
    if parsed is None:
        units = ", ".join(DURATION_SECONDS)
        raise QueryError(
            f"{_shown(value)} is not a time: write an ISO 8601 date or date-time "
            f"(2025-01-31, 2025-01-31T12:00:00Z), now, now - 7d, 7d (ago; units {units}), "
            "or unix seconds"
        )
    return parsed


def parse_sort(value: str, endpoint: str = DEFAULT_ENDPOINT) -> dict[str, Any]:
    """`FIELD`, `FIELD:asc` or `FIELD:desc` as the endpoint's sort leaf (`SortLeafUsers`,
    `SortLeafRequest`). For the users, `none` is `{}` (no order); for the requests, `random`
    is `{"random": true}` and `properties.NAME` sorts by a property.

    A bare FIELD sorts ascending, as SQL's ORDER BY does.

    Example:
        >>> parse_sort("cost:desc")
        {'cost': 'desc'}
        >>> parse_sort("properties.env", "requests")
        {'properties': {'env': 'asc'}}
    """
    return _SORT_READERS[endpoint_of(endpoint)](value)


def _users_sort(value: str) -> dict[str, Any]:
    """A SortLeafUsers from `KEY[:asc|desc]` or `none`."""
    if value.strip().lower() == "none":
        return {}
    key, direction = _key_and_direction(value)
    if key not in SORT_KEYS:
        raise QueryError(_unknown_sort(key, SORT_KEYS))
    return {key: _direction(key, direction)}


def _requests_sort(value: str) -> dict[str, Any]:
    """A SortLeafRequest from `KEY[:asc|desc]`, `random` or `properties.NAME[:asc|desc]`."""
    if value.strip().lower() == "none":
        raise QueryError(
            "the request endpoints always order the requests (an empty sort is created_at "
            "desc): leave the sort out for Helicone's created_at desc, or give a key"
        )
    key, direction = _key_and_direction(value)
    head, dot, name = key.partition(".")
    if dot and head == "properties":
        return {"properties": {_property_name(name): _direction(key, direction)}}
    if key == "properties":
        raise QueryError("sort by a property as properties.NAME, e.g. properties.environment")
    row = REQUEST_SORT.get(key)
    if row is None:
        raise QueryError(_unknown_sort(key, RUN_REQUEST_SORTS))
    if row.refused:
        raise QueryError(f"cannot sort the requests by {key}: {row.refused}")
    if key == "random":
        if direction:
            raise QueryError(f"random takes no direction, not {_shown(direction)}: write random")
        return {"random": True}
    return {key: _direction(key, direction)}


_SORT_READERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "user-metrics": _users_sort,
    "requests": _requests_sort,
}


def _key_and_direction(value: str) -> tuple[str, str]:
    key, _, direction = value.strip().partition(":")
    return key, direction.lower()


def _direction(key: str, direction: str) -> str:
    """`direction` ("" is asc), checked."""
    direction = direction or "asc"
    if direction not in SORT_DIRECTIONS:
        raise QueryError(f"sort direction {_shown(direction)}: write {key}:asc or {key}:desc")
    return direction


def _property_name(name: str) -> str:
    """A property name Helicone can sort by (it writes it into its SQL, so it allows letters,
    digits and _ only, and answers HTTP 500 for any other)."""
    if not re.fullmatch(PROPERTY_SORT_NAME, name):
        raise QueryError(
            f"cannot sort the requests by the property {_shown(name)}: Helicone sorts only by "
            "names of letters, digits and _, and answers HTTP 500 for any other"
        )
    return name


def _unknown_sort(key: str, keys: tuple[str, ...]) -> str:
    from helicone_filter.errors import closest

    near = closest(key, keys)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return f"cannot sort by {_shown(key)}: {hint}the keys are {', '.join(keys)}"


def _unix(moment: datetime) -> int | float:
    seconds = moment.timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def body_of(
    node: dict[str, Any] | str,
    *,
    now: datetime,
    endpoint: str = DEFAULT_ENDPOINT,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: str | dict[str, Any] | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    tz_offset: int | None = None,
    time_filter: TimeFilter | None = None,
    is_scored: bool | None = None,
) -> dict[str, Any]:
    """The body of the endpoint's query around a FilterNode already compiled or validated
    (`query_body` of the ways in reads the filter, then calls this); the options as
    `query_body` takes them, relative times counted back from `now`. An option the endpoint
    does not take is refused when given (not None).

    Raises:
        QueryError: an option cannot be used.
        ValueError: an unknown endpoint.

    Example:
        >>> body_of("all", now=datetime(2025, 1, 2, tzinfo=UTC), limit=10)
        {'filter': 'all', 'offset': 0, 'limit': 10}
    """
    name = endpoint_of(endpoint)
    given = {
        "limit": limit,
        "offset": offset,
        "sort": sort,
        "since": since,
        "until": until,
        "tz_offset": tz_offset,
        "time_filter": time_filter,
        "is_scored": is_scored,
    }
    options = OPTIONS_BY_ENDPOINT[name]
    for option, value in given.items():
        if option not in options and value is not None:
            raise QueryError(_not_taken(option, name))
    for page in ("limit", "offset"):  # the page, by the endpoint's range (tz_offset: below)
        _check_whole(options[page], given[page])
    taken = {option: value for option, value in given.items() if option in options}
    return _WRITERS[name](node, now, taken)


def endpoint_of(name: str) -> EndpointName:
    """The endpoint named `name`, checked (ValueError names the known ones)."""
    return endpoint_row(name).name


def _not_taken(option: str, name: str) -> str:
    """Why the endpoint `name` refuses the option `option`."""
    takers = [e for e, options in OPTIONS_BY_ENDPOINT.items() if option in options]
    return f"{option} is an option of the {' and '.join(takers)} endpoint, not of {name}"


def _users_body(node: Any, now: datetime, options: dict[str, Any]) -> dict[str, Any]:
    """UserMetricsQueryParams: the page, the window as `timeFilter`, the time-zone shift and
    the sort."""
    body: dict[str, Any] = {"filter": node, "offset": options["offset"], "limit": options["limit"]}
    window = _window_of(options, now)
    if window is not None:
        start, end = window
        body["timeFilter"] = {
            "startTimeUnixSeconds": _unix(start or datetime.fromtimestamp(0, UTC)),
            "endTimeUnixSeconds": _unix(end),
        }
    tz_offset = options["tz_offset"]
    if tz_offset is not None:
        if isinstance(tz_offset, bool) or not isinstance(tz_offset, int):
            raise QueryError(f"the time-zone offset is whole minutes, not {_shown(tz_offset)}")
        if abs(tz_offset) > MAX_TZ_OFFSET_MINUTES:
            raise QueryError(
                f"a time-zone offset of {_shown(tz_offset)} minutes is more than a day: give "
                f"-{MAX_TZ_OFFSET_MINUTES:,} to {MAX_TZ_OFFSET_MINUTES:,}; UTC+2 is 120 or "
                "-120, depending on how your client counts"
            )
        body["timeZoneDifferenceMinutes"] = tz_offset
    sort = options["sort"]
    if sort is not None:
        body["sort"] = _sort_of(sort, "user-metrics")
    return body


def _requests_body(node: Any, now: datetime, options: dict[str, Any]) -> dict[str, Any]:
    """RequestQueryParams: the filter with the window's leaves, the page, the sort and
    isScored (isCached, includeInputs and isPartOfExperiment, which Helicone ignores, never)."""
    body: dict[str, Any] = {
        "filter": _with_window(node, _window_of(options, now)),
        "offset": options["offset"],
        "limit": options["limit"],
    }
    if options["sort"] is not None:
        body["sort"] = _sort_of(options["sort"], "requests")
    is_scored = options["is_scored"]
    if is_scored is not None:
        if not isinstance(is_scored, bool):
            raise QueryError(f"is_scored is true or false, not {_shown(is_scored)}")
        body["isScored"] = is_scored
    return body


_WRITERS: dict[str, Callable[[Any, datetime, dict[str, Any]], dict[str, Any]]] = {
    "user-metrics": _users_body,
    "requests": _requests_body,
}


def count_body_of(
    node: dict[str, Any] | str,
    *,
    now: datetime,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
) -> dict[str, Any]:
    """The body of POST /v1/request/count/query: the filter (with the window's leaves) alone.
    Helicone's count takes the query's body but ignores its page, its sort and isScored, so
    none is written.

    Example:
        >>> count_body_of("all", now=datetime(2025, 1, 2, tzinfo=UTC))
        {'filter': 'all'}
    """
    window = _window_of({"since": since, "until": until}, now)
    return {"filter": _with_window(node, window)}


def _window_of(options: dict[str, Any], now: datetime) -> tuple[datetime | None, datetime] | None:
    """The window `(start, end)` the options give (`since`/`until`, or `time_filter`), or None
    for none; with only `since` the window ends now, with only `until` it has no start."""
    since, until = options["since"], options["until"]
    time_filter = options.get("time_filter")
    if time_filter is not None:
        if since is not None or until is not None:
            raise QueryError("give the window as time_filter or as since/until, not both")
        since, until = _window(time_filter)
    if since is None and until is None:
        return None
    start = _moment(since, now) if since is not None else None
    end = _moment(until, now) if until is not None else now
    if start is not None and start > end:
        raise QueryError(
            f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    return start, end


def _with_window(node: Any, window: tuple[datetime | None, datetime] | None) -> Any:
    """`node` ANDed with a `request_created_at` leaf per end of the window (`gte` its start,
    `lte` its end): the request endpoints' window, which they take in the filter only."""
    if window is None:
        return node
    start, end = window
    ends = [("gte", start), ("lte", end)]
    leaves = [
        {REQUEST_RESPONSE_RMT: {"request_created_at": {op: format_timestamp(moment)}}}
        for op, moment in ends
        if moment is not None
    ]
    return build_chain([*([] if node == "all" else [node]), *leaves], "and")


def _sort_of(sort: Any, name: str) -> dict[str, Any]:
    """The sort leaf of `sort`: text read by `parse_sort`, or a leaf checked."""
    if isinstance(sort, str):
        return parse_sort(sort, name)
    if not isinstance(sort, Mapping):
        raise QueryError(f"sort is KEY[:asc|desc] or a sort object, not {_shown(sort)}")
    return _checked_sort(dict(sort), name)


def _check_whole(option: QueryOption, value: object) -> None:
    """QueryError unless `value` is a whole number in `option`'s range."""
    assert option.low is not None and option.high is not None
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueryError(_out_of_range(option, value))
    if not option.low <= value <= option.high:
        raise QueryError(_out_of_range(option, value))


def _window(time_filter: TimeFilter) -> tuple[str | datetime | None, str | datetime | None]:
    """`time_filter` as (since, until)."""
    if isinstance(time_filter, Mapping):
        keys = ("startTimeUnixSeconds", "endTimeUnixSeconds")
        if set(time_filter) != set(keys):
            given = ", ".join(map(str, time_filter)) or "none"
            raise QueryError(f"time_filter has the keys {', '.join(keys)}, not {given}")
        ends = []
        for key in keys:
            value = time_filter[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise QueryError(f"time_filter's {key} is unix seconds, not {_shown(value)}")
            ends.append(str(value))
        return ends[0], ends[1]
    if isinstance(time_filter, tuple) and len(time_filter) == 2:
        return time_filter
    raise QueryError(
        "time_filter is {'startTimeUnixSeconds': ..., 'endTimeUnixSeconds': ...} or a "
        f"(since, until) pair, not {_shown(time_filter)}"
    )


def _moment(value: str | datetime, now: datetime) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise QueryError("give times as aware datetimes, e.g. with tzinfo=timezone.utc")
        return value
    return parse_time(value, now)


def _checked_sort(sort: dict[str, Any], name: str) -> dict[str, Any]:
    """A sort leaf given as an object, checked as its text would be."""
    if len(sort) > 1:
        raise QueryError("sort by one key only; Helicone uses only the first")
    if not sort:
        parse_sort("none", name)  # no order for the users; refused, with why, for the requests
    for key, direction in sort.items():
        if name == "requests" and key == "random":
            if direction is not True:
                raise QueryError(f"random is true or absent, not {_shown(direction)}")
            return {"random": True}
        if name == "requests" and key in ("properties", "values"):
            if not isinstance(direction, Mapping) or len(direction) != 1:
                raise QueryError(f"sort by one {key} key only, as {{{key!r}: {{NAME: 'asc'}}}}")
            ((inner, order),) = direction.items()
            if key == "values":
                parse_sort("values", name)  # refused, with why
            if not isinstance(order, str):
                raise QueryError(f"sort direction {_shown(order)}: write asc or desc")
            return parse_sort(f"properties.{inner}:{order}", name)
        if not isinstance(key, str) or not isinstance(direction, str):
            raise QueryError(f"sort is {{KEY: 'asc' or 'desc'}}, not {_shown(sort)}")
        parse_sort(f"{key}:{direction}", name)
    return dict(sort)


def _out_of_range(option: QueryOption, value: object) -> str:
    """What `body_of` says of a whole number out of `option`'s range."""
    return (
        f"{option.name} must be a whole number from {option.low:,} to {option.high:,} "
        f"({option.why}), not {_shown(value)}"
    )
