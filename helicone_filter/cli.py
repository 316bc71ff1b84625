"""The command line: `helicone-filter compile TEXT` prints the filter's Helicone JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
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
    """Input that cannot even be read as text (exit 1, like a bad filter)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.format_usage()}{self.prog}: error: {message}")


_COMPILE_EXAMPLES = """\
examples:
  helicone-filter compile 'user_cost > 5 and model ilike "gpt%"'
  echo 'request_created_at >= now - 7d' | helicone-filter compile
  helicone-filter compile --now 2025-01-01T00:00:00Z 'user_last_active > now - 30d'
"""


def _build_parser() -> _Parser:
    from . import __version__

    parser = _Parser(
        prog=PROG,
        description="Compile filter text into Helicone's filter JSON.",
        epilog=_COMPILE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    compile_ = sub.add_parser(
        "compile",
        help="filter text in, Helicone FilterNode JSON out",
        description="Compile filter text into the FilterNode JSON that "
        "POST /v1/user/metrics/query takes.",
        epilog=_COMPILE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compile_.add_argument(
        "text", nargs="?", default="-", metavar="TEXT", help="the filter; '-' or none reads stdin"
    )
    compile_.add_argument(
        "--now",
        metavar="TIMESTAMP",
        help="the time relative times count back from (ISO 8601; default: the current time)",
    )
    compile_.add_argument(
        "--nesting",
        choices=("balanced", "right"),
        default="balanced",
        help="chain shape: balanced (default) or right-nested as Helicone's builder makes",
    )
    output = compile_.add_mutually_exclusive_group()
    output.add_argument("--pretty", action="store_true", help="indent the JSON")
    output.add_argument("--compact", action="store_true", help="one line of JSON")
    return parser


def _read_text(arg: str, stdin: IO[str]) -> str:
    """The filter: `arg` itself, or all of stdin for `-`, which must be UTF-8."""
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
            f"{PROG}: error: the input is not UTF-8: byte {e.start} is 0x{data[e.start]:02x}"
        ) from None


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); return the exit code."""
    from . import compile as compile_filter
    from .errors import FilterError

    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    if not args_list and sys.stdin.isatty():
        parser.print_help(sys.stderr)
        return Exit.USAGE
    if not args_list or args_list[0] not in ("compile", "-h", "--help", "--version"):
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
        text = _read_text(args.text, sys.stdin)
    except _InputError as e:
        print(e, file=sys.stderr)
        return Exit.BAD_FILTER
    try:
        result = compile_filter(text, now=now, nesting=args.nesting)
    except FilterError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return Exit.BAD_FILTER
    pretty = args.pretty or (not args.compact and sys.stdout.isatty())
    print(_dump(result, pretty))
    return Exit.OK
