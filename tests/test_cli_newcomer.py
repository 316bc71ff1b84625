"""The command line as a newcomer meets it (issue 16): a filter piped in with its newline,
several mistakes at once, options on either side of the command, a command misspelled, one flag
for the problem format, help that lists only what a command uses and fits the terminal,
warnings for the risky successes, and shell completion.

Each behaviour here has tests that failed on the command line before these changes; a few
tests beside them guard what had to keep working (compile as the default command, single words
that are filters, what a one-shot compile imports)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from test_cli import CACHED, _script, run

from helicone_filter.api.diagnosis import diagnose
from helicone_filter.cli.commands import COMMANDS, SUBCOMMANDS, Exit

Capture = pytest.CaptureFixture[str]
Patch = pytest.MonkeyPatch

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


# -- a filter on stdin ends at its last line, not after the newline that closes it ------------


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\n\n"])
def test_the_newline_that_ends_stdin_is_not_part_of_the_filter(
    ending: str, capsys: Capture, monkeypatch: Patch
) -> None:
    """`echo 'cached and' | helicone-filter` said `line 2, column 1` over an empty line."""
    expected = (
        "helicone-filter: error: line 1, column 11: the filter ends too early; expected a "
        "condition such as user_cost > 5, 'not' or '('\n"
        "  cached and\n"
        "            ^\n"
    )
    code, out, err = run([], capsys, monkeypatch, stdin="cached and" + ending)
    assert (code, out, err) == (Exit.BAD_FILTER, "", expected)
    done = subprocess.run(  # through the bytes of a real pipe
        [_script()], input=("cached and" + ending).encode(), capture_output=True, check=False
    )
    assert (done.returncode, done.stderr.decode()) == (Exit.BAD_FILTER, expected)
    code, out, err = run(["check"], capsys, monkeypatch, stdin="cached and" + ending)
    assert out.startswith("line 1, column 11: the filter ends too early")


def test_lines_read_crlf_as_line_ends() -> None:
    done = subprocess.run(
        [_script(), "compile", "--lines", "--quiet"],
        input=b"cached\r\nmodle = 1\r\n",
        capture_output=True,
        check=False,
    )
    rows = [json.loads(row) for row in done.stdout.splitlines()]
    assert rows[0] == CACHED
    assert rows[1]["error"]["problems"][0]["end"] == 5  # `modle`, without the \r
    # ...and the newline of a filter on stdin is gone, so its errors are where it shows them.
    done = subprocess.run([_script()], input=b"cached and\r\n", capture_output=True, check=False)
    assert b"line 1, column 11" in done.stderr


# -- every mistake at once ------------------------------------------------------------------


def test_compile_reports_every_mistake_with_its_caret(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, err = run(["compile", TWO_MISTAKES], capsys, monkeypatch)
    assert (code, out, err) == (Exit.BAD_FILTER, "", TWO_MISTAKES_SHOWN)
    code, out, err = run([TWO_MISTAKES], capsys, monkeypatch)  # compile by default
    assert (code, err) == (Exit.BAD_FILTER, TWO_MISTAKES_SHOWN)


@pytest.mark.parametrize("command", ["compile", "fmt", "sql", "query", "explain"])
def test_every_mistake_as_json_is_what_diagnose_finds(
    command: str, capsys: Capture, monkeypatch: Patch
) -> None:
    text = 'modle = 1 and model contains "a_b" and cost => 5 and status = '
    code, out, err = run([command, "--error-format", "json", text], capsys, monkeypatch)
    assert (code, out) == (Exit.BAD_FILTER, "")
    error = json.loads(err)["error"]
    found = [(p["code"], p["severity"], p["message"], p["hint"], p["start"], p["end"])
             for p in error["problems"]]  # fmt: skip
    assert found == [(d.code, d.severity, d.message, d.hint, d.start, d.end)
                     for d in diagnose(text)]  # fmt: skip
    assert [p["code"] for p in error["problems"]] == [
        "unknown-field",
        "contains-wildcard",  # a warning about a condition beside the mistakes
        "unknown-operator",
        "unexpected-end",
    ]
    assert error["message"] == "unknown field 'modle'"


def test_check_lists_every_mistake(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, _ = run(["check", TWO_MISTAKES], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER
    assert out == re.sub(r"^helicone-filter: error: ", "", TWO_MISTAKES_SHOWN, flags=re.M)
    code, out, _ = run(["check", "--error-format", "json", TWO_MISTAKES], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER
    assert [(p["code"], p["column"]) for p in json.loads(out)] == [
        ("unknown-field", 1),
        ("unknown-operator", 20),
    ]
    code, out, _ = run(["check", "--lines"], capsys, monkeypatch, stdin=TWO_MISTAKES + "\n")
    assert code == Exit.BAD_FILTER
    assert len(json.loads(out)["problems"]) == 2


def test_lines_give_every_mistake_of_a_line(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, _ = run(["compile", "--lines"], capsys, monkeypatch, stdin=TWO_MISTAKES + "\n")
    assert code == Exit.BAD_FILTER
    row = json.loads(out)
    assert row["line"] == 1 and row["error"]["message"] == "unknown field 'modle'"
    assert [p["code"] for p in row["error"]["problems"]] == ["unknown-field", "unknown-operator"]


# -- options before the command -------------------------------------------------------------


def test_options_go_before_or_after_the_command(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, err = run(["--error-format", "json", "compile", "cached and"], capsys, monkeypatch)
    assert (code, out) == (Exit.BAD_FILTER, "")
    assert json.loads(err)["error"]["message"].startswith("the filter ends too early")
    code, out, _ = run(["--pretty", "compile", "cached"], capsys, monkeypatch)
    assert (code, out) == (0, json.dumps(CACHED, indent=2) + "\n")
    code, out, _ = run(["--error-format=json", "check", "cached"], capsys, monkeypatch)
    assert (code, out) == (0, "[]\n")
    code, out, _ = run(["--now", "2025-01-02T00:00:00Z", "fmt", "request_created_at > now - 1d"],
                       capsys, monkeypatch)  # fmt: skip
    assert (code, out) == (0, 'request_created_at > "2025-01-01T00:00:00.000Z"\n')
    code, out, _ = run(["--json", "fields"], capsys, monkeypatch)
    assert code == 0 and json.loads(out)[0]["field"]
    code, _, err = run(["-q", "--err", "json", "compile", WILDCARD], capsys, monkeypatch)
    assert (code, err) == (0, "")  # an abbreviation takes its value as the option does
    code, _, err = run(["--lines", "fields"], capsys, monkeypatch)
    assert code == Exit.USAGE and "unrecognized arguments: --lines" in err


def test_compile_stays_the_default(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, _ = run(["user_cost > 5"], capsys, monkeypatch)
    assert (code, json.loads(out)) == (0, {"users_view": {"user_cost": {"gt": 5}}})
    code, out, _ = run(["--pretty", "cached"], capsys, monkeypatch)
    assert (code, json.loads(out)) == (0, CACHED)
    code, out, _ = run(["--compact"], capsys, monkeypatch, stdin="cached\n")
    assert (code, json.loads(out)) == (0, CACHED)


# -- a command misspelled -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "meant"),
    [(["fromat", "x"], "fmt"), (["chek"], "check"), (["--pretty", "sqll", "x"], "sql"),
     (["feilds"], "fields"), (["explian", "cached"], "explain")],
)  # fmt: skip
def test_a_misspelled_command_gets_did_you_mean(
    argv: list[str], meant: str, capsys: Capture, monkeypatch: Patch
) -> None:
    code, out, err = run(argv, capsys, monkeypatch)
    assert (code, out) == (Exit.USAGE, "")
    word = next(a for a in argv if not a.startswith("-"))
    assert err.endswith(f"error: unknown command '{word}'; did you mean '{meant}'?\n")


@pytest.mark.parametrize(
    ("word", "code", "needle"),
    [
        ("cached", 0, ""),  # a field that is a filter on its own
        ("threat", 0, ""),
        ("all", 0, ""),
        ("cahced", 1, "did you mean 'cached'?"),  # closer to a field than to `check`
        ("completion_tokens", 1, "completion_tokens"),  # a field, not `completion`
        ("cost", 1, "cost"),
    ],
)
def test_a_word_that_is_a_filter_is_compiled(
    word: str, code: int, needle: str, capsys: Capture, monkeypatch: Patch
) -> None:
    got, _, err = run([word], capsys, monkeypatch)
    assert got == code and needle in err and "unknown command" not in err


# -- one flag for check's format ------------------------------------------------------------


def test_check_takes_error_format(capsys: Capture, monkeypatch: Patch) -> None:
    """`check --error-format json` printed text; --format was check's own spelling."""
    code, out, err = run(["check", "--error-format", "json", "usr_cost > 5"], capsys, monkeypatch)
    assert (code, err) == (Exit.BAD_FILTER, "")
    assert json.loads(out)[0]["hint"] == "did you mean 'user_cost'?"
    code, out, _ = run(["check", "--help"], capsys, monkeypatch)
    assert "--error-format" in out and "--format" not in out.replace("--error-format", "")
    # The old spelling still works, and says what to write instead.
    code, out, err = run(["check", "--format", "json", "usr_cost > 5"], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER and json.loads(out)[0]["code"] == "unknown-field"
    assert err == "helicone-filter: warning: --format is deprecated: write --error-format json\n"


# -- each command lists the flags it uses ---------------------------------------------------

COMMON = {"-h", "--help"}
READS = {"--now"}
ERRORS = {"--error-format", "--color"}
LINES = {"--lines", "--jobs"}
QUIET = {"-q", "--quiet"}
OUTPUT = {"--pretty", "--compact"}
QUERY = {"--limit", "--offset", "--sort", "--since", "--until", "--tz-offset", "--send"} | {
    "--json",
    "--eu",
    "--base-url",
    "--timeout",
}
FLAGS = {
    "compile": COMMON | READS | ERRORS | LINES | QUIET | OUTPUT | {"--nesting"},
    "fmt": COMMON | READS | ERRORS | LINES | QUIET | {"--as-written", "--simplify"},
    "check": COMMON | READS | ERRORS | LINES | {"--no-analysis"},
    "query": COMMON | READS | ERRORS | QUIET | OUTPUT | QUERY,
    "sql": COMMON | READS | ERRORS | QUIET | OUTPUT | {"--table-map"},
    "fields": COMMON | OUTPUT | {"--json"},
    "explain": COMMON | READS | ERRORS | QUIET,
    "serve": COMMON | {"--host", "--port", "--cors-origin", "--max-body-bytes"},
    "completion": COMMON,
    "repl": COMMON | {"--history", "--now", "--color"},
}


@pytest.mark.parametrize("command", list(FLAGS))
def test_each_command_lists_only_the_flags_it_uses(
    command: str, capsys: Capture, monkeypatch: Patch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run([command, "--help"], capsys, monkeypatch)
    assert code == 0
    options = out.split("options:", 1)[1].split("examples:", 1)[0]
    listed = {
        part.split()[0]
        for line in re.findall(r"(?m)^  (-\S.*)$", options)
        for part in line.split(", ")
        if part.startswith("-")
    }
    assert listed == FLAGS[command]
    assert set(SUBCOMMANDS) == set(FLAGS)


@pytest.mark.parametrize(
    "argv",
    [
        ["fields", "--error-format", "json"],
        ["serve", "--color", "never"],
        ["fields", "--color=auto"],
    ],
)
def test_a_flag_a_command_does_not_use_is_refused(
    argv: list[str], capsys: Capture, monkeypatch: Patch
) -> None:
    code, _, err = run(argv, capsys, monkeypatch)
    assert code == Exit.USAGE and "unrecognized arguments" in err


# -- help that fits the terminal ------------------------------------------------------------


@pytest.mark.parametrize("command", ["", *SUBCOMMANDS])
def test_help_is_wrapped_to_the_terminal_and_keeps_its_examples(
    command: str, capsys: Capture, monkeypatch: Patch
) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    code, out, _ = run([command, "--help"] if command else ["--help"], capsys, monkeypatch)
    assert code == 0
    text, examples = out.split("examples:\n", 1)
    long = [line for line in text.splitlines() if len(line) > 70]
    assert long == []
    row = next(c for c in COMMANDS if c.name == (command or "compile"))
    assert examples == row.examples  # line for line, however long


# -- warnings for the risky successes -------------------------------------------------------


def test_an_empty_filter_compiles_with_a_warning(capsys: Capture, monkeypatch: Patch) -> None:
    """`helicone-filter "$UNSET"` printed "all" without a word."""
    code, out, err = run([""], capsys, monkeypatch)
    assert (code, out) == (0, '"all"\n')
    assert err == (
        "helicone-filter: warning: the filter is empty, so it matches every user\n"
        "  hint: write all to mean every user; --quiet silences warnings\n"
    )
    code, out, err = run(["--quiet", ""], capsys, monkeypatch)
    assert (code, out, err) == (0, '"all"\n', "")
    code, out, err = run(["compile"], capsys, monkeypatch, stdin="\n")
    assert (code, out) == (0, '"all"\n') and "empty" in err
    code, out, err = run(["all"], capsys, monkeypatch)  # said on purpose
    assert (code, out, err) == (0, '"all"\n', "")


def test_compile_warns_as_check_does(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, err = run(["compile", WILDCARD], capsys, monkeypatch)
    assert (code, json.loads(out), err) == (0, WILDCARD_JSON, WILDCARD_SHOWN)
    for quiet in ("-q", "--quiet"):
        code, out, err = run(["compile", quiet, WILDCARD], capsys, monkeypatch)
        assert (code, json.loads(out), err) == (0, WILDCARD_JSON, "")
    code, out, err = run(["compile", "--error-format", "json", WILDCARD], capsys, monkeypatch)
    assert (code, json.loads(out)) == (0, WILDCARD_JSON)
    warning = json.loads(err)["warning"]
    assert warning["problems"][0]["code"] == "contains-wildcard"
    assert warning["message"].startswith("'50%' holds % or _")


@pytest.mark.parametrize("command", ["fmt", "sql", "query", "explain"])
def test_the_other_commands_that_compile_warn_too(
    command: str, capsys: Capture, monkeypatch: Patch
) -> None:
    code, out, err = run([command, WILDCARD], capsys, monkeypatch)
    assert code == 0 and out and err == WILDCARD_SHOWN
    code, quiet_out, err = run([command, "--quiet", WILDCARD], capsys, monkeypatch)
    assert (code, quiet_out, err) == (0, out, "")


def test_lines_warn_on_stderr_with_the_line_number(capsys: Capture, monkeypatch: Patch) -> None:
    stdin = f"cached\n\n{WILDCARD}\nmodle = 1\n"
    code, out, err = run(["compile", "--lines"], capsys, monkeypatch, stdin=stdin)
    rows = [json.loads(row) for row in out.splitlines()]
    assert code == Exit.BAD_FILTER
    assert rows[:2] == [CACHED, WILDCARD_JSON] and rows[2]["line"] == 4
    assert err == WILDCARD_SHOWN.replace("line 1, column 1", "line 3, column 1")
    code, quiet, err = run(["compile", "--lines", "-q"], capsys, monkeypatch, stdin=stdin)
    assert (code, quiet, err) == (Exit.BAD_FILTER, out, "")
    code, _, err = run(
        ["fmt", "--lines", "--error-format", "json"], capsys, monkeypatch, stdin=stdin
    )
    note = json.loads(err)
    assert note["line"] == 3 and note["warning"]["problems"][0]["code"] == "contains-wildcard"


def test_lines_warnings_keep_their_order_under_worker_processes() -> None:
    lines = [WILDCARD if i % 100 == 7 else f"user_cost > {i}" for i in range(3_000)]
    done = subprocess.run(
        [_script(), "compile", "--lines", "--jobs", "2"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.count("\n") == 3_000
    numbers = [int(n) for n in re.findall(r"warning: line (\d+),", done.stderr)]
    assert numbers == [i + 1 for i in range(3_000) if i % 100 == 7]


# -- shell completion -----------------------------------------------------------------------


def _completion(shell: str, capsys: Capture, monkeypatch: Patch) -> str:
    pytest.importorskip("shtab")
    code, out, err = run(["completion", shell], capsys, monkeypatch)
    assert (code, err) == (0, "") and out
    return out


def _bash_complete(script: str, words: list[str]) -> list[str]:
    """What bash offers for the last of `words`, through the script's completion function."""
    line = " ".join(words)
    program = (
        f"{script}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={line!r}; COMP_POINT={len(line)}\n"
        "_shtab_helicone_filter helicone-filter; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion(capsys: Capture, monkeypatch: Patch, tmp_path: object) -> None:
    script = _completion("bash", capsys, monkeypatch)
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    assert sorted(_bash_complete(script, ["helicone-filter", "f"])) == ["fields", "fmt"]
    assert set(_bash_complete(script, ["helicone-filter", ""])) >= set(SUBCOMMANDS)
    assert _bash_complete(script, ["helicone-filter", "check", "--err"]) == ["--error-format"]
    assert _bash_complete(script, ["helicone-filter", "compile", "--error-format", ""]) == [
        "text",
        "json",
    ]
    assert _bash_complete(script, ["helicone-filter", "completion", "z"]) == ["zsh"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_completion(shell: str, capsys: Capture, monkeypatch: Patch) -> None:
    script = _completion(shell, capsys, monkeypatch)
    assert "helicone-filter" in script and "--error-format" in script
    if shutil.which(shell) is None:
        pytest.skip(f"no {shell} to read the script")
    subprocess.run([shell, "-n"], input=script, text=True, check=True)


def test_completion_without_shtab_says_so_in_one_line(capsys: Capture, monkeypatch: Patch) -> None:
    monkeypatch.setitem(sys.modules, "shtab", None)  # import shtab fails, as if not installed
    code, out, err = run(["completion", "bash"], capsys, monkeypatch)
    assert (code, out) == (Exit.BAD_FILTER, "")
    assert err == (
        "helicone-filter: error: completion needs shtab, which is not installed: "
        "pip install shtab\n"
    )


def test_a_one_shot_compile_imports_neither_shtab_nor_pydantic() -> None:
    code = (
        "import sys\n"
        "from helicone_filter.cli import main\n"
        "assert main(['compile', 'cached']) == 0\n"
        "heavy = ('shtab', 'pydantic', 'prompt_toolkit', 'difflib')\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == "[]\n"
