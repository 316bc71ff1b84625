"""The service's OpenAPI document is a contract: it is valid OpenAPI 3.1, every real answer of
the running service (200s and errors) validates against the schema of its status, the checks
can fail, and a TypeScript client typed from the document by openapi-typescript type-checks.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
import httpx
from conftest import TESTS, serving
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from strategies import any_filter_text, any_json_filter

from helicone_filter.service import handlers
from helicone_filter.service.app import create_app, openapi_document

NOW = "2025-06-01T12:00:00Z"
ERRORS = (400, 408, 413, 415, 421, 422, 500, 503)


def _in_process(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A request to `app` in this process."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            return await c.request(method, path, **kwargs)

    return asyncio.run(go())


@cache
def document() -> dict[str, Any]:
    """The document as the service serves it."""
    r = _in_process(create_app(), "GET", "/openapi.json")
    assert r.status_code == 200
    served: dict[str, Any] = r.json()
    return served


@cache
def _validator(schema_json: str) -> OAS31Validator:
    schema = json.loads(schema_json)
    return OAS31Validator(
        {**schema, "components": document()["components"]}, format_checker=oas31_format_checker
    )


def validator(schema: dict[str, Any]) -> OAS31Validator:
    """A validator of `schema`, whose `$ref`s point into the document's components."""
    return _validator(json.dumps(schema, sort_keys=True))


def response_schema(method: str, path: str, status: int, media: str) -> dict[str, Any]:
    """The schema the document gives for this answer; fails if it documents no such answer."""
    responses = document()["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, which is undocumented"
    content = responses[str(status)]["content"]
    assert media in content, f"{method} {path} {status} came as {media}, which is undocumented"
    schema: dict[str, Any] = content[media]["schema"]
    return schema


def request_schema(path: str) -> dict[str, Any]:
    schema: dict[str, Any] = document()["paths"][path]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return schema


def check_answer(method: str, path: str, r: httpx.Response) -> Any:
    """Validate a real answer against the document; the answer's JSON."""
    media = r.headers["content-type"].split(";")[0].strip()
    schema = response_schema(method, path, r.status_code, media)
    body = r.json() if media == "application/json" else r.text
    validator(schema).validate(body)
    return body


def rejects(schema: dict[str, Any], value: Any) -> bool:
    try:
        validator(schema).validate(value)
    except ValidationError:
        return True
    return False


# -- the document itself ----------------------------------------------------------------------


def _refs(node: Any) -> Iterator[str]:
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if isinstance(x.get("$ref"), str):
                yield x["$ref"]
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def _routes() -> set[tuple[str, str]]:
    return {
        (method.lower(), route.path)
        for route in create_app().routes
        for method in getattr(route, "methods", None) or ()
        if method != "HEAD"
    }


def test_the_document_is_openapi_3_1_of_every_route() -> None:
    doc = document()
    assert doc == json.loads(json.dumps(openapi_document()))
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] == "helicone-filter" and doc["info"]["version"]
    operations = {(m, p): op for p, item in doc["paths"].items() for m, op in item.items()}
    assert set(operations) == _routes()
    ids = [op["operationId"] for op in operations.values()]
    assert len(set(ids)) == len(ids) == len(operations)
    schemas = doc["components"]["schemas"]
    for schema in schemas.values():
        OAS31Validator.check_schema(schema)  # the OAS 3.1 dialect of JSON Schema 2020-12
    for ref in _refs(doc):
        prefix = "#/components/schemas/"
        assert ref.startswith(prefix) and ref[len(prefix) :] in schemas, ref
    for (method, path), op in operations.items():
        if path in ("/", "/openapi.json"):
            continue
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ok.startswith("#/components/schemas/")
        models = [ok]
        errors = {int(s) for s in op["responses"]} - {200}
        if method == "post":
            body = op["requestBody"]
            assert body["required"] is True
            models.append(body["content"]["application/json"]["schema"]["$ref"])
            assert errors == set(ERRORS)
        else:  # a GET with query parameters refuses a value outside their enum
            assert errors == ({421, 422, 500} if op.get("parameters") else {421, 500})
        for status in errors:
            error = op["responses"][str(status)]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}
        # The service's models say what each property is: the client's documentation.
        for ref in models:
            model = schemas[ref.removeprefix("#/components/schemas/")]
            assert model["description"]
            assert all(p.get("description") for p in model["properties"].values()), ref


