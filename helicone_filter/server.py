"""The HTTP service for filter builders: the library's answers as JSON over HTTP.

    POST /compile   {"text", "now"?, "nesting"?}         -> {"json"} | 422 {"error"}
    POST /format    {"input": text or FilterNode JSON}    -> {"text"} | 422 {"error"}
    POST /check     {"input": text or FilterNode JSON}    -> {"problems"}
    POST /complete  {"text", "cursor"?, "map_keys"?}      -> {"completions"}
    POST /diagnose  {"text", "now"?}                      -> {"diagnostics"}
    GET  /fields                                          -> {"fields"}
    GET  /healthz                                         -> {"ok": true}
    GET  /openapi.json                                    -> this service's OpenAPI document
    GET  /                                                -> the playground page

Every error is a JSON body `{"error": {"message", "problems"}}`: 400 for a body that is not a
JSON object, 413 past the size limit, 415 for another content type, 422 for a filter that
does not compile or a field of the wrong type. Needs the `server` extra (Starlette, uvicorn).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

DEFAULT_MAX_BODY = 64 * 1024
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, problems: Sequence[dict[str, Any]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)


def _error(status: int, message: str, problems: Sequence[dict[str, Any]] = ()) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "problems": list(problems)}}, status)


async def _body(request: Request, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BadRequest(413, f"the body is {int(declared):,} bytes; the limit is {limit:,}")
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if kind not in ("application/json", ""):
        raise _BadRequest(415, f"send application/json, not {kind}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise _BadRequest(413, f"the body is over the limit of {limit:,} bytes")
    try:
        body = json.loads(bytes(data) or b"{}")
    except (ValueError, UnicodeDecodeError) as e:
        raise _BadRequest(400, f"the body is not JSON: {e}") from None
    if not isinstance(body, dict):
        raise _BadRequest(400, "the body must be a JSON object")
    return body


_TYPE_NAMES = {str: "string", int: "integer", dict: "object", list: "array", bool: "boolean"}


def _field(
    body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...
) -> Any:
    """`body[name]`, which must be of `kind` (a bool is not an int here); or the default."""
    if name not in body:
        if default is ...:
            raise _BadRequest(422, f"the body needs {name!r}")
        return default
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        wanted = " or ".join(_TYPE_NAMES[k] for k in kinds)
        raise _BadRequest(422, f"{name!r} must be {wanted}")
    return value


def _now(body: dict[str, Any]) -> datetime | None:
    value = _field(body, "now", str, None)
    if value is None:
        return None
    from .timestamps import parse_timestamp

    parsed = parse_timestamp(value)
    if parsed is None:
        raise _BadRequest(422, f"'now' {value!r} is not an ISO 8601 timestamp")
    return parsed


def _input(body: dict[str, Any]) -> Any:
    return _field(body, "input", (str, dict, list))


Handler = Callable[[dict[str, Any]], dict[str, Any]]


def _compile(body: dict[str, Any]) -> dict[str, Any]:
    from .compiler import compile_with_spans

    nesting = _field(body, "nesting", str, "balanced")
    if nesting not in ("balanced", "right"):
        raise _BadRequest(422, "'nesting' is balanced or right")
    result, spans = compile_with_spans(_field(body, "text", str), now=_now(body), nesting=nesting)
    return {
        "json": result,
        "spans": [{"path": list(path), "start": s, "end": e} for path, s, e in spans],
    }


def _filter(body: dict[str, Any]) -> tuple[str | None, Any]:
    """The body's "input": (filter text, None), or (None, FilterNode JSON), which may come as
    an object or as a JSON string."""
    from .compiler import is_json_text

    value = _input(body)
    if isinstance(value, str) and is_json_text(value):
        value = json.loads(value)
    return (value, None) if isinstance(value, str) else (None, value)


def _format(body: dict[str, Any]) -> dict[str, Any]:
    from .compiler import lower_text
    from .formatter import filter_text, to_text

    text, node = _filter(body)
    if text is None:
        return {"text": to_text(node)}
    return {"text": filter_text(lower_text(text, now=_now(body)))}


def _check(body: dict[str, Any]) -> dict[str, Any]:
    from .checker import check
    from .compiler import check_text

    text, node = _filter(body)
    problems = check(node) if text is None else check_text(text, now=_now(body))
    return {"problems": [p.as_dict() for p in problems]}


def _complete(body: dict[str, Any]) -> dict[str, Any]:
    from .completion import complete

    text = _field(body, "text", str)
    cursor = _field(body, "cursor", int, None)
    keys = _field(body, "map_keys", dict, {})
    clean = {str(k): [str(x) for x in v] for k, v in keys.items() if isinstance(v, list)}
    return {"completions": [c.as_dict() for c in complete(text, cursor, map_keys=clean)]}


def _diagnose(body: dict[str, Any]) -> dict[str, Any]:
    from .diagnostics import as_json, diagnose

    return {"diagnostics": as_json(diagnose(_field(body, "text", str), now=_now(body)))}


def _post(handler: Handler, limit: int) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        from .errors import FilterError

        try:
            return JSONResponse(handler(await _body(request, limit)))
        except _BadRequest as e:
            return _error(e.status, e.message, e.problems)
        except FilterError as e:
            problems = [p.as_dict() for p in e.problems]
            return _error(422, e.problems[0].message, problems)
        except json.JSONDecodeError as e:
            return _error(422, f"'input' is not valid JSON: {e}")

    return endpoint


async def _fields(request: Request) -> Response:
    from .schema import field_table

    return JSONResponse({"fields": field_table()})


async def _playground(request: Request) -> Response:
    from importlib.resources import files

    page = files("helicone_filter").joinpath("playground.html").read_text(encoding="utf-8")
    return HTMLResponse(page)


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


def openapi_document() -> dict[str, Any]:
    """This service's own OpenAPI 3.0 document."""
    from . import __version__

    def post(summary: str, required: list[str], props: dict[str, Any]) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "required": required, "properties": props}
                        }
                    },
                },
                "responses": {
                    "200": {"description": "the answer"},
                    "400": {"$ref": "#/components/responses/Error"},
                    "413": {"$ref": "#/components/responses/Error"},
                    "422": {"$ref": "#/components/responses/Error"},
                },
            }
        }

    text = {"type": "string", "description": "filter text"}
    node = {"description": "filter text, or FilterNode JSON"}
    now = {"type": "string", "format": "date-time", "description": "relative times count back"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "helicone-filter", "version": __version__},
        "paths": {
            "/compile": post(
                "filter text to FilterNode JSON, with the span of text each leaf came from",
                ["text"],
                {"text": text, "now": now, "nesting": {"enum": ["balanced", "right"]}},
            ),
            "/format": post("canonical text", ["input"], {"input": node, "now": now}),
            "/check": post("every problem, errors and warnings", ["input"], {"input": node}),
            "/complete": post(
                "what may stand at the cursor",
                ["text"],
                {
                    "text": text,
                    "cursor": {"type": "integer"},
                    "map_keys": {"type": "object", "additionalProperties": {"type": "array"}},
                },
            ),
            "/diagnose": post(
                "problems with ranges and fix-its", ["text"], {"text": text, "now": now}
            ),
            "/fields": {
                "get": {"summary": "the fields", "responses": {"200": {"description": "ok"}}}
            },
            "/healthz": {"get": {"summary": "alive", "responses": {"200": {"description": "ok"}}}},
        },
        "components": {
            "responses": {
                "Error": {
                    "description": "what went wrong",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {
                                        "type": "object",
                                        "properties": {
                                            "message": {"type": "string"},
                                            "problems": {"type": "array"},
                                        },
                                    }
                                },
                            }
                        }
                    },
                }
            }
        },
    }


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def create_app(*, cors_origins: Sequence[str] = (), max_body: int = DEFAULT_MAX_BODY) -> Starlette:
    """The ASGI application. `cors_origins`: origins allowed to call it from a browser."""
    handlers: dict[str, Handler] = {
        "/compile": _compile,
        "/format": _format,
        "/check": _check,
        "/complete": _complete,
        "/diagnose": _diagnose,
    }
    routes = [Route(path, _post(h, max_body), methods=["POST"]) for path, h in handlers.items()]
    routes += [
        Route("/fields", _fields, methods=["GET"]),
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/", _playground, methods=["GET"]),
        Route("/openapi.json", _openapi, methods=["GET"]),
    ]
    middleware = []
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["content-type"],
            )
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, f"no such endpoint: {request.method} {request.url.path}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, f"{request.method} is not allowed on {request.url.path}")

    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: not_found, 405: not_allowed},
    )


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    cors_origins: Sequence[str] = (),
    max_body: int = DEFAULT_MAX_BODY,
) -> None:
    """Run the service with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(
        create_app(cors_origins=cors_origins, max_body=max_body),
        host=host,
        port=port,
        log_level="warning",
    )
