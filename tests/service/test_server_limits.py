"""Limits on everything a user or a client sets, and a JSON error of ours for everything the
service refuses: its options, every field of a body, JSON that Python's reader accepts but
nothing should (numbers of thousands of digits, lone surrogates), and the requests the HTTP
server answers before the app runs; clients slow to send their headers or their body, bodies
that do not say they are JSON or nest too deeply, hosts not ours on loopback. Each case was
accepted, a 500, plain text, or a connection held forever before."""

from __future__ import annotations

import json
import math
import socket
import time
from typing import Any

import pytest

pytest.importorskip("starlette")
import httpx
from conftest import free_port
from service_calls import JSON, assert_error, call_app, uvicorn_thread
from test_contract import check_answer, validator

from helicone_filter.api.outputs import query_body
from helicone_filter.backends.request_body import QueryError
from helicone_filter.defaults import MAX_SAFE_INTEGER
from helicone_filter.facts.schema import FIELDS
from helicone_filter.service import running
from helicone_filter.service.app import OptionError, create_app
from helicone_filter.service.models import MapField
from helicone_filter.service.running import is_loopback, serve, server_config

HUGE = 10**3999  # the largest whole number Python's JSON reader makes is 4,300 digits long


APP = create_app()


def _post(path: str, body: Any = None, content: bytes | None = None) -> httpx.Response:
    if content is None:
        content = json.dumps(body).encode()
    return call_app(APP, "POST", path, content=content, headers=JSON)


# -- the options of the service ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_body": -1}, "max_body must be 1 to 67,108,864 bytes, not -1"),
        ({"max_body": 0}, "max_body must be 1 to 67,108,864 bytes, not 0"),
        ({"max_body": 2**26 + 1}, "max_body must be 1 to 67,108,864 bytes, not 67108865"),
        ({"max_body": True}, "max_body must be 1 to 67,108,864 bytes, not True"),
        ({"max_body": 1.5}, "max_body must be 1 to 67,108,864 bytes, not 1.5"),
        (
            {"request_seconds": 0},
            "request_seconds must be seconds above 0, at most 86,400 (a day), not 0",
        ),
        ({"request_seconds": -1.0}, "request_seconds must be seconds above 0"),
        ({"request_seconds": math.nan}, "request_seconds must be seconds above 0"),
        ({"request_seconds": math.inf}, "request_seconds must be seconds above 0"),
        ({"request_seconds": "10"}, "request_seconds must be seconds above 0"),
        ({"body_seconds": 86_401}, "body_seconds must be seconds above 0, at most 86,400"),
        ({"cors_origins": ["https://builder.example.com/"]}, "a CORS origin is scheme://host"),
        ({"cors_origins": ["builder.example.com"]}, "a CORS origin is scheme://host[:port]"),
        ({"allowed_hosts": [1]}, "allowed_hosts are host names"),
    ],
)
def test_create_app_checks_its_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError) as caught:
        create_app(**options)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ValueError)


def test_good_options_pass() -> None:
    create_app(cors_origins=["*", "https://a.example", "http://localhost:5173"], max_body=1)
    create_app(max_body=2**26, request_seconds=86_400, body_seconds=0.001)
    server_config(APP, header_seconds=0.5, max_connections=10_000)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"header_seconds": 0}, "header_seconds must be seconds above 0"),
        ({"max_connections": 0}, "max_connections must be 1 to 10,000 connections, not 0"),
        ({"max_connections": 10**6}, "max_connections must be 1 to 10,000 connections"),
    ],
)
def test_server_config_checks_its_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError, match=message):
        server_config(APP, **options)


