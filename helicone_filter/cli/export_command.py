"""The `export` subcommand: every request a filter selects between two moments, into a file
(or standard output), exactly once, and resumable.

How it goes:

- **Before any work**, the arguments, the output path (its folder exists and can be written,
  no file there without `--force`), the format's needs (pyarrow for Parquet) and the API key
  (one small query) are checked.
- **Fetching** is `client.iter_requests`, which pages by time, newest first. With `--jobs N`
  the window is cut into time slices (`slices`), fetched by N threads at once, each into a
  spool of its own (`Lane`: a temporary file beside the output, so a slice never waits for
  the writer and memory stays flat), and written in order, newest slice first, so that the
  file reads as one export would. The threads share one HTTP client whose hooks close a gate
  for everyone when Helicone answers 429 (`Gate`): they back off together, for as long as
  `Retry-After` says.
- **Writing** is a table of formats (`FORMATS`): each says what comes before the records,
  what each record becomes, and what comes after. Parquet cannot be appended to, so it is
  written from a JSONL file kept beside the output while the export runs.
- **The checkpoint** (`FILE.checkpoint.json`, beside the output) holds the export's settings
  (filter, window, format, fields), how many requests are written, the byte length of the
  output known to be good, and the time cursor: the second (as Helicone's pages bind times,
  in whole seconds) of the last request written, with the ids written in that second. Every
  request of a later second is in the file, as `iter_requests` yields whole seconds in
  order. It is written atomically (a temporary file, fsync, rename) after the output is
  flushed and fsynced, every `CHECKPOINT_RECORDS` requests or `CHECKPOINT_SECONDS`.
- **Resume** (`--resume`) cuts the output back to the checkpoint's good length (whatever was
  written after it, a request cut in half by `kill -9` included, is asked for again), and
  continues from the cursor's second, leaving out the ids already written in it. So the
  finished file holds every request once after Ctrl-C (exit 130), SIGTERM (143), `kill -9`
  at any moment, or a full disk (exit 74).
- **Progress** is shown on stderr when it is a terminal (requests, rate, the share of the
  time range done, and an ETA from it, since Helicone's count always answers 0); nothing is
  shown in a pipe. `--verbose` adds a line per checkpoint, `--quiet` leaves only errors.

The API key comes from HELICONE_API_KEY and is never printed: errors are the client's, which
leave it out. The client (and httpx) is imported only when an export runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from helicone_filter.cli.arguments import source_of, whole
from helicone_filter.cli.exits import Exit, MissingDependency, OutputError, Terminated, UsageError
from helicone_filter.cli.terminal import report, warn
from helicone_filter.defaults import (
    API_KEY_ENV,
    HELICONE_BASE_URL,
    HELICONE_EU_BASE_URL,
    PROG,
    install_hint,
)
from helicone_filter.value_class import Record

if TYPE_CHECKING:
    import threading

    import httpx

    from helicone_filter.client import HeliconeRequest, Retries

# The window when --since is not given: the last 30 days (as Helicone's own exporter).
DEFAULT_DAYS = 30
# How often the output is made durable and the checkpoint written.
CHECKPOINT_RECORDS = 500
CHECKPOINT_SECONDS = 1.0
# Time slices per job with --jobs above 1 (more slices than jobs even out uneven data).
SLICES_PER_JOB = 1
MAX_EXPORT_JOBS = 16
PROGRESS_SECONDS = 0.25
CHECKPOINT_SUFFIX = ".checkpoint.json"
STAGING_SUFFIX = ".part.jsonl"  # Parquet's records while the export runs
CHECKPOINT_VERSION = 1
_SECOND = 1000  # milliseconds

# The waits of the retries and of the gate: a name of this module, so that tests can replace
# the clock.
SLEEP: Callable[[float], None] = time.sleep


def _sleep(seconds: float) -> None:
    SLEEP(seconds)


# -- the options ------------------------------------------------------------------------------


def export_options(p: argparse.ArgumentParser) -> None:
    window = p.add_argument_group("what is exported")
    window.add_argument(
        "--since",
        metavar="TIME",
        help="the oldest request's time: ISO 8601 (2025-01-31, 2025-01-31T12:00:00Z), now - 7d, "
        f"7d (ago) or unix seconds (default: {DEFAULT_DAYS} days before --until)",
    )
    window.add_argument(
        "--until", metavar="TIME", help="the newest request's time, written as --since is "
        "(default: now)"
    )  # fmt: skip
    window.add_argument(
        "--limit",
        type=whole("a number of requests", 1),
        metavar="N",
        help="stop after N requests (the newest N)",
    )
    window.add_argument(
        "--fields",
        type=_field_list,
        metavar="A,B,C",
        help="the fields to write, in this order (default: all of them); e.g. "
        "request_id,request_created_at,model,delay_ms,cost",
    )
    window.add_argument(
        "--bodies",
        action="store_true",
        help="fetch each request's request_body and response_body from where Helicone "
        "stores them (one more call per request); one that cannot be had is said in body_error",
    )
    out = p.add_argument_group("where it goes")
    out.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the file to write (default: standard output, for pipes; it cannot be resumed)",
    )
    out.add_argument(
        "--format",
        choices=tuple(FORMATS),
        help="jsonl (default: a JSON object per line), json (one JSON array), csv (a column "
        "per field, nested values as JSON) or parquet (typed columns; needs the export "
        f"extra: {install_hint('export')}); default: from FILE's suffix, else jsonl",
    )
    again = out.add_mutually_exclusive_group()
    again.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue the export whose checkpoint is beside FILE (FILE"
        f"{CHECKPOINT_SUFFIX}), after Ctrl-C, a kill or a full disk; give the same filter and "
        "options",
    )
    send = p.add_argument_group(
        "calling Helicone",
        f"The API key is read from {API_KEY_ENV}. Exit 3 when Helicone refuses or fails "
        f"for good. Needs the client extra: {install_hint('client')}.",
    )
    host = send.add_mutually_exclusive_group()
    host.add_argument("--eu", action="store_true", help=f"call the EU host, {HELICONE_EU_BASE_URL}")
    host.add_argument(
        "--base-url",
        metavar="URL",
        help=f"call another API host, e.g. a self-hosted Helicone (default {HELICONE_BASE_URL})",
    )
    send.add_argument(
        "--jobs",
        type=whole("a number of parallel fetches", 1, MAX_EXPORT_JOBS),
        default=1,
        metavar="N",
        help="fetch N time slices at once, written in order; all wait together when Helicone "
        f"says to slow down (429) (default 1, at most {MAX_EXPORT_JOBS})",
    )
    said = p.add_mutually_exclusive_group()
    said.add_argument(
        "-q", "--quiet", action="store_true", help="nothing on stderr but errors"
    )  # fmt: skip
    said.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="a line on stderr at every checkpoint, and a summary at the end, even in a pipe",
    )


def _field_names() -> tuple[str, ...]:
    from helicone_filter.client.records import FIELDS

    return (*FIELDS, "body_error")


def _field_list(text: str) -> tuple[str, ...]:
    """--fields: known field names, comma-separated, each once."""
    import difflib

    names = tuple(name.strip() for name in text.split(",") if name.strip())
    known = _field_names()
    if not names:
        raise argparse.ArgumentTypeError("name at least one field")
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            maybe = f"; did you mean {close[0]}?" if close else ""
            raise argparse.ArgumentTypeError(
                f"{name!r} is not a field of a request{maybe} (the fields: {', '.join(known)})"
            )
    if len(set(names)) < len(names):
        raise argparse.ArgumentTypeError("a field is named twice")
    return names


# -- the formats ------------------------------------------------------------------------------


class Format(Record):
    """A way of writing the records: what comes before them, each record (`record(values,
    first)`), and what comes after. `staged`: written as JSONL while the export runs and
    made into the format at the end (a format that cannot be appended to)."""

    name: str
    suffixes: tuple[str, ...]
    head: Callable[[tuple[str, ...]], bytes]
    record: Callable[[dict[str, Any], tuple[str, ...], bool], bytes]
    tail: bytes = b""
    staged: bool = False


def _no_head(fields: tuple[str, ...]) -> bytes:
    return b""


def _json_line(values: dict[str, Any], fields: tuple[str, ...], first: bool) -> bytes:
    return (json.dumps(values, ensure_ascii=False) + "\n").encode()


def _json_item(values: dict[str, Any], fields: tuple[str, ...], first: bool) -> bytes:
    return (("\n" if first else ",\n") + json.dumps(values, ensure_ascii=False)).encode()


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: text as it is, nothing as empty, anything else (numbers,
    true/false, objects, lists) as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _csv_row(cells: list[str]) -> bytes:
    import csv

    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerow(cells)  # RFC 4180, quoted once
    return text.getvalue().encode()


def _csv_head(fields: tuple[str, ...]) -> bytes:
    return _csv_row(list(fields))


def _csv_record(values: dict[str, Any], fields: tuple[str, ...], first: bool) -> bytes:
    return _csv_row([csv_cell(values.get(name)) for name in fields])


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("jsonl", (".jsonl", ".ndjson"), _no_head, _json_line),
        Format("json", (".json",), lambda fields: b"[", _json_item, b"\n]\n"),
        Format("csv", (".csv",), _csv_head, _csv_record),
        Format("parquet", (".parquet",), _no_head, _json_line, staged=True),
    )
}


def _format_of(asked: str | None, output: str | None) -> Format:
    if asked is not None:
        return FORMATS[asked]
    if output is not None:
        for f in FORMATS.values():
            if output.lower().endswith(f.suffixes):
                return f
    return FORMATS["jsonl"]


def columns(fmt: Format, fields: tuple[str, ...] | None, bodies: bool) -> tuple[str, ...] | None:
    """The fields written: those asked for; else, for a format of fixed columns (CSV,
    Parquet), every known field (body_error with --bodies); else None (each record whole,
    with any field Helicone added)."""
    if fields is not None:
        return fields
    if fmt.name in ("csv", "parquet"):
        known = _field_names()
        return known if bodies else known[:-1]
    return None


# -- the checkpoint ---------------------------------------------------------------------------


class Settings(Record):
    """What makes an export the same export: it is kept in the checkpoint and must match on
    --resume."""

    filter: str
    node: Any
    since_ms: int
    until_ms: int
    format: str
    fields: list[str] | None
    bodies: bool
    limit: int | None
    started: str

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    def differences(self, other: Settings) -> list[str]:
        """The settings (but `node` and `started`) in which `other` is another export."""
        return [
            name
            for name in self._fields
            if name not in ("node", "started") and getattr(self, name) != getattr(other, name)
        ]


class State:
    """How far the export is: requests written, the output's good length, the time cursor
    (the second of the last request written, and the ids written in it)."""

    def __init__(
        self,
        written: int = 0,
        length: int = 0,
        second: int | None = None,
        ids: list[str] | None = None,
    ) -> None:
        self.written = written
        self.length = length
        self.second = second
        self.ids: list[str] = ids or []
        self.cursor_ms: int | None = None

    def wrote(self, request: HeliconeRequest, size: int) -> None:
        ms = request.created_ms
        second = -(-ms // _SECOND)  # as the pages bind it: (second - 1, second]
        if second != self.second:
            self.second, self.ids = second, []
        self.ids.append(request.request_id)
        self.written += 1
        self.length += size
        self.cursor_ms = ms


def checkpoint_path(output: str) -> str:
    return output + CHECKPOINT_SUFFIX


def save_checkpoint(path: str, settings: Settings, state: State) -> None:
    """The checkpoint, atomically: a temporary file written and fsynced, then renamed over
    the old one (a kill at any moment leaves the old one or the new one whole)."""
    data = {
        "version": CHECKPOINT_VERSION,
        **settings.as_json(),
        "since": _iso(settings.since_ms),
        "until": _iso(settings.until_ms),
        "written": state.written,
        "length": state.length,
        "cursor_second": state.second,
        "ids_at_cursor": state.ids,
    }
    temporary = path + ".tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    _sync_folder(path)


def load_checkpoint(path: str) -> tuple[Settings, State]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if data.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"version {data.get('version')!r}")
        settings = Settings(**{name: data[name] for name in Settings._fields})
        state = State(data["written"], data["length"], data["cursor_second"], data["ids_at_cursor"])
    except FileNotFoundError:
        raise UsageError(
            f"{PROG}: error: --resume: there is no checkpoint {path} (the export "
            "finished, or never started); run it without --resume"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UsageError(
            f"{PROG}: error: --resume: the checkpoint {path} cannot be read ({e}); "
            "start again with --force"
        ) from None
    return settings, state


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / _SECOND, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % _SECOND:03d}Z"


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _sync_folder(path: str) -> None:
    """The rename made durable: the folder's entry fsynced (where the system allows it)."""
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- the output -------------------------------------------------------------------------------


