"""The arguments of the command line: the parser built from the table of subcommands, the
option types that refuse a value outside their range, the options several subcommands share,
the reading of the INPUT argument and of --now, options before the subcommand's name, the
did-you-mean of a misspelled subcommand, and the shell completion script.

It knows the subcommands only as the rows it is given (`Row`); the table is `commands.COMMANDS`.
Everything a usage mistake raises is a `UsageError`, which the run reports as it is (exit 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

from helicone_filter.cli.exits import InputError, MissingDependency, UsageError
from helicone_filter.defaults import MAX_WAIT_SECONDS, PROG

if TYPE_CHECKING:
    from datetime import datetime

    from helicone_filter.api.reading import Input, Source


class Row(Protocol):
    """What the parser needs of a subcommand (a row of `commands.COMMANDS`, which says what
    each attribute means)."""

    @property
    def name(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def examples(self) -> str: ...
    @property
    def options(self) -> Callable[[argparse.ArgumentParser], None]: ...
    @property
    def reads(self) -> str: ...
    @property
    def line(self) -> object: ...
    @property
    def line_result(self) -> str: ...
    @property
    def errors(self) -> str: ...
    @property
    def warns(self) -> bool: ...
    @property
    def endpoint(self) -> bool: ...


# -- the parser -----------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """A parser whose mistakes raise `UsageError` (reported by the run, not by argparse)."""

    # The top parser's: every option of the subcommands, and whether it takes a value; the
    # subcommands' names; the one run without a name; each subcommand's parser.
    options: dict[str, bool]
    commands: tuple[str, ...]
    default: str
    parsers: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.format_usage()}{PROG}: error: {message}")


def _columns() -> int:
    """The terminal's width, as `shutil.get_terminal_size` finds it (COLUMNS, else the
    terminal of standard output, else 80), without importing shutil and the compression
    modules it brings for a run that prints no help."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class Formatter(argparse.HelpFormatter):
    """Help wrapped to the terminal's width, the examples kept line for line as written."""

    def __init__(self, prog: str) -> None:
        width = max(_columns() - 2, 40)
        super().__init__(prog, width=width, max_help_position=min(30, width // 3))

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:\n"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


# -- numbers: every numeric option takes a range, refused outside it as a usage error --------

# The most worker processes --jobs may ask for; more than JOBS_PER_CPU a processor are cut
# down to that, with a warning (each is a process of its own: some 20 MB).
MAX_JOBS = 1024
JOBS_PER_CPU = 4


def _shown(text: str) -> str:
    """An option's value as a message quotes it: repr (no control character gets through),
    cut short (a number of 5,000 digits is not repeated)."""
    return repr(text if len(text) <= 30 else text[:24] + "…")


def whole(what: str, low: int, high: int | None = None) -> Callable[[str], int]:
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


def seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0, at most MAX_WAIT_SECONDS."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_WAIT_SECONDS:  # nan and inf fail here too
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is not a timeout: give seconds above 0, at most "
            f"{MAX_WAIT_SECONDS:.0f} (a day)"
        )
    return value


# -- options that several subcommands share -------------------------------------------------


def add_now(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--now",
        metavar="TIMESTAMP",
        help="the time relative times count back from (ISO 8601; default: the current time)",
    )


def endpoint_name(text: str) -> str:
    """An argparse type: the name of an endpoint of Helicone (a row of
    `facts.endpoints.ENDPOINTS`); any other is a usage error naming the endpoints, and the one
    meant when it is close (`'request' ...; did you mean 'requests'?`)."""
    from helicone_filter.facts.endpoints import endpoint

    try:
        return endpoint(text).name
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_endpoint(p: argparse.ArgumentParser) -> None:
    from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT, ENDPOINT_NAMES, ENDPOINTS

    paths = "; ".join(f"{name}: {', '.join(row.paths)}" for name, row in ENDPOINTS.items())
    p.add_argument(
        "-e",
        "--endpoint",
        type=endpoint_name,
        choices=ENDPOINT_NAMES,
        default=DEFAULT_ENDPOINT,
        help=f"the endpoint of Helicone the filter is for, which says its fields (default "
        f"{DEFAULT_ENDPOINT}; {paths})",
    )


def add_lines(p: argparse.ArgumentParser, result: str) -> None:
    p.add_argument(
        "--lines",
        action="store_true",
        help=f"one filter per input line, {result} per output line (NDJSON), streamed; "
        'blank lines and # comments are skipped; a bad line gives {"line": n, "error": '
        "{...}} and the rest go on (exit 1 if any failed)",
    )
    p.add_argument(
        "--jobs",
        type=whole("a number of worker processes", 1, MAX_JOBS),
        metavar="N",
        help="with --lines: worker processes for large inputs (default: one per processor; "
        f"1 runs everything in this process; at most {JOBS_PER_CPU} per processor are used)",
    )


def add_output(p: argparse.ArgumentParser) -> None:
    output = p.add_mutually_exclusive_group()
    output.add_argument(
        "--pretty", action="store_true", help="indent the JSON (the default on a terminal)"
    )
    output.add_argument(
        "--compact", action="store_true", help="one line of JSON (the default in a pipe)"
    )


ERRORS = (
    "errors and warnings on stderr as text with a caret (default), or as one JSON object "
    'each, {"error": {"message": ..., "problems": [...]}} ("warning" for warnings), for tools'
)
CHECK_ERRORS = (
    "the problems on stdout as text with a caret (default), or as a JSON list of problems for "
    'tools; an input that cannot be read at all on stderr as text or as {"error": {...}}'
)


def add_errors(p: argparse.ArgumentParser, explained: str) -> None:
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
        help="colour errors and warnings: auto (default) on a terminal, or with FORCE_COLOR set; "
        "never with NO_COLOR set",
    )


