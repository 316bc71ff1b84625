"""The golden table of Helicone's behaviour: for each quirk, filters with the verdict Helicone
gives them and the rows its SQL selects, written from docs/helicone.md's facts (and from Helicone's
own validator and filter builder, where we ran them). A regression names the quirk it broke.

Each case runs through `check` (JSON) or `compile` (text), and where Helicone runs the filter,
through `matches`, `to_clickhouse` on our layout, and (for request filters) Helicone's own
table: all must select the rows given.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import NOW

import helicone_filter
from helicone_filter import FilterError, check, check_text, matches, normalize

pytest.importorskip("chdb")

from helicone_table import HeliconeTable, from_native, to_native

from helicone_filter.api.local_table import LocalTable
from helicone_filter.api.outputs import to_clickhouse

R, U = "request_response_rmt", "users_view"
UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
ZERO = "00000000-0000-0000-0000-000000000000"


def leaf(column: str, op: str, value: Any, key: str | None = None) -> dict[str, Any]:
    table = U if column.startswith("user_") else R
    inner: Any = {op: value}
    return {table: {column: {key: inner} if key is not None else inner}}


def branch(left: Any, op: str, right: Any) -> dict[str, Any]:
    return {"left": left, "operator": op, "right": right}


def right_nested(n: int) -> Any:
    node: Any = leaf("status", "equals", 0)
    for i in range(n):
        node = branch(leaf("status", "equals", i), "and", node)
    return node


def left_nested(n: int) -> Any:
    node: Any = leaf("status", "equals", 0)
    for i in range(n):
        node = branch(node, "and", leaf("status", "equals", i))
    return node


# (quirk, filter: JSON, or text as a str, the codes check / compile give (errors and
# warnings), rows, the rows Helicone selects (None: it does not run the filter))
Case = tuple[str, Any, set[str], list[dict[str, Any]], list[int] | None]
CASES: list[Case] = [
    # -- fields Helicone's SQL cannot run ----------------------------------------------------
    ("no column: node_id", leaf("node_id", "equals", "n"), {"no-column"}, [], None),
    ("no column: job_id", 'job_id = "j"', {"no-column"}, [], None),
    ("no column: total_tokens", leaf("total_tokens", "gt", 1), {"no-column"}, [], None),
    ("no column: assets (asset_ids)", 'assets contains "a"', {"no-column"}, [], None),
    (
        "no column: search_properties (a bare `key`)",
        leaf("search_properties", "equals", "x", key="k"),
        {"no-column"},
        [],
        None,
    ),
    (
        "scores_column: only = / != a map literal",
        leaf("scores_column", "contains", "a"),
        {"scores-column"},
        [],
        None,
    ),
    (
        "scores_column: a literal it cannot read",
        'scores_column = "{a:1}"',
        {"scores-column"},
        [],
        None,
    ),
    (
        "scores_column: equals a map literal",
        leaf("scores_column", "equals", "{'a': 1}"),
        set(),
        [{"scores": {"a": 1}}, {"scores": {"a": 2}}, {}],
        [0],
    ),
    (
        'scores_column: "{}" is no scores',
        'scores_column = "{}"',
        set(),
        [{"scores": {"a": 1}}, {}],
        [1],
    ),
    # -- the magic strings ----------------------------------------------------------------------
    ('"null" under contains fails', leaf("model", "contains", "null"), {"null-contains"}, [], None),
    ('"null" under not contains fails', 'model not contains "null"', {"null-contains"}, [], None),
    (
        '"null" under like is SQL null: never true',
        leaf("model", "like", "null"),
        {"null-magic"},
        [{"model": "null"}, {"model": ""}],
        [],
    ),
    (
        '"__empty__" under not-equals fails',
        leaf("model", "not-equals", "__empty__"),
        {"empty-magic"},
        [],
        None,
    ),
    ('"__empty__" under like fails', 'model like "__empty__"', {"empty-magic"}, [], None),
    (
        '"__empty__" under equals is empty(col)',
        "model is empty",
        set(),
        [{"model": ""}, {"model": "__empty__"}, {"model": "a"}],
        [0],
    ),
    (
        '"null" under equals is IS NULL',
        leaf("country_code", "equals", "null"),
        set(),
        [{"country_code": None}, {"country_code": "null"}, {"country_code": "US"}],
        [0],
    ),
    (
        "magic strings are literal inside maps",
        leaf("properties", "equals", "null", key="k"),
        set(),
        [{"properties": {"k": "null"}}, {"properties": {}}],
        [0],
    ),
    # -- UUID columns ---------------------------------------------------------------------------
    ("uuid: no like", f'request_id like "{UUID[:4]}%"', {"uuid-operator"}, [], None),
    ("uuid: no contains", leaf("organization_id", "contains", "0f8f"), {"uuid-operator"}, [], None),
    ("uuid: no ilike", leaf("cache_reference_id", "ilike", "0f%"), {"uuid-operator"}, [], None),
    (
        "uuid: a value that is no UUID",
        leaf("request_id", "equals", "req-1"),
        {"invalid-uuid"},
        [],
        None,
    ),
    ("uuid: not even an empty one", 'organization_id != ""', {"invalid-uuid"}, [], None),
    (
        "uuid: compared as UUIDs, in any case",
        leaf("request_id", "equals", UUID.upper()),
        set(),
        [{"request_id": UUID}, {"request_id": ZERO}],
        [0],
    ),
    (
        "uuid: 32 hex digits without dashes",
        leaf("request_id", "not-equals", UUID.replace("-", "")),
        set(),
        [{"request_id": UUID.upper()}, {"request_id": ZERO}],
        [1],
    ),
    (
        "uuid: is empty is the all-zero UUID",
        "cache_reference_id is empty",
        set(),
        [{"cache_reference_id": ZERO}, {"cache_reference_id": UUID}],
        [0],
    ),
    # -- scores (Int64) -------------------------------------------------------------------------
    (
        "scores: no contains",
        leaf("scores", "contains", "1", key="k"),
        {"scores-operator"},
        [],
        None,
    ),
    ("scores: no like", 'scores.k like "1%"', {"scores-operator"}, [], None),
    (
        "scores: a value that is not whole",
        leaf("scores", "equals", "1.5", key="k"),
        {"invalid-score"},
        [],
        None,
    ),
    ("scores: no words", 'scores.k != "low"', {"invalid-score"}, [], None),
    (
        'scores: "+1" equals a stored 1',
        leaf("scores", "equals", "+1", key="k"),
        set(),
        [{"scores": {"k": 1}}, {"scores": {"k": 2}}, {"scores": {}}],
        [0],
    ),
    (
        "scores: a missing key matches nothing (has() guards)",
        'scores.k != "1"',
        set(),
        [{"scores": {"k": 2}}, {"scores": {}}],
        [0],
    ),
    (
        "scores: past Int64 wraps",
        leaf("scores", "equals", "18446744073709551617", key="k"),
        {"int64-overflow"},
        [{"scores": {"k": 1}}, {"scores": {"k": 0}}],
        [0],
    ),
    (
        "scores: past Int64 is refused in text",
        'scores.k = "18446744073709551617"',
        {"int64-overflow"},
        [],
        None,
    ),
    # -- properties (unguarded) -----------------------------------------------------------------
    (
        "properties: a missing key reads as ''",
        'properties.env != "prod"',
        set(),
        [{"properties": {"env": "prod"}}, {"properties": {}}, {"properties": {"env": "dev"}}],
        [1, 2],
    ),
    (
        'properties: = "" matches a missing key',
        leaf("properties", "equals", "", key="env"),
        set(),
        [{"properties": {}}, {"properties": {"env": "x"}}],
        [0],
    ),
    ("properties: the key __proto__", 'properties["__proto__"] = "x"', {"proto-key"}, [], None),
    (
        "properties: the key __proto__ (JSON)",
        leaf("properties", "equals", "x", key="__proto__"),
        {"proto-key"},
        [],
        None,
    ),
    # -- numbers: the 32-bit bind ---------------------------------------------------------------
    (
        "int32: JSON past the range wraps (5000000000 is 705032704)",
        leaf("latency", "gt", 5_000_000_000),
        {"int32-overflow"},
        [{"latency": 705032705}, {"latency": 5_000_000_001}, {"latency": 1}],
        [0, 1],
    ),
    ("int32: text past the range is refused", "latency > 5000000000", {"int32-overflow"}, [], None),
    (
        "int32: a bound that is not whole is bound exactly",
        "latency > 5000000000.5",
        set(),
        [{"latency": 705032705}, {"latency": 5_000_000_001}],
        [1],
    ),
    (
        "int32: 1e21 is written 1e+21: the query fails",
        leaf("status", "gt", 1e21),
        {"number-fails"},
        [],
        None,
    ),
    ("int32: 1e308 fails too", "user_cost < 1e308", {"number-fails"}, [], None),
    # -- request cost: nano-dollars -------------------------------------------------------------
    (
        "cost: Math.floor(v * 1e9) (1.001 is 1000999999 nano-dollars)",
        "cost > 1.001",
        set(),
        [{"cost": 1.001}, {"cost": 1.000999999}, {"cost": 0.5}],
        [0],
    ),
    (
        "cost: $5 overflows the bind (cost < 5 is cost < 0.705032704)",
        leaf("cost", "lt", 5),
        {"cost-overflow"},
        [{"cost": 0.5}, {"cost": 0.9}, {"cost": 0.705032703}],
        [0, 2],
    ),
    (
        "cost: from $2.147483648 on, text is refused",
        "cost >= 2.147483648",
        {"cost-overflow"},
        [],
        None,
    ),
    (
        "cost: 1e12 dollars is 1e+21 nano-dollars: fails",
        leaf("cost", "gt", 1e12),
        {"number-fails"},
        [],
        None,
    ),
    # -- values Helicone's validator converts ---------------------------------------------------
    (
        'converted: "5" is 5',
        leaf("status", "equals", "5"),
        {"converted-value"},
        [{"status": 5}, {"status": 6}],
        [0],
    ),
    (
        'converted: ".5" is 0.5',
        leaf("user_cost", "gt", ".5"),
        {"converted-value"},
        [{"user_cost": 0.75}, {"user_cost": 0.25}],
        [0],
    ),
    (
        'converted: "TRUE" is true',
        leaf("cache_enabled", "equals", "TRUE"),
        {"converted-value"},
        [{"cache_enabled": True}, {"cache_enabled": False}],
        [0],
    ),
    (
        "converted: null is false to Helicone, refused",
        leaf("cached", "equals", None),
        {"null-value"},
        [],
        None,
    ),
    (
        "converted: [5] is 5 to Helicone, refused",
        leaf("status", "equals", [5]),
        {"array-value"},
        [],
        None,
    ),
    (
        "converted: integers past 2^53 as JavaScript rounds them",
        leaf("user_cost", "lt", 2**53 + 1),
        {"rounded-integer", "int32-overflow"},
        [{"user_cost": 1.0}],
        [],  # 2^53 wraps to 0 in the 32-bit bind
    ),
    # -- timestamps -----------------------------------------------------------------------------
    (
        "timestamp: the year alone",
        leaf("request_created_at", "gte", "2025"),
        {"timestamp-spelling"},
        [
            {"request_created_at": "2025-01-01T00:00:00Z"},
            {"request_created_at": "2024-12-31T23:59:59Z"},
        ],
        [0],
    ),
    (
        "timestamp: year and month",
        leaf("request_created_at", "lt", "2025-02"),
        {"timestamp-spelling"},
        [
            {"request_created_at": "2025-01-31T23:59:59Z"},
            {"request_created_at": "2025-02-01T00:00:00Z"},
        ],
        [0],
    ),
    (
        "timestamp: an offset without a colon",
        leaf("request_created_at", "equals", "2025-01-01T02:00:00+0200"),
        {"timestamp-spelling"},
        [{"request_created_at": "2025-01-01T00:00:00Z"}],
        [0],
    ),
    (
        "timestamp: a lower-case z",
        leaf("request_created_at", "equals", "2025-01-01T00:00:00z"),
        {"timestamp-spelling"},
        [{"request_created_at": "2025-01-01T00:00:00Z"}],
        [0],
    ),
    (
        "timestamp: T24:00 is the next midnight",
        leaf("request_created_at", "equals", "2024-12-31T24:00"),
        {"timestamp-spelling", "timestamp-without-zone"},
        [{"request_created_at": "2025-01-01T00:00:00Z"}],
        [0],
    ),
    (
        'timestamp: "2025-01-01 Z"',
        leaf("request_created_at", "gt", "2025-01-01 Z"),
        {"timestamp-spelling"},
        [
            {"request_created_at": "2025-01-01T00:00:01Z"},
            {"request_created_at": "2025-01-01T00:00:00Z"},
        ],
        [0],
    ),
    (
        "timestamp: full-width digits",
        leaf("request_created_at", "gt", "２０２４-01-01"),
        {"invalid-timestamp"},
        [],
        None,
    ),
    (
        "timestamp: full-width digits (text)",
        'request_created_at > "２０２４-01-01"',
        {"invalid-timestamp"},
        [],
        None,
    ),
    (
        "timestamp: a week date is no date to JavaScript",
        leaf("request_created_at", "gt", "2025-W01-1"),
        {"invalid-date"},
        [],
        None,
    ),
    (
        "timestamp: years before 100",
        'request_created_at > "0050-01-01"',
        {"invalid-timestamp"},
        [],
        None,
    ),
    (
        "timestamp: a year past 9999 is written so ClickHouse cannot read it",
        leaf("request_created_at", "gt", "+275712T00:00Z"),
        {"invalid-timestamp"},
        [],
        None,
    ),
    (
        "timestamp: milliseconds are dropped",
        leaf("request_created_at", "gte", "2025-01-01T00:00:00.900Z"),
        {"milliseconds-dropped"},
        [
            {"request_created_at": "2025-01-01T00:00:00.100Z"},
            {"request_created_at": "2024-12-31T23:59:59.999Z"},
        ],
        [0],
    ),
    (
        "timestamp: clamped to DateTime's range",
        'request_created_at > "1960-01-01"',
        {"timestamp-out-of-range"},
        [
            {"request_created_at": "1969-06-01T00:00:00Z"},
            {"request_created_at": "1970-01-01T00:00:01Z"},
        ],
        [1],
    ),
    # -- users_view: per-user aggregates --------------------------------------------------------
    (
        "users: first/last activity in whole seconds",
        'user_first_active > "2025-01-01T00:00:00Z"',
        set(),
        [
            {"user_first_active": "2025-01-01T00:00:00.900Z"},
            {"user_first_active": "2025-01-01T00:00:01Z"},
        ],
        [1],
    ),
    (
        "users: whole bounds wrap there too",
        leaf("user_total_requests", "lt", 2**32 + 5),
        {"int32-overflow"},
        [{"user_total_requests": 4}, {"user_total_requests": 6}],
        [0],
    ),
    # -- booleans Helicone reads from other columns ---------------------------------------------
    (
        "cached: cache_reference_id is not all zeros",
        "cached",
        set(),
        [{"cache_reference_id": UUID}, {"cache_reference_id": ZERO}],
        [0],
    ),
    (
        "feedback: no score reads as 0, false",
        "helicone-score-feedback = false",
        set(),
        [
            {"scores": {}},
            {"scores": {"helicone-score-feedback": 1}},
            {"scores": {"helicone-score-feedback": 0}},
        ],
        [0, 2],
    ),
    # -- the tree -------------------------------------------------------------------------------
    (
        "tree: {} inside a branch is true",
        branch({}, "and", leaf("status", "equals", 200)),
        {"empty-leaf"},
        [{"status": 200}, {"status": 500}],
        [0],
    ),
    (
        "tree: {} in an or-branch makes it true",
        branch({}, "or", leaf("status", "equals", 200)),
        {"empty-leaf"},
        [{"status": 200}, {"status": 500}],
        [0, 1],
    ),
    (
        "tree: a leaf with both tables is their and",
        {R: {"status": {"equals": 200}}, U: {"user_cost": {"gt": 1}}},
        {"several-tables"},
        [{"status": 200, "user_cost": 2}, {"status": 200, "user_cost": 0.5}],
        [0],
    ),
    (
        "tree: or across the tables matches every user",
        branch(leaf("user_cost", "gt", 1), "or", leaf("status", "equals", 1)),
        {"or-across-tables"},
        [],
        None,
    ),
    (
        "tree: several columns in a leaf (Helicone keeps one)",
        {R: {"model": {"equals": "a"}, "cost": {"gt": 1}}},
        {"multiple-columns"},
        [],
        None,
    ),
    ("tree: 400 levels of right nesting run", right_nested(400), set(), [{"status": 1}], []),
    (
        "tree: 401 levels overflow Helicone's validator",
        right_nested(401),
        {"too-deep-for-helicone"},
        [],
        None,
    ),
    ("tree: 190 levels of left nesting run", left_nested(190), set(), [{"status": 1}], []),
    (
        "tree: 191 left-nested levels pass ClickHouse's parser",
        left_nested(191),
        {"too-deep-for-helicone"},
        [],
        None,
    ),
    ('tree: ["all"] is unwrapped by Helicone, refused', ["all"], {"not-a-filter"}, [], None),
]


def _codes_of(obj: Any) -> set[str]:
    if isinstance(obj, str):
        try:
            helicone_filter.compile(obj, now=NOW)
        except FilterError as e:
            return {p.code for p in e.problems}
        return {p.code for p in check_text(obj, now=NOW, analyze=False)}
    return {p.code for p in check(obj, analyze=False)}  # Helicone's quirks, not the analysis


@pytest.mark.parametrize(
    ("quirk", "obj", "codes", "rows", "selected"), CASES, ids=[c[0] for c in CASES]
)
def test_quirk(
    quirk: str, obj: Any, codes: set[str], rows: list[dict[str, Any]], selected: list[int] | None
) -> None:
    assert _codes_of(obj) == codes
    if selected is None:
        return  # Helicone answers with an error, or changes what the filter says: refused
    node = helicone_filter.compile(obj, now=NOW) if isinstance(obj, str) else obj
    is_users = "user_" in str(node)
    # Rows as Helicone stores them (defaults where a column cannot be NULL), in our layout.
    stored = rows if is_users else [from_native(to_native(r)) for r in rows]
    assert [i for i, r in enumerate(stored) if matches(node, r)] == selected
    table = LocalTable(stored)
    try:
        assert table.where(node) == selected
    finally:
        table.drop()
    if not is_users:
        helicone = HeliconeTable([to_native(r) for r in rows])
        assert helicone.where(*to_clickhouse(node, target="helicone-where")) == selected
    normal = normalize(node)  # what Helicone runs: no warning left but those of the value read
    assert {p.code for p in check(normal) if p.severity == "error"} == set()
