"""`helicone-filter grep`: exported requests asked again offline.

An export is made from the stand-in for Helicone's request endpoints (its answer, as Helicone's
JavaScript hands it out: `delay_ms`, 64-bit integers as strings, the body placeholder). Then:
grep selects what Helicone itself selects for the same filter; the python engine (`matches`)
and the clickhouse engine (the filter's SQL in chdb over the file) select the same records,
over generated filters; the selected records come out in their own format (a JSONL line byte
for byte, CSV rows under the header, Parquet); a bad file or record is our own error, with its
line, never a traceback.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from command_line import Capture, Patch, run
from helicone_requests import ORG, HeliconeRequests, generate_requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helicone_filter import FilterError
from helicone_filter import compile as compile_filter
from helicone_filter.client.records import HeliconeRequest, request_row

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Conditions over every kind of column an export holds (not `provider`: Helicone's answer says
# AZURE for a request to Azure whatever its stored provider, so a filter on the stored value
# cannot be asked of an export; docs/cli.md says so).
CONDITIONS = (
    'model ilike "gpt-4%"',
    'model = "claude-3-5-sonnet-20241022"',
    "latency > 2000",
    "latency <= 15000",
    "status = 200",
    "status >= 500",
    'properties.env = "prod"',
    'properties.env != "dev"',
    'properties.Helicone-Session-Id contains "session-1"',
    'property_key = "Helicone-Session-Id"',
    "cost > 0.01",
    "cost = 0",
    "prompt_tokens < 1000",
    "completion_tokens >= 1500",
    "time_to_first_token > 100",
    "time_to_first_token < 500",
    'scores.accuracy = "9"',
    "helicone-score-feedback",
    "cached",
    "cache_enabled",
    'user_id = "bob"',
    'user_id = "__empty__"',
    'country_code = "null"',
    'country_code in ["US", "FR"]',
    'request_body = "__empty__"',
    'request_body contains "ask 1"',
    'target_url contains "azure"',
    'request_created_at > "2020-01-01"',
)


def _answer(stand: HeliconeRequests, node: Any) -> list[dict[str, Any]]:
    body = {"filter": node, "limit": 1000, "offset": 0, "sort": {"created_at": "desc"}}
    status, answer = stand.requests(ORG, body, "http://helicone.test/")
    assert status == 201, answer
    items: list[dict[str, Any]] = answer["data"]
    return items


@pytest.fixture(scope="module")
def stand() -> HeliconeRequests:
    return HeliconeRequests(generate_requests(400, seed=23))


@pytest.fixture(scope="module")
def export(stand: HeliconeRequests, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The whole export in each format: JSONL (a record per line), CSV (a column per field,
    nested values as JSON) and Parquet (nested values as JSON text)."""
    records = [HeliconeRequest.from_json(item).as_json() for item in _answer(stand, "all")]
    assert len(records) == 400
    folder = tmp_path_factory.mktemp("export")
    paths = {f: folder / f"requests.{f}" for f in ("jsonl", "csv", "parquet")}
    with paths["jsonl"].open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    flat = [{k: _cell(v) for k, v in r.items()} for r in records]
    with paths["csv"].open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(flat)
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.Table.from_pylist(
        [{k: None if v == "" and records[i][k] is None else v for k, v in r.items()}
         for i, r in enumerate(flat)]
    )  # fmt: skip
    pq.write_table(table, paths["parquet"])
    return paths


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _ids(path: Path) -> set[str]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return {row["request_id"] for row in csv.DictReader(f)}
    if path.suffix == ".parquet":
        pq = pytest.importorskip("pyarrow.parquet")
        return set(pq.read_table(path).column("request_id").to_pylist())
    return {json.loads(line)["request_id"] for line in path.read_text("utf-8").splitlines()}


def _grep(
    argv: list[str], capsys: Capture, monkeypatch: Patch, stdin: str = ""
) -> tuple[int, str, str]:
    code, out, err = run(["grep", *argv], capsys, monkeypatch, stdin)
    assert "Traceback" not in err
    return code, out, err


