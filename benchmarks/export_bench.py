"""The export benchmark: our export against Helicone's own exporter, on the same local stand-in.

    python -m pip install -e '.[test]'     (the stand-in's chdb, starlette and uvicorn; httpx)
    PYTHONPATH=$PWD python benchmarks/export_bench.py [--helicone-export DIR] [--markdown]

It serves the stand-in for Helicone's request endpoints (tests/helicone_requests.py: Helicone's
table in chdb, with its paging quirks) in a thread, holding N requests (20,000 over 60 days by
default: 3% stored twice, 10% scored, 2% in the millisecond of another), and runs each exporter
in a subprocess against it, one after the other:

- ours: `helicone-filter export all --format jsonl` at `--jobs 1` and `--jobs 4`. Until that
  subcommand exists (`helicone-filter export --help` shows its own usage), a child of this
  script pages with `helicone_filter.client.iter_requests` and writes JSONL instead: one row,
  named "iter_requests", as there is no `--jobs` then.
- Helicone's `@helicone/export`, when `--helicone-export DIR` names its built directory.

For each: wall time (process start-up included), requests/s (distinct requests exported per
second), peak memory (the largest resident set of the process and its children, by GNU
time's `%M`, else `wait4`; with psutil installed, the tree's summed resident set sampled
every 50 ms when that is larger), and the exported set against the true set: ids missing,
ids written more than once, lines written. Then the peak memory of ours at N and at 10 N
requests (20,000 and 200,000: flat means within 50 MiB), and, when `helicone-filter grep`
exists, its requests/s on a JSONL file of 1,000,000 requests (the export's records repeated
under new ids) with `--engine python` and `--engine clickhouse`. It prints a table
(`--markdown`: rows for benchmarks/RESULTS.md). Nothing here is a test: it reports, it
asserts nothing.

Helicone's exporter is built outside this repository, from Helicone's repository (or a fork
of it), and is never copied in:

    git clone --depth 1 https://github.com/Helicone/helicone.git ../helicone
    (cd ../helicone/examples/export/typescript && npm install && npm run build)
    python benchmarks/export_bench.py --helicone-export ../helicone/examples/export/typescript

It has no base-URL option, so it is run as `node --require benchmarks/helicone_fetch_redirect.cjs
DIR/dist/cli.js ...`: the preload wraps `fetch` to send its calls for https://api.helicone.ai
to the stand-in (EXPORT_BENCH_API_URL), and the stand-in's API key is given in
HELICONE_API_KEY. It runs in a scratch directory (it keeps its checkpoint in the current one).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REDIRECT = Path(__file__).resolve().parent / "helicone_fetch_redirect.cjs"
CHILD = "--child-iter-requests"  # this script's own child mode: iter_requests into JSONL
GREP_FILTER = 'model ilike "gpt-4%" and latency > 2000'
FLAT_MIB = 50
MIB = 1024 * 1024


# -- measuring one process ------------------------------------------------------------------


@dataclass
class Measured:
    """One subprocess, run to its end: exit code, wall seconds, peak resident bytes."""

    code: int
    seconds: float
    peak_bytes: int
    stderr: str


def _tree_rss(pid: int) -> int:
    """The summed resident set of a process and its descendants (psutil), 0 when gone."""
    import psutil  # type: ignore[import-untyped]

    try:
        top = psutil.Process(pid)
        procs = [top, *top.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def _sampler(pid: int, done: threading.Event, peak: list[int]) -> None:
    while not done.wait(0.05):
        peak[0] = max(peak[0], _tree_rss(pid))


TIME = Path("/usr/bin/time")


def measure(
    cmd: Sequence[str], env: dict[str, str], cwd: Path, timeout: float, stdout: Any = None
) -> Measured:
    """Run `cmd` to its end; its wall time and peak memory: the largest resident set of its
    processes, from GNU time's `%M` (the child's own `wait4`: this process's memory, which
    an exec'd child inherits in `ru_maxrss`, is not counted); with psutil installed, also the
    tree's summed resident set sampled every 50 ms, and the larger is kept."""
    have_psutil = importlib.util.find_spec("psutil") is not None
    with tempfile.TemporaryDirectory(prefix="export-bench-run-") as tmp:
        report, errors = Path(tmp) / "time", Path(tmp) / "stderr"
        timed = TIME.exists()
        full = [str(TIME), "-f", "%M", "-o", str(report), *cmd] if timed else list(cmd)
        start = time.perf_counter()
        with errors.open("wb") as err:
            proc = subprocess.Popen(
                full, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                stdout=stdout or subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        done, sampled = threading.Event(), [0]
        if have_psutil:
            watch = threading.Thread(target=_sampler, args=(proc.pid, done, sampled), daemon=True)
            watch.start()
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
            done.set()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak = _time_kib(report) if timed else usage.ru_maxrss  # KiB
        stderr = errors.read_text(encoding="utf-8", errors="replace")
    return Measured(proc.returncode, seconds, max(peak * 1024, sampled[0]), stderr)


def _time_kib(report: Path) -> int:
    """The `%M` GNU time wrote (its last line: a failed command writes a line before it)."""
    if not report.exists():
        return 0
    lines = report.read_text(encoding="utf-8").split()
    return int(lines[-1]) if lines and lines[-1].isdigit() else 0


# -- the stand-in ---------------------------------------------------------------------------


@dataclass
class Served:
    """A stand-in serving a dataset: its URL, the true set of ids, the window to export."""

    url: str
    ids: set[str]
    since: str
    until: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def served(n: int, days: float, seed: int, latency: float = 0.0) -> Iterator[Served]:
    """The stand-in with `n` requests over `days` days, served by uvicorn in a thread; each of
    its answers waits `latency` seconds first (a server across a network, not on these
    cores)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import uvicorn
    from helicone_requests import HeliconeRequests, generate_requests

    end = datetime.now(UTC) - timedelta(minutes=1)
    data = generate_requests(n, days, end=end, seed=seed, doubles=0.03, same_ms=0.02, scored=0.1)
    stand_in = HeliconeRequests(data)
    stand_in.delay = latency
    port = _free_port()
    config = uvicorn.Config(stand_in.app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    since = (end - timedelta(days=days, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (end + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        yield Served(f"http://127.0.0.1:{port}", {r["request_id"] for r in data.rows}, since, until)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        stand_in.drop()


def api_key() -> str:
    sys.path.insert(0, str(ROOT / "tests"))
    from helicone_requests import API_KEY

    key: str = API_KEY
    return key


# -- the exporters --------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: this checkout's package first on the path."""
    env = {k: v for k, v in os.environ.items() if k != "HELICONE_API_KEY"}
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(ROOT)])
    return {**env, **extra}


