"""Each subcommand, run in this process with `main(argv)`: compile (from an argument or standard
input, every mistake with its caret, its warnings), fmt, check, explain, fields, sql and query,
what each prints and the problems it reports."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from command_line import (
    CACHED,
    NOW_TEXT,
    TWO_MISTAKES,
    TWO_MISTAKES_SHOWN,
    WILDCARD,
    WILDCARD_JSON,
    WILDCARD_SHOWN,
    Capture,
    Patch,
    console_script,
    run,
)
from conftest import NOW, assert_valid_query_body

from helicone_filter.api.diagnosis import diagnose
from helicone_filter.cli import main
from helicone_filter.cli.exits import Exit
from helicone_filter.facts.schema import FIELD_NOTES, FIELD_OPERATORS, FIELDS


def test_compile_argument(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(["compile", "cached"], capsys, monkeypatch)
    assert (code, json.loads(out), err) == (0, CACHED, "")


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
        [console_script()], input=("cached and" + ending).encode(), capture_output=True, check=False
    )
    assert (done.returncode, done.stderr.decode()) == (Exit.BAD_FILTER, expected)
    code, out, err = run(["check"], capsys, monkeypatch, stdin="cached and" + ending)
    assert out.startswith("error: line 1, column 11: the filter ends too early")


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


@pytest.mark.hostile
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
    assert code == 1 and out.startswith("error: line 1, column 1: unknown field 'modle'")
    code, out, _ = run(
        ["check"], capsys, monkeypatch, stdin='{"users_view": {"user_cost": {"gt": "5x"}}}'
    )
    assert code == 1
    assert out.startswith("error: $.users_view.user_cost.gt: user_cost takes a number, not a str")
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


def test_check_lists_every_mistake(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, _ = run(["check", TWO_MISTAKES], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER
    assert out == re.sub(r"^helicone-filter: ", "", TWO_MISTAKES_SHOWN, flags=re.M)
    code, out, _ = run(["check", "--error-format", "json", TWO_MISTAKES], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER
    assert [(p["code"], p["column"]) for p in json.loads(out)] == [
        ("unknown-field", 1),
        ("unknown-operator", 20),
    ]
    code, out, _ = run(["check", "--lines"], capsys, monkeypatch, stdin=TWO_MISTAKES + "\n")
    assert code == Exit.BAD_FILTER
    assert len(json.loads(out)["problems"]) == 2


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


# -- query ----------------------------------------------------------------------------------


def test_query_defaults(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(["query", "user_cost > 5"], capsys, monkeypatch)
    assert (code, err) == (0, "")
    body = json.loads(out)
    assert body == {"filter": {"users_view": {"user_cost": {"gt": 5}}}, "offset": 0, "limit": 100}
    assert_valid_query_body(body)


def test_query_every_option(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = [
        "query",
        "--now", NOW_TEXT,
        "--limit", "20",
        "--offset", "40",
        "--sort", "cost:desc",
        "--since", "7d",
        "--until", "now - 1d",
        "--tz-offset", "-120",
        "model = 'gpt-4o' and user_cost > 1",
    ]  # fmt: skip
    code, out, _ = run(argv, capsys, monkeypatch)
    assert code == 0
    body = json.loads(out)
    day = 86_400
    end = int(NOW.timestamp())
    assert body["timeFilter"] == {
        "startTimeUnixSeconds": end - 7 * day,
        "endTimeUnixSeconds": end - day,
    }
    assert (body["limit"], body["offset"], body["sort"]) == (20, 40, {"cost": "desc"})
    assert body["timeZoneDifferenceMinutes"] == -120
    assert_valid_query_body(body)


def test_query_takes_filter_json_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    node = {"users_view": {"user_cost": {"gt": 5}}}
    code, out, _ = run(["query", "--sort", "none"], capsys, monkeypatch, stdin=json.dumps(node))
    assert code == 0
    body = json.loads(out)
    assert body["filter"] == node and body["sort"] == {}
    assert_valid_query_body(body)
    code, out, err = run(["query"], capsys, monkeypatch, stdin='{"users_view": {"usr": {}}}')
    assert code == Exit.BAD_FILTER and out == "" and "usr" in err


def test_query_through_the_console_script_in_a_pipe() -> None:
    done = subprocess.run(
        [console_script(), "query", "--sort", "cost:desc", "-"],
        input="user_cost > 5",
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0
    assert done.stdout.count("\n") == 1  # compact in a pipe
    assert_valid_query_body(json.loads(done.stdout))


# -- fields and explain ---------------------------------------------------------------------


def test_fields_table(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["fields"], capsys, monkeypatch)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["FIELD", "TABLE", "TYPE", "OPERATORS"]
    rows = {line.split()[0]: line for line in lines[1 : 1 + 2 * len(FIELDS) : 2]}
    assert set(rows) == set(FIELDS)  # each field's row, and under it what the field is
    assert rows["cached"].split(None, 3)[1:] == ["request_response_rmt", "boolean", "=, !="]
    assert all(line.startswith("    ") for line in lines[2 : 2 + 2 * len(FIELDS) : 2])


def test_fields_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["fields", "--json"], capsys, monkeypatch)
    assert code == 0
    rows = json.loads(out)
    assert [r["field"] for r in rows] == list(FIELDS)
    for r in rows:
        f = FIELDS[r["field"]]
        assert (r["table"], r["operators"]) == (f.table, list(FIELD_OPERATORS[f.name]))
        assert (r["helicone"] != "") is (f.name in FIELD_NOTES)


def test_explain(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = 'not (cost > 1 or cached) and model in ["a", "b"]'
    code, out, _ = run(["explain", text], capsys, monkeypatch)
    assert code == 0
    assert out == (  # three operands, balanced: {a, {b, c}}
        "and\n"
        "├─ cost <= 1          ← cost > 1\n"
        "└─ and\n"
        "   ├─ cached = false  ← cached\n"
        "   └─ or\n"
        '      ├─ model = "a"  ← model in ["a", "b"]\n'
        '      └─ model = "b"  ← model in ["a", "b"]\n'
    )
    code, out, _ = run(["explain", ""], capsys, monkeypatch)
    assert (code, out) == (0, "all  (matches every user)\n")
    code, _, err = run(["explain", "cost >"], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER and "ends too early" in err


# -- sql ------------------------------------------------------------------------------------


def test_sql(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(
        ["sql", "--now", NOW_TEXT, 'model ilike "gpt%" and request_created_at > now - 1d'],
        capsys,
        monkeypatch,
    )
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "sql": "`model` ILIKE {p0:String} AND `request_created_at` > {p1:DateTime('UTC')}",
        "params": {"p0": "gpt%", "p1": "2025-05-31 12:00:00"},
    }


def test_sql_table_map_and_json_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["sql", "--table-map", "users_view=users", "--table-map", "user_cost = cost_usd"]
    code, out, err = run(argv, capsys, monkeypatch, '{"users_view": {"user_cost": {"gt": 5}}}')
    assert (code, err) == (0, "")
    assert json.loads(out)["sql"] == "`users`.`cost_usd` > {p0:Int64}"


def test_sql_says_what_helicone_drops(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    leaf = '{"users_view": {"user_cost": {"gt": 5, "lt": 1}}}'
    code, out, err = run(["sql", leaf], capsys, monkeypatch)
    assert (code, json.loads(out)["params"]) == (0, {"p0": 5})
    assert err == (
        "helicone-filter: warning: $.users_view.user_cost: user_cost has 2 operators; "
        "Helicone uses only the first, 'gt'\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--table-map", "model"], "--table-map takes KEY=NAME, not 'model'"),
        (["--table-map", "modle=m"], "'modle' is neither a table"),
        (["--table-map", "model="], "must be a non-empty string"),
    ],
)
def test_sql_bad_table_map(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    code, out, err = run(["sql", *argv, "cached"], capsys, monkeypatch)
    assert (code, out) == (Exit.USAGE, "")
    assert message in err


def test_sql_bad_filter(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(["sql", 'model like "50\\\\"'], capsys, monkeypatch)
    assert (code, out) == (Exit.BAD_FILTER, "")
    assert "lone backslash" in err


# -- --quiet does no work for the warnings it does not print ---------------------------------

SLIPS = "cost > 1 and cost > 2 and model contains 'gpt_4'"  # redundant; a wildcard


@pytest.mark.parametrize(
    "argv",
    [
        ["compile", SLIPS],
        ["query", SLIPS],
        ["explain", SLIPS],
        ["fmt", "--simplify", SLIPS],
        ["fmt", SLIPS],
        ["sql", SLIPS],
        ["compile", "--lines", "--jobs", "1"],
    ],
    ids=["compile", "query", "explain", "fmt-simplify", "fmt", "sql", "compile-lines"],
)
def test_quiet_looks_for_no_warnings(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --quiet, compile ran the analysis and read the warnings of every condition, and
    dropped them. Now neither runs: any call of either fails the test. Without --quiet the
    same commands call them (so that the trap is known to work)."""
    import importlib

    analysis = importlib.import_module("helicone_filter.backends.analysis")
    compiler = importlib.import_module("helicone_filter.api.text")
    lower = importlib.import_module(
        "helicone_filter.frontends.lowering"
    )  # (the package has a lower())

    calls: list[str] = []

    def trap(name: str, real: Any) -> Any:
        def called(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return real(*args, **kwargs)

        return called

    monkeypatch.setattr(analysis, "analysis_problems", trap("analysis", analysis.analysis_problems))
    for module in (lower, compiler):
        monkeypatch.setattr(
            module, "lower_with_warnings", trap("warnings", lower.lower_with_warnings)
        )
    code, out, err = run([*argv, "--quiet"], capsys, monkeypatch, stdin=SLIPS + "\n")
    assert (code, err, calls) == (Exit.OK, "", [])
    assert out
    code, _, err = run(argv, capsys, monkeypatch, stdin=SLIPS + "\n")
    assert code == Exit.OK and "warning" in err
    assert "warnings" in calls
    if argv[0] in ("compile", "query", "explain"):
        assert "analysis" in calls


# -- query --endpoint requests: RequestQueryParams ----------------------------------------------


def test_query_requests_every_option(capsys: Capture, monkeypatch: Patch) -> None:
    from helicone_filter.frontends.models import RequestQueryParams

    argv = [
        "query", "-e", "requests",
        "--now", NOW_TEXT,
        "--limit", "0",
        "--offset", "40",
        "--sort", "properties.env:desc",
        "--since", "7d",
        "--is-scored",
        'model = "gpt-4o" or status = 500',
    ]  # fmt: skip
    code, out, err = run(argv, capsys, monkeypatch)
    assert (code, err) == (0, "")
    body = json.loads(out)
    assert (body["limit"], body["offset"]) == (0, 40)
    assert body["sort"] == {"properties": {"env": "desc"}} and body["isScored"] is True
    assert body["filter"]["right"]["right"] == {
        "request_response_rmt": {"request_created_at": {"lte": "2025-06-01T12:00:00.000Z"}}
    }
    RequestQueryParams.model_validate(body)
    code, out, _ = run(
        ["query", "--endpoint", "requests", "--no-is-scored", "all"], capsys, monkeypatch
    )
    assert json.loads(out) == {"filter": "all", "offset": 0, "limit": 100, "isScored": False}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--limit", "1001"], "give 0 to 1000 (Helicone answers HTTP 500"),
        (["--limit", "-1"], "'-1' is not a number of requests per page: give 0 to 1000"),
        (["--offset", "x"], "'x' is not a number of requests to skip"),
        (["--sort", "is_cached"], "the query fails and Helicone answers an empty page"),
        (["--sort", "last_active:desc"], "orders by request_created_at desc"),
        (["--sort", "properties.my-key"], "HTTP 500"),
        (["--sort", "none"], "always order"),
        (["--tz-offset", "60"], "--tz-offset applies to the user-metrics endpoint"),
    ],
)
def test_query_requests_refusals(
    argv: list[str], message: str, capsys: Capture, monkeypatch: Patch
) -> None:
    code, out, err = run(["query", "-e", "requests", *argv, "all"], capsys, monkeypatch)
    assert (code, out) == (Exit.USAGE, "")
    assert message in err


