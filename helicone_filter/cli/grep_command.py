"""`grep`: ask an export again, offline. Exported requests (JSONL, CSV or Parquet, as `export`
writes them: Helicone's own field names) in; the requests a filter selects out, in the same
format, or their number with --count.

Two engines select the same records:

- `python`: each record is read into the row `matches` reads (`client.records.request_row`,
  the one mapping from Helicone's field names to the language's) and tested as Helicone's
  SQL would test it.
- `clickhouse`: the filter's SQL (`to_clickhouse`'s "rows" target) runs in chdb over the file
  itself, under a SELECT that maps the same table (`ROW_COLUMNS`) to the same columns; it
  answers the numbers of the records selected. `auto` takes it for large files when chdb is
  installed.

Either way the selected records are then copied from the file as they were: a JSONL line byte
for byte, a CSV row under the header, a Parquet row into a file of the same schema. A file or a
record that cannot be read is reported with its name, its line (or record) number and what was
expected; never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from helicone_filter.cli.exits import Exit, InputError, MissingDependency, OutputError, UsageError
from helicone_filter.defaults import PROG, install_hint

if TYPE_CHECKING:
    from helicone_filter.form import Filter

ENDPOINT = "requests"  # an export holds requests
ENGINES = ("auto", "python", "clickhouse")
LARGE_FILE_BYTES = 32 * 1024 * 1024  # `auto`: from this size on, chdb (when installed)
_CSV_FIELD_LIMIT = 1 << 30  # a body in one CSV cell may be large

# The columns of the row that an export does not hold: a filter on one is refused, for every
# record would read it as NULL.
NOT_EXPORTED = {
    "organization_id": "the organisation is the one the export came from",
    "threat": "Helicone's answer does not include it",
    "is_passthrough_billing": "Helicone's answer does not include it",
    "session_tag": "the session's tags are not part of a request's record",
}


class GrepError(InputError):
    """A file or a record that cannot be read (exit 1); the message says where and why."""


# -- the formats --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileRecord:
    """One record of a file: its number (0 first, blank JSONL lines not counted), the line it
    starts on, the record as Helicone's fields, and what is copied out when it is selected."""

    number: int
    line: int
    item: dict[str, Any]
    raw: Any


def _jsonl_records(path: Path) -> Iterator[FileRecord]:
    number = 0
    with _opened(path) as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except (ValueError, RecursionError) as e:
                raise GrepError(f"{path}:{line_number}: not JSON ({e})") from None
            if not isinstance(item, dict):
                raise GrepError(f"{path}:{line_number}: expected a JSON object, a request")
            yield FileRecord(number, line_number, item, line)
            number += 1


def _keeps_empty() -> frozenset[str]:
    """The fields whose empty CSV cell is the empty string: those filling a text column that
    Helicone never leaves NULL (`user_id`, `model`, the bodies...). Any other empty cell is
    no value (NULL), as a CSV export writes None."""
    from helicone_filter.client.records import ROW_COLUMNS
    from helicone_filter.facts.schema import schema_of

    fields = schema_of(ENDPOINT).fields
    return frozenset(
        source
        for column, (sources, kind) in ROW_COLUMNS.items()
        if kind in ("text", "body") and not (fields[column].column or "").startswith("Nullable")
        for source in sources
    )


def _cell(name: str, text: str, keeps_empty: frozenset[str]) -> Any:
    """A CSV cell: empty is no value unless `keeps_empty` says otherwise; nested values are
    JSON text, read where they are used."""
    return None if text == "" and name not in keeps_empty else text


def _csv_records(path: Path) -> Iterator[FileRecord]:
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    with _opened(path) as raw:
        f = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None:
                return
            keeps = _keeps_empty()
            for number, cells in enumerate(reader):
                if len(cells) != len(header):
                    raise GrepError(
                        f"{path}:{reader.line_num}: expected {len(header)} cells, as in the "
                        f"header, not {len(cells)}"
                    )
                item = {
                    name: _cell(name, cell, keeps) for name, cell in zip(header, cells, strict=True)
                }
                yield FileRecord(number, reader.line_num, item, cells)
        except csv.Error as e:
            raise GrepError(f"{path}:{reader.line_num}: not CSV ({e})") from None
        except UnicodeDecodeError as e:
            raise GrepError(f"{path}: not UTF-8 text ({e.reason})") from None


def _csv_header(path: Path) -> list[str]:
    with _opened(path) as raw:
        f = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            return next(csv.reader(f), [])
        except (csv.Error, UnicodeDecodeError) as e:
            raise GrepError(f"{path}:1: not a CSV header ({e})") from None


def _pyarrow() -> Any:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependency(f"Parquet needs pyarrow: {install_hint('export')}") from None
    return pq


