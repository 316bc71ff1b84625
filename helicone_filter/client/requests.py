"""Every request a filter selects between two moments, from Helicone's request endpoints.

`query_requests` is one page: POST /v1/request/query-clickhouse with a `RequestQueryParams`
body, its HTTP 201 answer read into `HeliconeRequest` records. `iter_requests` pages through
all of them, the way LangSmith's `list_runs(filter=...)` iterates runs, and never trusts
offsets, whose pages Helicone makes short, repeated and skipping (HELICONE-REQUESTS.md §3):

- **By time, down from a fixed upper bound.** Each page asks for the filter ANDed with
  `request_response_rmt.request_created_at` `gte` the window's start and `lte` the current
  upper bound, newest first (`sort: {created_at: "desc"}`), offset 0. Helicone binds those
  times in whole seconds, so the bounds are whole seconds and the records are cut to the
  exact window here. Every stored row newer than a page's oldest request is on that page, so
  the requests of the seconds after the page's oldest second are complete: they are yielded,
  and the next upper bound is that oldest second, inclusive (the overlap: the requests of
  that second are asked for again, with their neighbours). Nothing yielded can come again,
  so no set of everything seen is kept, and memory stays flat however many there are.
- **Short pages are not the end** (a request stored twice counts twice against the limit):
  only an empty page is, and only once confirmed (below).
- **Repeats** (a request on two pages) are yielded once: a page's requests at its oldest
  second are held back to the next page, which has them again; within a page, one record per
  `request_id`, the newest `updated_at`. Helicone answers with a request's newest version.
- **Ties**: when a whole page falls in one second (at least a page of stored rows in it, in
  an order that changes between queries), that second is read alone, 1,000 at a time, each
  query excluding the ids already had (`request_id` `not-equals`, as a balanced tree), until
  one brings nothing new; then the upper bound moves below that second.
- **A failed query is an empty page.** Helicone swallows a query's error (a ClickHouse timeout,
  say) and answers 201 `{"data": [], "error": null}`, just as at the end of the data. So an
  empty page is asked again, smaller (`limit` 1), `empty_checks` times (2 by default), each
  after a pause (`Retries.backoff`); a page that then comes back with requests means the
  first answer was a failure, and paging goes on from the same bound. Only an empty page
  confirmed every time ends the iteration (or the second, for ties). A query that fails every
  time, whatever the pause (a filter Helicone cannot run), cannot be told from no data at
  all: the library refuses such filters before sending (`helicone_filter.check`).
- **Retries** (`calls.send`): 429 honouring `Retry-After`, 408, 5xx but Helicone's own Result
  errors, dropped connections and timed-out tries, with backoff and jitter, within
  `retries.deadline` per page; 401 and 422 are never tried again and raise HeliconeAPIError
  with what Helicone said.
- **Bodies** on request (`bodies=True`): fetched page by page from each record's
  `signed_body_url`, without the API key, `body_workers` at once (`bodies.py`); one that
  cannot be had is reported in the record's `body_error`.

The API key goes only to the API host (`base_url`, or Helicone's US or EU host): never in a
body request, never in an error's text.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from helicone_filter.client.bodies import BODY_WORKERS, BodyFetcher
from helicone_filter.client.calls import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    Endpoint,
    HeliconeAPIError,
    Retries,
    api_url,
    bearer,
    check_api_key,
    check_timeout,
    need_httpx,
    read_answer,
    refuse_error_answer,
    send,
)
from helicone_filter.client.records import HeliconeRequest, epoch_ms, newest, parse_time
from helicone_filter.defaults import API_KEY_ENV
from helicone_filter.value_class import Record

if TYPE_CHECKING:
    import httpx

    from helicone_filter.backends.node_types import FilterNode

QUERY_PATH = "/v1/request/query-clickhouse"
# The most requests a page may ask for (Helicone answers "invalid limit" above it).
MAX_PAGE = 1000
# The window `iter_requests` reads when it is given no start: the last 30 days.
DEFAULT_DAYS = 30
# How many times an empty page is asked again before it is taken as the end.
EMPTY_CHECKS = 2

# What this endpoint's errors say of it.
REQUESTS = Endpoint(
    name="request endpoint",
    too_large="a page of requests (1,000 at most) is rarely that large; ask for fewer "
    f"(page_size), or check the base URL: the default is {DEFAULT_BASE_URL}",
    result_error="Helicone answers this way for a limit outside 0..1000; otherwise try again later",
)

_SECOND = 1000  # milliseconds


class RequestPage(Record):
    """One page of query-clickhouse's answer.

    Attributes:
        requests: the requests, as typed records, one per request id (the newest version).
        data: the `data` list exactly as Helicone sent it.
    """

    requests: list[HeliconeRequest]
    data: list[dict[str, Any]]


def filter_node(filter: FilterNode | dict[str, Any] | str) -> dict[str, Any] | str:  # noqa: A002
    """The FilterNode to send: JSON as it is (a dict, or "all"; Helicone's validator judges
    it), text compiled by the library.

    Raises:
        FilterError: the text is not a valid filter.
    """
    if isinstance(filter, dict) or filter == "all":
        return filter  # type: ignore[return-value]  # a FilterNode is JSON data too
    if not isinstance(filter, str):
        raise HeliconeAPIError(f"the filter is text or a FilterNode dict, not {filter!r}"[:200])
    import helicone_filter

    # The one place text becomes a filter for the request endpoints.
    return helicone_filter.compile(filter, endpoint="requests")  # type: ignore[return-value]


def window_filter(
    node: dict[str, Any] | str, since_ms: int | None, until_ms: int | None
) -> dict[str, Any] | str:
    """`node` ANDed with `request_created_at` `gte`/`lte` leaves, in whole seconds (which is
    how Helicone binds them): the start rounded down, the end rounded up, so that the whole
    window is inside."""
    leaves: list[dict[str, Any] | str] = []
    if since_ms is not None:
        leaves.append(_time_leaf("gte", since_ms // _SECOND))
    if until_ms is not None:
        leaves.append(_time_leaf("lte", -(-until_ms // _SECOND)))
    return all_of([node, *leaves])


def _time_leaf(operator: str, second: int) -> dict[str, Any]:
    moment = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"request_response_rmt": {"request_created_at": {operator: moment}}}


def all_of(nodes: list[dict[str, Any] | str]) -> dict[str, Any] | str:
    """The nodes ANDed as a balanced tree (depth log2 of their number); "all" ones left out."""
    nodes = [n for n in nodes if n != "all"]
    if not nodes:
        return "all"
    while len(nodes) > 1:
        paired: list[dict[str, Any] | str] = [
            {"left": nodes[i], "operator": "and", "right": nodes[i + 1]}
            for i in range(0, len(nodes) - 1, 2)
        ]
        if len(nodes) % 2:
            paired.append(nodes[-1])
        nodes = paired
    return nodes[0]


def _moment(value: str | datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    try:
        return parse_time(value)
    except ValueError:
        raise HeliconeAPIError(
            f"{name} is an ISO 8601 time (2025-01-31T12:00:00Z) or a datetime, not {value!r}"[:200]
        ) from None


def _api_key(api_key: str | None) -> str:
    key = os.environ.get(API_KEY_ENV, "") if api_key is None else api_key
    return check_api_key(key)


def query_requests(
    filter: FilterNode | dict[str, Any] | str = "all",  # noqa: A002 - the body's own name for it
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    eu: bool = False,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    sort: dict[str, Any] | None = None,
    is_scored: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: Retries | None = None,
    client: httpx.Client | None = None,
) -> RequestPage:
    """One page of POST /v1/request/query-clickhouse: the requests `filter` selects.

    Args:
        filter: a FilterNode (dict, or "all") sent as it is, or filter text, compiled first.
        api_key: a Helicone API key (default: the HELICONE_API_KEY environment variable).
        base_url, eu: the API host, as for `query_user_metrics`.
        since, until: the window, ANDed as `request_created_at` `gte`/`lte` leaves (whole
            seconds, as Helicone binds them; the start rounded down, the end up).
        limit: 0..1000 (Helicone's default would be 10). offset: as Helicone takes it; pages
            by offset repeat and skip requests, which `iter_requests` avoids.
        sort: Helicone's `SortLeafRequest`, `{"created_at": "desc"}` by default.
        is_scored: Helicone's `isScored` (True: only scored requests; False: only unscored).
        timeout: seconds for each try. retries: when to try again (`Retries()`: 6 tries
            within 600 s; `Retries(attempts=1)` for none).
        client: an `httpx.Client` of your own for the API calls.

    Raises:
        FilterError: the filter text is not valid. HeliconeAPIError: anything else.

    Example:
        >>> page = query_requests(  # doctest: +SKIP
        ...     {"request_response_rmt": {"model": {"equals": "gpt-4o"}}}, limit=5
        ... )
        >>> [(r.request_id, r.delay_ms, r.total_tokens) for r in page.requests]  # doctest: +SKIP
    """
    key = _api_key(api_key)
    url = api_url(base_url, eu=eu, path=QUERY_PATH)
    check_timeout(timeout)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_PAGE:
        raise HeliconeAPIError(f"limit is a whole number 0..{MAX_PAGE}, not {limit!r}")
    start, end = _moment(since, "since"), _moment(until, "until")
    node = window_filter(
        filter_node(filter),
        None if start is None else epoch_ms(start),
        None if end is None else epoch_ms(end),
    )
    body: dict[str, Any] = {
        "filter": node,
        "limit": limit,
        "offset": offset,
        "sort": sort or {"created_at": "desc"},
    }
    if is_scored is not None:
        body["isScored"] = is_scored
    need_httpx(url)
    return _post(client, url, body, key, timeout, retries or Retries())


def _post(
    client: httpx.Client | None,
    url: str,
    body: dict[str, Any],
    key: str,
    timeout: float,
    retries: Retries,
) -> RequestPage:
    status, headers, content = send(
        client, url, body=body, headers=bearer(key), timeout=timeout, secret=key,
        too_large=REQUESTS.too_large, retries=retries,
    )  # fmt: skip
    return _page(status, read_answer(status, headers, content, url, key, REQUESTS), url)


def _page(status: int, answer: Any, url: str) -> RequestPage:
    """The page in a 2xx answer's JSON, or the error its shape means."""
    refuse_error_answer(answer, status, url)
    data = answer.get("data") if isinstance(answer, dict) else None
    problem = ""
    records: list[HeliconeRequest] = []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        problem = "data is not a list of objects"
    else:
        try:
            records = [HeliconeRequest.from_json(item) for item in data]
        except ValueError as e:
            problem = str(e)
    if problem:
        raise HeliconeAPIError(
            f"the answer from {url} is not a page of requests: {problem}"[:400],
            status=status,
            url=url,
            hint="is the base URL Helicone's API host? The default is " + DEFAULT_BASE_URL,
        )
    assert isinstance(data, list)
    return RequestPage(newest(records), data)


def iter_requests(
    filter: FilterNode | dict[str, Any] | str = "all",  # noqa: A002 - the body's own name for it
    *,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    eu: bool = False,
    is_scored: bool | None = None,
    bodies: bool = False,
    body_workers: int = BODY_WORKERS,
    page_size: int = MAX_PAGE,
    empty_checks: int = EMPTY_CHECKS,
    timeout: float = DEFAULT_TIMEOUT,
    retries: Retries | None = None,
    client: httpx.Client | None = None,
) -> RequestStream:
    """Every request `filter` selects created between `since` and `until` (both included),
    newest first, each once, as typed records. How it pages: the module's docstring. The
    arguments are checked at once; the calls are made as the iterator is read. The iterator
    also gives a page's worth at a time (`.pages()`).

    Args:
        filter: a FilterNode (dict, or "all") sent as it is, or filter text, compiled first.
        since, until: ISO 8601 times or datetimes (UTC when no zone is given); by default
            the 30 days up to now. The end is fixed when iteration starts, so requests
            logged meanwhile do not move the pages.
        api_key: a Helicone API key (default: the HELICONE_API_KEY environment variable).
        base_url, eu: the API host (default Helicone's US host; `eu` its EU host).
        is_scored: Helicone's `isScored`; None (the default) selects scored requests and
            unscored ones alike.
        bodies: fetch each request's bodies from its `signed_body_url` (without the API
            key), `body_workers` at once; one that cannot be had sets `body_error`.
        page_size: requests asked for per page, 1..1000.
        empty_checks: how many times an empty page is asked again, after a pause, before
            it is taken as the end (Helicone answers a failed query with an empty page).
        timeout: seconds for each try of a call; retries: when to try again, and the
            deadline of each page with its retries (`Retries()` by default).
        client: an `httpx.Client` of your own for the API calls (bodies are fetched with
            a client of their own, which never holds the key).

    Raises:
        FilterError: the filter text is not valid. HeliconeAPIError: a call failed after its
            retries, the key was refused (401), the body was (422), or an argument is wrong.

    Example:
        >>> for r in iter_requests(  # doctest: +SKIP
        ...     'model = "gpt-4o"', since="2025-01-01T00:00:00Z", until="2025-02-01T00:00:00Z"
        ... ):
        ...     print(r.request_id, r.created, r.delay_ms, r.cost)
    """
    key = _api_key(api_key)
    url = api_url(base_url, eu=eu, path=QUERY_PATH)
    check_timeout(timeout)
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise HeliconeAPIError(f"page_size is a whole number 1..{MAX_PAGE}, not {page_size!r}")
    if not 1 <= page_size <= MAX_PAGE:
        raise HeliconeAPIError(f"page_size is a whole number 1..{MAX_PAGE}, not {page_size!r}")
    if isinstance(empty_checks, bool) or not isinstance(empty_checks, int) or empty_checks < 0:
        raise HeliconeAPIError(f"empty_checks is a whole number, 0 or more, not {empty_checks!r}")
    end = _moment(until, "until") or datetime.now(UTC)
    start = _moment(since, "since") or end - timedelta(days=DEFAULT_DAYS)
    if start > end:
        raise HeliconeAPIError(f"since ({start.isoformat()}) is after until ({end.isoformat()})")
    node = filter_node(filter)
    need_httpx(url)
    policy = retries or Retries()
    pager = _Pager(
        node, epoch_ms(start), epoch_ms(end), page_size, empty_checks, is_scored,
        lambda body: _post(client, url, body, key, timeout, policy), policy,
    )  # fmt: skip
    fetcher = None
    if bodies:
        fetcher = BodyFetcher(workers=body_workers, timeout=timeout, retries=policy, secret=key)
    return RequestStream(pager, fetcher)


class RequestStream(Iterator[HeliconeRequest]):
    """What `iter_requests` returns: an iterator of the requests, one by one, newest first.

    `pages()` gives the same requests a page's worth at a time instead (lists, in the same
    order; use one way or the other, not both): what a consumer that hands records on in
    batches wants, such as a thread writing them to a spool. `close()` stops the paging and
    the body fetcher's threads; so does the end of the iteration.
    """

    def __init__(self, pager: _Pager, fetcher: BodyFetcher | None) -> None:
        self._pages = self._fetch(pager, fetcher)
        self._records = itertools.chain.from_iterable(self._pages)

    @staticmethod
    def _fetch(pager: _Pager, fetcher: BodyFetcher | None) -> Iterator[list[HeliconeRequest]]:
        try:
            for batch in pager.batches():
                yield batch if fetcher is None else fetcher.fetch(batch)
        finally:
            if fetcher is not None:
                fetcher.close()

    def __next__(self) -> HeliconeRequest:
        return next(self._records)

    def pages(self) -> Iterator[list[HeliconeRequest]]:
        """The requests, a page's worth at a time (a page of Helicone's, less the repeats)."""
        return self._pages

    def close(self) -> None:
        self._pages.close()  # type: ignore[attr-defined]


class _Pager:
    """The paging of `iter_requests`: batches of records, each yielded once (see the
    module's docstring)."""

    def __init__(
        self,
        node: dict[str, Any] | str,
        since_ms: int,
        until_ms: int,
        page_size: int,
        empty_checks: int,
        is_scored: bool | None,
        post: Callable[[dict[str, Any]], RequestPage],
        retries: Retries,
    ) -> None:
        self.node = node
        self.since_ms = since_ms
        self.until_ms = until_ms
        self.page_size = page_size
        self.empty_checks = empty_checks
        self.is_scored = is_scored
        self.post = post
        self.retries = retries

    def batches(self) -> Iterator[list[HeliconeRequest]]:
        """The records, a page's worth at a time, newest first."""
        low = self.since_ms // _SECOND  # whole seconds, as Helicone binds them
        upper = -(-self.until_ms // _SECOND)
        while upper >= low:
            page = self._page(low, upper, self.page_size)
            if not page:
                if self._confirmed_empty(low, upper, ()):
                    return
                continue
            oldest = -(-min(r.created_ms for r in page) // _SECOND)  # its second, rounded up
            if oldest < upper:
                kept = self._in_window(r for r in page if r.created_ms > oldest * _SECOND)
                del page  # not held while the next page is fetched: memory stays one page
                yield kept
                upper = oldest
            else:  # the whole page in the second before `upper`: ties, read it alone
                yield from self._second(upper)
                upper -= 1

    def _second(self, upper: int) -> Iterator[list[HeliconeRequest]]:
        """The requests of the second ending at `upper` (after upper - 1, up to upper),
        however many: each query excludes the ids already had, until one brings none new."""
        had: set[str] = set()
        while True:
            exclude = tuple(sorted(had))
            page = self._page(upper - 1, upper, MAX_PAGE, exclude)
            new = [r for r in page if r.request_id not in had]
            if not new:
                if self._confirmed_empty(upper - 1, upper, exclude):
                    return
                continue
            had.update(r.request_id for r in new)
            yield self._in_window(r for r in new if r.created_ms > (upper - 1) * _SECOND)

    def _page(
        self, low: int, upper: int, limit: int, exclude: tuple[str, ...] = ()
    ) -> list[HeliconeRequest]:
        """The requests of one query: the filter in [low, upper] (whole seconds), without
        the `exclude`d ids, newest first; those outside the window dropped (never yielded)."""
        leaves: list[dict[str, Any] | str] = [
            {"request_response_rmt": {"request_id": {"not-equals": i}}} for i in exclude
        ]
        node = all_of([window_filter(self.node, low * _SECOND, upper * _SECOND), all_of(leaves)])
        body: dict[str, Any] = {
            "filter": node,
            "limit": limit,
            "offset": 0,
            "sort": {"created_at": "desc"},
        }
        if self.is_scored is not None:
            body["isScored"] = self.is_scored
        page = self.post(body)
        return [
            r
            for r in page.requests
            if low * _SECOND <= r.created_ms <= upper * _SECOND and r.request_id not in exclude
        ]

    def _confirmed_empty(self, low: int, upper: int, exclude: tuple[str, ...]) -> bool:
        """Whether [low, upper] is really empty: asked again, smaller, `empty_checks` times
        after a pause each; False at the first answer with a request in it."""
        for n in range(1, self.empty_checks + 1):
            self.retries.sleep(self.retries.backoff(n))
            if self._page(low, upper, 1, exclude):
                return False
        return True

    def _in_window(self, records: Iterable[HeliconeRequest]) -> list[HeliconeRequest]:
        """The records created in the exact window (the queries' bounds are whole seconds),
        newest first."""
        kept = [r for r in records if self.since_ms <= r.created_ms <= self.until_ms]
        return sorted(kept, key=lambda r: r.created_ms, reverse=True)
