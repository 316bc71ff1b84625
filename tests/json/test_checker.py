"""check() and the JSON way in: one case per problem code, with its JSON path; trees of any
depth; normalize; and what is not JSON (cycles, keys that are not strings, Python-only values,
JSON text nested too deeply), a problem of ours, never an exception."""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from decimal import Decimal
from typing import Any

import pytest
from conftest import ROOT

import helicone_filter
from helicone_filter import FilterValidationError, check, matches, normalize, to_text, validate
from helicone_filter.api import load_json
from helicone_filter.errors import FilterError, FilterSyntaxError

U = "users_view"
R = "request_response_rmt"


def leaf(table: str, column: str, op: str, value: Any) -> dict[str, Any]:
    return {table: {column: {op: value}}}


def branch(left: Any, op: str, right: Any) -> dict[str, Any]:
    return {"left": left, "operator": op, "right": right}


COST = leaf(U, "user_cost", "gt", 5)
MODEL = leaf(R, "model", "equals", "gpt-4o")

# (code, severity, the FilterNode, the path of the problem)
CASES: list[tuple[str, str, Any, str]] = [
    ("not-a-filter", "error", 5, "$"),
    ("not-a-filter", "error", branch(COST, "and", None), "$.right"),
    ("not-a-filter", "error", "ALL", "$"),
    ("unknown-table", "error", {"user_view": {"user_cost": {"gt": 5}}}, "$.user_view"),
    ("unknown-field", "error", leaf(U, "usr_cost", "gt", 5), "$.users_view.usr_cost"),
    ("unknown-field", "error", leaf(U, "model", "equals", "x"), "$.users_view.model"),
    (
        "unknown-operator",
        "error",
        leaf(U, "user_cost", "greater", 5),
        "$.users_view.user_cost.greater",
    ),
    (
        "operator-not-allowed",
        "error",
        leaf(R, "model", "gt", "a"),
        "$.request_response_rmt.model.gt",
    ),
    (
        "operator-not-allowed",
        "error",
        leaf(R, "request_created_at", "not-equals", "2025-01-01T00:00:00Z"),
        '$.request_response_rmt.request_created_at["not-equals"]',
    ),
    ("wrong-value-type", "error", leaf(U, "user_cost", "gt", "5x"), "$.users_view.user_cost.gt"),
    ("converted-value", "warning", leaf(U, "user_cost", "gt", "5"), "$.users_view.user_cost.gt"),
    (
        "wrong-value-type",
        "error",
        leaf(R, "model", "equals", 42),
        "$.request_response_rmt.model.equals",
    ),
    (
        "wrong-value-type",
        "error",
        leaf(R, "model", "equals", None),
        "$.request_response_rmt.model.equals",
    ),
    (
        "wrong-value-type",
        "error",
        leaf(R, "cached", "equals", "yes"),
        "$.request_response_rmt.cached.equals",
    ),
    (
        "converted-value",
        "warning",
        leaf(R, "cached", "equals", "TRUE"),
        "$.request_response_rmt.cached.equals",
    ),
    (
        "converted-value",
        "warning",
        leaf(R, "request_created_at", "gt", 2024),
        "$.request_response_rmt.request_created_at.gt",
    ),
    (
        "null-value",
        "error",
        leaf(R, "threat", "equals", None),
        "$.request_response_rmt.threat.equals",
    ),
    ("array-value", "error", leaf(U, "user_cost", "gt", [5]), "$.users_view.user_cost.gt"),
    (
        "array-value",
        "error",
        leaf(R, "request_created_at", "gt", ["2024-01-01"]),
        "$.request_response_rmt.request_created_at.gt",
    ),
    ("wrong-value-type", "error", leaf(U, "user_cost", "gt", True), "$.users_view.user_cost.gt"),
    (
        "wrong-value-type",
        "error",
        leaf(R, "request_created_at", "gt", 1700000000),
        "$.request_response_rmt.request_created_at.gt",
    ),
    ("not-an-object", "error", {U: 5}, "$.users_view"),
    ("not-an-object", "error", {U: {"user_cost": [5]}}, "$.users_view.user_cost"),
    ("empty-leaf", "warning", branch({}, "and", COST), "$.left"),
    (
        "several-tables",
        "warning",
        {U: {"user_cost": {"gt": 5}}, R: {"cached": {"equals": True}}},
        "$",
    ),
    ("empty-table", "error", {U: {}}, "$.users_view"),
    ("empty-column", "error", {U: {"user_cost": {}}}, "$.users_view.user_cost"),
    ("empty-column", "error", {R: {"properties": {}}}, "$.request_response_rmt.properties"),
    (
        "multiple-columns",
        "error",
        {U: {"user_cost": {"gt": 5}, "user_active_for": {"gt": 1}}},
        "$.users_view",
    ),
    (
        "multiple-operators",
        "error",
        {U: {"user_cost": {"gt": 5, "lt": 10}}},
        "$.users_view.user_cost",
    ),
    (
        "multiple-keys",
        "error",
        {R: {"properties": {"a": {"equals": "1"}, "b": {"equals": "2"}}}},
        "$.request_response_rmt.properties",
    ),
    ("or-across-tables", "error", branch(COST, "or", MODEL), "$"),
    ("or-across-tables", "error", branch(MODEL, "and", branch(MODEL, "or", COST)), "$.right"),
    ("missing-branch-key", "error", {"left": COST, "operator": "and"}, "$"),
    (
        "extra-branch-key",
        "error",
        {**branch(COST, "and", MODEL), **MODEL},
        "$.request_response_rmt",
    ),
    ("invalid-branch-operator", "error", branch(COST, "AND", MODEL), "$.operator"),
    ("invalid-branch-operator", "error", branch(COST, "xor", MODEL), "$.operator"),
    (
        "number-out-of-range",
        "error",
        leaf(U, "user_cost", "gt", math.nan),
        "$.users_view.user_cost.gt",
    ),
    (
        "number-out-of-range",
        "error",
        leaf(U, "user_cost", "gt", math.inf),
        "$.users_view.user_cost.gt",
    ),
    (
        "number-out-of-range",
        "error",
        leaf(U, "user_cost", "gt", "1e999"),
        "$.users_view.user_cost.gt",
    ),
    (
        "rounded-integer",
        "warning",
        leaf(U, "user_cost", "gt", 2**53 + 1),
        "$.users_view.user_cost.gt",
    ),
    ("number-fails", "error", leaf(U, "user_cost", "gt", 1e21), "$.users_view.user_cost.gt"),
    ("number-fails", "error", leaf(R, "cost", "gt", 1e12), "$.request_response_rmt.cost.gt"),
    ("no-column", "error", leaf(R, "node_id", "equals", "x"), "$.request_response_rmt.node_id"),
    (
        "no-column",
        "error",
        {R: {"search_properties": {"k": {"equals": "x"}}}},
        "$.request_response_rmt.search_properties",
    ),
    (
        "proto-key",
        "error",
        {R: {"properties": {"__proto__": {"equals": "x"}}}},
        "$.request_response_rmt.properties.__proto__",
    ),
    (
        "uuid-operator",
        "error",
        leaf(R, "request_id", "contains", "0f8f"),
        "$.request_response_rmt.request_id.contains",
    ),
    (
        "invalid-uuid",
        "error",
        leaf(R, "organization_id", "equals", "org-1"),
        "$.request_response_rmt.organization_id.equals",
    ),
    (
        "scores-operator",
        "error",
        {R: {"scores": {"k": {"like": "1%"}}}},
        "$.request_response_rmt.scores.k.like",
    ),
    (
        "invalid-score",
        "error",
        {R: {"scores": {"k": {"equals": "1.5"}}}},
        "$.request_response_rmt.scores.k.equals",
    ),
    (
        "int64-overflow",
        "warning",
        {R: {"scores": {"k": {"equals": "9223372036854775808"}}}},
        "$.request_response_rmt.scores.k.equals",
    ),
    (
        "scores-column",
        "error",
        leaf(R, "scores_column", "equals", "{'k': '1'}"),
        "$.request_response_rmt.scores_column.equals",
    ),
    (
        "invalid-date",
        "error",
        leaf(R, "request_created_at", "gt", "2024-W01-1"),
        "$.request_response_rmt.request_created_at.gt",
    ),
    (
        "timestamp-spelling",
        "warning",
        leaf(R, "request_created_at", "gt", "2024-01"),
        "$.request_response_rmt.request_created_at.gt",
    ),
    (
        "milliseconds-dropped",
        "warning",
        leaf(R, "request_created_at", "gt", "2024-01-01T00:00:00.250Z"),
        "$.request_response_rmt.request_created_at.gt",
    ),
    ("too-deep-for-helicone", "error", "DEEP", "$"),
    (
        "invalid-timestamp",
        "error",
        leaf(U, "user_last_active", "gt", "01/02/2024"),
        "$.users_view.user_last_active.gt",
    ),
    (
        "invalid-timestamp",
        "error",
        leaf(U, "user_last_active", "gt", "2023-02-29T00:00:00Z"),
        "$.users_view.user_last_active.gt",
    ),
    (
        "invalid-character",
        "error",
        leaf(R, "model", "equals", "a\ud800"),
        "$.request_response_rmt.model.equals",
    ),
    ("empty-filter", "warning", {}, "$"),
    (
        "null-magic",
        "warning",
        leaf(R, "model", "like", "null"),
        "$.request_response_rmt.model.like",
    ),
    (
        "null-contains",
        "error",
        leaf(R, "model", "contains", "null"),
        "$.request_response_rmt.model.contains",
    ),
    (
        "empty-magic",
        "error",
        leaf(R, "model", "not-equals", "__empty__"),
        '$.request_response_rmt.model["not-equals"]',
    ),
    (
        "contains-wildcard",
        "warning",
        {R: {"properties": {"Session Id": {"not-contains": "50%"}}}},
        '$.request_response_rmt.properties["Session Id"]["not-contains"]',
    ),
    ("cost-overflow", "warning", leaf(R, "cost", "gt", 2.5), "$.request_response_rmt.cost.gt"),
    (
        "int32-overflow",
        "warning",
        leaf(R, "latency", "gt", 3_000_000_000),
        "$.request_response_rmt.latency.gt",
    ),
    (
        "like-trailing-escape",
        "error",
        leaf(R, "model", "ilike", "50\\"),
        "$.request_response_rmt.model.ilike",
    ),
    (
        "timestamp-out-of-range",
        "warning",
        leaf(R, "request_created_at", "gt", "1969-12-31T23:59:59Z"),
        "$.request_response_rmt.request_created_at.gt",
    ),
    (
        "timestamp-without-zone",
        "warning",
        leaf(R, "request_created_at", "gt", "2025-01-01T10:00:00"),
        "$.request_response_rmt.request_created_at.gt",
    ),
]


