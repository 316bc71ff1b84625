"""Filter text to Helicone's JSON and to its problems: `compile` and its kin (with warnings,
spans, the source of each leaf), `check_text`. The text is read once (parser, lowering) and its
validated form handed to the JSON writer and the analysis.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from helicone_filter.api.reading import (
    checked_endpoint,
    checked_limit,
    checked_now,
    checked_text,
    lower_text,
)
from helicone_filter.backends.helicone_json import JSON, Nesting, leaf_paths, to_json, too_deep
from helicone_filter.backends.helicone_json import build_chain as join_nodes
from helicone_filter.errors import (
    FilterArgumentError,
    FilterSyntaxError,
    FilterTypeError,
    FilterValidationError,
    Problem,
    make_problem,
)
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT
from helicone_filter.form import Condition, Filter, conditions
from helicone_filter.frontends.lowering import lower_with_warnings
from helicone_filter.frontends.parser import DEFAULT_MAX_DEPTH, DEFAULT_MAX_LENGTH
from helicone_filter.frontends.parser import parse as parse_tree
from helicone_filter.frontends.syntax_tree import Node

if TYPE_CHECKING:
    from helicone_filter.backends.node_types import FilterNode

# A leaf of the output and where it came from: its path in the JSON ("left"/"right" steps from
# the root) and the span of the condition in the text.
LeafSpan = tuple[tuple[str, ...], int, int]
# Each leaf of the output with the condition it came from.
Sources = list[tuple[tuple[str, ...], Condition]]


def to_helicone(node: Filter, text: str, nesting: Nesting = "balanced") -> JSON:
    """The FilterNode of a filter from text, refused where it is too deep for Helicone.

    Raises:
        FilterValidationError: the tree passes Helicone's limits (`nesting="right"` on a long
            chain, or groups nested down left sides).
    """
    result = to_json(node, nesting)
    check_depth(node, text, nesting, result)
    return result


def check_depth(
    node: Filter, text: str, nesting: Nesting = "balanced", result: JSON | None = None
) -> None:
    """Refuse a filter from text whose FilterNode (`result`, written here only if it might be
    too deep) passes Helicone's depth limits.

    Raises:
        FilterValidationError: it does.
    """
    limit = too_deep(node, result, nesting)
    if limit is not None:
        problem = make_problem(text, limit.code, limit.message, 0, len(text), limit.hint)
        raise FilterValidationError([problem], text)


def compile(  # noqa: A001 - the verb users look for, like re.compile
    text: str,
    *,
    now: datetime | None = None,
    nesting: Nesting = "balanced",
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
    endpoint: str = DEFAULT_ENDPOINT,
) -> FilterNode:
    """Compile filter text into the FilterNode JSON that an endpoint of Helicone takes: POST
    /v1/user/metrics/query (the default), or the request endpoints (`endpoint="requests"`).

    Args:
        text: the filter, e.g. `user_cost > 5 and request_created_at >= now - 7d`.
        now: the aware datetime that relative times count back from (default: now).
        nesting: "balanced" (the default, shallow for long chains) or "right" (the shape
            Helicone's own builder makes).
        max_length: the longest text accepted, in characters.
        max_depth: the deepest nesting of parentheses and `not` accepted.
        endpoint: "user-metrics" (users_view and request_response_rmt) or "requests"
            (request_response_rmt and session_tag; `or` across tables allowed).

    Returns:
        Plain JSON-ready data: a dict, or the string "all" for an empty filter or `all`;
        typed `FilterNode` (a TypedDict for a leaf or a branch), which the package exports.

    Raises:
        FilterSyntaxError: the text is not a filter.
        FilterValidationError: the filter asks for something Helicone does not allow; it
            carries every problem found.
        FilterArgumentError: a naive `now`, an unknown nesting or endpoint (a ValueError).
        FilterTypeError: an argument of the wrong type: `text` not a str (FilterNode JSON
            goes to `check`, `normalize` or `to_text`), `now` not a datetime (a TypeError).

    Example:
        >>> compile("cached")
        {'request_response_rmt': {'cached': {'equals': True}}}
    """
    _checked(text, "compile", now, nesting, max_length, max_depth)
    node = lower_text(text, now=now, max_length=max_length, max_depth=max_depth, endpoint=endpoint)
    result: FilterNode = to_helicone(node, text, nesting)
    return result


def compile_with_warnings(
    text: str,
    *,
    now: datetime | None = None,
    nesting: Nesting = "balanced",
    analyze: bool = True,
    endpoint: str = DEFAULT_ENDPOINT,
) -> tuple[FilterNode, list[Problem]]:
    """`compile`, and the warnings `check_text` gives for the same text (what Helicone will do
    unexpectedly with the result, and the analysis's unless `analyze` is False), in one
    reading of the text.

    Example:
        >>> [p.code for p in compile_with_warnings('model contains "50%"')[1]]
        ['contains-wildcard']
    """
    _, result, warnings = _read(text, now, nesting, analyze, endpoint)
    return result, warnings


def compile_with_sources(
    text: str,
    *,
    now: datetime | None = None,
    nesting: Nesting = "balanced",
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
    endpoint: str = DEFAULT_ENDPOINT,
) -> tuple[FilterNode, Sources]:
    """`compile`, and each leaf's path in the JSON with the condition it was made from."""
    _checked(text, "compile_with_sources", now, nesting, max_length, max_depth)
    node = lower_text(text, now=now, max_length=max_length, max_depth=max_depth, endpoint=endpoint)
    result = to_helicone(node, text, nesting)
    return result, _sources(node, result)


def compile_explained(
    text: str,
    *,
    now: datetime | None = None,
    nesting: Nesting = "balanced",
    analyze: bool = True,
    endpoint: str = DEFAULT_ENDPOINT,
) -> tuple[FilterNode, list[Condition], list[Problem]]:
    """`compile` and `compile_with_warnings` in one reading of the text: the JSON, the
    condition each of its leaves was made from (in the order of the leaves, left first), and
    the warnings.

    Example:
        >>> result, leaves, warnings = compile_explained("cost > 1 and cost > 2")
        >>> [c.op for c in leaves], [p.code for p in warnings]
        (['gt', 'gt'], ['redundant'])
    """
    node, result, warnings = _read(text, now, nesting, analyze, endpoint)
    return result, list(conditions(node)), warnings


def _read(
    text: str, now: datetime | None, nesting: Nesting, analyze: bool, endpoint: str
) -> tuple[Filter, JSON, list[Problem]]:
    """The one reading of the text behind `compile_with_warnings` and `compile_explained`:
    its validated form, its JSON, and its warnings (the analysis's too, unless `analyze` is
    False)."""
    now = _checked(text, "compile", now, nesting)
    checked_endpoint(endpoint)
    node, warnings = lower_with_warnings(parse_tree(text), text, now=now, endpoint=endpoint)
    result = to_helicone(node, text, nesting)
    if analyze:
        from helicone_filter.backends.analysis import analysis_problems

        warnings += analysis_problems(node, text)
    return node, result, warnings


def _checked(
    text: Any,
    function: str,
    now: datetime | None,
    nesting: str,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> datetime:
    """The arguments of `function` checked (FilterTypeError, FilterArgumentError), and the
    moment relative times count back from."""
    checked_text(text, function)
    checked_limit(max_length, "max_length")
    checked_limit(max_depth, "max_depth")
    return checked_now(now, nesting)


def _sources(node: Filter, result: JSON) -> Sources:
    """Each leaf's path in `result`, the JSON of `node`, with the condition it was made from:
    the backend writes one leaf per condition, in order."""
    leaves = leaf_paths(result)
    return [(path, c) for (path, _), c in zip(leaves, conditions(node), strict=True)]


def compile_with_spans(
    text: str,
    *,
    now: datetime | None = None,
    nesting: Nesting = "balanced",
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
    endpoint: str = DEFAULT_ENDPOINT,
) -> tuple[FilterNode, list[LeafSpan]]:
    """`compile`, and a source map: for each leaf of the JSON, where in the text it came from.

    Each entry is `(path, start, end)`: the leaf's path from the root as "left"/"right" steps,
    and the offsets of the condition it came from (`text[start:end]`). A condition can give
    several leaves: `x in [1, 2]` gives two, each with the span of the whole condition.

    Example:
        >>> compile_with_spans("cost > 1 and cached")[1]
        [(('left',), 0, 8), (('right',), 13, 19)]
    """
    _checked(text, "compile_with_spans", now, nesting, max_length, max_depth)
    result, sources = compile_with_sources(
        text,
        now=now,
        nesting=nesting,
        max_length=max_length,
        max_depth=max_depth,
        endpoint=endpoint,
    )
    return result, [(path, c.start, c.end) for path, c in sources]


def check_text(
    text: str,
    *,
    now: datetime | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
    analyze: bool = True,
    endpoint: str = DEFAULT_ENDPOINT,
) -> list[Problem]:
    """Every problem with filter text: its errors, or, when it compiles, its warnings.

    Warnings say what Helicone will do unexpectedly with the compiled filter (`contains` with
    wildcards, "null" under an operator that pastes it as SQL null, a timestamp's milliseconds
    that it drops...) and, unless `analyze` is False, what the analysis finds (analysis.py:
    conditions that never match together, always match, or say something twice). Each
    problem has its span in the text. Never raises for the filter's text (FilterArgumentError,
    FilterTypeError for the other arguments: an unknown endpoint, a naive `now`).

    Example:
        >>> [p.code for p in check_text('model contains "gpt_4"')]
        ['contains-wildcard']
    """
    return text_problems(text, now, max_length, max_depth, analyze, endpoint)[0]


def text_problems(
    text: str,
    now: datetime | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
    analyze: bool = True,
    endpoint: str = DEFAULT_ENDPOINT,
) -> tuple[list[Problem], bool]:
    """`check_text`'s problems, and whether they are syntax errors (which hide the rest)."""
    now = _checked(text, "check_text", now, "balanced", max_length, max_depth)
    checked_endpoint(endpoint)
    try:
        root = parse_tree(text, max_length=max_length, max_depth=max_depth)
    except FilterSyntaxError as e:
        return e.problems, True
    try:
        node, warnings = lower_with_warnings(root, text, now=now, endpoint=endpoint)
        check_depth(node, text)
    except FilterValidationError as e:
        return e.problems, False
    if analyze:
        from helicone_filter.backends.analysis import analysis_problems

        warnings += analysis_problems(node, text)
    return warnings, False


def parse(
    text: str, *, max_length: int = DEFAULT_MAX_LENGTH, max_depth: int = DEFAULT_MAX_DEPTH
) -> Node:
    """Parse filter text into its AST, each node with its source span; names and values are
    not checked (`compile` and `check_text` do that).

    Args:
        text: the filter, e.g. `user_cost > 5 and model = "gpt-4o"`.
        max_length: the longest text accepted, in characters.
        max_depth: the deepest nesting of parentheses and `not` accepted.

    Returns:
        The root node; an empty or blank filter is an `All` spanning the whole text.

    Raises:
        FilterSyntaxError: the text does not follow the grammar or passes a limit.
        FilterTypeError: an argument of the wrong type (`text` not a str).

    Example:
        >>> parse("cached").op
        '='
    """
    checked_text(text, "parse")
    checked_limit(max_length, "max_length")
    checked_limit(max_depth, "max_depth")
    return parse_tree(text, max_length=max_length, max_depth=max_depth)


def build_chain(operands: list[JSON], op: str, nesting: Nesting = "balanced") -> JSON:
    """Join two or more FilterNodes (as `compile` returns them) with `op`, "and" or "or", in
    the canonical shape; the nodes are not checked (`check` does that).

    Raises:
        FilterTypeError: `operands` is not a list of two or more nodes.
        FilterArgumentError: `op` is not "and" or "or", or an unknown nesting.

    Example:
        >>> build_chain(["a", "b", "c"], "and")["right"]
        {'left': 'b', 'operator': 'and', 'right': 'c'}
    """
    checked_now(None, nesting)
    if not isinstance(operands, (list, tuple)) or len(operands) < 2:
        shown = type(operands).__name__ if not isinstance(operands, (list, tuple)) else "fewer"
        raise FilterTypeError.because(
            f"build_chain joins a list of two or more FilterNodes, not {shown}",
            'e.g. build_chain([compile("cached"), compile("cost > 1")], "and")',
        )
    if op not in ("and", "or"):
        raise FilterArgumentError.because(
            f"op must be 'and' or 'or', not {op!r}"[:200], 'write "and" or "or"'
        )
    return join_nodes(list(operands), op, nesting)
