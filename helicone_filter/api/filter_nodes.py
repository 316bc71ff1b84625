"""FilterNode JSON from elsewhere: `check` (every problem, with the analysis's warnings),
`validate` and `normalize` (the canonical shape). The checker reads the JSON once; the
analysis and the JSON writer take its validated form.
"""

from __future__ import annotations

from typing import Any

from helicone_filter.api.reading import checked_endpoint, checked_now
from helicone_filter.backends.analysis import analysis_problems
from helicone_filter.backends.helicone_json import JSON, Nesting, to_json, too_deep
from helicone_filter.errors import FilterValidationError, Problem
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT
from helicone_filter.frontends.checker import ROOT, check_json, normalized_ir


def check(obj: Any, *, analyze: bool = True, endpoint: str = DEFAULT_ENDPOINT) -> list[Problem]:
    """Every problem with a FilterNode from elsewhere, in document order.

    Args:
        obj: any JSON value (as `json.loads` returns it).
        analyze: when the filter has no error, add the analysis's warnings (analysis.py:
            conditions that never match together, always match, or say something twice).
        endpoint: the endpoint of Helicone the filter is for: "user-metrics" (its
            UserFilterNode) or "requests" (RequestFilterNode).

    Returns:
        The problems, each with a `severity` ("error" or "warning"), a stable `code`, a
        message, a hint and a JSON `path` such as `$.left.users_view.user_cost.gt`. Offsets
        are 0 and line and column None: JSON problems have a path instead. A string other
        than "all" is no FilterNode: its problem's hint names `check_text`, which checks
        filter text. Never raises for a filter (FilterArgumentError for an unknown endpoint).

    Example:
        >>> [(p.severity, p.code) for p in check({"users_view": {"user_cost": {"gt": "5"}}})]
        [('warning', 'converted-value')]
    """
    node, problems = check_json(obj, checked_endpoint(endpoint))
    if isinstance(obj, str) and problems and problems[0].code == "not-a-filter":
        problems[0] = problems[0].replace(hint=_text_hint(obj))
    if analyze and node is not None and not any(p.severity == "error" for p in problems):
        problems += analysis_problems(node)
    return problems


def _text_hint(text: str) -> str:
    """The hint for a string given where FilterNode JSON is taken: filter text goes to
    `check_text`, JSON text is loaded first."""
    from helicone_filter.api.reading import is_json_text

    if is_json_text(text):
        return "check takes FilterNode JSON loaded, not JSON text: check(json.loads(text))"
    return (
        'check takes FilterNode JSON (a string only as "all"); for filter text use '
        "check_text(text), as the command line's check does"
    )


def validate(obj: Any, *, endpoint: str = DEFAULT_ENDPOINT) -> Any:
    """`obj` itself when `check` finds no error (warnings are fine).

    Raises:
        FilterValidationError: with every problem, warnings included.

    Example:
        >>> validate("all")
        'all'
    """
    # its warnings only matter beside an error
    problems = check(obj, analyze=False, endpoint=endpoint)
    if any(p.severity == "error" for p in problems):
        raise FilterValidationError(problems)
    return obj


def normalize(obj: Any, *, nesting: Nesting = "balanced", endpoint: str = DEFAULT_ENDPOINT) -> JSON:
    """The canonical form of a valid FilterNode: the shape the compiler gives its text.

    Leaves with several tables, columns, keys or operators become and-chains of one condition
    each (what their author meant; Helicone itself keeps only the first); chains are flattened
    and rebuilt balanced (or right-nested), so a tree too deep for Helicone becomes one it
    runs; `all` and `{}` leave and-chains and swallow or-chains. Each value becomes the one
    Helicone runs with where that differs from what is written (`check` warns): strings its
    validator converts (`"5"` to 5, `"TRUE"` to true), timestamps in the form
    `YYYY-MM-DDTHH:MM:SS.sssZ`, integers past 2^53 as JavaScript rounds them, and a whole
    bound past the 32-bit integer Helicone binds as the one it wraps to.

    Raises:
        FilterValidationError: `obj` has errors other than leaves with several conditions or
            a tree too deep for Helicone (or the right-nested result would be too deep).

    Example:
        >>> normalize({"users_view": {"user_cost": {"gt": 5, "lt": 10}}})["operator"]
        'and'
    """
    checked_now(None, nesting)
    node = normalized_ir(obj, endpoint=checked_endpoint(endpoint))
    result = to_json(node, nesting)
    limit = too_deep(node, result, nesting)  # right-nested, or and/or alternating deeply
    if limit is not None:
        problem = Problem(
            limit.code, limit.message, 0, 0, None, None, limit.hint, "error", str(ROOT)
        )
        raise FilterValidationError([problem])
    return result
