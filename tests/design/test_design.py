"""The design holds: a filter is validated once, on the way in, and never again on the way to
a backend; the package's import graph has no cycle and runs down its layers (facts, then the
front ends and the backends as peers, then the ways in, then the faces); modules below the
faces neither import the package's facade nor each other's private names; no module sets
another's names as it loads (a hidden hook); every Problem is made through the registry of
problem codes."""

from __future__ import annotations

import ast
import asyncio
import copy
import io
import json
import pickle
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from conftest import NOW

import helicone_filter
from helicone_filter.api.outputs import query_body
from helicone_filter.cli import main
from helicone_filter.errors import Problem
from helicone_filter.frontends import checker
from helicone_filter.problems import UnregisteredCode

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
    from helicone_filter.service.app import create_app

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
#
# The import graph of the package, read from the source of every module: imports at the top,
# inside functions and under TYPE_CHECKING alike (an import inside a function still ties the
# two modules together; it only hides the tie until the function runs).

PACKAGE = Path(helicone_filter.__file__).parent
ROOT_NAME = "helicone_filter"

# The layers, bottom first. A module may import modules of a lower layer and of its own group;
# peers (groups of one layer) never import each other. A module belongs to the group of the
# longest prefix naming it ("helicone_filter" itself, the package's facade, only exactly).
LAYERS: list[dict[str, tuple[str, ...]]] = [
    {
        "bottom": (
            "helicone_filter.facts",
            "helicone_filter.form",
            "helicone_filter.errors",
            "helicone_filter.value_class",
            "helicone_filter.defaults",
            "helicone_filter.problems",
            "helicone_filter.diagnostics",
        )
    },
    {"frontends": ("helicone_filter.frontends",), "backends": ("helicone_filter.backends",)},
    {"api": ("helicone_filter.api",)},
    {
        "faces": (
            "helicone_filter",
            "helicone_filter.__main__",
            "helicone_filter.cli",
            "helicone_filter.service",
            "helicone_filter.client",
        )
    },
]
# What no backend may import, whatever the layers say.
BACKENDS_NEVER = ("helicone_filter.frontends.parser", "helicone_filter.frontends.checker")


class Import(NamedTuple):
    """One import of a package module by another: where it is, and what it names."""

    source: str  # the importing module
    line: int
    target: str  # the module imported (for `from package import name`, the package)
    name: str  # the name taken from it ("" for `import x.y`)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _known(name: str, modules: set[str]) -> str | None:
    """The longest prefix of a dotted name that is a module of the package."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in modules:
            return prefix
    return None


def imports_of(module: str, is_package: bool, source: str, modules: set[str]) -> list[Import]:
    """Every import of a package module in `source` (the module `module`), at any depth:
    `import a.b` and `from a import b`, absolute or relative; `from package import module`
    names the module."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _known(alias.name, modules)
                if target is not None:
                    found.append(Import(module, node.lineno, target, ""))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                whole = f"{base}.{alias.name}"
                if whole in modules:
                    found.append(Import(module, node.lineno, whole, ""))
                elif base in modules:
                    found.append(Import(module, node.lineno, base, alias.name))
    return found


def _graph() -> tuple[dict[str, Path], list[Import]]:
    paths = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    modules = set(paths)
    edges = [
        edge
        for name, path in paths.items()
        for edge in imports_of(
            name, path.name == "__init__.py", path.read_text(encoding="utf-8"), modules
        )
    ]
    return paths, edges


def find_cycle(edges: list[Import]) -> list[str]:
    """One cycle of the graph as its modules (the first again at the end), or []."""
    after: dict[str, list[str]] = {}
    for e in edges:
        after.setdefault(e.source, []).append(e.target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(after):
        if start in state:
            continue
        path = [start]
        todo = [iter(after.get(start, []))]
        state[start] = 1
        while todo:
            for nxt in todo[-1]:
                if state.get(nxt) == 1:
                    return [*path[path.index(nxt) :], nxt]
                if nxt not in state:
                    state[nxt] = 1
                    path.append(nxt)
                    todo.append(iter(after.get(nxt, [])))
                    break
            else:
                todo.pop()
                state[path.pop()] = 2
    return []


def layer_of(module: str) -> tuple[int, str]:
    """(the rank of its layer, its group) for a module of the package."""
    best: tuple[int, int, str] | None = None  # (prefix length, rank, group)
    for rank, groups in enumerate(LAYERS):
        for group, prefixes in groups.items():
            for prefix in prefixes:
                inside = prefix != ROOT_NAME and module.startswith(prefix + ".")
                if (module == prefix or inside) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), rank, group)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[1], best[2]


