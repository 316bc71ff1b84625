"""The benchmark: helicone_filter against the JSON floor and the other Python filter parsers.

    python -m pip install -e '.[bench]' && python benchmarks/bench.py

Every figure comes from one run on the same inputs: a deterministic generator builds filters
of 1, 10, 100, 1,000 and 10,000 comparison terms (numbers, strings, timestamps, and/or,
parentheses, `in` lists) and renders each in every peer's own syntax. It prints median
microseconds per parse and per term, the ratio of each to `json.loads` of the very JSON we
produce (measured in the same run), the scaling exponent from 100 to 10,000 terms, peak memory
at 1,000 terms, the one-shot CLI start-up against `python -c pass`, `--lines` throughput, and
the time the worst inputs we know take at 10,000, 100,000 and 1,000,000 characters
(`--worst-only` prints just that table).
Nothing here is a test: it reports, it does not assert.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import helicone_filter

SIZES = (1, 10, 100, 1_000, 10_000)
NOW = datetime(2025, 6, 1, tzinfo=UTC)

# -- the filters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One comparison, or an `in` list (one term per value), in neutral form."""

    kind: str  # num | str | ts | in
    field: str
    op: str  # = != > >= < <= like | in
    value: Any


# Whole numbers up to 10,000: not request cost, which Helicone binds in nano-dollars as a 32-bit
# integer (every bound from $2.147483648 on is refused), nor total_tokens (no such column).
NUM_FIELDS = ("latency", "time_to_first_token", "status", "prompt_tokens", "completion_tokens")
STR_FIELDS = ("model", "provider", "user_id", "country_code")
TS_FIELDS = ("request_created_at", "response_created_at")


def terms(n: int, seed: int = 7) -> list[Any]:
    """n comparison terms in groups: a group is a Term or a parenthesised or-pair of Terms."""
    rng = random.Random(seed)
    out: list[Any] = []
    count = 0
    while count < n:
        left = n - count
        roll = rng.random()
        if roll < 0.3:
            t: Any = Term(
                "num",
                rng.choice(NUM_FIELDS),
                rng.choice(("=", "!=", ">", ">=", "<", "<=")),
                rng.randint(0, 10_000),
            )
        elif roll < 0.55:
            op = rng.choice(("=", "!=", "like"))
            value = f"m-{rng.randint(0, 999)}" + ("%" if op == "like" else "")
            t = Term("str", rng.choice(STR_FIELDS), op, value)
        elif roll < 0.7:
            day = rng.randint(1, 28)
            t = Term(
                "ts",
                rng.choice(TS_FIELDS),
                rng.choice((">=", "<")),
                f"2025-0{rng.randint(1, 9)}-{day:02d}T12:00:00Z",
            )
        elif roll < 0.85 and left >= 3:
            values = [f"u-{rng.randint(0, 99_999)}" for _ in range(3)]
            t = Term("in", "user_id", "in", values)
        elif left >= 2:
            a = Term("num", "latency", ">", rng.randint(0, 5000))
            b = Term("str", "model", "=", f"m-{rng.randint(0, 99)}")
            t = ("or", a, b)
        else:
            t = Term("num", "status", "=", 200)
        out.append(t)
        count += (
            len(t.value)
            if isinstance(t, Term) and t.kind == "in"
            else (2 if isinstance(t, tuple) else 1)
        )
    return out


