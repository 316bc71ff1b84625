"""The command line against hostile surroundings: a standard output closed from the start, a
disk that is full, one line of tens of megabytes. Each reproducer fails on the code before its
fix (a traceback, or seconds of quadratic copying).

The run is a real process (`python -m helicone_filter`) wherever the reproducer needs real file
descriptors. Time is asserted only with a wide margin: the bug took many times the bound.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, cast

import pytest
from test_cli import CACHED, run

from helicone_filter.cli import main
from helicone_filter.cli.exits import Exit
from helicone_filter.cli.lines import PARALLEL_BATCH, Line, line_batches
from helicone_filter.frontends.parser import DEFAULT_MAX_LENGTH

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


# -- nothing from a filter reaches the terminal as a control sequence ------------------------

# What must reach no terminal: C0 and C1 controls, DEL, bidi controls, lone surrogates.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# A window's title set (OSC ... BEL) and the screen cleared, inside a string.
PWNED = 'modle = "\x1b]0;PWNED\x07\x1b[2J"'
PWNED_SHOWN = '  modle = "␛]0;PWNED␇␛[2J"\n           ^\n'


@pytest.mark.parametrize(
    ("argv", "where"),
    [
        (["compile", PWNED], "err"),
        (["check", PWNED], "out"),
        (["explain", PWNED], "err"),
        (["compile", "--color", "always", PWNED], "err"),
    ],
    ids=["compile", "check", "explain", "coloured"],
)
def test_the_line_under_an_error_shows_control_characters_as_pictures(
    argv: list[str], where: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The echoed line wrote ESC and BEL raw: `modle = "\\e]0;PWNED\\a\\e[2J"` retitled the
    window and cleared the screen. Each is its control picture now, the caret still under
    the character it marks (column 10)."""
    code, out, err = run(argv, capsys, monkeypatch)
    assert code == Exit.BAD_FILTER
    shown = out if where == "out" else err
    plain = re.sub("\x1b\\[[0-9;]*m", "", shown)  # our own colours, with --color always
    assert PWNED_SHOWN in plain
    assert not UNSAFE.search(plain.replace("\n", "")), shown
    assert "\x1b]" not in shown and "\x1b[2J" not in shown