def upward(edges: list[Import]) -> list[Import]:
    """The imports that run up the layers or across to a peer."""
    wrong = []
    for e in edges:
        (rank, group), (to_rank, to_group) = layer_of(e.source), layer_of(e.target)
        if not (to_rank < rank or to_group == group):
            wrong.append(e)
    return wrong


def _where(e: Import, paths: dict[str, Path]) -> str:
    return f"{paths[e.source].relative_to(PACKAGE.parent)}:{e.line}"


PATHS, EDGES = _graph()


def test_the_graph_sees_every_kind_of_import() -> None:
    """The graph builder finds imports inside functions and under TYPE_CHECKING, relative and
    absolute, and a module named in `from package import module`, so that the tests below
    cannot pass by seeing nothing."""
    modules = {
        "helicone_filter",
        "helicone_filter.api",
        "helicone_filter.api.text",
        "helicone_filter.backends",
        "helicone_filter.backends.fake",
        "helicone_filter.form",
        "helicone_filter.frontends",
        "helicone_filter.frontends.parser",
    }
    source = (
        "from typing import TYPE_CHECKING\n"
        "from .. import form\n"
        "if TYPE_CHECKING:\n"
        "    from helicone_filter.api.text import compile\n"
        "def f():\n"
        "    from helicone_filter.frontends import parser\n"
        "    import helicone_filter.api.text.inner\n"
        "    from helicone_filter import compile\n"
    )
    found = imports_of("helicone_filter.backends.fake", False, source, modules)
    assert [(e.line, e.target, e.name) for e in found] == [
        (2, "helicone_filter.form", ""),
        (4, "helicone_filter.api.text", "compile"),
        (6, "helicone_filter.frontends.parser", ""),
        (7, "helicone_filter.api.text", ""),
        (8, "helicone_filter", "compile"),
    ]
    assert [e.target for e in upward(found)] == [
        "helicone_filter.api.text",
        "helicone_filter.frontends.parser",
        "helicone_filter.api.text",
        "helicone_filter",
    ]
    back = Import("helicone_filter.frontends.parser", 1, "helicone_filter.backends.fake", "")
    assert find_cycle([*found, back]) == [
        "helicone_filter.backends.fake",
        "helicone_filter.frontends.parser",
        "helicone_filter.backends.fake",
    ]
    # And the package's own graph is read: function-level imports are in it.
    assert len(EDGES) > 100
    assert any(e.source == "helicone_filter.api.reading" for e in EDGES)


def test_no_import_cycle() -> None:
    cycle = find_cycle(EDGES)
    assert cycle == [], "an import cycle: " + " -> ".join(cycle)


def test_every_module_has_a_layer() -> None:
    for module in PATHS:
        layer_of(module)


def test_imports_run_down_the_layers() -> None:
    wrong = [
        f"{_where(e, PATHS)} ({layer_of(e.source)[1]}) imports {e.target} ({layer_of(e.target)[1]})"
        for e in upward(EDGES)
    ]
    assert wrong == []


def test_backends_never_read_a_filter() -> None:
    """A backend reads the validated form only: it never imports the parser, the checker or
    the ways in."""
    wrong = [
        f"{_where(e, PATHS)} imports {e.target}"
        for e in EDGES
        if layer_of(e.source)[1] == "backends"
        and (e.target in BACKENDS_NEVER or layer_of(e.target)[1] == "api")
    ]
    assert wrong == []


def test_only_faces_import_the_facade() -> None:
    wrong = [
        f"{_where(e, PATHS)} imports the package facade"
        for e in EDGES
        if e.target == ROOT_NAME and layer_of(e.source)[1] != "faces"
    ]
    assert wrong == []


def test_no_private_names_cross_modules() -> None:
    wrong = []
    for e in EDGES:
        if e.target.split(".")[-1].startswith("_") and e.target != f"{ROOT_NAME}.__main__":
            wrong.append(f"{_where(e, PATHS)} imports a private module, {e.target}")
        if e.name.startswith("_") and e.name != "__version__":
            wrong.append(f"{_where(e, PATHS)} imports {e.target}.{e.name}, a private name")
    assert wrong == []


