"""`helicone-filter repl`: an interactive prompt for exploring filters (prompt_toolkit).

Completion as you type comes from `complete()`, the mistakes are underlined as you type from
`diagnose()` (errors red, warnings yellow) with the first one's message in the bottom toolbar,
and Enter on a whole filter prints its JSON. Commands (`:sql`, `:body`, `:explain`,
`:json`, `:fields`, `:help`, `:quit`) show the other forms of the current filter, or of one written
after them. Everything is for one endpoint of Helicone at a time (`--endpoint`, default
user-metrics): `:endpoint` shows it, `:endpoint requests` switches, and the prompt names it
when it is not the default. A filter left unfinished (an open bracket, or `and`/`or`/`not` at
its end) goes on on the next line; Alt-Enter (Esc Enter) always starts a new line.

prompt_toolkit is imported only when the prompt starts (the `repl` extra); without it `run`
says how to install it. When standard input is no terminal, the lines read from it are run
one after the other, as if typed, and the run ends with 1 (as `check` does for a bad filter)
if any of them had an error.

Example:
    >>> unfinished('(cost > 1 and'), unfinished('cost > 1'), unfinished('model in ["a",')
    (True, False, True)
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from helicone_filter import defaults
from helicone_filter.cli.exits import Exit
from helicone_filter.defaults import install_hint
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT, ENDPOINT_NAMES

if TYPE_CHECKING:
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.completion import Completer
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.history import History
    from prompt_toolkit.input import Input
    from prompt_toolkit.lexers import Lexer
    from prompt_toolkit.output import Output
    from prompt_toolkit.styles import Style

    from helicone_filter.diagnostics import Diagnostic
    from helicone_filter.frontends.completion import Completion as FilterCompletion
    from helicone_filter.frontends.completion import KnownValue

    KnownValues = dict[str, list[KnownValue]]

PROG = f"{defaults.PROG} repl"
INSTALL = (
    f"{PROG}: error: the repl needs prompt_toolkit, in the 'repl' extra: {install_hint('repl')}"
)

# The commands: name -> (what follows it, what it does). Aliases below.
COMMANDS: dict[str, tuple[str, str]] = {
    "sql": ("[FILTER]", "the ClickHouse WHERE expression and its parameters"),
    "body": ("[FILTER]", "the request body of POST /v1/user/metrics/query (query_body)"),
    "explain": ("[FILTER]", "the tree the filter compiles to, each condition beside its text"),
    "json": ("[FILTER]", "the FilterNode JSON (what Enter on a filter prints)"),
    "fields": ("", "every field of the endpoint: its table, type and operators"),
    "endpoint": (
        "[NAME]",
        "the endpoint of Helicone filters are for; with NAME, switch to it ("
        + ", ".join(ENDPOINT_NAMES)
        + ")",
    ),
    "help": ("", "this help"),
    "quit": ("", "leave (Ctrl-D on an empty line does too)"),
}
_ALIASES = {"q": "quit", "exit": "quit", "h": "help", "?": "help"}
_TAKES_FILTER = frozenset(name for name, (arg, _) in COMMANDS.items() if arg == "[FILTER]")
_COMMAND = re.compile(r"\s*:([\w?-]*)\s*")

HELP = (
    """\
Type a filter and press Enter: its FilterNode JSON is printed, or every problem with it.
  user_cost > 5 and model ilike "gpt%"    cached and status >= 500
  request_created_at > now - 7d           properties.environment = "prod"

Commands (a FILTER after one is used and becomes the current filter; without one, the
current filter is the last one entered; filters are read for the endpoint :endpoint shows):
"""
    + "\n".join(
        f"  :{f'{name} {arg}'.strip():<20} {what}" for name, (arg, what) in COMMANDS.items()
    )
    + """

