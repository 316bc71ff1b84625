"""The client of Helicone's request endpoints (helicone_filter.client: iter_requests,
query_requests) against the stand-in (tests/helicone_requests.py), which has every quirk of
Helicone's: the iterator returns exactly the requests the filter selects, each once, through
short pages, repeats, same-millisecond ties (more than a page of them), failed queries
answered as empty pages, 429 storms, 500s, dropped connections and 408s; 401 and 422 are not
tried again; bodies come from presigned URLs without the key, and a missing or expired one is
reported on its record; the key is in no body request and no error."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import serving
from helicone_requests import (
    API_KEY,
    BODY_URL_SECONDS,
    OTHER_ORG,
    HeliconeRequests,
    generate_requests,
)

from helicone_filter.client import (
    REDACTED,
    HeliconeAPIError,
    HeliconeRequest,
    Retries,
    iter_requests,
    query_requests,
)
from helicone_filter.client.requests import all_of, window_filter

SINCE = "2020-01-01T00:00:00Z"
TIE_AT = datetime.now(UTC) - timedelta(days=3, milliseconds=123)


class Clock:
    """The retries' sleep: no real waiting; the stand-in's clock moves on instead (so a
    rate-limit window passes), and every wait is noted."""

    def __init__(self, helicone: HeliconeRequests) -> None:
        self.helicone = helicone
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.helicone.advance(seconds)


class StandIn:
    """The stand-in, served, with its data: 2,500 requests over 60 days (3% stored twice,
    2% in the millisecond of another), 150 more in one millisecond, 5 of another org."""

    def __init__(self, helicone: HeliconeRequests, url: str, rows: list[dict[str, Any]]):
        self.helicone = helicone
        self.url = url
        self.rows = rows
        self.clock = Clock(helicone)

    def retries(self, **changes: Any) -> Retries:
        return Retries(sleep=self.clock, **changes)

    def iterate(self, filter: Any = "all", **options: Any) -> list[HeliconeRequest]:  # noqa: A002
        options = {"since": SINCE, "api_key": API_KEY, "base_url": self.url, **options}
        options.setdefault("retries", self.retries())
        return list(iter_requests(filter, **options))

    def truth(
        self,
        keep: Callable[[dict[str, Any]], bool] = lambda row: True,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> set[str]:
        """The ids of this org's requests whose newest stored version `keep`s, in the window."""
        newest: dict[str, dict[str, Any]] = {}
        for row in sorted(self.rows, key=lambda r: r["updated_at"]):
            newest[row["request_id"]] = row
        out = set()
        for request_id, row in newest.items():
            created = datetime.fromisoformat(row["request_created_at"]).replace(tzinfo=UTC)
            if row["organization_id"] == OTHER_ORG or not keep(row):
                continue
            if (since is None or created >= since) and (until is None or created <= until):
                out.add(request_id)
        return out


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    data = generate_requests(2500, 60, seed=23)
    ties = generate_requests(150, 0.0001, seed=31, end=TIE_AT, same_ms=1.0, doubles=0.1)
    other = generate_requests(5, 60, seed=5, org=OTHER_ORG)
    helicone = HeliconeRequests(data)
    helicone.add(ties)
    helicone.add(other)
    try:
        with serving(helicone.app) as url:
            yield StandIn(helicone, url, data.rows + ties.rows + other.rows)
    finally:
        helicone.drop()


@pytest.fixture
def api(stand_in: StandIn) -> Iterator[StandIn]:
    """The shared stand-in, its faults cleared after each test."""
    helicone = stand_in.helicone
    stand_in.clock.waits.clear()
    yield stand_in
    helicone.rate_limit, helicone.fail_next, helicone.drop_next = None, 0, 0
    helicone.delay, helicone.timeout, helicone.quote_64bit = 0.0, 10.0, True
    helicone.__dict__.pop("requests", None)  # a test's wrapper of the query
    helicone._windows.clear()


