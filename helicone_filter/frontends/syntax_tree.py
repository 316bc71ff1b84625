"""The AST: small immutable nodes, each with the span of source text it came from.

Spans are `start` and `end` offsets in code points (`text[start:end]` is the node's text).
The tree keeps what was written: parentheses are `Group` nodes, `not` is a `Not` node, and a
chain such as `a and b and c` is one `And` with three operands. Lowering (not push-down,
flattening, sugar) happens in lower.py.

Treat nodes as immutable values. They are plain slotted classes because frozen dataclasses
cost four times as much to build, and the parser builds about three for every condition.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from helicone_filter.value_class import Record

ValueKind = Literal["string", "number", "boolean", "now"]


class FieldRef(Record):
    """A field as written: `parts` are the dotted names, `key` a bracketed map key.

    `users_view.user_cost` has parts `("users_view", "user_cost")`;
    `properties["Session Id"]` has parts `("properties",)` and key `"Session Id"`.
    Which part is a table, a column or a key is decided against the schema.
    """

    parts: tuple[str, ...]
    key: str | None
    start: int
    end: int


class Value(Record):
    """A literal. For kind `now` the value is the duration before now as written: `"7d"` for
    `now - 7d`, `""` for `now` itself."""

    kind: ValueKind
    value: str | int | float | bool
    start: int
    end: int


class Comparison(Record):
    """One condition: a field, an operator in its canonical spelling, and a value.

    `op` is one of `= != > >= < <= like ilike contains`, `not contains`, `in`, `not in`,
    `is null`, `is not null`, `is empty`. For `in` / `not in` the value is a tuple of values; for
    the `is` forms it is None. A bare boolean field (`cached`) is `cached = true` whose value
    span is the field's.
    """

    field: FieldRef
    op: str
    value: Value | tuple[Value, ...] | None
    start: int
    end: int


class Not(Record):
    """`not x` or `!x`."""

    operand: Node
    start: int
    end: int


class Chain(Record):
    """Two or more operands joined by one operator: `And` or `Or`."""

    operands: tuple[Node, ...]
    start: int
    end: int


class And(Chain):
    """A chain `a and b and ...`."""


class Or(Chain):
    """A chain `a or b or ...`."""


class Group(Record):
    """A parenthesised expression."""

    inner: Node
    start: int
    end: int


class All(Record):
    """`all`, or the empty filter (whose span is the whole, blank, text)."""

    start: int
    end: int


Node: TypeAlias = Comparison | Not | And | Or | Group | All
