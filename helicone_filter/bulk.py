"""Bulk work for the command line's `--lines`: one result per input line, streamed.

It knows nothing of filters: the caller gives what to do with one line (`LineWork`), and this
module reads the lines in batches as they arrive, shares large batches among worker processes,
and writes the results in input order, flushed whenever the input has nothing more waiting.
"""

from __future__ import annotations

import collections
import io
import json
from collections.abc import Callable, Iterator
from typing import IO, Any

Line = tuple[int, str | None]  # a line's number and text (None: not UTF-8)
# What to do with one line: its number and text in; its result (JSON data), whether it failed,
# and a note for stderr ("" for none: a warning) out. It reports its own errors in the result;
# it raises nothing for a bad line.
LineWork = Callable[[int, str | None], tuple[Any, bool, str]]

# Batches at least this long go to worker processes, when there are several processors.
PARALLEL_BATCH = 256

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def line_batches(arg: str, stdin: IO[str]) -> Iterator[list[Line]]:
    """The lines of `arg`, or of `stdin` for `-`, in batches of what has arrived: a file comes
    in large batches, a slow pipe (`tail -f`) line by line, so output can be flushed once per
    batch."""
    if arg != "-":
        yield list(enumerate(arg.splitlines(), 1))
        return
    raw = getattr(stdin, "buffer", None)
    if raw is None or not hasattr(raw, "read1"):
        for number, line in enumerate(stdin, 1):
            yield [(number, line.rstrip("\r\n"))]
        return
    number = 0
    # The line begun but not ended yet, grown in place as its pieces come: a long line costs
    # its length, not its length times the number of pieces it came in.
    begun = bytearray()
    while True:
        chunk = raw.read1(1 << 16)  # what is there, waiting only when nothing is
        if not chunk:
            break
        parts = chunk.split(b"\n")
        if len(parts) == 1:
            begun += chunk
            continue
        if begun:
            begun += parts[0]
            parts[0] = bytes(begun)
        begun = bytearray(parts.pop())
        batch: list[Line] = []
        for data in parts:
            number += 1
            batch.append((number, _decode_line(data, number)))
        yield batch
    if begun:
        yield [(number + 1, _decode_line(bytes(begun), number + 1))]


def _decode_line(data: bytes, number: int) -> str | None:
    try:
        return data.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r")
    except UnicodeDecodeError:
        return None


Done = tuple[str, bool, str]  # a batch's NDJSON text, whether a line failed, its notes


def run_batch(work: LineWork, batch: list[Line], ascii_only: bool = False) -> Done:
    """The NDJSON text of a batch's results, whether any line failed, and the lines' notes for
    stderr. Blank lines and `#` comments give nothing. With `ascii_only`, the JSON has nothing
    but ASCII (for an output that can write nothing else); either way it holds no character
    that could drive a terminal (`errors.escape_unsafe`)."""
    from .errors import escape_unsafe

    failed = False
    encode = _COMPACT.encode
    out: list[str] = []
    notes: list[str] = []
    for number, text in batch:
        if text is not None and (not text.strip() or text.lstrip().startswith("#")):
            continue
        result, bad, note = work(number, text)
        failed = failed or bad
        out.append(encode(result))
        if note:
            notes.append(note)
    if not out:
        return "", failed, "".join(notes)
    return escape_unsafe("\n".join(out) + "\n", ascii_only=ascii_only), failed, "".join(notes)


_WORKER_WORK: LineWork | None = None
_WORKER_ASCII = False


def _worker_start(work: LineWork, ascii_only: bool) -> None:
    import signal

    global _WORKER_WORK, _WORKER_ASCII
    _WORKER_WORK, _WORKER_ASCII = work, ascii_only
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _worker_run(batch: list[Line]) -> Done:
    assert _WORKER_WORK is not None
    return run_batch(_WORKER_WORK, batch, _WORKER_ASCII)


def _input_waiting(stdin: IO[str]) -> bool:
    """Whether stdin has more to read at once (always, for a file)."""
    import select

    try:
        return bool(select.select([stdin.fileno()], [], [], 0)[0])
    except (OSError, ValueError, io.UnsupportedOperation):
        return True


def _start_pool(work: LineWork, jobs: int, ascii_only: bool) -> Any:
    """Worker processes forked from this one (so `work` need not be pickled), or None where
    that cannot be done."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    try:
        return multiprocessing.get_context("fork").Pool(jobs, _worker_start, (work, ascii_only))
    except OSError:
        return None


def run_lines(
    work: LineWork,
    arg: str,
    jobs: int,
    stdin: IO[str],
    stdout: IO[str],
    stderr: IO[str],
    *,
    ascii_only: bool = False,
) -> bool:
    """Write one NDJSON result per line of `arg` (or of `stdin` for `-`) to `stdout`, and the
    lines' notes to `stderr`; return whether any line failed. With `ascii_only`, the JSON is
    ASCII (see run_batch).

    Large batches (a file, a fast pipe) are shared among `jobs` worker processes, their
    results written in input order; whenever the input has nothing more waiting, every result
    so far is written and flushed first, so a slow pipe (`tail -f`) streams line by line.
    """
    failed = False
    write, flush = stdout.write, stdout.flush
    pool: Any = None
    pending: collections.deque[Any] = collections.deque()

    def emit(done: Done) -> None:
        nonlocal failed
        text, bad, notes = done
        failed = failed or bad
        if notes:
            stderr.write(notes)
        if text:
            write(text)

    try:
        for batch in line_batches(arg, stdin):
            if pool is None and jobs > 1 and len(batch) >= PARALLEL_BATCH:
                pool = _start_pool(work, jobs, ascii_only)
            if pool is None:
                emit(run_batch(work, batch, ascii_only))
                flush()  # so that `tail -f saved.txt | helicone-filter compile --lines` streams
                continue
            pending.append(pool.apply_async(_worker_run, (batch,)))
            while pending and (len(pending) > 2 * jobs or pending[0].ready()):
                emit(pending.popleft().get())
            if not _input_waiting(stdin):
                while pending:
                    emit(pending.popleft().get())
                flush()
        while pending:
            emit(pending.popleft().get())
    finally:
        if pool is not None:
            pool.terminate()
    return failed


__all__ = ["PARALLEL_BATCH", "Line", "LineWork", "line_batches", "run_batch", "run_lines"]
