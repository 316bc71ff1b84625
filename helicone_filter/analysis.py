"""Filters that can never match, always match, or say something twice: an analysis of the
validated form (ir.py), read like a backend, never validating or parsing again.

Within one chain (one run of `and`, or of `or`) the conditions on one column (or one map key)
are compared. A column's values are cut into regions by the values its conditions name: each
value itself, each gap between two of them (for request cost and scores, which compare whole
numbers, only gaps that hold one), the two ends, any other value (for text, UUIDs and
feedback), and NULL. Each condition is true or false on the whole of a region, as `matches`
and Helicone's SQL read it (`semantics.compared`: the Int32 wrap, the cost floor, timestamps in
whole seconds), so a condition is a set of regions, `and` their intersection and `or` their
union, and every claim is exact:

- `never-matches`: the conditions of an `and` on one column share no region;
- `always-matches`: those of an `or` cover every region but NULL ("every row where x is set"),
  or NULL too (`properties` keys are never NULL: a missing key reads as '');
- `redundant`: a condition of an `and` holds wherever another does (or, in an `or`, holds
  only where another does), so removing it changes nothing;
- `duplicate`: the same condition twice in one chain.

Patterns (`like`, `ilike`, `contains`), `property_key`, `scores_column`, the literal
"__empty__" under `!=` and the conditions Helicone drops from a JSON leaf are not read: of
them only exact duplicates are reported. Column ranges (a cost is never negative) are not
assumed either: rows that `matches` is given may hold any number.

The work is linear in the size of the filter (times a logarithm): a set of regions is a sorted
list of runs of regions, and each condition is compared with at most `_CANDIDATES` others that
could make it redundant (the smallest sets of an `and`, the largest of an `or`), so in a group
of more conditions on one column a redundancy may go unreported; what is reported always holds.

A fix-it removes a redundant or duplicate condition with its joining `and`/`or`, as written:
only where the condition is one operand of its chain in the text (lowering records where each
condition stands, ir.Condition.written) and the text between it and its neighbour is nothing
but that joint, which makes them neighbours in one written chain, so the edit removes exactly
that operand from the chain.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

from .errors import Fix, Problem, make_problem
from .formatter import condition_text, filter_text
from .ir import Chain, Condition, Filter, conditions, fold, join
from .literals import key_text
from .schema import EMPTY_MAGIC, FIELDS, NULL_MAGIC
from .semantics import compared

_ORDERED = ("equals", "not-equals", "gt", "gte", "lt", "lte")
_EQUALITY = ("equals", "not-equals")
# The families whose conditions are read, by how their values are cut into regions.
_LINE = {"int": "real", "float": "real", "datetime": "real", "datetime64": "real", "cost": "int"}
_JOINT = re.compile(r"\s*(?:and|or|&&|\|\|)\s*", re.IGNORECASE)

# How many of the other conditions on its column one condition is compared with, for a
# redundancy: in a group of up to this many and one, every pair.
_CANDIDATES = 8
# Conditions quoted in one message at most.
_QUOTED = 4

Atom = tuple[str, str | None]  # a column and its map key
# A set of regions: runs (first, last) of region numbers, sorted, apart (region 0 is NULL).
Runs = list[tuple[int, int]]
Span = tuple[int, int]


def _reading(c: Condition) -> tuple[str, Any] | None:
    """How the analysis reads a condition: (the way its column's values are cut, the value it
    compares with, or the magic it tests), or None for a condition it does not read."""
    if not c.kept:
        return None
    family, op, value = c.field.family, c.op, c.value
    if c.key is not None:
        if op not in _EQUALITY:
            return None
        if c.field.name == "scores":
            return "int", compared(c.field, c.key, value)
        return ("points", value) if family == "map" else None
    if family in _LINE:
        return (_LINE[family], compared(c.field, None, value)) if op in _ORDERED else None
    if family in ("string", "uuid") and op in _EQUALITY:
        if value == NULL_MAGIC:
            return "null", None
        if value == EMPTY_MAGIC:
            return ("points", "" if family == "string" else 0) if op == "equals" else None
        return "points", compared(c.field, None, value)
    if family in ("bool", "cached"):
        return "bool", value
    if family == "feedback":
        return "points", 1 if value else 0
    return None


def _atom(c: Condition) -> Atom | None:
    return (c.field.name, c.key) if _reading(c) is not None else None


class _Cut:
    """A column's values cut into regions by the values its conditions in one group name:
    region 0 is NULL; then, on a line (numbers, moments), below the first value, the first
    value, the gap after it, ... the last value, above it; for points (text, UUIDs, keys), each
    value, then any other; for booleans, true and false."""

    def __init__(self, how: str, bounds: list[Any]) -> None:
        self.index: dict[Any, int] = {}
        if how == "bool":
            self.index = {True: 1, False: 2}
            self.size = 3
            return
        if how == "points":
            for value in bounds:
                self.index.setdefault(value, len(self.index) + 1)
            self.size = len(self.index) + 2  # NULL, the values, any other
            return
        points = sorted(set(bounds))
        at = 2  # 0 is NULL, 1 below the first value
        for a, b in pairwise(points):
            self.index[a] = at
            # Between two whole-number bounds (cost, scores) a gap holds a value only when
            # they are two or more apart.
            at += 2 if how == "real" or b - a >= 2 else 1
        self.index[points[-1]] = at
        self.size = at + 2  # and above the last

    def runs(self, c: Condition) -> Runs:
        """The regions where condition `c` is true."""
        reading = _reading(c)
        assert reading is not None
        how, bound = reading
        op, last = c.op, self.size - 1
        if how == "null":
            return [(0, 0)] if op == "equals" else [(1, last)]
        at = self.index[bound]
        if op == "equals":
            return [(at, at)]
        if op == "not-equals":
            found = [(1, at - 1), (at + 1, last)]
        elif op == "gt":
            found = [(at + 1, last)]
        elif op == "gte":
            found = [(at, last)]
        elif op == "lt":
            found = [(1, at - 1)]
        else:  # lte
            found = [(1, at)]
        return [(a, b) for a, b in found if a <= b]


def _common(sets: Sequence[Runs], need: int) -> Runs:
    """The regions in at least `need` of `sets` (1: their union; all: their intersection)."""
    events: list[tuple[int, int]] = []
    for runs in sets:
        for a, b in runs:
            events.append((a, 1))
            events.append((b + 1, -1))
    events.sort()
    out: Runs = []
    count = start = i = 0
    while i < len(events):
        x, before = events[i][0], count
        while i < len(events) and events[i][0] == x:
            count += events[i][1]
            i += 1
        if before < need <= count:
            start = x
        elif count < need <= before:
            out.append((start, x - 1))
    return out


class _Set:
    """A set of regions, with what the comparisons need of it."""

    __slots__ = ("firsts", "regions", "runs")

    def __init__(self, runs: Runs) -> None:
        self.runs = runs
        self.firsts = [a for a, _ in runs]
        self.regions = sum(b - a + 1 for a, b in runs)

    def meets(self, a: int, b: int) -> bool:
        """Whether it holds a region from a to b."""
        i = bisect_right(self.firsts, b) - 1
        return i >= 0 and self.runs[i][1] >= a

    def covers(self, a: int, b: int) -> bool:
        """Whether it holds every region from a to b."""
        i = bisect_right(self.firsts, a) - 1
        return i >= 0 and self.runs[i][1] >= b


def _subset(small: _Set, large: _Set) -> bool:
    """Whether every region of `small` is in `large`: each run of the one inside the other,
    or no gap of the other meeting the one, whichever has fewer runs to look at."""
    if len(small.runs) <= len(large.runs) + 1:
        return all(large.covers(a, b) for a, b in small.runs)
    edges = [-1, *(x for run in large.runs for x in run), small.runs[-1][1] + 1]
    gaps = zip(edges[::2], edges[1::2], strict=True)
    return not any(lo + 1 <= hi - 1 and small.meets(lo + 1, hi - 1) for lo, hi in gaps)


def _disjoint(a: _Set, b: _Set) -> bool:
    if len(a.runs) > len(b.runs):
        a, b = b, a
    return not any(b.meets(x, y) for x, y in a.runs)


class _Group:
    """The operands of one chain that test one column (or key): each a condition, or a chain
    of conditions on that column alone (`in`, `not in`, `!=` on a timestamp)."""

    def __init__(self, atom: Atom, operands: list[int], sets: list[_Set], size: int) -> None:
        self.atom = atom
        self.operands = operands  # their places in the chain
        self.sets = sets  # the regions each is true on
        self.size = size  # regions in all, NULL included


def _leaves(operand: Filter) -> list[Condition]:
    return [operand] if isinstance(operand, Condition) else list(conditions(operand))


def _operand_atom(operand: Filter) -> Atom | None:
    if isinstance(operand, Condition):
        return _atom(operand)
    if not isinstance(operand, Chain) or not all(type(x) is Condition for x in operand.items):
        return None
    atoms = {_atom(x) for x in operand.items if isinstance(x, Condition)}
    if len(atoms) != 1:
        return None
    return atoms.pop()


def _groups(chain: Chain) -> list[_Group]:
    """The groups of two or more operands of `chain` on one column, their sets worked out."""
    by_atom: dict[Atom, list[int]] = {}
    for i, operand in enumerate(chain.items):
        atom = _operand_atom(operand)
        if atom is not None:
            by_atom.setdefault(atom, []).append(i)
    out = []
    for atom, places in by_atom.items():
        if len(places) < 2:
            continue
        readings = [_reading(c) for i in places for c in _leaves(chain.items[i])]
        # Only magic ("null"): any cut will do.
        how = next((r[0] for r in readings if r is not None and r[0] != "null"), "points")
        if any(r is not None and r[0] not in (how, "null") for r in readings):
            continue
        bounds = [r[1] for r in readings if r is not None and r[0] == how]
        if how in ("int", "real") and not bounds:
            continue
        cut = _Cut(how, bounds)
        sets = []
        for i in places:
            operand = chain.items[i]
            if isinstance(operand, Condition):
                runs = cut.runs(operand)
            else:
                assert isinstance(operand, Chain)
                parts = [cut.runs(c) for c in operand.items if isinstance(c, Condition)]
                runs = _common(parts, 1 if operand.op == "or" else len(parts))
            sets.append(_Set(runs))
        out.append(_Group(atom, places, sets, cut.size))
    return out


def _signature(operand: Filter) -> tuple[Any, ...] | None:
    """What makes two conditions the same condition (None for a chain, or one Helicone
    drops)."""
    if not isinstance(operand, Condition) or not operand.kept:
        return None
    return (operand.field.name, operand.key, operand.op, type(operand.value), operand.value)


class Finding:
    """What the analysis finds in one chain: a code, the chain, and the operands involved
    (for `redundant` and `duplicate`: the one to remove, then the one that makes it so)."""

    __slots__ = ("atom", "chain", "code", "everywhere", "operands")

    def __init__(
        self, code: str, chain: Chain, operands: Sequence[int], atom: Atom, everywhere: bool = False
    ) -> None:
        self.code = code
        self.chain = chain
        self.operands = list(operands)
        self.atom = atom
        self.everywhere = everywhere  # always-matches: NULL too


def chain_findings(chain: Chain, same_origin: Callable[[Filter, Filter], bool]) -> list[Finding]:
    """What is wrong with one chain, its operands (`same_origin` tells the pairs written as
    one condition, which are not compared with each other)."""
    found: list[Finding] = []
    conjunction = chain.op == "and"
    for group in _groups(chain):
        total = _common([s.runs for s in group.sets], len(group.sets) if conjunction else 1)
        if conjunction and not total:
            found.append(Finding("never-matches", chain, _contradiction(group), group.atom))
        elif not conjunction and total and total[-1][0] <= 1 and total[-1][1] == group.size - 1:
            # Every region but NULL, at least (runs are apart: the last is from 0 or 1 on).
            everywhere = total[-1][0] == 0
            found.append(Finding("always-matches", chain, group.operands, group.atom, everywhere))
        else:
            found += _redundant(chain, group, conjunction, same_origin)
    # Exact duplicates among the conditions not read above (patterns and the like).
    first: dict[tuple[Any, ...], int] = {}
    for i, operand in enumerate(chain.items):
        sig = _signature(operand)
        if sig is None or _operand_atom(operand) is not None:
            continue
        if sig in first and not same_origin(chain.items[first[sig]], operand):
            found.append(Finding("duplicate", chain, (i, first[sig]), (sig[0], sig[1])))
        else:
            first.setdefault(sig, i)
    return found


def _redundant(
    chain: Chain, group: _Group, conjunction: bool, same_origin: Callable[[Filter, Filter], bool]
) -> list[Finding]:
    """The operands of a group that another one makes redundant. They are taken from the
    smallest set to the largest (in an `or`, the other way), first written first among equal
    ones; each is compared with the ones kept so far (the first `_CANDIDATES` of them), so a
    removed one is always made redundant by one that stays."""
    n = len(group.operands)
    order = sorted(
        range(n), key=lambda k: group.sets[k].regions if conjunction else -group.sets[k].regions
    )
    kept: list[int] = []
    kept_signatures: dict[tuple[Any, ...], int] = {}
    found = []
    for k in order:
        i = group.operands[k]
        operand = chain.items[i]
        sig = _signature(operand)
        witness = None
        same = kept_signatures.get(sig) if sig is not None else None
        if same is not None and not same_origin(chain.items[group.operands[same]], operand):
            witness = same
        else:
            for j in kept[:_CANDIDATES]:
                if same_origin(chain.items[group.operands[j]], operand):
                    continue
                small, large = (group.sets[j], group.sets[k])
                if not conjunction:
                    small, large = large, small
                if _subset(small, large):
                    witness = j
                    break
        if witness is None:
            kept.append(k)
            if sig is not None:
                kept_signatures.setdefault(sig, k)
            continue
        other = group.operands[witness]
        code = (
            "duplicate"
            if sig is not None and sig == _signature(chain.items[other])
            else "redundant"
        )
        found.append(Finding(code, chain, (i, other), group.atom))
    return found


def _contradiction(group: _Group) -> list[int]:
    """Two operands of an empty `and` group that share no region (the smallest set and
    another, or two of the smallest), else all of them."""
    order = sorted(range(len(group.sets)), key=lambda k: group.sets[k].regions)
    for a in order[:_CANDIDATES]:
        for b in order if a == order[0] else order[:_CANDIDATES]:
            if a != b and _disjoint(group.sets[a], group.sets[b]):
                return sorted((group.operands[a], group.operands[b]))
    return list(group.operands)


def _chains(node: Filter) -> list[Chain]:
    found: list[Chain] = []

    def leaf(c: Condition) -> None:
        return None

    def chain(c: Chain, _: list[None]) -> None:
        found.append(c)

    fold(node, leaf, chain, None)
    return found


def findings(node: Filter) -> list[Finding]:
    """Every finding in every chain of a filter, inner chains first."""
    return [f for chain in _chains(node) for f in chain_findings(chain, _never)]


# -- simplify ------------------------------------------------------------------------------------


def simplified(node: Filter) -> Filter:
    """The filter with each duplicate and redundant condition removed: it selects exactly the
    rows `node` selects. Chains are simplified from the inside out, so a chain whose operands
    shrank is read again as it now is."""

    def leaf(c: Condition) -> Filter:
        return c

    def chain(c: Chain, items: list[Filter]) -> Filter:
        current = join(c.op, items)
        # Each pass removes what it finds; a second finds nothing more unless operands were
        # spliced in (the bound keeps the work linear all the same).
        for _ in range(3):
            if not (isinstance(current, Chain) and current.op == c.op):
                break
            drop = {
                f.operands[0]
                for f in chain_findings(current, _never)
                if f.code in ("redundant", "duplicate")
            }
            if not drop:
                break
            current = join(c.op, [x for i, x in enumerate(current.items) if i not in drop])
        return current

    return fold(node, leaf, chain, node)


def _never(a: Filter, b: Filter) -> bool:
    return False


def simplify(obj: Any, *, now: datetime | None = None) -> Any:
    """The equivalent filter with its duplicate and redundant conditions removed: for filter
    text, its canonical text (where runs of `=` on one field become `in`); for a FilterNode,
    the FilterNode (in the canonical shape `normalize` gives).

    A FilterNode that `check` finds an error in is refused, the leaves with several conditions
    among them: Helicone keeps one of their conditions, so no simpler filter both says what
    was written and selects what Helicone selects.

    Raises:
        FilterSyntaxError, FilterValidationError: the filter is not valid.

    Example:
        >>> simplify("cost > 1 and cost > 2 and model = 'a' and model = 'a'")
        'cost > 2 and model = "a"'
    """
    if isinstance(obj, str):
        from .compiler import lower_text

        return filter_text(simplified(lower_text(obj, now=now)))
    from .checker import normalized_ir
    from .helicone_json import to_json

    return to_json(simplified(normalized_ir(obj, frozenset())))


# -- warnings ------------------------------------------------------------------------------------


class _Source:
    """The text a filter was lowered from, and how many of its conditions came from each
    written operand (several, for `x in [1, 2]`)."""

    def __init__(self, text: str, node: Filter) -> None:
        self.text = text
        self.counts = Counter(c.written for c in conditions(node))

    def written(self, operand: Filter) -> Span | None:
        """The span of the one operand written in the text that `operand` is all of, or
        None when it is part of one, or made of several."""
        leaves = _leaves(operand)
        span = leaves[0].written
        if any(c.written != span for c in leaves) or self.counts[span] != len(leaves):
            return None
        return span

    def shown(self, operand: Filter) -> str:
        """The operand as written, where it is one written operand that reads as it is tested;
        else in canonical text."""
        span = self.written(operand)
        if span is not None and not any(c.turned for c in _leaves(operand)):
            s = " ".join(self.text[span[0] : span[1]].split())
            return s if len(s) <= 60 else s[:59] + "…"
        return _canonical(operand)

    def marked(self, operand: Filter) -> Span:
        """What a problem about the operand underlines."""
        span = self.written(operand)
        return span if span is not None else _span(operand)

    def removal(self, chain: Chain, i: int) -> Fix:
        """The edit that deletes operand i of `chain` and its joint from the text, when it is
        one written operand and the text between it and a neighbour is nothing but a joint;
        else no edit."""
        span = self.written(chain.items[i])
        if span is None:
            return ()
        start, end = span
        if i + 1 < len(chain.items):
            following = min(c.written[0] for c in _leaves(chain.items[i + 1]))
            if end <= following and _JOINT.fullmatch(self.text, end, following):
                return ((start, following, ""),)
        if i > 0:
            previous = max(c.written[1] for c in _leaves(chain.items[i - 1]))
            if previous <= start and _JOINT.fullmatch(self.text, previous, start):
                return ((previous, end, ""),)
        return ()


def _span(operand: Filter) -> Span:
    leaves = _leaves(operand)
    return min(c.start for c in leaves), max(c.end for c in leaves)


def _canonical(operand: Filter) -> str:
    return condition_text(operand) if isinstance(operand, Condition) else filter_text(operand)


def _column(atom: Atom) -> str:
    name, key = atom
    return name + (key_text(key) if key is not None else "")


def _listed(items: list[str], word: str, total: int) -> str:
    """The first items quoted, joined by `word`; past `_QUOTED`, how many more there are."""
    quoted = [f"'{s}'" for s in items[:_QUOTED]]
    if total > _QUOTED:
        return f"{', '.join(quoted)} {word} {total - _QUOTED:,} more"
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {word} {quoted[-1]}"


def analysis_problems(node: Filter, text: str | None = None) -> list[Problem]:
    """The warnings of the analysis for a filter: from text (`text` given: spans, and fix-its
    that remove a redundant or duplicate condition) or from JSON (JSON paths)."""
    # Every finding compares two conditions on one column (and key): a filter whose conditions
    # are each on a column of its own, as most are, has nothing to find.
    seen: set[tuple[str, str | None]] = set()
    for c in conditions(node):
        column = (c.field.name, c.key)
        if column in seen:
            break
        seen.add(column)
    else:
        return []
    chains = _chains(node)
    if not chains:
        return []
    source = _Source(text, node) if text is not None else None

    def same_origin(a: Filter, b: Filter) -> bool:
        return source is not None and _leaves(a)[0].written == _leaves(b)[0].written

    out: list[Problem] = []
    for chain in chains:
        for f in chain_findings(chain, same_origin):
            out.append(_problem(f, source))
    out.sort(key=lambda p: (p.start, p.end))
    return out


def _problem(f: Finding, source: _Source | None) -> Problem:
    operands = [f.chain.items[i] for i in f.operands[:_QUOTED]]
    shown = [source.shown(x) if source is not None else _canonical(x) for x in operands]
    total = len(f.operands)
    column = _column(f.atom)
    fixes: tuple[Fix, ...] = ()
    if f.code == "never-matches":
        word = "both" if total == 2 else "all"
        message = f"{_listed(shown, 'and', total)} cannot {word} hold: this never matches"
        hint = f"no value of {column} satisfies them together; did you mean 'or', or other values?"
    elif f.code == "always-matches":
        everywhere = f.everywhere or (f.atom[1] is not None and f.atom[0] == "properties")
        where = "every row" if everywhere else f"every row where {column} is set"
        message = f"{_listed(shown, 'or', total)} is true for {where}"
        if everywhere:
            hint = "it filters nothing: remove it, or check the values"
        elif f.atom[1] is None and FIELDS[f.atom[0]].kind == "text":
            hint = f"it only drops rows where {column} is null: write '{column} is not null'"
        else:
            hint = f"it only drops rows without {column}: remove it, or check the values"
    else:
        joint = f.chain.op
        if f.code == "duplicate":
            message = f"'{shown[0]}' is written twice in one '{joint}'"
            hint = "remove the second"
        elif joint == "and":
            message = f"'{shown[0]}' is redundant: '{shown[1]}' already implies it"
            hint = "remove it: the filter selects the same rows without it"
        else:
            message = f"'{shown[0]}' is redundant: '{shown[1]}' holds wherever it does"
            hint = "remove it: the filter selects the same rows without it"
        if source is not None:
            fix = source.removal(f.chain, f.operands[0])
            fixes = (fix,) if fix else ()
    if source is None:
        first = operands[0]
        leaf = first if isinstance(first, Condition) else _leaves(first)[0]
        return Problem(
            f.code, message, 0, 0, 0, 0, hint, "warning", str(leaf.path) if leaf.path else "$"
        )
    if f.code in ("redundant", "duplicate"):
        start, end = source.marked(operands[0])
    else:
        marked = [source.marked(f.chain.items[i]) for i in f.operands]
        start, end = min(s for s, _ in marked), max(e for _, e in marked)
    problem = make_problem(source.text, f.code, message, start, end, hint, fixes)
    return problem.replace(severity="warning")
