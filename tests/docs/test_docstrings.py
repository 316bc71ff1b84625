"""The examples in the docstrings are true: each module's doctests run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import helicone_filter

MODULES = ["helicone_filter"] + [
    m.name
    for m in pkgutil.walk_packages(helicone_filter.__path__, "helicone_filter.")
    if not m.name.endswith("__main__")  # running it is running the command line
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0


def test_the_examples_are_many() -> None:
    finder = doctest.DocTestFinder()
    examples = sum(
        len(t.examples) for name in MODULES for t in finder.find(importlib.import_module(name))
    )
    assert examples >= 30
