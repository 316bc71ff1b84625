"""The fuzzer of benchmarks/fuzz.py, briefly: a few thousand calls of every entry point (the
library's, the command line, the service) on generated, mutated and hostile input, each
returning or raising our own errors, none slow, and keeping the promises it checks (a fix-it
and `simplify` keep the rows, no control character reaches the terminal, no 500).
`python benchmarks/fuzz.py` runs a million."""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType

import pytest
from conftest import ROOT

CALLS = 5_000 if os.environ.get("CI") else 1_500


def _fuzz() -> ModuleType:
    path = ROOT / "benchmarks" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("fuzz", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [11, 12])
def test_every_entry_point_returns_or_raises_ours(seed: int) -> None:
    fuzz = _fuzz()
    found = fuzz.run(CALLS // 2, seed, slow=5.0)
    assert found["failures"] == []
    assert set(found["counts"]) == set(fuzz.KINDS)  # every kind of call ran
    assert len(fuzz.KINDS) == 17
