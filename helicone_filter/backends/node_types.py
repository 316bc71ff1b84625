"""The types of the FilterNode the JSON writer (`helicone_json.py`) makes, for those who
annotate with them: `FilterNode` ("all", a `FilterLeaf` or a `FilterBranch`), which `compile`
returns. Made only when asked for (a type checker, or `helicone_filter.FilterNode` on first
use), so that compiling does not build them.

Example:
    >>> import helicone_filter
    >>> node: FilterNode = helicone_filter.compile("cost > 1 and cached")
    >>> node["operator"]
    'and'
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, TypedDict


# A leaf names one table, then its column, then its operator and value
# ({"users_view": {"user_cost": {"gt": 5}}}), or for a map column its key between.
class FilterLeaf(TypedDict, total=False):
    users_view: dict[str, Any]
    request_response_rmt: dict[str, Any]
    sessions_request_response_rmt: dict[str, Any]


class FilterBranch(TypedDict):
    """Two FilterNodes joined by "and" or "or"."""

    left: FilterNode
    operator: Literal["and", "or"]
    right: FilterNode


# What `compile` returns: "all", a leaf or a branch.
FilterNode: TypeAlias = Literal["all"] | FilterLeaf | FilterBranch

__all__ = ["FilterBranch", "FilterLeaf", "FilterNode"]
