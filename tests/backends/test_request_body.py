"""The request body of POST /v1/user/metrics/query (request_body.py): the times and the sort
that `query` reads, and `query_body`, valid against the OpenAPI file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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


# -- the query options, said once (QUERY_OPTIONS), read by every face ---------------------------


def _parameters(function: Any) -> set[str]:
    import inspect

    return {
        name
        for name, p in inspect.signature(function).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def test_query_body_and_the_client_take_the_tables_options() -> None:
    from helicone_filter.api.outputs import query_body
    from helicone_filter.backends.request_body import body_of
    from helicone_filter.client import query_user_metrics
    from helicone_filter.facts.query_options import QUERY_OPTIONS

    names = {o.name for o in QUERY_OPTIONS}
    assert _parameters(body_of) == names | {"now"}
    assert _parameters(query_body) == names | {"now"}
    client_own = {"api_key", "base_url", "eu", "timeout", "client"}
    assert _parameters(query_user_metrics) == names | {"now"} | client_own


def test_the_services_query_fields_are_the_tables() -> None:
    from helicone_filter.facts.query_options import QUERY_OPTIONS
    from helicone_filter.service.models import QueryRequest

    served = [o for o in QUERY_OPTIONS if o.flag]  # the window as since/until only
    fields = QueryRequest.model_fields
    assert [n for n in fields if n not in ("input", "now")] == [o.name for o in served]
    for option in served:
        field = fields[option.name]
        assert field.description == option.description
        bounds = {type(m).__name__: m for m in field.metadata}
        assert getattr(bounds.get("Ge"), "ge", None) == option.low
        assert getattr(bounds.get("Le"), "le", None) == option.high


def test_the_query_flags_are_the_tables() -> None:
    import argparse

    from helicone_filter.cli.query_command import query_options
    from helicone_filter.facts.query_options import QUERY_OPTIONS

    parser = argparse.ArgumentParser()
    query_options(parser)
    flags = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
    for option in QUERY_OPTIONS:
        if not option.flag:
            continue
        action = flags[option.flag]
        assert action.dest == option.name
        assert action.help == option.help
        assert action.default == option.default
        if option.metavar is not None:
            assert action.metavar == option.metavar


def test_whole_options_are_checked_in_their_ranges() -> None:
    from helicone_filter.backends.request_body import QueryError, body_of
    from helicone_filter.facts.query_options import QUERY_OPTIONS

    now = datetime(2025, 1, 2, tzinfo=UTC)
    for option in QUERY_OPTIONS:
        if option.kind != "whole":
            continue
        assert option.low is not None and option.high is not None
        for fine in (option.low, option.high):
            body_of("all", now=now, **{option.name: fine})
        for bad in (option.low - 1, option.high + 1):
            with pytest.raises(QueryError):
                body_of("all", now=now, **{option.name: bad})
