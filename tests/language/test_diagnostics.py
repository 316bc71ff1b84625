"""Diagnostics: what compile reports, with UTF-16 ranges, fix-its that work, several mistakes."""

from __future__ import annotations

import json

import pytest
from conftest import CASES, NOW
from hypothesis import given
from hypothesis import strategies as st
from strategies import any_filter_text

import helicone_filter
from helicone_filter import FilterError
from helicone_filter.api.diagnosis import diagnose
from helicone_filter.diagnostics import apply_fix, as_json

CASES = json.loads((CASES / "compile.json").read_text("utf-8"))
# diagnose reads text as compile does with the default nesting.
BAD = [c for c in CASES["cases"] if "errors" in c and "nesting" not in c]


@pytest.mark.parametrize("case", BAD, ids=[c["text"][:40] for c in BAD])
def test_every_problem_compile_raises_is_diagnosed_with_its_code_and_range(
    case: dict[str, object],
) -> None:
    text = str(case["text"])
    with pytest.raises(FilterError) as raised:
        helicone_filter.compile(text, now=NOW)
    shown = {(d.code, d.start, d.end) for d in diagnose(text, now=NOW)}
    for p in raised.value.problems:
        assert (p.code, p.start, p.end) in shown


# Every kind of fix-it, with what the fixed filter means: the hint proposes a rewrite, and the
# rewrite must compile to what the hint says (never the opposite, as `!= null` once got
# 'is null').
FIXABLE = [
    ('modle = "gpt-4o"', "unknown-field", 'model = "gpt-4o"'),
    ("users_view.usr_cost > 5", "unknown-field", "users_view.user_cost > 5"),
    ("user_view.user_cost > 5", "unknown-table", "users_view.user_cost > 5"),
    ("model = \u201cgpt-4o\u201d", "smart-quote", 'model = "gpt-4o"'),
    ("model = \u2018gpt\u2019", "smart-quote", "model = 'gpt'"),
    ("model = gpt4o", "unquoted-string", 'model = "gpt4o"'),
    ("latency => 5", "unknown-operator", "latency >= 5"),
    ("latency =< 5", "unknown-operator", "latency <= 5"),
    ("latency =! 5", "unknown-operator", "latency != 5"),
    ("latency >< 5", "unknown-operator", "latency != 5"),
    ('model has "x"', "unknown-operator", 'model contains "x"'),
    ('model excludes "x"', "unknown-operator", 'model not contains "x"'),
    ('model notcontains "x"', "unknown-operator", 'model not contains "x"'),
    ('model notin ["x"]', "unknown-operator", 'model not in ["x"]'),
    ('model nin ["x"]', "unknown-operator", 'model not in ["x"]'),
    ('model nequals "x"', "unknown-operator", 'model != "x"'),
    ('model isnt "x"', "unknown-operator", 'model != "x"'),
    ("latency greater 5", "unknown-operator", "latency > 5"),
    ("latency less 5", "unknown-operator", "latency < 5"),
    ("latency gte 5", "unknown-operator", "latency >= 5"),
    ("model notnull", "unknown-operator", "model is not null"),
    ("model isnull", "unknown-operator", "model is null"),
    ("model != null", "unexpected-token", "model is not null"),
    ("model <> NULL", "unexpected-token", "model is not null"),
    ("model = null", "unexpected-token", "model is null"),
    ("model == null", "unexpected-token", "model is null"),
    ("model = empty", "unexpected-token", "model is empty"),
    ('user_cost > "5"', "wrong-value-type", "user_cost > 5"),
    ("model = 5", "wrong-value-type", 'model = "5"'),
    ("properties.env = true", "wrong-value-type", 'properties.env = "true"'),
    ('model like "100\\\\"', "like-trailing-escape", 'model like "100\\\\\\\\"'),
    ("properties.k ilike '\\\\'", "like-trailing-escape", "properties.k ilike '\\\\\\\\'"),
    # where people stumble: a date, a key with a space, an apostrophe, between
    ("request_created_at > 2025-01-01", "unquoted-string", 'request_created_at > "2025-01-01"'),
    (
        "request_created_at >= 2025-01-01T10:00:00Z and cached",
        "unquoted-string",
        'request_created_at >= "2025-01-01T10:00:00Z" and cached',
    ),
    ('properties.my key = "x"', "unexpected-token", 'properties["my key"] = "x"'),
    (
        'request_response_rmt.properties.my big key not contains "x"',
        "unexpected-token",
        'properties["my big key"] not contains "x"',
    ),
    ("model = it's", "unquoted-string", 'model = "it\'s"'),
    ("model = 'it's'", "unexpected-token", 'model = "it\'s"'),
    ("model = 'don't stop' or cached", "unexpected-token", 'model = "don\'t stop" or cached'),
    ("model = gpt-4o", "unquoted-string", 'model = "gpt-4o"'),
    ("latency between 1 and 5", "unknown-operator", "latency >= 1 and latency <= 5"),
    (
        "not latency between 1 and 5 or cached",
        "unknown-operator",
        "not (latency >= 1 and latency <= 5) or cached",
    ),
    (
        "request_created_at between now - 7d and now and cached",
        "unknown-operator",
        "request_created_at >= now - 7d and request_created_at <= now and cached",
    ),
    # the analysis: a condition removed with its joint, its `not` with it
    ("cost > 1 and cost > 2", "redundant", "cost > 2"),
    ("not cached and not cached and status = 1", "duplicate", "not cached and status = 1"),
    ("not (latency > 1 or latency > 2) or cached", "redundant", "not (latency > 1) or cached"),
]