def test_the_filter_is_typed_not_any() -> None:
    schemas = document()["components"]["schemas"]
    node = {"$ref": "#/components/schemas/FilterNode"}
    requests = {"$ref": "#/components/schemas/RequestFilterNode"}  # (endpoint "requests")
    assert schemas["FilterInput"]["anyOf"] == [{"type": "string"}, node, requests]
    assert schemas["CompileResponse"]["properties"]["json"]["anyOf"] == [node, requests]
    assert schemas["FilterNode"]["oneOf"][:2] == [
        {"$ref": "#/components/schemas/FilterLeaf"},
        {"$ref": "#/components/schemas/FilterBranch"},
    ]
    for name in ("FilterLeaf", "FilterBranch", "TextOperators", "CompileRequest", "Problem"):
        assert schemas[name]["additionalProperties"] is False


def test_no_default_makes_an_optional_property_look_required() -> None:
    """openapi-typescript types a property with a `default` as always present: FilterNode's
    columns and a request's options would all become required."""
    stack: list[Any] = list(document()["components"]["schemas"].values())
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            assert "default" not in x, x
            stack.extend(v for k, v in x.items() if k != "properties")
            stack.extend(x.get("properties", {}).values())  # not the names: schemas
        elif isinstance(x, list):
            stack.extend(x)


def test_the_full_openapi_validator_accepts_it() -> None:
    import openapi_spec_validator

    openapi_spec_validator.validate(copy.deepcopy(document()))


# -- real answers -----------------------------------------------------------------------------

JSON_LEAF = {"request_response_rmt": {"model": {"equals": "gpt-4"}}}
JSON_BRANCH = {
    "left": {"users_view": {"user_cost": {"gt": 5}}},
    "operator": "and",
    "right": {"request_response_rmt": {"properties": {"😀": {"equals": "b"}}}},
}
BAD_JSON = {"request_response_rmt": {"modle": {"equals": "x"}}}

