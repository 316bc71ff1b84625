"""The HTTP service for filter builders: the library's answers as JSON over HTTP.

    POST /compile   {"text", "now"?, "nesting"?}         -> {"json"} | 422 {"error"}
    POST /format    {"input": text or FilterNode JSON}    -> {"text"} | 422 {"error"}
    POST /check     {"input": text or FilterNode JSON}    -> {"problems"}
    POST /complete  {"text", "cursor"?, "map_keys"?}      -> {"completions"}
    POST /diagnose  {"text", "now"?}                      -> {"diagnostics"}
    POST /sql       {"input", "now"?, "table_map"?, "target"?} -> {"sql", "params", "warnings"}
    POST /query     {"input", "limit"?, "offset"?, "sort"?, "since"?, "until"?, "tz_offset"?,
                     "now"?}                              -> {"body"}: Helicone's request body
    GET  /fields                                          -> {"fields"}
    GET  /healthz                                         -> {"ok": true}
    GET  /openapi.json                                    -> this service's OpenAPI document
    GET  /                                                -> the playground page

Every error is a JSON body `{"error": {"message", "problems"}}`: 400 for a body that is not a
JSON object, 408 for a body that does not arrive in time, 413 past the size limit, 415 for a
body not sent as application/json (so that a web page cannot post to the service without the
browser asking it first), 421 for a Host the service does not answer to, 422 for a filter
that does not compile or a field of the wrong type, 503 for a request that takes longer than
its time limit, 500 for anything unforeseen. Needs the `server` extra (Starlette, uvicorn).

Hostile clients: the work of a request runs in a worker thread, so that one slow request
never holds up the others (or /healthz), and is given up after `request_seconds`; a client
that is slow to send its headers or its body is dropped (`serve`'s `header_seconds`, the
app's `body_seconds`); a client that goes away is one quiet log line. Bound to a loopback
address, the service answers only to loopback host names (against DNS rebinding). The
playground is served with a Content-Security-Policy that allows its own script and style and
calls to this service, nothing else.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import gc
import hashlib
import ipaddress
import json
import logging
import re
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_MAX_BODY = 64 * 1024
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_REQUEST_SECONDS = 10.0  # the work of one request, at most
DEFAULT_BODY_SECONDS = 10.0  # to send the body, from the end of the headers
DEFAULT_HEADER_SECONDS = 10.0  # to send a request's headers, from its first byte
DEFAULT_MAX_CONNECTIONS = 200  # open at once; past that, 503
# Worker threads for requests: enough for two cores, and a bound on work given up on.
_WORKERS = anyio.CapacityLimiter(8)
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_SWITCH_SECONDS = 0.0005

log = logging.getLogger("helicone_filter.server")


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, problems: Sequence[dict[str, Any]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)


def _error(status: int, message: str, problems: Sequence[dict[str, Any]] = ()) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "problems": list(problems)}}, status)


async def _body_bytes(request: Request, limit: int, seconds: float) -> bytes:
    """The request's body, refused past `limit` bytes, `seconds`, or as another media type."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BadRequest(413, f"the body is {int(declared):,} bytes; the limit is {limit:,}")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise _BadRequest(
            415, f"send the body as application/json, not {kind or 'without a Content-Type'}"
        )
    data = bytearray()
    try:
        with anyio.fail_after(seconds):
            async for chunk in request.stream():
                data += chunk
                if len(data) > limit:
                    raise _BadRequest(413, f"the body is over the limit of {limit:,} bytes")
    except TimeoutError:
        raise _BadRequest(408, f"the body did not arrive within {seconds:g} s") from None
    return bytes(data)


