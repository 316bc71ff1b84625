"""`helicone-filter repl`: keystrokes through prompt_toolkit's pipe input, what is printed, the
completer, the lexer and the history; and once in a real terminal (tmux)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import NOW

pytest.importorskip("prompt_toolkit")

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.data_structures import Size
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.output.vt100 import Vt100_Output

from helicone_filter.cli import repl

UP, ALT_ENTER, CTRL_C, CTRL_D, TAB = "\x1b[A", "\x1b\r", "\x03", "\x04", "\t"
COST_1 = '{\n  "request_response_rmt": {\n    "cost": {\n      "gt": 1\n    }\n  }\n}'


def session(keys: str, **options: object) -> tuple[int, str]:
    """Run the repl on `keys`, all typed at once; its exit code and what it printed."""
    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        code = repl.run(input=pipe, output=DummyOutput(), stdout=out, now=NOW, **options)  # type: ignore[arg-type]
    return code, out.getvalue()


def until(found: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.01)


class Driver:
    """The repl in a thread, keys sent one step at a time, waiting for what it shows: for what
    happens after a prompt is drawn (the history is loaded then, completions come a moment
    after a key)."""

    def __init__(self, **options: object) -> None:
        self.out = io.StringIO()
        self.screen = io.StringIO()  # what prompt_toolkit draws, escape codes and all
        self.pipe_context = create_pipe_input()
        self.pipe = self.pipe_context.__enter__()
        output = Vt100_Output(
            self.screen,  # type: ignore[arg-type]
            lambda: Size(rows=24, columns=100),
            term="xterm",
            enable_cpr=False,
        )
        self.code: int | None = None

        def work() -> None:
            self.code = repl.run(
                input=self.pipe, output=output, stdout=self.out, now=NOW, **options
            )  # type: ignore[arg-type]

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()
        self.prompts(1)

    def prompts(self, n: int) -> None:
        """Wait until the prompt has been drawn n times (the drawing of a prompt writes it
        once; redrawing while typing moves the cursor and leaves it)."""
        until(lambda: self.screen.getvalue().count("filter> ") >= n, f"prompt {n}")

    def send(self, keys: str) -> None:
        self.pipe.send_text(keys)

    def printed(self, text: str) -> None:
        until(lambda: text in self.out.getvalue(), repr(text))

    def drawn(self, pattern: str) -> None:
        until(lambda: re.search(pattern, self.screen.getvalue()) is not None, repr(pattern))

    def close(self, keys: str = CTRL_D) -> int | None:
        self.send(keys)
        self.thread.join(5)
        self.pipe_context.__exit__(None, None, None)
        assert not self.thread.is_alive()
        return self.code


# -- Enter, commands, lines --------------------------------------------------------------------


def test_a_filter_prints_its_json() -> None:
    code, out = session("cost > 1\r:quit\r")
    assert code == 0
    assert COST_1 in out


def test_every_problem_is_shown_and_the_loop_goes_on() -> None:
    code, out = session('modle = "x" and cost > "1"\rcost > 1\r' + CTRL_D)
    assert code == 0
    assert "line 1, column 1: unknown field 'modle'" in out
    assert "hint: did you mean 'model'?" in out
    assert "line 1, column 24: cost takes a number, not a string" in out
    assert "2 errors: not compiled" in out
    assert out.index("2 errors") < out.index(COST_1)  # and then the next filter ran


def test_warnings_come_with_the_json() -> None:
    _, out = session('model contains "gpt_4"\r:q\r')
    assert "warning:" in out
    assert '"contains": "gpt_4"' in out


def test_sql_of_the_current_filter_or_of_one_given() -> None:
    _, out = session('model ilike "gpt%"\r:sql\r:sql status = 200\r:q\r')
    assert '`model` ILIKE {p0:String}\nparams: {"p0": "gpt%"}' in out
    assert '`status` = {p0:Int64}\nparams: {"p0": 200}' in out


def test_body_explain_and_a_filter_given_becomes_current() -> None:
    _, out = session(":body cached\r:explain\r:q\r")
    assert '"filter": {\n    "request_response_rmt": {\n      "cached"' in out
    assert '"limit": 100' in out
    assert "cached = true  ← cached" in out


def test_explain_prints_as_the_command_line_does(capsys: pytest.CaptureFixture[str]) -> None:
    from helicone_filter.cli import main

    text = 'not (cost > 1 or cached) and model in ["a", "b"]'
    assert main(["explain", text]) == 0
    expected = capsys.readouterr().out
    _, out = session(f":explain {text}\r:q\r")
    assert expected in out and "├─" in expected


def test_fields_and_help() -> None:
    _, out = session(":fields\r:help\r:fields cost\r:q\r")
    assert re.search(r"^user_cost +users_view +number", out, re.M)
    assert "what Helicone does with some of them:" in out
    for name in repl.COMMANDS:
        assert f":{name}" in out
    assert "Alt-Enter" in out
    assert ":fields takes no filter" in out


def test_commands_without_a_filter_or_unknown() -> None:
    _, out = session(":sql\r:frobnicate\r:q\r")
    assert "no filter yet" in out
    assert "unknown command ':frobnicate'" in out


def test_an_unfinished_filter_goes_on_on_the_next_line() -> None:
    _, out = session("(cost > 1 and\rcached)\r:q\r")
    assert '"operator": "and"' in out and '"cached": {\n' in out
    assert "error" not in out


def test_alt_enter_always_starts_a_new_line() -> None:
    _, out = session(f"cost > 1{ALT_ENTER}or cached\r:q\r")
    assert '"operator": "or"' in out


def test_enter_on_an_empty_line_runs_it_as_it_is() -> None:
    _, out = session("(cost > 1 and\r\r:q\r")
    assert "line 2, column 1: the filter ends too early" in out


def test_an_open_string_is_shown_not_continued() -> None:
    _, out = session('model = "gpt\r:q\r')
    assert "line 1, column 9: this string is never closed" in out


def test_ctrl_c_clears_the_line() -> None:
    _, out = session(f"cost > 1{CTRL_C}cached\r:q\r")
    assert '"cached"' in out and '"cost"' not in out


@pytest.mark.parametrize("keys", [":quit\r", ":q\r", ":exit\r", CTRL_D, f"cost > 1\r{CTRL_D}"])
def test_quit_and_ctrl_d_end_with_0(keys: str) -> None:
    assert session(keys)[0] == 0


def test_a_fault_inside_the_loop_is_said_and_the_loop_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr("helicone_filter.api.outputs.query_body", broken)
    _, out = session(":body cached\rcost > 1\r:q\r")
    assert "error: RuntimeError: boom" in out
    assert COST_1 in out


# -- the pieces: what Enter does, the completer, the lexer, the toolbar --------------------------


@pytest.mark.parametrize(
    ("text", "goes_on"),
    [
        ("(cost > 1 and", True),
        ("cost > 1 or", True),
        ("cached and not", True),
        ("cost > 1 &&", True),
        ('model in ["a",', True),
        ("(cost > 1)", False),
        ("cost > 1)", False),  # closes nothing: a mistake to show
        ("(cost > 1]", False),
        ('model = "a and', False),  # a string cannot go on to the next line
        ('model = "(" and cost > 1', False),
        ("brand = 1", False),
        (":sql (cost > 1 and", True),
        (":fields (", False),
        ("(cost > 1 and\n", False),  # Enter on an empty line
        ("(cost > 1 and\n  ", False),
        ("(cost > 1 and\ncached and", True),
    ],
)
def test_what_enter_does(text: str, goes_on: bool) -> None:
    assert repl.goes_on(text) is goes_on


def test_the_completer_maps_complete() -> None:
    completer = repl.make_completer()

    def found(text: str, cursor: int | None = None) -> list[tuple[str, int, str, str]]:
        document = Document(text, len(text) if cursor is None else cursor)
        return [
            (c.text, c.start_position, c.display_text, c.display_meta_text)
            for c in completer.get_completions(document, CompleteEvent(completion_requested=True))
        ]

    assert found("mod")[0] == ("model ", -3, "model", "text · request_response_rmt")
    assert ("= ", 0, "=", "equals") in [(t, s, d, m[:6]) for t, s, d, m in found("cached ")]
    # inside a word: what is before the cursor is replaced, the rest of it kept
    assert found("modxyz", 3)[0][:2] == ("model ", -3)
    assert found("model", 2)[0][:2] == ("mo", -2)
    # commands, and the filter after one
    assert [c[2] for c in found(":s")] == [":sql"]
    assert found(":sql mod")[0][:2] == ("model ", -3)
    assert found(":sql") == [("sql", -3, ":sql", COMMANDS_SQL)]
    assert found(":fields ") == []


COMMANDS_SQL = repl.COMMANDS["sql"][1]


def test_the_lexer_underlines_the_mistakes() -> None:
    lexer = repl.make_lexer(NOW)
    text = 'modle = "x" and\ncost > "1" and cached'
    lines = lexer.lex_document(Document(text))
    first, second = lines(0), lines(1)
    assert "".join(t for _, t in first) == 'modle = "x" and'
    assert first == [("class:diagnostic.error", "modle"), ("", ' = "x" and')]
    assert second == [("", "cost > "), ("class:diagnostic.error", '"1"'), ("", " and cached")]
    assert lines(2) == []
    # warnings (given when there is no error)
    warned = lexer.lex_document(Document('cached and\nmodel contains "a_b"'))(1)
    assert warned == [("class:diagnostic.warning", 'model contains "a_b"')]


def test_the_lexer_leaves_what_is_only_unfinished() -> None:
    lexer = repl.make_lexer()
    for text in ("cost > 1 and", 'model = "gp', "(cached"):
        styles = {style for style, _ in lexer.lex_document(Document(text))(0)}
        assert styles == {""}, text
    command = lexer.lex_document(Document(":sql modle = 1"))(0)
    assert command[0] == ("class:command", ":sql")
    assert ("class:diagnostic.error", "modle") in command


def test_the_toolbar_says_the_first_problem() -> None:
    def said(text: str) -> str:
        return "".join(t for _, t in repl.status(text, NOW))

    assert said('modle = "x" and cost > "1"').startswith(" ✗ 1:1 unknown field 'modle'")
    assert "(+1 more)" in said('modle = "x" and cost > "1"')
    assert said("cost > 1 and").startswith(" … the filter ends too early")
    assert "Enter prints its JSON" in said("cost > 1")
    assert "warning" in said('model contains "a_b"')
    assert "unknown command" in said(":nope")
    assert said(":sql cost > 1 and\n modle = 1").startswith(" ✗ 2:2 unknown field 'modle'")
    assert "ClickHouse" in said(":sql")


def test_history_file_follows_xdg(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert repl.history_file({"XDG_STATE_HOME": str(state)}) == (
        state / "helicone-filter" / "history"
    )
    home = Path.home() / ".local" / "state" / "helicone-filter" / "history"
    assert repl.history_file({}) == home
    assert repl.history_file({"XDG_STATE_HOME": "relative"}) == home


# -- in a session: Tab, history -------------------------------------------------------------------


def test_tab_applies_a_completion() -> None:
    driver = Driver()
    driver.send("cach")
    driver.drawn(r"cache_reference_id")  # the list opened as we typed
    driver.send(TAB)  # the first: cache_reference_id; again: the next
    driver.send(TAB + TAB)
    driver.drawn(r"cached")
    driver.send("\r")  # takes it
    driver.send("\r")  # runs the filter
    driver.printed('"cached": {')
    assert driver.close() == 0


def test_up_recalls_the_history(tmp_path: Path) -> None:
    file = tmp_path / "deep" / "history"
    driver = Driver(history=str(file))
    driver.send("cost > 1\r")
    driver.printed(COST_1)
    driver.prompts(2)
    driver.send(UP + "\r")
    until(lambda: driver.out.getvalue().count(COST_1) == 2, "the filter run again")
    assert driver.close() == 0
    assert "+cost > 1" in file.read_text()
    # a new session reads it back
    again = Driver(history=str(file))
    again.send(UP + "\r")
    again.printed(COST_1)
    assert again.close() == 0


def test_a_history_file_that_cannot_be_used_is_said(tmp_path: Path) -> None:
    err = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text("cost > 1\r:q\r")
        code = repl.run(
            history=str(tmp_path),
            input=pipe,
            output=DummyOutput(),
            stdout=io.StringIO(),
            stderr=err,
        )
    assert code == 0
    assert f"cannot use the history file {tmp_path}" in err.getvalue()
    assert "kept in memory" in err.getvalue()


def test_a_history_write_that_fails_is_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(path: Path, string: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(repl, "_append_history", full)
    err, out = io.StringIO(), io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text("cost > 1\rcached\r:q\r")
        code = repl.run(
            history=str(tmp_path / "history"),
            input=pipe,
            output=DummyOutput(),
            stdout=out,
            stderr=err,
        )
    assert code == 0 and '"cached"' in out.getvalue()
    assert err.getvalue().count("cannot write the history") == 1
    assert "No space left on device; it is kept in memory from now on" in err.getvalue()


def test_lines_from_a_pipe_run_as_if_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("(cost > 1 and\ncached)\n:sql\n:q\nstatus\n"))
    out = io.StringIO()
    assert repl.run(stdout=out, now=NOW) == 0
    assert '"operator": "and"' in out.getvalue()
    assert "round(`cost` * 1000000000) > {p0:Int64} AND coalesce(`cached`" in out.getvalue()
    assert "status takes" not in out.getvalue()  # after :q


def test_an_output_that_cannot_be_written_ends_with_74() -> None:
    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    err = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text("cost > 1\r:q\r")
        code = repl.run(input=pipe, output=DummyOutput(), stdout=Full(), stderr=err)
    assert code == 74
    assert (
        err.getvalue() == f"{repl.PROG}: error: cannot write the output: No space left on device\n"
    )


def test_without_prompt_toolkit_one_line_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "prompt_toolkit", None)
    err = io.StringIO()
    assert repl.run(stdout=io.StringIO(), stderr=err) == 1
    assert err.getvalue().count("\n") == 1
    assert "pip install -e '.[repl]'" in err.getvalue()


# -- in a real terminal ------------------------------------------------------------------------


@pytest.fixture
def tmux() -> Iterator[Callable[..., str]]:
    """A tmux server of our own, its socket in a directory that goes with it; `tmux(*args)`
    runs a tmux command and gives its output back."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    with tempfile.TemporaryDirectory(prefix="repl-tmux-") as directory:
        socket = str(Path(directory) / "socket")

        def run(*args: str) -> str:
            done = subprocess.run(
                ["tmux", "-S", socket, *args], capture_output=True, text=True, timeout=10
            )
            return done.stdout

        try:
            yield run
        finally:
            run("kill-server")