def has_subcommand(name: str) -> bool:
    """Whether `helicone-filter NAME` exists: its help is its own (an unknown word may be
    read as filter text by the default command, so the exit code alone does not tell)."""
    out = subprocess.run(
        [sys.executable, "-m", "helicone_filter", name, "--help"],
        env=child_env(), capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return out.returncode == 0 and f"usage: helicone-filter {name}" in out.stdout


@dataclass
class Row:
    """One exporter's run: what it did and how it went."""

    name: str
    how: str
    requests: int
    measured: Measured | None = None
    written: int = 0
    distinct: int = 0
    missing: int = 0
    extra: int = 0
    notes: list[str] = field(default_factory=list)
    judged: bool = True  # an export, judged against the true set (grep: not)

    @property
    def rate(self) -> float:
        """Requests per second: distinct requests exported, or (grep) requests read."""
        done = self.distinct if self.judged else self.requests
        return done / self.measured.seconds if self.measured else 0.0


def read_ids(path: Path) -> list[str]:
    """The request ids of a JSONL export, a line each (a line that is not JSON: no id)."""
    ids: list[str] = []
    if not path.exists():
        return ids
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    ids.append(str(json.loads(line).get("request_id")))
                except (ValueError, AttributeError):
                    ids.append("")
    return ids


def judged(row: Row, out: Path, truth: set[str]) -> Row:
    ids = read_ids(out)
    got = set(ids)
    row.written, row.distinct = len(ids), len(got)
    row.missing, row.extra = len(truth - got), len(got - truth)
    if row.measured and row.measured.code != 0:
        tail = row.measured.stderr.strip().splitlines()[-1:] or [""]
        row.notes.append(f"exit {row.measured.code}: {tail[0][:120]}")
    return row


def run_ours(s: Served, jobs: int | None, work: Path, timeout: float) -> tuple[Row, Path]:
    """Ours against the stand-in: the export subcommand at `jobs`, or (None) iter_requests."""
    out = work / f"ours-{jobs or 'iter'}.jsonl"
    out.unlink(missing_ok=True)
    env = child_env(HELICONE_API_KEY=api_key())
    if jobs is None:
        name, how = "ours: iter_requests", "iter_requests (export not there yet)"
        cmd = [sys.executable, __file__, CHILD, s.url, s.since, s.until, str(out)]
    else:
        name, how = f"ours: export --jobs {jobs}", "helicone-filter export"
        cmd = [
            sys.executable, "-m", "helicone_filter", "export", "all", "--since", s.since,
            "--until", s.until, "--format", "jsonl", "-o", str(out), "--jobs", str(jobs),
            "--base-url", s.url, "--quiet",
        ]  # fmt: skip
    row = Row(name, how, len(s.ids), measure(cmd, env, work, timeout))
    return judged(row, out, s.ids), out


def run_helicone(s: Served, directory: Path, work: Path, timeout: float) -> Row:
    """Helicone's exporter, built in `directory`, against the stand-in, from a scratch dir."""
    scratch = work / "helicone"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    out = scratch / "output.jsonl"
    cli = directory / "dist" / "cli.js"
    cmd = [
        "node", "--require", str(REDIRECT), str(cli), "--start-date", s.since, "--end-date",
        s.until, "--format", "jsonl", "-o", str(out), "--log-level", "quiet",
    ]  # fmt: skip
    env = child_env(HELICONE_API_KEY=api_key(), EXPORT_BENCH_API_URL=s.url)
    row = Row("Helicone's @helicone/export", "node dist/cli.js", len(s.ids))
    row.measured = measure(cmd, env, scratch, timeout)
    return judged(row, out, s.ids)


def iter_requests_child(url: str, since: str, until: str, out: str) -> int:
    """This script as a child: every request by iter_requests, a JSON line each."""
    from helicone_filter.client import iter_requests

    with open(out, "w", encoding="utf-8") as f:
        for r in iter_requests("all", since=since, until=until, base_url=url):
            f.write(json.dumps(r.as_json(), ensure_ascii=False) + "\n")
    return 0


# -- grep -----------------------------------------------------------------------------------


def repeated(source: Path, target: Path, n: int) -> None:
    """A JSONL file of `n` requests: the lines of `source` again and again, each copy's id
    (wherever it appears in the line) replaced by a new one."""
    lines = [ln for ln in source.read_text(encoding="utf-8").splitlines() if ln.strip()]
    ids = [str(json.loads(ln)["request_id"]) for ln in lines]
    with target.open("w", encoding="utf-8") as f:
        for i in range(n):
            k = i % len(lines)
            f.write(lines[k].replace(ids[k], str(uuid.UUID(int=i + 1, version=4))) + "\n")


def run_grep(source: Path, rows: int, work: Path, timeout: float) -> list[Row]:
    big = work / "grep-input.jsonl"
    repeated(source, big, rows)
    out: list[Row] = []
    for engine in ("python", "clickhouse"):
        selected = work / f"grep-{engine}.jsonl"
        selected.unlink(missing_ok=True)
        cmd = [
            sys.executable, "-m", "helicone_filter", "grep", GREP_FILTER, str(big),
            "--engine", engine, "-o", str(selected),
        ]  # fmt: skip
        row = Row(f"grep --engine {engine}", "helicone-filter grep", rows, judged=False)
        row.measured = measure(cmd, child_env(), work, timeout)
        row.written = len(read_ids(selected))
        if row.measured.code != 0:
            tail = row.measured.stderr.strip().splitlines()[-1:] or [""]
            row.notes.append(f"exit {row.measured.code}: {tail[0][:120]}")
        out.append(row)
    big.unlink(missing_ok=True)
    return out


# -- the report -----------------------------------------------------------------------------

HEADER = (
    "run", "how", "requests", "seconds", "requests/s", "peak MiB", "written", "missing",
    "duplicated", "notes",
)  # fmt: skip


def cells(row: Row) -> list[str]:
    m = row.measured
    return [
        row.name,
        row.how,
        f"{row.requests:,}",
        f"{m.seconds:.1f}" if m else "-",
        f"{row.rate:,.0f}" if m else "-",
        f"{m.peak_bytes / MIB:.0f}" if m else "-",
        f"{row.written:,}",
        f"{row.missing:,}" if row.judged else "-",
        f"{row.written - row.distinct:,}" if row.judged else "-",
        "; ".join(row.notes),
    ]


def table(rows: list[Row], markdown: bool) -> str:
    body = [list(HEADER), *(cells(r) for r in rows)]
    if markdown:
        lines = ["| " + " | ".join(body[0]) + " |"]
        lines.append("|" + "|".join("---" if i in (0, 1, 9) else "---:" for i in range(10)) + "|")
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in body[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in body) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body)