def _body(data: bytes) -> dict[str, Any]:
    """The body as a JSON object."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _BadRequest(400, f"the body is not JSON: byte {e.start} is not UTF-8") from None
    from .compiler import load_json
    from .errors import FilterSyntaxError

    try:
        body = load_json(text or "{}")
    except FilterSyntaxError as e:
        raise _BadRequest(400, f"the body is {e.problems[0].message}") from None
    if not isinstance(body, dict):
        raise _BadRequest(400, "the body must be a JSON object")
    return body


def _answer(handler: Handler, data: bytes) -> bytes:
    """The whole work of a request, in a worker thread: the body read, the handler's answer
    written as JSON; then, where the garbage collector does not run by itself (`serve`), a
    collection now and then."""
    try:
        return _encode(handler(_body(data)))
    finally:
        if not gc.isenabled():
            _Collector.after_request()


_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_PIECE = 64  # list items encoded at once
_DEPTH = 10  # levels of objects walked one by one, below which a subtree is encoded at once


def _encode(answer: Any) -> bytes:
    """An answer as JSON, written a piece at a time: encoding a large answer in one call would
    hold every thread, the event loop's too, for all of it (40 ms for the 2 MB answer to a
    60 KB `in` list). An object is walked key by key down to `_DEPTH` levels (a balanced
    FilterNode of 10,000 leaves is 14 deep), a list `_PIECE` items at a time."""
    out: list[str] = []
    todo: list[tuple[Any, int] | str] = [(answer, 0)]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        value, depth = item
        if isinstance(value, dict) and value and depth < _DEPTH:
            parts: list[tuple[Any, int] | str] = ["{"]
            for i, (key, x) in enumerate(value.items()):
                parts += [("," if i else "") + _dumps(key) + ":", (x, depth + 1)]
            parts.append("}")
            todo.extend(reversed(parts))
        elif isinstance(value, list) and len(value) > _PIECE:
            pieces = [_dumps(value[i : i + _PIECE])[1:-1] for i in range(0, len(value), _PIECE)]
            out.append("[" + ",".join(pieces) + "]")
        else:
            out.append(_dumps(value))
    return "".join(out).encode()


class _Collector:
    """Collects garbage between requests: every `EVERY` requests, or sooner when many objects
    have been made since the last collection and are still alive."""

    EVERY = 200
    MANY = 100_000
    since = 0

    @classmethod
    def after_request(cls) -> None:
        cls.since += 1  # a lost count under a race only delays a collection
        if cls.since >= cls.EVERY or gc.get_count()[0] > cls.MANY:
            cls.since = 0
            gc.collect()


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
    from .diagnostics import Utf16

    text = _field(body, "text", str)
    with _text_errors(text):
        result, spans = compile_with_spans(text, now=_now(body), nesting=nesting)
    units = Utf16(text)
    return {
        "json": result,
        "spans": [
            {
                "path": list(path),
                "start": s,
                "end": e,
                "start_utf16": units(s),
                "end_utf16": units(e),
            }
            for path, s, e in spans
        ],
    }


def _filter(body: dict[str, Any]) -> tuple[str | None, Any]:
    """The body's "input": (filter text, None), or (None, FilterNode JSON), which may come as
    an object or as a JSON string."""
    from .compiler import is_json_text

    value = _input(body)
    if isinstance(value, str) and is_json_text(value):
        from .compiler import load_json

        with _text_errors(value):
            value = load_json(value)
    return (value, None) if isinstance(value, str) else (None, value)


def _format(body: dict[str, Any]) -> dict[str, Any]:
    from .compiler import lower_text
    from .formatter import filter_text, to_text

    text, node = _filter(body)
    if text is None:
        return {"text": to_text(node)}
    with _text_errors(text):
        return {"text": filter_text(lower_text(text, now=_now(body)))}


def _check(body: dict[str, Any]) -> dict[str, Any]:
    from .checker import check
    from .compiler import check_text

    text, node = _filter(body)
    problems = check(node) if text is None else check_text(text, now=_now(body))
    return {"problems": _with_utf16(text or "", [p.as_dict() for p in problems])}


def _with_utf16(text: str, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems with their offsets in UTF-16 code units too (`start_utf16`, `end_utf16`), and
    their fix-its' edits as objects, as /diagnose gives them."""
    from .diagnostics import Utf16

    units = Utf16(text)
    for p in problems:
        p["start_utf16"], p["end_utf16"] = units(p["start"]), units(p["end"])
        p["fixes"] = [
            [
                {
                    "start": s,
                    "end": e,
                    "new_text": new,
                    "start_utf16": units(s),
                    "end_utf16": units(e),
                }
                for s, e, new in fix
            ]
            for fix in p["fixes"]
        ]
    return problems


