"""Filters that can never match, always match, or say something twice: an analysis of the
validated form (ir.py), read like a backend, never validating again.

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
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from fractions import Fraction
from itertools import pairwise
from typing import Any

from .errors import Fix, Problem, make_problem
from .formatter import condition_text
from .ir import Chain, Condition, Filter, conditions, fold, join
from .literals import key_text
from .schema import EMPTY_MAGIC, FIELDS, JSON_OPERATOR, NULL_MAGIC
from .semantics import compared

_ORDERED = ("equals", "not-equals", "gt", "gte", "lt", "lte")
_EQUALITY = ("equals", "not-equals")
# The families whose conditions are read, by how their values are cut into regions.
_LINE = {"int": "real", "float": "real", "datetime": "real", "datetime64": "real", "cost": "int"}
_OTHER = object()  # a region: any value no condition names
_NULL = object()  # a region: NULL (for a scores key: the key is missing)
_JOINT = r"(?:and|or|&&|\|\|)"
_AFTER = re.compile(rf"\s*{_JOINT}\s*", re.IGNORECASE)
_BEFORE = re.compile(rf"\s*{_JOINT}\s*$", re.IGNORECASE)

# Larger groups of conditions on one column are not compared (the work grows as its square).
_MAX_GROUP = 64

Atom = tuple[str, str | None]  # a column and its map key
# How one condition reads a region's representative value: true or false.
Test = Callable[[Any], bool]


def _compare(op: str, a: Any, b: Any) -> bool:
    compare = JSON_OPERATOR[op].compare
    assert compare is not None
    return bool(compare(a, b))


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


def _test(c: Condition) -> Test:
    """The condition on a region's representative (`_NULL`, `_OTHER` or a value)."""
    reading = _reading(c)
    assert reading is not None
    how, bound = reading
    op = c.op
    if how == "null":
        return (lambda v: v is _NULL) if op == "equals" else (lambda v: v is not _NULL)

    def test(v: Any) -> bool:
        if v is _NULL:
            return False
        if v is _OTHER:  # a value no condition names: equal to none of them
            return op == "not-equals"
        return _compare(op, v, bound)

    return test


def _regions(how: str, bounds: list[Any]) -> list[Any]:
    """A representative of each region of a column's values, NULL first."""
    found: list[Any] = [_NULL]
    if how == "bool":
        return [*found, True, False]
    if how == "points":
        return [*found, *dict.fromkeys(bounds), _OTHER]
    points = sorted(set(bounds))
    if how == "int":
        found.append(points[0] - 1)
        for a, b in pairwise(points):
            found.append(a)
            if b - a >= 2:
                found.append(a + 1)
        return [*found, points[-1], points[-1] + 1]
    found.append(Fraction(points[0]) - 1)
    for a, b in pairwise(points):
        found += [a, (Fraction(a) + Fraction(b)) / 2]
    return [*found, points[-1], Fraction(points[-1]) + 1]


class _Group:
    """The operands of one chain that test one column (or key): each a condition, or a chain
    of conditions on that column alone (`in`, `not in`, `!=` on a timestamp)."""

    def __init__(self, atom: Atom) -> None:
        self.atom = atom
        self.operands: list[int] = []  # their places in the chain
        self.masks: list[int] = []  # the regions each is true on, as bits (bit 0: NULL)
        self.full = 0  # every region but NULL


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
    """The groups of two or more operands of `chain` on one column, their masks worked out."""
    by_atom: dict[Atom, list[int]] = {}
    for i, operand in enumerate(chain.items):
        atom = _operand_atom(operand)
        if atom is not None:
            by_atom.setdefault(atom, []).append(i)
    out = []
    for atom, places in by_atom.items():
        if not 2 <= len(places) <= _MAX_GROUP:
            continue
        group = _Group(atom)
        group.operands = places
        leaves = [c for i in places for c in _leaves(chain.items[i])]
        readings = [_reading(c) for c in leaves]
        # Only magic ("null"): any cut will do.
        how = next((r[0] for r in readings if r is not None and r[0] != "null"), "points")
        if any(r is not None and r[0] not in (how, "null") for r in readings):
            continue
        bounds = [r[1] for r in readings if r is not None and r[0] == how]
        if how in ("int", "real") and not bounds:
            continue
        regions = _regions(how, bounds)
        group.full = (1 << len(regions)) - 2
        for i in places:
            group.masks.append(_mask(chain.items[i], regions))
        out.append(group)
    return out


