"""Compile human-readable filter text into Helicone's filter JSON, with errors that point.

>>> import helicone_filter
>>> helicone_filter.compile("user_cost > 5")
{'users_view': {'user_cost': {'gt': 5}}}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from .errors import FilterError, FilterSyntaxError, FilterValidationError, Problem
from .lower import LeafSpan, Nesting, build_chain, lower, lower_with_spans, lower_with_warnings
from .nodes import All, And, Comparison, FieldRef, Group, Node, Not, Or, Value
from .parser import DEFAULT_MAX_DEPTH, DEFAULT_MAX_LENGTH
from .parser import parse as _parse

__version__ = "0.1.0"

__all__ = [
    "All",
    "And",
    "Comparison",
    "Completion",
    "Diagnostic",
    "FieldRef",
    "FilterError",
    "FilterSyntaxError",
    "FilterValidationError",
    "Group",
    "Node",
    "Not",
    "Or",
    "Problem",
    "Value",
    "__version__",
    "build_chain",
    "check",
    "check_text",
    "compile",
    "compile_with_spans",
    "complete",
    "diagnose",
    "json_schema",
    "matches",
    "normalize",
    "parse",
    "to_clickhouse",
    "to_text",
    "validate",
]


if TYPE_CHECKING:
    from .checker import check, normalize, validate
    from .clickhouse import to_clickhouse
    from .completion import Completion, complete
    from .diagnostics import Diagnostic, diagnose
    from .evaluate import matches
    from .formatter import to_text

# The JSON side is imported on first use, so that compiling (and a one-shot command line
# call) loads only the compiler.
_LAZY = {
    "complete": "completion",
    "Completion": "completion",
    "diagnose": "diagnostics",
    "Diagnostic": "diagnostics",
    "matches": "evaluate",
    "to_text": "formatter",
    "to_clickhouse": "clickhouse",
    "check": "checker",
    "normalize": "checker",
    "validate": "checker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'helicone_filter' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def json_schema(which: Literal["query", "filter"] = "query") -> dict[str, Any]:
    """The JSON Schema of the request body of POST /v1/user/metrics/query, or of a FilterNode.

    Args:
        which: "query" for `UserMetricsQueryParams`, "filter" for the FilterNode union.

    Example:
        >>> json_schema("filter")["oneOf"][2]
        {'const': 'all', 'type': 'string'}
    """
    from .models import json_schema as schema  # pydantic only when asked for

    return schema(which)


def parse(
    text: str, *, max_length: int = DEFAULT_MAX_LENGTH, max_depth: int = DEFAULT_MAX_DEPTH
) -> Node:
    """Parse filter text into its AST; every node carries its `start` and `end` offsets.

    Args:
        text: the filter.
        max_length: the longest text accepted, in characters (`too-long` past it).
        max_depth: the deepest nesting of parentheses and `not` (`too-deep` past it).

    Returns:
        The root node. An empty or blank filter is an `All` node.

    Raises:
        FilterSyntaxError: the text is not a filter.

    Example:
        >>> parse("cost > 1 and cached").operands[0].op
        '>'
    """
    return _parse(text, max_length=max_length, max_depth=max_depth)


def compile(  # noqa: A001 - the verb users look for, like re.compile
    text: str,
    *,
    now: datetime | None = None,
    nesting: Nesting = "balanced",
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> dict[str, Any] | str:
    """Compile filter text into the FilterNode JSON that POST /v1/user/metrics/query takes.

    Args:
        text: the filter, e.g. `user_cost > 5 and request_created_at >= now - 7d`.
        now: the aware datetime that relative times count back from (default: now).
        nesting: "balanced" (the default, shallow for long chains) or "right" (the shape
            Helicone's own builder makes).
        max_length: the longest text accepted, in characters.
        max_depth: the deepest nesting of parentheses and `not` accepted.

    Returns:
        Plain JSON-ready data: a dict, or the string "all" for an empty filter or `all`.

    Raises:
        FilterSyntaxError: the text is not a filter.
        FilterValidationError: the filter asks for something Helicone does not allow; it
            carries every problem found.

    Example:
        >>> compile("cached")
        {'request_response_rmt': {'cached': {'equals': True}}}
    """
    now = _checked_now(now, nesting)
    root = _parse(text, max_length=max_length, max_depth=max_depth)
    result: dict[str, Any] | str = lower(root, text, now=now, nesting=nesting)
    return result


def _checked_now(now: datetime | None, nesting: str = "balanced") -> datetime:
    """`now`, or the current time; ValueError for a naive datetime or an unknown nesting."""
    if nesting not in ("balanced", "right"):
        raise ValueError(f"nesting must be 'balanced' or 'right', not {nesting!r}")
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime, e.g. datetime.now(timezone.utc)")
    return now


def compile_with_spans(
    text: str,
    *,
    now: datetime | None = None,
    nesting: Nesting = "balanced",
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> tuple[dict[str, Any] | str, list[LeafSpan]]:
    """`compile`, and a source map: for each leaf of the JSON, where in the text it came from.

    Each entry is `(path, start, end)`: the leaf's path from the root as "left"/"right" steps,
    and the offsets of the condition it came from (`text[start:end]`). A condition can give
    several leaves: `x in [1, 2]` gives two, each with the span of the whole condition.

    Example:
        >>> compile_with_spans("cost > 1 and cached")[1]
        [(('left',), 0, 8), (('right',), 13, 19)]
    """
    now = _checked_now(now, nesting)
    root = _parse(text, max_length=max_length, max_depth=max_depth)
    result, spans = lower_with_spans(root, text, now=now, nesting=nesting)
    return result, spans


def check_text(
    text: str,
    *,
    now: datetime | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> list[Problem]:
    """Every problem with filter text: its errors, or, when it compiles, its warnings.

    Warnings say what Helicone will do unexpectedly with the compiled filter (`contains` with
    wildcards, "null" under an operator that pastes it as SQL null, request cost that overflows
    Helicone's 32-bit bind...). Each problem has its span in the text. Never raises
    FilterError.

    Example:
        >>> [p.code for p in check_text('model contains "gpt_4"')]
        ['contains-wildcard']
    """
    return _text_problems(text, now, max_length, max_depth)[0]


def _text_problems(
    text: str,
    now: datetime | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> tuple[list[Problem], bool]:
    """`check_text`'s problems, and whether they are syntax errors (which hide the rest)."""
    now = _checked_now(now)
    try:
        root = _parse(text, max_length=max_length, max_depth=max_depth)
    except FilterSyntaxError as e:
        return e.problems, True
    try:
        return lower_with_warnings(root, text, now=now)[1], False
    except FilterValidationError as e:
        return e.problems, False
