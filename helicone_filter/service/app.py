"""The service's HTTP app (Starlette): its routes, and what it does before and after the work.

    POST /compile   {"text", "now"?, "nesting"?}         -> {"json"} | 422 {"error"}
    POST /format    {"text": text or FilterNode JSON}     -> {"text"} | 422 {"error"}
    POST /check     {"text": text or FilterNode JSON}     -> {"problems"}
    POST /complete  {"text", "cursor"?, "map_keys"?}      -> {"completions"}
    POST /diagnose  {"text", "now"?}                      -> {"diagnostics"}
    POST /sql       {"text", "now"?, "table_map"?, "target"?} -> {"sql", "params", "warnings"}
    POST /query     {"text", "limit"?, "offset"?, "sort"?, "since"?, "until"?, "tz_offset"?,
                     "now"?}                              -> {"body"}: Helicone's request body
    GET  /fields[?endpoint=requests]                      -> {"fields"} (of the endpoint)
Every body but /query's may say the endpoint of Helicone its filter is for: "endpoint",
"user-metrics" (default) or "requests".
    GET  /healthz                                         -> {"ok": true}
    GET  /openapi.json                                    -> this service's OpenAPI document
    GET  /                                                -> the playground page

Every error is a JSON body `{"error": {"message", "problems"}}`: 400 for a body that is not a
JSON object (or a request that is not HTTP/1.1), 408 for a body that does not arrive in time,
413 past the size limit, 415 for a body not sent as application/json (so that a web page cannot
post to the service without the browser asking it first), 421 for a Host the service does not
answer to, 422 for a filter that does not compile or a field of the wrong type, value or name,
503 for a request that takes longer than its time limit (or comes while the service stops, or
past its limit of connections), 500 for anything unforeseen. Needs the `server` extra
(Starlette, uvicorn).

The app reads a body (bounded in size and in time), hands the rest of the request to a worker
thread (`workers.work`: the body parsed and answered by `handlers.answerer`), and answers what
comes back, or the error. Bound to a loopback address, the service answers only to loopback
host names (`_HostGuard`, against DNS rebinding). The playground is served with a
Content-Security-Policy that allows its own script and style and calls to this service,
nothing else. A refused CORS preflight is JSON too.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from helicone_filter.defaults import MAX_BODY_LIMIT, MAX_WAIT_SECONDS, SERVICE_MAX_BODY
from helicone_filter.service import handlers
from helicone_filter.service.handlers import BadRequest, encode, error_body
from helicone_filter.service.models import shown
from helicone_filter.service.workers import Stopping, Workers, work

if TYPE_CHECKING:
    from starlette.datastructures import Headers
    from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_REQUEST_SECONDS = 10.0  # the work of one request, at most
DEFAULT_BODY_SECONDS = 10.0  # to send the body, from the end of the headers

log = logging.getLogger("helicone_filter.service")


class OptionError(ValueError):
    """An option of the service (`create_app`, `server_config`, `serve`) outside its range; the
    message names the option, the value and the range."""


def whole_option(name: str, value: object, low: int, high: int, unit: str) -> int:
    """`value`, a whole number from `low` to `high` (`unit`s), for the option `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise OptionError(f"{name} must be {low:,} to {high:,} {unit}, not {shown(value)}")
    return value


def seconds_option(name: str, value: object) -> float:
    """`value`, seconds above 0 and at most a day, for the option `name`."""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is None or not 0 < number <= MAX_WAIT_SECONDS:  # NaN fails here too
        raise OptionError(
            f"{name} must be seconds above 0, at most {MAX_WAIT_SECONDS:,.0f} (a day), not "
            f"{shown(value)}"
        )
    return float(number)


def _origin(value: object) -> str:
    """A CORS origin as a browser sends it (`https://host[:port]`), or `*` for any."""
    if isinstance(value, str) and (
        value == "*" or re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/?#\s]+", value) is not None
    ):
        return value
    raise OptionError(
        f"a CORS origin is scheme://host[:port] without a path, as browsers send it "
        f"(https://builder.example.com), or * for any; not {shown(value)}"
    )


