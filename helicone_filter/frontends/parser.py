"""Text to AST: loads the grammar once (LALR, transformer passed to Lark) and explains errors."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, cast

from helicone_filter.errors import FilterSyntaxError, Fix, Problem, closest, make_problem
from helicone_filter.facts.quoting import quote
from helicone_filter.facts.schema import (
    ALLOWED_OPERATORS,
    FIELDS,
    KEYWORDS,
    OPERATOR_SYNONYMS,
    OPERATORS,
    TABLES,
)
from helicone_filter.frontends.lalr import Engine, ParseFailure, Tok, load_tables
from helicone_filter.frontends.syntax_tree import (
    All,
    And,
    Comparison,
    FieldRef,
    Group,
    Node,
    Not,
    Or,
    Value,
)

DEFAULT_MAX_LENGTH = 1_000_000
DEFAULT_MAX_DEPTH = 100

_SIMPLE_ESCAPES = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    "/": "/",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
}
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|u|([\s\S]))")
_CONTROL = re.compile(r"[\x00-\x1f\ud800-\udfff]")
# Each spelling of an operator that the grammar reads as one token, and the canonical one.
_CANONICAL_OPERATOR = {
    **{op.text: op.text for op in OPERATORS if " " not in op.text},
    **OPERATOR_SYNONYMS,
}
# A whole number of more digits is beyond the largest double (1.8e308 has 309), and Python
# would not even convert one of thousands.
_MAX_WHOLE_DIGITS = 310
SMART_QUOTES = "\u201c\u201d\u2018\u2019\u201e\u201f\u00ab\u00bb"


class LexProblem(Exception):
    """Raised inside the transformer, where the source text is not at hand."""

    def __init__(self, code: str, message: str, start: int, end: int, hint: str = "") -> None:
        super().__init__(message)
        self.args5 = (code, message, start, end, hint)


def grammar_path() -> str:
    """The grammar file: inside the installed package, or beside it in a source checkout."""
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    for candidate in (
        os.path.join(package, "grammar", "filter.lark"),
        os.path.join(os.path.dirname(package), "grammar", "filter.lark"),
    ):
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError("grammar/filter.lark is missing from the helicone_filter install")


def grammar_text() -> str:
    """The grammar, the one definition of the language."""
    with open(grammar_path(), encoding="utf-8") as f:
        return f.read()


def decode_string(raw: str, start: int) -> str:
    """The value of a quoted string token (quotes included), or a LexProblem at the fault."""
    body = raw[1:-1]
    if body.isprintable() and "\\" not in body:
        return body  # the common case, checked in C: no escape, no control character
    bad = _CONTROL.search(body)
    if bad is not None:
        pos = start + 1 + bad.start()
        char = bad.group()
        if char >= "\ud800":
            raise LexProblem(
                "invalid-character",
                f"lone surrogate U+{ord(char):04X} inside a string is not a character",
                pos,
                pos + 1,
                "remove it; it usually comes from text that was cut in the middle of an emoji",
            )
        name = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\u{ord(char):04x}")
        raise LexProblem(
            "control-character",
            f"raw control character U+{ord(char):04X} inside a string",
            pos,
            pos + 1,
            f"write it as the escape {name}",
        )
    if "\\" not in body:
        return body
    out: list[str] = []
    last = 0
    pending_high: tuple[int, int] | None = None  # a high surrogate and its offset
    for m in _ESCAPE.finditer(body):
        pos = start + 1 + m.start()
        if m.start() != last and pending_high is not None:
            raise _lone_surrogate(pending_high[1])
        out.append(body[last : m.start()])
        last = m.end()
        hexdigits, simple = m.group(1), m.group(2)
        if hexdigits is not None:
            code = int(hexdigits, 16)
            if 0xD800 <= code <= 0xDBFF:
                if pending_high is not None:
                    raise _lone_surrogate(pending_high[1])
                pending_high = (code, pos)
                continue
            if 0xDC00 <= code <= 0xDFFF:
                if pending_high is None:
                    raise _lone_surrogate(pos)
                code = 0x10000 + ((pending_high[0] - 0xD800) << 10) + (code - 0xDC00)
                pending_high = None
            elif pending_high is not None:
                raise _lone_surrogate(pending_high[1])
            out.append(chr(code))
        elif simple is None:
            raise LexProblem(
                "invalid-escape",
                "\\u must be followed by four hex digits",
                pos,
                pos + 2,
                "write a character as \\u followed by four hex digits, e.g. \\u00e9",
            )
        else:
            if pending_high is not None:
                raise _lone_surrogate(pending_high[1])
            decoded = _SIMPLE_ESCAPES.get(simple)
            if decoded is None:
                raise LexProblem(
                    "invalid-escape",
                    f"unknown escape \\{simple} in a string",
                    pos,
                    pos + 2,
                    "the escapes are \\\" \\' \\\\ \\/ \\n \\r \\t \\b \\f \\uXXXX; "
                    "write \\\\ for a backslash",
                )
            out.append(decoded)
    if pending_high is not None:
        if last != len(body):
            raise _lone_surrogate(pending_high[1])
        raise _lone_surrogate(pending_high[1])
    out.append(body[last:])
    return "".join(out)


def _lone_surrogate(pos: int) -> LexProblem:
    return LexProblem(
        "invalid-escape",
        "lone surrogate escape in a string",
        pos,
        pos + 6,
        "a \\uD800-\\uDBFF escape must be followed by a \\uDC00-\\uDFFF escape; "
        "or write the character itself",
    )


class _ToAst:
    """One method per rule (or alias) of grammar/filter.lark, called with the rule's children:
    the tree is shaped in the grammar."""

    def start(self, node: Node | None = None) -> Node | None:
        return node

    def or_chain(self, *operands: Node) -> Or:
        return Or(operands, operands[0].start, operands[-1].end)

    def and_chain(self, *operands: Node) -> And:
        return And(operands, operands[0].start, operands[-1].end)

    def negation(self, tok: Tok, operand: Node) -> Not:
        return Not(operand, tok.start_pos, operand.end)

    def group(self, lpar: Tok, inner: Node, rpar: Tok) -> Group:
        return Group(inner, lpar.start_pos, rpar.end_pos)

    def all(self, tok: Tok) -> All:
        return All(tok.start_pos, tok.end_pos)

    def compare(self, field: FieldRef, op: Tok, value: Value) -> Comparison:
        text = op[1]
        canonical = _CANONICAL_OPERATOR.get(text)
        if canonical is None:  # a keyword in another case: LIKE, Contains
            canonical = text.lower()
        return Comparison(field, canonical, value, field.start, value.end)

    def compare_not(self, field: FieldRef, _not: Tok, op: Tok, value: Value) -> Comparison:
        return Comparison(field, f"not {op[1].lower()}", value, field.start, value.end)

    def in_list(self, field: FieldRef, _in: Tok, values: _List) -> Comparison:
        return Comparison(field, "in", values.values, field.start, values.end)

    def not_in_list(self, field: FieldRef, _not: Tok, _in: Tok, values: _List) -> Comparison:
        return Comparison(field, "not in", values.values, field.start, values.end)

    def is_null(self, field: FieldRef, _is: Tok, null: Tok) -> Comparison:
        return Comparison(field, "is null", None, field.start, null.end_pos)

    def is_not_null(self, field: FieldRef, _is: Tok, _not: Tok, null: Tok) -> Comparison:
        return Comparison(field, "is not null", None, field.start, null.end_pos)

    def is_empty(self, field: FieldRef, _is: Tok, empty: Tok) -> Comparison:
        return Comparison(field, "is empty", None, field.start, empty.end_pos)

    def bare(self, field: FieldRef) -> Comparison:
        value = Value("boolean", True, field.start, field.end)
        return Comparison(field, "=", value, field.start, field.end)

    # The methods for the commonest rules unpack tokens as the tuples they are (faster than
    # their named properties).

    def name(self, name: Tok) -> FieldRef:
        _, text, start, end = name
        return FieldRef((text,), None, start, end)

    def field(self, *tokens: Tok) -> FieldRef:
        parts = tuple(t.value for t in tokens if t.type == "NAME")
        key = None
        if tokens[-1].type == "RSQB":
            key_token = tokens[-2]
            key = decode_string(str(key_token), key_token.start_pos)
        return FieldRef(parts, key, tokens[0].start_pos, tokens[-1].end_pos)

    def list(self, lsqb: Tok, *rest: Any) -> _List:
        rsqb: Tok = rest[-1]
        return _List(tuple(rest[:-1]), lsqb.start_pos, rsqb.end_pos)

    def string(self, tok: Tok) -> Value:
        _, raw, start, end = tok
        body = raw[1:-1]
        if not body.isprintable() or "\\" in body:  # decode_string's own fast case, inline
            body = decode_string(raw, start)
        return Value("string", body, start, end)

    def number(self, tok: Tok) -> Value:
        _, text, start, end = tok
        whole = "." not in text and "e" not in text and "E" not in text
        if whole and len(text) <= _MAX_WHOLE_DIGITS:
            return Value("number", int(text), start, end)
        if whole:  # more digits than the largest double has
            shown = text if len(text) <= 40 else f"{text[:20]}… ({len(text):,} characters)"
            raise LexProblem(
                "number-out-of-range",
                f"{shown} is too large for a double",
                start,
                end,
                "numbers reach about 1.8e308",
            )
        return Value("number", float(text), start, end)

    def true(self, tok: Tok) -> Value:
        return Value("boolean", True, tok.start_pos, tok.end_pos)

    def false(self, tok: Tok) -> Value:
        return Value("boolean", False, tok.start_pos, tok.end_pos)

    def now(self, tok: Tok) -> Value:
        return Value("now", "", tok.start_pos, tok.end_pos)

    def now_minus(self, tok: Tok, _minus: Tok, duration: Tok) -> Value:
        return Value("now", str(duration), tok.start_pos, duration.end_pos)


class _List:
    """The values of `[...]` with the span of the brackets (only inside the transformer)."""

    __slots__ = ("end", "start", "values")

    def __init__(self, values: tuple[Value, ...], start: int, end: int) -> None:
        self.values = values
        self.start = start
        self.end = end


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The parser of the grammar, built once."""
    return Engine(load_tables(), _ToAst())


