"""A long fuzzing run: every entry point of the library on generated, mutated and hostile input.

    python benchmarks/fuzz.py                  # 1,000,000 calls
    python benchmarks/fuzz.py --calls 50000 --seed 7

Each call must return, or raise one of our own errors (FilterError, RowError); anything else
(a TypeError, a RecursionError...) is a failure, and so is a call slower than `--slow` seconds
per 10,000 characters of input (time that grows faster than the input). It prints how many
calls of each kind ran, the failures with their reproducers, the slowest calls and the calls
per second, and exits 1 if anything failed. The test suite runs a few thousand of the same
calls (tests/test_fuzz.py); this is the long run, for a maintainer.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import helicone_filter
from helicone_filter import FilterError, RowError
from helicone_filter.schema import FIELDS, OPERATORS, TABLES

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
VALID = [
    'user_cost > 5 and model ilike "gpt%" and request_created_at >= now - 7d',
    'not (cost > 1 or cached) and model in ["a", "b"]',
    'properties.environment = "prod" or properties["user tier"] != "free"',
    "status >= 500 && !cached",
    'user_id contains "abc" and user_last_active > now - 30d',
    'scores.rating = "5" and helicone-score-feedback = true',
    "all",
]


def _text(rng: random.Random) -> str:
    """A filter text: words of the language in any order, valid filters cut and spliced,
    characters at random, or one long hostile run."""
    roll = rng.random()
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
    n = rng.choice([1_000, 10_000, 50_000])
    return rng.choice(
        [
            "a" * n + ".",
            "model " + "x_" * (n // 2) + " < 1000",
            'model = "' + "a" * n,
            "(" * n,
            "!" * n + "cached",
            "cost > " + "9" * n,
            "cached and " * (n // 11),
        ]
    )


def _leaf(rng: random.Random) -> Any:
    field = rng.choice(list(FIELDS.values()))
    op = rng.choice(["equals", "not-equals", "gt", "gte", "lt", "lte", "like", "contains"])
    value: Any = rng.choice(
        [5, -1, 2.5, 10**30, "x", "2024-01-01T00:00:00Z", True, None, [1], {}, "null", "1e999"]
    )
    inner: Any = {op: value}
    if field.kind == "map":
        inner = {rng.choice(["k", "a b", "", "__proto__"]): inner}
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
        copy[key] = rng.choice([{1, 2}, b"x", 10**5000, float("nan"), object()])
    elif roll < 0.8:
        copy["left"] = copy  # a cycle
    else:
        copy[key] = rng.choice([[], {}, "", [[[[]]]], {"a": {"b": {"c": {}}}}])
    return copy


def _row(rng: random.Random) -> Any:
    row: dict[str, Any] = {}
    for name in rng.sample(list(FIELDS), rng.randint(0, 6)):
        row[name] = rng.choice(
            [1, 2.5, "x", None, True, "2024-01-01T00:00:00Z", {"k": "v"}, [1], b"b", {"s": "x"}]
        )
    return row if rng.random() < 0.95 else rng.choice([None, [], "row"])


def _calls(rng: random.Random) -> tuple[str, Callable[[], Any], int]:
    """One call at random: its kind, the call, and the size of its input (for --slow)."""
    kind = rng.choice(
        ["compile", "check_text", "diagnose", "complete", "parse", "check", "normalize",
         "to_text", "matches", "to_clickhouse", "to_clickhouse_text", "compile_with_spans"]
    )  # fmt: skip
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


def run(calls: int, seed: int, slow: float = 2.0) -> dict[str, Any]:
    """Make `calls` calls; return the counts, failures, slowest calls and the rate."""
    rng = random.Random(seed)
    counts: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    slowest: list[tuple[float, str]] = []
    start = time.perf_counter()
    for number in range(calls):
        kind, call, size = _calls(rng)
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
    args = ap.parse_args(argv)
    found = run(args.calls, args.seed, args.slow)
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
