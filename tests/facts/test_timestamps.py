"""Timestamps: the fast text rewrite of UTC times agrees with parsing and formatting, and
Helicone's server reads timestamps as recorded from its validator and Node.js."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from conftest import CASES
from hypothesis import given
from hypothesis import strategies as st

from helicone_filter.facts.node_dates import helicone_timestamp
from helicone_filter.facts.timestamps import canonical_timestamp, format_timestamp, parse_timestamp


def _slow(text: str) -> str | None:
    parsed = parse_timestamp(text)
    return None if parsed is None else format_timestamp(parsed)


def _two(values: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(values) | st.integers(0, 99).map(lambda n: f"{n:02d}")


timestamp_like = st.builds(
    lambda y, mo, d, sep, h, mi, sec, frac, zone, time: (
        f"{y}-{mo}-{d}" + (f"{sep}{h}:{mi}{sec}{frac}{zone}" if time else "")
    ),
    st.sampled_from(["0000", "0001", "0999", "1970", "2024", "2025", "9999"]),
    _two(["00", "01", "02", "12", "13"]),
    _two(["00", "01", "28", "29", "30", "31", "32"]),
    st.sampled_from(["T", " "]),
    _two(["00", "23", "24"]),
    _two(["00", "59", "60"]),
    st.sampled_from(["", ":00", ":59", ":60"]),
    st.sampled_from(["", ".1", ".12", ".123", ".1234567", ".999999999"]),
    st.sampled_from(["", "Z", "+00:00", "-00:00", "+01:30", "-23:59", "+24:00", "+05:60"]),
    st.booleans(),
)


@given(timestamp_like | st.text(max_size=30))
def test_canonical_timestamp_is_parse_then_format(text: str) -> None:
    assert canonical_timestamp(text) == _slow(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-29", "2024-02-29T00:00:00.000Z"),
        ("2023-02-29", None),
        ("2024-01-31T12:00:00.1234Z", "2024-01-31T12:00:00.123Z"),
        ("2024-01-31 12:00-00:00", "2024-01-31T12:00:00.000Z"),
        ("2024-01-01T01:00+02:00", "2023-12-31T23:00:00.000Z"),
        ("0001-01-01T00:00+01:00", None),
        ("2024-01-31T24:00Z", None),
    ],
)
def test_canonical_timestamp_cases(text: str, expected: str | None) -> None:
    assert canonical_timestamp(text) == expected


def test_format_timestamp_pads_the_year_and_cuts_to_milliseconds() -> None:
    moment = datetime(999, 3, 4, 5, 6, 7, 891_999, tzinfo=UTC)
    assert format_timestamp(moment) == "0999-03-04T05:06:07.891Z"


# -- what Helicone's API server makes of a timestamp ------------------------------------------

GOLDEN = CASES / "js_timestamps.jsonl"


def test_helicone_reads_timestamps_as_its_server_does() -> None:
    """3,000 values with the verdict of Helicone's validator (validator 13.15.23, isISO8601
    strict) and of `new Date` on Node.js 20, recorded from the real packages: refused (422),
    accepted but an invalid date (the query fails), or the instant it reads (in UTC)."""
    cases = [json.loads(line) for line in GOLDEN.read_text("utf-8").splitlines() if line]
    assert len(cases) >= 2500
    wrong = [
        (c["value"], helicone_timestamp(c["value"]), (c["status"], c["ms"]))
        for c in cases
        if helicone_timestamp(c["value"]) != (c["status"], c["ms"])
    ]
    assert not wrong, wrong[:10]