def _plain(value: Any) -> Any:
    """A Parquet value as JSON would hold it: a map (a list of pairs) as a dict."""
    if isinstance(value, list) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {k: _plain(v) for k, v in value} if value else {}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _parquet_file(path: Path) -> Any:
    pq = _pyarrow()
    try:
        return pq.ParquetFile(path)
    except OSError as e:
        raise GrepError(f"{path}: {_why(e)}") from None
    except Exception as e:  # pyarrow's own errors: not a Parquet file
        raise GrepError(f"{path}: not a Parquet file ({e})") from None


def _parquet_records(path: Path) -> Iterator[FileRecord]:
    number = 0
    for batch in _parquet_file(path).iter_batches():
        for item in batch.to_pylist():
            yield FileRecord(number, number + 1, {k: _plain(v) for k, v in item.items()}, None)
            number += 1


@dataclass(frozen=True)
class Format:
    """A format of exported requests: its records, how chdb names it, and how the selected
    records are written out."""

    name: str
    records: Callable[[Path], Iterator[FileRecord]]
    clickhouse: str
    write: Callable[[list[Path], Callable[[Path, int], bool], IO[bytes]], int]


def _write_jsonl(paths: list[Path], chosen: Callable[[Path, int], bool], out: IO[bytes]) -> int:
    count = 0
    for path in paths:
        for record in _jsonl_records(path):
            if chosen(path, record.number):
                line: bytes = record.raw
                out.write(line if line.endswith(b"\n") else line + b"\n")
                count += 1
    return count


