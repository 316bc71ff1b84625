"""The one door to the validated form (`helicone_filter.form`): a user's filter, as text or as
FilterNode JSON (text, or already loaded), read once by its front end.

Text goes through the parser and lowering (`lower_text`); JSON through the checker
(`checker.read_json`), which is imported only when JSON comes, so that compiling text loads only the
text side. `input_source` tells the two apart (and loads JSON text), and `read_input` reads what it
told apart: the one text-or-JSON dispatch of the faces that take either (the command line, the
service, the REPL).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from helicone_filter.errors import (
    FilterArgumentError,
    FilterSyntaxError,
    FilterTypeError,
    Problem,
    make_problem,
)
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT
from helicone_filter.form import Filter
from helicone_filter.frontends.lowering import lower
from helicone_filter.frontends.parser import DEFAULT_MAX_DEPTH, DEFAULT_MAX_LENGTH, parse
from helicone_filter.value_class import Record

if TYPE_CHECKING:
    from helicone_filter.frontends.checker import Checked


def checked_now(now: datetime | None, nesting: str = "balanced") -> datetime:
    """`now`, or the current time.

    Raises:
        FilterTypeError: `now` is not a datetime, or `nesting` not a string.
        FilterArgumentError: a naive datetime, or an unknown nesting.
    """
    if not isinstance(nesting, str):
        raise FilterTypeError.because(
            f"nesting must be 'balanced' or 'right', not {_kind(nesting)}",
            'write nesting="balanced" or nesting="right"',
        )
    if nesting not in ("balanced", "right"):
        raise FilterArgumentError.because(
            f"nesting must be 'balanced' or 'right', not {nesting!r}",
            'write nesting="balanced" or nesting="right"',
        )
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime):
        raise FilterTypeError.because(
            f"now must be an aware datetime, not {_kind(now)}",
            "write now=datetime(2025, 1, 1, tzinfo=timezone.utc); "
            'for text: datetime.fromisoformat("2025-01-01T00:00:00+00:00")',
        )
    if now.tzinfo is None or now.utcoffset() is None:
        raise FilterArgumentError.because(
            "now must be an aware datetime, not a naive one",
            "e.g. datetime.now(timezone.utc), or give it a zone: now.replace(tzinfo=timezone.utc)",
        )
    return now


def checked_endpoint(endpoint: str) -> str:
    """`endpoint` itself when it names an endpoint of Helicone ("user-metrics", "requests").

    Raises:
        FilterTypeError: it is not a string.
        FilterArgumentError: it names no endpoint (the message names the known ones, and the
            one meant).
    """
    from helicone_filter.facts.endpoints import endpoint as endpoint_row

    if not isinstance(endpoint, str):
        raise FilterTypeError.because(
            f"endpoint must be a string, not {_kind(endpoint)}",
            'write endpoint="user-metrics" or endpoint="requests"',
        )
    try:
        return endpoint_row(endpoint).name
    except ValueError as e:
        raise FilterArgumentError.because(
            str(e), 'write endpoint="user-metrics" or endpoint="requests"'
        ) from None


def checked_text(text: Any, function: str) -> str:
    """`text` itself when it is filter text (a str).

    Raises:
        FilterTypeError: it is not; for FilterNode JSON (a dict), the message names the
            functions that take JSON.
    """
    if isinstance(text, str):
        return text
    if isinstance(text, dict):
        raise FilterTypeError.because(
            f"{function} takes filter text; for FilterNode JSON use check()/normalize()/to_text()",
            f"to_text(node) gives its text, which {function} takes",
        )
    raise FilterTypeError.because(
        f"{function} takes filter text (a str), not {_kind(text)}",
        f'write the filter as text, e.g. {function}("user_cost > 5")',
    )


def checked_limit(value: Any, name: str) -> int:
    """`value` itself when it is an int (a limit such as `max_length`).

    Raises:
        FilterTypeError: it is not.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise FilterTypeError.because(
        f"{name} must be an int, not {_kind(value)}", f"write {name}=1000, or leave it out"
    )


def _kind(value: object) -> str:
    """How a message names a value of the wrong type: its type, and the value if short."""
    try:
        shown = repr(value)
    except Exception:
        shown = ""
    name = type(value).__name__
    return f"{name} {shown}" if shown and len(shown) <= 40 else name


def lower_text(
    text: str,
    *,
    now: datetime | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
    endpoint: str = DEFAULT_ENDPOINT,
) -> Filter:
    """Filter text in its validated form, for an endpoint of Helicone.

    Raises:
        FilterSyntaxError, FilterValidationError: the text is not a valid filter.
        ValueError: an unknown endpoint.
    """
    checked_endpoint(endpoint)
    root = parse(checked_text(text, "lower_text"), max_length=max_length, max_depth=max_depth)
    return lower(root, text, now=checked_now(now), endpoint=endpoint)


def read_filter(
    obj: Any, *, now: datetime | None = None, endpoint: str = DEFAULT_ENDPOINT
) -> Filter:
    """A filter given as text or as FilterNode JSON (already loaded), in its validated form,
    read as Helicone reads it: a JSON leaf with several conditions is kept (Helicone keeps one
    of them, and so do `matches` and the SQL), anything Helicone fails on is refused.

    Raises:
        FilterSyntaxError, FilterValidationError: the filter is not valid.
    """
    if isinstance(obj, str):
        return lower_text(obj, now=now, endpoint=endpoint)
    return _read_json(obj, endpoint=endpoint).filter