def test_in_tmux(tmux: Callable[..., str]) -> None:
    command = (
        f"{sys.executable} -m helicone_filter repl --now 2025-06-01T00:00:00Z; "
        "echo EXIT=$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", "repl", "-x", "100", "-y", "30", command)

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "repl")

    until(lambda: "filter>" in screen(), "the prompt", 10)  # (trailing blanks are not captured)
    tmux("send-keys", "-t", "repl", "-l", "cost > 1")
    tmux("send-keys", "-t", "repl", "Enter")
    until(lambda: '"gt": 1' in screen(), "the JSON")
    # Keys are sent once a prompt is up: between two, the terminal is in its own line mode,
    # where Ctrl-C and Ctrl-D are signals and ends of input, not keys.
    until(lambda: screen().count("filter>") == 2, "the next prompt")
    tmux("send-keys", "-t", "repl", "-l", "mod")
    until(lambda: "text · request_response_rmt" in screen(), "the completion menu")
    assert re.search(r"model +text · request_response_rmt", screen())
    tmux("send-keys", "-t", "repl", "C-c")
    until(lambda: screen().count("filter>") == 3, "a new prompt after Ctrl-C")
    tmux("send-keys", "-t", "repl", "C-d")
    until(lambda: "EXIT=0" in screen(), "exit 0")


