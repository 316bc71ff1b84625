"""A local stand-in for Helicone's request endpoints, over Helicone's own table in chdb.

`HeliconeRequests` answers POST /v1/request/query-clickhouse and POST /v1/request/count/query
as Helicone's API server does (the facts: `HELICONE-REQUESTS.md`, the spec page of issue 23,
settled against Helicone's request store, request manager and controller), and serves the
presigned body URLs it hands out. Tests serve its `app` with conftest's `serving`.

- The data: `request_response_rmt` as Helicone's migrations make it (the columns of
  helicone_table.py plus those the request endpoints select), a ReplacingMergeTree on
  `updated_at` whose merges are stopped, so that two stored versions of a request stay two
  rows until a test calls `merge()`; and Helicone's `tags` table, for `session_tag`.
- The body: tsoa's checks (422 for an excess property, a missing `filter`, a value of the wrong
  type, a leaf of a table the endpoint does not take), its coercions (`"5"` is 5), then the
  request manager's defaults (offset 0, limit 10, `created_at desc`), `invalid limit` (500)
  outside 0..1000, `isScored` as its `scores_column` condition, the key's organisation ANDed.
- The SQL: Helicone's two queries (`created_at` sorts through `top_requests` and the +/-5
  minute window; any other sort on raw rows), the `now() + 5 minutes` bound, and then what its
  JavaScript does: one row per request (the newest `updated_at`), re-sorted by creation time
  on the `created_at` path, models resolved, Azure providers patched, bodies parsed or signed.
  A failing query is swallowed: 201 `{"data": [], "error": null}`, like the end of the data.
- Ties: Helicone orders by `request_created_at` alone, so ClickHouse returns requests of the
  same millisecond in whatever order its threads read them. The stand-in makes that order
  really vary, by breaking ties with a hash salted afresh for every query (`stable_ties`
  turns it off).
- The answer: 201 with Helicone's fields, 64-bit integers quoted as ClickHouse 24.3 writes
  them (`quote_64bit = False` for numbers, as newer ClickHouse writes them).
- Count: 200 `{"data": 0, "error": null}` whatever the filter (Helicone reads a `count` column
  that its query names `COUNT()`); 500 with ClickHouse's message when the query fails.
- Bodies: `signed_body_url` points at the stand-in's own `/s3/...`, signed and valid for a
  day; a GET without the API key returns `{"request": ..., "response": ...}`, S3's 404 for a
  missing object, 403 once expired or when the signature is wrong, and 400 when the caller
  also sends an `Authorization` header (S3 refuses two ways of signing at once).

Faults on demand, through the stand-in's attributes or special keys (as fake_helicone.py):
`rate_limit` (requests per organisation per 5-minute window; 429 with `Retry-After` and the
`RateLimit-*` headers), `fail_next` / `FAILING_KEY` (Helicone's 500), `drop_next` /
`DROPPING_KEY` (the connection closed in the middle of the answer), `delay` / `SLOW_KEY` (a
slow query; 408 "Request timed out" once it passes `timeout`, Helicone's 10 s by default),
and `advance(seconds)` to move the clock that URLs expire and windows reset by.

`generate_requests` makes realistic data: N requests over D days, some stored twice, some in the
same millisecond, some scored, some cached, some in sessions, with bodies.

Which SQL a filter becomes: the library's own `to_clickhouse(..., target="helicone-where")` for
`request_response_rmt` leaves; the leaves of the other tables the endpoint takes are written
here as Helicone writes them (see `_other_leaf`): the library refuses those Helicone fails on
or drops (a Postgres table, a dropped session key), where the stand-in must do what Helicone
does with them (an empty page, a 500, a condition read as true).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from chdb import session
from helicone_table import COLUMNS as TABLE_COLUMNS
from helicone_table import ZERO
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import helicone_filter
from helicone_filter.backends.clickhouse import param_text
from helicone_filter.errors import FilterError
from helicone_filter.facts.schema import FIELDS

QUERY_PATH = "/v1/request/query-clickhouse"
COUNT_PATH = "/v1/request/count/query"
BODY_PREFIX = "/s3/"

ORG = "7d5e3c1a-0b9f-4e2d-8a61-3f4c2b1d0e9a"
OTHER_ORG = "c2a1f0e9-4d3b-4c5a-9e8f-7a6b5c4d3e2f"


@dataclass(frozen=True)
class Account:
    """What a key stands for: its organisation, its tier (the rate limit) and its rights."""

    org: str
    tier: str = "free"
    write: bool = True


API_KEY = "sk-helicone-requests-test"
OTHER_ORG_KEY = "sk-helicone-requests-other-org"
READ_ONLY_KEY = "sk-helicone-requests-read-only"
FAILING_KEY = "sk-helicone-requests-failing"
DROPPING_KEY = "sk-helicone-requests-dropping"
SLOW_KEY = "sk-helicone-requests-slow"
ACCOUNTS: dict[str, Account] = {
    API_KEY: Account(ORG),
    OTHER_ORG_KEY: Account(OTHER_ORG, tier="pro"),
    READ_ONLY_KEY: Account(ORG, write=False),
    FAILING_KEY: Account(ORG),
    DROPPING_KEY: Account(ORG),
    SLOW_KEY: Account(ORG),
}

# Helicone's limits per organisation per window, by tier (500 with no tier); the stand-in
# applies `rate_limit` instead, when a test sets one (Helicone limits only with Redis).
TIER_LIMITS = {"free": 1_000, "pro": 10_000, "enterprise": 100_000, None: 500}
RATE_WINDOW_SECONDS = 300
ROUTE_TIMEOUT_SECONDS = 10.0
BODY_URL_SECONDS = 24 * 60 * 60

PLACEHOLDER_BODY = (
    '{"helicone_message": "fetching body from signed_url... contact engineering@helicone.ai '
    'for more information"}'
)
INTERNAL_ERROR = {"message": "Internal Server Error", "details": "Internal Server Error"}

# The columns the request endpoints read beyond those helicone_table.py declares, with
# their types in Helicone's migrations and the value of a row that does not give them.
EXTRA_COLUMNS: dict[str, tuple[str, Any]] = {
    "response_id": ("Nullable(UUID)", None),
    "reasoning_tokens": ("Int64", 0),
    "ai_gateway_body_mapping": ("String", ""),
    "storage_location": ("LowCardinality(String)", "s3"),
    "size_bytes": ("UInt32", 0),
    "updated_at": ("DateTime64(3, 'UTC')", None),
}
COLUMNS: dict[str, tuple[str, Any]] = {**TABLE_COLUMNS, **EXTRA_COLUMNS}
ORDER_KEY = "organization_id, provider, model, user_id, request_created_at, request_id"

# ---------------------------------------------------------------------------------------
# The body: tsoa's checks and coercions.

SORT_KEYS = {
    "random", "created_at", "cache_created_at", "latency", "last_active", "total_tokens",
    "completion_tokens", "prompt_tokens", "user_id", "body_model", "is_cached",
    "request_prompt", "response_text", "properties", "values", "cost", "time_to_first_token",
}  # fmt: skip
TABLES = {
    "feedback", "request", "response", "properties", "values", "request_response_rmt",
    "sessions_request_response_rmt",
}  # fmt: skip
NUMBERS = ("offset", "limit")
BOOLEANS = ("isCached", "includeInputs", "isPartOfExperiment", "isScored")
BODY_KEYS = {"filter", "sort", *NUMBERS, *BOOLEANS}
DIRECTIONS = ("asc", "desc")
RMT_FIELDS = {f.name for f in FIELDS.values() if f.table == "request_response_rmt"}


class Invalid(Exception):
    """The body fails tsoa's validation: its details, by path."""

    def __init__(self, details: dict[str, dict[str, Any]]) -> None:
        super().__init__(details)
        self.details = details


