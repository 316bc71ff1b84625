"""Filters that can never match, always match, or say something twice: an analysis of the
validated form (form.py), read like a backend, never validating or parsing again (`check`,
`check_text` and `simplify` of the ways in read the filter, then hand it here).

Within one chain (one run of `and`, or of `or`) the conditions on one column (or one map key)
are compared. A column's values are cut into regions by the values its conditions name: each
value itself, each gap between two of them (for request cost and scores, which compare whole
numbers, only gaps that hold one), the two ends, any other value (for text, UUIDs and
feedback), and NULL. Each condition is true or false on the whole of a region, as `matches`
and Helicone's SQL read it (each column family's `reading`, `columns.py`: the Int32 wrap, the
cost floor, timestamps in whole seconds), so a condition is a set of regions, `and` their
intersection and `or` their union, and every claim is exact:

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
condition stands, form.Condition.written) and the text between it and its neighbour is nothing
but that joint, which makes them neighbours in one written chain, so the edit removes exactly
that operand from the chain.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, cast

from helicone_filter.backends.canonical_text import condition_text, filter_text
from helicone_filter.errors import Edits, Problem, make_problem
from helicone_filter.facts.columns import family_of
from helicone_filter.facts.quoting import key_text
from helicone_filter.facts.schema import FIELDS
from helicone_filter.form import Chain, Condition, Filter, conditions, fold, join
from helicone_filter.problems import severity

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
    compares with, or the magic it tests), or None for a condition it does not read (its
    field's family says: `columns.FAMILIES`)."""
    return family_of(c.field).reading(c) if c.kept else None


class _Reader:
    """Reads each condition of one filter once (a condition can be read as an operand of its
    chain and again within a chain of its own), and knows where operands were written."""

    def __init__(self, origin: Callable[[Filter], Any] | None = None) -> None:
        self.readings: dict[int, tuple[str, Any] | None] = {}
        # The written condition an operand came from (operands from one, such as the items of
        # an `in` list, are not compared with each other); None: compare every pair.
        self.origin = origin

    def reading(self, c: Condition) -> tuple[str, Any] | None:
        found = self.readings.get(id(c), _UNREAD)
        if found is _UNREAD:
            found = self.readings[id(c)] = _reading(c)
        return found  # type: ignore[no-any-return]

    def operand(self, operand: Filter) -> _Member | None:
        """The column (and key) an operand tests, its conditions and their readings, when it
        is a condition the analysis reads or a chain of such conditions on one column."""
        if type(operand) is Condition:
            leaves = [operand]
        elif isinstance(operand, Chain) and all(type(x) is Condition for x in operand.items):
            leaves = cast(list[Condition], list(operand.items))
        else:
            return None
        first = leaves[0]
        atom = (first.field.name, first.key)
        readings = []
        for c in leaves:
            reading = self.reading(c)
            if reading is None or (c.field.name, c.key) != atom:
                return None
            readings.append(reading)
        return atom, leaves, readings


# An operand of a chain as the analysis reads it: its column (and key), conditions, readings.
_Member = tuple[Atom, list[Condition], list[tuple[str, Any]]]


_UNREAD: Any = object()


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

    def runs(self, op: str, reading: tuple[str, Any]) -> Runs:
        """The regions where a condition `op` with this reading is true."""
        how, bound = reading
        last = self.size - 1
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


def _union(sets: Sequence[Runs]) -> Runs:
    """The regions in any of `sets`."""
    runs = sorted(run for runs in sets for run in runs)
    out: Runs = []
    for a, b in runs:
        if out and a <= out[-1][1] + 1:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _intersection(sets: Sequence[Runs]) -> Runs:
    """The regions in every one of `sets`."""
    need = len(sets)
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

    __slots__ = ("_firsts", "first", "last", "regions", "runs")

    def __init__(self, runs: Runs) -> None:
        self.runs = runs
        self.regions = sum(b - a + 1 for a, b in runs)
        self.first = runs[0][0] if runs else 0
        self.last = runs[-1][1] if runs else -1
        self._firsts: list[int] | None = None  # where each run starts, when first needed

    def _run_at(self, x: int) -> int:
        """The number of the last run that starts at or before region x (-1: none)."""
        if self._firsts is None:
            self._firsts = [a for a, _ in self.runs]
        return bisect_right(self._firsts, x) - 1

    def meets(self, a: int, b: int) -> bool:
        """Whether it holds a region from a to b."""
        i = self._run_at(b)
        return i >= 0 and self.runs[i][1] >= a

    def covers(self, a: int, b: int) -> bool:
        """Whether it holds every region from a to b."""
        i = self._run_at(a)
        return i >= 0 and self.runs[i][1] >= b