# -- no hidden hooks --------------------------------------------------------------------------
#
# A module that sets a name of another as it loads (`backends.read_filter = read_filter`, once
# in the package's facade) ties the two as an import does, but no import says so: the module
# set may then run code of a layer above it. Every module, the faces too, binds only its own
# names at import time; what needs another module's code imports it.


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements run as the module loads: its body, and the bodies of its classes and
    of its top-level if, try, with and for, but not of its functions."""
    for node in body:
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _module_level(getattr(node, field, []))
        for handler in getattr(node, "handlers", []):
            yield from _module_level(handler.body)


def _imported_names(tree: ast.Module) -> set[str]:
    """The names a module binds by importing, anywhere in it (`import a.b` binds `a`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    return names


def _targets(node: ast.stmt) -> Iterator[ast.expr]:
    """What a statement assigns to, tuples unpacked; `setattr(x, ...)` sets an attribute of
    `x`, and `del x.y` removes one."""
    found: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        found = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        found = [node.target]
    elif isinstance(node, ast.Delete):
        found = list(node.targets)
    elif (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id in ("setattr", "delattr")
        and node.value.args
    ):
        found = [ast.Attribute(node.value.args[0], "?", ast.Store())]
    while found:
        target = found.pop()
        if isinstance(target, ast.Tuple | ast.List):
            found.extend(target.elts)
        elif isinstance(target, ast.Starred):
            found.append(target.value)
        else:
            yield target


def _owner(target: ast.expr) -> str | None:
    """For `a.b.c = ...` or `a.b[k] = ...`, the name `a` whose inside it changes."""
    if not isinstance(target, ast.Attribute | ast.Subscript):
        return None
    while isinstance(target, ast.Attribute | ast.Subscript):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def hooks_in(source: str) -> list[tuple[int, str]]:
    """(line, statement) of each statement run as the module loads that changes something
    it imported: sets or removes an attribute (or an item) of an imported name."""
    tree = ast.parse(source)
    imported = _imported_names(tree)
    return [
        (node.lineno, ast.unparse(node))
        for node in _module_level(tree.body)
        if any(_owner(t) in imported for t in _targets(node))
    ]


def test_the_hook_finder_sees_every_kind_of_hook() -> None:
    source = (
        "import helicone_filter.backends\n"
        "from helicone_filter import backends, form as f\n"
        "from helicone_filter.api import read_filter\n"
        "backends.read_filter = read_filter\n"
        "if True:\n"
        "    helicone_filter.backends.read = read_filter\n"
        "try:\n"
        "    f.ALL, x = None, 1\n"
        "except ImportError:\n"
        "    setattr(backends, 'read', read_filter)\n"
        "backends.TABLE['x'] += 1\n"
        "read_filter.__doc__: str = ''\n"
        "own = {}\n"
        "own['key'] = read_filter\n"
        "class C:\n"
        "    backends.inside_a_class = 1\n"
        "def f():\n"
        "    backends.when_called = 1\n"
    )
    assert [line for line, _ in hooks_in(source)] == [4, 6, 8, 10, 11, 12, 16]


def test_no_hidden_hooks() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {statement}"
        for path in PATHS.values()
        for line, statement in hooks_in(path.read_text(encoding="utf-8"))
    ]
    assert wrong == [], "a module sets what another module holds as it loads"


# -- every Problem through the registry -------------------------------------------------------


def test_every_problem_is_made_through_the_registry() -> None:
    """However a Problem is made (make_problem, or built whole for JSON), its code is checked
    against problems.CODES; copies and pickles (a worker's problems) are made the same way."""
    with pytest.raises(UnregisteredCode, match="no-such-code"):
        Problem("no-such-code", "nothing", 0, 0, 0, 0)
    with pytest.raises(UnregisteredCode, match="no-such-code"):
        Problem(code="no-such-code", message="", start=0, end=0, line=0, column=0)
    problem = Problem("int32-overflow", "m", 0, 0, 0, 0, "h", "warning", "$.a", (((0, 1, "x"),),))
    assert copy.deepcopy(problem) == pickle.loads(pickle.dumps(problem)) == problem


# -- ARCHITECTURE.md stays true ---------------------------------------------------------------

