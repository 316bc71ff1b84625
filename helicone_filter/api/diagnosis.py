"""Filter text to diagnostics for editors: `diagnose` (every problem with its ranges and
fix-its, never raising for the text) and `every_problem` (the same problems, as Problems), and
`complete` (what may stand at the cursor, its arguments checked). The text is
read by `text_problems`; `diagnostics.py` cuts it into pieces after a syntax error and gives
the ranges in UTF-16 too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from helicone_filter.api.reading import checked_endpoint, checked_now
from helicone_filter.api.text import text_problems
from helicone_filter.diagnostics import Diagnostic, diagnostics_of, with_pieces
from helicone_filter.errors import FilterTypeError, Problem
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT

if TYPE_CHECKING:
    from helicone_filter.frontends.completion import Completion


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
        >>> (d.code, d.start, d.end, d.fixes[0].replacement)
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


def complete(
    text: str,
    cursor: int | None = None,
    *,
    map_keys: Mapping[str, Iterable[str]] | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
) -> list[Completion]:
    """What may stand at `cursor` (default: the end) in `text`, best first; nothing for a
    `text` that is not a str (an editor's half-made state).

    Args:
        text: the filter as typed so far.
        cursor: an offset in code points, clamped to the text.
        map_keys: known keys of the map columns, e.g. `{"properties": ["environment"]}`,
            offered after `properties.`.
        endpoint: the endpoint of Helicone whose fields are offered ("user-metrics" or
            "requests").

    Raises:
        FilterArgumentError: an unknown endpoint (a ValueError).
        FilterTypeError: a `cursor`, `map_keys` or `endpoint` of the wrong type.

    Example:
        >>> [c.label for c in complete("cached ")][:3]
        ['=', '!=', 'and']
    """
    from helicone_filter.frontends.completion import complete as completions

    checked_endpoint(endpoint)
    if cursor is not None and (not isinstance(cursor, int) or isinstance(cursor, bool)):
        raise FilterTypeError.because(
            f"cursor must be an int (an offset in code points), not {type(cursor).__name__}",
            "leave it out for the end of the text",
        )
    keys = None if map_keys is None else _key_lists(map_keys)
    if map_keys is not None and keys is None:
        raise FilterTypeError.because(
            "map_keys must map each map column to a list of its keys (strings)",
            'e.g. map_keys={"properties": ["environment", "app"]}',
        )
    return completions(text, cursor, map_keys=keys, endpoint=endpoint)


def _key_lists(map_keys: object) -> dict[str, list[str]] | None:
    """`map_keys` as lists of keys by name (an iterator read once), or None unless it maps
    names to iterables (but strings) of strings."""
    if not isinstance(map_keys, Mapping):
        return None
    out: dict[str, list[str]] = {}
    for name, keys in map_keys.items():
        if not isinstance(name, str) or isinstance(keys, (str, bytes)):
            return None
        try:
            out[name] = list(keys)
        except TypeError:  # not iterable
            return None
        if not all(isinstance(k, str) for k in out[name]):
            return None
    return out