# (path, body, status, whether the request schema accepts the body: None where the service
# is meant for bodies outside it, as /check is for JSON from elsewhere)
TAG = 'session_tag = "x"'
TAG_JSON = {"sessions_request_response_rmt": {"session_tag": {"equals": "x"}}}
CASES: list[tuple[str, Any, int, bool | None]] = [
    ("/compile", {"text": 'model = "gpt-4" and cost > 1'}, 200, True),
    ("/compile", {"text": 'model = "😀" and cached', "nesting": "right", "now": NOW}, 200, True),
    ("/compile", {"text": 'user_last_active > now - 7d and properties["𝒳"] = "y"'}, 200, True),
    ("/compile", {"text": 'user_last_active > now - 7d or properties["𝒳"] = "y"'}, 422, True),
    ("/compile", {"text": 'model in ["a", "b", "c"] and not cached', "now": NOW}, 200, True),
    ("/compile", {"text": "all"}, 200, True),
    ("/compile", {"text": 'modle = "😀"'}, 422, True),
    ("/compile", {"text": '"😀" = model and ('}, 422, True),
    ("/compile", {"text": ""}, 200, True),
    ("/compile", {"text": 5}, 422, False),
    ("/compile", {}, 422, False),
    ("/compile", {"text": "cached", "nesting": "deep"}, 422, False),
    ("/compile", {"text": "cached", "now": None}, 422, False),
    ("/format", {"input": 'cost>1 AND model="😀"'}, 200, True),
    ("/format", {"input": JSON_LEAF}, 200, True),
    ("/format", {"input": JSON_BRANCH}, 200, True),
    ("/format", {"input": json.dumps(JSON_BRANCH)}, 200, True),
    ("/format", {"input": "all"}, 200, True),
    ("/format", {"input": BAD_JSON}, 422, False),
    ("/format", {"input": '{"a": "😀" '}, 422, True),
    ("/format", {"input": "modle = 1"}, 422, True),
    ("/format", {"input": 5}, 422, False),
    ("/check", {"input": 'model = "😀"'}, 200, True),
    ("/check", {"input": 'modle = "😀" and cost > "a"', "now": NOW}, 200, True),
    ("/check", {"input": 'request_created_at > "1900-01-01"'}, 200, True),
    ("/check", {"input": JSON_BRANCH}, 200, True),
    ("/check", {"input": BAD_JSON}, 200, None),
    ("/check", {"input": [1]}, 200, None),
    ("/check", {"input": None}, 422, False),
    ("/complete", {"text": "mod"}, 200, True),
    ("/complete", {"text": 'model = "😀" and ', "cursor_utf16": 17}, 200, True),
    ("/complete", {"text": 'model = "😀" an', "cursor_utf16": 11}, 200, True),
    ("/complete", {"text": "properties[", "map_keys": {"properties": ["env", "𝒳"]}}, 200, True),
    ("/complete", {"text": "cost ", "cursor": 5}, 200, True),
    ("/complete", {"text": ""}, 200, True),
    ("/complete", {"text": "x", "cursor": 1, "cursor_utf16": 1}, 422, True),
    ("/complete", {"text": "x", "cursor": "1"}, 422, False),
    ("/complete", {"text": "x", "cursor": -1}, 422, False),
    ("/complete", {"text": "x", "cursor_utf16": 2**53}, 422, False),
    ("/complete", {"text": "x", "map_keys": {"property": ["a"]}}, 422, False),
    ("/complete", {"text": "x", "map_keys": {"scores": ["a" * 1001]}}, 422, False),
    ("/complete", {"text": "x", "cursor": 2**53 - 1}, 200, True),
    ("/diagnose", {"text": "modle = 1 and cost => 5"}, 200, True),
    ("/diagnose", {"text": '"😀" = model and modle = 1', "now": NOW}, 200, True),
    ("/diagnose", {"text": 'model like "a\\'}, 200, True),
    ("/diagnose", {"text": 'model = "x"'}, 200, True),
    ("/diagnose", {"text": ""}, 200, True),
    ("/diagnose", {"text": 1}, 422, False),
    ("/sql", {"input": 'model = "gpt-4" and cost > 1'}, 200, True),
    (
        "/sql",
        {
            "input": 'cached and user_cost > 1.5 and properties["😀"] = "b"',
            "table_map": {"request_response_rmt": "db.requests"},
        },
        200,
        True,
    ),
    ("/sql", {"input": "request_created_at > now - 1d", "now": NOW}, 200, True),
    (
        "/sql",
        {"input": {"request_response_rmt": {"model": {"equals": "x", "contains": "y"}}}},
        200,
        True,
    ),
    ("/sql", {"input": JSON_BRANCH, "target": "helicone-having"}, 200, True),
    ("/sql", {"input": "all"}, 200, True),
    ("/sql", {"input": "modle = 1"}, 422, True),
    ("/sql", {"input": BAD_JSON}, 422, False),
    ("/sql", {"input": "cached", "target": "nowhere"}, 422, False),
    ("/sql", {"input": "cached", "table_map": {"x": 1}}, 422, False),
    (
        "/query",
        {"input": 'user_id = "a"', "since": "7d", "sort": "cost:desc", "now": NOW},
        200,
        True,
    ),
    (
        "/query",
        {
            "input": JSON_BRANCH,
            "limit": 10,
            "offset": 20,
            "tz_offset": -120,
            "sort": {"cost": "asc"},
        },
        200,
        True,
    ),
    ("/query", {"input": 'model = "😀"', "sort": "none"}, 200, True),
    ("/query", {"input": "all", "since": "2025-01-01", "until": "now", "now": NOW}, 200, True),
    ("/query", {"input": json.dumps(JSON_LEAF)}, 200, True),
    ("/query", {"input": "modle = 1"}, 422, True),
    ("/query", {"input": BAD_JSON}, 422, False),
    ("/query", {"input": "cached", "limit": 0}, 422, False),
    ("/query", {"input": "cached", "limit": 1001}, 422, False),
    ("/query", {"input": "cached", "limit": 1000, "offset": 2**53 - 1}, 200, True),
    ("/query", {"input": "cached", "offset": 2**53}, 422, False),
    ("/query", {"input": "cached", "tz_offset": -1441}, 422, False),
    ("/query", {"input": "cached", "limt": 10}, 422, False),
    ("/query", {"input": "cached", "since": "soon"}, 422, True),
    # the endpoint, on every body that reads a filter but /query's
    ("/compile", {"text": TAG, "endpoint": "requests"}, 200, True),
    ("/compile", {"text": TAG, "endpoint": "user-metrics"}, 422, True),
    ("/compile", {"text": "cached", "endpoint": "request"}, 422, False),
    ("/format", {"input": TAG_JSON, "endpoint": "requests"}, 200, True),
    ("/format", {"input": "user_cost > 5", "endpoint": "requests"}, 422, True),
    ("/check", {"input": TAG, "endpoint": "requests"}, 200, True),
    ("/check", {"input": TAG_JSON, "endpoint": 1}, 422, False),
    ("/complete", {"text": "sess", "endpoint": "requests"}, 200, True),
    ("/complete", {"text": "sess", "endpoint": "sessions"}, 422, False),
    ("/diagnose", {"text": TAG, "endpoint": "requests"}, 200, True),
    ("/diagnose", {"text": TAG, "endpoint": None}, 422, False),
    ("/sql", {"input": TAG, "endpoint": "requests"}, 200, True),
    ("/sql", {"input": TAG_JSON, "endpoint": "user-metrics"}, 422, True),
]