# -- the same answers as Helicone ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ["python", "clickhouse"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_grep_selects_what_helicone_selects(
    fmt: str,
    engine: str,
    stand: HeliconeRequests,
    export: dict[str, Path],
    tmp_path: Path,
    capsys: Capture,
    monkeypatch: Patch,
) -> None:
    for i, text in enumerate(CONDITIONS):
        node = compile_filter(text, endpoint="requests")
        expected = {item["request_id"] for item in _answer(stand, node)}
        out = tmp_path / f"{i}.{fmt}"
        code, _, err = _grep(
            ["-q", "--engine", engine, text, str(export[fmt]), "-o", str(out)], capsys, monkeypatch
        )
        assert code == 0, err
        assert _ids(out) == expected, text


# -- both engines select the same records --------------------------------------------------------

_condition = st.sampled_from(CONDITIONS)
_filter = st.recursive(
    _condition,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        inner.map(lambda f: f"not ({f})"),
    ),
    max_leaves=4,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_filter)
def test_the_engines_select_the_same_records(
    text: str, export: dict[str, Path], capsys: Capture, monkeypatch: Patch
) -> None:
    try:
        compile_filter(text, endpoint="requests")
    except FilterError:
        assume(False)  # `not` over an operator Helicone has no opposite of
    counts = []
    for engine in ("python", "clickhouse"):
        code, out, err = _grep(
            ["-q", "-c", "--engine", engine, text, str(export["jsonl"])], capsys, monkeypatch
        )
        assert code == 0, err
        counts.append(int(out))
    assert counts[0] == counts[1], text


@pytest.mark.parametrize("seed", [1, 2])
def test_the_engines_agree_record_by_record(seed: int, tmp_path: Path) -> None:
    from helicone_filter.api.reading import read_filter
    from helicone_filter.cli import grep_command as grep

    stand = HeliconeRequests(generate_requests(150, seed=seed))
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in _answer(stand, "all")), "utf-8")
    fmt = grep.FORMATS["jsonl"]
    for text in CONDITIONS:
        node = read_filter(text, endpoint="requests")
        assert grep.python_selection(node, fmt, path) == grep.clickhouse_selection(
            node, fmt, path
        ), text


# -- the records come out as they went in --------------------------------------------------------


def test_jsonl_lines_are_copied_byte_for_byte(
    tmp_path: Path, capsys: Capture, monkeypatch: Patch
) -> None:
    lines = [
        b'{"request_id": "a",   "delay_ms": 3000, "request_created_at": "2025-01-01T00:00:00Z"}',
        b"",
        b'{"request_id":"b","delay_ms":"10","request_created_at":"2025-01-01T00:00:01.5Z"}',
        b'{"delay_ms": 2001, "request_id": "c", "note": "caf\\u00e9 \xc3\xa9"}',
    ]
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines))  # no line end after the last
    for engine in ("python", "clickhouse"):
        out = tmp_path / f"{engine}.jsonl"
        code, _, err = _grep(
            ["--engine", engine, "latency > 2000", str(path), "-o", str(out)], capsys, monkeypatch
        )
        assert code == 0, err
        assert out.read_bytes() == lines[0] + b"\n" + lines[3] + b"\n"


def test_to_stdout_and_count(export: dict[str, Path], capsys: Capture, monkeypatch: Patch) -> None:
    code, out, _ = _grep(["status >= 500", str(export["jsonl"])], capsys, monkeypatch)
    assert code == 0
    selected = out.splitlines()
    assert selected and all(json.loads(line)["response_status"] >= 500 for line in selected)
    code, count, _ = _grep(["-c", "status >= 500", str(export["jsonl"])], capsys, monkeypatch)
    assert int(count) == len(selected)
    code, both, _ = _grep(
        ["-c", "status >= 500", str(export["jsonl"]), str(export["jsonl"])], capsys, monkeypatch
    )
    assert int(both) == 2 * len(selected)


def test_csv_keeps_its_header_and_rows(
    export: dict[str, Path], tmp_path: Path, capsys: Capture, monkeypatch: Patch
) -> None:
    out = tmp_path / "out.csv"
    code, _, _ = _grep(
        ['properties.env = "prod"', str(export["csv"]), "-o", str(out)], capsys, monkeypatch
    )
    assert code == 0
    source = export["csv"].read_text("utf-8").splitlines(keepends=True)
    with export["csv"].open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    with out.open(encoding="utf-8", newline="") as f:
        written = list(csv.reader(f))
    assert written[0] == rows[0]
    assert written[1:] == [
        r
        for r in rows[1:]
        if json.loads(r[rows[0].index("request_properties")]).get("env") == "prod"
    ]
    assert len(source) > len(written)