def test_the_caret_stays_under_its_character_after_controls(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A C1 control (U+009B, an ESC [ of its own), a right-to-left override and DEL, legal in
    a string, before the mistake: each one column, so the caret is under `modle`."""
    code, _, err = run(["compile", 'model = "\x9b\u202e\x7f" and modle = 1'], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER
    assert err == (
        "helicone-filter: error: line 1, column 19: unknown field 'modle'\n"
        '  model = "\ufffd\ufffd\u2421" and modle = 1\n'
        "                    ^^^^^\n"
        "  hint: did you mean 'model'?\n"
    )


SNEAKY = "a\x9b31m\u202e\x7fb"  # C1 CSI, RLO, DEL: JSON leaves all three as they are


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["compile", "--compact", f'model = "{SNEAKY}"'], None),
        (["sql", "--compact", f'model = "{SNEAKY}"'], None),
        (["query", "--compact", f'model = "{SNEAKY}"'], None),
        (["fmt", f'model = "{SNEAKY}"'], 'model = "a\\u009b31m\\u202e\\u007fb"\n'),
        (["fmt", "--as-written", f'model = "{SNEAKY}"'], 'model = "a\\u009b31m\\u202e\\u007fb"\n'),
    ],
    ids=["compile", "sql", "query", "fmt", "fmt-as-written"],
)
def test_output_escapes_what_json_leaves_raw(
    argv: list[str],
    expected: str | None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """JSON escapes C0 controls only: U+009B, bidi controls and DEL went to the terminal raw.
    They are \\u escapes now, which mean the same: the JSON loads to the same value, the
    canonical text compiles to the same filter."""
    code, out, _ = run(argv, capsys, monkeypatch)
    assert code == Exit.OK
    assert not UNSAFE.search(out.rstrip("\n")), out
    if expected is not None:
        assert out == expected
        code, again, _ = run(["compile", out.strip()], capsys, monkeypatch)
        assert json.loads(again) == {"request_response_rmt": {"model": {"equals": SNEAKY}}}
    else:
        assert SNEAKY in json.dumps(json.loads(out), ensure_ascii=False)


def test_explain_shows_the_source_safely(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["explain", f'model = "{SNEAKY}"'], capsys, monkeypatch)
    assert code == Exit.OK
    assert out == 'model = "a\\u009b31m\\u202e\\u007fb"  ← model = "a\ufffd31m\ufffd\u2421b"\n'


def test_a_json_key_with_controls_is_shown_as_pictures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_json = '{"users_view": {"\\u001b[2J\\u009b": {"gt": 1}}}'
    code, out, _ = run(["check", key_json], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER
    assert out.startswith('$.users_view["␛[2J\ufffd"]: users_view has no column ')
    assert not UNSAFE.search(out.replace("\n", ""))


# -- JSON the parser accepts: no traceback ----------------------------------------------------

LONE = '{"users_view": {"\\ud800": {"gt": 1}}}'  # a lone surrogate in a key
LONE_VALUE = '{"request_response_rmt": {"model": {"equals": "a\\udc80"}}}'


@pytest.mark.parametrize(
    ("argv", "stdin", "stream"),
    [
        (["check"], LONE, "out"),
        (["check", "--error-format", "json"], LONE, "out"),
        (["check", "--lines"], LONE + "\n", "out"),
        (["fmt", "--lines"], LONE + "\n", "out"),
        (["fmt"], LONE, "err"),
        (["fmt", "--error-format", "json"], LONE, "err"),
        (["check", "--lines"], LONE_VALUE + "\n", "out"),
        (["sql", "--error-format", "json"], LONE_VALUE, "err"),
    ],
    ids=[
        "check",
        "check-json",
        "check-lines",
        "fmt-lines",
        "fmt",
        "fmt-json",
        "check-lines-value",
        "sql-json",
    ],
)
def test_a_lone_surrogate_in_json_is_reported_not_a_crash(
    argv: list[str],
    stdin: str,
    stream: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`{"users_view": {"\\ud800": ...}}`: the checker reports it (its path holds the lone
    surrogate), and printing the report failed with UnicodeEncodeError. JSON reports carry it
    as a \\ud800 escape, text shows U+FFFD."""
    code, out, err = run(argv, capsys, monkeypatch, stdin=stdin)
    assert code == Exit.BAD_FILTER
    shown = out if stream == "out" else err
    assert "Traceback" not in err and shown
    shown.encode("utf-8")  # printable
    if "json" in argv or "--lines" in argv:
        for line in shown.splitlines():
            json.loads(line)
        if stdin.startswith(LONE):  # the key is in the path
            assert "\\ud800" in shown
    else:
        assert "\ufffd" in shown


def test_a_lone_surrogate_in_json_through_a_real_process() -> None:
    done = _cli(["check", "--error-format", "json"], LONE.encode(), stdout=subprocess.PIPE)
    assert (done.returncode, done.stderr) == (Exit.BAD_FILTER, b"")
    (problem,) = json.loads(done.stdout)
    assert (problem["code"], problem["path"]) == ("unknown-field", '$.users_view["\ud800"]')


HUGE = '{"users_view": {"user_cost": {"gt": ' + "1" * 5_000 + "}}}"


@pytest.mark.parametrize(
    ("argv", "lines"),
    [
        (["fmt"], False),
        (["check"], False),
        (["query"], False),
        (["sql"], False),
        (["fmt", "--lines"], True),
        (["check", "--lines"], True),
    ],
    ids=["fmt", "check", "query", "sql", "fmt-lines", "check-lines"],
)
def test_an_integer_of_5000_digits_is_an_error_with_its_caret(
    argv: list[str],
    lines: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More digits than Python reads (4,300): a traceback, then "the input is a number of ...
    is too long to read"; now the problem itself, its caret under the number (the line cut
    to a window around it) and its hint, or its JSON under --lines."""
    code, out, err = run(argv, capsys, monkeypatch, stdin=HUGE + "\n")
    assert code == Exit.BAD_FILTER
    message = "a number of 5,000 digits is too long to read"
    if lines:
        (row,) = [json.loads(line) for line in out.splitlines()]
        (problem,) = row["error"]["problems"]
        assert (problem["code"], problem["message"], problem["start"]) == (
            "number-too-long",
            message,
            36,
        )
        return
    assert out == ""
    first, shown, caret, hint = err.splitlines()
    assert first == f"helicone-filter: error: line 1, column 37: {message}"
    assert shown == '  {"users_view": {"user_cost": {"gt": ' + "1" * 64 + "…"
    assert caret == "  " + " " * 36 + "^"
    assert hint.startswith("  hint: Helicone reads numbers as doubles")


# -- numbers in options -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compile", "--lines", "--jobs", "0"], "--jobs: '0' is not a number of worker"),
        (
            ["compile", "--lines", "--jobs", "99999999999999999999"],
            "--jobs: '99999999999999999999' is not a number of worker processes: give 1 to 1024",
        ),
        (["check", "--lines", "--jobs", "-3"], "give 1 to 1024"),
        (["fmt", "--lines", "--jobs", "two"], "--jobs: 'two' is not a number"),
        (["serve", "--max-body-bytes", "-1"], "'-1' is not a number of bytes: give 1 to 67108864"),
        (["serve", "--max-body-bytes", "0"], "give 1 to 67108864"),
        (["serve", "--max-body-bytes", "1e9"], "'1e9' is not a number of bytes"),
        (["serve", "--port", "65536"], "'65536' is not a port: give 0 to 65535"),
        (["serve", "--port", "-1"], "give 0 to 65535"),
        (["query", "--timeout", "-1", "all"], "'-1' is not a timeout: give seconds above 0"),
        (["query", "--timeout", "inf", "all"], "at most 86400 (a day)"),
        (["query", "--timeout", "nan", "all"], "'nan' is not a timeout"),
        (["query", "--timeout", "1e400", "all"], "'1e400' is not a timeout"),
        (["query", "--tz-offset", "1441", "all"], "give -1440 to 1440"),
        (["query", "--tz-offset", "-1441", "all"], "give -1440 to 1440"),
        (["query", "--offset", "-1", "all"], "'-1' is not a number of users to skip"),
        (["query", "--limit", "0", "all"], "'0' is not a number of users per page: give 1 or"),
        (["query", "--limit", "9" * 5_000, "all"], "'999999999999999999999999…' is not a number"),
    ],
)
def test_every_numeric_option_has_a_range(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--jobs 99999999999999999999` started processes until the memory ran out, `serve
    --max-body-bytes -1` was taken: each number is checked as the arguments are read, a usage
    error naming what is allowed (and never repeating 5,000 digits)."""
    import helicone_filter.cli.lines as bulk
    import helicone_filter.service.running as server

    def started(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("it ran")

    monkeypatch.setattr(server, "serve", started)  # instead of serving for ever
    monkeypatch.setattr(bulk, "run_lines", started)
    code, out, err = run(argv, capsys, monkeypatch, stdin="cached\n")
    assert (code, out) == (Exit.USAGE, "")
    assert message in err
    assert err.count("\n") < 15


def test_jobs_beyond_the_processors_are_cut_down_with_a_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import helicone_filter.cli.lines as bulk
    from helicone_filter.cli.arguments import MAX_JOBS

    asked: list[int] = []
    real = bulk.run_lines

    def spy(work: Any, arg: str, jobs: int, *rest: Any, **options: Any) -> bool:
        asked.append(jobs)
        return real(work, arg, jobs, *rest, **options)

    monkeypatch.setattr(bulk, "run_lines", spy)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    code, out, err = run(
        ["compile", "--lines", "--jobs", str(MAX_JOBS)], capsys, monkeypatch, "cached\n"
    )
    assert (code, json.loads(out), asked) == (Exit.OK, CACHED, [8])
    assert err == (
        "helicone-filter: warning: --jobs 1024 is more than 4 worker processes per processor "
        "(2 here): 8 are started\n"
    )
    code, _, err = run(["compile", "--lines", "--jobs", "8"], capsys, monkeypatch, "cached\n")
    assert (code, err, asked[-1]) == (Exit.OK, "", 8)


# -- worker processes: they die with the parent, and SIGTERM ends them quietly ---------------

needs_proc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"), reason="no /proc"
)


def _state(pid: int) -> str | None:
    """A process's state letter (Z for a zombie), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[1] == str(pid) and fields[0] != "Z":
                found.append(int(entry))
    return found


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if _state(pid) not in (None, "Z")]


class _Bulk:
    """`compile --lines --jobs N` on a pipe that stays open: `start` sends enough lines for the
    workers and waits for their results, so that the workers are there, idle."""

    def __init__(self, jobs: int = 2) -> None:
        self.jobs = jobs
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "helicone_filter", "compile", "--lines", "--jobs", str(jobs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.workers: list[int] = []
        self.read = 0

    def send(self, first: int, count: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(
            b"".join(b"user_cost > %d\n" % i for i in range(first, first + count))
        )
        self.proc.stdin.flush()

    def receive(self, count: int) -> list[bytes]:
        assert self.proc.stdout is not None
        rows = [self.proc.stdout.readline() for _ in range(count)]
        self.read += count
        return rows

    def start(self) -> None:
        self.send(0, 2 * PARALLEL_BATCH)
        self.receive(2 * PARALLEL_BATCH)
        self.workers = _children(self.proc.pid)
        assert len(self.workers) == self.jobs, self.workers

    def keep_busy(self) -> None:
        """Lines sent without a pause from now on (in a thread), the workers at them."""

        def feed() -> None:
            with contextlib.suppress(OSError, ValueError):  # until the process is gone
                for first in range(0, 60_000, 2_000):
                    self.send(first, 2_000)

        threading.Thread(target=feed, daemon=True).start()
        self.receive(1)

    def __enter__(self) -> _Bulk:
        return self

    def __exit__(self, *exc: object) -> None:
        for pid in [self.proc.pid, *_alive(self.workers)]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self.proc.communicate(timeout=30)


def _gone(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _alive(pids)


@needs_proc
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
def test_workers_die_with_a_parent_killed_with_sigkill(busy: bool) -> None:
    """The parent of `--lines` killed (SIGKILL, the OOM killer): its busy workers went on
    without a parent to the end of their lines, then each wrote a traceback (BrokenPipeError)
    to the terminal. They die with it now, without a word."""
    with _Bulk() as bulk:
        bulk.start()
        if busy:
            bulk.keep_busy()
        bulk.proc.kill()
        _, err = bulk.proc.communicate(timeout=30)  # to the end: the workers' stderr too
        assert err == b""
        assert _gone(bulk.workers, 5) == []


def _waiting_to_read(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return "read" in f.read()
    except OSError:
        return False


@needs_proc
def test_no_worker_is_left_when_one_dies_and_then_the_parent() -> None:
    """A worker killed as it waits for lines (the OOM killer), then the parent: the workers
    of a pool that shared one lock to read their lines waited for that lock for ever, without
    a parent (so `--jobs 99999999999999999999` left thousands behind). Each worker has a pipe
    of its own now, and dies with the parent."""
    with _Bulk(jobs=3) as bulk:
        bulk.start()
        deadline = time.monotonic() + 10
        while not any(map(_waiting_to_read, bulk.workers)) and time.monotonic() < deadline:
            time.sleep(0.01)
        reading = next(pid for pid in bulk.workers if _waiting_to_read(pid))
        os.kill(reading, signal.SIGKILL)
        bulk.proc.kill()
        assert _gone(bulk.workers, 5) == []


@needs_proc
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
def test_sigterm_ends_lines_quietly_with_143(busy: bool) -> None:
    """SIGTERM to the parent of `--lines`: it died at once and left its workers behind. Now
    it ends them, says nothing and exits 128 + 15, idle or in the middle of the work."""
    with _Bulk() as bulk:
        bulk.start()
        if busy:
            bulk.keep_busy()
        bulk.proc.send_signal(signal.SIGTERM)
        _, err = bulk.proc.communicate(timeout=30)
        assert (bulk.proc.returncode, err) == (Exit.TERMINATED, b"")
        assert Exit.TERMINATED == 128 + signal.SIGTERM
        assert _gone(bulk.workers) == []


@needs_proc
def test_a_worker_killed_has_its_batch_done_by_the_parent() -> None:
    """A worker killed (alone, by the OOM killer say): the lines it had are done by the
    parent, the output whole and in order."""
    with _Bulk() as bulk:
        bulk.start()
        os.kill(bulk.workers[0], signal.SIGKILL)
        assert _gone(bulk.workers[:1]) == []
        bulk.send(2 * PARALLEL_BATCH, 4 * PARALLEL_BATCH)
        out, err = bulk.proc.communicate(timeout=30)
        rows = [json.loads(row) for row in out.splitlines()]
        assert (bulk.proc.returncode, err) == (Exit.OK, b"")
        assert [r["users_view"]["user_cost"]["gt"] for r in rows] == list(
            range(2 * PARALLEL_BATCH, 6 * PARALLEL_BATCH)
        )
        assert _gone(bulk.workers) == []


# -- an output that cannot encode every character --------------------------------------------

NON_ASCII = 'model contains "café_☕" and cost > 1'  # a warning too: _ is a wildcard
NON_ASCII_JSON = {
    "left": {"request_response_rmt": {"model": {"contains": "café_☕"}}},
    "operator": "and",
    "right": {"request_response_rmt": {"cost": {"gt": 1}}},
}
ASCII_RUNS: dict[str, tuple[list[str], bytes]] = {
    "compile": (["compile", "--compact", NON_ASCII], b""),
    "fmt": (["fmt", NON_ASCII], b""),
    "explain": (["explain", NON_ASCII], b""),
    "check": (["check", NON_ASCII + " and modle = 'é'"], b""),
    "check-json": (["check", "--error-format", "json", NON_ASCII], b""),
    "sql": (["sql", "--compact", NON_ASCII], b""),
    "query": (["query", "--compact", NON_ASCII], b""),
    "fields": (["fields"], b""),
    "compile-lines": (
        ["compile", "--lines", "--jobs", "2"],
        (NON_ASCII + "\n").encode() * (2 * PARALLEL_BATCH),
    ),
    "fmt-lines": (["fmt", "--lines"], (NON_ASCII + "\n").encode()),
    "check-lines": (["check", "--lines"], (NON_ASCII + "\n").encode()),
    "repl": (["repl"], (NON_ASCII + "\n:explain\n:sql\n:body\n").encode()),
}


def test_an_ascii_output_gets_escapes_not_a_crash() -> None:
    """PYTHONIOENCODING=ascii: explain, fmt, --lines and the rest failed with
    UnicodeEncodeError (the repl's pipe mode with UnicodeDecodeError, reading its input in the
    locale's encoding). Each writes ASCII now: JSON with \\u escapes (the same JSON), canonical
    text with the language's \\u escapes (the same filter), messages with backslash escapes;
    explain's tree in ASCII."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "helicone_filter", *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for name, (argv, _) in ASCII_RUNS.items()
    }
    done = {name: proc.communicate(ASCII_RUNS[name][1], timeout=60) for name, proc in procs.items()}
    for name, (out, err) in done.items():
        expected = Exit.BAD_FILTER if name == "check" else Exit.OK
        assert procs[name].returncode == expected, (name, err)
        assert b"Error" not in err and b"Traceback" not in err, (name, err)
        out.decode("ascii"), err.decode("ascii")
        assert out, name
    text = {name: out.decode("ascii") for name, (out, _) in done.items()}
    for name in ("compile", "query", "sql", "check-json"):
        json.loads(text[name])
    assert json.loads(text["compile"]) == NON_ASCII_JSON
    rows = [json.loads(line) for line in text["compile-lines"].splitlines()]
    assert rows == [NON_ASCII_JSON] * (2 * PARALLEL_BATCH)
    assert text["fmt"] == 'model contains "caf\\u00e9_\\u2615" and cost > 1\n'
    assert json.loads(text["fmt-lines"]) == 'model contains "café_☕" and cost > 1'
    assert json.loads(text["check-lines"])["problems"][0]["code"] == "contains-wildcard"
    assert text["explain"].splitlines()[1] == (
        '|- model contains "caf\\u00e9_\\u2615"  <- model contains "caf\\xe9_\\u2615"'
    )
    assert "caf\\xe9" in done["compile"][1].decode()  # the warning's line, escaped
    assert '"contains": "caf\\u00e9_\\u2615"' in text["repl"]
    assert "`- cost > 1" in text["repl"]
    assert "FIELD" in text["fields"]


def test_an_option_the_service_refuses_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service checks its own options before it listens (a CORS origin that is no
    origin), raising a ValueError: that was a traceback from `serve`."""
    import helicone_filter.service.running as server

    def refuses(*args: Any, **kwargs: Any) -> None:
        raise ValueError("a CORS origin is scheme://host[:port]; not 'x\x1b[2J'")

    monkeypatch.setattr(server, "serve", refuses)
    code, out, err = run(["serve", "--cors-origin", "x\x1b[2J"], capsys, monkeypatch)
    assert (code, out) == (Exit.USAGE, "")
    assert err == (
        "helicone-filter serve: error: a CORS origin is scheme://host[:port]; not 'x␛[2J'\n"
    )


def test_the_collector_is_paused_for_one_filter_and_on_again_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its passes over a heap that grows with the input made a million-character filter's
    # command grow faster than the filter; nothing a command reads makes cycles to collect.
    import gc

    from helicone_filter.cli import commands as cli

    seen: list[bool] = []
    command = cli.BY_NAME["compile"]
    monkeypatch.setitem(
        cli.BY_NAME,
        "compile",
        command.replace(run=lambda *a: seen.append(gc.isenabled()) or command.run(*a)),
    )
    assert gc.isenabled()
    assert main(["compile", "cached"]) == Exit.OK
    assert main(["compile", "modle = 1"]) == Exit.BAD_FILTER
    assert seen == [False, False]
    assert gc.isenabled()
    gc.disable()  # a host that keeps it off: it stays off
    try:
        main(["compile", "cached"])
        assert not gc.isenabled()
    finally:
        gc.enable()