# -- a history file that is no regular file; hostile text; an input that is not UTF-8 ----------

# Run in a process of its own with its memory capped: /dev/zero was read without end (5.6 GB
# at 100% CPU, deaf to Ctrl-C), the opening of a FIFO waited for ever.
_SPECIAL_FILES = r"""
import io, json, os, resource, sys
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from helicone_filter.cli import repl

resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
said = {}
for path in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text("cost > 1\r:q\r")
        code = repl.run(history=path, input=pipe, output=DummyOutput(), stdout=out, stderr=err)
    said[path] = [code, '"gt": 1' in out.getvalue(), err.getvalue()]
print(json.dumps(said))
"""


def test_a_history_that_is_no_regular_file_is_kept_in_memory(tmp_path: Path) -> None:
    """`--history /dev/full` grew to 5.6 GB (reading /dev/full gives zeros without end), a
    FIFO blocked for ever. Only a regular file is used: anything else is said, and the history
    is kept in memory, at once."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    kinds = {
        "/dev/full": "a character device",
        "/dev/zero": "a character device",
        "/dev/null": "a character device",
        str(fifo): "a FIFO (a named pipe)",
        str(tmp_path): "a directory",
    }
    paths = [p for p in kinds if os.path.exists(p)]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _SPECIAL_FILES, *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    said = json.loads(done.stdout)
    for path in paths:
        assert said[path] == [
            0,
            True,
            f"{repl.PROG}: cannot use the history file {path}: it is {kinds[path]}, not a "
            "regular file; it is kept in memory\n",
        ]


def test_a_history_file_replaced_by_a_fifo_is_not_written(tmp_path: Path) -> None:
    """The history file made a FIFO during the session: the next write would wait for a
    reader for ever; it is refused, said once, and the history goes on in memory."""
    file = tmp_path / "history"
    err = io.StringIO()
    history = repl._history(str(file), err)
    file.unlink()
    os.mkfifo(file)
    writer = threading.Thread(target=history.store_string, args=("cost > 1",), daemon=True)
    writer.start()
    writer.join(10)
    if writer.is_alive():  # let it go, then fail
        os.close(os.open(file, os.O_RDONLY | os.O_NONBLOCK))
        pytest.fail("writing the history waited on the FIFO")
    history.store_string("cached")
    assert err.getvalue() == (
        f"{repl.PROG}: cannot write the history to {file}: it is a FIFO (a named pipe), not a "
        "regular file; it is kept in memory from now on\n"
    )


def test_a_large_history_file_is_read_from_its_end(tmp_path: Path) -> None:
    """A history file of years: its end is read, not all of it into memory; the newest
    filters come first, and the first one read is whole."""
    file = tmp_path / "history"
    with file.open("w") as f:
        for i in range(40_000):
            f.write(f"\n# 2025-01-01 00:00:00.000000\n+user_cost > {i} and\n+cached\n")
    assert file.stat().st_size > 2 * repl.HISTORY_READ_BYTES
    history = repl._history(str(file), io.StringIO())
    entries = list(history.load_history_strings())
    assert 10_000 < len(entries) < 40_000
    assert entries[0] == "user_cost > 39999 and\ncached"
    assert re.fullmatch(r"user_cost > \d+ and\ncached", entries[-1])
    history.store_string("status = 200\nand cached")
    assert file.read_text().endswith("\n+status = 200\n+and cached\n")
    again = list(repl._history(str(file), io.StringIO()).load_history_strings())
    assert again[0] == "status = 200\nand cached"


PWNED = 'modle = "\x1b]0;PWNED\x07\x1b[2J"'
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_nothing_of_a_filter_reaches_the_terminal_raw() -> None:
    """The lines under a mistake, the JSON, the SQL and the toolbar show control characters as
    pictures or escapes, never raw."""
    runner = repl.Runner(out := io.StringIO(), now=NOW)
    for line in (PWNED, 'model = "a\x9b\u202eb"', ':sql model = "\x9b"', ":body", ":explain"):
        runner.enter(line)
    printed = out.getvalue()
    assert '  modle = "␛]0;PWNED␇␛[2J"\n           ^\n' in printed
    assert '"equals": "a\\u009b\\u202eb"' in printed
    assert 'params: {"p0": "\\u009b"}' in printed
    assert not UNSAFE.search(printed.replace("\n", "")), printed
    toolbar = "".join(text for _, text in repl.status(PWNED, NOW))
    assert "␛" in toolbar or "U+001B" in toolbar
    assert not UNSAFE.search(toolbar)


def test_lines_from_a_pipe_are_utf8_whatever_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read in the locale's encoding (ASCII under LANG=C), a filter with é failed with
    UnicodeDecodeError; a line that is not UTF-8 is said, and the rest go on."""
    raw = 'model = "café"\n\xff\xfe\ncached\n'.encode("latin-1").replace(
        "café".encode("latin-1"), "café".encode()
    )
    stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="ascii")
    monkeypatch.setattr(sys, "stdin", stdin)
    out = io.StringIO()
    assert repl.run(stdout=out, now=NOW) == 0
    assert '"equals": "café"' in out.getvalue()
    assert "line 2 is not UTF-8 (byte 1 is 0xff); it is left out" in out.getvalue()
    assert '"cached"' in out.getvalue()


