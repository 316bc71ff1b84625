"""Calling the endpoint: `client.query_user_metrics` / `send_query` and `query --send`, against
a local fake of Helicone built from the OpenAPI file (tests/fake_helicone.py), over real HTTP
on a loopback port; exotic answers through httpx's MockTransport."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import fake_helicone as fake
import httpx
import pytest
from command_line import console_script, run
from conftest import NOW, free_port, serving
from pages import PAGES, code_blocks, page_section

from helicone_filter.api.outputs import query_body
from helicone_filter.backends.request_body import QueryError
from helicone_filter.cli.commands import Exit
from helicone_filter.client import (
    DEFAULT_BASE_URL,
    EU_BASE_URL,
    HeliconeAPIError,
    UserMetricsPage,
    endpoint_url,
    query_user_metrics,
    send_query,
)

NOW_TEXT = "2025-06-01T12:00:00Z"  # conftest's NOW
BY_COST = sorted(fake.USERS, key=lambda u: -u["cost"])


@pytest.fixture(scope="module")
def helicone() -> Iterator[tuple[str, Any]]:
    """The fake's base URL and app (whose `state.received` lists the requests it accepted)."""
    app = fake.create_app()
    with serving(app) as url:
        yield url, app


@pytest.fixture
def url(helicone: tuple[str, Any]) -> str:
    return helicone[0]


@pytest.fixture
def received(helicone: tuple[str, Any]) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = helicone[1].state.received
    log.clear()
    return log


def _refused_port() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    return f"http://127.0.0.1:{free_port()}"


def _transport(
    answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request] | None = None
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return answer(request)

    return httpx.MockTransport(handler)


def _mock(
    answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request] | None = None
) -> httpx.Client:
    return httpx.Client(transport=_transport(answer, seen))


def _ok(request: httpx.Request) -> httpx.Response:
    page = {"users": fake.USERS[:1], "count": 1, "hasUsers": True}
    return httpx.Response(200, json={"data": page, "error": None})


# -- the fake keeps to the OpenAPI file -------------------------------------------------------


def test_the_fakes_answers_validate_against_the_openapi_file(
    url: str, received: list[dict[str, Any]]
) -> None:
    for user in fake.USERS:
        fake.validator(fake.USER_SCHEMA).validate(user)
    body = query_body("user_cost > 5", sort="cost:desc", limit=2, now=NOW)
    headers = {"Authorization": f"Bearer {fake.API_KEY}"}
    r = httpx.post(url + fake.PATH, json=body, headers=headers, timeout=10)
    assert r.status_code == 200
    fake.validator(fake.RESULT_SCHEMA).validate(r.json())
    fake.validator(fake.SUCCESS_SCHEMA).validate(r.json())
    assert [u["user_id"] for u in r.json()["data"]["users"]] == [u["user_id"] for u in BY_COST[:2]]

    failed = {"Authorization": f"Bearer {fake.FAILING_KEY}"}
    r = httpx.post(url + fake.PATH, json=body, headers=failed, timeout=10)
    assert r.status_code == 500
    fake.validator(fake.RESULT_SCHEMA).validate(r.json())
    assert r.json()["data"] is None