def parse(
    text: str, *, max_length: int = DEFAULT_MAX_LENGTH, max_depth: int = DEFAULT_MAX_DEPTH
) -> Node:
    """Parse filter text into its AST, each node with its source span.

    Args:
        text: the filter, e.g. `user_cost > 5 and model = "gpt-4o"`.
        max_length: the longest text accepted, in characters.
        max_depth: the deepest nesting of parentheses and `not` accepted.

    Returns:
        The root node; an empty or blank filter is an `All` spanning the whole text.

    Raises:
        FilterSyntaxError: the text does not follow the grammar or passes a limit.

    Example:
        >>> parse("cached").op
        '='
    """
    if len(text) > max_length:
        raise FilterSyntaxError(
            [
                make_problem(
                    text,
                    "too-long",
                    f"the filter is {len(text):,} characters long; the limit is {max_length:,}",
                    max_length,
                    len(text),
                    "shorten the filter, or raise the limit (max_length=)",
                )
            ],
            text,
        )
    if text.count("(") > max_depth:
        _check_paren_depth(text, max_depth)
    try:
        stack = [0]
        root = cast(Node | None, engine().parse(text, stack))
    except LexProblem as e:
        raise FilterSyntaxError([make_problem(text, *e.args5)], text) from None
    except ParseFailure as e:
        raise FilterSyntaxError([_explain(text, e)], text) from None
    if root is None:
        return All(0, len(text))
    # Each level of nesting takes at least one place on the parser's stack, so a stack that
    # stayed shallow proves the filter is; only a deep one needs the walk.
    if stack[0] > max_depth:
        _check_depth(text, root, max_depth)
    return root


