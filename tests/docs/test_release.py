"""The release is said once and agrees everywhere: the package's `__version__` is the one
place the version is written (pyproject.toml reads it), it is the newest release of
CHANGELOG.md, and the changelog keeps Keep a Changelog's form: an [Unreleased] section on top,
releases newest first with their dates, and in each the kinds of change in their order,
"Breaking" first."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from datetime import date

from conftest import ROOT

import helicone_filter
from helicone_filter.problems import CODES

CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", flags=re.M)
# Keep a Changelog's kinds of change, in its order, after the "Breaking" summary.
KINDS = ["Breaking", "Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]


def _releases() -> list[tuple[str, str, str]]:
    """(version, date, text) of each release of the changelog, as written."""
    found = list(RELEASE.finditer(CHANGELOG))
    ends = [m.start() for m in found[1:]] + [len(CHANGELOG)]
    return [(m[1], m[2], CHANGELOG[m.end() : end]) for m, end in zip(found, ends, strict=True)]


def test_the_version_is_written_once() -> None:
    assert "version" not in PYPROJECT["project"]
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "helicone_filter/__init__.py"
    written = re.findall(
        r"^__version__ = \"(.+)\"$",
        (ROOT / "helicone_filter" / "__init__.py").read_text(encoding="utf-8"),
        flags=re.M,
    )
    assert written == [helicone_filter.__version__]


def test_the_package_is_the_newest_release_of_the_changelog() -> None:
    headings = re.findall(r"^## .+$", CHANGELOG, flags=re.M)
    assert headings[0] == "## [Unreleased]"
    newest, day, _ = _releases()[0]
    assert headings[1] == f"## [{newest}] - {day}"
    assert newest == helicone_filter.__version__
    version = subprocess.run(
        [sys.executable, "-m", "helicone_filter", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == f"helicone-filter {helicone_filter.__version__}"


def test_the_changelog_keeps_its_form() -> None:
    """Releases newest first, dated newest first; in [Unreleased] and in each release, the
    kinds of change (`###`) once each and in Keep a Changelog's order, themes (`####`) under
    them and no other heading."""
    releases = _releases()
    assert len(releases) >= 2
    versions = [tuple(map(int, v.split("."))) for v, _, _ in releases]
    assert versions == sorted(versions, reverse=True)
    days = [date.fromisoformat(d) for _, d, _ in releases]
    assert days == sorted(days, reverse=True)
    start = CHANGELOG.index("## [Unreleased]\n") + len("## [Unreleased]\n")
    end = CHANGELOG.index(f"## [{releases[0][0]}]")
    for version, text in [("Unreleased", CHANGELOG[start:end])] + [(v, x) for v, _, x in releases]:
        headings = re.findall(r"^(#+) (.+)$", text, flags=re.M)
        assert all(level in ("###", "####") for level, _ in headings), (version, headings)
        kinds = [title for level, title in headings if level == "###"]
        assert all(k in KINDS for k in kinds), (version, kinds)
        assert kinds == sorted(set(kinds), key=KINDS.index), (version, kinds)


def test_the_breaking_changes_name_problem_codes_that_exist() -> None:
    """The codes a release's "Breaking" summary names (`no-column`...) are codes the package
    has, so a reader can look each one up in docs/api.md."""
    for version, _, text in _releases():
        if "\n### Breaking\n" not in text:
            continue
        breaking = text.split("\n### Breaking\n", 1)[1].split("\n### ", 1)[0]
        named = set(re.findall(r"`([a-z][a-z0-9]*(?:-[a-z0-9]+)+)`", breaking))
        assert named, version
        assert named - {"helicone-filter", "user-metrics"} <= set(CODES), (version, named)