@pytest.mark.parametrize(("path", "body", "status", "valid"), CASES)
def test_real_answers_validate(
    base: str, path: str, body: Any, status: int, valid: bool | None
) -> None:
    r = httpx.post(base + path, json=body, timeout=10)
    assert r.status_code == status, r.text
    answer = check_answer("POST", path, r)
    if status == 422:
        # A filter's problems are given in both units, in the error as everywhere else.
        assert all("start_utf16" in p for p in answer["error"]["problems"])
    if valid is not None:
        assert rejects(request_schema(path), body) is not valid, "the request schema disagrees"


def test_every_422_counts_in_utf16_too(base: str) -> None:
    """Problems about FilterNode JSON, and a JSON string that does not read, came without
    `start_utf16`/`end_utf16` (the schema, which requires them, found it)."""
    r = httpx.post(base + "/format", json={"input": '{"a": "😀" '})
    [p] = check_answer("POST", "/format", r)["error"]["problems"]
    assert (p["code"], p["start"], p["start_utf16"]) == ("invalid-json", 10, 11)
    for path in ("/format", "/sql", "/query"):
        r = httpx.post(base + path, json={"input": BAD_JSON})
        [p] = check_answer("POST", path, r)["error"]["problems"]
        assert (p["path"], p["start_utf16"], p["end_utf16"], p["fixes"]) == (
            "$.request_response_rmt.modle",
            0,
            0,
            [],
        )


def test_the_cases_cover_every_operation_and_answer() -> None:
    posts = {p for p, item in document()["paths"].items() if "post" in item}
    assert {path for path, *_ in CASES} == posts
    for path in posts:
        assert {s for p, _, s, _ in CASES if p == path} == {200, 422}


@pytest.mark.parametrize("path", ["/fields", "/healthz", "/openapi.json", "/"])
def test_real_gets_validate(base: str, path: str) -> None:
    r = httpx.get(base + path, timeout=10)
    assert r.status_code == 200
    check_answer("GET", path, r)


def test_the_fields_of_each_endpoint_validate(base: str) -> None:
    from helicone_filter.facts.endpoints import ENDPOINT_NAMES

    [parameter] = document()["paths"]["/fields"]["get"]["parameters"]
    assert parameter["name"] == "endpoint" and parameter["in"] == "query"
    assert parameter["schema"] == {"type": "string", "enum": list(ENDPOINT_NAMES)}
    for name in ENDPOINT_NAMES:
        r = httpx.get(base + "/fields", params={"endpoint": name}, timeout=10)
        assert r.status_code == 200
        check_answer("GET", "/fields", r)
    r = httpx.get(base + "/fields", params={"endpoint": "request"}, timeout=10)
    assert r.status_code == 422
    assert "did you mean 'requests'?" in check_answer("GET", "/fields", r)["error"]["message"]


