"""The net of conftest.py runs: every FilterNode a test makes, whichever way in made it, is
checked against the endpoint's schema, and a node the schema refuses fails the test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from command_line import run
from conftest import NOW, VALIDATED, filter_node_validators

import helicone_filter
import helicone_filter.api
from helicone_filter.backends import helicone_json

TEXT = "cost > 1 and cost > 2 and model = 'a'"
NODE = {"users_view": {"user_cost": {"gt": 5, "lt": 10}}}  # normalize splits it
BRANCH = {
    "left": {"users_view": {"user_cost": {"gt": 1}}},
    "operator": "and",
    "right": {"users_view": {"user_cost": {"gt": 2}}},
}  # simplify keeps the right

# Each function of the package that writes a FilterNode, called once.
WAYS: dict[str, Callable[[], Any]] = {
    "compile": lambda: helicone_filter.api.compile(TEXT, now=NOW),
    "compile_with_warnings": lambda: helicone_filter.api.compile_with_warnings(TEXT, now=NOW),
    "compile_with_sources": lambda: helicone_filter.api.compile_with_sources(TEXT, now=NOW),
    "compile_explained": lambda: helicone_filter.api.compile_explained(TEXT, now=NOW),
    "compile_with_spans": lambda: helicone_filter.api.compile_with_spans(TEXT, now=NOW),
    "normalize": lambda: helicone_filter.normalize(NODE),
    "simplify": lambda: helicone_filter.simplify(BRANCH),
}


def test_every_way_in_that_writes_json_is_listed() -> None:
    """A new `compile...` in api.py must be added to WAYS (and so be shown to pass the net)."""
    compiles = {
        name
        for name in vars(helicone_filter.api)
        if name.startswith("compile") and callable(getattr(helicone_filter.api, name))
    }
    assert compiles <= set(WAYS)


@pytest.mark.parametrize("way", WAYS)
def test_each_way_in_passes_the_net(way: str) -> None:
    before = VALIDATED["count"]
    WAYS[way]()
    assert VALIDATED["count"] > before, f"{way} wrote a FilterNode the net did not check"


def test_the_command_line_passes_the_net(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = VALIDATED["count"]
    code, _, _ = run(["compile", "cached"], capsys, monkeypatch)
    assert code == 0 and VALIDATED["count"] == before + 1


@pytest.mark.parametrize(
    "bad_leaf",
    [
        42,  # no FilterNode at all: the published schema refuses it
        # a column no table has: the published schema lets any object be a leaf, the strict
        # copy does not
        {"request_response_rmt": {"no_such_column": {"equals": "a"}}},
    ],
)
def test_a_node_the_schema_refuses_fails_the_test(
    bad_leaf: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer, made to write `bad_leaf` for every condition: compile fails with the net's
    AssertionError, raised where it checks the node."""
    monkeypatch.setattr(helicone_json, "leaf", lambda condition: bad_leaf)
    with pytest.raises(AssertionError) as info:
        helicone_filter.compile("cached")
    assert any(entry.name == "assert_valid_filter_node" for entry in info.traceback)


def test_the_strict_copy_is_stricter_than_the_published_schema() -> None:
    """Without the strict copy the second case above could not fail."""
    published, strict = filter_node_validators()
    leaf = {"request_response_rmt": {"no_such_column": {"equals": "a"}}}
    assert published.is_valid(leaf) and not strict.is_valid(leaf)
