"""The command line for pipes and people: query, fields, explain, error formats, colours,
--lines for every subcommand that takes it, and the shell's expectations (pipes closed early,
Ctrl-C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import NOW
from openapi_schema_validator import OAS30Validator
from test_cli import _script, run

from helicone_filter import compile_with_spans
from helicone_filter.api.outputs import query_body
from helicone_filter.backends.request_body import QueryError, parse_sort, parse_time
from helicone_filter.cli.commands import SUBCOMMANDS, Exit
from helicone_filter.facts.schema import FIELD_NOTES, FIELD_OPERATORS, FIELDS, SORT_KEYS
from helicone_filter.frontends.models import UserMetricsQueryParams

SPEC = yaml.safe_load(
    (Path(__file__).parent / "spec" / "user-metrics-query.openapi.yaml").read_text("utf-8")
)
NOW_TEXT = "2025-06-01T12:00:00Z"  # conftest's NOW


def _body_validator() -> OAS30Validator:
    schema = {"$ref": "#/components/schemas/UserMetricsQueryParams", **SPEC}
    return OAS30Validator(schema)


def _assert_valid_body(body: dict[str, Any]) -> None:
    _body_validator().validate(body)
    UserMetricsQueryParams.model_validate(body)


# -- query ----------------------------------------------------------------------------------


def test_query_defaults(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(["query", "user_cost > 5"], capsys, monkeypatch)
    assert (code, err) == (0, "")
    body = json.loads(out)
    assert body == {"filter": {"users_view": {"user_cost": {"gt": 5}}}, "offset": 0, "limit": 100}
    _assert_valid_body(body)


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
    _assert_valid_body(body)


def test_query_takes_filter_json_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    node = {"users_view": {"user_cost": {"gt": 5}}}
    code, out, _ = run(["query", "--sort", "none"], capsys, monkeypatch, stdin=json.dumps(node))
    assert code == 0
    body = json.loads(out)
    assert body["filter"] == node and body["sort"] == {}
    _assert_valid_body(body)
    code, out, err = run(["query"], capsys, monkeypatch, stdin='{"users_view": {"usr": {}}}')
    assert code == Exit.BAD_FILTER and out == "" and "usr" in err


@pytest.mark.parametrize(
    ("text", "seconds_before_now"),
    [("now", 0), ("NOW - 2h", 7200), ("now-30m", 1800), ("3w", 3 * 604_800), ("15s", 15)],
)
def test_parse_time_relative(text: str, seconds_before_now: int) -> None:
    assert (NOW - parse_time(text, NOW)).total_seconds() == seconds_before_now


def test_parse_time_absolute() -> None:
    assert parse_time("2025-01-31", NOW).isoformat() == "2025-01-31T00:00:00+00:00"
    assert parse_time("1738281600", NOW).isoformat() == "2025-01-31T00:00:00+00:00"
    assert parse_time("2025-01-31T02:00+02:00", NOW).isoformat() == "2025-01-31T00:00:00+00:00"
    with pytest.raises(QueryError, match="before the year 1"):
        parse_time("now - 99999999999w", NOW)


def test_parse_sort() -> None:
    assert parse_sort("last_active") == {"last_active": "asc"}
    assert parse_sort("cost:DESC") == {"cost": "desc"}
    assert parse_sort("None") == {}
    assert set(SORT_KEYS) == set(SPEC["components"]["schemas"]["SortLeafUsers"]["properties"])


def test_query_body_library() -> None:
    body = query_body("all", sort={"cost": "asc"}, since="2025-01-01", now=NOW)
    assert body["filter"] == "all" and body["sort"] == {"cost": "asc"}
    assert body["timeFilter"]["endTimeUnixSeconds"] == int(NOW.timestamp())
    _assert_valid_body(body)
    with pytest.raises(QueryError, match="one key only"):
        query_body("cached", sort={"cost": "asc", "id": "desc"})
    with pytest.raises(QueryError, match="aware"):
        query_body("cached", since=NOW.replace(tzinfo=None))


# -- fields and explain ---------------------------------------------------------------------


def test_fields_table(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["fields"], capsys, monkeypatch)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["FIELD", "TABLE", "TYPE", "OPERATORS"]
    rows = {line.split()[0]: line for line in lines[1 : 1 + len(FIELDS)]}
    assert set(rows) == set(FIELDS)
    assert rows["cached"].split(None, 3)[1:] == ["request_response_rmt", "boolean", "=, !="]


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


def test_compile_with_spans_maps_every_leaf() -> None:
    text = 'user_cost > 1 and not (request_created_at != "2025-01-01" or model in ["a"])'
    result, spans = compile_with_spans(text, now=NOW)
    assert [(path, text[start:end]) for path, start, end in spans] == [
        (("left",), "user_cost > 1"),
        (("right", "left"), 'request_created_at != "2025-01-01"'),
        (("right", "right"), 'model in ["a"]'),
    ]
    assert isinstance(result, dict)
    assert result["right"]["left"] == {
        "request_response_rmt": {"request_created_at": {"equals": "2025-01-01T00:00:00.000Z"}}
    }


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


def test_pretty_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    _, out, _ = run(["cached"], capsys, monkeypatch)
    assert out.startswith('{\n  "request_response_rmt"')
    _, out, _ = run(["compile", "--compact", "cached"], capsys, monkeypatch)
    assert out.count("\n") == 1


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run([command, "--help"], capsys, monkeypatch)
    assert code == 0
    assert f"examples:\n  helicone-filter {command}" in out


# -- --lines for fmt and check ---------------------------------------------------------------


def test_fmt_lines(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = 'NOT cost > 1\n\n# skip\n{"users_view": {"user_cost": {"gt": 5}}}\nmodle = 1\n'
    code, out, _ = run(["fmt", "--lines"], capsys, monkeypatch, stdin=stdin)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert rows[:2] == ["cost <= 1", "user_cost > 5"]
    assert rows[2]["line"] == 5 and rows[2]["error"]["problems"][0]["code"] == "unknown-field"


def test_check_lines(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = 'cached\nmodel contains "a_b"\n'
    code, out, _ = run(["check", "--lines"], capsys, monkeypatch, stdin=stdin)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0  # a warning is not an error
    assert rows[0] == {"line": 1, "problems": []}
    assert rows[1]["problems"][0]["code"] == "contains-wildcard"
    code, out, _ = run(["check", "--lines", "cached\nusr = 1"], capsys, monkeypatch)
    assert code == 1
    assert json.loads(out.splitlines()[1])["problems"][0]["code"] == "unknown-field"


# -- the installed script, as a shell runs it -------------------------------------------------


def test_a_reader_that_goes_away_ends_it_quietly() -> None:
    """`helicone-filter compile --lines < many | head -1`: no traceback, SIGPIPE's exit code."""
    lines = "".join(f"user_cost > {i}\n" for i in range(200_000)).encode()
    proc = subprocess.Popen(
        [_script(), "compile", "--lines"],
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
        [_script(), "compile", "--lines"],
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


def test_query_through_the_console_script_in_a_pipe() -> None:
    done = subprocess.run(
        [_script(), "query", "--sort", "cost:desc", "-"],
        input="user_cost > 5",
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0
    assert done.stdout.count("\n") == 1  # compact in a pipe
    _assert_valid_body(json.loads(done.stdout))


def test_lines_throughput_is_not_a_test_of_time() -> None:
    """(Throughput is measured by benchmarks/bench.py; here only that a large input works.)"""
    text = "".join(f"latency > {i} and cached\n" for i in range(5_000))
    started = time.perf_counter()
    done = subprocess.run(
        [_script(), "compile", "--lines"], input=text, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.count("\n") == 5_000
    assert time.perf_counter() > started


def test_lines_in_worker_processes_keep_the_order() -> None:
    """A large input is shared among worker processes; the output is what one process gives."""
    lines = [
        f"user_cost > {i}" if i % 997 else f"usr_cost > {i}"  # a bad line now and then
        for i in range(6_000)
    ]
    text = "\n".join(lines) + "\n"
    outputs = []
    for jobs in ("1", "2", "3"):
        done = subprocess.run(
            [_script(), "compile", "--lines", "--jobs", jobs],
            input=text,
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stderr) == (1, "")
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    rows = [json.loads(line) for line in outputs[0].splitlines()]
    assert len(rows) == 6_000
    assert rows[997]["line"] == 998 and rows[998] == {"users_view": {"user_cost": {"gt": 998}}}


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


def test_compile_with_spans_checks_its_arguments_as_compile_does() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        compile_with_spans("cached", now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="nesting"):
        compile_with_spans("cached", nesting="left")  # type: ignore[arg-type]


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
