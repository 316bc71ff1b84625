"""The one validated form of a filter, which every backend reads.

Filter text is lowered into it (frontends/lowering.py) and FilterNode JSON from elsewhere is
checked into it (frontends/checker.py), each once, by the ways in (api/); then the backends
read it: Helicone's JSON (helicone_json.py), canonical text (canonical_text.py), `matches`
(row_matching.py), ClickHouse SQL (clickhouse.py), the analysis (analysis.py), and the
explanations of the command line. Nothing reads a filter twice.

A filter is `ALL` (every user), a `Condition`, or a `Chain`: two or more operands joined by
one operator, none of them `ALL` and none a chain of the same operator (runs are flat, so a
chain of 10,000 conditions is one node, whatever the nesting it was written or sent in).
Values are those Helicone runs with (`semantics.read_condition`), in JSON form.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, MutableSequence
from typing import Any, Final, TypeAlias, TypeVar

from helicone_filter.facts.schema import Field
from helicone_filter.value_class import Record

ALL: Final = "all"
"""The filter that matches every user: `all`, an empty filter, `{}`."""


class Condition(Record):
    """One condition: a column (and map key), a JSON operator, the value Helicone runs with,
    and where it was written (a span of text, or a JSON path).

    `kept` is False for a further column, operator or key of one JSON leaf, which Helicone
    drops without a word (`check` reports it): the JSON and text backends write it, as its
    author meant it; `matches` and the SQL leave it out, as Helicone does.

    From text, `start`/`end` span the comparison; `operand` spans it as an operand of its
    chain in the text, with the `not`s and parentheses around it (None: the same span), and
    `turned` says that a `not` outside that span turned it around, so that the text there reads
    the opposite of what is tested (`a` in `not (a or b)`). Several conditions share one span
    where one comparison was lowered into several (`x in [1, 2]`).
    """

    field: Field
    key: str | None
    op: str
    value: Any
    start: int = 0
    end: int = 0
    path: Any = None
    kept: bool = True
    operand: tuple[int, int] | None = None
    turned: bool = False

    @property
    def written(self) -> tuple[int, int]:
        """The span of the operand of its chain that the condition came from, in the text."""
        return self.operand if self.operand is not None else (self.start, self.end)


class Chain(Record):
    """Two or more operands joined by `op` ("and" or "or")."""

    op: str
    items: MutableSequence[Filter]


Filter: TypeAlias = Condition | Chain | str
T = TypeVar("T")


def join(op: str, items: Iterable[Filter]) -> Filter:
    """`op` over `items`, as the form says: chains of the same operator spliced in, `ALL`
    dropped from an and-chain and making an or-chain `ALL`, one operand itself."""
    operands: deque[Filter] = deque()
    for item in items:
        if type(item) is Condition:
            operands.append(item)
        elif isinstance(item, Chain):
            if item.op == op:
                operands.extend(item.items)
            else:
                operands.append(item)
        elif op == "or":  # ALL
            return ALL
    if not operands:
        return ALL
    if len(operands) == 1:
        return operands[0]
    return Chain(op, operands)


def join2(op: str, left: Filter, right: Filter) -> Filter:
    """`join(op, [left, right])`, splicing one chain into the other in place (the shorter into
    the longer), so that a chain met one branch at a time (nested JSON) is joined in linear
    time. The chains must be ones `join` made, not yet handed on."""
    if isinstance(left, str) or isinstance(right, str):
        return join(op, (left, right))
    left_same = isinstance(left, Chain) and left.op == op
    right_same = isinstance(right, Chain) and right.op == op
    if (
        isinstance(left, Chain)
        and left_same
        and not (isinstance(right, Chain) and right_same and len(right.items) > len(left.items))
    ):
        left.items.extend(right.items if isinstance(right, Chain) and right_same else (right,))
        return left
    if isinstance(right, Chain) and right_same:
        items = right.items
        assert isinstance(items, deque)
        items.extendleft(reversed(left.items) if isinstance(left, Chain) and left_same else (left,))
        return right
    return Chain(op, deque((left, right)))


def fold(
    node: Filter,
    leaf: Callable[[Condition], T],
    chain: Callable[[Chain, list[T]], T],
    everything: T,
) -> T:
    """Fold a filter bottom-up: `leaf` of each condition, `chain(chain, results)` of each
    chain, `everything` for `ALL`. Without recursion, so any depth is fine."""
    if isinstance(node, str):
        return everything
    if isinstance(node, Condition):
        return leaf(node)
    # Frames: a chain, the results of its operands so far, the operands still to fold.
    stack: list[tuple[Chain, list[T], Iterator[Filter]]] = [(node, [], iter(node.items))]
    while True:
        c, results, rest = stack[-1]
        for item in rest:
            if type(item) is Condition:
                results.append(leaf(item))
            else:
                assert isinstance(item, Chain)
                stack.append((item, [], iter(item.items)))
                break
        else:
            stack.pop()
            done = chain(c, results)
            if not stack:
                return done
            stack[-1][1].append(done)


def events(node: Filter) -> Iterator[tuple[str, Any]]:
    """A filter as events, depth first: ("leaf", condition), ("open", chain), ("close",
    chain), or ("all", ALL). Without recursion."""
    if isinstance(node, str):
        yield "all", node
        return
    todo: list[tuple[Filter, bool]] = [(node, False)]
    while todo:
        x, done = todo.pop()
        if isinstance(x, Condition):
            yield "leaf", x
        elif isinstance(x, Chain):
            if done:
                yield "close", x
            else:
                yield "open", x
                todo.append((x, True))
                todo.extend((item, False) for item in reversed(x.items))


def conditions(node: Filter) -> Iterator[Condition]:
    """Every condition of a filter, in order."""
    for event, x in events(node):
        if event == "leaf":
            yield x