def _too_deep(text: str, start: int, end: int, max_depth: int) -> FilterSyntaxError:
    return FilterSyntaxError(
        [
            make_problem(
                text,
                "too-deep",
                f"parentheses and 'not' nest more than {max_depth} levels deep here",
                start,
                end,
                "flatten the filter: 'a and (b and c)' is 'a and b and c'; "
                "or raise the limit (max_depth=)",
            )
        ],
        text,
    )


_PAREN_SCAN = re.compile(r"\"[^\"\\]*(?:\\[\s\S][^\"\\]*)*\"|'[^'\\]*(?:\\[\s\S][^'\\]*)*'|[()]")


def _check_paren_depth(text: str, max_depth: int) -> None:
    """Fail fast on deep parentheses, before the parser reads them all."""
    depth = 0
    for m in _PAREN_SCAN.finditer(text):
        c = m.group()
        if c == "(":
            depth += 1
            if depth > max_depth:
                raise _too_deep(text, m.start(), m.start() + 1, max_depth)
        elif c == ")":
            depth = max(0, depth - 1)


def _check_depth(text: str, root: Node, max_depth: int) -> None:
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (Group, Not)):
            depth += 1
            if depth > max_depth:
                width = 3 if isinstance(node, Not) and text[node.start] != "!" else 1
                raise _too_deep(text, node.start, node.start + width, max_depth)
            stack.append((node.inner if isinstance(node, Group) else node.operand, depth))
        elif isinstance(node, (And, Or)):
            stack.extend((child, depth) for child in node.operands)


