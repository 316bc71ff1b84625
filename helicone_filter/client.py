"""Sends POST /v1/user/metrics/query to Helicone and reads the page of users it answers with.

Needs httpx, the `client` extra (from a clone: `pip install -e '.[client]'`); it is imported only
when a request is sent, so this module imports without it.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from helicone_filter.backends.request_body import DEFAULT_LIMIT, TimeFilter
from helicone_filter.defaults import (
    API_KEY_ENV,
    CLIENT_TIMEOUT_SECONDS,
    HELICONE_BASE_URL,
    HELICONE_EU_BASE_URL,
    MAX_WAIT_SECONDS,
    install_hint,
)
from helicone_filter.facts.query_options import options_of
from helicone_filter.value_class import Record

if TYPE_CHECKING:
    import httpx

# The hosts, the timeout and the key's variable are said once in defaults.py; these names stay
# the client's own (API_KEY_ENV is imported above and re-exported as it is).
DEFAULT_BASE_URL = HELICONE_BASE_URL
EU_BASE_URL = HELICONE_EU_BASE_URL
DEFAULT_TIMEOUT = CLIENT_TIMEOUT_SECONDS
ENDPOINT = "/v1/user/metrics/query"

# The most of an answer's body that is read, in bytes. A page of 1,000 users (Helicone's
# largest) is under 1 MiB; past this the answer is refused while it streams in, so that a
# broken or hostile server cannot fill the memory. A Content-Length above it is refused before
# the body is read.
MAX_REPLY_BYTES = 16 * 1024 * 1024

# Where an error shows text from the server, at most this much of it.
_EXCERPT = 300
# What stands for the API key wherever a server's text holds it (one that echoes the request's
# Authorization header in its error, say), so that no message, log or terminal shows it.
REDACTED = "[API key]"
# Each step's own timeout in httpx is capped at this many seconds (a day): a larger number does
# not fit the platform's clocks, and the whole call's deadline still holds.
_MAX_STEP = MAX_WAIT_SECONDS
_TAG = re.compile(r"<[^>]*>")
_KEY_HINT = (
    f"set {API_KEY_ENV} (or api_key) to an API key of your Helicone organisation; "
    "a key of an EU account works only on the EU host (--eu, eu=True), "
    "a key of a US account only on the default host"
)


class HeliconeAPIError(Exception):
    """A call that did not bring back users: it could not be made, it got no answer, or
    Helicone answered with an error.

    Attributes:
        message: what went wrong, in one line.
        status: the HTTP status of Helicone's answer, or None when there was none (no
            connection, a timeout, an argument refused before sending).
        url: the URL the request went (or was to go) to; "" when it was not known yet.
        details: for HTTP 422, one entry per problem Helicone's validator listed:
            {"path": "requestBody.filter", "message": "...", "value": ...} ("value" only
            when Helicone gave one).
        hint: what to do about it, or "".
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str = "",
        details: list[dict[str, Any]] | None = None,
        hint: str = "",
    ) -> None:
        self.message = message
        self.status = status
        self.url = url
        self.details: list[dict[str, Any]] = details or []
        self.hint = hint
        super().__init__(message)

    def as_dict(self) -> dict[str, Any]:
        """The error as JSON-ready data: message, status, url, details, hint."""
        return {
            "message": self.message,
            "status": self.status,
            "url": self.url,
            "details": self.details,
            "hint": self.hint,
        }

    def render(self, *, color: bool = False) -> str:
        """The message, a line per detail, and the hint; ANSI colours with `color`.

        Example:
            Helicone refused the request body (HTTP 422: Validation Failed)
              requestBody.limit: invalid float number (value: "ten")
              hint: ...
        """
        from helicone_filter.errors import BOLD, CYAN, paint

        lines = [paint(self.message, BOLD, color)]
        for d in self.details:
            value = f" (value: {_clean(_json(d['value']), 80)})" if "value" in d else ""
            where = f"{d['path']}: " if d["path"] else ""
            lines.append(f"  {where}{d['message']}{value}")
        if self.hint:
            lines.append(f"  {paint('hint:', CYAN, color)} {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


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
    if base_url is None:
        return (EU_BASE_URL if eu else DEFAULT_BASE_URL) + ENDPOINT
    base = base_url.strip().rstrip("/")
    try:
        parts = urlsplit(base)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as e:
        raise HeliconeAPIError(f"the base URL {base_url!r} is not a URL: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HeliconeAPIError(
            f"the base URL {base_url!r} is not an http(s) URL of a host",
            hint=f"write it as {DEFAULT_BASE_URL} or http://localhost:8585",
        )
    if parts.query or parts.fragment:
        raise HeliconeAPIError(f"the base URL {base_url!r} has a query or fragment; drop it")
    return base + ENDPOINT


def check_api_key(api_key: str) -> str:
    """`api_key`, if it can be sent in an Authorization header.

    Raises:
        HeliconeAPIError: it is empty, or holds white space or a character that cannot go
            in an HTTP header (a key pasted with its line break, say).
    """
    if not isinstance(api_key, str) or not api_key:
        raise HeliconeAPIError(
            "the API key is empty; nothing was sent",
            hint=f"set {API_KEY_ENV} (or api_key) to an API key of your Helicone organisation",
        )
    for i, c in enumerate(api_key):
        if not (" " < c < "\x7f"):
            raise HeliconeAPIError(
                f"the API key has {_describe(c)} at position {i + 1}, which cannot be sent "
                "in an HTTP header; nothing was sent",
                hint="copy the key again, without spaces or line breaks",
            )
    return api_key


def _describe(c: str) -> str:
    if c.isspace():
        return "white space (a space or line break)"
    return f"the character U+{ord(c):04X}"


def query_user_metrics(
    filter: dict[str, Any] | str,  # noqa: A002 - the body's own name for it
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
    _check_timeout(timeout)
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
    _check_timeout(timeout)
    try:
        import httpx  # noqa: F401 - only to know that it is installed
    except ImportError:
        raise HeliconeAPIError(
            "sending a query needs httpx, which is not installed; nothing was sent",
            url=url,
            hint=install_hint("client"),
        ) from None
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Accept": "application/json",
    }
    status, answer_headers, content = _Call(url, timeout, api_key).make(client, body, headers)
    return _read(status, answer_headers, content, url, api_key)


def _check_timeout(timeout: float) -> None:
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise HeliconeAPIError(f"the timeout is a number of seconds above 0, not {timeout!r}")


# -- the call ---------------------------------------------------------------------------------

# The steps of a request as httpcore's `trace` events name them, and the timeout each step's
# overrun is reported as (`_TIMEOUTS`).
_STEPS = {
    "connect_tcp": "ConnectTimeout",
    "start_tls": "ConnectTimeout",
    "send_request_headers": "WriteTimeout",
    "send_request_body": "WriteTimeout",
    "receive_response_headers": "ReadTimeout",
}


class _Call:
    """One POST whose `timeout` bounds all of it: connecting, sending, reading the whole answer.

    httpx's timeouts bound each step alone (each connect, write and read), so a server that
    sends a byte now and then never trips them, and the read timeout of a body is fixed when
    the body starts, so it cannot shrink as the deadline nears. So the exchange runs in a
    daemon thread and the caller's thread waits for it until the deadline, no longer. At the
    deadline the connection's socket, when known (from httpcore's `trace` events for a new
    connection, from the response's `network_stream` for any), is shut down, which wakes the
    worker's read at once, and the worker closes what it opened. A transport that shows no
    socket (a caller's own, or a kept-alive connection still waiting for the headers) is left
    to end by its own timeouts or at the worker's next chunk, after the call has returned.
    """

    def __init__(self, url: str, timeout: float, secret: str = "") -> None:
        self.url = url
        self.timeout = timeout
        self.secret = secret  # the API key: never in an error's text
        self.deadline = time.monotonic() + timeout
        # Which step the call is at: a key of `_TIMEOUTS`, or "body" once the headers are in.
        # Without trace events (a transport of the caller's) it stays at waiting for them.
        self.step = "ReadTimeout"
        self.done = threading.Event()
        self.result: tuple[int, Any, bytes] | None = None
        self.error: Exception | None = None
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._cancelled = False

    def make(
        self, client: httpx.Client | None, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, bytes]:
        """The answer's status, headers and body, read by the deadline.

        Raises:
            HeliconeAPIError: no answer, or not all of it, by the deadline; no connection; an
                answer larger than MAX_REPLY_BYTES.
        """
        worker = threading.Thread(
            target=self._work,
            args=(client, body, headers),
            name="helicone-filter request",
            daemon=True,
        )
        worker.start()
        finished = False
        try:
            while not finished:
                left = self.deadline - time.monotonic()
                finished = self.done.wait(max(0.0, min(left, _MAX_STEP)))
                if not finished and left <= _MAX_STEP:
                    break
        finally:
            if not finished:  # the deadline, or an interrupt (Ctrl-C) while waiting
                self._cancel()
        if not finished:
            raise _timed_out(self.step, self.url, self.timeout)
        if self.error is not None:
            raise self._failed(self.error) from None
        assert self.result is not None
        return self.result

    def _work(self, client: httpx.Client | None, body: Any, headers: dict[str, str]) -> None:
        """The exchange, in the worker thread; its outcome in `result` or `error`."""
        import httpx

        try:
            if client is None:
                with httpx.Client(timeout=min(self.timeout, _MAX_STEP)) as own:
                    self.result = self._exchange(own, body, headers)
            else:
                self.result = self._exchange(client, body, headers)
        except Exception as e:  # handed to the caller's thread, which raises it as ours
            self.error = e
        finally:
            self.done.set()

    def _exchange(
        self, client: httpx.Client, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, bytes]:
        """POST, then read the answer in chunks up to MAX_REPLY_BYTES (stopping early if the
        caller's thread has given up on it)."""
        request = client.build_request(
            "POST",
            self.url,
            json=body,
            headers=headers,
            timeout=min(self.timeout, _MAX_STEP),
            extensions={"trace": self._trace},
        )
        response = client.send(request, stream=True)
        try:
            self.step = "body"
            self._watch(response.extensions.get("network_stream"))
            status, limit = response.status_code, MAX_REPLY_BYTES
            declared = response.headers.get("content-length", "").strip()
            if declared.isascii() and declared.isdigit() and int(declared[:30]) > limit:
                raise HeliconeAPIError(
                    f"the answer from {self.url} is {_clean(declared, 40)} bytes long (its "
                    f"Content-Length), more than the {_size(limit)} this client reads (HTTP "
                    f"{status}); it was not read",
                    status=status,
                    url=self.url,
                    hint=_TOO_LARGE_HINT,
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise HeliconeAPIError(
                        f"the answer from {self.url} is larger than {_size(limit)}, the most "
                        f"this client reads (HTTP {status}); reading it was stopped there",
                        status=status,
                        url=self.url,
                        hint=_TOO_LARGE_HINT,
                    )
                if self._cancelled:
                    break  # the caller has had its error; stop reading
                chunks.append(chunk)
            return status, response.headers, b"".join(chunks)
        finally:
            response.close()

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace callback: the step the call is at, and the socket once connected
        ("connection.connect_tcp.complete" with the stream as `return_value`)."""
        step, _, stage = event.rpartition(".")
        step = step.rpartition(".")[2]
        if stage == "started" and step in _STEPS:
            self.step = _STEPS[step]
        elif stage == "complete" and step in ("connect_tcp", "start_tls"):
            self._watch(info.get("return_value"))

    def _watch(self, stream: Any) -> None:
        """Note the socket under `stream`, to shut it down at the deadline (at once if that
        has passed already)."""
        try:
            found = stream.get_extra_info("socket") if stream is not None else None
        except Exception:  # a stream of another kind: then there is no socket to watch
            found = None
        if isinstance(found, socket.socket):
            with self._lock:
                self._socket = found
                if self._cancelled:
                    _shut(found)

    def _cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._socket is not None:
                _shut(self._socket)

    def _failed(self, e: Exception) -> Exception:
        """The worker's exception as the error to raise."""
        import httpx

        if isinstance(e, HeliconeAPIError):
            return e
        if isinstance(e, httpx.TimeoutException):
            # Every step's timeout is at least the time left, so one that fires means the
            # deadline has passed too; name it as the deadline would.
            step = "body" if self.step == "body" else type(e).__name__
            return _timed_out(step, self.url, self.timeout)
        if isinstance(e, httpx.RequestError):
            return _unreachable(e, self.url, self.secret)
        if isinstance(e, httpx.InvalidURL):
            reason = _clean(_redact(str(e), self.secret), _EXCERPT)
            return HeliconeAPIError(f"cannot send to {self.url}: {reason}", url=self.url)
        return e


def _shut(sock: socket.socket) -> None:
    """Shut the socket down for reading and writing, which wakes a thread blocked reading it
    (closing it would not). The plain socket's own method: an SSLSocket's drops its TLS state
    too, under the reading thread's feet."""
    with contextlib.suppress(OSError):  # closed already
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_TOO_LARGE_HINT = (
    "a page of users (1,000 at most) is far smaller; is the base URL Helicone's API host? "
    f"The default is {DEFAULT_BASE_URL}"
)


def _size(n: int) -> str:
    mib = 1024 * 1024
    return f"{n // mib} MiB" if n and n % mib == 0 else f"{n:,} bytes"


# -- no answer --------------------------------------------------------------------------------

# Where a call can run out of time: httpx's timeout classes by name (so that this table needs
# no import of httpx), and "body" for an answer begun but not finished.
_TIMEOUTS = {
    "ConnectTimeout": "could not connect to {host} within {t} s (connect timeout)",
    "WriteTimeout": "could not send the request to {host} within {t} s (write timeout)",
    "PoolTimeout": "no connection to {host} was free within {t} s (pool timeout)",
    "ReadTimeout": "{host} did not answer within {t} s (read timeout)",
    "body": "{host} did not finish answering within {t} s (it was still sending the answer)",
}


def _timed_out(step: str, url: str, timeout: float) -> HeliconeAPIError:
    """The error for a call that ran out of time at `step` (a key of `_TIMEOUTS`)."""
    template = _TIMEOUTS.get(step, _TIMEOUTS["ReadTimeout"])
    return HeliconeAPIError(
        template.format(host=_host(url), t=f"{timeout:g}") + f", at POST {url}",
        url=url,
        hint="allow more time (--timeout SECONDS, or timeout= in Python), or try again later",
    )


def _unreachable(e: Exception, url: str, secret: str = "") -> HeliconeAPIError:
    import httpx

    reason = _clean(_redact(str(e), secret) or type(e).__name__, _EXCERPT)
    if isinstance(e, httpx.ConnectError):
        return HeliconeAPIError(
            f"could not connect to {_host(url)}: {reason}",
            url=url,
            hint="check the network, and the host: the default is "
            f"{DEFAULT_BASE_URL}, --eu (eu=True) for EU accounts, --base-url (base_url=) "
            "for any other",
        )
    if isinstance(e, httpx.DecodingError):
        return HeliconeAPIError(
            f"the answer from {url} could not be decoded: {reason}",
            url=url,
            hint="is the base URL Helicone's API host? The default is " + DEFAULT_BASE_URL,
        )
    return HeliconeAPIError(
        f"the request to {url} failed: {type(e).__name__}: {reason}",
        url=url,
        hint="try again; if it keeps failing, check the network or the proxy settings",
    )


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- the answer -------------------------------------------------------------------------------


def _read(status: int, headers: Any, content: bytes, url: str, secret: str = "") -> UserMetricsPage:
    """The page in a 2xx answer, or the error any other answer means. Whatever of the answer
    an error shows has the API key `secret` replaced first (before it is cleaned or cut, so
    that no part of the key is left either)."""
    try:
        body: Any = json.loads(content)
        is_json = True
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        body, is_json = None, False
    if not (200 <= status < 300 and isinstance(body, dict) and body.get("error") is None):
        body = _redacted(body, secret)  # an error: its text may be shown
    headers = {name: _redact(headers.get(name, ""), secret) for name in _SHOWN_HEADERS}
    kind = _clean(headers["content-type"], 100)
    if 200 <= status < 300:
        if not is_json:
            raise HeliconeAPIError(
                f"the answer from {url} is not JSON (HTTP {status}, {kind or 'no content type'}"
                f"): {_text_excerpt(content, secret)!r}",
                status=status,
                url=url,
                hint="is the base URL Helicone's API host? The default is " + DEFAULT_BASE_URL,
            )
        return _page(status, body, url)
    said = _said(body) if is_json else _text_excerpt(content, secret)
    raise _refused(status, body if is_json else None, said, headers, url)


def _page(status: int, body: Any, url: str) -> UserMetricsPage:
    if isinstance(body, dict) and body.get("error") is not None:
        raise HeliconeAPIError(
            f"Helicone answered with an error (HTTP {status}): {_said(body)}",
            status=status,
            url=url,
        )
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
        problem = f"data.count is not a whole number of users, 0 or more: {_text(data['count'])}"
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


def _refused(status: int, body: Any, said: str, headers: Any, url: str) -> HeliconeAPIError:
    host = _host(url)
    said_part = f": {said}" if said else ""
    if status in (401, 403):
        return HeliconeAPIError(
            f"{host} refused the API key (HTTP {status}{said_part})",
            status=status,
            url=url,
            hint=_KEY_HINT + ("; the key also needs read access" if status == 403 else ""),
        )
    if status == 422:
        return HeliconeAPIError(
            f"Helicone refused the request body (HTTP 422{said_part})",
            status=status,
            url=url,
            details=_details(body),
            hint="each line is a path in the body and what Helicone's validator said of it; "
            "a body from query_body that Helicone refuses means its schema has changed",
        )
    if status == 429:
        wait = _clean(headers.get("retry-after", ""), 40)
        if not wait:
            after = "try again later"
        elif wait.isascii() and wait.isdigit():
            after = f"try again in {wait} s"
        else:  # an HTTP date
            after = f"try again after {wait}"
        return HeliconeAPIError(
            f"Helicone is limiting the rate of requests with this key (HTTP 429{said_part})",
            status=status,
            url=url,
            hint=after,
        )
    if status == 404:
        return HeliconeAPIError(
            f"there is no user-metrics endpoint at {url} (HTTP 404{said_part})",
            status=status,
            url=url,
            hint=f"the base URL is the API host alone, e.g. {DEFAULT_BASE_URL}",
        )
    if 300 <= status < 400:
        where = _clean(headers.get("location", ""), 200) or "elsewhere"
        return HeliconeAPIError(
            f"{url} redirects to {where} (HTTP {status})",
            status=status,
            url=url,
            hint="use the host it points to as the base URL (--base-url, base_url=)",
        )
    if status >= 500:
        if _is_result_error(body):
            return HeliconeAPIError(
                f"Helicone failed to run the query (HTTP {status}{said_part})",
                status=status,
                url=url,
                hint='a filter with an empty leaf, such as {"users_view": {}}, fails this '
                "way (helicone-filter check finds those); otherwise try again later",
            )
        return HeliconeAPIError(
            f"Helicone is not available (HTTP {status}{said_part})",
            status=status,
            url=url,
            hint="try again later",
        )
    return HeliconeAPIError(
        f"Helicone refused the request (HTTP {status}{said_part})", status=status, url=url
    )


def _is_result_error(body: Any) -> bool:
    """`ResultError_string_`: `{"data": null, "error": "..."}`."""
    return isinstance(body, dict) and body.get("data") is None and "error" in body


def _details(body: Any) -> list[dict[str, Any]]:
    """tsoa's `{"details": {"requestBody.x": {"message": ..., "value": ...}}}` as a list;
    any other shape of `details` as well as it can be read."""
    found = body.get("details") if isinstance(body, dict) else None
    out: list[dict[str, Any]] = []
    if isinstance(found, dict):
        for path, about in found.items():
            entry: dict[str, Any] = {"path": _clean(str(path), 200)}
            if isinstance(about, dict):
                entry["message"] = _clean(str(about.get("message", "")), _EXCERPT)
                if "value" in about:
                    entry["value"] = _clean_value(about["value"])
            else:
                entry["message"] = _text(about)
            out.append(entry)
    elif isinstance(found, list):
        out.extend({"path": "", "message": _text(about)} for about in found)
    elif found is not None:
        out.append({"path": "", "message": _text(found)})
    return out


def _text(value: Any) -> str:
    """A value from an error body as one printable line: a string as it is, else as JSON."""
    return _clean(value if isinstance(value, str) else _json(value), _EXCERPT)


def _said(body: Any) -> str:
    """What an error body says, as one printable line."""
    if isinstance(body, dict):
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value.strip():
                return _clean(value, _EXCERPT)
        if body:
            return _clean(_json(body), _EXCERPT)
        return ""
    if isinstance(body, str):
        return _clean(body, _EXCERPT)
    return "" if body is None else _clean(_json(body), _EXCERPT)


def _text_excerpt(content: bytes, secret: str = "") -> str:
    text = _redact(content.decode("utf-8", "replace"), secret)
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    return _clean(title.group(1) if title else _TAG.sub(" ", text), 200)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _clean(text: str, limit: int) -> str:
    """`text` from a server as one line fit for a message: runs of white space (line breaks,
    tabs) made one space, every other control character, lone surrogate and bidi control
    replaced as `errors.printable` does, so that a server can neither move the terminal's
    cursor, colour it or set its title, nor make a line show other than it reads, nor make
    printing the message fail; cut to `limit` characters. Every string from the server goes
    through this before it is put into a HeliconeAPIError."""
    from helicone_filter.errors import printable

    flat = printable(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _redact(text: str, secret: str) -> str:
    """`text` with the API key `secret` replaced by REDACTED wherever it stands (alone, or as
    `Bearer <key>`)."""
    return text.replace(secret, REDACTED) if secret and secret in text else text


# The answer's headers an error may show.
_SHOWN_HEADERS = ("content-type", "retry-after", "location")


def _redacted(value: Any, secret: str) -> Any:
    """A JSON value from a server with the API key `secret` replaced in each string in it,
    keys too."""
    return _each_string(value, lambda text: _redact(text, secret)) if secret else value


def _clean_value(value: Any) -> Any:
    """A JSON value from a server with each string in it, keys too, `_clean`ed."""
    return _each_string(value, lambda text: _clean(text, _EXCERPT))


def _each_string(value: Any, change: Callable[[str], str]) -> Any:
    """A copy of a JSON value with `change` made to each string in it, keys too (a loop, not
    recursion: the value may be nested as deep as json reads)."""
    if isinstance(value, str):
        return change(value)
    if not isinstance(value, dict | list):
        return value
    top: Any = {} if isinstance(value, dict) else []
    todo: list[tuple[Any, Any]] = [(value, top)]
    while todo:
        source, copy = todo.pop()
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in pairs:
            if isinstance(item, dict | list):
                inner: Any = {} if isinstance(item, dict) else []
                todo.append((item, inner))
            else:
                inner = change(item) if isinstance(item, str) else item
            if isinstance(copy, dict):
                copy[change(str(key))] = inner
            else:
                copy.append(inner)
    return top
