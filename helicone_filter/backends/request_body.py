"""The whole request body of POST /v1/user/metrics/query (`UserMetricsQueryParams`).

A filter (text, or FilterNode JSON that is validated), a page (`limit`, `offset`), an order
(`sort`), a time window (`timeFilter`, unix seconds) and the time-zone shift
(`timeZoneDifferenceMinutes`). Times are given as ISO 8601 (`2025-01-31`,
`2025-01-31T12:00:00Z`), `now`, `now - 7d`, a bare duration (`7d`: seven days ago) or unix
seconds (`1738281600`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# The defaults and ranges of the options, said once in defaults.py, under their names here.
from helicone_filter.defaults import DEFAULT_LIMIT as DEFAULT_LIMIT
from helicone_filter.defaults import MAX_LIMIT as MAX_LIMIT
from helicone_filter.defaults import MAX_OFFSET as MAX_OFFSET
from helicone_filter.defaults import MAX_TZ_OFFSET_MINUTES as MAX_TZ_OFFSET_MINUTES
from helicone_filter.facts.query_options import QUERY_OPTION, QueryOption
from helicone_filter.facts.schema import SORT_DIRECTIONS, SORT_KEYS
from helicone_filter.facts.timestamps import DURATION_SECONDS, parse_timestamp, relative

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


def parse_sort(value: str) -> dict[str, str]:
    """`FIELD`, `FIELD:asc` or `FIELD:desc` as a `SortLeafUsers`; `none` is `{}` (no order).

    A bare FIELD sorts ascending, as SQL's ORDER BY does.

    Example:
        >>> parse_sort("cost:desc")
        {'cost': 'desc'}
    """
    if value.strip().lower() == "none":
        return {}
    key, _, direction = value.strip().partition(":")
    direction = direction.lower() or "asc"
    if key not in SORT_KEYS:
        from helicone_filter.errors import closest

        near = closest(key, SORT_KEYS)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise QueryError(f"cannot sort by {_shown(key)}: {hint}the keys are {', '.join(SORT_KEYS)}")
    if direction not in SORT_DIRECTIONS:
        raise QueryError(f"sort direction {_shown(direction)}: write {key}:asc or {key}:desc")
    return {key: direction}


def _unix(moment: datetime) -> int | float:
    seconds = moment.timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def body_of(
    node: dict[str, Any] | str,
    *,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: str | dict[str, str] | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    tz_offset: int | None = None,
    time_filter: TimeFilter | None = None,
) -> dict[str, Any]:
    """The body of POST /v1/user/metrics/query around a FilterNode already compiled or
    validated (`query_body` of the ways in reads the filter, then calls this); the options as
    `query_body` takes them, relative times counted back from `now`.

    Raises:
        QueryError: an option cannot be used.

    Example:
        >>> body_of("all", now=datetime(2025, 1, 2, tzinfo=UTC), limit=10)
        {'filter': 'all', 'offset': 0, 'limit': 10}
    """
    _check_whole(QUERY_OPTION["limit"], limit)
    _check_whole(QUERY_OPTION["offset"], offset)
    body: dict[str, Any] = {"filter": node, "offset": offset, "limit": limit}
    if time_filter is not None:
        if since is not None or until is not None:
            raise QueryError("give the window as time_filter or as since/until, not both")
        since, until = _window(time_filter)
    if since is not None or until is not None:
        start = _moment(since, now) if since is not None else datetime.fromtimestamp(0, UTC)
        end = _moment(until, now) if until is not None else now
        if start > end:
            raise QueryError(
                f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()})"
            )
        body["timeFilter"] = {
            "startTimeUnixSeconds": _unix(start),
            "endTimeUnixSeconds": _unix(end),
        }
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
    if sort is not None:
        body["sort"] = parse_sort(sort) if isinstance(sort, str) else _checked_sort(sort)
    return body


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


def _checked_sort(sort: dict[str, str]) -> dict[str, str]:
    if len(sort) > 1:
        raise QueryError("sort by one key only; Helicone uses only the first")
    for key, direction in sort.items():
        parse_sort(f"{key}:{direction}")
    return dict(sort)


def _out_of_range(option: QueryOption, value: object) -> str:
    """What `body_of` says of a whole number out of `option`'s range."""
    return (
        f"{option.name} must be a whole number from {option.low:,} to {option.high:,} "
        f"({option.why}), not {_shown(value)}"
    )
