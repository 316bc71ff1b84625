"""What a Node.js 20 API server makes of a JSON value sent as a timestamp.

The server checks ``String(v)`` with the ``validator`` package's
``isISO8601(s, {strict: true})``, then calls ``new Date(s)`` (V8).  Only strings of the
validator's ISO-8601 shape reach V8, so instead of V8's date parser this module keeps a
short list of rules for what V8 does with each part of that shape.  The server is assumed
to run with TZ=UTC; ``is_local_time`` tells which strings depend on that.
"""

from __future__ import annotations

import calendar
import math
import re
from datetime import date
from typing import Literal

__all__ = [
    "helicone_timestamp",
    "is_local_time",
    "js_number_text",
    "js_string",
    "validator_accepts",
]

Status = Literal["refused", "invalid-date", "ok"]
Groups = dict[str, str]  # named groups of _SHAPE; "" when a group did not take part
Reading = tuple[list[int], list[int], int | None]  # [y, m, d], clock, offset (None: local)


# --- 1. String(v) --------------------------------------------------------------------------


def js_number_text(x: float) -> str:
    """Number::toString(x): the shortest round-trip digits in JavaScript's layout.

    Example:
        >>> js_number_text(1e21), js_number_text(5.0), js_number_text(1e20)
        ('1e+21', '5', '100000000000000000000')
    """
    if math.isnan(x):
        return "NaN"
    if x < 0:
        return "-" + js_number_text(-x)
    if x == 0 or math.isinf(x):
        return "0" if x == 0 else "Infinity"  # -0 is "0" too
    mantissa, _, power = repr(x).partition("e")  # repr is the shortest round-trip form
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    n = len(whole) + int(power or 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    k = len(digits)  # x == 0.<digits> * 10**n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    return f"{digits[0]}{'.' if k > 1 else ''}{digits[1:]}e{n - 1:+d}"


def js_string(v: object) -> str:
    """JavaScript ``String(v)`` for a value as Python's ``json`` module loads it."""
    if isinstance(v, str):
        return v
    if v is None or isinstance(v, bool):
        return "null" if v is None else str(v).lower()
    if isinstance(v, (int, float)):  # integer literals become the nearest double (or Infinity)
        try:
            return js_number_text(float(v))
        except OverflowError:
            return "Infinity" if v > 0 else "-Infinity"
    if isinstance(v, (list, tuple)):  # arrays join their items with ","; null items are ""
        return ",".join("" if item is None else js_string(item) for item in v)
    if isinstance(v, dict):
        return "[object Object]"
    raise TypeError(f"not a JSON value: {type(v).__name__}")


# --- 2. The validator's ISO-8601 shape and calendar check ------------------------------------

_SHAPE = re.compile(
    r"""
    (?P<sign>[+-])? (?P<year>[0-9]{4})
    (?! [0-9]{2} (?![A-Za-z0-9_]) )           # refused: YYYY + exactly two digits + word end
    (?:
        (?:   - (?P<month>0[1-9]|1[0-2]) (?: - (?P<day>0[1-9]|[12][0-9]|3[01]) )?
          |   (?P<cmonth>0[1-9]|1[0-2]) (?P<cday>0[1-9]|[12][0-9]|3[01])?       # compact
          |   (?P<week> -?W (?:[0-4][0-9]|5[0-3]) (?:-?[1-7])? )
          |   (?P<odash>-)? (?P<ordinal> 00[1-9] | 0[1-9][0-9] | [12][0-9]{2}
                                        | 3[0-5][0-9] | 36[1-6] )               # not 360
        )
        (?:   # separator: 'T' or any character of JavaScript's \s
          (?P<sep>[T\t\n\x0b\x0c\r\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff])
            (?:   # clock: HH:MM[:SS][fraction]
                  (?P<hh>[01][0-9]|2[0-3]) : (?P<mi>[0-5][0-9]) (?: : (?P<ss>[0-5][0-9]) )?
                  (?P<frac>[.,][0-9]+)?
              |   # midnight: 24:00[SS][fraction], or 24:00 + fraction + SS + fraction (then
                  # the first fraction has 3+ digits, the last two a valid SS)
                  24 : (?P<m24>00 (?P<s24>[0-5][0-9])? ) (?P<f24>[.,][0-9]+)?
                  (?P<x24> (?(s24)(?!)|(?<=[0-9][0-5][0-9])) [.,][0-9]+ )?
              |   # colon-less: [HH[MM] or 2400 [fraction]] [SS [fraction]], possibly empty
                  (?P<runs> (?: (?: (?:[01][0-9]|2[0-3]) (?:[0-5][0-9])? | 2400 )
                                (?:[.,][0-9]+)? )?
                            (?: [0-5][0-9] (?:[.,][0-9]+)? )? )
            )
            (?: (?P<z>[zZ])
              | (?P<zsign>[+-]) (?P<zh>[01][0-9]|2[0-3]) (?P<zcolon>:)? (?P<zm>[0-5][0-9])? )?
        )?
    )?
    """,
    re.VERBOSE,
)


def _calendar_ok(g: Groups) -> bool:
    """The validator's strict calendar check (rules C1-C3), with its quirks."""
    year, ordinal = int(g["year"]), g["ordinal"]
    # C1: unsigned ordinal dates followed by end, " " or "T": day <= 365 (366 in leap years)
    if ordinal and not g["sign"] and g["sep"] in ("", " ", "T"):
        return int(ordinal) <= 365 + calendar.isleap(year)
    # C2: otherwise "YYYY[-]M?M?[-]D*" is re-read: an ordinal DDD is month DD, day D
    month, day = (
        (ordinal[:2], ordinal[2:]) if ordinal else (g["month"] + g["cmonth"], g["day"] + g["cday"])
    )
    if not (month and day and int(month) and int(day)):
        return True  # no month or no day: nothing is checked
    # C3: "<Number(YYYY)>-MM-DD" is rebuilt and given to V8, which misreads years below 100
    return year >= 100 and int(month) <= 12 and int(day) <= calendar.monthrange(year, int(month))[1]


def _accepted(s: str) -> Groups | None:
    m = _SHAPE.fullmatch(s)
    return m.groupdict("") if m and _calendar_ok(m.groupdict("")) else None


def validator_accepts(s: str) -> bool:
    """``validator.isISO8601(s, {strict: true})``."""
    return _accepted(s) is not None


# --- 3. What V8's new Date(s) does with an accepted string -----------------------------------
# V8 first tries its ES ISO reader (YYYY[-MM[-DD]] or +-YYYYYY, then T and a strict time); for
# any other shape its "legacy" reader reads digit runs as date numbers unless a ':' makes them
# a clock.  The rules are labelled V1-V17.


def _num(digits: str) -> int:
    """V8 keeps at most 9 significant digits of a number."""
    return int(digits.lstrip("0")[:9] or "0")


def _frac_ms(digits: str) -> int:
    """Milliseconds: the value of at most 9 digits, scaled as if it had 3 (V8's rounding down)."""
    n, k = _num(digits), len(digits)
    return int(n * 10 ** (3 - k)) if k < 3 else int(n // 10 ** (min(k, 9) - 3))


def _ints(*fields: str) -> list[int]:
    return [int(f) for f in fields if f]


def _v8(g: Groups) -> Reading | None:
    """V8's reading of an accepted string: [year, month, day], [hour, minute, second, ms]
    (missing ones are 0) and the UTC offset in minutes (None: server-local time); None for
    an Invalid Date."""
    sign, sep, frac = g["sign"], g["sep"], g["frac"] + g["f24"]
    clock = _ints(g["hh"], g["mi"], g["ss"]) or ([24, _num(g["m24"])] if g["m24"] else [])
    fraction = [_frac_ms(frac[1:])] if frac else []
    zone = 0 if g["z"] else None  # Z or z: UTC
    if g["zsign"]:
        zone = int(g["zsign"] + "1") * (int(g["zh"]) * 60 + int(g["zm"] or 0))
    # V1: week dates are invalid dates ("W" is an unknown word to V8)
    # V2: U+2028 and U+2029 are letters to V8, so as a separator they are an unknown word
    if g["week"] or sep in ("\u2028", "\u2029"):
        return None
    if sign and g["cmonth"] and not g["cday"]:
        # V3: +-YYYYMM'T'... is read as the six-digit ISO year +-YYYYMM, January 1st
        ymd = [int(sign + g["year"] + g["cmonth"]), 1, 1]
    elif not (sign or g["cmonth"] or g["ordinal"]) and sep in ("", "T"):
        ymd = [int(x or 1) for x in (g["year"], g["month"], g["day"])]  # YYYY[-MM[-DD]]
        if not sep:  # V4: date-only ISO forms are UTC
            return ymd, [], 0
    else:  # V5: 'T' after any other date is an unknown word: invalid; else the legacy reader
        return None if sep == "T" else _legacy(g, clock + fraction, zone)
    # V6: after T only HH:MM[:SS[.fff]] (or exactly 24:00) and Z/+-HH:MM/+-HHMM are read,
    # anything else (',' or a fraction of minutes too) is invalid; no zone means local time
    if not (g["hh"] or (g["m24"] == "00" and not frac)) or (g["zsign"] and not g["zm"]):
        return None
    if frac and (frac[0] == "," or not g["ss"]):
        return None
    return ymd, clock + fraction, zone


def _legacy(g: Groups, clock: list[int], zone: int | None) -> Reading | None:
    """V8's legacy reader on the shapes the validator lets through."""
    # V7: a sign before the year is ignored; the date's digit runs are date numbers (so a
    # 3-digit ordinal is read as a month: 2024-012 is December), but a compact YYYYMM[DD] or
    # YYYYDDD is one large number (a year)
    if g["cmonth"] or (g["ordinal"] and not g["odash"]):
        dates = [_num(g["year"] + g["cmonth"] + g["cday"] + g["ordinal"])]
    else:
        dates = [_num(g[k]) for k in ("year", "month", "day", "ordinal") if g[k]]
    # V8: a '.' fraction is the clock's next field (seconds after HH:MM, ms after HH:MM:SS);
    # a ',' after a clock makes the date invalid
    if (g["frac"] + g["f24"])[:1] == ",":
        return None
    # V9: the digit runs of a colon-less time (and one after a 24:00 fraction) are date numbers
    runs = re.findall("[0-9]+", g["runs"] + g["x24"])
    dates += map(_num, runs)
    if g["zsign"] == "-" and runs:
        # V10: a '-' right after a date number is eaten as a date dash, so -HH:MM or -HH:
        # becomes the clock (local time) and -HH or -HHMM one more date number
        if g["zcolon"] and clock:
            return None
        if g["zcolon"]:
            clock = _ints(g["zh"], g["zm"])
        else:
            dates.append(_num(g["zh"] + g["zm"]))
        zone = None
    elif g["zsign"] and not clock:  # V11: an offset with no clock before it is invalid
        return None
    # V12: more than three date numbers are invalid
    if len(dates) > 3:
        return None
    # V13: legacy dates are Y-M-D, or M-D-Y when the first number is 1-31 (missing ones are 1)
    a, b, c = [*dates, 1, 1][:3]
    year, month, day = (c, a, b) if 1 <= a <= 31 else (a, b, c)
    # V14: two-digit legacy years: 0-49 are 20xx, 50-99 are 19xx
    year += 2000 if year < 50 else 1900 if year < 100 else 0
    # V15: the legacy month must be 1-12 and the day 1-31 (a day past the month's end rolls
    # over); with no Z or offset the time is local
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return [year, month, day], clock, zone


def _instant(s: str) -> tuple[Status, int | None, bool]:
    """(status, epoch ms, read as server-local time)."""
    g = _accepted(s)
    reading = None if g is None else _v8(g)
    if reading is None:
        return "refused" if g is None else "invalid-date", None, False
    (year, month, day), clock, zone = reading
    h, mi, sec, ms = [*clock, 0, 0, 0, 0][:4]
    # V16: a clock must lie within 00:00-23:59:59.999, or be exactly 24:00 (next midnight)
    if not (h < 24 and mi < 60 and sec < 60 and ms < 1000) and [h, mi, sec, ms] != [24, 0, 0, 0]:
        return "invalid-date", None, False
    cycles, y400 = divmod(year - 1, 400)  # proleptic Gregorian days since 1970-01-01
    days = date(y400 + 1, month, 1).toordinal() + cycles * 146_097 + day - 1 - 719_163
    t = (days * 86_400 + (h * 60 + mi - (zone or 0)) * 60 + sec) * 1000 + ms
    # V17: instants beyond +-8.64e15 ms (about +-275760 years) are invalid
    if abs(t) > 8_640_000_000_000_000:
        return "invalid-date", None, False
    return "ok", t, zone is None


def is_local_time(s: str) -> bool:
    """True if ``s`` is accepted and read in the server's own zone (no Z or offset applies)."""
    return _instant(s)[2]


def helicone_timestamp(v: object) -> tuple[Status, int | None]:
    """What the server does with JSON value ``v`` in a date-time field (TZ=UTC).

    ``("refused", None)``: the ISO-8601 check rejects ``String(v)``;
    ``("invalid-date", None)``: accepted, but ``new Date`` is an Invalid Date;
    ``("ok", ms)``: accepted, ``ms`` is the epoch-millisecond instant.
    """
    status, ms, _ = _instant(js_string(v))
    return status, ms
