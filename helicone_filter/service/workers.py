"""The threads that do the service's requests' work, each piece of work stoppable.

`work(workers, seconds, fn, *args)` runs `fn(*args)` in one of the `Workers` threads while the
event loop goes on; at `seconds` it is given up on (`TimeoutError`) and stopped, by an
exception raised in its thread at the work's next step (`_Stopped`, a BaseException that no
`except Exception` of the library catches). As the service stops, `Workers.close` stops every
piece of work at once (`Stopping`). Between requests the garbage is collected here, and memory
that stopped work left is handed back to the system: `serve` turns the collector off.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import ctypes
import gc
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

_WORKERS = 4  # threads for requests' work (see `Workers`)
_IDLE_SECONDS = 2.0  # a worker thread without work for this long ends
_STOP_SECONDS = 0.5  # work given up on that has not stopped by then is answered for anyway
_AGAIN_SECONDS = 0.05  # and is stopped again this often, for as long as it runs

log = logging.getLogger("helicone_filter.service")


class Stopping(Exception):
    """The work was stopped, or never started, because the service stops."""


class _Stopped(BaseException):
    """Raised in a worker thread to end work given up on. A BaseException, so that no
    `except Exception` of the library catches it."""


_STOPPED: Any = object()  # the outcome of work that was stopped or never started
_WAITING, _RUNNING, _DONE = range(3)
# Guards a job's start against its being given up on while it waits.
_GUARD = threading.Lock()
# How a thread's work is stopped: an exception raised in that thread at its next step. Not
# where threads run at once without the interpreter lock, which `_Job.stop` counts on: there
# work given up on runs to its end (bounded by the body's size), as it did before.
_SET_ASYNC_EXC = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
if not getattr(sys, "_is_gil_enabled", lambda: True)():
    _SET_ASYNC_EXC = None
_STOP_EXC = ctypes.py_object(_Stopped)


class _Job:
    """One request's work for a worker thread: `fn(*args)`, whose outcome (its value, a
    `_Failed` with the exception it raised, or `_STOPPED`) resolves `future` on the event loop
    `loop`."""

    __slots__ = ("args", "fn", "future", "given_up", "loop", "state", "stops", "thread")

    def __init__(
        self, fn: Callable[..., Any], args: tuple[Any, ...], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.fn = fn
        self.args = args
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self.state = _WAITING
        self.thread = 0
        self.stops = 0  # how many times `_Stopped` was raised in its work
        self.given_up = False  # by its deadline (rather than by the service stopping)

    def resolve(self, outcome: Any) -> None:
        """On the event loop: the outcome, unless there is one already."""
        if not self.future.done():
            self.future.set_result(outcome)

    def stop(self) -> None:
        """On the event loop: the work will not start; or, if it runs, `_Stopped` is raised in
        its thread, and ends it at its next step (a thread in a long C call stops when the call
        returns). The library catches no BaseException; a stop that lands in a finalizer that
        the garbage collector runs meanwhile is lost, which is why `_give_up` stops again."""
        with _GUARD:
            if self.state == _WAITING:
                self.state = _DONE
                self.args = ()  # the body, not kept while the job waits in the queue
                self.resolve(_STOPPED)
                return
        if _SET_ASYNC_EXC is None:
            return
        thread = ctypes.c_ulong(self.thread)
        # From reading the state to raising the exception there is no call and no loop, the
        # only places where the interpreter lets another thread run: the worker cannot leave
        # the work in between, so the exception is raised only in work that runs (`run`).
        if self.state == _RUNNING:
            _SET_ASYNC_EXC(thread, _STOP_EXC)
            self.stops += 1

    def run(self) -> None:
        """In a worker thread: the work, then its outcome handed to the event loop.

        A stop lands at the next call or loop of the thread it is raised in, and it is raised
        only while the state is `_RUNNING` (`stop`): so inside the inner `try` here, or at
        `_land`, where one raised just before the state became `_DONE` lands. From the
        landing to that assignment, the first of the `finally`, this thread makes no call and
        no loop, so no other stop can come in between; after it, none comes at all.
        """
        outcome: Any = _STOPPED
        try:
            try:
                if self._enter():
                    outcome = self._call()
            finally:
                self.state = _DONE
                _land()
        except _Stopped:
            outcome = _STOPPED
        if isinstance(outcome, _Failed) and isinstance(outcome.error, _Stopped):
            outcome = _STOPPED
        self.args = ()
        with contextlib.suppress(RuntimeError):  # the event loop is closed: nobody waits
            self.loop.call_soon_threadsafe(self.resolve, outcome)
        outcome = None  # what the work made, let go before the memory is handed back
        if self.stops:
            _tidy(collect=False)
        elif not gc.isenabled():
            _Collector.after_request()

    def _enter(self) -> bool:
        thread = threading.get_ident()
        with _GUARD:
            if self.state != _WAITING:
                return False  # given up on while it waited
            self.thread = thread
            self.state = _RUNNING
            return True

    def _call(self) -> Any:
        try:
            return self.fn(*self.args)
        except BaseException as e:  # raised again on the event loop
            return _Failed(e)


def _land() -> None:
    """Nothing: a call, at which a stop raised before the work was marked done lands."""


class _Failed:
    """The exception that a job's work raised."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Worker:
    __slots__ = ("handed", "job")

    def __init__(self) -> None:
        self.handed = threading.Event()
        self.job: _Job | None = None