def _subset(small: _Set, large: _Set) -> bool:
    """Whether every region of `small` is in `large`: each run of the one inside the other,
    or no gap of the other meeting the one, whichever has fewer runs to look at."""
    if not small.runs:
        return True
    if small.regions > large.regions or small.first < large.first or small.last > large.last:
        return False
    if len(small.runs) <= len(large.runs) + 1:
        return all(large.covers(a, b) for a, b in small.runs)
    edges = [-1, *(x for run in large.runs for x in run), small.last + 1]
    gaps = zip(edges[::2], edges[1::2], strict=True)
    return not any(lo + 1 <= hi - 1 and small.meets(lo + 1, hi - 1) for lo, hi in gaps)


def _disjoint(a: _Set, b: _Set) -> bool:
    if a.last < b.first or b.last < a.first:
        return True
    if len(a.runs) > len(b.runs):
        a, b = b, a
    return not any(b.meets(x, y) for x, y in a.runs)


class _Group:
    """The operands of one chain that test one column (or key): each a condition, or a chain
    of conditions on that column alone (`in`, `not in`, `!=` on a timestamp). A condition
    written again is kept apart, as a copy of the first (the same set): only the first is
    compared."""

    def __init__(
        self,
        atom: Atom,
        operands: list[int],
        sets: list[_Set],
        size: int,
        origins: list[Any],
        copies: list[tuple[int, int]],
    ) -> None:
        self.atom = atom
        self.operands = operands  # their places in the chain
        self.sets = sets  # the regions each is true on
        self.size = size  # regions in all, NULL included
        self.origins = origins  # where each was written (None: unknown)
        self.copies = copies  # (place of a copy, number of its first among the operands)


def _leaves(operand: Filter) -> list[Condition]:
    return [operand] if isinstance(operand, Condition) else list(conditions(operand))


def _groups(chain: Chain, reader: _Reader) -> tuple[list[_Group], set[int]]:
    """The groups of two or more operands of `chain` on one column, their sets worked out;
    and the places of every operand the analysis reads."""
    by_atom: dict[Atom, list[tuple[int, _Member]]] = {}
    read: set[int] = set()
    for i, operand in enumerate(chain.items):
        found = reader.operand(operand)
        if found is not None:
            by_atom.setdefault(found[0], []).append((i, found))
            read.add(i)
    origin = reader.origin
    out = []
    for atom, members in by_atom.items():
        if len(members) < 2:
            continue
        readings = [r for _, (_, _, rs) in members for r in rs]
        # Only magic ("null"): any cut will do.
        how = next((r[0] for r in readings if r[0] != "null"), "points")
        if any(r[0] not in (how, "null") for r in readings):
            continue
        bounds = [r[1] for r in readings if r[0] == how]
        if how in ("int", "real") and not bounds:
            continue
        origins = [origin(chain.items[i]) for i, _ in members] if origin else [None]
        if how != "bool" and origins[0] is not None and origins.count(origins[0]) == len(members):
            # The items of one written `in` / `not in` (or a timestamp's `!=`), which are not
            # compared with each other; off booleans they can neither cover every value (an
            # `in` misses the others) nor exclude every one (a `not in` keeps them).
            continue
        cut = _Cut(how, bounds)
        group = _Group(atom, [], [], cut.size, [], [])
        firsts: dict[tuple[Any, ...], int] = {}  # a condition's signature: its first
        for n, (i, (_, leaves, rs)) in enumerate(members):
            where = origins[n] if origin else None
            sig = _signature(chain.items[i])
            first = firsts.get(sig) if sig is not None else None
            if first is not None:
                if where is None or group.origins[first] != where:
                    group.copies.append((i, first))
                continue  # (or an `in` list's repeat of its own item: nothing to say)
            if sig is not None:
                firsts[sig] = len(group.operands)
            parts = [cut.runs(c.op, r) for c, r in zip(leaves, rs, strict=True)]
            operand = chain.items[i]
            if isinstance(operand, Condition):
                runs = parts[0]
            else:
                runs = _union(parts) if cast(Chain, operand).op == "or" else _intersection(parts)
            group.operands.append(i)
            group.sets.append(_Set(runs))
            group.origins.append(where)
        out.append(group)
    return out, read


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


