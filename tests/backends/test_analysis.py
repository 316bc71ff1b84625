"""The analysis (analysis.py): filters that never match, always match, or say something twice,
by hand and by property against `matches` and ClickHouse (chdb); `simplify` selects the same
rows."""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import NOW
from engine_pools import (
    KEYS,
    condition_pool,
    engine_filter,
    engine_leaf,
    engine_row,
    operators_of,
    universe,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import COLUMNS

from helicone_filter import FilterError, check, check_text, diagnose, matches, simplify
from helicone_filter.api import lower_text
from helicone_filter.backends.analysis import findings, simplified
from helicone_filter.backends.helicone_json import to_json
from helicone_filter.backends.row_matching import filter_matches, row_value
from helicone_filter.cli import main
from helicone_filter.diagnostics import apply_fix
from helicone_filter.facts.schema import FIELDS, REQUEST_RESPONSE_RMT, USERS_VIEW
from helicone_filter.form import Filter, join
from helicone_filter.frontends.checker import normalized_ir

CI = bool(os.environ.get("CI"))
ANALYSIS = {"never-matches", "always-matches", "redundant", "duplicate"}

# (filter text, the analysis's warnings as (code, the text it marks), the simplified text)
CASES: list[tuple[str, list[tuple[str, str]], str | None]] = [
    # never-matches
    (
        "latency > 500 and latency < 100",
        [("never-matches", "latency > 500 and latency < 100")],
        None,
    ),
    ('model = "a" and model = "b"', [("never-matches", 'model = "a" and model = "b"')], None),
    (
        'model in ["a", "b"] and model = "c"',
        [("never-matches", 'model in ["a", "b"] and model = "c"')],
        None,
    ),
    (
        "request_created_at >= now - 1d and request_created_at < now - 7d",
        [("never-matches", "request_created_at >= now - 1d and request_created_at < now - 7d")],
        None,
    ),
    ("status = 200 and status != 200", [("never-matches", "status = 200 and status != 200")], None),
    ("cached and not cached", [("never-matches", "cached and not cached")], None),
    (
        "model is null and model is not null",
        [("never-matches", "model is null and model is not null")],
        None,
    ),
    ('model is null and model = "a"', [("never-matches", 'model is null and model = "a"')], None),
    (
        'properties.env = "a" and properties.env = "b"',
        [("never-matches", 'properties.env = "a" and properties.env = "b"')],
        None,
    ),
    (
        'scores.x = "1" and scores.x = "2"',
        [("never-matches", 'scores.x = "1" and scores.x = "2"')],
        None,
    ),
    (
        "user_cost >= 5 and user_cost < 5",
        [("never-matches", "user_cost >= 5 and user_cost < 5")],
        None,
    ),
    # the cost floor: floor(1.000000001 * 1e9) is 1e9, so < 1.000000001 is < 1e9 nano-dollars
    (
        "cost > 1 and cost < 1.000000001",
        [("never-matches", "cost > 1 and cost < 1.000000001")],
        None,
    ),
    (
        "helicone-score-feedback and not helicone-score-feedback",
        [("never-matches", "helicone-score-feedback and not helicone-score-feedback")],
        None,
    ),
    # always-matches
    ("status = 200 or status != 200", [("always-matches", "status = 200 or status != 200")], None),
    ("latency > 5 or latency <= 5", [("always-matches", "latency > 5 or latency <= 5")], None),
    ("cached or not cached", [("always-matches", "cached or not cached")], None),
    (
        "model is null or model is not null",
        [("always-matches", "model is null or model is not null")],
        None,
    ),
    (
        'properties.env = "a" or properties.env != "a"',
        [("always-matches", 'properties.env = "a" or properties.env != "a"')],
        None,
    ),
    ('model != "a" or model != "b"', [("always-matches", 'model != "a" or model != "b"')], None),
    # redundant
    ("cost > 1 and cost > 2", [("redundant", "cost > 1")], "cost > 2"),
    (
        "latency < 10 and latency < 5 and status = 1",
        [("redundant", "latency < 10")],
        "latency < 5 and status = 1",
    ),
    ("cost > 2 or cost > 1", [("redundant", "cost > 2")], "cost > 1"),
    ('model = "a" and model != "b"', [("redundant", 'model != "b"')], 'model = "a"'),
    ('model = "a" or model != "b"', [("redundant", 'model = "a"')], 'model != "b"'),
    ('model in ["a", "b"] and model = "a"', [("redundant", 'model in ["a", "b"]')], 'model = "a"'),
    ("user_cost > 5 and user_cost >= 5.5", [("redundant", "user_cost > 5")], "user_cost >= 5.5"),
    ("latency >= 3 and latency > 2.5", [("redundant", "latency > 2.5")], "latency >= 3"),
    ('model is not null and model = "a"', [("redundant", "model is not null")], 'model = "a"'),
    # duplicate
    ("latency > 1 and latency > 1", [("duplicate", "latency > 1")], "latency > 1"),
    (
        'model contains "x" and model contains "x"',
        [("duplicate", 'model contains "x"')],
        'model contains "x"',
    ),
    ('model = "a" or model = "a"', [("duplicate", 'model = "a"')], 'model = "a"'),
    (
        'properties.env like "a%" or properties.env like "a%"',
        [("duplicate", 'properties.env like "a%"')],
        'properties.env like "a%"',
    ),
    # near-misses: silent
    ("cost > 1 and cost < 1.0000001", [], None),
    ('properties.env != "a" and properties.env != "b"', [], None),
    ("latency > 5 and latency < 6", [], None),
    ("latency >= 5 and latency <= 5", [], None),
    ("latency > 5 or latency < 5", [], None),
    ('model like "a%" and model like "b%"', [], None),
    ('model contains "a" and model not contains "a"', [], None),
    ("user_cost < 0", [], None),
    ("cost < -1 and cost > 1", [("never-matches", "cost < -1 and cost > 1")], None),
    ('property_key = "a" and property_key = "b"', [], None),
    ('model = "a" and provider = "b"', [], None),
    ('model = "a" or (model = "b" and status = 1)', [], None),
    ('model = "A" and model = "a"', [("never-matches", 'model = "A" and model = "a"')], None),
    ('model ilike "a" and model ilike "A"', [], None),
    (
        'scores.x = "1" or scores.x != "1"',
        [("always-matches", 'scores.x = "1" or scores.x != "1"')],
        None,
    ),
    ('scores.x = "1" and scores.y = "2"', [], None),
    (
        "request_created_at > now - 7d and request_created_at > now - 1d",
        [("redundant", "request_created_at > now - 7d")],
        None,
    ),
    (
        "request_created_at != now and request_created_at > now",
        [("redundant", "request_created_at != now")],
        None,
    ),
]


@pytest.mark.parametrize(("text", "expected", "simple"), CASES, ids=[c[0] for c in CASES])
def test_case(text: str, expected: list[tuple[str, str]], simple: str | None) -> None:
    found = [
        (p.code, text[p.start : p.end]) for p in check_text(text, now=NOW) if p.code in ANALYSIS
    ]
    assert found == expected
    for p in check_text(text, now=NOW):
        assert p.severity == "warning" and p.hint
    assert [p for p in check_text(text, now=NOW, analyze=False) if p.code in ANALYSIS] == []
    if simple is not None:
        assert simplify(text, now=NOW) == simple


def test_enough_cases() -> None:
    assert len(CASES) >= 40
    assert {code for _, found, _ in CASES for code, _ in found} == ANALYSIS


def test_messages() -> None:
    [p] = check_text("status = 200 or status != 200", now=NOW)
    assert (
        p.message == "'status = 200' or 'status != 200' is true for every row where status is set"
    )
    [p] = check_text("latency > 500 and latency < 100", now=NOW)
    assert p.message == "'latency > 500' and 'latency < 100' cannot both hold: this never matches"
    [p] = check_text('properties.env = "a" or properties.env != "a"', now=NOW)
    assert "every row" in p.message and "set" not in p.message


def test_messages_quote_a_condition_as_written_with_its_not() -> None:
    # A condition is quoted with the `not` in front of it; one turned around by a `not` outside
    # it (inside `not (...)`) is quoted as it is tested: its own text would say the opposite.
    [p] = check_text("cached and not cached", now=NOW)
    assert p.message == "'cached' and 'not cached' cannot both hold: this never matches"
    [p] = check_text("status > 5 and not (status > 3)", now=NOW)
    assert p.message == "'status > 5' and 'not (status > 3)' cannot both hold: this never matches"
    [p] = check_text("status > 5 and not (status > 3 or latency > 1)", now=NOW)
    assert p.message == "'status > 5' and 'status <= 3' cannot both hold: this never matches"
    [p] = check_text("not threat and not threat and status = 1", now=NOW)
    assert p.message == "'not threat' is written twice in one 'and'"
    assert p.start == 15 and p.end == 25  # the `not` is part of what is underlined
    [p] = check_text("request_created_at >= now - 1d and request_created_at < now - 7d", now=NOW)
    assert "'request_created_at >= now - 1d'" in p.message  # as written: `now` read again


def test_fixes_remove_the_condition_and_its_joint() -> None:
    for text, fixed in [
        ("cost > 1 and cost > 2", "cost > 2"),
        ("cost > 2 and cost > 1", "cost > 2"),
        ("status = 1 and (cost > 1 and cost > 2)", "status = 1 and (cost > 2)"),
        ("latency > 1 AND status = 2 && latency > 1", "latency > 1 AND status = 2"),
        ("not (latency > 1 or latency > 2)", "not (latency > 1)"),
    ]:
        [d] = [d for d in diagnose(text, now=NOW) if d.code in ANALYSIS]
        assert len(d.fixes) == 1
        assert apply_fix(text, d.fixes[0]) == fixed
        assert simplify(fixed, now=NOW) == simplify(text, now=NOW)


def test_no_fix_where_the_condition_is_not_alone() -> None:
    [d] = [d for d in diagnose('model = "a" and (model = "a" or model = "b")', now=NOW)]
    assert d.code == "redundant" and d.fixes == ()


def test_json_warnings_have_paths() -> None:
    obj = {
        "left": {"request_response_rmt": {"latency": {"gt": 500}}},
        "operator": "and",
        "right": {"request_response_rmt": {"latency": {"lt": 100}}},
    }
    [p] = check(obj)
    assert (p.code, p.severity, p.path) == (
        "never-matches",
        "warning",
        "$.left.request_response_rmt.latency.gt",
    )
    assert check(obj, analyze=False) == []
    assert simplify({**obj, "operator": "or", "right": obj["left"]}) == obj["left"]


def _cli(argv: list[str]) -> str:
    out = io.StringIO()
    saved = sys.stdout
    sys.stdout = out
    try:
        main(argv)
    finally:
        sys.stdout = saved
    return out.getvalue()


def test_cli() -> None:
    assert _cli(
        ["fmt", "--simplify", "cost > 1 and cost > 2 and (model = 'a' or model = 'b')"]
    ) == ('cost > 2 and model in ["a", "b"]\n')
    assert "redundant" in _cli(["check", "cost > 1 and cost > 2"])
    assert _cli(["check", "--no-analysis", "cost > 1 and cost > 2"]) == "ok: no problems\n"
    # A leaf of several operators: Helicone keeps one, so there is no simpler filter to print.
    several = '{"request_response_rmt": {"latency": {"gt": 1, "lt": 0}}}'
    assert main(["fmt", "--simplify", several]) == 1


def test_a_long_chain_stays_fast() -> None:
    text = " and ".join(f"status = {i}" for i in range(5_000))
    start = time.perf_counter()
    check_text(text, now=NOW)
    assert time.perf_counter() - start < 10


# -- by property ---------------------------------------------------------------------------------

# Columns each of whose conditions the analysis reads, and some it does not (patterns).
SAME_FIELD = [
    c
    for t in (REQUEST_RESPONSE_RMT, USERS_VIEW)
    for c in COLUMNS[t]
    if FIELDS[c].kind != "property_key"
]


@st.composite
def same_field_filter(draw: st.DrawFn) -> Any:
    """Two to five conditions on one column (or key), joined by and/or, sometimes beside a
    condition on another column."""
    column = draw(st.sampled_from(SAME_FIELD))
    field = FIELDS[column]
    keyed = field.kind == "map"
    key = draw(st.sampled_from(KEYS[:2])) if keyed else None
    ops = operators_of(column, keyed)

    def leaf() -> Any:
        op = draw(st.sampled_from(ops))
        value = draw(st.sampled_from(condition_pool(column, keyed, op)[:8]))
        inner = {key: {op: value}} if keyed else {op: value}
        return {field.table: {column: inner}}

    def tree(n: int) -> Any:
        if n == 1:
            return leaf() if draw(st.integers(0, 6)) else draw(engine_leaf(field.table))
        k = draw(st.integers(1, n - 1))
        return {
            "left": tree(k),
            "operator": draw(st.sampled_from(["and", "or"])),
            "right": tree(n - k),
        }

    return tree(draw(st.integers(2, 5)))


UNIVERSE = universe()


def _selected(node: Filter, rows: list[dict[str, Any]]) -> list[int]:
    return [i for i, r in enumerate(rows) if filter_matches(node, r)]


def _is_set(atom: tuple[str, str | None], row: dict[str, Any]) -> bool:
    name, key = atom
    field = FIELDS[name]
    if key is None:
        return row_value(field, row) is not None
    if name == "properties":
        return True
    return key in (row.get(name) or {}) and row[name][key] is not None


@pytest.fixture(scope="module")
def universe_table() -> Iterator[Any]:
    pytest.importorskip("chdb")
    from helicone_filter.api.local_table import LocalTable

    table = LocalTable(UNIVERSE)
    yield table
    table.drop()


RAN: list[Any] = []  # the filters the property ran


@settings(max_examples=2000 if CI else 300, deadline=None)
@given(obj=same_field_filter(), rows=st.lists(engine_row(), max_size=6))
def test_what_the_analysis_says_holds(
    universe_table: Any, obj: Any, rows: list[dict[str, Any]]
) -> None:
    node = normalized_ir(obj)
    everything = UNIVERSE + rows
    RAN.append(obj)
    for f in findings(node):
        operands = [f.chain.items[i] for i in f.operands]
        if f.code == "never-matches":
            part = join("and", operands)
            assert _selected(part, everything) == []
            assert universe_table.where(to_json(part)) == []
        elif f.code == "always-matches":
            part = join("or", operands)
            for r in everything:
                if f.everywhere or _is_set(f.atom, r):
                    assert filter_matches(part, r), (r, f.atom)
    simple = simplified(normalized_ir(obj))
    assert _selected(simple, everything) == _selected(node, everything)
    # (the JSON of a leaf with several conditions keeps them all, as `normalize` does)
    assert universe_table.where(to_json(simple)) == universe_table.where(to_json(node))


def test_the_property_met_each_finding() -> None:
    if not RAN:
        pytest.skip("the property did not run")
    met = {f.code for obj in RAN for f in findings(normalized_ir(obj))}
    assert met == {"never-matches", "always-matches", "redundant", "duplicate"}


# -- fix-its, applied -----------------------------------------------------------------------------

# A few conditions on a few columns, from small pools that the rows meet, each negatable: the
# generated filters repeat them, imply one another and contradict, under `not`s and groups.
_WRITTEN_POOL: dict[str, tuple[list[str], list[str]]] = {
    # column: (operators, values as written)
    "latency": (["=", "!=", ">", ">=", "<", "<=", "in", "not in"], ["0", "1", "2", "2.5", "10"]),
    "cost": ([">", ">=", "<", "<=", "=", "!="], ["0", "0.5", "1.001", "1.000999999"]),
    "model": (
        ["=", "!=", "in", "not in", "contains", "not contains", "is null", "is not null"],
        ['"a"', '"A"', "'ab'", '""'],
    ),
    "cached": (["bare", "=", "!="], ["true", "false"]),
    "threat": (["bare", "="], ["true", "false"]),
    "request_created_at": (
        [">", ">=", "<", "<=", "=", "!="],
        ['"2025-01-01T00:00:00Z"', '"1970-01-01T00:00:00Z"', "now - 1d"],
    ),
    "properties.k": (["=", "!=", "in", "contains"], ['"a"', '""', '"ab"']),
    'properties["a b"]': (["=", "!="], ['"a"', '""']),
    "scores.k": (["=", "!="], ['"1"', '"+1"', '"0"']),
}


@st.composite
def _written_condition(draw: st.DrawFn) -> str:
    column = draw(st.sampled_from(sorted(_WRITTEN_POOL)))
    ops, values = _WRITTEN_POOL[column]
    op = draw(st.sampled_from(ops))
    if op == "bare":
        return column
    if op.startswith("is "):
        return f"{column} {op}"
    if op in ("in", "not in"):
        items = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3))
        return f"{column} {op} [{', '.join(items)}]"
    return f"{column} {op} {draw(st.sampled_from(values))}"