def add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no warnings on stderr (about what Helicone will do unexpectedly with the filter, "
        "or an empty filter, which matches every user)",
    )


# -- input ------------------------------------------------------------------------------------


NO_STDIN = "standard input is closed: give the filter as an argument, or send it on stdin"


def reading_note(arg: str, stdin: IO[str] | None, command: str) -> None:
    """On stderr, when the input is read from a terminal (no filter given, or `-`): that it
    is, and how to end it, so that a command run without its filter does not wait in
    silence."""
    isatty = getattr(stdin, "isatty", None)
    if arg != "-" or not (isatty and isatty()):
        return
    end = "Ctrl-Z then Enter" if sys.platform == "win32" else "Ctrl-D"
    print(
        f"{PROG}: reading the filter from the terminal: type it, then {end} on a line of its "
        f"own to end it (or give it as an argument: {PROG} {command} 'user_cost > 5')",
        file=sys.stderr,
        flush=True,
    )


def read_input(arg: str, stdin: IO[str] | None) -> str:
    """The input: `arg` itself, or all of stdin for `-`, which must be UTF-8, without the line
    ends it closes with (`echo 'cached and' |` gives the filter `cached and`, so that a problem
    at its end is shown on its line)."""
    if arg != "-":
        return arg
    if stdin is None:  # started with its stdin closed (`<&-`)
        raise InputError(NO_STDIN)
    raw = getattr(stdin, "buffer", None)
    if raw is None:
        return stdin.read().rstrip("\r\n")
    data: bytes = raw.read()
    try:
        return data.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as e:
        raise InputError(
            f"the input is not UTF-8: byte {e.start} is 0x{data[e.start]:02x}"
        ) from None


def source_of(text: str) -> Source:
    """The input told apart by the one door (`api.reading.input_source`): filter text, or
    FilterNode JSON loaded; JSON text that cannot be read is an `InputError`."""
    from helicone_filter.api.reading import input_source

    return _json_read(input_source, text)


