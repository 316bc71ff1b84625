"""The command line: `main(argv) -> int`, one function per subcommand."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from enum import IntEnum
from typing import IO, Any, NoReturn

PROG = "helicone-filter"


class Exit(IntEnum):
    """Exit codes: 0 ok, 1 bad filter, 2 usage."""

    OK = 0
    BAD_FILTER = 1
    USAGE = 2


class _UsageError(Exception):
    pass


class _InputError(Exception):
    """Input that cannot be read as a filter at all (exit 1, like a bad filter)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.format_usage()}{self.prog}: error: {message}")


_EXAMPLES = {
    "compile": """\
examples:
  helicone-filter compile 'user_cost > 5 and model ilike "gpt%"'
  helicone-filter 'cached and status >= 500'          (compile is the default)
  echo 'request_created_at >= now - 7d' | helicone-filter compile
  helicone-filter compile --now 2025-01-01T00:00:00Z 'user_last_active > now - 30d'
  helicone-filter compile --lines < saved-filters.txt > filters.ndjson
""",
    "fmt": """\
examples:
  helicone-filter fmt 'NOT (Cost>1 AND model == "a")'
  echo '{"users_view": {"user_cost": {"gt": 5}}}' | helicone-filter fmt
  helicone-filter fmt --as-written 'request_created_at > now-7d and not cached'
""",
    "check": """\
examples:
  helicone-filter check 'model contains "gpt_4"'
  helicone-filter check < saved-filter.json
  helicone-filter check --format json '{"users_view": {"user_cost": {"gt": "5"}}}'
""",
}
SUBCOMMANDS = ("compile", "fmt", "check")


def _add_input(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("input", nargs="?", default="-", metavar="INPUT", help=what)


def _add_now(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--now",
        metavar="TIMESTAMP",
        help="the time relative times count back from (ISO 8601; default: the current time)",
    )


def _build_parser() -> _Parser:
    from . import __version__

    parser = _Parser(
        prog=PROG,
        description="Compile filter text into Helicone's filter JSON, and back.",
        epilog=_EXAMPLES["compile"],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=description,
            epilog=_EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = command(
        "compile",
        "filter text in, Helicone FilterNode JSON out",
        "Compile filter text into the FilterNode JSON that POST /v1/user/metrics/query takes.",
    )
    _add_input(p, "the filter text; '-' or none reads stdin")
    _add_now(p)
    p.add_argument(
        "--nesting",
        choices=("balanced", "right"),
        default="balanced",
        help="chain shape: balanced (default) or right-nested as Helicone's builder makes",
    )
    p.add_argument(
        "--lines",
        action="store_true",
        help="one filter per input line, one JSON result per output line (NDJSON), streamed; "
        'blank lines and # comments are skipped; a bad line gives {"line": n, "error": '
        "{...}} and the rest go on (exit 1 if any failed)",
    )
    output = p.add_mutually_exclusive_group()
    output.add_argument("--pretty", action="store_true", help="indent the JSON")
    output.add_argument("--compact", action="store_true", help="one line of JSON")

    p = command(
        "fmt",
        "filter text or JSON in, canonical text out",
        'Print a filter as canonical text. JSON input (starting with {, [ or ") is read as '
        "a FilterNode; text is compiled first, so `not` is pushed down and relative times are "
        "resolved, unless --as-written.",
    )
    _add_input(p, "filter text or FilterNode JSON; '-' or none reads stdin")
    _add_now(p)
    p.add_argument(
        "--as-written",
        action="store_true",
        help="for text: keep not, relative times and grouping as written, in canonical spelling",
    )

    p = command(
        "check",
        "filter text or JSON in, its problems out",
        "List every problem with a filter: errors (exit 1) and warnings about what Helicone "
        "would do unexpectedly (exit 0).",
    )
    _add_input(p, "filter text or FilterNode JSON; '-' or none reads stdin")
    _add_now(p)
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default) for people, json for tools",
    )
    return parser


def _read_input(arg: str, stdin: IO[str]) -> str:
    """The input: `arg` itself, or all of stdin for `-`, which must be UTF-8."""
    if arg != "-":
        return arg
    raw = getattr(stdin, "buffer", None)
    if raw is None:
        return stdin.read()
    data: bytes = raw.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _InputError(
            f"the input is not UTF-8: byte {e.start} is 0x{data[e.start]:02x}"
        ) from None


