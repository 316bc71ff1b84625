"""Writes compile.json, the golden table of the compiler, from expectations stated here.

The expected JSON is written out by hand (through the small helpers below), following
docs/language.md; the field/operator matrix is read from the OpenAPI file, not from the library.
Run it after changing a case: `python tests/cases/build_compile_cases.py`.
All relative times are resolved against NOW.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SPEC = HERE.parent / "spec" / "user-metrics-query.openapi.yaml"
NOW = "2025-06-01T12:00:00Z"

J = Any
cases: list[dict[str, J]] = []


def ok(text: str, expected: J, **extra: J) -> None:
    cases.append({"text": text, "json": expected, **extra})


def err(text: str, code: str, start: int, end: int, *more: tuple[str, int, int]) -> None:
    problems = [{"code": code, "start": start, "end": end}]
    problems += [{"code": c, "start": s, "end": e} for c, s, e in more]
    cases.append({"text": text, "errors": problems})


def err_at(text: str, code: str, fragment: str, *more: tuple[str, str]) -> None:
    """An error whose span is the first occurrence of `fragment` in `text`."""

    def span(frag: str) -> tuple[int, int]:
        i = text.index(frag)
        return i, i + len(frag)

    extra = [(c, *span(f)) for c, f in more]
    err(text, code, *span(fragment), *extra)


def leaf(column: str, op: str, value: J, table: str | None = None, key: str | None = None) -> J:
    inner: J = {op: value}
    if key is not None:
        inner = {key: inner}
    return {table or TABLE_OF[column]: {column: inner}}


def chain(op: str, *xs: J) -> J:
    """docs/language.md, "Chains": split at len // 2, recursively."""
    if len(xs) == 1:
        return xs[0]
    mid = len(xs) // 2
    return {"left": chain(op, *xs[:mid]), "operator": op, "right": chain(op, *xs[mid:])}


def AND(*xs: J) -> J:
    return chain("and", *xs)


def OR(*xs: J) -> J:
    return chain("or", *xs)


def right(op: str, *xs: J) -> J:
    node = xs[-1]
    for x in reversed(xs[:-1]):
        node = {"left": x, "operator": op, "right": node}
    return node


# -- the matrix, read from the OpenAPI file --------------------------------------------------

spec = yaml.safe_load(SPEC.read_text())
schemas = spec["components"]["schemas"]
KIND_OF_REF = {
    "#/components/schemas/Partial_TextOperators_": "text",
    "#/components/schemas/Partial_NumberOperators_": "number",
    "#/components/schemas/Partial_TimestampOperatorsTyped_": "timestamp",
    "#/components/schemas/Partial_BooleanOperators_": "boolean",
}
TABLE_OF: dict[str, str] = {}
KIND: dict[str, str] = {}
for table, ref in (
    ("users_view", "Partial_UserViewToOperators_"),
    ("request_response_rmt", "Partial_RequestResponseRMTToOperators_"),
):
    for column, sch in schemas[ref]["properties"].items():
        TABLE_OF[column] = table
        if "$ref" in sch:
            KIND[column] = KIND_OF_REF[sch["$ref"]]
        elif "additionalProperties" in sch:
            KIND[column] = "map"
        else:
            KIND[column] = "property_key"

TS = "2024-03-05T06:07:08.000Z"

# Helicone's table (docs/helicone.md): the fields whose SQL names no column it has, the UUID
# columns, and the two that compare the whole scores map or request cost in nano-dollars.
NO_COLUMN = {"node_id", "job_id", "total_tokens", "assets", "search_properties"}
UUID_COLUMNS = {"request_id", "organization_id", "cache_reference_id"}
U = "0f8fad5b-d9cb-469f-a165-70867728950e"

