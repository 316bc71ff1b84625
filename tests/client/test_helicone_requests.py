"""The stand-in for Helicone's request endpoints (tests/helicone_requests.py) has each quirk of
Helicone's: paging by offset shows short pages and repeats, ties move, failed queries are empty
pages, count is 0, 64-bit integers are strings, body URLs expire, faults come on demand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import serving
from helicone_requests import (
    API_KEY,
    COUNT_PATH,
    DROPPING_KEY,
    FAILING_KEY,
    OTHER_ORG,
    OTHER_ORG_KEY,
    QUERY_PATH,
    READ_ONLY_KEY,
    SLOW_KEY,
    HeliconeRequests,
    generate_requests,
)

ALL = {"filter": "all"}


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[HeliconeRequests, httpx.Client]]:
    """2,500 requests over 60 days, 3% stored twice, and 5 in another organisation."""
    data = generate_requests(2500, 60, seed=23)
    other = generate_requests(5, 60, seed=5, org=OTHER_ORG)
    helicone = HeliconeRequests(data)
    helicone.add(other)
    helicone.data = data  # type: ignore[attr-defined]
    with serving(helicone.app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield helicone, client
    helicone.drop()


@pytest.fixture
def api(
    stand_in: tuple[HeliconeRequests, httpx.Client],
) -> Iterator[tuple[HeliconeRequests, httpx.Client]]:
    """The shared stand-in, its faults cleared after each test."""
    helicone, client = stand_in
    yield helicone, client
    helicone.rate_limit, helicone.fail_next, helicone.drop_next = None, 0, 0
    helicone.delay, helicone.skew, helicone.quote_64bit = 0.0, 0.0, True
    helicone.stable_ties = False


def post(
    client: httpx.Client, body: Any, key: str | None = API_KEY, path: str = QUERY_PATH
) -> httpx.Response:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return client.post(path, json=body, headers=headers)


def page(client: httpx.Client, **body: Any) -> list[dict[str, Any]]:
    answer = post(client, {"filter": "all", **body})
    assert answer.status_code == 201, answer.text
    items: list[dict[str, Any]] = answer.json()["data"]
    return items


def test_auth_answers_401_as_helicone(api: tuple[HeliconeRequests, httpx.Client]) -> None:
    _, client = api
    answer = post(client, ALL, key=None)
    assert answer.status_code == 401
    assert answer.json() == {"error": "No authorization header", "trace": "isAuthenticated.error"}
    assert post(client, ALL, key="sk-nobody").json()["error"] == "No API key found"
    assert post(client, ALL, key=READ_ONLY_KEY).json() == {"trace": "isAuthenticated.error"}
    bare = client.post(QUERY_PATH, json={**ALL, "limit": 1}, headers={"Authorization": API_KEY})
    assert bare.status_code == 201  # "Bearer " is optional


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"filter": "all", "foo": 1}, "requestBody"),
        ({"limit": 5}, "requestBody.filter"),
        ({"filter": {"users_view": {"cost": {"gt": 1}}}}, "requestBody.filter"),
        ({"filter": "all", "sort": {"created_at": "up"}}, "requestBody.sort.created_at"),
        ({"filter": "all", "limit": "many"}, "requestBody.limit"),
    ],
)
def test_validation_answers_422_in_tsoas_shape(
    api: tuple[HeliconeRequests, httpx.Client], body: dict[str, Any], path: str
) -> None:
    answer = post(api[1], body)
    assert answer.status_code == 422
    assert answer.json()["message"] == "Validation Failed"
    assert list(answer.json()["details"]) == [path]


def test_limit_is_checked_coerced_and_a_fraction_is_an_empty_page(
    api: tuple[HeliconeRequests, httpx.Client],
) -> None:
    helicone, client = api
    answer = post(client, {**ALL, "limit": 1001})
    assert (answer.status_code, answer.json()) == (500, {"data": None, "error": "invalid limit"})
    assert len(page(client, limit="5")) <= 5 and page(client, limit="5")
    assert page(client) and len(page(client)) <= 10  # Helicone's default limit
    assert page(client, limit=2.5) == []
    assert "LIMIT" in helicone.swallowed[-1]


def test_is_scored_adds_its_condition_and_count_ignores_it(
    api: tuple[HeliconeRequests, httpx.Client],
) -> None:
    helicone, client = api
    assert all(item["scores"] for item in page(client, limit=200, isScored=True))
    unscored = page(client, limit=200, isScored=False)
    # A request is answered with its newest version even when only an older one matched: a
    # request scored after it was logged (stored twice) comes back with its scores.
    later = {
        r["request_id"] for r in helicone.data.rows if "helicone-score-feedback" in r["scores"]
    }  # type: ignore[attr-defined]
    assert unscored and all(not item["scores"] or item["request_id"] in later for item in unscored)


def test_an_organisation_sees_only_its_own_requests(
    api: tuple[HeliconeRequests, httpx.Client],
) -> None:
    helicone, client = api
    answer = post(client, {**ALL, "limit": 1000}, key=OTHER_ORG_KEY)
    ids = {item["request_id"] for item in answer.json()["data"]}
    assert len(ids) == 5 and not ids & helicone.data.ids()  # type: ignore[attr-defined]


def test_paging_by_offset_has_short_pages_and_repeats(
    api: tuple[HeliconeRequests, httpx.Client],
) -> None:
    """Paging 2,500 requests (3% stored twice) by offset: pages come back short before the end,
    and a request whose versions fall on both sides of a page boundary is on both pages."""
    helicone, client = api
    helicone.stable_ties = True  # no same-millisecond swaps: every request is seen
    seen: list[str] = []
    short = 0
    for offset in range(0, 10_000, 10):
        items = page(client, limit=10, offset=offset)
        if not items:
            break
        short += len(items) < 10
        seen.extend(item["request_id"] for item in items)
    assert set(seen) == helicone.data.ids()  # type: ignore[attr-defined]
    assert short > 20
    assert len(seen) > len(set(seen))  # repeats across pages


def test_same_millisecond_requests_swap_between_queries() -> None:
    data = generate_requests(20, 1, seed=3, same_ms=1.0, doubles=0)
    helicone = HeliconeRequests(data)
    try:
        body = {"filter": "all", "limit": 5, "offset": 0, "sort": {"created_at": "desc"}}
        from helicone_requests import ORG, read_body

        def first_page() -> frozenset[str]:
            items = helicone.requests(ORG, read_body(body), "http://stand-in/")[1]["data"]
            return frozenset(item["request_id"] for item in items)

        assert len({first_page() for _ in range(10)}) > 1
        helicone.stable_ties = True
        assert len({first_page() for _ in range(5)}) == 1
    finally:
        helicone.drop()


def test_the_newest_version_is_returned_once_per_page_and_merges_collapse_versions() -> None:
    data = generate_requests(30, 1, seed=8, doubles=1.0, same_ms=0)
    helicone = HeliconeRequests(data)
    try:
        from helicone_requests import ORG, read_body

        body = read_body({"filter": "all", "limit": 60})
        items = helicone.requests(ORG, body, "http://stand-in/")[1]["data"]
        assert len(items) == 30
        assert all("helicone-score-feedback" in item["scores"] for item in items)
        short = helicone.requests(ORG, read_body({"filter": "all", "limit": 10}), "")[1]["data"]
        assert len(short) == 5  # ten stored rows, five requests
        helicone.merge()
        assert (
            len(helicone.requests(ORG, read_body({"filter": "all", "limit": 10}), "")[1]["data"])
            == 10
        )
    finally:
        helicone.drop()


def test_requests_more_than_five_minutes_ahead_are_not_returned() -> None:
    ahead = generate_requests(2, 0.0001, seed=9, end=datetime.now(UTC) + timedelta(minutes=30))
    soon = generate_requests(2, 0.0001, seed=10, end=datetime.now(UTC) + timedelta(minutes=2))
    extra = HeliconeRequests(ahead)
    try:
        extra.add(soon)
        from helicone_requests import ORG, read_body

        items = extra.requests(ORG, read_body({"filter": "all", "limit": 10}), "")[1]["data"]
        assert {item["request_id"] for item in items} == soon.ids()
        by_cost = read_body({"filter": "all", "limit": 10, "sort": {"cost": "asc"}})
        assert {i["request_id"] for i in extra.requests(ORG, by_cost, "")[1]["data"]} == soon.ids()
    finally:
        extra.drop()


@pytest.mark.parametrize(
    "body",
    [
        {"filter": "all", "sort": {"is_cached": "desc"}},  # a column that does not exist
        {"filter": {"request": {"created_at": {"gte": "2025-01-01"}}}},  # Postgres names
        {"filter": {"request_response_rmt": {"scores": {"x": {"equals": "a"}}}}},
    ],
)
def test_a_failing_query_is_an_empty_page(
    api: tuple[HeliconeRequests, httpx.Client], body: dict[str, Any]
) -> None:
    answer = post(api[1], body)
    assert (answer.status_code, answer.json()) == (201, {"data": [], "error": None})


@pytest.mark.parametrize(
    "body",
    [
        {"filter": {"values": {"x": {"equals": "y"}}}},
        {"filter": "all", "sort": {"properties": {"a-b": "asc"}}},
    ],
)
def test_thrown_errors_are_500(
    api: tuple[HeliconeRequests, httpx.Client], body: dict[str, Any]
) -> None:
    answer = post(api[1], body)
    assert answer.status_code == 500
    assert answer.json() == {"message": "Internal Server Error", "details": "Internal Server Error"}


def test_the_fields_and_64_bit_integers_as_strings(
    api: tuple[HeliconeRequests, httpx.Client],
) -> None:
    helicone, client = api
    item = page(client, limit=1, sort={"latency": "desc"})[0]
    assert "latency" not in item and isinstance(item["delay_ms"], int)
    assert isinstance(item["response_status"], int) and isinstance(item["cost"], float)
    assert isinstance(item["completion_tokens"], str) and isinstance(item["total_tokens"], str)
    assert "size_bytes" in item and "size_bytes" not in page(client, limit=1)[0]
    assert item["request_created_at"].endswith("Z") and "T" in item["request_created_at"]
    helicone.quote_64bit = False
    item = page(client, limit=1, sort={"latency": "desc"})[0]
    assert isinstance(item["completion_tokens"], int)
    assert all(isinstance(v, int) for v in item["scores"].values())


def test_models_providers_and_where_bodies_are(api: tuple[HeliconeRequests, httpx.Client]) -> None:
    _, client = api
    items = page(client, limit=1000)
    azure = [i for i in items if "azure" in i["target_url"]]
    assert azure and all(i["provider"] == "AZURE" for i in azure)
    engines = [i for i in items if "/engines/" in i["target_url"]]
    assert engines and all(i["model"] == "" for i in engines)  # "" is not nullish in JS
    inline = [i for i in items if i["storage_location"] == "clickhouse"]
    assert inline and all(isinstance(i["request_body"], dict) for i in inline)
    assert all("signed_body_url" not in i for i in inline)
    unstored = [i for i in items if i["storage_location"] == "not_stored_exceeded_free"]
    assert unstored and all("signed_body_url" not in i for i in unstored)
    assert all(isinstance(i["request_body"], str) for i in unstored)


def test_count_is_zero_and_a_failing_count_is_500(
    api: tuple[HeliconeRequests, httpx.Client],
) -> None:
    _, client = api
    answer = post(client, {"filter": "all", "isScored": True}, path=COUNT_PATH)
    assert (answer.status_code, answer.json()) == (200, {"data": 0, "error": None})
    failing = {"filter": {"request": {"created_at": {"gte": "2025-01-01"}}}}
    answer = post(client, failing, path=COUNT_PATH)
    assert answer.status_code == 500 and answer.json()["data"] is None
    assert "request" in answer.json()["error"]


def test_body_urls_are_presigned_and_expire(api: tuple[HeliconeRequests, httpx.Client]) -> None:
    helicone, client = api
    items = page(client, limit=1000)
    zero = "00000000-0000-0000-0000-000000000000"
    mine = [i for i in items if "signed_body_url" in i and i["cache_reference_id"] == zero]
    url = mine[0]["signed_body_url"]
    body = httpx.get(url)
    assert body.status_code == 200 and set(body.json()) == {"request", "response"}
    assert httpx.get(url, headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 400
    assert httpx.get(url.replace("X-Amz-Expires=86400", "X-Amz-Expires=99999")).status_code == 403
    cached = [i for i in items if "signed_body_url" in i and i["cache_reference_id"] != zero]
    original = cached[0]["cache_reference_id"]
    assert f"/requests/{original}/" in cached[0]["signed_body_url"]
    missing = [i for i in cached if httpx.get(i["signed_body_url"]).status_code == 404]
    assert missing  # an original stored inline or not at all: no object under its key
    helicone.advance(24 * 60 * 60 + 1)
    expired = httpx.get(url)
    assert expired.status_code == 403 and "Request has expired" in expired.text


def test_rate_limit_on_demand(api: tuple[HeliconeRequests, httpx.Client]) -> None:
    helicone, client = api
    helicone.rate_limit = 2
    helicone._windows.clear()
    assert post(client, {**ALL, "limit": 1}).headers["RateLimit-Remaining"] == "1"
    post(client, {**ALL, "limit": 1})
    limited = post(client, {**ALL, "limit": 1})
    assert limited.status_code == 429
    assert limited.json() == {"error": "Too many requests, please try again later."}
    assert 0 < int(limited.headers["Retry-After"]) <= 300
    assert limited.headers["RateLimit-Policy"] == "2;w=300"
    helicone.advance(300)
    assert post(client, {**ALL, "limit": 1}).status_code == 201


def test_500s_drops_and_timeouts_on_demand(api: tuple[HeliconeRequests, httpx.Client]) -> None:
    helicone, client = api
    helicone.fail_next = 1
    assert post(client, ALL).status_code == 500
    assert post(client, ALL).status_code == 201
    assert post(client, ALL, key=FAILING_KEY).status_code == 500
    helicone.drop_next = 1
    with pytest.raises(httpx.TransportError):
        post(client, ALL)
    with pytest.raises(httpx.TransportError):
        post(client, ALL, key=DROPPING_KEY)
    helicone.timeout, helicone.delay = 0.2, 0.5
    try:
        timed_out = post(client, ALL)
        assert (timed_out.status_code, timed_out.text) == (408, "Request timed out")
        assert post(client, ALL, key=SLOW_KEY).status_code == 408
    finally:
        helicone.timeout = 10.0
