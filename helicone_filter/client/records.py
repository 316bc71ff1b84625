"""A request as Helicone's request endpoints answer with it, read into a typed record.

POST /v1/request/query-clickhouse answers HTTP 201 `{"data": [HeliconeRequest...], "error":
null}`. Its items are read as they really come: the latency is `delay_ms` (there is no
`latency`), and 64-bit integers (token counts, score values) are strings when Helicone's
ClickHouse quotes them (24.3 does) and numbers when it does not: both are read as numbers. A
field Helicone adds that this table does not know is kept in `extra`, never dropped.

`FIELDS` is the table: each field of the answer and how its value is read. `ROW_COLUMNS` is
the other way: the row `matches` reads (the language's names: `latency`, `status`...) made
from an exported request (`request_row`, `HeliconeRequest.as_row`), which `grep` uses too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from helicone_filter.value_class import Record

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class NotANumber(ValueError):
    """A field that holds a number held something else."""


def _as_is(value: Any) -> Any:
    return value


def _integer(value: Any) -> Any:
    """A whole number from a number or a string of one (a quoted Int64); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise NotANumber(repr(value))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise NotANumber(repr(value)[:80])


def _number(value: Any) -> Any:
    """A number (int or float) from a number or a string of one; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise NotANumber(repr(value))
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
    raise NotANumber(repr(value)[:80])


def _scores(value: Any) -> Any:
    """The scores object, each value a number (Helicone's Int64 values may be quoted)."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, score in value.items():
        try:
            out[name] = _number(score)
        except NotANumber:
            out[name] = score  # a score of another kind: kept as it came
    return out


# Each field of an item of query-clickhouse's answer (Helicone's request store's SELECT and
# what its request manager adds) and how its value is read; in the order Helicone sends them.
FIELDS: dict[str, Callable[[Any], Any]] = {
    "response_id": _as_is,
    "response_created_at": _as_is,
    "response_body": _as_is,
    "response_status": _integer,
    "request_id": _as_is,
    "request_created_at": _as_is,
    "request_body": _as_is,
    "request_user_id": _as_is,
    "request_properties": _as_is,
    "provider": _as_is,
    "delay_ms": _integer,
    "request_model": _as_is,
    "model": _as_is,
    "ai_gateway_body_mapping": _as_is,
    "time_to_first_token": _integer,
    "total_tokens": _integer,
    "completion_tokens": _integer,
    "reasoning_tokens": _integer,
    "prompt_tokens": _integer,
    "prompt_cache_read_tokens": _integer,
    "prompt_cache_write_tokens": _integer,
    "country_code": _as_is,
    "scores": _scores,
    "properties": _as_is,
    "asset_ids": _as_is,
    "target_url": _as_is,
    "cache_reference_id": _as_is,
    "request_referrer": _as_is,
    "cache_enabled": _as_is,
    "cost": _number,
    "prompt_id": _as_is,
    "prompt_version": _as_is,
    "updated_at": _as_is,
    "storage_location": _as_is,
    "feedback_created_at": _as_is,
    "signed_body_url": _as_is,
    "asset_urls": _as_is,
    "size_bytes": _integer,
}


class HeliconeRequest(Record):
    """One request, as Helicone's request endpoints give it, numbers as numbers.

    The fields are those of `FIELDS` (None where the answer had none: `size_bytes` comes only
    with a sort other than `created_at`, `signed_body_url` only for a body stored in S3);
    times are ISO 8601 strings as Helicone sends them (`created` is `request_created_at` as a
    datetime). `extra` holds the fields Helicone sent that `FIELDS` does not know.
    `body_error` says why the bodies were not fetched, when they were asked for and could
    not be (a missing object, an expired URL, a body Helicone did not store); None otherwise.

    Example:
        >>> r = HeliconeRequest.from_json({"request_id": "a", "total_tokens": "761",
        ...                                "request_created_at": "2025-01-02T03:04:05.678Z"})
        >>> r.total_tokens, r.created.isoformat(), r.delay_ms
        (761, '2025-01-02T03:04:05.678000+00:00', None)
    """

    response_id: str | None = None
    response_created_at: str | None = None
    response_body: Any = None
    response_status: int | None = None
    request_id: str = ""
    request_created_at: str = ""
    request_body: Any = None
    request_user_id: str | None = None
    request_properties: dict[str, Any] | None = None
    provider: str | None = None
    delay_ms: int | None = None
    request_model: str | None = None
    model: str | None = None
    ai_gateway_body_mapping: str | None = None
    time_to_first_token: int | None = None
    total_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    prompt_tokens: int | None = None
    prompt_cache_read_tokens: int | None = None
    prompt_cache_write_tokens: int | None = None
    country_code: str | None = None
    scores: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    asset_ids: list[str] | None = None
    target_url: str | None = None
    cache_reference_id: str | None = None
    request_referrer: str | None = None
    cache_enabled: bool | None = None
    cost: float | None = None
    prompt_id: str | None = None
    prompt_version: Any = None
    updated_at: str | None = None
    storage_location: str | None = None
    feedback_created_at: str | None = None
    signed_body_url: str | None = None
    asset_urls: dict[str, str] | None = None
    size_bytes: int | None = None
    extra: dict[str, Any] | None = None
    body_error: str | None = None

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> HeliconeRequest:
        """An item of Helicone's answer as a record.

        Raises:
            ValueError: a field that holds a number holds something else, or the request
                has no id or no creation time Helicone's way (ISO 8601).
        """
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name, value in item.items():
            read = FIELDS.get(name)
            if read is None:
                extra[name] = value
                continue
            try:
                known[name] = read(value)
            except NotANumber as e:
                raise ValueError(f"{name} is not a number: {e}") from None
        record = cls(**known, extra=extra or None)
        if not isinstance(record.request_id, str) or not record.request_id:
            raise ValueError("an item has no request_id")
        record.created_ms  # noqa: B018 - raises ValueError when the time cannot be read
        return record

    @property
    def created(self) -> datetime:
        """`request_created_at` as an aware datetime (UTC)."""
        return parse_time(self.request_created_at)

    @property
    def created_ms(self) -> int:
        """`request_created_at` in milliseconds since 1970 (UTC): what paging compares."""
        return (self.created - _EPOCH) // _MS

    def as_json(self) -> dict[str, Any]:
        """The request as JSON-ready data: every field of `FIELDS` in order (None where the
        answer had none), then the `extra` fields, then `body_error` when there is one."""
        out = {name: getattr(self, name) for name in FIELDS}
        out.update(self.extra or {})
        if self.body_error is not None:
            out["body_error"] = self.body_error
        return out

    def as_row(self) -> dict[str, Any]:
        """The request as the row `matches(..., endpoint="requests")` reads (`request_row`)."""
        return request_row(self.as_json())


def parse_time(text: Any) -> datetime:
    """An ISO 8601 time (`2025-01-02T03:04:05.678Z`) as an aware datetime; a time without a
    zone is taken as UTC.

    Raises:
        ValueError: it is not one.
    """
    if not isinstance(text, str):
        raise ValueError(f"not a time: {text!r}"[:100])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r}"[:100]) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def epoch_ms(moment: datetime) -> int:
    """An aware datetime in milliseconds since 1970 (UTC), rounded down."""
    return (moment - _EPOCH) // _MS