def test_serve_checks_its_options_before_it_listens() -> None:
    port = free_port()
    with pytest.raises(OptionError, match="max_body must be 1 to"):
        serve("127.0.0.1", port, max_body=-1)
    with pytest.raises(OptionError, match="max_connections must be 1 to"):
        serve("127.0.0.1", port, max_connections=0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # the port was never taken


# -- the fields of a body ---------------------------------------------------------------------


def _refused(path: str, body: dict[str, Any], message: str) -> None:
    r = _post(path, body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"] == message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"limit": HUGE},
            "limit must be a whole number from 1 to 1,000 (Helicone answers at most 1,000 users"
            " a page), not 10000000000000000000…00000000 (4,000 digits)",
        ),
        (
            {"limit": 1001},
            "limit must be a whole number from 1 to 1,000 (Helicone answers at most 1,000 users"
            " a page), not 1001",
        ),
        (
            {"endpoint": "requests", "limit": 1001},
            'limit must be a whole number from 0 to 1,000 (Helicone answers HTTP 500 "invalid '
            'limit" past 1,000), not 1001',
        ),
        (
            {"endpoint": "requests", "limit": -1},
            'limit must be a whole number from 0 to 1,000 (Helicone answers HTTP 500 "invalid '
            'limit" past 1,000), not -1',
        ),
        (
            {"offset": 2**53},
            "offset must be a whole number from 0 to 9,007,199,254,740,991 (the most a "
            "JavaScript number holds exactly), not 9007199254740992",
        ),
        (
            {"offset": -1},
            "offset must be a whole number from 0 to 9,007,199,254,740,991 (the "
            "most a JavaScript number holds exactly), not -1",
        ),
        (
            {"tz_offset": -HUGE},
            "a time-zone offset of -1000000000000000000…00000000 (4,001 digits) minutes is more"
            " than a day: give -1,440 to 1,440; UTC+2 is 120 or -120, depending on how your "
            "client counts",
        ),
        (
            {"since": "1" * 5000},
            "'1111111111111111111…1111111' (5,002 characters) is out of range for unix seconds",
        ),
        (
            {"limt": 10},
            "the body has an unknown field 'limt' (did you mean 'limit'?); its fields"
            " are text, endpoint, limit, offset, sort, since, until, tz_offset, is_scored, now",
        ),
    ],
)
def test_query_fields_have_ranges(body: dict[str, Any], message: str) -> None:
    _refused("/query", {"input": "cached", **body}, message)


def test_query_body_has_the_ranges_too() -> None:
    for options in ({"limit": HUGE}, {"limit": 1001}, {"offset": 2**53}, {"tz_offset": 1441}):
        with pytest.raises(QueryError):
            query_body("cached", **options)
    body = query_body("cached", limit=1000, offset=2**53 - 1, tz_offset=-1440)
    assert (body["limit"], body["offset"]) == (1000, 2**53 - 1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"cursor": -1},
            f"'cursor' must be 0 to {MAX_SAFE_INTEGER:,} (code points; past the end of the "
            "text is its end), not -1",
        ),
        (
            {"cursor_utf16": HUGE},
            f"'cursor_utf16' must be 0 to {MAX_SAFE_INTEGER:,} (UTF-16 code units; past the end"
            " of the text is its end), not 10000000000000000000…00000000 (4,000 digits)",
        ),
        (
            {"map_keys": {"propertes": ["env"]}},
            "'map_keys' has keys for 'propertes', which is not a map field (did you mean "
            "'properties'?); the map fields are properties, search_properties, scores",
        ),
        (
            {"map_keys": {"properties": "env"}},
            "'map_keys' gives each field a list of strings; 'properties' has something else",
        ),
        (
            {"map_keys": {"properties": ["env", 1]}},
            "'map_keys' gives each field a list of strings; 'properties' has something else",
        ),
        (
            {"map_keys": {"properties": ["k"] * 10_001}},
            "'map_keys' has 10,001 keys for 'properties'; give at most 10,000 (the ones a user"
            " is likeliest to want)",
        ),
        (
            {"map_keys": {"scores": ["k" * 1001]}},
            "a key for 'scores' in 'map_keys' is 1,001 characters long; a key may be at most 1,000",
        ),
    ],
)
def test_complete_fields_have_ranges(body: dict[str, Any], message: str) -> None:
    _refused("/complete", {"text": "cached", **body}, message)


def test_a_cursor_past_the_text_is_its_end() -> None:
    for body in ({"cursor": 2**53 - 1}, {"cursor_utf16": 10**9}):
        r = _post("/complete", {"text": "cached ", **body})
        assert [c["label"] for c in r.json()["completions"]] == ["=", "!=", "and", "or"]


