"""Running the command line in tests: `main(argv)` in this process with its output captured,
the installed console script, and `python -m helicone_filter` as a shell would run it."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest

from helicone_filter.cli import main

Capture = pytest.CaptureFixture[str]
Patch = pytest.MonkeyPatch

# What `cached` compiles to.
CACHED = {"request_response_rmt": {"cached": {"equals": True}}}
NOW_TEXT = "2025-06-01T12:00:00Z"  # conftest's NOW, for --now

# Two mistakes in one filter, and how compile shows them.
TWO_MISTAKES = "modle = 1 and cost => 5"
TWO_MISTAKES_SHOWN = (
    "helicone-filter: error: line 1, column 1: unknown field 'modle'\n"
    "  modle = 1 and cost => 5\n"
    "  ^^^^^\n"
    "  hint: did you mean 'model'?\n"
    "\n"
    "helicone-filter: error: line 1, column 20: unknown operator '=>'\n"
    "  modle = 1 and cost => 5\n"
    "                     ^^\n"
    "  hint: did you mean '>='?\n"
)
WILDCARD = 'model contains "50%"'
WILDCARD_JSON = {"request_response_rmt": {"model": {"contains": "50%"}}}
WILDCARD_SHOWN = (
    "helicone-filter: warning: line 1, column 1: '50%' holds % or _, which Helicone does not "
    "escape: they match any characters\n"
    '  model contains "50%"\n'
    "  ^^^^^^^^^^^^^^^^^^^^\n"
    "  hint: use like / ilike to say so, or expect the wildcards\n"
)


def run(
    argv: list[str], capsys: Capture, monkeypatch: Patch, stdin: str = ""
) -> tuple[int, str, str]:
    """`main(argv)` with `stdin` as its standard input: the exit code, stdout and stderr."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def console_script() -> str:
    """The path of the installed `helicone-filter` console script."""
    path = Path(sys.executable).parent / "helicone-filter"
    assert path.exists(), "the console script is installed with the package"
    return str(path)


def run_process(
    argv: list[str], stdin: bytes | IO[bytes] = b"", redirect: str = "", **options: Any
) -> subprocess.CompletedProcess[bytes]:
    """`python -m helicone_filter ARGV`, through a shell when `redirect` (e.g. `>&-`) is given,
    as a user would type it."""
    command = [sys.executable, "-m", "helicone_filter", *argv]
    if redirect:
        command = ["sh", "-c", f'"$0" "$@" {redirect}', *command]
    if isinstance(stdin, bytes):
        options["input"] = stdin
    else:
        options["stdin"] = stdin
    return subprocess.run(command, stderr=subprocess.PIPE, check=False, timeout=120, **options)
