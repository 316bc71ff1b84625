"""The service's work, without HTTP: a request body's bytes in, the answer's bytes out.

Each endpoint is a row of `ENDPOINTS`: its path and its handler; its request model is its row
of `models.OPERATIONS`, the table the OpenAPI document is made from. A body is
read as a JSON object (`read_body`), parsed with its model (`parse`: the same model the
OpenAPI document is made from; a body that does not fit is refused in the words of
`models.refusal`), and handed to the handler, which answers a dict that `encode` writes as
JSON. Anything refused is a `BadRequest`: its status, its message and the filter's problems.
Nothing here knows Starlette: `app.py` runs `answerer(path)` in a worker thread.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from helicone_filter.service.models import (
    OPERATIONS,
    CheckRequest,
    CompileRequest,
    CompleteRequest,
    DiagnoseRequest,
    FormatRequest,
    QueryRequest,
    SqlRequest,
    refusal,
)


class BadRequest(Exception):
    """A request the service refuses: the status to answer, why, and the filter's problems
    (for a filter that does not compile)."""

    def __init__(self, status: int, message: str, problems: Sequence[dict[str, Any]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)


# -- a body in ----------------------------------------------------------------------------------


def read_body(data: bytes) -> dict[str, Any]:
    """The body as a JSON object (an empty body is `{}`).

    Raises:
        BadRequest: 400, the body is not UTF-8, not JSON, not readable by Python (a number of
            thousands of digits, nesting deeper than its reader follows), or not an object.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(400, f"the body is not JSON: byte {e.start} is not UTF-8") from None
    from helicone_filter.api import load_json
    from helicone_filter.errors import FilterSyntaxError

    try:
        body = load_json(text or "{}")
    except FilterSyntaxError as e:
        p = e.problems[0]
        if p.code == "invalid-json":
            raise BadRequest(400, f"the body is {p.message}") from None
        # Valid JSON that Python cannot read: a number of thousands of digits, or nesting
        # deeper than its reader follows.
        where = f", at line {p.line}, column {p.column}" if p.code == "number-too-long" else ""
        hint = f"; {p.hint}" if p.hint else ""
        raise BadRequest(400, f"the body cannot be read: {p.message}{where}{hint}") from None
    if not isinstance(body, dict):
        raise BadRequest(400, "the body must be a JSON object")
    return body


Request = TypeVar("Request", bound=BaseModel)


def parse(model: type[Request], body: dict[str, Any]) -> Request:
    """`body` as its endpoint's request model.

    Raises:
        BadRequest: 422, a field is unknown, missing, of the wrong type or out of its range.
    """
    try:
        return model.model_validate(body)
    except ValidationError as e:
        raise BadRequest(422, refusal(model, body, e)) from None


