"""Running the service: listening, uvicorn's settings, and stopping (Ctrl-C, a signal).

`serve` makes the app (`app.create_app`), listens (`listen`: a refusal that says what to do,
`ListenError`) and runs uvicorn until interrupted. uvicorn's h11 protocol is guarded
(`_guarded_http`): a client slow to send its headers is dropped (`header_seconds`), past
`max_connections` a request gets 503, and the errors the HTTP server answers before the app
runs (a malformed request, a client over the limit) are JSON bodies, as the app's are. As the
service stops, the work still running is stopped, and the connections still open closed, so
that nothing holds up the exit.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import ipaddress
import logging
import socket
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from helicone_filter.defaults import SERVICE_HOST, SERVICE_MAX_BODY, SERVICE_PORT
from helicone_filter.service.app import (
    DEFAULT_BODY_SECONDS,
    DEFAULT_REQUEST_SECONDS,
    create_app,
    error_response,
    seconds_option,
    whole_option,
)
from helicone_filter.service.handlers import error_body
from helicone_filter.service.models import shown
from helicone_filter.service.workers import Workers

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import Receive, Scope, Send

DEFAULT_HEADER_SECONDS = 10.0  # to send a request's headers, from its first byte
DEFAULT_MAX_CONNECTIONS = 200  # open at once; past that, 503
MAX_CONNECTIONS_LIMIT = 10_000
_CLOSE_SECONDS = 0.5  # when the service stops, connections still open after this are closed
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_SWITCH_SECONDS = 0.0005

log = logging.getLogger("helicone_filter.service")


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name to listen on) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def server_config(
    app: Any,
    host: str = SERVICE_HOST,
    port: int = SERVICE_PORT,
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
            seconds_option("header_seconds", header_seconds),
            whole_option(
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
    return "the request is not valid HTTP/1.1: " + ours + ("" if start else shown(said, 100))


def _rawerror_response(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP answer with the JSON error body, for the answers the protocol writes."""
    body = error_body(message)
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
                    answer = error_response(
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
                answer = _rawerror_response(400, "Bad Request", _not_http(sys.exc_info()[1]))
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
                    self.transport.write(_rawerror_response(408, "Request Timeout", message))
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
    host: str = SERVICE_HOST,
    port: int = SERVICE_PORT,
    *,
    cors_origins: Sequence[str] = (),
    max_body: int = SERVICE_MAX_BODY,
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
    # between requests instead (`workers`), when their objects are gone, and never walks what
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


def _server(config: uvicorn.Config, workers: Workers) -> uvicorn.Server:
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