# -- the endpoint ------------------------------------------------------------------------------


def test_endpoint_shows_and_switches_and_everything_follows_it() -> None:
    _, out = session(
        ':endpoint\r:endpoint requst\r:endpoint requests\rsession_tag = "x"\r:sql\r'
        ':fields\r:explain user_cost > 5\r:endpoint user-metrics\r:sql session_tag = "x"\r:q\r'
    )
    assert "endpoint: user-metrics (/v1/user/metrics/query)" in out
    assert "unknown endpoint 'requst'" in out and "did you mean 'requests'?" in out
    assert "endpoint: requests (/v1/request/query-clickhouse" in out
    assert '"session_tag": {\n      "equals": "x"' in out
    assert "arrayExists(t -> t = {p0:String}, `session_tags`)" in out
    assert re.search(r"^session_tag +sessions_request_response_rmt", out, re.M)
    assert not re.search(r"^user_cost ", out, re.M)
    assert "user_cost is a field of the user-metrics endpoint" in out
    # back on user metrics, the same filter is refused
    assert "session_tag is a field of the requests endpoint" in out


def test_the_endpoint_given_at_the_start() -> None:
    _, out = session('session_tag = "x"\r:body\r:q\r', endpoint="requests")
    assert '"sessions_request_response_rmt"' in out
    assert '"limit": 100' in out and "timeFilter" not in out  # RequestQueryParams