@st.composite
def fixable_text(draw: st.DrawFn) -> str:
    """Filter text with duplicates, redundancy and `not`s: a handful of conditions, written
    alone or under `not`, `!` and parentheses, then drawn with repeats into chains joined by
    every spelling of `and` and `or` (so precedence mixes them), and groups of such chains."""
    conditions = draw(st.lists(_written_condition(), min_size=1, max_size=3))

    def wrapped(inner: str) -> str:
        for _ in range(draw(st.integers(0, 2))):
            if draw(st.booleans()):
                inner = f"({inner})"
            else:
                inner = draw(st.sampled_from(["not ", "NOT ", "!", "not\t"])) + inner
        return inner

    operands = [wrapped(draw(st.sampled_from(conditions))) for _ in range(draw(st.integers(1, 4)))]

    def chain(depth: int) -> str:
        parts = []
        for _ in range(draw(st.integers(2, 5))):
            if depth < 2 and draw(st.integers(0, 5)) == 0:
                parts.append(wrapped(f"({chain(depth + 1)})"))
            else:
                parts.append(draw(st.sampled_from(operands)))
        text = parts[0]
        for part in parts[1:]:
            joint = draw(st.sampled_from([" and ", " or ", " AND ", " && ", " || ", "  and\n"]))
            text += joint + part
        return text

    return chain(0)