def ids_of(records: list[HeliconeRequest]) -> list[str]:
    return [r.request_id for r in records]


# -- exactly the true set ---------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1000, 100, 60])
def test_every_request_exactly_once(api: StandIn, page_size: int) -> None:
    """2,500 requests, 3% stored twice (short pages, repeats across pages), ties in the same
    millisecond, 150 in one millisecond (more than a page): each request once, twice over."""
    truth = api.truth()
    assert len(truth) == 2650
    for _ in range(2):
        got = ids_of(api.iterate(page_size=page_size))
        assert len(got) == len(set(got)) and set(got) == truth
    if page_size < 150:  # the millisecond of 150 was read alone, excluding the ids it had
        assert any("not-equals" in json.dumps(r["body"]) for r in api.helicone.received)


def test_the_newest_version_of_each_request_newest_first(api: StandIn) -> None:
    records = api.iterate(page_size=100)
    doubled = {r["request_id"] for r in api.rows if "helicone-score-feedback" in r["scores"]}
    assert doubled
    assert all("helicone-score-feedback" in r.scores for r in records if r.request_id in doubled)
    times = [r.created_ms for r in records]
    assert times == sorted(times, reverse=True)


def test_a_filter_and_an_exact_window(api: StandIn) -> None:
    since = datetime.now(UTC) - timedelta(days=40, milliseconds=417)
    until = datetime.now(UTC) - timedelta(days=10, milliseconds=871)
    truth = api.truth(lambda row: row["model"] == "gpt-4o", since, until)
    node = {"request_response_rmt": {"model": {"equals": "gpt-4o"}}}
    got = ids_of(api.iterate(node, since=since, until=until, page_size=100))
    assert len(got) == len(set(got)) and set(got) == truth and truth
    text = ids_of(api.iterate('model = "gpt-4o"', since=since, until=until))
    assert set(text) == truth
    sent = api.helicone.received[-1]["body"]["filter"]
    times = re.findall(r'"(?:gte|lte)": "([^"]*)"', json.dumps(sent))
    assert len(times) == 2 and all(re.fullmatch(r"[-\d]{10}T[:\d]{8}Z", t) for t in times)


def test_records_are_typed_whether_64_bit_integers_are_quoted_or_not(api: StandIn) -> None:
    for quoted in (True, False):
        api.helicone.quote_64bit = quoted
        page = query_requests(api_key=API_KEY, base_url=api.url, limit=50)
        assert len(page.requests) <= 50 and page.data
        for r in page.requests:
            assert isinstance(r.total_tokens, int) and isinstance(r.completion_tokens, int)
            assert isinstance(r.delay_ms, int) and isinstance(r.response_status, int)
            assert isinstance(r.cost, int | float) and r.created.tzinfo is not None
            assert all(isinstance(v, int) for v in (r.scores or {}).values())
        assert isinstance(page.data[0]["total_tokens"], str if quoted else int)


def test_a_record_keeps_fields_it_does_not_know() -> None:
    item = {
        "request_id": "a",
        "request_created_at": "2025-01-02T03:04:05.678Z",
        "total_tokens": "761",
        "cost": "0.25",
        "scores": {"x": "1", "label": "good"},
        "new_field": {"from": "a newer Helicone"},
    }
    record = HeliconeRequest.from_json(item)
    assert (record.total_tokens, record.cost, record.scores) == (
        761,
        0.25,
        {"x": 1, "label": "good"},
    )
    assert record.extra == {"new_field": {"from": "a newer Helicone"}}
    assert record.as_json()["new_field"] == {"from": "a newer Helicone"}
    assert record.as_json()["total_tokens"] == 761 and "latency" not in record.as_json()
    with pytest.raises(ValueError, match="delay_ms is not a number"):
        HeliconeRequest.from_json({**item, "delay_ms": "slow"})