def test_the_prompt_toolbar_completer_and_lexer_follow_the_endpoint() -> None:
    assert repl.prompt_text() == "filter> "
    assert repl.prompt_text("requests") == "requests filter> "
    said = "".join(t for _, t in repl.status("", NOW, "requests"))
    assert said.startswith(" type a filter for the requests endpoint")
    said = "".join(t for _, t in repl.status(":endpoint reqests", NOW))
    assert "did you mean 'requests'?" in said
    assert repl.underlines('session_tag = "x"', NOW, "requests") == []
    assert repl.underlines('session_tag = "x"', NOW) == [(0, 11, "class:diagnostic.error")]
    endpoint = "user-metrics"
    completer = repl.make_completer(NOW, lambda: endpoint)

    def labels(text: str) -> list[str]:
        event = CompleteEvent(completion_requested=True)
        return [c.text for c in completer.get_completions(Document(text), event)]

    assert "session_tag " not in labels("sess")
    endpoint = "requests"
    assert "session_tag " in labels("sess")
    assert labels(":endpoint r") == ["requests"]
    lexer = repl.make_lexer(NOW, lambda: endpoint)
    assert lexer.lex_document(Document("user_cost > 5"))(0)[0][0] == "class:diagnostic.error"


def test_the_prompt_names_the_endpoint_switched_to() -> None:
    driver = Driver()
    driver.send(":endpoint requests\r")
    driver.printed("endpoint: requests")
    driver.drawn("requests filter> ")
    assert driver.close() == 0


