"""The LALR engine: the tables made ahead of time from the grammar, nothing read from disk, and
lark's own parse as reference."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from hypothesis import given
from lark import Lark, Token, Transformer
from strategies import any_filter_text

from helicone_filter.frontends import lalr as engine
from helicone_filter.frontends import parse_tables
from helicone_filter.frontends.lalr import Engine, load_tables, tok
from helicone_filter.frontends.parser import _ToAst, grammar_text

BUILD_TABLES = ROOT / "grammar" / "build_tables.py"


def tables_source(grammar: str) -> str:
    """The build-time writer of parse_tables.py (grammar/build_tables.py, outside the package)."""
    import runpy

    writer: Any = runpy.run_path(str(BUILD_TABLES))["tables_source"]
    source: str = writer(grammar)
    return source


def test_the_shipped_tables_are_those_of_the_grammar() -> None:
    """parse_tables.py is regenerated from grammar/filter.lark (python grammar/build_tables.py)
    whenever the grammar changes; this fails while it is out of date."""
    grammar = (ROOT / "grammar" / "filter.lark").read_text(encoding="utf-8")
    assert hashlib.sha256(grammar.encode()).hexdigest() == parse_tables.GRAMMAR_SHA256, (
        "grammar/filter.lark changed: run python grammar/build_tables.py"
    )
    tables = ROOT / "helicone_filter" / "frontends" / "parse_tables.py"
    shipped = tables.read_text(encoding="utf-8")
    assert tables_source(grammar) == shipped, "run python grammar/build_tables.py"


def test_the_same_grammar_always_gives_the_same_tables() -> None:
    """lark numbers its states differently from run to run (its objects hash by identity);
    the generated file must not."""
    code = (
        "import sys, runpy, hashlib; sys.path.insert(0, sys.argv[1]); "
        "source = runpy.run_path(sys.argv[2])['tables_source']; "
        "from helicone_filter.frontends.parser import grammar_text; "
        "print(hashlib.sha256(source(grammar_text()).encode()).hexdigest())"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code, str(ROOT), str(BUILD_TABLES)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(seen) == 1


def _old_cache_name(grammar: str) -> str:
    """Where versions that cached the tables on disk looked for them."""
    return f"tables-8-{zlib.crc32(grammar.encode()):08x}-{len(grammar)}.marshal"


def _planted(tables: engine.Tables, grammar: str) -> bytes:
    """A cache file as those versions read it, with `and` and `or` swapped in its lexers."""
    swapped = [
        lexer.replace("(?P<_AND>", "(?P<_TMP>")
        .replace("(?P<_OR>", "(?P<_AND>")
        .replace("(?P<_TMP>", "(?P<_OR>")
        for lexer in tables.lexers
    ]
    fields = [getattr(tables, n) for n in engine.FIELDS]
    fields[engine.FIELDS.index("lexers")] = swapped
    return marshal.dumps((grammar, *fields))


def test_nothing_on_disk_changes_what_a_filter_means(tmp_path: Path) -> None:
    """A tables file planted (or damaged) where a cache used to be is never read: `and` stays
    `and`, and nothing is written."""
    grammar = grammar_text()
    planted = _planted(load_tables(), grammar)
    for directory in ("cache", "xdg/helicone-filter", "home/.cache/helicone-filter"):
        (tmp_path / directory).mkdir(parents=True)
        (tmp_path / directory / _old_cache_name(grammar)).write_bytes(planted)
    flipped = bytearray(planted)
    flipped[len(flipped) // 2] ^= 0x10
    (tmp_path / "cache" / "tables-damaged.marshal").write_bytes(bytes(flipped))
    before = sorted(p for p in tmp_path.rglob("*"))
    env = {
        **os.environ,
        "HELICONE_FILTER_CACHE_DIR": str(tmp_path / "cache"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "HOME": str(tmp_path / "home"),
    }
    code = (
        "import json, sys, helicone_filter\n"
        "print(json.dumps([helicone_filter.compile('cached and status = 200'),\n"
        "                  helicone_filter.to_clickhouse('cached and status = 200')[0],\n"
        "                  'lark' in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    compiled, sql, lark_loaded = json.loads(done.stdout)
    assert compiled["operator"] == "and" and " AND " in sql
    assert lark_loaded is False
    assert sorted(p for p in tmp_path.rglob("*")) == before


def _ours(child: Any) -> Any:
    """lark's token as the engine's (the transformer reads tokens as tuples)."""
    if isinstance(child, Token):
        return tok(child.type, str(child), child.start_pos, child.end_pos)
    return child


def _lark_reference() -> Lark:
    """lark's own LALR parser, calling the same transformer methods, as the reference."""
    ast = _ToAst()
    methods = {
        name: (lambda method: lambda self, children: method(*(_ours(c) for c in children)))(
            getattr(ast, name)
        )
        for name in dir(_ToAst)
        if not name.startswith("_")
    }
    bridge = type("Bridge", (Transformer,), methods)
    return Lark(grammar_text(), parser="lalr", lexer="contextual", transformer=bridge())


REFERENCE = _lark_reference()
ENGINE = Engine(load_tables(), _ToAst())


@given(any_filter_text())
def test_the_engine_parses_as_lark_does(text: str) -> None:
    """Same grammar, same tables: the engine builds exactly the AST lark's own parser builds."""
    assert ENGINE.parse(text) == REFERENCE.parse(text)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "cached", "not not (a = 1)", "properties.and = 'x'", "x >= now-7d", "a in [1,2,]"],
)
def test_the_engine_parses_as_lark_does_on_edges(text: str) -> None:
    assert ENGINE.parse(text) == REFERENCE.parse(text)
