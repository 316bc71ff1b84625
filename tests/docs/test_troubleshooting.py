"""docs/troubleshooting.md tells the truth: its table of exit codes is the command line's, each
of its commands prints what it shows, and each message it quotes for a situation (a missing
extra, no API key, an answer of Helicone's) is what the command line prints in it."""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import ROOT
from pages import PAGES, code_blocks, page_section

from helicone_filter.cli.exits import Exit

PAGE = PAGES["docs/troubleshooting.md"]
BLOCKS = [block.rstrip("\n") for block in code_blocks(PAGE, "text")]
HELICONE = "https://api.helicone.ai"


def _run(
    argv: list[str], *, block: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """The command line in a process of its own, with `block` (a module) made impossible to
    import, and `env` over this environment (a value of "" removes the variable)."""
    blocked = f"import sys; sys.modules[{block!r}] = None; " if block else ""
    code = f"{blocked}from helicone_filter.cli import main; raise SystemExit(main())"
    environ = {**os.environ, **env}
    for name, value in env.items():
        if value == "":
            del environ[name]
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _shown(output: str) -> None:
    assert output.rstrip("\n") in BLOCKS, f"not on the page:\n{output}"


def test_the_exit_codes_are_the_command_lines() -> None:
    rows = re.findall(r"^\| `(\d+)` \| (.+?) \|", page_section("## Exit codes", PAGE), re.M)
    assert [int(code) for code, _ in rows] == sorted(Exit)


def test_each_command_prints_what_the_page_shows() -> None:
    """The `$ helicone-filter ...` transcripts, run as the shell would split them (test_readme
    runs them too; here, also their exit code: 1 for a refused filter, 2 for a usage mistake
    (argparse's usage, or a filter the shell split), 0 for a warning)."""
    transcripts = [b for b in BLOCKS if b.startswith("$ helicone-filter ")]
    assert len(transcripts) >= 8
    for block in transcripts:
        command, _, shown = block.partition("\n")
        done = _run(shlex.split(command[2:])[1:])
        assert (done.stdout + done.stderr).rstrip("\n") == shown, command
        first = shown.splitlines()[0]
        usage = first.startswith(("usage:", "helicone-filter: error: the filter came as"))
        expected = 2 if usage else 0 if first.startswith("warning") else 1
        assert done.returncode == expected, command


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("starlette", ["serve"]),
        ("prompt_toolkit", ["repl"]),
        ("httpx", ["query", "user_cost > 5", "--send"]),
        ("pyarrow", ["export", "all", "--format", "parquet", "-o", "never-written.parquet"]),
    ],
)
def test_a_missing_extra_is_said_as_shown(module: str, argv: list[str]) -> None:
    done = _run(argv, block=module, HELICONE_API_KEY="sk-test")
    assert done.returncode != 0
    _shown(done.stdout + done.stderr)
    assert not (ROOT / "never-written.parquet").exists()


def test_no_api_key_is_said_as_shown() -> None:
    done = _run(["query", "user_cost > 5", "--send"], HELICONE_API_KEY="")
    assert done.returncode == Exit.USAGE
    _shown(done.stderr)


# What Helicone answers, as its API does: (body, headers).
ANSWERS: dict[int, tuple[Any, dict[str, str]]] = {
    200: ({"data": {"users": [], "count": 0, "hasUsers": False}, "error": None}, {}),
    401: ({"error": "Unauthorized"}, {}),
    422: (
        {
            "message": "Validation Failed",
            "details": {"requestBody.filter": {"message": "invalid filter"}},
        },
        {},
    ),
    429: ({"error": "Too many requests"}, {"Retry-After": "30"}),
    500: ({"data": None, "error": "Code: 62. DB::Exception: Syntax error"}, {}),
}


@contextmanager
def _helicone(status: int) -> Iterator[str]:
    """A server on a loopback port that answers every POST as Helicone does with `status`."""
    body, headers = ANSWERS[status]

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", sorted(ANSWERS))
def test_each_answer_of_helicone_is_said_as_shown(status: int) -> None:
    """`query --send` against a server that answers as Helicone does; the page shows the
    output as it reads against Helicone's host."""
    with _helicone(status) as base:
        done = _run(
            ["query", "user_cost > 5", "--send", "--base-url", base], HELICONE_API_KEY="sk-test"
        )
    assert done.returncode == (Exit.OK if status == 200 else Exit.REQUEST_FAILED)
    _shown((done.stdout + done.stderr).replace(base, HELICONE))