# Every column: its `=` (the first operator of its kind) and the bare/qualified spellings.
for column, kind in KIND.items():
    table = TABLE_OF[column]
    if column in NO_COLUMN:
        written = f"{column}.k" if kind == "map" else column
        value = '"v"' if kind in ("text", "map") else "3"
        err_at(f"{written} = {value}", "no-column", written)
        err_at(f"{table}.{written} != {value}", "no-column", f"{table}.{written}")
    elif column in UUID_COLUMNS:
        ok(f'{column} = "{U}"', leaf(column, "equals", U))
        ok(f'{table}.{column} != "{U.upper()}"', leaf(column, "not-equals", U.upper()))
    elif column == "scores_column":
        ok(f'{column} = "{{}}"', leaf(column, "equals", "{}"))
        ok(f"{table}.{column} != \"{{'k': 1}}\"", leaf(column, "not-equals", "{'k': 1}"))
    elif kind == "text":
        ok(f'{column} = "v"', leaf(column, "equals", "v"))
        ok(f'{table}.{column} != "v"', leaf(column, "not-equals", "v"))
    elif column == "cost":  # bound in nano-dollars as a 32-bit integer: under $2.147483648
        ok(f"{column} = 2", leaf(column, "equals", 2))
        ok(f"{table}.{column} >= 0.5", leaf(column, "gte", 0.5))
    elif kind == "number":
        ok(f"{column} = 3", leaf(column, "equals", 3))
        ok(f"{table}.{column} >= 2.5", leaf(column, "gte", 2.5))
    elif kind == "timestamp":
        ok(f'{column} >= "2024-03-05T06:07:08Z"', leaf(column, "gte", TS))
        ok(f'{table}.{column} < "2024-03-05 06:07:08.000"', leaf(column, "lt", TS))
    elif kind == "boolean":
        ok(f"{column}", leaf(column, "equals", True))
        ok(f"{table}.{column} = false", leaf(column, "equals", False))
    elif column == "scores":  # whole numbers: equality only
        ok(f'{column}.environment = "1"', leaf(column, "equals", "1", key="environment"))
        ok(
            f'{table}.{column}["Session Id"] != "-2"',
            leaf(column, "not-equals", "-2", key="Session Id"),
        )
    elif kind == "map":
        ok(f'{column}.environment = "prod"', leaf(column, "equals", "prod", key="environment"))
        ok(
            f'{table}.{column}["Session Id"] contains "a"',
            leaf(column, "contains", "a", key="Session Id"),
        )
    else:
        ok(f'{column} = "environment"', leaf(column, "equals", "environment"))

# Every operator on each kind.
for column in ("model", "user_user_id"):
    ok(f'{column} == "a"', leaf(column, "equals", "a"))
    ok(f'{column} <> "a"', leaf(column, "not-equals", "a"))
    ok(f'{column} like "gpt-%"', leaf(column, "like", "gpt-%"))
    ok(f'{column} ilike "GPT_4%"', leaf(column, "ilike", "GPT_4%"))
    ok(f'{column} contains "turbo"', leaf(column, "contains", "turbo"))
    ok(f'{column} not contains "turbo"', leaf(column, "not-contains", "turbo"))
    ok(f'{column} in ["a", "b", "c"]', OR(*(leaf(column, "equals", v) for v in "abc")))
    ok(f'{column} not in ["a", "b"]', AND(*(leaf(column, "not-equals", v) for v in "ab")))
    ok(f"{column} is null", leaf(column, "equals", "null"))
    ok(f"{column} is not null", leaf(column, "not-equals", "null"))
    ok(f"{column} is empty", leaf(column, "equals", "__empty__"))
    err_at(f'{column} > "a"', "operator-not-allowed", f'{column} > "a"')
    err_at(f"{column} = 42", "wrong-value-type", "42")
    err_at(f"{column} = true", "wrong-value-type", "true")
for column in ("user_cost", "latency", "status"):
    ok(f"{column} > 1", leaf(column, "gt", 1))
    ok(f"{column} >= 1", leaf(column, "gte", 1))
    ok(f"{column} < -1", leaf(column, "lt", -1))
    ok(f"{column} <= 0.5", leaf(column, "lte", 0.5))
    ok(f"{column} != 7", leaf(column, "not-equals", 7))
    ok(f"{column} in [200, 201.5]", OR(leaf(column, "equals", 200), leaf(column, "equals", 201.5)))
    ok(f"{column} not in [1, 2]", AND(leaf(column, "not-equals", 1), leaf(column, "not-equals", 2)))
    err_at(f'{column} like "1%"', "operator-not-allowed", f'{column} like "1%"')
    err_at(f'{column} > "5"', "wrong-value-type", '"5"')
    err_at(f"{column} is null", "operator-not-allowed", f"{column} is null")