def test_a_record_maps_to_the_row_matches_reads() -> None:
    row = request_row(
        {
            "delay_ms": "1200",
            "response_status": 200,
            "request_user_id": "bob",
            "request_model": "gpt-4o",
            "model": "computed",
            "request_properties": '{"env": "prod"}',
            "scores": {"x": "3"},
            "cost": "0.5",
            "cache_enabled": "true",
            "request_created_at": "2025-01-02T03:04:05.678Z",
            "request_body": '{"helicone_message": "fetching body from signed_url..."}',
            "response_body": {"choices": []},
        }
    )
    assert row["latency"] == 1200 and row["status"] == 200 and row["user_id"] == "bob"
    assert row["model"] == "gpt-4o" and row["properties"] == {"env": "prod"}
    assert row["scores"] == {"x": 3} and row["cost"] == 0.5 and row["cache_enabled"] is True
    assert row["request_created_at"].isoformat() == "2025-01-02T03:04:05.678000+00:00"
    assert row["request_body"] == "" and row["response_body"] == '{"choices": []}'


# -- errors are our own --------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["python", "clickhouse"])
@pytest.mark.parametrize(
    ("content", "said"),
    [
        ('{"request_id": "a"}\n{"request_id": \n', "bad.jsonl:2: not JSON"),
        ('{"request_id": "a"}\n\n[1, 2]\n', "bad.jsonl:3: expected a JSON object"),
        (
            '{"delay_ms": "soon"}\n',
            "bad.jsonl:1: delay_ms (latency): expected a whole number, not 'soon'",
        ),
        (
            '{"request_created_at": "yesterday"}\n',
            "bad.jsonl:1: request_created_at: expected an ISO 8601 time, not 'yesterday'",
        ),
    ],
)
def test_a_bad_record_is_said_with_its_line(
    engine: str, content: str, said: str, tmp_path: Path, capsys: Capture, monkeypatch: Patch
) -> None:
    (tmp_path / "bad.jsonl").write_text(content, "utf-8")
    monkeypatch.chdir(tmp_path)
    text = "latency > 1 or request_created_at > '2020-01-01'"
    code, out, err = _grep(["--engine", engine, text, "bad.jsonl"], capsys, monkeypatch)
    assert code == 1 and out == ""
    assert err.startswith(f"helicone-filter: error: {said}"), err


def test_a_bad_csv_row_is_said_with_its_line(
    tmp_path: Path, capsys: Capture, monkeypatch: Patch
) -> None:
    (tmp_path / "bad.csv").write_text("request_id,delay_ms\na,1\nb,2,3\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = _grep(["latency > 0", "bad.csv"], capsys, monkeypatch)
    assert code == 1
    assert err == "helicone-filter: error: bad.csv:3: expected 2 cells, as in the header, not 3\n"


@pytest.mark.parametrize(
    ("argv", "code", "said"),
    [
        (["cached", "missing.jsonl"], 1, "missing.jsonl: no such file or directory"),
        (["cached", "notes.txt"], 2, "cannot tell the format from the name of notes.txt"),
        (["cached", "a.jsonl", "b.csv"], 2, "the files are of several formats"),
        (['session_tag = "x"', "a.jsonl"], 1, "an export cannot be asked about session_tag"),
        (["modle = 1", "a.jsonl"], 1, "unknown field 'modle'"),
        (["user_cost > 1", "a.jsonl"], 1, "user_cost"),
    ],
)
def test_usage_and_file_errors(
    argv: list[str], code: int, said: str, tmp_path: Path, capsys: Capture, monkeypatch: Patch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jsonl").write_text("", "utf-8")
    (tmp_path / "b.csv").write_text("", "utf-8")
    (tmp_path / "notes.txt").write_text("", "utf-8")
    got, out, err = _grep(argv, capsys, monkeypatch)
    assert got == code and out == ""
    assert said in err


def test_output_is_not_one_of_the_inputs(
    tmp_path: Path, capsys: Capture, monkeypatch: Patch
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"request_id": "a"}\n', "utf-8")
    code, _, err = _grep(["cached", str(path), "-o", str(path)], capsys, monkeypatch)
    assert code == 2 and "is one of the files read" in err
    assert path.read_text("utf-8") == '{"request_id": "a"}\n'
