"""The golden table: tests/cases/compile.json, every case compiled and compared exactly."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import CASES

import helicone_filter
from helicone_filter import FilterError, FilterSyntaxError, FilterValidationError
from helicone_filter.facts.timestamps import parse_timestamp

CASES_FILE = CASES / "compile.json"
DATA = json.loads(CASES_FILE.read_text(encoding="utf-8"))
NOW = parse_timestamp(DATA["now"])
CASES: list[dict[str, Any]] = DATA["cases"]

SYNTAX_CODES = {
    "unexpected-token",
    "unexpected-end",
    "unexpected-character",
    "unknown-operator",
    "unquoted-string",
    "unterminated-string",
    "invalid-escape",
    "control-character",
    "invalid-character",
    "invalid-number",
    "smart-quote",
    "too-deep",
    "too-long",
}
# Parser-internal names that must never reach a user.
LARK_NAMES = re.compile(r"__ANON|\bRPAR\b|\bLPAR\b|\bLSQB\b|\bRSQB\b|\$END|\bNAME\b|_COMMA|\bCMP\b")


def test_the_table_is_large_and_covers_every_code() -> None:
    assert len(CASES) >= 200
    codes = {p["code"] for c in CASES for p in c.get("errors", [])}
    assert {
        "unknown-field",
        "operator-not-allowed",
        "wrong-value-type",
        "not-negatable",
        "or-across-tables",
        "unterminated-string",
        "unexpected-token",
    } <= codes


@pytest.mark.parametrize("case", CASES, ids=[repr(c["text"])[:60] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    text = case["text"]
    nesting = case.get("nesting", "balanced")
    if "json" in case:
        assert helicone_filter.compile(text, now=NOW, nesting=nesting) == case["json"]
        return
    with pytest.raises(FilterError) as info:
        helicone_filter.compile(text, now=NOW, nesting=nesting)
    got = [{"code": p.code, "start": p.start, "end": p.end} for p in info.value.problems]
    assert got == case["errors"]
    expected_type = (
        FilterSyntaxError if case["errors"][0]["code"] in SYNTAX_CODES else FilterValidationError
    )
    assert type(info.value) is expected_type
    rendered = str(info.value)
    assert not LARK_NAMES.search(rendered), rendered
    for p in info.value.problems:
        assert p.message and p.line >= 1 and p.column >= 1
        assert text[p.start : p.end] or p.start == len(text)
