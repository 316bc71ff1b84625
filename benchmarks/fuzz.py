"""A long fuzzing run: every entry point of the library on generated, mutated and hostile input.

    python benchmarks/fuzz.py                  # 1,000,000 calls
    python benchmarks/fuzz.py --calls 50000 --seed 7
    python benchmarks/fuzz.py --kinds fixes,simplify,service

Each call must return, or raise one of our own errors (FilterError, RowError); anything else
(a TypeError, a RecursionError...) is a failure, and so is a call slower than `--slow` seconds
per 10,000 characters of input (time that grows faster than the input). Some calls check a
promise too: a fix-it, applied, and `simplify` select the rows the filter selects (on a small
table of rows); the command line writes no control character it was given and no traceback,
and exits with one of its codes; the service answers every body with JSON, never a 500. It
prints how many calls of each kind ran, the failures with their reproducers, the slowest calls
and the calls per second, and exits 1 if anything failed. The test suite runs a few thousand
of the same calls (tests/design/test_fuzz.py); this is the long run, for a maintainer.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import random
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import helicone_filter
from helicone_filter import FilterError, RowError
from helicone_filter.api import lower_text
from helicone_filter.backends.row_matching import filter_matches
from helicone_filter.diagnostics import apply_fix
from helicone_filter.facts.schema import FIELDS, OPERATORS, TABLES

NOW = datetime(2025, 6, 1, tzinfo=UTC)
OURS = (FilterError, RowError)

WORDS = [
    *FIELDS,
    *TABLES,
    *(op.text for op in OPERATORS),
    *(s for op in OPERATORS for s in op.synonyms),
    "and", "or", "not", "&&", "||", "!", "(", ")", "[", "]", ",", ".", "all", "now", "-",
    "7d", "30m", "true", "false", "null", "empty", "is", "in", "5", "-2.5", "1e999", "0",
    "9007199254740993", '"x"', '"gpt%"', '"2024-01-01T00:00:00Z"', "'it\\'s'", '"\\q"',
    '"open', "\u201csmart\u201d", "properties.env", 'properties["a b"]', "scores.s",
    "=>", "=<", "eq", "gte", "startswith",
]  # fmt: skip
NOISE = " \t\n\"'\\()[]{}.,!&|=<>%_-+*/\u00e9\u4e2d\ud83d\ude00\x00\x1b\u202e\ufeff"
# Conditions the analysis reads, for filters full of repeats, contradictions and `not`s.
REPEATABLE = [
    "latency > 1", "latency > 2", "latency <= 2", "latency = 1", "latency != 1",
    "latency in [1, 2]", "latency not in [2, 5]", "cost > 0.5", "cost >= 1.001", "cached",
    'model = "a"', 'model != "a"', 'model in ["a", "b"]', "model is null", "model is not null",
    'model contains "a"', 'properties.k = "a"', 'properties.k != ""', 'scores.s = "1"',
    "request_created_at > now - 1d", 'request_created_at != "2025-01-01T00:00:00Z"',
]  # fmt: skip
VALID = [
    'user_cost > 5 and model ilike "gpt%" and request_created_at >= now - 7d',
    'not (cost > 1 or cached) and model in ["a", "b"]',
    'properties.environment = "prod" or properties["user tier"] != "free"',
    "status >= 500 && !cached",
    'user_id contains "abc" and user_last_active > now - 30d',
    'scores.rating = "5" and helicone-score-feedback = true',
    "all",
]


def _repetitive(rng: random.Random) -> str:
    """A filter of a few conditions drawn with repeats, under `not`, `!` and parentheses,
    joined by every spelling of `and` and `or`: what the analysis and its fix-its work on."""
    pool = rng.sample(REPEATABLE, rng.randint(1, 4))

    def operand(depth: int) -> str:
        roll = rng.random()
        if roll < 0.15 and depth < 3:
            return f"({chain(depth + 1)})"
        text = rng.choice(pool)
        for _ in range(rng.choice([0, 0, 1, 2])):
            text = f"({text})" if rng.random() < 0.4 else rng.choice(["not ", "NOT ", "!"]) + text
        return text

    def chain(depth: int) -> str:
        joints = [" and ", " or ", " && ", " || ", " AND\n"]
        parts = [operand(depth) for _ in range(rng.randint(2, 6))]
        out = parts[0]
        for part in parts[1:]:
            out += rng.choice(joints) + part
        return out

    return chain(0)


def _hostile(rng: random.Random, n: int) -> str:
    """One long input of a kind that was once slow, or that says more than it seems."""
    return rng.choice(
        [
            "a" * n + ".",
            "model " + "x_" * (n // 2) + " < 1000",
            'model = "' + "a" * n,
            "(" * n,
            "!" * n + "cached",
            "cost > " + "9" * n,
            "cached and " * (n // 11),
            "latency in [" + ",".join(str(i) for i in range(n // 6)) + "] and latency != -1",
            " and ".join(["cost > 1"] * (n // 13)),
            " or ".join(["(latency > 5 and latency < 3)"] * (n // 33)),
            " and ".join(f"latency != {i}" for i in range(n // 16)),
            " or ".join(f"latency > {i}" for i in range(n // 15)),
            "not (" * (n // 10) + "cached" + ")" * (n // 10),
        ]
    )


def _text(rng: random.Random) -> str:
    """A filter text: words of the language in any order, valid filters cut and spliced,
    characters at random, filters full of repeats, or one long hostile run."""
    roll = rng.random()
    if roll < 0.1:
        return _repetitive(rng)
    if roll < 0.15:
        return rng.choice(
            [
                'modle = "\x1b]0;PWNED\x07\x1b[2J"',
                'model = "\x9b\u202e\x7f" and modle = 1',
                "model != null",
                "model <> null and latency > null",
                "model notlike 'a%'",
                "latency =! 5",
                "\x1b[2J" + rng.choice(VALID),
                rng.choice(VALID) + "\u202e\u2066",
            ]
        )
    if roll < 0.4:
        sep = rng.choice([" ", "", "\n", "  "])
        return sep.join(rng.choice(WORDS) for _ in range(rng.randint(0, 14)))
    if roll < 0.7:
        text = rng.choice(VALID)
        for _ in range(rng.randint(1, 4)):
            i, j = sorted(rng.randrange(len(text) + 1) for _ in range(2))
            piece = rng.choice([rng.choice(WORDS), rng.choice(NOISE), "", text[i:j] * 2])
            text = text[:i] + piece + text[j:]
        return text
    if roll < 0.9:
        return "".join(rng.choice(NOISE + "abcz019") for _ in range(rng.randint(0, 40)))
    return _hostile(rng, rng.choice([1_000, 10_000, 50_000]))


def _leaf(rng: random.Random) -> Any:
    field = rng.choice(list(FIELDS.values()))
    op = rng.choice(["equals", "not-equals", "gt", "gte", "lt", "lte", "like", "contains"])
    value: Any = rng.choice(
        [5, -1, 2.5, 10**30, "x", "2024-01-01T00:00:00Z", True, None, [1], {}, "null", "1e999",
         10**400, "\ud800", "a\udc80b", "\x1b[2J", "\u202e", float("nan")]
    )  # fmt: skip
    inner: Any = {op: value}
    if field.kind == "map":
        inner = {rng.choice(["k", "a b", "", "__proto__", "\ud800", "\x1b]0;x\x07"]): inner}
    return {field.table: {field.name: inner}}


def _json(rng: random.Random) -> Any:
    """A FilterNode: compiled from text, or built at random, then mutated, sometimes into
    something only Python can hold (a cycle, a set, a key that is no string)."""
    try:
        node: Any = helicone_filter.compile(rng.choice(VALID), now=NOW)
    except FilterError:
        node = "all"
    if rng.random() < 0.5:
        node = _leaf(rng)
        for _ in range(rng.randint(0, 6)):
            node = {"left": node, "operator": rng.choice(["and", "or", "xor"]), "right": _leaf(rng)}
    for _ in range(rng.randint(0, 3)):
        node = _mutate(rng, node)
    return node


def _json_text_safe(rng: random.Random) -> Any:
    """A FilterNode that JSON can write (no cycle, no set): for the command line."""
    for _ in range(10):
        obj = _json(rng)
        try:
            json.dumps(obj)
        except (TypeError, ValueError):
            continue
        return obj
    return "all"


def _mutate(rng: random.Random, node: Any) -> Any:
    if not isinstance(node, dict) or not node:
        return rng.choice([node, [node], {"left": node}, "ALL", 0])
    key = rng.choice(list(node))
    roll = rng.random()
    copy = dict(node)
    if roll < 0.3:
        copy[key] = _mutate(rng, node[key])
    elif roll < 0.45:
        del copy[key]
    elif roll < 0.6:
        copy[rng.choice(["extra", 1, None, ("t",)])] = 1
    elif roll < 0.7:
        copy[key] = rng.choice([{1, 2}, b"x", 10**5000, float("nan"), object(), "\udfff"])
        if rng.random() < 0.3:
            copy[rng.choice(["\ud800", "\x1b[2J", "a\u202eb"])] = copy.pop(key)
    elif roll < 0.8:
        copy["left"] = copy  # a cycle
    else:
        copy[key] = rng.choice([[], {}, "", [[[[]]]], {"a": {"b": {"c": {}}}}])
    return copy


def _row(rng: random.Random) -> Any:
    row: dict[str, Any] = {}
    for name in rng.sample(list(FIELDS), rng.randint(0, 6)):
        row[name] = rng.choice(
            [1, 2.5, "x", None, True, "2024-01-01T00:00:00Z", {"k": "v"}, [1], b"b", {"s": "x"},
             1e300, float("nan"), float("inf"), 10**400, "²", {"s": "+-1"}, {"s": 1e300}]
        )  # fmt: skip
    return row if rng.random() < 0.95 else rng.choice([None, [], "row"])


def _table() -> list[dict[str, Any]]:
    """Rows in which the values of REPEATABLE's conditions, and NULL, all occur."""
    pools: dict[str, list[Any]] = {
        "latency": [0, 1, 2, 3, 5, None],
        "cost": [0, 0.5, 1.0009, 1.001, 2, None],
        "cached": [True, False, None],
        "model": ["a", "A", "b", "ab", "", None],
        "properties": [{}, {"k": "a"}, {"k": ""}, {"k": "b"}],
        "scores": [{}, {"s": 1}, {"s": 0}],
        "request_created_at": [
            "2025-01-01T00:00:00Z", "2025-05-31T13:00:00Z", "2025-06-01T00:00:00Z", None,
        ],
    }  # fmt: skip
    size = max(len(p) for p in pools.values())
    return [
        {name: pool[(i * (j + 1) + j) % len(pool)] for j, (name, pool) in enumerate(pools.items())}
        for i in range(3 * size)
    ]