def _right_nested(n: int) -> Any:
    node: Any = leaf(R, "status", "equals", 0)
    for i in range(n):
        node = branch(leaf(R, "status", "equals", i), "and", node)
    return node


@pytest.mark.parametrize(
    ("code", "severity", "node", "path"), CASES, ids=[f"{c[0]}:{c[3]}" for c in CASES]
)
def test_problem(code: str, severity: str, node: Any, path: str) -> None:
    if node == "DEEP":
        node = _right_nested(401)
    found = [(p.code, p.severity, p.path) for p in check(node)]
    assert (code, severity, path) in found
    problem = next(p for p in check(node) if p.code == code)
    # no place in text: offsets 0, line and column None (null in JSON), the path instead
    assert problem.message and (problem.start, problem.end, problem.line, problem.column) == (
        0,
        0,
        None,
        None,
    )
    if severity == "error":
        with pytest.raises(FilterValidationError) as info:
            validate(node)
        assert code in {p.code for p in info.value.problems}
        assert path in str(info.value)
    else:
        assert validate(node) is node


S = "sessions_request_response_rmt"
# One case per code that only the request endpoints raise: (code, severity, node, path).
REQUEST_CASES: list[tuple[str, str, Any, str]] = [
    ("other-endpoint", "error", leaf(U, "user_cost", "gt", 5), "$.users_view"),
    (
        "dropped-column",
        "error",
        leaf(S, "session_total_cost", "gt", 5),
        f"$.{S}.session_total_cost",
    ),
    ("table-fails", "error", leaf("request", "model", "equals", "x"), "$.request"),
    ("table-fails", "error", leaf("values", "x", "equals", "y"), "$.values"),
    (
        "session-tag-magic",
        "error",
        leaf(S, "session_tag", "equals", "null"),
        f"$.{S}.session_tag.equals",
    ),
    (
        "session-tag-contains",
        "warning",
        leaf(S, "session_tag", "contains", "prod"),
        f"$.{S}.session_tag.contains",
    ),
]


