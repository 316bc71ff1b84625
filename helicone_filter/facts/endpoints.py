"""The endpoints of Helicone that the language writes filters for, as data: one row each.

A row says what the rest of the package reads of an endpoint: its paths, the leaf tables the
language writes for it, the tables Helicone's schema takes (or a neighbour's schema takes) that
its query cannot run or drops without a word, and what Helicone does with each, whether its
query refuses `or` across tables (the user-metrics query's HAVING), and the name of its filter
in Helicone's OpenAPI document. `facts/schema.py` makes each endpoint's fields from its tables;
the front ends read the row to know which names exist and what to refuse; the backends read
the validated form alone. A new endpoint ("sessions") is a row here, its fields in
`facts/schema.py`, and whatever its SQL does that no family of `facts/columns.py` does yet.

The facts are Helicone's (docs/helicone.md, "The request endpoints"): its filter builder
(`buildFilterWithAuthClickHouse`, WHERE only on the request endpoints), its OpenAPI document
(`RequestFilterNode`, `UserFilterNode`) and what its server answered when they were run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

from helicone_filter.value_class import Record

EndpointName = Literal["user-metrics", "requests"]
"""The name of an endpoint, as the `endpoint` argument of every way in takes it."""
ENDPOINT_NAMES: Final[tuple[EndpointName, ...]] = get_args(EndpointName)
DEFAULT_ENDPOINT: Final[EndpointName] = "user-metrics"

USERS_VIEW: Final = "users_view"
REQUEST_RESPONSE_RMT: Final = "request_response_rmt"
SESSIONS_REQUEST_RESPONSE_RMT: Final = "sessions_request_response_rmt"

Answer = Literal["422", "empty page", "500", "dropped"]
"""What Helicone does with a condition on a refused table or column: refuse the body (HTTP
422), fail the query and answer an empty page (its SQL error swallowed), answer HTTP 500, or
drop the condition without a word (it reads as true)."""


class Refusal(Record):
    """A table or column Helicone takes on an endpoint (or a neighbour's, for a 422) but cannot
    run, or drops: what it does (`answer`), why, in the words of the error, and what to write
    instead."""

    answer: Answer
    why: str
    instead: str


class Endpoint(Record):
    """One endpoint of Helicone.

    Attributes:
        name: the name the `endpoint` argument takes.
        paths: its paths (POST), which all take the same filter.
        tables: the leaf tables the language writes for it, in the order of its field table.
        refused_tables: tables its schema (or the other endpoint's) takes but whose conditions
            Helicone cannot run here, and what it does with them.
        dropped_columns: columns of one of `tables` that Helicone's schema takes and its SQL
            drops without a word (by table, then column).
        refuses_or_across_tables: its query splits the filter by table (a WHERE and a
            HAVING), so `or` between conditions on two tables cannot mean what it says.
        filter_schema: the name of its FilterNode in Helicone's OpenAPI document.
    """

    name: EndpointName
    paths: tuple[str, ...]
    tables: tuple[str, ...]
    refused_tables: Mapping[str, Refusal]
    dropped_columns: Mapping[str, Mapping[str, str]]
    refuses_or_across_tables: bool
    filter_schema: str


def _postgres(table: str, answer: Answer = "empty page") -> Refusal:
    """A table of Helicone's Postgres database, which its ClickHouse query names anyway."""
    what = {
        "empty page": "its query fails and Helicone answers an empty page, as if no request "
        "matched",
        "500": "Helicone throws FilterNotImplemented: HTTP 500",
    }[answer]
    return Refusal(
        answer,
        f"{table} is a table of Helicone's Postgres database, but these endpoints run "
        f"ClickHouse: {what}",
        "filter on request_response_rmt instead (see `helicone-filter fields`)",
    )


# The keys of sessions_request_response_rmt that Helicone's WHERE does not map: the condition
# is dropped (it reads as true). What to write instead, by key.
_SESSION_DROPPED: Final[Mapping[str, str]] = {
    "session_session_id": 'filter on properties["Helicone-Session-Id"] instead',
    "session_session_name": 'filter on properties["Helicone-Session-Name"] instead',
    "session_total_cost": "filter on each request's cost instead",
    "session_total_tokens": "filter on each request's prompt_tokens and completion_tokens instead",
    "session_prompt_tokens": "filter on each request's prompt_tokens instead",
    "session_completion_tokens": "filter on each request's completion_tokens instead",
    "session_total_requests": "no request field counts a session's requests: remove it",
    "session_created_at": "filter on request_created_at instead",
    "session_latest_request_created_at": "filter on request_created_at instead",
}

ENDPOINTS: Final[Mapping[EndpointName, Endpoint]] = {
    "user-metrics": Endpoint(
        "user-metrics",
        ("/v1/user/metrics/query",),
        (USERS_VIEW, REQUEST_RESPONSE_RMT),
        {},
        {},
        True,
        "UserFilterNode",
    ),
    "requests": Endpoint(
        "requests",
        ("/v1/request/query-clickhouse", "/v1/request/count/query"),
        (REQUEST_RESPONSE_RMT, SESSIONS_REQUEST_RESPONSE_RMT),
        {
            USERS_VIEW: Refusal(
                "422",
                "users_view is not in the request endpoints' filter: Helicone answers 422",
                'filter users with the user-metrics endpoint (endpoint="user-metrics", '
                "--endpoint user-metrics)",
            ),
            "request": _postgres("request"),
            "response": _postgres("response"),
            "feedback": _postgres("feedback"),
            "properties": _postgres("properties"),
            "values": _postgres("values", "500"),
        },
        {SESSIONS_REQUEST_RESPONSE_RMT: _SESSION_DROPPED},
        False,
        "RequestFilterNode",
    ),
}
"""Every endpoint by its name."""


def endpoint(name: str) -> Endpoint:
    """The endpoint named `name`.

    Raises:
        ValueError: no endpoint has that name (the message names the known ones, and the one
            meant when it is close).

    Example:
        >>> endpoint("requests").paths[0]
        '/v1/request/query-clickhouse'
    """
    for row in ENDPOINTS.values():
        if row.name == name:
            return row
    from helicone_filter.errors import closest  # only when a name is wrong

    known = " and ".join(repr(n) for n in ENDPOINTS)
    near = closest(name, ENDPOINTS) if isinstance(name, str) else []
    mean = f"; did you mean {near[0]!r}?" if near else ""
    raise ValueError(f"unknown endpoint {name!r}: the endpoints are {known}{mean}")


__all__ = [
    "DEFAULT_ENDPOINT",
    "ENDPOINTS",
    "ENDPOINT_NAMES",
    "REQUEST_RESPONSE_RMT",
    "SESSIONS_REQUEST_RESPONSE_RMT",
    "USERS_VIEW",
    "Answer",
    "Endpoint",
    "EndpointName",
    "Refusal",
    "endpoint",
]
