"""Sends POST /v1/user/metrics/query to Helicone and reads the page of users it answers with.

The call is made once (no retries: a command line user sees Helicone's answer as it is); the
machinery (the deadline, the key kept out of errors, the capped answer) is `calls.py`'s.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helicone_filter.backends.request_body import DEFAULT_LIMIT, TimeFilter
from helicone_filter.client.calls import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    Endpoint,
    HeliconeAPIError,
    api_url,
    bearer,
    check_api_key,
    check_timeout,
    need_httpx,
    read_answer,
    refuse_error_answer,
    send,
    text_of,
)
from helicone_filter.facts.query_options import options_of
from helicone_filter.value_class import Record

if TYPE_CHECKING:
    import httpx

    from helicone_filter.backends.node_types import FilterNode

ENDPOINT = "/v1/user/metrics/query"

# What this endpoint's errors say of it.
USER_METRICS = Endpoint(
    name="user-metrics endpoint",
    too_large="a page of users (1,000 at most) is far smaller; is the base URL Helicone's API "
    f"host? The default is {DEFAULT_BASE_URL}",
    result_error='a filter with an empty leaf, such as {"users_view": {}}, fails this '
    "way (helicone-filter check finds those); otherwise try again later",
)


class UserMetricsPage(Record):
    """One page of Helicone's answer: the users, and how many match in all.

    Attributes:
        users: the users of this page, each a dict as Helicone sent it (`UserMetricsResult`:
            `user_id`, `total_requests`, `active_for` (days), `cost` (dollars),
            `first_active`, `last_active` (ISO 8601), token counts and averages).
        count: Helicone's `count` of the users that match, for paging through them.
        has_users: Helicone's `hasUsers`.
        data: the `data` object exactly as Helicone sent it, for printing as JSON.
    """

    users: list[dict[str, Any]]
    count: int | float
    has_users: bool
    data: dict[str, Any]


def endpoint_url(base_url: str | None = None, *, eu: bool = False) -> str:
    """The URL of POST /v1/user/metrics/query: on `base_url` if given, else on Helicone's EU
    host with `eu`, else on its US host.

    Raises:
        HeliconeAPIError: `base_url` is not an http(s) URL of a host.

    Example:
        >>> endpoint_url(eu=True)
        'https://eu.api.helicone.ai/v1/user/metrics/query'
    """
    return api_url(base_url, eu=eu, path=ENDPOINT)


def query_user_metrics(
    filter: FilterNode | dict[str, Any] | str,  # noqa: A002 - the body's own name for it
    *,
    api_key: str,
    base_url: str | None = None,
    eu: bool = False,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: str | dict[str, str] | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    tz_offset: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    now: datetime | None = None,
    client: httpx.Client | None = None,
    time_filter: TimeFilter | None = None,
) -> UserMetricsPage:
    """Ask Helicone for the users that match `filter`: one page of them, and the count.

    The body is `query.query_body`'s (the filter compiled or validated first, so a bad filter
    is refused before anything is sent), POSTed to `{base_url}/v1/user/metrics/query` with
    `Authorization: Bearer <api_key>`.

    Args:
        filter, limit, offset, sort, since, until, tz_offset, now, time_filter: as for
            `query_body` (`time_filter` is the API's `{"startTimeUnixSeconds": ...,
            "endTimeUnixSeconds": ...}` or a `(since, until)` pair).
        api_key: a Helicone API key (sent as a bearer token); never empty.
        base_url: the API host (default `https://api.helicone.ai`; a trailing slash is
            dropped), for a self-hosted Helicone or a proxy. It wins over `eu`.
        eu: use the EU host, `https://eu.api.helicone.ai`, as EU accounts must.
        timeout: seconds allowed for the whole call: connecting, sending, and reading all of
            the answer, however slowly the server sends it.
        client: an `httpx.Client` of your own (proxies, certificates, connection reuse);
            by default one is made for the call. Either way the request is made in a thread
            of its own, so that the timeout holds whatever the server does.

    Returns:
        The page: `users` (dicts as Helicone sent them), `count`, `has_users`, `data`.

    Raises:
        FilterError: the filter is not valid. QueryError: another body option is not.
        HeliconeAPIError: anything else, from a missing key to an error answer, no answer
            in time, or an answer larger than MAX_REPLY_BYTES.

    Example:
        >>> page = query_user_metrics(  # doctest: +SKIP
        ...     "user_cost > 5", api_key=os.environ["HELICONE_API_KEY"], sort="cost:desc"
        ... )
        >>> [(u["user_id"], u["cost"]) for u in page.users]  # doctest: +SKIP
        [('alice', 12.5), ('bob', 7.25)]
    """
    options = options_of(locals())  # the body's options, by their rows of QUERY_OPTIONS
    check_api_key(api_key)
    endpoint_url(base_url, eu=eu)
    check_timeout(timeout)
    from helicone_filter.api.outputs import query_body

    body = query_body(filter, now=now, **options)
    return send_query(
        body, api_key=api_key, base_url=base_url, eu=eu, timeout=timeout, client=client
    )


def send_query(
    body: dict[str, Any],
    *,
    api_key: str,
    base_url: str | None = None,
    eu: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    client: httpx.Client | None = None,
) -> UserMetricsPage:
    """POST a request body as it is (one `query_body` built, or one saved earlier) and read
    the answer. The arguments and the errors are those of `query_user_metrics`; the body is
    not checked here, so Helicone's own validator judges it (HTTP 422).

    Example:
        >>> send_query(  # doctest: +SKIP
        ...     query_body("user_cost > 5"), api_key=os.environ["HELICONE_API_KEY"], eu=True
        ... ).count
        42
    """
    check_api_key(api_key)
    url = endpoint_url(base_url, eu=eu)
    check_timeout(timeout)
    need_httpx(url)
    status, headers, content = send(
        client, url, body=body, headers=bearer(api_key), timeout=timeout, secret=api_key,
        too_large=USER_METRICS.too_large,
    )  # fmt: skip
    answer = read_answer(status, headers, content, url, api_key, USER_METRICS)
    return _page(status, answer, url)


def _page(status: int, body: Any, url: str) -> UserMetricsPage:
    refuse_error_answer(body, status, url)
    data = body.get("data") if isinstance(body, dict) else None
    problem = ""
    if not isinstance(data, dict):
        problem = "it has no data object"
    elif not isinstance(data.get("users"), list) or not all(
        isinstance(u, dict) for u in data["users"]
    ):
        problem = "data.users is not a list of objects"
    elif not _is_number(data.get("count")):
        problem = "data.count is not a number"
    elif not _is_count(data["count"]):
        problem = f"data.count is not a whole number of users, 0 or more: {text_of(data['count'])}"
    elif not isinstance(data.get("hasUsers"), bool):
        problem = "data.hasUsers is not true or false"
    if problem:
        raise HeliconeAPIError(
            f"the answer from {url} is not a page of users: {problem}",
            status=status,
            url=url,
            hint="is the base URL Helicone's API host? The default is " + DEFAULT_BASE_URL,
        )
    assert isinstance(data, dict)
    count = data["count"]
    if isinstance(count, float) and count.is_integer():
        count = int(count)
    return UserMetricsPage(data["users"], count, data["hasUsers"], data)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _is_count(x: int | float) -> bool:
    """A number of users: whole, finite, not below 0 (JSON has NaN and Infinity too)."""
    if isinstance(x, int):
        return x >= 0
    return math.isfinite(x) and x.is_integer() and x >= 0