class Thrown(Exception):
    """An error Helicone's code throws: Express answers 500 Internal Server Error."""


def _excess(path: str, value: dict[str, Any], allowed: set[str]) -> None:
    extra = [k for k in value if k not in allowed]
    if extra:
        message = f'"{",".join(extra)}" is an excess property and therefore is not allowed'
        raise Invalid({path: {"message": message, "value": {k: value[k] for k in extra}}})


def _number(path: str, value: Any) -> int | float:
    if isinstance(value, str):  # bodyCoercion
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid({path: {"message": "invalid float number", "value": value}})
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _boolean(path: str, value: Any) -> bool:
    coerced = {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value
    if not isinstance(coerced, bool):
        raise Invalid({path: {"message": "invalid boolean value", "value": value}})
    return coerced


def _check_direction(path: str, value: Any) -> None:
    if value not in DIRECTIONS:
        message = "should be one of the following; ['asc','desc']"
        raise Invalid({path: {"message": message, "value": value}})


def _check_sort(path: str, sort: Any) -> None:
    if not isinstance(sort, dict):
        raise Invalid({path: {"message": "invalid object", "value": sort}})
    _excess(path, sort, SORT_KEYS)
    for key, value in sort.items():
        if key == "random":
            if value is not True:
                raise Invalid({f"{path}.random": {"message": "invalid enum value", "value": value}})
        elif key in ("properties", "values"):
            if not isinstance(value, dict):
                raise Invalid({f"{path}.{key}": {"message": "invalid object", "value": value}})
            for name, direction in value.items():
                _check_direction(f"{path}.{key}.{name}", direction)
        else:
            _check_direction(f"{path}.{key}", value)


def _union_failure(path: str, node: Any) -> Invalid:
    message = "Could not match the union against any of the items."
    return Invalid({path: {"message": message, "value": node}})


def _check_filter(path: str, node: Any) -> None:
    """A FilterNode as tsoa checks RequestFilterNode: a branch, "all", or a leaf of the
    endpoint's tables (in request_response_rmt, of its fields)."""
    if node == "all":
        return
    if not isinstance(node, dict):
        raise _union_failure(path, node)
    if "left" in node or "operator" in node or "right" in node:
        if set(node) != {"left", "operator", "right"} or node["operator"] not in ("and", "or"):
            raise _union_failure(path, node)
        _check_filter(f"{path}.left", node["left"])
        _check_filter(f"{path}.right", node["right"])
        return
    _excess(path, node, TABLES)
    for table, columns in node.items():
        if not isinstance(columns, dict):
            raise _union_failure(f"{path}.{table}", columns)
        if table == "request_response_rmt":
            _excess(f"{path}.{table}", columns, RMT_FIELDS)


def read_body(body: Any) -> dict[str, Any]:
    """The body as the request manager receives it: checked and coerced as tsoa does, with the
    manager's defaults; raises Invalid."""
    if not isinstance(body, dict):
        raise Invalid({"requestBody": {"message": "invalid object", "value": body}})
    _excess("requestBody", body, BODY_KEYS)
    if "filter" not in body:
        raise Invalid({"requestBody.filter": {"message": "'filter' is required"}})
    _check_filter("requestBody.filter", body["filter"])
    out = dict(body)
    for name in NUMBERS:
        if name in body:
            out[name] = _number(f"requestBody.{name}", body[name])
    for name in BOOLEANS:
        if name in body:
            out[name] = _boolean(f"requestBody.{name}", body[name])
    if "sort" in body:
        _check_sort("requestBody.sort", body["sort"])
    return {"offset": 0, "limit": 10, "sort": {"created_at": "desc"}, **out}


# ---------------------------------------------------------------------------------------
# The filter as SQL.


def _rmt_leaf(columns: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A request_response_rmt leaf by the library; one it refuses (e.g. a score compared with
    text, which tsoa lets through) as SQL that fails, as Helicone's fails on it."""
    try:
        return helicone_filter.to_clickhouse(
            {"request_response_rmt": columns}, target="helicone-where"
        )
    except FilterError as e:
        return "throwIf(true, {p0:String}) = 0", {"p0": str(e).splitlines()[0]}


SESSION_OPERATORS = {
    "equals": "=", "not-equals": "!=", "like": "LIKE", "ilike": "ILIKE", "contains": "ILIKE",
    "not-contains": "NOT ILIKE", "gte": ">=", "gt": ">", "lt": "<", "lte": "<=",
}  # fmt: skip


def _other_leaf(table: str, columns: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A leaf of a table other than request_response_rmt, as Helicone's ClickHouse filter
    builder writes it: `session_tag` through the tags table (the value compared raw, `contains`
    without `%`), the other session keys dropped, the Postgres tables named as in Postgres (so
    ClickHouse fails on them), `values` thrown."""
    if table == "values":
        raise Thrown("This filter is not implemented")
    if table == "sessions_request_response_rmt":
        condition = columns.get("session_tag")
        if not isinstance(condition, dict) or not condition:
            return "true", {}
        operator, value = next(iter(condition.items()))
        sql = (
            "properties['Helicone-Session-Id'] IN (SELECT entity_id FROM {db}.tags WHERE tag "
            f"{SESSION_OPERATORS.get(operator, '=')} {{p0:String}} AND entity_type = 'session')"
        )
        return sql, {"p0": str(value)}
    if not columns:
        return "true", {}
    column, condition = next(iter(columns.items()))
    value = next(iter(condition.values())) if isinstance(condition, dict) and condition else ""
    return f"{table}.{column} = {{p0:String}}", {"p0": json.dumps(value)}


def _leaf(node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pieces = [
        _rmt_leaf(columns) if table == "request_response_rmt" else _other_leaf(table, columns)
        for table, columns in node.items()
    ]
    return _joined(pieces, "AND") if pieces else ("true", {})


def _joined(pieces: list[tuple[str, dict[str, Any]]], operator: str) -> tuple[str, dict[str, Any]]:
    """Pieces of SQL joined by `operator`, each one's parameters renamed apart."""
    texts, params = [], {}
    for i, (sql, values) in enumerate(pieces):
        texts.append(re.sub(r"\{(\w+):", rf"{{l{i}_\1:", sql))
        params.update({f"l{i}_{name}": value for name, value in values.items()})
    return "(" + f" {operator} ".join(texts) + ")", params


def _filter_sql(node: Any) -> tuple[str, dict[str, Any]]:
    """A RequestFilterNode as a ClickHouse WHERE expression and its parameters."""
    if node == "all":
        return "true", {}
    if "left" in node:
        pieces = [_filter_sql(node["left"]), _filter_sql(node["right"])]
        return _joined(pieces, node["operator"])
    return _leaf(node)


# How a RequestFilterNode becomes SQL here (see the module's docstring for why it is not the
# library's `to_clickhouse(..., endpoint="requests")` alone).
FILTER_SQL: Callable[[Any], tuple[str, dict[str, Any]]] = _filter_sql


def _score_filter(node: Any, is_scored: bool | None) -> Any:
    if is_scored is None:
        return node
    operator = "not-equals" if is_scored else "equals"
    right = {"request_response_rmt": {"scores_column": {operator: "{}"}}}
    return {"left": node, "operator": "and", "right": right}


# ---------------------------------------------------------------------------------------
# Helicone's queries.

SELECTED = """response_id,
  if(notEmpty(response_body), response_body, {placeholder:String}) AS response_body,
  response_created_at, toInt32(status) AS response_status, request_id,
  if(notEmpty(request_body), request_body, {placeholder:String}) AS request_body,
  request_created_at, user_id AS request_user_id, properties AS request_properties, provider,
  toInt32(latency) AS delay_ms, model AS request_model, ai_gateway_body_mapping,
  time_to_first_token, (prompt_tokens + completion_tokens + reasoning_tokens) AS total_tokens,
  completion_tokens, reasoning_tokens, prompt_tokens, prompt_cache_read_tokens,
  prompt_cache_write_tokens, country_code, scores, properties, assets AS asset_ids, target_url,
  cache_reference_id, request_referrer, cache_enabled, cost / 1000000000 AS cost, prompt_id,
  prompt_version, updated_at, storage_location"""

CREATED_AT_QUERY = """WITH top_requests AS (
  SELECT request_id, request_created_at FROM {db}.request_response_rmt AS request_response_rmt
  WHERE (<where>) AND request_created_at <= now() + INTERVAL 5 MINUTE
  ORDER BY request_created_at <direction><ties> LIMIT <limit> OFFSET <offset>)
SELECT <selected> FROM {db}.request_response_rmt AS request_response_rmt
WHERE (organization_id = {org:String}
  AND request_created_at >= (SELECT min(request_created_at) - INTERVAL 5 MINUTE FROM top_requests)
  AND request_created_at <= (SELECT max(request_created_at) + INTERVAL 5 MINUTE FROM top_requests)
  AND request_id IN (SELECT request_id FROM top_requests))
ORDER BY organization_id <direction>, toStartOfHour(request_created_at) <direction>,
  request_created_at <direction>"""

SORTED_QUERY = """SELECT <selected>, size_bytes
FROM {db}.request_response_rmt AS request_response_rmt
WHERE ((<where>) AND request_created_at <= now() + INTERVAL 5 MINUTE)
ORDER BY <order><ties> LIMIT <limit> OFFSET <offset>"""

COUNT_QUERY = (
    "SELECT COUNT(*) FROM {db}.request_response_rmt AS request_response_rmt WHERE (<where>)"
)

_CREATED = "request_response_rmt.request_created_at DESC"
# The order of each sort key on the raw-rows path, as Helicone's request sorts write it.
SORT_ORDERS: dict[str, str] = {
    "latency": "request_response_rmt.latency {d} NULLS LAST, " + _CREATED,
    "time_to_first_token": "request_response_rmt.time_to_first_token {d} NULLS LAST, " + _CREATED,
    "total_tokens": (
        "(request_response_rmt.prompt_tokens + request_response_rmt.completion_tokens) {d}, "
        + _CREATED
    ),
    "completion_tokens": "request_response_rmt.completion_tokens {d} NULLS LAST, " + _CREATED,
    "prompt_tokens": "request_response_rmt.prompt_tokens {d} NULLS LAST, " + _CREATED,
    "user_id": "request_response_rmt.user_id {d}, " + _CREATED,
    "body_model": "request_response_rmt.model {d}, " + _CREATED,
    "is_cached": "request_response_rmt.is_cached {d}, " + _CREATED,
    "request_prompt": (
        "JSONExtractString(request_response_rmt.request_body, 'prompt') {d}, " + _CREATED
    ),
    "response_text": (
        "JSONExtractString(request_response_rmt.response_body, 'choices', 0, 'text') {d}, "
        + _CREATED
    ),
    "cost": "cost {d} NULLS LAST, " + _CREATED,
}
SORT_PRECEDENCE = (
    "latency", "time_to_first_token", "total_tokens", "completion_tokens", "prompt_tokens",
    "user_id", "body_model", "is_cached", "request_prompt", "response_text", "cost",
    "properties",
)  # fmt: skip
PROPERTY_KEY = re.compile(r"^[a-zA-Z0-9_]+$")


def sort_order(sort: dict[str, Any]) -> str:
    """The ORDER BY of the raw-rows path for a sort (not `created_at`): the first key in
    Helicone's order of checking that is set; `request_created_at DESC` when none is."""
    if sort.get("random"):
        return "rand()"
    for key in SORT_PRECEDENCE:
        value = sort.get(key)
        if not value:
            continue
        if key != "properties":
            return SORT_ORDERS[key].format(d=value)
        for name, direction in value.items():
            if not PROPERTY_KEY.match(name):
                raise Thrown(f"Invalid property key: {name}")
            return f"request_response_rmt.properties['{name}'] {direction}, {_CREATED}"
    return _CREATED


def fill(template: str, **parts: str) -> str:
    """A query template with its `<name>` parts put in (SQL has braces of its own)."""
    for name, text in parts.items():
        template = template.replace(f"<{name}>", text)
    return template


def js_number(value: int | float) -> str:
    """A number as JavaScript writes it into the SQL text."""
    return str(int(value)) if float(value).is_integer() else repr(value)


# ---------------------------------------------------------------------------------------
# What Helicone's JavaScript does with the rows.

AZURE = re.compile(
    r"^(https?://)?([^.]*\.)?(openai\.azure\.com|azure-api\.net|cognitiveservices\.azure\.com"
    r"|services\.ai\.azure\.com)(/.*)?$"
)
MODEL_IN_PATH = (re.compile(r"/engines/([^/]+)"), re.compile(r"models/([^/:]+)"))


def iso_time(value: str | None) -> str | None:
    """ClickHouse's `YYYY-MM-DD hh:mm:ss.sss` as JavaScript's toISOString writes it."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def model_of(row: dict[str, Any]) -> str:
    """model_override ?? request_model ?? response_model ?? the model in the path ?? "unknown"
    (only request_model is selected, and it is never NULL)."""
    for candidate in (
        row.get("model_override"),
        row.get("request_model"),
        row.get("response_model"),
    ):
        if candidate is not None:
            return str(candidate)
    for pattern in MODEL_IN_PATH:
        match = pattern.search(row.get("target_url") or "")
        if match:
            return match.group(1)
    return "unknown"


def _parsed(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def newest_versions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per request id, the first seen unless a later one has a newer updated_at, in
    the order of first sight."""
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        old = seen.get(row["request_id"])
        if old is None or row["updated_at"] > old["updated_at"]:
            seen[row["request_id"]] = row
    return list(seen.values())


# ---------------------------------------------------------------------------------------
# Realistic data.

MODELS = (
    ("gpt-4o", "OPENAI", "https://api.openai.com/v1/chat/completions"),
    ("gpt-4o-mini", "OPENAI", "https://api.openai.com/v1/chat/completions"),
    ("claude-3-5-sonnet-20241022", "ANTHROPIC", "https://api.anthropic.com/v1/messages"),
    ("gpt-4", "OPENAI", "https://my-team.openai.azure.com/openai/deployments/gpt-4/chat"),
    ("", "OPENAI", "https://api.openai.com/v1/engines/davinci/completions"),
)
USERS = ("alice@example.com", "bob", "顧客-7", "", "carol")


@dataclass
class Dataset:
    """Requests as Helicone stores them: `rows` (native, one per stored version), the body
    objects by S3 key, and `tags` rows."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: list[dict[str, Any]] = field(default_factory=list)

    @property
    def request_ids(self) -> set[str]:
        return {r["request_id"] for r in self.rows}

    def ids(self, org: str = ORG, *, scored: bool | None = None) -> set[str]:
        """The requests of an organisation (by their newest version: scored or not)."""
        newest = {r["request_id"]: r for r in sorted(self.rows, key=lambda r: r["updated_at"])}
        return {
            i
            for i, r in newest.items()
            if r["organization_id"] == org and (scored is None or bool(r["scores"]) == scored)
        }


def body_key(org: str, request_id: str) -> str:
    return f"organizations/{org}/requests/{request_id}/request_response_body"


def _stored_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def generate_requests(
    n: int,
    days: float = 30,
    *,
    end: datetime | None = None,
    seed: int = 0,
    org: str = ORG,
    doubles: float = 0.03,
    same_ms: float = 0.02,
    scored: float = 0.1,
    cached: float = 0.05,
    sessions: float = 0.1,
) -> Dataset:
    """`n` requests over `days` days before `end` (a minute ago by default), in one organisation:
    `doubles` of them stored twice (a later version with a score added), `same_ms` in the
    millisecond of another, `scored` with scores, `cached` answered from the cache (their
    body is the original request's), `sessions` in a tagged session; most bodies in S3, some
    inline (`storage_location` "clickhouse"), a few not stored."""
    rng = random.Random(seed)
    end = end or datetime.now(UTC) - timedelta(minutes=1)
    span_ms = int(days * 86_400_000)
    data = Dataset()
    previous: list[tuple[str, datetime]] = []
    for i in range(n):
        request_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        created = end - timedelta(milliseconds=rng.randrange(span_ms))
        if previous and rng.random() < same_ms:
            created = previous[-1][1]
        model, provider, target = MODELS[i % len(MODELS)]
        prompt, completion = rng.randrange(5, 4000), rng.randrange(1, 2000)
        latency = rng.randrange(80, 30_000)
        properties = {"env": rng.choice(("prod", "dev", "staging"))}
        if rng.random() < sessions:
            session_id = f"session-{i % 50}"
            properties["Helicone-Session-Id"] = session_id
            data.tags.append(
                {"organization_id": org, "entity_type": "session", "entity_id": session_id,
                 "tag": rng.choice(("checkout", "support", "Onboarding"))}
            )  # fmt: skip
        cache_of = rng.choice(previous)[0] if previous and rng.random() < cached else None
        storage = rng.choices(("s3", "clickhouse", "not_stored_exceeded_free"), (90, 8, 2))[0]
        request_body = {"model": model, "messages": [{"role": "user", "content": f"ask {i}"}]}
        response_body = {"choices": [{"message": {"role": "assistant", "content": f"answer {i}"}}]}
        row = {
            **{name: default for name, (_, default) in COLUMNS.items()},
            "request_id": request_id,
            "organization_id": org,
            "request_created_at": _stored_time(created),
            "response_created_at": _stored_time(created + timedelta(milliseconds=latency)),
            "response_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "latency": latency,
            "time_to_first_token": rng.randrange(50, latency) if rng.random() < 0.5 else None,
            "status": rng.choices((200, 500, 429), (94, 4, 2))[0],
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "reasoning_tokens": rng.choice((0, 0, 0, rng.randrange(1, 500))),
            "cost": (prompt * 2_500 + completion * 10_000) * (0 if cache_of else 1),
            "model": model,
            "provider": provider,
            "target_url": target,
            "user_id": rng.choice(USERS),
            "country_code": rng.choice(("US", "FR", "JP", None)),
            "properties": properties,
            "scores": {"accuracy": rng.randrange(0, 100)} if rng.random() < scored else {},
            "cache_reference_id": cache_of or ZERO,
            "cache_enabled": cache_of is not None or rng.random() < 0.2,
            "storage_location": storage,
            "size_bytes": rng.randrange(200, 20_000),
            "updated_at": _stored_time(created + timedelta(milliseconds=latency + 5)),
        }
        if storage == "clickhouse":
            row["request_body"] = json.dumps(request_body)
            row["response_body"] = json.dumps(response_body)
        elif storage == "s3" and cache_of is None:
            data.bodies[body_key(org, request_id)] = {
                "request": request_body,
                "response": response_body,
            }
        data.rows.append(row)
        if rng.random() < doubles:
            later = created + timedelta(minutes=rng.randrange(1, 600))
            scores = {**row["scores"], "helicone-score-feedback": rng.choice((0, 1))}
            data.rows.append({**row, "scores": scores, "updated_at": _stored_time(later)})
        previous.append((request_id, created))
    return data


# ---------------------------------------------------------------------------------------
# The stand-in.

_numbers = itertools.count()


class HeliconeRequests:
    """Helicone's request endpoints over a database of their own in chdb; its attributes are
    the faults a test asks for, `app` the Starlette app to serve."""

    _session: Any = None
    _lock = threading.Lock()

    def __init__(self, data: Dataset | None = None) -> None:
        if HeliconeRequests._session is None:
            HeliconeRequests._session = session.Session()
        self.db = f"helicone_requests_{next(_numbers)}"
        self.quote_64bit = True
        self.stable_ties = False
        self.rate_limit: int | None = None
        self.fail_next = 0
        self.drop_next = 0
        self.delay = 0.0
        self.timeout = ROUTE_TIMEOUT_SECONDS
        self.skew = 0.0
        self.received: list[dict[str, Any]] = []
        self.swallowed: list[str] = []  # the errors of queries answered as an empty page
        self.body_requests: list[dict[str, Any]] = []
        self.bodies: dict[str, dict[str, Any]] = {}
        self._windows: dict[str, tuple[float, int]] = {}
        self._secret = uuid.uuid4().bytes
        self._create()
        if data is not None:
            self.add(data)
        self.app = Starlette(
            routes=[
                Route(QUERY_PATH, self._query, methods=["POST"]),
                Route(COUNT_PATH, self._count, methods=["POST"]),
                Route(BODY_PREFIX + "{key:path}", self._body, methods=["GET"]),
            ]
        )

    # -- the data

    def sql(self, text: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run SQL (`{db}` is this stand-in's database) and return its rows as JSON objects."""
        texts = {k: param_text(v) for k, v in (params or {}).items()}
        quoted = int(self.quote_64bit)
        if text.lstrip().startswith(("SELECT", "WITH")):
            text += f" SETTINGS output_format_json_quote_64bit_integers = {quoted}"
        with HeliconeRequests._lock:
            out = HeliconeRequests._session.query(
                text.replace("{db}", self.db), "JSONEachRow", params=texts
            )
        return [json.loads(line) for line in bytes(out.bytes()).decode().splitlines()]

    def _create(self) -> None:
        columns = ",\n".join(f"`{name}` {kind}" for name, (kind, _) in COLUMNS.items())
        self.sql("CREATE DATABASE {db}")
        self.sql(
            f"CREATE TABLE {{db}}.request_response_rmt ({columns}) "
            "ENGINE = ReplacingMergeTree(updated_at) PARTITION BY toYYYYMM(request_created_at) "
            f"ORDER BY ({ORDER_KEY})"
        )
        self.sql(
            "CREATE TABLE {db}.tags (organization_id UUID, entity_type String, entity_id String,"
            " tag String, created_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree() "
            "ORDER BY (organization_id, entity_type, entity_id, tag)"
        )
        self.sql("SYSTEM STOP MERGES {db}.request_response_rmt")

    def insert(self, rows: Iterable[dict[str, Any]], table: str = "request_response_rmt") -> None:
        """Store rows, as one part of the table (ClickHouse merges nothing until `merge`)."""
        lines = [json.dumps(r, ensure_ascii=False) for r in rows]
        for start in range(0, len(lines), 50_000):
            chunk = "\n".join(lines[start : start + 50_000])
            self.sql(f"INSERT INTO {{db}}.{table} FORMAT JSONEachRow\n{chunk}")

    def add(self, data: Dataset) -> None:
        """Store a dataset: each request's first version in one part, its later versions in
        another (so they stay apart), its tags and its body objects."""
        first: dict[str, dict[str, Any]] = {}
        later: list[dict[str, Any]] = []
        for row in data.rows:
            if row["request_id"] in first:
                later.append(row)
            else:
                first[row["request_id"]] = row
        self.insert(first.values())
        if later:
            self.insert(later)
        if data.tags:
            self.insert(data.tags, "tags")
        self.bodies.update(data.bodies)

    def merge(self) -> None:
        """Merge the stored versions of each request into one, as ClickHouse does in time."""
        self.sql("SYSTEM START MERGES {db}.request_response_rmt")
        self.sql("OPTIMIZE TABLE {db}.request_response_rmt FINAL")
        self.sql("SYSTEM STOP MERGES {db}.request_response_rmt")

    def drop(self) -> None:
        self.sql("DROP DATABASE IF EXISTS {db}")

    # -- the clock and body URLs

    def now(self) -> float:
        return time.time() + self.skew

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock (URL expiry, rate-limit windows) forward."""
        self.skew += seconds

    def _signature(self, key: str, date: str, expires: str) -> str:
        message = f"{key}\n{date}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, base: str, key: str) -> str:
        """A presigned-like GET URL of an object, valid for a day from now."""
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.now()))
        expires = str(BODY_URL_SECONDS)
        query = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"STANDIN/{date[:8]}/us-west-2/s3/aws4_request",
            "X-Amz-Date": date,
            "X-Amz-Expires": expires,
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": self._signature(key, date, expires),
        }
        return f"{base.rstrip('/')}{BODY_PREFIX}{key}?{urlencode(query)}"

    async def _body(self, request: Request) -> Response:
        key = request.path_params["key"]
        q = request.query_params
        self.body_requests.append({"key": key, "headers": dict(request.headers)})
        if "authorization" in request.headers:
            return _s3_error(400, "InvalidArgument", "Only one auth mechanism allowed")
        date, expires = q.get("X-Amz-Date", ""), q.get("X-Amz-Expires", "")
        expected = self._signature(key, date, expires)
        if not hmac.compare_digest(expected, q.get("X-Amz-Signature", "")):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated "
                             "does not match the signature you provided.")  # fmt: skip
        signed = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        if self.now() > signed + int(expires):
            return _s3_error(403, "AccessDenied", "Request has expired")
        if key not in self.bodies:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return JSONResponse(self.bodies[key])

    # -- the endpoints

    async def _guarded(
        self, request: Request, answer: Callable[[Account, dict[str, Any]], Any]
    ) -> Response:
        """Auth, rate limit, faults, body; then `answer(account, body)` in a worker thread."""
        header = request.headers.get("authorization")
        if header is None:
            return JSONResponse(
                {"error": "No authorization header", "trace": "isAuthenticated.error"}, 401
            )
        account = ACCOUNTS.get(header.replace("Bearer ", "", 1))
        if account is None:
            return JSONResponse(
                {"error": "No API key found", "trace": "isAuthenticated.error"}, 401
            )
        if not account.write:
            return JSONResponse({"trace": "isAuthenticated.error"}, 401)
        headers, limited = self._rate(account)
        if limited:
            return JSONResponse(
                {"error": "Too many requests, please try again later."}, 429, headers
            )
        key = header.replace("Bearer ", "", 1)
        if self.drop_next > 0 or key == DROPPING_KEY:
            self.drop_next = max(0, self.drop_next - 1)
            return _Dropped()
        if self.fail_next > 0 or key == FAILING_KEY:
            self.fail_next = max(0, self.fail_next - 1)
            return JSONResponse(INTERNAL_ERROR, 500, headers)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse(INTERNAL_ERROR, 500, headers)
        self.received.append({"headers": dict(request.headers), "body": body})
        delay = ROUTE_TIMEOUT_SECONDS * 2 if key == SLOW_KEY else self.delay
        if delay >= self.timeout:
            await asyncio.sleep(self.timeout)
            return Response("Request timed out", 408, headers, media_type="text/html")
        await asyncio.sleep(delay)
        try:
            status, payload = await run_in_threadpool(answer, account, read_body(body))
        except Invalid as e:
            return JSONResponse(
                {"message": "Validation Failed", "details": e.details}, 422, headers
            )
        except Thrown:
            return JSONResponse(INTERNAL_ERROR, 500, headers)
        return JSONResponse(payload, status, headers)

    def _rate(self, account: Account) -> tuple[dict[str, str], bool]:
        if self.rate_limit is None:
            return {}, False
        now = self.now()
        start, used = self._windows.get(account.org, (now, 0))
        if now >= start + RATE_WINDOW_SECONDS:
            start, used = now, 0
        used += 1
        self._windows[account.org] = (start, used)
        reset = max(0, int(start + RATE_WINDOW_SECONDS - now + 0.999))
        headers = {
            "RateLimit-Policy": f"{self.rate_limit};w={RATE_WINDOW_SECONDS}",
            "RateLimit-Limit": str(self.rate_limit),
            "RateLimit-Remaining": str(max(0, self.rate_limit - used)),
            "RateLimit-Reset": str(reset),
        }
        if used > self.rate_limit:
            return {**headers, "Retry-After": str(reset)}, True
        return headers, False

    async def _query(self, request: Request) -> Response:
        base = str(request.base_url)
        return await self._guarded(request, lambda a, b: self.requests(a.org, b, base))

    async def _count(self, request: Request) -> Response:
        return await self._guarded(request, lambda a, b: self.count(a.org, b))

    def _where(self, org: str, node: Any) -> tuple[str, dict[str, Any]]:
        sql, params = FILTER_SQL(node)
        params = {**params, "org": org, "placeholder": PLACEHOLDER_BODY}
        return f"organization_id = {{org:String}} AND ({sql})", params

    def requests(self, org: str, body: dict[str, Any], base: str) -> tuple[int, Any]:
        """query-clickhouse for a checked body: (HTTP status, answer)."""
        limit, offset, sort = body["limit"], body["offset"], body["sort"]
        if limit < 0 or limit > 1000:
            return 500, {"data": None, "error": "invalid limit"}
        where, params = self._where(org, _score_filter(body["filter"], body.get("isScored")))
        ties = ", request_id" if self.stable_ties else ", cityHash64(request_id, {salt:UInt64})"
        params["salt"] = random.getrandbits(63)
        by_created = sort.get("created_at") in DIRECTIONS
        template, order = (CREATED_AT_QUERY, "") if by_created else (SORTED_QUERY, sort_order(sort))
        direction = sort.get("created_at", "desc").upper()
        sql = fill(
            template, direction=direction, ties=ties, order=order, limit=js_number(limit),
            offset=js_number(offset), selected=SELECTED, where=where,
        )  # fmt: skip
        try:
            rows = self.sql(sql, params)
        except Exception as e:  # Helicone ignores the query's error: an empty page
            self.swallowed.append(str(e))
            rows = []
        items = [self._item(row, org, base) for row in rows]
        items = newest_versions(items)
        if by_created:
            items.sort(key=lambda r: r["request_created_at"], reverse=direction == "DESC")
        return 201, {"data": items, "error": None}

    def _item(self, row: dict[str, Any], org: str, base: str) -> dict[str, Any]:
        """One row as Helicone's JavaScript hands it out."""
        if row["storage_location"] == "clickhouse":
            row["response_body"] = _parsed(row["response_body"])
            row["request_body"] = _parsed(row["request_body"])
        elif row["storage_location"] != "not_stored_exceeded_free":
            reference = row["cache_reference_id"]
            owner = row["request_id"] if reference in (ZERO, None) else reference
            row["signed_body_url"] = self.sign(base, body_key(org, owner))
            assets = f"organizations/{org}/requests/{row['request_id']}/assets/"
            row["asset_urls"] = {a: self.sign(base, assets + a) for a in row["asset_ids"] or []}
        row["updated_at"] = iso_time(row["updated_at"]) or _js_now()
        row["request_created_at"] = iso_time(row["request_created_at"])
        row["feedback_created_at"] = None
        row["response_created_at"] = iso_time(row["response_created_at"])
        row["model"] = model_of(row)
        if isinstance(row.get("target_url"), str) and AZURE.match(row["target_url"]):
            row["provider"] = "AZURE"
        return row

    def count(self, org: str, body: dict[str, Any]) -> tuple[int, Any]:
        """count/query for a checked body: Helicone reads `count` from a row whose only column
        is `COUNT()`, so the answer is 0 unless the query fails."""
        where, params = self._where(org, body["filter"])
        try:
            rows = self.sql(fill(COUNT_QUERY, where=where), params)
        except Exception as e:
            return 500, {"data": None, "error": str(e)}
        return 200, {"data": (rows[0].get("count") if rows else None) or 0, "error": None}


def _js_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _s3_error(status: int, code: str, message: str) -> Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(xml, status, media_type="application/xml")


class _Dropped(Response):
    """An answer cut off: the headers promise a body the connection closes before sending."""

    def __init__(self) -> None:
        super().__init__(b"", 201)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"data": [', "more_body": True})
        # Returning before the promised body is complete makes the server close the socket.