def test_the_repl_command_takes_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    from helicone_filter.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO('session_tag = "x"\n'))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["repl", "-e", "requests", "--now", "2025-06-01T12:00:00Z"]) == 0
    assert '"sessions_request_response_rmt"' in out.getvalue()


# -- taking a completion and typing on ------------------------------------------------------------


def test_taking_each_kind_of_completion_and_typing_on_gives_what_was_meant() -> None:
    """Taking the `"..."` template left the cursor after the closing quote: typing gpt-4o gave
    `model = ""gpt-4o`. Each kind of item is taken here as a user does (Tab on the only one,
    Tab through the menu, Enter), the typing goes on, and the filter run is the one meant."""
    import helicone_filter

    driver = Driver()
    prompts = {id(driver): 1}

    def menu(d: Driver, keys: str, shown: str) -> None:
        """Send `keys` and wait for a menu showing `shown` to be drawn."""
        before = d.screen.getvalue().count(shown)
        d.send(keys)
        until(lambda: d.screen.getvalue().count(shown) > before, f"a menu with {shown}")

    def ran(d: Driver, meant: str) -> None:
        d.send("\r")
        prompts[id(d)] += 1
        d.prompts(prompts[id(d)])
        expected = json.dumps(helicone_filter.compile(meant, now=NOW), indent=2)
        until(lambda: expected in d.out.getvalue(), f"the JSON of {meant}")

    # a field (Tab through the menu, Enter takes it), an operator (Tab opens the menu, Tab
    # takes the first), the "..." template (Tab on the only one): the cursor between its quotes
    menu(driver, "mod", "text · request_response_rmt")
    driver.send(TAB + "\r")
    menu(driver, TAB, "equals")
    driver.send(TAB + "\r")
    menu(driver, TAB, '""')  # (Tab asks for the completions: the typing waits for them)
    driver.send("gpt-4o")
    ran(driver, 'model = "gpt-4o"')
    # the list template after in: the cursor inside [""]
    menu(driver, "provider in ", "a list of strings")
    driver.send(TAB + "openai")
    ran(driver, 'provider in ["openai"]')
    # a keyword, and punctuation
    menu(driver, "cached ", "both conditions")
    driver.send(TAB * 3 + "status = 200")
    ran(driver, "cached and status = 200")
    menu(driver, "(cost > 1 ", "closes the group")
    driver.send(TAB * 3 + " or cached")
    ran(driver, "(cost > 1) or cached")
    said = driver.out.getvalue()
    assert driver.close() == 0
    # a known value, then typing on after it
    known = Driver(values={"model": ["gpt-4o", "gpt-4o-mini"]})
    prompts[id(known)] = 1
    menu(known, "model = ", "a known value of model")
    known.send(TAB + " and cached")
    ran(known, 'model = "gpt-4o" and cached')
    # the template from the menu (the third item): the cursor between its quotes
    menu(known, "model != ", "a string in double quotes")
    known.send(TAB * 3 + "mistral")
    ran(known, 'model != "mistral"')
    assert '""' not in said + known.out.getvalue()
    assert known.close() == 0


