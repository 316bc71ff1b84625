"""The HTTP machinery every call to Helicone shares: one request with a deadline over all of it,
retries with backoff and jitter, the API key kept out of every error, and an answer read up to
a cap and turned into the error it means.

- `Call` makes one request whose `timeout` bounds all of it (connecting, sending, reading the
  whole answer, however slowly it comes), and reads at most MAX_REPLY_BYTES of the answer.
- `send` makes a call again on what is worth another try (`Retries`: 429, honouring its
  `Retry-After`; 408; 5xx but Helicone's own `{"data": null, "error": ...}`; a dropped
  connection or a timed-out try), waiting with backoff and jitter in between, within a total
  deadline for the call and its retries; 401, 403 and 422 are never tried again.
- `read_answer` reads a 2xx answer's JSON, or raises the HeliconeAPIError any other answer
  means (`refused`), with the API key replaced by REDACTED in whatever of the server's text
  it shows, and every string from the server made safe for a terminal (`clean`).

The endpoints' modules (`user_metrics.py`, `requests.py`) build bodies and read pages; what
they say differently in an error (their name, what a page holds) is an `Endpoint`.

Needs httpx, the `client` extra (from a clone: `pip install -e '.[client]'`); it is imported
only when a request is sent, so this module imports without it.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from helicone_filter.defaults import (
    API_KEY_ENV,
    CLIENT_TIMEOUT_SECONDS,
    HELICONE_BASE_URL,
    HELICONE_EU_BASE_URL,
    MAX_WAIT_SECONDS,
    install_hint,
)
from helicone_filter.value_class import Record

if TYPE_CHECKING:
    import httpx

# The hosts, the timeout and the key's variable are said once in defaults.py; these names stay
# the client's own (API_KEY_ENV is imported above and re-exported as it is).
DEFAULT_BASE_URL = HELICONE_BASE_URL
EU_BASE_URL = HELICONE_EU_BASE_URL
DEFAULT_TIMEOUT = CLIENT_TIMEOUT_SECONDS

# The most of an answer's body that is read, in bytes. A page of 1,000 users or requests
# (Helicone's largest) is a few MiB at most; past this the answer is refused while it streams
# in, so that a broken or hostile server cannot fill the memory. A Content-Length above it is
# refused before the body is read.
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


class Endpoint(Record):
    """What an endpoint's errors say that another's do not.

    Attributes:
        name: how a 404 names it ("user-metrics endpoint").
        too_large: the hint for an answer larger than MAX_REPLY_BYTES.
        result_error: the hint for Helicone's `{"data": null, "error": ...}` with a 5xx.
    """

    name: str
    too_large: str
    result_error: str


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
            value = f" (value: {clean(_json(d['value']), 80)})" if "value" in d else ""
            where = f"{d['path']}: " if d["path"] else ""
            lines.append(f"  {where}{d['message']}{value}")
        if self.hint:
            lines.append(f"  {paint('hint:', CYAN, color)} {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def api_url(base_url: str | None, *, eu: bool, path: str) -> str:
    """The URL of `path` on `base_url` if given, else on Helicone's EU host with `eu`, else on
    its US host.

    Raises:
        HeliconeAPIError: `base_url` is not an http(s) URL of a host.

    Example:
        >>> api_url(None, eu=True, path="/v1/request/query-clickhouse")
        'https://eu.api.helicone.ai/v1/request/query-clickhouse'
    """
    if base_url is None:
        return (EU_BASE_URL if eu else DEFAULT_BASE_URL) + path
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
    return base + path


def need_httpx(url: str) -> None:
    """Raises HeliconeAPIError, saying how to install it, when httpx is not installed."""
    try:
        import httpx  # noqa: F401 - only to know that it is installed
    except ImportError:
        raise HeliconeAPIError(
            "sending a query needs httpx, which is not installed; nothing was sent",
            url=url,
            hint=install_hint("client"),
        ) from None


def bearer(api_key: str) -> dict[str, str]:
    """The headers of a call to Helicone's API with `api_key`: never sent to another host."""
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}


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


def check_timeout(timeout: float) -> None:
    """Raises HeliconeAPIError unless `timeout` is a finite number of seconds above 0."""
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


