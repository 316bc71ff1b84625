"""The HTTP service, over real HTTP on a loopback port (uvicorn in a thread): each endpoint,
bad bodies, CORS, `serve`; and clients that go away, a fault of ours (a JSON 500), and the
playground's Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import NOW
from service_calls import assert_error, call_app, serve_process

import helicone_filter
from helicone_filter.api.outputs import query_body
from helicone_filter.facts.schema import FIELDS
from helicone_filter.service import handlers
from helicone_filter.service.app import create_app, openapi_document

NOW_TEXT = "2025-06-01T12:00:00Z"


def post(base: str, path: str, body: Any) -> httpx.Response:
    return httpx.post(base + path, json=body, timeout=10)


def test_compile(base: str) -> None:
    r = post(base, "/compile", {"text": "user_cost > 5 and cached", "now": NOW_TEXT})
    assert r.status_code == 200
    assert r.json() == {
        "json": helicone_filter.compile("user_cost > 5 and cached", now=NOW),
        "spans": [
            {"path": ["left"], "start": 0, "end": 13, "start_utf16": 0, "end_utf16": 13},
            {"path": ["right"], "start": 18, "end": 24, "start_utf16": 18, "end_utf16": 24},
        ],
    }


# An astral character counts once in code points and twice in UTF-16 code units (a browser's
# offsets): every span the service gives has both.
ASTRAL = 'model = "😀" and modle = 1'


def test_every_span_has_utf16_offsets(base: str) -> None:
    spans = post(base, "/compile", {"text": 'model = "😀" and cached'}).json()["spans"]
    assert [(s["start"], s["end"], s["start_utf16"], s["end_utf16"]) for s in spans] == [
        (0, 11, 0, 12),
        (16, 22, 17, 23),
    ]
    [problem] = post(base, "/compile", {"text": ASTRAL}).json()["error"]["problems"]
    assert (problem["start"], problem["start_utf16"], problem["end_utf16"]) == (16, 17, 22)
    assert problem["fixes"] == [
        {"start": 16, "end": 21, "replacement": "model", "start_utf16": 17, "end_utf16": 22}
    ]
    [checked] = post(base, "/check", {"text": ASTRAL}).json()["problems"]
    assert checked == problem
    [diagnostic] = post(base, "/diagnose", {"text": ASTRAL}).json()["diagnostics"]
    assert (diagnostic["start_utf16"], diagnostic["end_utf16"]) == (17, 22)
    for body in ({"text": "😀 mod", "cursor_utf16": 6}, {"text": "😀 mod", "cursor": 5}):
        [c] = post(base, "/complete", body).json()["completions"]
        assert (c["label"], c["replace_start"], c["replace_start_utf16"]) == ("model", 2, 3)
        assert c["replace_end_utf16"] == 6
    both = post(base, "/complete", {"text": "x", "cursor": 1, "cursor_utf16": 1})
    assert both.status_code == 422


@pytest.mark.parametrize("path", ["/format", "/check", "/sql", "/query"])
def test_the_filter_is_text_as_for_compile_and_input_is_its_old_name(base: str, path: str) -> None:
    body = {"now": NOW_TEXT}
    new = post(base, path, {"text": "cost > 1", **body})
    old = post(base, path, {"input": "cost > 1", **body})
    assert new.status_code == old.status_code == 200
    assert new.json() == old.json()
    assert_error(post(base, path, {"text": "cached", "input": "cached"}), 422, "not both")
    assert_error(post(base, path, body), 422, "the body needs 'text'")


def test_the_openapi_document_marks_input_deprecated() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for name in ("FormatRequest", "CheckRequest", "SqlRequest", "QueryRequest"):
        fields = schemas[name]["properties"]
        assert fields["input"].get("deprecated") is True, name
        assert not fields["text"].get("deprecated"), name
    fix = schemas["Fix"]["properties"]
    assert list(fix) == ["start", "end", "replacement", "start_utf16", "end_utf16"]
    problem = schemas["Problem"]["properties"]
    assert problem["fixes"]["items"] == {"$ref": "#/components/schemas/Fix"}
    assert {"type": "null"} in problem["line"]["anyOf"]


def test_sql(base: str) -> None:
    r = post(base, "/sql", {"text": 'model = "a" and status >= 500'})
    assert r.status_code == 200
    assert r.json() == {
        "sql": "`model` = {p0:String} AND `status` >= {p1:Int64}",
        "params": {"p0": "a", "p1": 500},
        "warnings": [],
    }
    split = post(
        base,
        "/sql",
        {"text": {"users_view": {"user_cost": {"gt": 1, "lt": 5}}}, "target": "helicone-having"},
    ).json()
    assert [w["code"] for w in split["warnings"]] == ["multiple-operators"]
    assert split["warnings"][0]["severity"] == "warning"
    mapped = post(base, "/sql", {"text": "cached", "table_map": {"request_response_rmt": "t"}})
    assert "`t`." in mapped.json()["sql"]
    assert post(base, "/sql", {"text": "cached", "target": "x"}).status_code == 422
    assert post(base, "/sql", {"text": "modle = 1"}).status_code == 422


def test_query(base: str) -> None:
    r = post(
        base,
        "/query",
        {
            "text": "user_cost > 5",
            "limit": 10,
            "sort": "cost:desc",
            "since": "7d",
            "now": NOW_TEXT,
        },
    )
    assert r.status_code == 200
    assert r.json() == {
        "body": query_body("user_cost > 5", limit=10, sort="cost:desc", since="7d", now=NOW)
    }
    refused = post(base, "/query", {"text": "user_cost > 5", "limit": 0})
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "limit must be a whole number from 1 to 1,000 (Helicone answers at most 1,000 users a "
        "page), not 0"
    )


def test_query_requests(base: str) -> None:
    given = {"limit": 0, "sort": "latency:desc", "since": "7d", "is_scored": False}
    r = post(
        base, "/query", {"text": "status = 500", "endpoint": "requests", "now": NOW_TEXT, **given}
    )
    assert r.status_code == 200
    assert r.json() == {"body": query_body("status = 500", endpoint="requests", now=NOW, **given)}
    assert r.json()["body"]["isScored"] is False
    for body, message in [
        ({"sort": "is_cached"}, "empty page"),
        ({"sort": {"properties": {"a-b": "asc"}}}, "HTTP 500"),
        ({"tz_offset": 60}, "tz_offset is an option of the user-metrics endpoint, not of requests"),
        ({"limit": 1001}, "1,000"),
    ]:
        refused = post(base, "/query", {"text": "all", "endpoint": "requests", **body})
        assert refused.status_code == 422, body
        assert message in refused.json()["error"]["message"]
    users = post(base, "/query", {"text": "all", "is_scored": True})
    assert users.status_code == 422
    assert post(base, "/query", {"text": "all", "endpoint": "sessions"}).status_code == 422


def test_compile_error_is_422_with_problems(base: str) -> None:
    r = post(base, "/compile", {"text": "modle = 1"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["message"] == "unknown field 'modle'"
    assert error["problems"][0]["hint"] == "did you mean 'model'?"


def test_format_and_check(base: str) -> None:
    assert post(base, "/format", {"text": "NOT cost > 1"}).json() == {"text": "cost <= 1"}
    node = {"users_view": {"user_cost": {"gt": 5}}}
    assert post(base, "/format", {"text": node}).json() == {"text": "user_cost > 5"}
    assert post(base, "/format", {"text": json.dumps(node)}).json() == {"text": "user_cost > 5"}
    problems = post(base, "/check", {"text": 'model contains "a_b"'}).json()["problems"]
    assert [p["code"] for p in problems] == ["contains-wildcard"]
    problems = post(base, "/check", {"text": {"users_view": {"usr": {"gt": 1}}}}).json()
    assert problems["problems"][0]["severity"] == "error"


def test_complete_and_diagnose(base: str) -> None:
    r = post(base, "/complete", {"text": "cached ", "map_keys": {"properties": ["env"]}})
    assert [c["label"] for c in r.json()["completions"]] == ["=", "!=", "and", "or"]
    r = post(base, "/complete", {"text": "properties.", "map_keys": {"properties": ["env"]}})
    assert r.json()["completions"][0]["insert_text"] == "env"
    r = post(base, "/diagnose", {"text": "modle = 1 and cost => 5"})
    assert [d["code"] for d in r.json()["diagnostics"]] == ["unknown-field", "unknown-operator"]
    assert r.json()["diagnostics"][0]["fixes"][0]["replacement"] == "model"


def test_fields_healthz_openapi(base: str) -> None:
    fields = httpx.get(base + "/fields").json()["fields"]
    assert [f["field"] for f in fields] == list(FIELDS)
    assert httpx.get(base + "/healthz").json() == {"ok": True}
    assert httpx.get(base + "/openapi.json").json() == json.loads(json.dumps(openapi_document()))


@pytest.mark.parametrize(
    ("content", "headers", "status", "needle"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "not valid JSON"),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "a JSON object"),
        (b"\xff\xfe", {"content-type": "application/json"}, 400, "not JSON"),
        (b'{"text": "x"}', {"content-type": "text/plain"}, 415, "application/json"),
        (b"{}", {"content-type": "application/json"}, 422, "needs 'text'"),
        (b'{"text": 5}', {"content-type": "application/json"}, 422, "'text' must be string"),
        (b'{"text": "x", "now": "soon"}', {"content-type": "application/json"}, 422, "'now'"),
        (b'{"text": "' + b"x" * 5000 + b'"}', {"content-type": "application/json"}, 413, "limit"),
    ],
)
def test_bad_bodies(
    base: str, content: bytes, headers: dict[str, str], status: int, needle: str
) -> None:
    r = httpx.post(base + "/compile", content=content, headers=headers, timeout=10)
    assert r.status_code == status
    assert needle in r.json()["error"]["message"]


def test_oversize_body_without_a_length_is_refused(base: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    r = httpx.post(
        base + "/diagnose", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def test_unknown_paths_and_methods_are_json(base: str) -> None:
    r = httpx.get(base + "/nope")
    assert r.status_code == 404 and "no such endpoint" in r.json()["error"]["message"]
    r = httpx.get(base + "/compile")
    assert r.status_code == 405 and r.json()["error"]["message"].startswith("GET")


def test_cors(base: str) -> None:
    r = httpx.options(
        base + "/compile",
        headers={
            "origin": "https://builder.example.com",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://builder.example.com"
    r = httpx.post(
        base + "/compile", json={"text": "cached"}, headers={"origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in r.headers


def test_serve_from_the_command_line() -> None:
    import signal
    import subprocess
    import sys
    from pathlib import Path

    script = str(Path(sys.executable).parent / "helicone-filter")
    proc = subprocess.Popen(
        [script, "serve", "--port", "0", "--max-body-bytes", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the start line, once it listens: where
        assert first.startswith("helicone-filter: serving on http://127.0.0.1:"), first
        base = first.split()[3]
        assert "Ctrl-C stops it" in first and f"{base}/openapi.json" in first
        r = httpx.get(base + "/healthz", timeout=5)
        assert r.json() == {"ok": True}
        big = httpx.post(base + "/compile", json={"text": "x" * 200})
        assert big.status_code == 413
        page = httpx.get(base + "/")
        assert page.status_code == 200 and "helicone-filter playground" in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130  # Ctrl-C, as for every command
    assert err.strip().splitlines()[-1] == f"helicone-filter: stopped serving on {base}"
    assert out == ""


def _serve_error(*args: str) -> tuple[int, str]:
    import subprocess
    import sys
    from pathlib import Path

    script = str(Path(sys.executable).parent / "helicone-filter")
    done = subprocess.run(
        [script, "serve", *args], capture_output=True, text=True, timeout=30, check=False
    )
    return done.returncode, done.stderr


def test_serve_says_in_one_line_why_it_cannot_listen() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = _serve_error("--port", str(port))
    assert code == 69  # not 3, which says that no users came back
    assert err == (
        f"helicone-filter: error: 127.0.0.1:{port} is in use by another program: stop "
        "it, or choose another port (--port; 0 picks a free one)\n"
    )
    code, err = _serve_error("--port", "99999")
    assert code == 2
    assert err.splitlines()[-1] == (
        "helicone-filter: error: argument --port: '99999' is not a port: give 0 to 65535"
    )
    assert "Traceback" not in err
    code, err = _serve_error("--host", "no-such-host.invalid")
    assert code == 69 and len(err.splitlines()) == 1
    assert "'no-such-host.invalid': it is not an address of this machine" in err


def test_the_curl_example_in_serve_help_works(base: str) -> None:
    import shlex
    import subprocess
    import sys
    from pathlib import Path

    script = str(Path(sys.executable).parent / "helicone-filter")
    help_text = subprocess.run(
        [script, "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    start = help_text.index("curl ")
    command = help_text[start : help_text.index("}'", start) + 2].replace("\\\n", " ")
    argv = shlex.split(command)
    assert argv[0] == "curl"
    # Run what it says with httpx, against this test's server: the same headers and body.
    headers = dict(h.split(": ", 1) for flag, h in itertools.pairwise(argv) if flag == "-H")
    body = argv[argv.index("-d") + 1]
    url = argv[2].replace("localhost:8765", base)
    r = httpx.post(url, content=body.encode(), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["diagnostics"][0]["code"] == "unknown-field"


# -- clients that go away, faults of ours, and the page's Content-Security-Policy ----------


@pytest.mark.hostile
def test_a_client_that_goes_away_is_no_traceback() -> None:
    """Before: each disconnect mid-body logged a full traceback (54 of them: 156 KB)."""
    with serve_process() as (base, process):
        port = int(base.rsplit(":", 1)[1])
        for _ in range(30):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(
                    b"POST /compile HTTP/1.1\r\nHost: localhost\r\n"
                    b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"te'
                )
                time.sleep(0.01)
        assert httpx.get(base + "/healthz").status_code == 200
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "Traceback" not in err
    assert len(err) < 2000, err


@pytest.mark.hostile
def test_an_unforeseen_failure_is_a_json_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(body: Any) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(handlers, "_check", broken)
    r = call_app(create_app(), "POST", "/check", json={"text": "cached"})
    assert_error(r, 500, "a fault of ours")


@pytest.mark.hostile
def test_the_playground_allows_its_own_script_and_style_only() -> None:
    r = call_app(create_app(), "GET", "/")
    policy = r.headers["content-security-policy"]
    page = r.text
    for tag in ("script", "style"):
        (inline,) = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


def test_every_operation_with_a_body_has_a_handler() -> None:
    """The paths are said once (`models.OPERATIONS`); each POST path has its handler, and no
    handler answers a path the OpenAPI document lacks."""
    from helicone_filter.service import models

    posts = {path for path, row in models.OPERATIONS.items() if row[2] is not None}
    assert posts == set(handlers.ENDPOINTS)
    assert all(callable(getattr(handlers, name)) for name in handlers.ENDPOINTS.values())


# -- the endpoint: a field of every body that reads a filter (but /query's) ---------------------

TAG = 'session_tag = "x"'
TAG_JSON = {"sessions_request_response_rmt": {"session_tag": {"equals": "x"}}}
OTHER_ENDPOINT = "user_cost is a field of the user-metrics endpoint (users_view)"


def test_each_endpoint_reads_the_filter_for_the_endpoint_asked_for(base: str) -> None:
    requests = {"endpoint": "requests"}
    r = post(base, "/compile", {"text": TAG, **requests})
    assert r.status_code == 200 and r.json()["json"] == TAG_JSON
    assert_error(post(base, "/compile", {"text": TAG}), 422, "session_tag is a field of the")
    assert_error(post(base, "/compile", {"text": "user_cost > 5", **requests}), 422, OTHER_ENDPOINT)
    assert post(base, "/format", {"text": TAG_JSON, **requests}).json() == {"text": TAG}
    assert post(base, "/format", {"text": TAG, **requests}).json() == {"text": TAG}
    assert post(base, "/check", {"text": TAG, **requests}).json() == {"problems": []}
    assert post(base, "/check", {"text": TAG_JSON, **requests}).json() == {"problems": []}
    [problem] = post(base, "/check", {"text": "user_cost > 5", **requests}).json()["problems"]
    assert problem["severity"] == "error" and OTHER_ENDPOINT in problem["message"]
    [found] = post(base, "/diagnose", {"text": "user_cost > 5", **requests}).json()["diagnostics"]
    assert OTHER_ENDPOINT in found["message"]
    assert post(base, "/diagnose", {"text": TAG, **requests}).json() == {"diagnostics": []}
    labels = [
        c["label"]
        for c in post(base, "/complete", {"text": "sess", **requests}).json()["completions"]
    ]
    assert "session_tag" in labels
    assert "session_tag" not in [
        c["label"] for c in post(base, "/complete", {"text": "sess"}).json()["completions"]
    ]
    r = post(base, "/sql", {"text": TAG, **requests})
    assert r.status_code == 200 and r.json()["params"] == {"p0": "x"}
    assert post(base, "/sql", {"text": TAG_JSON, **requests}).status_code == 200
    assert_error(post(base, "/sql", {"text": TAG_JSON}), 422, "session")


@pytest.mark.parametrize("path", ["/compile", "/diagnose", "/complete"])
def test_an_unknown_endpoint_is_refused_with_did_you_mean(base: str, path: str) -> None:
    r = post(base, path, {"text": "cached", "endpoint": "request"})
    assert_error(r, 422, "unknown endpoint 'request': the endpoints are 'user-metrics' and")
    assert "did you mean 'requests'?" in r.json()["error"]["message"]
    assert_error(post(base, path, {"text": "cached", "endpoint": 2}), 422, "must be string")


def test_the_fields_of_an_endpoint(base: str) -> None:
    from helicone_filter.facts.schema import field_table

    fields = httpx.get(base + "/fields", params={"endpoint": "requests"}).json()["fields"]
    assert fields == field_table("requests")
    assert "session_tag" in {f["field"] for f in fields}
    assert httpx.get(base + "/fields", params={"endpoint": "user-metrics"}).json() == (
        httpx.get(base + "/fields").json()
    )
    r = httpx.get(base + "/fields", params={"endpoint": "users"})
    assert_error(r, 422, "unknown endpoint 'users'")


def test_complete_says_where_the_cursor_goes_and_offers_known_values(base: str) -> None:
    [template] = post(base, "/complete", {"text": "model = "}).json()["completions"]
    assert (template["insert_text"], template["cursor_offset"]) == ('""', 1)
    assert template["cursor_offset_utf16"] == 1
    field = post(base, "/complete", {"text": "user_co"}).json()["completions"][0]
    assert field["cursor_offset"] == len(field["insert_text"]) == len("user_cost ")
    values = {"model": ["gpt-4o", "😀 x"], "status": [200, 4.5], "properties.environment": ["p"]}
    found = post(base, "/complete", {"text": "model = ", "values": values}).json()["completions"]
    assert [(c["insert_text"], c["cursor_offset"], c["cursor_offset_utf16"]) for c in found] == [
        ('"gpt-4o"', 8, 8),
        ('"😀 x"', 5, 6),
        ('""', 1, 1),
    ]
    found = post(base, "/complete", {"text": "status >= ", "values": values}).json()
    assert [c["label"] for c in found["completions"]] == ["200", "4.5", "0"]
    found = post(base, "/complete", {"text": "properties.environment = p", "values": values})
    assert [c["insert_text"] for c in found.json()["completions"]] == ['"p"']
    schema = httpx.get(base + "/openapi.json").json()["components"]["schemas"]
    assert "cursor_offset" in schema["Completion"]["required"]
    assert (
        "where the cursor goes"
        in schema["Completion"]["properties"]["cursor_offset"]["description"].lower()
    )
    assert "values" in schema["CompleteRequest"]["properties"]


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ([], "'values' must be object"),
        ({"model": "gpt-4o"}, "gives each field a list of strings or numbers"),
        ({"model": [True]}, "gives each field a list of strings or numbers; 'model' has True"),
        ({"model": [None]}, "gives each field a list of strings or numbers"),
        ({"status": [2**60]}, "beyond what JavaScript reads exactly"),
        ({"model": ["x" * 1001]}, "a value may be at most 1,000"),
    ],
)
def test_complete_refuses_values_out_of_bounds(base: str, values: object, said: str) -> None:
    r = post(base, "/complete", {"text": "model = ", "values": values})
    assert_error(r, 422, said)


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"model": ["x"] * 10_001}, "give at most 10,000"),
        ({f"f{i}": [] for i in range(1001)}, "give at most 1,000"),
        ({"m" * 1001: ["x"]}, "is 1,001 characters long; at most 1,000"),
    ],
)
def test_complete_refuses_more_values_than_its_bounds(values: object, said: str) -> None:
    """(Larger than the test service's body limit: the model, which every body goes through.)"""
    from pydantic import ValidationError

    from helicone_filter.service.models import CompleteRequest

    with pytest.raises(ValidationError, match=said):
        CompleteRequest.model_validate({"text": "model = ", "values": values})
