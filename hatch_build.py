"""The package's long description: README.md with its links made absolute.

README.md links to docs/, examples/ and pictures by relative paths, which work in a clone and
on the repository's web page but not on a package index's page. The build reads README.md and
points each relative link at the repository (`[project.urls] Repository` in pyproject.toml):
pages at `<repository>/blob/main/<path>`, pictures at `<repository>/raw/main/<path>`.
`tests/docs/test_readme.py` checks the result.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface

# [text](target) and ![alt](target), the only link forms README.md uses; the text may wrap.
_LINK = re.compile(r"(!?)\[([^[\]]*)\]\(([^)\s]+)\)")


def absolute_links(markdown: str, repository: str) -> str:
    """`markdown` with each relative link turned into a URL under `repository`.

    Absolute URLs and links to a heading of the same page (`#...`) stay as they are.
    """
    base = repository.rstrip("/")

    def absolute(match: re.Match[str]) -> str:
        bang, text, target = match.groups()
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return match.group(0)
        kind = "raw" if bang else "blob"
        return f"{bang}[{text}]({base}/{kind}/main/{target.removeprefix('./')})"

    return _LINK.sub(absolute, markdown)


class CustomMetadataHook(MetadataHookInterface):
    """Sets `readme` (declared dynamic in pyproject.toml) from README.md."""

    def update(self, metadata: dict[str, Any]) -> None:
        readme = Path(self.root, "README.md").read_text(encoding="utf-8")
        metadata["readme"] = {
            "content-type": "text/markdown",
            "text": absolute_links(readme, metadata["urls"]["Repository"]),
        }
