"""The command line against hostile surroundings: a standard output closed from the start, a
disk that is full, one line of tens of megabytes. Each reproducer fails on the code before its
fix (a traceback, or seconds of quadratic copying).

The run is a real process (`python -m helicone_filter`) wherever the reproducer needs real file
descriptors. Time is asserted only with a wide margin: the bug took many times the bound.
"""

from __future__ import annotations

import errno
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, cast

import pytest
from test_cli import CACHED, run

from helicone_filter.bulk import PARALLEL_BATCH, Line, line_batches
from helicone_filter.cli import Exit, main
from helicone_filter.parser import DEFAULT_MAX_LENGTH

CLOSED = (
    "helicone-filter: error: cannot write the output: standard output is closed; "
    "send it to a file or a pipe\n"
)
FULL = (
    f"helicone-filter: error: cannot write the output: {os.strerror(errno.ENOSPC)}; "
    "the output is incomplete\n"
)
needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")


def _cli(
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


# -- a standard output that is closed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["compile", "cached"], b""),
        (["compile", "--lines"], b"cached\nmodle = 1\n"),
        (["check", "--lines"], b"cached\n"),
        (["fmt", "not cached"], b""),
        (["fields"], b""),
        (["compile", "--help"], b""),
    ],
    ids=["compile", "compile-lines", "check-lines", "fmt", "fields", "help"],
)
def test_a_closed_stdout_is_one_line_on_stderr(argv: list[str], stdin: bytes) -> None:
    """`helicone-filter compile cached >&-`: Python makes sys.stdout None; it was a traceback
    (no attribute 'isatty', 'write' or 'flush')."""
    done = _cli(argv, stdin, redirect=">&-")
    assert (done.returncode, done.stderr.decode()) == (Exit.OUTPUT_FAILED, CLOSED)
    assert Exit.OUTPUT_FAILED == 74


def test_a_closed_stdout_reported_as_json() -> None:
    done = _cli(["compile", "--error-format", "json", "cached"], redirect=">&-")
    assert done.returncode == Exit.OUTPUT_FAILED
    assert json.loads(done.stderr) == {
        "error": {
            "message": CLOSED.removeprefix("helicone-filter: error: ").strip(),
            "problems": [],
        }
    }


def test_a_closed_stdout_does_not_hide_a_bad_filter() -> None:
    """Nothing is written to stdout for a bad filter, so its error is the one to see."""
    done = _cli(["compile", "modle = 1"], redirect=">&-")
    assert done.returncode == Exit.BAD_FILTER
    assert done.stderr.decode().startswith("helicone-filter: error: line 1, column 1: unknown")


@pytest.mark.parametrize(
    ("argv", "code"),
    [(["compile"], Exit.BAD_FILTER), (["check", "--lines"], Exit.BAD_FILTER), ([], Exit.USAGE)],
    ids=["compile", "check-lines", "nothing"],
)
def test_a_closed_stdin_is_one_line_on_stderr(argv: list[str], code: int) -> None:
    """`helicone-filter compile <&-`: Python makes sys.stdin None; it was a traceback."""
    done = _cli(argv, redirect="<&-")
    assert done.returncode == code
    err = done.stderr.decode()
    assert "Traceback" not in err
    if code == Exit.BAD_FILTER:
        assert err == (
            "helicone-filter: error: standard input is closed: give the filter as an "
            "argument, or send it on stdin\n"
        )


# -- a full disk ------------------------------------------------------------------------------


@needs_dev_full
@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["compile", "cached"], b""),
        (["compile", "--lines"], b"cached\n"),
        (["compile", "--lines", "--jobs", "1"], b"modle = 1\ncached\n"),  # an error object
        (["check", "modle = 1"], b""),  # check's problems go to stdout
        (["fields", "--json"], b""),
        (["compile", "--help"], b""),
    ],
    ids=["compile", "compile-lines", "lines-error", "check-problems", "fields", "help"],
)
def test_a_full_disk_is_one_line_on_stderr(argv: list[str], stdin: bytes) -> None:
    """`helicone-filter compile cached > /dev/full`: the write (or only the flush at the end)
    fails with ENOSPC; it was a traceback, and after it Python's own complaint at exit."""
    with open("/dev/full", "wb") as full:
        done = _cli(argv, stdin, stdout=full)
    assert (done.returncode, done.stderr.decode()) == (Exit.OUTPUT_FAILED, FULL)


@needs_dev_full
def test_a_full_disk_reported_as_json() -> None:
    with open("/dev/full", "wb") as full:
        done = _cli(["sql", "--error-format=json", "cached"], stdout=full)
    assert done.returncode == Exit.OUTPUT_FAILED
    assert json.loads(done.stderr)["error"]["message"] == (
        FULL.removeprefix("helicone-filter: error: ").strip()
    )


@needs_dev_full
def test_a_full_disk_under_worker_processes(tmp_path: Path) -> None:
    """`--lines --jobs 2` on an input in batches large enough for the worker pool: the
    failure ends the workers and the run, with the same one line."""
    lines = 20_000
    source = tmp_path / "filters.txt"
    source.write_text("".join(f"user_cost > {i}\n" for i in range(lines)))
    assert lines > 8 * PARALLEL_BATCH  # several batches, each large enough for the pool
    with open("/dev/full", "wb") as full, source.open("rb") as stdin:
        done = _cli(["compile", "--lines", "--jobs", "2"], stdin, stdout=full)
    assert (done.returncode, done.stderr.decode()) == (Exit.OUTPUT_FAILED, FULL)


