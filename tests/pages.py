"""The project's pages, README.md and every page of docs/, and the parts of them tests read: a
section under a heading, and the code blocks of one language."""

from __future__ import annotations

import re

from conftest import ROOT

# README.md and every page of docs/, each example of which must run.
PAGES = {
    p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
}
README = PAGES["README.md"]


def page_section(title: str, text: str = README) -> str:
    """The section of `text` under the heading `title` (e.g. "## Quick start"), to the next
    heading of its level."""
    start = text.index(f"\n{title}\n")
    level = title.split(" ")[0]
    end = text.find(f"\n{level} ", start + len(title) + 2)
    return text[start : end if end >= 0 else len(text)]


def code_blocks(text: str, lang: str) -> list[str]:
    """The fenced code blocks of `text` in `lang`."""
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)
