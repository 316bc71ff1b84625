"""The subcommands about one filter: `compile`, `fmt`, `check`, `sql` and `explain` (the forms
of a filter), and `fields` (what a filter can test). For each: its own options, its run
(`run(args, input_text, now) -> exit code`), and what `--lines` does with one line.

Each imports the part of the package it needs when it runs, so that a one-shot `compile` loads
nothing for `sql` or `explain`. Their rows in the table are in `commands.py`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helicone_filter.cli.arguments import Deprecated, add_output, filter_of, source_of
from helicone_filter.cli.exits import Exit, UsageError
from helicone_filter.cli.terminal import (
    cli_words,
    columns,
    dump,
    empty_warnings,
    json_text,
    needs_ascii,
    pretty,
    text_out,
    use_color,
    warn,
    warnings_note,
)
from helicone_filter.defaults import PROG

if TYPE_CHECKING:
    from helicone_filter.api.reading import Input
    from helicone_filter.cli.lines import LineResult
    from helicone_filter.errors import Problem


def text_warnings(args: argparse.Namespace, text: str, now: datetime | None) -> list[Problem]:
    """The warnings about filter text that compiled (none for JSON, or with --quiet)."""
    from helicone_filter.api import check_text, is_json_text

    if args.quiet or is_json_text(text):
        return []
    return check_text(text, now=now, endpoint=args.endpoint) or empty_warnings(text)


def compile_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--nesting",
        choices=("balanced", "right"),
        default="balanced",
        help="chain shape: balanced (default) or right-nested as Helicone's builder makes",
    )
    add_output(p)


def run_compile(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    result, warnings = _compile_one(args, text, now)
    print(dump(result, pretty(args)))
    warn(args, text, warnings)
    return Exit.OK


def _compile_one(
    args: argparse.Namespace, text: str, now: datetime | None
) -> tuple[Any, list[Problem]]:
    if args.quiet:  # no warnings are looked for that would not be printed
        from helicone_filter.api import compile as compile_filter

        return compile_filter(text, now=now, nesting=args.nesting, endpoint=args.endpoint), []
    from helicone_filter.api import compile_with_warnings

    result, warnings = compile_with_warnings(
        text, now=now, nesting=args.nesting, endpoint=args.endpoint
    )
    return result, warnings if warnings or text.strip() else empty_warnings(text)


def fmt_options(p: argparse.ArgumentParser) -> None:
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


def run_fmt(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    result, warnings = _fmt_one(args, text, now)
    print(text_out(result))
    warn(args, text, warnings)
    return Exit.OK


def _fmt_one(
    args: argparse.Namespace, text: str, now: datetime | None
) -> tuple[str, list[Problem]]:
    from helicone_filter.backends.canonical_text import filter_text
    from helicone_filter.frontends.checker import REPAIRABLE

    simplify = getattr(args, "simplify", False)
    # JSON is read as `to_text` reads it (the leaves `normalize` repairs kept), but with
    # --simplify refused where `check` finds an error: Helicone keeps one condition of a leaf
    # with several, so no simpler filter both says it and selects what Helicone does.
    read = filter_of(
        text,
        now=now,
        tolerated=frozenset() if simplify else REPAIRABLE,
        warnings=not args.quiet,
        endpoint=args.endpoint,
    )
    warnings = _warnings(args, read, text)
    if simplify:
        from helicone_filter.backends.analysis import simplified

        return filter_text(simplified(read.filter)), warnings
    if args.as_written and not read.from_json:
        from helicone_filter.api.outputs import to_text
        from helicone_filter.frontends.parser import parse

        return to_text(parse(text), endpoint=args.endpoint), warnings  # only valid filters
    return filter_text(read.filter), warnings


def _warnings(args: argparse.Namespace, read: Input, text: str) -> list[Problem]:
    """The warnings about filter text that was read; none for JSON, or with --quiet."""
    if args.quiet or read.from_json:
        return []
    return list(read.problems) or ([] if text.strip() else empty_warnings(text))


def check_options(p: argparse.ArgumentParser) -> None:
    # `--format`, its old spelling of --error-format: still read, hidden from the help.
    p.add_argument(
        "--format",
        choices=("text", "json"),
        dest="error_format",
        action=Deprecated,
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )
    p.add_argument(
        "--no-analysis",
        action="store_true",
        help="leave out the warnings of conditions that never match together, always match, "
        "or say something twice",
    )


def _problems(args: argparse.Namespace, text: str, now: datetime | None) -> list[Any]:
    """Every problem on the endpoint asked for: the checker's for JSON; for text, those
    `diagnose` finds (after a syntax error, those of the conditions around it too); the
    analysis's unless --no-analysis."""
    analyze, endpoint = not getattr(args, "no_analysis", False), args.endpoint
    source = source_of(text)
    if source.from_json:
        from helicone_filter.api.filter_nodes import check

        return check(source.value, analyze=analyze, endpoint=endpoint)
    from helicone_filter.api.diagnosis import every_problem

    return every_problem(text, now=now, analyze=analyze, endpoint=endpoint)


