"""The error types, the problems they carry, and the rendering of a caret under the mistake."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, Self

from helicone_filter.problems import CODES, severity
from helicone_filter.problems import Severity as Severity  # Problem.severity's type
from helicone_filter.value_class import Record

# How the places that find a problem write a fix-it: edits to make together, each replacing
# text[start:end] (code points) with the string. `make_problem` makes each a `Fix`.
Edit = tuple[int, int, str]
Edits = tuple[Edit, ...]


class Fix(Record):
    """One way to mend a problem: replace `text[start:end]` with `replacement`. The one shape
    of a fix-it everywhere: `Problem.fixes`, a diagnostic's fixes, the command line's JSON and
    the service's.

    Attributes:
        start: where the replaced text starts, in code points.
        end: where it ends (exclusive), in code points; equal to `start` to insert.
        replacement: the text to put there ("" to delete).
        start_utf16: `start` in UTF-16 code units (a browser's, JavaScript's offsets).
        end_utf16: `end` in UTF-16 code units.
    """

    start: int
    end: int
    replacement: str
    start_utf16: int
    end_utf16: int

    def apply(self, text: str) -> str:
        """`text` with this fix made.

        Example:
            >>> Fix(0, 5, "model", 0, 5).apply("modle = 1")
            'model = 1'
        """
        return text[: self.start] + self.replacement + text[self.end :]


# A line longer than this is shown as a window around the problem.
_WINDOW = 100


class Problem(Record):
    """One thing wrong with a filter. Making one with a code that is not registered in
    problems.CODES raises `UnregisteredCode` (a bug), however it is made.

    Attributes:
        code: stable kebab-case identifier, e.g. `unknown-field`; each is registered, with
            its meaning, in problems.CODES.
        message: what is wrong, in a user's words.
        start: offset (code points) where the offending text starts; 0 where there is no
            text (a problem of JSON input, or of an argument).
        end: offset where it ends (exclusive); equal to `start` at the end of the input.
        line: 1-based line of `start`, or None where there is no text to point into (a
            problem of JSON input has its `path` instead).
        column: 1-based column of `start`, in code points, or None as `line`.
        hint: how to fix it, or "" when there is nothing more to say.
        severity: "error", or "warning" for something that works but probably not as meant.
        path: for JSON input, the JSON path of the offending value (`$.left.users_view`).
        fixes: ways to mend it, each a `Fix` (`start`, `end`, `replacement`, and the offsets
            in UTF-16 code units). Filter text only.
    """

    code: str
    message: str
    start: int
    end: int
    line: int | None
    column: int | None
    hint: str = ""
    severity: Severity = "error"
    path: str | None = None
    fixes: tuple[Fix, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The problem as JSON-ready data (each fix an object too), as the command line and
        the service write it."""
        return {**super().as_dict(), "fixes": [f.as_dict() for f in self.fixes]}

    def __new__(cls, code: str, *fields: Any, **named: Any) -> Self:
        # The one place every Problem is made through (Record writes `__init__` itself).
        if code not in CODES:
            severity(code)  # raises UnregisteredCode
        return super().__new__(cls)

    def __reduce__(self) -> tuple[type[Problem], tuple[Any, ...]]:
        # Copies and pickles (a worker's problems) are made by the constructor too.
        return type(self), self._values()


def make_problem(
    text: str,
    code: str,
    message: str,
    start: int,
    end: int,
    hint: str = "",
    fixes: tuple[Edits, ...] = (),
) -> Problem:
    """A Problem about `text[start:end]`, with its line and column worked out, and the
    severity registered for its code (problems.CODES): the usual way to make one about text.
    Each of `fixes` (edits to make together) becomes one `Fix`: several edits, the stretch
    from the first to the last with the edits made in it.

    Raises:
        UnregisteredCode: `code` is not registered, which is a bug.
    """
    level = severity(code)
    starts = line_starts(text)
    line = bisect.bisect_right(starts, start)
    column = start - starts[line - 1] + 1
    made = tuple(_fix(text, edits) for edits in fixes if edits)
    return Problem(code, message, start, end, line, column, hint, level, fixes=made)


