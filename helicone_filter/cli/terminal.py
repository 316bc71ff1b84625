"""Output to a terminal: standard output that fails in one line, JSON and text made safe to
print, the colour decision, and the reports of errors and warnings on stderr.

Nothing from a filter or a server reaches the terminal as a control sequence: messages and the
lines under them are `errors.printable`, JSON and canonical text `errors.escape_unsafe`; what
the output's encoding cannot write is escaped (PYTHONIOENCODING=ascii), never a failure.

The command line and the REPL both print through here; nothing here knows the subcommands.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from typing import IO, TYPE_CHECKING, Any, TextIO

from helicone_filter.cli.exits import OutputError
from helicone_filter.defaults import PROG

if TYPE_CHECKING:
    import argparse
    from datetime import datetime

    from helicone_filter.client import HeliconeAPIError
    from helicone_filter.errors import FilterError, Problem


# -- standard output ------------------------------------------------------------------------


class Output:
    """Standard output for one run: a write or flush that fails raises `OutputError` with the
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
            raise OutputError("standard output is closed; send it to a file or a pipe")
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(_failure(e)) from None

    def flush(self) -> None:
        if self.stream is None:
            return  # nothing was written: writing is what fails
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(_failure(e)) from None

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


def discard_output(stream: TextIO | None) -> None:
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


# -- JSON and text made safe to print --------------------------------------------------------


def pretty(args: argparse.Namespace) -> bool:
    """Whether to indent the JSON: --pretty, or on a terminal unless --compact."""
    return bool(args.pretty or (not args.compact and sys.stdout.isatty()))


def dump(data: Any, pretty: bool) -> str:
    """JSON for stdout: indented or on one line."""
    if pretty:
        return json_text(data, sys.stdout, indent=2)
    return json_text(data, sys.stdout, separators=(",", ":"))


def json_text(data: Any, stream: Any, **options: Any) -> str:
    """JSON to write on `stream`: characters as themselves where its encoding writes them
    all, else as `\\uXXXX` escapes (PYTHONIOENCODING=ascii); either way DEL, C1 and bidi
    controls and lone surrogates escaped (`errors.escape_unsafe`), so that it is valid JSON
    that can neither fail to print nor drive a terminal."""
    from helicone_filter.errors import escape_unsafe

    text = json.dumps(data, ensure_ascii=False, **options)
    return escape_unsafe(text, ascii_only=needs_ascii(stream))


def needs_ascii(stream: Any) -> bool:
    """Whether `stream` cannot write every character (its encoding is not a UTF)."""
    from helicone_filter.errors import writes_unicode

    return not writes_unicode(stream)


def text_out(text: str) -> str:
    """A filter's canonical text for stdout: `json_text`'s escapes, which mean the same inside a
    string of the language (and nothing but strings holds such characters there)."""
    from helicone_filter.errors import escape_unsafe

    return escape_unsafe(text, ascii_only=needs_ascii(sys.stdout))


# -- colour, errors and warnings --------------------------------------------------------------

# --color's choices that decide by themselves; "auto" asks `colors_on`.
_COLOR_CHOICES = {"always": True, "never": False}


def use_color(args: argparse.Namespace | None, stream: IO[str]) -> bool:
    """Whether to colour what goes to `stream`: as --color says, by default `colors_on`."""
    choice = _COLOR_CHOICES.get(getattr(args, "color", "auto"))
    return colors_on(stream) if choice is None else choice


def colors_on(stream: IO[str]) -> bool:
    """Whether `stream` takes colour unasked (`--color auto`): never when NO_COLOR is set
    (no-color.org: it wins over everything but --color), always when FORCE_COLOR is
    (force-color.org: a pipe, TERM=dumb, any value but empty), else on a terminal whose TERM
    is not dumb."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def columns(stream: object) -> int | None:
    """The width of the terminal `stream` writes to, in columns (COLUMNS when set, as
    `shutil.get_terminal_size` reads it); None when it is no terminal: a file or a pipe does
    not wrap lines."""
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return None
    try:
        width = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        width = 0
    if width > 0:
        return width
    try:
        return os.get_terminal_size(stream.fileno()).columns or None  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return None


# The Python spellings of an option that the library's hints give beside the command line's
# (`--eu, eu=True`, `endpoint="requests", --endpoint requests`): the command line shows its own.
_PYTHON_SPELLINGS = re.compile(
    r'endpoint="[\w-]+", |, eu=True| \(eu=True\)|, base_url=| \(base_url=\)'
    r"|, or timeout= in Python| \(or api_key\)"
)


def cli_words(hint: str) -> str:
    """A hint in the command line's words: its options only, without the Python arguments
    the library's hints name beside them (`(--eu, eu=True)` is `(--eu)`)."""
    return _PYTHON_SPELLINGS.sub("", hint)


def error_object(message: str, problems: list[dict[str, Any]]) -> dict[str, Any]:
    """An error as --error-format json shows it: {"error": {"message", "problems"}}."""
    return {"error": {"message": message, "problems": problems}}