def _complete(body: dict[str, Any]) -> dict[str, Any]:
    from .completion import complete
    from .diagnostics import Utf16

    text = _field(body, "text", str)
    units = Utf16(text)
    cursor = _field(body, "cursor", int, None)
    cursor_utf16 = _field(body, "cursor_utf16", int, None)
    if cursor is not None and cursor_utf16 is not None:
        raise _BadRequest(422, "give 'cursor' (code points) or 'cursor_utf16', not both")
    if cursor_utf16 is not None:  # clamped to the text, as `cursor` is
        cursor = units.code_points(min(max(cursor_utf16, 0), units(len(text))))
    keys = _field(body, "map_keys", dict, {})
    clean = {str(k): [str(x) for x in v] for k, v in keys.items() if isinstance(v, list)}
    return {
        "completions": [
            {
                **c.as_dict(),
                "replace_start_utf16": units(c.replace_start),
                "replace_end_utf16": units(c.replace_end),
            }
            for c in complete(text, cursor, map_keys=clean)
        ]
    }


def _diagnose(body: dict[str, Any]) -> dict[str, Any]:
    from .diagnostics import as_json, diagnose

    return {"diagnostics": as_json(diagnose(_field(body, "text", str), now=_now(body)))}


def _sql(body: dict[str, Any]) -> dict[str, Any]:
    from .clickhouse import column_names, sql_of
    from .compiler import lower_text

    table_map = _field(body, "table_map", dict, {})
    if not all(isinstance(v, str) for v in table_map.values()):
        raise _BadRequest(422, "'table_map' maps names to names (strings)")
    target = _field(body, "target", str, "rows")
    if target not in ("rows", "helicone-where", "helicone-having"):
        raise _BadRequest(422, "'target' is rows, helicone-where or helicone-having")
    try:
        column_names(table_map, target)
    except ValueError as e:
        raise _BadRequest(422, str(e)) from None
    text, node = _filter(body)
    warnings: list[dict[str, Any]] = []
    if text is None:
        from .checker import SPLITTABLE, read_json

        checked = read_json(node, SPLITTABLE)
        # Helicone keeps one condition of such a leaf, and so does the SQL: say so.
        warnings = [
            {**p.as_dict(), "severity": "warning"} for p in checked.problems if p.code in SPLITTABLE
        ]
        sql, params = sql_of(checked.filter, table_map=table_map, target=target)
    else:
        with _text_errors(text):
            filter_ = lower_text(text, now=_now(body))
        sql, params = sql_of(filter_, table_map=table_map, target=target)
    return {"sql": sql, "params": params, "warnings": _with_utf16("", warnings)}


def _query(body: dict[str, Any]) -> dict[str, Any]:
    from .query import QueryError, query_body

    text, node = _filter(body)
    try:
        with _text_errors(text or ""):
            answer = query_body(
                node if text is None else text,
                limit=_field(body, "limit", int, 100),
                offset=_field(body, "offset", int, 0),
                sort=_field(body, "sort", (str, dict), None),
                since=_field(body, "since", str, None),
                until=_field(body, "until", str, None),
                tz_offset=_field(body, "tz_offset", int, None),
                now=_now(body),
            )
    except QueryError as e:
        raise _BadRequest(422, str(e)) from None
    return {"body": answer}


@contextlib.contextmanager
def _text_errors(text: str) -> Iterator[None]:
    """Around reading filter text: a FilterError becomes a 422 whose problems carry their
    offsets in UTF-16 code units too."""
    from .errors import FilterError

    try:
        yield
    except FilterError as e:
        problems = _with_utf16(text, [p.as_dict() for p in e.problems])
        raise _BadRequest(422, e.problems[0].message, problems) from None


class _Limits:
    """What the app allows one request."""

    def __init__(self, max_body: int, body_seconds: float, request_seconds: float) -> None:
        self.max_body = max_body
        self.body_seconds = body_seconds
        self.request_seconds = request_seconds


