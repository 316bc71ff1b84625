"""docs/typescript.md tells the truth: its TypeScript compiles with `tsc --strict` against the
types openapi-typescript makes of the service's current OpenAPI document, with the versions
pinned in tests/typescript/package.json, which are the versions the page tells readers to
install (as tests/service/test_contract.py checks tests/typescript/usage.ts)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import TESTS
from pages import PAGES, code_blocks

PAGE = PAGES["docs/typescript.md"]
TS = TESTS / "typescript"
PINNED = json.loads((TS / "package.json").read_text(encoding="utf-8"))["devDependencies"]
# The compiler's options of tests/service/test_contract.py: strict, a browser's library.
TSC = [
    "--noEmit",
    "--strict",
    *("--target", "es2022", "--lib", "es2022,dom"),
    *("--module", "esnext", "--moduleResolution", "bundler"),
]


def test_the_page_installs_the_pinned_versions() -> None:
    install = next(
        line for block in code_blocks(PAGE, "sh") for line in block.splitlines() if "npm" in line
    )
    for package, version in PINNED.items():
        assert f"{package}@{version}" in install, package
    assert PAGE.count("openapi-typescript ") >= 2
    assert f"openapi-typescript {PINNED['openapi-typescript']}" in PAGE
    assert f"TypeScript {PINNED['typescript']}" in PAGE


def _missing() -> str | None:
    if not (shutil.which("node") and shutil.which("npx")):
        return "needs Node.js and npm (apt-get install nodejs npm)"
    for tool in ("openapi-typescript", "tsc"):
        if not (TS / "node_modules" / ".bin" / tool).exists():
            return f"needs {tool}: npm ci --prefix tests/typescript"
    return None


def _npx(*args: str) -> list[str]:
    return ["npx", "--no", "--", *args]  # --no: only the packages pinned in tests/typescript


def test_the_pages_typescript_compiles_against_the_service_types(tmp_path: Path) -> None:
    missing = _missing()
    if missing is not None:
        if os.environ.get("HELICONE_FILTER_TS_TESTS") == "required":
            pytest.fail(f"HELICONE_FILTER_TS_TESTS=required, but this test {missing}")
        pytest.skip(f"{missing}; .ci/run installs them and requires this test")
    from helicone_filter.service.app import openapi_document

    blocks = code_blocks(PAGE, "ts")
    assert len(blocks) >= 3
    (tmp_path / "openapi.json").write_text(json.dumps(openapi_document()), encoding="utf-8")
    (tmp_path / "client.ts").write_text("\n".join(blocks), encoding="utf-8")
    made = subprocess.run(
        _npx("openapi-typescript", str(tmp_path / "openapi.json"), "-o", str(tmp_path / "api.ts")),
        cwd=TS,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    checked = subprocess.run(
        _npx("tsc", *TSC, str(tmp_path / "client.ts")),
        cwd=TS,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
