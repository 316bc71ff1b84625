"""Why filter text is not a filter: the parser's failures explained.

When the LALR loop (`lalr.py`) meets a token it cannot take, `explain` turns the failure into
one `Problem`: what was found, what could stand there (in the language's words, from the
operator table), and a hint with a fix-it where the mistake is a common one (an operator from
another language, a word for an operator, `=>` for `>=`, smart quotes, an unquoted
timestamp or date, a number that is not one, an unclosed parenthesis, a map key with a space
after a dot, an apostrophe inside '...' or unquoted text, `not like`, `between`, FilterNode
JSON given as text). A fix-it is given only where it keeps what was meant.
"""

from __future__ import annotations

import re

from helicone_filter.errors import Edits, Problem, closest, make_problem
from helicone_filter.facts.quoting import quote
from helicone_filter.facts.schema import ALLOWED_OPERATORS, FIELDS, KEYWORDS, OPERATORS, TABLES
from helicone_filter.frontends.lalr import ParseFailure, Tok

SMART_QUOTES = "\u201c\u201d\u2018\u2019\u201e\u201f\u00ab\u00bb"
# A string (either quote) or a parenthesis: parentheses are counted outside strings only.
PAREN_SCAN = re.compile(r"\"[^\"\\]*(?:\\[\s\S][^\"\\]*)*\"|'[^'\\]*(?:\\[\s\S][^'\\]*)*'|[()]")


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
    for m in PAREN_SCAN.finditer(text, 0, upto):
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


def explain(text: str, err: ParseFailure) -> Problem:
    """Turn a parse failure into a Problem that says what was expected in plain words."""
    found = _json_given(text, err) or _common_mistake(text, err)
    if found is not None:
        return found
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
            # the whole run the user wrote as one value: `gpt-4o`, `it's`
            run = _UNQUOTED_RUN.match(text, start)
            word = run.group() if run else str(tok)
            code = "unquoted-string"
            message = f"unquoted text '{word}' where a value was expected"
            hint = f"quote text values: {quote(word)}"
            end = start + len(word)
            fixes = ((start, end, quote(word)),)
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


def _magic_hint(text: str, start: int, end: int, word: str) -> tuple[str, Edits]:
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


# -- common mistakes, each with the text that mends it -----------------------------------------

_UNQUOTED_RUN = re.compile(r"[^\s()\[\],\"]+")
_DATE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?(?![\w:.-])"
)
_SINGLE_QUOTED = re.compile(r"'[^'\\]*(?:\\[\s\S][^'\\]*)*'")
# The end of what was meant as one '...' string: a quote followed by the end, a space, `)`...
_STRING_END = re.compile(r"[^'\\\n]*'(?=$|[\s)\],])")
_MAP_DOT_KEY = re.compile(
    r"(?P<field>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\.(?P<key>[A-Za-z_][\w-]*)\s+$"
)
_KEY_WORDS = re.compile(
    r"(?:[^\s=!<>()\[\]\"',]+\s+)*?[^\s=!<>()\[\]\"',]+"
    r"(?=\s*(?:[=!<>]|(?i:not\s+contains|not\s+in|like|ilike|contains|in|is)(?![\w-])))"
)
_FIELD_BEFORE = re.compile(r"(?P<field>[A-Za-z_][\w.-]*(?:\[[^\]]*\])?)\s+$")
_VALUE = r"(?:now\s*-\s*[0-9]+[smhdw]|now|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s()]+)"
_BETWEEN = re.compile(rf"(?i:between)\s+(?P<low>{_VALUE})\s+(?i:and|&&)\s+(?P<high>{_VALUE})")
_LIKE_SUBSTRING = re.compile(r"\s*\"%(?P<inner>[^%_\"\\]+)%\"")


def _json_given(text: str, err: ParseFailure) -> Problem | None:
    """Text that starts with `{` or `[`: FilterNode JSON given where filter text is read."""
    first = len(text) - len(text.lstrip())
    at = err.pos if err.token is None else err.token.start_pos
    if at != first or text[first : first + 1] not in ("{", "["):
        return None
    return make_problem(
        text,
        "unexpected-character" if err.token is None else "unexpected-token",
        f"this looks like FilterNode JSON, not filter text; expected "
        f"{_describe_expected(err.expected)}",
        first,
        first + 1,
        "compile reads filter text such as user_cost > 5; for FilterNode JSON use "
        "check(json.loads(text)) or normalize(...) in Python, or the command line's "
        "helicone-filter check or fmt, which read JSON",
    )