def _write_csv(paths: list[Path], chosen: Callable[[Path, int], bool], out: IO[bytes]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    header = _csv_header(paths[0])
    writer.writerow(header)
    count = 0
    for path in paths:
        if _csv_header(path) != header:
            raise GrepError(f"{path}:1: other columns than {paths[0]}'s; grep one at a time")
        for record in _csv_records(path):
            if chosen(path, record.number):
                writer.writerow(record.raw)
                count += 1
    text.detach()
    return count


def _write_parquet(paths: list[Path], chosen: Callable[[Path, int], bool], out: IO[bytes]) -> int:
    pq = _pyarrow()
    import pyarrow as pa

    schema = _parquet_file(paths[0]).schema_arrow
    count = 0
    with pq.ParquetWriter(out, schema) as writer:
        for path in paths:
            source = _parquet_file(path)
            if not source.schema_arrow.equals(schema):
                raise GrepError(f"{path}: another schema than {paths[0]}'s; grep one at a time")
            start = 0
            for batch in source.iter_batches():
                mask = pa.array([chosen(path, start + i) for i in range(batch.num_rows)])
                start += batch.num_rows
                kept = batch.filter(mask)
                if kept.num_rows:
                    writer.write_batch(kept)
                    count += kept.num_rows
    return count


FORMATS: dict[str, Format] = {
    "jsonl": Format("jsonl", _jsonl_records, "JSONEachRow", _write_jsonl),
    "csv": Format("csv", _csv_records, "CSVWithNames", _write_csv),
    "parquet": Format("parquet", _parquet_records, "Parquet", _write_parquet),
}
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def _opened(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as e:
        raise GrepError(f"{path}: {_why(e)}") from None


def _why(e: OSError) -> str:
    return (e.strerror or str(e)).lower()


def format_of(paths: list[Path], asked: str | None) -> Format:
    """The one format of the files: `--format`, or their extension."""
    if asked is not None:
        return FORMATS[asked]
    found = {EXTENSIONS.get(p.suffix.lower()) for p in paths}
    if None in found:
        raise UsageError(
            f"{PROG}: error: cannot tell the format from the name of "
            f"{next(p for p in paths if p.suffix.lower() not in EXTENSIONS)}: "
            "give --format jsonl, csv or parquet"
        )
    if len(found) > 1:
        raise UsageError(f"{PROG}: error: the files are of several formats; grep each")
    return FORMATS[found.pop() or "jsonl"]


# -- the engines --------------------------------------------------------------------------------


def python_selection(node: Filter, fmt: Format, path: Path) -> set[int]:
    """The numbers of the records of `path` that the filter selects, by `matches`' rows."""
    from helicone_filter.backends.row_matching import filter_matches
    from helicone_filter.client.records import request_row
    from helicone_filter.errors import RowError

    chosen: set[int] = set()
    for record in fmt.records(path):
        try:
            if filter_matches(node, request_row(record.item)):
                chosen.add(record.number)
        except (ValueError, RowError) as e:
            raise GrepError(f"{path}:{record.line}: {e}") from None
    return chosen


# How chdb reads each kind of column of `ROW_COLUMNS` from the file's text (`{}`), as
# `request_row` reads it in Python.
SQL_READERS: dict[str, str] = {
    "text": "{}",
    "uuid": "toUUIDOrNull({})",
    "int": "toInt64OrNull(trimBoth({}, '\"'))",
    "float": "toFloat64OrNull(trimBoth({}, '\"'))",
    "time": "parseDateTime64BestEffortOrNull({}, 3, 'UTC')",
    "bool": "multiIf(lower({0}) IN ('true', '1'), true, lower({0}) IN ('false', '0'), false, NULL)",
    "map": "CAST(JSONExtract(ifNull({}, '{{}}'), 'Map(String, String)') "
    "AS Map(LowCardinality(String), String))",
    "scores": "CAST(mapApply((k, v) -> (k, toInt64OrZero(trimBoth(v, '\"'))), "
    "mapFromArrays(arrayMap(p -> p.1, JSONExtractKeysAndValuesRaw(ifNull({0}, '{{}}'))), "
    "arrayMap(p -> p.2, JSONExtractKeysAndValuesRaw(ifNull({0}, '{{}}'))))) "
    "AS Map(LowCardinality(String), Int64))",
    "body": "if(JSONLength({0}) = 1 AND JSONHas({0}, 'helicone_message'), '', {0})",
}


_IN = "_in_"  # the file's fields are renamed so, for the row's columns take some of their names

# The kinds whose value, when the file holds one, must read (NULL after reading is a record
# that `request_row` refuses: it is looked for, and said with its line, by the python engine).
_CHECKED = ("int", "float", "time", "bool")


def _source_sql(names: list[str], sources: tuple[str, ...], keeps_empty: frozenset[str]) -> str:
    from helicone_filter.backends.clickhouse import quote_name

    present = [
        f"ifNull({quote_name(_IN + s)}, '')" if s in keeps_empty else quote_name(_IN + s)
        for s in sources
        if s in names
    ]
    if not present:
        return "CAST(NULL AS Nullable(String))"
    return present[0] if len(present) == 1 else f"coalesce({', '.join(present)})"


def mapped_select(names: list[str], keeps_empty: frozenset[str] = frozenset()) -> str:
    """The SELECT list that makes `create_table`'s row columns from a file's fields (`names`),
    by `ROW_COLUMNS`, and `_bad`, whether a value could not be read; the columns an export
    does not hold are NULL (or empty). `keeps_empty`: the fields whose NULL (an empty CSV
    cell) is the empty string."""
    from helicone_filter.backends.clickhouse import quote_name, table_columns
    from helicone_filter.client.records import ROW_COLUMNS

    parts = [f"`{_IN}_row` AS `_row`"]
    bad = []
    for column, kind in table_columns(ENDPOINT).items():
        mapped = ROW_COLUMNS.get(column)
        if mapped is not None:
            sources, reader = mapped
            source = _source_sql(names, sources, keeps_empty)
            value = SQL_READERS[reader].format(source)
            if reader in _CHECKED:
                bad.append(f"({source} IS NOT NULL AND {value} IS NULL)")
        elif kind.startswith(("Map(", "Array(")):
            value = f"CAST(defaultValueOfTypeName('{kind}') AS {kind})"
        else:
            value = f"CAST(NULL AS {kind})"
        parts.append(f"{value} AS {quote_name(column)}")
    parts.append(f"({' OR '.join(bad) or 'false'}) AS `_bad`")
    return ",\n  ".join(parts)


def _file_names(fmt: Format, path: Path) -> list[str]:
    """The fields of a file: a CSV's header, a Parquet file's columns, the keys of the JSONL
    records (chdb reads each as text; a missing one is NULL)."""
    from helicone_filter.client.records import FIELDS

    if fmt.name == "csv":
        return _csv_header(path)
    if fmt.name == "parquet":
        return list(_parquet_file(path).schema_arrow.names)
    return list(FIELDS)


def clickhouse_selection(node: Filter, fmt: Format, path: Path) -> set[int]:
    """The numbers of the records of `path` that the filter's SQL selects, run by chdb over
    the file itself."""
    from helicone_filter.backends.clickhouse import param_text, quote_name, sql_of

    session = _chdb_session()
    names = _file_names(fmt, path)
    keeps = _keeps_empty() if fmt.name == "csv" else frozenset()
    where, params = sql_of(node, target="rows")
    structure = ", ".join(f"{quote_name(n)} Nullable(String)" for n in names)
    renamed = ", ".join(
        [f"_row_number AS `{_IN}_row`"]
        + [f"{quote_name(n)} AS {quote_name(_IN + n)}" for n in names]
    )
    file = f"file({_quoted(str(path.resolve()))}, {fmt.clickhouse}, {_quoted(structure)})"
    source = f"(SELECT {renamed} FROM {file})"
    query = (
        f"SELECT `_row`, `_bad` FROM (SELECT\n  {mapped_select(names, keeps)}\nFROM {source})\n"
        f"WHERE `_bad` OR ({where})\n"
        "SETTINGS input_format_json_read_objects_as_strings = 1, "
        "input_format_json_read_numbers_as_strings = 1, "
        "input_format_json_read_bools_as_strings = 1, "
        "input_format_json_read_arrays_as_strings = 1, input_format_csv_empty_as_default = 1, "
        "input_format_parquet_allow_missing_columns = 1"
    )
    try:
        answer = session.query(query, "TSV", params={k: param_text(v) for k, v in params.items()})
    except Exception as e:  # chdb's error: the file cannot be read as the format says
        python_selection(node, fmt, path)  # says which record and why, when it can
        first = (str(e).splitlines() or [type(e).__name__])[0].split(": In scope")[0]
        raise GrepError(f"{path}: ClickHouse could not read it as {fmt.name}: {first}") from None
    rows = [line.split("\t") for line in bytes(answer.bytes()).decode().splitlines()]
    if any(bad == "1" for _, bad in rows):
        python_selection(node, fmt, path)  # says which record and why
    return {int(number) for number, bad in rows if bad != "1"}


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_SESSION: list[Any] = []


def _chdb_session() -> Any:
    if not _SESSION:
        try:
            from chdb import session
        except ImportError:
            raise MissingDependency(
                f"--engine clickhouse needs chdb: {install_hint('clickhouse')}"
            ) from None
        _SESSION.append(session.Session())  # type: ignore[no-untyped-call]
    return _SESSION[0]


def _has_chdb() -> bool:
    import importlib.util

    return importlib.util.find_spec("chdb") is not None


def engine_of(asked: str, paths: list[Path]) -> Callable[[Filter, Format, Path], set[int]]:
    """The engine asked for; `auto` is chdb when it is installed and the files are large."""
    if asked == "auto":
        large = sum(p.stat().st_size for p in paths if p.is_file()) >= LARGE_FILE_BYTES
        asked = "clickhouse" if large and _has_chdb() else "python"
    return clickhouse_selection if asked == "clickhouse" else python_selection


# -- the command --------------------------------------------------------------------------------


def grep_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="exported requests")
    p.add_argument(
        "--format",
        choices=tuple(FORMATS),
        help="the files' format (default: from the extension: .jsonl/.ndjson, .csv, .parquet)",
    )
    p.add_argument(
        "-o", "--output", metavar="OUT", help="write the selected requests here (default: stdout)"
    )
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="python (matches, row by row), clickhouse (the filter's SQL in chdb over the "
        f"file), or auto (default: clickhouse from {LARGE_FILE_BYTES >> 20} MiB when chdb is "
        "installed)",
    )
    p.add_argument(
        "-c", "--count", action="store_true", help="print how many requests match, not them"
    )