def test_filters_are_anded_as_a_balanced_tree_with_whole_second_bounds() -> None:
    leaves: list[Any] = [
        {"request_response_rmt": {"request_id": {"not-equals": str(i)}}} for i in range(1000)
    ]

    def depth(node: Any) -> int:
        return 1 + max(depth(node["left"]), depth(node["right"])) if "left" in node else 0

    assert depth(all_of(leaves)) == 10
    assert all_of(["all", "all"]) == "all"
    node = window_filter("all", 1_700_000_000_500, 1_700_000_100_500)
    assert json.dumps(node).count("Z") == 2
    assert (
        node["left"]["request_response_rmt"]["request_created_at"]["gte"] == "2023-11-14T22:13:20Z"
    )
    assert (
        node["right"]["request_response_rmt"]["request_created_at"]["lte"] == "2023-11-14T22:15:01Z"
    )


# -- a failed query is an empty page -----------------------------------------------------------


def _failing_now_and_then(api: StandIn, failing: set[int]) -> list[int]:
    """The stand-in answers its n-th query (n in `failing`) as Helicone answers a failed one."""
    helicone, calls = api.helicone, [0]
    real = HeliconeRequests.requests.__get__(helicone)

    def requests(org: str, body: dict[str, Any], base: str) -> tuple[int, Any]:
        calls[0] += 1
        if calls[0] in failing:
            return 201, {"data": [], "error": None}
        return real(org, body, base)

    helicone.requests = requests  # type: ignore[method-assign]
    return calls


def test_a_failed_querys_empty_page_does_not_end_the_iteration(api: StandIn) -> None:
    truth = api.truth()
    calls = _failing_now_and_then(api, {3, 4, 9})  # the page and its first check; another page
    got = ids_of(api.iterate(page_size=200))
    assert len(got) == len(set(got)) and set(got) == truth
    assert calls[0] > 20
    assert len(api.clock.waits) >= 3  # a pause before each check


def test_without_checks_an_empty_page_would_end_it_early(api: StandIn) -> None:
    _failing_now_and_then(api, {3})
    got = ids_of(api.iterate(page_size=200, empty_checks=0))
    assert 0 < len(got) < len(api.truth())


def test_a_page_that_stays_empty_is_the_end(api: StandIn) -> None:
    calls = _failing_now_and_then(api, set(range(1, 100)))
    assert api.iterate() == []
    assert calls[0] == 3  # the page and two checks


# -- retries ----------------------------------------------------------------------------------


def test_a_429_storm_is_waited_out_as_retry_after_says(api: StandIn) -> None:
    api.helicone.rate_limit = 4
    truth = api.truth()
    got = ids_of(api.iterate(page_size=250))
    assert len(got) == len(set(got)) and set(got) == truth
    long_waits = [w for w in api.clock.waits if w > 30]  # longer than any backoff: Retry-After
    assert len(long_waits) >= 2 and all(w <= 300 * 1.1 for w in long_waits)


def test_500s_and_dropped_connections_are_tried_again(api: StandIn) -> None:
    api.helicone.fail_next, api.helicone.drop_next = 2, 3  # five failed tries of six
    got = ids_of(api.iterate(page_size=1000))
    assert set(got) == api.truth() and len(got) == len(set(got))
    assert (api.helicone.fail_next, api.helicone.drop_next) == (0, 0)
    assert len(api.clock.waits) >= 5 and all(w <= 30 * 1.5 for w in api.clock.waits)


def test_408_is_tried_again_until_the_tries_are_spent(api: StandIn) -> None:
    api.helicone.timeout, api.helicone.delay = 0.05, 0.1
    before = len(api.helicone.received)
    with pytest.raises(HeliconeAPIError) as caught:
        query_requests(api_key=API_KEY, base_url=api.url, retries=api.retries(attempts=3))
    assert caught.value.status == 408
    assert len(api.helicone.received) - before == 3


def _counting(api: StandIn) -> tuple[httpx.Client, list[httpx.Request]]:
    sent: list[httpx.Request] = []
    return httpx.Client(event_hooks={"request": [sent.append]}), sent