def test_the_map_fields_of_the_models_are_the_schemas() -> None:
    from typing import get_args

    assert list(get_args(MapField)) == [n for n, f in FIELDS.items() if f.kind == "map"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/compile", {"text": "cached", "cursor": 1}),
        ("/format", {"text": "cached", "nesting": "right"}),
        ("/check", {"input": "cached", "limit": 1}),
        ("/complete", {"text": "cached", "now": "2025-01-01"}),
        ("/diagnose", {"text": "cached", "input": "x"}),
        ("/sql", {"input": "cached", "tables": {}}),
    ],
)
def test_every_endpoint_refuses_fields_it_does_not_take(path: str, body: dict[str, Any]) -> None:
    """Before: silently ignored, though the OpenAPI document refuses them (a misspelt option
    did nothing)."""
    r = _post(path, body)
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("the body has an unknown field")
    check_answer("POST", path, r)


# -- JSON that Python reads, though it should not get this far --------------------------------


def test_a_number_too_long_to_read_is_a_400() -> None:
    """Before: a 500 (the ValueError of Python's limit of 4,300 digits)."""
    r = _post("/compile", content=b'{"text": "cached", "n": ' + b"7" * 5000 + b"}")
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "the body cannot be read: a number of 5,000 digits is too long to read, at line 1, "
        "column 25; Helicone reads numbers as doubles (about 16 digits): write a shorter number"
    )
    check_answer("POST", "/compile", r)
    inner = json.dumps({"input": '{"users_view": {"user_cost": {"gt": ' + "7" * 5000 + "}}}"})
    r = _post("/format", content=inner.encode())
    assert r.status_code == 422
    assert r.json()["error"]["problems"][0]["code"] == "number-too-long"


@pytest.mark.parametrize(
    ("path", "body", "status", "echoed"),
    [
        # map_keys: the key comes back in the completions.
        ("/complete", '{"text": "properties.", "map_keys": {"properties": ["\\ud800"]}}', 200, 1),
        # a JSON key: the checker quotes it in the path and the message.
        ("/check", '{"input": {"\\udfff": 1}}', 200, 1),
        ("/check", '{"input": {"request_response_rmt": {"properties": {"\\ud83d": {}}}}}', 200, 1),
        ("/format", '{"input": {"users_view": {"\\ud800": {"gt": 1}}}}', 422, 1),
        ("/sql", '{"input": "cached", "table_map": {"request_response_rmt": "t\\udc00"}}', 200, 1),
        ("/compile", '{"text": "x", "\\ud800": 1}', 422, 0),  # quoted as \\ud800 by repr
        ("/diagnose", '{"text": "model = \\"\\ud800\\" and modle = 1"}', 200, 0),
    ],
)
def test_lone_surrogates_come_back_as_escapes(
    path: str, body: str, status: int, echoed: int
) -> None:
    """Before: a 500 (and for a 422, the error answer itself failed to encode). A browser's
    text field can hold a lone surrogate and JSON.stringify writes it as an escape: the answer
    writes it back the same way, so the client gets its own string again."""
    r = _post(path, content=body.encode())
    assert r.status_code == status, r.text
    text = r.content.decode("utf-8")  # which it must be
    strings, stack = [], [json.loads(text)]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            strings += list(x)
            stack += list(x.values())
        elif isinstance(x, list):
            stack += x
        elif isinstance(x, str):
            strings.append(x)
    lone = [c for x in strings for c in x if "\ud800" <= c <= "\udfff"]
    assert len(lone) >= echoed, text
    check_answer("POST", path, r)