@pytest.mark.parametrize(
    ("code", "severity", "node", "path"),
    REQUEST_CASES,
    ids=[f"{c[0]}:{c[3]}" for c in REQUEST_CASES],
)
def test_request_endpoint_problem(code: str, severity: str, node: Any, path: str) -> None:
    found = [(p.code, p.severity, p.path) for p in check(node, endpoint="requests")]
    assert (code, severity, path) in found
    if severity == "error":
        with pytest.raises(FilterValidationError) as info:
            validate(node, endpoint="requests")
        assert code in {p.code for p in info.value.problems}
    else:
        assert validate(node, endpoint="requests") is node


def test_every_code_in_the_checker_has_a_case() -> None:
    source = "".join(
        (ROOT / "helicone_filter" / name).read_text(encoding="utf-8")
        for name in ("frontends/checker.py", "facts/semantics.py")
    )
    codes = set(
        re.findall(r'(?:self\.add\(|wrong_type|\(\n\s+)\s*"([a-z0-9]+(?:-[a-z0-9]+)+)",', source)
    )
    codes |= set(re.findall(r'Quirk\(\s*[^,()]*,\s*"([a-z0-9]+(?:-[a-z0-9]+)+)"', source))
    codes.add("wrong-value-type")  # reported through wrong_type()
    assert codes == {c[0] for c in CASES + REQUEST_CASES}