TABLE = _table()


def _rows(node: Any) -> list[int]:
    return [i for i, row in enumerate(TABLE) if filter_matches(node, row)]


def _fixes_keep_the_rows(text: str) -> None:
    """Every fix-it of `text` (the first ten: a long filter has thousands, each a filter to
    read again), applied, compiles when `text` does and selects its rows."""
    try:
        before = _rows(lower_text(text, now=NOW))
    except FilterError:
        before = None
    diagnostics = helicone_filter.diagnose(text, now=NOW)
    for d in diagnostics[:10]:
        for fix in d.fixes:
            fixed = apply_fix(text, fix)
            if before is None:
                continue  # a fix of an error: the filter did not select anything before
            after = _rows(lower_text(fixed, now=NOW))  # FilterError here is a failure
            if after != before:
                raise AssertionError(f"the fix of {d.code} changed the rows: {fixed!r}")


def _simplify_keeps_the_rows(text: str) -> None:
    try:
        node = lower_text(text, now=NOW)
    except FilterError:
        return
    simple = helicone_filter.simplify(text, now=NOW)
    if _rows(lower_text(simple, now=NOW)) != _rows(node):
        raise AssertionError(f"simplify changed the rows: {simple!r}")


# What a terminal would act on: any control character but the line break and the tab.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CLI_COMMANDS = [
    ["compile"], ["check"], ["fmt"], ["fmt", "--simplify"], ["explain"], ["sql"], ["query"],
    ["compile", "--error-format", "json"], ["check", "--error-format", "json"],
    ["compile", "-q"], ["explain", "-q"], ["compile", "--color", "always"],
]  # fmt: skip
_CLI_ARGS = [
    ["compile", "--lines", "--jobs", "99999999999999999999", "-"],
    ["compile", "--lines", "--jobs", "0", "-"], ["serve", "--max-body-bytes", "-1"],
    ["serve", "--port", "9" * 500], ["query", "all", "--timeout", "nan"],
    ["query", "all", "--tz-offset", "1441"], ["query", "all", "--limit", "9" * 5000],
    ["query", "all", "--offset", "-1"], ["--prety", "compile", "cached"], ["fromat", "x"],
]  # fmt: skip


