"""Reaching the HTTP service in tests: a request to an app in this process (ASGI), the app
under uvicorn in a thread, and `helicone-filter serve` in a process of its own."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from conftest import free_port

JSON = {"content-type": "application/json"}


def call_app(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A request to `app` in this process."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            return await c.request(method, path, **kwargs)

    return asyncio.run(go())


def assert_error(r: httpx.Response, status: int, needle: str) -> None:
    """`r` is the service's JSON error of `status`, its message holding `needle`."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert needle in r.json()["error"]["message"]


@contextmanager
def uvicorn_thread(app: Any, **settings: Any) -> Iterator[int]:
    """`app` served by uvicorn with the service's `server_config(**settings)`, in a thread on
    a free loopback port; the port."""
    import uvicorn

    from helicone_filter.service.running import server_config

    port = free_port()
    running = uvicorn.Server(server_config(app, "127.0.0.1", port, **settings))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        running.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_process(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`python -m helicone_filter serve ARGS` on a free port, as a user starts it: its base URL
    and process, once it answers /healthz."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "helicone_filter", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.05)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=10)