def test_the_completer_says_where_the_cursor_goes() -> None:
    from prompt_toolkit.buffer import Buffer

    completer = repl.make_completer(values={"model": ["gpt-4o"]})
    event = CompleteEvent(completion_requested=True)
    offered = list(completer.get_completions(Document("x and model = "), event))
    assert [c.text for c in offered] == ['"gpt-4o"', '""']
    buffer = Buffer(completer=completer)
    buffer.on_text_changed += repl.place_cursors(completer)
    buffer.insert_text("x and model = ")
    list(completer.get_completions(buffer.document, event))
    buffer.apply_completion(offered[1])
    assert (buffer.text, buffer.cursor_position) == ('x and model = ""', 15)
    buffer.insert_text("a")
    assert buffer.text == 'x and model = "a"'
    # the same text typed by hand is left alone
    buffer.text, buffer.cursor_position = "model = ", 8
    for typed in '""':  # (the completions are asked again after each key, as while typing)
        list(completer.get_completions(buffer.document, event))
        buffer.insert_text(typed)
    assert buffer.cursor_position == 10


# -- what is shown while typing: what comes next is no mistake -------------------------------------


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("mod", []),  # a field being typed
        ("cost > 1 and us", []),
        ("model ", []),  # a field just taken: its operator comes next
        ("cost > 1 and model ", []),
        ("modle", [(0, 5, "class:diagnostic.error")]),  # starts no field
        ("modle ", [(0, 5, "class:diagnostic.error")]),
        ("zzz", [(0, 3, "class:diagnostic.error")]),
        ("model and cached", [(0, 5, "class:diagnostic.error")]),  # a field alone, finished
        ('cost > "1"', [(7, 10, "class:diagnostic.error")]),
        ("mod = 1", [(0, 3, "class:diagnostic.error")]),
    ],
)
def test_what_is_being_typed_is_not_marked(text: str, marked: list[tuple[int, int, str]]) -> None:
    assert repl.underlines(text, NOW) == marked