def test_an_answer_without_lone_surrogates_is_written_as_before() -> None:
    from helicone_filter.service.handlers import encode

    value = {"a": ["é", "😀", 1, 2.5, None, True], "b": {"c": "x" * 100}}
    assert encode(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    assert json.loads(encode({"k": "a\ud800b\\\udfff"})) == {"k": "a\ud800b\\\udfff"}


# -- what the HTTP server answers before the app runs -----------------------------------------


def _exchange(port: int, request: bytes, *, wait: float = 0) -> tuple[int, dict[str, str], Any]:
    """Sends `request` as it is; the status, headers and JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(request)
        s.settimeout(10)
        time.sleep(wait)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head, found, body = data.partition(b"\r\n\r\n")
            if found and b"content-length:" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


ERROR = {"$ref": "#/components/schemas/Error"}


def _is_json_error(answer: tuple[int, dict[str, str], Any], status: int, needle: str) -> None:
    got, headers, body = answer
    assert got == status, body
    assert headers["content-type"] == "application/json"
    validator(ERROR).validate(body)
    assert needle in body["error"]["message"], body


POST = b"POST /compile HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"


@pytest.mark.parametrize(
    ("request_", "status", "needle"),
    [
        (POST + b"\r\n{}", 400, "it has no Host header, which HTTP/1.1 requires: send one"),
        (POST + b"Host: a\r\nHost: b\r\n\r\n{}", 400, "it has several Host headers"),
        (b"HELLO\r\n\r\n", 400, "its first line is not METHOD /path HTTP/1.1"),
        (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nno colon\r\n\r\n", 400, "Name: value"),
        (  # not yet whole, and over h11's limit
            b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX: " + b"a" * 20_000,
            400,
            "its first line and headers are over 16 KiB: send fewer",
        ),
        (
            b"POST /compile HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n",
            400,
            "its Content-Length is not a number of bytes",
        ),
        (
            b"POST /compile HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n",
            400,
            "the only Transfer-Encoding it may have is chunked",
        ),
        (
            b"GET /healthz HTTP/1.1\r\nHost: localhost:evil\r\n\r\n",
            421,
            "does not answer to the Host 'localhost:evil'",
        ),
        (b"GET /healthz HTTP/1.0\r\n\r\n", 421, "a request without a Host"),
    ],
)
def test_malformed_requests_get_json_errors(request_: bytes, status: int, needle: str) -> None:
    """Before: uvicorn answered these in plain text ("Invalid HTTP request received."), and
    `Host: localhost:evil` was answered as localhost."""
    with uvicorn_thread(create_app(allowed_hosts=["localhost", "127.0.0.1", "::1"])) as port:
        _is_json_error(_exchange(port, request_), status, needle)


@pytest.mark.parametrize(
    "host", ["localhost:evil", "localhost:", "[::1]:evil", "127.0.0.1:8765:1", "::1", "[::1"]
)
def test_a_host_with_a_port_that_is_not_one_is_refused(host: str) -> None:
    app = create_app(allowed_hosts=["localhost", "127.0.0.1", "::1"])
    r = call_app(app, "GET", "/healthz", headers={"host": host})
    assert r.status_code == 421
    check_answer("GET", "/healthz", r)


def test_a_refused_cors_preflight_says_why_in_json() -> None:
    """Before: "Disallowed CORS origin" in plain text."""
    app = create_app(cors_origins=["https://builder.example.com"])
    r = call_app(
        app,
        "OPTIONS",
        "/compile",
        headers={
            "origin": "https://evil.example",
            "access-control-request-method": "PUT",
            "access-control-request-headers": "content-type, x-secret",
        },
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    validator(ERROR).validate(r.json())
    assert r.json()["error"]["message"] == (
        "a page from another origin asked to call this service, refused: the origin "
        "'https://evil.example' may not call it (start the service with --cors-origin "
        "'https://evil.example' to let it); the method 'PUT' is not one it takes (GET, POST); "
        "the headers 'x-secret' are not allowed (Content-Type is)"
    )
    assert "access-control-allow-origin" not in r.headers
    ok = call_app(
        app,
        "OPTIONS",
        "/compile",
        headers={
            "origin": "https://builder.example.com",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://builder.example.com"


def test_past_the_limit_of_connections_is_a_json_503() -> None:
    """Before: uvicorn's "Service Unavailable" in plain text."""
    with uvicorn_thread(create_app(), max_connections=1) as port:
        with socket.create_connection(("127.0.0.1", port)) as first:
            first.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            first.recv(1024)
            answer = _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        _is_json_error(answer, 503, "connections open, its limit: try again in a moment")
        assert answer[1]["connection"] == "close"


def test_headers_that_do_not_arrive_are_a_json_408() -> None:
    with uvicorn_thread(create_app(), header_seconds=0.3) as port:
        answer = _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: loc")
    _is_json_error(answer, 408, "the request's headers did not arrive within 0.3 s")


# -- clients that dawdle, bodies that are no JSON, hosts that are not ours ---------------


def _closed_within(s: socket.socket, seconds: float, drip: bytes = b"") -> bool:
    """Whether the server closes `s` within `seconds`, while we send a byte of `drip` now and
    then."""
    s.settimeout(0.25)
    end = time.monotonic() + seconds
    for byte in [drip[i : i + 1] for i in range(len(drip))] + [b""] * 1000:
        if time.monotonic() > end:
            return False
        try:
            if byte:
                s.sendall(byte)
            if s.recv(1024) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


@pytest.mark.hostile
def test_clients_slow_to_send_their_headers_are_dropped() -> None:
    """Before: 100 sockets sending a header byte now and then were never dropped."""
    with uvicorn_thread(create_app(), header_seconds=1.0) as port:
        sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        try:
            for s in sockets[1:]:
                s.sendall(b"POST /compile HTTP/1.1\r\nHost: local")
            drip = b"host\r\nX-Slow: " + b"a" * 40
            assert _closed_within(sockets[0], 6.0, drip)
            assert all(_closed_within(s, 3.0) for s in sockets[1:])
        finally:
            for s in sockets:
                s.close()
        # and the service still answers
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200


def _whole_answer(s: socket.socket) -> str:
    """One HTTP answer read whole: its head, then as many bytes as its Content-Length says
    (one `recv` may return the head alone)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"the connection closed before the answer's head was in: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk, "the connection closed before the answer's body was in"
        body += chunk
    return (head + b"\r\n\r\n" + body).decode()


@pytest.mark.hostile
def test_a_body_that_does_not_arrive_is_a_408() -> None:
    with uvicorn_thread(create_app(body_seconds=1.0)) as port:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(
                b"POST /check HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"input"'
            )
            s.settimeout(5)
            answer = _whole_answer(s)
        assert answer.startswith("HTTP/1.1 408")
        assert '"the body did not arrive within 1 s"' in answer


# -- what a request may be -------------------------------------------------------------------


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({}, "without a Content-Type"),
        ({"content-type": ""}, "without a Content-Type"),
        ({"content-type": "text/plain"}, "not text/plain"),
        ({"content-type": "application/x-www-form-urlencoded"}, "not application/x-www-form"),
    ],
)
def test_a_body_must_say_it_is_json(headers: dict[str, str], needle: str) -> None:
    """Before: a body without a Content-Type was read as JSON, so any web page could post to
    the service without the browser asking it first (a CORS preflight)."""
    r = call_app(create_app(), "POST", "/check", content=b'{"input": "cached"}', headers=headers)
    assert_error(r, 415, needle)


@pytest.mark.hostile
def test_deep_bodies_are_json_errors() -> None:
    """Before: a 500 in text/plain from an uncaught RecursionError."""
    app = create_app(max_body=1_000_000)
    assert_error(
        call_app(app, "POST", "/check", content=b"[" * 100_000, headers=JSON), 400, "deeply"
    )
    deep = json.dumps({"input": "[" * 100_000})
    r = call_app(app, "POST", "/check", content=deep.encode(), headers=JSON)
    assert_error(r, 422, "nested too deeply")
    assert r.json()["error"]["problems"][0]["code"] == "json-too-deep"


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("localhost", 200),
        ("localhost:8765", 200),
        ("127.0.0.1:8765", 200),
        ("[::1]:8765", 200),
        ("evil.example", 421),
        ("evil.example:8765", 421),
        ("127.0.0.1.evil.example", 421),
        ("localhost:evil", 421),
        ("localhost:8765:1", 421),
        ("", 421),
    ],
)
def test_on_loopback_only_loopback_names_are_answered(host: str, status: int) -> None:
    """Before: any Host was answered, so a web page whose name a DNS rebinding pointed at
    127.0.0.1 could call the service as its own origin."""
    app = create_app(allowed_hosts=running._LOOPBACK_NAMES)
    r = call_app(app, "GET", "/healthz", headers={"host": host})
    assert r.status_code == status
    if status == 421:
        assert_error(r, 421, "does not answer to")


@pytest.mark.hostile
def test_serve_guards_the_host_on_loopback_only() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "127.1.2.3"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.5", "example.com"))
