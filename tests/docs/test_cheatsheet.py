"""docs/cheatsheet.md tells the truth: each example compiles without a problem (the examples
under "The requests endpoint" for that endpoint), its operator table names every operator of
the operator table in facts/ by every spelling, and its examples use a field of every column
family and every unit of relative time."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import NOW
from pages import PAGES, page_section

import helicone_filter
from helicone_filter.facts.columns import FAMILIES
from helicone_filter.facts.schema import OPERATORS, schema_of
from helicone_filter.facts.timestamps import DURATION_SECONDS

PAGE = PAGES["docs/cheatsheet.md"]
REQUESTS = "## The requests endpoint"
# A row of a table: | first column | `example` | ...; a pipe in a cell is written \|.
ROW = re.compile(r"^\| (.+?) \| `(.+?)` \|", flags=re.M)


def _cell(text: str) -> str:
    return text.replace("\\|", "|")


def _examples() -> list[tuple[str, str]]:
    """(endpoint, example) for each row of each table of the page."""
    sections = re.split(r"^(?=## )", PAGE, flags=re.M)
    return [
        ("requests" if section.startswith(REQUESTS) else "user-metrics", _cell(example))
        for section in sections
        for _, example in ROW.findall(section)
    ]


def _leaves(node: Any) -> list[tuple[str, str]]:
    """(table, column) of every leaf of FilterNode JSON."""
    if node == "all":
        return []
    if "operator" in node:
        return _leaves(node["left"]) + _leaves(node["right"])
    return [(table, column) for table, leaf in node.items() for column in leaf]


EXAMPLES = _examples()


def test_the_page_has_examples_in_every_section() -> None:
    assert len(EXAMPLES) >= 60
    for title in re.findall(r"^## .+$", PAGE, flags=re.M):
        assert ROW.search(page_section(title, PAGE)), f"{title} has no example"


@pytest.mark.parametrize(("endpoint", "example"), EXAMPLES)
def test_each_example_compiles_without_a_problem(endpoint: str, example: str) -> None:
    problems = helicone_filter.check_text(example, now=NOW, endpoint=endpoint)
    assert [(p.code, p.message) for p in problems] == [], example
    helicone_filter.compile(example, now=NOW, endpoint=endpoint)


def test_every_operator_by_every_spelling() -> None:
    """The operator table's first column names each operator of facts/schema.py's OPERATORS
    by its spelling and its synonyms (`==`, `<>`), and the examples use each of them."""
    table = page_section("## Operators", PAGE)
    named = {
        _cell(name)
        for first, _ in ROW.findall(table)
        for name in re.findall(r"`(.+?)`", first.replace("\\|", "|"))
    }
    examples = " ".join(example for _, example in EXAMPLES)
    for op in OPERATORS:
        for spelling in (op.text, *op.synonyms):
            shown = f"{spelling} [...]" if op.text in ("in", "not in") else spelling
            assert shown in named, f"{spelling} is not in the operator table"
            assert f" {spelling} " in examples, f"no example uses {spelling}"
    for keyword in ("and", "or", "not", "&&", "||", "!"):
        assert any(keyword in _cell(first) for first, _ in ROW.findall(PAGE)), keyword


def test_a_field_of_every_family() -> None:
    """Every column family (facts/columns.py: how Helicone stores and compares a column) has
    an example on a field of its family, on an endpoint that has it."""
    seen = set()
    for endpoint, example in EXAMPLES:
        fields = schema_of(endpoint).fields
        compiled = helicone_filter.compile(example, now=NOW, endpoint=endpoint)
        seen |= {fields[column].family for _, column in _leaves(compiled)}
    assert seen >= set(FAMILIES), set(FAMILIES) - seen


def test_every_unit_of_relative_time() -> None:
    section = page_section("## Time", PAGE)
    for unit in DURATION_SECONDS:
        assert re.search(rf"now ?- ?\d+{unit}\b", section), unit
