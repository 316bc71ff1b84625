"""A parsed filter (the syntax tree) as canonical text, keeping what was written: `not`,
relative times and the order of operands stay, qualified names become bare, spelling becomes
canonical (docs/language.md, "Canonical form"). The validated form has its own writer,
`backends/canonical_text.py`.
"""

from __future__ import annotations

from helicone_filter.facts.quoting import key_text, value_text
from helicone_filter.facts.schema import FIELDS, TABLES
from helicone_filter.frontends.syntax_tree import (
    All,
    And,
    Comparison,
    FieldRef,
    Group,
    Node,
    Not,
    Or,
    Value,
)


def _field_text(ref: FieldRef) -> str:
    parts = list(ref.parts)
    if len(parts) >= 2 and parts[0] in TABLES and parts[1] in FIELDS:
        parts.pop(0)  # bare names are canonical
    key = ref.key
    if key is None and len(parts) == 2 and FIELDS.get(parts[0]) and FIELDS[parts[0]].kind == "map":
        key = parts.pop()
    return ".".join(parts) + (key_text(key) if key is not None else "")


def _value_text(v: Value) -> str:
    if v.kind == "now":
        return f"now - {v.value}" if v.value else "now"
    return value_text(v.value)


def _comparison_text(c: Comparison) -> str:
    name = _field_text(c.field)
    if c.value is None:
        return f"{name} {c.op}"
    if isinstance(c.value, tuple):
        return f"{name} {c.op} [{', '.join(_value_text(v) for v in c.value)}]"
    return f"{name} {c.op} {_value_text(c.value)}"


def tree_text(root: Node) -> str:
    """The canonical text of a syntax tree, as written (without recursion, so any depth is
    fine).

    Example:
        >>> from helicone_filter.frontends.parser import parse
        >>> tree_text(parse("NOT users_view.user_cost>5"))
        'not user_cost > 5'
    """
    # Post-order with an explicit stack; each result is (text, "atom" | "not" | "and" | "or").
    todo: list[tuple[Node, bool]] = [(root, False)]
    out: list[tuple[str, str]] = []
    while todo:
        node, done = todo.pop()
        if isinstance(node, Comparison):
            out.append((_comparison_text(node), "atom"))
        elif isinstance(node, All):
            out.append(("all", "atom"))
        elif isinstance(node, Group):
            todo.append((node.inner, False))  # parentheses follow from precedence
        elif isinstance(node, Not):
            if not done:
                todo += [(node, True), (node.operand, False)]
                continue
            text, kind = out.pop()
            out.append((f"not ({text})" if kind in ("and", "or") else f"not {text}", "not"))
        else:
            assert isinstance(node, (And, Or))
            if not done:
                todo.append((node, True))
                todo.extend((c, False) for c in reversed(node.operands))
                continue
            op = "and" if isinstance(node, And) else "or"
            n = len(node.operands)
            children = out[-n:]
            del out[-n:]
            texts = [f"({t})" if k in ("and", "or") and k != op else t for t, k in children]
            out.append((f" {op} ".join(texts), op))
    return out[0][0]