for column in ("request_created_at", "user_last_active"):
    ok(f'{column} = "2024-03-05"', leaf(column, "equals", "2024-03-05T00:00:00.000Z"))
    ok(f'{column} > "2024-03-05T06:07Z"', leaf(column, "gt", "2024-03-05T06:07:00.000Z"))
    ok(
        f'{column} <= "2024-03-05T08:07:08.123456+02:00"',
        leaf(column, "lte", "2024-03-05T06:07:08.123Z"),
    )
    ok(f"{column} >= now - 7d", leaf(column, "gte", "2025-05-25T12:00:00.000Z"))
    ok(f"{column} < now", leaf(column, "lt", "2025-06-01T12:00:00.000Z"))
    ok(
        f'{column} != "2024-03-05T06:07:08Z"',
        OR(leaf(column, "lt", TS), leaf(column, "gt", TS)),
    )
    err_at(f"{column} > 1700000000", "wrong-value-type", "1700000000")
    err_at(f'{column} > "01/02/2024"', "invalid-timestamp", '"01/02/2024"')
    err_at(f'{column} like "2024%"', "operator-not-allowed", f'{column} like "2024%"')
for column in ("cached", "threat", "helicone-score-feedback"):
    ok(f"{column} = true", leaf(column, "equals", True))
    ok(f"{column} != true", leaf(column, "equals", False))
    ok(f"{column} != false", leaf(column, "equals", True))
    ok(f"not {column}", leaf(column, "equals", False))
    err_at(f'{column} = "true"', "wrong-value-type", '"true"')
    err_at(f"{column} > true", "operator-not-allowed", f"{column} > true")
for column in ("properties", "search_properties", "scores"):
    err_at(f"{column}.k is null", "operator-not-allowed", f"{column}.k is null")
    err_at(f'{column} = "x"', "missing-map-key", column)
column = "properties"
ok(f'{column}.app-name != "x"', leaf(column, "not-equals", "x", key="app-name"))
ok(f'{column}["a.b"] like "%x"', leaf(column, "like", "%x", key="a.b"))
ok(f'{column}["ключ"] ilike "y"', leaf(column, "ilike", "y", key="ключ"))
ok(f'{column}.k not contains "z"', leaf(column, "not-contains", "z", key="k"))
ok(
    f'{column}.k in ["a", "b"]',
    OR(leaf(column, "equals", "a", key="k"), leaf(column, "equals", "b", key="k")),
)
ok(
    'scores.k in ["1", "+2"]',
    OR(leaf("scores", "equals", "1", key="k"), leaf("scores", "equals", "+2", key="k")),
)
ok('property_key == "environment"', leaf("property_key", "equals", "environment"))
err_at('property_key != "environment"', "operator-not-allowed", 'property_key != "environment"')
err_at("property_key = 5", "wrong-value-type", "5")

# -- names ---------------------------------------------------------------------------------
ok('properties.and = "x"', leaf("properties", "equals", "x", key="and"))
ok('properties.NOT = "x"', leaf("properties", "equals", "x", key="NOT"))
ok('properties["with \\"quote\\""] = "x"', leaf("properties", "equals", "x", key='with "quote"'))
ok("request_response_rmt.properties['k'] = 'v'", leaf("properties", "equals", "v", key="k"))
ok('scores["Helicone-Session Id"] = "1"', leaf("scores", "equals", "1", key="Helicone-Session Id"))
ok('properties.k_1-x2 = "v"', leaf("properties", "equals", "v", key="k_1-x2"))
err_at("modle = 1", "unknown-field", "modle")
err_at("usr_cost > 5", "unknown-field", "usr_cost")
err_at("Model = 'x'", "unknown-field", "Model")
err_at('users_view.model = "x"', "unknown-field", "users_view.model")
err_at("user_view.user_cost > 1", "unknown-table", "user_view.user_cost")
err_at('model.x = "y"', "not-a-map", "model.x")
err_at('model["x"] = "y"', "not-a-map", 'model["x"]')
err_at('properties.a.b = "x"', "invalid-map-key", "properties.a.b")
err_at("users_view > 1", "unknown-field", "users_view")