def _fix(text: str, edits: Edits) -> Fix:
    """The edits, made together, as one Fix on `text`."""
    ordered = sorted(edits)
    start, end = ordered[0][0], max(e for _, e, _ in ordered)
    out, at = [], start
    for s, e, new in ordered:
        out.append(text[at:s] + new)
        at = max(at, e)
    replacement = "".join(out) + text[at:end]
    astral = _astral(text)
    return Fix(
        start,
        end,
        replacement,
        start + bisect.bisect_left(astral, start),
        end + bisect.bisect_left(astral, end),
    )


# The characters beyond U+FFFF (two UTF-16 code units each) of the last few texts fixes were
# made on, as line_starts keeps line starts.
_ASTRAL: dict[int, tuple[str, list[int]]] = {}


def _astral(text: str) -> list[int]:
    found = _ASTRAL.get(id(text))
    if found is not None and found[0] is text:
        return found[1]
    astral = [i for i, c in enumerate(text) if ord(c) > 0xFFFF] if not text.isascii() else []
    if len(_ASTRAL) >= 4:
        _ASTRAL.clear()
    _ASTRAL[id(text)] = (text, astral)
    return astral


# The line starts of the last few texts problems were made about: a filter with 10,000
# problems must not count its lines 10,000 times. Entries hold their text, so that an id is
# never taken for another text's.
_LINE_STARTS: dict[int, tuple[str, list[int]]] = {}


def line_starts(text: str) -> list[int]:
    """The offset where each line of `text` starts (the first is 0)."""
    found = _LINE_STARTS.get(id(text))
    if found is not None and found[0] is text:
        return found[1]
    starts = [0, *(m.end() for m in _NEWLINE.finditer(text))] if "\n" in text else [0]
    if len(_LINE_STARTS) >= 4:
        _LINE_STARTS.clear()
    _LINE_STARTS[id(text)] = (text, starts)
    return starts


_NEWLINE = re.compile("\n")


class FilterError(ValueError):
    """The root of every error raised for a bad filter (or a bad argument beside it); carries
    all its `problems`. Pickles and copies whole (an error from a worker process)."""

    def __init__(self, problems: Sequence[Problem], text: str = "") -> None:
        self.problems: list[Problem] = list(problems)
        self.text = text
        super().__init__(self.problems[0].message if self.problems else "bad filter")

    def __reduce__(self) -> tuple[Any, ...]:
        # Made again from its problems and text (the exception's `args` hold only the first
        # message), then given every other attribute (notes, a subclass's own).
        return type(self), (self.problems, self.text), dict(vars(self))

    @property
    def code(self) -> str:
        """The code of the first problem."""
        return self.problems[0].code

    def __str__(self) -> str:
        return "\n\n".join(render_problem(self.text, p) for p in self.problems)


class FilterSyntaxError(FilterError):
    """The text is not a filter: it does not follow the grammar, or passes a limit."""


class FilterValidationError(FilterError):
    """The filter reads, but asks for something Helicone does not allow."""


class FilterArgumentError(FilterError):
    """An argument beside the filter that the function does not take: an unknown endpoint or
    nesting, a naive `now`. A ValueError, as before; its one problem has no position."""

    @classmethod
    def because(cls, message: str, hint: str = "") -> Self:
        """The error with one problem: `message` (what was given and what is taken) and
        `hint` (how to write it)."""
        code = "invalid-argument"
        if issubclass(cls, TypeError):
            code = "wrong-argument-type"
        return cls([Problem(code, message, 0, 0, None, None, hint, "error")])


class FilterTypeError(FilterArgumentError, TypeError):
    """An argument of the wrong type: `compile(123)`, `compile({...})` (JSON where text is
    taken), `now="2025-01-01"`. Both a FilterError and a TypeError, so either catches it."""


class RowError(ValueError):
    """A row given to `matches` holds a value its column cannot hold (or is not a dict)."""