def _refuse_missing_columns(node: Filter) -> None:
    from helicone_filter.form import conditions

    for c in conditions(node):
        why = NOT_EXPORTED.get(c.field.name)
        if why is not None:
            raise InputError(f"an export cannot be asked about {c.field.name}: {why}")


def run_grep(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.cli.arguments import filter_of
    from helicone_filter.cli.terminal import warn

    paths = [Path(f) for f in args.files]
    fmt = format_of(paths, args.format)
    read = filter_of(text, now=now, warnings=not args.quiet, endpoint=ENDPOINT)
    _refuse_missing_columns(read.filter)
    for path in paths:
        if not path.is_file():
            _opened(path).close()  # says why: no such file, a directory, no permission
            raise GrepError(f"{path}: not a file")
    select = engine_of(args.engine, paths)
    selections = [select(read.filter, fmt, path) for path in paths]
    warn(args, text, [] if args.quiet or read.from_json else list(read.problems))
    if args.count:
        print(sum(len(s) for s in selections))
        return Exit.OK
    chosen = dict(zip(paths, selections, strict=True))
    _write(args, fmt, paths, lambda path, number: number in chosen[path])
    return Exit.OK


def _write(
    args: argparse.Namespace, fmt: Format, paths: list[Path], chosen: Callable[[Path, int], bool]
) -> None:
    if args.output is None:
        sys.stdout.flush()
        out = sys.stdout.buffer
        try:
            fmt.write(paths, chosen, out)
            out.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(_why(e)) from None
        return
    target = Path(args.output)
    if any(target.exists() and target.resolve() == p.resolve() for p in paths):
        raise UsageError(f"{PROG}: error: -o {target} is one of the files read")
    partial = target.with_name(f".{target.name}.part-{os.getpid()}")
    try:
        with partial.open("wb") as out:
            fmt.write(paths, chosen, out)
        partial.replace(target)
    except OSError as e:
        raise OutputError(f"{target}: {_why(e)}") from None
    finally:
        partial.unlink(missing_ok=True)
