"""Helicone's own table in chdb, for the tests: request_response_rmt with the column types of
Helicone's ClickHouse migrations (docs/helicone.md; `HELICONE_COLUMNS` in schema.py), rows
stored as Helicone stores them, and the per-user aggregates of its user-metrics query; for
the request endpoints, its `tags` table (migration schema_46_tags), which session_tag reads.

Written from those facts, not from the library: `to_native` / `from_native` move a row between
Helicone's storage (cost in nano-dollars, `cached` as `cache_reference_id`, feedback as a
score) and the layout `matches` and `create_table` take (cost in dollars, every field by its
name), and `user_rows` computes per-user aggregates in Python, to check the SQL's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from chdb import session

TABLE = "request_response_rmt"
ZERO = "00000000-0000-0000-0000-000000000000"
CACHE_HIT = "5d41402a-bc4b-2a76-b971-9d911017c592"

# Helicone's columns (schema_41 and the ALTERs after it) that the filter fields read, with
# the value a row has when it is not given (ClickHouse's default for the type). Nullable
# columns default to NULL.
COLUMNS: dict[str, tuple[str, Any]] = {
    "request_id": ("UUID", ZERO),
    "organization_id": ("UUID", ZERO),
    "cache_reference_id": ("UUID", ZERO),
    "request_created_at": ("DateTime64(3)", "1970-01-01 00:00:00.000"),
    "response_created_at": ("Nullable(DateTime64(3))", None),
    "latency": ("Nullable(Int64)", None),
    "completion_tokens": ("Nullable(Int64)", None),
    "prompt_tokens": ("Nullable(Int64)", None),
    "time_to_first_token": ("Nullable(Int64)", None),
    "status": ("Int64", 0),
    "prompt_cache_write_tokens": ("Int64", 0),
    "prompt_cache_read_tokens": ("Int64", 0),
    "cost": ("UInt64", 0),  # nano-dollars
    "model": ("LowCardinality(String)", ""),
    "user_id": ("LowCardinality(String)", ""),
    "provider": ("LowCardinality(String)", ""),
    "target_url": ("Nullable(String)", None),
    "country_code": ("Nullable(String)", None),
    "threat": ("Nullable(Bool)", None),
    "cache_enabled": ("Bool", False),
    "is_passthrough_billing": ("Bool", False),
    "properties": ("Map(LowCardinality(String), String)", {}),
    "scores": ("Map(LowCardinality(String), Int64)", {}),
    "request_body": ("String", ""),
    "response_body": ("String", ""),
    "prompt_id": ("String", ""),
    "prompt_version": ("String", ""),
    "request_referrer": ("String", ""),
    "assets": ("Array(String)", []),
}
DDL = (
    f"CREATE TABLE {TABLE} (\n"
    + ",\n".join(f"    `{name}` {type_name}" for name, (type_name, _) in COLUMNS.items())
    + ",\n    `_row` UInt64\n) ENGINE = Memory"
)
TIMES = {"request_created_at", "response_created_at"}

# Helicone's tags table: a tag of an entity (a request or a session) of an organization.
TAGS_DDL = (
    "CREATE TABLE tags (organization_id UUID, entity_type String, entity_id String, "
    "tag String) ENGINE = Memory"
)
SESSION_ID = "Helicone-Session-Id"


def session_tag_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tags table for rows in the layout `matches` takes: each session's tags (a row's
    `session_tags`, under its properties' Helicone-Session-Id) once, and beside them tags
    that must not count: the same tags on requests, not sessions."""
    seen: dict[str, list[str]] = {}
    for r in rows:
        session = (r.get("properties") or {}).get(SESSION_ID)
        if session:
            seen.setdefault(session, list(r.get("session_tags") or []))
    out = []
    for session, tags in seen.items():
        for tag in tags:
            out.append(
                {
                    "organization_id": ZERO,
                    "entity_type": "session",
                    "entity_id": session,
                    "tag": tag,
                }
            )
            out.append(
                {
                    "organization_id": ZERO,
                    "entity_type": "request",
                    "entity_id": session + "-request",
                    "tag": tag,
                }
            )
    return out


def _stored_time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text: str = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text[:-3]  # DateTime64(3)


def to_native(row: dict[str, Any]) -> dict[str, Any]:
    """A row as `matches` takes it, stored as Helicone stores it: cost in nano-dollars,
    `cached` in `cache_reference_id`, feedback among the scores, defaults for what is missing
    from the columns that cannot be NULL."""
    out: dict[str, Any] = {}
    for name, (_, default) in COLUMNS.items():
        value = row.get(name)
        out[name] = default if value is None else value
    if row.get("cost") is not None:
        out["cost"] = round(float(row["cost"]) * 1_000_000_000)
    if row.get("cached") is not None and row.get("cache_reference_id") is None:
        out["cache_reference_id"] = CACHE_HIT if row["cached"] else ZERO
    if row.get("helicone-score-feedback") is not None:
        out["scores"] = {
            **out["scores"],
            "helicone-score-feedback": int(row["helicone-score-feedback"]),
        }
    for name in TIMES:
        out[name] = _stored_time(out[name])
    return out


def from_native(native: dict[str, Any]) -> dict[str, Any]:
    """A stored row in the layout `matches` takes: cost in dollars, timestamps in ISO 8601;
    `cached` and `helicone-score-feedback` left out, for they are read from other columns."""
    out = {k: v for k, v in native.items() if k in COLUMNS}
    out["cost"] = native["cost"] / 1_000_000_000
    for name in TIMES:
        if out[name] is not None:
            out[name] = out[name].replace(" ", "T") + "Z"
    return out


