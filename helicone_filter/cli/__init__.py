"""The command line (`helicone-filter`) and the REPL, in rooms of their own.

`main` runs the command line (`program.py`), which reads its arguments (`arguments.py`) with
the parser the table of subcommands makes (`commands.py`; the runs are in
`filter_commands.py`, `query_command.py` and `session_commands.py`), writes through
`terminal.py`, ends with an exit code of `exits.py`, and hands `--lines` to `lines.py`. The
REPL (`repl/`) shares the printers of `explain` and `fields` (`printers.py`) and the terminal;
it knows nothing of the command line, which imports it only to run it.

Nothing is loaded here: importing the REPL or the `--lines` workers does not load the command
line.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); return the exit code."""
    from helicone_filter.cli.program import main as run

    return run(argv)


__all__ = ["main"]
