"""The command line: `main(argv) -> int`, driven by one table of subcommands (`COMMANDS`).

Exit codes: 0 ok, 1 bad input (a filter, JSON or bytes that cannot be used), 2 usage, 3 when
`query --send` gets no users back (Helicone answers with an error, or not at all), 74 when the
output cannot be written (standard output closed, a full disk: one line on stderr says why), 130
on Ctrl-C, 141 when the reader of our output goes away (`| head -1`), as for any Unix tool
killed by SIGPIPE, 143 when `--lines` is ended by SIGTERM; none of the last four prints a
traceback.

Nothing from a filter or a server reaches the terminal as a control sequence: messages and the
lines under them are `errors.printable`, JSON and canonical text `errors.escape_unsafe`; what
the output's encoding cannot write is escaped (PYTHONIOENCODING=ascii), never a failure.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from enum import IntEnum
from typing import IO, TYPE_CHECKING, Any, NoReturn, TextIO, cast

from helicone_filter.value_class import Record

if TYPE_CHECKING:
    from helicone_filter.client import HeliconeAPIError
    from helicone_filter.errors import FilterError, Problem

PROG = "helicone-filter"
_API_KEY_ENV = "HELICONE_API_KEY"  # client.API_KEY_ENV, without importing the client


class Exit(IntEnum):
    """Exit codes: 0 ok, 1 bad input, 2 usage, 3 request failed, 69 `serve` cannot listen
    (EX_UNAVAILABLE: the port is in use or not ours to take), 74 the output could not be
    written (EX_IOERR: standard output closed, a full disk), 130 interrupted, 141 output closed
    by its reader (SIGPIPE), 143 ended by SIGTERM (`--lines`; 128 + 15, as a shell reports a
    process the signal ended)."""

    OK = 0
    BAD_FILTER = 1
    USAGE = 2
    REQUEST_FAILED = 3
    CANNOT_LISTEN = 69
    OUTPUT_FAILED = 74
    INTERRUPTED = 130
    BROKEN_PIPE = 141
    TERMINATED = 143


class _UsageError(Exception):
    pass


class _InputError(Exception):
    """Input that cannot be read as a filter at all (exit 1, like a bad filter)."""


class _OutputError(Exception):
    """The output cannot be written: standard output is closed, or writing to it failed (a full
    disk); the message says why (exit 74)."""


class _Output:
    """Standard output for one run: a write or flush that fails raises `_OutputError` with the
    system's reason, so that the run ends with one line on stderr instead of a traceback. A
    reader that went away (BrokenPipeError) is not a failure of ours and passes as it is.

    Without a standard output (the process was started with it closed, and Python made
    `sys.stdout` None) the first write fails; a run that writes nothing (`serve`) is not
    disturbed.
    """

    stream: TextIO | None = None  # (a class default: __getattr__ must not look for it)

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if self.stream is None:
            raise _OutputError("standard output is closed; send it to a file or a pipe")
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _OutputError(_failure(e)) from None

    def flush(self) -> None:
        if self.stream is None:
            return  # nothing was written: writing is what fails
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _OutputError(_failure(e)) from None

    def isatty(self) -> bool:
        return self.stream is not None and self.stream.isatty()

    def fileno(self) -> int:
        if self.stream is None:
            raise io.UnsupportedOperation("standard output is closed")
        return self.stream.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _failure(error: OSError) -> str:
    """What the system says went wrong with a write, e.g. "No space left on device"."""
    return f"{error.strerror or error}; the output is incomplete"


def _discard_output(stream: TextIO | None) -> None:
    """Point standard output at the null device, so that what is still buffered is not written
    again at exit, failing there with Python's own message."""
    if stream is None:
        return
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return  # not a file (a caller's buffer in this process): nothing is flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


# What --lines makes of a line: its JSON result, whether it failed, and a note for stderr (its
# warnings, "" for none).
_LineResult = tuple[Any, bool, str]


class _Parser(argparse.ArgumentParser):
    # The top parser's: every option of the subcommands, and whether it takes a value.
    options: dict[str, bool]

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.format_usage()}{self.prog}: error: {message}")