def _mask(operand: Filter, regions: list[Any]) -> int:
    def leaf(c: Condition) -> int:
        test = _test(c)
        return sum(1 << n for n, v in enumerate(regions) if test(v))

    def chain(c: Chain, masks: list[int]) -> int:
        out = masks[0]
        for m in masks[1:]:
            out = out & m if c.op == "and" else out | m
        return out

    return fold(operand, leaf, chain, (1 << len(regions)) - 1)


def _signature(operand: Filter) -> tuple[Any, ...] | None:
    """What makes two conditions the same condition (None for a chain, or one Helicone
    drops)."""
    if not isinstance(operand, Condition) or not operand.kept:
        return None
    return (operand.field.name, operand.key, operand.op, type(operand.value), operand.value)


class Finding:
    """What the analysis finds in one chain: a code, the chain, and the operands involved
    (for `redundant` and `duplicate`: the one to remove first, then the one that makes it so)."""

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
    removed: set[int] = set()
    conjunction = chain.op == "and"
    for group in _groups(chain):
        masks = group.masks
        total = masks[0]
        for m in masks[1:]:
            total = total & m if conjunction else total | m
        if conjunction and total == 0:
            found.append(Finding("never-matches", chain, _contradiction(group), group.atom))
            continue
        if not conjunction and total & group.full == group.full:
            everywhere = bool(total & 1)
            found.append(Finding("always-matches", chain, group.operands, group.atom, everywhere))
            continue
        for a, i in enumerate(group.operands):
            for b, j in enumerate(group.operands):
                if i == j or j in removed or same_origin(chain.items[i], chain.items[j]):
                    continue
                small, large = (masks[b], masks[a]) if conjunction else (masks[a], masks[b])
                if small & ~large:
                    continue  # j does not make i redundant
                if masks[a] == masks[b] and j > i:
                    continue  # of two equal ones, the first stays
                sig = _signature(chain.items[i])
                code = (
                    "duplicate"
                    if sig is not None and sig == _signature(chain.items[j])
                    else "redundant"
                )
                found.append(Finding(code, chain, (i, j), group.atom))
                removed.add(i)
                break
    # Exact duplicates among the conditions not read above (patterns and the like).
    first: dict[tuple[Any, ...], int] = {}
    for i, operand in enumerate(chain.items):
        sig = _signature(operand)
        if sig is None or _operand_atom(operand) is not None:
            continue
        if sig in first and not same_origin(chain.items[first[sig]], operand):
            found.append(Finding("duplicate", chain, (i, first[sig]), (sig[0], sig[1])))
            removed.add(i)
        else:
            first.setdefault(sig, i)
    return found