def _cli(argv: list[str], stdin: str = "") -> None:
    """The command line on `argv`: one of its exit codes, no traceback, and no control
    character in what it writes (but its own colours, when asked for)."""
    from helicone_filter.cli import main
    from helicone_filter.cli.exits import Exit

    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        contextlib.ExitStack() as stack,
    ):
        saved = sys.stdin
        sys.stdin = io.StringIO(stdin)
        stack.callback(lambda: setattr(sys, "stdin", saved))
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own exit, which main should turn into a code
            raise AssertionError(f"main raised SystemExit({e.code})") from None
    if code not in set(Exit):
        raise AssertionError(f"exit code {code}")
    colours = "--color" in argv
    for name, stream in (("stdout", out), ("stderr", err)):
        written = stream.getvalue()
        if "Traceback" in written:
            raise AssertionError(f"a traceback on {name}")
        shown = re.sub("\x1b\\[[0-9;]*m", "", written) if colours else written
        bad = _CONTROL.search(shown)
        if bad:
            raise AssertionError(f"{name} holds control character U+{ord(bad.group()):04X}")


_SERVICE: list[Any] = []  # the service's app, made on first use
_ENDPOINTS = ["/compile", "/format", "/check", "/complete", "/diagnose", "/sql", "/query"]
_FIELDS = [
    "text", "input", "now", "nesting", "cursor", "cursor_utf16", "map_keys", "table_map",
    "target", "limit", "offset", "sort", "since", "until", "tz_offset", "limt", "\ud800",
]  # fmt: skip
_ODD = [
    -1, 0, 2**53, 10**30, 1.5, True, None, "", "x", "\ud800", "a\udc80", "\x1b[2J", [], {},
    {"properties": ["\ud800", "a" * 1_001]}, {"propertes": []}, {"properties": "env"},
    {"request_response_rmt": "t\udc00"}, "1" * 5_000, "2025-01-01T00:00:00Z", "balanced",
]  # fmt: skip