def _joiners(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return ["or" if rng.random() < 0.15 else "and" for _ in range(n)]


def render(
    groups: list[Any], term: Callable[[Term], str], conj: dict[str, str], paren: str = "({})"
) -> str:
    parts = []
    for g in groups:
        if isinstance(g, tuple):
            parts.append(paren.format(f"{term(g[1])} {conj['or']} {term(g[2])}"))
        else:
            parts.append(term(g))
    out = parts[0]
    for word, part in zip(_joiners(len(parts)), parts[1:], strict=False):
        out += f" {conj[word]} {part}"
    return out


def q(s: str, mark: str = '"') -> str:
    return mark + s + mark


def ours(t: Term) -> str:
    if t.kind == "in":
        return f"{t.field} in [{', '.join(q(v) for v in t.value)}]"
    value = t.value if t.kind == "num" else q(t.value)
    return f"{t.field} {t.op} {value}"


def sql(t: Term) -> str:
    if t.kind == "in":
        return f"{t.field} IN ({', '.join(q(v, chr(39)) for v in t.value)})"
    op = {"=": "=", "!=": "<>", "like": "LIKE"}.get(t.op, t.op)
    value = t.value if t.kind == "num" else q(t.value, "'")
    return f"{t.field} {op} {value}"


def cel(t: Term) -> str:
    if t.kind == "in":
        return f"{t.field} in [{', '.join(q(v) for v in t.value)}]"
    if t.op == "like":
        return f'{t.field}.startsWith("{t.value.rstrip("%")}")'
    if t.kind == "ts":
        return f'{t.field} {t.op} timestamp("{t.value}")'
    op = "==" if t.op == "=" else t.op
    value = t.value if t.kind == "num" else q(t.value)
    return f"{t.field} {op} {value}"


SCIM_OPS = {"=": "eq", "!=": "ne", ">": "gt", ">=": "ge", "<": "lt", "<=": "le", "like": "sw"}


def scim(t: Term) -> str:
    # scim2-filter-parser lexes a number as one digit, so numbers go as strings: one token
    # each, as in the other syntaxes.
    if t.kind == "in":
        return "(" + " or ".join(f"{t.field} eq {q(v)}" for v in t.value) + ")"
    return f"{t.field} {SCIM_OPS[t.op]} {q(str(t.value).rstrip('%'))}"


def odata(t: Term) -> str:
    if t.kind == "in":
        return f"{t.field} in ({', '.join(q(v, chr(39)) for v in t.value)})"
    if t.op == "like":
        return f"startswith({t.field}, '{t.value.rstrip('%')}')"
    op = {"=": "eq", "!=": "ne", ">": "gt", ">=": "ge", "<": "lt", "<=": "le"}[t.op]
    value = t.value if t.kind in ("num", "ts") else q(t.value, "'")
    return f"{t.field} {op} {value}"


def lucene(t: Term) -> str:
    if t.kind == "in":
        return f"{t.field}:({' OR '.join(q(v) for v in t.value)})"
    value = t.value if t.kind == "num" else q(t.value)
    if t.op == "=":
        return f"{t.field}:{value}"
    if t.op == "!=":
        return f"NOT {t.field}:{value}"
    if t.op == "like":
        return f"{t.field}:{t.value.replace('%', '*')}"
    return {
        ">": f"{t.field}:{{{value} TO *]",
        ">=": f"{t.field}:[{value} TO *]",
        "<": f"{t.field}:[* TO {value}}}",
        "<=": f"{t.field}:[* TO {value}]",
    }[t.op]


def pyparsing_text(t: Term) -> str:
    return ours(t)


# -- the parsers ----------------------------------------------------------------------------


def _peers() -> dict[str, tuple[Callable[[str], Any], Callable[[list[Any]], str]]]:
    """Each peer: a function that parses one text, and how to render the filter for it."""
    peers: dict[str, tuple[Callable[[str], Any], Callable[[list[Any]], str]]] = {}
    lower = {"and": "and", "or": "or"}
    upper = {"and": "AND", "or": "OR"}
    try:
        from luqum.parser import parser as luqum_parser

        peers["luqum (Lucene)"] = (luqum_parser.parse, lambda g: render(g, lucene, upper))
    except ImportError:
        pass
    try:
        from scim2_filter_parser.lexer import SCIMLexer
        from scim2_filter_parser.parser import SCIMParser

        def scim_parse(text: str) -> Any:
            return SCIMParser().parse(SCIMLexer().tokenize(text))

        peers["scim2-filter-parser (SCIM)"] = (scim_parse, lambda g: render(g, scim, lower))
    except ImportError:
        pass
    try:
        from odata_query.grammar import ODataLexer, ODataParser

        lexer, parser = ODataLexer(), ODataParser()

        def odata_parse(text: str) -> Any:
            return parser.parse(lexer.tokenize(text))

        peers["odata-query (OData)"] = (odata_parse, lambda g: render(g, odata, lower))
    except ImportError:
        pass
    try:
        import sqlglot

        peers["sqlglot (SQL WHERE)"] = (sqlglot.condition, lambda g: render(g, sql, upper))
    except ImportError:
        pass
    try:
        import celpy

        env = celpy.Environment()
        peers["cel-python (CEL)"] = (
            env.compile,
            lambda g: render(g, cel, {"and": "&&", "or": "||"}),
        )
    except ImportError:
        pass
    with contextlib.suppress(ImportError):
        peers["pyparsing infix_notation"] = (
            _pyparsing_parser(),
            lambda g: render(g, pyparsing_text, lower),
        )
    return peers


def _pyparsing_parser() -> Callable[[str], Any]:
    import pyparsing as pp

    pp.ParserElement.enable_packrat()
    name = pp.Word(pp.alphas + "_", pp.alphanums + "_-")
    string = pp.QuotedString('"', esc_char="\\")
    number = pp.pyparsing_common.number
    value = string | number
    op = pp.one_of("= != > >= < <= like", caseless=True)
    in_list = (
        pp.CaselessKeyword("in") + pp.Suppress("[") + pp.DelimitedList(value) + pp.Suppress("]")
    )
    comparison = pp.Group(name + (in_list | (op + value)))
    expr = pp.infix_notation(
        comparison,
        [
            (pp.CaselessKeyword("not"), 1, pp.OpAssoc.RIGHT),
            (pp.CaselessKeyword("and"), 2, pp.OpAssoc.LEFT),
            (pp.CaselessKeyword("or"), 2, pp.OpAssoc.LEFT),
        ],
    )

    def parse(text: str) -> Any:
        return expr.parse_string(text, parse_all=True)

    return parse


# -- measuring --------------------------------------------------------------------------------


def _batch(fn: Callable[[], Any]) -> tuple[int, bool]:
    """How many calls make one sample of at least 10 ms (so the clock's grain does not show),
    and whether a sample needs a call to warm up first."""
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    return max(1, int(0.01 / max(once, 1e-9))), once < 0.05


def interleaved_medians(
    contenders: dict[str, Callable[[], Any]], budget: float, min_samples: int = 7
) -> dict[str, float]:
    """Median seconds per call of each contender, sampled in turns.

    The machine's speed drifts (a shared virtual machine), so the contenders take turns, one
    sample each per round: a slow spell then slows them all alike and the ratios hold. Taking
    turns leaves the processor's caches full of the previous contender, so a short sample
    starts with one untimed call: every contender is timed warm (a call of 50 ms or more is
    timed as it comes; its own first microseconds do not show).
    """
    batches = {name: _batch(fn) for name, fn in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    deadline = time.perf_counter() + budget
    rounds = 0
    while rounds < min_samples or (time.perf_counter() < deadline and rounds < 400):
        for name, fn in contenders.items():
            k, warm_up = batches[name]
            gc.disable()
            if warm_up:
                fn()
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - t0) / k)
            gc.enable()
        rounds += 1
    return {name: statistics.median(values) for name, values in samples.items()}


