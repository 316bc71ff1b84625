"""The command line and the REPL in rooms of their own: the REPL prints `explain` and `fields`
with the command line's printers (the same text), knows nothing else of the command line, and
no module of `cli/` imports another in a circle, counting imports inside functions."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NOW

import helicone_filter
from helicone_filter.cli import main
from helicone_filter.cli.repl import Runner
from helicone_filter.facts.timestamps import format_timestamp

PACKAGE = Path(helicone_filter.__file__).parent
CLI = "helicone_filter.cli"


def _entered(line: str) -> str:
    out = io.StringIO()
    Runner(out, now=NOW).enter(line)
    return out.getvalue()


@pytest.mark.parametrize(
    "text",
    [
        'not (cost > 1 or cached) and model in ["a", "b"]',
        "cost > 1 and cost > 2",  # a warning, printed after the tree
        "all",
        'model = "\\u001b[2J\u202e" and status = 200',  # escaped, not obeyed
    ],
)
def test_the_repl_explains_as_the_command_line_does(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", "--now", format_timestamp(NOW), "--", text]) == 0
    printed = capsys.readouterr()
    assert _entered(f":explain {text}") == printed.out + printed.err


def test_the_repl_lists_the_fields_as_the_command_line_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["fields"]) == 0
    assert _entered(":fields") == capsys.readouterr().out


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """The modules of the package that `path` imports, anywhere in it (in functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helicone_filter"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                as_module = PACKAGE.parent / name.replace(".", "/")
                is_module = as_module.with_suffix(".py").exists() or as_module.is_dir()
                found.add(name if is_module else str(node.module))
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("helicone_filter")}
    return found


GRAPH = {_module(p): _imported(p) for p in PACKAGE.rglob("*.py")}


def _reached(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for name in GRAPH.get(todo.pop(), set()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def test_no_module_of_the_command_line_imports_itself_in_a_circle() -> None:
    rooms = [m for m in GRAPH if m.startswith(f"{CLI}.")]
    assert f"{CLI}.program" in rooms and f"{CLI}.printers" in rooms
    circles = [m for m in rooms if m in _reached(m)]
    assert circles == []


def test_the_repl_knows_nothing_of_the_command_line() -> None:
    reached = _reached(f"{CLI}.repl")
    assert f"{CLI}.printers" in reached
    for room in ("commands", "program", "arguments", "filter_commands", "session_commands"):
        assert f"{CLI}.{room}" not in reached
    assert CLI not in reached  # the package's `main`


def test_outside_the_command_line_only_its_main_is_imported() -> None:
    for module, names in GRAPH.items():
        if module.startswith(f"{CLI}.") or module == CLI:
            continue
        assert {n for n in names if n == CLI or n.startswith(f"{CLI}.")} <= {CLI}, module


def test_a_one_shot_compile_loads_no_heavy_part() -> None:
    code = (
        "import sys\n"
        "from helicone_filter.cli import main\n"
        "assert main(['compile', '--compact', 'user_cost > 5']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('helicone_filter', 'pydantic', 'prompt_toolkit', 'httpx', 'shutil', 'multiprocessing')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = done.stdout.splitlines()[-1]
    for heavy in (
        "'helicone_filter.cli.repl'",
        "'helicone_filter.service",
        "'helicone_filter.client'",
        "'helicone_filter.cli.lines'",
        "'helicone_filter.cli.printers'",
        "'pydantic",
        "'prompt_toolkit",
        "'httpx",
        "'shutil'",
        "'multiprocessing",
    ):
        assert heavy not in loaded