def _post(handler: Handler, limits: _Limits) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        from .errors import FilterError

        try:
            data = await _body_bytes(request, limits.max_body, limits.body_seconds)
            with anyio.fail_after(limits.request_seconds):
                # Reading the body as JSON, the work and writing the answer happen in a worker
                # thread, so that the event loop (and every other client) goes on. A request
                # past its time is answered at once; its thread ends on its own.
                answer = await anyio.to_thread.run_sync(
                    _answer, handler, data, abandon_on_cancel=True, limiter=_WORKERS
                )
            return Response(answer, media_type="application/json")
        except _BadRequest as e:
            return _error(e.status, e.message, e.problems)
        except FilterError as e:  # about FilterNode JSON, not text: no offsets to convert
            problems = _with_utf16("", [p.as_dict() for p in e.problems])
            return _error(422, e.problems[0].message, problems)
        except TimeoutError:
            return _error(
                503, f"the request took longer than {limits.request_seconds:g} s; it was given up"
            )
        except ClientDisconnect:
            log.info("%s %s: the client went away before its body was in", *_who(request))
            return Response(status_code=499)  # nobody is left to read it
        except RecursionError:
            return _error(400, "the input is nested too deeply to read")
        except Exception as e:  # a fault of ours: logged, and still a JSON answer
            return await _unforeseen(request, e)

    return endpoint


def _who(request: Request) -> tuple[str, str]:
    client = request.client
    return (f"{client.host}:{client.port}" if client else "a client", request.url.path)


async def _unforeseen(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", *_who(request), exc_info=exc)
    return _error(500, "the service failed on this request (a fault of ours, logged)")


async def _fields(request: Request) -> Response:
    from .schema import field_table

    return JSONResponse({"fields": field_table()})


def _playground_page() -> tuple[str, str]:
    """The playground's HTML, and the Content-Security-Policy that allows exactly its own
    inline script and style (by their SHA-256), calls to this service and nothing else."""
    from importlib.resources import files

    page = files("helicone_filter").joinpath("playground.html").read_text(encoding="utf-8")

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
    return JSONResponse({"ok": True})


def openapi_document() -> dict[str, Any]:
    """This service's OpenAPI 3.1 document, made from the models of `service_models`."""
    from . import __version__
    from .service_models import openapi_document as document

    return document(__version__)


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


class _HostGuard:
    """Answers only requests whose Host is one of `names` (any port): a 421 JSON error for
    the others. Behind a loopback address this defeats DNS rebinding, where a web page's own
    host name is pointed at 127.0.0.1 to reach the service as a same-origin site."""

    def __init__(self, app: ASGIApp, names: Sequence[str]) -> None:
        self.app = app
        self.names = frozenset(n.lower() for n in names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.strip("[]") not in self.names:
                shown = host[:100] or "no Host header"
                answer = _error(421, f"this service does not answer to {shown!r}")
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name to listen on) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_app(
    *,
    cors_origins: Sequence[str] = (),
    max_body: int = DEFAULT_MAX_BODY,
    allowed_hosts: Sequence[str] | None = None,
    request_seconds: float = DEFAULT_REQUEST_SECONDS,
    body_seconds: float = DEFAULT_BODY_SECONDS,
) -> Starlette:
    """The ASGI application.

    Args:
        cors_origins: origins allowed to call it from a browser.
        max_body: the largest request body, in bytes.
        allowed_hosts: the host names it answers to (None: any; `serve` on a loopback
            address passes the loopback names).
        request_seconds: the most time one request's work may take (then 503).
        body_seconds: the most time a client may take to send a body (then 408).
    """
    limits = _Limits(max_body, body_seconds, request_seconds)
    handlers: dict[str, Handler] = {
        "/compile": _compile,
        "/format": _format,
        "/check": _check,
        "/complete": _complete,
        "/diagnose": _diagnose,
        "/sql": _sql,
        "/query": _query,
    }
    routes = [Route(path, _post(h, limits), methods=["POST"]) for path, h in handlers.items()]
    routes += [
        Route("/fields", _fields, methods=["GET"]),
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/", _playground, methods=["GET"]),
        Route("/openapi.json", _openapi, methods=["GET"]),
    ]
    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(_HostGuard, names=allowed_hosts))
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
        exception_handlers={404: not_found, 405: not_allowed, Exception: _unforeseen},
    )


