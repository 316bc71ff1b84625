"""Side by side: this tree against another commit, on compile and the one-shot command line.

    python benchmarks/compare.py HEAD~5            # or any commit, tag or branch
    python benchmarks/compare.py v0.1.0 --rounds 9

The other commit is checked out into a temporary git worktree. Each round runs both trees in
turn (so the machine's noise falls on both alike): `compile` of filters of 10, 100 and 1,000
terms in a process of its own per tree (median microseconds per call), and the one-shot
command line (`python -m helicone_filter compile ...`, median milliseconds per process). It
prints each figure for both and their ratio (this tree / the other; below 1 is faster).
Nothing here is a test: it reports, it does not assert.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Timed inside a process of the tree under test: text of `terms` comparisons, compiled again
# and again for about `budget` seconds; prints the median microseconds per compile.
_COMPILE = r"""
import json, random, statistics, sys, time
from datetime import UTC, datetime
import helicone_filter
terms, budget = int(sys.argv[1]), float(sys.argv[2])
rng = random.Random(terms)
fields = ["latency", "status", "prompt_tokens", "user_cost", "model", "provider"]
parts = []
for i in range(terms):
    f = rng.choice(fields)
    if f in ("model", "provider"):
        parts.append(f'{f} ilike "gpt-{rng.randrange(10)}%"')
    else:
        parts.append(f"{f} {rng.choice(['>', '<', '>=', '=', '!='])} {rng.randrange(1000)}")
text = " and ".join(parts)
now = datetime(2025, 6, 1, tzinfo=UTC)
helicone_filter.compile(text, now=now)
times = []
end = time.perf_counter() + budget
while time.perf_counter() < end or len(times) < 5:
    t = time.perf_counter()
    helicone_filter.compile(text, now=now)
    times.append(time.perf_counter() - t)
print(json.dumps(statistics.median(times) * 1e6))
"""

_CLI = ["-m", "helicone_filter", "compile", "user_cost > 5 and model ilike 'gpt%'"]


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """`ref` checked out in a temporary git worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="helicone-filter-compare-") as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), ref],
            check=True,
        )
        try:
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=True
            )


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}


def compile_us(tree: Path, terms: int, budget: float) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _COMPILE, str(terms), str(budget)],
        env=_env(tree),
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    ).stdout
    value: float = json.loads(out)
    return value


def one_shot_ms(tree: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *_CLI], env=_env(tree), capture_output=True, check=True)
    return (time.perf_counter() - start) * 1e3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ref", help="the commit to compare with (e.g. HEAD~5, a tag, a branch)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of both trees (default 5)")
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per compile timing")
    args = ap.parse_args(argv)
    sizes = (10, 100, 1000)
    with worktree(args.ref) as other:
        trees = {"this": ROOT, args.ref: other}
        for tree in trees.values():  # compiled bytecode and warm caches for both alike
            one_shot_ms(tree)
        compiles: dict[tuple[str, int], list[float]] = {}
        shots: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                for terms in sizes:
                    compiles.setdefault((name, terms), []).append(
                        compile_us(tree, terms, args.budget)
                    )
                shots[name].extend(one_shot_ms(tree) for _ in range(5))
    this, that = trees
    print(f"{'':28} {'this tree':>12} {args.ref:>12} {'ratio':>7}")
    for terms in sizes:
        a = statistics.median(compiles[(this, terms)])
        b = statistics.median(compiles[(that, terms)])
        print(f"compile, {terms:>5,} terms (µs) {a:12.1f} {b:12.1f} {a / b:7.3f}")
    a, b = statistics.median(shots[this]), statistics.median(shots[that])
    print(f"{'one-shot compile (ms)':28} {a:12.1f} {b:12.1f} {a / b:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
