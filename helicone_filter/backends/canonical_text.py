"""Canonical text (docs/language.md, "Canonical form") from FilterNode JSON or from the AST."""

from __future__ import annotations

from typing import Any

from helicone_filter.facts.quoting import key_text, quote
from helicone_filter.facts.schema import (
    EMPTY_MAGIC,
    FIELDS,
    JSON_OPERATOR_TEXT,
    NULL_MAGIC,
    TABLES,
)
from helicone_filter.form import ALL, Condition, Filter, events
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


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _condition_text(c: Condition) -> tuple[str, tuple[Any, ...] | None, str]:
    """(text, the key of the `in` run it may join or None, the value as text)."""
    name = c.field.name + (key_text(c.key) if c.key is not None else "")
    kind = c.field.kind
    if kind == "text" and c.value in (NULL_MAGIC, EMPTY_MAGIC):
        if c.op == "equals":
            return f"{name} is {'null' if c.value == NULL_MAGIC else 'empty'}", None, ""
        if c.op == "not-equals" and c.value == NULL_MAGIC:
            return f"{name} is not null", None, ""
    shown = value_text(c.value)
    text = f"{name} {JSON_OPERATOR_TEXT[c.op]} {shown}"
    run = None
    if c.op in ("equals", "not-equals") and (c.key is not None or kind in ("text", "number")):
        run = (c.op, c.field.name, c.key)
    return text, run, shown


def condition_text(c: Condition) -> str:
    """One condition as canonical text."""
    return _condition_text(c)[0]


def _join(op: str, items: list[tuple[str, Any, str, bool]]) -> tuple[str, bool]:
    """Join a chain's items; runs of `=` (or) / `!=` (and) on one field become in-lists.

    Items are (text, run key, value text, needs parentheses). Returns the text and whether it
    is a single `in` / `not in` term (which needs no parentheses).
    """
    joinable = "equals" if op == "or" else "not-equals"
    parts: list[str] = []
    single_term = False
    i = 0
    while i < len(items):
        text, run, _shown, wrap = items[i]
        j = i + 1
        if run is not None and run[0] == joinable:
            while j < len(items) and items[j][1] == run:
                j += 1
        if j - i >= 2:
            values = ", ".join(item[2] for item in items[i:j])
            name = run[1] + (key_text(run[2]) if run[2] is not None else "")
            keyword = "in" if op == "or" else "not in"
            parts.append(f"{name} {keyword} [{values}]")
            single_term = i == 0 and j == len(items)
        else:
            parts.append(f"({text})" if wrap else text)
        i = j
    return f" {op} ".join(parts), single_term


def filter_text(node: Filter) -> str:
    """The canonical text of a filter in its validated form."""
    if node == ALL:
        return "all"
    # Each open chain collects (text, run key, value text, needs parentheses) items.
    stack: list[list[tuple[str, Any, str, bool]]] = [[]]
    for event, x in events(node):
        if event == "leaf":
            text, run, shown = _condition_text(x)
            stack[-1].append((text, run, shown, False))
        elif event == "open":
            stack.append([])
        else:
            text, single = _join(x.op, stack.pop())
            stack[-1].append((text, None, "", not single))
    return stack[0][0][0]


# -- the AST -------------------------------------------------------------------------------------


def _field_text(ref: FieldRef) -> str:
    parts = list(ref.parts)
    if len(parts) >= 2 and parts[0] in TABLES and parts[1] in FIELDS:
        parts.pop(0)  # bare names are canonical
    key = ref.key
    if key is None and len(parts) == 2 and FIELDS.get(parts[0]) and FIELDS[parts[0]].kind == "map":
        key = parts.pop()
    return ".".join(parts) + (key_text(key) if key is not None else "")


def _ast_value(v: Value) -> str:
    if v.kind == "now":
        return f"now - {v.value}" if v.value else "now"
    return value_text(v.value)


def _comparison_text(c: Comparison) -> str:
    name = _field_text(c.field)
    if c.value is None:
        return f"{name} {c.op}"
    if isinstance(c.value, tuple):
        return f"{name} {c.op} [{', '.join(_ast_value(v) for v in c.value)}]"
    return f"{name} {c.op} {_ast_value(c.value)}"


def _ast_text(root: Node) -> str:
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


def to_text(obj: Any) -> str:
    """The canonical text of a FilterNode (JSON) or of a parsed filter (AST node).

    For JSON, the text compiles back to `normalize(obj)`; for the output of `compile` (with the
    default nesting), to the very same JSON. For an AST, the text keeps what was written
    (`not`, relative times, qualified names become bare) in canonical spelling.

    Raises:
        FilterValidationError: the JSON is not a valid FilterNode.

    Example:
        >>> to_text({"users_view": {"user_cost": {"gt": 5}}})
        'user_cost > 5'
    """
    if isinstance(obj, (Comparison, Not, And, Or, Group, All)):
        return _ast_text(obj)
    from helicone_filter.frontends.checker import normalized_ir

    return filter_text(normalized_ir(obj))