def chain_findings(chain: Chain, reader: _Reader) -> list[Finding]:
    """What is wrong with one chain, its operands."""
    found: list[Finding] = []
    if reader.origin is not None and _one_written(chain):
        return found
    conjunction = chain.op == "and"
    groups, read = _groups(chain, reader)
    for group in groups:
        runs = [s.runs for s in group.sets]
        total = _intersection(runs) if conjunction else _union(runs)
        if conjunction and not total:
            found.append(Finding("never-matches", chain, _contradiction(group), group.atom))
        elif not conjunction and total and total[-1][0] <= 1 and total[-1][1] == group.size - 1:
            # Every region but NULL, at least (runs are apart: the last is from 0 or 1 on).
            everywhere = total[-1][0] == 0
            operands = sorted(group.operands + [i for i, _ in group.copies])
            found.append(Finding("always-matches", chain, operands, group.atom, everywhere))
        else:
            found += _redundant(chain, group, conjunction)
    # Exact duplicates among the conditions not read above (patterns and the like).
    first: dict[tuple[Any, ...], int] = {}
    origin = reader.origin
    for i, operand in enumerate(chain.items):
        sig = _signature(operand)
        if sig is None or i in read:
            continue
        earlier = first.get(sig)
        if earlier is None:
            first[sig] = i
        elif origin is None or origin(chain.items[earlier]) != origin(operand):
            found.append(Finding("duplicate", chain, (i, earlier), (sig[0], sig[1])))
    return found


def _one_written(chain: Chain) -> bool:
    """Whether a chain is the items of one written `in` / `not in` (or a timestamp's `!=`) on
    a column that is not boolean: they are not compared with each other, and they can
    neither cover every value (an `in` misses the others) nor exclude every one."""
    first = chain.items[0]
    if type(first) is not Condition or family_of(first.field).cut == "bool":
        return False
    span = first.written
    return all(type(x) is Condition and x.written == span for x in chain.items)


def _redundant(chain: Chain, group: _Group, conjunction: bool) -> list[Finding]:
    """The operands of a group that another one makes redundant, and the copies of a condition
    written before. They are taken from the smallest set to the largest (in an `or`, the other
    way), first written first among equal ones; each is compared with the ones kept so far
    (the first `_CANDIDATES` of them), so a removed one is always made redundant by one that
    stays. Operands written as one condition (the items of an `in` list) are not compared with
    each other."""
    origins, sets = group.origins, group.sets
    found = []
    witnesses: dict[int, int] = {}  # a removed operand: the one that made it redundant
    if origins[0] is None or origins.count(origins[0]) != len(origins):
        order = sorted(
            range(len(sets)), key=lambda k: sets[k].regions if conjunction else -sets[k].regions
        )
        kept: list[int] = []
        for k in order:
            for j in kept[:_CANDIDATES]:
                if origins[j] is not None and origins[j] == origins[k]:
                    continue
                if _subset(sets[j], sets[k]) if conjunction else _subset(sets[k], sets[j]):
                    witnesses[k] = j
                    found.append(
                        Finding(
                            "redundant", chain, (group.operands[k], group.operands[j]), group.atom
                        )
                    )
                    break
            else:
                kept.append(k)
    for i, first in group.copies:
        # A copy of one that stays is a duplicate of it; of one removed, as redundant as it.
        witness = witnesses.get(first, first)
        code = "duplicate" if witness == first else "redundant"
        found.append(Finding(code, chain, (i, group.operands[witness]), group.atom))
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
    reader = _Reader()
    return [f for chain in _chains(node) for f in chain_findings(chain, reader)]


# -- simplify ------------------------------------------------------------------------------------


def simplified(node: Filter) -> Filter:
    """The filter with each duplicate and redundant condition removed: it selects exactly the
    rows `node` selects. Chains are simplified from the inside out, so a chain whose operands
    shrank is read again as it now is."""

    reader = _Reader()

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
                for f in chain_findings(current, reader)
                if f.code in ("redundant", "duplicate")
            }
            if not drop:
                break
            current = join(c.op, [x for i, x in enumerate(current.items) if i not in drop])
        return current

    return fold(node, leaf, chain, node)


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

    def removal(self, chain: Chain, i: int) -> Edits:
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


def _origin(operand: Filter) -> Span:
    """Where an operand was written: the written operand of its first condition."""
    while isinstance(operand, Chain):
        operand = operand.items[0]
    assert isinstance(operand, Condition)
    return operand.written


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
    reader = _Reader(_origin if source is not None else None)
    out: list[Problem] = []
    for chain in chains:
        for f in chain_findings(chain, reader):
            out.append(_problem(f, source))
    out.sort(key=lambda p: (p.start, p.end))
    return out


def _problem(f: Finding, source: _Source | None) -> Problem:
    operands = [f.chain.items[i] for i in f.operands[:_QUOTED]]
    shown = [source.shown(x) if source is not None else _canonical(x) for x in operands]
    total = len(f.operands)
    column = _column(f.atom)
    fixes: tuple[Edits, ...] = ()
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
        path = str(leaf.path) if leaf.path else "$"
        return Problem(f.code, message, 0, 0, None, None, hint, severity(f.code), path)
    if f.code in ("redundant", "duplicate"):
        start, end = source.marked(operands[0])
    else:
        marked = [source.marked(f.chain.items[i]) for i in f.operands]
        start, end = min(s for s, _ in marked), max(e for _, e in marked)
    return make_problem(source.text, f.code, message, start, end, hint, fixes)