def _objects_size(obj: Any) -> int:
    seen: set[int] = set()
    total, stack = 0, [obj]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        total += sys.getsizeof(x)
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
    return total


def _env() -> dict[str, str]:
    # As a user's install would: with compiled bytecode cached.
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=_env()
    )
    return time.perf_counter() - t0


def startup(repeat: int) -> tuple[float, float]:
    """Median wall time of a one-shot compile and of `python -c pass`, taken in turns."""
    script = str(Path(sys.executable).parent / "helicone-filter")
    ours_cmd = [script, "compile", "user_cost > 5"]
    _run(ours_cmd)  # bytecode and parser tables cached, as after any first call
    bare, ours_ = [], []
    for _ in range(repeat):
        bare.append(_run([sys.executable, "-c", "pass"]))
        ours_.append(_run(ours_cmd))
    return statistics.median(ours_), statistics.median(bare)


BUILDER_FILTER = (
    'user_cost > 5 and model ilike "gpt%" and request_created_at >= now - 7d and '
    'properties.environment = "production" and status in [200, 201, 204] and '
    "latency < 1500 and not cached and threat = false"
)
# The analysis finds three things here: a redundant bound, a duplicate, one that never matches.
BUILDER_SLIPS = (
    'user_cost > 5 and user_cost > 2 and model ilike "gpt%" and request_created_at >= now - 7d '
    'and properties.environment = "production" and status in [200, 201, 204] and latency < 1500 '
    "and latency < 1500 and not cached and status = 500"
)
BUILDER_MISTAKES = (
    'user_cost > 5 and modle ilike "gpt%" and request_created_at >= now - 7d and '
    "properties.environment = production and status in [200, 201, 204] and "
    "latency => 1500 and not cached and thret = false"
)