def error_response(
    status: int,
    message: str,
    problems: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    """An error answer: the JSON body of every error, with `status`."""
    return Response(error_body(message, problems), status, headers, "application/json")


async def _body_bytes(request: Request, limit: int, seconds: float) -> bytes:
    """The request's body, refused past `limit` bytes, `seconds`, or as another media type."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared[:20]) > limit:
        size = f"{int(declared):,}" if len(declared) <= 20 else f"{declared[:20]}… (far too many)"
        raise BadRequest(413, f"the body is {size} bytes; the limit is {limit:,}")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise BadRequest(
            415, f"send the body as application/json, not {kind[:100] or 'without a Content-Type'}"
        )
    data = bytearray()
    try:
        with anyio.fail_after(seconds):
            async for chunk in request.stream():
                data += chunk
                if len(data) > limit:
                    raise BadRequest(413, f"the body is over the limit of {limit:,} bytes")
    except TimeoutError:
        raise BadRequest(408, f"the body did not arrive within {seconds:g} s") from None
    return bytes(data)


class _Limits:
    """What the app allows one request, and the threads that do the work."""

    def __init__(
        self, max_body: int, body_seconds: float, request_seconds: float, workers: Workers
    ) -> None:
        self.max_body = max_body
        self.body_seconds = body_seconds
        self.request_seconds = request_seconds
        self.workers = workers


def _post(
    answer: Callable[[bytes], bytes], limits: _Limits
) -> Callable[[Request], Awaitable[Response]]:
    """The route of an endpoint whose work is `answer` (a body's bytes in, JSON out)."""

    async def endpoint(request: Request) -> Response:
        try:
            data = await _body_bytes(request, limits.max_body, limits.body_seconds)
            # Reading the body as JSON, the work and writing the answer happen in a worker
            # thread, so that the event loop (and every other client) goes on. A request past
            # its time is answered at once, and its work stopped.
            written = await work(limits.workers, limits.request_seconds, answer, data)
            return Response(written, media_type="application/json")
        except BadRequest as e:
            return error_response(e.status, e.message, e.problems)
        except Stopping:
            return error_response(503, "the service is stopping; try again once it runs again")
        except TimeoutError:
            return error_response(
                503,
                f"the request took longer than {limits.request_seconds:g} s; it was given up "
                "(a smaller filter is quicker)",
            )
        except ClientDisconnect:
            log.info("%s %s: the client went away before its body was in", *_who(request))
            return Response(status_code=499)  # nobody is left to read it
        except RecursionError:
            return error_response(400, "the input is nested too deeply to read")
        except Exception as e:  # a fault of ours: logged, and still a JSON answer
            return await _unforeseen(request, e)

    return endpoint


def _who(request: Request) -> tuple[str, str]:
    client = request.client
    return (f"{client.host}:{client.port}" if client else "a client", request.url.path)


async def _unforeseen(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", *_who(request), exc_info=exc)
    return error_response(500, "the service failed on this request (a fault of ours, logged)")


async def _fields(request: Request) -> Response:
    """The fields of the endpoint `?endpoint=` names (default user-metrics); 422 for another
    name, in the words a body's `endpoint` gets."""
    from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT, ENDPOINTS
    from helicone_filter.facts.schema import field_table
    from helicone_filter.service.models import endpoint_refusal

    name = request.query_params.get("endpoint", DEFAULT_ENDPOINT)
    if name not in ENDPOINTS:
        return error_response(422, endpoint_refusal(name))
    return Response(encode({"fields": field_table(name)}), media_type="application/json")


def _playground_page() -> tuple[str, str]:
    """The playground's HTML, and the Content-Security-Policy that allows exactly its own
    inline script and style (by their SHA-256), calls to this service and nothing else."""
    from importlib.resources import files

    page = files("helicone_filter.service").joinpath("playground.html").read_text(encoding="utf-8")

    def hashes(tag: str) -> str:
        found = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        return " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(x.encode()).digest()).decode() + "'"
            for x in found
        )

    policy = (
        f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return page, policy


async def _playground(request: Request) -> Response:
    page, policy = _playground_page()
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )


async def _healthz(request: Request) -> Response:
    return Response(b'{"ok":true}', media_type="application/json")


def openapi_document() -> dict[str, Any]:
    """This service's OpenAPI 3.1 document, made from the models of `models.py`."""
    from helicone_filter import __version__
    from helicone_filter.service.models import openapi_document as document

    return document(__version__)


async def _openapi(request: Request) -> Response:
    return Response(encode(openapi_document()), media_type="application/json")


# A Host header: a name or an IPv4 address, or an IPv6 address in brackets; then a port, if any.
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::[0-9]{1,5})?")


class _HostGuard:
    """Answers only requests whose Host is one of `names` (with a port or none): a 421 JSON
    error for the others. Behind a loopback address this defeats DNS rebinding, where a web
    page's own host name is pointed at 127.0.0.1 to reach the service as a same-origin site."""

    def __init__(self, app: ASGIApp, names: Sequence[str]) -> None:
        self.app = app
        self.names = frozenset(n.lower() for n in names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            m = _HOST.fullmatch(host)
            if m is None or m.group(1).strip("[]") not in self.names:
                who = f"the Host {shown(host, 100)}" if host else "a request without a Host"
                names = ", ".join(sorted(self.names))
                answer = error_response(
                    421,
                    f"this service does not answer to {who}: it answers to {names} (with a "
                    "port or none), against DNS rebinding",
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Cors(CORSMiddleware):
    """Starlette's CORS, whose refusal of a preflight says in JSON what was refused and why."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        reasons = []
        origin = request_headers["origin"]
        if not self.is_allowed_origin(origin=origin):
            reasons.append(
                f"the origin {shown(origin, 100)} may not call it (start the service with "
                f"--cors-origin {shown(origin, 100)} to let it)"
            )
        method = request_headers["access-control-request-method"]
        if method not in self.allow_methods:
            reasons.append(f"the method {shown(method, 40)} is not one it takes (GET, POST)")
        wanted = request_headers.get("access-control-request-headers")
        extra = [
            h.strip()
            for h in (wanted or "").lower().split(",")
            if h.strip() and h.strip() not in self.allow_headers
        ]
        if extra:
            reasons.append(
                f"the headers {shown(', '.join(extra), 100)} are not allowed (Content-Type is)"
            )
        if request_headers.get("access-control-request-private-network") is not None:
            reasons.append("a public page may not call a service on a private address")
        headers = {k: v for k, v in answer.headers.items() if k.lower().startswith("access-")}
        headers["vary"] = answer.headers.get("vary", "Origin")
        message = "a page from another origin asked to call this service, refused: "
        return error_response(400, message + "; ".join(reasons or ["not allowed"]), headers=headers)


def create_app(
    *,
    cors_origins: Sequence[str] = (),
    max_body: int = SERVICE_MAX_BODY,
    allowed_hosts: Sequence[str] | None = None,
    request_seconds: float = DEFAULT_REQUEST_SECONDS,
    body_seconds: float = DEFAULT_BODY_SECONDS,
) -> Starlette:
    """The ASGI application.

    Args:
        cors_origins: origins allowed to call it from a browser (`https://host[:port]`, or
            `*` for any).
        max_body: the largest request body, in bytes (1 to `MAX_BODY_LIMIT`, 64 MiB).
        allowed_hosts: the host names it answers to (None: any; `serve` on a loopback
            address passes the loopback names).
        request_seconds: the most time one request's work may take (then 503, and the work
            is stopped); above 0, at most a day, as `body_seconds`.
        body_seconds: the most time a client may take to send a body (then 408).

    Raises:
        OptionError: an option outside its range.

    Example:
        >>> create_app(max_body=-1)
        Traceback (most recent call last):
        ...
        helicone_filter.service.app.OptionError: max_body must be 1 to 67,108,864 bytes, not -1
    """
    limits = _Limits(
        whole_option("max_body", max_body, 1, MAX_BODY_LIMIT, "bytes"),
        seconds_option("body_seconds", body_seconds),
        seconds_option("request_seconds", request_seconds),
        Workers(),
    )
    origins = [_origin(o) for o in cors_origins]
    if allowed_hosts is not None and not all(isinstance(h, str) for h in allowed_hosts):
        raise OptionError(f"allowed_hosts are host names, not {shown(list(allowed_hosts))}")
    handlers.prepare()
    routes = [
        Route(path, _post(handlers.answerer(path), limits), methods=["POST"])
        for path in handlers.ENDPOINTS
    ]
    routes += [
        Route("/fields", _fields, methods=["GET"]),
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/", _playground, methods=["GET"]),
        Route("/openapi.json", _openapi, methods=["GET"]),
    ]
    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(_HostGuard, names=allowed_hosts))
    if origins:
        middleware.append(
            Middleware(
                _Cors,
                allow_origins=origins,
                allow_methods=["GET", "POST"],
                allow_headers=["content-type"],
            )
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(
            404, f"no such endpoint: {request.method} {shown(request.url.path, 200)}"
        )

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return error_response(
            405, f"{request.method} is not allowed on {shown(request.url.path, 200)}"
        )

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: not_found, 405: not_allowed, Exception: _unforeseen},
    )
    app.state.workers = limits.workers
    return app
