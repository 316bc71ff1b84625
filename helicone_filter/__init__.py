"""Compile human-readable filter text into Helicone's filter JSON, with errors that point.

>>> import helicone_filter
>>> helicone_filter.compile("user_cost > 5")
{'users_view': {'user_cost': {'gt': 5}}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from helicone_filter.api import check_text, compile, compile_with_spans  # noqa: A004 - the API's verb
from helicone_filter.backends.helicone_json import build_chain
from helicone_filter.errors import (
    FilterError,
    FilterSyntaxError,
    FilterValidationError,
    Problem,
    RowError,
)
from helicone_filter.frontends.parser import parse
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

__version__ = "0.2.0"

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
    "LocalTable",
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
    "count_body",
    "diagnose",
    "json_schema",
    "matches",
    "normalize",
    "parse",
    "query_body",
    "simplify",
    "to_clickhouse",
    "to_text",
    "validate",
]


if TYPE_CHECKING:
    from helicone_filter.api.diagnosis import diagnose
    from helicone_filter.api.filter_nodes import check, normalize, validate
    from helicone_filter.api.local_table import LocalTable
    from helicone_filter.api.outputs import (
        count_body,
        matches,
        query_body,
        simplify,
        to_clickhouse,
        to_text,
    )
    from helicone_filter.diagnostics import Diagnostic
    from helicone_filter.frontends.completion import Completion, complete

# The JSON side and the other backends are imported on first use, so that compiling (and a
# one-shot command line call) loads only the compiler.
_LAZY = {
    "complete": "frontends.completion",
    "Completion": "frontends.completion",
    "diagnose": "api.diagnosis",
    "Diagnostic": "diagnostics",
    "check": "api.filter_nodes",
    "normalize": "api.filter_nodes",
    "validate": "api.filter_nodes",
    "LocalTable": "api.local_table",
    "count_body": "api.outputs",
    "matches": "api.outputs",
    "query_body": "api.outputs",
    "simplify": "api.outputs",
    "to_clickhouse": "api.outputs",
    "to_text": "api.outputs",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'helicone_filter' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def json_schema(
    which: Literal["query", "filter"] = "query", *, endpoint: str = "user-metrics"
) -> dict[str, Any]:
    """The JSON Schema of the request body of an endpoint of Helicone (POST
    /v1/user/metrics/query by default), or of its FilterNode.

    Args:
        which: "query" for the body (`UserMetricsQueryParams`, `RequestQueryParams`),
            "filter" for the FilterNode union (`UserFilterNode`, `RequestFilterNode`).
        endpoint: "user-metrics" or "requests" (ValueError for another).

    Example:
        >>> json_schema("filter")["oneOf"][2]
        {'const': 'all', 'type': 'string'}
    """
    # pydantic only when asked for
    from helicone_filter.frontends.models import json_schema as schema

    return schema(which, endpoint=endpoint)