def summary(rows: list[Row], flat: tuple[Row, Row] | None) -> list[str]:
    """Sentences under the table: throughput and memory against Helicone's, and flatness."""
    said = []
    theirs = next((r for r in rows if r.name.startswith("Helicone")), None)
    ours = next((r for r in rows if r.name.startswith("ours")), None)
    if theirs and ours and theirs.rate:
        said.append(
            f"{ours.name} exported {ours.rate / theirs.rate:.1f}x the requests/s of Helicone's "
            f"exporter, with {_peak(ours) / max(_peak(theirs), 1):.2f}x its peak memory; "
            f"Helicone's missed {theirs.missing:,} of {theirs.requests:,} requests and wrote "
            f"{theirs.written - theirs.distinct:,} twice or more"
        )
    if flat:
        small, large = flat
        grew = (_peak(large) - _peak(small)) / MIB
        verdict = "flat" if grew <= FLAT_MIB else "NOT flat"
        said.append(
            f"peak memory of ours: {_peak(small) / MIB:.0f} MiB at {small.requests:,} requests, "
            f"{_peak(large) / MIB:.0f} MiB at {large.requests:,} ({grew:+.0f} MiB: {verdict}, "
            f"within {FLAT_MIB} MiB is flat)"
        )
    return said


def _peak(row: Row) -> int:
    return row.measured.peak_bytes if row.measured else 0


