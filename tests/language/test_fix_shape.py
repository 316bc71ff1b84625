"""One shape of a fix-it everywhere: `Problem.fixes`, a diagnostic's fixes, the command line's
JSON and the service's are `Fix` objects (start, end, replacement, and the UTF-16 offsets);
and the problems of JSON input have no line or column."""

from __future__ import annotations

import json

import pytest
from command_line import run
from conftest import NOW

import helicone_filter
from helicone_filter import FilterValidationError, Fix
from helicone_filter.diagnostics import apply_fix, as_json
from helicone_filter.errors import make_problem

ASTRAL = 'model = "\U0001f600" and modle = 1'
FIX = {"start": 16, "end": 21, "replacement": "model", "start_utf16": 17, "end_utf16": 22}


def test_a_problem_carries_fix_objects() -> None:
    with pytest.raises(FilterValidationError) as info:
        helicone_filter.compile(ASTRAL, now=NOW)
    (problem,) = info.value.problems
    (fix,) = problem.fixes
    assert isinstance(fix, Fix) and fix.as_dict() == FIX
    assert problem.as_dict()["fixes"] == [FIX]
    assert fix.apply(ASTRAL) == 'model = "\U0001f600" and model = 1'


def test_a_diagnostic_carries_the_same_fix() -> None:
    (d,) = helicone_filter.diagnose(ASTRAL, now=NOW)
    assert d.fixes == (Fix(**FIX),)
    assert as_json([d])[0]["fixes"] == [FIX]
    assert apply_fix(ASTRAL, d.fixes[0]) == d.fixes[0].apply(ASTRAL)


def test_a_fix_of_a_problem_after_a_syntax_error_is_placed_in_the_whole_text() -> None:
    text = "\U0001f600 = 1 or modle = 1 and cost => 5"
    fixes = {d.code: d.fixes for d in helicone_filter.diagnose(text, now=NOW)}
    (fix,) = fixes["unknown-field"]
    assert (text[fix.start : fix.end], fix.replacement) == ("modle", "model")
    assert (fix.start_utf16, fix.end_utf16) == (fix.start + 1, fix.end + 1)


def test_edits_made_together_are_one_fix() -> None:
    text = "model = \u201cgpt\u201d"
    (d,) = helicone_filter.diagnose(text, now=NOW)
    (fix,) = d.fixes
    assert (fix.start, fix.end, fix.replacement) == (8, 13, '"gpt"')
    problem = make_problem(
        "ab cd ef", "unknown-field", "?", 0, 8, fixes=(((6, 8, "x"), (0, 2, "y")),)
    )
    assert problem.fixes == (Fix(0, 8, "y cd x", 0, 8),)


def test_the_command_line_writes_fix_objects(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, err = run(["compile", "--error-format", "json", ASTRAL], capsys, monkeypatch)
    (problem,) = json.loads(err)["error"]["problems"]
    assert problem["fixes"] == [FIX]
    _, out, _ = run(["check", "--error-format", "json", ASTRAL], capsys, monkeypatch)
    (problem,) = json.loads(out)
    assert problem["fixes"] == [FIX]


def test_json_problems_have_no_line_or_column(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (p,) = helicone_filter.check({"users_view": {"usr_cost": {"gt": 1}}})
    assert (p.start, p.end, p.line, p.column, p.path) == (0, 0, None, None, "$.users_view.usr_cost")
    node = '{"users_view": {"usr_cost": {"gt": 1}}}'
    _, out, _ = run(["check", "--error-format", "json", node], capsys, monkeypatch)
    (problem,) = json.loads(out)
    assert (problem["line"], problem["column"], problem["fixes"]) == (None, None, [])
    with pytest.raises(FilterValidationError) as info:
        helicone_filter.normalize({"users_view": {"usr_cost": {"gt": 1}}})
    assert str(info.value).startswith("$.users_view.usr_cost: users_view has no column")