Keys:
  Tab, Shift-Tab        complete (the list also opens as you type); Enter takes the one chosen
  Enter                 run it; an unfinished filter (an open ( or [, or ending with and, or,
                        not) goes on on the next line; Enter on an empty line runs it as it is
  Alt-Enter, Esc Enter  a new line, always
  Up, Down              earlier filters (the history); Ctrl-R searches them
  Ctrl-C                clear the line
  Ctrl-D                leave (on an empty line)"""
)

# Problems that only say the filter is not finished yet: while typing they are shown as what
# comes next, not underlined as mistakes.
_UNFINISHED_CODES = frozenset({"unexpected-end", "unterminated-string"})

# The tokens `unfinished` needs: strings (closed or not), brackets, joints and words.
_TOKENS = re.compile(
    r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|(?P<open>[\"'])|[()\[\]]|&&|\|\||[\w.-]+|\S",
    re.S,
)
_CLOSES = {")": "(", "]": "["}
_JOINTS = frozenset({"and", "or", "not", "&&", "||", "!"})


# -- what a line is ----------------------------------------------------------------------------


def split_command(text: str) -> tuple[str | None, int]:
    """The command a line starts with (`":sql cost > 1"` -> "sql", its name as typed when it
    is no command), and where the filter after it starts; `(None, 0)` for a filter.

    Example:
        >>> split_command(":sql cost > 1"), split_command("cost > 1")
        (('sql', 5), (None, 0))
    """
    m = _COMMAND.match(text)
    if m is None or not text.lstrip().startswith(":"):
        return None, 0
    name = m.group(1).lower()
    return _ALIASES.get(name, name), m.end()


def unfinished(text: str) -> bool:
    """Whether Enter should go on to a new line: a bracket is left open, or the text ends
    with `and`, `or`, `not` (`&&`, `||`, `!`). A string left open does not go on (a string
    cannot hold a line break: the next line would only make another mistake of it), nor does
    a bracket that closes nothing: they are mistakes to show, not something to wait for."""
    opened: list[str] = []
    last = ""
    for m in _TOKENS.finditer(text):
        if m.group("open"):
            return False  # a string never closed: a line break cannot go on with it
        token = m.group()
        if token in ("(", "["):
            opened.append(token)
        elif token in _CLOSES:
            if not opened or opened[-1] != _CLOSES[token]:
                return False
            opened.pop()
        last = token
    return bool(opened) or last.lower() in _JOINTS


def goes_on(text: str) -> bool:
    """What Enter does with the line `text` (a filter, or a command and its filter): True
    for a new line, when the filter is `unfinished`, unless the last line is empty (Enter on
    an empty line runs the text as it is).

    Example:
        >>> goes_on(":sql (cost > 1 and"), goes_on("(cost > 1 and\\n"), goes_on(":fields (")
        (True, False, False)
    """
    if "\n" in text and not text.rsplit("\n", 1)[1].strip():
        return False
    name, at = split_command(text)
    if name is not None and name not in _TAKES_FILTER:
        return False
    return unfinished(text[at:])


def history_file(environ: dict[str, str] | None = None) -> Path:
    """Where `--history` without a FILE keeps the history: `$XDG_STATE_HOME/helicone-filter/
    history`, or `~/.local/state/helicone-filter/history` (XDG_STATE_HOME unset, empty or
    not absolute, as the XDG Base Directory specification says)."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME", "")
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "helicone-filter" / "history"


# -- what is shown while typing ----------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _diagnostics(text: str, now: datetime | None, endpoint: str) -> tuple[Diagnostic, ...]:
    """diagnose(), once per text: the lexer and the toolbar both ask on each keystroke."""
    from helicone_filter.api.diagnosis import diagnose

    return tuple(diagnose(text, now=now, endpoint=endpoint))


def prompt_text(endpoint: str = DEFAULT_ENDPOINT) -> str:
    """The prompt: `filter> `, with the endpoint's name before it when it is not the default.

    Example:
        >>> prompt_text(), prompt_text("requests")
        ('filter> ', 'requests filter> ')
    """
    return "filter> " if endpoint == DEFAULT_ENDPOINT else f"{endpoint} filter> "


def _endpoint_named(name: str) -> tuple[str | None, str]:
    """The endpoint `name` names, or None and why not (with the one meant, when close)."""
    from helicone_filter.facts.endpoints import endpoint

    try:
        return endpoint(name).name, ""
    except ValueError as e:
        return None, str(e)


@functools.lru_cache(maxsize=16)
def _next(text: str, endpoint: str) -> tuple[FilterCompletion, ...]:
    """complete() at the end of `text`, once per text: the lexer and the toolbar both ask."""
    from helicone_filter.frontends.completion import complete

    return tuple(complete(text, endpoint=endpoint))


def _in_progress(d: Diagnostic, text: str, endpoint: str = DEFAULT_ENDPOINT) -> bool:
    """Whether a problem only says what comes next: the filter ends early, a string is still
    open, the word at the end is the start of a field (`mod`), or a field has just been
    written and its operator is still to come (`model `, as a completion leaves it)."""
    if d.end < len(text.rstrip()):
        return False
    if d.code in _UNFINISHED_CODES:
        return True
    if d.code not in ("unknown-field", "wrong-value-type"):
        return False
    word = text[d.start : d.end]
    for c in _next(text, endpoint):
        at_word = (c.replace_start, c.replace_end) == (d.start, d.end) == (d.start, len(text))
        if c.kind == "field" and at_word and c.label.startswith(word):
            return True  # a field being typed
        if c.kind == "operator" and c.replace_start == len(text) and text[d.end :].isspace():
            return d.code == "wrong-value-type"  # a field written, its operator to come
    return False


def underlines(
    text: str, now: datetime | None = None, endpoint: str = DEFAULT_ENDPOINT
) -> list[tuple[int, int, str]]:
    """The ranges to mark in a line as typed: `(start, end, style)`, style
    `class:diagnostic.error` or `class:diagnostic.warning`; the filter after a command is
    diagnosed at its place. The end of a filter not yet finished is no mistake.

    Example:
        >>> underlines('modle = "x" and cost > "1"')
        [(0, 5, 'class:diagnostic.error'), (23, 26, 'class:diagnostic.error')]
        >>> underlines(':sql modle = "x"'), underlines('cost > 1 and')
        ([(5, 10, 'class:diagnostic.error')], [])
    """
    name, at = split_command(text)
    if name is not None and name not in _TAKES_FILTER:
        return []
    part = text[at:]
    if not part.strip():
        return []
    return [
        (d.start + at, d.end + at, f"class:diagnostic.{d.severity}")
        for d in _diagnostics(part, now, endpoint)
        if d.end > d.start and not _in_progress(d, part, endpoint)
    ]


def status(
    text: str, now: datetime | None = None, endpoint: str = DEFAULT_ENDPOINT
) -> StyleAndTextTuples:
    """The bottom toolbar for a line as typed: the first problem (and how many more), what
    comes next in an unfinished filter, or what Enter will do; on an empty line, the endpoint
    the filter is for."""
    keys = " · Tab complete · Alt-Enter new line · :help · Ctrl-D quit"
    name, at = split_command(text)
    if name is not None:
        if name not in COMMANDS:
            from helicone_filter.errors import printable

            return [("class:toolbar.error", f" {printable(unknown_command(name))}")]
        asked = text[at:].strip() if name == "endpoint" else ""
        if asked and _endpoint_named(asked)[0] is None:
            from helicone_filter.errors import printable

            return [("class:toolbar.error", f" ✗ {printable(_endpoint_named(asked)[1])}")]
        if name not in _TAKES_FILTER or not text[at:].strip():
            return [("class:toolbar", f" :{name}: {COMMANDS[name][1]}")]
    part = text[at:]
    if not part.strip():
        return [("class:toolbar", f" type a filter for the {endpoint} endpoint" + keys)]
    found = _diagnostics(part, now, endpoint)
    if not found:
        return [("class:toolbar.ok", " ✓ a whole filter: Enter prints its JSON")]
    from helicone_filter.errors import printable

    first = next((d for d in found if d.severity == "error"), found[0])
    message = printable(first.message)
    if _in_progress(first, part, endpoint):
        if first.code not in _UNFINISHED_CODES:
            ahead = [c.label for c in _next(part, endpoint)][:6]
            message = "next: " + ", ".join(ahead) + (" …" if ahead else "")
        return [("class:toolbar", f" … {message}")]
    start = first.start + at  # where it is in the line as typed, command and all
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    more = f"  (+{len(found) - 1} more)" if len(found) > 1 else ""
    hint = f" ({printable(first.hint)})" if first.hint else ""
    mark = "✗" if first.severity == "error" else "⚠ warning:"
    return [
        (
            f"class:toolbar.{first.severity}",
            f" {mark} {line}:{column} {message}{hint}{more}",
        )
    ]


def unknown_command(name: str) -> str:
    """What is said of a command that does not exist, with the one meant when one is near.

    Example:
        >>> unknown_command("sqll")
        "unknown command ':sqll'; did you mean ':sql'? :help lists the commands"
    """
    from helicone_filter.errors import closest

    near = closest(name, [*COMMANDS, *_ALIASES]) if name else []
    meant = f" did you mean ':{_ALIASES.get(near[0], near[0])}'?" if near else ""
    return f"unknown command ':{name}';{meant} :help lists the commands"


def command_completions(text: str) -> list[tuple[str, int, str]]:
    """`(name, start, meaning)` of the commands that complete a line `text` that is a command
    word being typed, e.g. `:s`; start is where the name begins."""
    m = _COMMAND.match(text)
    if m is None or not text.lstrip().startswith(":") or m.end(1) < len(text):
        return []
    typed = m.group(1).lower()
    return [
        (name, m.start(1), what) for name, (_, what) in COMMANDS.items() if name.startswith(typed)
    ]


# -- what Enter does ---------------------------------------------------------------------------


class Runner:
    """What a line does once entered, prompt_toolkit aside: the current filter, and the
    output (JSON, SQL, problems...) written to `out`."""

    def __init__(
        self,
        out: IO[str],
        *,
        now: datetime | None = None,
        color: bool = False,
        endpoint: str = DEFAULT_ENDPOINT,
    ) -> None:
        self.out = out
        self.now = now
        self.color = color
        self.endpoint = endpoint  # the endpoint of Helicone filters are read for
        self.current: str | None = None  # the last filter entered
        self.failed = False  # a line had an error: a filter that is none, an unknown command

    def write(self, text: str) -> None:
        self.out.write(text if text.endswith("\n") else text + "\n")
        self.out.flush()

    def json(self, data: object) -> str:
        """`data` as indented JSON, escaped as the command line escapes it: nothing that could
        drive a terminal, nothing the output cannot encode."""
        from helicone_filter.errors import escape_unsafe, writes_unicode

        text = json.dumps(data, indent=2, ensure_ascii=False)
        return escape_unsafe(text, ascii_only=not writes_unicode(self.out))

    def enter(self, text: str) -> bool:
        """Run one line (filter or command); False when it asks to leave. Never raises,
        except KeyboardInterrupt."""
        try:
            return self._enter(text)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # a fault of ours: said, and the prompt goes on
            from helicone_filter.errors import printable

            said = printable(f"{type(e).__name__}: {e}")
            self.write(f"error: {said} (this is a bug; the prompt goes on)")
            return True

    def _enter(self, text: str) -> bool:
        if not text.strip():
            return True
        name, at = split_command(text)
        if name is None:
            self.current = text
            self.show("json", text)
            return True
        rest = text[at:]
        if name == "quit":
            return False
        if name not in COMMANDS:
            from helicone_filter.errors import printable

            self.failed = True
            self.write(printable(unknown_command(name)))
        elif name == "endpoint":
            self.switch(rest.strip())
        elif name not in _TAKES_FILTER:
            if rest.strip():
                self.write(f":{name} takes no filter")
            elif name == "help":
                self.write(HELP)
            else:
                self.fields()
        elif rest.strip():
            self.current = rest
            self.show(name, rest)
        elif self.current is None:
            self.write(
                f"no filter yet: type one first, or give it after the command (:{name} cost > 1)"
            )
        else:
            self.show(name, self.current)
        return True

    def switch(self, name: str) -> None:
        """`:endpoint`: say which endpoint filters are read for; with a name, switch to it
        (an unknown name is said, with the one meant, and nothing changes)."""
        from helicone_filter.errors import printable
        from helicone_filter.facts.endpoints import ENDPOINTS

        if name:
            found, why = _endpoint_named(name)
            if found is None:
                self.write(printable(why))
                return
            self.endpoint = found
        paths = ", ".join(ENDPOINTS[self.endpoint].paths)  # type: ignore[index]
        self.write(f"endpoint: {self.endpoint} ({paths})")

    def show(self, what: str, text: str) -> None:
        """The filter's problems, if it has errors; else its warnings and the form asked for."""
        from helicone_filter.api.diagnosis import diagnose

        found = diagnose(text, now=self.now, endpoint=self.endpoint)
        errors = [d for d in found if d.severity == "error"]
        self.failed = self.failed or bool(errors)
        if errors or what == "json":
            self.problems(text, found)
        if errors:
            return
        if what == "json":
            from helicone_filter.api import compile as compile_filter

            self.write(self.json(compile_filter(text, now=self.now, endpoint=self.endpoint)))
        elif what == "sql":
            from helicone_filter.api import lower_text
            from helicone_filter.backends.clickhouse import sql_of
            from helicone_filter.errors import escape_unsafe, printable, writes_unicode

            sql, params = sql_of(lower_text(text, now=self.now, endpoint=self.endpoint))
            shown = escape_unsafe(
                json.dumps(params, ensure_ascii=False), ascii_only=not writes_unicode(self.out)
            )
            self.write(f"{printable(sql)}\nparams: {shown}")
        elif what == "body":
            self.body(text)
        else:
            self.explain(text)

    def problems(self, text: str, found: Sequence[Diagnostic]) -> None:
        """Every problem, as the command line shows them: position, line, carets, hint."""
        if not found:
            return
        from helicone_filter.cli.terminal import columns
        from helicone_filter.errors import make_problem, render_problem

        width = columns(self.out)
        rendered = [
            render_problem(
                text,
                make_problem(text, d.code, d.message, d.start, d.end, d.hint).replace(
                    severity=d.severity
                ),
                color=self.color,
                label=True,
                width=width,
            )
            for d in found
        ]
        errors = sum(d.severity == "error" for d in found)
        if errors:
            rendered.append(f"{errors} error{'s' * (errors > 1)}: not compiled")
        self.write("\n\n".join(rendered))

    def body(self, text: str) -> None:
        """The request body of the endpoint's query, with its defaults."""
        from helicone_filter.api.outputs import query_body

        self.write(self.json(query_body(text, now=self.now, endpoint=self.endpoint)))

    def fields(self) -> None:
        """Every field of the endpoint, as `helicone-filter fields` prints them."""
        from helicone_filter.cli.printers import field_lines

        self.write("\n".join(field_lines(self.endpoint)))

    def explain(self, text: str) -> None:
        """The tree `text` compiles to and its warnings, as `helicone-filter explain` prints
        them: the tree in ASCII for an output that cannot write box drawing, the warnings
        uncoloured, as the command line writes them to what is no terminal."""
        from helicone_filter.cli.printers import explain_lines
        from helicone_filter.cli.terminal import warnings_text
        from helicone_filter.errors import writes_unicode

        ascii_only = not writes_unicode(self.out)
        lines, warnings = explain_lines(
            text, self.now, ascii_only=ascii_only, endpoint=self.endpoint
        )
        self.write("\n".join(lines))
        note = warnings_text(text, warnings, color=False)
        if note:
            self.write(note)


# -- the prompt ---------------------------------------------------------------------------------


def make_completer(
    now: datetime | None = None,
    endpoint: Callable[[], str] = lambda: DEFAULT_ENDPOINT,
    values: KnownValues | None = None,
) -> Completer:
    """A prompt_toolkit Completer of filters (`complete()`, with the fields of the endpoint
    `endpoint()` names when asked, and the known `values`), of the commands, and of
    `:endpoint`'s names. Its `cursors` say, for the text a completion it offered leaves (and
    the cursor after it), where the cursor goes instead: `place_cursors` moves it there."""
    from prompt_toolkit.completion import CompleteEvent, Completer, Completion
    from prompt_toolkit.document import Document

    from helicone_filter.frontends.completion import complete

    class FilterCompleter(Completer):
        # (text, cursor) once an offered completion is taken -> where the cursor goes
        cursors: dict[tuple[str, int], int] = {}  # noqa: RUF012 - replaced, never changed

        def get_completions(
            self, document: Document, complete_event: CompleteEvent
        ) -> Iterable[Completion]:
            self.cursors = {}
            text, cursor = document.text, document.cursor_position
            for command, start, what in command_completions(text[:cursor]):
                yield Completion(
                    command,
                    start - cursor,
                    display=f":{command}",
                    display_meta=what,
                    style="class:completion.command",
                )
            name, at = split_command(text)
            if name == "endpoint" and cursor >= at and text[:at][-1:].isspace():
                typed = text[at:cursor]
                for known in ENDPOINT_NAMES:
                    if known.startswith(typed):
                        yield Completion(known, -len(typed), display=known)
                return
            if name is not None and (
                name not in _TAKES_FILTER or cursor < at or not text[:at][-1:].isspace()
            ):
                return  # a command word, or one that takes no filter
            part = text[at:]
            cursors: dict[tuple[str, int], int] = {}
            self.cursors = cursors
            for c in complete(part, cursor - at, values=values, endpoint=endpoint()):
                insert = c.insert_text
                # prompt_toolkit replaces only what is before the cursor: a word's rest after
                # it is kept, so it is not inserted again.
                after = part[cursor - at : c.replace_end]
                if after and insert.rstrip().endswith(after):
                    insert = insert.rstrip()[: -len(after)]
                begin = at + c.replace_start
                if c.cursor_offset < len(insert):
                    taken = text[:begin] + insert + text[cursor:]
                    cursors[(taken, begin + len(insert))] = begin + c.cursor_offset
                yield Completion(
                    insert,
                    c.replace_start - (cursor - at),
                    display=c.label,
                    display_meta=c.detail,
                    style=f"class:completion.{c.kind}",
                )

    return FilterCompleter()


def place_cursors(completer: Completer) -> Callable[[Buffer], None]:
    """A handler of a Buffer's `on_text_changed` that puts the cursor where the completion
    just taken says (`cursor_offset`: between the quotes of `""`), however it was taken: Tab
    on the only one, Tab or the arrows through the menu, a click. Text typed by hand is left
    alone (the completer's `cursors` are of the completions it last offered)."""

    def place(buffer: Buffer) -> None:
        cursors: dict[tuple[str, int], int] = getattr(completer, "cursors", {})
        target = cursors.get((buffer.text, buffer.cursor_position))
        if target is not None:
            state = buffer.complete_state  # moving the cursor closes the menu: kept open
            buffer.cursor_position = target
            buffer.complete_state = state

    return place


def make_lexer(
    now: datetime | None = None, endpoint: Callable[[], str] = lambda: DEFAULT_ENDPOINT
) -> Lexer:
    """A prompt_toolkit Lexer that underlines `underlines()`' ranges (for the endpoint
    `endpoint()` names when asked) and marks a command."""
    from prompt_toolkit.document import Document
    from prompt_toolkit.lexers import Lexer

    class DiagnosticLexer(Lexer):
        def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
            text = document.text
            styles = [""] * len(text)
            name, at = split_command(text)
            if name is not None:
                styles[: len(text[:at].rstrip())] = ["class:command"] * len(text[:at].rstrip())
            for start, end, style in underlines(text, now, endpoint()):
                styles[start:end] = [style] * (min(end, len(text)) - start)
            starts = [0]
            for line in document.lines[:-1]:
                starts.append(starts[-1] + len(line) + 1)

            def get_line(number: int) -> StyleAndTextTuples:
                if not 0 <= number < len(starts):
                    return []
                line = document.lines[number]
                out: StyleAndTextTuples = []
                for i, char in enumerate(line):
                    style = styles[starts[number] + i]
                    if out and out[-1][0] == style:
                        out[-1] = (style, out[-1][1] + char)
                    else:
                        out.append((style, char))
                return out

            return get_line

    return DiagnosticLexer()


# The most of a history file read when the prompt starts: its end, some 10,000 filters. A
# file that has grown larger over the years is not read whole into memory.
HISTORY_READ_BYTES = 1 << 20


def _history(choice: str | bool | None, err: IO[str]) -> History:
    """In memory (None); in a file (a path, or True for `history_file()`). A file that cannot
    be used (not a regular file that can be read and appended to: a directory, a FIFO,
    /dev/zero, /dev/full...) is said once and the history is kept in memory; so is a write
    that fails later. Nothing here blocks (a FIFO) or reads without end (/dev/zero)."""
    from prompt_toolkit.history import History, InMemoryHistory

    from helicone_filter.errors import printable

    if choice is None or choice is False:
        return InMemoryHistory()
    path = history_file() if choice is True else Path(str(choice)).expanduser()
    shown = printable(str(path))

    class HistoryFile(History):
        """prompt_toolkit's history file format (each entry after a `# date` line, each of its
        lines after a `+`), read and written only as a regular file."""

        failed = False

        def __init__(self, entries: list[str]) -> None:
            super().__init__()
            self.entries = entries

        def load_history_strings(self) -> Iterable[str]:
            return self.entries

        def store_string(self, string: str) -> None:
            if self.failed:
                return
            try:
                _append_history(path, string)
            except OSError as e:  # said once; the history goes on in memory
                self.failed = True
                err.write(
                    f"{PROG}: cannot write the history to {shown}: {_reason(e)}; "
                    "it is kept in memory from now on\n"
                )

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(_open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT))
        entries = _read_history(path)
    except OSError as e:
        err.write(
            f"{PROG}: cannot use the history file {shown}: {_reason(e)}; it is kept in memory\n"
        )
        return InMemoryHistory()
    return HistoryFile(entries)


