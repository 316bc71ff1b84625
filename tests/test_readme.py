"""The README tells the truth: its examples, its field table and its quick start."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NOW

import helicone_filter
from helicone_filter.schema import FIELD_NOTES, FIELD_OPERATORS, FIELDS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    level = title.split(" ")[0]
    end = README.find(f"\n{level} ", start + len(title) + 2)
    return README[start : end if end >= 0 else len(README)]


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_worked_examples_compile_to_the_json_shown() -> None:
    section = _section("## Worked examples")
    filters, outputs = _blocks(section, "text"), _blocks(section, "json")
    assert len(filters) == len(outputs) >= 10
    for text, shown in zip(filters, outputs, strict=True):
        assert helicone_filter.compile(text.strip(), now=NOW) == json.loads(shown), text


def test_field_table_is_the_schema_table() -> None:
    rows = re.findall(
        r"^\| (`.*?) \| (\w+) \| (\w+) \| (.*?) \| (.*?) \|$", _section("### Fields"), re.M
    )
    table = {}
    for names, tbl, kind, ops, note in rows:
        name = re.match(r"`([\w-]+)", names).group(1)  # type: ignore[union-attr]
        table[name] = (tbl, kind, tuple(re.findall(r"`(.*?)`", ops)), note)
    expected = {
        n: (f.table, f.kind, FIELD_OPERATORS[n], FIELD_NOTES.get(n, "")) for n, f in FIELDS.items()
    }
    assert table == expected


def test_command_line_transcripts_are_what_the_cli_prints() -> None:
    """Each `$ helicone-filter ...` block of the command line section, run for real."""
    blocks = [b for b in _blocks(_section("## The command line"), "text") if b.startswith("$ ")]
    assert blocks
    for block in blocks:
        command, _, shown = block.partition("\n")
        argv = shlex.split(command[2:])
        assert argv[0] == "helicone-filter"
        done = subprocess.run(
            [str(Path(sys.executable).parent / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.stdout + done.stderr == shown, command


def _quick_start() -> list[str]:
    return [b.strip() for b in _blocks(_section("## Quick start"), "sh")]


def test_quick_start_has_two_commands_and_ci_runs_the_second() -> None:
    install_and_run, tests = _quick_start()
    assert "helicone-filter" in install_and_run
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines()


@pytest.mark.skipif(os.environ.get("SKIP_FRESH_VENV") == "1", reason="SKIP_FRESH_VENV=1")
def test_first_command_works_in_a_fresh_virtual_environment(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    install_and_run = _quick_start()[0]
    done = subprocess.run(
        ["bash", "-c", install_and_run],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["left"] == {"users_view": {"user_cost": {"gt": 5}}}


def test_python_sessions_print_what_is_shown() -> None:
    """Each ```python block written as a session (`>>>`) runs and prints what it shows."""
    import doctest

    sessions = [b for b in _blocks(README, "python") if b.startswith(">>> ")]
    assert len(sessions) >= 2
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(verbose=False)
    for i, block in enumerate(sessions):
        test = parser.get_doctest(block, {}, f"README session {i}", "README.md", 0)
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
