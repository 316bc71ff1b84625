"""What reaches the terminal and the standard streams: error formats and colour, pretty output
on a terminal, control characters shown as pictures and the caret under its character,
escapes for what JSON leaves raw, an ASCII output, bytes that are not UTF-8; standard output
or input closed, a full disk, a reader that goes away, Ctrl-C."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest
from command_line import (
    CACHED,
    console_script,
    run,
    run_process,
)

from helicone_filter.cli import main
from helicone_filter.cli.exits import Exit
from helicone_filter.cli.lines import PARALLEL_BATCH

# -- errors for tools and for people ----------------------------------------------------------


def test_error_format_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(["--error-format", "json", "modle = 1"], capsys, monkeypatch)
    assert (code, out) == (1, "")
    error = json.loads(err)["error"]
    assert error["message"] == "unknown field 'modle'"
    assert error["problems"][0]["hint"] == "did you mean 'model'?"

    code, _, err = run(["check", "--error-format=json", "{nope"], capsys, monkeypatch)
    assert code == 1
    assert json.loads(err)["error"]["message"].startswith("the input is not valid JSON")

    code, _, err = run(
        ["compile", "--error-format", "json", "--nesting", "up", "x"], capsys, monkeypatch
    )
    assert code == 2
    assert "invalid choice" in json.loads(err)["error"]["message"]


def test_colour(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    _, _, plain = run(["modle = 1"], capsys, monkeypatch)
    assert "\x1b[" not in plain  # stderr is not a terminal here
    _, _, coloured = run(["--color", "always", "modle = 1"], capsys, monkeypatch)
    assert "\x1b[1;31m^^^^^\x1b[0m" in coloured and "\x1b[36mhint:\x1b[0m" in coloured
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    _, _, on_terminal = run(["modle = 1"], capsys, monkeypatch)
    assert "\x1b[" in on_terminal
    monkeypatch.setenv("NO_COLOR", "1")
    _, _, no_color = run(["modle = 1"], capsys, monkeypatch)
    assert "\x1b[" not in no_color


@pytest.mark.parametrize(
    ("environment", "terminal", "flag", "coloured"),
    [
        ({"FORCE_COLOR": "1"}, False, None, True),  # a pipe, forced
        ({"FORCE_COLOR": "0"}, False, None, True),  # any value but empty forces
        ({"FORCE_COLOR": ""}, False, None, False),  # empty: as if not set
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, True, None, True),
        ({"TERM": "dumb"}, True, None, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, None, False),  # NO_COLOR wins
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, "always", True),  # the flag wins
        ({"FORCE_COLOR": "1"}, False, "never", False),
    ],
)
def test_force_color_and_no_color(
    environment: dict[str, str],
    terminal: bool,
    flag: str | None,
    coloured: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FORCE_COLOR was ignored: now it colours a pipe (force-color.org), NO_COLOR keeps its
    precedence over it (no-color.org), and --color over both."""
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    argv = ["modle = 1"] if flag is None else ["--color", flag, "modle = 1"]
    _, _, err = run(argv, capsys, monkeypatch)
    assert ("\x1b[" in err) is coloured
    _, out, _ = run(["check", *argv], capsys, monkeypatch)
    assert ("\x1b[" in out) is coloured


def test_pretty_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    _, out, _ = run(["cached"], capsys, monkeypatch)
    assert out.startswith('{\n  "request_response_rmt"')
    _, out, _ = run(["compile", "--compact", "cached"], capsys, monkeypatch)
    assert out.count("\n") == 1


