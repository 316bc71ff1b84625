"""The LALR engine: tables from the grammar, the disk cache, and lark's own parse as reference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from lark import Lark, Token, Transformer
from strategies import any_filter_text

from helicone_filter import engine
from helicone_filter.engine import Engine, load_tables, tok
from helicone_filter.parser import _ToAst, grammar_text


def _cache_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("tables-*.marshal"))


def test_tables_are_cached_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELICONE_FILTER_CACHE_DIR", str(tmp_path))
    built = load_tables(grammar_text())
    assert len(_cache_files(tmp_path)) == 1
    monkeypatch.setattr(engine, "_from_lark", lambda grammar: pytest.fail("rebuilt"))
    again = load_tables(grammar_text())
    for name in engine._FIELDS:
        assert getattr(again, name) == getattr(built, name), name


def test_a_damaged_cache_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELICONE_FILTER_CACHE_DIR", str(tmp_path))
    load_tables(grammar_text())
    (path,) = _cache_files(tmp_path)
    path.write_bytes(b"\x00not marshal")
    tables = load_tables(grammar_text())
    assert Engine(tables, _ToAst()).parse("cached") is not None


def test_another_grammar_never_meets_these_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELICONE_FILTER_CACHE_DIR", str(tmp_path))
    load_tables(grammar_text())
    other = grammar_text() + "\n// a comment changes the text\n"
    load_tables(other)
    assert len(_cache_files(tmp_path)) == 2


def test_an_unwritable_cache_directory_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("HELICONE_FILTER_CACHE_DIR", str(blocker / "cache"))
    tables = load_tables(grammar_text())
    assert Engine(tables, _ToAst()).parse("cached") is not None


def test_a_cached_call_does_not_import_lark(tmp_path: Path) -> None:
    env = {**os.environ, "HELICONE_FILTER_CACHE_DIR": str(tmp_path)}
    code = (
        "import sys, helicone_filter; helicone_filter.compile('cached'); "
        "print('lark' in sys.modules)"
    )
    first = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    second = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert (first.stdout.strip(), second.stdout.strip()) == ("True", "False")


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
ENGINE = Engine(load_tables(grammar_text()), _ToAst())


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
