"""The printed forms that the command line and the REPL share: the table of `fields`, and the
tree of `explain`. Each is made here as lines of text; the caller prints them (`helicone-filter
fields`, `:fields` at the prompt), so both show the same thing.

Example:
    >>> lines, warnings = explain_lines("cost > 1 and cached")
    >>> print("\\n".join(lines))
    and
    ├─ cost > 1       ← cost > 1
    └─ cached = true  ← cached
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT

if TYPE_CHECKING:
    from datetime import datetime

    from helicone_filter.errors import Problem


def field_lines(endpoint: str = DEFAULT_ENDPOINT, width: int | None = None) -> list[str]:
    """`fields` as text: each field of an endpoint (its table, type and operators, and on the
    line below what it is), then what
    Helicone does with some of them, and how maps and the null tests are written. With
    `width` (a terminal's columns), each field's operators are wrapped under their column
    and the notes under theirs, so that no line is wider than the terminal (where the
    name, table and type columns fit in it).

    Raises:
        ValueError: an unknown endpoint.
    """
    from helicone_filter.facts.schema import FIELD_MEANINGS, schema_of

    schema = schema_of(endpoint)
    operators = schema.field_operators
    table = [("FIELD", "TABLE", "TYPE", "OPERATORS")] + [
        (f.name, f.table, f.kind_label, ", ".join(operators[f.name]) or "(none)")
        for f in schema.fields.values()
    ]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = []
    for i, row in enumerate(table):
        lead = "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + " "
        lines += _wrapped(lead, row[3], width, ", ")
        if i:  # what the field is, under its name
            lines += _wrapped("    ", FIELD_MEANINGS[row[0]], width, " ")
    name_width = max(map(len, schema.notes), default=0)
    lines += ["", "what Helicone does with some of them:"]
    for name, note in schema.notes.items():
        lines += _wrapped(f"  {name.ljust(name_width)}  ", note, width, " ")
    return [
        *lines,
        "",
        *_wrapped(
            "",
            'maps take a key: properties.environment or properties["my key"]; '
            "is null / is not null / is empty apply to text columns",
            width,
            " ",
        ),
    ]


def _wrapped(lead: str, text: str, width: int | None, sep: str) -> list[str]:
    """`lead` then `text`, its parts (split at `sep`, kept whole) wrapped to fewer than
    `width` columns under the column where `text` starts, or on lines of their own under a
    small indent when `lead` leaves too little room; one line without `width`."""
    if width is None or len(lead) + len(text) < width:
        return [lead + text]
    lines: list[str] = []
    indent = " " * len(lead)
    if width - len(lead) < 20:
        lines, lead, indent = [lead.rstrip()], "    ", "    "
    parts = text.split(sep)
    line = lead
    for i, part in enumerate(parts):
        piece = part + (sep.rstrip() if i < len(parts) - 1 else "")
        if line.strip() and len(line) + len(sep) - len(sep.rstrip()) + len(piece) >= width:
            lines.append(line)
            line = indent
        gap = "" if line in (lead, indent) else " " * (len(sep) - len(sep.rstrip()))
        line += gap + piece
    return [*lines, line]


# The tree's lines: a branch, the last branch, the line through, the arrow to the text; box
# drawing, or ASCII for an output that cannot write it (PYTHONIOENCODING=ascii).
_TREE = ("├─ ", "└─ ", "│  ", "←")
_ASCII_TREE = ("|- ", "`- ", "|  ", "<-")
_WRITTEN_WIDTH = 60  # the most of a condition's text shown beside it, and of the tree's width


def explain_lines(
    text: str,
    now: datetime | None = None,
    *,
    warnings: bool = True,
    ascii_only: bool = False,
    endpoint: str = DEFAULT_ENDPOINT,
) -> tuple[list[str], list[Problem]]:
    """`explain` as text: the tree that filter text compiles to on an endpoint, each condition
    beside the text it came from; and the filter's warnings (none looked for unless
    `warnings`).

    Raises:
        FilterError: the text is no valid filter.
    """
    from helicone_filter.api import compile_explained, lower_text, to_helicone
    from helicone_filter.form import conditions

    # One reading of the text for the tree and its warnings.
    found: list[Problem] = []
    if warnings:
        result, leaves, found = compile_explained(text, now=now, endpoint=endpoint)
    else:
        node = lower_text(text, now=now, endpoint=endpoint)
        result, leaves = to_helicone(node, text), list(conditions(node))
    if result == "all":
        return ["all  (matches every user)"], found
    rows = _tree_rows(text, result, iter(leaves), ascii_only)
    arrow = (_ASCII_TREE if ascii_only else _TREE)[3]
    width = min(max(len(left) for left, _ in rows), _WRITTEN_WIDTH)
    lines = [
        f"{left.ljust(width)}  {arrow} {written}" if written else left for left, written in rows
    ]
    return lines, found


def _tree_rows(text: str, result: Any, leaves: Any, ascii_only: bool) -> list[tuple[str, str]]:
    """The tree's rows, top down: a joint, or a condition and the text it was written as;
    `leaves` are the conditions in the order the walk meets them."""
    from helicone_filter.backends.canonical_text import condition_text
    from helicone_filter.errors import escape_unsafe, printable

    branch, last, through, _ = _ASCII_TREE if ascii_only else _TREE
    rows: list[tuple[str, str]] = []
    todo: list[tuple[Any, str, str]] = [(result, "", "")]
    while todo:
        node, lead, child_lead = todo.pop()
        if "operator" in node:
            rows.append((lead + node["operator"], ""))
            todo.append((node["right"], child_lead + last, child_lead + "   "))
            todo.append((node["left"], child_lead + branch, child_lead + through))
        else:
            c = next(leaves)
            # (at most 60 characters: each item of a long `in` list points at all of it)
            start, end = c.written  # with its `not`s and parentheses
            written = " ".join(text[start : min(end, start + 200)].split())
            cut = _WRITTEN_WIDTH - 1
            written = printable(written if len(written) <= _WRITTEN_WIDTH else written[:cut] + "…")
            shown = escape_unsafe(condition_text(c), ascii_only=ascii_only)
            rows.append((lead + shown, written))
    return rows
