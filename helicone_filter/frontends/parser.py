"""Text to AST: the LALR loop over the tables made ahead of time, with a transformer that
builds the syntax tree; a failure is explained by `syntax_errors.py`."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, cast

from helicone_filter.errors import FilterSyntaxError, make_problem
from helicone_filter.facts.schema import (
    OPERATOR_SYNONYMS,
    OPERATORS,
)
from helicone_filter.frontends.lalr import Engine, ParseFailure, Tok, load_tables
from helicone_filter.frontends.syntax_errors import PAREN_SCAN, explain
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
        raise FilterSyntaxError([explain(text, e)], text) from None
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


def _check_paren_depth(text: str, max_depth: int) -> None:
    """Fail fast on deep parentheses, before the parser reads them all."""
    depth = 0
    for m in PAREN_SCAN.finditer(text):
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