FIXED: list[str] = []  # the fix-its the property applied


@settings(max_examples=1500 if CI else 300, deadline=None)
@given(text=fixable_text(), rows=st.lists(engine_row(), max_size=4))
def test_every_fix_it_applied_selects_the_same_rows(
    universe_table: Any, text: str, rows: list[dict[str, Any]]
) -> None:
    try:
        node = lower_text(text, now=NOW)
    except FilterError:
        assume(False)
        return
    everything = UNIVERSE + rows
    before = _selected(node, everything)
    in_table = None
    for d in diagnose(text, now=NOW):
        assert d.severity == "warning"  # it compiles
        for fix in d.fixes:
            fixed = apply_fix(text, fix)
            after = lower_text(fixed, now=NOW)  # it still compiles
            assert _selected(after, everything) == before, (d.code, fixed)
            if in_table is None:
                in_table = universe_table.where(to_json(node))
            assert universe_table.where(to_json(after)) == in_table, (d.code, fixed)
            FIXED.append(d.code)
    # simplify too, and from its JSON
    assert _selected(lower_text(simplify(text, now=NOW), now=NOW), everything) == before


def test_the_fix_it_property_applied_fixes() -> None:
    if not FIXED:
        pytest.skip("the property did not run")
    assert {"redundant", "duplicate"} <= set(FIXED)
    assert len(FIXED) >= 50


@settings(max_examples=1000 if CI else 200, deadline=None)
@given(obj=engine_filter(), rows=st.lists(engine_row(), max_size=4))
def test_simplify_selects_what_helicone_selects_or_refuses_as_check_does(
    universe_table: Any, obj: Any, rows: list[dict[str, Any]]
) -> None:
    # Leaves with several columns or operators among them: Helicone keeps one condition of
    # such a leaf, and `check` calls it an error.
    errors = [p.code for p in check(obj) if p.severity == "error"]
    try:
        simple = simplify(obj)
    except FilterError:
        assert errors
        return
    assert not errors
    for row in UNIVERSE + rows:
        assert matches(simple, row) == matches(obj, row)
    assert universe_table.where(simple) == universe_table.where(obj)
