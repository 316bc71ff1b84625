"""The command line (`helicone-filter`) and the REPL."""

from helicone_filter.cli.commands import main

__all__ = ["main"]