def test_the_toolbar_says_what_comes_next_for_a_field_being_typed() -> None:
    def said(text: str) -> str:
        return "".join(t for _, t in repl.status(text, NOW))

    assert said("model ").startswith(" … next: =, !=, like")
    assert said("mod").startswith(" … next: model")
    assert said("modle ").startswith(" ✗ 1:1 unknown field 'modle'")


# -- commands: did you mean; piped lines with errors ---------------------------------------------


def test_a_misspelled_command_gets_a_did_you_mean() -> None:
    _, out = session(":sqll cost > 1\r:hepl\r:frobnicate\r:q\r")
    assert "unknown command ':sqll'; did you mean ':sql'? :help lists the commands" in out
    assert "did you mean ':help'?" in out
    assert "unknown command ':frobnicate'; :help lists the commands" in out
    said = "".join(t for _, t in repl.status(":endpont", NOW))
    assert "did you mean ':endpoint'?" in said


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ("cost > 1\ncached\n", 0),
        ('cost > 1\nmodle = "x"\ncached\n', 1),  # as `check` ends on a bad filter
        ('modle = "x"\n:q\n', 1),
        (":sqll cost > 1\n", 1),
        ('model contains "a_b"\n', 0),  # a warning is no error
    ],
)
def test_piped_lines_with_an_error_end_with_1(
    monkeypatch: pytest.MonkeyPatch, lines: str, code: int
) -> None:
    from helicone_filter.cli import main
    from helicone_filter.cli.exits import Exit

    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert repl.run(stdout=io.StringIO(), now=NOW) == code
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert main(["repl", "--now", "2025-06-01T12:00:00Z"]) == code
    assert main(["check", 'modle = "x"']) == Exit.BAD_FILTER == 1


# -- --values FILE ------------------------------------------------------------------------------


def test_the_repl_command_reads_known_values(tmp_path: Path) -> None:
    from helicone_filter.cli import main

    file = tmp_path / "values.json"
    file.write_text(json.dumps({"model": ["gpt-4o"], "status": [200]}))
    seen: dict[str, object] = {}

    def fake_run(*args: object, **kwargs: object) -> int:
        seen.update(kwargs)
        return 0

    with pytest.MonkeyPatch.context() as m:
        m.setattr(repl, "run", fake_run)
        assert main(["repl", "--values", str(file)]) == 0
    assert seen["values"] == {"model": ["gpt-4o"], "status": [200]}


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "cannot read --values"),
        ("[1]", "--values: the file must hold a JSON object: field -> list of values"),
        ('{"model": "gpt-4o"}', "--values: 'model' must be a list of strings or numbers"),
        ('{"model": [true]}', "--values: 'model' must be a list of strings or numbers"),
        ("{nope", "--values: not JSON"),
    ],
)
def test_a_values_file_that_cannot_be_used_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, said: str
) -> None:
    from helicone_filter.cli import main

    file = tmp_path / "values.json"
    if content is not None:
        file.write_text(content)
    assert main(["repl", "--values", str(file)]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