# ---------------------------------------------------------------------------------------------
# Syntax errors in a user's words

_VALUE_TERMINALS = frozenset({"STRING", "NUMBER", "TRUE", "FALSE", "NOW"})
# The terminals an operator starts with (`not` starts other things too).
_OPERATOR_TERMINALS = frozenset(op.terminal for op in OPERATORS) - {"NOT"}
# The operators as a list for messages: each first word once (`in`, `is`, not `is null`).
_OPERATOR_LIST = ", ".join(
    dict.fromkeys(op.text.split()[0] for op in OPERATORS if not op.text.startswith("not "))
)
_WORDS = {
    "NAME": "a field name",
    "STRING": "a string",
    "NUMBER": "a number",
    "TRUE": "true",
    "FALSE": "false",
    "NOW": "now",
    "MINUS": "'-'",
    "DURATION": "a duration such as 7d",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "_COMMA": "','",
    "COMMA": "','",
    "DOT": "'.'",
    "_AND": "'and'",
    "_OR": "'or'",
    "NOT": "'not'",
    "BANG": "'!'",
    "ALL": "all",
    **{t: f"'{t.lower()}'" for t in sorted(_OPERATOR_TERMINALS - {"CMP"})},
    "NULL": "null",
    "EMPTY": "empty",
    "CMP": "a comparison operator",
    "$END": "the end of the filter",
}
_ORDER = list(_WORDS)

# Words people reach for, mapped to the operator this language spells them with: the
# operators' first words and JSON names, what other tools call them, and pattern words.
_OPERATOR_WORDS = {
    **{
        op.text.split()[0]: op.text.split()[0]
        for op in OPERATORS
        if op.text[0].isalpha() and not op.text.startswith("not ")
    },
    **{op.json: op.text for op in OPERATORS if op.json},
    **{word: op.text for op in OPERATORS for word in op.mistakes},
    "startswith": 'like "abc%"',
    "starts_with": 'like "abc%"',
    "endswith": 'like "%abc"',
    "ends_with": 'like "%abc"',
}
# What makes a word, or an operator, say "not": `nin`, `neq`, `unlike`, `excludes`, `!=`...
_NEGATIVE = re.compile(
    r"(?i)^(?:n(?!ull)|un|non)|not|n't|isnt|doesnt|exclud|lack|without|none|differ|!="
)


