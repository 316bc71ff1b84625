"""`python -m helicone_filter`: the command line."""

import sys

from helicone_filter.cli import main

sys.exit(main())