def _reason(e: OSError) -> str:
    from helicone_filter.errors import printable

    return printable(str(e.strerror or e))


def _open_regular(path: Path, flags: int) -> int:
    """A file descriptor of `path` opened with `flags`, if it is a regular file.

    Raises:
        OSError: it is not (a FIFO, whose opening would wait for a reader; a device such as
            /dev/zero, which never ends, or /dev/full, which takes nothing; a directory), or
            it cannot be opened.
    """
    with contextlib.suppress(FileNotFoundError):
        _must_be_regular(os.stat(path).st_mode)
    extra = os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | extra, 0o600)
    try:
        _must_be_regular(os.fstat(fd).st_mode)  # what was opened, whatever the path is now
    except BaseException:
        os.close(fd)
        raise
    return fd


def _must_be_regular(mode: int) -> None:
    import stat

    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (a named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in kinds if test(mode)), "not a file")
        raise OSError(f"it is {kind}, not a regular file")


def _read_history(path: Path) -> list[str]:
    """The entries of a history file, newest first: of its last HISTORY_READ_BYTES (from the
    first entry that begins there)."""
    with os.fdopen(_open_regular(path, os.O_RDONLY), "rb") as f:
        start = max(0, os.fstat(f.fileno()).st_size - HISTORY_READ_BYTES)
        f.seek(start)
        data = f.read(HISTORY_READ_BYTES)
    lines = data.decode("utf-8", "replace").split("\n")
    at = 0
    if start:  # begun inside an entry, or a line: from the next entry on
        at = 1
        while at < len(lines) and lines[at].startswith("+"):
            at += 1
    entries: list[str] = []
    entry: list[str] = []
    for line in lines[at:]:
        if line.startswith("+"):
            entry.append(line[1:])
        elif entry:
            entries.append("\n".join(entry))
            entry = []
    if entry:
        entries.append("\n".join(entry))
    return entries[::-1]


