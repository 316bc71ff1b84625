"""Helicone's quirks with values that work but probably not as meant: the warnings that the
text compiler and the JSON checker both give, from one place."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from .schema import EMPTY_MAGIC, NULL_MAGIC, REQUEST_RESPONSE_RMT, Field
from .timestamps import parse_timestamp

INT32 = (-(2**31), 2**31 - 1)
# Helicone binds a timestamp as a ClickHouse DateTime, which holds these moments; ClickHouse
# clamps a value outside them to the nearer end.
DATETIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)
DATETIME_MAX = datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC)

Quirk = tuple[str, str, str]  # code, message, hint


def like_escape_error(json_op: str, value: str) -> Quirk | None:
    """The error for a like/ilike pattern that ends in a lone backslash, which ClickHouse
    refuses ("Invalid escape sequence at the end of LIKE pattern": HTTP 500 from Helicone)."""
    if json_op not in ("like", "ilike") or not value.endswith("\\"):
        return None
    if (len(value) - len(value.rstrip("\\"))) % 2 == 0:
        return None  # \\ is an escaped backslash
    return (
        "like-trailing-escape",
        "the pattern ends in a lone backslash, which escapes nothing: ClickHouse refuses it",
        "write two backslashes for a literal one (in filter text: four inside quotes)",
    )


def quirks(field: Field, kind: str, json_op: str, value: Any) -> list[Quirk]:
    """What Helicone does unexpectedly with `{json_op: value}` on this field (kind `map` for a
    map key); usually nothing."""
    found: list[Quirk] = []
    if isinstance(value, str):
        if kind == "text" and value == NULL_MAGIC and json_op not in ("equals", "not-equals"):
            found.append(
                (
                    "null-magic",
                    f'Helicone pastes "null" under {json_op!r} as SQL null, so this matches '
                    "nothing",
                    'use equals / not-equals "null" (is null / is not null) to test for NULL',
                )
            )
        if kind == "text" and value == EMPTY_MAGIC and json_op == "not-equals":
            found.append(
                (
                    "empty-magic",
                    f'not-equals "{EMPTY_MAGIC}" compares with that literal string; only '
                    "equals means empty",
                    'to find non-empty values use not-equals ""',
                )
            )
        if json_op in ("contains", "not-contains") and ("%" in value or "_" in value):
            found.append(
                (
                    "contains-wildcard",
                    f"{value!r} holds % or _, which Helicone does not escape: they match any "
                    "characters",
                    "use like / ilike to say so, or expect the wildcards",
                )
            )
        if kind == "timestamp":
            moment = parse_timestamp(value)
            if moment is not None and not DATETIME_MIN <= moment <= DATETIME_MAX:
                end = DATETIME_MIN if moment < DATETIME_MIN else DATETIME_MAX
                found.append(
                    (
                        "timestamp-out-of-range",
                        f"Helicone binds timestamps as ClickHouse DateTime, which holds "
                        f"1970-01-01 to 2106-02-07; {value} is compared as "
                        f"{end.strftime('%Y-%m-%dT%H:%M:%SZ')}",
                        "use a time within that range",
                    )
                )
    elif kind == "number" and not isinstance(value, bool):
        # Helicone binds a number that is whole (in JavaScript, where 5.0 is 5) as Int32, any
        # other as Float64; request cost is multiplied by 10^9 first.
        cost = field.name == "cost" and field.table == REQUEST_RESPONSE_RMT
        bound = value * 1_000_000_000 if cost else value
        if math.isfinite(bound) and bound == int(bound) and not INT32[0] <= bound <= INT32[1]:
            if cost:
                found.append(
                    (
                        "cost-overflow",
                        "Helicone multiplies request cost by 10^9 before binding it as a "
                        f"32-bit integer; {value} overflows it",
                        "request cost filters work only between about -2.147 and 2.147",
                    )
                )
            else:
                found.append(
                    (
                        "int32-overflow",
                        f"Helicone binds whole numbers as 32-bit integers; {value} overflows it",
                        "a bound that is not whole is bound as Float64: write e.g. "
                        f"{int(value)}.5 with the operator adjusted",
                    )
                )
    return found
