"""A local stand-in for Helicone's POST /v1/user/metrics/query, built from the OpenAPI file.

It answers as Helicone's API server does: 401 without `Authorization: Bearer <API_KEY>`
(the body shaped as Helicone's auth middleware's, `{"error": ..., "trace": ...}`), 422 with
tsoa's `{"message": "Validation Failed", "details": {path: {"message", "value"}}}` when the body
does not validate against `UserMetricsQueryParams`, 400 with a `ResultError` for a limit above
1000 (as Helicone's controller), and otherwise 200 with a `ResultSuccess` page of `USERS`,
sorted, skipped and cut as the body asks. The validation is the strict reading of the schema
(no extra keys in leaves), which is what Helicone's validator enforces; unlike it, the fake
does not coerce `"5"` to 5.

Other keys choose other answers: `SLOW_KEY` waits `SLOW_SECONDS` first (less if the client
hangs up), `FAILING_KEY` gets Helicone's 500 `{"data": null, "error": ...}`, `ERROR_200_KEY`
a 200 with the error set, `GATEWAY_KEY` an HTML 502 from a proxy in front.
"""

from __future__ import annotations

import asyncio
import json
import time
from functools import cache
from typing import Any

from conftest import _strict, openapi
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API_KEY = "sk-helicone-test-7f3a"
SLOW_KEY = "sk-helicone-test-slow"
FAILING_KEY = "sk-helicone-test-failing"
ERROR_200_KEY = "sk-helicone-test-error-200"
GATEWAY_KEY = "sk-helicone-test-gateway"
KEYS = (API_KEY, SLOW_KEY, FAILING_KEY, ERROR_200_KEY, GATEWAY_KEY)
SLOW_SECONDS = 2.0
PATH = "/v1/user/metrics/query"

USERS: list[dict[str, Any]] = [
    {
        "id": "1",
        "user_id": "alice@example.com",
        "active_for": 12,
        "first_active": "2025-05-01T09:00:00.000Z",
        "last_active": "2025-05-31T18:30:00.000Z",
        "total_requests": 1200,
        "average_requests_per_day_active": 100,
        "average_tokens_per_request": 850.5,
        "total_completion_tokens": 420000,
        "total_prompt_tokens": 600600,
        "cost": 12.5,
    },
    {
        "id": "2",
        "user_id": "bob",
        "active_for": 1,
        "first_active": "2025-05-20T10:00:00.000Z",
        "last_active": "2025-05-20T10:05:00.000Z",
        "total_requests": 7,
        "average_requests_per_day_active": 7,
        "average_tokens_per_request": 120,
        "total_completion_tokens": 340,
        "total_prompt_tokens": 500,
        "cost": 0.000123,
    },
    {
        "id": "3",
        "user_id": "顧客-7",  # two columns a character on a terminal
        "active_for": 3,
        "first_active": "2025-04-02T00:00:00.000Z",
        "last_active": "2025-05-28T23:59:59.000Z",
        "total_requests": 45,
        "average_requests_per_day_active": 15,
        "average_tokens_per_request": 300,
        "total_completion_tokens": 6000,
        "total_prompt_tokens": 7500,
        "cost": 1.75,
    },
    {
        "id": "4",
        "user_id": "mallory\x1b[2J",  # a terminal escape, which must not reach the terminal
        "active_for": 2,
        "first_active": "2025-05-10T08:00:00.000Z",
        "last_active": "2025-05-11T08:00:00.000Z",
        "total_requests": 20,
        "average_requests_per_day_active": 10,
        "average_tokens_per_request": 50,
        "total_completion_tokens": 400,
        "total_prompt_tokens": 600,
        "cost": 0.2,
    },
]


@cache
def validator(schema: str, strict: bool = False) -> OAS30Validator:
    """A validator of one of the OpenAPI file's schemas (strict: extra keys refused)."""
    components = openapi()["components"]
    return OAS30Validator(
        {"components": _strict(components) if strict else components, "$ref": schema},
        format_checker=oas30_format_checker,
    )


BODY_SCHEMA = "#/components/schemas/UserMetricsQueryParams"
RESULT_SCHEMA = (
    "#/components/schemas/"
    "Result__users-UserMetricsResult-Array--count-number--hasUsers-boolean_.string_"
)
SUCCESS_SCHEMA = (
    "#/components/schemas/"
    "ResultSuccess__users-UserMetricsResult-Array--count-number--hasUsers-boolean__"
)
USER_SCHEMA = "#/components/schemas/UserMetricsResult"


def _tsoa_path(path: Any) -> str:
    return "requestBody" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def validation_details(body: Any) -> dict[str, dict[str, Any]]:
    """The body's problems as tsoa lists them: a path in `requestBody` → message and value."""
    details: dict[str, dict[str, Any]] = {}
    for error in validator(BODY_SCHEMA, strict=True).iter_errors(body):
        while error.context:  # anyOf: the branch that got deepest says what is wrong
            error = max(error.context, key=lambda e: len(e.absolute_path))
        path = _tsoa_path(error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1]
            details[f"{path}.{missing}"] = {"message": f"'{missing}' is required"}
        else:
            details[path] = {"message": error.message, "value": error.instance}
    return details


def _sorted_page(body: dict[str, Any]) -> list[dict[str, Any]]:
    users = list(USERS)
    sort = body.get("sort", {"last_active": "desc"})
    for key, direction in sort.items():
        users.sort(key=lambda u: u.get(key, 0), reverse=direction == "desc")
    offset, limit = int(body["offset"]), int(body["limit"])
    return users[offset : offset + limit]


async def _query(request: Request) -> Response:
    state = request.app.state
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme != "Bearer" or not key:
        return JSONResponse({"error": "No authorization header found"}, status_code=401)
    if key not in KEYS:
        return JSONResponse(
            {"error": "Invalid API key", "trace": "isAuthenticated.error"}, status_code=401
        )
    raw = await request.body()
    try:
        body = json.loads(raw) if "json" in request.headers.get("content-type", "") else {}
    except ValueError:
        return Response("Bad Request", status_code=400, media_type="text/plain")
    state.received.append({"headers": dict(request.headers), "body": body})
    if key == SLOW_KEY:
        deadline = time.monotonic() + SLOW_SECONDS
        while time.monotonic() < deadline:
            if await request.is_disconnected():
                return Response(status_code=499)
            await asyncio.sleep(0.05)
    if key == GATEWAY_KEY:
        html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
        return Response(html, status_code=502, media_type="text/html")
    details = validation_details(body)
    if details:
        return JSONResponse({"message": "Validation Failed", "details": details}, status_code=422)
    if body["limit"] > 1000:
        return JSONResponse(
            {"error": "Limit cannot be greater than 1000", "data": None}, status_code=400
        )
    if key == FAILING_KEY:
        return JSONResponse(
            {"data": None, "error": "Error executing query: Code: 241. MEMORY_LIMIT_EXCEEDED"},
            status_code=500,
        )
    if key == ERROR_200_KEY:
        return JSONResponse({"data": None, "error": "organisation not found"})
    page = {"users": _sorted_page(body), "count": len(USERS), "hasUsers": True}
    return JSONResponse({"data": page, "error": None})


def create_app() -> Starlette:
    """The fake; `app.state.received` lists each accepted request's headers and body."""
    app = Starlette(routes=[Route(PATH, _query, methods=["POST"])])
    app.state.received = []
    return app
