"""Completion for filter builders: what may stand at the cursor, following the grammar.

`complete(text, cursor)` parses the text before the word under the cursor with the grammar's
own tables and asks which terminals could come next; the schema table then says which fields,
which operators (only those the field's type takes) and which value templates fit there.
Known values of a field (`values=`) are offered after its operator, before the template; each
item says where the cursor goes once it is accepted (`cursor_offset`: between the quotes of
the `""` template). It never raises on any text; the fields are those of the endpoint asked for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT
from helicone_filter.facts.quoting import is_plain_key, key_text, quote, value_text
from helicone_filter.facts.schema import (
    KINDS,
    OPERATORS,
    SCHEMAS,
    EndpointSchema,
    Field,
    Kind,
    schema_of,
)
from helicone_filter.frontends.lalr import ParseFailure, Tok
from helicone_filter.frontends.syntax_tree import FieldRef
from helicone_filter.value_class import Record

CompletionKind = Literal["field", "operator", "value", "keyword", "punctuation"]


class Completion(Record):
    """One thing that may stand at the cursor.

    `insert_text` replaces `text[replace_start:replace_end]` (the word under the cursor, or
    an empty range at the cursor); `detail` says what it is (a field's type and table, an
    operator's meaning); `cursor_offset` is where the cursor goes within `insert_text` once it
    is accepted: 1 for the `""` template (between the quotes), 2 for the list template
    `[""]`, `len(insert_text)` (after it) for everything else.
    """

    label: str
    kind: CompletionKind
    insert_text: str
    replace_start: int
    replace_end: int
    detail: str
    cursor_offset: int


# A value completion may be given: a string, or a number (a bool is true or false).
KnownValue = str | int | float
# Each operator of the language: the terminal it starts with, and what it means.
_OPERATORS: dict[str, tuple[str, str]] = {op.text: (op.terminal, op.means) for op in OPERATORS}
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_OPERATOR_CHARS = frozenset("=<>!")
_SCAN_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?|[^\"']+", re.S)
# A number as the language writes one (the grammar's NUMBER): a known value of a number field.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# The kinds whose values are written as strings.
_STRING_KINDS = frozenset({"text", "map", "property_key", "timestamp"})


def complete(
    text: str,
    cursor: int | None = None,
    *,
    map_keys: Mapping[str, Iterable[str]] | None = None,
    values: Mapping[str, Iterable[KnownValue]] | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
) -> list[Completion]:
    """What may stand at `cursor` (default: the end) in `text`, best first.

    Args:
        text: the filter as typed so far.
        cursor: an offset in code points, clamped to the text.
        map_keys: known keys of the map columns, e.g. `{"properties": ["environment"]}`,
            offered after `properties.`.
        values: known values of fields, keyed by the field as the canonical text writes it
            (`"model"`, `"provider"`, `"properties.environment"`, `'properties["my key"]'`),
            e.g. `{"model": ["gpt-4o", "gpt-4o-mini"]}`: offered in the order given after the
            field and an operator that takes a value (and inside a list after `in`), quoted as
            the language needs, those starting with what is typed first, then those holding
            it, before the template. A value that the field cannot take (text for a number
            field) is not offered.
        endpoint: the endpoint of Helicone whose fields are offered ("user-metrics" or
            "requests").

    Raises:
        ValueError: an unknown endpoint (the only thing it raises for).

    Example:
        >>> [c.label for c in complete("cached ")][:3]
        ['=', '!=', 'and']
    """
    schema = schema_of(endpoint)
    if not isinstance(text, str):
        return []
    position = len(text) if cursor is None else min(max(int(cursor), 0), len(text))
    keys = {name: sorted(set(given)) for name, given in (map_keys or {}).items()}
    known = {str(name): list(given) for name, given in (values or {}).items()}
    return _Completer(text, position, keys, schema, known).run()


class _Completer:
    def __init__(
        self,
        text: str,
        cursor: int,
        keys: dict[str, list[str]],
        schema: EndpointSchema,
        known: dict[str, list[KnownValue]],
    ) -> None:
        self.schema = schema
        self.known = known
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
        reading = _reading(before)
        if reading and self.partial[:1] in _OPERATOR_CHARS and "CMP" not in reading[0]:
            # `!` before a condition negates it: complete after it, not it
            self.start = self.end = self.cursor
            self.partial = ""
            before = self.text[: self.start]
            reading = _reading(before)
        # After a syntax error before the cursor: offer a fresh condition.
        expected, tail = reading or ({"NAME", "NOT", "LPAR"}, [])
        # the field just written, if the cursor follows one
        field = _field_at_end(tail, self.schema)
        out: list[Completion] = []
        if "NAME" in expected:
            out += self.names(tail)
        if expected & {"CMP", "LIKE", "ILIKE", "CONTAINS", "IN", "IS"}:
            out += self.operators(field, expected)
        if expected & {"STRING", "NUMBER", "TRUE", "FALSE", "NOW"}:
            out += self.values(tail, expected)
        out += self.keywords(before, tail, field, expected)
        return out

    # -- pieces ----------------------------------------------------------------------------

    def item(
        self,
        label: str,
        kind: CompletionKind,
        detail: str,
        insert: str = "",
        cursor: int | None = None,
    ) -> Completion:
        insert = insert or label
        at = len(insert) if cursor is None else cursor
        return Completion(label, kind, insert, self.start, self.end, detail, at)

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

    def names(self, tail: list[Any]) -> list[Completion]:
        if tail and isinstance(tail[-1], Tok) and tail[-1].type == "DOT":  # `table.`, `map.`
            dot = tail[-1]
            parts = _names_before(tail[:-1])
            if len(parts) == 1 and parts[0] in self.schema.tables:
                by_table = self.schema.fields_by_table[parts[0]]
                return self.ranked([self.field_item(f) for f in by_table.values() if f.column])
            found = _resolve(parts, self.schema)
            field = found[0] if found is not None else None
            if field is not None and field.kind == "map":
                # A plain key follows the dot; any other goes in brackets, the dot replaced.
                return self.ranked(
                    [
                        Completion(
                            k,
                            "value",
                            key_text(k)[1:] if is_plain_key(k) else key_text(k),
                            self.start if is_plain_key(k) else dot.start_pos,
                            self.end,
                            f"a key of {field.name}",
                            len(key_text(k)[1:] if is_plain_key(k) else key_text(k)),
                        )
                        for k in self.keys.get(field.name, [])
                    ]
                )
            return []
        # Not the fields whose every query fails in Helicone (no column in its table).
        fields = [self.field_item(f) for f in self.schema.fields.values() if f.column]
        tables = [
            self.item(t, "field", "a table: write table.column", t + ".")
            for t in self.schema.tables
        ]
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
            # the operators Helicone runs on it
            allowed = self.schema.field_operators[field[0].name]
        out = []
        for op in allowed:
            terminal, meaning = _OPERATORS[op]
            if terminal in expected:
                out.append(self.item(op, "operator", meaning, op + " "))
        return self.ranked(out)

    def values(self, tail: list[Any], expected: set[str]) -> list[Completion]:
        # The field the value is for: the last one the parser has read whole.
        ref = next((x for x in reversed(tail) if isinstance(x, FieldRef)), None)
        field = _field_of(list(ref.parts), ref.key, self.schema) if ref is not None else None
        kind: Kind | None = None
        if field is not None:
            kind = "map" if field[1] is not None else field[0].kind
        # Where the field is not known, every kind's values: booleans, times, strings, numbers.
        kinds: list[Kind] = ["boolean", "timestamp", "text", "number"] if kind is None else [kind]
        examples = dict.fromkeys(x for k in kinds for x in KINDS[k].examples)
        found = [(label, ins, d) for term, label, ins, d in examples if term in expected]
        known = self.known_values(field, expected) if field is not None else []
        templates = [
            self.item(label, "value", d, ins, _template_cursor(ins)) for label, ins, d in found
        ]
        offered = {c.insert_text for c in known}
        return known + self.ranked([c for c in templates if c.insert_text not in offered])

    def known_values(self, field: _FieldKey, expected: set[str]) -> list[Completion]:
        """The values given for `field` that may stand here, as the language writes them,
        those starting with what is typed first, then those holding it."""
        name = _written(field)
        kind: Kind = "map" if field[1] is not None else field[0].kind
        written = [w for w in dict.fromkeys(_value_text(v, kind) for v in self.known.get(name, ()))]
        written = [w for w in written if w and _TERMINAL_OF.get(w[0], "NUMBER") in expected]
        typed = self.partial.lower()
        first = [w for w in written if _bare(w).lower().startswith(typed)]
        then = [w for w in written if typed and typed in _bare(w).lower() and w not in first]
        return [self.item(w, "value", f"a known value of {name}") for w in first + then]

    def keywords(
        self, before: str, tail: list[Any], field: _FieldKey | None, expected: set[str]
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
        after_in = bool(tail) and isinstance(tail[-1], Tok) and tail[-1].type == "IN"
        if after_in and "LSQB" in expected and not self.partial:
            listed = _field_before_in(tail, self.schema)
            if listed is None or listed[1] is not None or listed[0].kind in _STRING_KINDS:
                out.append(self.item('["..."]', "value", "a list of strings", '[""]', 2))
        if "LSQB" in expected and not after_in and not opens_key:
            expected = expected - {"LSQB"}  # `[` after a field only opens a map's key
        for label, terminal, detail in punctuation:
            if terminal in expected and not self.partial:
                out.append(self.item(label, "punctuation", detail))
        return out

    def in_string(self, string_start: int) -> list[Completion]:
        """Inside a string: the known keys of a map, in `properties["...`, or the known values
        of a field, in `model = "...`."""
        reading = _reading(self.text[:string_start])
        tail = reading[1] if reading else []
        if (
            reading is not None
            and "STRING" in reading[0]
            and not (tail and isinstance(tail[-1], Tok) and tail[-1].type == "LSQB")
        ):
            return self.known_in_string(string_start, tail)
        if not (tail and isinstance(tail[-1], Tok) and tail[-1].type == "LSQB"):
            return []
        found = _resolve(_names_before(tail[:-1]), self.schema)
        if found is None or found[0].kind != "map" or found[0].name not in self.keys:
            return []
        name = found[0].name
        mark = self.text[string_start]
        typed = self.text[string_start + 1 : self.cursor]
        end = self.text.find(mark, self.cursor)
        end = len(self.text) if end < 0 else end + 1
        return [
            Completion(
                k,
                "value",
                quote(k, mark),
                string_start,
                end,
                f"a key of {name}",
                len(quote(k, mark)),
            )
            for k in self.keys[name]
            if k.lower().startswith(typed.lower())
        ]

    def known_in_string(self, string_start: int, tail: list[Any]) -> list[Completion]:
        """The known string values of the field before the operator, those starting with what
        is typed in the open string, replacing the whole string."""
        ref = next((x for x in reversed(tail) if isinstance(x, FieldRef)), None)
        field = _field_of(list(ref.parts), ref.key, self.schema) if ref is not None else None
        if field is None:
            return []
        kind: Kind = "map" if field[1] is not None else field[0].kind
        if kind not in _STRING_KINDS:
            return []
        name = _written(field)
        mark = self.text[string_start]
        typed = self.text[string_start + 1 : self.cursor].lower()
        end = self.text.find(mark, self.cursor)
        end = len(self.text) if end < 0 else end + 1
        given = dict.fromkeys(str(v) for v in self.known.get(name, ()) if not isinstance(v, bool))
        out = []
        for value in given:
            if value.lower().startswith(typed):
                written = quote(value, mark)
                detail = f"a known value of {name}"
                out.append(
                    Completion(written, "value", written, string_start, end, detail, len(written))
                )
        return out


def _reading(before: str) -> tuple[set[str], list[Any]] | None:
    """What the parser makes of `before`: the terminals that may follow it, and what it holds
    not yet read whole (the tokens of a field, an operator...); None where it has a syntax
    error."""
    from helicone_filter.frontends.parser import LexProblem, engine

    follow: list[set[str]] = []
    tail: list[Any] = []
    try:
        engine().parse(before, follow=follow, tail=tail)
    except (ParseFailure, LexProblem):
        return None
    return (follow[0], tail) if follow else None


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


def _template_cursor(insert: str) -> int:
    """Where the cursor goes in a value template: between the quotes of `""` (`[""]` too)."""
    at = insert.find('""')
    return at + 1 if at >= 0 else len(insert)


# The terminal a written value starts with (a number starts with a digit or `-`).
_TERMINAL_OF = {'"': "STRING", "t": "TRUE", "f": "FALSE"}


def _value_text(value: KnownValue, kind: Kind) -> str:
    """A known value as the language writes it for a field of `kind`; "" if it cannot stand
    there (text for a number field, anything but true or false for a boolean one)."""
    if kind in _STRING_KINDS:
        return quote(str(value)) if not isinstance(value, bool) else ""
    if kind == "boolean":
        if isinstance(value, bool):
            return value_text(value)
        return (
            value.lower() if isinstance(value, str) and value.lower() in ("true", "false") else ""
        )
    if isinstance(value, bool):
        return ""
    if isinstance(value, (int, float)):
        return value_text(value) if math.isfinite(value) else ""
    return value if isinstance(value, str) and _NUMBER.fullmatch(value) else ""


def _bare(written: str) -> str:
    """A written value without its quotes, to match against what is typed."""
    return written[1:-1] if written[:1] == '"' else written


def _written(field: _FieldKey) -> str:
    """A field as the canonical text writes it: `model`, `properties.environment`,
    `properties["my key"]`."""
    return field[0].name + (key_text(field[1]) if field[1] is not None else "")


def _field_before_in(tail: list[Any], schema: EndpointSchema) -> _FieldKey | None:
    """The field before the `in` (or `not in`) that ends `tail`."""
    end = len(tail) - 1
    if end >= 1 and isinstance(tail[end - 1], Tok) and tail[end - 1].type == "NOT":
        end -= 1
    ref = tail[end - 1] if end >= 1 else None
    return _field_of(list(ref.parts), ref.key, schema) if isinstance(ref, FieldRef) else None


def _in_order(typed: str, label: str) -> bool:
    letters = iter(label)
    return all(c in letters for c in typed)


_FieldKey = tuple[Field, str | None]  # a column and the map key written after it


_DEFAULT = SCHEMAS[DEFAULT_ENDPOINT]


def _resolve(parts: list[str], schema: EndpointSchema = _DEFAULT) -> tuple[Field, list[str]] | None:
    """The column that dotted `parts` name (a table first is checked), and the parts after it."""
    table = parts[0] if len(parts) >= 2 and parts[0] in schema.tables else None
    if table is not None:
        parts = parts[1:]
    field = schema.fields.get(parts[0]) if parts else None
    if field is None or (table is not None and field.table != table):
        return None
    return field, parts[1:]


def _names_before(tail: list[Any]) -> list[str]:
    """The dotted names at the end of `tail` (the tokens `a . b . c`), in order."""
    parts: list[str] = []
    i = len(tail) - 1
    while i >= 0 and isinstance(tail[i], Tok) and tail[i].type == "NAME":
        parts.append(str(tail[i]))
        if i >= 1 and isinstance(tail[i - 1], Tok) and tail[i - 1].type == "DOT":
            i -= 2
        else:
            break
    return parts[::-1]


def _field_of(
    parts: list[str], key: str | None, schema: EndpointSchema = _DEFAULT
) -> _FieldKey | None:
    found = _resolve(parts, schema)
    if found is None:
        return None
    field, rest = found
    return (field, rest[0]) if rest else (field, key)


def _field_at_end(tail: list[Any], schema: EndpointSchema = _DEFAULT) -> _FieldKey | None:
    """The field written at the end of what the parser holds, with its map key (None if it has
    none): the tokens `name`, `table.name`, `map.key` or `map["key"]`."""
    from helicone_filter.frontends.parser import LexProblem, decode_string

    if not tail or not isinstance(tail[-1], Tok):
        return None
    key = None
    inner = tail[-2] if len(tail) >= 3 else None  # a list's last value is no key
    if tail[-1].type == "RSQB" and isinstance(inner, Tok) and inner.type == "STRING":
        try:
            key = decode_string(str(inner), inner.start_pos)
        except LexProblem:
            return None
        tail = tail[:-3]
    parts = _names_before(tail)
    return _field_of(parts, key, schema) if parts else None
