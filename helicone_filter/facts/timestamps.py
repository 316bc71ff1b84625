"""Timestamps: the ISO 8601 forms Helicone accepts, and the one canonical form we emit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# ASCII digits only: Helicone refuses other digits (full-width ２０２４, say).
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?"
)


def parse_timestamp(text: str) -> datetime | None:
    """The aware UTC datetime `text` names, or None when it is not a timestamp we accept.

    Accepted: a date (`2024-01-31`), or a date, `T` or a space, `HH:MM`, optional seconds and
    fraction, and an optional `Z` or `+HH:MM` zone. No zone means UTC. Digits past milliseconds
    are cut.

    Example:
        >>> format_timestamp(parse_timestamp("2024-01-31 12:00+02:00"))
        '2024-01-31T10:00:00.000Z'
    """
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    micro = int((fraction or "0")[:3].ljust(3, "0")) * 1000
    tz = UTC
    if zone and zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if zone[0] == "-" else offset)
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def format_timestamp(value: datetime) -> str:
    """`value` in UTC as `YYYY-MM-DDTHH:MM:SS.sssZ`, the form Helicone's own UI sends."""
    # isoformat pads the year to four digits and ends in "+00:00" for UTC.
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def canonical_timestamp(text: str) -> str | None:
    """`format_timestamp(parse_timestamp(text))`: the one form we emit, or None.

    A time in UTC (no zone, `Z` or `±00:00`), the common case, is rewritten as text once its
    date is checked; only other zones go through a conversion.

    Example:
        >>> canonical_timestamp("2024-01-31 12:00")
        '2024-01-31T12:00:00.000Z'
    """
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    if zone and zone not in _UTC_ZONES:
        parsed = parse_timestamp(text)
        return None if parsed is None else format_timestamp(parsed)
    hour, minute, second = hour or "00", minute or "00", second or "00"
    try:  # only to check the date and time exist (no 31 February, no hour 24)
        datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    millis = fraction[:3].ljust(3, "0") if fraction else "000"
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}.{millis}Z"


_UTC_ZONES = frozenset({"Z", "+00:00", "-00:00"})


DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def relative(now: datetime, duration: str) -> datetime | None:
    """`now` minus a duration such as `7d` (`""` is none), or None before the year 1."""
    seconds = int(duration[:-1]) * DURATION_SECONDS[duration[-1]] if duration else 0
    try:
        return now - timedelta(seconds=seconds)
    except OverflowError:
        return None