class Call:
    """One request whose `timeout` bounds all of it: connecting, sending, reading the whole
    answer (a POST of JSON to Helicone's API, or a GET of a body from its storage).

    httpx's timeouts bound each step alone (each connect, write and read), so a server that
    sends a byte now and then never trips them, and the read timeout of a body is fixed when
    the body starts, so it cannot shrink as the deadline nears. So the exchange runs in a
    daemon thread and the caller's thread waits for it until the deadline, no longer. At the
    deadline the connection's socket, when known (from httpcore's `trace` events for a new
    connection, from the response's `network_stream` for any), is shut down, which wakes the
    worker's read at once, and the worker closes what it opened. A transport that shows no
    socket (a caller's own, or a kept-alive connection still waiting for the headers) is left
    to end by its own timeouts or at the worker's next chunk, after the call has returned.

    After a failure, `transient` says whether trying again may help: the connection dropped
    or could not be made, or the time ran out; not an answer too large.
    """

    def __init__(
        self,
        url: str,
        timeout: float,
        secret: str = "",
        *,
        method: str = "POST",
        too_large: str = "",
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.secret = secret  # the API key: never in an error's text
        self.method = method
        self.too_large = too_large or _TOO_LARGE_HINT
        self.transient = False
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
            self.transient = True
            raise _timed_out(self.step, self.url, self.timeout, self.method)
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
        """Send, then read the answer in chunks up to MAX_REPLY_BYTES (stopping early if the
        caller's thread has given up on it)."""
        request = client.build_request(
            self.method,
            self.url,
            json=body if self.method == "POST" else None,
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
                    f"the answer from {self.url} is {clean(declared, 40)} bytes long (its "
                    f"Content-Length), more than the {_size(limit)} this client reads (HTTP "
                    f"{status}); it was not read",
                    status=status,
                    url=self.url,
                    hint=self.too_large,
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
                        hint=self.too_large,
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
            self.transient = True
            return _timed_out(step, self.url, self.timeout, self.method)
        if isinstance(e, httpx.RequestError):
            self.transient = isinstance(e, httpx.TransportError)
            return _unreachable(e, self.url, self.secret)
        if isinstance(e, httpx.InvalidURL):
            reason = clean(redact(str(e), self.secret), _EXCERPT)
            return HeliconeAPIError(f"cannot send to {self.url}: {reason}", url=self.url)
        return e


def _shut(sock: socket.socket) -> None:
    """Shut the socket down for reading and writing, which wakes a thread blocked reading it
    (closing it would not). The plain socket's own method: an SSLSocket's drops its TLS state
    too, under the reading thread's feet."""
    with contextlib.suppress(OSError):  # closed already
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_TOO_LARGE_HINT = f"is the base URL Helicone's API host? The default is {DEFAULT_BASE_URL}"


def _size(n: int) -> str:
    mib = 1024 * 1024
    return f"{n // mib} MiB" if n and n % mib == 0 else f"{n:,} bytes"


# -- trying again -----------------------------------------------------------------------------


class Retries(Record):
    """When and how long to wait before trying a call again.

    A call is tried at most `attempts` times. Before each new try it waits: the `Retry-After`
    of a 429 (seconds or an HTTP date) when it gives one, else `base * 2**n` seconds (n = the
    tries so far, at most `cap`) with jitter, a random half of it added or taken away, so
    that many clients refused together do not come back together. `deadline` bounds the call
    and all its tries and waits: a wait that would end past it is not made, and the last
    error is raised at once. `sleep` and `jitter` (a number in [0, 1)) are the clock's and
    the dice's, for tests.

    Example:
        >>> Retries(attempts=1).attempts  # never try again
        1
    """

    attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    deadline: float = 600.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def backoff(self, tries: int) -> float:
        """The wait after `tries` tries, with jitter: base * 2**(tries - 1), capped, +/- half."""
        wait = min(self.cap, self.base * 2 ** max(0, tries - 1))
        return float(wait * (0.5 + self.jitter()))


# Once: no call is tried again (the user-metrics call, as it always was).
ONCE = Retries(attempts=1)

# The answers worth another try: Helicone's route timeout, its rate limit, and the 5xx of a
# server that failed or was not there (but not Helicone's own `{"data": null, "error": ...}`:
# the same query fails the same way again). 401, 403 and 422 never change on their own.
_RETRIED = {408, 429}


def worth_retrying(status: int, content: bytes) -> bool:
    """Whether an answer with `status` and body `content` may be different next time."""
    if status in _RETRIED:
        return True
    if status < 500:
        return False
    try:
        return not is_result_error(json.loads(content))
    except (ValueError, RecursionError):
        return True


def retry_after(headers: Any, now: float | None = None) -> float | None:
    """The seconds a `Retry-After` header asks to wait (a number, or an HTTP date), or None.

    Example:
        >>> retry_after({"retry-after": "120"})
        120.0
    """
    value = str(headers.get("retry-after", "") or "").strip()
    if not value:
        return None
    if value.isascii() and value.replace(".", "", 1).isdigit():
        return min(float(value), MAX_WAIT_SECONDS)
    try:
        moment = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, moment - (time.time() if now is None else now)), MAX_WAIT_SECONDS)


