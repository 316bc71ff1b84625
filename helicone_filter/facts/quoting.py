"""How the language writes strings, map keys and values: the one writer of them, for the
formatter, the messages, the fix-its and completion."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from helicone_filter.errors import escape_unsafe
from helicone_filter.facts.schema import KEYWORDS, NAME_PATTERN

_NAME: Final = re.compile(NAME_PATTERN)


def quote(s: str, mark: str = '"') -> str:
    """A string literal: JSON's escapes (and `\\uXXXX` for DEL, C1 and bidi controls and lone
    surrogates, which a terminal would act on or could not print), other characters as
    themselves, in double quotes (or single ones, `mark="'"`).

    Example:
        >>> quote('say "hi"'), quote("it's", "'")
        ('"say \\\\"hi\\\\""', "'it\\\\'s'")
    """
    text = escape_unsafe(json.dumps(s, ensure_ascii=False))
    if mark == '"':
        return text
    return "'" + text[1:-1].replace('\\"', '"').replace("'", "\\'") + "'"


def is_plain_key(key: str) -> bool:
    """Whether a map key can follow a dot: a name that is no keyword."""
    return _NAME.fullmatch(key) is not None and key.lower() not in KEYWORDS


def key_text(key: str) -> str:
    """A map key as written after the map's name: `.key` for a plain name, else `["..."]`.

    Example:
        >>> key_text("environment"), key_text("my key")
        ('.environment', '["my key"]')
    """
    return f".{key}" if is_plain_key(key) else f"[{quote(key)}]"


def value_text(value: Any) -> str:
    """A value as the language writes it: `true`/`false`, a quoted string, a number.

    Example:
        >>> value_text(True), value_text("gpt"), value_text(0.5)
        ('true', '"gpt"', '0.5')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)