# -- values --------------------------------------------------------------------------------
ok("user_cost > 5.0", leaf("user_cost", "gt", 5.0))
ok("user_cost > 1e3", leaf("user_cost", "gt", 1000.0))
ok("user_cost > -0.25E-2", leaf("user_cost", "gt", -0.0025))
err_at("user_cost > 9007199254740991", "int32-overflow", "9007199254740991")
ok("user_cost > 4503599627370495.5", leaf("user_cost", "gt", 4503599627370495.5))
err_at("user_cost > 9007199254740992", "number-out-of-range", "9007199254740992")
err_at("user_cost > 1e400", "number-out-of-range", "1e400")
ok("model = 'it\\'s'", leaf("model", "equals", "it's"))
ok('model = "say \\"hi\\""', leaf("model", "equals", 'say "hi"'))
ok('model = "a\\\\b\\/c"', leaf("model", "equals", "a\\b/c"))
ok('model = "\\n\\r\\t\\b\\f"', leaf("model", "equals", "\n\r\t\b\f"))
ok('model = "\\u00e9\\ud83d\\ude00"', leaf("model", "equals", "é😀"))
ok('model = "“curly” inside"', leaf("model", "equals", "“curly” inside"))
ok('model = "日本語"', leaf("model", "equals", "日本語"))
ok("model = ''", leaf("model", "equals", ""))
err_at('model = "a\\qb"', "invalid-escape", "\\q")
err_at('model = "\\ud83d"', "invalid-escape", "\\ud83d")
err_at('model = "\\ude00"', "invalid-escape", "\\ude00")
err_at('model = "\\u12"', "invalid-escape", "\\u")
err_at('model = "a\tb"', "control-character", "\t")
err('model = "abc', "unterminated-string", 8, 12)
err("model = 'abc", "unterminated-string", 8, 12)
err_at("model = “gpt-4”", "smart-quote", "“")
err_at("model = ‘gpt-4’", "smart-quote", "‘")
err_at("user_id = abc", "unquoted-string", "abc")
for bad_number in ("5.", ".5", "05", "+5", "1_000", "1.2.3", "5abc"):
    err_at(f"user_cost > {bad_number}", "invalid-number", bad_number)
ok(
    "request_created_at > now-90m",
    leaf("request_created_at", "gt", "2025-06-01T10:30:00.000Z"),
)
ok("request_created_at > NOW - 1w", leaf("request_created_at", "gt", "2025-05-25T12:00:00.000Z"))
ok(
    "request_created_at > now - 30s and request_created_at < now - 2h",
    AND(
        leaf("request_created_at", "gt", "2025-06-01T11:59:30.000Z"),
        leaf("request_created_at", "lt", "2025-06-01T10:00:00.000Z"),
    ),
)
ok(
    'request_created_at >= "2024-02-29T23:59:59.999Z"',
    leaf("request_created_at", "gte", "2024-02-29T23:59:59.999Z"),
)
ok(
    'request_created_at >= "2024-01-01T00:30-01:00"',
    leaf("request_created_at", "gte", "2024-01-01T01:30:00.000Z"),
)
err_at('request_created_at > "2023-02-29"', "invalid-timestamp", '"2023-02-29"')
err_at('request_created_at > "2024-13-01"', "invalid-timestamp", '"2024-13-01"')
err_at("request_created_at > now - 7D", "unexpected-character", "7D")
err_at("user_cost > now", "wrong-value-type", "now")
err_at("user_cost > 5d", "unexpected-token", "5d")