def display_width(s: str) -> int:
    """Columns `s` takes in a terminal: wide East Asian characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


# What must not reach a terminal from a filter or a server: C0 and C1 control characters and
# DEL (a terminal obeys them: ESC sequences move the cursor, set the window's title, clear the
# screen; U+009B is an ESC [ of its own), the bidi embeddings, overrides, isolates and marks
# that make a line show other than it reads, and lone surrogates (which cannot be encoded, so
# printing them fails). JSON escapes only the C0 controls.
_BEYOND_C0 = r"\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[\\x00-\\x1f{_BEYOND_C0}]")
_UNSAFE_IN_LINES = re.compile(f"[\\x00-\\x09\\x0b-\\x1f{_BEYOND_C0}]")  # all but the line break
_UNSAFE_IN_JSON = re.compile(f"[{_BEYOND_C0}]")  # JSON escapes the C0 controls itself
# What stands for an unsafe character that has no picture of its own (a C1 control, a bidi
# control, a lone surrogate): one column wide, like the control pictures.
STAND_IN = "\ufffd"


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # SYMBOL FOR ESCAPE and the other control pictures
    if code == 0x7F:
        return "\u2421"  # SYMBOL FOR DELETE
    return STAND_IN


def printable(text: str, *, newlines: bool = False) -> str:
    """`text` safe to print on a terminal: each C0 control character as its control picture
    (ESC as U+241B ␛, NUL as ␀), DEL as ␡, C1 controls, bidi controls and lone surrogates as
    U+FFFD; each takes one column, so a caret under the text stays under its character. With
    `newlines`, line breaks are kept (a message of several lines). The one cleaning of text
    from a filter or a server before it is shown.

    Example:
        >>> printable('model = "\x1b]0;PWNED\x07"')
        'model = "␛]0;PWNED␇"'
    """
    unsafe = _UNSAFE_IN_LINES if newlines else _UNSAFE
    if unsafe.search(text) is None:
        return text
    return unsafe.sub(_picture, text)


def escape_unsafe(text: str, *, ascii_only: bool = False) -> str:
    """JSON text, or a filter's canonical text, with each character `printable` would replace
    that JSON leaves as it is (DEL, C1 and bidi controls, lone surrogates) written as a
    `\\uXXXX` escape: the same JSON (the same filter), safe on a terminal and encodable. Such
    characters can only stand inside a string there, where the escape means the character.
    With `ascii_only`, every character beyond ASCII is escaped (one beyond U+FFFF as its
    surrogate pair), for an output that can write nothing else.

    Example:
        >>> escape_unsafe('{"model": "a\u202eb"}')
        '{"model": "a\\\\u202eb"}'
    """
    unsafe = _BEYOND_ASCII if ascii_only else _UNSAFE_IN_JSON
    if unsafe.search(text) is None:
        return text
    return unsafe.sub(_escape, text)


_BEYOND_ASCII = re.compile("[^\\x00-\\x7e]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def writes_unicode(stream: object) -> bool:
    """Whether `stream` can write every character: its encoding is a UTF (or it has none, a
    buffer of str), not ASCII or a legacy code page (PYTHONIOENCODING=ascii, LANG=C on a
    system without a UTF-8 locale)."""
    encoding = getattr(stream, "encoding", None)
    if not isinstance(encoding, str) or not encoding:
        return True
    import codecs

    try:
        return codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        return False


# ANSI styles (select graphic rendition codes) for `paint`.
RED, YELLOW, CYAN, BOLD = "1;31", "1;33", "36", "1"


def paint(s: str, sgr: str, on: bool) -> str:
    """`s` in the ANSI style `sgr` when `on`, else as it is."""
    return f"\x1b[{sgr}m{s}\x1b[0m" if on else s


def render_problem(
    text: str,
    problem: Problem,
    *,
    color: bool = False,
    label: bool = False,
    width: int | None = None,
) -> str:
    """The problem as a user sees it: position, message, the line with a caret, the hint.

    Example:
        line 1, column 1: unknown field 'modle'
          modle = "gpt-4"
          ^^^^^
          hint: did you mean 'model'?

    A warning's message is labelled `warning:`; with `label`, an error's is labelled `error:`
    too (the command line and the REPL label both; `str()` of a FilterError, which says it is
    an error by its type, does not). With `color`, ANSI colours for a terminal: the caret and
    an error's label in red, a warning's in yellow, the hint in cyan.

    A line longer than fits is shown as a window around the problem, `…` on each side that is
    cut: `width` is the terminal's width in columns, which the line shown and its caret line
    stay within, so that the terminal does not wrap them and the caret stays under its
    character (a wide character, CJK or emoji, takes two columns); without it, the window is
    100 columns.
    """
    where = f"line {problem.line}, column {problem.column}: "
    if problem.line is None:
        # a problem in JSON: its path, no text to show; of an argument: no place at all
        where = "" if problem.path is None else f"{printable(problem.path)}: "
    mark = YELLOW if problem.severity == "warning" else RED
    head = f"{where}{paint(printable(problem.message), BOLD, color)}"
    if problem.severity == "warning":
        head = f"{paint('warning:', mark, color)} {head}"
    elif label:
        head = f"{paint('error:', mark, color)} {head}"
    out = [head]
    if problem.line is not None:
        out += _caret_lines(text, problem, mark, color, width)
    if problem.hint:
        out.append(f"  {paint('hint:', CYAN, color)} {printable(problem.hint)}")
    return "\n".join(out)


def _caret_lines(
    text: str, problem: Problem, mark: str, color: bool, width: int | None
) -> list[str]:
    """The line of the problem (or the window of it that fits) and the caret line under it."""
    line_start = text.rfind("\n", 0, problem.start) + 1
    line_end = text.find("\n", problem.start)
    if line_end < 0:
        line_end = len(text)
    if line_end > max(line_start, problem.start) and text[line_end - 1] == "\r":
        line_end -= 1  # a CRLF line break
    # Each character shown takes the columns it takes on the terminal: a tab one (as a space),
    # a control character one (as its picture), a wide character two; so the caret stays
    # under it.
    shown = printable(text[line_start:line_end].replace("\t", " "))
    cols = [display_width(c) for c in shown]
    start = min(problem.start, line_end) - line_start
    # Within `width`: two columns of indent, and one kept free (a terminal may wrap a line
    # that fills its last column); the caret at the end of the text needs a column too.
    if width is None:  # no terminal to fit: 100 columns, beside the `…`s
        budget, fits = _WINDOW, sum(cols) <= _WINDOW
    else:  # the `…` on each side within the width
        budget = max(width - 3, 12)
        fits = sum(cols) + (start == len(shown)) <= budget
        budget -= 2
    lo, hi = (0, len(shown)) if fits else _window(cols, start, budget)
    prefix = "…" if lo > 0 else ""
    suffix = "…" if hi < len(shown) else ""
    end = min(max(problem.end - line_start, start + 1), hi + 1)
    pad = display_width(prefix) + sum(cols[lo:start])
    carets = max(1, sum(cols[start:end]) if end <= hi else 1)
    return [
        f"  {prefix}{shown[lo:hi]}{suffix}",
        "  " + " " * pad + paint("^" * carets, mark, color),
    ]


def _window(cols: list[int], at: int, budget: int) -> tuple[int, int]:
    """The characters `[lo, hi)` of a line shown around the character `at`, `cols` being the
    columns each takes: at most `budget` columns, half of them before `at` where the line
    has them, the rest after it; a window that reaches the end of the line takes more before.
    """
    lo, used = at, 0
    while lo > 0 and used + cols[lo - 1] <= budget // 2:
        lo -= 1
        used += cols[lo]
    hi = lo
    used = 0
    while hi < len(cols) and used + cols[hi] <= budget:
        used += cols[hi]
        hi += 1
    if hi == len(cols):  # room left at the end: more of the line before the problem
        room = budget - used - (at == len(cols))  # the caret past the end needs its column
        while lo > 0 and cols[lo - 1] <= room:
            lo -= 1
            room -= cols[lo]
    return lo, max(hi, min(at + 1, len(cols)))


def closest(word: str, candidates: Iterable[str], n: int = 1) -> list[str]:
    """The candidates nearest to `word`, best first (difflib's ratio, case-insensitive)."""
    import difflib  # only when a name is wrong

    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    found = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[f] for f in found]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A hint `did you mean 'x'?` for the nearest candidate, or ""."""
    found = closest(word, candidates)
    return f"did you mean '{found[0]}'?" if found else ""