def _append_history(path: Path, string: str) -> None:
    """Append an entry to a history file, in prompt_toolkit's format."""
    lines = "".join(f"+{line}\n" for line in string.split("\n"))
    data = memoryview(f"\n# {datetime.now()}\n{lines}".encode("utf-8", "replace"))
    fd = _open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def _style() -> Style:
    from prompt_toolkit.styles import Style

    return Style.from_dict(
        {
            "diagnostic.error": "fg:ansired underline",
            "diagnostic.warning": "fg:ansiyellow underline",
            "command": "fg:ansicyan bold",
            "prompt": "fg:ansigreen",
            "continuation": "fg:ansibrightblack",
            "bottom-toolbar": "noreverse bg:#303030 fg:#d0d0d0",
            "toolbar.error": "fg:ansibrightred bold",
            "toolbar.warning": "fg:ansiyellow",
            "toolbar.ok": "fg:ansigreen",
            "completion.command": "fg:ansicyan",
        }
    )


def run(
    history: str | bool | None = None,
    *,
    now: datetime | None = None,
    color: bool | None = None,
    input: Input | None = None,  # noqa: A002 - prompt_toolkit's own name
    output: Output | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
    values: KnownValues | None = None,
) -> int:
    """Run the prompt until `:quit` or Ctrl-D; the exit code (0; 1 without prompt_toolkit).

    Args:
        history: None keeps it in memory; a path keeps it in that file; True in
            `history_file()`.
        now: the moment relative times count back from (default: the time of each line).
        color: colour the problems printed (default: when `stdout` is a terminal and
            NO_COLOR is not set).
        input, output: prompt_toolkit's terminal input and output (default: the terminal;
            tests give a pipe input and a DummyOutput).
        stdout, stderr: where results and messages go (default: sys.stdout, sys.stderr).
        endpoint: the endpoint of Helicone filters are read for at first (`:endpoint`
            switches).
        values: known values of fields that completion offers after their operators, by
            field as the canonical text writes it (`{"model": ["gpt-4o"]}`; `--values FILE`).

    Returns:
        0; 1 without prompt_toolkit, or when lines read from a pipe had an error; 74 when the
        output cannot be written.
    """
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    try:
        import prompt_toolkit  # noqa: F401
    except ImportError:
        err.write(INSTALL + "\n")
        return 1
    from helicone_filter.cli.terminal import colors_on

    runner = Runner(
        out, now=now, color=colors_on(out) if color is None else color, endpoint=endpoint
    )
    try:
        if input is None and not _is_terminal(sys.stdin):
            return _run_lines(runner, sys.stdin, err)
        return _prompt_loop(runner, history, now, input, output, err, values)
    except OSError as e:  # the output is closed or full: nothing more can be shown
        err.write(f"{PROG}: error: cannot write the output: {e.strerror or e}\n")
        return 74


