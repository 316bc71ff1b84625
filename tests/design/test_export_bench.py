"""The export benchmark of benchmarks/export_bench.py, briefly: 500 requests served by the
stand-in, ours run against them without Helicone's exporter, and a table printed with every
request exported once. `python benchmarks/export_bench.py` runs 20,000 (and 200,000 for
memory)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest
from conftest import ROOT


def _bench() -> ModuleType:
    path = ROOT / "benchmarks" / "export_bench.py"
    spec = importlib.util.spec_from_file_location("export_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_harness_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["-n", "500", "--days", "5", "--large", "0", "--grep-rows", "0"]
    assert _bench().main(argv) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert "requests/s" in header and "missing" in header and "duplicated" in header
    ours = next(line for line in out.splitlines() if line.startswith("ours"))
    cells = [c.strip() for c in ours.split("  ") if c.strip()]
    assert cells[2] == "500" and cells[6] == "500"  # requests served, lines written
    assert cells[7] == "0" and cells[8] == "0"  # none missing, none twice
    assert "Helicone's exporter: not run" in out


def test_markdown_rows() -> None:
    bench = _bench()
    row = bench.Row("ours: export --jobs 1", "helicone-filter export", 20_000)
    row.measured = bench.Measured(0, 10.0, 64 * bench.MIB, "")
    row.written = row.distinct = 20_000
    lines = bench.table([row], markdown=True).splitlines()
    assert lines[0].startswith("| run | how | requests |") and lines[1].startswith("|---|")
    assert lines[2] == (
        "| ours: export --jobs 1 | helicone-filter export | 20,000 | 10.0 | 2,000 | 64 "
        "| 20,000 | 0 | 0 |  |"
    )
