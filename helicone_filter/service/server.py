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
JSON object (or a request that is not HTTP/1.1), 408 for a body that does not arrive in time,
413 past the size limit, 415 for a body not sent as application/json (so that a web page cannot
post to the service without the browser asking it first), 421 for a Host the service does not
answer to, 422 for a filter that does not compile or a field of the wrong type, value or name,
503 for a request that takes longer than its time limit (or comes while the service stops, or
past its limit of connections), 500 for anything unforeseen. Needs the `server` extra
(Starlette, uvicorn).

Hostile clients: the work of a request runs in a worker thread, so that one slow request
never holds up the others (or /healthz); at `request_seconds` it is given up (503) and
stopped, by an exception raised in its thread at the work's next step. A client that is slow to
send its headers or its body is dropped (`serve`'s `header_seconds`, the app's
`body_seconds`); a client that goes away is one quiet log line. Every option and every field of
a body has a range, and an answer for each value outside it. Bound to a loopback address, the
service answers only to loopback host names (against DNS rebinding). The playground is served
with a Content-Security-Policy that allows its own script and style and calls to this service,
nothing else. Errors that the HTTP server answers before the app runs (a malformed request, a
client over the limit of connections) and a refused CORS preflight are JSON too.
"""

from __future__ import annotations

import _thread
import asyncio
import base64
import contextlib
import ctypes
import errno
import gc
import hashlib
import ipaddress
import json
import logging
import math
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    import uvicorn
    from starlette.datastructures import Headers
    from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_MAX_BODY = 64 * 1024
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_REQUEST_SECONDS = 10.0  # the work of one request, at most
DEFAULT_BODY_SECONDS = 10.0  # to send the body, from the end of the headers
DEFAULT_HEADER_SECONDS = 10.0  # to send a request's headers, from its first byte
DEFAULT_MAX_CONNECTIONS = 200  # open at once; past that, 503
# The ranges of the options: a body limit past this would let one request take gigabytes.
MAX_BODY_LIMIT = 64 * 1024 * 1024
MAX_SECONDS = 86_400.0  # a day, for each of the time limits
MAX_CONNECTIONS_LIMIT = 10_000
# The largest whole number JavaScript holds exactly (Number.MAX_SAFE_INTEGER): the most a
# cursor or an offset may be, since a browser sends them and Helicone reads them as doubles.
MAX_SAFE_INTEGER = 2**53 - 1
# Known keys for /complete: per map field, and the length of one.
MAX_MAP_KEYS = 10_000
MAX_MAP_KEY_LENGTH = 1_000
_WORKERS = 4  # threads for requests' work (see `_Workers`)
_IDLE_SECONDS = 2.0  # a worker thread without work for this long ends
_STOP_SECONDS = 0.5  # work given up on that has not stopped by then is answered for anyway
_AGAIN_SECONDS = 0.05  # and is stopped again this often, for as long as it runs
_CLOSE_SECONDS = 0.5  # when the service stops, connections still open after this are closed
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_SWITCH_SECONDS = 0.0005

log = logging.getLogger("helicone_filter.service.server")


class OptionError(ValueError):
    """An option of the service (`create_app`, `server_config`, `serve`) outside its range; the
    message names the option, the value and the range."""


def _whole_option(name: str, value: object, low: int, high: int, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise OptionError(f"{name} must be {low:,} to {high:,} {unit}, not {_shown(value)}")
    return value


def _seconds_option(name: str, value: object) -> float:
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is None or not 0 < number <= MAX_SECONDS:  # NaN fails here too
        raise OptionError(
            f"{name} must be seconds above 0, at most {MAX_SECONDS:,.0f} (a day), not "
            f"{_shown(value)}"
        )
    return float(number)


def _shown(value: object, most: int = 40) -> str:
    """`repr(value)`, cut in the middle past `most` characters: an echo of a value of 4,000
    digits would bury the message."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's limit of 4,300 digits for writing one
        return f"a number of {len(format(value, 'x')) * math.log10(16):,.0f} digits or so"
    if len(text) <= most:
        return text
    unit = "digits" if isinstance(value, int) else "characters"
    return f"{text[: most // 2]}…{text[-8:]} ({len(text):,} {unit})"


def _origin(value: object) -> str:
    """A CORS origin as a browser sends it (`https://host[:port]`), or `*` for any."""
    if isinstance(value, str) and (
        value == "*" or re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/?#\s]+", value) is not None
    ):
        return value
    raise OptionError(
        f"a CORS origin is scheme://host[:port] without a path, as browsers send it "
        f"(https://builder.example.com), or * for any; not {_shown(value)}"
    )