ARCHITECTURE = (PACKAGE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")


def test_architecture_names_every_module() -> None:
    """Each module by its path inside the package (`api/reading.py`), or by its bare name where
    no other module has it, so that `frontends/models.py` and `service/models.py` are told
    apart."""
    modules = [
        p for p in sorted(PACKAGE.rglob("*.py")) if p.name not in ("__init__.py", "__main__.py")
    ]
    names = [p.name for p in modules]
    unnamed = [
        p.relative_to(PACKAGE).as_posix()
        for p in modules
        if f"`{p.relative_to(PACKAGE).as_posix()}`" not in ARCHITECTURE
        and not (names.count(p.name) == 1 and f"`{p.name}`" in ARCHITECTURE)
    ]
    assert unnamed == []


def _layer_table() -> dict[str, set[str]]:
    """The table of layers ARCHITECTURE.md draws: each layer's name and what it holds."""
    block = ARCHITECTURE.split("layer      holds\n", 1)[1].split("```", 1)[0]
    layers = {}
    for line in block.splitlines():
        name, _, held = line.partition("  ")
        layers[name.strip()] = set(held.split())
    return layers


def test_architecture_draws_the_layers_this_test_enforces() -> None:
    """The layers in ARCHITECTURE.md are LAYERS above, bottom first, and every module of the
    package is in one of them."""
    drawn = _layer_table()
    assert list(drawn) == ["faces", "ways in", "sides", "bottom"]

    def held(prefixes: tuple[str, ...]) -> set[str]:
        out = set()
        for prefix in prefixes:
            rest = prefix.removeprefix(ROOT_NAME).lstrip(".").replace(".", "/")
            if not rest:
                out.add("__init__.py")
            elif (PACKAGE / rest).is_dir():
                out.add(rest + "/")
            else:
                out.add(rest + ".py")
        return out

    enforced = [set().union(*(held(p) for p in layer.values())) for layer in LAYERS]
    assert enforced == [drawn["bottom"], drawn["sides"], drawn["ways in"], drawn["faces"]]
    tops = {p.name + ("/" if p.is_dir() else "") for p in PACKAGE.iterdir()}
    tops = {t for t in tops if t.endswith((".py", "/")) and t != "__pycache__/"}
    assert tops == set().union(*drawn.values())


def test_architecture_names_only_what_exists() -> None:
    root = PACKAGE.parent
    for name in re.findall(r"`((?:[\w/]+/)?\w+\.(?:py|lark|md|yaml|json|txt))`", ARCHITECTURE):
        found = [root / name, PACKAGE / name]
        if "/" not in name:  # a bare name, in the paragraph of its folder
            found += PACKAGE.rglob(name)
        assert any(p.exists() for p in found), f"ARCHITECTURE.md names {name}, which is gone"
    for folder in re.findall(r"(?<![\w/])(\w+/)(?=[\s`])", ARCHITECTURE):
        found = [root / folder, PACKAGE / folder]
        assert any(p.is_dir() for p in found), f"ARCHITECTURE.md names {folder}, which is gone"
    # The tables it sends people to.
    sources = {
        p.relative_to(PACKAGE).as_posix(): p.read_text(encoding="utf-8")
        for p in PACKAGE.rglob("*.py")
    }
    for module, names in {
        "facts/schema.py": [
            "_COLUMNS",
            "HELICONE_COLUMNS",
            "MISSING_COLUMNS",
            "ENDPOINT_COLUMNS",
            "_SESSION_COLUMNS",
            "REQUEST_ENDPOINT_COLUMNS",
            "FIELD_NOTES",
            "OPERATORS",
            "KINDS",
            "TABLES",
            "_FAMILY_OPERATORS",
        ],
        "facts/columns.py": ["FAMILIES", "cut_ops"],
        "problems.py": ["CODES"],
        "cli/commands.py": ["COMMANDS", "class Command"],
        "service/models.py": ["OPERATIONS", "def refusal"],
        "service/handlers.py": ["ENDPOINTS", "BadRequest"],
        "backends/canonical_text.py": ["def filter_text"],
        "facts/query_options.py": ["QUERY_OPTIONS", "class QueryOption"],
        "frontends/tree_text.py": ["def tree_text"],
        "api/reading.py": ["def lower_text", "def read_filter", "def read_input"],
        "api/text.py": ["def compile", "def check_text"],
        "api/outputs.py": ["def to_text", "def simplify", "def matches", "def to_clickhouse"],
        "api/local_table.py": ["class LocalTable"],
        "frontends/parser.py": ["def compare_not"],
    }.items():
        for name in names:
            assert name in sources[module], f"ARCHITECTURE.md: {module} has no {name}"
    assert "-> compare_not" in (root / "grammar" / "filter.lark").read_text(encoding="utf-8")