def newest(records: list[HeliconeRequest]) -> list[HeliconeRequest]:
    """One record per request id, the newest version (by `updated_at`; a later one on a tie),
    in the order of first sight."""
    seen: dict[str, HeliconeRequest] = {}
    for record in records:
        old = seen.get(record.request_id)
        if old is None or (record.updated_at or "") >= (old.updated_at or ""):
            seen[record.request_id] = record
    return list(seen.values())


# -- an exported request as the row `matches` reads ------------------------------------------
#
# Helicone's answer names its fields its own way (`delay_ms`, `response_status`,
# `request_properties`); `matches` and `to_clickhouse` name a row's columns as the language
# names its fields (`latency`, `status`, `properties`). `ROW_COLUMNS` says once which field of
# an exported request fills each column, and how its value is read (`ROW_READERS`; `grep`'s SQL
# reads the same table). The first source field that holds a value wins: `model` is the stored
# model, which the answer calls `request_model` (its own `model` is worked out in JavaScript
# and is not what a filter tests); `properties` is `request_properties` (the same map).
# Columns the answer does not hold (organization_id, threat, is_passthrough_billing, the
# session's tags) are absent: `cached` and `helicone-score-feedback` are worked out from
# `cache_reference_id` and `scores`, as Helicone works them out.


def _text(value: Any) -> Any:
    """Text as it came; a number or a boolean (a CSV cell read as JSON) as its JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _time(value: Any) -> Any:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None if value is None else parse_time(value)


_TRUTH = {"true": True, "1": True, "false": False, "0": False}


def _boolean(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    found = _TRUTH.get(str(value).strip().lower())
    if found is None:
        raise NotANumber(repr(value)[:80])
    return found


def _object(value: Any) -> Any:
    """A JSON object, or the JSON text of one (a CSV cell)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise NotANumber(repr(value)[:80]) from None
    if value is not None and not isinstance(value, dict):
        raise NotANumber(repr(value)[:80])
    return value