# -- boolean logic, chains and their shape ---------------------------------------------------
A, B, C, D = (leaf("user_cost", "gt", i) for i in range(1, 5))
a, b, c, d = "user_cost > 1", "user_cost > 2", "user_cost > 3", "user_cost > 4"
ok(f"{a} and {b}", AND(A, B))
ok(f"{a} and {b} and {c}", {"left": A, "operator": "and", "right": AND(B, C)})
ok(f"({a} and {b}) and {c}", AND(A, B, C))
ok(f"{a} and ({b} and {c})", AND(A, B, C))
ok(f"{a} and {b} and {c} and {d}", {"left": AND(A, B), "operator": "and", "right": AND(C, D)})
ok(f"{a} or {b} or {c} or {d}", OR(A, B, C, D))
ok(f"{a} or {b} and {c}", OR(A, AND(B, C)))
ok(f"({a} or {b}) and {c}", AND(OR(A, B), C))
ok(f"{a} && {b} || {c}", OR(AND(A, B), C))
ok(f"{a} AND {b} Or {c}", OR(AND(A, B), C))
ok(f"(({a}))", A)
ok(f"{a} and {b} and {c} and {d}", right("and", A, B, C, D), nesting="right")
ok(f"{a} or ({b} or {c})", right("or", A, B, C), nesting="right")
L1 = leaf("latency", "gt", 1)
ok(
    'latency > 1 or model in ["x", "y"]',
    OR(L1, leaf("model", "equals", "x"), leaf("model", "equals", "y")),
)
ok(
    'model in ["x", "y"] or latency > 1',
    OR(leaf("model", "equals", "x"), leaf("model", "equals", "y"), L1),
)
ok(
    f'{a} and model in ["x", "y"]',
    AND(A, OR(leaf("model", "equals", "x"), leaf("model", "equals", "y"))),
)
ok(
    f'{a} and model not in ["x", "y"]',
    AND(A, leaf("model", "not-equals", "x"), leaf("model", "not-equals", "y")),
)
ok('model in ["x"]', leaf("model", "equals", "x"))
ok("status in [200, 201, 204,]", OR(*(leaf("status", "equals", v) for v in (200, 201, 204))))
err_at("status in []", "empty-list", "status in []")

# -- not -------------------------------------------------------------------------------------
ok(f"not {a}", leaf("user_cost", "lte", 1))
ok(f"!({a})", leaf("user_cost", "lte", 1))
ok(f"not not {a}", A)
ok("not user_cost >= 1", leaf("user_cost", "lt", 1))
ok("not user_cost < 1", leaf("user_cost", "gte", 1))
ok("not user_cost <= 1", leaf("user_cost", "gt", 1))
ok("not user_cost = 1", leaf("user_cost", "not-equals", 1))
ok("NOT user_cost != 1", leaf("user_cost", "equals", 1))
ok('not model = "x"', leaf("model", "not-equals", "x"))
ok('not model contains "x"', leaf("model", "not-contains", "x"))
ok('not model not contains "x"', leaf("model", "contains", "x"))
ok("not model is null", leaf("model", "not-equals", "null"))
ok("not model is not null", leaf("model", "equals", "null"))
ok('not properties.k = "v"', leaf("properties", "not-equals", "v", key="k"))
ok(
    'not model in ["x", "y"]',
    AND(leaf("model", "not-equals", "x"), leaf("model", "not-equals", "y")),
)
ok(
    'not model not in ["x", "y"]',
    OR(leaf("model", "equals", "x"), leaf("model", "equals", "y")),
)
ok("not cached = false", leaf("cached", "equals", True))
ok("not cached != false", leaf("cached", "equals", False))
ok(
    'not request_created_at = "2024-03-05T06:07:08Z"',
    OR(leaf("request_created_at", "lt", TS), leaf("request_created_at", "gt", TS)),
)
ok(
    'not request_created_at != "2024-03-05T06:07:08Z"',
    leaf("request_created_at", "equals", TS),
)
ok('not request_created_at > "2024-03-05T06:07:08Z"', leaf("request_created_at", "lte", TS))
ok(f"not ({a} and {b})", OR(leaf("user_cost", "lte", 1), leaf("user_cost", "lte", 2)))
ok(f"not ({a} or {b})", AND(leaf("user_cost", "lte", 1), leaf("user_cost", "lte", 2)))
ok(
    f"not ({a} or {b}) and {c}",
    AND(leaf("user_cost", "lte", 1), leaf("user_cost", "lte", 2), C),
)
ok(
    f"not ({a} and ({b} or {c}))",
    OR(
        leaf("user_cost", "lte", 1),
        AND(leaf("user_cost", "lte", 2), leaf("user_cost", "lte", 3)),
    ),
)
ok(
    'not (model in ["x", "y"] and cost > 1)',
    OR(
        AND(leaf("model", "not-equals", "x"), leaf("model", "not-equals", "y")),
        leaf("cost", "lte", 1),
    ),
)
err_at('not model like "x%"', "not-negatable", 'model like "x%"')
err_at('not model ilike "x%"', "not-negatable", 'model ilike "x%"')
err_at("not model is empty", "not-negatable", "model is empty")
err_at('not model in ["a", "__empty__"]', "not-negatable", 'model in ["a", "__empty__"]')
err_at('not model != "__empty__"', "not-negatable", 'model != "__empty__"')
err_at('model != "__empty__"', "empty-magic", '"__empty__"')
err_at('not property_key = "k"', "not-negatable", 'property_key = "k"')
err_at("not all", "not-negatable", "all")
err_at(
    'not (cost > 1 or properties.k like "%x")',
    "not-negatable",
    'properties.k like "%x"',
)

