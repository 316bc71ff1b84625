"""Regenerate helicone_filter/frontends/parse_tables.py, the parse tables of grammar/filter.lark.

    python grammar/build_tables.py           # write the module
    python grammar/build_tables.py --check   # exit 1 if it is out of date with the grammar

Needs lark (a test dependency: pip install -e '.[test]'). The tables are made ahead of time so
that the library builds, writes and reads nothing at run time; the same grammar always gives
the same file.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "grammar" / "filter.lark"
MODULE = ROOT / "helicone_filter" / "frontends" / "parse_tables.py"


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from helicone_filter.frontends.lalr import tables_source

    source = tables_source(GRAMMAR.read_text(encoding="utf-8"))
    current = MODULE.read_text(encoding="utf-8") if MODULE.exists() else ""
    if "--check" in argv:
        if source != current:
            print(f"{MODULE.name} is out of date: run python grammar/build_tables.py")
            return 1
        print(f"{MODULE.name} is up to date")
        return 0
    if source != current:
        MODULE.write_text(source, encoding="utf-8")
        print(f"wrote {MODULE.relative_to(ROOT)}")
    else:
        print(f"{MODULE.name} was up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
