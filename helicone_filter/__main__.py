"""`python -m helicone_filter`: the command line."""

import sys

from .cli import main

sys.exit(main())