# -- the same in this process: main() with an output that fails ------------------------------


class _FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("stdout", [None, _FullDisk()], ids=["closed", "full"])
def test_main_reports_an_output_that_fails(
    stdout: IO[str] | None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("cached\n"))
    monkeypatch.setattr(sys, "stdout", stdout)
    for argv in (["compile", "cached"], ["compile", "--lines"]):
        assert main(argv) == Exit.OUTPUT_FAILED
        assert sys.stdout is stdout  # given back as it was
        assert capsys.readouterr().err == (CLOSED if stdout is None else FULL)


def test_main_still_writes_a_working_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sys.stdout
    code, out, err = run(["compile", "cached"], capsys, monkeypatch)
    assert (code, json.loads(out), err) == (0, CACHED, "")
    assert sys.stdout is before


# -- one very long line under --lines --------------------------------------------------------


def _seconds(call: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


# What each subcommand gives for the line `cached`, beside the long line.
CACHED_LINE = {"compile": CACHED, "check": {"problems": []}, "fmt": "cached = true"}


@pytest.mark.parametrize(
    ("command", "before", "after"),
    [
        ("compile", b"", b"\ncached\n"),
        ("check", b"cached\n", b""),  # the last line, without a newline
        ("fmt", b"", b"\r\ncached\n"),
    ],
    ids=["compile", "check-last-line", "fmt-crlf"],
)
def test_a_line_of_40_mb_is_refused_quickly_and_briefly(
    command: str, before: bytes, after: bytes
) -> None:
    """One 40 MB line of a plausible filter: joined again from every piece read so far each
    time a piece came, it took about 15 s (50 MB: 20 s); it is well under a second now, and
    its result says that it is too long without repeating it."""
    term = b"user_cost > 5 and "
    line = term * (40_000_000 // len(term)) + b"cached"
    argv = [command, "--lines"]
    seconds, done = _seconds(lambda: _cli(argv, before + line + after, stdout=subprocess.PIPE))
    assert seconds < 5, f"{seconds:.1f} s"
    assert (done.returncode, done.stderr) == (Exit.BAD_FILTER, b"")
    assert len(done.stdout) < 2_000  # what is wrong, not the line again
    rows = [json.loads(row) for row in done.stdout.splitlines()]
    long_number = 2 if before else 1
    (long,) = [row for row in rows if isinstance(row, dict) and row.get("line") == long_number]
    problems = long["problems"] if command == "check" else long["error"]["problems"]
    assert [p["code"] for p in problems] == ["too-long"]
    assert problems[0]["message"] == (
        f"the filter is {len(line):,} characters long; the limit is {DEFAULT_MAX_LENGTH:,}"
    )
    other = [row for row in rows if row is not long]
    expected = CACHED_LINE[command]
    if command == "check":
        expected = {"line": 3 - long_number, **CACHED_LINE[command]}
    assert other == [expected]


class _Drip:
    """Bytes that come a few at a time, as from a slow pipe."""

    def __init__(self, data: bytes, sizes: Any) -> None:
        self.data, self.position, self.sizes = memoryview(data), 0, sizes

    def read1(self, size: int = -1) -> bytes:
        n = min(size, next(self.sizes))
        piece = bytes(self.data[self.position : self.position + n])
        self.position += len(piece)
        return piece


class _Stdin:
    def __init__(self, data: bytes, sizes: Any) -> None:
        self.buffer = _Drip(data, sizes)


def _lines_of(data: bytes, sizes: Any) -> list[Line]:
    stdin = cast(IO[str], _Stdin(data, sizes))
    return [line for batch in line_batches("-", stdin) for line in batch]


def test_a_long_line_in_small_pieces_takes_time_in_its_length() -> None:
    """An 8 MB line that arrives 1,000 bytes at a time: 8,000 pieces, each of which copied the
    whole line so far (tens of gigabytes, half a minute); now each byte is copied a few times."""
    line = b"x" * 8_000_000

    def sizes() -> Any:
        while True:
            yield 1_000

    seconds, lines = _seconds(lambda: _lines_of(line + b"\ncached", sizes()))
    assert seconds < 5, f"{seconds:.1f} s"
    assert lines == [(1, line.decode()), (2, "cached")]


def test_lines_are_the_same_however_the_input_is_cut() -> None:
    """What the lines are does not depend on the pieces the input arrives in: each is what
    splitting the whole input at newlines gives (a byte-order mark dropped from the first, a
    carriage return from the end of each, None for a line that is not UTF-8)."""
    pieces = [b"a", b"\n", b"\r", b"\xef\xbb\xbf", b"\xff", b" ", b"#", "é".encode(), b"\r\n"]
    rng = random.Random(7)
    for _ in range(2_000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        expected: list[Line] = []
        for number, raw in enumerate(data.split(b"\n")[: -1 if data.endswith(b"\n") else None], 1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r")
            except UnicodeDecodeError:
                expected.append((number, None))
            else:
                expected.append((number, text))
        if data == b"":
            expected = []
        sizes = iter(lambda: rng.randint(1, 9), None)
        assert _lines_of(data, sizes) == expected, data