def test_valid_filters_have_no_problems() -> None:
    assert check("all") == []
    # (the same condition twice: the analysis's duplicate, left out here)
    assert check(branch(COST, "and", branch(MODEL, "or", MODEL)), analyze=False) == []
    assert check(leaf(R, "property_key", "equals", "environment")) == []


def test_every_problem_at_once() -> None:
    node = branch(leaf(U, "usr_cost", "gt", 5), "AND", branch(leaf(R, "model", "gt", 1), "or", {}))
    codes = [p.code for p in check(node)]
    assert codes == [
        "invalid-branch-operator",
        "unknown-field",
        "operator-not-allowed",
        "empty-leaf",
    ]


def _deep_chain(n: int, op: str = "and") -> Any:
    node: Any = leaf(R, "status", "equals", n)
    for i in reversed(range(n)):
        node = branch(leaf(R, "status", "equals", i), op, node)
    return node


def test_trees_deeper_than_the_recursion_limit() -> None:
    deep = _deep_chain(5_000)
    assert [p.code for p in check(deep)] == ["too-deep-for-helicone"]  # Helicone fails on it
    normal = normalize(deep)  # balanced: Helicone runs it
    assert normal["operator"] == "and" and check(normal, analyze=False) == []
    text = to_text(deep)
    assert text.startswith("status = 0 and status = 1 and ")
    with pytest.raises(FilterValidationError):
        matches(deep, {"status": 5})
    assert matches(normal, {"status": 5}) is False
    assert matches(normalize(_deep_chain(5_000, "or")), {"status": 4_999}) is True
    broken = _deep_chain(3_000)
    node = broken
    for _ in range(2_000):
        node = node["right"]
    node["right"] = {"users_view": {}}
    assert [p.code for p in check(broken)] == ["empty-table", "too-deep-for-helicone"]


def test_normalize_splits_and_simplifies() -> None:
    node = branch(
        {U: {"user_cost": {"gt": 5, "lt": 10}}},
        "and",
        branch("all", "and", leaf(R, "request_created_at", "gte", "2024-01-01")),
    )
    assert normalize(node) == branch(
        leaf(U, "user_cost", "gt", 5),
        "and",
        branch(
            leaf(U, "user_cost", "lt", 10),
            "and",
            leaf(R, "request_created_at", "gte", "2024-01-01T00:00:00.000Z"),
        ),
    )
    assert normalize(branch(COST, "or", branch("all", "and", "all"))) == "all"
    assert normalize(branch("all", "and", COST)) == COST
    assert normalize({}) == "all"
    assert normalize({U: {"user_cost": {"gt": 5}}, R: {"model": {"equals": "gpt-4o"}}}) == branch(
        COST, "and", MODEL
    )
    # What Helicone's validator converts is converted
    assert normalize(leaf(U, "user_cost", "gt", "5")) == leaf(U, "user_cost", "gt", 5)
    with pytest.raises(FilterValidationError):
        normalize(leaf(U, "user_cost", "gt", "5x"))