def run_check(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.api import is_json_text
    from helicone_filter.errors import render_problem

    problems = _problems(args, text, now)
    if args.error_format == "json":
        print(json_text([p.as_dict() for p in problems], sys.stdout))
    elif problems:
        shown = "" if is_json_text(text) else text
        color, width = use_color(args, sys.stdout), columns(sys.stdout)
        print(
            "\n\n".join(
                render_problem(
                    shown, p.replace(hint=cli_words(p.hint)), color=color, label=True, width=width
                )
                for p in problems
            )
        )
    else:
        print("ok: no problems")
    return Exit.BAD_FILTER if any(p.severity == "error" for p in problems) else Exit.OK


def check_line(
    args: argparse.Namespace, number: int, text: str, now: datetime | None
) -> LineResult:
    problems = [p.as_dict() for p in _problems(args, text, now)]
    failed = any(p["severity"] == "error" for p in problems)
    return {"line": number, "problems": problems}, failed, ""


def sql_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--table-map",
        action="append",
        default=[],
        metavar="KEY=NAME",
        help="another name for a table (request_response_rmt=logs.requests qualifies its "
        "columns) or a column (model=model_name); repeatable",
    )
    add_output(p)


def run_sql(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.backends.clickhouse import column_names, sql_of

    table_map: dict[str, str] = {}
    for item in args.table_map:
        key, equals, name = item.partition("=")
        if not equals:
            raise UsageError(f"{PROG}: error: --table-map takes KEY=NAME, not {item!r}")
        table_map[key.strip()] = name.strip()
    try:
        column_names(table_map)
    except ValueError as e:
        raise UsageError(f"{PROG}: error: {e}") from None
    read = filter_of(text, now=now, warnings=not args.quiet, endpoint=args.endpoint)
    if read.from_json:
        from helicone_filter.errors import printable
        from helicone_filter.frontends.checker import SPLITTABLE

        # Helicone keeps one condition of such a leaf, and so does the SQL: say so.
        for p in read.problems:
            if p.code in SPLITTABLE:
                print(f"{PROG}: warning: {printable(f'{p.path}: {p.message}')}", file=sys.stderr)
    sql, params = sql_of(read.filter, table_map=table_map)
    warnings = _warnings(args, read, text)
    print(dump({"sql": sql, "params": params}, pretty(args)))
    warn(args, text, warnings)
    return Exit.OK


def fields_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="as JSON, for tools")
    add_output(p)


def run_fields(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    if args.json:
        from helicone_filter.facts.schema import field_table

        print(dump(field_table(args.endpoint), pretty(args)))
        return Exit.OK
    from helicone_filter.cli.printers import field_lines

    print("\n".join(field_lines(args.endpoint, columns(sys.stdout))))
    return Exit.OK


def run_explain(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.cli.printers import explain_lines

    # (no warnings are looked for that --quiet would not print)
    ascii_only = needs_ascii(sys.stdout)
    lines, warnings = explain_lines(
        text, now, warnings=not args.quiet, ascii_only=ascii_only, endpoint=args.endpoint
    )
    print("\n".join(lines))
    warn(args, text, warnings or empty_warnings(text))
    return Exit.OK


def each_line(
    one: Callable[[argparse.Namespace, str, datetime | None], tuple[Any, list[Problem]]],
) -> Callable[[argparse.Namespace, int, str, datetime | None], LineResult]:
    """--lines' work for a subcommand whose result and warnings for a line are `one(args, text,
    now)` and that fails only by raising; the warnings go to stderr with the line's number."""

    def line(args: argparse.Namespace, number: int, text: str, now: datetime | None) -> LineResult:
        result, warnings = one(args, text, now)
        return result, False, warnings_note(args, text, warnings, number) if warnings else ""

    return line


compile_line = each_line(_compile_one)
fmt_line = each_line(_fmt_one)