def test_every_body_that_reads_a_filter_but_query_takes_the_endpoint() -> None:
    from helicone_filter.facts.endpoints import ENDPOINT_NAMES

    schemas = document()["components"]["schemas"]
    for path, item in document()["paths"].items():
        if "post" not in item:
            continue
        ref = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        properties = schemas[ref.rsplit("/", 1)[1]]["properties"]
        if path == "/query":  # its body, and its endpoint, are the query's own
            continue
        assert properties["endpoint"]["enum"] == list(ENDPOINT_NAMES), path
        assert "default `user-metrics`" in properties["endpoint"]["description"]


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"{not json", {"content-type": "application/json"}, 400),
        (b"[1, 2]", {"content-type": "application/json"}, 400),
        (b"\xff\xfe", {"content-type": "application/json"}, 400),
        (b"[" * 3000, {"content-type": "application/json"}, 400),
        (b'{"text": "cached"}', {"content-type": "text/plain"}, 415),
        (b'{"text": "cached"}', {}, 415),
        (b'{"text": "' + b"x" * 5000 + b'"}', {"content-type": "application/json"}, 413),
    ],
)
def test_refused_bodies_validate(
    base: str, content: bytes, headers: dict[str, str], status: int
) -> None:
    for path in ("/compile", "/sql"):
        r = httpx.post(base + path, content=content, headers=headers, timeout=10)
        assert r.status_code == status
        assert check_answer("POST", path, r)["error"]["problems"] == []


def test_a_host_not_answered_validates() -> None:
    app = create_app(allowed_hosts=["localhost"])
    for method, path in (("GET", "/healthz"), ("GET", "/fields"), ("POST", "/diagnose")):
        r = _in_process(app, method, path, json={"text": "x"}, headers={"host": "evil.example"})
        assert r.status_code == 421
        check_answer(method, path, r)


def test_a_late_answer_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(body: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.5)  # without holding the interpreter from the tests that follow
        return {}

    monkeypatch.setattr(handlers, "_compile", slow)
    r = _in_process(create_app(request_seconds=0.05), "POST", "/compile", json={"text": "x"})
    assert r.status_code == 503
    check_answer("POST", "/compile", r)