def test_bytes_that_are_not_utf8() -> None:
    done = subprocess.run(
        [console_script()], input=b"model = '\xff'", capture_output=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr == b"helicone-filter: error: the input is not UTF-8: byte 9 is 0xff\n"
    # From argv, Python hands undecodable bytes over as lone surrogates.
    done = subprocess.run([console_script(), b"model = '\xff'"], capture_output=True, check=False)
    assert done.returncode == 1
    assert b"lone surrogate" in done.stderr and b"Traceback" not in done.stderr


# -- nothing from a filter reaches the terminal as a control sequence ------------------------

# What must reach no terminal: C0 and C1 controls, DEL, bidi controls, lone surrogates.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# A window's title set (OSC ... BEL) and the screen cleared, inside a string.
PWNED = 'modle = "\x1b]0;PWNED\x07\x1b[2J"'
PWNED_SHOWN = '  modle = "␛]0;PWNED␇␛[2J"\n           ^\n'


@pytest.mark.hostile
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


@pytest.mark.hostile
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


@pytest.mark.hostile
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


@pytest.mark.hostile
def test_explain_shows_the_source_safely(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["explain", f'model = "{SNEAKY}"'], capsys, monkeypatch)
    assert code == Exit.OK
    assert out == 'model = "a\\u009b31m\\u202e\\u007fb"  ← model = "a\ufffd31m\ufffd\u2421b"\n'


@pytest.mark.hostile
def test_a_json_key_with_controls_is_shown_as_pictures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_json = '{"users_view": {"\\u001b[2J\\u009b": {"gt": 1}}}'
    code, out, _ = run(["check", key_json], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER
    assert out.startswith('error: $.users_view["␛[2J\ufffd"]: users_view has no column ')
    assert not UNSAFE.search(out.replace("\n", ""))


# -- JSON the parser accepts: no traceback ----------------------------------------------------

LONE = '{"users_view": {"\\ud800": {"gt": 1}}}'  # a lone surrogate in a key
LONE_VALUE = '{"request_response_rmt": {"model": {"equals": "a\\udc80"}}}'


@pytest.mark.hostile
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


@pytest.mark.hostile
def test_a_lone_surrogate_in_json_through_a_real_process() -> None:
    done = run_process(["check", "--error-format", "json"], LONE.encode(), stdout=subprocess.PIPE)
    assert (done.returncode, done.stderr) == (Exit.BAD_FILTER, b"")
    (problem,) = json.loads(done.stdout)
    assert (problem["code"], problem["path"]) == ("unknown-field", '$.users_view["\ud800"]')


HUGE = '{"users_view": {"user_cost": {"gt": ' + "1" * 5_000 + "}}}"


@pytest.mark.hostile
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


@pytest.mark.hostile
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


CLOSED = (
    "helicone-filter: error: cannot write the output: standard output is closed; "
    "send it to a file or a pipe\n"
)
FULL = (
    f"helicone-filter: error: cannot write the output: {os.strerror(errno.ENOSPC)}; "
    "the output is incomplete\n"
)
needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")


# -- a standard output that is closed ---------------------------------------------------------


@pytest.mark.hostile
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
    done = run_process(argv, stdin, redirect=">&-")
    assert (done.returncode, done.stderr.decode()) == (Exit.OUTPUT_FAILED, CLOSED)
    assert Exit.OUTPUT_FAILED == 74


@pytest.mark.hostile
def test_a_closed_stdout_reported_as_json() -> None:
    done = run_process(["compile", "--error-format", "json", "cached"], redirect=">&-")
    assert done.returncode == Exit.OUTPUT_FAILED
    assert json.loads(done.stderr) == {
        "error": {
            "message": CLOSED.removeprefix("helicone-filter: error: ").strip(),
            "problems": [],
        }
    }


@pytest.mark.hostile
def test_a_closed_stdout_does_not_hide_a_bad_filter() -> None:
    """Nothing is written to stdout for a bad filter, so its error is the one to see."""
    done = run_process(["compile", "modle = 1"], redirect=">&-")
    assert done.returncode == Exit.BAD_FILTER
    assert done.stderr.decode().startswith("helicone-filter: error: line 1, column 1: unknown")


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("argv", "code"),
    [(["compile"], Exit.BAD_FILTER), (["check", "--lines"], Exit.BAD_FILTER), ([], Exit.USAGE)],
    ids=["compile", "check-lines", "nothing"],
)
def test_a_closed_stdin_is_one_line_on_stderr(argv: list[str], code: int) -> None:
    """`helicone-filter compile <&-`: Python makes sys.stdin None; it was a traceback."""
    done = run_process(argv, redirect="<&-")
    assert done.returncode == code
    err = done.stderr.decode()
    assert "Traceback" not in err
    if code == Exit.BAD_FILTER:
        assert err == (
            "helicone-filter: error: standard input is closed: give the filter as an "
            "argument, or send it on stdin\n"
        )


# -- a full disk ------------------------------------------------------------------------------


@pytest.mark.hostile
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
        done = run_process(argv, stdin, stdout=full)
    assert (done.returncode, done.stderr.decode()) == (Exit.OUTPUT_FAILED, FULL)


@pytest.mark.hostile
@needs_dev_full
def test_a_full_disk_reported_as_json() -> None:
    with open("/dev/full", "wb") as full:
        done = run_process(["sql", "--error-format=json", "cached"], stdout=full)
    assert done.returncode == Exit.OUTPUT_FAILED
    assert json.loads(done.stderr)["error"]["message"] == (
        FULL.removeprefix("helicone-filter: error: ").strip()
    )


@pytest.mark.hostile
@needs_dev_full
def test_a_full_disk_under_worker_processes(tmp_path: Path) -> None:
    """`--lines --jobs 2` on an input in batches large enough for the worker pool: the
    failure ends the workers and the run, with the same one line."""
    lines = 20_000
    source = tmp_path / "filters.txt"
    source.write_text("".join(f"user_cost > {i}\n" for i in range(lines)))
    assert lines > 8 * PARALLEL_BATCH  # several batches, each large enough for the pool
    with open("/dev/full", "wb") as full, source.open("rb") as stdin:
        done = run_process(["compile", "--lines", "--jobs", "2"], stdin, stdout=full)
    assert (done.returncode, done.stderr.decode()) == (Exit.OUTPUT_FAILED, FULL)


# -- the same in this process: main() with an output that fails ------------------------------


class _FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.hostile
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


@pytest.mark.hostile
def test_main_still_writes_a_working_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sys.stdout
    code, out, err = run(["compile", "cached"], capsys, monkeypatch)
    assert (code, json.loads(out), err) == (0, CACHED, "")
    assert sys.stdout is before


# -- the installed script, as a shell runs it -------------------------------------------------


def test_a_reader_that_goes_away_ends_it_quietly() -> None:
    """`helicone-filter compile --lines < many | head -1`: no traceback, SIGPIPE's exit code."""
    lines = "".join(f"user_cost > {i}\n" for i in range(200_000)).encode()
    proc = subprocess.Popen(
        [console_script(), "compile", "--lines"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(b"cached\n")
    proc.stdin.flush()
    proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does after its line
    try:
        proc.stdin.write(lines)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    assert proc.wait(timeout=60) == Exit.BROKEN_PIPE == 141
    assert proc.stderr.read() == b""


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and a child inherits that; give
    # the child the default, as a terminal's foreground job has.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_ends_it_quietly_with_130() -> None:
    proc = subprocess.Popen(
        [console_script(), "compile", "--lines"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_default_sigint,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(b"cached\n")
    proc.stdin.flush()
    proc.stdout.readline()  # it is up and waiting for the next line
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == Exit.INTERRUPTED == 130
    assert proc.stderr.read() == b""
    proc.stdin.close()


# -- one labelling scheme, and the caret under its character on a narrow terminal -------------

LABELLED = re.compile(r"(helicone-filter: )?(error|warning|hint): |usage: |  ")


@pytest.mark.parametrize(
    "argv",
    [
        ["compile", "modle = 1"],
        ["compile", "model contains 'gpt_4'"],
        ["check", "modle = 1 and model contains 'gpt_4'"],
        ["fmt", "cost > "],
        ["sql", "--table-map", "nope", "cached"],
        ["query", "-e", "requests", "--send", "cached"],
        ["query", "--json", "cached"],
        ["compile", "--nesting", "up", "cached"],
        ["explain", "modle = 1"],
    ],
)
def test_every_message_is_labelled_the_same_way(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check` printed errors without the `error:` its warnings had, and usage errors said
    `helicone-filter query:`: now every message on stderr starts `helicone-filter: error:` or
    `helicone-filter: warning:` (or is argparse's usage line), its other lines indented, and
    `check`'s report on stdout has the same labels without the program's name."""
    monkeypatch.setenv("HELICONE_API_KEY", "sk-test")
    _, out, err = run(argv, capsys, monkeypatch)
    said = err if argv[0] != "check" else out
    assert said.strip()
    for block in said.strip().split("\n\n"):
        first, *rest = block.splitlines()
        assert LABELLED.match(first), first
        if argv[0] == "check":
            assert first.startswith(("error: ", "warning: "))
        elif not first.startswith("usage: "):
            assert first.startswith(("helicone-filter: error: ", "helicone-filter: warning: "))
        for line in rest:
            assert line.startswith(("  ", "helicone-filter: error: ", "helicone-filter: hint: "))


def caret_under(lines: list[str], width: int) -> str:
    """The text above the carets: the line shown and the caret line of one problem, neither
    wider than `width` columns; what the carets stand under, by the columns each character
    takes."""
    from helicone_filter.errors import display_width

    shown, carets = lines
    assert display_width(shown) < width and display_width(carets) < width
    start = len(carets) - len(carets.lstrip(" "))
    column, under = 0, ""
    for c in shown:
        if start <= column < len(carets):
            under += c
        column += display_width(c)
    return under


WIDE = 'model = "' + "中文🙂" * 30 + '" and modle = 1'


@pytest.mark.parametrize("command", ["compile", "check"])
@pytest.mark.parametrize("width", [40, 80])
def test_a_long_line_is_cut_to_the_terminal_with_the_caret_under_its_character(
    command: str, width: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line wider than the terminal was wrapped by it, and the caret stood under another
    character (CJK and emoji take two columns): now a window of the line that fits, `…` on
    the cut side, the caret under `modle`."""
    monkeypatch.setenv("COLUMNS", str(width))
    for stream in (sys.stdout, sys.stderr):
        monkeypatch.setattr(stream, "isatty", lambda: True)
    code, out, err = run([command, "--color", "never", WIDE], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER
    block = (out if command == "check" else err).split("\n\n")[0].splitlines()
    assert block[0].endswith("unknown field 'modle'")
    assert block[1].startswith("  …") and block[1].endswith("modle = 1")
    assert caret_under(block[1:3], width) == "modle"


def test_the_repl_cuts_a_long_line_to_its_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The REPL draws its carets with the same renderer, to the width of its terminal."""
    from helicone_filter.cli.repl import Runner

    out = io.StringIO()
    monkeypatch.setattr(out, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("COLUMNS", "50")
    Runner(out).enter(WIDE)
    block = out.getvalue().split("\n\n")[0].splitlines()
    assert block[0] == "error: line 1, column 106: unknown field 'modle'"
    assert block[1].startswith("  …") and caret_under(block[1:3], 50) == "modle"


def test_a_problem_at_the_end_of_a_long_line_keeps_its_caret_on_the_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "30")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    _, _, err = run(["--color", "never", "cost > 1 and " * 10 + "cost >"], capsys, monkeypatch)
    shown, carets = err.splitlines()[1:3]
    assert shown.startswith("  …") and shown.endswith("cost >")
    assert len(carets) == len(shown) + 1 < 30 and carets.endswith(" ^")


PYTHON_SPELLING = re.compile(r'=True|base_url=|timeout=|api_key\)|endpoint="')


@pytest.mark.parametrize(
    "argv",
    [
        ["compile", 'session_tag = "beta"'],
        ["check", 'session_tag = "beta"'],
        ["compile", "-e", "requests", "user_cost > 5"],
        ["check", "-e", "requests", '{"users_view": {"user_cost": {"gt": 5}}}'],
        ["query", "all", "--send", "--base-url", "http://127.0.0.1:9", "--timeout", "5"],
        ["query", "all", "--send", "--base-url", "http://127.0.0.1:9", "--error-format", "json"],
    ],
)
def test_hints_name_the_command_lines_options(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hints said `(endpoint="requests", --endpoint requests)` and `(--eu, eu=True)`: on the
    command line they name its options only."""
    monkeypatch.setenv("HELICONE_API_KEY", "sk-test")
    _, out, err = run(argv, capsys, monkeypatch)
    assert "hint" in out + err
    assert PYTHON_SPELLING.search(out + err) is None, out + err
    assert "--endpoint" in out + err or "--base-url" in out + err