def filter_of(text: str, **options: Any) -> Input:
    """The input read by the one door (`api.reading.read_input`, with its `options`); JSON
    text that cannot be read is an `InputError`."""
    from helicone_filter.api.reading import read_input

    return _json_read(lambda given: read_input(given, **options), text)


# JSON text that is not JSON, or too deep for Python's reader: said as the input's fault, in a
# line. A number too long to read is shown as a problem (a caret under it, and the hint).
_UNREADABLE_JSON = frozenset({"invalid-json", "json-too-deep"})
Read = TypeVar("Read")


def _json_read(read: Callable[[str], Read], text: str) -> Read:
    """`read(text)`, JSON text that cannot be read an `InputError`."""
    from helicone_filter.errors import FilterSyntaxError

    try:
        return read(text)
    except FilterSyntaxError as e:
        if e.code not in _UNREADABLE_JSON:
            raise
        raise InputError(f"the input is {e.problems[0].message}") from None


def parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    from helicone_filter.facts.timestamps import parse_timestamp

    parsed = parse_timestamp(value)
    if parsed is None:
        raise UsageError(
            f"{PROG}: error: --now {value!r} is not an ISO 8601 timestamp "
            "(e.g. 2025-01-31T12:00:00Z)"
        )
    return parsed


# -- options of old spellings, and the parser of them all -------------------------------------


class Deprecated(argparse.Action):
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


def build_parser(rows: Sequence[Row], default: str, version: str) -> Parser:
    """The parser of the command line: a subparser for each row, with its own options and
    those its row asks for (INPUT and --now, --endpoint, --lines and --jobs, --quiet,
    --error-format and --color); `default` is the subcommand run when none is named,
    `version` what --version prints."""

    by_name = {row.name: row for row in rows}
    parser = Parser(
        prog=PROG,
        description="Compile filter text into Helicone's filter JSON, and back. A command's "
        "options go before or after its name; without a command, the filter is compiled.",
        epilog="examples:\n" + by_name[default].examples,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=version)
    parser.options = {}
    parser.parsers = {}
    parser.commands = tuple(by_name)
    parser.default = default
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for c in rows:
        p = sub.add_parser(
            c.name,
            help=c.summary,
            description=c.description,
            epilog="examples:\n" + c.examples,
            formatter_class=Formatter,
        )
        parser.parsers[c.name] = p
        if c.reads:
            p.add_argument("input", nargs="?", default="-", metavar="INPUT", help=c.reads)
        c.options(p)
        if c.reads:
            add_now(p)
        if c.endpoint:
            add_endpoint(p)
        if c.line is not None:
            add_lines(p, c.line_result)
        if c.warns:
            add_quiet(p)
        if c.errors:
            add_errors(p, c.errors)
        for action in p._actions:
            for option in action.option_strings:
                parser.options[option] = parser.options.get(option, False) or action.nargs != 0
    return parser


# -- the arguments as typed -------------------------------------------------------------------


def _wants_json_errors(argv: list[str]) -> bool:
    """Whether `argv` asks for --error-format json (read before argparse, or without it)."""
    for i, arg in enumerate(argv):
        if arg == "--error-format=json" or (
            arg == "--error-format" and argv[i + 1 : i + 2] == ["json"]
        ):
            return True
    return False


def fallback_args(argv: list[str]) -> argparse.Namespace:
    """What `terminal.report` needs when the arguments were not parsed: the error format
    asked for."""
    return argparse.Namespace(error_format="json" if _wants_json_errors(argv) else "text")


def arranged(argv: list[str], parser: Parser) -> list[str]:
    """The arguments with the command first: a command's options may come before its name
    (`--pretty compile x` is `compile --pretty x`), and without a command the input is a
    filter to compile (`helicone-filter 'user_cost > 5'`), unless its first word is a command
    misspelled (a usage error that says which one)."""
    if argv[:1] and argv[0] in ("-h", "--help", "--version"):
        return argv
    at = 0
    while at < len(argv) and argv[at].startswith("-") and argv[at] not in ("-", "--"):
        at += 2 if _takes_value(argv[at], parser.options) else 1
    if at < len(argv) and argv[at] in parser.commands:
        return [argv[at], *argv[:at], *argv[at + 1 :]]
    if at < len(argv):
        _not_a_command(argv[at], argv[at + 1 :], parser)
    return [parser.default, *argv]


