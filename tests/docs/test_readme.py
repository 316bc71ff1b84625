"""The README and docs/ tell the truth: their examples, the field table, the quick start, their
links, and the long description the build makes of the README."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NOW, ROOT
from pages import PAGES, README, code_blocks, page_section

import helicone_filter
from helicone_filter.facts.schema import FIELD_NOTES, FIELD_OPERATORS, FIELDS

LANGUAGE = PAGES["docs/language.md"]
BIN = Path(sys.executable).parent


def test_the_docs_are_all_there() -> None:
    for name in [
        *("language", "cli", "api", "service", "clickhouse", "helicone"),
        *("typescript", "cheatsheet", "troubleshooting"),
    ]:
        assert f"docs/{name}.md" in PAGES
        assert f"(docs/{name}.md)" in README, f"the README does not link to docs/{name}.md"


@pytest.mark.parametrize(
    ("page", "title", "least"),
    [("README.md", "## Examples", 3), ("docs/language.md", "## Worked examples", 10)],
)
def test_worked_examples_compile_to_the_json_shown(page: str, title: str, least: int) -> None:
    section = page_section(title, PAGES[page])
    filters, outputs = code_blocks(section, "text"), code_blocks(section, "json")
    assert len(filters) == len(outputs) >= least
    for text, shown in zip(filters, outputs, strict=True):
        assert helicone_filter.compile(text.strip(), now=NOW) == json.loads(shown), text


def test_field_table_is_the_schema_table() -> None:
    rows = re.findall(
        r"^\| (`.*?) \| (\w+) \| (\w+) \| (.*?) \| (.*?) \|$",
        page_section("## Fields", LANGUAGE),
        re.M,
    )
    table = {}
    for names, tbl, kind, ops, note in rows:
        name = re.match(r"`([\w-]+)", names).group(1)  # type: ignore[union-attr]
        table[name] = (tbl, kind, tuple(re.findall(r"`(.*?)`", ops)), note)
    expected = {
        n: (f.table, f.kind, FIELD_OPERATORS[n], FIELD_NOTES.get(n, "")) for n, f in FIELDS.items()
    }
    assert table == expected


def _transcripts() -> list[tuple[str, str]]:
    return [
        (page, block)
        for page, text in PAGES.items()
        for block in code_blocks(text, "text")
        if block.startswith("$ helicone-filter ")
    ]


def test_command_line_transcripts_are_what_the_cli_prints() -> None:
    """Each `$ helicone-filter ...` block of README.md and docs/, run for real (from the
    repository's root, so that `< examples/...` reads the sample files)."""
    transcripts = _transcripts()
    assert len(transcripts) >= 8
    for page, block in transcripts:
        command, _, shown = block.partition("\n")
        argv = shlex.split(command[2:])
        stdin = None
        if "<" in argv:
            at = argv.index("<")
            stdin, argv = ROOT / argv[at + 1], argv[:at] + argv[at + 2 :]
        with open(stdin or os.devnull, encoding="utf-8") as given:
            done = subprocess.run(
                [str(BIN / argv[0]), *argv[1:]],
                stdin=given,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
        assert done.stdout + done.stderr == shown, f"{page}: {command}"


def _shell_lines(text: str) -> list[str]:
    """The commands of the ```sh blocks, continuation lines joined."""
    return [
        line.strip()
        for block in code_blocks(text, "sh")
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip()
    ]


def test_the_sample_files_the_docs_use_exist_and_their_commands_run(tmp_path: Path) -> None:
    """Every `examples/...` path named in README.md or docs/ exists, and each shell command
    that reads one runs: it succeeds, or fails on the typo that examples/saved-filters.txt
    carries on purpose (line 12) and on nothing else."""
    named = {m for text in PAGES.values() for m in re.findall(r"\bexamples/[\w.-]+", text)}
    assert {"examples/saved-filter.json", "examples/saved-filters.txt"} <= named
    for path in named:
        assert (ROOT / path).is_file(), f"{path} is named in the docs but not shipped"
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    commands = [
        line
        for text in PAGES.values()
        for line in _shell_lines(text)
        if "examples/" in line and line.startswith("helicone-filter ")
    ]
    assert len(commands) >= 5
    for command in commands:
        if "jq " in command and shutil.which("jq") is None:
            continue
        done = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {command}"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        output = done.stdout + done.stderr
        for written in tmp_path.iterdir():  # what the command wrote with `>`
            if written.name != "examples":
                output += written.read_text(encoding="utf-8")
                written.unlink()
        assert "Traceback" not in output, command
        if done.returncode != 0:
            assert done.returncode == 1 and "'modle'" in output, (command, output)
            assert output.count("'modle'") == output.count("unknown field"), (command, output)


def test_python_examples_are_python() -> None:
    """Every ```python block that is no session (`>>>`) at least parses."""
    blocks = [
        (page, block)
        for page, text in PAGES.items()
        for block in code_blocks(text, "python")
        if not block.startswith(">>> ")
    ]
    assert len(blocks) >= 4
    for page, block in blocks:
        try:
            ast.parse(block)
        except SyntaxError as e:
            raise AssertionError(f"{page}: {e}\n{block}") from None


def _quick_start() -> list[str]:
    return [b.strip() for b in code_blocks(page_section("## Quick start"), "sh")]


# Each command of the quick start runs on a machine that has only Python: it makes the virtual
# environment it installs into.
FRESH = "python3 -m venv .venv && . .venv/bin/activate && python -m pip install -e "


def test_quick_start_has_two_commands_and_ci_runs_the_second() -> None:
    install_and_run, tests = _quick_start()
    assert install_and_run.startswith(FRESH + ". && helicone-filter compile '")
    assert tests == FRESH + "'.[test]' && python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines()
    development = [b.strip() for b in code_blocks(page_section("## Development"), "sh")]
    assert tests in development[0].splitlines()


def test_the_first_screen_says_what_helicone_and_the_json_are() -> None:
    """Someone who has never heard of Helicone learns in the README's first 40 lines what it
    is, what the JSON is for, where the API key goes, and that a user-metrics filter picks
    users (request conditions feed their metrics, `or` across the two refused) while a
    requests filter picks requests; and what it says of the two endpoints is true."""
    first = "\n".join(README.splitlines()[:40])
    for said in [
        "[Helicone](https://www.helicone.ai)",
        "(https://docs.helicone.ai)",
        "**FilterNode**",
        "`HELICONE_API_KEY`",
        "`POST /v1/user/metrics/query`",
        "picks **users**",
        "`POST /v1/request/query-clickhouse`",
        "picks **requests**",
        "`or` between a user condition and a request condition is\n  refused",
    ]:
        assert said in first, said
    shown = code_blocks(first, "text")[0].strip()
    compiled = helicone_filter.compile(shown, now=NOW)
    assert compiled["left"] == {"users_view": {"user_cost": {"gt": 5}}}
    with pytest.raises(helicone_filter.FilterError) as refused:
        helicone_filter.compile('user_cost > 5 or model = "gpt-4o"')
    assert refused.value.problems[0].code == "or-across-tables"
    either = helicone_filter.compile('status >= 500 or model = "gpt-4o"', endpoint="requests")
    assert either["operator"] == "or"


def test_the_readme_starts_with_its_contents_and_the_quick_start() -> None:
    sections = re.findall(r"^## (.+)$", README, flags=re.M)
    assert sections[:2] == ["Contents", "Quick start"]
    contents = re.findall(r"^- \[(.+?)\]\(#(.+?)\)$", page_section("## Contents"), flags=re.M)
    assert [title for title, _ in contents] == sections[1:]


# What a fresh clone does not hold: environments, caches, what the build and npm write.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".ci-venv",
    "node_modules",
    "__pycache__",
    ".hypothesis",
    ".*_cache",
    "dist",
    "build",
    "*.egg-info",
)


@pytest.mark.skipif(os.environ.get("SKIP_FRESH_VENV") == "1", reason="SKIP_FRESH_VENV=1")
def test_first_command_works_in_a_fresh_virtual_environment(tmp_path: Path) -> None:
    """The first command as written, in a copy of the repository without a virtual
    environment, with nothing on PATH but this Python as python3."""
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=NOT_IN_A_CLONE, symlinks=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for variable in ("PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(variable, None)
    install_and_run = _quick_start()[0]
    done = subprocess.run(
        ["bash", "-c", install_and_run],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["left"] == {"users_view": {"user_cost": {"gt": 5}}}
    assert (clone / ".venv" / "bin" / "helicone-filter").exists()


def test_python_sessions_print_what_is_shown() -> None:
    """Each ```python block of README.md and docs/ written as a session (`>>>`) runs and
    prints what it shows."""
    import doctest

    sessions = [
        (page, block)
        for page, text in PAGES.items()
        for block in code_blocks(text, "python")
        if block.startswith(">>> ")
    ]
    assert len(sessions) >= 5
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(verbose=False)
    for i, (page, block) in enumerate(sessions):
        test = parser.get_doctest(block, {}, f"{page} session {i}", page, 0)
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


# -- Links ---------------------------------------------------------------------------------------

# [text](target) and ![alt](target); the text may wrap, and holds no brackets.
LINK = re.compile(r"!?\[[^[\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """The text without its code blocks (where `[...](...)` is code, not a link)."""
    return re.sub(r"```.*?```", "", text, flags=re.S)


def _anchors(text: str) -> set[str]:
    """The anchors GitHub makes of a page's headings: lower case, punctuation dropped, spaces
    as hyphens."""
    titles = re.findall(r"^#+ (.+)$", _prose(text), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", t.strip().lower()).replace(" ", "-") for t in titles}


def test_links_between_the_pages_lead_somewhere() -> None:
    """Every relative link of README.md and docs/ names a file of the repository, and every
    `#anchor` a heading of the page it points into."""
    checked = 0
    for page, text in PAGES.items():
        for target in LINK.findall(_prose(text)):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (ROOT / page).parent / path if path else ROOT / page
            assert file.exists(), f"{page}: {target} leads nowhere"
            if anchor:
                assert anchor in _anchors(file.read_text(encoding="utf-8")), f"{page}: {target}"
            checked += 1
    assert checked >= 40


# A file of the repository named in prose: `helicone_filter/facts/schema.py`, `tests/cases/...`.
NAMED_PATH = re.compile(r"`([\w.-]+(?:/[\w.-]+)+\.(?:py|md|lark|json|yaml|txt|html|toml|ts))`")


def test_the_files_the_pages_name_exist() -> None:
    """A path the README, docs/, tests/README.md or the benchmark results name is a file of the
    repository (tests/README.md names paths from tests/): a module that moved is not left
    behind in the prose."""
    pages = {**PAGES}
    for extra in ("tests/README.md", "benchmarks/RESULTS.md"):  # ARCHITECTURE.md: test_design
        pages[extra] = (ROOT / extra).read_text(encoding="utf-8")
    gone = []
    for page, text in pages.items():
        base = ROOT / "tests" if page == "tests/README.md" else ROOT
        for name in NAMED_PATH.findall(text):
            if not ((base / name).exists() or (ROOT / name).exists()):
                gone.append(f"{page}: {name}")
    assert gone == []


def test_the_long_description_has_absolute_links() -> None:
    """The package index shows README.md as the build makes it (hatch_build.py): every link
    absolute, into the repository named in pyproject.toml, at a file that exists."""
    pytest.importorskip("hatchling")
    from hatchling.metadata.core import ProjectMetadata
    from hatchling.plugin.manager import PluginManager

    metadata = ProjectMetadata(str(ROOT), PluginManager())
    assert metadata.version == helicone_filter.__version__
    assert metadata.core.readme_content_type == "text/markdown"
    description = metadata.core.readme
    repository = metadata.core.urls["Repository"]
    targets = LINK.findall(_prose(description))
    assert len(targets) >= 10
    for target in targets:
        if target.startswith("#"):
            assert target[1:] in _anchors(description), target
            continue
        assert target.startswith("https://"), f"a relative link on the index page: {target}"
        if target.startswith(repository + "/"):
            kind, _, path = target.removeprefix(repository + "/").partition("/main/")
            assert kind in ("blob", "raw", "tree"), target
            assert (ROOT / path.partition("#")[0]).exists(), target
    # Pictures are fetched as files, not as the repository's page about them.
    pictures = re.findall(r"!\[[^[\]]*\]\(([^)\s]+)\)", description)
    assert pictures
    assert all(p.startswith(f"{repository}/raw/main/") for p in pictures)