def load_json(text: str) -> Any:
    """JSON text as Python data, for a filter given as JSON text (the command line, the service).

    Raises:
        FilterSyntaxError: the text is not JSON ("invalid-json", at the offending character), or
            nests deeper than Python's reader can follow ("json-too-deep"; far deeper than
            Helicone runs a filter).
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        problem = make_problem(
            text,
            "invalid-json",
            f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}",
            e.pos,
            min(e.pos + 1, len(text)),
        )
    except RecursionError:
        problem = make_problem(
            text,
            "json-too-deep",
            "JSON nested too deeply to read",
            0,
            len(text),
            "Helicone runs filters at most 400 branches deep",
        )
    except ValueError:  # an integer of more digits than Python converts (4,300)
        digits = re.search(r"\d{1000,}", text)
        start, end = (digits.start(), digits.end()) if digits else (0, len(text))
        problem = make_problem(
            text,
            "number-too-long",
            f"a number of {end - start:,} digits is too long to read",
            start,
            end,
            "Helicone reads numbers as doubles (about 16 digits): write a shorter number",
        )
    raise FilterSyntaxError([problem], text)


def is_json_text(text: str) -> bool:
    """Whether input is FilterNode JSON rather than filter text: filter text never starts with
    `{`, `[` or `"`, and FilterNode JSON always does."""
    return text.lstrip()[:1] in ("{", "[", '"')


class Source(Record):
    """A user's input told apart, before it is read: filter text as it came (`from_json`
    False), or FilterNode JSON (`from_json` True), loaded when it came as JSON text."""

    value: Any
    from_json: bool


def input_source(source: Any) -> Source:
    """`source` told apart: a string is filter text or, when it starts as JSON does
    (`is_json_text`), FilterNode JSON text, which is loaded (`load_json`); anything else is
    FilterNode JSON already loaded; a `Source` is already told apart.

    Raises:
        FilterSyntaxError: JSON text that is not JSON, or that Python cannot read.

    Example:
        >>> input_source('{"users_view": {"user_cost": {"gt": 5}}}').value
        {'users_view': {'user_cost': {'gt': 5}}}
        >>> input_source("cached").from_json
        False
    """
    if isinstance(source, Source):
        return source
    if not isinstance(source, str):
        return Source(source, True)
    if is_json_text(source):
        return Source(load_json(source), True)
    return Source(source, False)


class Input(Record):
    """A filter read from a user's input: its validated form, whether it came as FilterNode
    JSON (else as filter text), and its problems: for JSON the checker's (its warnings, and the
    errors tolerated); for text, its warnings when they were asked for, else none."""

    filter: Filter
    from_json: bool
    problems: tuple[Problem, ...] = ()


def read_input(
    source: Any,
    *,
    now: datetime | None = None,
    tolerated: frozenset[str] | None = None,
    warnings: bool = False,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
    endpoint: str = DEFAULT_ENDPOINT,
) -> Input:
    """A filter as a user gives it, in its validated form: a string is filter text or, when it
    starts as JSON does (`is_json_text`), FilterNode JSON text; anything else is FilterNode
    JSON already loaded (`input_source` tells them apart). JSON errors other than `tolerated`
    ones are refused (by default, None, a leaf with several conditions is read as Helicone
    reads it: `checker.SPLITTABLE`). With `warnings`, text's problems are the warnings about
    what Helicone will do unexpectedly with it. `endpoint` is the endpoint of Helicone the
    filter is for ("user-metrics" or "requests").

    Raises:
        FilterSyntaxError: the text is not a filter, or the JSON text is not JSON.
        FilterValidationError: the filter is not valid.
        ValueError: an unknown endpoint.

    Example:
        >>> read_input('{"users_view": {"user_cost": {"gt": 5}}}').from_json
        True
        >>> read_input("cached").filter.op
        'equals'
        >>> [p.code for p in read_input({"users_view": {"user_cost": {"gt": 1, "lt": 9}}}).problems]
        ['multiple-operators']
    """
    checked_endpoint(endpoint)
    told = input_source(source)
    if told.from_json:
        checked = _read_json(told.value, tolerated, endpoint)
        return Input(checked.filter, True, tuple(checked.problems))
    text: str = told.value
    if not warnings:
        node = lower_text(
            text, now=now, max_length=max_length, max_depth=max_depth, endpoint=endpoint
        )
        return Input(node, False)
    from helicone_filter.frontends.lowering import lower_with_warnings

    root = parse(text, max_length=max_length, max_depth=max_depth)
    node, found = lower_with_warnings(root, text, now=checked_now(now), endpoint=endpoint)
    return Input(node, False, tuple(found))


def _read_json(
    obj: Any, tolerated: frozenset[str] | None = None, endpoint: str = DEFAULT_ENDPOINT
) -> Checked:
    """FilterNode JSON (loaded) read by the checker, which is imported only now; errors other
    than `tolerated` ones (default: `checker.SPLITTABLE`) refused."""
    from helicone_filter.frontends.checker import SPLITTABLE, read_json

    return read_json(obj, SPLITTABLE if tolerated is None else tolerated, endpoint)