def _service_body(rng: random.Random) -> bytes:
    """A request body: the fields of an endpoint (and others) with odd values, JSON that only
    Python's reader takes apart (a 5,000-digit number, lone surrogates as escapes), or bytes
    that are not JSON at all."""
    roll = rng.random()
    if roll < 0.1:
        return rng.choice([b"", b"[]", b'"x"', b"\xff\xfe", b"{" * 5_000, b"{}", b"nul"])
    body: dict[str, Any] = {}
    for name in rng.sample(_FIELDS, rng.randint(0, 4)):
        body[name] = rng.choice(_ODD)
    if rng.random() < 0.7:
        body[rng.choice(["text", "input"])] = _text(rng)[:20_000]
    elif rng.random() < 0.5:
        body["input"] = _json_text_safe(rng)
    text = json.dumps(body)  # lone surrogates go out as \ud800 escapes
    if rng.random() < 0.2:
        text = text[:-1] + (", " if body else "") + '"n": ' + "9" * 5_000 + "}"
    return text.encode()


def _service(path: str, body: bytes, kind: str) -> None:
    """The service answers with JSON, an error as {"error": {"message", ...}}, never a 500."""
    import asyncio

    import httpx

    if not _SERVICE:
        from helicone_filter.service.app import create_app

        _SERVICE.append(create_app())

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=_SERVICE[0])
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            return await c.post(path, content=body, headers={"content-type": kind})

    answer = asyncio.run(post())
    if answer.status_code >= 500 and answer.status_code != 503:
        raise AssertionError(f"{answer.status_code} for {body[:200]!r}")
    data = answer.json()  # raises (a failure) for an answer that is not JSON
    if answer.status_code >= 400 and not isinstance(data.get("error", {}).get("message"), str):
        raise AssertionError(f"{answer.status_code} without an error message: {data!r:.200}")


KINDS = (
    "compile", "check_text", "diagnose", "complete", "parse", "check", "normalize", "to_text",
    "matches", "to_clickhouse", "to_clickhouse_text", "compile_with_spans", "simplify",
    "simplify_json", "fixes", "cli", "service",
)  # fmt: skip
"""The kinds of call, each an entry point (or a promise) of the library, its command line or
its service."""


