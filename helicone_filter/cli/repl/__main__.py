"""`python -m helicone_filter.cli.repl [options]`: the same as `helicone-filter repl`, whose
options the command line defines. This door belongs to the command line: the REPL itself
(`__init__.py`) knows nothing of it."""

import sys

from helicone_filter.cli import main

sys.exit(main(["repl", *sys.argv[1:]]))
