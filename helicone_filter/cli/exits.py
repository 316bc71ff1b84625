"""How a run of the command line ends: its exit codes, and the exceptions that choose one.

Plain classes with no imports from the package, so that every room of the command line (and
the `--lines` workers) can raise them without loading anything else.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Exit codes: 0 ok, 1 bad input, 2 usage, 3 request failed, 69 `serve` cannot listen
    (EX_UNAVAILABLE: the port is in use or not ours to take), 74 the output could not be
    written (EX_IOERR: standard output closed, a full disk), 78 an optional dependency the
    command needs is not installed (EX_CONFIG: the installation lacks an extra; the message
    says which and how to install it), 130 interrupted, 141 output closed
    by its reader (SIGPIPE), 143 ended by SIGTERM (`--lines`; 128 + 15, as a shell reports a
    process the signal ended)."""

    OK = 0
    BAD_FILTER = 1
    USAGE = 2
    REQUEST_FAILED = 3
    CANNOT_LISTEN = 69
    OUTPUT_FAILED = 74
    MISSING_DEPENDENCY = 78
    INTERRUPTED = 130
    BROKEN_PIPE = 141
    TERMINATED = 143


class UsageError(Exception):
    """The arguments cannot be used; the message is the whole report (exit 2)."""


class InputError(Exception):
    """Input that cannot be read as a filter at all (exit 1, like a bad filter)."""


class MissingDependency(Exception):
    """An optional dependency the command needs is not installed (httpx, pyarrow, chdb,
    uvicorn, prompt_toolkit, shtab); the message names it and how to install it (exit 78)."""


class OutputError(Exception):
    """The output cannot be written: standard output is closed, or writing to it failed (a full
    disk); the message says why (exit 74)."""


class Terminated(BaseException):
    """SIGTERM arrived while `--lines` ran: the workers are ended and the run stops (a
    BaseException, like KeyboardInterrupt, so that no `except Exception` takes it; exit 143)."""