def _negative(word: str) -> bool:
    """Whether an operator, or a word for one, says that something does not hold."""
    return _NEGATIVE.search(word) is not None


# Words for a negated `like`, which Helicone lacks: no operator is near enough to suggest.
_NOT_LIKE = frozenset(
    {"notlike", "not_like", "nlike", "unlike", "notilike", "not_ilike", "nilike", "not-like"}
)
_SWAPPED = {"=>": ">=", "=<": "<=", "=!": "!=", "><": "!="}


def _describe_expected(expected: set[str]) -> str:
    if expected & _OPERATOR_TERMINALS and "CMP" in expected:
        return f"an operator ({_OPERATOR_LIST})"
    if {"STRING", "NUMBER"} <= expected:
        return 'a value: a number, a "quoted string", true, false or now - 7d'
    if {"NAME", "LPAR"} <= expected:
        return "a condition such as user_cost > 5, 'not' or '('"
    if expected == {"NULL", "NOT", "EMPTY"}:
        return "null, not null or empty"
    words = [_WORDS.get(t, t.lower()) for t in sorted(expected, key=_sort_key)]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _sort_key(term: str) -> int:
    return _ORDER.index(term) if term in _WORDS else len(_ORDER)


def _describe_token(tok: Tok) -> str:
    if tok.type == "$END":
        return "the end of the filter"
    if tok.type == "STRING":
        return f"string {tok}"
    if tok.type == "NUMBER":
        return f"number {tok}"
    return f"'{tok}'"


def _unmatched_paren(text: str, upto: int) -> int | None:
    opened: list[int] = []
    for m in _PAREN_SCAN.finditer(text, 0, upto):
        if m.group() == "(":
            opened.append(m.start())
        elif m.group() == ")" and opened:
            opened.pop()
    return opened[-1] if opened else None


_WORD_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_WORD_PART = _WORD_START | frozenset("0123456789-")


def _word_before(text: str, end: int) -> tuple[int, int] | None:
    """The span of the name-like word that ends `text[:end]` (white space after it skipped),
    or None. A walk back from `end`, so a long word costs its length once, never squared."""
    stop = end
    while stop > 0 and text[stop - 1].isspace():
        stop -= 1
    start = stop
    while start > 0 and text[start - 1] in _WORD_PART:
        start -= 1
    while start < stop and text[start] not in _WORD_START:
        start += 1
    return (start, stop) if start < stop else None


