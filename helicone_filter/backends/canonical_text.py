"""The canonical text (docs/language.md, "Canonical form") of a filter in its validated form.

A syntax tree has its own writer, which keeps what was written (`frontends/tree_text.py`).
"""

from __future__ import annotations

from typing import Any

from helicone_filter.facts.quoting import key_text, value_text
from helicone_filter.facts.schema import EMPTY_MAGIC, JSON_OPERATOR_TEXT, NULL_MAGIC
from helicone_filter.form import ALL, Condition, Filter, events


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
