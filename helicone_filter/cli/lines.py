"""Bulk work for the command line's `--lines`: one result per input line, streamed.

It knows nothing of filters: the caller gives what to do with one line (`LineWork`), and this
module reads the lines in batches as they arrive, shares large batches among worker processes,
and writes the results in input order, flushed whenever the input has nothing more waiting.
The workers die with the parent (even one killed with SIGKILL), and SIGTERM ends the run and
its workers without a word (`Terminated`).
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from helicone_filter.cli.exits import Terminated
from helicone_filter.value_class import Record

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

Line = tuple[int, str | None]  # a line's number and text (None: not UTF-8)
# What a line gives: its result (JSON data), whether it failed, and a note for stderr ("" for
# none: a warning).
LineResult = tuple[Any, bool, str]
# What to do with one line: its number and text in, its `LineResult` out. It reports its own
# errors in the result; it raises nothing for a bad line.
LineWork = Callable[[int, str | None], LineResult]

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
    from helicone_filter.errors import escape_unsafe

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


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


# -- worker processes -------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Signals held back while a worker is forked: the worker sets its own handling before it takes
# any (it must not run the parent's handlers, which raise into code that is not there).
_HELD = frozenset({signal.SIGINT, signal.SIGTERM})


class _Worker(Record):
    """A worker process: its id, and its end of the pipe it takes batches from and gives
    results on."""

    pid: int
    pipe: Connection


def _die_with_parent(parent: int) -> None:
    """In a worker: be killed when the parent dies, however it dies (SIGKILL included), rather
    than outlive it. Linux's prctl(PR_SET_PDEATHSIG) does it at once; elsewhere the worker
    ends when it next reads its pipe, whose other end only the parent held."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the pipe's end still ends it
            pass
    if os.getppid() != parent:  # the parent died before prctl could take effect
        os._exit(0)


def _worker(work: LineWork, pipe: Connection, parent: int, ascii_only: bool) -> None:
    """A worker's life: batches in, results out, until the parent closes the pipe or dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # ended by the parent: no traceback
    _die_with_parent(parent)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
    # The worker reads nothing but its pipe and writes nothing but its pipe: a reader of the
    # parent's output sees its end when the parent ends, whatever a worker does.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    while True:
        try:
            batch = pipe.recv()
        except (EOFError, OSError):
            return
        try:
            done: Any = run_batch(work, batch, ascii_only)
        except Exception:  # a fault of ours: the parent raises it with its traceback
            import traceback

            done = traceback.format_exc()
        try:
            pipe.send(done)
        except OSError:
            return


def _start_workers(work: LineWork, jobs: int, ascii_only: bool) -> list[_Worker]:
    """Up to `jobs` workers forked from this process (so `work` need not be pickled), each
    with a pipe of its own: no lock is shared among them, so a worker that dies takes nothing
    with it, and ending them is a kill each. Fewer (none) when the system refuses more."""
    if not hasattr(os, "fork"):
        return []
    from multiprocessing import Pipe

    workers: list[_Worker] = []
    parent = os.getpid()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        for _ in range(jobs):
            try:
                mine, theirs = Pipe()
                pid = os.fork()
            except OSError:
                break  # no more processes or memory: the workers so far will do
            if pid == 0:  # the worker
                try:
                    mine.close()
                    for other in workers:  # only the parent may hold their ends
                        other.pipe.close()
                    _worker(work, theirs, parent, ascii_only)
                finally:
                    os._exit(0)  # never the parent's exit handlers, nor its buffered output
            theirs.close()
            workers.append(_Worker(pid, mine))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return workers


def _stop_workers(workers: list[_Worker], kill: bool) -> None:
    """End the workers and wait for them: when their pipes close (they finish at once, idle),
    or killed (`kill`: the run was cut short, they may be busy)."""
    for w in workers:
        w.pipe.close()
        if kill:
            with contextlib.suppress(OSError):
                os.kill(w.pid, signal.SIGKILL)
    for w in workers:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(w.pid, 0)


def _input_waiting(stdin: IO[str]) -> bool:
    """Whether stdin has more to read at once (always, for a file)."""
    import select

    try:
        return bool(select.select([stdin.fileno()], [], [], 0)[0])
    except (OSError, ValueError, io.UnsupportedOperation):
        return True


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
    lines' notes to `stderr`; return whether any line failed.

    Large batches (a file, a fast pipe) are shared among `jobs` worker processes, one batch
    at a time each, their results written in input order; whenever the input has nothing more
    waiting, every result so far is written and flushed first, so a slow pipe (`tail -f`)
    streams line by line. A worker that dies has its batch done here instead.

    Raises:
        Terminated: SIGTERM arrived (the workers are killed first); when run in the main
            thread, which alone can handle signals.
    """
    failed = False
    write, flush = stdout.write, stdout.flush
    workers: list[_Worker] | None = None  # None: not started yet
    # The batches in the workers, oldest first, each with the worker doing it.
    pending: collections.deque[tuple[_Worker, list[Line]]] = collections.deque()
    turn = 0
    finished = False

    def emit(done: Done) -> None:
        nonlocal failed
        text, bad, notes = done
        failed = failed or bad
        if notes:
            stderr.write(notes)
        if text:
            write(text)

    def collect() -> None:
        """The oldest batch's result; done here if its worker died."""
        assert workers is not None
        worker, batch = pending.popleft()
        try:
            done = worker.pipe.recv()
        except (EOFError, OSError):  # killed (by the system, or with its process group)
            workers.remove(worker)
            _stop_workers([worker], kill=True)
            done = run_batch(work, batch, ascii_only)
        if isinstance(done, str):
            raise RuntimeError(f"a worker process failed:\n{done}")
        emit(done)

    import threading

    main = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, _terminate) if main else None
    try:
        for batch in line_batches(arg, stdin):
            if workers is None and jobs > 1 and len(batch) >= PARALLEL_BATCH:
                workers = _start_workers(work, jobs, ascii_only)
            if not workers:
                emit(run_batch(work, batch, ascii_only))
                flush()  # so that `tail -f saved.txt | helicone-filter compile --lines` streams
                continue
            while len(pending) >= len(workers):  # each worker has a batch already
                collect()
            if not workers:  # they all died
                emit(run_batch(work, batch, ascii_only))
                continue
            busy = {id(w) for w, _ in pending}
            while id(workers[turn % len(workers)]) in busy:
                turn += 1
            worker = workers[turn % len(workers)]
            turn += 1
            worker.pipe.send(batch)
            pending.append((worker, batch))
            while pending and pending[0][0].pipe.poll():
                collect()
            if not _input_waiting(stdin):
                while pending:
                    collect()
                flush()
        while pending:
            collect()
        finished = True
    finally:
        if workers:
            _stop_workers(workers, kill=not finished)
        if main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if before is None else before)
    return failed


__all__ = [
    "PARALLEL_BATCH",
    "Line",
    "LineResult",
    "LineWork",
    "Terminated",
    "line_batches",
    "run_batch",
    "run_lines",
]
