"""`--lines`: a filter a line, each answered on its line in order, in this process or in worker
processes (lines.py); lines of any length however the input is cut, and the workers when one
dies, or the parent is killed or stopped."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any, cast

import pytest
from command_line import (
    CACHED,
    TWO_MISTAKES,
    WILDCARD,
    WILDCARD_JSON,
    WILDCARD_SHOWN,
    Capture,
    Patch,
    console_script,
    run,
    run_process,
)

from helicone_filter.cli.commands import Exit
from helicone_filter.cli.lines import PARALLEL_BATCH, Line, line_batches
from helicone_filter.frontends.parser import DEFAULT_MAX_LENGTH

# -- compile --lines ----------------------------------------------------------------------------


def test_lines_mixes_good_and_bad(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = "cached\n\n# a comment\n  # another\nmodle = 1\nuser_cost > 5\n"
    code, out, err = run(["compile", "--lines"], capsys, monkeypatch, stdin=stdin)
    assert code == 1 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0] == CACHED
    assert rows[1]["line"] == 5
    assert rows[1]["error"]["problems"][0]["code"] == "unknown-field"
    assert rows[2] == {"users_view": {"user_cost": {"gt": 5}}}
    assert len(rows) == 3


def test_lines_all_good_exits_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["compile", "--lines", "cached\nthreat"], capsys, monkeypatch)
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()][1] == {
        "request_response_rmt": {"threat": {"equals": True}}
    }


def test_lines_stream_through_the_console_script() -> None:
    """Each result is written as soon as its line arrives, before stdin closes."""
    proc = subprocess.Popen(
        [console_script(), "compile", "--lines"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("cached\n")
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline()) == CACHED  # read while stdin is still open
    proc.stdin.write("modle = 1\n")
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["line"] == 2
    proc.stdin.buffer.write(b"\xff\n")  # type: ignore[attr-defined]
    proc.stdin.close()
    assert json.loads(proc.stdout.readline())["error"]["message"] == "the line is not UTF-8"
    assert proc.wait(timeout=30) == 1


def test_lines_read_crlf_as_line_ends() -> None:
    done = subprocess.run(
        [console_script(), "compile", "--lines", "--quiet"],
        input=b"cached\r\nmodle = 1\r\n",
        capture_output=True,
        check=False,
    )
    rows = [json.loads(row) for row in done.stdout.splitlines()]
    assert rows[0] == CACHED
    assert rows[1]["error"]["problems"][0]["end"] == 5  # `modle`, without the \r
    # ...and the newline of a filter on stdin is gone, so its errors are where it shows them.
    done = subprocess.run(
        [console_script()], input=b"cached and\r\n", capture_output=True, check=False
    )
    assert b"line 1, column 11" in done.stderr


def test_lines_give_every_mistake_of_a_line(capsys: Capture, monkeypatch: Patch) -> None:
    code, out, _ = run(["compile", "--lines"], capsys, monkeypatch, stdin=TWO_MISTAKES + "\n")
    assert code == Exit.BAD_FILTER
    row = json.loads(out)
    assert row["line"] == 1 and row["error"]["message"] == "unknown field 'modle'"
    assert [p["code"] for p in row["error"]["problems"]] == ["unknown-field", "unknown-operator"]


def test_lines_warn_on_stderr_with_the_line_number(capsys: Capture, monkeypatch: Patch) -> None:
    stdin = f"cached\n\n{WILDCARD}\nmodle = 1\n"
    code, out, err = run(["compile", "--lines"], capsys, monkeypatch, stdin=stdin)
    rows = [json.loads(row) for row in out.splitlines()]
    assert code == Exit.BAD_FILTER
    assert rows[:2] == [CACHED, WILDCARD_JSON] and rows[2]["line"] == 4
    assert err == WILDCARD_SHOWN.replace("line 1, column 1", "line 3, column 1")
    code, quiet, err = run(["compile", "--lines", "-q"], capsys, monkeypatch, stdin=stdin)
    assert (code, quiet, err) == (Exit.BAD_FILTER, out, "")
    code, _, err = run(
        ["fmt", "--lines", "--error-format", "json"], capsys, monkeypatch, stdin=stdin
    )
    note = json.loads(err)
    assert note["line"] == 3 and note["warning"]["problems"][0]["code"] == "contains-wildcard"


def test_lines_warnings_keep_their_order_under_worker_processes() -> None:
    lines = [WILDCARD if i % 100 == 7 else f"user_cost > {i}" for i in range(3_000)]
    done = subprocess.run(
        [console_script(), "compile", "--lines", "--jobs", "2"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.count("\n") == 3_000
    numbers = [int(n) for n in re.findall(r"warning: line (\d+),", done.stderr)]
    assert numbers == [i + 1 for i in range(3_000) if i % 100 == 7]


# -- --lines for fmt and check ---------------------------------------------------------------


def test_fmt_lines(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = 'NOT cost > 1\n\n# skip\n{"users_view": {"user_cost": {"gt": 5}}}\nmodle = 1\n'
    code, out, _ = run(["fmt", "--lines"], capsys, monkeypatch, stdin=stdin)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert rows[:2] == ["cost <= 1", "user_cost > 5"]
    assert rows[2]["line"] == 5 and rows[2]["error"]["problems"][0]["code"] == "unknown-field"


def test_check_lines(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = 'cached\nmodel contains "a_b"\n'
    code, out, _ = run(["check", "--lines"], capsys, monkeypatch, stdin=stdin)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0  # a warning is not an error
    assert rows[0] == {"line": 1, "problems": []}
    assert rows[1]["problems"][0]["code"] == "contains-wildcard"
    code, out, _ = run(["check", "--lines", "cached\nusr = 1"], capsys, monkeypatch)
    assert code == 1
    assert json.loads(out.splitlines()[1])["problems"][0]["code"] == "unknown-field"


def test_lines_in_worker_processes_keep_the_order() -> None:
    """A large input is shared among worker processes; the output is what one process gives."""
    lines = [
        f"user_cost > {i}" if i % 997 else f"usr_cost > {i}"  # a bad line now and then
        for i in range(6_000)
    ]
    text = "\n".join(lines) + "\n"
    outputs = []
    for jobs in ("1", "2", "3"):
        done = subprocess.run(
            [console_script(), "compile", "--lines", "--jobs", jobs],
            input=text,
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stderr) == (1, "")
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    rows = [json.loads(line) for line in outputs[0].splitlines()]
    assert len(rows) == 6_000
    assert rows[997]["line"] == 998 and rows[998] == {"users_view": {"user_cost": {"gt": 998}}}


# -- one very long line under --lines --------------------------------------------------------


def _seconds(call: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


# What each subcommand gives for the line `cached`, beside the long line.
CACHED_LINE = {"compile": CACHED, "check": {"problems": []}, "fmt": "cached = true"}


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("command", "before", "after"),
    [
        ("compile", b"", b"\ncached\n"),
        ("check", b"cached\n", b""),  # the last line, without a newline
        ("fmt", b"", b"\r\ncached\n"),
    ],
    ids=["compile", "check-last-line", "fmt-crlf"],
)
def test_a_line_of_40_mb_is_refused_quickly_and_briefly(
    command: str, before: bytes, after: bytes
) -> None:
    """One 40 MB line of a plausible filter: joined again from every piece read so far each
    time a piece came, it took about 15 s (50 MB: 20 s); it is well under a second now, and
    its result says that it is too long without repeating it."""
    term = b"user_cost > 5 and "
    line = term * (40_000_000 // len(term)) + b"cached"
    argv = [command, "--lines"]
    seconds, done = _seconds(
        lambda: run_process(argv, before + line + after, stdout=subprocess.PIPE)
    )
    assert seconds < 5, f"{seconds:.1f} s"
    assert (done.returncode, done.stderr) == (Exit.BAD_FILTER, b"")
    assert len(done.stdout) < 2_000  # what is wrong, not the line again
    rows = [json.loads(row) for row in done.stdout.splitlines()]
    long_number = 2 if before else 1
    (long,) = [row for row in rows if isinstance(row, dict) and row.get("line") == long_number]
    problems = long["problems"] if command == "check" else long["error"]["problems"]
    assert [p["code"] for p in problems] == ["too-long"]
    assert problems[0]["message"] == (
        f"the filter is {len(line):,} characters long; the limit is {DEFAULT_MAX_LENGTH:,}"
    )
    other = [row for row in rows if row is not long]
    expected = CACHED_LINE[command]
    if command == "check":
        expected = {"line": 3 - long_number, **CACHED_LINE[command]}
    assert other == [expected]


class _Drip:
    """Bytes that come a few at a time, as from a slow pipe."""

    def __init__(self, data: bytes, sizes: Any) -> None:
        self.data, self.position, self.sizes = memoryview(data), 0, sizes

    def read1(self, size: int = -1) -> bytes:
        n = min(size, next(self.sizes))
        piece = bytes(self.data[self.position : self.position + n])
        self.position += len(piece)
        return piece


class _Stdin:
    def __init__(self, data: bytes, sizes: Any) -> None:
        self.buffer = _Drip(data, sizes)


def _lines_of(data: bytes, sizes: Any) -> list[Line]:
    stdin = cast(IO[str], _Stdin(data, sizes))
    return [line for batch in line_batches("-", stdin) for line in batch]


@pytest.mark.hostile
def test_a_long_line_in_small_pieces_takes_time_in_its_length() -> None:
    """An 8 MB line that arrives 1,000 bytes at a time: 8,000 pieces, each of which copied the
    whole line so far (tens of gigabytes, half a minute); now each byte is copied a few times."""
    line = b"x" * 8_000_000

    def sizes() -> Any:
        while True:
            yield 1_000

    seconds, lines = _seconds(lambda: _lines_of(line + b"\ncached", sizes()))
    assert seconds < 5, f"{seconds:.1f} s"
    assert lines == [(1, line.decode()), (2, "cached")]


@pytest.mark.hostile
def test_lines_are_the_same_however_the_input_is_cut() -> None:
    """What the lines are does not depend on the pieces the input arrives in: each is what
    splitting the whole input at newlines gives (a byte-order mark dropped from the first, a
    carriage return from the end of each, None for a line that is not UTF-8)."""
    pieces = [b"a", b"\n", b"\r", b"\xef\xbb\xbf", b"\xff", b" ", b"#", "é".encode(), b"\r\n"]
    rng = random.Random(7)
    for _ in range(2_000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        expected: list[Line] = []
        for number, raw in enumerate(data.split(b"\n")[: -1 if data.endswith(b"\n") else None], 1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r")
            except UnicodeDecodeError:
                expected.append((number, None))
            else:
                expected.append((number, text))
        if data == b"":
            expected = []
        sizes = iter(lambda: rng.randint(1, 9), None)
        assert _lines_of(data, sizes) == expected, data


# -- worker processes: they die with the parent, and SIGTERM ends them quietly ---------------

needs_proc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"), reason="no /proc"
)


def _state(pid: int) -> str | None:
    """A process's state letter (Z for a zombie), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[1] == str(pid) and fields[0] != "Z":
                found.append(int(entry))
    return found


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if _state(pid) not in (None, "Z")]