def _takes_value(option: str, options: dict[str, bool]) -> bool:
    """Whether `option` is followed by its value (not `--opt=value`); argparse's abbreviations
    (`--err json`) count as the option they stand for."""
    if option in options:
        return options[option]
    if not option.startswith("--") or "=" in option:
        return False
    return {options[o] for o in options if o.startswith(option)} == {True}


def _not_a_command(word: str, rest: list[str], parser: Parser) -> None:
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

    command = max(parser.commands, key=likeness)
    if likeness(command) < 0.6:
        return
    more = any(not a.startswith("-") for a in rest)  # more than a filter: a command's input
    if not more and max(map(likeness, FIELDS)) >= likeness(command):
        return
    from helicone_filter.api import text_problems

    problems, _ = text_problems(word)
    if not any(p.severity == "error" for p in problems):
        return  # a filter that compiles
    raise UsageError(
        f"{parser.format_usage()}{PROG}: error: unknown command {word!r}; did you mean {command!r}?"
    )


# -- arguments left over: an option misspelled, or a filter the shell split -------------------


def parse(parser: Parser, argv: list[str]) -> argparse.Namespace:
    """The arguments parsed (`argv` as typed; `arranged` puts the command first). What is left
    over is a usage error that says what was meant: an option misspelled gets a did-you-mean
    (`--prety`: did you mean --pretty?), and words after a filter say that the shell split it
    and show the command with the filter in single quotes."""
    arguments = arranged(argv, parser)
    args, extra = parser.parse_known_args(arguments)
    if not extra:
        return args
    command = parser.parsers[args.command]
    options = [o for action in command._actions for o in action.option_strings]
    for word in extra:
        if word.startswith("-") and word != "-":
            name = word.partition("=")[0]
            import difflib

            bare = {o.lstrip("-"): o for o in options if o.startswith("--")}
            near = difflib.get_close_matches(name.lstrip("-"), bare, n=1, cutoff=0.7)
            if near:
                command.error(f"unrecognized arguments: {name}; did you mean {bare[near[0]]}?")
            command.error(
                f"unrecognized arguments: {name} ({args.command} takes no such option; see "
                f"{PROG} {args.command} --help)"
            )
    if getattr(args, "input", "-") != "-":
        endpoint = getattr(args, "endpoint", None)
        # Not a mistake of options: the message alone, without the usage block.
        raise UsageError(f"{PROG}: error: {_split_filter(argv, args.input, extra, endpoint)}")
    command.error(f"unrecognized arguments: {' '.join(extra)}")
    raise AssertionError  # not reached: error raises


def _split_filter(argv: list[str], first: str, rest: list[str], endpoint: str | None) -> str:
    """The error for a filter the shell split into words (it was not quoted): the command as
    typed, the words put back together in single quotes (and, where the shell also took the
    filter's own double quotes, its strings quoted again, when that makes a filter)."""
    words = [first, *rest]
    text = _as_meant(" ".join(words), endpoint)
    typed, todo = [], list(words)
    for arg in argv:
        if todo and arg == todo[0]:
            if len(todo) == len(words):
                typed.append(_quoted(text))
            todo.pop(0)
        else:
            typed.append(arg)
    return (
        f"the filter came as {len(words)} arguments ({', '.join(map(repr, words))}): the shell "
        'splits text that is not quoted at spaces (and takes > and < for redirections, "..." '
        f"for its own quotes); put the filter in single quotes: {PROG} {' '.join(typed)}"
    )