def _calls(
    rng: random.Random, kinds: tuple[str, ...] = KINDS
) -> tuple[str, Callable[[], Any], int]:
    """One call at random: its kind, the call, and the size of its input (for --slow)."""
    kind = rng.choice(kinds)
    if kind == "service":
        path = rng.choice([*_ENDPOINTS, "/nope"])
        body = _service_body(rng)
        media = "application/json" if rng.random() < 0.95 else "text/plain"
        return kind, lambda: _service(path, body, media), len(body)
    if kind == "fixes":
        text = _repetitive(rng) if rng.random() < 0.7 else _text(rng)
        return kind, lambda: _fixes_keep_the_rows(text), len(text)
    if kind == "simplify":
        text = _repetitive(rng) if rng.random() < 0.5 else _text(rng)
        return kind, lambda: _simplify_keeps_the_rows(text), len(text)
    if kind == "simplify_json":
        obj = _json(rng)
        return kind, lambda: helicone_filter.simplify(obj), 1
    if kind == "cli":
        if rng.random() < 0.2:
            argv = rng.choice(_CLI_ARGS)
            return kind, lambda: _cli(argv, "cached\n"), 1
        text = _text(rng) if rng.random() < 0.7 else json.dumps(_json_text_safe(rng))
        if len(text) > 20_000:
            text = text[:20_000]
        argv = [*rng.choice(_CLI_COMMANDS), text]
        return kind, lambda: _cli(argv), len(text)
    if kind in ("compile", "check_text", "diagnose", "parse", "compile_with_spans"):
        text = _text(rng)
        fn = getattr(helicone_filter, kind)
        call = (lambda: fn(text)) if kind == "parse" else (lambda: fn(text, now=NOW))
        return kind, call, len(text)
    if kind == "complete":
        text = _text(rng)
        cursor = rng.randint(-2, len(text) + 2)
        return kind, lambda: helicone_filter.complete(text, cursor), len(text)
    if kind == "to_clickhouse_text":
        text = _text(rng)
        return kind, lambda: helicone_filter.to_clickhouse(text, now=NOW), len(text)
    obj = _json(rng)
    if kind == "check":

        def check() -> Any:
            problems = helicone_filter.check(obj)  # documented never to raise
            assert isinstance(problems, list)
            return problems

        return kind, check, 1
    if kind == "matches":
        row = _row(rng)
        return kind, lambda: helicone_filter.matches(obj, row), 1
    fn = getattr(helicone_filter, kind)
    return kind, lambda: fn(obj), 1


def run(calls: int, seed: int, slow: float = 2.0, kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    """Make `calls` calls (of `kinds`); return the counts, failures, slowest calls and the
    rate."""
    rng = random.Random(seed)
    counts: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    slowest: list[tuple[float, str]] = []
    start = time.perf_counter()
    for number in range(calls):
        kind, call, size = _calls(rng, kinds)
        counts[kind] += 1
        began = time.perf_counter()
        try:
            call()
        except OURS:
            pass
        except Exception as e:  # the failures this run is for
            failures.append(f"call {number} ({kind}, seed {seed}): {type(e).__name__}: {e!s:.200}")
        took = time.perf_counter() - began
        if took > slow * max(1.0, size / 10_000):
            failures.append(f"call {number} ({kind}, seed {seed}): {took:.2f} s for {size:,} chars")
        slowest = sorted([*slowest, (took, f"{kind} ({size:,} chars)")], reverse=True)[:5]
    seconds = time.perf_counter() - start
    return {
        "calls": calls,
        "seconds": seconds,
        "rate": calls / seconds,
        "counts": dict(counts),
        "failures": failures,
        "slowest": slowest,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fuzz every entry point of helicone_filter.")
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slow", type=float, default=2.0, help="seconds per 10,000 chars allowed")
    ap.add_argument(
        "--kinds", default=",".join(KINDS), help=f"the kinds of call, of {', '.join(KINDS)}"
    )
    args = ap.parse_args(argv)
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        ap.error(f"unknown kinds of call: {', '.join(unknown) or '(none given)'}")
    found = run(args.calls, args.seed, args.slow, kinds)
    print(
        f"{found['calls']:,} calls in {found['seconds']:,.0f} s ({found['rate']:,.0f} a second), "
        f"{len(found['failures'])} failures"
    )
    print("by entry point:", json.dumps(found["counts"], sort_keys=True))
    print("slowest:", "; ".join(f"{t * 1e3:,.0f} ms {what}" for t, what in found["slowest"]))
    for failure in found["failures"][:50]:
        print("FAILED", failure)
    return 1 if found["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