def send(
    client: httpx.Client | None,
    url: str,
    *,
    body: Any = None,
    headers: dict[str, str],
    timeout: float,
    secret: str = "",
    method: str = "POST",
    too_large: str = "",
    retries: Retries = ONCE,
) -> tuple[int, Any, bytes]:
    """Make a call (`Call`), and again as `retries` says while the answer is worth another try
    (`worth_retrying`) or the connection dropped or the try ran out of time; the last answer's
    status, headers and body.

    Each try has `timeout` seconds, or what is left of `retries.deadline` if less.

    Raises:
        HeliconeAPIError: no answer on the last try, or no time left to try again after a
            failed one.
    """
    deadline = time.monotonic() + retries.deadline
    tries = 0
    while True:
        tries += 1
        left = deadline - time.monotonic()
        call = Call(url, max(0.001, min(timeout, left)), secret, method=method, too_large=too_large)
        try:
            status, answer_headers, content = call.make(client, body, headers)
        except HeliconeAPIError:
            if not call.transient or not _wait(retries, tries, None, deadline):
                raise
            continue
        if not worth_retrying(status, content):
            return status, answer_headers, content
        asked = retry_after(answer_headers) if status == 429 else None
        if not _wait(retries, tries, asked, deadline):
            return status, answer_headers, content


def _wait(retries: Retries, tries: int, asked: float | None, deadline: float) -> bool:
    """Wait before the next try, as `retries` says (or `asked` seconds, a Retry-After, with up
    to a tenth more for jitter); False, without waiting, when no try is left or the wait
    would end past the deadline."""
    if tries >= retries.attempts:
        return False
    wait = retries.backoff(tries) if asked is None else float(asked * (1 + retries.jitter() / 10))
    if time.monotonic() + wait > deadline:
        return False
    retries.sleep(wait)
    return True


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


def _timed_out(step: str, url: str, timeout: float, method: str = "POST") -> HeliconeAPIError:
    """The error for a call that ran out of time at `step` (a key of `_TIMEOUTS`)."""
    template = _TIMEOUTS.get(step, _TIMEOUTS["ReadTimeout"])
    return HeliconeAPIError(
        template.format(host=host_of(url), t=f"{timeout:g}") + f", at {method} {url}",
        url=url,
        hint="allow more time (--timeout SECONDS, or timeout= in Python), or try again later",
    )


