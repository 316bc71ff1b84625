"""The command line's run: `main(argv) -> int` reads the arguments with the parser the table
of subcommands makes, runs the subcommand named (on its input, or on each line of it with
`--lines`), and turns how that ends into an exit code.

Exit codes (`exits.Exit`): 0 ok, 1 bad input (a filter, JSON or bytes that cannot be used), 2
usage, 3 when `query --send` gets no users back (Helicone answers with an error, or not at
all), 69 when `serve` cannot listen, 74 when the output cannot be written (standard output
closed, a full disk: one line on stderr says why), 78 when an optional dependency the command
needs is not installed (the message says how to install it), 130 on Ctrl-C, 141 when the
reader of our output goes away (`| head -1`), as for any Unix tool killed by SIGPIPE, 143 when
`--lines` is ended by SIGTERM; none of the last four prints a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TextIO, cast

from helicone_filter.cli import commands
from helicone_filter.cli.arguments import (
    JOBS_PER_CPU,
    NO_STDIN,
    fallback_args,
    parse,
    parse_now,
    read_input,
    reading_note,
    shell_cut_hint,
)
from helicone_filter.cli.exits import (
    Exit,
    InputError,
    MissingDependency,
    OutputError,
    Terminated,
    UsageError,
)
from helicone_filter.cli.terminal import (
    Output,
    dicts,
    discard_output,
    error_object,
    escape_unencodable,
    every_problem,
    first_error,
    needs_ascii,
    report,
)
from helicone_filter.defaults import PROG

if TYPE_CHECKING:
    from helicone_filter.cli.commands import Command
    from helicone_filter.cli.lines import LineResult


# -- --lines ----------------------------------------------------------------------------------


def _lines(command: Command, args: argparse.Namespace, now: datetime | None) -> int:
    """`--lines`: the subcommand's line work on each line, NDJSON out (see lines.run_lines); a
    line that fails gives `{"line": n, "error": {...}}` and the rest go on."""
    from helicone_filter.cli.lines import run_lines
    from helicone_filter.errors import FilterError, FilterSyntaxError

    jobs = _jobs(args.jobs)
    line = command.line
    assert line is not None

    def work(number: int, text: str | None) -> LineResult:
        try:
            if text is None:
                raise InputError("the line is not UTF-8")
            return line(args, number, text, now)
        except FilterError as e:
            problems = every_problem(e, now) if isinstance(e, FilterSyntaxError) else e.problems
            error = error_object(first_error(problems).message, dicts(problems))
            return {"line": number, **error}, True, ""
        except InputError as e:
            return {"line": number, **error_object(str(e), [])}, True, ""

    if args.input == "-" and sys.stdin is None:
        raise InputError(NO_STDIN)
    reading_note(args.input, sys.stdin, command.name)
    failed = run_lines(
        work,
        args.input,
        jobs,
        sys.stdin,
        sys.stdout,
        sys.stderr,
        ascii_only=needs_ascii(sys.stdout),
    )
    return Exit.BAD_FILTER if failed else Exit.OK


def _jobs(asked: int | None) -> int:
    """The worker processes for --lines: one per processor by default; what --jobs asks, up to
    JOBS_PER_CPU a processor (more would only take turns on the same processors, each
    costing its memory), said on stderr when cut down."""
    cpus = _cpus()
    if asked is None:
        return cpus
    most = cpus * JOBS_PER_CPU
    if asked > most:
        print(
            f"{PROG}: warning: --jobs {asked} is more than {JOBS_PER_CPU} worker processes per "
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


# -- the run ----------------------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    """Read the arguments and run the subcommand they name; the exit code. Mistakes in the
    arguments, input that cannot be read and bad filters are reported here."""
    from helicone_filter.errors import FilterError, printable

    parser = commands.parser()
    if not argv and (sys.stdin is None or sys.stdin.isatty()):
        parser.print_help(sys.stderr)
        return Exit.USAGE
    args: argparse.Namespace | None = None
    now: datetime | None = None
    try:
        args = parse(parser, argv)
        command = commands.BY_NAME[args.command]
        now = parse_now(args.now) if command.reads else None
        if getattr(args, "lines", False):
            return _lines(command, args, now)
        if not command.reads:
            return command.run(args, "", now)
        reading_note(args.input, sys.stdin, command.name)
        text = read_input(args.input, sys.stdin)
        with _collector_paused():
            return command.run(args, text, now)
    except UsageError as e:
        report(args or fallback_args(argv), str(e))
        return Exit.USAGE
    except SystemExit as e:  # --help and --version
        return int(e.code or 0)
    except MissingDependency as e:
        report(args or fallback_args(argv), str(e))
        return Exit.MISSING_DEPENDENCY
    except InputError as e:
        report(args, str(e))
        return Exit.BAD_FILTER
    except FilterError as e:
        report(args, "", FilterError(every_problem(e, now), e.text))
        hint = shell_cut_hint(argv, e.text) if getattr(args, "error_format", "") == "text" else ""
        if hint:
            print(f"{PROG}: hint: {printable(hint)}", file=sys.stderr)
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
    arguments = list(sys.argv[1:] if argv is None else argv)
    stdout = sys.stdout  # None when the process was started with it closed
    strict = [escape_unencodable(stream) for stream in (stdout, sys.stderr)]
    sys.stdout = cast(TextIO, Output(stdout))
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
        discard_output(stdout)
        return Exit.BROKEN_PIPE
    except OutputError as e:
        discard_output(stdout)
        sys.stdout = stdout  # so that nothing below writes through the failed output again
        report(fallback_args(arguments), f"cannot write the output: {e}")
        return Exit.OUTPUT_FAILED
    finally:
        sys.stdout = stdout
        for stream, errors in zip((stdout, sys.stderr), strict, strict=True):
            if errors is not None:
                escape_unencodable(stream, errors)