def _contradiction(group: _Group) -> list[int]:
    """Two operands of an empty `and` group that share no region, else all of them."""
    for a in range(len(group.masks)):
        for b in range(a + 1, len(group.masks)):
            if group.masks[a] & group.masks[b] == 0:
                return [group.operands[a], group.operands[b]]
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
        while isinstance(current, Chain) and current.op == c.op:
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

    Raises:
        FilterSyntaxError, FilterValidationError: the filter is not valid.

    Example:
        >>> simplify("cost > 1 and cost > 2 and model = 'a' and model = 'a'")
        'cost > 2 and model = "a"'
    """
    from .compiler import read_filter
    from .formatter import filter_text

    node = simplified(read_filter(obj, now=now))
    if isinstance(obj, str):
        return filter_text(node)
    from .helicone_json import to_json

    return to_json(node)


# -- warnings ------------------------------------------------------------------------------------


def _span(operand: Filter) -> tuple[int, int]:
    leaves = _leaves(operand)
    return min(c.start for c in leaves), max(c.end for c in leaves)


def _shape(node: Filter) -> Any:
    """What a filter tests: its fields, keys, operators and values, a moment's value left out
    (`now - 1d` is another moment each time it is read)."""
    if isinstance(node, Condition):
        value = None if node.field.kind == "timestamp" else node.value
        return (node.field.name, node.key, node.op, repr(value))
    if isinstance(node, Chain):
        return (node.op, tuple(_shape(x) for x in node.items))
    return node


def _written_as(text: str, operand: Filter) -> bool:
    """Whether `text`, read alone, tests what `operand` tests: not when a `not` outside it
    turned it around (`not cached` is written `cached` inside the `not`)."""
    from .compiler import lower_text
    from .errors import FilterError

    try:
        return bool(_shape(lower_text(text)) == _shape(operand))
    except FilterError:
        return False


# A `not` (or `!`) somewhere in the text: only then can a condition be tested otherwise than
# its own text reads.
_NEGATION = re.compile(r"(?i)\bnot\b|!(?!=)")


def _shown(operand: Filter, text: str | None) -> str:
    if text is not None:
        start, end = _span(operand)
        s = " ".join(text[start:end].split())
        if not _NEGATION.search(text) or _written_as(s, operand):
            return s if len(s) <= 60 else s[:59] + "…"
    if isinstance(operand, Condition):
        return condition_text(operand)
    from .formatter import filter_text

    return filter_text(operand)


def _column(atom: Atom) -> str:
    name, key = atom
    return name + (key_text(key) if key is not None else "")


def _listed(items: list[str], word: str) -> str:
    quoted = [f"'{s}'" for s in items]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {word} {quoted[-1]}"


def _removal(text: str, chain: Chain, i: int, counts: Counter[tuple[int, int]]) -> Fix:
    """The edit that deletes operand i of `chain` and its joining `and`/`or` from the text,
    when the operand is one written condition; else no edit."""
    operand = chain.items[i]
    start, end = _span(operand)
    leaves = _leaves(operand)
    if any((c.start, c.end) != (start, end) for c in leaves) or counts[(start, end)] != len(leaves):
        return ()
    if i + 1 < len(chain.items):
        following = _span(chain.items[i + 1])[0]
        m = _AFTER.match(text, end, following)
        if m is None or following < end:
            return ()
        return ((start, m.end(), ""),)
    previous = _span(chain.items[i - 1])[1]
    if previous > start:
        return ()
    m = _BEFORE.search(text, previous, start)
    if m is None:
        return ()
    return ((m.start(), end, ""),)


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
    counts: Counter[tuple[int, int]] = Counter()
    if text is not None:
        counts.update((c.start, c.end) for c in conditions(node))

    def same_origin(a: Filter, b: Filter) -> bool:
        return text is not None and _span(a) == _span(b)

    out: list[Problem] = []
    for chain in chains:
        for f in chain_findings(chain, same_origin):
            out.append(_problem(f, text, counts))
    out.sort(key=lambda p: (p.start, p.end))
    return out


def _problem(f: Finding, text: str | None, counts: Counter[tuple[int, int]]) -> Problem:
    operands = [f.chain.items[i] for i in f.operands]
    shown = [_shown(x, text) for x in operands]
    column = _column(f.atom)
    fixes: tuple[Fix, ...] = ()
    if f.code == "never-matches":
        word = "both" if len(shown) == 2 else "all"
        message = f"{_listed(shown, 'and')} cannot {word} hold: this never matches"
        hint = f"no value of {column} satisfies them together; did you mean 'or', or other values?"
        spans = [_span(x) for x in operands]
    elif f.code == "always-matches":
        everywhere = f.everywhere or (f.atom[1] is not None and f.atom[0] == "properties")
        where = "every row" if everywhere else f"every row where {column} is set"
        message = f"{_listed(shown, 'or')} is true for {where}"
        if everywhere:
            hint = "it filters nothing: remove it, or check the values"
        elif f.atom[1] is None and FIELDS[f.atom[0]].kind == "text":
            hint = f"it only drops rows where {column} is null: write '{column} is not null'"
        else:
            hint = f"it only drops rows without {column}: remove it, or check the values"
        spans = [_span(x) for x in operands]
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
        spans = [_span(operands[0])]
        if text is not None:
            fix = _removal(text, f.chain, f.operands[0], counts)
            fixes = (fix,) if fix else ()
    if text is None:
        first = operands[0]
        leaf = first if isinstance(first, Condition) else _leaves(first)[0]
        return Problem(
            f.code, message, 0, 0, 0, 0, hint, "warning", str(leaf.path) if leaf.path else "$"
        )
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    if f.code in ("redundant", "duplicate"):
        start, end = spans[0]
    problem = make_problem(text, f.code, message, start, end, hint, fixes)
    return problem.replace(severity="warning")
