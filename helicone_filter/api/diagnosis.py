"""Filter text to diagnostics for editors: `diagnose` (every problem with its ranges and
fix-its, never raising) and `every_problem` (the same problems, as Problems). The text is
read by `text_problems`; `diagnostics.py` cuts it into pieces after a syntax error and gives
the ranges in UTF-16 too.
"""

from __future__ import annotations

from datetime import datetime

from helicone_filter.api.reading import checked_endpoint, checked_now
from helicone_filter.api.text import text_problems
from helicone_filter.diagnostics import Diagnostic, diagnostics_of, with_pieces
from helicone_filter.errors import Problem
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT


def diagnose(
    text: str,
    *,
    now: datetime | None = None,
    analyze: bool = True,
    endpoint: str = DEFAULT_ENDPOINT,
) -> list[Diagnostic]:
    """Every problem of `text` (errors and warnings) with ranges and fix-its, by position;
    with `analyze` False, without the analysis's warnings (analysis.py); `endpoint` is the
    endpoint of Helicone the text is for (ValueError for an unknown one).

    Example:
        >>> d = diagnose('modle = "x"')[0]
        >>> (d.code, d.start, d.end, d.fixes[0][0].new_text)
        ('unknown-field', 0, 5, 'model')
    """
    checked_endpoint(endpoint)
    if not isinstance(text, str):
        return []
    return diagnostics_of(text, every_problem(text, now=now, analyze=analyze, endpoint=endpoint))


def every_problem(
    text: str,
    *,
    now: datetime | None = None,
    analyze: bool = True,
    endpoint: str = DEFAULT_ENDPOINT,
) -> list[Problem]:
    """`diagnose`'s problems as Problems (with line and column), by position: what `compile`
    reports and, after a syntax error, the problems of the conditions around it.

    Example:
        >>> [(p.code, p.column) for p in every_problem("modle = 1 and cost => 5")]
        [('unknown-field', 1), ('unknown-operator', 20)]
    """
    now = checked_now(now)  # one clock for every piece
    problems, syntax = text_problems(text, now, analyze=analyze, endpoint=endpoint)

    def piece_problems(piece: str) -> list[Problem]:
        return text_problems(piece, now, analyze=analyze, endpoint=endpoint)[0]

    return with_pieces(text, problems, syntax, piece_problems)
