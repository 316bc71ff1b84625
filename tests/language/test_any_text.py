"""Properties: whatever the text, compile returns JSON or raises our FilterError, nothing else."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

from conftest import NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark
from strategies import UUIDS, family_value

import helicone_filter
from helicone_filter import FilterError
from helicone_filter.facts.schema import FIELD_OPERATORS, FIELDS, TABLES
from helicone_filter.frontends.parser import grammar_text


def _compile_or_our_error(text: str) -> Any:
    try:
        result = helicone_filter.compile(text, now=NOW)
    except FilterError as e:
        assert e.problems, "an error must carry its problems"
        for p in e.problems:
            assert 0 <= p.start <= p.end <= len(text)
            assert p.code and p.message
        str(e)  # renders without failing
        return e
    json.dumps(result)
    return result


@given(st.text())
def test_any_text(text: str) -> None:
    _compile_or_our_error(text)


@cache
def _grammar_strategy() -> st.SearchStrategy[str]:
    return from_lark(Lark(grammar_text(), parser="lalr"))


# from_lark is slow to draw (about 0.1 s an example), so this one runs fewer examples.
@settings(max_examples=150, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_text_generated_from_the_grammar(data: st.DataObject) -> None:
    _compile_or_our_error(data.draw(_grammar_strategy()))


VOCABULARY = [
    *FIELDS,
    *TABLES,
    "properties.k",
    'scores["a b"]',
    "=",
    "==",
    "!=",
    "<>",
    ">",
    ">=",
    "<",
    "<=",
    "=>",
    "like",
    "ilike",
    "contains",
    "not",
    "in",
    "is",
    "null",
    "empty",
    "and",
    "or",
    "&&",
    "||",
    "!",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "all",
    "now",
    "-",
    "7d",
    "true",
    "false",
    "5",
    "-2.5",
    "1e999",
    "9007199254740993",
    '"x"',
    '"2024-01-01"',
    "'it\\'s'",
    '"\\q"',
    '"open',
    "“smart”",
]


@given(st.lists(st.sampled_from(VOCABULARY), max_size=12), st.sampled_from([" ", "", "\n"]))
def test_token_soup(tokens: list[str], sep: str) -> None:
    _compile_or_our_error(sep.join(tokens))


@given(st.lists(st.sampled_from(VOCABULARY), max_size=12))
def test_deterministic_for_a_fixed_now(tokens: list[str]) -> None:
    text = " ".join(tokens)
    first, second = _compile_or_our_error(text), _compile_or_our_error(text)
    if isinstance(first, FilterError):
        assert isinstance(second, FilterError) and second.problems == first.problems
    else:
        assert first == second


# -- valid filters, generated from the schema table -------------------------------------------

_VALUES = {
    # Helicone's magic strings are no values here ("null" would be pasted into its SQL).
    "text": st.text(max_size=8).filter(lambda t: t not in ("null", "__empty__")).map(json.dumps),
    "number": st.one_of(
        st.integers(-(2**53) + 1, 2**53 - 1).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
    ),
    "timestamp": st.one_of(
        st.datetimes(min_value=datetime(1000, 1, 1)).map(
            lambda d: json.dumps(d.isoformat(sep=" ", timespec="milliseconds"))
        ),
        st.integers(0, 10_000).map(lambda n: f"now - {n}h"),
    ),
    "boolean": st.sampled_from(["true", "false"]),
}
# Operators that `not` can cross (docs/language.md, "not"), so that any nesting is valid.
_NEGATABLE = {
    "text": ["=", "!=", "contains", "not contains", "is null", "is not null"],
    "number": ["=", "!=", ">", ">=", "<", "<="],
    "timestamp": ["=", "!=", ">", ">=", "<", "<="],
    "boolean": ["=", "!="],
}


@st.composite
def _value(draw: st.DrawFn, name: str) -> str:
    """A value Helicone runs on the field (its UUIDs, the 32-bit bind of whole numbers...)."""
    field = FIELDS[name]
    if field.kind == "text" and field.family != "string":
        value = family_value(draw, field, False, "equals", False)
        if value in ("null", "__empty__"):  # Helicone's magic strings have no exact opposite
            value = "{}" if field.family == "scores_column" else UUIDS[1]
        return json.dumps(value)
    if field.kind == "number":
        return repr(family_value(draw, field, False, "equals", False))
    return draw(_VALUES[field.kind])


@st.composite
def _leaf(draw: st.DrawFn, table: str) -> str:
    names = [n for n, f in FIELDS.items() if f.table == table and f.kind in _VALUES and f.column]
    name = draw(st.sampled_from(names))
    kind = FIELDS[name].kind
    ops = [op for op in _NEGATABLE[kind] if op in FIELD_OPERATORS[name]]
    op = draw(st.sampled_from(ops))
    if op.startswith("is"):
        return f"{name} {op}"
    if kind in ("text", "number") and draw(st.booleans()):
        values = draw(st.lists(_value(name), min_size=1, max_size=3))
        return f"{name} {draw(st.sampled_from(['in', 'not in']))} [{', '.join(values)}]"
    return f"{name} {op} {draw(_value(name))}"


def _tree(table: str) -> st.SearchStrategy[str]:
    return st.recursive(
        _leaf(table),
        lambda sub: st.one_of(
            st.tuples(sub, st.sampled_from(["and", "or", "&&", "||"]), sub).map(
                lambda t: f"{t[0]} {t[1]} {t[2]}"
            ),
            sub.map(lambda s: f"({s})"),
            sub.map(lambda s: f"not ({s})"),
        ),
        max_leaves=12,
    )


@given(_tree("request_response_rmt"), st.one_of(st.none(), _tree("users_view")))
def test_valid_filters_compile(requests: str, users: str | None) -> None:
    """Any nesting of negatable conditions on one table, and-ed with the other, compiles."""
    text = requests if users is None else f"({requests}) and ({users})"
    result = helicone_filter.compile(text, now=NOW)
    assert isinstance(result, dict)