def test_query_users_refuse_the_requests_options(capsys: Capture, monkeypatch: Patch) -> None:
    code, _, err = run(["query", "--is-scored", "all"], capsys, monkeypatch)
    assert code == Exit.USAGE and "--is-scored applies to the requests endpoint" in err
    code, _, err = run(["query", "-e", "requests", "user_cost > 5"], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER and "user-metrics endpoint" in err


def test_query_requests_warns_for_its_own_fields(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, err = run(["query", "-e", "requests", 'session_tag = "x"'], capsys, monkeypatch)
    assert (code, err) == (0, "")
    assert json.loads(out)["filter"] == {
        "sessions_request_response_rmt": {"session_tag": {"equals": "x"}}
    }


# -- the endpoint: each command reads the filter for the endpoint asked for -------------------

TAG = 'session_tag = "x"'
TAG_JSON = {"sessions_request_response_rmt": {"session_tag": {"equals": "x"}}}
OTHER_ENDPOINT = "user_cost is a field of the user-metrics endpoint (users_view)"


def test_compile_for_the_requests_endpoint(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, err = run(["compile", "-e", "requests", TAG], capsys, monkeypatch)
    assert (code, json.loads(out), err) == (0, TAG_JSON, "")
    # the same text is refused on the default endpoint, and user_cost on the requests one
    code, _, err = run(["compile", TAG], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER and "session_tag is a field of the requests endpoint" in err
    code, _, err = run(["compile", "-e", "requests", "user_cost > 5"], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER and OTHER_ENDPOINT in err
    assert "--endpoint user-metrics" in err  # the hint names the option


def test_check_fmt_sql_and_explain_take_the_endpoint(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, _ = run(["check", "-e", "requests", TAG], capsys, monkeypatch)
    assert (code, out) == (0, "ok: no problems\n")
    code, out, _ = run(
        ["check", "-e", "requests", "--error-format", "json", json.dumps(TAG_JSON)],
        capsys,
        monkeypatch,
    )
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = run(["check", "-e", "requests", "user_cost > 5"], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER and OTHER_ENDPOINT in out
    code, out, _ = run(["fmt", "-e", "requests", json.dumps(TAG_JSON)], capsys, monkeypatch)
    assert (code, out) == (0, TAG + "\n")
    code, out, _ = run(["fmt", "-e", "requests", "--as-written", TAG], capsys, monkeypatch)
    assert (code, out) == (0, TAG + "\n")
    code, out, _ = run(["sql", "-e", "requests", "--compact", TAG], capsys, monkeypatch)
    assert code == 0 and json.loads(out)["params"] == {"p0": "x"}
    code, out, _ = run(["explain", "-e", "requests", f"{TAG} or cached"], capsys, monkeypatch)
    assert code == 0 and out.startswith("or\n") and "session_tag = " in out
    code, _, err = run(["sql", TAG], capsys, monkeypatch)
    assert code == Exit.BAD_FILTER and "session_tag" in err


def test_lines_read_each_line_for_the_endpoint(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, _ = run(
        ["compile", "--lines", "-e", "requests", "--jobs", "1"],
        capsys,
        monkeypatch,
        stdin=f"{TAG}\nuser_cost > 5\n",
    )
    first, second = map(json.loads, out.splitlines())
    assert code == Exit.BAD_FILTER and first == TAG_JSON
    assert second["line"] == 2 and OTHER_ENDPOINT in second["error"]["message"]
    code, out, _ = run(
        ["check", "--lines", "-e", "requests", "--jobs", "1"], capsys, monkeypatch, stdin=TAG
    )
    assert (code, json.loads(out)) == (0, {"line": 1, "problems": []})


def test_fields_of_an_endpoint(capsys: Capture, monkeypatch: Patch) -> None:
    from helicone_filter.facts.schema import field_table

    code, out, _ = run(["fields", "-e", "requests", "--json"], capsys, monkeypatch)
    assert (code, json.loads(out)) == (0, field_table("requests"))
    names = {f["field"] for f in json.loads(out)}
    assert "session_tag" in names and "user_cost" not in names
    code, out, _ = run(["fields", "--endpoint", "requests"], capsys, monkeypatch)
    assert code == 0 and re.search(r"^session_tag +sessions_request_response_rmt +text", out, re.M)
    assert not re.search(r"^user_cost ", out, re.M)
    code, out, _ = run(["fields"], capsys, monkeypatch)
    assert re.search(r"^user_cost +users_view", out, re.M) and "session_tag" not in out


# -- an optional dependency that is not installed: its own exit code ---------------------------


@pytest.mark.parametrize(
    ("module", "argv", "extra"),
    [
        ("httpx", ["query", "--send", "cached"], "client"),
        ("prompt_toolkit", ["repl"], "repl"),
        ("helicone_filter.service.running", ["serve"], "server"),
        ("chdb", ["grep", "--engine", "clickhouse", "status >= 500", "FILE"], "clickhouse"),
    ],
)
def test_a_missing_optional_dependency_has_its_own_exit_code(
    module: str,
    argv: list[str],
    extra: str,
    tmp_path: Any,
    capsys: Capture,
    monkeypatch: Patch,
) -> None:
    """`query --send` without httpx exited 3, the code of "no users came back", `serve`
    without its extra 1, the code of a bad filter; now 78 (EX_CONFIG), in one line that says
    what to install."""
    from helicone_filter.cli import grep_command

    monkeypatch.setitem(sys.modules, module, None)  # import fails, as if not installed
    monkeypatch.setattr(grep_command, "_SESSION", [])
    monkeypatch.setenv("HELICONE_API_KEY", "sk-test")
    exported = tmp_path / "requests.jsonl"
    exported.write_text('{"request_id": "a", "response_status": 500}\n')
    argv = [str(exported) if a == "FILE" else a for a in argv]
    code, out, err = run(argv, capsys, monkeypatch)
    assert (code, out) == (Exit.MISSING_DEPENDENCY, "")
    assert err.startswith("helicone-filter: error: ") and err.count("\n") == 1
    assert f"pip install -e '.[{extra}]'" in err


class _Terminal(io.StringIO):
    """Standard input that is a terminal, the filter typed then Ctrl-D."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("argv", [["compile"], ["check", "-"], ["compile", "--lines"]])
def test_reading_from_a_terminal_says_so_and_how_to_end(
    argv: list[str], capsys: Capture, monkeypatch: Patch
) -> None:
    """`compile` with no filter on a terminal waited in silence: now a line on stderr says
    that it reads the filter from the terminal and how to end it."""
    monkeypatch.setattr(sys, "stdin", _Terminal("cached\n"))
    code = main([*argv, "--jobs", "1"] if "--lines" in argv else argv)
    out, err = capsys.readouterr()
    assert code == Exit.OK and out
    assert err.startswith("helicone-filter: reading the filter from the terminal: type it, then ")
    assert "Ctrl-D" in err and err.count("\n") == 1
    monkeypatch.setattr(sys, "stdin", io.StringIO("cached\n"))  # a pipe: nothing said
    assert main(argv) == Exit.OK and capsys.readouterr().err == ""


@pytest.mark.parametrize("endpoint", ["user-metrics", "requests"])
def test_query_limit_is_refused_past_the_endpoints_range_naming_the_flag(
    endpoint: str, capsys: Capture, monkeypatch: Patch
) -> None:
    """`query --limit 5000` was refused in the words of the Python argument (`limit must be
    ...`): now as the flag `--limit` is, with the endpoint's range from the table of query
    options and why Helicone has it."""
    from helicone_filter.facts.query_options import OPTIONS_BY_ENDPOINT

    row = OPTIONS_BY_ENDPOINT[endpoint]["limit"]
    assert row.low is not None and row.high is not None
    for value in (row.high + 1, 5000, row.low - 1):
        code, out, err = run(
            ["query", "-e", endpoint, "--limit", str(value), "all"], capsys, monkeypatch
        )
        assert (code, out) == (Exit.USAGE, "")
        assert err.splitlines()[-1] == (
            f"helicone-filter: error: argument --limit: '{value}' is not {row.what}: give "
            f"{row.low} to {row.high} ({row.why})"
        )
    code, out, _ = run(
        ["query", "-e", endpoint, "--limit", str(row.high), "all"], capsys, monkeypatch
    )
    assert code == Exit.OK and json.loads(out)["limit"] == row.high


@pytest.mark.parametrize("endpoint", ["user-metrics", "requests"])
@pytest.mark.parametrize("width", [80, 100])
def test_fields_fit_the_terminal(
    endpoint: str, width: int, capsys: Capture, monkeypatch: Patch
) -> None:
    """`fields` printed lines of 150 columns and more, which a terminal wrapped: now the
    operators and notes are wrapped under their column, every operator still shown; in a
    pipe, one line per field as before."""
    from helicone_filter.facts.schema import schema_of

    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = run(["fields", "-e", endpoint], capsys, monkeypatch)
    assert code == Exit.OK
    assert max(map(len, out.splitlines())) < width
    flat = " ".join(out.split())
    for name, operators in schema_of(endpoint).field_operators.items():
        assert f"{name} " in flat and ", ".join(operators) in flat
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    _, piped, _ = run(["fields", "-e", endpoint], capsys, monkeypatch)
    assert max(map(len, piped.splitlines())) > width