# -- an answer out ------------------------------------------------------------------------------

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_PIECE = 64  # list items encoded at once
_DEPTH = 10  # levels of objects walked one by one, below which a subtree is encoded at once
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def encode(answer: Any) -> bytes:
    """An answer as JSON, written a piece at a time: encoding a large answer in one call would
    hold every thread, the event loop's too, for all of it (40 ms for the 2 MB answer to a
    60 KB `in` list). An object is walked key by key down to `_DEPTH` levels (a balanced
    FilterNode of 10,000 leaves is 14 deep), a list `_PIECE` items at a time.

    Example:
        >>> encode({"text": "é", "n": [1, 2.5]})
        b'{"text":"\\xc3\\xa9","n":[1,2.5]}'
    """
    out: list[str] = []
    todo: list[tuple[Any, int] | str] = [(answer, 0)]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        value, depth = item
        if isinstance(value, dict) and value and depth < _DEPTH:
            parts: list[tuple[Any, int] | str] = ["{"]
            for i, (key, x) in enumerate(value.items()):
                parts += [("," if i else "") + _dumps(key) + ":", (x, depth + 1)]
            parts.append("}")
            todo.extend(reversed(parts))
        elif isinstance(value, list) and len(value) > _PIECE:
            pieces = [_dumps(value[i : i + _PIECE])[1:-1] for i in range(0, len(value), _PIECE)]
            out.append("[" + ",".join(pieces) + "]")
        else:
            out.append(_dumps(value))
    text = "".join(out)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate, which came in as a \udXXX escape (a browser's text field can hold
        # one, and JSON.stringify writes it so) and is quoted in a message, a path or a
        # completion: written back as the same escape, which UTF-8 can carry. Only here, so
        # that other answers cost nothing more. JSON writes one only inside a string.
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()


def error_body(message: str, problems: Sequence[dict[str, Any]] = ()) -> bytes:
    """The body of every error answer: `{"error": {"message", "problems"}}`."""
    return encode({"error": {"message": message, "problems": list(problems)}})


# -- the handlers: a request in, an answer out ----------------------------------------------------


def _moment(now: str | None) -> datetime | None:
    """The body's `now` (its model has checked that it is a timestamp), or None."""
    from helicone_filter.facts.timestamps import parse_timestamp

    return None if now is None else parse_timestamp(now)


def _endpoint(request: Any) -> str:
    """The body's `endpoint` (its model has checked that it names one), or the default."""
    from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT

    endpoint: str | None = request.endpoint
    return DEFAULT_ENDPOINT if endpoint is None else endpoint


def _compile(request: CompileRequest) -> dict[str, Any]:
    from helicone_filter.api import compile_with_spans
    from helicone_filter.diagnostics import Utf16

    text = request.text
    with _text_errors(text):
        result, spans = compile_with_spans(
            text,
            now=_moment(request.now),
            nesting=request.nesting or "balanced",
            endpoint=_endpoint(request),
        )
    units = Utf16(text)
    return {
        "json": result,
        "spans": [
            {
                "path": list(path),
                "start": s,
                "end": e,
                "start_utf16": units(s),
                "end_utf16": units(e),
            }
            for path, s, e in spans
        ],
    }


def _filter(value: Any) -> tuple[str | None, Any]:
    """A body's filter ("text", or "input", its old name), told apart by the one door
    (`api.reading.input_source`): (filter text, None), or (None, FilterNode JSON), which may
    come as an object or as a JSON string (JSON text that cannot be read is a 422, as text
    that cannot be is; a JSON string is text)."""
    from helicone_filter.api.reading import input_source

    with _text_errors(value if isinstance(value, str) else ""):
        value = input_source(value).value
    return (value, None) if isinstance(value, str) else (None, value)


def _format(request: FormatRequest) -> dict[str, Any]:
    from helicone_filter.api import lower_text
    from helicone_filter.api.outputs import to_text
    from helicone_filter.backends.canonical_text import filter_text

    text, node = _filter(request.given)
    endpoint = _endpoint(request)
    if text is None:
        return {"text": to_text(node, endpoint=endpoint)}
    with _text_errors(text):
        return {"text": filter_text(lower_text(text, now=_moment(request.now), endpoint=endpoint))}


def _check(request: CheckRequest) -> dict[str, Any]:
    from helicone_filter.api import check_text
    from helicone_filter.api.filter_nodes import check

    text, node = _filter(request.given)
    endpoint = _endpoint(request)
    problems = (
        check(node, endpoint=endpoint)
        if text is None
        else check_text(text, now=_moment(request.now), endpoint=endpoint)
    )
    return {"problems": with_utf16(text or "", [p.as_dict() for p in problems])}


def with_utf16(text: str, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems with their offsets in UTF-16 code units too (`start_utf16`, `end_utf16`), as
    their fix-its have them, and as /diagnose gives them."""
    from helicone_filter.diagnostics import Utf16

    units = Utf16(text)
    for p in problems:
        p["start_utf16"], p["end_utf16"] = units(p["start"]), units(p["end"])
    return problems


def _complete(request: CompleteRequest) -> dict[str, Any]:
    from helicone_filter.diagnostics import Utf16
    from helicone_filter.frontends.completion import complete

    text = request.text
    units = Utf16(text)
    cursor = request.cursor
    if request.cursor_utf16 is not None:  # clamped to the text, as `cursor` is
        cursor = units.code_points(min(request.cursor_utf16, units(len(text))))
    found = complete(
        text,
        cursor,
        map_keys=_map_keys(request),
        values=request.values,
        endpoint=_endpoint(request),
    )
    return {
        "completions": [
            {
                **c.as_dict(),
                "replace_start_utf16": units(c.replace_start),
                "replace_end_utf16": units(c.replace_end),
                "cursor_offset_utf16": Utf16(c.insert_text)(c.cursor_offset),
            }
            for c in found
        ]
    }


def _map_keys(request: CompleteRequest) -> dict[str, list[str]]:
    return {str(field): keys for field, keys in (request.map_keys or {}).items()}


def _diagnose(request: DiagnoseRequest) -> dict[str, Any]:
    from helicone_filter.api.diagnosis import diagnose
    from helicone_filter.diagnostics import as_json

    found = diagnose(request.text, now=_moment(request.now), endpoint=_endpoint(request))
    return {"diagnostics": as_json(found)}


def _sql(request: SqlRequest) -> dict[str, Any]:
    from helicone_filter.api import lower_text
    from helicone_filter.backends.clickhouse import sql_of

    table_map, target = request.table_map or {}, request.target or "rows"
    text, node = _filter(request.given)
    endpoint = _endpoint(request)
    warnings: list[dict[str, Any]] = []
    if text is None:
        from helicone_filter.api.reading import Source, read_input
        from helicone_filter.frontends.checker import SPLITTABLE

        checked = read_input(Source(node, True), endpoint=endpoint)
        # Helicone keeps one condition of such a leaf, and so does the SQL: say so.
        warnings = [
            {**p.as_dict(), "severity": "warning"} for p in checked.problems if p.code in SPLITTABLE
        ]
        sql, params = sql_of(checked.filter, table_map=table_map, target=target)
    else:
        with _text_errors(text):
            filter_ = lower_text(text, now=_moment(request.now), endpoint=endpoint)
        sql, params = sql_of(filter_, table_map=table_map, target=target)
    return {"sql": sql, "params": params, "warnings": with_utf16("", warnings)}


def _query(request: QueryRequest) -> dict[str, Any]:
    from helicone_filter.api.outputs import query_body
    from helicone_filter.backends.request_body import QueryError
    from helicone_filter.facts.query_options import OPTION_NAMES

    text, node = _filter(request.given)
    # The options given, by their rows of the table; an absent one is `query_body`'s default,
    # and one the endpoint does not take is refused there.
    options = {
        name: value
        for name in OPTION_NAMES
        if name in QueryRequest.model_fields and (value := getattr(request, name)) is not None
    }
    if request.endpoint is not None:
        options["endpoint"] = request.endpoint
    try:
        with _text_errors(text or ""):
            answer = query_body(node if text is None else text, now=_moment(request.now), **options)
    except QueryError as e:
        raise BadRequest(422, str(e)) from None
    return {"body": answer}


@contextlib.contextmanager
def _text_errors(text: str) -> Iterator[None]:
    """Around reading filter text: a FilterError becomes a 422 whose problems carry their
    offsets in UTF-16 code units too."""
    from helicone_filter.errors import FilterError

    try:
        yield
    except FilterError as e:
        problems = with_utf16(text, [p.as_dict() for p in e.problems])
        raise BadRequest(422, e.problems[0].message, problems) from None


# -- the endpoints --------------------------------------------------------------------------------

# Each endpoint's path, its handler (by name, looked up when the app is made) and its request
# model, which says the fields its body may have.
# Each POST endpoint's handler, by path; its request model is its row of `models.OPERATIONS`.
ENDPOINTS: dict[str, str] = {
    "/compile": "_compile",
    "/format": "_format",
    "/check": "_check",
    "/complete": "_complete",
    "/diagnose": "_diagnose",
    "/sql": "_sql",
    "/query": "_query",
}


def answerer(path: str) -> Callable[[bytes], bytes]:
    """The whole work of a request to the endpoint at `path`: its body read, parsed with the
    endpoint's model and handed to its handler, the answer written as JSON.

    Raises (when called):
        BadRequest: the body is refused, or the filter does not compile.
    """
    name, model = ENDPOINTS[path], OPERATIONS[path][2]
    assert model is not None, f"{path} takes no body"
    handler: Callable[[Any], dict[str, Any]] = globals()[name]

    def answer(data: bytes) -> bytes:
        from helicone_filter.errors import FilterError

        try:
            return encode(handler(parse(model, read_body(data))))
        except FilterError as e:  # about FilterNode JSON, not text: no offsets to convert
            problems = with_utf16("", [p.as_dict() for p in e.problems])
            raise BadRequest(422, e.problems[0].message, problems) from None

    return answer


def prepare() -> None:
    """Imports what the handlers import as they run, so that a stop never lands inside an
    import (which would leave the module's import lock taken, and the module half made)."""
    import difflib  # noqa: F401 - for did-you-mean
    import uuid  # noqa: F401 - for a request_id

    import helicone_filter.api
    import helicone_filter.api.diagnosis
    import helicone_filter.api.filter_nodes
    import helicone_filter.api.outputs
    import helicone_filter.backends.analysis
    import helicone_filter.backends.canonical_text
    import helicone_filter.backends.clickhouse
    import helicone_filter.backends.request_body
    import helicone_filter.backends.row_matching
    import helicone_filter.diagnostics
    import helicone_filter.facts.node_dates
    import helicone_filter.facts.timestamps
    import helicone_filter.frontends.checker
    import helicone_filter.frontends.completion
    import helicone_filter.frontends.parse_tables  # noqa: F401
    from helicone_filter.frontends.parser import engine

    engine()