def _explain(text: str, err: ParseFailure) -> Problem:
    """Turn a parse failure into a Problem that says what was expected in plain words."""
    if err.token is None:
        pos = err.pos
        char = text[pos]
        if char in SMART_QUOTES:
            close = next((i for i in range(pos + 1, len(text)) if text[i] in SMART_QUOTES), None)
            edits = [(pos, pos + 1, '"')] + ([(close, close + 1, '"')] if close else [])
            return make_problem(
                text,
                "smart-quote",
                f"typographic quote {char} cannot delimit a string",
                pos,
                pos + 1,
                "use straight quotes: \"...\" or '...'",
                (tuple(edits),),
            )
        if char in "\"'":
            return make_problem(
                text,
                "unterminated-string",
                "this string is never closed",
                pos,
                len(text),
                f"add the closing {char}; write \\{char} for a quote inside the string",
            )
        if char in "&|":
            return make_problem(
                text,
                "unexpected-character",
                f"unexpected character {char!r}",
                pos,
                pos + 1,
                "write 'and' (or &&) and 'or' (or ||)",
            )
        expected = err.expected
        hint = ""
        if "DURATION" in expected:
            run = re.match(r"\w*", text[pos:])
            end = pos + max(1, run.end() if run else 0)
            return make_problem(
                text,
                "unexpected-character",
                f"'{text[pos:end]}' is not a duration",
                pos,
                end,
                "a duration is digits and a lower-case unit, s, m, h, d or w: now - 7d",
            )
        bad_number = _BAD_NUMBER.match(text, pos)
        if "NUMBER" in expected and bad_number is not None:
            return _invalid_number(text, bad_number)
        if {"STRING", "NUMBER"} <= expected:
            m = re.match(r"\S+", text[pos:])
            word = m.group() if m else char
            hint = f"quote text values: {quote(word)}" if word[:1].isalpha() else ""
        return make_problem(
            text,
            "unexpected-character",
            f"unexpected character {char!r}; expected {_describe_expected(expected)}",
            pos,
            pos + 1,
            hint,
        )
    tok: Tok = err.token
    expected = err.expected
    start, end = tok.start_pos, tok.end_pos
    at_end = tok.type == "$END"
    if at_end:
        start = end = len(text)
    code = "unexpected-end" if at_end else "unexpected-token"
    fixes: tuple[tuple[int, int, str], ...] = ()
    what = _describe_token(tok)
    message = f"unexpected {what}; expected {_describe_expected(expected)}"
    if at_end:
        message = f"the filter ends too early; expected {_describe_expected(expected)}"
    hint = ""
    before = _word_before(text, start) if "CMP" in expected else None
    if (
        before is not None
        and text[before[0] : before[1]].lower() in KEYWORDS
        and text[before[0] - 1 : before[0]] != "."
    ):
        # `and x = 1`: the keyword was read as a field name because a condition was due.
        word = text[before[0] : before[1]]
        return make_problem(
            text,
            "unexpected-token",
            f"unexpected '{word}'; expected a condition such as user_cost > 5, 'not' or '('",
            before[0],
            before[1],
            f"'{word.lower()}' is a keyword; put a condition before it",
        )
    if "CMP" in expected and tok.type == "NAME" and str(tok).lower() in _NOT_LIKE:
        code, message = "unknown-operator", f"unknown operator '{tok}'"
        hint = "Helicone has no 'not like'; for a substring test write not contains \"...\""
    elif "CMP" in expected and tok.type == "NAME":
        word = str(tok)
        suggestion = _OPERATOR_WORDS.get(word.lower())
        if suggestion is None:
            near = closest(word, _OPERATOR_WORDS)
            suggestion = _OPERATOR_WORDS[near[0]] if near else None
            # A near word is no suggestion when it says the opposite (`notlike`: 'like').
            if suggestion is not None and _negative(word) != _negative(suggestion):
                suggestion = None
        if suggestion is not None:
            code = "unknown-operator"
            message = f"unknown operator '{word}'"
            hint = f"did you mean '{suggestion}'?"
            if '"' not in suggestion:  # an operator, not an example such as like "abc%"
                fixes = ((start, end, suggestion),)
    elif expected >= _VALUE_TERMINALS and not at_end:
        pair = text[start - 1 : start + 1] if start else ""
        if tok.type in ("CMP", "BANG") and pair in _SWAPPED:
            return make_problem(
                text,
                "unknown-operator",
                f"unknown operator '{pair}'",
                start - 1,
                start + 1,
                f"did you mean '{_SWAPPED[pair]}'?",
                (((start - 1, start + 1, _SWAPPED[pair]),),),
            )
        bad_number = _BAD_NUMBER.match(text, start)
        if tok.type == "DOT" and bad_number is not None:
            return _invalid_number(text, bad_number)
        if tok.type == "NAME":
            code = "unquoted-string"
            message = f"unquoted text '{tok}' where a value was expected"
            hint = f"quote text values: {quote(str(tok))}"
            fixes = ((start, end, quote(str(tok))),)
        elif tok.type in ("NULL", "EMPTY"):
            hint, fixes = _magic_hint(text, start, end, str(tok).lower())
        elif tok.type == "DURATION":
            hint = f"a relative time is written now - {tok}"
        elif tok.type == "LSQB":
            hint = "a list of values follows 'in' or 'not in'"
    elif tok.type == "RPAR" and "RPAR" not in expected and _unmatched_paren(text, start) is None:
        message = "')' has no '(' to close"
        hint = "remove it, or add the '(' it closes"
    elif tok.type == "BANG" and expected & _OPERATOR_TERMINALS:
        hint = "'!' only negates a whole condition; write 'not in' or 'not contains'"
    if at_end and "RPAR" in expected:
        opened = _unmatched_paren(text, len(text))
        if opened is not None:
            col = opened - (text.rfind("\n", 0, opened) + 1) + 1
            hint = f"close the '(' at column {col} with ')'"
    return make_problem(text, code, message, start, end, hint, (fixes,) if fixes else ())