def _is_json(text: str) -> bool:
    """Filter text never starts with `{`, `[` or `"`; FilterNode JSON always does."""
    return text.lstrip()[:1] in ("{", "[", '"')


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise _InputError(f"the input is not valid JSON: {e}") from None


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    from .timestamps import parse_timestamp

    parsed = parse_timestamp(value)
    if parsed is None:
        raise _UsageError(
            f"{PROG}: error: --now {value!r} is not an ISO 8601 timestamp "
            "(e.g. 2025-01-31T12:00:00Z)"
        )
    return parsed


def _dump(data: Any, pretty: bool) -> str:
    if pretty:
        return json.dumps(data, ensure_ascii=False, indent=2)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _compile(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from . import compile as compile_filter

    result = compile_filter(text, now=now, nesting=args.nesting)
    pretty = args.pretty or (not args.compact and sys.stdout.isatty())
    print(_dump(result, pretty))
    return Exit.OK


def _input_lines(arg: str) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each line as it arrives; text None for bytes that are not UTF-8."""
    if arg != "-":
        yield from enumerate(arg.splitlines(), 1)
        return
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:
        yield from enumerate((line.rstrip("\r\n") for line in sys.stdin), 1)
        return
    for number, data in enumerate(iter(raw.readline, b""), 1):
        try:
            yield number, data.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield number, None


def _compile_lines(args: argparse.Namespace, now: datetime | None) -> int:
    """`compile --lines`: NDJSON out, one flushed line per filter."""
    from . import compile as compile_filter
    from .errors import FilterError

    failed = False
    write, flush = sys.stdout.write, sys.stdout.flush
    for number, text in _input_lines(args.input):
        if text is not None and (not text.strip() or text.lstrip().startswith("#")):
            continue
        try:
            if text is None:
                raise _InputError("the line is not UTF-8")
            out: Any = compile_filter(text, now=now, nesting=args.nesting)
        except FilterError as e:
            failed = True
            problems = [p.as_dict() for p in e.problems]
            out = {
                "line": number,
                "error": {"message": str(e.problems[0].message), "problems": problems},
            }
        except _InputError as e:
            failed = True
            out = {"line": number, "error": {"message": str(e), "problems": []}}
        write(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n")
        flush()  # so that `tail -f saved.txt | helicone-filter compile --lines` streams
    return Exit.BAD_FILTER if failed else Exit.OK


def _fmt(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from . import compile as compile_filter
    from . import parse, to_text

    if _is_json(text):
        print(to_text(_load_json(text)))
    elif args.as_written:
        compile_filter(text, now=now)  # only valid filters are formatted
        print(to_text(parse(text)))
    else:
        print(to_text(compile_filter(text, now=now)))
    return Exit.OK


def _check(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from . import check, check_text
    from .errors import render_problem

    problems = check(_load_json(text)) if _is_json(text) else check_text(text, now=now)
    if args.format == "json":
        print(json.dumps([p.as_dict() for p in problems], ensure_ascii=False))
    elif problems:
        shown = "" if _is_json(text) else text
        print("\n\n".join(render_problem(shown, p) for p in problems))
    else:
        print("ok: no problems")
    return Exit.BAD_FILTER if any(p.severity == "error" for p in problems) else Exit.OK


_COMMANDS: dict[str, Callable[[argparse.Namespace, str, datetime | None], int]] = {
    "compile": _compile,
    "fmt": _fmt,
    "check": _check,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); return the exit code."""
    from .errors import FilterError

    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    if not args_list and sys.stdin.isatty():
        parser.print_help(sys.stderr)
        return Exit.USAGE
    if not args_list or args_list[0] not in (*SUBCOMMANDS, "-h", "--help", "--version"):
        args_list.insert(0, "compile")  # `helicone-filter 'user_cost > 5'`, or stdin
    try:
        args = parser.parse_args(args_list)
        now = _parse_now(args.now)
    except _UsageError as e:
        print(e, file=sys.stderr)
        return Exit.USAGE
    except SystemExit as e:  # --help and --version
        return int(e.code or 0)
    try:
        if args.command == "compile" and args.lines:
            return _compile_lines(args, now)
        text = _read_input(args.input, sys.stdin)
        return _COMMANDS[args.command](args, text, now)
    except _InputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return Exit.BAD_FILTER
    except FilterError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return Exit.BAD_FILTER