def _is_terminal(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False


def _run_lines(runner: Runner, stdin: IO[str] | None, err: IO[str]) -> int:
    """Standard input is no terminal: each line is run as if typed (no prompt, no
    completion; colour as for the command line, when the output is a terminal)."""
    if stdin is None:
        err.write(f"{PROG}: error: standard input is closed\n")
        return 1
    pending: str | None = None
    raw = getattr(stdin, "buffer", None)  # read as UTF-8, whatever the locale says
    for number, read in enumerate(stdin if raw is None else raw, 1):
        if isinstance(read, bytes):
            try:
                read = read.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as e:
                runner.write(
                    f"line {number} is not UTF-8 (byte {e.start + 1} is 0x{read[e.start]:02x}); "
                    "it is left out"
                )
                continue
        line = read.rstrip("\r\n")
        pending = line if pending is None else f"{pending}\n{line}"
        if not goes_on(pending):
            if not runner.enter(pending):
                return _lines_exit(runner)
            pending = None
    if pending is not None:
        runner.enter(pending)
    return _lines_exit(runner)


def _lines_exit(runner: Runner) -> int:
    """How a run of piped lines ends: 1 (a bad filter, as `check` says) if a line had an
    error, else 0."""
    return int(Exit.BAD_FILTER if runner.failed else Exit.OK)


def _prompt_loop(
    runner: Runner,
    history: str | bool | None,
    now: datetime | None,
    input: Input | None,  # noqa: A002
    output: Output | None,
    err: IO[str],
    values: KnownValues | None = None,
) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.enums import DEFAULT_BUFFER
    from prompt_toolkit.filters import has_focus
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    from prompt_toolkit.shortcuts import CompleteStyle

    keys = KeyBindings()

    @keys.add("enter", filter=has_focus(DEFAULT_BUFFER))
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None and state.current_completion is not None:
            buffer.complete_state = None  # Enter takes the chosen completion
        elif goes_on(buffer.text):
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @keys.add("escape", "enter", filter=has_focus(DEFAULT_BUFFER))
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    completer = make_completer(now, lambda: runner.endpoint, values)
    session: PromptSession[str] = PromptSession(
        lambda: [("class:prompt", prompt_text(runner.endpoint))],
        multiline=True,
        prompt_continuation=lambda width, line, wrap: [
            ("class:continuation", "...> ".rjust(width))
        ],
        completer=completer,
        complete_while_typing=True,
        complete_style=CompleteStyle.COLUMN,
        lexer=make_lexer(now, lambda: runner.endpoint),
        bottom_toolbar=lambda: status(session.default_buffer.text, now, runner.endpoint),
        history=_history(history, err),
        key_bindings=keys,
        style=_style(),
        input=input,
        output=output,
        reserve_space_for_menu=6,
    )
    session.default_buffer.on_text_changed += place_cursors(completer)
    runner.write("helicone-filter repl: a filter and Enter prints its JSON; :help, Ctrl-D leaves")
    failures = 0
    while True:
        try:
            text = session.prompt()
            failures = 0
        except KeyboardInterrupt:
            continue  # Ctrl-C clears the line
        except EOFError:
            return 0
        except Exception as e:  # the terminal failed us: say so, try again, give up at last
            failures += 1
            err.write(f"{PROG}: error: {type(e).__name__}: {e}\n")
            if failures >= 3:
                return 1
            continue
        try:
            if not runner.enter(text):
                return 0
        except KeyboardInterrupt:
            runner.write("interrupted")