# -- all, empty, tables ----------------------------------------------------------------------
ok("", "all")
ok("   \n\t ", "all")
ok("all", "all")
ok("ALL", "all")
ok("(all)", "all")
ok("\u00a0cached\u00a0", leaf("cached", "equals", True))
err_at("all and cached", "all-combined", "all")
err_at("cached or all", "all-combined", "all")
ok('user_cost > 5 and model = "x"', AND(leaf("user_cost", "gt", 5), leaf("model", "equals", "x")))
err_at('user_cost > 5 or model = "x"', "or-across-tables", 'user_cost > 5 or model = "x"')
err_at(
    'cached and (user_cost > 5 or model = "x")',
    "or-across-tables",
    '(user_cost > 5 or model = "x")',
)
err_at(
    "not (user_cost > 5 and cost > 1)",
    "or-across-tables",
    "not (user_cost > 5 and cost > 1)",
)
ok(
    "not (user_cost > 5 or cost > 1)",
    AND(leaf("user_cost", "lte", 5), leaf("cost", "lte", 1)),
)
ok(
    "(user_cost > 1 or user_cost < 0) and (cost > 1 or latency > 2)",
    AND(
        OR(leaf("user_cost", "gt", 1), leaf("user_cost", "lt", 0)),
        OR(leaf("cost", "gt", 1), leaf("latency", "gt", 2)),
    ),
)

# -- syntax errors -----------------------------------------------------------------------------
err("user_cost >", "unexpected-end", 11, 11)
err("user_cost > 5 and", "unexpected-end", 17, 17)
err("(user_cost > 5", "unexpected-end", 14, 14)
err_at("user_cost > 5)", "unexpected-token", ")")
err("user_cost > 5 5", "unexpected-token", 14, 15)
err_at("user_cost => 5", "unknown-operator", "=>")
err_at("user_cost =< 5", "unknown-operator", "=<")
err_at('model lik "x"', "unknown-operator", "lik")
err_at('model equals "x"', "unknown-operator", "equals")
err_at("user_cost > 5 & cached", "unexpected-character", "&")
err_at("and cached", "unexpected-token", "and")
err_at("a ! in [1]", "unexpected-token", "!")
err_at("user_cost > $5", "unexpected-character", "$")
err_at("model = null", "unexpected-token", "null")
err_at("cached and or threat", "unexpected-token", "or")
err_at('model in "x"', "unexpected-token", '"x"')

