"""Every problem code, in one table: its severity and what it means.

A code is the stable name of one kind of problem (`unknown-field`, `or-across-tables`): the
thing a program tests, where the message is for a person. The front ends, the facts and the
analysis raise them from several modules; this table is the one list of them, read by
`errors.Problem` (whose constructor refuses a code that is not here, however a problem is
made), by `errors.make_problem` (which takes its severity from here), by the tests (which
check that each code raised is here, that each code here is raised, and that docs/api.md
lists exactly these) and by the documentation.

Most codes have one severity. A few are raised at both: `Code.otherwise` says where the other
one is given, and `Code.why` why. This module imports nothing of the package, so anything may
read it.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

Severity = Literal["error", "warning"]


class Code(NamedTuple):
    """One problem code.

    Attributes:
        severity: "error" (Helicone refuses the filter, or its query fails, or the input is no
            filter at all) or "warning" (it runs, but probably not as meant); what
            `make_problem` gives.
        meaning: what the code means, in one line.
        otherwise: where the code is raised at the other severity ("warning in JSON"); ""
            when never.
        why: why it is raised at both; "" when it is not.
    """

    severity: Severity
    meaning: str
    otherwise: str = ""
    why: str = ""


def _error(meaning: str, both: dict[str, str] | None = None) -> Code:
    return Code("error", meaning, **(both or {}))


def _warning(meaning: str) -> Code:
    return Code("warning", meaning)


# The overflows Helicone runs with another value than written.
_RUNS_OTHERWISE = {
    "otherwise": "warning in JSON",
    "why": "Helicone runs JSON with the value it reads, which normalize writes; filter text "
    "must mean what it says",
}
# A leaf with several conditions: `check` refuses it, `sql` keeps the one Helicone keeps.
_KEEPS_ONE = {"otherwise": "warning from sql", "why": "sql keeps the one Helicone keeps"}

CODES: Final[dict[str, Code]] = {
    # -- reading filter text ---------------------------------------------------------------
    "too-long": _error("the filter text is longer than the limit (max_length)"),
    "too-deep": _error("parentheses and not nest deeper than the limit (max_depth)"),
    "unexpected-character": _error("a character the grammar does not allow where it stands"),
    "unexpected-token": _error("a word or symbol the grammar does not allow where it stands"),
    "unexpected-end": _error("the filter text ends before what it started is complete"),
    "unterminated-string": _error("a quoted string is never closed"),
    "smart-quote": _error("a typographic quote where a straight one must delimit a string"),
    "invalid-escape": _error("a backslash escape in a string that the language does not have"),
    "control-character": _error("a raw control character inside a string"),
    "invalid-number": _error("a number not written as JSON writes numbers (05, .5, +5, 1_000)"),
    "unquoted-string": _error("a bare word where a value is due: text values are quoted"),
    "unknown-operator": _error("an operator that does not exist"),
    # -- the arguments beside the filter ---------------------------------------------------
    "invalid-argument": _error("an argument the function does not take: an unknown endpoint"),
    "wrong-argument-type": _error("an argument of the wrong type: compile(123), now='2025-01-01'"),
    # -- reading JSON ----------------------------------------------------------------------
    "invalid-json": _error("the input is not valid JSON"),
    "json-too-deep": _error("the JSON nests too deeply to read"),
    "number-too-long": _error("a JSON number of more digits than can be read"),
    "not-json": _error("a Python value given as a filter that JSON cannot hold"),
    # -- the shape of a FilterNode ---------------------------------------------------------
    "not-a-filter": _error('a value that is no filter node: not "all", a leaf or a branch'),
    "missing-branch-key": _error("a branch without its left, operator or right"),
    "extra-branch-key": _error("a branch with a key other than left, operator and right"),
    "invalid-branch-operator": _error('a branch operator other than "and" or "or"'),
    "not-an-object": _error("a table or column that holds something other than an object"),
    "empty-table": _error("a table that names no column (Helicone fails with HTTP 500)"),
    "empty-column": _error("a column or map key with no operator (Helicone fails with HTTP 500)"),
    "multiple-columns": _error("a leaf names several columns; Helicone keeps one", _KEEPS_ONE),
    "multiple-keys": _error("a leaf names several map keys; Helicone keeps one", _KEEPS_ONE),
    "multiple-operators": _error("a leaf has several operators; Helicone keeps one", _KEEPS_ONE),
    "empty-filter": _warning("the filter is empty, so it matches everything"),
    "empty-leaf": _warning("{} inside a branch, which Helicone reads as true"),
    "several-tables": _warning("one leaf names both tables, which Helicone joins with and"),
    # -- names -----------------------------------------------------------------------------
    "unknown-table": _error("a table that does not exist"),
    "unknown-field": _error("a column that does not exist (in that table)"),
    "not-a-map": _error("a key on a column that is not a map"),
    "missing-map-key": _error("a map column without the key to test"),
    "invalid-map-key": _error("a map key named in more than one way (a dot and brackets)"),
    "proto-key": _error("the map key __proto__, which Helicone's JavaScript reads as no key"),
    "no-column": _error("a field Helicone's table has no column for: every query on it fails"),
    "operator-not-allowed": _error("an operator the field's kind does not take"),
    "other-endpoint": _error("a field or table of another endpoint: this one answers 422"),
    "dropped-column": _error("a column the endpoint drops without a word (it reads as true)"),
    "table-fails": _error("a table the endpoint takes but cannot run: an empty page or HTTP 500"),
    # -- conditions together ---------------------------------------------------------------
    "all-combined": _error("all joined with other conditions"),
    "not-negatable": _error("not over what Helicone has no opposite of (all, is empty, like)"),
    "empty-list": _error("in or not in with an empty list"),
    "or-across-tables": _error("or joins conditions on both tables: Helicone answers every user"),
    "too-deep-for-helicone": _error("a tree deeper than Helicone's validator and SQL can run"),
    # -- values ----------------------------------------------------------------------------
    "wrong-value-type": _error("a value of a type the field does not take"),
    "array-value": _error("an array where one value is due, which Helicone unwraps"),
    "null-value": _error("null for a boolean, which Helicone reads as false"),
    "number-out-of-range": _error("a number too large: past a double (in text, past 2^53 - 1)"),
    "invalid-character": _error("a string or key that holds a lone surrogate"),
    "invalid-timestamp": _error("a timestamp Helicone refuses, or writes as SQL cannot read"),
    "invalid-date": _error("a timestamp Helicone accepts but reads no date from (HTTP 500)"),
    "converted-value": _warning("a value Helicone converts: a string to a number or a boolean"),
    "timestamp-spelling": _warning("a timestamp Helicone reads as another moment than written"),
    "timestamp-without-zone": _warning("a timestamp without a zone, read in the server's zone"),
    "rounded-integer": _warning("an integer past 2^53 - 1, which JavaScript rounds"),
    "timestamp-out-of-range": _warning("a timestamp outside 1970 to 2106, which SQL clamps"),
    "milliseconds-dropped": _warning("a timestamp with milliseconds, compared in whole seconds"),
    # -- what Helicone's SQL does with a value ---------------------------------------------
    "number-fails": _error("a number JavaScript writes in a form SQL cannot bind"),
    "int32-overflow": _error(
        "a whole number past the 32-bit integer Helicone binds it as", _RUNS_OTHERWISE
    ),
    "cost-overflow": _error("a request cost bound past the 32-bit nano-dollars", _RUNS_OTHERWISE),
    "int64-overflow": _error("a score past the Int64 ClickHouse reads it as", _RUNS_OTHERWISE),
    "uuid-operator": _error("a pattern operator on a UUID column, which SQL cannot match"),
    "invalid-uuid": _error("a value on a UUID column that is not a UUID"),
    "scores-operator": _error("a pattern operator on a score, which SQL cannot match"),
    "invalid-score": _error("a score that is not a whole number"),
    "scores-column": _error("scores_column compared other than with a map literal"),
    "null-contains": _error('"null" under contains, which Helicone pastes into SQL as NULL'),
    "null-magic": _warning('"null" under a pattern, pasted as NULL: it matches nothing'),
    "empty-magic": _error('"__empty__" other than under equals, pasted into SQL as a name'),
    "like-trailing-escape": _error("a like pattern that ends in a lone backslash"),
    "contains-wildcard": _warning("% or _ under contains, which Helicone leaves as wildcards"),
    "session-tag-magic": _error('"null" or "__empty__" on session_tag, pasted into SQL as is'),
    "session-tag-contains": _warning("contains on session_tag, which Helicone runs without %"),
    # -- the analysis ----------------------------------------------------------------------
    "never-matches": _warning("conditions in one and that cannot all hold"),
    "always-matches": _warning("conditions in one or that cover every row (where set)"),
    "redundant": _warning("a condition another in its chain makes needless"),
    "duplicate": _warning("a condition written twice in one chain"),
}


class UnregisteredCode(LookupError):
    """A problem was made with a code that is not in `CODES`: a bug in the package."""


def code(name: str) -> Code:
    """The registered code `name`.

    Raises:
        UnregisteredCode: it is not registered.

    Example:
        >>> code("unknown-field").severity
        'error'
    """
    found = CODES.get(name)
    if found is None:
        raise UnregisteredCode(f"problem code {name!r} is not registered in CODES")
    return found


def severity(name: str) -> Severity:
    """The severity a problem of code `name` has where it is made (see `Code.otherwise`).

    Raises:
        UnregisteredCode: the code is not registered.
    """
    return code(name).severity


__all__ = ["CODES", "Code", "Severity", "UnregisteredCode", "code", "severity"]
