"""The client's guards against a broken or hostile server: an answer that drips (the timeout
bounds the whole call), one that sends too much (the reply limit), one whose text would drive
the terminal (every message cleaned), one whose page is not a page, one that echoes the API key
(redacted). Over real HTTP to a raw server on a loopback port (`Hostile`, which writes whatever
bytes a test asks for), or through httpx's MockTransport. Every test here is hostile input."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import fake_helicone as fake
import httpx
import pytest
from command_line import run

import helicone_filter.client.calls as client_calls
from helicone_filter.cli.commands import Exit
from helicone_filter.client import MAX_REPLY_BYTES, HeliconeAPIError, UserMetricsPage, send_query

pytestmark = pytest.mark.hostile

PAGE = b'{"data": {"users": [], "count": 0, "hasUsers": false}, "error": null}'
TIMEOUT_HINT = "allow more time (--timeout SECONDS, or timeout= in Python), or try again later"
# The command line names its own option only.
CLI_TIMEOUT_HINT = "allow more time (--timeout SECONDS), or try again later"

# What must reach no message: C0 and C1 controls, DEL, bidi controls, lone surrogates.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Text a server could send to take over a terminal: a title change (OSC ... BEL), a screen
# clear, an 8-bit CSI, a right-to-left override, an isolate, a lone surrogate, NUL, DEL, NEL.
HOSTILE = "pwned\x1b]0;pwned\x07\x1b[2J\x9b31m\u202etxt.exe\u2066x\ud800\x00\x7f\x85end"


Answer = Callable[["Hostile", socket.socket], bool]


class Hostile:
    """A loopback HTTP/1.1 server in threads that answers the requests it gets, over any
    connection, with `answers` in turn: each writes what it likes to the socket and says
    whether to keep the connection open. `sent` counts the body bytes written, `hung_up` is
    set when the client went away while an answer was being written."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.stop = threading.Event()
        self.hung_up = threading.Event()
        self.sent = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    def __enter__(self) -> Hostile:
        self._threads[0].start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in list(self._threads):
            thread.join(timeout=10)
        self._listener.close()

    def write(self, conn: socket.socket, data: bytes, *, body: bool = False) -> None:
        try:
            conn.sendall(data)
        except OSError:
            self.hung_up.set()
            raise
        if body:
            self.sent += len(data)

    def pause(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise OSError("the server is stopping")

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            try:
                while self.answers and _read_request(conn):
                    if not self.answers.pop(0)(self, conn):
                        return
            except OSError:
                return


def _read_request(conn: socket.socket) -> bool:
    """Read one request (head and Content-Length body); False at the end of the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return False
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    while length and len(body) < int(length.group(1)):
        body += conn.recv(65536)
    return True


def _head(status: int, headers: list[tuple[str, bytes]]) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever".encode()]
    lines += [name.encode() + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def answer(
    body: bytes = PAGE, status: int = 200, headers: list[tuple[str, bytes]] | None = None
) -> Answer:
    def write(server: Hostile, conn: socket.socket) -> bool:
        listed = [("Content-Type", b"application/json"), *(headers or [])]
        head = _head(status, [*listed, ("Content-Length", str(len(body)).encode())])
        server.write(conn, head)
        server.write(conn, body, body=True)
        return True

    return write


def drip_body(count: int, every: float = 0.5) -> Answer:
    """Headers at once, then the body a byte every `every` seconds."""

    def write(server: Hostile, conn: socket.socket) -> bool:
        length = str(count).encode()
        server.write(
            conn, _head(200, [("Content-Type", b"application/json"), ("Content-Length", length)])
        )
        for _ in range(count):
            server.pause(every)
            server.write(conn, b" ", body=True)
        return False

    return write


def drip_headers(count: int, every: float = 0.5) -> Answer:
    """The status line at once, then a header a byte every `every` seconds."""

    def write(server: Hostile, conn: socket.socket) -> bool:
        server.write(conn, b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in range(count):
            server.pause(every)
            server.write(conn, b"a")
        server.write(conn, b"\r\nContent-Length: 0\r\n\r\n")
        return False

    return write


def flood(total: int, chunk: int = 64 * 1024) -> Answer:
    """A chunked body of `total` bytes, sent as fast as the client reads it."""

    def write(server: Hostile, conn: socket.socket) -> bool:
        server.write(conn, _head(200, [("Transfer-Encoding", b"chunked")]))
        piece = b"%x\r\n" % chunk + b"x" * chunk + b"\r\n"
        for _ in range(total // chunk):
            server.write(conn, piece, body=True)
        server.write(conn, b"0\r\n\r\n")
        return False

    return write


def announce(length: int) -> Answer:
    """Headers with a Content-Length of `length`, then nothing for 30 s."""

    def write(server: Hostile, conn: socket.socket) -> bool:
        server.write(conn, _head(200, [("Content-Length", str(length).encode())]))
        server.pause(30)
        return False

    return write


def _mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


# -- the timeout bounds the whole call --------------------------------------------------------


@pytest.mark.parametrize("callers", [False, True], ids=["our client", "the caller's client"])
def test_a_dripping_answer_ends_at_the_timeout(callers: bool) -> None:
    with Hostile(drip_body(24)) as server, httpx.Client() as own:  # 12 s of dripping
        started = time.monotonic()
        with pytest.raises(HeliconeAPIError) as caught:
            send_query(
                {}, api_key="sk-x", base_url=server.url, timeout=1, client=own if callers else None
            )
        assert time.monotonic() - started < 3
        e = caught.value
        assert (e.status, e.url, e.hint) == (None, server.url + fake.PATH, TIMEOUT_HINT)
        assert e.message == (
            f"{server.url} did not finish answering within 1 s (it was still sending the "
            f"answer), at POST {server.url}{fake.PATH}"
        )
        # and the connection was dropped, not left to drip on
        assert server.hung_up.wait(5)


def test_dripping_headers_end_at_the_timeout() -> None:
    with Hostile(drip_headers(24)) as server:
        started = time.monotonic()
        with pytest.raises(HeliconeAPIError) as caught:
            send_query({}, api_key="sk-x", base_url=server.url, timeout=1)
        assert time.monotonic() - started < 3
        assert caught.value.message == (
            f"{server.url} did not answer within 1 s (read timeout), at POST "
            f"{server.url}{fake.PATH}"
        )
        assert server.hung_up.wait(5)


def test_a_kept_alive_connection_of_the_callers_client_ends_at_the_timeout_too() -> None:
    # The second request goes over the connection the first left open: no new connection,
    # so the call cannot see its socket before the headers, which never finish.
    with Hostile(answer(), drip_headers(24)) as server, httpx.Client() as own:
        first = send_query({}, api_key="sk-x", base_url=server.url, timeout=5, client=own)
        assert first.count == 0
        started = time.monotonic()
        with pytest.raises(HeliconeAPIError, match="did not answer within 1 s"):
            send_query({}, api_key="sk-x", base_url=server.url, timeout=1, client=own)
        assert time.monotonic() - started < 3


def test_a_slow_transport_of_the_callers_ends_at_the_timeout() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(4)
        return httpx.Response(200, content=PAGE)

    started = time.monotonic()
    with pytest.raises(HeliconeAPIError, match="did not answer within 1 s"):
        send_query({}, api_key="sk-x", timeout=1, client=_mock(slow))
    assert time.monotonic() - started < 3


def test_send_timeout_bounds_the_whole_call(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELICONE_API_KEY", "sk-x")
    with Hostile(drip_body(24)) as server:
        started = time.monotonic()
        argv = ["query", "all", "--send", "--base-url", server.url, "--timeout", "1"]
        code, out, err = run(argv, capsys, monkeypatch)
        assert time.monotonic() - started < 3
    assert (code, out) == (Exit.REQUEST_FAILED, "")
    assert err == (
        f"helicone-filter: error: {server.url} did not finish answering within 1 s (it was "
        f"still sending the answer), at POST {server.url}{fake.PATH}\n  hint: {CLI_TIMEOUT_HINT}\n"
    )


def test_a_timeout_too_large_for_the_clock_is_no_crash() -> None:
    with Hostile(answer()) as server:
        page = send_query({}, api_key="sk-x", base_url=server.url, timeout=1e10)
    assert page.count == 0


# -- the size of the answer -------------------------------------------------------------------


def test_an_answer_larger_than_the_limit_is_stopped_while_it_streams() -> None:
    with Hostile(flood(4 * MAX_REPLY_BYTES)) as server:
        tracemalloc.start()
        try:
            with pytest.raises(HeliconeAPIError) as caught:
                send_query({}, api_key="sk-x", base_url=server.url, timeout=60)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert server.hung_up.wait(10)
        assert server.sent < 3 * MAX_REPLY_BYTES
    assert peak < 2 * MAX_REPLY_BYTES  # the whole answer would be 4 times the limit, and more
    e = caught.value
    assert (e.status, e.url) == (200, server.url + fake.PATH)
    assert e.message == (
        f"the answer from {server.url}{fake.PATH} is larger than 16 MiB, the most this client "
        "reads (HTTP 200); reading it was stopped there"
    )
    assert "is the base URL Helicone's API host?" in e.hint


def test_a_content_length_above_the_limit_is_refused_before_the_body() -> None:
    with Hostile(announce(MAX_REPLY_BYTES + 1)) as server:
        started = time.monotonic()
        with pytest.raises(HeliconeAPIError) as caught:
            send_query({}, api_key="sk-x", base_url=server.url, timeout=10)
        assert time.monotonic() - started < 5
    assert caught.value.message == (
        f"the answer from {server.url}{fake.PATH} is {MAX_REPLY_BYTES + 1} bytes long (its "
        "Content-Length), more than the 16 MiB this client reads (HTTP 200); it was not read"
    )


@pytest.mark.parametrize("streamed", [False, True], ids=["with a length", "streamed"])
def test_the_limit_is_max_reply_bytes_exactly(
    streamed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_calls, "MAX_REPLY_BYTES", 1000)
    padded = PAGE[:-1] + b', "pad": "' + b"x" * (1000 - len(PAGE) - 11) + b'"}'
    assert len(padded) == 1000

    def handler(body: bytes) -> Callable[[httpx.Request], httpx.Response]:
        def answer(request: httpx.Request) -> httpx.Response:
            if streamed:  # no Content-Length: chunks of 100 bytes
                chunks = [body[i : i + 100] for i in range(0, len(body), 100)]
                return httpx.Response(200, content=iter(chunks))
            return httpx.Response(200, content=body)

        return answer

    page = send_query({}, api_key="sk-x", client=_mock(handler(padded)))
    assert page.count == 0
    with pytest.raises(HeliconeAPIError) as caught:
        send_query({}, api_key="sk-x", client=_mock(handler(padded + b" ")))
    assert caught.value.status == 200
    if streamed:
        assert "is larger than 1,000 bytes, the most this client reads" in caught.value.message
    else:
        assert "is 1001 bytes long (its Content-Length), more than the 1,000 bytes" in (
            caught.value.message
        )


def test_a_body_that_does_not_decode_is_our_error() -> None:
    def garbled(request: httpx.Request) -> httpx.Response:
        stream = httpx.ByteStream(b"not gzip at all")
        return httpx.Response(200, headers={"content-encoding": "gzip"}, stream=stream)

    with pytest.raises(HeliconeAPIError) as caught:
        send_query({}, api_key="sk-x", client=_mock(garbled))
    assert caught.value.message.startswith(
        "the answer from https://api.helicone.ai/v1/user/metrics/query could not be decoded: "
    )


# -- text from the server reaches no message raw ----------------------------------------------


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()  # ASCII: a lone surrogate travels as \ud800


H = HOSTILE.encode("utf-8", "surrogatepass")
# The same in a header, as bytes a real server can send there (HTTP allows no C0 control).
H_HEADER = "pwned\x9b31m\u202etxt.exe\u2066x\x85end".encode()


def _response(status: int, **kwargs: Any) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, **kwargs)


def _raises(exception: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    return handler


HOSTILE_ANSWERS = {
    "Retry-After": _response(429, headers={"retry-after": "\x1b]0;pwned\x07"}),
    "Retry-After, 8-bit": _response(429, headers=[(b"retry-after", H_HEADER)]),
    "Location, 8-bit": _response(301, headers=[(b"location", H_HEADER)]),
    "Content-Type": _response(
        200, headers=[(b"content-type", b"text/\x1b[2Jpwned")], content=b"plain"
    ),
    "body text": _response(200, content=H),
    "error body text": _response(418, content=H),
    "HTML title": _response(502, content=b"<html><title>" + H + b"</title></html>"),
    "error": _response(401, content=_json_bytes({"error": HOSTILE})),
    "error.message": _response(403, content=_json_bytes({"error": {"message": HOSTILE}})),
    "message": _response(400, content=_json_bytes({"message": HOSTILE})),
    "detail": _response(503, content=_json_bytes({"detail": HOSTILE})),
    "other keys": _response(400, content=_json_bytes({HOSTILE: [HOSTILE]})),
    "a string": _response(400, content=_json_bytes(HOSTILE)),
    "result error": _response(500, content=_json_bytes({"data": None, "error": HOSTILE})),
    "error with 200": _response(200, content=_json_bytes({"data": None, "error": HOSTILE})),
    "details": _response(
        422,
        content=_json_bytes(
            {
                "message": HOSTILE,
                "details": {
                    "requestBody." + HOSTILE: {
                        "message": HOSTILE,
                        "value": {HOSTILE: [HOSTILE, {"deeper": HOSTILE}], "n": 1},
                    },
                    "requestBody.limit": {"message": "bad", "value": HOSTILE},
                    "requestBody.other": [HOSTILE],
                },
            }
        ),
    ),
    "details, a list": _response(422, content=_json_bytes({"details": [HOSTILE, {"a": HOSTILE}]})),
    "details, a string": _response(422, content=_json_bytes({"details": HOSTILE})),
    "a connection error": _raises(httpx.ConnectError(HOSTILE)),
    "a protocol error": _raises(httpx.RemoteProtocolError(HOSTILE)),
    "a decoding error": _raises(httpx.DecodingError(HOSTILE)),
}


def _strings(value: Any) -> Iterator[str]:
    todo = [value]
    while todo:
        x = todo.pop()
        if isinstance(x, str):
            yield x
        elif isinstance(x, dict):
            todo.extend(x.keys())
            todo.extend(x.values())
        elif isinstance(x, list):
            todo.extend(x)


def assert_harmless(e: HeliconeAPIError) -> None:
    """Nothing the server said reaches the error with a control character, a bidi control or
    a lone surrogate: not its text, not its colours, not its JSON."""
    plain = e.render()
    as_json = json.dumps(e.as_dict(), ensure_ascii=False)
    assert "pwned" in as_json, "the hostile text did not reach the error at all"
    # render's own lines: the message, one per detail, the hint; none from the server
    assert plain == str(e)
    assert plain.count("\n") == len(e.details) + (1 if e.hint else 0)
    for text in (*plain.split("\n"), as_json, json.dumps(e.as_dict()), *_strings(e.as_dict())):
        assert not UNSAFE.search(text), text
    # The colours are render's own and nothing else: bold message, cyan "hint:".
    coloured = e.render(color=True)
    assert coloured.count("\x1b") == (4 if e.hint else 2)
    own = ("\x1b[1m", "\x1b[36m", "\x1b[0m")
    assert coloured.replace(own[0], "").replace(own[1], "").replace(own[2], "") == plain
    plain.encode("utf-8")  # printable: no lone surrogate


@pytest.mark.parametrize("handler", list(HOSTILE_ANSWERS.values()), ids=list(HOSTILE_ANSWERS))
def test_text_from_the_server_reaches_no_message_raw(
    handler: Callable[[httpx.Request], httpx.Response],
) -> None:
    with pytest.raises(HeliconeAPIError) as caught:
        send_query({}, api_key="sk-x", client=_mock(handler))
    assert_harmless(caught.value)


def test_the_retry_after_of_the_report_is_cleaned() -> None:
    client = _mock(_response(429, headers={"retry-after": "\x1b]0;pwned\x07"}))
    with pytest.raises(HeliconeAPIError) as caught:
        send_query({}, api_key="sk-x", client=client)
    assert caught.value.hint == "try again after ␛]0;pwned␇"
    client = _mock(_response(429, headers={"retry-after": "120"}))
    with pytest.raises(HeliconeAPIError) as caught:
        send_query({}, api_key="sk-x", client=client)
    assert caught.value.hint == "try again in 120 s"


def test_the_values_of_details_keep_their_shape_cleaned() -> None:
    body = {"details": {"requestBody.x": {"message": "m", "value": {"a\x1b": ["b\u202e", 1]}}}}
    client = _mock(_response(422, content=_json_bytes(body)))
    with pytest.raises(HeliconeAPIError) as caught:
        send_query({}, api_key="sk-x", client=client)
    assert caught.value.details == [
        {"path": "requestBody.x", "message": "m", "value": {"a␛": ["b\ufffd", 1]}}
    ]


@pytest.mark.parametrize("error_format", ["text", "json"])
def test_send_prints_no_escape_from_the_server(
    error_format: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELICONE_API_KEY", "sk-x")
    body = _json_bytes({"error": HOSTILE})
    with Hostile(answer(body, 429, [("Retry-After", H_HEADER)])) as server:
        argv = ["query", "all", "--send", "--base-url", server.url, "--color", "always"]
        code, out, err = run([*argv, "--error-format", error_format], capsys, monkeypatch)
    assert (code, out) == (Exit.REQUEST_FAILED, "")
    assert "pwned" in err
    shown = err.replace("\x1b[1m", "").replace("\x1b[36m", "").replace("\x1b[0m", "")
    assert not UNSAFE.search(shown.rstrip("\n").replace("\n", " ")), err


# -- a page that is not a page ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "problem"),
    [
        (b"NaN", "data.count is not a whole number of users, 0 or more: NaN"),
        (b"Infinity", "data.count is not a whole number of users, 0 or more: Infinity"),
        (b"1e400", "data.count is not a whole number of users, 0 or more: Infinity"),
        (b"-Infinity", "data.count is not a whole number of users, 0 or more: -Infinity"),
        (b"-1", "data.count is not a whole number of users, 0 or more: -1"),
        (b"2.5", "data.count is not a whole number of users, 0 or more: 2.5"),
        (b"true", "data.count is not a number"),
        (b"false", "data.count is not a number"),
    ],
)
def test_a_count_that_is_not_a_count_is_refused(count: bytes, problem: str) -> None:
    content = b'{"data": {"users": [], "count": ' + count + b', "hasUsers": false}}'
    with pytest.raises(HeliconeAPIError) as caught:
        send_query({}, api_key="sk-x", client=_mock(_response(200, content=content)))
    assert caught.value.status == 200
    assert caught.value.message == (
        f"the answer from https://api.helicone.ai/v1/user/metrics/query is not a page of "
        f"users: {problem}"
    )
    assert "is the base URL Helicone's API host?" in caught.value.hint


@pytest.mark.parametrize(
    ("count", "expected"),
    [(b"0", 0), (b"4", 4), (b"4.0", 4), (b"-0.0", 0), (b"1e3", 1000), (b"10" * 20, int("10" * 20))],
)
def test_a_whole_count_is_taken_as_an_int(count: bytes, expected: int) -> None:
    content = b'{"data": {"users": [], "count": ' + count + b', "hasUsers": false}}'
    page = send_query({}, api_key="sk-x", client=_mock(_response(200, content=content)))
    assert isinstance(page, UserMetricsPage)
    assert (page.count, type(page.count)) == (expected, int)


# -- a server that echoes the API key -----------------------------------------------------------

KEY = "sk-helicone-0123456789abcdef"


def _echo(status: int, shape: Callable[[str], Any], **kwargs: Any) -> Any:
    """A handler whose answer holds the request's Authorization header as `shape` puts it."""

    def handler(request: httpx.Request) -> httpx.Response:
        said = shape(request.headers["authorization"])
        if isinstance(said, bytes):
            return httpx.Response(status, content=said, **kwargs)
        return httpx.Response(status, json=said, **kwargs)

    return handler


def _escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _raise_with(kind: type[Exception]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        raise kind(f"failed with {request.headers['authorization']}")

    return handler


ECHOES = {
    "error": _echo(401, lambda auth: {"error": f"invalid header: {auth}"}),
    # The key across the place where the message is cut: cut first, a part of it would stay.
    "at the cut": _echo(401, lambda auth: {"message": "x" * 285 + auth}),
    "error.message": _echo(403, lambda auth: {"error": {"message": auth}}),
    "details": _echo(
        422,
        lambda auth: {
            "message": auth,
            "details": {f"requestBody.{auth}": {"message": auth, "value": {auth: [auth]}}},
        },
    ),
    "escaped in JSON": _echo(
        400,
        lambda auth: ('{"error": "' + _escaped(auth) + '"}').encode(),
        headers={"content-type": "application/json"},
    ),
    "HTML title": _echo(502, lambda auth: f"<html><title>{auth}</title></html>".encode()),
    "HTML tags inside": _echo(502, lambda auth: f"<p>{auth}</p>".encode()),
    "error with 200": _echo(200, lambda auth: {"data": None, "error": auth}),
    "text with 200": _echo(200, lambda auth: auth.encode()),
    "Location": lambda request: httpx.Response(
        302, headers={"location": "https://x/" + request.headers["authorization"]}
    ),
    "Retry-After": lambda request: httpx.Response(
        429, headers={"retry-after": request.headers["authorization"]}
    ),
    "a connection error": _raise_with(httpx.ConnectError),
    "a protocol error": _raise_with(httpx.RemoteProtocolError),
}


@pytest.mark.parametrize("handler", list(ECHOES.values()), ids=list(ECHOES))
def test_the_api_key_is_redacted_from_what_the_server_says(handler: Any) -> None:
    """A server (a proxy, a mock) that echoes the Authorization header in its error put the
    API key into HeliconeAPIError's text, and so onto the command line's stderr and into
    logs. It is replaced wherever it stands, before the text is cleaned and cut."""
    with pytest.raises(HeliconeAPIError) as caught:
        send_query({}, api_key=KEY, client=_mock(handler))
    e = caught.value
    shown = "\n".join([e.render(), json.dumps(e.as_dict(), ensure_ascii=False), repr(e.details)])
    assert KEY[:6] not in shown and KEY[-6:] not in shown, shown
    assert "[API key]" in shown or "[API ke…" in shown, shown


def test_the_api_key_is_not_on_the_command_lines_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELICONE_API_KEY", KEY)
    body = _json_bytes({"error": f"no access with Authorization: Bearer {KEY}"})
    for error_format in ("text", "json"):
        with Hostile(answer(body, 401)) as server:
            argv = ["query", "all", "--send", "--base-url", server.url]
            code, out, err = run([*argv, "--error-format", error_format], capsys, monkeypatch)
        assert (code, out) == (Exit.REQUEST_FAILED, "")
        assert KEY[:6] not in err
        assert "no access with Authorization: Bearer [API key]" in err
