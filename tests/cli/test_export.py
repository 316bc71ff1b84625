"""`helicone-filter export` against the stand-in for Helicone's request endpoints
(tests/helicone_requests.py, served in this process): the exact set of requests in each
format (JSONL, JSON, CSV read back by the csv module, Parquet), standard output, --fields and
--limit; an existing file kept without --force; the checkpoint and --resume after Ctrl-C,
SIGTERM (143), `kill -9` at random moments (the export run as a process of its own) and a
full disk; a 429 storm with --jobs; the API key in no output, no error and no checkpoint."""

from __future__ import annotations

import csv
import errno
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import TESTS, serving
from helicone_requests import API_KEY, OTHER_ORG, HeliconeRequests, Thrown, generate_requests

from helicone_filter.cli import export_command, main
from helicone_filter.cli.exits import Exit

SINCE = "2020-01-01T00:00:00Z"
TIE_AT = datetime.now(UTC) - timedelta(days=2, milliseconds=321)
ROOT = TESTS.parent


class StandIn:
    """The stand-in, served, with its data: 1,200 requests over 20 days (some stored twice,
    some in the millisecond of another), 150 more in one millisecond, 5 of another org."""

    def __init__(self, helicone: HeliconeRequests, url: str, rows: list[dict[str, Any]]):
        self.helicone = helicone
        self.url = url
        self.rows = rows

    def truth(self, model: str | None = None) -> set[str]:
        newest: dict[str, dict[str, Any]] = {}
        for row in sorted(self.rows, key=lambda r: r["updated_at"]):
            newest[row["request_id"]] = row
        return {
            request_id
            for request_id, row in newest.items()
            if row["organization_id"] != OTHER_ORG and (model is None or row["model"] == model)
        }


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    data = generate_requests(1200, 20, seed=7)
    ties = generate_requests(150, 0.0001, seed=8, end=TIE_AT, same_ms=1.0, doubles=0.1)
    other = generate_requests(5, 20, seed=9, org=OTHER_ORG)
    helicone = HeliconeRequests(data)
    helicone.add(ties)
    helicone.add(other)
    try:
        with serving(helicone.app) as url:
            yield StandIn(helicone, url, data.rows + ties.rows + other.rows)
    finally:
        helicone.drop()


@pytest.fixture
def api(stand_in: StandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """The stand-in with its faults cleared after each test; the key in the environment; the
    export's waits moving the stand-in's clock instead of sleeping."""
    helicone = stand_in.helicone
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        helicone.advance(seconds)

    monkeypatch.setattr(export_command, "SLEEP", sleep)
    monkeypatch.setenv("HELICONE_API_KEY", API_KEY)
    stand_in.waits = waits  # type: ignore[attr-defined]
    yield stand_in
    helicone.rate_limit, helicone.fail_next, helicone.drop_next = None, 0, 0
    helicone.delay = 0.0
    helicone.__dict__.pop("requests", None)  # a test's wrapper of the query
    helicone._windows.clear()


def export(api: StandIn, *args: str, filter: str = "all") -> int:  # noqa: A002
    return main(["export", filter, "--since", SINCE, "--base-url", api.url, *args])


def jsonl_ids(path: Path) -> list[str]:
    return [json.loads(line)["request_id"] for line in path.read_text().splitlines()]


def once(ids: list[str], truth: set[str]) -> None:
    """Every request of `truth` exactly once."""
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} written twice"
    assert set(ids) == truth, f"{len(truth - set(ids))} missing, {len(set(ids) - truth)} extra"


# -- each format: the exact set -----------------------------------------------------------------