# The per-user aggregates of Helicone's user-metrics query, as HAVING sees them, named as
# the users_view fields whose HAVING column they are.
AGGREGATES = """
    user_id,
    count(DISTINCT toDate(request_created_at)) AS active_for,
    toDateTime(min(request_created_at)) AS first_active,
    toDateTime(max(request_created_at)) AS last_active,
    CAST(count(request_id) AS Int32) AS total_requests,
    count(request_id) / count(DISTINCT toDate(request_created_at))
        AS average_requests_per_day_active,
    (sum(prompt_tokens) + sum(completion_tokens)) / count(request_id)
        AS average_tokens_per_request,
    sum(completion_tokens) AS total_completion_tokens,
    sum(prompt_tokens) AS total_prompt_tokens,
    sum(cost) / 1000000000 AS cost
"""
USER_FIELDS = {
    "user_user_id": "user_id",
    "user_active_for": "active_for",
    "user_first_active": "first_active",
    "user_last_active": "last_active",
    "user_total_requests": "total_requests",
    "user_average_requests_per_day_active": "average_requests_per_day_active",
    "user_average_tokens_per_request": "average_tokens_per_request",
    "user_total_completion_tokens": "total_completion_tokens",
    "user_total_prompt_tokens": "total_prompt_tokens",
    "user_cost": "cost",
}


class HeliconeTable:
    """Helicone's request_response_rmt in chdb, with rows as Helicone stores them."""

    _session: Any = None

    def __init__(
        self, native_rows: Iterable[dict[str, Any]], tags: Iterable[dict[str, Any]] = ()
    ) -> None:
        if HeliconeTable._session is None:
            HeliconeTable._session = session.Session()
        self.query(f"DROP TABLE IF EXISTS {TABLE}")
        self.query(DDL)
        self.query("DROP TABLE IF EXISTS tags")
        self.query(TAGS_DDL)
        tag_lines = [json.dumps(t, ensure_ascii=False) for t in tags]
        if tag_lines:
            self.query("INSERT INTO tags FORMAT JSONEachRow\n" + "\n".join(tag_lines))
        self.rows = list(native_rows)
        lines = [json.dumps({**r, "_row": i}, ensure_ascii=False) for i, r in enumerate(self.rows)]
        if lines:
            self.query(f"INSERT INTO {TABLE} FORMAT JSONEachRow\n" + "\n".join(lines))

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        from helicone_filter.backends.clickhouse import param_text

        texts = {k: param_text(v) for k, v in (params or {}).items()}
        settings = " SETTINGS output_format_json_quote_64bit_integers = 0"
        if not sql.startswith("SELECT"):
            settings = ""
        out = HeliconeTable._session.query(sql + settings, "JSONEachRow", params=texts)
        return [json.loads(line) for line in bytes(out.bytes()).decode().splitlines()]

    def where(self, sql: str, params: dict[str, Any]) -> list[int]:
        """The rows (by number) a WHERE expression selects."""
        out = self.query(f"SELECT _row FROM {TABLE} WHERE {sql} ORDER BY _row", params)
        return [r["_row"] for r in out]

    def users(
        self, where: str = "true", having: str = "true", params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The user-metrics query: the requests `where` selects, grouped by user, the groups
        `having` keeps, each with its aggregates."""
        sql = (
            f"SELECT {AGGREGATES} FROM {TABLE} WHERE {where} GROUP BY user_id HAVING {having} "
            "ORDER BY user_id"
        )
        return self.query(sql, params)


def user_row(aggregates: dict[str, Any]) -> dict[str, Any]:
    """A user's aggregates (as the query returns them) as a users_view row for `matches`."""
    row = {field: aggregates[column] for field, column in USER_FIELDS.items()}
    for name in ("user_first_active", "user_last_active"):
        row[name] = row[name].replace(" ", "T") + "Z"
    return row


def user_rows(native_rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The aggregates of each user, computed here from stored rows: what the user-metrics
    query's HAVING compares, by user id."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in native_rows:
        groups.setdefault(r["user_id"], []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for user, rows in groups.items():
        times = [datetime.fromisoformat(r["request_created_at"]).replace(tzinfo=UTC) for r in rows]
        days = len({t.date() for t in times})

        def total(column: str, rows: list[dict[str, Any]] = rows) -> int | None:
            values = [r[column] for r in rows if r[column] is not None]
            return sum(values) if values else None  # sum over only NULLs is NULL

        prompt, completion = total("prompt_tokens"), total("completion_tokens")
        tokens = None if prompt is None or completion is None else prompt + completion
        out[user] = {
            "user_user_id": user,
            "user_active_for": days,
            "user_first_active": _whole_second(min(times)),
            "user_last_active": _whole_second(max(times)),
            "user_total_requests": len(rows),
            "user_average_requests_per_day_active": len(rows) / days,
            "user_average_tokens_per_request": None if tokens is None else tokens / len(rows),
            "user_total_completion_tokens": completion,
            "user_total_prompt_tokens": prompt,
            "user_cost": sum(r["cost"] for r in rows) / 1_000_000_000,
        }
    return out


def _whole_second(moment: datetime) -> str:
    seconds = math.floor(moment.timestamp())
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