class _Bulk:
    """`compile --lines --jobs N` on a pipe that stays open: `start` sends enough lines for the
    workers and waits for their results, so that the workers are there, idle."""

    def __init__(self, jobs: int = 2) -> None:
        self.jobs = jobs
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "helicone_filter", "compile", "--lines", "--jobs", str(jobs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.workers: list[int] = []
        self.read = 0

    def send(self, first: int, count: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(
            b"".join(b"user_cost > %d\n" % i for i in range(first, first + count))
        )
        self.proc.stdin.flush()

    def receive(self, count: int) -> list[bytes]:
        assert self.proc.stdout is not None
        rows = [self.proc.stdout.readline() for _ in range(count)]
        self.read += count
        return rows

    def start(self) -> None:
        self.send(0, 2 * PARALLEL_BATCH)
        self.receive(2 * PARALLEL_BATCH)
        self.workers = _children(self.proc.pid)
        assert len(self.workers) == self.jobs, self.workers

    def keep_busy(self) -> None:
        """Lines sent without a pause from now on (in a thread), the workers at them."""

        def feed() -> None:
            with contextlib.suppress(OSError, ValueError):  # until the process is gone
                for first in range(0, 60_000, 2_000):
                    self.send(first, 2_000)

        threading.Thread(target=feed, daemon=True).start()
        self.receive(1)

    def __enter__(self) -> _Bulk:
        return self

    def __exit__(self, *exc: object) -> None:
        for pid in [self.proc.pid, *_alive(self.workers)]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self.proc.communicate(timeout=30)


def _gone(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _alive(pids)


@pytest.mark.hostile
@needs_proc
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
def test_workers_die_with_a_parent_killed_with_sigkill(busy: bool) -> None:
    """The parent of `--lines` killed (SIGKILL, the OOM killer): its busy workers went on
    without a parent to the end of their lines, then each wrote a traceback (BrokenPipeError)
    to the terminal. They die with it now, without a word."""
    with _Bulk() as bulk:
        bulk.start()
        if busy:
            bulk.keep_busy()
        bulk.proc.kill()
        _, err = bulk.proc.communicate(timeout=30)  # to the end: the workers' stderr too
        assert err == b""
        assert _gone(bulk.workers, 5) == []


def _waiting_to_read(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return "read" in f.read()
    except OSError:
        return False


@pytest.mark.hostile
@needs_proc
def test_no_worker_is_left_when_one_dies_and_then_the_parent() -> None:
    """A worker killed as it waits for lines (the OOM killer), then the parent: the workers
    of a pool that shared one lock to read their lines waited for that lock for ever, without
    a parent (so `--jobs 99999999999999999999` left thousands behind). Each worker has a pipe
    of its own now, and dies with the parent."""
    with _Bulk(jobs=3) as bulk:
        bulk.start()
        deadline = time.monotonic() + 10
        while not any(map(_waiting_to_read, bulk.workers)) and time.monotonic() < deadline:
            time.sleep(0.01)
        reading = next(pid for pid in bulk.workers if _waiting_to_read(pid))
        os.kill(reading, signal.SIGKILL)
        bulk.proc.kill()
        assert _gone(bulk.workers, 5) == []


@pytest.mark.hostile
@needs_proc
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
def test_sigterm_ends_lines_quietly_with_143(busy: bool) -> None:
    """SIGTERM to the parent of `--lines`: it died at once and left its workers behind. Now
    it ends them, says nothing and exits 128 + 15, idle or in the middle of the work."""
    with _Bulk() as bulk:
        bulk.start()
        if busy:
            bulk.keep_busy()
        bulk.proc.send_signal(signal.SIGTERM)
        _, err = bulk.proc.communicate(timeout=30)
        assert (bulk.proc.returncode, err) == (Exit.TERMINATED, b"")
        assert Exit.TERMINATED == 128 + signal.SIGTERM
        assert _gone(bulk.workers) == []


@pytest.mark.hostile
@needs_proc
def test_a_worker_killed_has_its_batch_done_by_the_parent() -> None:
    """A worker killed (alone, by the OOM killer say): the lines it had are done by the
    parent, the output whole and in order."""
    with _Bulk() as bulk:
        bulk.start()
        os.kill(bulk.workers[0], signal.SIGKILL)
        assert _gone(bulk.workers[:1]) == []
        bulk.send(2 * PARALLEL_BATCH, 4 * PARALLEL_BATCH)
        out, err = bulk.proc.communicate(timeout=30)
        rows = [json.loads(row) for row in out.splitlines()]
        assert (bulk.proc.returncode, err) == (Exit.OK, b"")
        assert [r["users_view"]["user_cost"]["gt"] for r in rows] == list(
            range(2 * PARALLEL_BATCH, 6 * PARALLEL_BATCH)
        )
        assert _gone(bulk.workers) == []