def machine() -> str:
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )


# -- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [CHILD]:
        return iter_requests_child(*argv[1:5])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--requests", type=int, default=20_000, help="requests served")
    ap.add_argument("--days", type=float, default=60, help="days they are spread over")
    ap.add_argument(
        "--large", type=int, default=200_000, help="requests of the memory run (0: none)"
    )
    ap.add_argument(
        "--grep-rows", type=int, default=1_000_000, help="requests of grep's file (0: no grep)"
    )
    ap.add_argument("--helicone-export", type=Path, metavar="DIR", help="its built directory")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds a run may take")
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds each answer of the stand-in waits first, as a server across a network "
        "does (default 0: the stand-in shares these cores, so --jobs can only cost)",
    )
    ap.add_argument("--markdown", action="store_true", help="rows for benchmarks/RESULTS.md")
    args = ap.parse_args(argv)

    export = has_subcommand("export")
    grep = has_subcommand("grep")
    rows: list[Row] = []
    flat: tuple[Row, Row] | None = None
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        work = Path(tmp)
        with served(args.requests, args.days, args.seed, args.latency) as s:
            runs = [1, 4] if export else [None]
            results = [run_ours(s, jobs, work, args.timeout) for jobs in runs]
            rows += [r for r, _ in results]
            first_out = results[0][1]
            if args.helicone_export:
                rows.append(run_helicone(s, args.helicone_export.resolve(), work, args.timeout))
        if args.large:
            with served(args.large, args.days, args.seed + 1) as big:
                large, _ = run_ours(big, 1 if export else None, work, args.timeout)
            large.name += " (memory run)"
            rows.append(large)
            flat = (rows[0], large)
        if grep and args.grep_rows:
            rows += run_grep(first_out, args.grep_rows, work, args.timeout)
    print(table(rows, args.markdown))
    print()
    for line in summary(rows, flat):
        print(line)
    if not export:
        print("helicone-filter export is not there yet: the rows of ours used iter_requests")
    if not args.helicone_export:
        print("Helicone's exporter: not run (--helicone-export DIR names its built directory)")
    if not grep:
        print("helicone-filter grep is not there yet: no grep rows")
    print(machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
