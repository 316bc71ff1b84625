"""Diagnostics for editors: every problem with its range, and fixes an editor can apply.

`diagnose(text)` of the ways in (`helicone_filter.api`) reports what `compile` would (the same
codes and ranges), the warnings of `check_text`, and, after a syntax error, the problems of the
conditions around it: the text is cut at each `and` / `or` outside strings (`with_pieces`) and
each piece is checked on its own, so a filter with two mistakes shows both. Ranges are given in
code points (Python's offsets) and in UTF-16 code units (JavaScript's, `diagnostics_of`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from typing import Any

from helicone_filter.errors import Fix, Problem
from helicone_filter.value_class import Record

# A top-level joint of conditions: `and`, `or`, `&&`, `||`, outside strings.
_PIECES = re.compile(
    r"\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?"
    r"|(?P<joint>(?<![\w.-])(?i:and|or)(?![\w]|-[A-Za-z_])|&&|\|\|)",
    re.S,
)


class Diagnostic(Record):
    """One problem, as an editor shows it: a squiggle over the range, a message, and fixes.

    `fixes` holds fix-its, each a `Fix` (errors.py): `start`, `end`, `replacement`, and the
    offsets in UTF-16 code units, the shape of a fix-it everywhere.
    """

    severity: str
    code: str
    message: str
    hint: str
    start: int
    end: int
    start_utf16: int
    end_utf16: int
    fixes: tuple[Fix, ...]


def apply_fix(text: str, fix: Fix) -> str:
    """`text` with one fix-it made (`Fix.apply`)."""
    return fix.apply(text)


def diagnostics_of(text: str, problems: list[Problem]) -> list[Diagnostic]:
    """Problems of `text` as diagnostics: ranges in code points and in UTF-16 code units.

    Example:
        >>> from helicone_filter.errors import make_problem
        >>> d = diagnostics_of("🙂 x", [make_problem("🙂 x", "unknown-field", "?", 2, 3)])[0]
        >>> (d.start, d.end, d.start_utf16, d.end_utf16)
        (2, 3, 3, 4)
    """
    units = Utf16(text)
    return [
        Diagnostic(
            p.severity,
            p.code,
            p.message,
            p.hint,
            p.start,
            p.end,
            units(p.start),
            units(p.end),
            p.fixes,
        )
        for p in problems
    ]


def with_pieces(
    text: str,
    problems: list[Problem],
    syntax: bool,
    problems_of: Callable[[str], list[Problem]],
) -> list[Problem]:
    """`problems` of `text` and, after a syntax error (`syntax`), the problems `problems_of`
    finds in each piece of the text between top-level joints but the one with the first
    mistake and those inside its span (`between 1 and 5` is one mistake), moved to their
    place in `text`, by position."""
    problems = list(problems)
    if syntax and problems[0].code != "too-long":  # (a text too long to read is not cut up)
        first = problems[0]
        found = {(p.code, p.start, p.end) for p in problems}
        for start, end in _pieces(text):
            if start <= first.start <= end or first.start <= start < first.end:
                continue  # the piece with the first mistake (or ending at it, or inside it)
            piece = text[start:end]
            lead = len(piece) - len(piece.lstrip(" \t\r\n("))
            trail = len(piece) - len(piece.rstrip(" \t\r\n)"))
            inner = piece[lead : len(piece) - trail]
            if not inner:
                continue
            for p in problems_of(inner):
                if p.code in ("or-across-tables", "all-combined", "empty-filter"):
                    continue
                key = (p.code, p.start + start + lead, p.end + start + lead)
                if key not in found:
                    found.add(key)
                    problems.append(_shift(text, p, start + lead))
    problems.sort(key=lambda p: (p.start, p.end))
    return problems


def _pieces(text: str) -> list[tuple[int, int]]:
    """The spans between top-level joints (`and`, `or`, `&&`, `||` outside strings)."""
    spans, at = [], 0
    for m in _PIECES.finditer(text):
        if m.group("joint"):
            spans.append((at, m.start()))
            at = m.end()
    spans.append((at, len(text)))
    return spans


def _shift(text: str, p: Problem, offset: int) -> Problem:
    from helicone_filter.errors import make_problem

    fixes = tuple(((f.start + offset, f.end + offset, f.replacement),) for f in p.fixes)
    moved = make_problem(text, p.code, p.message, p.start + offset, p.end + offset, p.hint, fixes)
    return moved.replace(severity=p.severity)


class Utf16:
    """Offsets into one text in code points (Python's) and in UTF-16 code units (a browser's,
    JavaScript's), one to the other: they differ after each character beyond U+FFFF."""

    def __init__(self, text: str) -> None:
        self.astral = [i for i, c in enumerate(text) if ord(c) > 0xFFFF]

    def __call__(self, offset: int) -> int:
        """The code point offset `offset` in UTF-16 code units."""
        return offset + bisect.bisect_left(self.astral, offset)

    def code_points(self, units: int) -> int:
        """The UTF-16 offset `units` in code points (inside a surrogate pair: the character's
        start)."""
        lo, hi = 0, len(self.astral)
        while lo < hi:  # the astral characters wholly before `units`
            mid = (lo + hi) // 2
            if self.astral[mid] + mid + 2 <= units:
                lo = mid + 1
            else:
                hi = mid
        return (
            units - lo - (1 if lo < len(self.astral) and self.astral[lo] + lo + 1 == units else 0)
        )


def as_json(diagnostics: list[Diagnostic]) -> list[dict[str, Any]]:
    """Diagnostics as plain JSON data (for the HTTP service and tools)."""
    return [{**d.as_dict(), "fixes": [f.as_dict() for f in d.fixes]} for d in diagnostics]