def test_right_nesting_on_request() -> None:
    node = branch(branch(COST, "and", COST), "and", branch(COST, "and", COST))
    assert normalize(node, nesting="right") == branch(
        COST, "and", branch(COST, "and", branch(COST, "and", COST))
    )


# -- inputs only Python can make, and JSON text nested too deeply -------------------------------


# -- inputs only Python can make ----------------------------------------------------------------

LEAF = {"users_view": {"user_cost": {"gt": 5}}}


def _cycle() -> dict[str, Any]:
    branch: dict[str, Any] = {"operator": "and", "right": LEAF}
    branch["left"] = branch
    return branch


def _value_cycle() -> dict[str, Any]:
    items: list[Any] = ["a"]
    items.append(items)
    return {"request_response_rmt": {"model": {"equals": items}}}


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("what", "obj", "path"),
    [
        ("a branch that contains itself", _cycle(), "$.left"),
        ("a value that contains itself", _value_cycle(), "$.request_response_rmt.model.equals[1]"),
        ("a key that is a number", {"users_view": {1: {"gt": 5}}}, "$.users_view"),
        ("a key that is None", {None: LEAF}, "$"),
        ("an integer too long to write", {"users_view": {"user_cost": {"gt": 10**5000}}}, None),
        ("a Decimal", {"users_view": {"user_cost": {"gt": Decimal("1.5")}}}, None),
        ("a set", {"request_response_rmt": {"model": {"equals": {"a"}}}}, None),
        ("bytes", {"request_response_rmt": {"model": {"equals": b"a"}}}, None),
        ("a tuple", {"request_response_rmt": {"model": {"equals": ("a",)}}}, None),
    ],
)
def test_what_is_not_json_is_a_problem_never_an_exception(
    what: str, obj: Any, path: str | None
) -> None:
    """Before: check looped while memory grew (a cycle), or raised AttributeError, ValueError,
    TypeError or RecursionError."""
    start = time.perf_counter()
    problems = helicone_filter.check(obj)
    assert time.perf_counter() - start < 2.0, what
    assert [p.code for p in problems] == ["not-json"], what
    if path is not None:
        assert problems[0].path == path
    for call in (helicone_filter.validate, helicone_filter.normalize, helicone_filter.to_text):
        with pytest.raises(FilterError):
            call(obj)
    with pytest.raises(FilterError):
        helicone_filter.matches(obj, {})
    with pytest.raises(FilterError):
        helicone_filter.to_clickhouse(obj)


@pytest.mark.hostile
def test_a_leaf_used_twice_is_no_cycle() -> None:
    # The same object twice is no cycle, so no not-json problem: only the analysis's word
    # that the condition is written twice.
    problems = helicone_filter.check({"left": LEAF, "operator": "or", "right": LEAF})
    assert [p.code for p in problems] == ["duplicate"]
    assert (
        helicone_filter.check({"left": LEAF, "operator": "or", "right": LEAF}, analyze=False) == []
    )


@pytest.mark.hostile
def test_subclasses_of_json_types_are_json() -> None:
    class Name(str):
        pass

    obj = OrderedDict({"users_view": {Name("user_cost"): {"gt": 5}}})
    assert helicone_filter.check(obj) == []
    assert helicone_filter.normalize(obj) == LEAF


@pytest.mark.hostile
def test_json_text_nested_too_deeply_is_our_error() -> None:
    """json.loads raises RecursionError on deep nesting; the command line printed it."""
    with pytest.raises(FilterSyntaxError) as info:
        load_json("[" * 100_000)
    assert info.value.problems[0].code == "json-too-deep"
    with pytest.raises(FilterSyntaxError) as info:
        load_json('{"a": }')
    assert info.value.problems[0].message == "not valid JSON: Expecting value at line 1, column 7"
