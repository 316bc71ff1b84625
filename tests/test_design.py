"""The design holds: a filter is validated once, on the way in, and never again on the way to
a backend; modules below the faces neither import the package's facade nor each other's
private names."""

from __future__ import annotations

import ast
import asyncio
import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import NOW

import helicone_filter
from helicone_filter.api.outputs import query_body
from helicone_filter.cli.commands import main
from helicone_filter.frontends import checker

TEXT = 'user_cost > 5 and not (model contains "gpt" or cached) and request_created_at > now - 7d'
JSON = helicone_filter.compile(TEXT, now=NOW)
LEAVES = 4  # the leaves of JSON: user_cost, model, cached, request_created_at
ROW = {"user_cost": 6, "model": "claude", "cached": False, "request_created_at": NOW}


class Spy:
    """Counts the checker's runs over a whole filter, and the leaves it reads."""

    def __init__(self) -> None:
        self.runs = 0
        self.leaves = 0


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spy]:
    seen = Spy()
    run, leaf = checker._Checker.run, checker._Checker.leaf

    def counted_run(self: Any, root: Any) -> Any:
        seen.runs += 1
        return run(self, root)

    def counted_leaf(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.leaves += 1
        return leaf(self, *args, **kwargs)

    monkeypatch.setattr(checker._Checker, "run", counted_run)
    monkeypatch.setattr(checker._Checker, "leaf", counted_leaf)
    yield seen


def _cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert main(argv) == 0


def _server(path: str, body: dict[str, Any]) -> None:
    """POST to the service, in this process (the spy sees what it does)."""
    pytest.importorskip("starlette")
    from helicone_filter.service.server import create_app

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            return await client.post(path, json={**body, "now": "2025-06-01T12:00:00Z"})

    answer = asyncio.run(post())
    assert answer.status_code == 200, answer.text


# Every way from text to a backend: none of them reads JSON the library made.
FROM_TEXT: dict[str, Callable[[pytest.MonkeyPatch], object]] = {
    "compile": lambda mp: helicone_filter.compile(TEXT, now=NOW),
    "compile right-nested": lambda mp: helicone_filter.compile(TEXT, now=NOW, nesting="right"),
    "compile_with_spans": lambda mp: helicone_filter.compile_with_spans(TEXT, now=NOW),
    "check_text": lambda mp: helicone_filter.check_text(TEXT, now=NOW),
    "diagnose": lambda mp: helicone_filter.diagnose(TEXT, now=NOW),
    "to_clickhouse": lambda mp: helicone_filter.to_clickhouse(TEXT, now=NOW),
    "to_clickhouse helicone": lambda mp: helicone_filter.to_clickhouse(
        TEXT, now=NOW, target="helicone-where"
    ),
    "query_body": lambda mp: query_body(TEXT, now=NOW),
    "cli compile": lambda mp: _cli(["compile", TEXT], mp),
    "cli compile --lines": lambda mp: _cli(["compile", "--lines", "--jobs", "1"], mp, TEXT),
    "cli fmt": lambda mp: _cli(["fmt", TEXT], mp),
    "cli fmt --lines": lambda mp: _cli(["fmt", "--lines", "--jobs", "1"], mp, TEXT),
    "cli check": lambda mp: _cli(["check", TEXT], mp),
    "cli sql": lambda mp: _cli(["sql", TEXT], mp),
    "cli explain": lambda mp: _cli(["explain", TEXT], mp),
    "cli query": lambda mp: _cli(["query", TEXT], mp),
    "service compile": lambda mp: _server("/compile", {"text": TEXT}),
    "service format": lambda mp: _server("/format", {"input": TEXT}),
    "service check": lambda mp: _server("/check", {"input": TEXT}),
    "service diagnose": lambda mp: _server("/diagnose", {"text": TEXT}),
}


@pytest.mark.parametrize("way", FROM_TEXT)
def test_text_is_never_checked_as_json(way: str, spy: Spy, monkeypatch: pytest.MonkeyPatch) -> None:
    FROM_TEXT[way](monkeypatch)
    assert (spy.runs, spy.leaves) == (0, 0)


# Every way from JSON to a backend: the checker reads it once, each leaf once.
FROM_JSON: dict[str, Callable[[pytest.MonkeyPatch], object]] = {
    "check": lambda mp: helicone_filter.check(JSON),
    "validate": lambda mp: helicone_filter.validate(JSON),
    "normalize": lambda mp: helicone_filter.normalize(JSON),
    "normalize right-nested": lambda mp: helicone_filter.normalize(JSON, nesting="right"),
    "to_text": lambda mp: helicone_filter.to_text(JSON),
    "matches": lambda mp: helicone_filter.matches(JSON, ROW),
    "to_clickhouse": lambda mp: helicone_filter.to_clickhouse(JSON),
    "to_clickhouse helicone": lambda mp: helicone_filter.to_clickhouse(
        JSON, target="helicone-having"
    ),
    "query_body": lambda mp: query_body(JSON, now=NOW),
    "cli fmt": lambda mp: _cli(["fmt", json.dumps(JSON)], mp),
    "cli check": lambda mp: _cli(["check", json.dumps(JSON)], mp),
    "cli sql": lambda mp: _cli(["sql", json.dumps(JSON)], mp),
    "cli query": lambda mp: _cli(["query", json.dumps(JSON)], mp),
    "service format": lambda mp: _server("/format", {"input": JSON}),
    "service check": lambda mp: _server("/check", {"input": JSON}),
}


@pytest.mark.parametrize("way", FROM_JSON)
def test_json_is_checked_once(way: str, spy: Spy, monkeypatch: pytest.MonkeyPatch) -> None:
    FROM_JSON[way](monkeypatch)
    assert (spy.runs, spy.leaves) == (1, LEAVES)


def test_the_spy_sees_the_checker() -> None:
    """The spy counts what it should: the checker is where JSON is read."""
    found = checker.read_json(JSON)
    assert found.problems == [] and found.filter is not None
    assert len(list(helicone_filter.compile_with_spans(TEXT, now=NOW)[1])) == LEAVES


# -- layering ---------------------------------------------------------------------------------

PACKAGE = Path(helicone_filter.__file__).parent
FACES = {"__init__.py", "__main__.py", "commands.py", "server.py", "client.py", "repl.py"}


def _imports(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, module, name) for each name a module imports from inside the package."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            inside = node.level > 0 or (node.module or "").startswith("helicone_filter")
            if inside:
                module = node.module or ""
                for alias in node.names:
                    yield node.lineno, module, alias.name


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_layering(path: Path) -> None:
    for line, module, name in _imports(path):
        where = f"{path.name}:{line}"
        submodule = any(PACKAGE.rglob(f"{name}.py"))
        facade = module in ("", "helicone_filter") and not submodule
        assert not (facade and path.name not in FACES), f"{where} imports the package facade"
        assert not module.split(".")[-1].startswith("_"), f"{where} imports a private module"
        private = name.startswith("_") and name != "__version__"
        assert not private, f"{where} imports {module}.{name}, a private name"


# -- ARCHITECTURE.md stays true ---------------------------------------------------------------

ARCHITECTURE = (PACKAGE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")


def test_architecture_names_every_module() -> None:
    unnamed = [
        p.name
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.name not in ("__init__.py", "__main__.py") and p.name not in ARCHITECTURE
    ]
    assert unnamed == []


def test_architecture_names_only_what_exists() -> None:
    root = PACKAGE.parent
    for name in re.findall(r"`((?:[\w/]+/)?\w+\.(?:py|lark|md|yaml|json|txt))`", ARCHITECTURE):
        found = [root / name, *PACKAGE.rglob(name), root / "tests" / name]
        assert any(p.exists() for p in found), f"ARCHITECTURE.md names {name}, which is gone"
    # The tables it sends people to.
    sources = {p.name: p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}
    for module, names in {
        "schema.py": [
            "_COLUMNS",
            "HELICONE_COLUMNS",
            "FIELD_NOTES",
            "OPERATORS",
            "KINDS",
            "_FAMILY_OPERATORS",
        ],
        "commands.py": ["COMMANDS", "class Command"],
        "canonical_text.py": ["def filter_text"],
        "tree_text.py": ["def tree_text"],
        "reading.py": ["def lower_text", "def read_filter", "def read_input"],
        "text.py": ["def compile", "def check_text"],
        "outputs.py": ["def to_text", "def simplify", "def matches", "def to_clickhouse"],
        "parser.py": ["def compare_not"],
    }.items():
        for name in names:
            assert name in sources[module], f"ARCHITECTURE.md: {module} has no {name}"
    assert "-> compare_not" in (root / "grammar" / "filter.lark").read_text(encoding="utf-8")
