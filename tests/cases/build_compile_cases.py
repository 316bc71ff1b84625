"""Writes compile.json, the golden table of the compiler, from expectations stated here.

The expected JSON is written out by hand (through the small helpers below), following
LANGUAGE.md; the field/operator matrix is read from the OpenAPI file, not from the library.
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
    """LANGUAGE.md section 1: split at len // 2, recursively."""
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

# Every column: its `=` (the first operator of its kind) and the bare/qualified spellings.
for column, kind in KIND.items():
    table = TABLE_OF[column]
    if kind == "text":
        ok(f'{column} = "v"', leaf(column, "equals", "v"))
        ok(f'{table}.{column} != "v"', leaf(column, "not-equals", "v"))
    elif kind == "number":
        ok(f"{column} = 3", leaf(column, "equals", 3))
        ok(f"{table}.{column} >= 2.5", leaf(column, "gte", 2.5))
    elif kind == "timestamp":
        ok(f'{column} >= "2024-03-05T06:07:08Z"', leaf(column, "gte", TS))
        ok(f'{table}.{column} < "2024-03-05 06:07:08.000"', leaf(column, "lt", TS))
    elif kind == "boolean":
        ok(f"{column}", leaf(column, "equals", True))
        ok(f"{table}.{column} = false", leaf(column, "equals", False))
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
    ok(f'{column}.app-name != "x"', leaf(column, "not-equals", "x", key="app-name"))
    ok(f'{column}["a.b"] like "%x"', leaf(column, "like", "%x", key="a.b"))
    ok(f'{column}["ключ"] ilike "y"', leaf(column, "ilike", "y", key="ключ"))
    ok(f'{column}.k not contains "z"', leaf(column, "not-contains", "z", key="k"))
    ok(
        f'{column}.k in ["a", "b"]',
        OR(leaf(column, "equals", "a", key="k"), leaf(column, "equals", "b", key="k")),
    )
    err_at(f"{column}.k is null", "operator-not-allowed", f"{column}.k is null")
    err_at(f'{column} = "x"', "missing-map-key", column)
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
ok("user_cost > 9007199254740991", leaf("user_cost", "gt", 9007199254740991))
ok("user_cost > -9007199254740991", leaf("user_cost", "gt", -9007199254740991))
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
ok('model != "__empty__"', leaf("model", "not-equals", "__empty__"))
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