class _Formatter(argparse.HelpFormatter):
    """Help wrapped to the terminal's width, the examples kept line for line as written."""

    def __init__(self, prog: str) -> None:
        import shutil

        width = max(shutil.get_terminal_size().columns - 2, 40)
        super().__init__(prog, width=width, max_help_position=min(30, width // 3))

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:\n"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


# -- numbers: every numeric option takes a range, refused outside it as a usage error --------

# The most worker processes --jobs may ask for; more than _JOBS_PER_CPU a processor are cut
# down to that, with a warning (each is a process of its own: some 20 MB).
MAX_JOBS = 1024
_JOBS_PER_CPU = 4
MAX_TZ_OFFSET_MINUTES = 24 * 60  # query.MAX_TZ_OFFSET_MINUTES, without importing query
MAX_TIMEOUT_SECONDS = 86400.0  # a day; the client's own steps are capped there too
MAX_BODY_BYTES = 64 * 1024 * 1024


def _shown(text: str) -> str:
    """An option's value as a message quotes it: repr (no control character gets through),
    cut short (a number of 5,000 digits is not repeated)."""
    return repr(text if len(text) <= 30 else text[:24] + "…")


def _whole(what: str, low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high` (no bound above for None); any
    other value is a usage error naming the range (`'0' is not a port: give 0 to 65535`)."""
    allowed = f"{low} to {high}" if high is not None else f"{low} or more"

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # not a number, or more digits than int() reads
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not {what}: give {allowed}")
        return value

    return whole


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0, at most MAX_TIMEOUT_SECONDS."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_TIMEOUT_SECONDS:  # nan and inf fail here too
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is not a timeout: give seconds above 0, at most "
            f"{MAX_TIMEOUT_SECONDS:.0f} (a day)"
        )
    return value


# -- options that several subcommands share -------------------------------------------------


def _add_now(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--now",
        metavar="TIMESTAMP",
        help="the time relative times count back from (ISO 8601; default: the current time)",
    )


def _add_lines(p: argparse.ArgumentParser, result: str) -> None:
    p.add_argument(
        "--lines",
        action="store_true",
        help=f"one filter per input line, {result} per output line (NDJSON), streamed; "
        'blank lines and # comments are skipped; a bad line gives {"line": n, "error": '
        "{...}} and the rest go on (exit 1 if any failed)",
    )
    p.add_argument(
        "--jobs",
        type=_whole("a number of worker processes", 1, MAX_JOBS),
        metavar="N",
        help="with --lines: worker processes for large inputs (default: one per processor; "
        f"1 runs everything in this process; at most {_JOBS_PER_CPU} per processor are used)",
    )


def _add_output(p: argparse.ArgumentParser) -> None:
    output = p.add_mutually_exclusive_group()
    output.add_argument(
        "--pretty", action="store_true", help="indent the JSON (the default on a terminal)"
    )
    output.add_argument(
        "--compact", action="store_true", help="one line of JSON (the default in a pipe)"
    )


_ERRORS = (
    "errors and warnings on stderr as text with a caret (default), or as one JSON object "
    'each, {"error": {"message": ..., "problems": [...]}} ("warning" for warnings), for tools'
)
_CHECK_ERRORS = (
    "the problems on stdout as text with a caret (default), or as a JSON list of problems for "
    'tools; an input that cannot be read at all on stderr as text or as {"error": {...}}'
)


def _add_errors(p: argparse.ArgumentParser, explained: str) -> None:
    p.add_argument(
        "--error-format",
        choices=("text", "json"),
        default="text",
        help=explained,
    )
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour errors and warnings: auto (default) on a terminal unless NO_COLOR is set",
    )


def _add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no warnings on stderr (about what Helicone will do unexpectedly with the filter, "
        "or an empty filter, which matches every user)",
    )


# -- input ------------------------------------------------------------------------------------


_NO_STDIN = "standard input is closed: give the filter as an argument, or send it on stdin"


def _read_input(arg: str, stdin: IO[str] | None) -> str:
    """The input: `arg` itself, or all of stdin for `-`, which must be UTF-8, without the line
    ends it closes with (`echo 'cached and' |` gives the filter `cached and`, so that a problem
    at its end is shown on its line)."""
    if arg != "-":
        return arg
    if stdin is None:  # started with its stdin closed (`<&-`)
        raise _InputError(_NO_STDIN)
    raw = getattr(stdin, "buffer", None)
    if raw is None:
        return stdin.read().rstrip("\r\n")
    data: bytes = raw.read()
    try:
        return data.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as e:
        raise _InputError(
            f"the input is not UTF-8: byte {e.start} is 0x{data[e.start]:02x}"
        ) from None


def _load_json(text: str) -> Any:
    from helicone_filter.api import load_json
    from helicone_filter.errors import FilterSyntaxError

    try:
        return load_json(text)
    except FilterSyntaxError as e:
        if e.code == "number-too-long":
            raise  # shown as a problem: a caret under the number, and the hint
        raise _InputError(f"the input is {e.problems[0].message}") from None


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    from helicone_filter.facts.timestamps import parse_timestamp

    parsed = parse_timestamp(value)
    if parsed is None:
        raise _UsageError(
            f"{PROG}: error: --now {value!r} is not an ISO 8601 timestamp "
            "(e.g. 2025-01-31T12:00:00Z)"
        )
    return parsed


# -- output -----------------------------------------------------------------------------------


def _pretty(args: argparse.Namespace) -> bool:
    return bool(args.pretty or (not args.compact and sys.stdout.isatty()))


def _dump(data: Any, pretty: bool) -> str:
    """JSON for stdout: indented or on one line."""
    if pretty:
        return _json(data, sys.stdout, indent=2)
    return _json(data, sys.stdout, separators=(",", ":"))


def _json(data: Any, stream: Any, **options: Any) -> str:
    """JSON to write on `stream`: characters as themselves where its encoding writes them
    all, else as `\\uXXXX` escapes (PYTHONIOENCODING=ascii); either way DEL, C1 and bidi
    controls and lone surrogates escaped (`errors.escape_unsafe`), so that it is valid JSON
    that can neither fail to print nor drive a terminal."""
    from helicone_filter.errors import escape_unsafe

    return escape_unsafe(json.dumps(data, ensure_ascii=False, **options), ascii_only=_ascii(stream))


def _ascii(stream: Any) -> bool:
    """Whether `stream` cannot write every character (its encoding is not a UTF)."""
    from helicone_filter.errors import writes_unicode

    return not writes_unicode(stream)


def _text_out(text: str) -> str:
    """A filter's canonical text for stdout: `_json`'s escapes, which mean the same inside a
    string of the language (and nothing but strings holds such characters there)."""
    from helicone_filter.errors import escape_unsafe

    return escape_unsafe(text, ascii_only=_ascii(sys.stdout))


def _color(args: argparse.Namespace | None, stream: IO[str]) -> bool:
    choice = getattr(args, "color", "auto")
    if choice != "auto":
        return bool(choice == "always")
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def _error_object(message: str, problems: list[dict[str, Any]]) -> dict[str, Any]:
    return {"error": {"message": message, "problems": problems}}


def _empty(text: str) -> list[Problem]:
    """The warning for an empty filter (an empty "$VAR"), which matches every user."""
    if text.strip():
        return []
    from helicone_filter.errors import make_problem

    problem = make_problem(
        text,
        "empty-filter",
        "the filter is empty, so it matches every user",
        0,
        len(text),
        "write all to mean every user; --quiet silences warnings",
    )
    return [problem.replace(severity="warning")]


def _warnings_note(
    args: argparse.Namespace, text: str, warnings: list[Problem], number: int | None = None
) -> str:
    """The warnings as stderr shows them: each with its caret and hint, or, with --error-format
    json, one JSON object {"warning": {"message", "problems"}}; "" for none or with --quiet.
    Under --lines, `number` is the input line they are about."""
    if not warnings or getattr(args, "quiet", False):
        return ""
    if getattr(args, "error_format", "text") == "json":
        found = {"warning": {"message": warnings[0].message, "problems": _dicts(warnings)}}
        return json.dumps(found if number is None else {"line": number, **found}) + "\n"
    from helicone_filter.errors import CYAN, YELLOW, paint, render_problem

    color = _color(args, sys.stderr)
    blocks = []
    for p in warnings:
        if number is not None:
            p = p.replace(line=number)  # where it is in the input
        if p.code == "empty-filter":  # nothing to put a caret under
            label, hint = paint("warning:", YELLOW, color), paint("hint:", CYAN, color)
            blocks.append(f"{label} {p.message}\n  {hint} {p.hint}")
        else:
            blocks.append(render_problem(text, p, color=color))
    return ("\n" if number is not None else "\n\n").join(f"{PROG}: {b}" for b in blocks) + "\n"


def _warn(args: argparse.Namespace, text: str, warnings: list[Problem]) -> None:
    note = _warnings_note(args, text, warnings)
    if note:
        sys.stderr.write(note)


def _text_warnings(args: argparse.Namespace, text: str, now: datetime | None) -> list[Problem]:
    """The warnings about filter text that compiled (none for JSON, or with --quiet)."""
    from helicone_filter.api import check_text, is_json_text

    if args.quiet or is_json_text(text):
        return []
    return check_text(text, now=now) or _empty(text)


def _dicts(problems: list[Problem]) -> list[dict[str, Any]]:
    return [p.as_dict() for p in problems]


# -- the subcommands: for each, its options, what it does, and what --lines does per line ----


def _compile_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--nesting",
        choices=("balanced", "right"),
        default="balanced",
        help="chain shape: balanced (default) or right-nested as Helicone's builder makes",
    )
    _add_output(p)


def _compile(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    result, warnings = _compile_one(args, text, now)
    print(_dump(result, _pretty(args)))
    _warn(args, text, warnings)
    return Exit.OK


def _compile_one(
    args: argparse.Namespace, text: str, now: datetime | None
) -> tuple[Any, list[Problem]]:
    if args.quiet:  # no warnings are looked for that would not be printed
        from helicone_filter.api import compile as compile_filter

        return compile_filter(text, now=now, nesting=args.nesting), []
    from helicone_filter.api import compile_with_warnings

    result, warnings = compile_with_warnings(text, now=now, nesting=args.nesting)
    return result, warnings if warnings or text.strip() else _empty(text)


def _fmt_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-written",
        action="store_true",
        help="for text: keep not, relative times and grouping as written, in canonical spelling",
    )
    p.add_argument(
        "--simplify",
        action="store_true",
        help="remove duplicate and redundant conditions (the filter selects the same rows)",
    )


def _fmt(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    result, warnings = _fmt_one(args, text, now)
    print(_text_out(result))
    _warn(args, text, warnings)
    return Exit.OK


def _fmt_one(
    args: argparse.Namespace, text: str, now: datetime | None
) -> tuple[str, list[Problem]]:
    from helicone_filter.api import is_json_text
    from helicone_filter.api.outputs import to_text
    from helicone_filter.backends.canonical_text import filter_text
    from helicone_filter.frontends.parser import parse

    simplify = getattr(args, "simplify", False)
    if is_json_text(text):
        if simplify:
            from helicone_filter.backends.analysis import simplified
            from helicone_filter.frontends.checker import normalized_ir

            # Refused where `check` finds an error: Helicone keeps one condition of a leaf
            # with several, so no simpler filter both says it and selects what Helicone does.
            node = normalized_ir(_load_json(text), frozenset())
            return filter_text(simplified(node)), []
        return to_text(_load_json(text)), []
    root = parse(text)
    node, warnings = _lower(args, root, text, now)  # only valid filters are formatted
    if simplify:
        from helicone_filter.backends.analysis import simplified

        return filter_text(simplified(node)), warnings
    return (to_text(root) if args.as_written else filter_text(node)), warnings


def _lower(
    args: argparse.Namespace, root: Any, text: str, now: datetime | None
) -> tuple[Any, list[Problem]]:
    """Parsed text in its validated form, and its warnings (none looked for with --quiet)."""
    from helicone_filter.api import checked_now

    if args.quiet:
        from helicone_filter.frontends.lowering import lower

        return lower(root, text, now=checked_now(now)), []
    from helicone_filter.frontends.lowering import lower_with_warnings

    node, warnings = lower_with_warnings(root, text, now=checked_now(now))
    return node, warnings if warnings or text.strip() else _empty(text)


class _Deprecated(argparse.Action):
    """An option's old spelling: it still works, with a warning naming the new one."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        new = f"--{self.dest.replace('_', '-')}"
        warning = f"{PROG}: warning: {option_string} is deprecated: write {new} {values}"
        print(warning, file=sys.stderr)
        setattr(namespace, self.dest, values)


def _check_options(p: argparse.ArgumentParser) -> None:
    # `--format`, its old spelling of --error-format: still read, hidden from the help.
    p.add_argument(
        "--format",
        choices=("text", "json"),
        dest="error_format",
        action=_Deprecated,
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )
    p.add_argument(
        "--no-analysis",
        action="store_true",
        help="leave out the warnings of conditions that never match together, always match, "
        "or say something twice",
    )


def _problems(text: str, now: datetime | None, analyze: bool = True) -> list[Any]:
    """Every problem: the checker's for JSON; for text, those `diagnose` finds (after a syntax
    error, those of the conditions around it too); the analysis's unless not `analyze`."""
    from helicone_filter.api import is_json_text
    from helicone_filter.api.diagnosis import every_problem
    from helicone_filter.api.filter_nodes import check

    if is_json_text(text):
        return check(_load_json(text), analyze=analyze)
    return every_problem(text, now=now, analyze=analyze)


def _check(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.api import is_json_text
    from helicone_filter.errors import render_problem

    problems = _problems(text, now, not args.no_analysis)
    if args.error_format == "json":
        print(_json([p.as_dict() for p in problems], sys.stdout))
    elif problems:
        shown = "" if is_json_text(text) else text
        color = _color(args, sys.stdout)
        print("\n\n".join(render_problem(shown, p, color=color) for p in problems))
    else:
        print("ok: no problems")
    return Exit.BAD_FILTER if any(p.severity == "error" for p in problems) else Exit.OK


def _check_line(
    args: argparse.Namespace, number: int, text: str, now: datetime | None
) -> _LineResult:
    problems = [p.as_dict() for p in _problems(text, now, not getattr(args, "no_analysis", False))]
    failed = any(p["severity"] == "error" for p in problems)
    return {"line": number, "problems": problems}, failed, ""


def _query_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--limit",
        type=_whole("a number of users per page", 1),
        default=100,
        help="users per page (default 100)",
    )
    p.add_argument(
        "--offset",
        type=_whole("a number of users to skip", 0),
        default=0,
        help="users to skip (default 0)",
    )
    p.add_argument(
        "--sort",
        metavar="KEY[:asc|desc]",
        help="order of the users (a bare KEY is ascending; 'none' for no order; default: "
        "Helicone's, last_active desc); KEY is one of " + ", ".join(_sort_keys()),
    )
    p.add_argument(
        "--since",
        metavar="TIME",
        help="start of the time window: ISO 8601, now - 7d, 7d (ago), or unix seconds",
    )
    p.add_argument(
        "--until", metavar="TIME", help="end of the time window (default with --since: now)"
    )
    p.add_argument(
        "--tz-offset",
        type=_whole("a time-zone offset in minutes", -MAX_TZ_OFFSET_MINUTES, MAX_TZ_OFFSET_MINUTES),
        metavar="MINUTES",
        help="timeZoneDifferenceMinutes: Helicone shifts user_first_active and "
        "user_last_active comparisons by it",
    )
    _add_output(p)
    send = p.add_argument_group(
        "sending it",
        "With --send the body goes to Helicone with the API key in the environment variable "
        f"{_API_KEY_ENV} (needs the client extra: pip install 'helicone-filter[client]'; from "
        "a clone: pip install -e '.[client]'). "
        "Exit 3 when no users come back: Helicone refused the request or failed, or did not "
        "answer in time.",
    )
    send.add_argument(
        "--send",
        action="store_true",
        help="POST the body to Helicone and print the page of users as a table, with the "
        "count of all that match",
    )
    send.add_argument(
        "--json",
        action="store_true",
        help="with --send: print Helicone's data object (users, count, hasUsers) as JSON",
    )
    host = send.add_mutually_exclusive_group()
    host.add_argument(
        "--eu",
        action="store_true",
        help="send to the EU host, https://eu.api.helicone.ai, as EU accounts must",
    )
    host.add_argument(
        "--base-url",
        metavar="URL",
        help="send to another API host, e.g. a self-hosted Helicone (default "
        "https://api.helicone.ai)",
    )
    send.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up when the whole call (connecting, sending, reading all of the answer) "
        "takes longer (default 30)",
    )


def _query(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.api import is_json_text
    from helicone_filter.api.outputs import query_body
    from helicone_filter.backends.request_body import QueryError

    source: Any = _load_json(text) if is_json_text(text) else text
    try:
        body = query_body(
            source,
            limit=args.limit,
            offset=args.offset,
            sort=args.sort,
            since=args.since,
            until=args.until,
            tz_offset=args.tz_offset,
            now=now,
        )
    except QueryError as e:
        raise _UsageError(f"{PROG} query: error: {e}") from None
    if args.send:
        return _send(args, body)
    unused = [
        option
        for option, value in (
            ("--json", args.json),
            ("--eu", args.eu),
            ("--base-url", args.base_url),
            ("--timeout", args.timeout),
        )
        if value not in (False, None)
    ]
    if unused:
        raise _UsageError(
            f"{PROG} query: error: {', '.join(unused)} only apply with --send "
            "(without it, the body is printed and nothing is sent)"
        )
    print(_dump(body, _pretty(args)))
    _warn(args, text, _text_warnings(args, text, now))
    return Exit.OK


def _sql_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--table-map",
        action="append",
        default=[],
        metavar="KEY=NAME",
        help="another name for a table (request_response_rmt=logs.requests qualifies its "
        "columns) or a column (model=model_name); repeatable",
    )
    _add_output(p)


def _sql(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.api import is_json_text
    from helicone_filter.backends.clickhouse import column_names, sql_of
    from helicone_filter.frontends.parser import parse

    table_map: dict[str, str] = {}
    for item in args.table_map:
        key, equals, name = item.partition("=")
        if not equals:
            raise _UsageError(f"{PROG} sql: error: --table-map takes KEY=NAME, not {item!r}")
        table_map[key.strip()] = name.strip()
    try:
        column_names(table_map)
    except ValueError as e:
        raise _UsageError(f"{PROG} sql: error: {e}") from None
    if is_json_text(text):
        from helicone_filter.errors import printable
        from helicone_filter.frontends.checker import SPLITTABLE, read_json

        node = read_json(_load_json(text), SPLITTABLE)
        # Helicone keeps one condition of such a leaf, and so does the SQL: say so.
        for p in node.problems:
            if p.code in SPLITTABLE:
                print(f"{PROG}: warning: {printable(f'{p.path}: {p.message}')}", file=sys.stderr)
        sql, params = sql_of(node.filter, table_map=table_map)
        warnings: list[Problem] = []
    else:
        lowered, warnings = _lower(args, parse(text), text, now)
        sql, params = sql_of(lowered, table_map=table_map)
    print(_dump({"sql": sql, "params": params}, _pretty(args)))
    _warn(args, text, warnings)
    return Exit.OK


def _send(args: argparse.Namespace, body: dict[str, Any]) -> int:
    """`query --send`: the body to Helicone, the users back as a table or JSON."""
    from helicone_filter.client import (
        DEFAULT_TIMEOUT,
        HeliconeAPIError,
        check_api_key,
        endpoint_url,
        send_query,
    )

    key = os.environ.get(_API_KEY_ENV)
    if not key:
        state = "empty" if key == "" else "not set"
        raise _UsageError(
            f"{PROG} query: error: --send needs a Helicone API key in {_API_KEY_ENV}, which is "
            f"{state} (export {_API_KEY_ENV}=sk-...); nothing was sent"
        )
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    try:
        check_api_key(key)
    except HeliconeAPIError as e:
        raise _UsageError(f"{PROG} query: error: {_API_KEY_ENV}: {e.message}") from None
    try:
        endpoint_url(args.base_url, eu=args.eu)
    except HeliconeAPIError as e:
        raise _UsageError(f"{PROG} query: error: --base-url: {e.message}") from None
    try:
        page = send_query(body, api_key=key, base_url=args.base_url, eu=args.eu, timeout=timeout)
    except HeliconeAPIError as e:
        _report(args, e.message, api_error=e)
        return Exit.REQUEST_FAILED
    if args.json:
        print(_dump(page.data, _pretty(args)))
    else:
        print(_users_table(page.users, page.count, body["offset"]))
    return Exit.OK


# The columns of `query --send`, named as in Helicone's answer (and in --sort).
_USER_COLUMNS = ("user_id", "total_requests", "active_for", "cost", "first_active", "last_active")
_NUMERIC = frozenset({"total_requests", "active_for", "cost"})


def _users_table(users: list[dict[str, Any]], count: int | float, offset: int) -> str:
    """The users as a plain table, numbers aligned right, then how many match in all."""
    from helicone_filter.errors import display_width

    rows = [list(_USER_COLUMNS)] + [[_cell(u.get(c), c) for c in _USER_COLUMNS] for u in users]
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(_USER_COLUMNS))]
    lines = []
    for row in rows:
        cells = []
        for name, cell, width in zip(_USER_COLUMNS, row, widths, strict=True):
            pad = " " * (width - display_width(cell))
            cells.append(pad + cell if name in _NUMERIC else cell + pad)
        lines.append("  ".join(cells).rstrip())
    shown = f" (showing {offset + 1}-{offset + len(users)})" if users else ""
    if not users:
        lines = ["no users on this page"]
    return "\n".join([*lines, "", f"count: {_cell(count, 'count')}{shown}"])


def _cell(value: Any, column: str) -> str:
    """A value of Helicone's answer as table text: money to the micro-dollar, whole numbers
    without a fraction, and nothing that a terminal would take as a control sequence."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int | float):
        if column == "cost":
            return f"{value:.6f}"
        return str(int(value)) if float(value).is_integer() else f"{value:g}"
    from helicone_filter.errors import printable

    return printable(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def _fields_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="as JSON, for tools")
    _add_output(p)


def _fields(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.facts.schema import FIELD_NOTES, FIELD_OPERATORS, FIELDS, field_table

    rows = field_table()
    if args.json:
        print(_dump(rows, _pretty(args)))
        return Exit.OK
    table = [("FIELD", "TABLE", "TYPE", "OPERATORS")] + [
        (f.name, f.table, f.kind_label, ", ".join(FIELD_OPERATORS[f.name]) or "(none)")
        for f in FIELDS.values()
    ]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)), row[3])
    print("\nwhat Helicone does with some of them:")
    width = max(map(len, FIELD_NOTES))
    for name, note in FIELD_NOTES.items():
        print(f"  {name.ljust(width)}  {note}")
    print(
        '\nmaps take a key: properties.environment or properties["my key"]; '
        "is null / is not null / is empty apply to text columns"
    )
    return Exit.OK


def _explain(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.api import compile_explained, lower_text, to_helicone
    from helicone_filter.backends.canonical_text import condition_text
    from helicone_filter.errors import escape_unsafe, printable
    from helicone_filter.form import conditions

    # One reading of the text for the tree and its warnings (none looked for with --quiet).
    if args.quiet:
        node = lower_text(text, now=now)
        result, leaves = to_helicone(node, text), list(conditions(node))
        warnings: list[Problem] = []
    else:
        result, leaves, warnings = compile_explained(text, now=now)
        warnings = warnings or _empty(text)
    if result == "all":
        print("all  (matches every user)")
        _warn(args, text, warnings)
        return Exit.OK

    # Box drawing, or ASCII for an output that cannot write it (PYTHONIOENCODING=ascii).
    ascii_only = _ascii(sys.stdout)
    branch, last, through, arrow = ("|- ", "`- ", "|  ", "<-") if ascii_only else _TREE
    written_by = iter(leaves)  # the leaves' conditions, in the order the walk meets them
    rows: list[tuple[str, str]] = []
    todo: list[tuple[Any, str, str]] = [(result, "", "")]
    while todo:
        node, lead, child_lead = todo.pop()
        if "operator" in node:
            rows.append((lead + node["operator"], ""))
            todo.append((node["right"], child_lead + last, child_lead + "   "))
            todo.append((node["left"], child_lead + branch, child_lead + through))
        else:
            c = next(written_by)
            # (at most 60 characters: each item of a long `in` list points at all of it)
            start, end = c.written  # with its `not`s and parentheses
            written = " ".join(text[start : min(end, start + 200)].split())
            written = printable(written if len(written) <= 60 else written[:59] + "…")
            shown = escape_unsafe(condition_text(c), ascii_only=ascii_only)
            rows.append((lead + shown, written))
    width = min(max(len(left) for left, _ in rows), 60)
    for left, written in rows:
        print(f"{left.ljust(width)}  {arrow} {written}" if written else left)
    _warn(args, text, warnings)
    return Exit.OK


_TREE = ("├─ ", "└─ ", "│  ", "←")


def _serve(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    try:
        from helicone_filter.service.server import serve
    except ImportError as e:
        raise _InputError(
            f"serve needs the server extra ({e.name} is missing): "
            "pip install 'helicone-filter[server]' (from a clone: pip install -e '.[server]')"
        ) from None
    from helicone_filter.errors import printable
    from helicone_filter.service.server import ListenError

    def announce(line: str) -> None:
        print(f"{PROG}: {line}", file=sys.stderr, flush=True)

    try:
        serve(
            args.host,
            args.port,
            cors_origins=args.cors_origin,
            max_body=args.max_body_bytes,
            announce=announce,
        )
    except ListenError as e:
        print(f"{PROG} serve: error: {printable(str(e))}", file=sys.stderr)
        return Exit.CANNOT_LISTEN
    except ValueError as e:  # an option the service refuses before it listens (a CORS origin)
        raise _UsageError(f"{PROG} serve: error: {e}") from None
    return Exit.OK


def _serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=_whole("a port", 0, 65535),
        default=8765,
        help="port (default 8765; 0: any free port)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an origin allowed to call the service from a browser (repeatable)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=_whole("a number of bytes", 1, MAX_BODY_BYTES),
        default=64 * 1024,
        metavar="N",
        help=f"the largest request body accepted (default 65536, at most {MAX_BODY_BYTES})",
    )


def _completion_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=_SHELLS, help="the shell: " + ", ".join(_SHELLS))


_SHELLS = ("bash", "zsh", "fish")


def _completion(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    import importlib

    try:
        shtab = importlib.import_module("shtab")  # only here: not for a one-shot compile
    except ImportError:
        raise _InputError(
            "completion needs shtab, which is not installed: pip install shtab"
        ) from None
    print(shtab.complete(_build_parser(), shell=args.shell), end="")
    return Exit.OK


def _repl_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--history",
        nargs="?",
        const=True,
        metavar="FILE",
        help="keep the history of filters in FILE (without FILE: $XDG_STATE_HOME/"
        "helicone-filter/history, by default ~/.local/state/helicone-filter/history); "
        "without --history it lasts the session",
    )
    _add_now(p)
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the problems printed: auto (default) on a terminal unless NO_COLOR is set",
    )


def _repl(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.cli.repl import run

    color = {"always": True, "never": False}.get(args.color)
    return run(args.history, now=_parse_now(args.now), color=color)


# -- the table of subcommands -----------------------------------------------------------------


def _no_options(p: argparse.ArgumentParser) -> None:
    pass


def _each_line(
    one: Callable[[argparse.Namespace, str, datetime | None], tuple[Any, list[Problem]]],
) -> Callable[[argparse.Namespace, int, str, datetime | None], _LineResult]:
    """--lines' work for a subcommand whose result and warnings for a line are `one(args, text,
    now)` and that fails only by raising; the warnings go to stderr with the line's number."""

    def line(args: argparse.Namespace, number: int, text: str, now: datetime | None) -> _LineResult:
        result, warnings = one(args, text, now)
        return result, False, _warnings_note(args, text, warnings, number) if warnings else ""

    return line


class Command(Record):
    """A subcommand, all in one place: adding one is adding a row to `COMMANDS`.

    Attributes:
        name: what is typed. summary: its line in `helicone-filter --help`.
        description, examples: the top and bottom of its own --help.
        run: `run(args, input_text, now) -> exit code`.
        options: adds its own options to its argparse parser.
        reads: what its INPUT argument is; "" for a subcommand that reads no input. Those
            that read input also take --now.
        line: what --lines does with one line, `line(args, number, text, now) -> (result,
            failed, note for stderr)`; None for a subcommand without --lines.
        line_result: --lines' help: what each output line is.
        errors: --error-format's help; "" for a subcommand without --error-format and --color.
        warns: whether it warns on stderr about the filter it compiles (and takes --quiet).
    """

    name: str
    summary: str
    description: str
    examples: str
    run: Callable[[argparse.Namespace, str, datetime | None], int]
    options: Callable[[argparse.ArgumentParser], None] = _no_options
    reads: str = ""
    line: Callable[[argparse.Namespace, int, str, datetime | None], _LineResult] | None = None
    line_result: str = ""
    errors: str = _ERRORS
    warns: bool = False


_TEXT = "the filter text; '-' or none reads stdin"
_TEXT_OR_JSON = "filter text or FilterNode JSON; '-' or none reads stdin"

COMMANDS: tuple[Command, ...] = (
    Command(
        "compile",
        "filter text in, Helicone FilterNode JSON out",
        "Compile filter text into the FilterNode JSON that POST /v1/user/metrics/query takes.",
        """\
  helicone-filter compile 'user_cost > 5 and model ilike "gpt%"'
  helicone-filter 'cached and status >= 500'          (compile is the default)
  echo 'request_created_at >= now - 7d' | helicone-filter compile
  helicone-filter compile --now 2025-01-01T00:00:00Z 'user_last_active > now - 30d'
  helicone-filter compile --lines < examples/saved-filters.txt > filters.ndjson
  helicone-filter compile --quiet "$FILTER"           (no warnings on stderr)
""",
        _compile,
        _compile_options,
        _TEXT,
        _each_line(_compile_one),
        "one JSON result",
        warns=True,
    ),
    Command(
        "fmt",
        "filter text or JSON in, canonical text out",
        'Print a filter as canonical text. JSON input (starting with {, [ or ") is read as '
        "a FilterNode; text is compiled first, so `not` is pushed down and relative times are "
        "resolved, unless --as-written.",
        """\
  helicone-filter fmt 'NOT (Cost>1 AND model == "a")'
  echo '{"users_view": {"user_cost": {"gt": 5}}}' | helicone-filter fmt
  helicone-filter fmt --as-written 'request_created_at > now-7d and not cached'
""",
        _fmt,
        _fmt_options,
        _TEXT_OR_JSON,
        _each_line(_fmt_one),
        "the canonical text as a JSON string",
        warns=True,
    ),
    Command(
        "check",
        "filter text or JSON in, its problems out",
        "List every problem with a filter: errors (exit 1) and warnings about what Helicone "
        "would do unexpectedly (exit 0).",
        """\
  helicone-filter check 'model contains "gpt_4"'
  helicone-filter check < examples/saved-filter.json
  helicone-filter check --error-format json '{"users_view": {"user_cost": {"gt": "5"}}}'
  helicone-filter check --lines < examples/saved-filters.txt   (exit 1 if a line has an error)
""",
        _check,
        _check_options,
        _TEXT_OR_JSON,
        _check_line,
        '{"line": n, "problems": [...]}',
        errors=_CHECK_ERRORS,
    ),
    Command(
        "query",
        "filter in, the whole request body of POST /v1/user/metrics/query out (or sent)",
        "Build the UserMetricsQueryParams body: the filter (text, or FilterNode JSON), a page, "
        "an order and a time window. With --send, POST it to Helicone and print the users "
        "that match.",
        """\
  helicone-filter query 'user_cost > 5' --sort cost:desc --limit 20 --since 7d
  helicone-filter query 'model = "gpt-4o"' --since 2025-01-01 --until 2025-02-01
  helicone-filter query 'user_cost > 5' --sort cost:desc --send      (needs HELICONE_API_KEY)
  helicone-filter query 'model = "gpt-4o"' --since 7d --send --eu --json | jq '.users[].user_id'
  helicone-filter query 'user_cost > 5' | curl -sS https://api.helicone.ai/v1/user/metrics/query \\
      -H "Authorization: Bearer $HELICONE_API_KEY" -H 'Content-Type: application/json' -d @-
""",
        _query,
        _query_options,
        _TEXT_OR_JSON,
        warns=True,
    ),
    Command(
        "sql",
        "filter in, a ClickHouse WHERE expression and its parameters out",
        "Write the filter as the ClickHouse SQL Helicone's backend runs, over a table with a "
        "column per field: a WHERE expression in which every value is a query parameter "
        "({p0:String}), and the parameters' values. JSON input (starting with {, [ or \") is "
        "read as a FilterNode.",
        """\
  helicone-filter sql 'model ilike "gpt%" and status = 200'
  helicone-filter sql --table-map request_response_rmt=logs.requests 'cached'
  helicone-filter sql --now 2025-06-01T00:00:00Z 'request_created_at > now - 7d' --compact
""",
        _sql,
        _sql_options,
        _TEXT_OR_JSON,
        warns=True,
    ),
    Command(
        "fields",
        "the fields, their types and operators",
        "List every field a filter can test: its table, its type and the operators it takes.",
        """\
  helicone-filter fields
  helicone-filter fields --json | jq -r '.[] | select(.type == "number") | .field'
""",
        _fields,
        _fields_options,
        errors="",
    ),
    Command(
        "explain",
        "filter text in, the tree it compiles to out",
        "Show how a filter was read: the compiled tree, indented, each condition beside the "
        "text it came from (so `not`, `in` and precedence can be seen at work).",
        """\
  helicone-filter explain 'not (cost > 1 or cached) and model in ["a", "b"]'
""",
        _explain,
        reads=_TEXT,
        warns=True,
    ),
    Command(
        "serve",
        "the HTTP service for filter builders",
        "Serve compile, format, check, complete and diagnose as a JSON API (needs the "
        "server extra: pip install 'helicone-filter[server]'; from a clone: pip install -e "
        "'.[server]').",
        """\
  helicone-filter serve                          (http://127.0.0.1:8765)
  helicone-filter serve --port 9000 --cors-origin https://builder.example.com
  curl -s localhost:8765/diagnose -H 'content-type: application/json' \\
       -d '{"text": "modle = 1"}'
""",
        _serve,
        _serve_options,
        errors="",
    ),
    Command(
        "completion",
        "the shell completion script for bash, zsh or fish",
        "Print the script that completes helicone-filter's commands and options in a shell.",
        """\
  helicone-filter completion bash > ~/.local/share/bash-completion/completions/helicone-filter
  helicone-filter completion zsh > ~/.zfunc/_helicone-filter    (a directory in $fpath)
  helicone-filter completion fish > ~/.config/fish/completions/helicone-filter.fish
""",
        _completion,
        _completion_options,
        errors="",
    ),
    Command(
        "repl",
        "the interactive prompt: completion and mistakes as you type, the JSON on Enter",
        "Explore filters at an interactive prompt (needs the repl extra: pip install "
        "'helicone-filter[repl]'; from a clone: pip install -e '.[repl]'): completion as you "
        "type, mistakes underlined, Enter prints the JSON; :sql, :body, :explain, :fields, "
        ":help, :quit (see docs/repl.md). When stdin is no terminal, its lines are run as if "
        "typed.",
        """\
  helicone-filter repl
  helicone-filter repl --history        (kept in ~/.local/state/helicone-filter/history)
  helicone-filter repl --history my-filters.history --now 2025-06-01T00:00:00Z
""",
        _repl,
        _repl_options,
        errors="",
    ),
)
SUBCOMMANDS = tuple(c.name for c in COMMANDS)
_BY_NAME = {c.name: c for c in COMMANDS}
_DEFAULT = "compile"  # `helicone-filter 'user_cost > 5'`, or a filter on stdin


def _build_parser() -> _Parser:
    from helicone_filter import __version__

    parser = _Parser(
        prog=PROG,
        description="Compile filter text into Helicone's filter JSON, and back. A command's "
        "options go before or after its name; without a command, the filter is compiled.",
        epilog="examples:\n" + _BY_NAME[_DEFAULT].examples,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.options = {}
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for c in COMMANDS:
        p = sub.add_parser(
            c.name,
            help=c.summary,
            description=c.description,
            epilog="examples:\n" + c.examples,
            formatter_class=_Formatter,
        )
        if c.reads:
            p.add_argument("input", nargs="?", default="-", metavar="INPUT", help=c.reads)
        c.options(p)
        if c.reads:
            _add_now(p)
        if c.line is not None:
            _add_lines(p, c.line_result)
        if c.warns:
            _add_quiet(p)
        if c.errors:
            _add_errors(p, c.errors)
        for action in p._actions:
            for option in action.option_strings:
                parser.options[option] = parser.options.get(option, False) or action.nargs != 0
    return parser


def _sort_keys() -> tuple[str, ...]:
    from helicone_filter.facts.schema import SORT_KEYS

    return SORT_KEYS


# -- --lines ----------------------------------------------------------------------------------


def _lines(command: Command, args: argparse.Namespace, now: datetime | None) -> int:
    """`--lines`: the subcommand's line work on each line, NDJSON out (see bulk.run_lines); a
    line that fails gives `{"line": n, "error": {...}}` and the rest go on."""
    from helicone_filter.cli.lines import run_lines
    from helicone_filter.errors import FilterError, FilterSyntaxError

    jobs = _jobs(args.jobs)
    line = command.line
    assert line is not None

    def work(number: int, text: str | None) -> _LineResult:
        try:
            if text is None:
                raise _InputError("the line is not UTF-8")
            return line(args, number, text, now)
        except FilterError as e:
            problems = _every_problem(e, now) if isinstance(e, FilterSyntaxError) else e.problems
            error = _error_object(_first_error(problems).message, _dicts(problems))
            return {"line": number, **error}, True, ""
        except _InputError as e:
            return {"line": number, **_error_object(str(e), [])}, True, ""

    if args.input == "-" and sys.stdin is None:
        raise _InputError(_NO_STDIN)
    failed = run_lines(
        work, args.input, jobs, sys.stdin, sys.stdout, sys.stderr, ascii_only=_ascii(sys.stdout)
    )
    return Exit.BAD_FILTER if failed else Exit.OK


def _jobs(asked: int | None) -> int:
    """The worker processes for --lines: one per processor by default; what --jobs asks, up to
    _JOBS_PER_CPU a processor (more would only take turns on the same processors, each
    costing its memory), said on stderr when cut down."""
    cpus = _cpus()
    if asked is None:
        return cpus
    most = cpus * _JOBS_PER_CPU
    if asked > most:
        print(
            f"{PROG}: warning: --jobs {asked} is more than {_JOBS_PER_CPU} worker processes per "
            f"processor ({cpus} here): {most} are started",
            file=sys.stderr,
        )
        return most
    return asked


def _cpus() -> int:
    """The processors this process may run on (fewer than the machine's in a container, or
    under taskset)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:
            pass
    return os.cpu_count() or 1


def _every_problem(error: FilterError, now: datetime | None) -> list[Problem]:
    """The problems to report for a bad filter: after a syntax error in filter text, every
    problem `diagnose` finds (the conditions around the mistake are read on their own);
    otherwise the error's own."""
    from helicone_filter.errors import FilterSyntaxError

    if not isinstance(error, FilterSyntaxError) or not error.text:
        return error.problems
    from helicone_filter.api import is_json_text
    from helicone_filter.api.diagnosis import every_problem

    if is_json_text(error.text):
        return error.problems
    found = every_problem(error.text, now=now)
    return found if any(p.severity == "error" for p in found) else error.problems


def _first_error(problems: list[Problem]) -> Problem:
    return next((p for p in problems if p.severity == "error"), problems[0])


# -- errors and the run -----------------------------------------------------------------------


def _report(
    args: argparse.Namespace | None,
    message: str,
    error: Any = None,
    api_error: HeliconeAPIError | None = None,
) -> None:
    """An error on stderr: text (a FilterError with its carets, a HeliconeAPIError with its
    details and hint), or JSON with --error-format (an API error's status, url, details and
    hint beside the message)."""
    from helicone_filter.errors import render_problem

    if getattr(args, "error_format", "text") == "json":
        if api_error is not None:
            fields = {**_error_object(message, [])["error"], **api_error.as_dict()}
            print(_json({"error": fields}, sys.stderr), file=sys.stderr)
        elif error is not None:
            found = _error_object(_first_error(error.problems).message, _dicts(error.problems))
            print(_json(found, sys.stderr), file=sys.stderr)
        else:
            print(_json(_error_object(message, []), sys.stderr), file=sys.stderr)
        return
    if error is not None:  # each problem with its caret, an error's or a warning's
        color = _color(args, sys.stderr)
        message = "\n\n".join(
            (f"{PROG}: error: " if p.severity == "error" else f"{PROG}: ")
            + render_problem(error.text, p, color=color)
            for p in error.problems
        )
    elif api_error is not None:
        message = api_error.render(color=_color(args, sys.stderr))
    else:
        from helicone_filter.errors import printable

        message = printable(message, newlines=True)  # it may quote an argument, or the input
    if not message.startswith(("usage:", PROG)):
        message = f"{PROG}: error: {message}"
    print(message, file=sys.stderr)


def _wants_json_errors(argv: list[str]) -> bool:
    for i, arg in enumerate(argv):
        if arg == "--error-format=json" or (
            arg == "--error-format" and argv[i + 1 : i + 2] == ["json"]
        ):
            return True
    return False


def _fallback_args(argv: list[str]) -> argparse.Namespace:
    """What `_report` needs when the arguments were not parsed: the error format asked for."""
    return argparse.Namespace(error_format="json" if _wants_json_errors(argv) else "text")


def _arranged(argv: list[str], parser: _Parser) -> list[str]:
    """The arguments with the command first: a command's options may come before its name
    (`--pretty compile x` is `compile --pretty x`), and without a command the input is a
    filter to compile (`helicone-filter 'user_cost > 5'`), unless its first word is a command
    misspelled (a usage error that says which one)."""
    if argv[:1] and argv[0] in ("-h", "--help", "--version"):
        return argv
    at = 0
    while at < len(argv) and argv[at].startswith("-") and argv[at] not in ("-", "--"):
        at += 2 if _takes_value(argv[at], parser.options) else 1
    if at < len(argv) and argv[at] in SUBCOMMANDS:
        return [argv[at], *argv[:at], *argv[at + 1 :]]
    if at < len(argv):
        _not_a_command(argv[at], argv[at + 1 :], parser)
    return [_DEFAULT, *argv]


def _takes_value(option: str, options: dict[str, bool]) -> bool:
    """Whether `option` is followed by its value (not `--opt=value`); argparse's abbreviations
    (`--err json`) count as the option they stand for."""
    if option in options:
        return options[option]
    if not option.startswith("--") or "=" in option:
        return False
    return {options[o] for o in options if o.startswith(option)} == {True}


def _not_a_command(word: str, rest: list[str], parser: _Parser) -> None:
    """Refuse a first word that is a command misspelled (`fromat x`): one close to a command's
    name that is no field and not a filter that compiles, and, when nothing follows it, closer
    to a command than to any field (`chek` is check, `cahced` a field misspelled)."""
    import re

    if not re.fullmatch(r"[A-Za-z][A-Za-z_-]*", word):
        return  # filter text: `user_cost > 5`, `"all"`, `-`
    from helicone_filter.facts.schema import FIELDS

    if word.lower() in FIELDS:
        return  # `cached`, `threat`: a filter (or a field whose operator is missing)
    import difflib

    def likeness(name: str) -> float:
        return difflib.SequenceMatcher(None, word.lower(), name).ratio()

    command = max(SUBCOMMANDS, key=likeness)
    if likeness(command) < 0.6:
        return
    more = any(not a.startswith("-") for a in rest)  # more than a filter: a command's input
    if not more and max(map(likeness, FIELDS)) >= likeness(command):
        return
    from helicone_filter.api import text_problems

    problems, _ = text_problems(word)
    if not any(p.severity == "error" for p in problems):
        return  # a filter that compiles
    raise _UsageError(
        f"{parser.format_usage()}{PROG}: error: unknown command {word!r}; did you mean {command!r}?"
    )


def _run(argv: list[str]) -> int:
    from helicone_filter.errors import FilterError

    parser = _build_parser()
    if not argv and (sys.stdin is None or sys.stdin.isatty()):
        parser.print_help(sys.stderr)
        return Exit.USAGE
    args: argparse.Namespace | None = None
    now: datetime | None = None
    try:
        args = parser.parse_args(_arranged(argv, parser))
        command = _BY_NAME[args.command]
        now = _parse_now(args.now) if command.reads else None
        if getattr(args, "lines", False):
            return _lines(command, args, now)
        if not command.reads:
            return command.run(args, "", now)
        text = _read_input(args.input, sys.stdin)
        with _collector_paused():
            return command.run(args, text, now)
    except _UsageError as e:
        _report(args or _fallback_args(argv), str(e))
        return Exit.USAGE
    except SystemExit as e:  # --help and --version
        return int(e.code or 0)
    except _InputError as e:
        _report(args, str(e))
        return Exit.BAD_FILTER
    except FilterError as e:
        _report(args, "", FilterError(_every_problem(e, now), e.text))
        return Exit.BAD_FILTER


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The garbage collector off while one filter is read and printed: its objects live until
    the command ends, and the collector's passes over a heap that grows with the input (a
    million-character `in` list makes 250,000 conditions) took a third of the time and grew
    faster than the input. Nothing read here makes cycles to collect. On again after."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); return the exit code."""
    from helicone_filter.cli.lines import Terminated

    arguments = list(sys.argv[1:] if argv is None else argv)
    stdout = sys.stdout  # None when the process was started with it closed
    strict = [_escape_unencodable(stream) for stream in (stdout, sys.stderr)]
    sys.stdout = cast(TextIO, _Output(stdout))
    try:
        code = _run(arguments)
        sys.stdout.flush()  # a full disk often fails only here
        return code
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except Terminated:  # SIGTERM under --lines: the workers are ended, nothing more is said
        return Exit.TERMINATED
    except BrokenPipeError:
        # The reader went away (`| head -1`): end as quietly as a tool killed by SIGPIPE would.
        _discard_output(stdout)
        return Exit.BROKEN_PIPE
    except _OutputError as e:
        _discard_output(stdout)
        sys.stdout = stdout  # so that nothing below writes through the failed output again
        _report(_fallback_args(arguments), f"cannot write the output: {e}")
        return Exit.OUTPUT_FAILED
    finally:
        sys.stdout = stdout
        for stream, errors in zip((stdout, sys.stderr), strict, strict=True):
            if errors is not None:
                _escape_unencodable(stream, errors)


def _escape_unencodable(stream: TextIO | None, errors: str = "backslashreplace") -> str | None:
    """Make `stream` write what its encoding cannot (PYTHONIOENCODING=ascii, a locale that is
    not UTF-8) as backslash escapes instead of failing; return its error handler before, to
    put back, or None when it was not changed (not a text file, or forgiving already)."""
    before = getattr(stream, "errors", None)
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is None or before == errors or not isinstance(before, str):
        return None
    try:
        reconfigure(errors=errors)
    except (OSError, ValueError):  # closed, or its buffer cannot be written out
        return None
    return before
