"""The command line: `main(argv)` in-process, and the installed console script once for real."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helicone_filter.cli import main
from helicone_filter.cli.exits import Exit

CACHED = {"request_response_rmt": {"cached": {"equals": True}}}


def run(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_compile_argument(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(["compile", "cached"], capsys, monkeypatch)
    assert (code, json.loads(out), err) == (0, CACHED, "")


def test_compile_is_the_default_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["cached"], capsys, monkeypatch)
    assert (code, json.loads(out)) == (0, CACHED)


@pytest.mark.parametrize("argv", [["compile"], ["compile", "-"], ["-"], []])
def test_stdin(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(argv, capsys, monkeypatch, stdin="cached\n")
    assert (code, json.loads(out)) == (0, CACHED)


def test_bad_filter_goes_to_stderr_with_the_caret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(["compile", 'modle = "x"'], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER == 1
    assert out == ""
    assert err == (
        "helicone-filter: error: line 1, column 1: unknown field 'modle'\n"
        '  modle = "x"\n'
        "  ^^^^^\n"
        "  hint: did you mean 'model'?\n"
    )


def test_now_and_nesting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        [
            "compile",
            "--now",
            "2025-01-02T00:00:00Z",
            "--nesting",
            "right",
            "request_created_at > now - 1d and cached and threat",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0
    result = json.loads(out)
    assert result["left"] == {
        "request_response_rmt": {"request_created_at": {"gt": "2025-01-01T00:00:00.000Z"}}
    }
    assert result["right"]["left"] == CACHED


def test_pretty_and_compact(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, pretty, _ = run(["compile", "--pretty", "cached"], capsys, monkeypatch)
    _, compact, _ = run(["compile", "--compact", "cached"], capsys, monkeypatch)
    assert pretty.count("\n") > 1 and json.loads(pretty) == CACHED
    assert compact == '{"request_response_rmt":{"cached":{"equals":true}}}\n'


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["compile", "--now", "yesterday", "cached"], "--now 'yesterday'"),
        (["compile", "--nesting", "left", "cached"], "invalid choice"),
        (["compile", "--bogus", "cached"], "unrecognized arguments"),
        (["compile", "a", "b"], "unrecognized arguments"),
        (["query", "--sort", "costs", "cached"], "did you mean 'cost'?"),
        (["query", "--sort", "cost:up", "cached"], "write cost:asc or cost:desc"),
        (["query", "--since", "yesterday", "cached"], "'yesterday' is not a time"),
        (["query", "--since", "1d", "--until", "2d", "cached"], "before it starts"),
        (["query", "--limit", "0", "cached"], "'0' is not a number of users per page: give 1 or"),
        (["query", "--offset", "-1", "cached"], "'-1' is not a number of users to skip: give 0 or"),
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


def _script() -> str:
    path = Path(sys.executable).parent / "helicone-filter"
    assert path.exists(), "the console script is installed with the package"
    return str(path)


def test_installed_console_script() -> None:
    done = subprocess.run(
        [_script(), "compile", "user_cost > 5"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, json.loads(done.stdout)) == (
        0,
        {"users_view": {"user_cost": {"gt": 5}}},
    )

    done = subprocess.run([_script()], input="cached", capture_output=True, text=True, check=False)
    assert (done.returncode, json.loads(done.stdout)) == (0, CACHED)

    done = subprocess.run([_script(), "user_cost >"], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(
        "helicone-filter: error: line 1, column 12: the filter ends too early"
    )
    assert "Traceback" not in done.stderr

    done = subprocess.run([_script(), "--nope"], capture_output=True, text=True, check=False)
    assert done.returncode == 2


def test_bytes_that_are_not_utf8() -> None:
    done = subprocess.run([_script()], input=b"model = '\xff'", capture_output=True, check=False)
    assert done.returncode == 1
    assert done.stderr == b"helicone-filter: error: the input is not UTF-8: byte 9 is 0xff\n"
    # From argv, Python hands undecodable bytes over as lone surrogates.
    done = subprocess.run([_script(), b"model = '\xff'"], capture_output=True, check=False)
    assert done.returncode == 1
    assert b"lone surrogate" in done.stderr and b"Traceback" not in done.stderr


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "helicone_filter", "compile", "cached"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, json.loads(done.stdout)) == (0, CACHED)


# -- fmt and check ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "stdin", "expected"),
    [
        (["fmt", 'NOT (cost>1 AND model == "a")'], "", 'cost <= 1 or model != "a"\n'),
        (
            ["fmt"],
            '{"users_view": {"user_cost": {"gt": 5, "lt": 9}}}',
            "user_cost > 5 and user_cost < 9\n",
        ),
        (["fmt", "-"], '"all"', "all\n"),
        (
            ["fmt", "--as-written", "request_created_at > now-7d and not cached"],
            "",
            "request_created_at > now - 7d and not cached = true\n",
        ),
        (
            ["fmt", "--now", "2025-01-02T00:00:00Z", "request_created_at > now-1d"],
            "",
            'request_created_at > "2025-01-01T00:00:00.000Z"\n',
        ),
    ],
)
def test_fmt(
    argv: list[str],
    stdin: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run(argv, capsys, monkeypatch, stdin=stdin)
    assert (code, out, err) == (0, expected, "")


@pytest.mark.parametrize(
    ("argv", "stdin", "needle"),
    [
        (
            ["fmt", '{"users_view": {"usr_cost": {"gt": 5}}}'],
            "",
            "$.users_view.usr_cost: users_view has no column 'usr_cost'",
        ),
        (["fmt", "{not json"], "", "the input is not valid JSON"),
        (["fmt", "modle = 1"], "", "unknown field 'modle'"),
    ],
)
def test_fmt_errors(
    argv: list[str],
    stdin: str,
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run(argv, capsys, monkeypatch, stdin=stdin)
    assert code == 1 and out == ""
    assert needle in err


def test_check_text_and_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["check", "cached"], capsys, monkeypatch)
    assert (code, out) == (0, "ok: no problems\n")
    code, out, _ = run(["check", 'model contains "gpt_4"'], capsys, monkeypatch)
    assert code == 0
    assert out.startswith("warning: line 1, column 1: 'gpt_4' holds % or _")
    code, out, _ = run(["check", 'modle = "x"'], capsys, monkeypatch)
    assert code == 1 and out.startswith("line 1, column 1: unknown field 'modle'")
    code, out, _ = run(
        ["check"], capsys, monkeypatch, stdin='{"users_view": {"user_cost": {"gt": "5x"}}}'
    )
    assert code == 1
    assert out.startswith("$.users_view.user_cost.gt: user_cost takes a number, not a string")
    code, out, _ = run(
        ["check"], capsys, monkeypatch, stdin='{"users_view": {"user_cost": {"gt": "5"}}}'
    )
    assert code == 0
    assert out.startswith("warning: $.users_view.user_cost.gt: user_cost takes a number; Helicone")


def test_check_json_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["check", "--error-format", "json", "{}"], capsys, monkeypatch)
    assert code == 0
    (problem,) = json.loads(out)
    assert (
        problem["code"] == "empty-filter"
        and problem["severity"] == "warning"
        and problem["path"] == "$"
    )
    code, out, _ = run(["check", "--error-format", "json", "usr_cost > 5"], capsys, monkeypatch)
    assert code == 1
    (problem,) = json.loads(out)
    assert (problem["code"], problem["start"], problem["end"], problem["hint"]) == (
        "unknown-field",
        0,
        8,
        "did you mean 'user_cost'?",
    )


# -- compile --lines ----------------------------------------------------------------------------


def test_lines_mixes_good_and_bad(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = "cached\n\n# a comment\n  # another\nmodle = 1\nuser_cost > 5\n"
    code, out, err = run(["compile", "--lines"], capsys, monkeypatch, stdin=stdin)
    assert code == 1 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0] == CACHED
    assert rows[1]["line"] == 5
    assert rows[1]["error"]["problems"][0]["code"] == "unknown-field"
    assert rows[2] == {"users_view": {"user_cost": {"gt": 5}}}
    assert len(rows) == 3


def test_lines_all_good_exits_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["compile", "--lines", "cached\nthreat"], capsys, monkeypatch)
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()][1] == {
        "request_response_rmt": {"threat": {"equals": True}}
    }


def test_lines_stream_through_the_console_script() -> None:
    """Each result is written as soon as its line arrives, before stdin closes."""
    proc = subprocess.Popen(
        [_script(), "compile", "--lines"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("cached\n")
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline()) == CACHED  # read while stdin is still open
    proc.stdin.write("modle = 1\n")
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["line"] == 2
    proc.stdin.buffer.write(b"\xff\n")  # type: ignore[attr-defined]
    proc.stdin.close()
    assert json.loads(proc.stdout.readline())["error"]["message"] == "the line is not UTF-8"
    assert proc.wait(timeout=30) == 1
