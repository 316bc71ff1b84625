"""Completion for filter builders: what may stand at the cursor, following the grammar.

`complete(text, cursor)` parses the text before the word under the cursor with the grammar's
own tables and asks which terminals could come next; the schema table then says which fields,
which operators (only those the field's type takes) and which value templates fit there.
It never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

from ._record import Record
from .engine import ParseFailure
from .schema import FIELD_OPERATORS, FIELDS, FIELDS_BY_TABLE, OPERATORS, TABLES, Field, Kind

CompletionKind = Literal["field", "operator", "value", "keyword", "punctuation"]


class Completion(Record):
    """One thing that may stand at the cursor.

    `insert_text` replaces `text[replace_start:replace_end]` (the word under the cursor, or
    an empty range at the cursor); `detail` says what it is (a field's type and table, an
    operator's meaning).
    """

    label: str
    kind: CompletionKind
    insert_text: str
    replace_start: int
    replace_end: int
    detail: str


# Each operator of the language: the terminal it starts with, and what it means.
_OPERATORS: dict[str, tuple[str, str]] = {op.text: (op.terminal, op.means) for op in OPERATORS}
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_OPERATOR_CHARS = frozenset("=<>!")
# The field (with table, dots and a bracketed key) at the end of some text.
_FIELD_AT_END = re.compile(
    r"([A-Za-z_][\w-]*(?:\s*\.\s*[A-Za-z_][\w-]*)*)"
    r"(?:\s*\[\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')\s*\])?\s*$"
)
_OPERATOR_AT_END = re.compile(
    r"(?:==|!=|<>|>=|<=|=|>|<|(?i:not\s+contains|contains|ilike|like|not\s+in|in))\s*"
    r"(?:\[(?:[^\]\"']|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')*)?$"
)
_SCAN_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?|[^\"']+", re.S)


def complete(
    text: str, cursor: int | None = None, *, map_keys: Mapping[str, Iterable[str]] | None = None
) -> list[Completion]:
    """What may stand at `cursor` (default: the end) in `text`, best first.

    Args:
        text: the filter as typed so far.
        cursor: an offset in code points, clamped to the text.
        map_keys: known keys of the map columns, e.g. `{"properties": ["environment"]}`,
            offered after `properties.`.

    Example:
        >>> [c.label for c in complete("cached ")][:3]
        ['=', '!=', 'and']
    """
    if not isinstance(text, str):
        return []
    position = len(text) if cursor is None else min(max(int(cursor), 0), len(text))
    keys = {name: sorted(set(values)) for name, values in (map_keys or {}).items()}
    return _Completer(text, position, keys).run()


class _Completer:
    def __init__(self, text: str, cursor: int, keys: dict[str, list[str]]) -> None:
        self.text = text
        self.cursor = cursor
        self.keys = keys
        start = cursor
        chars = _WORD_CHARS
        if start > 0 and text[start - 1] in _OPERATOR_CHARS:
            chars = _OPERATOR_CHARS
        while start > 0 and text[start - 1] in chars:
            start -= 1
        end = cursor
        while end < len(text) and text[end] in chars:
            end += 1
        self.start, self.end = start, end
        self.partial = text[start:cursor]

    def run(self) -> list[Completion]:
        before = self.text[: self.start]
        string = _open_string(self.text[: self.cursor])
        if string is not None:
            return self.in_string(string)
        expected = _expected(before)
        if expected is not None and self.partial[:1] in _OPERATOR_CHARS and "CMP" not in expected:
            # `!` before a condition negates it: complete after it, not it
            self.start = self.end = self.cursor
            self.partial = ""
            before = self.text[: self.start]
            expected = _expected(before)
        if expected is None:  # a syntax error before the cursor: offer a fresh condition
            expected = {"NAME", "NOT", "LPAR"}
        field = _field_before(before)  # the field just written, if the cursor follows one
        out: list[Completion] = []
        if "NAME" in expected:
            out += self.names(before)
        if expected & {"CMP", "LIKE", "ILIKE", "CONTAINS", "IN", "IS"}:
            out += self.operators(field, expected)
        if expected & {"STRING", "NUMBER", "TRUE", "FALSE", "NOW"}:
            out += self.values(before, expected)
        out += self.keywords(before, field, expected)
        return out

    # -- pieces ----------------------------------------------------------------------------

    def item(self, label: str, kind: CompletionKind, detail: str, insert: str = "") -> Completion:
        return Completion(label, kind, insert or label, self.start, self.end, detail)

    def ranked(self, candidates: list[Completion]) -> list[Completion]:
        """Prefix matches first, then substrings, then the letters in order (fuzzy)."""
        typed = self.partial.lower()
        if not typed:
            return candidates

        def rank(c: Completion) -> int:
            label = c.label.lower()
            if label.startswith(typed):
                return 0
            if typed in label:
                return 1
            return 2 if _in_order(typed, label) else 3

        scored = [(rank(c), c) for c in candidates]
        return [c for r, c in sorted(scored, key=lambda rc: rc[0]) if r < 3]

    def names(self, before: str) -> list[Completion]:
        dotted = re.search(r"([A-Za-z_][\w-]*(?:\s*\.\s*[A-Za-z_][\w-]*)*)\s*\.\s*$", before)
        if dotted is not None:  # after `table.` or `map.`
            parts = [p.strip() for p in dotted.group(1).split(".")]
            if len(parts) == 1 and parts[0] in TABLES:
                return self.ranked(
                    [self.field_item(f) for f in FIELDS_BY_TABLE[parts[0]].values() if f.column]
                )
            found = _resolve(parts)
            field = found[0] if found is not None else None
            if field is not None and field.kind == "map":
                return self.ranked(
                    [
                        self.item(k, "value", f"a key of {field.name}", _key_text(k))
                        for k in self.keys.get(field.name, [])
                    ]
                )
            return []
        # Not the fields whose every query fails in Helicone (no column in its table).
        fields = [self.field_item(f) for f in FIELDS.values() if f.column]
        tables = [self.item(t, "field", "a table: write table.column", t + ".") for t in TABLES]
        return self.ranked(fields + tables)

    def field_item(self, f: Field) -> Completion:
        """A field, inserted with what comes next: a space, or the dot before a map's key."""
        what = f"{f.kind_label} · {f.table}"
        if f.kind == "map":
            return self.item(f.name, "field", what + f" (write {f.name}.key)", f.name + ".")
        return self.item(f.name, "field", what, f.name + " ")

    def operators(self, field: _FieldKey | None, expected: set[str]) -> list[Completion]:
        allowed = tuple(_OPERATORS)
        if field is not None:
            if field[0].kind == "map" and field[1] is None:
                return []  # a map needs its key first: properties.environment
            allowed = FIELD_OPERATORS[field[0].name]  # the operators Helicone runs on it
        out = []
        for op in allowed:
            terminal, meaning = _OPERATORS[op]
            if terminal in expected:
                out.append(self.item(op, "operator", meaning, op + " "))
        return self.ranked(out)

    def values(self, before: str, expected: set[str]) -> list[Completion]:
        operator = _OPERATOR_AT_END.search(before)
        field = _field_before(before[: operator.start()]) if operator else None
        kind: Kind | None = None
        if field is not None:
            kind = "map" if field[1] is not None else field[0].kind
        templates: list[tuple[str, str, str]] = []  # label, insert, detail
        if kind in (None, "boolean") and "TRUE" in expected:
            templates += [("true", "true", "a boolean"), ("false", "false", "a boolean")]
        if kind in (None, "timestamp") and "NOW" in expected:
            templates += [
                ("now - 7d", "now - 7d", "a week ago (s, m, h, d, w)"),
                ("now", "now", "the time of the query"),
            ]
        if kind in (None, "timestamp") and "STRING" in expected:
            templates.append(('"2024-01-31T00:00:00Z"', '"2024-01-31T00:00:00Z"', "ISO 8601"))
        if kind in (None, "text", "map", "property_key") and "STRING" in expected:
            templates.append(('"..."', '""', "a string in double quotes"))
        if kind in (None, "number") and "NUMBER" in expected:
            templates.append(("0", "0", "a number"))
        return self.ranked([self.item(label, "value", d, ins) for label, ins, d in templates])

    def keywords(
        self, before: str, field: _FieldKey | None, expected: set[str]
    ) -> list[Completion]:
        words: list[Completion] = []
        if "NOT" in expected and not expected & {"CMP", "IS"}:
            words.append(self.item("not", "keyword", "negates the condition after it", "not "))
        if "ALL" in expected and not before.strip():
            words.append(self.item("all", "keyword", "matches every user"))
        if "NULL" in expected:
            words.append(self.item("null", "keyword", "has no value"))
        if "EMPTY" in expected:
            words.append(self.item("empty", "keyword", "is the empty string"))
        bare_non_boolean = field is not None and (
            field[0].kind != "boolean" or field[1] is not None
        )
        if "CMP" in expected and bare_non_boolean:
            expected = expected - {
                "_AND",
                "_OR",
            }  # right after a field: only a boolean stands alone
        if "_AND" in expected:
            words.append(self.item("and", "keyword", "both conditions", "and "))
        if "_OR" in expected:
            words.append(self.item("or", "keyword", "either condition", "or "))
        if "MINUS" in expected:
            words.append(self.item("- 7d", "value", "so long before now (s, m, h, d, w)"))
        out = self.ranked(words)
        if self.partial and not any(c.isalnum() for c in self.partial):
            return out
        punctuation = [
            ("(", "LPAR", "groups conditions"),
            (")", "RPAR", "closes the group"),
            ("[", "LSQB", "starts a list of values"),
            ("]", "RSQB", "ends the list"),
            (",", "_COMMA", "another value"),
        ]
        opens_key = field is not None and field[0].kind == "map" and field[1] is None
        if "LSQB" in expected and not re.search(r"(?i)\bin\s*$", before) and not opens_key:
            expected = expected - {"LSQB"}  # `[` after a field only opens a map's key
        for label, terminal, detail in punctuation:
            if terminal in expected and not self.partial:
                out.append(self.item(label, "punctuation", detail))
        return out

    def in_string(self, string_start: int) -> list[Completion]:
        """Inside a string: the known keys of a map, in `properties["...`."""
        m = re.search(r"([A-Za-z_][\w-]*)\s*\[\s*$", self.text[:string_start])
        if m is None or m.group(1) not in self.keys:
            return []
        quote = self.text[string_start]
        typed = self.text[string_start + 1 : self.cursor]
        end = self.text.find(quote, self.cursor)
        end = len(self.text) if end < 0 else end + 1
        return [
            Completion(k, "value", _key_text(k, quote), string_start, end, f"a key of {m.group(1)}")
            for k in self.keys[m.group(1)]
            if k.lower().startswith(typed.lower())
        ]


def _expected(before: str) -> set[str] | None:
    """The terminals that may follow `before`, or None where it has a syntax error."""
    from .parser import _engine, _LexProblem

    follow: list[set[str]] = []
    try:
        _engine().parse(before, follow=follow)
    except (ParseFailure, _LexProblem):
        return None
    return follow[0] if follow else None


def _open_string(text: str) -> int | None:
    """Where the string still open at the end of `text` starts, if one is."""
    last = None
    for m in _SCAN_STRINGS.finditer(text):
        last = m
    if last is None or last.group()[0] not in "\"'":
        return None
    token = last.group()
    closed = len(token) >= 2 and token[-1] == token[0]
    return None if closed else last.start()


def _in_order(typed: str, label: str) -> bool:
    letters = iter(label)
    return all(c in letters for c in typed)


def _key_text(key: str, quote: str = "") -> str:
    """A map key as written after `properties.` (or in brackets, when it is not a name)."""
    if not quote and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return key
    q = quote or '"'
    return q + key.replace("\\", "\\\\").replace(q, "\\" + q) + q


_FieldKey = tuple[Field, str | None]  # a column and the map key written after it


def _resolve(parts: list[str]) -> tuple[Field, list[str]] | None:
    """The column that dotted `parts` name (a table first is checked), and the parts after it."""
    table = parts[0] if len(parts) >= 2 and parts[0] in TABLES else None
    if table is not None:
        parts = parts[1:]
    field = FIELDS.get(parts[0]) if parts else None
    if field is None or (table is not None and field.table != table):
        return None
    return field, parts[1:]


def _field_before(text: str) -> _FieldKey | None:
    """The field written at the end of `text`, and its map key (None if it has none)."""
    from .parser import _LexProblem, decode_string

    m = _FIELD_AT_END.search(text)
    if m is None:
        return None
    found = _resolve([p.strip() for p in m.group(1).split(".")])
    if found is None:
        return None
    field, rest = found
    if rest:
        return field, rest[0]
    if m.group(2) is None:
        return field, None
    try:
        return field, decode_string(m.group(2), 0)
    except _LexProblem:
        return field, None
