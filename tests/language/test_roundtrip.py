"""Text and JSON convert both ways without loss (docs/language.md, "Canonical form"), by
property."""

from __future__ import annotations

from typing import Any

from conftest import NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ANY_JSON, any_filter_text, any_json_filter, filter_text, respelled, row

import helicone_filter
from helicone_filter import check, matches, normalize, parse, to_text, validate
from helicone_filter.facts.schema import TABLES

_SLOW = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _errors(obj: Any) -> list[str]:
    return [p.code for p in check(obj) if p.severity == "error"]


@_SLOW
@given(st.booleans().flatmap(lambda negatable: any_filter_text(negatable=negatable)))
def test_compiler_output_prints_back_to_itself(text: str) -> None:
    """compile(to_text(J)) == J for every J the compiler produces (from any valid filter, `not`
    at any depth over the conditions it can cross among them)."""
    j = helicone_filter.compile(text, now=NOW)
    printed = to_text(j)
    assert helicone_filter.compile(printed, now=NOW) == j, printed
    assert normalize(j) == j
    assert _errors(j) == []


@_SLOW
@given(any_json_filter())
def test_json_from_elsewhere_prints_to_its_normal_form(j: Any) -> None:
    """compile(to_text(J)) == normalize(J) for every valid J, whatever its nesting."""
    assert _errors(j) == []
    assert validate(j) is j
    assert helicone_filter.compile(to_text(j), now=NOW) == normalize(j)


@_SLOW
@given(st.data(), st.lists(row(), min_size=1, max_size=5))
def test_what_helicone_converts_is_the_same_filter(
    data: st.DataObject, rows: list[dict[str, Any]]
) -> None:
    """Values Helicone's validator converts ("5", "TRUE", "+0000", a whole number that its
    32-bit bind wraps to the same) and `{}` operands: accepted with warnings, normalized to
    the filter Helicone runs, which selects the same rows."""
    j = data.draw(any_json_filter(small=True))
    spelled = data.draw(respelled(j))
    assert _errors(spelled) == []
    assert normalize(spelled) == normalize(j)
    assert helicone_filter.compile(to_text(spelled), now=NOW) == normalize(spelled)
    for r in rows:
        assert matches(spelled, r) == matches(j, r)


@_SLOW
@given(any_json_filter(several=True))
def test_leaves_with_several_conditions_split_into_and_chains(j: Any) -> None:
    assert set(_errors(j)) <= {"multiple-columns", "multiple-operators", "multiple-keys"}
    normal = normalize(j)
    assert _errors(normal) == []
    assert helicone_filter.compile(to_text(j), now=NOW) == normal


@_SLOW
@given(any_json_filter(small=True), st.lists(row(), min_size=1, max_size=5))
def test_printed_text_selects_the_same_rows(j: Any, rows: list[dict[str, Any]]) -> None:
    """matches(J, row) == matches(compile(to_text(J)), row)."""
    again = helicone_filter.compile(to_text(j), now=NOW)
    for r in rows:
        assert matches(j, r) == matches(again, r) == matches(normalize(j), r)


@_SLOW
@given(
    st.sampled_from(TABLES).flatmap(lambda t: filter_text(t, negatable=True, small=True)),
    st.lists(row(nulls=False), min_size=1, max_size=5),
)
def test_not_is_an_exact_complement_on_rows_without_nulls(
    text: str, rows: list[dict[str, Any]]
) -> None:
    """On one table: `not` of an and across the tables would be an or across them."""
    positive = helicone_filter.compile(text, now=NOW)
    negative = helicone_filter.compile(f"not ({text})", now=NOW)
    for r in rows:
        assert matches(negative, r) == (not matches(positive, r))


@_SLOW
@given(any_filter_text())
def test_ast_text_compiles_like_the_original(text: str) -> None:
    """to_text of the AST keeps its meaning (and `now`), and is a fixed point."""
    printed = to_text(parse(text))
    assert helicone_filter.compile(printed, now=NOW) == helicone_filter.compile(text, now=NOW)
    assert to_text(parse(printed)) == printed


@given(ANY_JSON)
def test_check_never_raises(obj: Any) -> None:
    problems = check(obj)
    for p in problems:
        assert p.severity in ("error", "warning") and p.code and p.path and p.path.startswith("$")
    if not any(p.severity == "error" for p in problems):
        normalize(obj)
        to_text(obj)
