"""The request body of POST /v1/user/metrics/query (request_body.py): the times and the sort
that `query` reads, and `query_body`, valid against the OpenAPI file."""

from __future__ import annotations

import pytest
from conftest import NOW, assert_valid_query_body, openapi

from helicone_filter.api.outputs import query_body
from helicone_filter.backends.request_body import QueryError, parse_sort, parse_time
from helicone_filter.facts.schema import SORT_KEYS


@pytest.mark.parametrize(
    ("text", "seconds_before_now"),
    [("now", 0), ("NOW - 2h", 7200), ("now-30m", 1800), ("3w", 3 * 604_800), ("15s", 15)],
)
def test_parse_time_relative(text: str, seconds_before_now: int) -> None:
    assert (NOW - parse_time(text, NOW)).total_seconds() == seconds_before_now


def test_parse_time_absolute() -> None:
    assert parse_time("2025-01-31", NOW).isoformat() == "2025-01-31T00:00:00+00:00"
    assert parse_time("1738281600", NOW).isoformat() == "2025-01-31T00:00:00+00:00"
    assert parse_time("2025-01-31T02:00+02:00", NOW).isoformat() == "2025-01-31T00:00:00+00:00"
    with pytest.raises(QueryError, match="before the year 1"):
        parse_time("now - 99999999999w", NOW)


def test_parse_sort() -> None:
    assert parse_sort("last_active") == {"last_active": "asc"}
    assert parse_sort("cost:DESC") == {"cost": "desc"}
    assert parse_sort("None") == {}
    sort_leaf = openapi()["components"]["schemas"]["SortLeafUsers"]["properties"]
    assert set(SORT_KEYS) == set(sort_leaf)


def test_query_body_library() -> None:
    body = query_body("all", sort={"cost": "asc"}, since="2025-01-01", now=NOW)
    assert body["filter"] == "all" and body["sort"] == {"cost": "asc"}
    assert body["timeFilter"]["endTimeUnixSeconds"] == int(NOW.timestamp())
    assert_valid_query_body(body)
    with pytest.raises(QueryError, match="one key only"):
        query_body("cached", sort={"cost": "asc", "id": "desc"})
    with pytest.raises(QueryError, match="aware"):
        query_body("cached", since=NOW.replace(tzinfo=None))