class Workers:
    """The threads that do an app's requests' work: at most `size`, started when needed, each
    ended after `_IDLE_SECONDS` without work. A job waits in a queue while all are busy. They
    are daemon threads, which the process never waits for at exit: work still running when the
    service stops is stopped first (`close`).

    Four by default: the interpreter runs one thread at a time, so more threads make no work
    faster, they only take the event loop's turns. While 25 requests past their time ran,
    /healthz waited 150-300 ms (p99) with eight; with four, 40-75 ms."""

    def __init__(self, size: int = _WORKERS) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._queue: deque[_Job] = deque()
        self._idle: list[_Worker] = []  # the last to go idle gets the next job: the others end
        self._busy: set[_Worker] = set()
        self._closed = False

    def submit(self, job: _Job) -> None:
        """On the event loop: `job` is run by an idle thread, a new one, or the first thread
        that is done with its work."""
        with self._lock:
            if self._closed:
                job.stop()
                return
            if self._idle:
                worker = self._idle.pop()
                worker.job = job
                self._busy.add(worker)
                worker.handed.set()
            elif len(self._busy) < self._size:
                worker = _Worker()
                worker.job = job
                self._busy.add(worker)
                # Not threading.Thread: its start() waits until the new thread runs, which the
                # event loop would, for as long as busy threads hold the interpreter (30 ms).
                try:
                    _thread.start_new_thread(self._serve, (worker,))
                except RuntimeError:  # no thread to be had: the job waits for a busy one
                    log.warning("cannot start a worker thread; %d busy", len(self._busy) - 1)
                    self._busy.discard(worker)
                    self._queue.append(job)
            else:
                self._queue.append(job)

    def close(self) -> None:
        """On the event loop, as the service stops: every job, waiting or running, is stopped
        and answered for at once, and new ones are refused."""
        with self._lock:
            self._closed = True
            jobs = list(self._queue) + [w.job for w in self._busy if w.job is not None]
            self._queue.clear()
        for job in jobs:
            job.stop()
            job.resolve(_STOPPED)

    def threads(self) -> int:
        """How many worker threads there are, busy or idle."""
        with self._lock:
            return len(self._busy) + len(self._idle)

    def _serve(self, worker: _Worker) -> None:
        job = worker.job
        try:
            while job is not None:
                job.run()
                job = self._next(worker)
        finally:
            if job is not None:  # not expected: `run` catches what its work raises
                with self._lock:
                    self._busy.discard(worker)

    def _next(self, worker: _Worker) -> _Job | None:
        with self._lock:
            while self._queue:
                job = self._queue.popleft()
                if job.state == _WAITING:
                    worker.job = job
                    return job
            worker.job = None
            self._busy.discard(worker)
            worker.handed.clear()
            self._idle.append(worker)
        if not worker.handed.wait(_IDLE_SECONDS):
            with self._lock:
                ending = worker in self._idle  # no job came: this thread ends
                if ending:
                    self._idle.remove(worker)
                quiet = not self._busy
            if ending:
                if quiet:
                    _tidy(collect=True)
                return None
        return worker.job  # handed over, maybe just as the wait ended


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):
        return None
    return trim


_TRIM = _malloc_trim() if sys.platform.startswith("linux") else None
_TRIM_SECONDS = 1.0  # after work that was stopped, memory is handed back at most this often


class _Tidy:
    last = 0.0


def _tidy(*, collect: bool) -> None:
    """Hands back the memory that work left: `collect` (when no work is in flight, for a
    collection holds every thread for as long as it walks the live objects) collects its
    garbage where the collector does not run by itself (`serve`); then the memory the C
    library keeps for threads that freed it goes back to the system (25 stopped requests left
    30 MB there). Outside the work, with the interpreter released while the C library trims."""
    if collect and not gc.isenabled():
        gc.collect()
    now = time.monotonic()
    if _TRIM is not None and (collect or now - _Tidy.last >= _TRIM_SECONDS):
        _Tidy.last = now
        _TRIM(0)


async def work(workers: Workers, seconds: float, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a worker thread; given up on after `seconds` (TimeoutError), and then
    stopped. The event loop, and every other client, goes on meanwhile."""
    loop = asyncio.get_running_loop()
    job = _Job(fn, args, loop)
    workers.submit(job)
    deadline = loop.call_later(seconds, _give_up, job)
    try:
        outcome = await job.future
    finally:
        deadline.cancel()
        if job.state != _DONE:  # this request was cancelled (the client, the server)
            job.stop()
    if isinstance(outcome, _Failed):
        raise outcome.error
    if outcome is _STOPPED:
        if job.given_up:
            raise TimeoutError
        raise Stopping
    return outcome


def _give_up(job: _Job) -> None:
    """The deadline of `job`: it is stopped, and answered for by `_STOP_SECONDS` at the latest
    (a thread in a long C call stops only when the call returns)."""
    job.given_up = True
    _stop_until_done(job)
    job.loop.call_later(_STOP_SECONDS, job.resolve, _STOPPED)


def _stop_until_done(job: _Job) -> None:
    """Stops `job`, and again every `_AGAIN_SECONDS` for as long as its work runs."""
    job.stop()
    if job.state == _RUNNING:
        job.loop.call_later(_AGAIN_SECONDS, _stop_until_done, job)


class _Collector:
    """Collects garbage between requests: every `EVERY` requests, or sooner when many objects
    have been made since the last collection and are still alive."""

    EVERY = 200
    MANY = 100_000
    since = 0

    @classmethod
    def after_request(cls) -> None:
        cls.since += 1  # a lost count under a race only delays a collection
        if cls.since >= cls.EVERY or gc.get_count()[0] > cls.MANY:
            cls.since = 0
            gc.collect()