def builder_timings() -> dict[str, float]:
    """Median seconds of `complete` and `diagnose` on a filter of about 200 characters."""
    from helicone_filter import complete, diagnose

    middle = len(BUILDER_FILTER) // 2
    medians = interleaved_medians(
        {
            "complete": lambda: complete(BUILDER_FILTER, middle),
            "diagnose": lambda: diagnose(BUILDER_MISTAKES),
            "diagnose_clean": lambda: diagnose(BUILDER_FILTER),
            "diagnose_analysis": lambda: diagnose(BUILDER_SLIPS),
            "diagnose_no_analysis": lambda: diagnose(BUILDER_SLIPS, analyze=False),
        },
        budget=1.0,
    )
    return {**medians, "length": float(len(BUILDER_FILTER))}


def lines_throughput(n: int, jobs: int | None = None) -> float:
    """Lines per second through `helicone-filter compile --lines`, three terms a line (with
    `--jobs`, if given; by default one worker process per processor)."""
    script = str(Path(sys.executable).parent / "helicone-filter")
    rng = random.Random(3)
    lines = [
        f'latency > {rng.randint(0, 9999)} and model = "m-{i % 97}" and '
        f"request_created_at >= now - {rng.randint(1, 30)}d"
        for i in range(n)
    ]
    data = ("\n".join(lines) + "\n").encode()
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.seek(0)
        t0 = time.perf_counter()
        subprocess.run(
            [script, "compile", "--lines", *([] if jobs is None else ["--jobs", str(jobs)])],
            stdin=f,
            stdout=subprocess.DEVNULL,
            check=True,
            env=_env(),
        )
        return n / (time.perf_counter() - t0)