def _unreachable(e: Exception, url: str, secret: str = "") -> HeliconeAPIError:
    import httpx

    reason = clean(redact(str(e), secret) or type(e).__name__, _EXCERPT)
    if isinstance(e, httpx.ConnectError):
        return HeliconeAPIError(
            f"could not connect to {host_of(url)}: {reason}",
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


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- the answer -------------------------------------------------------------------------------


def read_answer(
    status: int, headers: Any, content: bytes, url: str, secret: str, endpoint: Endpoint
) -> Any:
    """The JSON of a 2xx answer, or the error any other answer means. Whatever of the answer
    an error shows has the API key `secret` replaced first (before it is cleaned or cut, so
    that no part of the key is left either); so has a 2xx answer's JSON when it holds an
    `error`, which the endpoint's reader may show."""
    try:
        body: Any = json.loads(content)
        is_json = True
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        body, is_json = None, False
    if not (200 <= status < 300 and isinstance(body, dict) and body.get("error") is None):
        body = redacted(body, secret)  # an error: its text may be shown
    headers = {name: redact(headers.get(name, ""), secret) for name in _SHOWN_HEADERS}
    kind = clean(headers["content-type"], 100)
    if 200 <= status < 300:
        if not is_json:
            raise HeliconeAPIError(
                f"the answer from {url} is not JSON (HTTP {status}, {kind or 'no content type'}"
                f"): {text_excerpt(content, secret)!r}",
                status=status,
                url=url,
                hint="is the base URL Helicone's API host? The default is " + DEFAULT_BASE_URL,
            )
        return body
    said = what_said(body) if is_json else text_excerpt(content, secret)
    raise refused(status, body if is_json else None, said, headers, url, endpoint)


def refused(
    status: int, body: Any, said: str, headers: Any, url: str, endpoint: Endpoint
) -> HeliconeAPIError:
    """The error an answer other than 2xx means: what Helicone said (`said`, cleaned), and
    what to do about it, by its status."""
    host = host_of(url)
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
        wait = clean(headers.get("retry-after", ""), 40)
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
            f"there is no {endpoint.name} at {url} (HTTP 404{said_part})",
            status=status,
            url=url,
            hint=f"the base URL is the API host alone, e.g. {DEFAULT_BASE_URL}",
        )
    if 300 <= status < 400:
        where = clean(headers.get("location", ""), 200) or "elsewhere"
        return HeliconeAPIError(
            f"{url} redirects to {where} (HTTP {status})",
            status=status,
            url=url,
            hint="use the host it points to as the base URL (--base-url, base_url=)",
        )
    if status >= 500:
        if is_result_error(body):
            return HeliconeAPIError(
                f"Helicone failed to run the query (HTTP {status}{said_part})",
                status=status,
                url=url,
                hint=endpoint.result_error,
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


def is_result_error(body: Any) -> bool:
    """`ResultError_string_`: `{"data": null, "error": "..."}`."""
    return isinstance(body, dict) and body.get("data") is None and "error" in body


def _details(body: Any) -> list[dict[str, Any]]:
    """tsoa's `{"details": {"requestBody.x": {"message": ..., "value": ...}}}` as a list;
    any other shape of `details` as well as it can be read."""
    found = body.get("details") if isinstance(body, dict) else None
    out: list[dict[str, Any]] = []
    if isinstance(found, dict):
        for path, about in found.items():
            entry: dict[str, Any] = {"path": clean(str(path), 200)}
            if isinstance(about, dict):
                entry["message"] = clean(str(about.get("message", "")), _EXCERPT)
                if "value" in about:
                    entry["value"] = clean_value(about["value"])
            else:
                entry["message"] = text_of(about)
            out.append(entry)
    elif isinstance(found, list):
        out.extend({"path": "", "message": text_of(about)} for about in found)
    elif found is not None:
        out.append({"path": "", "message": text_of(found)})
    return out


def text_of(value: Any) -> str:
    """A value from an error body as one printable line: a string as it is, else as JSON."""
    return clean(value if isinstance(value, str) else _json(value), _EXCERPT)


def refuse_error_answer(answer: Any, status: int, url: str) -> None:
    """HeliconeAPIError for a 2xx answer whose `error` is set (Helicone's `Result` with an
    error), saying what it says; nothing for any other answer."""
    if isinstance(answer, dict) and answer.get("error") is not None:
        raise HeliconeAPIError(
            f"Helicone answered with an error (HTTP {status}): {what_said(answer)}",
            status=status,
            url=url,
        )


def what_said(body: Any) -> str:
    """What an error body says, as one printable line."""
    if isinstance(body, dict):
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value.strip():
                return clean(value, _EXCERPT)
        if body:
            return clean(_json(body), _EXCERPT)
        return ""
    if isinstance(body, str):
        return clean(body, _EXCERPT)
    return "" if body is None else clean(_json(body), _EXCERPT)


def text_excerpt(content: bytes, secret: str = "") -> str:
    text = redact(content.decode("utf-8", "replace"), secret)
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    return clean(title.group(1) if title else _TAG.sub(" ", text), 200)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def clean(text: str, limit: int) -> str:
    """`text` from a server as one line fit for a message: runs of white space (line breaks,
    tabs) made one space, every other control character, lone surrogate and bidi control
    replaced as `errors.printable` does, so that a server can neither move the terminal's
    cursor, colour it or set its title, nor make a line show other than it reads, nor make
    printing the message fail; cut to `limit` characters. Every string from the server goes
    through this before it is put into a HeliconeAPIError."""
    from helicone_filter.errors import printable

    flat = printable(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def redact(text: str, secret: str) -> str:
    """`text` with the API key `secret` replaced by REDACTED wherever it stands (alone, or as
    `Bearer <key>`)."""
    return text.replace(secret, REDACTED) if secret and secret in text else text


# The answer's headers an error may show.
_SHOWN_HEADERS = ("content-type", "retry-after", "location")


def redacted(value: Any, secret: str) -> Any:
    """A JSON value from a server with the API key `secret` replaced in each string in it,
    keys too."""
    return _each_string(value, lambda text: redact(text, secret)) if secret else value


def clean_value(value: Any) -> Any:
    """A JSON value from a server with each string in it, keys too, `clean`ed."""
    return _each_string(value, lambda text: clean(text, _EXCERPT))


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
