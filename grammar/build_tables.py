"""Regenerate helicone_filter/frontends/parse_tables.py, the parse tables of grammar/filter.lark.

    python grammar/build_tables.py           # write the module
    python grammar/build_tables.py --check   # exit 1 if it is out of date with the grammar

Needs lark (a test dependency: pip install -e '.[test]'). The tables are made ahead of time so
that the library builds, writes and reads nothing at run time; the same grammar always gives
the same file. This is the build-time half of the parser; the run-time half, the loop that
runs the tables, is helicone_filter/frontends/lalr.py.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "grammar" / "filter.lark"
MODULE = ROOT / "helicone_filter" / "frontends" / "parse_tables.py"
sys.path.insert(0, str(ROOT))

from helicone_filter.frontends.lalr import FIELDS, Rule, Tables  # noqa: E402

# A single character class repeated: `\s+`, `[ \t]+`.
_ONE_CLASS_PLUS = re.compile(r"(?:\\[sS]|\[(?:[^\]\\]|\\.)+\])\+")


def tables_from_grammar(grammar: str) -> Tables:
    """Build the tables with lark: the same grammar always gives the same tables."""
    from lark import Lark

    lark = Lark(grammar, parser="lalr", lexer="contextual")
    table = lark.parser.parser._parse_table
    contextual = lark.parser.lexer
    rule_index: dict[Any, int] = {}
    rules: list[Rule] = []
    kept_terminals: set[str] = set()
    for rule in lark.rules:
        keep = tuple(
            (i, not sym.is_term and sym.name.startswith("_"))
            for i, sym in enumerate(rule.expansion)
            if rule.options.keep_all_tokens
            or not (sym.is_term and getattr(sym, "filter_out", False))
        )
        kept_terminals.update(
            str(rule.expansion[i].name) for i, _ in keep if rule.expansion[i].is_term
        )
        name = rule.alias or rule.options.template_source or rule.origin.name
        callback = None if name.startswith("_") else str(name)
        expand1 = bool(rule.options.expand1) and not rule.alias
        rule_index[rule] = len(rules)
        # Names are plain str: lark's are str subclasses with a slow __eq__ (and unpickling
        # them would import lark).
        rules.append((str(rule.origin.name), len(rule.expansion), keep, expand1, callback))
    # lark numbers its states in an order that changes from run to run; number them in the
    # order a walk from the start state meets them, symbols in sorted order, so that the same
    # grammar always gives the same tables.
    number: dict[Any, int] = {}
    walk = [table.start_states["start"]]
    for state in walk:  # grows as it goes: a breadth-first walk
        if state in number:
            continue
        number[state] = len(number)
        for symbol in sorted(table.states[state], key=str):
            action, arg = table.states[state][symbol]
            if action.name == "Shift" and arg not in number:
                walk.append(arg)
    states: list[dict[str, tuple[bool, int]]] = [{} for _ in number]
    for state, i in number.items():
        for symbol, (action, arg) in sorted(table.states[state].items(), key=lambda x: str(x[0])):
            shift = action.name == "Shift"
            states[i][str(symbol)] = (True, number[arg]) if shift else (False, rule_index[arg])

    ignored = [t.pattern.to_regexp() for t in lark.terminals if t.name in lark.ignore_tokens]
    skip = "(?:" + "|".join(ignored) + ")*+" if ignored else ""
    if len(ignored) == 1 and _ONE_CLASS_PLUS.fullmatch(ignored[0]):
        skip = ignored[0][:-1] + "*+"  # `(?:\s+)*+` is `\s*+`, which sre runs in one tight loop

    def pattern(terminals: list[Any]) -> str:
        return "|".join(
            f"(?P<{t.name}>{t.pattern.to_regexp()})"
            for t in terminals
            if t.name not in lark.ignore_tokens
        )

    lexers: list[str] = []
    lexer_ids: dict[str, int] = {}
    lexer_of_state = [0] * len(states)
    lexer_by_state = {number[state]: basic for state, basic in contextual.lexers.items()}
    for state, basic in sorted(lexer_by_state.items()):
        basic._build_scanner()
        if basic.callback:  # pragma: no cover - the grammar uses no embedded keywords
            raise RuntimeError("grammar/filter.lark needs lark's keyword callbacks")
        # Skip what the grammar ignores, then one of the state's terminals, or the end. The
        # skip is possessive (`*+`), so a long run of spaces never backtracks.
        source = f"{skip}(?:{pattern(basic.terminals)}|\\Z)"
        lexer_of_state[state] = lexer_ids.setdefault(source, len(lexers))
        if lexer_ids[source] == len(lexers):
            lexers.append(source)
    return Tables(
        states,
        rules,
        number[table.start_states["start"]],
        number[table.end_states["start"]],
        lexer_of_state,
        lexers,
        pattern(contextual.root_lexer.terminals),
        skip,
        frozenset(str(t.name) for t in lark.terminals),
        frozenset(str(t.name) for t in lark.terminals) - kept_terminals,
    )


def tables_source(grammar: str) -> str:
    """The text of `parse_tables.py` for `grammar`: its tables as Python literals, one state,
    rule or lexer a line, with the grammar's SHA-256 and the lark version that made them."""
    import lark

    tables = tables_from_grammar(grammar)
    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()
    out = [
        '"""The parse tables of grammar/filter.lark, made by lark ahead of time. Generated: do '
        "not edit.",
        "",
        "Run `python grammar/build_tables.py` after changing the grammar; a test fails while "
        "this file",
        "is out of date. helicone_filter/frontends/lalr.py says what each table is.",
        '"""',
        "",
        "from typing import Any",
        "",
        f"GRAMMAR_SHA256 = {digest!r}",
        f"LARK_VERSION = {lark.__version__!r}",
    ]
    for name in FIELDS:
        value = getattr(tables, name)
        if isinstance(value, frozenset):
            out.append(f"{name.upper()}: Any = frozenset({sorted(value)!r})")
        elif isinstance(value, list) and name != "lexer_of_state":
            out.append(f"{name.upper()}: Any = [")
            out.extend(f"    {item!r}," for item in value)
            out.append("]")
        else:
            out.append(f"{name.upper()}: Any = {value!r}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
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