# The inputs that once took quadratic time, or that make the most work per character: each a
# function of the length wanted. (They are all refused or compiled; what is timed is how long
# that takes.) The last three are the analysis's (analysis.py): an `in` list beside a `!=` on
# its column, one condition repeated, pairs of conditions that contradict each other.
WORST: dict[str, Callable[[int], str]] = {
    "a long word, then a dot": lambda n: "a" * (n - 1) + ".",
    "a long run of x_": lambda n: "model " + "x_" * ((n - 13) // 2) + " < 1000",
    "an unclosed string": lambda n: 'model = "' + "a" * (n - 9),
    "deep parentheses": lambda n: "(" * n,
    "dots": lambda n: "a." * (n // 2),
    "an `in` list": lambda n: "model in [" + '"a",' * ((n - 14) // 4) + '"b"]',
    "! before a condition": lambda n: "!" * (n - 6) + "cached",
    "an `in` list and a `!=`": lambda n: (
        "latency in ["
        + ",".join(str(100_000 + i) for i in range((n - 40) // 7))
        + "] and latency != -1"
    ),
    "a condition repeated": lambda n: " and ".join(["cost > 1"] * ((n + 5) // 13)),
    "contradicting pairs": lambda n: " or ".join(
        ["(latency > 5 and latency < 3)"] * ((n + 4) // 33)
    ),
}
WORST_SIZES = (10_000, 100_000, 1_000_000)


def _cli(*argv: str) -> Callable[[str], Any]:
    """The command line's `main` on a filter, its output thrown away (in this process: what is
    timed is the command's own work, not Python's start)."""
    from helicone_filter.cli import main

    def run(text: str) -> Any:
        with (
            open(os.devnull, "w") as sink,
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            return main([*argv, text])

    return run


def worst_inputs(collect: bool = True) -> dict[str, dict[int, tuple[float, str]]]:
    """For each worst input and size, the seconds of the slowest entry point on it (the best
    of a few runs) and its name: the library's compile, check_text, diagnose, simplify and
    complete (cursor at the end), and the command line's compile, query, explain and fmt
    --simplify, warnings and all. With `collect` false the garbage collector is off while a
    call is timed, which shows our code's own growth: the collector's passes over a heap that
    grows with the input add to it."""
    from helicone_filter import FilterError

    calls: dict[str, Callable[[str], Any]] = {
        "compile": partial(helicone_filter.compile, now=NOW),
        "check_text": partial(helicone_filter.check_text, now=NOW),
        "diagnose": partial(helicone_filter.diagnose, now=NOW),
        "simplify": partial(helicone_filter.simplify, now=NOW),
        "complete": helicone_filter.complete,
        "cli compile": _cli("compile"),
        "cli query": _cli("query"),
        "cli explain": _cli("explain"),
        "cli fmt --simplify": _cli("fmt", "--simplify"),
    }
    out: dict[str, dict[int, tuple[float, str]]] = {}
    for name, make in WORST.items():
        out[name] = {}
        for n in WORST_SIZES:
            text = make(n)
            slowest = (0.0, "")
            for call_name, call in calls.items():
                best = math.inf
                for _ in range(3 if n < 1_000_000 else 1):
                    if not collect:
                        gc.collect()
                        gc.disable()
                    start = time.perf_counter()
                    with contextlib.suppress(FilterError):
                        call(text)
                    best = min(best, time.perf_counter() - start)
                    gc.enable()
                slowest = max(slowest, (best, call_name))
            out[name][n] = slowest
    return out


def print_worst(markdown: bool) -> None:
    """The table of the worst inputs, with the collector on and off."""
    worst = worst_inputs()
    own = worst_inputs(collect=False)
    lo, hi = WORST_SIZES[0], WORST_SIZES[-1]

    def exponent(by_n: dict[int, tuple[float, str]]) -> str:
        return f"{math.log(by_n[hi][0] / by_n[lo][0]) / math.log(hi / lo):.2f}"

    print(
        "\nthe worst inputs we know: ms for the slowest of the library's compile, check_text, "
        "diagnose,\nsimplify and complete and the command line's compile, query, explain and "
        "fmt --simplify\n(the slowest named); exponent: scaling from "
        f"{lo:,} to {hi:,} characters (1.0 is linear);\ncollector off: the same with the "
        "garbage collector off while timed\n"
    )
    _print_table(
        [
            "input",
            *[f"{n:,} chars" for n in WORST_SIZES],
            "slowest",
            "exponent",
            "collector off",
        ],
        [
            [
                name,
                *[f"{by_n[n][0] * 1e3:,.1f}" for n in WORST_SIZES],
                by_n[hi][1],
                exponent(by_n),
                exponent(own[name]),
            ]
            for name, by_n in worst.items()
        ],
        markdown,
    )
    print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="helicone_filter against its peers and the floor.")
    ap.add_argument("--budget", type=float, default=3.0, help="seconds per size (default 3)")
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    ap.add_argument("--lines", type=int, default=100_000, help="lines for --lines throughput")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument(
        "--worst-only", action="store_true", help="print only the table of the worst inputs"
    )
    args = ap.parse_args(argv)
    if args.worst_only:
        print_worst(args.markdown)
        return 0

    import orjson

    peers = _peers()
    rows: dict[str, dict[int, float]] = {}
    ours_name, floor_name = "helicone_filter.compile", "json.loads (floor)"
    for n in args.sizes:
        groups = terms(n)
        text = render(groups, ours, {"and": "and", "or": "or"})
        result = helicone_filter.compile(text, now=NOW)
        encoded, raw = json.dumps(result), orjson.dumps(result)
        contenders: dict[str, Callable[[], Any]] = {
            ours_name: partial(helicone_filter.compile, text, now=NOW),
            floor_name: partial(json.loads, encoded),
            "orjson.loads (floor)": partial(orjson.loads, raw),
        }
        for name, (parse, make) in peers.items():
            peer_text = make(groups)
            try:
                parse(peer_text)
            except Exception as e:  # a peer that cannot take this size is reported, not hidden
                print(f"{name} failed at {n:,} terms: {type(e).__name__}", file=sys.stderr)
                rows.setdefault(name, {})[n] = math.nan
                continue
            contenders[name] = partial(parse, peer_text)
        for name, seconds in interleaved_medians(contenders, args.budget).items():
            rows.setdefault(name, {})[n] = seconds
    rows = {k: rows[k] for k in (ours_name, floor_name, "orjson.loads (floor)", *peers)}

    sizes = args.sizes
    head = [
        "parser",
        *[f"{n:,} terms" for n in sizes],
        "× json @100",
        "× json @1,000",
        "exponent",
    ]
    floor = rows[floor_name]
    table = []
    for name, by_n in rows.items():
        cells = [name]
        for n in sizes:
            t = by_n.get(n, math.nan)
            cells.append("failed" if math.isnan(t) else f"{t * 1e6 / n:,.2f}")
        for n in (100, 1_000):
            t = by_n.get(n, math.nan)
            cells.append("–" if n not in floor or math.isnan(t) else f"{t / floor[n]:.1f}×")
        a, b = by_n.get(100, math.nan), by_n.get(10_000, math.nan)
        cells.append(
            "–" if math.isnan(a) or math.isnan(b) else f"{math.log(b / a) / math.log(100):.3f}"
        )
        table.append(cells)
    print("median µs per term (per parse ÷ terms); × json: per-term time over json.loads of our")
    print("own output, same run; exponent: scaling from 100 to 10,000 terms (1.0 is linear)\n")
    _print_table(head, table, args.markdown)

    print()
    ours_row = rows[ours_name]
    for n in (100, 1_000):
        if n not in ours_row:
            continue
        ranked = sorted((v[n], k) for k, v in rows.items() if k in peers and not math.isnan(v[n]))
        line = f"at {n:,} terms: compile is {ours_row[n] / floor[n]:.1f}× json.loads"
        if ranked:
            line += f"; the fastest peer, {ranked[0][1]}, takes {ranked[0][0] / ours_row[n]:.1f}×"
            line += " as long as compile"
        print(line)

    if 1_000 in sizes:
        text = render(terms(1_000), ours, {"and": "and", "or": "or"})
        helicone_filter.compile(text, now=NOW)
        gc.collect()
        tracemalloc.start()
        result = helicone_filter.compile(text, now=NOW)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        size = _objects_size(result)
        print(
            f"peak memory at 1,000 terms: {peak / 1024:,.0f} KiB, {peak / size:.2f}× the "
            f"output's Python objects ({size / 1024:,.0f} KiB)"
        )

    if 1_000 in sizes:
        text = render(terms(1_000), ours, {"and": "and", "or": "or"})
        from helicone_filter.api.outputs import to_clickhouse

        compiled = helicone_filter.compile(text, now=NOW)
        timed = interleaved_medians(
            {
                "compile": partial(helicone_filter.compile, text, now=NOW),
                "text": partial(to_clickhouse, text, now=NOW),
                "json": partial(to_clickhouse, compiled),
            },
            args.budget,
        )
        print(
            f"to_clickhouse at 1,000 terms: {timed['text'] * 1e3:.1f} µs/term from text "
            f"({timed['text'] / timed['compile']:.2f}× compile), {timed['json'] * 1e3:.1f} "
            "µs/term from FilterNode JSON (validated first)"
        )

    print_worst(args.markdown)

    builder = builder_timings()
    print(
        f"for filter builders, on a {builder['length']:.0f}-character filter: complete "
        f"{builder['complete'] * 1e3:.2f} ms (cursor mid-text), diagnose "
        f"{builder['diagnose'] * 1e3:.2f} ms (four mistakes), "
        f"{builder['diagnose_clean'] * 1e3:.2f} ms (none); with the analysis finding three "
        f"slips {builder['diagnose_analysis'] * 1e3:.2f} ms, "
        f"{builder['diagnose_no_analysis'] * 1e3:.2f} ms without it"
    )
    ours_start, bare = startup(21)
    print(
        f"one-shot CLI call: {ours_start * 1e3:.1f} ms; python -c pass: {bare * 1e3:.1f} ms; "
        f"ratio {ours_start / bare:.1f}×"
    )
    if args.lines:
        rate = lines_throughput(args.lines)
        single = lines_throughput(args.lines, jobs=1)
        print(
            f"compile --lines: {rate:,.0f} lines/s ({args.lines:,} three-term filters; "
            f"{os.cpu_count()} worker processes), {single:,.0f} lines/s with --jobs 1"
        )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )
    return 0


def _print_table(head: list[str], rows: list[list[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        cells = [
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False))
        ]
        print("  ".join(cells))


if __name__ == "__main__":
    sys.exit(main())