def test_an_unforeseen_failure_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(body: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(handlers, "_complete", broken)
    r = _in_process(create_app(), "POST", "/complete", json={"text": "x"})
    assert r.status_code == 500
    check_answer("POST", "/complete", r)


def _whole(answer: bytes) -> bool:
    head, found, body = answer.partition(b"\r\n\r\n")
    lengths = [h for h in head.lower().split(b"\r\n") if h.startswith(b"content-length:")]
    return bool(found and lengths) and len(body) >= int(lengths[0].split(b":")[1])


def test_a_body_that_does_not_arrive_validates() -> None:
    with serving(create_app(body_seconds=0.3)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(
                b"POST /query HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"input"'
            )
            s.settimeout(5)
            answer = b""
            while not _whole(answer):
                chunk = s.recv(65536)
                assert chunk, "the connection closed before the answer was whole"
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    schema = response_schema("POST", "/query", 408, "application/json")
    validator(schema).validate(json.loads(body))


@settings(max_examples=60)
@given(
    text=any_filter_text(small=True),
    cut=st.integers(min_value=0, max_value=200),
    astral=st.sampled_from(["", "😀", "𝒳𝒴"]),
)
def test_generated_filters_give_answers_that_validate(
    base: str, text: str, cut: int, astral: str
) -> None:
    """Whole filters, filters cut short, with astral characters put in: every answer of every
    endpoint that takes text validates, whatever its status."""
    cut = min(cut, len(text))
    typed = text[:cut] + astral + text[cut:] if astral else text[:cut]
    with httpx.Client(base_url=base, timeout=10) as c:
        for path, body in [
            ("/compile", {"text": text, "now": NOW}),
            ("/compile", {"text": typed, "now": NOW}),
            ("/check", {"input": typed, "now": NOW}),
            ("/diagnose", {"text": typed, "now": NOW}),
            ("/complete", {"text": typed, "cursor": cut}),
            ("/format", {"input": typed, "now": NOW}),
            ("/sql", {"input": text, "now": NOW}),
            ("/query", {"input": typed, "now": NOW}),
        ]:
            check_answer("POST", path, c.post(path, json=body))


@settings(max_examples=40)
@given(node=any_json_filter(small=True, several=True))
def test_generated_json_gives_answers_that_validate(base: str, node: Any) -> None:
    with httpx.Client(base_url=base, timeout=10) as c:
        for path in ("/format", "/check", "/sql", "/query"):
            check_answer("POST", path, c.post(path, json={"input": node, "now": NOW}))


# -- the checks can fail ----------------------------------------------------------------------


def _drop(*keys: str | int) -> Callable[[Any], None]:
    def mutate(answer: Any) -> None:
        for key in keys[:-1]:
            answer = answer[key]
        del answer[keys[-1]]

    return mutate


def _set(value: Any, *keys: str | int) -> Callable[[Any], None]:
    def mutate(answer: Any) -> None:
        for key in keys[:-1]:
            answer = answer[key]
        answer[keys[-1]] = value

    return mutate


MUTANTS: list[tuple[str, dict[str, Any], int, str, Callable[[Any], None]]] = [
    ("/compile", {"text": "cost > 1 and cached"}, 200, "no spans", _drop("spans")),
    ("/compile", {"text": "cached"}, 200, "no UTF-16", _drop("spans", 0, "start_utf16")),
    ("/compile", {"text": "cached"}, 200, "a key more", _set(1, "extra")),
    ("/compile", {"text": "cached"}, 200, "an offset as text", _set("0", "spans", 0, "start")),
    (
        "/compile",
        {"text": "cached"},
        200,
        "a step not left/right",
        _set(["up"], "spans", 0, "path"),
    ),
    (
        "/compile",
        {"text": "cached"},
        200,
        "an unknown column",
        _set({"users_view": {"x": {}}}, "json"),
    ),
    (
        "/compile",
        {"text": "cached"},
        200,
        "a text operator on a boolean",
        _set({"request_response_rmt": {"cached": {"equals": "yes"}}}, "json"),
    ),
    ("/compile", {"text": "modle = 1"}, 422, "no problems", _drop("error", "problems")),
    (
        "/compile",
        {"text": "modle = 1"},
        422,
        "a new severity",
        _set("fatal", "error", "problems", 0, "severity"),
    ),
    (
        "/compile",
        {"text": "modle = 1"},
        422,
        "no UTF-16",
        _drop("error", "problems", 0, "end_utf16"),
    ),
    (
        "/compile",
        {"text": "modle = 1"},
        422,
        "a fix without its replacement",
        _drop("error", "problems", 0, "fixes", 0, "replacement"),
    ),
    (
        "/compile",
        {"text": "modle = 1"},
        422,
        "a path left out",
        _drop("error", "problems", 0, "path"),
    ),
    ("/diagnose", {"text": "modle = 1"}, 200, "no hint", _drop("diagnostics", 0, "hint")),
    (
        "/diagnose",
        {"text": "modle = 1"},
        200,
        "a fix not a list",
        _set({}, "diagnostics", 0, "fixes"),
    ),
    ("/complete", {"text": "mod"}, 200, "a new kind", _set("snippet", "completions", 0, "kind")),
    ("/complete", {"text": "mod"}, 200, "no UTF-16", _drop("completions", 0, "replace_end_utf16")),
    ("/sql", {"input": "cost > 1"}, 200, "a list parameter", _set([1], "params", "p0")),
    ("/sql", {"input": "cost > 1"}, 200, "no warnings", _drop("warnings")),
    ("/query", {"input": "cached"}, 200, "no limit", _drop("body", "limit")),
    ("/query", {"input": "cached"}, 200, "a sort direction", _set({"cost": "up"}, "body", "sort")),
    ("/check", {"input": "cached"}, 200, "problems not a list", _set({}, "problems")),
    ("/format", {"input": "cached"}, 200, "no text", _drop("text")),
]


@pytest.mark.parametrize(
    ("path", "body", "status", "what", "mutate"), MUTANTS, ids=[m[3] + " " + m[0] for m in MUTANTS]
)
def test_a_broken_answer_is_refused(
    base: str,
    path: str,
    body: dict[str, Any],
    status: int,
    what: str,
    mutate: Callable[[Any], None],
) -> None:
    r = httpx.post(base + path, json=body, timeout=10)
    assert r.status_code == status
    answer = check_answer("POST", path, r)
    mutate(answer)
    assert rejects(response_schema("POST", path, status, "application/json"), answer), what


def test_an_undocumented_answer_is_refused() -> None:
    with pytest.raises(AssertionError, match="undocumented"):
        response_schema("GET", "/healthz", 422, "application/json")
    with pytest.raises(AssertionError, match="undocumented"):
        response_schema("POST", "/compile", 200, "text/plain")


# -- a TypeScript client typed from the document ----------------------------------------------

TS = TESTS / "typescript"
TS_REQUIRED = os.environ.get("HELICONE_FILTER_TS_TESTS") == "required"
TSC = [
    "--noEmit",
    "--strict",
    *("--target", "es2022", "--lib", "es2022,dom"),
    *("--module", "esnext", "--moduleResolution", "bundler"),
]


def _ts_missing() -> str | None:
    if not (shutil.which("node") and shutil.which("npx")):
        return "needs Node.js and npm (apt-get install nodejs npm)"
    for tool in ("openapi-typescript", "tsc"):
        if not (TS / "node_modules" / ".bin" / tool).exists():
            return f"needs {tool}: npm ci --prefix tests/typescript"
    return None


@pytest.fixture
def typescript() -> None:
    missing = _ts_missing()
    if missing is None:
        return
    if TS_REQUIRED:
        pytest.fail(f"HELICONE_FILTER_TS_TESTS=required, but this test {missing}")
    pytest.skip(f"{missing}; .ci/run installs them and requires this test")


def _npx(*args: str) -> list[str]:
    # --no: never fetch a package; the ones pinned in tests/typescript are used.
    return ["npx", "--no", "--", *args]


def generate(docs: dict[str, dict[str, Any]], root: Path) -> list[Path]:
    """For each document, root/<name>/api.ts made by openapi-typescript (all at once) beside a
    copy of usage.ts; the copies."""
    runs = []
    for name, doc in docs.items():
        where = root / name
        where.mkdir(parents=True)
        (where / "openapi.json").write_text(json.dumps(doc), encoding="utf-8")
        shutil.copy(TS / "usage.ts", where / "usage.ts")
        command = _npx(
            "openapi-typescript", str(where / "openapi.json"), "-o", str(where / "api.ts")
        )
        runs.append(
            subprocess.Popen(
                command, cwd=TS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    for run in runs:
        output = run.communicate(timeout=300)[0]
        assert run.returncode == 0, output
    return [root / name / "usage.ts" for name in docs]


def tsc(files: list[Path]) -> subprocess.CompletedProcess[str]:
    command = _npx("tsc", *TSC, *map(str, files))
    return subprocess.run(command, cwd=TS, capture_output=True, text=True, timeout=300)


@pytest.mark.usefixtures("typescript")
def test_a_typescript_client_typechecks(tmp_path: Path) -> None:
    start = time.perf_counter()
    checked = tsc(generate({"current": openapi_document()}, tmp_path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    print(f"openapi-typescript and tsc --strict: {time.perf_counter() - start:.1f} s")


# How a schema could be too loose, and the error of tsc that each must then give.
LOOSE: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "optional-offset": (lambda s: s["LeafSpan"]["required"].remove("start_utf16"), "TS2322"),
    "nesting-any-string": (
        lambda s: s["CompileRequest"]["properties"].update(nesting={"type": "string"}),
        "TS2578",  # an unused @ts-expect-error
    ),
    "span-of-anything": (lambda s: s.update(LeafSpan={}), "TS18046"),
    "operators-of-anything": (
        lambda s: s.update(TextOperators={"type": "object", "additionalProperties": True}),
        "TS2578",
    ),
}


@pytest.mark.usefixtures("typescript")
def test_a_loose_schema_fails_the_typescript_check(tmp_path: Path) -> None:
    docs = {}
    for name, (loosen, _) in LOOSE.items():
        docs[name] = openapi_document()
        loosen(docs[name]["components"]["schemas"])
    checked = tsc(generate(docs, tmp_path))
    assert checked.returncode != 0
    for name, (_, code) in LOOSE.items():
        errors = [line for line in checked.stdout.splitlines() if f"{name}/usage.ts" in line]
        assert any(f"error {code}:" in line for line in errors), (name, checked.stdout)