def test_the_fake_refuses_what_the_schema_refuses(url: str) -> None:
    headers = {"Authorization": f"Bearer {fake.API_KEY}"}
    bad = {"filter": {"users_view": {"user_cost": {"gt": "five"}}}, "offset": 0, "limit": "ten"}
    r = httpx.post(url + fake.PATH, json=bad, headers=headers, timeout=10)
    assert (r.status_code, r.json()["message"]) == (422, "Validation Failed")
    assert r.json()["details"] == {
        "requestBody.filter.users_view.user_cost.gt": {
            "message": "'five' is not of type 'number'",
            "value": "five",
        },
        "requestBody.limit": {"message": "'ten' is not of type 'number'", "value": "ten"},
    }
    r = httpx.post(url + fake.PATH, json={}, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert r.status_code == 401


# -- the library ------------------------------------------------------------------------------


def test_query_user_metrics_sends_query_bodys_body_and_returns_the_page(
    url: str, received: list[dict[str, Any]]
) -> None:
    page = query_user_metrics(
        "user_cost > 5",
        api_key=fake.API_KEY,
        base_url=url + "/",  # the trailing slash is dropped
        sort="cost:desc",
        limit=2,
        offset=1,
        since="7d",
        tz_offset=120,
        now=NOW,
    )
    assert page == UserMetricsPage(
        BY_COST[1:3], 4, True, {"users": BY_COST[1:3], "count": 4, "hasUsers": True}
    )
    assert isinstance(page.count, int)
    (request,) = received
    assert request["body"] == query_body(
        "user_cost > 5", sort="cost:desc", limit=2, offset=1, since="7d", tz_offset=120, now=NOW
    )
    assert request["headers"]["authorization"] == f"Bearer {fake.API_KEY}"
    assert request["headers"]["content-type"] == "application/json"


def test_time_filter_as_the_api_writes_it_or_as_a_pair(
    url: str, received: list[dict[str, Any]]
) -> None:
    window = {"startTimeUnixSeconds": 1748131200, "endTimeUnixSeconds": 1748779200}
    query_user_metrics("all", api_key=fake.API_KEY, base_url=url, time_filter=window, now=NOW)
    query_user_metrics(
        "all", api_key=fake.API_KEY, base_url=url, time_filter=("2025-05-25", None), now=NOW
    )
    assert [r["body"]["timeFilter"] for r in received] == [window, window]
    with pytest.raises(QueryError, match="not both"):
        query_user_metrics(
            "all", api_key=fake.API_KEY, base_url=url, time_filter=window, since="7d"
        )
    with pytest.raises(QueryError, match="keys startTimeUnixSeconds, endTimeUnixSeconds"):
        query_user_metrics("all", api_key=fake.API_KEY, base_url=url, time_filter={"start": 1})
    assert len(received) == 2  # nothing sent for the refused ones


def test_send_query_sends_a_body_as_it_is(url: str, received: list[dict[str, Any]]) -> None:
    body = {"filter": "all", "offset": 0, "limit": 1, "sort": {}}
    page = send_query(body, api_key=fake.API_KEY, base_url=url)
    assert (page.users, page.count, page.has_users) == (fake.USERS[:1], 4, True)
    assert received[0]["body"] == body


def test_a_bad_filter_is_refused_before_anything_is_sent(
    url: str, received: list[dict[str, Any]]
) -> None:
    from helicone_filter import FilterError

    with pytest.raises(FilterError, match="unknown field 'modle'"):
        query_user_metrics("modle = 1", api_key=fake.API_KEY, base_url=url)
    assert received == []


def test_401_says_which_key_to_set(url: str, received: list[dict[str, Any]]) -> None:
    with pytest.raises(HeliconeAPIError) as caught:
        query_user_metrics("all", api_key="sk-wrong", base_url=url)
    e = caught.value
    assert (e.status, e.url) == (401, url + fake.PATH)
    assert e.message == f"{url} refused the API key (HTTP 401: Invalid API key)"
    assert e.hint == (
        "set HELICONE_API_KEY (or api_key) to an API key of your Helicone organisation; a key "
        "of an EU account works only on the EU host (--eu, eu=True), a key of a US account "
        "only on the default host"
    )
    assert received == []


def test_422_lists_each_path_and_what_helicone_said(url: str) -> None:
    bad = {"filter": {"users_view": {"user_cost": {"gt": "five"}}}, "offset": 0, "limit": "ten"}
    with pytest.raises(HeliconeAPIError) as caught:
        send_query(bad, api_key=fake.API_KEY, base_url=url)
    e = caught.value
    assert (e.status, e.message) == (
        422,
        "Helicone refused the request body (HTTP 422: Validation Failed)",
    )
    assert e.details == [
        {
            "path": "requestBody.filter.users_view.user_cost.gt",
            "message": "'five' is not of type 'number'",
            "value": "five",
        },
        {"path": "requestBody.limit", "message": "'ten' is not of type 'number'", "value": "ten"},
    ]
    lines = str(e).splitlines()
    assert lines[:3] == [
        "Helicone refused the request body (HTTP 422: Validation Failed)",
        "  requestBody.filter.users_view.user_cost.gt: 'five' is not of type 'number' "
        '(value: "five")',
        "  requestBody.limit: 'ten' is not of type 'number' (value: \"ten\")",
    ]
    assert lines[3].startswith("  hint: each line is a path in the body")


@pytest.mark.parametrize(
    ("key", "limit", "status", "message", "hint"),
    [
        (
            fake.FAILING_KEY,
            10,
            500,
            "Helicone failed to run the query (HTTP 500: Error executing query: Code: 241. "
            "MEMORY_LIMIT_EXCEEDED)",
            "empty leaf",
        ),
        (
            fake.ERROR_200_KEY,
            10,
            200,
            "Helicone answered with an error (HTTP 200): organisation not found",
            "",
        ),
        (
            fake.GATEWAY_KEY,
            10,
            502,
            "Helicone is not available (HTTP 502: 502 Bad Gateway)",
            "try again later",
        ),
        (
            fake.API_KEY,
            5000,
            400,
            "Helicone refused the request (HTTP 400: Limit cannot be greater than 1000)",
            "",
        ),
    ],
)
def test_error_answers(
    url: str, key: str, limit: int, status: int, message: str, hint: str
) -> None:
    # The body as it is sent, not built by query_body: Helicone's own refusal of a limit
    # above 1,000 is what is tested, whatever query_body lets through.
    body = {"filter": {"users_view": {"user_cost": {"gt": 5}}}, "offset": 0, "limit": limit}
    with pytest.raises(HeliconeAPIError) as caught:
        send_query(body, api_key=key, base_url=url)
    assert (caught.value.status, caught.value.message) == (status, message)
    assert hint in caught.value.hint


def test_a_wrong_path_is_a_404_that_points_at_the_base_url(url: str) -> None:
    with pytest.raises(HeliconeAPIError) as caught:
        query_user_metrics("all", api_key=fake.API_KEY, base_url=url + "/api")
    e = caught.value
    assert (e.status, e.message) == (
        404,
        f"there is no user-metrics endpoint at {url}/api{fake.PATH} (HTTP 404: Not Found)",
    )
    assert e.hint == f"the base URL is the API host alone, e.g. {DEFAULT_BASE_URL}"


def test_a_timeout_says_which_and_where(url: str) -> None:
    started = time.monotonic()
    with pytest.raises(HeliconeAPIError) as caught:
        query_user_metrics("all", api_key=fake.SLOW_KEY, base_url=url, timeout=0.3)
    assert time.monotonic() - started < fake.SLOW_SECONDS - 0.5
    e = caught.value
    assert (e.status, e.url) == (None, url + fake.PATH)
    assert (
        e.message == f"{url} did not answer within 0.3 s (read timeout), at POST {url}{fake.PATH}"
    )
    assert "--timeout SECONDS" in e.hint


def test_connection_refused() -> None:
    base = _refused_port()
    with pytest.raises(HeliconeAPIError) as caught:
        query_user_metrics("all", api_key=fake.API_KEY, base_url=base, timeout=5)
    e = caught.value
    assert e.status is None
    assert e.message.startswith(f"could not connect to {base}: ")
    assert "--base-url" in e.hint


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "the API key is empty; nothing was sent"),
        (
            "sk-abc\n",
            "the API key has white space (a space or line break) at position 7, which cannot be "
            "sent in an HTTP header; nothing was sent",
        ),
        (
            "sk-ünï",
            "the API key has the character U+00FC at position 4, which cannot be sent in an "
            "HTTP header; nothing was sent",
        ),
    ],
)
def test_an_unusable_key_is_refused_before_sending(
    key: str, message: str, url: str, received: list[dict[str, Any]]
) -> None:
    with pytest.raises(HeliconeAPIError) as caught:
        query_user_metrics("all", api_key=key, base_url=url)
    assert (caught.value.status, caught.value.message) == (None, message)
    assert received == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "api.helicone.ai"}, "is not an http(s) URL of a host"),
        ({"base_url": "ftp://api.helicone.ai"}, "is not an http(s) URL of a host"),
        ({"base_url": "http://localhost:99999"}, "is not a URL"),
        ({"base_url": "https://api.helicone.ai?x=1"}, "has a query or fragment"),
        ({"timeout": 0}, "the timeout is a number of seconds above 0, not 0"),
        ({"timeout": float("nan")}, "not nan"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(HeliconeAPIError, match=re.escape(message)):
        query_user_metrics("all", api_key="sk-x", **kwargs)


def test_endpoint_url() -> None:
    assert endpoint_url() == "https://api.helicone.ai/v1/user/metrics/query"
    assert endpoint_url(eu=True) == "https://eu.api.helicone.ai/v1/user/metrics/query"
    assert endpoint_url("http://localhost:8585/", eu=True) == (
        "http://localhost:8585/v1/user/metrics/query"  # base_url wins over eu
    )
    assert endpoint_url("https://proxy.example.com/helicone//") == (
        "https://proxy.example.com/helicone/v1/user/metrics/query"
    )


def test_eu_picks_the_eu_host_and_the_default_is_the_us_host() -> None:
    seen: list[httpx.Request] = []
    query_user_metrics("all", api_key="sk-x", eu=True, client=_mock(_ok, seen))
    query_user_metrics("all", api_key="sk-x", client=_mock(_ok, seen))
    assert [str(r.url) for r in seen] == [EU_BASE_URL + fake.PATH, DEFAULT_BASE_URL + fake.PATH]
    assert seen[0].headers["authorization"] == "Bearer sk-x"


@pytest.mark.parametrize(
    ("response", "status", "message", "hint"),
    [
        (
            httpx.Response(200, text="<html><title>Sign in</title></html>"),
            200,
            "the answer from URL is not JSON (HTTP 200, text/plain; charset=utf-8): 'Sign in'",
            "is the base URL Helicone's API host?",
        ),
        (
            httpx.Response(200, json={"data": {"users": [], "count": "3", "hasUsers": True}}),
            200,
            "the answer from URL is not a page of users: data.count is not a number",
            "",
        ),
        (
            httpx.Response(200, json=[1, 2]),
            200,
            "the answer from URL is not a page of users: it has no data object",
            "",
        ),
        (
            httpx.Response(429, headers={"retry-after": "30"}, json={"error": "Too many"}),
            429,
            "Helicone is limiting the rate of requests with this key (HTTP 429: Too many)",
            "try again in 30 s",
        ),
        (
            httpx.Response(301, headers={"location": "https://api.helicone.ai/x"}),
            301,
            "URL redirects to https://api.helicone.ai/x (HTTP 301)",
            "use the host it points to",
        ),
        (
            httpx.Response(403, json={"error": {"message": "read access \x1b[31mneeded"}}),
            403,
            "https://example.com refused the API key (HTTP 403: read access ␛[31mneeded)",
            "the key also needs read access",
        ),
        (
            httpx.Response(418, content=b"\xff\xfe teapot"),
            418,
            "Helicone refused the request (HTTP 418: \ufffd\ufffd teapot)",
            "",
        ),
        (
            httpx.Response(503, text=""),
            503,
            "Helicone is not available (HTTP 503)",
            "try again later",
        ),
    ],
)
def test_other_answers(response: httpx.Response, status: int, message: str, hint: str) -> None:
    base = "https://example.com"
    with pytest.raises(HeliconeAPIError) as caught:
        send_query({}, api_key="sk-x", base_url=base, client=_mock(lambda _: response))
    assert caught.value.status == status
    assert caught.value.message == message.replace("URL", base + fake.PATH)
    assert hint in caught.value.hint


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"message": "Validation Failed"}, []),
        (
            {"details": ["limit is wrong", {"at": 1}]},
            [{"path": "", "message": "limit is wrong"}, {"path": "", "message": '{"at": 1}'}],
        ),
        ({"details": {"requestBody": "bad"}}, [{"path": "requestBody", "message": "bad"}]),
        ({"details": "bad\x1b[2J"}, [{"path": "", "message": "bad␛[2J"}]),
    ],
)
def test_422_bodies_of_other_shapes(body: Any, details: list[dict[str, Any]]) -> None:
    client = _mock(lambda _: httpx.Response(422, json=body))
    with pytest.raises(HeliconeAPIError) as caught:
        send_query({}, api_key="sk-x", client=client)
    assert caught.value.details == details
    shown = str(caught.value).splitlines()[1 : 1 + len(details)]
    assert shown == [
        f"  {d['path']}: {d['message']}" if d["path"] else f"  {d['message']}" for d in details
    ]