# What a user may have meant as a number: `5.`, `.5`, `05`, `+5`, `1_000`, `1.2.3`, `5abc`.
# The operator and the field before `null` / `empty` written as a value (`model != null`).
_BEFORE_MAGIC = re.compile(
    r"(?P<field>[A-Za-z_][\w.-]*(?:\[[^\]]*\])?)?\s*(?P<op>==|!=|<>|>=|<=|=|>|<|\w+)\s*$"
)


def _magic_hint(text: str, start: int, end: int, word: str) -> tuple[str, Fix]:
    """The hint and fix-it for `null` or `empty` written as a value after an operator: `= null`
    is `is null`, `!= null` is `is not null`, `= empty` is `is empty`, on the text fields that
    take them; other operators have no such test (and `is empty` no negation)."""
    m = _BEFORE_MAGIC.search(text, max(0, start - 200), start)
    op = m.group("op") if m else ""
    written = (m.group("field") if m else None) or ""
    parts = written.split(".")
    if len(parts) > 1 and parts[0] in TABLES:
        parts.pop(0)
    field = FIELDS.get(parts[0]) if len(parts) == 1 else None
    if m is None or field is None or f"is {word}" not in ALLOWED_OPERATORS[field.kind]:
        kinds = " and ".join(k for k, ops in ALLOWED_OPERATORS.items() if f"is {word}" in ops)
        return f"'{word}' is no value: only {kinds} fields are tested with 'is {word}'", ()
    negated = op in ("!=", "<>")
    if op in ("=", "=="):
        test = f"is {word}"
    elif negated and word == "null":
        test = "is not null"
    elif negated:
        empty = "the all-zero UUID" if field.family == "uuid" else '""'
        return f"'is empty' has no negation: for a value, test {written} != {empty}", ()
    else:
        other = " or is not null" if word == "null" else ""
        return f"'{op}' does not test for {word}: write {written} is {word}{other}", ()
    return f"write {written} {test}", ((m.start("op"), end, test),)


_BAD_NUMBER = re.compile(r"[-+]?(?:[0-9]|\.[0-9])[0-9A-Za-z_.+-]*")


def _invalid_number(text: str, m: re.Match[str]) -> Problem:
    return make_problem(
        text,
        "invalid-number",
        f"'{m.group()}' is not a number",
        m.start(),
        m.end(),
        "write numbers as in JSON: 5, -2.5, 0.5, 1e3 (no leading zeros, '+', '_' or "
        "trailing '.'); quote text",
    )


def iter_nodes(root: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children, without recursion."""
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (And, Or)):
            stack.extend(reversed(node.operands))
        elif isinstance(node, Group):
            stack.append(node.inner)
        elif isinstance(node, Not):
            stack.append(node.operand)