def empty_warnings(text: str) -> list[Problem]:
    """The warning for an empty filter (an empty "$VAR"), which matches every user."""
    if text.strip():
        return []
    from helicone_filter.errors import make_problem

    problem = make_problem(  # a warning, as the registry says
        text,
        "empty-filter",
        "the filter is empty, so it matches every user",
        0,
        len(text),
        "write all to mean every user; --quiet silences warnings",
    )
    return [problem]


def warnings_note(
    args: argparse.Namespace, text: str, warnings: list[Problem], number: int | None = None
) -> str:
    """The warnings as stderr shows them: each with its caret and hint, or, with --error-format
    json, one JSON object {"warning": {"message", "problems"}}; "" for none or with --quiet.
    Under --lines, `number` is the input line they are about."""
    if not warnings or getattr(args, "quiet", False):
        return ""
    if getattr(args, "error_format", "text") == "json":
        found = {"warning": {"message": warnings[0].message, "problems": dicts(warnings)}}
        return json.dumps(found if number is None else {"line": number, **found}) + "\n"
    return warnings_text(text, warnings, color=use_color(args, sys.stderr), number=number)


def warnings_text(
    text: str, warnings: list[Problem], *, color: bool, number: int | None = None
) -> str:
    """The warnings about `text` as text, each with its caret and hint (and `number`, the
    input line they are about, under --lines); "" for none."""
    if not warnings:
        return ""
    from helicone_filter.errors import CYAN, YELLOW, paint, render_problem

    blocks = []
    for p in warnings:
        if number is not None:
            p = p.replace(line=number)  # where it is in the input
        if p.code == "empty-filter":  # nothing to put a caret under
            label, hint = paint("warning:", YELLOW, color), paint("hint:", CYAN, color)
            blocks.append(f"{label} {p.message}\n  {hint} {p.hint}")
        else:
            p = p.replace(hint=cli_words(p.hint))
            blocks.append(render_problem(text, p, color=color, width=columns(sys.stderr)))
    return ("\n" if number is not None else "\n\n").join(f"{PROG}: {b}" for b in blocks) + "\n"


def warn(args: argparse.Namespace, text: str, warnings: list[Problem]) -> None:
    """The warnings on stderr, as `warnings_note` writes them."""
    note = warnings_note(args, text, warnings)
    if note:
        sys.stderr.write(note)


def dicts(problems: list[Problem]) -> list[dict[str, Any]]:
    return [p.as_dict() for p in problems]


def every_problem(error: FilterError, now: datetime | None) -> list[Problem]:
    """The problems to report for a bad filter: after a syntax error in filter text, every
    problem `diagnose` finds (the conditions around the mistake are read on their own);
    otherwise the error's own."""
    from helicone_filter.errors import FilterSyntaxError

    if not isinstance(error, FilterSyntaxError) or not error.text:
        return error.problems
    from helicone_filter.api import is_json_text
    from helicone_filter.api.diagnosis import every_problem as diagnosed

    if is_json_text(error.text):
        return error.problems
    found = diagnosed(error.text, now=now)
    return found if any(p.severity == "error" for p in found) else error.problems


def first_error(problems: list[Problem]) -> Problem:
    """The first error among `problems`, else the first of them."""
    return next((p for p in problems if p.severity == "error"), problems[0])


def report(
    args: argparse.Namespace | None,
    message: str,
    error: Any = None,
    api_error: HeliconeAPIError | None = None,
) -> None:
    """An error on stderr: text (a FilterError with its carets, a HeliconeAPIError with its
    details and hint), or JSON with --error-format (an API error's status, url, details and
    hint beside the message)."""
    from helicone_filter.errors import render_problem

    if api_error is not None:
        api_error.hint = cli_words(api_error.hint)  # the command line's options, not Python's
    if getattr(args, "error_format", "text") == "json":
        if api_error is not None:
            fields = {**error_object(message, [])["error"], **api_error.as_dict()}
            print(json_text({"error": fields}, sys.stderr), file=sys.stderr)
        elif error is not None:
            found = error_object(first_error(error.problems).message, dicts(error.problems))
            print(json_text(found, sys.stderr), file=sys.stderr)
        else:
            print(json_text(error_object(message, []), sys.stderr), file=sys.stderr)
        return
    if error is not None:  # each problem with its caret, an error's or a warning's
        color, width = use_color(args, sys.stderr), columns(sys.stderr)
        message = "\n\n".join(
            f"{PROG}: "
            + render_problem(
                error.text, p.replace(hint=cli_words(p.hint)), color=color, label=True, width=width
            )
            for p in error.problems
        )
    elif api_error is not None:
        message = api_error.render(color=use_color(args, sys.stderr))
    else:
        from helicone_filter.errors import printable

        message = printable(message, newlines=True)  # it may quote an argument, or the input
    if not message.startswith(("usage:", PROG)):
        message = f"{PROG}: error: {message}"
    print(message, file=sys.stderr)


# -- the streams' encoding --------------------------------------------------------------------


def escape_unencodable(stream: TextIO | None, errors: str = "backslashreplace") -> str | None:
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