class Sink:
    """Where the bytes go: a file (truncated back to a good length on resume, flushed and
    fsynced at each checkpoint), or standard output."""

    def __init__(self, stream: IO[bytes], name: str, durable: bool) -> None:
        self.stream = stream
        self.name = name
        self.durable = durable

    @classmethod
    def file(cls, path: str, length: int | None) -> Sink:
        """`path` from the start (length None), or cut back to `length` and continued."""
        if length is None:
            return cls(open(path, "wb"), path, True)
        try:
            stream: IO[bytes] = open(path, "r+b")  # noqa: SIM115
        except FileNotFoundError:
            if length:
                raise UsageError(
                    f"{PROG}: error: --resume: {path} is gone, but its checkpoint says "
                    f"{length:,} bytes of it were written; start again with --force"
                ) from None
            stream = open(path, "wb")  # noqa: SIM115
        size = stream.seek(0, io.SEEK_END)
        if size < length:
            stream.close()
            raise UsageError(
                f"{PROG}: error: --resume: {path} has {size:,} bytes, fewer than the "
                f"{length:,} its checkpoint says were written: it was changed since; start "
                "again with --force"
            )
        stream.truncate(length)
        stream.seek(length)
        return cls(stream, path, True)

    @classmethod
    def stdout(cls) -> Sink:
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:
            raise OutputError("standard output is closed; send it to a file or a pipe")
        return cls(buffer, "standard output", False)

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def sync(self) -> None:
        """Everything written is on the disk."""
        self.stream.flush()
        if self.durable:
            os.fsync(self.stream.fileno())

    def cut(self, length: int) -> None:
        """Back to `length` bytes: a record cut in half is not left at the end."""
        self.stream.flush()
        self.stream.truncate(length)
        self.stream.seek(length)

    def close(self) -> None:
        if self.durable:
            self.stream.close()


