"""The request bodies (request_body.py): POST /v1/user/metrics/query's and the request
endpoints' (query-clickhouse, count/query): the times and the sort that `query` reads, and
`query_body` and `count_body`, valid against the OpenAPI files."""

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
    assert _parameters(body_of) == names | {"now", "endpoint"}
    assert _parameters(query_body) == names | {"now", "endpoint"}
    client_own = {"api_key", "base_url", "eu", "timeout", "client"}
    users = {o.name for o in QUERY_OPTIONS if "user-metrics" in o.endpoints}
    assert _parameters(query_user_metrics) == users | {"now"} | client_own


def test_the_services_query_fields_are_the_tables() -> None:
    from helicone_filter.facts.query_options import QUERY_OPTIONS
    from helicone_filter.service.models import QueryRequest

    served = [o for o in QUERY_OPTIONS if o.flag]  # the window as since/until only
    names = list(dict.fromkeys(o.name for o in served))
    fields = QueryRequest.model_fields
    assert [n for n in fields if n not in ("text", "input", "now", "endpoint")] == names
    for name in names:
        rows = [o for o in served if o.name == name]
        field = fields[name]
        assert field.description is not None
        assert all(o.description in field.description for o in rows)
        bounds = {type(m).__name__: m for m in field.metadata}
        lows = [o.low for o in rows if o.low is not None]
        highs = [o.high for o in rows if o.high is not None]
        assert getattr(bounds.get("Ge"), "ge", None) == (min(lows) if lows else None)
        assert getattr(bounds.get("Le"), "le", None) == (max(highs) if highs else None)


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
        assert option.help in action.help  # each endpoint's row has its words in the help
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
        for endpoint in option.endpoints:
            for fine in (option.low, option.high):
                body_of("all", now=now, endpoint=endpoint, **{option.name: fine})
            for bad in (option.low - 1, option.high + 1):
                with pytest.raises(QueryError):
                    body_of("all", now=now, endpoint=endpoint, **{option.name: bad})


# -- the request endpoints: RequestQueryParams and count/query's body ---------------------------


def assert_valid_request_body(body: dict[str, Any]) -> None:
    """`body` validates against RequestQueryParams as Helicone publishes it (no extra keys) and
    as the pydantic model, and names none of the flags Helicone ignores."""
    from conftest import request_openapi
    from openapi_schema_validator import OAS30Validator

    from helicone_filter.frontends.models import RequestQueryParams

    schema = {"$ref": "#/components/schemas/RequestQueryParams", **request_openapi()}
    OAS30Validator(schema).validate(body)
    RequestQueryParams.model_validate(body)
    assert not {"isCached", "includeInputs", "isPartOfExperiment"} & set(body)


def _requests(filter_: Any = "all", **options: Any) -> dict[str, Any]:
    body = query_body(filter_, endpoint="requests", now=NOW, **options)
    assert_valid_request_body(body)
    return body


def test_requests_body_defaults_and_filter() -> None:
    body = _requests('model = "gpt-4o" or status = 500')
    assert body["offset"] == 0 and body["limit"] == 100
    assert set(body) == {"filter", "offset", "limit"}
    assert body["filter"]["operator"] == "or"
    node = {"request_response_rmt": {"status": {"equals": 200}}}
    assert _requests(node)["filter"] == node
    from helicone_filter.errors import FilterError

    with pytest.raises(FilterError, match="user-metrics endpoint"):
        query_body("user_cost > 5", endpoint="requests")
    with pytest.raises(ValueError, match="unknown endpoint"):
        query_body("all", endpoint="request")


@pytest.mark.parametrize(("limit", "fine"), [(0, True), (1000, True), (-1, False), (1001, False)])
def test_requests_limit_is_0_to_1000(limit: int, fine: bool) -> None:
    if fine:
        assert _requests(limit=limit)["limit"] == limit
    else:
        with pytest.raises(QueryError, match="from 0 to 1,000"):
            _requests(limit=limit)
    with pytest.raises(QueryError):
        _requests(limit=2.5)  # Helicone's SQL fails on it: an empty page


def test_requests_offset_range() -> None:
    from helicone_filter.defaults import MAX_OFFSET

    assert _requests(offset=MAX_OFFSET)["offset"] == MAX_OFFSET
    for bad in (-1, MAX_OFFSET + 1, True):
        with pytest.raises(QueryError):
            _requests(offset=bad)


def test_is_scored() -> None:
    assert _requests(is_scored=True)["isScored"] is True
    assert _requests(is_scored=False)["isScored"] is False
    assert "isScored" not in _requests()
    with pytest.raises(QueryError, match="true or false"):
        _requests(is_scored="yes")
    with pytest.raises(QueryError, match="requests endpoint, not of user-metrics"):
        query_body("all", is_scored=True)