# -- Helicone's own limits (docs/helicone.md): what it refuses, fails on, or reads otherwise ----
err_at(f'request_id like "{U[:4]}%"', "uuid-operator", f'request_id like "{U[:4]}%"')
err_at('organization_id != "v"', "invalid-uuid", '"v"')
err_at(f'cache_reference_id in ["{U}", "x"]', "invalid-uuid", '"x"')
ok(f'request_id = "{U.replace("-", "")}"', leaf("request_id", "equals", U.replace("-", "")))
ok("cache_reference_id is empty", leaf("cache_reference_id", "equals", "__empty__"))
ok("request_id is null", leaf("request_id", "equals", "null"))
err_at('scores.k contains "1"', "scores-operator", 'scores.k contains "1"')
err_at('scores.k like "1%"', "scores-operator", 'scores.k like "1%"')
err_at('scores.k = "1.5"', "invalid-score", '"1.5"')
err_at('scores.k != "x"', "invalid-score", '"x"')
err_at('scores.k = "99999999999999999999"', "int64-overflow", '"99999999999999999999"')
err_at('scores_column = "x"', "scores-column", '"x"')
err_at('scores_column contains "{}"', "scores-column", 'scores_column contains "{}"')
ok("scores_column is empty", leaf("scores_column", "equals", "__empty__"))
err_at('model contains "null"', "null-contains", '"null"')
err_at('model not contains "null"', "null-contains", '"null"')
err_at('model like "__empty__"', "empty-magic", '"__empty__"')
err_at('model contains "__empty__"', "empty-magic", '"__empty__"')
err_at('properties["__proto__"] = "x"', "proto-key", 'properties["__proto__"]')
err_at("latency > 2147483648", "int32-overflow", "2147483648")
err_at("latency < -2147483649", "int32-overflow", "-2147483649")
err_at("user_total_requests = 5000000000", "int32-overflow", "5000000000")
err_at("user_cost > 5000000000.0", "int32-overflow", "5000000000.0")
ok("latency > 2147483647", leaf("latency", "gt", 2147483647))
ok("latency > 5000000000.5", leaf("latency", "gt", 5000000000.5))
err_at("status > 1e21", "number-fails", "1e21")
err_at("user_cost < 1e300", "number-fails", "1e300")
err_at("cost > 2.147483648", "cost-overflow", "2.147483648")
err_at("cost < 5", "cost-overflow", "5")
err_at("cost > -2.147483649", "cost-overflow", "-2.147483649")
err_at("cost > 1e12", "number-fails", "1e12")
ok("cost > 2.147483647", leaf("cost", "gt", 2.147483647))
ok("cost >= -2.147483648", leaf("cost", "gte", -2.147483648))
err_at('request_created_at > "0050-01-01"', "invalid-timestamp", '"0050-01-01"')
err_at('request_created_at > "２０２４-01-01"', "invalid-timestamp", '"２０２４-01-01"')
err_at("request_created_at > now - 999999d", "invalid-timestamp", "now - 999999d")
ok(
    'request_created_at > "1900-01-01"',
    leaf("request_created_at", "gt", "1900-01-01T00:00:00.000Z"),
)
chain_402 = " and ".join(f"status = {i}" for i in range(402))
cases.append(
    {
        "text": chain_402,
        "nesting": "right",
        "errors": [{"code": "too-deep-for-helicone", "start": 0, "end": len(chain_402)}],
    }
)
ok(
    " and ".join(f"status = {i}" for i in range(401)),
    right("and", *(leaf("status", "equals", i) for i in range(401))),
    nesting="right",
)
# Each level opens a group as the first of four: the balanced chain puts it two branches
# down the left, so 98 levels nest 196 branches down the left side, past ClickHouse's parser.
deep = "status = 0"
for i in range(98):
    op = "or" if i % 2 else "and"
    deep = f"({deep}) {op} status = 1 {op} status = 2 {op} status = 3"
err(deep, "too-deep-for-helicone", 0, len(deep))

# -- several problems at once ------------------------------------------------------------------
err_at(
    'modle = "x" and usr_cost > 5 and user_id = 42',
    "unknown-field",
    "modle",
    ("unknown-field", "usr_cost"),
    ("wrong-value-type", "42"),
)
err_at(
    'not model like "x" or status > "5"',
    "not-negatable",
    'model like "x"',
    ("wrong-value-type", '"5"'),
)

if __name__ == "__main__":
    out = HERE / "compile.json"
    out.write_text(json.dumps({"now": NOW, "cases": cases}, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(cases)} cases written to {out.name}")