# -- the work of requests, in threads that can be stopped ----------------------------------


class _Stopped(BaseException):
    """Raised in a worker thread to end work given up on. A BaseException, so that no
    `except Exception` of the library catches it."""


_STOPPED: Any = object()  # the outcome of work that was stopped or never started
_WAITING, _RUNNING, _DONE = range(3)
# Guards a job's start against its being given up on while it waits.
_GUARD = threading.Lock()
# How a thread's work is stopped: an exception raised in that thread at its next step. Not
# where threads run at once without the interpreter lock, which `_Job.stop` counts on: there
# work given up on runs to its end (bounded by the body's size), as it did before.
_SET_ASYNC_EXC = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
if not getattr(sys, "_is_gil_enabled", lambda: True)():
    _SET_ASYNC_EXC = None
_STOP_EXC = ctypes.py_object(_Stopped)


class _Job:
    """One request's work for a worker thread: `fn(*args)`, whose outcome (its value, a
    `_Failed` with the exception it raised, or `_STOPPED`) resolves `future` on the event loop
    `loop`."""

    __slots__ = ("args", "fn", "future", "given_up", "loop", "state", "stops", "thread")

    def __init__(
        self, fn: Callable[..., Any], args: tuple[Any, ...], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.fn = fn
        self.args = args
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self.state = _WAITING
        self.thread = 0
        self.stops = 0  # how many times `_Stopped` was raised in its work
        self.given_up = False  # by its deadline (rather than by the service stopping)

    def resolve(self, outcome: Any) -> None:
        """On the event loop: the outcome, unless there is one already."""
        if not self.future.done():
            self.future.set_result(outcome)

    def stop(self) -> None:
        """On the event loop: the work will not start; or, if it runs, `_Stopped` is raised in
        its thread, and ends it at its next step (a thread in a long C call stops when the call
        returns). The library catches no BaseException; a stop that lands in a finalizer that
        the garbage collector runs meanwhile is lost, which is why `_give_up` stops again."""
        with _GUARD:
            if self.state == _WAITING:
                self.state = _DONE
                self.args = ()  # the body, not kept while the job waits in the queue
                self.resolve(_STOPPED)
                return
        if _SET_ASYNC_EXC is None:
            return
        thread = ctypes.c_ulong(self.thread)
        # From reading the state to raising the exception there is no call and no loop, the
        # only places where the interpreter lets another thread run: the worker cannot leave
        # the work in between, so the exception is raised only in work that runs (`run`).
        if self.state == _RUNNING:
            _SET_ASYNC_EXC(thread, _STOP_EXC)
            self.stops += 1

    def run(self) -> None:
        """In a worker thread: the work, then its outcome handed to the event loop.

        A stop lands at the next call or loop of the thread it is raised in, and it is raised
        only while the state is `_RUNNING` (`stop`): so inside the inner `try` here, or at
        `_land`, where one raised just before the state became `_DONE` lands. From the
        landing to that assignment, the first of the `finally`, this thread makes no call and
        no loop, so no other stop can come in between; after it, none comes at all.
        """
        outcome: Any = _STOPPED
        try:
            try:
                if self._enter():
                    outcome = self._call()
            finally:
                self.state = _DONE
                _land()
        except _Stopped:
            outcome = _STOPPED
        if isinstance(outcome, _Failed) and isinstance(outcome.error, _Stopped):
            outcome = _STOPPED
        self.args = ()
        with contextlib.suppress(RuntimeError):  # the event loop is closed: nobody waits
            self.loop.call_soon_threadsafe(self.resolve, outcome)
        outcome = None  # what the work made, let go before the memory is handed back
        if self.stops:
            _tidy(collect=False)
        elif not gc.isenabled():
            _Collector.after_request()

    def _enter(self) -> bool:
        thread = threading.get_ident()
        with _GUARD:
            if self.state != _WAITING:
                return False  # given up on while it waited
            self.thread = thread
            self.state = _RUNNING
            return True

    def _call(self) -> Any:
        try:
            return self.fn(*self.args)
        except BaseException as e:  # raised again on the event loop
            return _Failed(e)


def _land() -> None:
    """Nothing: a call, at which a stop raised before the work was marked done lands."""


class _Failed:
    """The exception that a job's work raised."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Worker:
    __slots__ = ("handed", "job")

    def __init__(self) -> None:
        self.handed = threading.Event()
        self.job: _Job | None = None


class _Workers:
    """The threads that do an app's requests' work: at most `size`, started when needed, each
    ended after `_IDLE_SECONDS` without work. A job waits in a queue while all are busy. They
    are daemon threads, which the process never waits for at exit: work still running when the
    service stops is stopped first (`close`).

    Four by default: the interpreter runs one thread at a time, so more threads make no work
    faster, they only take the event loop's turns. While 25 requests past their time ran,
    /healthz waited 150-300 ms (p99) with eight; with four, 40-75 ms."""

    def __init__(self, size: int = _WORKERS) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._queue: deque[_Job] = deque()
        self._idle: list[_Worker] = []  # the last to go idle gets the next job: the others end
        self._busy: set[_Worker] = set()
        self._closed = False

    def submit(self, job: _Job) -> None:
        """On the event loop: `job` is run by an idle thread, a new one, or the first thread
        that is done with its work."""
        with self._lock:
            if self._closed:
                job.stop()
                return
            if self._idle:
                worker = self._idle.pop()
                worker.job = job
                self._busy.add(worker)
                worker.handed.set()
            elif len(self._busy) < self._size:
                worker = _Worker()
                worker.job = job
                self._busy.add(worker)
                # Not threading.Thread: its start() waits until the new thread runs, which the
                # event loop would, for as long as busy threads hold the interpreter (30 ms).
                try:
                    _thread.start_new_thread(self._serve, (worker,))
                except RuntimeError:  # no thread to be had: the job waits for a busy one
                    log.warning("cannot start a worker thread; %d busy", len(self._busy) - 1)
                    self._busy.discard(worker)
                    self._queue.append(job)
            else:
                self._queue.append(job)

    def close(self) -> None:
        """On the event loop, as the service stops: every job, waiting or running, is stopped
        and answered for at once, and new ones are refused."""
        with self._lock:
            self._closed = True
            jobs = list(self._queue) + [w.job for w in self._busy if w.job is not None]
            self._queue.clear()
        for job in jobs:
            job.stop()
            job.resolve(_STOPPED)

    def threads(self) -> int:
        """How many worker threads there are, busy or idle."""
        with self._lock:
            return len(self._busy) + len(self._idle)

    def _serve(self, worker: _Worker) -> None:
        job = worker.job
        try:
            while job is not None:
                job.run()
                job = self._next(worker)
        finally:
            if job is not None:  # not expected: `run` catches what its work raises
                with self._lock:
                    self._busy.discard(worker)

    def _next(self, worker: _Worker) -> _Job | None:
        with self._lock:
            while self._queue:
                job = self._queue.popleft()
                if job.state == _WAITING:
                    worker.job = job
                    return job
            worker.job = None
            self._busy.discard(worker)
            worker.handed.clear()
            self._idle.append(worker)
        if not worker.handed.wait(_IDLE_SECONDS):
            with self._lock:
                ending = worker in self._idle  # no job came: this thread ends
                if ending:
                    self._idle.remove(worker)
                quiet = not self._busy
            if ending:
                if quiet:
                    _tidy(collect=True)
                return None
        return worker.job  # handed over, maybe just as the wait ended


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):
        return None
    return trim


_TRIM = _malloc_trim() if sys.platform.startswith("linux") else None
_TRIM_SECONDS = 1.0  # after work that was stopped, memory is handed back at most this often


class _Tidy:
    last = 0.0


def _tidy(*, collect: bool) -> None:
    """Hands back the memory that work left: `collect` (when no work is in flight, for a
    collection holds every thread for as long as it walks the live objects) collects its
    garbage where the collector does not run by itself (`serve`); then the memory the C
    library keeps for threads that freed it goes back to the system (25 stopped requests left
    30 MB there). Outside the work, with the interpreter released while the C library trims."""
    if collect and not gc.isenabled():
        gc.collect()
    now = time.monotonic()
    if _TRIM is not None and (collect or now - _Tidy.last >= _TRIM_SECONDS):
        _Tidy.last = now
        _TRIM(0)


async def _work(workers: _Workers, seconds: float, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a worker thread; given up on after `seconds` (TimeoutError), and then
    stopped. The event loop, and every other client, goes on meanwhile."""
    loop = asyncio.get_running_loop()
    job = _Job(fn, args, loop)
    workers.submit(job)
    deadline = loop.call_later(seconds, _give_up, job)
    try:
        outcome = await job.future
    finally:
        deadline.cancel()
        if job.state != _DONE:  # this request was cancelled (the client, the server)
            job.stop()
    if isinstance(outcome, _Failed):
        raise outcome.error
    if outcome is _STOPPED:
        if job.given_up:
            raise TimeoutError
        raise _BadRequest(503, "the service is stopping; try again once it runs again")
    return outcome


def _give_up(job: _Job) -> None:
    """The deadline of `job`: it is stopped, and answered for by `_STOP_SECONDS` at the latest
    (a thread in a long C call stops only when the call returns)."""
    job.given_up = True
    _stop_until_done(job)
    job.loop.call_later(_STOP_SECONDS, job.resolve, _STOPPED)


def _stop_until_done(job: _Job) -> None:
    """Stops `job`, and again every `_AGAIN_SECONDS` for as long as its work runs."""
    job.stop()
    if job.state == _RUNNING:
        job.loop.call_later(_AGAIN_SECONDS, _stop_until_done, job)


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, problems: Sequence[dict[str, Any]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)


def _error_body(message: str, problems: Sequence[dict[str, Any]] = ()) -> bytes:
    return _encode({"error": {"message": message, "problems": list(problems)}})


def _error(
    status: int,
    message: str,
    problems: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(_error_body(message, problems), status, headers, "application/json")


async def _body_bytes(request: Request, limit: int, seconds: float) -> bytes:
    """The request's body, refused past `limit` bytes, `seconds`, or as another media type."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared[:20]) > limit:
        size = f"{int(declared):,}" if len(declared) <= 20 else f"{declared[:20]}… (far too many)"
        raise _BadRequest(413, f"the body is {size} bytes; the limit is {limit:,}")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise _BadRequest(
            415, f"send the body as application/json, not {kind[:100] or 'without a Content-Type'}"
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
    from helicone_filter.api import load_json
    from helicone_filter.errors import FilterSyntaxError

    try:
        body = load_json(text or "{}")
    except FilterSyntaxError as e:
        p = e.problems[0]
        if p.code == "invalid-json":
            raise _BadRequest(400, f"the body is {p.message}") from None
        # Valid JSON that Python cannot read: a number of thousands of digits, or nesting
        # deeper than its reader follows.
        where = f", at line {p.line}, column {p.column}" if p.code == "number-too-long" else ""
        hint = f"; {p.hint}" if p.hint else ""
        raise _BadRequest(400, f"the body cannot be read: {p.message}{where}{hint}") from None
    if not isinstance(body, dict):
        raise _BadRequest(400, "the body must be a JSON object")
    return body


def _answer(handler: Handler, keys: tuple[str, ...], data: bytes) -> bytes:
    """The whole work of a request, in a worker thread: the body read and checked against the
    `keys` its endpoint takes, the handler's answer written as JSON. (After it, where the
    garbage collector does not run by itself, `_Job.run` collects now and then.)"""
    body = _body(data)
    _known_keys(body, keys)
    return _encode(handler(body))


def _known_keys(body: dict[str, Any], keys: tuple[str, ...]) -> None:
    for name in body:
        if name not in keys:
            from helicone_filter.errors import did_you_mean

            near = did_you_mean(str(name), keys)
            raise _BadRequest(
                422,
                f"the body has an unknown field {_shown(name)}"
                + (f" ({near})" if near else "")
                + f"; its fields are {', '.join(keys)}",
            )


_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_PIECE = 64  # list items encoded at once
_DEPTH = 10  # levels of objects walked one by one, below which a subtree is encoded at once
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


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
    text = "".join(out)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate, which came in as a \udXXX escape (a browser's text field can hold
        # one, and JSON.stringify writes it so) and is quoted in a message, a path or a
        # completion: written back as the same escape, which UTF-8 can carry. Only here, so
        # that other answers cost nothing more. JSON writes one only inside a string.
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()


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


def _offset(body: dict[str, Any], name: str, unit: str) -> int | None:
    """`body[name]`, an offset into the text from 0 to `MAX_SAFE_INTEGER`, or None."""
    value: int | None = _field(body, name, int, None)
    if value is not None and not 0 <= value <= MAX_SAFE_INTEGER:
        raise _BadRequest(
            422,
            f"{name!r} must be 0 to {MAX_SAFE_INTEGER:,} ({unit}; past the end of the text is "
            f"its end), not {_shown(value)}",
        )
    return value


def _map_keys(body: dict[str, Any]) -> dict[str, list[str]]:
    """`body["map_keys"]`: for some of the map fields, at most `MAX_MAP_KEYS` keys each, of at
    most `MAX_MAP_KEY_LENGTH` characters."""
    from helicone_filter.facts.schema import FIELDS

    given: dict[str, list[str]] = _field(body, "map_keys", dict, {})
    maps = [name for name, f in FIELDS.items() if f.kind == "map"]
    for name, keys in given.items():
        if name not in maps:
            from helicone_filter.errors import did_you_mean

            near = did_you_mean(str(name), maps)
            raise _BadRequest(
                422,
                f"'map_keys' has keys for {_shown(name)}, which is not a map field"
                + (f" ({near})" if near else "")
                + f"; the map fields are {', '.join(maps)}",
            )
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise _BadRequest(
                422, f"'map_keys' gives each field a list of strings; {name!r} has something else"
            )
        if len(keys) > MAX_MAP_KEYS:
            raise _BadRequest(
                422,
                f"'map_keys' has {len(keys):,} keys for {name!r}; give at most {MAX_MAP_KEYS:,}"
                " (the ones a user is likeliest to want)",
            )
        for k in keys:
            if len(k) > MAX_MAP_KEY_LENGTH:
                raise _BadRequest(
                    422,
                    f"a key for {name!r} in 'map_keys' is {len(k):,} characters long; a key "
                    f"may be at most {MAX_MAP_KEY_LENGTH:,}",
                )
    return given


def _now(body: dict[str, Any]) -> datetime | None:
    value = _field(body, "now", str, None)
    if value is None:
        return None
    from helicone_filter.facts.timestamps import parse_timestamp

    parsed = parse_timestamp(value)
    if parsed is None:
        raise _BadRequest(422, f"'now' {_shown(value)} is not an ISO 8601 timestamp")
    return parsed


def _input(body: dict[str, Any]) -> Any:
    return _field(body, "input", (str, dict, list))


Handler = Callable[[dict[str, Any]], dict[str, Any]]


def _compile(body: dict[str, Any]) -> dict[str, Any]:
    from helicone_filter.api import compile_with_spans

    nesting = _field(body, "nesting", str, "balanced")
    if nesting not in ("balanced", "right"):
        raise _BadRequest(422, "'nesting' is balanced or right")
    from helicone_filter.diagnostics import Utf16

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
    from helicone_filter.api import is_json_text

    value = _input(body)
    if isinstance(value, str) and is_json_text(value):
        from helicone_filter.api import load_json

        with _text_errors(value):
            value = load_json(value)
    return (value, None) if isinstance(value, str) else (None, value)


def _format(body: dict[str, Any]) -> dict[str, Any]:
    from helicone_filter.api import lower_text
    from helicone_filter.api.outputs import to_text
    from helicone_filter.backends.canonical_text import filter_text

    text, node = _filter(body)
    if text is None:
        return {"text": to_text(node)}
    with _text_errors(text):
        return {"text": filter_text(lower_text(text, now=_now(body)))}


def _check(body: dict[str, Any]) -> dict[str, Any]:
    from helicone_filter.api import check_text
    from helicone_filter.api.filter_nodes import check

    text, node = _filter(body)
    problems = check(node) if text is None else check_text(text, now=_now(body))
    return {"problems": _with_utf16(text or "", [p.as_dict() for p in problems])}


def _with_utf16(text: str, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems with their offsets in UTF-16 code units too (`start_utf16`, `end_utf16`), and
    their fix-its' edits as objects, as /diagnose gives them."""
    from helicone_filter.diagnostics import Utf16

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
    from helicone_filter.diagnostics import Utf16
    from helicone_filter.frontends.completion import complete

    text = _field(body, "text", str)
    units = Utf16(text)
    cursor = _offset(body, "cursor", "code points")
    cursor_utf16 = _offset(body, "cursor_utf16", "UTF-16 code units")
    if cursor is not None and cursor_utf16 is not None:
        raise _BadRequest(422, "give 'cursor' (code points) or 'cursor_utf16', not both")
    if cursor_utf16 is not None:  # clamped to the text, as `cursor` is
        cursor = units.code_points(min(cursor_utf16, units(len(text))))
    keys = _map_keys(body)
    return {
        "completions": [
            {
                **c.as_dict(),
                "replace_start_utf16": units(c.replace_start),
                "replace_end_utf16": units(c.replace_end),
            }
            for c in complete(text, cursor, map_keys=keys)
        ]
    }


def _diagnose(body: dict[str, Any]) -> dict[str, Any]:
    from helicone_filter.api.diagnosis import diagnose
    from helicone_filter.diagnostics import as_json

    return {"diagnostics": as_json(diagnose(_field(body, "text", str), now=_now(body)))}


def _sql(body: dict[str, Any]) -> dict[str, Any]:
    from helicone_filter.api import lower_text
    from helicone_filter.backends.clickhouse import column_names, sql_of

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
        from helicone_filter.frontends.checker import SPLITTABLE, read_json

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
    from helicone_filter.api.outputs import query_body
    from helicone_filter.backends.request_body import QueryError

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
    from helicone_filter.errors import FilterError

    try:
        yield
    except FilterError as e:
        problems = _with_utf16(text, [p.as_dict() for p in e.problems])
        raise _BadRequest(422, e.problems[0].message, problems) from None


class _Limits:
    """What the app allows one request, and the threads that do the work."""

    def __init__(
        self, max_body: int, body_seconds: float, request_seconds: float, workers: _Workers
    ) -> None:
        self.max_body = max_body
        self.body_seconds = body_seconds
        self.request_seconds = request_seconds
        self.workers = workers


def _post(
    handler: Handler, keys: tuple[str, ...], limits: _Limits
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        from helicone_filter.errors import FilterError

        try:
            data = await _body_bytes(request, limits.max_body, limits.body_seconds)
            # Reading the body as JSON, the work and writing the answer happen in a worker
            # thread, so that the event loop (and every other client) goes on. A request past
            # its time is answered at once, and its work stopped.
            answer = await _work(
                limits.workers, limits.request_seconds, _answer, handler, keys, data
            )
            return Response(answer, media_type="application/json")
        except _BadRequest as e:
            return _error(e.status, e.message, e.problems)
        except FilterError as e:  # about FilterNode JSON, not text: no offsets to convert
            problems = _with_utf16("", [p.as_dict() for p in e.problems])
            return _error(422, e.problems[0].message, problems)
        except TimeoutError:
            return _error(
                503,
                f"the request took longer than {limits.request_seconds:g} s; it was given up "
                "(a smaller filter is quicker)",
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
    from helicone_filter.facts.schema import field_table

    return Response(_encode({"fields": field_table()}), media_type="application/json")


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
    """This service's OpenAPI 3.1 document, made from the models of `service_models`."""
    from helicone_filter import __version__
    from helicone_filter.service.models import openapi_document as document

    return document(__version__)


async def _openapi(request: Request) -> Response:
    return Response(_encode(openapi_document()), media_type="application/json")


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
                shown = f"the Host {_shown(host, 100)}" if host else "a request without a Host"
                names = ", ".join(sorted(self.names))
                answer = _error(
                    421,
                    f"this service does not answer to {shown}: it answers to {names} (with a "
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
                f"the origin {_shown(origin, 100)} may not call it (start the service with "
                f"--cors-origin {_shown(origin, 100)} to let it)"
            )
        method = request_headers["access-control-request-method"]
        if method not in self.allow_methods:
            reasons.append(f"the method {_shown(method, 40)} is not one it takes (GET, POST)")
        wanted = request_headers.get("access-control-request-headers")
        extra = [
            h.strip()
            for h in (wanted or "").lower().split(",")
            if h.strip() and h.strip() not in self.allow_headers
        ]
        if extra:
            reasons.append(
                f"the headers {_shown(', '.join(extra), 100)} are not allowed (Content-Type is)"
            )
        if request_headers.get("access-control-request-private-network") is not None:
            reasons.append("a public page may not call a service on a private address")
        headers = {k: v for k, v in answer.headers.items() if k.lower().startswith("access-")}
        headers["vary"] = answer.headers.get("vary", "Origin")
        message = "a page from another origin asked to call this service, refused: "
        return _error(400, message + "; ".join(reasons or ["not allowed"]), headers=headers)


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name to listen on) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# Each endpoint's handler and the fields its body may have.
_ENDPOINTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "/compile": ("_compile", ("text", "now", "nesting")),
    "/format": ("_format", ("input", "now")),
    "/check": ("_check", ("input", "now")),
    "/complete": ("_complete", ("text", "cursor", "cursor_utf16", "map_keys")),
    "/diagnose": ("_diagnose", ("text", "now")),
    "/sql": ("_sql", ("input", "now", "table_map", "target")),
    "/query": (
        "_query",
        ("input", "limit", "offset", "sort", "since", "until", "tz_offset", "now"),
    ),
}


def _prepare() -> None:
    """Imports what the handlers import as they run, so that a stop never lands inside an
    import (which would leave the module's import lock taken, and the module half made)."""
    import difflib  # noqa: F401 - for did-you-mean
    import uuid  # noqa: F401 - for a request_id

    import helicone_filter.api.diagnosis
    import helicone_filter.api.outputs
    import helicone_filter.backends.analysis
    import helicone_filter.backends.canonical_text
    import helicone_filter.backends.clickhouse
    import helicone_filter.backends.request_body
    import helicone_filter.backends.row_matching
    import helicone_filter.diagnostics
    import helicone_filter.facts.node_dates
    import helicone_filter.facts.timestamps
    import helicone_filter.frontends.checker
    import helicone_filter.frontends.completion
    import helicone_filter.frontends.parse_tables  # noqa: F401
    from helicone_filter.frontends.parser import engine

    engine()


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
        helicone_filter.service.server.OptionError: max_body must be 1 to 67,108,864 bytes, not -1
    """
    limits = _Limits(
        _whole_option("max_body", max_body, 1, MAX_BODY_LIMIT, "bytes"),
        _seconds_option("body_seconds", body_seconds),
        _seconds_option("request_seconds", request_seconds),
        _Workers(),
    )
    origins = [_origin(o) for o in cors_origins]
    if allowed_hosts is not None and not all(isinstance(h, str) for h in allowed_hosts):
        raise OptionError(f"allowed_hosts are host names, not {_shown(list(allowed_hosts))}")
    _prepare()
    here = sys.modules[__name__]
    routes = [
        Route(path, _post(getattr(here, handler), keys, limits), methods=["POST"])
        for path, (handler, keys) in _ENDPOINTS.items()
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
        return _error(404, f"no such endpoint: {request.method} {_shown(request.url.path, 200)}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, f"{request.method} is not allowed on {_shown(request.url.path, 200)}")

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: not_found, 405: not_allowed, Exception: _unforeseen},
    )
    app.state.workers = limits.workers
    return app


def server_config(
    app: Any,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    header_seconds: float = DEFAULT_HEADER_SECONDS,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> uvicorn.Config:
    """uvicorn's settings for the service: a client that has not sent a request's headers
    `header_seconds` after its first byte (or after connecting) is dropped (408), and past
    `max_connections` open at once new requests get 503. Every error that the HTTP server
    answers itself is a JSON body, as the app's are.

    Raises:
        OptionError: `header_seconds` is not above 0 and at most a day, or `max_connections`
            is not 1 to `MAX_CONNECTIONS_LIMIT`.
    """
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",  # the app has nothing to start or stop, and a second Ctrl-C would log
        # the lifespan task's cancellation as a traceback
        http=_guarded_http(
            _seconds_option("header_seconds", header_seconds),
            _whole_option(
                "max_connections", max_connections, 1, MAX_CONNECTIONS_LIMIT, "connections"
            ),
        ),
    )


# What h11 says of a request that is not HTTP/1.1, and what we say instead (the first row whose
# start its message has); the last row quotes h11 for the rest.
_NOT_HTTP = (
    ("Missing mandatory Host", "it has no Host header, which HTTP/1.1 requires: send one"),
    ("Found multiple Host", "it has several Host headers: send one"),
    ("illegal request line", "its first line is not METHOD /path HTTP/1.1"),
    ("illegal header line", "a header line is not Name: value"),
    ("Receive buffer too long", "its first line and headers are over 16 KiB: send fewer"),
    ("bad Content-Length", "its Content-Length is not a number of bytes"),
    ("conflicting Content-Length", "it has Content-Length headers that disagree: send one"),
    ("Only Transfer-Encoding: chunked", "the only Transfer-Encoding it may have is chunked"),
    ("multiple Transfer-Encoding", "it has several Transfer-Encoding headers: send one"),
    ("", "h11 says "),
)


def _not_http(error: BaseException | None) -> str:
    said = str(error or "")
    start, ours = next(row for row in _NOT_HTTP if said.startswith(row[0]))
    return "the request is not valid HTTP/1.1: " + ours + ("" if start else _shown(said, 100))


def _raw_error(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP answer with the JSON error body, for the answers the protocol writes."""
    body = _error_body(message)
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


def _guarded_http(seconds: float, max_connections: int) -> type:
    """uvicorn's h11 protocol, with a deadline for each request's headers (uvicorn has none:
    a client sending a byte now and then would hold its connection forever), and JSON bodies
    for the answers it writes itself (400 for a malformed request, 503 past the limit of
    connections, which uvicorn writes in plain text)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(H11Protocol):
        _deadline: Any = None
        _begun = False  # bytes of a request's head came, not yet the whole head

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.limit_concurrency = None  # checked below, answered in JSON
            self.app = self._limited(self.app)

        def _limited(self, app: Any) -> Any:
            async def limited(scope: Scope, receive: Receive, send: Send) -> None:
                # As uvicorn counts: this request's task is in `tasks` already.
                if len(self.connections) >= max_connections or len(self.tasks) > max_connections:
                    log.warning("refused a request: %d connections open", len(self.connections))
                    answer = _error(
                        503,
                        f"the service has {len(self.connections):,} connections open, its "
                        "limit: try again in a moment",
                        headers={"connection": "close"},
                    )
                    await answer(scope, receive, send)
                    return
                await app(scope, receive, send)

            return limited

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._await_headers()

        def data_received(self, data: bytes) -> None:
            if self.cycle is None or self.cycle.response_complete:
                self._await_headers()  # the first bytes of a new request
                self._begun = True
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._headers_in()

        def connection_lost(self, exc: Exception | None) -> None:
            self._headers_in()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            # Called by uvicorn where it catches h11's RemoteProtocolError.
            self._headers_in()
            if not self.transport.is_closing():
                answer = _raw_error(400, "Bad Request", _not_http(sys.exc_info()[1]))
                self.transport.write(answer)
                self.transport.close()

        def _await_headers(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _headers_in(self) -> None:
            self._begun = False
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                log.info("dropped a client that sent no whole request in %g s", seconds)
                if self._begun:  # an idle connection is closed without a word, as is usual
                    message = f"the request's headers did not arrive within {seconds:g} s"
                    self.transport.write(_raw_error(408, "Request Timeout", message))
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
    request_seconds: float = DEFAULT_REQUEST_SECONDS,
    body_seconds: float = DEFAULT_BODY_SECONDS,
    header_seconds: float = DEFAULT_HEADER_SECONDS,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Run the service with uvicorn until interrupted (Ctrl-C: KeyboardInterrupt, within a
    second). On a loopback address it answers only to loopback host names. The options are
    `create_app`'s and `server_config`'s. `announce` is told, in a line each, where it listens
    once it does, and that it stopped.

    Raises:
        OptionError: an option outside its range (before it listens).
        ListenError: it cannot listen on `host`:`port`.
    """
    app = create_app(
        cors_origins=cors_origins,
        max_body=max_body,
        allowed_hosts=_LOOPBACK_NAMES if is_loopback(host) else None,
        request_seconds=request_seconds,
        body_seconds=body_seconds,
    )
    server_config(app, header_seconds=header_seconds, max_connections=max_connections)  # checks
    sock = listen(host, port)
    config = server_config(
        app,
        host,
        sock.getsockname()[1],
        header_seconds=header_seconds,
        max_connections=max_connections,
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
        _server(config, app.state.workers).run(sockets=[sock])
    finally:
        sock.close()
        if announce is not None:
            announce(f"stopped serving on {url}")


def _server(config: uvicorn.Config, workers: _Workers) -> uvicorn.Server:
    """uvicorn's server, which as it stops stops the work of the requests still running (each
    answered 503 at once) and, `_CLOSE_SECONDS` later, closes the connections still open (a
    client that does not read its answer, or sends its body slowly): nothing holds up the
    exit, which uvicorn would delay until every request is answered."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            workers.close()
            loop = asyncio.get_running_loop()
            later = loop.call_later(_CLOSE_SECONDS, self._close_all)
            try:
                await super().shutdown(sockets)
            finally:
                later.cancel()
            # After a second Ctrl-C uvicorn waits for nothing: the connections still open are
            # closed now, and their requests given a moment to end (each ends at once when its
            # client is gone), rather than be cancelled as the loop closes, which uvicorn logs
            # with a traceback.
            self._close_all()
            end = loop.time() + _CLOSE_SECONDS
            while self.server_state.tasks and loop.time() < end:
                await asyncio.sleep(0.01)

        def _close_all(self) -> None:
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.close()

    return Server(config)
