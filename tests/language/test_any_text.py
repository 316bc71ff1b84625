"""Any text: whatever it is (any string, text generated from the grammar, a soup of the
language's tokens), compile returns JSON or raises our FilterError, nothing else, and the same
each time."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from conftest import NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

import helicone_filter
from helicone_filter import FilterError
from helicone_filter.facts.schema import FIELDS, TABLES
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
def test_token_soup_is_compiled_or_refused_the_same_each_time(tokens: list[str], sep: str) -> None:
    text = sep.join(tokens)
    first, second = _compile_or_our_error(text), _compile_or_our_error(text)
    if isinstance(first, FilterError):
        assert isinstance(second, FilterError) and second.problems == first.problems
    else:
        assert first == second