@pytest.mark.parametrize(("text", "code", "meant"), FIXABLE, ids=[c[0] for c in FIXABLE])
def test_each_fix_it_compiles_to_what_its_hint_says(text: str, code: str, meant: str) -> None:
    (d,) = diagnose(text, now=NOW)
    assert d.code == code and d.fixes
    for fix in d.fixes:
        fixed = apply_fix(text, fix)
        assert helicone_filter.compile(fixed, now=NOW) == helicone_filter.compile(meant, now=NOW)
        if d.severity == "error" and code not in ("like-trailing-escape", "smart-quote"):
            # (said in words there)
            # the hint names the rewrite
            assert fix.replacement.strip("'\"") in d.hint, d.hint


def test_every_kind_of_fix_it_is_in_the_table() -> None:
    """The codes whose problems carry fix-its, found over the golden cases, are all above."""
    found = {
        d.code
        for case in CASES["cases"]
        for d in diagnose(str(case["text"]), now=NOW)
        if d.fixes and "nesting" not in case
    }
    assert found <= {code for _, code, _ in FIXABLE}


# Words for operators, as other tools spell them: a suggestion never says the opposite.
NEGATIVE_WORDS = [
    "notlike", "not_like", "nlike", "unlike", "nilike", "notin", "not_in", "nin", "neq", "ne",
    "nequals", "notequal", "isnt", "is_not", "excludes", "exclude", "lacks", "notcontains",
    "containsnot", "notincludes", "doesnotcontain", "noneof", "differs", "notnull", "not_null",
]  # fmt: skip
POSITIVE_WORDS = [
    "eq", "equal", "equalz", "contain", "containz", "contians", "includes", "has", "likee",
    "ilke", "inn", "oneof", "gt", "greater", "above", "less", "below", "atleast", "isnull",
]  # fmt: skip


@pytest.mark.parametrize("word", NEGATIVE_WORDS + POSITIVE_WORDS)
def test_an_operator_word_is_never_answered_with_its_opposite(word: str) -> None:
    text = f'model {word} "x"'
    (d,) = [d for d in diagnose(text, now=NOW) if d.severity == "error"][:1]
    assert d.code in ("unknown-operator", "unexpected-token")
    negative = {"!=", "not contains", "not in", "is not null"}
    for fix in d.fixes:
        assert (fix.replacement in negative) == (word in NEGATIVE_WORDS), (word, fix.replacement)
    if not d.fixes:
        assert word in ("notlike", "not_like", "nlike", "unlike", "nilike", "containsnot")


def test_fix_its_over_all_compile_cases_never_make_things_worse() -> None:
    """Applying a fix-it removes its problem (the filter may have others)."""
    for case in BAD:
        text = str(case["text"])
        for d in diagnose(text, now=NOW):
            for fix in d.fixes:
                after = {(x.code, x.message) for x in diagnose(apply_fix(text, fix), now=NOW)}
                assert (d.code, d.message) not in after, (text, d.code)


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("cost > > 5 and usr_cost > 1", ["unexpected-token", "unknown-field"]),
        ("modle = 1 and cost => 5", ["unknown-field", "unknown-operator"]),
        ('(model = gpt4) or latency > "x" and cached', ["unquoted-string", "wrong-value-type"]),
        ("cost > 1 and model = and status = 200 && usr = 1", ["unexpected-token", "unknown-field"]),
    ],
)
def test_two_mistakes_show_both(text: str, codes: list[str]) -> None:
    assert [d.code for d in diagnose(text, now=NOW) if d.severity == "error"] == codes


def test_warnings_are_diagnosed_too() -> None:
    (d,) = diagnose('model contains "gpt_4"', now=NOW)
    assert (d.severity, d.code, d.fixes) == ("warning", "contains-wildcard", ())


def test_ranges_in_utf16_code_units() -> None:
    text = 'model = "\U0001f600" and modle = "\U0001f600x"'
    d = next(x for x in diagnose(text, now=NOW) if x.code == "unknown-field")
    assert (d.start, d.end) == (16, 21)
    assert (d.start_utf16, d.end_utf16) == (17, 22)  # one astral character before: one more
    fix = d.fixes[0]
    assert (fix.start_utf16, fix.end_utf16, fix.replacement) == (17, 22, "model")
    assert text.encode("utf-16-le")[2 * 17 : 2 * 22].decode("utf-16-le") == "modle"


def test_as_json() -> None:
    (row,) = as_json(diagnose("modle = 1", now=NOW))
    assert row["code"] == "unknown-field"
    assert row["fixes"] == [
        {"start": 0, "end": 5, "replacement": "model", "start_utf16": 0, "end_utf16": 5}
    ]
    json.dumps(row)


@given(any_filter_text() | st.text(max_size=60))
def test_diagnose_never_raises(text: str) -> None:
    for d in diagnose(text, now=NOW):
        assert 0 <= d.start <= d.end <= len(text)
        for fix in d.fixes:
            apply_fix(text, fix)