def _disk_failure(e: OSError, sink: Sink, resumable: bool) -> OutputError:
    reason = e.strerror or str(e)
    again = (
        "; the checkpoint is beside it: make room and run the same command with --resume"
        if resumable
        else ""
    )
    return OutputError(f"{sink.name}: {reason}{again}")


# -- fetching, in time slices -----------------------------------------------------------------


def slices(since_ms: int, until_ms: int, count: int) -> list[tuple[int, int]]:
    """The window cut into `count` slices of equal time, newest first: (since, until) in
    milliseconds, both included, one after another without a gap or an overlap."""
    span = until_ms - since_ms + 1
    count = max(1, min(count, span))
    edges = [until_ms - span * i // count for i in range(count + 1)]
    return [(edges[i + 1] + 1, edges[i]) for i in range(count)]


class Gate:
    """Shared by the fetching threads: a 429 closes it for its Retry-After, and every call
    waits at it before going out, so that they all back off together."""

    def __init__(self) -> None:
        import threading

        self.until = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        left = self.until - time.monotonic()
        if left > 0:
            _sleep(left)

    def close(self, seconds: float) -> None:
        with self.lock:
            self.until = max(self.until, time.monotonic() + seconds)

    def hooks(self) -> dict[str, list[Callable[[Any], None]]]:
        """The event hooks of the httpx client the threads share."""
        from helicone_filter.client.calls import retry_after

        def on_request(request: httpx.Request) -> None:
            self.wait()

        def on_response(response: httpx.Response) -> None:
            if response.status_code == 429:
                self.close(retry_after(response.headers) or 1.0)

        return {"request": [on_request], "response": [on_response]}


class Lane:
    """One slice fetched in a thread of its own, which never waits for the writer.

    The thread appends each page's records to a spool, an unnamed temporary file beside the
    output (a pickled batch after a length), and the writer reads them back in order: so a
    slice that is not being written yet still fetches at full speed (and ends, with its
    confirmed empty page, while the writer is busy with an earlier slice), and memory holds
    one batch per lane however far a lane runs ahead. An error in the thread (a failed call, a
    full disk) reaches the writer in its place in the slice's order.
    """

    def __init__(
        self, batches: Callable[[], Iterator[list[HeliconeRequest]]], stop: threading.Event,
        folder: str | None,
    ) -> None:  # fmt: skip
        import tempfile
        import threading

        self.stop = stop
        self.spool = tempfile.TemporaryFile(  # noqa: SIM115 - closed by close()
            dir=folder, prefix=".export-lane-", buffering=0
        )
        self.written = 0  # bytes the thread has put in the spool
        self.done: BaseException | bool = False  # True at the end, or what stopped the thread
        self.ready = threading.Condition()
        self.thread = threading.Thread(target=self._run, args=(batches,), daemon=True)
        self.thread.start()

    def _run(self, batches: Callable[[], Iterator[list[HeliconeRequest]]]) -> None:
        import pickle

        iterator: Iterator[list[HeliconeRequest]] | None = None
        outcome: BaseException | bool = True
        try:
            iterator = batches()
            for batch in iterator:
                if self.stop.is_set():
                    break
                if not batch:
                    continue
                frame = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
                del batch  # the spool has it: not held while the next page is fetched
                self.spool.write(len(frame).to_bytes(8, "little") + frame)
                with self.ready:
                    self.written += 8 + len(frame)
                    self.ready.notify()
                del frame
        except BaseException as e:
            outcome = e
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            with self.ready:
                self.done = outcome
                self.ready.notify()

    def _read(self, offset: int, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = os.pread(self.spool.fileno(), size - len(data), offset + len(data))
            if not chunk:
                raise OSError(f"the spool of a time slice ended early, at byte {offset}")
            data += chunk
        return data

    def __iter__(self) -> Iterator[HeliconeRequest]:
        import pickle

        offset = 0
        try:
            while True:
                with self.ready:
                    while offset >= self.written and self.done is False:
                        self.ready.wait(0.5)  # a signal can end the wait
                    written, done = self.written, self.done
                if offset < written:
                    size = int.from_bytes(self._read(offset, 8), "little")
                    batch: list[HeliconeRequest] = pickle.loads(self._read(offset + 8, size))
                    offset += 8 + size
                    yield from batch
                elif isinstance(done, BaseException):
                    raise done
                else:
                    return
        finally:
            self.close()

    def close(self) -> None:
        self.spool.close()


def fetch_in_order(
    ranges: list[tuple[int, int]],
    jobs: int,
    batches: Callable[[int, int], Iterator[list[HeliconeRequest]]],
    stop: threading.Event,
    folder: str | None = None,
) -> Iterator[HeliconeRequest]:
    """The records of each range, newest range first, `jobs` ranges fetched at once (each
    into a spool in `folder`, the system's temporary folder when None); with one job, the
    ranges one after another in this thread."""
    from collections import deque

    if jobs == 1:  # one slice after another, here: nothing to spool
        for low, high in ranges:
            pages = batches(low, high)
            try:
                for batch in pages:
                    yield from batch
                    del batch  # not held while the next page is fetched
            finally:
                close = getattr(pages, "close", None)
                if close is not None:
                    close()
        return
    pending = deque(ranges)
    running: deque[Lane] = deque()

    def start() -> None:
        low, high = pending.popleft()
        running.append(Lane(lambda: batches(low, high), stop, folder))

    try:
        while pending and len(running) < jobs:
            start()
        while running:
            yield from running[0]
            running.popleft()
            if pending:
                start()
    finally:
        stop.set()
        for lane in running:
            lane.close()


# -- progress ---------------------------------------------------------------------------------


class Progress:
    """What stderr says while the export runs: a line redrawn on a terminal (requests, rate,
    share of the time range, ETA), a line per checkpoint with --verbose, nothing in a pipe."""

    def __init__(
        self, args: argparse.Namespace, since_ms: int, until_ms: int, start_ms: int
    ) -> None:
        terminal = sys.stderr is not None and sys.stderr.isatty()
        self.live = terminal and not args.quiet
        self.verbose = args.verbose
        self.summary = self.live or args.verbose
        self.since_ms, self.until_ms = since_ms, until_ms
        self.started = time.monotonic()
        self.shown = 0.0
        self.first_written: int | None = None
        self.first_cursor = start_ms  # where this run started (a resume starts further down)

    def update(self, state: State, force: bool = False) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self.shown < PROGRESS_SECONDS:
            return
        self.shown = now
        sys.stderr.write("\r\x1b[K" + self._line(state, now))
        sys.stderr.flush()

    def _line(self, state: State, now: float) -> str:
        if self.first_written is None:
            self.first_written = state.written
        elapsed = max(now - self.started, 1e-6)
        rate = (state.written - self.first_written) / elapsed
        cursor = self.until_ms if state.cursor_ms is None else state.cursor_ms
        whole = max(self.until_ms - self.since_ms, 1)
        done = min(1.0, max(0.0, (self.until_ms - cursor) / whole))
        this_run = max(0.0, (self.first_cursor - cursor) / whole)
        eta = ""
        if this_run > 0 and done < 1:
            eta = f" · ETA {_duration(elapsed * (1 - done) / this_run)}"
        return f"{state.written:,} requests · {rate:,.0f}/s · {done:.0%} of the time range{eta}"

    def checkpoint(self, state: State) -> None:
        if self.verbose:
            at = "" if state.cursor_ms is None else f", down to {_iso(state.cursor_ms)}"
            self.say(f"{PROG}: {state.written:,} requests written{at}")

    def say(self, line: str) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def end(self, state: State, where: str) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[K")
        if self.summary:
            elapsed = time.monotonic() - self.started
            self.say(
                f"{PROG}: exported {state.written:,} requests to {where} in {_duration(elapsed)}"
            )


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


# -- the run ----------------------------------------------------------------------------------


class Export(Record):
    """An export ready to run: what it is, where it goes, how far it is."""

    settings: Settings
    state: State
    output: str | None
    fmt: Format
    columns: tuple[str, ...] | None
    resumed: bool


def run_export(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    import gc

    gc.enable()  # the run pauses the collector for one filter; an export makes many objects
    key = _api_key()
    client_module = _client()
    export = _prepare(args, text, now)
    if export.fmt.staged:
        _need_pyarrow()
    retries = client_module.Retries(sleep=_sleep)
    gate = Gate()
    import httpx

    with httpx.Client(event_hooks=gate.hooks()) as client:
        try:
            _preflight(args, export, key, retries, client)
        except client_module.HeliconeAPIError as e:
            report(args, e.message, api_error=e)
            return Exit.REQUEST_FAILED
        return _run(args, export, key, retries, client)


def _api_key() -> str:
    key = os.environ.get(API_KEY_ENV)
    if not key:
        state = "empty" if key == "" else "not set"
        raise UsageError(
            f"{PROG}: error: export needs a Helicone API key in {API_KEY_ENV}, which is "
            f"{state} (export {API_KEY_ENV}=sk-...); nothing was sent"
        )
    from helicone_filter.client import HeliconeAPIError, check_api_key

    try:
        return check_api_key(key)
    except HeliconeAPIError as e:
        raise UsageError(f"{PROG}: error: {API_KEY_ENV}: {e.message}") from None


def _client() -> Any:
    try:
        import httpx  # noqa: F401
    except ImportError:
        raise MissingDependency(
            f"calling Helicone needs httpx, in the client extra: {install_hint('client')}"
        ) from None
    import helicone_filter.client as client_module

    return client_module


def _need_pyarrow() -> None:
    try:
        _pyarrow()
    except ImportError:
        raise MissingDependency(
            f"--format parquet needs pyarrow, in the export extra: {install_hint('export')}"
        ) from None


def _prepare(args: argparse.Namespace, text: str, now: datetime | None) -> Export:
    """The export the arguments ask for, its output path checked; with --resume, the one in
    the checkpoint, which must be the same export."""
    output = args.output
    fmt = _format_of(args.format, output)
    if output is None:
        if args.resume or args.force:
            flag = "--resume" if args.resume else "--force"
            raise UsageError(f"{PROG}: error: {flag} needs -o FILE")
        if fmt.staged:
            raise UsageError(
                f"{PROG}: error: --format parquet needs -o FILE (a Parquet file is "
                "finished at its end, so it cannot be streamed)"
            )
    else:
        _check_output_path(output)
    saved: tuple[Settings, State] | None = None
    if args.resume:
        saved = load_checkpoint(checkpoint_path(output))
        now = datetime.fromisoformat(saved[0].started)
    moment = now or datetime.now(UTC)
    settings = Settings(
        filter=text,
        node=_filter_node(args, text, moment) if saved is None else saved[0].node,
        **_window(args, moment),
        format=fmt.name,
        fields=None if args.fields is None else list(args.fields),
        bodies=args.bodies,
        limit=args.limit,
        started=moment.isoformat(),
    )
    cols = columns(fmt, args.fields, args.bodies)
    if saved is not None:
        differ = saved[0].differences(settings)
        if differ:
            raise UsageError(
                f"{PROG}: error: --resume: the checkpoint is of another export (its "
                f"{', '.join(differ)} differ); give the same filter and options, or start "
                "again with --force"
            )
        return Export(saved[0], saved[1], output, fmt, cols, True)
    if output is not None:
        _no_overwrite(args, output, fmt)
    return Export(settings, State(), output, fmt, cols, False)


def _check_output_path(output: str) -> None:
    folder = os.path.dirname(os.path.abspath(output))
    problem = ""
    if os.path.isdir(output):
        problem = "is a folder"
    elif not os.path.isdir(folder):
        problem = "is in a folder that does not exist"
    elif not os.access(folder, os.W_OK):
        problem = "is in a folder that cannot be written"
    if problem:
        raise UsageError(f"{PROG}: error: -o {output} {problem}; nothing was sent")


def _no_overwrite(args: argparse.Namespace, output: str, fmt: Format) -> None:
    """An existing output, or the checkpoint of an unfinished export beside it, is kept
    without --force."""
    ours = [checkpoint_path(output), output + STAGING_SUFFIX]
    if args.force:
        for path in ours:
            _remove(path)
        return
    if os.path.exists(checkpoint_path(output)):
        raise UsageError(
            f"{PROG}: error: an unfinished export of {output} has its checkpoint "
            f"beside it: --resume to continue it, or --force to start again"
        )
    if os.path.exists(output):
        raise UsageError(
            f"{PROG}: error: {output} exists: --force to overwrite it; nothing was sent"
        )


def _filter_node(args: argparse.Namespace, text: str, now: datetime) -> Any:
    """The FilterNode to send: filter text compiled for the request endpoints (its
    warnings on stderr unless --quiet), or JSON checked for them."""
    import helicone_filter

    source = source_of(text)
    if source.from_json:
        return helicone_filter.validate(source.value, endpoint="requests")
    node = helicone_filter.compile(text, now=now, endpoint="requests")
    if not args.quiet:
        warn(args, text, helicone_filter.check_text(text, now=now, endpoint="requests"))
    return node


def _window(args: argparse.Namespace, now: datetime) -> dict[str, int]:
    """--since and --until as milliseconds (the last DEFAULT_DAYS days by default)."""
    from helicone_filter.backends.request_body import QueryError, parse_time

    try:
        until = now if args.until is None else parse_time(args.until, now)
        since = (
            until - timedelta(days=DEFAULT_DAYS)
            if args.since is None
            else parse_time(args.since, now)
        )
    except QueryError as e:
        raise UsageError(f"{PROG}: error: {e}") from None
    if since > until:
        raise UsageError(
            f"{PROG}: error: --since ({since.isoformat()}) is after --until ({until.isoformat()})"
        )
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return {
        "since_ms": (since - epoch) // timedelta(milliseconds=1),
        "until_ms": (until - epoch) // timedelta(milliseconds=1),
    }


def _moment(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _preflight(
    args: argparse.Namespace, export: Export, key: str, retries: Retries, client: httpx.Client
) -> None:
    """One small query before any work: the key, the host and the filter are good."""
    from helicone_filter.client import query_requests

    settings = export.settings
    query_requests(
        settings.node, api_key=key, base_url=args.base_url, eu=args.eu,
        since=_moment(settings.since_ms), until=_moment(settings.until_ms), limit=1,
        retries=retries, client=client,
    )  # fmt: skip


def _run(
    args: argparse.Namespace, export: Export, key: str, retries: Retries, client: httpx.Client
) -> int:
    """Fetch, write, checkpoint; end cleanly on a signal or a failure."""
    from helicone_filter.client import HeliconeAPIError, iter_requests

    settings, state = export.settings, export.state
    until_ms, skip = settings.until_ms, frozenset(state.ids)
    if state.second is not None:
        until_ms = min(until_ms, state.second * _SECOND)  # the cursor's second, again
    remaining = None if settings.limit is None else settings.limit - state.written
    sink, target = _open(export)
    saving = export.output is not None
    progress = Progress(args, settings.since_ms, settings.until_ms, until_ms)
    import threading

    stop = threading.Event()
    # The time slices' spools go beside the output, on its disk (a full disk is one failure).
    spool_folder = os.path.dirname(os.path.abspath(export.output)) if export.output else None

    def batches(low: int, high: int) -> Iterator[list[HeliconeRequest]]:
        return iter_requests(
            settings.node, since=_moment(low), until=_moment(high), api_key=key,
            base_url=args.base_url, eu=args.eu, bodies=settings.bodies, retries=retries,
            client=client,
        ).pages()  # fmt: skip

    count = 1 if args.jobs == 1 else args.jobs * SLICES_PER_JOB
    ranges = slices(settings.since_ms, until_ms, count) if until_ms >= settings.since_ms else []
    before = _on_sigterm()
    try:
        try:
            if not export.resumed:
                head = export.fmt.head(export.columns or ())
                sink.write(head)
                state.length += len(head)
            if saving:
                sink.sync()
                save_checkpoint(target, settings, state)
            last = time.monotonic()
            for request in fetch_in_order(ranges, args.jobs, batches, stop, spool_folder):
                if remaining is not None and remaining <= 0:
                    break
                if request.request_id in skip:  # written before the resume, in its second
                    continue
                data = export.fmt.record(_values(request, export.columns), export.columns or (),
                                         state.written == 0)  # fmt: skip
                sink.write(data)
                state.wrote(request, len(data))
                if remaining is not None:
                    remaining -= 1
                progress.update(state)
                if remaining == 0:
                    break
                if saving and (
                    state.written % CHECKPOINT_RECORDS == 0
                    or time.monotonic() - last >= CHECKPOINT_SECONDS
                ):
                    sink.sync()
                    save_checkpoint(target, settings, state)
                    progress.checkpoint(state)
                    last = time.monotonic()
            stop.set()
            sink.write(export.fmt.tail)
            sink.sync()
        except OSError as e:
            if isinstance(e, BrokenPipeError):
                raise
            stop.set()
            _cut_back(sink, state)
            raise _disk_failure(e, sink, saving) from None
        except HeliconeAPIError as e:
            stop.set()
            _end_early(sink, export, state, target if saving else None)
            report(args, e.message, api_error=e)
            if saving:
                progress.say(_resume_note(state, target))
            return Exit.REQUEST_FAILED
        except (KeyboardInterrupt, Terminated):
            stop.set()
            _end_early(sink, export, state, target if saving else None)
            how = (
                _resume_note(state, target)
                if saving
                else f"{PROG}: interrupted after {state.written:,} requests"
            )
            progress.say(how)
            raise
    finally:
        stop.set()
        _restore_sigterm(before)
        sink.close()
    if export.fmt.staged:
        assert export.output is not None
        _to_parquet(target_staging(export.output), export.output, export.columns or ())
    if saving:
        _remove(target)  # the export is whole: first the checkpoint, then what it pointed at
    if export.fmt.staged:
        assert export.output is not None
        _remove(target_staging(export.output))
    progress.end(state, sink.name if not export.fmt.staged else str(export.output))
    return Exit.OK


def target_staging(output: str) -> str:
    return output + STAGING_SUFFIX


def _open(export: Export) -> tuple[Sink, str]:
    """The sink and the checkpoint's path ("" for standard output)."""
    if export.output is None:
        return Sink.stdout(), ""
    path = target_staging(export.output) if export.fmt.staged else export.output
    try:
        sink = Sink.file(path, export.state.length if export.resumed else None)
    except OSError as e:
        raise OutputError(f"{path}: {e.strerror or e}") from None
    return sink, checkpoint_path(export.output)


def _values(request: HeliconeRequest, fields: tuple[str, ...] | None) -> dict[str, Any]:
    values = request.as_json()
    if fields is None:
        return values
    return {name: values.get(name) for name in fields}


def _cut_back(sink: Sink, state: State) -> None:
    """After a failed write: the output back to its good length, if the disk lets us."""
    with contextlib.suppress(OSError):
        sink.cut(state.length)


def _end_early(sink: Sink, export: Export, state: State, checkpoint: str | None) -> None:
    """Stopped before the end: the output cut back to its last whole request and closed as
    its format closes (a JSON array stays valid JSON), and the checkpoint saved; --resume
    cuts the closing off again."""
    try:
        if checkpoint is None:
            sink.write(export.fmt.tail)
            sink.sync()
            return
        sink.cut(state.length)
        sink.write(export.fmt.tail)
        sink.sync()
        save_checkpoint(checkpoint, export.settings, state)
    except OSError:
        pass  # the checkpoint saved last still holds


def _resume_note(state: State, checkpoint: str) -> str:
    return (
        f"{PROG}: stopped after {state.written:,} requests; the checkpoint is {checkpoint}: "
        "run the same command with --resume to continue"
    )


def _on_sigterm() -> Any:
    """SIGTERM ends the export as Ctrl-C does (exit 143), when this is the main thread."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated

    return signal.signal(signal.SIGTERM, terminate)


def _restore_sigterm(before: Any) -> None:
    if before is not None:
        import signal

        signal.signal(signal.SIGTERM, before)


# -- Parquet ----------------------------------------------------------------------------------

# Each field's column type, by the record's annotation; the others are JSON text.
_ARROW_TYPES = {
    "int | None": "int64",
    "float | None": "float64",
    "bool | None": "bool",
    "str | None": "string",
    "str": "string",
}
PARQUET_BATCH = 10_000


def _pyarrow() -> tuple[Any, Any]:
    """pyarrow and its Parquet module (an extra: imported only for --format parquet)."""
    import importlib

    return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")


def arrow_kinds(fields: tuple[str, ...]) -> dict[str, str]:
    """Each field's column type: int64, float64, bool, string, or json (text)."""
    from helicone_filter.client.records import HeliconeRequest

    annotations = HeliconeRequest.__annotations__
    return {name: _ARROW_TYPES.get(str(annotations.get(name)), "json") for name in fields}


def _to_parquet(staging: str, output: str, fields: tuple[str, ...]) -> None:
    """The staged JSONL made into a Parquet file, a batch of rows at a time; written beside
    the output and renamed over it."""
    pa, pq = _pyarrow()

    kinds = arrow_kinds(fields)
    types = {"json": pa.string(), "string": pa.string(), "int64": pa.int64(),
             "float64": pa.float64(), "bool": pa.bool_()}  # fmt: skip
    schema = pa.schema([(name, types[kind]) for name, kind in kinds.items()])

    def cell(value: Any, kind: str) -> Any:
        if value is None:
            return None
        if kind == "json":
            return json.dumps(value, ensure_ascii=False)
        if kind == "float64":
            return float(value)
        return value

    temporary = output + ".tmp"
    try:
        with open(staging, encoding="utf-8") as lines, pq.ParquetWriter(temporary, schema) as out:
            batch: list[dict[str, Any]] = []
            for line in lines:
                batch.append(json.loads(line))
                if len(batch) >= PARQUET_BATCH:
                    out.write_table(_table(pa, schema, batch, kinds, cell))
                    batch = []
            if batch:
                out.write_table(_table(pa, schema, batch, kinds, cell))
        os.replace(temporary, output)
    except BaseException:
        _remove(temporary)
        raise


def _table(
    pa: Any,
    schema: Any,
    rows: list[dict[str, Any]],
    kinds: dict[str, str],
    cell: Callable[[Any, str], Any],
) -> Any:
    data = {name: [cell(row.get(name), kind) for row in rows] for name, kind in kinds.items()}
    return pa.Table.from_pydict(data, schema=schema)