def test_options_of_the_users_only_are_refused_for_requests() -> None:
    with pytest.raises(QueryError, match="user-metrics endpoint, not of requests"):
        _requests(tz_offset=60)
    with pytest.raises(QueryError, match="user-metrics endpoint, not of requests"):
        _requests(time_filter=("7d", None))


RUN = [
    ("created_at:desc", {"created_at": "desc"}),
    ("latency", {"latency": "asc"}),
    ("time_to_first_token:DESC", {"time_to_first_token": "desc"}),
    ("total_tokens:desc", {"total_tokens": "desc"}),
    ("completion_tokens", {"completion_tokens": "asc"}),
    ("prompt_tokens", {"prompt_tokens": "asc"}),
    ("cost:desc", {"cost": "desc"}),
    ("user_id", {"user_id": "asc"}),
    ("body_model:desc", {"body_model": "desc"}),
    ("request_prompt", {"request_prompt": "asc"}),
    ("response_text", {"response_text": "asc"}),
    ("random", {"random": True}),
    ("properties.env:desc", {"properties": {"env": "desc"}}),
    ("properties.Tier_2", {"properties": {"Tier_2": "asc"}}),
]
REFUSED = [
    ("is_cached", "empty page"),
    ("is_cached:desc", "empty page"),
    ("cache_created_at:asc", "created_at desc"),
    ("last_active", "created_at desc"),
    ("values", "created_at desc"),
    ("properties.my-key", "HTTP 500"),
    ("properties.a.b", "HTTP 500"),
    ("properties.", "HTTP 500"),
    ("properties", "properties.NAME"),
    ("random:asc", "no direction"),
    ("none", "always order"),
    ("cost:up", "write cost:asc or cost:desc"),
    ("latncy", "did you mean 'latency'?"),
    ("active_for", "the keys are created_at"),
]


@pytest.mark.parametrize(("text", "leaf"), RUN)
def test_every_sort_key_helicone_runs(text: str, leaf: dict[str, Any]) -> None:
    assert _requests(sort=text)["sort"] == leaf
    assert _requests(sort=leaf)["sort"] == leaf  # the object, checked as its text


@pytest.mark.parametrize(("text", "why"), REFUSED)
def test_every_sort_key_helicone_fails_or_ignores_is_refused(text: str, why: str) -> None:
    with pytest.raises(QueryError, match=why):
        _requests(sort=text)


def test_sort_table_covers_sort_leaf_request() -> None:
    from conftest import request_openapi

    from helicone_filter.facts.query_options import REQUEST_SORT, RUN_REQUEST_SORTS

    leaf = request_openapi()["components"]["schemas"]["SortLeafRequest"]["properties"]
    assert set(REQUEST_SORT) == set(leaf)
    assert {next(iter(v)) for _, v in RUN} == set(RUN_REQUEST_SORTS)


@pytest.mark.parametrize(
    "sort",
    [
        {"is_cached": "asc"},
        {"values": {"x": "asc"}},
        {"properties": {"a-b": "asc"}},
        {"properties": {"a": "asc", "b": "desc"}},
        {"random": False},
        {"cost": "asc", "latency": "desc"},
        {},
    ],
)
def test_sort_objects_are_checked(sort: dict[str, Any]) -> None:
    with pytest.raises(QueryError):
        _requests(sort=sort)


def test_the_window_is_request_created_at_leaves() -> None:
    leaf = {"request_response_rmt": {"status": {"equals": 200}}}

    def bound(op: str, when: str) -> dict[str, Any]:
        return {"request_response_rmt": {"request_created_at": {op: when}}}

    start, end = "2025-01-01T00:00:00.000Z", "2025-06-01T12:00:00.000Z"
    body = _requests(leaf, since="2025-01-01")  # until: now
    assert body["filter"] == {
        "left": leaf,
        "operator": "and",
        "right": {"left": bound("gte", start), "operator": "and", "right": bound("lte", end)},
    }
    assert "timeFilter" not in body
    assert _requests(until="2025-06-01T12:00:00Z")["filter"] == bound("lte", end)
    assert _requests(since="2025-01-01", until="now")["filter"]["left"] == bound("gte", start)
    with pytest.raises(QueryError, match="before it starts"):
        _requests(since="now", until="1d")


def test_count_body() -> None:
    from conftest import request_openapi
    from openapi_schema_validator import OAS30Validator

    from helicone_filter.api.outputs import count_body

    body = count_body('model = "a"', since="2025-01-01", until="2025-02-01", now=NOW)
    assert set(body) == {"filter"}  # no page, no sort, no isScored: count ignores them
    assert body["filter"]["left"] == {"request_response_rmt": {"model": {"equals": "a"}}}
    schema = {"$ref": "#/components/schemas/RequestQueryParams", **request_openapi()}
    OAS30Validator(schema).validate(body)
    assert count_body("all", now=NOW) == {"filter": "all"}
    query = query_body('model = "a"', endpoint="requests", since="2025-01-01", now=NOW)
    assert count_body('model = "a"', since="2025-01-01", now=NOW)["filter"] == query["filter"]
