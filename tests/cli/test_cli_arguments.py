"""The command line's arguments and help: subcommands and where their options go, the flags each
command takes and their ranges, usage errors (exit 2), help and version, a misspelled command,
shell completion, and the ways it is started (the console script, `python -m`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from command_line import (
    CACHED,
    NOW_TEXT,
    WILDCARD,
    Capture,
    Patch,
    console_script,
    run,
    run_process,
)

from helicone_filter.cli.commands import COMMANDS, SUBCOMMANDS, Exit


def test_compile_is_the_default_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["cached"], capsys, monkeypatch)
    assert (code, json.loads(out)) == (0, CACHED)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["compile", "--now", "yesterday", "cached"], "--now 'yesterday'"),
        (["compile", "--nesting", "left", "cached"], "invalid choice"),
        (["compile", "--bogus", "cached"], "unrecognized arguments"),
        (["compile", "a", "b"], "the filter came as 2 arguments"),
        (["query", "--sort", "costs", "cached"], "did you mean 'cost'?"),
        (["query", "--sort", "cost:up", "cached"], "write cost:asc or cost:desc"),
        (["query", "--since", "yesterday", "cached"], "'yesterday' is not a time"),
        (["query", "--since", "1d", "--until", "2d", "cached"], "before it starts"),
        (
            ["query", "--limit", "0", "cached"],
            "'0' is not a number of users per page: give 1 to 1000",
        ),
        (["query", "--offset", "-1", "cached"], "'-1' is not a number of users to skip: give 0 to"),
        (["query", "--tz-offset", "5000", "cached"], "give -1440 to 1440"),
        (["query", "--limit", "many", "cached"], "'many' is not a number of users per page"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run(argv, capsys, monkeypatch)
    assert code == Exit.USAGE == 2
    assert out == ""
    assert needle in err and "Traceback" not in err


def test_help_and_version(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["compile", "--help"], capsys, monkeypatch)
    assert code == 0 and "helicone-filter compile 'user_cost > 5" in out
    code, out, _ = run(["--version"], capsys, monkeypatch)
    assert code == 0 and out.startswith("helicone-filter ")


def test_installed_console_script() -> None:
    done = subprocess.run(
        [console_script(), "compile", "user_cost > 5"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, json.loads(done.stdout)) == (
        0,
        {"users_view": {"user_cost": {"gt": 5}}},
    )

    done = subprocess.run(
        [console_script()], input="cached", capture_output=True, text=True, check=False
    )
    assert (done.returncode, json.loads(done.stdout)) == (0, CACHED)

    done = subprocess.run(
        [console_script(), "user_cost >"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(
        "helicone-filter: error: line 1, column 12: the filter ends too early"
    )
    assert "Traceback" not in done.stderr

    done = subprocess.run([console_script(), "--nope"], capture_output=True, text=True, check=False)
    assert done.returncode == 2


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "helicone_filter", "compile", "cached"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, json.loads(done.stdout)) == (0, CACHED)


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


# -- each command lists the flags it uses ---------------------------------------------------

COMMON = {"-h", "--help"}
READS = {"--now", "-e", "--endpoint"}  # (every command that reads a filter)
ERRORS = {"--error-format", "--color"}
LINES = {"--lines", "--jobs"}
QUIET = {"-q", "--quiet"}
OUTPUT = {"--pretty", "--compact"}
QUERY = (
    {"--limit", "--offset", "--sort", "--since", "--until", "--tz-offset", "--send"}
    | {"--json", "--eu", "--base-url", "--timeout"}
    | {"--is-scored", "--no-is-scored"}
)
EXPORT = {"--since", "--until", "--limit", "--fields", "--bodies", "-o", "--output", "--format"}
EXPORT |= {"--force", "--resume", "--eu", "--base-url", "--jobs", "-v", "--verbose"}
FLAGS = {
    "compile": COMMON | READS | ERRORS | LINES | QUIET | OUTPUT | {"--nesting"},
    "fmt": COMMON | READS | ERRORS | LINES | QUIET | {"--as-written", "--simplify"},
    "check": COMMON | READS | ERRORS | LINES | {"--no-analysis"},
    "query": COMMON | READS | ERRORS | QUIET | OUTPUT | QUERY,
    "sql": COMMON | READS | ERRORS | QUIET | OUTPUT | {"--table-map"},
    "fields": COMMON | OUTPUT | {"--json", "-e", "--endpoint"},
    "explain": COMMON | READS | ERRORS | QUIET,
    "export": COMMON | {"--now"} | ERRORS | QUIET | EXPORT,  # always the requests endpoint
    "grep": COMMON
    | {"--now"}
    | ERRORS
    | QUIET
    | {"--format", "-o", "--output", "--engine", "-c", "--count"},  # always the requests endpoint
    "serve": COMMON | {"--host", "--port", "--cors-origin", "--max-body-bytes"},
    "completion": COMMON,
    "repl": COMMON | {"--history", "--now", "--color", "-e", "--endpoint", "--values"},
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


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run([command, "--help"], capsys, monkeypatch)
    assert code == 0
    assert f"examples:\n  helicone-filter {command}" in out


def test_jobs_must_be_positive(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(["compile", "--lines", "--jobs", "0"], capsys, monkeypatch, stdin="x")
    assert code == Exit.USAGE
    assert "argument --jobs: '0' is not a number of worker processes: give 1 to 1024" in err


def test_remaining_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["fields", "--json", "--pretty"], capsys, monkeypatch)
    assert code == 0 and out.startswith("[\n  {\n")
    code, out, _ = run(
        ["explain", "--now", NOW_TEXT, "request_created_at > now - 1d"], capsys, monkeypatch
    )
    assert (
        out == 'request_created_at > "2025-05-31T12:00:00.000Z"  ← request_created_at > now - 1d\n'
    )
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    _, _, err = run(["compile", "--color", "never", "modle = 1"], capsys, monkeypatch)
    assert "\x1b[" not in err
    _, out, _ = run(["check", "--color", "always", "modle = 1"], capsys, monkeypatch)
    assert "\x1b[1;31m" in out  # check prints its problems on stdout, coloured on request
    code, out, _ = run(["query", "--pretty", "cached"], capsys, monkeypatch)
    assert code == 0 and out.startswith("{\n")


# -- numbers in options -----------------------------------------------------------------------


@pytest.mark.hostile
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
        (["query", "--limit", "0", "all"], "'0' is not a number of users per page: give 1 to 1000"),
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


@pytest.mark.hostile
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


@pytest.mark.hostile
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
    assert err == ("helicone-filter: error: a CORS origin is scheme://host[:port]; not 'x␛[2J'\n")


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
    assert (code, out) == (Exit.MISSING_DEPENDENCY, "")
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


# -- the endpoint: one option of the machinery, on every command that reads a filter ----------

READS_A_FILTER = ("compile", "fmt", "check", "query", "sql", "explain", "fields", "repl")


def test_every_command_that_reads_a_filter_takes_the_endpoint() -> None:
    from helicone_filter.facts.endpoints import ENDPOINT_NAMES

    assert {c.name for c in COMMANDS if c.endpoint} == set(READS_A_FILTER)
    parser = commands_parser()
    for name in READS_A_FILTER:
        args = parser.parse_args([name])
        assert args.endpoint == "user-metrics"  # the default
        for endpoint in ENDPOINT_NAMES:
            assert parser.parse_args([name, "-e", endpoint]).endpoint == endpoint
            assert parser.parse_args([name, f"--endpoint={endpoint}"]).endpoint == endpoint


def commands_parser() -> Any:
    from helicone_filter.cli.commands import parser

    return parser()


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["compile", "-e", "request", "cached"], "did you mean 'requests'?"),
        (["fields", "--endpoint", "user_metrics"], "did you mean 'user-metrics'?"),
        (["check", "--endpoint", "sessions", "cached"], "the endpoints are 'user-metrics' and"),
    ],
)
def test_an_unknown_endpoint_is_a_usage_error_with_did_you_mean(
    argv: list[str], meant: str, capsys: Capture, monkeypatch: Patch
) -> None:
    code, out, err = run(argv, capsys, monkeypatch)
    assert (code, out) == (Exit.USAGE, "")
    assert "argument -e/--endpoint: unknown endpoint" in err and meant in err


def test_the_endpoint_may_come_before_the_command_or_without_one(
    capsys: Capture, monkeypatch: Patch
) -> None:
    tag = {"sessions_request_response_rmt": {"session_tag": {"equals": "x"}}}
    for argv in (
        ["-e", "requests", "compile", 'session_tag = "x"'],
        ["--endpoint", "requests", 'session_tag = "x"'],
        ['session_tag = "x"', "-e", "requests"],
    ):
        code, out, _ = run(argv, capsys, monkeypatch)
        assert (code, json.loads(out)) == (0, tag), argv


def test_help_and_completion_offer_the_endpoints(capsys: Capture, monkeypatch: Patch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    _, out, _ = run(["compile", "--help"], capsys, monkeypatch)
    # Python 3.13's argparse writes the choices once (`-e, --endpoint {...}`), 3.11's twice
    assert "--endpoint {user-metrics,requests}" in out and "-e " in out
    script = _completion("bash", capsys, monkeypatch)
    if shutil.which("bash") is None:
        pytest.skip("no bash to run the script")
    assert _bash_complete(script, ["helicone-filter", "compile", "--end"]) == ["--endpoint"]
    found = _bash_complete(script, ["helicone-filter", "fields", "--endpoint", ""])
    assert found == ["user-metrics", "requests"]
    assert _bash_complete(script, ["helicone-filter", "check", "-e", "r"]) == ["requests"]


# -- what was meant: an option misspelled, a filter the shell split or cut --------------------


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["compile", "--prety", "cached"],
            "unrecognized arguments: --prety; did you mean --pretty?",
        ),
        (["--prety", "cached"], "unrecognized arguments: --prety; did you mean --pretty?"),
        (["query", "cached", "--sendd"], "unrecognized arguments: --sendd; did you mean --send?"),
        (["query", "cached", "--limt=5"], "unrecognized arguments: --limt; did you mean --limit?"),
        (
            ["check", "--pretty", "cached"],
            "unrecognized arguments: --pretty (check takes no such option; see "
            "helicone-filter check --help)",
        ),
    ],
)
def test_a_misspelled_option_gets_a_did_you_mean(
    argv: list[str], said: str, capsys: Capture, monkeypatch: Patch
) -> None:
    """`--prety` said only "unrecognized arguments": now the option meant, among those of the
    subcommand (after its name or before it)."""
    code, out, err = run(argv, capsys, monkeypatch)
    assert (code, out) == (Exit.USAGE, "")
    assert err.startswith("usage: helicone-filter ") and err.endswith(
        f"helicone-filter: error: {said}\n"
    )


@pytest.mark.parametrize(
    ("argv", "quoted"),
    [
        (["user_cost", ">=", "5"], "helicone-filter 'user_cost >= 5'"),
        # The shell took the filter's own double quotes too: they are put back.
        (["--pretty", "model", "=", "gpt-4"], """helicone-filter --pretty 'model = "gpt-4"'"""),
        (
            ["compile", "-e", "requests", "model", "=", "gpt-4", "or", "cached"],
            """helicone-filter compile -e requests 'model = "gpt-4" or cached'""",
        ),
        # A filter that its fixes do not mend is given back as it came.
        (
            ["cost", ">=", "5", "and", "model", "=", "x"],
            "helicone-filter 'cost >= 5 and model = x'",
        ),
        (["check", "cost", "!=", "1"], "helicone-filter check 'cost != 1'"),
    ],
)
def test_a_filter_the_shell_split_says_to_quote_it(
    argv: list[str], quoted: str, capsys: Capture, monkeypatch: Patch
) -> None:
    """`helicone-filter user_cost >= 5` (not quoted) said "unrecognized arguments: >= 5": now
    that the shell split the filter, and the command with it in single quotes."""
    code, _, err = run(argv, capsys, monkeypatch)
    assert code == Exit.USAGE
    last = err.splitlines()[-1]
    assert last.startswith("helicone-filter: error: the filter came as ")
    assert "put the filter in single quotes" in last and last.endswith(": " + quoted)


def test_a_filter_cut_by_a_redirection_says_to_quote_it(tmp_path: Path) -> None:
    """`helicone-filter user_cost > 5` makes the shell write a file `5` and run the filter
    `user_cost`; the error did not say why: now a hint names the file and the command with
    the filter in single quotes."""
    done = run_process(["user_cost"], redirect="> 5", cwd=tmp_path)
    assert done.returncode == Exit.BAD_FILTER
    assert done.stderr.decode().splitlines()[-1] == (
        "helicone-filter: hint: standard output goes to a new file '5': the shell took '> 5' "
        "for a redirection (remove that file); put the filter in single quotes: "
        "helicone-filter 'user_cost > 5'"
    )
    done = run_process(["cached"], redirect="> 5", cwd=tmp_path)  # a filter that compiles
    assert (done.returncode, done.stderr) == (Exit.OK, b"")


def test_a_filter_that_ends_in_a_comparison_says_to_quote_it(
    capsys: Capture, monkeypatch: Patch
) -> None:
    code, _, err = run(["compile", "user_cost >"], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER
    assert err.splitlines()[-1] == (
        "helicone-filter: hint: the filter ends in a comparison; if the shell cut it, put the "
        "filter in single quotes: helicone-filter compile 'user_cost > …'"
    )
    _, _, err = run(["compile"], capsys, monkeypatch, stdin="user_cost >")  # not from the shell
    assert "hint: the filter ends in a comparison" not in err


def test_a_bad_filter_sent_to_a_file_on_purpose_gets_no_quoting_hint(tmp_path: Path) -> None:
    done = run_process(["modle = 1"], redirect="> out.json", cwd=tmp_path)
    assert done.returncode == Exit.BAD_FILTER and b"hint: standard output" not in done.stderr