def server_config(
    app: Any,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    header_seconds: float = DEFAULT_HEADER_SECONDS,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> uvicorn.Config:
    """uvicorn's settings for the service: a client that has not sent a request's headers
    `header_seconds` after its first byte (or after connecting) is dropped, and past
    `max_connections` open at once new requests get 503."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=_guarded_http(header_seconds),
        limit_concurrency=max_connections,
    )


def _guarded_http(seconds: float) -> type:
    """uvicorn's h11 protocol, with a deadline for each request's headers (uvicorn has none:
    a client sending a byte now and then would hold its connection forever)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(H11Protocol):
        _deadline: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._await_headers()

        def data_received(self, data: bytes) -> None:
            if self.cycle is None or self.cycle.response_complete:
                self._await_headers()  # the first bytes of a new request
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._headers_in()

        def connection_lost(self, exc: Exception | None) -> None:
            self._headers_in()
            super().connection_lost(exc)

        def _await_headers(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _headers_in(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                log.info("dropped a client that sent no whole request in %g s", seconds)
                self.transport.close()

    return GuardedH11


class ListenError(Exception):
    """The service cannot listen where it was asked to: the port is taken, not ours to take,
    or the address is not this machine's. The message says which, and what to do."""


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on `host`:`port` (port 0: any free port).

    Raises:
        ListenError: the address is in use, not allowed, or unknown.
    """
    if not 0 <= port <= 65535:
        raise ListenError(f"port {port} is not a port: give 0 to 65535 (0: any free port)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise ListenError(
            f"cannot listen on {host!r}: it is not an address of this machine ({e})"
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as e:
        sock.close()
        where = f"{host}:{port}"
        if e.errno == errno.EADDRINUSE:
            raise ListenError(
                f"{where} is in use by another program: stop it, or choose another port "
                "(--port; 0 picks a free one)"
            ) from None
        if e.errno in (errno.EACCES, errno.EPERM):
            raise ListenError(
                f"not allowed to listen on {where} (ports below 1024 need privileges): "
                "choose a port from 1024 up"
            ) from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise ListenError(f"{host} is not an address of this machine") from None
        raise ListenError(f"cannot listen on {where}: {e.strerror or e}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    """The base URL of a listening socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    cors_origins: Sequence[str] = (),
    max_body: int = DEFAULT_MAX_BODY,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Run the service with uvicorn until interrupted. On a loopback address it answers only
    to loopback host names. `announce` is told, in a line each, where it listens once it does,
    and that it stopped.

    Raises:
        ListenError: it cannot listen on `host`:`port`.
    """
    import uvicorn

    sock = listen(host, port)
    app = create_app(
        cors_origins=cors_origins,
        max_body=max_body,
        allowed_hosts=_LOOPBACK_NAMES if is_loopback(host) else None,
    )
    # Requests' work runs in threads; switch between threads more often than every 5 ms, so
    # that the event loop answers the other clients (and /healthz) while one works.
    sys.setswitchinterval(_SWITCH_SECONDS)
    # A collection of the garbage collector holds every thread, the event loop's too, for as
    # long as it walks the heap, and one that falls while a large request's objects are alive
    # stalls every client for 100 ms and more. So in its own process the service collects
    # between requests instead (`_answer`), when their objects are gone, and never walks what
    # was there at start.
    gc.freeze()
    gc.disable()
    url = url_of(sock)
    if announce is not None:
        announce(
            f"serving on {url} (the playground: {url}/, the API: {url}/openapi.json); "
            "Ctrl-C stops it"
        )
    try:
        uvicorn.Server(server_config(app, host, sock.getsockname()[1])).run(sockets=[sock])
    finally:
        sock.close()
        if announce is not None:
            announce(f"stopped serving on {url}")
