"""A request as Helicone's request endpoints answer with it, read into a typed record.

POST /v1/request/query-clickhouse answers HTTP 201 `{"data": [HeliconeRequest...], "error":
null}`. Its items are read as they really come: the latency is `delay_ms` (there is no
`latency`), and 64-bit integers (token counts, score values) are strings when Helicone's
ClickHouse quotes them (24.3 does) and numbers when it does not: both are read as numbers. A
field Helicone adds that this table does not know is kept in `extra`, never dropped.

`FIELDS` is the table: each field of the answer and how its value is read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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