def test_jsonl_holds_every_request_once_newest_first(api: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "requests.jsonl"
    assert export(api, "-o", str(out)) == Exit.OK
    once(jsonl_ids(out), api.truth())
    records = [json.loads(line) for line in out.read_text().splitlines()]
    times = [r["request_created_at"] for r in records]
    assert times == sorted(times, reverse=True)
    assert all(isinstance(r["total_tokens"], int) for r in records)  # numbers as numbers
    assert "latency" not in records[0] and isinstance(records[0]["delay_ms"], int)
    assert not (tmp_path / "requests.jsonl.checkpoint.json").exists()


def test_a_filter_text_selects_what_helicone_selects(api: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "gpt.jsonl"
    assert export(api, "-o", str(out), filter='model = "gpt-4o"') == Exit.OK
    truth = api.truth("gpt-4o")
    assert truth
    once(jsonl_ids(out), truth)


def test_json_is_one_valid_array(api: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "requests.json"  # the format from the suffix
    assert export(api, "-o", str(out)) == Exit.OK
    once([r["request_id"] for r in json.loads(out.read_text())], api.truth())


def test_csv_read_back_by_the_csv_module_is_the_records(api: StandIn, tmp_path: Path) -> None:
    as_jsonl, as_csv = tmp_path / "r.jsonl", tmp_path / "r.csv"
    assert export(api, "-o", str(as_jsonl)) == Exit.OK
    assert export(api, "-o", str(as_csv), "--format", "csv") == Exit.OK
    with as_csv.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    records = [json.loads(line) for line in as_jsonl.read_text().splitlines()]
    once([row["request_id"] for row in rows], api.truth())
    by_id = {r["request_id"]: r for r in records}
    header = list(rows[0])
    assert header[:3] == ["response_id", "response_created_at", "response_body"]
    for row in rows:
        record = by_id[row["request_id"]]
        for name in header:
            if name in ("signed_body_url", "asset_urls"):  # signed afresh for each query
                continue
            assert row[name] == export_command.csv_cell(record.get(name)), name
    nested = next(r for r in rows if r["request_properties"] not in ("", "{}"))
    assert isinstance(json.loads(nested["request_properties"]), dict)  # JSON, quoted once
    quoted_once = '"' + nested["request_properties"].replace('"', '""') + '"'
    assert quoted_once in as_csv.read_text()


def test_parquet_has_typed_columns(api: StandIn, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "requests.parquet"
    assert export(api, "-o", str(out), "--fields", "request_id,total_tokens,cost,scores") == 0
    table = pq.read_table(out)
    assert [str(t) for t in table.schema.types] == ["string", "int64", "double", "string"]
    once(table.column("request_id").to_pylist(), api.truth())
    assert not (tmp_path / "requests.parquet.part.jsonl").exists()


def test_parquet_without_pyarrow_says_how_to_install_it(
    api: StandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    sent = len(api.helicone.received)
    assert export(api, "-o", str(tmp_path / "r.parquet")) == Exit.MISSING_DEPENDENCY
    assert "pip install 'helicone-filter[export]'" in capsys.readouterr().err
    assert len(api.helicone.received) == sent


def test_standard_output_fields_and_limit(api: StandIn, capsys: pytest.CaptureFixture[str]) -> None:
    assert export(api, "--fields", "request_id,model,delay_ms", "--limit", "25") == Exit.OK
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 25
    assert all(list(r) == ["request_id", "model", "delay_ms"] for r in records)
    assert {r["request_id"] for r in records} <= api.truth()


def test_a_misspelt_field_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "all", "--fields", "request_id,modle"]) == Exit.USAGE
    assert "did you mean model?" in capsys.readouterr().err


# -- the output kept, the key kept ---------------------------------------------------------------


def test_an_existing_file_is_not_overwritten_without_force(
    api: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "kept.jsonl"
    out.write_text("precious\n")
    sent = len(api.helicone.received)
    assert export(api, "-o", str(out)) == Exit.USAGE
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == "precious\n" and len(api.helicone.received) == sent
    assert export(api, "-o", str(out), "--force") == Exit.OK
    once(jsonl_ids(out), api.truth())


def test_a_bad_key_is_found_before_any_work_and_never_shown(
    api: StandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "sk-not-a-key-of-this-org-0123456789"
    monkeypatch.setenv("HELICONE_API_KEY", secret)
    out = tmp_path / "r.jsonl"
    assert export(api, "-o", str(out), "--verbose") == Exit.REQUEST_FAILED
    said = capsys.readouterr()
    assert "401" in said.err and secret not in said.out + said.err
    assert not out.exists()  # the pre-flight query failed before the output was opened


def test_the_key_is_in_no_output_and_no_checkpoint(
    api: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.jsonl"
    helicone, calls = api.helicone, [0]
    real = HeliconeRequests.requests.__get__(helicone)

    def requests(org: str, body: dict[str, Any], base: str) -> tuple[int, Any]:
        calls[0] += 1
        if calls[0] > 2:  # after the pre-flight query and a page: 500s, over and over
            raise Thrown
        return real(org, body, base)

    helicone.requests = requests  # type: ignore[method-assign]
    assert export(api, "-o", str(out), "--verbose") == Exit.REQUEST_FAILED
    said = capsys.readouterr()
    checkpoint = (tmp_path / "r.jsonl.checkpoint.json").read_text()
    for text in (said.out, said.err, checkpoint, out.read_text()):
        assert API_KEY not in text
    del helicone.requests
    assert export(api, "-o", str(out), "--resume", "--verbose") == Exit.OK
    said = capsys.readouterr()
    assert API_KEY not in said.out + said.err + out.read_text()
    once(jsonl_ids(out), api.truth())


# -- resume ------------------------------------------------------------------------------------


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, n: int, error: BaseException) -> None:
    """The n-th request written raises `error` (as a signal's handler would) once."""
    real = export_command.State.wrote
    count = [0]

    def wrote(self: Any, request: Any, size: int) -> None:
        real(self, request, size)
        count[0] += 1
        if count[0] == n:
            raise error

    monkeypatch.setattr(export_command.State, "wrote", wrote)


@pytest.mark.parametrize("form", ["json", "jsonl", "csv"])
def test_ctrl_c_then_resume_writes_each_request_once(
    api: StandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    form: str,
) -> None:
    out = tmp_path / f"r.{form}"
    with monkeypatch.context() as m:
        _interrupt_after(m, 700, KeyboardInterrupt())
        assert export(api, "-o", str(out), "--jobs", "2") == Exit.INTERRUPTED
    assert "--resume" in capsys.readouterr().err
    if form == "json":  # closed on the way out: valid JSON already
        assert len(json.loads(out.read_text())) >= 600
    assert export(api, "-o", str(out), "--resume") == Exit.OK
    once(_ids(out, form), api.truth())


def _ids(path: Path, form: str) -> list[str]:
    if form == "json":
        return [r["request_id"] for r in json.loads(path.read_text())]
    if form == "csv":
        with path.open(newline="", encoding="utf-8") as f:
            return [row["request_id"] for row in csv.DictReader(f)]
    return jsonl_ids(path)


def test_resume_refuses_another_export(
    api: StandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "r.jsonl"
    with monkeypatch.context() as m:
        _interrupt_after(m, 100, KeyboardInterrupt())
        assert export(api, "-o", str(out)) == Exit.INTERRUPTED
    capsys.readouterr()
    assert export(api, "-o", str(out), filter="cached") == Exit.USAGE  # not without --resume
    assert export(api, "-o", str(out), "--resume", filter="cached") == Exit.USAGE
    assert "filter" in capsys.readouterr().err
    assert export(api, "-o", str(out), "--resume") == Exit.OK
    once(jsonl_ids(out), api.truth())


def test_a_full_disk_is_a_clear_error_and_resume_finishes(
    api: StandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "r.json"
    real = export_command.Sink.write
    room = [300_000]  # bytes left on the "disk"

    def write(self: Any, data: bytes) -> None:
        if len(data) > room[0]:
            real(self, data[: room[0]])  # what fits is written, then the disk is full
            room[0] = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        room[0] -= len(data)
        real(self, data)

    with monkeypatch.context() as m:
        m.setattr(export_command.Sink, "write", write)
        assert export(api, "-o", str(out)) == Exit.OUTPUT_FAILED
    err = capsys.readouterr().err
    assert "No space left on device" in err and "--resume" in err
    assert "Traceback" not in err
    assert export(api, "-o", str(out), "--resume") == Exit.OK
    once(_ids(out, "json"), api.truth())


# -- 429 storms and --jobs ---------------------------------------------------------------------


def test_a_429_storm_with_jobs_loses_nothing_and_waits_as_told(
    api: StandIn, tmp_path: Path
) -> None:
    api.helicone.rate_limit = 3  # 3 queries a 5-minute window
    out = tmp_path / "r.jsonl"
    assert export(api, "-o", str(out), "--jobs", "4") == Exit.OK
    once(jsonl_ids(out), api.truth())
    waits: list[float] = api.waits  # type: ignore[attr-defined]
    assert any(w > 30 for w in waits)  # Retry-After, longer than any backoff


def test_slices_cover_the_window_without_gap_or_overlap() -> None:
    for count in (1, 2, 7, 50):
        ranges = export_command.slices(1_000, 99_999, count)
        assert ranges[0][1] == 99_999 and ranges[-1][0] == 1_000
        assert all(a[0] == b[1] + 1 for a, b in itertools.pairwise(ranges))
    assert export_command.slices(5, 5, 8) == [(5, 5)]


def _fake_batches(sizes: dict[tuple[int, int], int], fail: tuple[int, int] | None = None) -> Any:
    """Pages of fake records for each range: `sizes[range]` records, 100 a page."""
    from helicone_filter.client.records import HeliconeRequest

    def batches(low: int, high: int) -> Iterator[list[Any]]:
        n = sizes[(low, high)]
        for start in range(0, n, 100):
            yield [
                HeliconeRequest.from_json(
                    {"request_id": f"{low}-{i}", "request_created_at": "2025-01-01T00:00:00Z"}
                )
                for i in range(start, min(n, start + 100))
            ]
        if (low, high) == fail:
            raise OSError(errno.ENOSPC, "No space left on device")

    return batches


def test_a_later_slice_is_fetched_whole_while_the_writer_is_on_an_earlier_one(
    tmp_path: Path,
) -> None:
    import threading

    ranges = export_command.slices(0, 3_999, 2)
    sizes = {ranges[0]: 50, ranges[1]: 20_000}  # far more than a page or a queue would hold
    fetched = threading.Event()
    inner = _fake_batches(sizes)

    def batches(low: int, high: int) -> Iterator[list[Any]]:
        yield from inner(low, high)
        if (low, high) == ranges[1]:
            fetched.set()

    stream = export_command.fetch_in_order(ranges, 2, batches, threading.Event(), str(tmp_path))
    first = next(stream)  # the writer holds on to the newest slice's first record...
    assert first.request_id == f"{ranges[0][0]}-0"
    assert fetched.wait(30)  # ...while the older slice is fetched to its end, not held back
    rest = [r.request_id for r in stream]
    assert len(rest) == 50 - 1 + 20_000 and len(set(rest)) == len(rest)
    assert rest[48] == f"{ranges[0][0]}-49" and rest[49] == f"{ranges[1][0]}-0"  # in order
    assert list(tmp_path.iterdir()) == []  # the spools leave nothing behind


def test_a_failure_in_a_later_slice_comes_after_the_earlier_slices_records(
    tmp_path: Path,
) -> None:
    import threading

    ranges = export_command.slices(0, 2_999, 3)
    sizes = dict.fromkeys(ranges, 250)
    got: list[str] = []
    with pytest.raises(OSError, match="No space left"):
        for r in export_command.fetch_in_order(
            ranges, 3, _fake_batches(sizes, fail=ranges[1]), threading.Event(), str(tmp_path)
        ):
            got.append(r.request_id)
    assert len(got) == 500  # the first slice's, then the second's, then its failure


# -- query --send --endpoint requests: one page, as the body says ----------------------------------


def test_query_send_requests_prints_a_page(
    api: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    model = next(r["model"] for r in api.rows if r["organization_id"] != OTHER_ORG)
    argv = ["query", "-e", "requests", f'model = "{model}"', "--limit", "5", "--send",
            "--base-url", api.url]  # fmt: skip
    assert main(argv) == Exit.OK
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["request_id", "request_created_at", "model", "response_status",
                              "delay_ms", "total_tokens", "cost"]  # fmt: skip
    assert len(out) == 1 + 5 + 2 and out[-1] == "showing 1-5"
    assert {line.split()[0] for line in out[1:6]} <= api.truth(model)
    assert api.helicone.received[-1]["body"]["limit"] == 5

    assert main([*argv, "--json"]) == Exit.OK
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 5 and all(item["model"] == model for item in data)
    assert main([*argv[:3], "user_cost > 5", *argv[4:]]) == Exit.BAD_FILTER  # users_view refused


# -- killed as a process -----------------------------------------------------------------------

# The export as a process of its own, with short pages and frequent checkpoints (so that a
# kill lands in the middle of things) and short pauses before an empty page is believed.
_RUNNER = """
import functools, sys, time
import helicone_filter.client as client
from helicone_filter.cli import export_command, main
client.iter_requests = functools.partial(client.iter_requests, page_size=100)
export_command.CHECKPOINT_RECORDS = 40
export_command.SLEEP = lambda s: time.sleep(min(s, 0.05))
sys.exit(main(sys.argv[1:]))
"""


def _start(api: StandIn, out: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HELICONE_API_KEY": API_KEY, "PYTHONPATH": f"{ROOT}{os.pathsep}"
           + os.environ.get("PYTHONPATH", "")}  # fmt: skip
    argv = ["export", "all", "--since", SINCE, "--base-url", api.url, "-o", str(out), *args]
    return subprocess.Popen(
        [sys.executable, "-c", _RUNNER, *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _finish(process: subprocess.Popen[bytes], timeout: float = 60) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err.decode()


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "form"), [(1, "jsonl"), (2, "json"), (3, "csv")])
def test_kill_9_at_random_moments_then_resume_writes_each_once(
    api: StandIn, tmp_path: Path, seed: int, form: str
) -> None:
    rng = random.Random(seed)
    api.helicone.delay = 0.01
    out = tmp_path / f"r.{form}"
    process = _start(api, out)
    checkpoint = tmp_path / f"r.{form}.checkpoint.json"
    written_at_kills = []
    for _ in range(3):
        time.sleep(rng.uniform(0.8, 2.0))
        if process.poll() is not None:
            break
        process.kill()  # SIGKILL: no handler runs
        process.wait()
        saved = json.loads(checkpoint.read_text()) if checkpoint.exists() else None
        written_at_kills.append(saved and saved["written"])
        process = _start(api, out, "--resume" if saved else "--force")
    code, err = _finish(process)
    assert code == 0, err
    assert any(written_at_kills), written_at_kills  # killed in the middle of the export
    once(_ids(out, form), api.truth())


@pytest.mark.slow
@pytest.mark.parametrize(("sent", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_end_cleanly_and_resume(
    api: StandIn, tmp_path: Path, sent: int, code: int
) -> None:
    api.helicone.delay = 0.02
    out = tmp_path / "r.json"
    process = _start(api, out)
    checkpoint = tmp_path / "r.json.checkpoint.json"
    deadline = time.monotonic() + 30
    while not checkpoint.exists() or json.loads(checkpoint.read_text())["written"] < 50:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(sent)
    got, err = _finish(process)
    assert got == code, err
    assert "--resume" in err and "Traceback" not in err
    assert json.loads(out.read_text())  # valid JSON, closed on the way out
    got, err = _finish(_start(api, out, "--resume"))
    assert got == 0, err
    once(_ids(out, "json"), api.truth())


def test_bodies_come_from_their_urls_without_the_key(api: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "bodies.jsonl"
    asked = len(api.helicone.body_requests)
    fields = "request_id,request_body,response_body,body_error"
    assert export(api, "-o", str(out), "--bodies", "--limit", "40", "--fields", fields) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 40
    fetched = api.helicone.body_requests[asked:]
    assert fetched and all("authorization" not in r["headers"] for r in fetched)
    assert any(isinstance(r["request_body"], dict) for r in records)
    assert all(r["body_error"] is None or isinstance(r["body_error"], str) for r in records)