def _common_mistake(text: str, err: ParseFailure) -> Problem | None:
    """A mistake people make often, said with the text that mends it; None for others."""
    tok = err.token
    if tok is None or tok.type == "$END":
        return None
    start, end = tok.start_pos, tok.end_pos
    expected = err.expected
    # `request_created_at > 2025-01-01`: a date read as the number 2025, then '-'
    if tok.type == "MINUS":
        digits = start
        while digits > 0 and text[digits - 1].isdigit():
            digits -= 1
        date = _DATE.match(text, digits) if digits < start else None
        if date is not None:
            written = quote(date.group())
            return make_problem(
                text,
                "unquoted-string",
                f"unquoted timestamp '{date.group()}' where a value was expected",
                digits,
                date.end(),
                f"quote timestamps: {written}",
                (((digits, date.end(), written),),),
            )
    # `model = 'it's'`: the apostrophe closed the string
    if start > 0 and text[start - 1] == "'":
        closed = [m for m in _SINGLE_QUOTED.finditer(text, 0, start) if m.end() == start]
        rest = _STRING_END.match(text, start)
        if closed and rest is not None:
            begin, stop = closed[-1].start(), rest.end()
            meant = text[begin + 1 : stop - 1]
            if "\\" not in meant:
                written = quote(meant)
                return make_problem(
                    text,
                    "unexpected-token",
                    f"the ' in {text[begin:stop]} ends the string it is in",
                    begin,
                    stop,
                    f"write {written}, or escape the quote: {quote(meant, chr(39))}",
                    (((begin, stop, written),),),
                )
    if "CMP" in expected and tok.type == "NAME":
        word = str(tok)
        # `properties.my key = "x"`: a key with a space after a dot
        before = _MAP_DOT_KEY.search(text, max(0, start - 300), start)
        more = _KEY_WORDS.match(text, start)
        if before is not None and more is not None and _is_map(before.group("field")):
            key = text[before.start("key") : more.end()]
            written = f"{before.group('field')}[{quote(key)}]"
            return make_problem(
                text,
                "unexpected-token",
                f"unexpected '{word}': a map key with a space cannot follow a dot",
                before.start("key"),
                more.end(),
                f"put the key in brackets: {written}",
                (((before.start(), more.end(), written),),),
            )
        if word.lower() == "between":
            return _between(text, start, end)
    # `model not like "a%"`
    if tok.type in ("LIKE", "ILIKE") and "CONTAINS" in expected:
        negation = re.search(r"(?i:not)\s+$", text[max(0, start - 50) : start])
        field = _FIELD_BEFORE.search(
            text, max(0, start - 300), start - len(negation.group()) if negation else start
        )
        name = field.group("field") if field else "field"
        pattern = _LIKE_SUBSTRING.match(text, end)
        inner = quote(pattern.group("inner")) if pattern else '"..."'
        begin = start - len(negation.group()) if negation else start
        return make_problem(
            text,
            "unknown-operator",
            f"Helicone has no 'not {str(tok).lower()}'",
            begin,
            end,
            f"for a substring test write {name} not contains {inner} (Helicone's contains "
            "ignores case); a pattern cannot be negated",
        )
    return None


def _is_map(written: str) -> bool:
    parts = written.split(".")
    if len(parts) > 1 and parts[0] in TABLES:
        parts.pop(0)
    field = FIELDS.get(parts[0]) if len(parts) == 1 else None
    return field is not None and field.kind == "map"


def _between(text: str, start: int, end: int) -> Problem:
    """`cost between 1 and 5`: one problem over the whole of it (its `and 5` is no second
    mistake), mended into both comparisons, in parentheses so that a `not` before it still
    negates the whole."""
    m = _BETWEEN.match(text, start)
    field = _FIELD_BEFORE.search(text, max(0, start - 300), start)
    if m is None or field is None:
        return make_problem(
            text,
            "unknown-operator",
            "unknown operator 'between'",
            start,
            end,
            "write field >= low and field <= high (both ends included, as SQL's BETWEEN)",
        )
    name, low, high = field.group("field"), m.group("low"), m.group("high")
    written = f"({name} >= {low} and {name} <= {high})"
    return make_problem(
        text,
        "unknown-operator",
        "unknown operator 'between'",
        start,
        m.end(),
        f"write {written}: both ends included, as SQL's BETWEEN",
        (((field.start(), m.end(), written),),),
    )