@pytest.mark.parametrize(
    ("key", "node", "status", "said"),
    [
        ("sk-nobody", "all", 401, "refused the API key (HTTP 401: No API key found)"),
        (API_KEY, {"users_view": {"cost": {"gt": 1}}}, 422, "refused the request body (HTTP 422"),
    ],
)
def test_401_and_422_are_not_tried_again(
    api: StandIn, key: str, node: Any, status: int, said: str
) -> None:
    client, sent = _counting(api)
    with client, pytest.raises(HeliconeAPIError) as caught:
        api.iterate(node, api_key=key, client=client)
    assert caught.value.status == status and said in caught.value.message
    assert len(sent) == 1 and api.clock.waits == []


def test_arguments_are_checked_before_anything_is_sent() -> None:
    for options in ({"page_size": 0}, {"page_size": 1001}, {"since": "yesterday"}, {"api_key": ""}):
        with pytest.raises(HeliconeAPIError):
            iter_requests(**{"api_key": API_KEY, "base_url": "http://127.0.0.1:9", **options})
    with pytest.raises(HeliconeAPIError, match="after until"):
        iter_requests(since="2025-02-01T00:00:00Z", until="2025-01-01T00:00:00Z", api_key="k")


# -- bodies -----------------------------------------------------------------------------------

RECENT = timedelta(days=12)


def test_bodies_are_fetched_without_the_key_and_failures_reported(api: StandIn) -> None:
    since = datetime.now(UTC) - RECENT
    before = len(api.helicone.body_requests)
    records = api.iterate(since=since, bodies=True, body_workers=4)
    asked = api.helicone.body_requests[before:]
    with_url = [r for r in records if r.signed_body_url]
    assert with_url and len(asked) == len(with_url)  # one GET per body URL, none left out
    assert all("authorization" not in a["headers"] for a in asked)
    assert all(API_KEY not in json.dumps(a) for a in asked)
    fetched = [r for r in with_url if r.body_error is None]
    assert fetched and all(set(r.request_body) == {"model", "messages"} for r in fetched)
    assert all(isinstance(r.response_body, dict) for r in fetched)
    missing = [r for r in with_url if r.body_error is not None]
    assert missing and all(
        r.body_error.startswith("the body is missing from storage (HTTP 404: NoSuchKey")
        for r in missing
    )
    unstored = [r for r in records if r.storage_location == "not_stored_exceeded_free"]
    assert all("did not store" in (r.body_error or "") for r in unstored)
    inline = [r for r in records if r.storage_location == "clickhouse"]
    assert inline and all(isinstance(r.request_body, dict) and r.body_error is None for r in inline)


def test_expired_body_urls_are_reported_on_their_records(api: StandIn) -> None:
    helicone = api.helicone

    def later(response: httpx.Response) -> None:  # a day passes between the page and its bodies
        helicone.advance(BODY_URL_SECONDS + 1)

    client = httpx.Client(event_hooks={"response": [later]})
    with client:
        records = api.iterate(since=datetime.now(UTC) - RECENT, bodies=True, client=client)
    with_url = [r for r in records if r.signed_body_url]
    assert with_url and all(
        (r.body_error or "").startswith(
            "the body URL has expired or was refused (HTTP 403: AccessDenied"
        )
        for r in with_url
    )


# -- the key ----------------------------------------------------------------------------------


def test_the_key_is_in_no_error_text() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        said = f"upstream refused {request.headers['authorization']}"
        return httpx.Response(503, json={"error": said}, headers={"retry-after": API_KEY})

    client = httpx.Client(transport=httpx.MockTransport(echo))
    quick = Retries(attempts=2, sleep=lambda s: None)
    with client, pytest.raises(HeliconeAPIError) as caught:
        list(iter_requests(api_key=API_KEY, client=client, retries=quick))
    shown = json.dumps(caught.value.as_dict()) + str(caught.value)
    assert API_KEY not in shown and REDACTED in shown and caught.value.status == 503