def _as_meant(text: str, endpoint: str | None) -> str:
    """`text` with the fix-its of its errors made, when they make it a filter without errors
    (`model = gpt-4o`, whose quotes the shell took, becomes `model = "gpt-4o"`); else as it
    is."""
    from helicone_filter.api.text import check_text
    from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT

    where = endpoint or DEFAULT_ENDPOINT
    errors = [p for p in check_text(text, endpoint=where) if p.severity == "error"]
    if not errors or not all(p.fixes for p in errors):
        return text
    fixes = sorted((p.fixes[0] for p in errors), key=lambda f: f.start, reverse=True)
    fixed, end = text, len(text) + 1
    for fix in fixes:
        if fix.end > end:
            return text  # overlapping fixes: leave the text to the user
        fixed, end = fixed[: fix.start] + fix.replacement + fixed[fix.end :], fix.start
    again = check_text(fixed, endpoint=where)
    return fixed if not any(p.severity == "error" for p in again) else text


def _quoted(text: str) -> str:
    """`text` as one word of a shell command, in single quotes."""
    import shlex

    return shlex.quote(text) if "'" in text else f"'{text}'"


# A filter that ends in a comparison with nothing after it: the shell may have cut it there.
_ENDS_IN_OPERATOR = r"(>=?|<=?|!?==?|=>|=<)\s*$"


def shell_cut_hint(argv: list[str], text: str) -> str:
    """For a bad filter given as an argument, a hint when the shell seems to have cut it: it
    ends in a comparison (`user_cost >`), or standard output goes to a new empty file in this
    folder and the filter with `> FILE` put back compiles, as `helicone-filter user_cost > 5`
    makes the shell write `5`; the command, as meant, with the filter in single quotes. ""
    when nothing looks cut."""
    import re

    if text not in argv:
        return ""
    redirected = _new_output_file()
    cut = re.search(_ENDS_IN_OPERATOR, text) is not None
    if redirected is None and not cut:
        return ""
    if redirected is not None:
        meant = f"{text.rstrip()} > {redirected}" if not cut else f"{text.rstrip()} {redirected}"
        from helicone_filter.api import text_problems

        if any(p.severity == "error" for p in text_problems(meant)[0]):
            return ""  # `'modle = 1' > out.json`: a file meant as such
        said = (
            f"standard output goes to a new file {redirected!r}: the shell took '> "
            f"{redirected}' for a redirection (remove that file); "
        )
    else:
        meant, said = f"{text.rstrip()} …", "the filter ends in a comparison; if the shell cut it, "
    at = argv.index(text)
    typed = [*argv[:at], _quoted(meant), *argv[at + 1 :]]
    return f"{said}put the filter in single quotes: {PROG} {' '.join(typed)}"


def _new_output_file() -> str | None:
    """The name of the file standard output goes to when it is a new, empty file in this
    folder (what a `>` in a filter not quoted makes); None otherwise, or where the system
    does not say (the name is read from /proc)."""
    import stat

    try:
        fd = sys.stdout.fileno()
        info = os.fstat(fd)
        path = os.readlink(f"/proc/self/fd/{fd}")
    except (AttributeError, ValueError, OSError):
        return None
    folder, name = os.path.split(path)
    if not stat.S_ISREG(info.st_mode) or info.st_size or folder != os.getcwd():
        return None
    return name if len(name) <= 30 else None


# -- shell completion -------------------------------------------------------------------------

SHELLS = ("bash", "zsh", "fish")


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The script that completes the command line's subcommands and options in `shell`, made
    by shtab from `parser`.

    Raises:
        MissingDependency: shtab is not installed.
    """
    import importlib

    try:
        shtab = importlib.import_module("shtab")  # only here: not for a one-shot compile
    except ImportError:
        raise MissingDependency(
            "completion needs shtab, which is not installed: pip install shtab"
        ) from None
    script: str = shtab.complete(parser, shell=shell)
    return script