def _map(value: Any) -> Any:
    found = _object(value)
    return None if found is None else {k: _text(v) for k, v in found.items()}


def _score_map(value: Any) -> Any:
    return _scores(_object(value))


PLACEHOLDER_KEY = "helicone_message"


def _body(value: Any) -> Any:
    """A body: the text Helicone stores; an object (stored in ClickHouse, parsed by Helicone,
    or fetched with --bodies) as its JSON text. The placeholder Helicone answers for a body it
    keeps in S3 (`{"helicone_message": "fetching body from signed_url..."}`) stands for the
    empty column its SQL reads."""
    if isinstance(value, str) and PLACEHOLDER_KEY in value:
        try:
            found = json.loads(value)
        except ValueError:
            found = None
        if isinstance(found, dict) and list(found) == [PLACEHOLDER_KEY]:
            return ""
    return _text(value)


# How each kind of column is read from an exported value.
ROW_READERS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "uuid": _text,
    "int": _integer,
    "float": _number,
    "time": _time,
    "bool": _boolean,
    "map": _map,
    "scores": _score_map,
    "body": _body,
}

# What each kind of column holds, for the error about a value it cannot hold.
ROW_EXPECTED: dict[str, str] = {
    "int": "a whole number",
    "float": "a number",
    "time": "an ISO 8601 time",
    "bool": "true or false",
    "map": "a JSON object",
    "scores": "a JSON object",
}

# Each column of the row `matches` reads: the fields of an exported request that fill it (the
# first that holds a value) and its kind (`ROW_READERS`).
ROW_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "request_id": (("request_id",), "uuid"),
    "request_created_at": (("request_created_at",), "time"),
    "response_created_at": (("response_created_at",), "time"),
    "status": (("response_status",), "int"),
    "latency": (("delay_ms",), "int"),
    "time_to_first_token": (("time_to_first_token",), "int"),
    "prompt_tokens": (("prompt_tokens",), "int"),
    "completion_tokens": (("completion_tokens",), "int"),
    "prompt_cache_read_tokens": (("prompt_cache_read_tokens",), "int"),
    "prompt_cache_write_tokens": (("prompt_cache_write_tokens",), "int"),
    "cost": (("cost",), "float"),
    "model": (("request_model", "model"), "text"),
    "provider": (("provider",), "text"),
    "user_id": (("request_user_id",), "text"),
    "country_code": (("country_code",), "text"),
    "target_url": (("target_url",), "text"),
    "prompt_id": (("prompt_id",), "text"),
    "prompt_version": (("prompt_version",), "text"),
    "request_referrer": (("request_referrer",), "text"),
    "cache_reference_id": (("cache_reference_id",), "uuid"),
    "cache_enabled": (("cache_enabled",), "bool"),
    "properties": (("request_properties", "properties"), "map"),
    "scores": (("scores",), "scores"),
    "request_body": (("request_body",), "body"),
    "response_body": (("response_body",), "body"),
}


def source_of(item: Mapping[str, Any], sources: tuple[str, ...]) -> tuple[str, Any]:
    """The first of `sources` that `item` holds a value for, and the value; the last source
    and None when none does."""
    for name in sources:
        value = item.get(name)
        if value is not None:
            return name, value
    return sources[-1], None


def request_row(item: Mapping[str, Any]) -> dict[str, Any]:
    """An exported request (Helicone's field names: an item of its answer, a JSONL line, a
    CSV row with nested values as JSON text) as the row `matches(..., endpoint="requests")`
    reads: the language's column names, numbers as numbers (64-bit integers may come as
    strings), times as datetimes, maps as dicts.

    Raises:
        ValueError: a value its column cannot hold; the message names the field.

    Example:
        >>> row = request_row({"delay_ms": 1200, "response_status": "200",
        ...                    "request_properties": {"env": "prod"}})
        >>> row["latency"], row["status"], row["properties"]
        (1200, 200, {'env': 'prod'})
    """
    row: dict[str, Any] = {}
    for column, (sources, kind) in ROW_COLUMNS.items():
        name, value = source_of(item, sources)
        try:
            row[column] = ROW_READERS[kind](value)
        except ValueError:  # NotANumber too
            what = "" if column == name else f" ({column})"
            expected = ROW_EXPECTED.get(kind, "text")
            raise ValueError(f"{name}{what}: expected {expected}, not {value!r}"[:200]) from None
    return row
