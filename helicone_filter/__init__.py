"""Compile human-readable filter text into Helicone's filter JSON, with errors that point.

>>> import helicone_filter
>>> helicone_filter.compile("user_cost > 5")
{'users_view': {'user_cost': {'gt': 5}}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from .compiler import check_text, compile, compile_with_spans  # noqa: A004 - the API's verb
from .errors import FilterError, FilterSyntaxError, FilterValidationError, Problem, RowError
from .helicone_json import build_chain
from .nodes import All, And, Comparison, FieldRef, Group, Node, Not, Or, Value
from .parser import parse

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
    "RowError",
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
    "simplify",
    "to_clickhouse",
    "to_text",
    "validate",
]


if TYPE_CHECKING:
    from .analysis import simplify
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
    "simplify": "analysis",
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
