"""Helicone's FilterNode JSON from the validated form: a leaf per condition, each chain rebuilt
in the canonical shape (docs/language.md, "Chains"), and that shape's depth.

Balanced: `build(xs)` splits at `len(xs) // 2`, so three operands give `{a, {b, c}}` as
Helicone's own builder does, and 10,000 give a tree about 14 levels deep. Right:
`{a, {b, {c, d}}}`, the shape of Helicone's `filterListToTree`.
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from typing import Any, Literal

from helicone_filter.facts.semantics import HELICONE_MAX_LEFT_RUN, Quirk, tree_limits
from helicone_filter.form import Chain, Condition, Filter, fold

Nesting = Literal["balanced", "right"]
JSON = Any


def leaf(c: Condition) -> JSON:
    """The FilterNode leaf of one condition."""
    field = c.field
    if c.key is None:
        return {field.table: {field.name: {c.op: c.value}}}
    return {field.table: {field.name: {c.key: {c.op: c.value}}}}


def build_chain(operands: list[JSON], op: str, nesting: Nesting = "balanced") -> JSON:
    """Join two or more FilterNodes with `op` in the canonical shape.

    Example:
        >>> build_chain(["a", "b", "c"], "and")["right"]
        {'left': 'b', 'operator': 'and', 'right': 'c'}
    """
    n = len(operands)
    if nesting == "right" or n <= 3:  # small chains (most of them) are the same either way
        node = operands[-1]
        for x in reversed(operands[:-1]):
            node = {"left": x, "operator": op, "right": node}
        return node

    def build(lo: int, hi: int) -> JSON:  # two or more operands; recursion over log2(n)
        n = hi - lo
        if n == 2:
            return {"left": operands[lo], "operator": op, "right": operands[lo + 1]}
        if n == 3:
            right = {"left": operands[lo + 1], "operator": op, "right": operands[lo + 2]}
            return {"left": operands[lo], "operator": op, "right": right}
        mid = lo + n // 2
        return {"left": build(lo, mid), "operator": op, "right": build(mid, hi)}

    return build(0, n)


def to_json(node: Filter, nesting: Nesting = "balanced") -> JSON:
    """The FilterNode of a filter: "all", a leaf, or branches in the canonical shape."""

    def chain(c: Chain, parts: list[JSON]) -> JSON:
        return build_chain(parts, c.op, nesting)

    return fold(node, leaf, chain, node)


def too_deep(node: Filter, result: JSON | None, nesting: Nesting) -> Quirk | None:
    """The error for the JSON of `node` (`result`, or None to write it only if need be)
    where it passes Helicone's depth limits (measured only where it might)."""
    if not may_be_deep(node, nesting, HELICONE_MAX_LEFT_RUN):
        return None
    return tree_limits(*shape(to_json(node, nesting) if result is None else result))


def may_be_deep(node: Filter, nesting: Nesting, limit: int) -> bool:
    """Whether the JSON of a filter could be more than `limit` branches deep: a balanced chain
    of n operands adds at most log2(n) to the depth of its deepest operand, a right-nested one
    n - 1."""
    return _chain_depth(node, len if nesting == "right" else _bits) > limit


def _bits(items: Sized) -> int:
    return len(items).bit_length()


def _chain_depth(node: Filter, step: Callable[[Sized], int]) -> int:
    """The largest sum of `step(chain.items)` down a path of chains; without recursion, and
    looking at conditions only to pass them by."""
    if not isinstance(node, Chain):
        return 0
    deepest = 0
    todo = [(node, 0)]
    while todo:
        chain, above = todo.pop()
        depth = above + step(chain.items)
        deepest = max(deepest, depth)
        todo.extend([(item, depth) for item in chain.items if type(item) is Chain])
    return deepest


def shape(root: JSON) -> tuple[int, int]:
    """The depth of a FilterNode in branches from the root to its deepest leaf, and its longest
    run of branches each the left side of the one above (what ClickHouse's parser counts in
    Helicone's SQL). Without recursion."""
    depth = run = 0
    todo: list[tuple[JSON, int, int]] = [(root, 0, 0)]
    while todo:
        x, above, left = todo.pop()
        if isinstance(x, dict) and "left" in x and "right" in x:
            depth, run = max(depth, above + 1), max(run, left + 1)
            todo.append((x["left"], above + 1, left + 1))
            todo.append((x["right"], above + 1, 0))
    return depth, run


def leaf_paths(root: JSON) -> list[tuple[tuple[str, ...], JSON]]:
    """Each leaf of a FilterNode with its path from the root ("left"/"right" steps), in order;
    without recursion."""
    out: list[tuple[tuple[str, ...], JSON]] = []
    todo: list[tuple[JSON, tuple[str, ...]]] = [(root, ())]
    while todo:
        node, path = todo.pop()
        if isinstance(node, dict) and "operator" in node:
            todo.append((node["right"], (*path, "right")))
            todo.append((node["left"], (*path, "left")))
        elif isinstance(node, dict):
            out.append((path, node))
    return out