def test_the_module_imports_without_httpx_and_says_how_to_get_it() -> None:
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "from helicone_filter.client import HeliconeAPIError, query_user_metrics\n"
        "try:\n"
        "    query_user_metrics('all', api_key='sk-x')\n"
        "except HeliconeAPIError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "sending a query needs httpx, which is not installed; nothing was sent\n"
        "  hint: pip install 'helicone-filter[client]' (from a clone: pip install -e '.[client]')\n"
    )


# -- the command line -------------------------------------------------------------------------

TABLE = """\
user_id            total_requests  active_for       cost  first_active              last_active
alice@example.com            1200          12  12.500000  2025-05-01T09:00:00.000Z  2025-05-31T18:30:00.000Z
顧客-7                         45           3   1.750000  2025-04-02T00:00:00.000Z  2025-05-28T23:59:59.000Z
mallory␛[2J                    20           2   0.200000  2025-05-10T08:00:00.000Z  2025-05-11T08:00:00.000Z
bob                             7           1   0.000123  2025-05-20T10:00:00.000Z  2025-05-20T10:05:00.000Z

count: 4 (showing 1-4)
"""  # noqa: E501 - the table is as wide as it prints


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELICONE_API_KEY", fake.API_KEY)


@pytest.mark.usefixtures("key")
def test_send_prints_the_users_as_a_table(
    url: str,
    received: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = ["query", "user_cost > 5", "--sort", "cost:desc", "--send", "--base-url", url]
    code, out, err = run(argv, capsys, monkeypatch)
    assert (code, out, err) == (0, TABLE, "")
    assert received[0]["body"] == query_body("user_cost > 5", sort="cost:desc")

    argv = ["query", "all", "--sort", "cost:desc", "--offset", "3", "--send", "--base-url", url]
    code, out, _ = run(argv, capsys, monkeypatch)
    assert out.splitlines()[1].startswith("bob ")
    assert out.endswith("\ncount: 4 (showing 4-4)\n")

    code, out, _ = run(
        [*argv[:-3], "--offset", "9", "--send", "--base-url", url], capsys, monkeypatch
    )
    assert (code, out) == (0, "no users on this page\n\ncount: 4\n")


@pytest.mark.usefixtures("key")
def test_send_json_prints_helicones_data(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["query", "user_cost > 5", "--sort", "cost:desc", "--send", "--json", "--base-url", url]
    code, out, err = run(argv, capsys, monkeypatch)
    assert (code, err) == (0, "")
    assert out.count("\n") == 1  # compact in a pipe, as the body is
    assert json.loads(out) == {"users": BY_COST, "count": 4, "hasUsers": True}


@pytest.mark.usefixtures("key")
def test_send_reads_a_filter_json_from_stdin(
    url: str,
    received: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node = {"users_view": {"user_cost": {"gt": 5}}}
    argv = ["query", "--limit", "1", "--send", "--json", "--base-url", url]
    code, out, _ = run(argv, capsys, monkeypatch, stdin=json.dumps(node))
    assert code == 0 and len(json.loads(out)["users"]) == 1
    assert received[0]["body"] == {"filter": node, "offset": 0, "limit": 1}


def test_send_401(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELICONE_API_KEY", "sk-wrong")
    code, out, err = run(["query", "all", "--send", "--base-url", url], capsys, monkeypatch)
    assert (code, out) == (Exit.REQUEST_FAILED, "")
    assert err == (
        f"helicone-filter: error: {url} refused the API key (HTTP 401: Invalid API key)\n"
        "  hint: set HELICONE_API_KEY to an API key of your Helicone organisation; "
        "a key of an EU account works only on the EU host (--eu), a key of a US account "
        "only on the default host\n"
    )


@pytest.mark.usefixtures("key")
def test_send_422_shows_every_detail(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A body this library would not build: as if Helicone's schema had changed under it.
    def drifted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"filter": {"users_view": {"user_spend": {"gt": 5}}}, "offset": 0, "limit": -0.5e9}

    monkeypatch.setattr("helicone_filter.api.outputs.query_body", drifted)
    code, out, err = run(["query", "all", "--send", "--base-url", url], capsys, monkeypatch)
    assert (code, out) == (3, "")
    assert err.splitlines()[:2] == [
        "helicone-filter: error: Helicone refused the request body (HTTP 422: Validation Failed)",
        "  requestBody.filter.users_view: Additional properties are not allowed ('user_spend' "
        'was unexpected) (value: {"user_spend": {"gt": 5}})',
    ]


@pytest.mark.usefixtures("key")
def test_send_timeout(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELICONE_API_KEY", fake.SLOW_KEY)
    started = time.monotonic()
    argv = ["query", "all", "--send", "--base-url", url, "--timeout", "0.3"]
    code, out, err = run(argv, capsys, monkeypatch)
    assert time.monotonic() - started < fake.SLOW_SECONDS - 0.5
    assert (code, out) == (3, "")
    assert err == (
        f"helicone-filter: error: {url} did not answer within 0.3 s (read timeout), at POST "
        f"{url}{fake.PATH}\n"
        "  hint: allow more time (--timeout SECONDS), or try again later\n"
    )


@pytest.mark.usefixtures("key")
def test_send_connection_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = _refused_port()
    code, out, err = run(["query", "all", "--send", "--base-url", base], capsys, monkeypatch)
    assert (code, out) == (3, "")
    assert err.startswith(f"helicone-filter: error: could not connect to {base}: ")
    assert "Traceback" not in err


@pytest.mark.parametrize("value", [None, ""])
def test_send_without_a_key_is_a_usage_error_and_sends_nothing(
    value: str | None,
    url: str,
    received: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if value is None:
        monkeypatch.delenv("HELICONE_API_KEY", raising=False)
    else:
        monkeypatch.setenv("HELICONE_API_KEY", value)
    code, out, err = run(["query", "all", "--send", "--base-url", url], capsys, monkeypatch)
    assert (code, out) == (Exit.USAGE, "")
    state = "not set" if value is None else "empty"
    assert err == (
        "helicone-filter: error: --send needs a Helicone API key in HELICONE_API_KEY, "
        f"which is {state} (export HELICONE_API_KEY=sk-...); nothing was sent\n"
    )
    assert received == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--json"], "--json only apply with --send"),
        (["--eu", "--timeout", "5"], "--eu, --timeout only apply with --send"),
        (["--send", "--eu", "--base-url", "http://x"], "not allowed with argument --eu"),
        (["--send", "--base-url", "localhost:8585"], "--base-url: the base URL 'localhost:8585'"),
        (["--send", "--timeout", "0"], "--timeout: '0' is not a timeout: give seconds above 0"),
        (["--send", "--timeout", "soon"], "--timeout: 'soon' is not a timeout"),
    ],
)
@pytest.mark.usefixtures("key")
def test_send_options_misused(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run(["query", "all", *argv], capsys, monkeypatch)
    assert (code, out) == (Exit.USAGE, "")
    assert message in err


def test_send_key_with_a_line_break_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELICONE_API_KEY", "sk-abc\n")
    code, _, err = run(["query", "all", "--send"], capsys, monkeypatch)
    assert code == Exit.USAGE
    assert err.startswith("helicone-filter: error: HELICONE_API_KEY: the API key has white")


@pytest.mark.usefixtures("key")
def test_send_eu_picks_the_eu_host(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[httpx.Request] = []
    real = httpx.Client

    def mocked(**kwargs: Any) -> httpx.Client:
        return real(transport=_transport(_ok, seen), **kwargs)

    monkeypatch.setattr(httpx, "Client", mocked)
    code, out, _ = run(["query", "all", "--send", "--eu"], capsys, monkeypatch)
    assert code == 0 and out.startswith("user_id ")
    code, _, _ = run(["query", "all", "--send"], capsys, monkeypatch)
    assert [str(r.url) for r in seen] == [
        "https://eu.api.helicone.ai/v1/user/metrics/query",
        "https://api.helicone.ai/v1/user/metrics/query",
    ]
    assert seen[0].headers["authorization"] == f"Bearer {fake.API_KEY}"


def test_send_error_format_json_and_colour(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELICONE_API_KEY", "sk-wrong")
    argv = ["query", "all", "--send", "--base-url", url]
    code, out, err = run([*argv, "--error-format", "json"], capsys, monkeypatch)
    assert (code, out) == (3, "")
    assert json.loads(err) == {
        "error": {
            "message": f"{url} refused the API key (HTTP 401: Invalid API key)",
            "problems": [],
            "status": 401,
            "url": url + fake.PATH,
            "details": [],
            "hint": "set HELICONE_API_KEY to an API key of your Helicone "
            "organisation; a key of an EU account works only on the EU host (--eu), a "
            "key of a US account only on the default host",
        }
    }
    _, _, plain = run(argv, capsys, monkeypatch)
    assert "\x1b[" not in plain
    _, _, coloured = run([*argv, "--color", "always"], capsys, monkeypatch)
    assert coloured.startswith(f"helicone-filter: error: \x1b[1m{url} refused the API key")
    assert "\n  \x1b[36mhint:\x1b[0m set HELICONE_API_KEY" in coloured


def test_send_through_the_console_script(url: str) -> None:
    env = {**os.environ, "HELICONE_API_KEY": fake.API_KEY, "NO_COLOR": "1"}
    done = subprocess.run(
        [console_script(), "query", "--sort", "cost:desc", "--send", "--base-url", url, "-"],
        input="user_cost > 5",
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, TABLE, "")

    base = _refused_port()
    done = subprocess.run(
        [sys.executable, "-m", "helicone_filter", "query", "all", "--send", "--base-url", base],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr.startswith(f"helicone-filter: error: could not connect to {base}: ")
    assert "Traceback" not in done.stderr


def test_query_help_shows_send(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["query", "--help"], capsys, monkeypatch)
    assert code == 0
    for needle in ("--send", "--json", "--eu", "--base-url URL", "--timeout SECONDS"):
        assert needle in out
    assert "helicone-filter query 'user_cost > 5' --sort cost:desc --send" in out


def test_the_docs_table_is_what_send_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    section = page_section("## Sending the query", PAGES["docs/cli.md"])
    commands = code_blocks(section, "sh")[0].splitlines()
    argv = shlex.split(next(c for c in commands if c.startswith("helicone-filter query")))
    users = [u for u in fake.USERS if u["user_id"] in ("alice@example.com", "bob")]

    def answer(request: httpx.Request) -> httpx.Response:
        page = {"users": users, "count": 2, "hasUsers": True}
        return httpx.Response(200, json={"data": page, "error": None})

    real = httpx.Client
    monkeypatch.setattr(httpx, "Client", lambda **kw: real(transport=_transport(answer), **kw))
    monkeypatch.setenv("HELICONE_API_KEY", "sk-x")
    code, out, _ = run(argv[1:], capsys, monkeypatch)
    assert (code, out) == (0, code_blocks(section, "text")[0])
