"""The table of the command line's subcommands (`COMMANDS`): for each, its name, its help, its
options, its run and what `--lines` does with one line. Adding a subcommand is adding a row.

The runs are in rooms by theme: `filter_commands` (compile, fmt, check, sql, explain, fields),
`query_command` (query, and --send), `session_commands` (serve, repl); `completion`, which
writes a script of the whole table, is here. `program.main` reads the arguments with the parser
the table makes (`parser()`) and runs the row named.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from helicone_filter.cli import export_command as export
from helicone_filter.cli import filter_commands as filters
from helicone_filter.cli import grep_command as grep
from helicone_filter.cli import query_command as query
from helicone_filter.cli import session_commands as sessions
from helicone_filter.cli.arguments import (
    CHECK_ERRORS,
    ERRORS,
    SHELLS,
    Parser,
    build_parser,
    completion_script,
)
from helicone_filter.cli.exits import Exit
from helicone_filter.defaults import PROG, SERVICE_HOST, SERVICE_PORT, install_hint
from helicone_filter.value_class import Record

if TYPE_CHECKING:
    from helicone_filter.cli.lines import LineResult


def _no_options(p: argparse.ArgumentParser) -> None:
    pass


# `completion`: a script of the whole table, so it is run from here.


def _completion_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=SHELLS, help="the shell: " + ", ".join(SHELLS))


def _completion(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    print(completion_script(parser(), args.shell), end="")
    return Exit.OK


class Command(Record):
    """A subcommand, all in one place: adding one is adding a row to `COMMANDS`.

    Attributes:
        name: what is typed. summary: its line in `helicone-filter --help`.
        description, examples: the top and bottom of its own --help.
        run: `run(args, input_text, now) -> exit code`.
        options: adds its own options to its argparse parser.
        reads: what its INPUT argument is; "" for a subcommand that reads no input. Those
            that read input also take --now.
        line: what --lines does with one line, `line(args, number, text, now) -> (result,
            failed, note for stderr)`; None for a subcommand without --lines.
        line_result: --lines' help: what each output line is.
        errors: --error-format's help; "" for a subcommand without --error-format and --color.
        warns: whether it warns on stderr about the filter it compiles (and takes --quiet).
        endpoint: whether it reads filters for an endpoint of Helicone, and so takes
            --endpoint/-e (`args.endpoint`, default user-metrics).
    """

    name: str
    summary: str
    description: str
    examples: str
    run: Callable[[argparse.Namespace, str, datetime | None], int]
    options: Callable[[argparse.ArgumentParser], None] = _no_options
    reads: str = ""
    line: Callable[[argparse.Namespace, int, str, datetime | None], LineResult] | None = None
    line_result: str = ""
    errors: str = ERRORS
    warns: bool = False
    endpoint: bool = False


_TEXT = "the filter text; '-' or none reads stdin"
_TEXT_OR_JSON = "filter text or FilterNode JSON; '-' or none reads stdin"

COMMANDS: tuple[Command, ...] = (
    Command(
        "compile",
        "filter text in, Helicone FilterNode JSON out",
        "Compile filter text into the FilterNode JSON that POST /v1/user/metrics/query takes "
        "(with -e requests, the filter of POST /v1/request/query-clickhouse).",
        """\
  helicone-filter compile 'user_cost > 5 and model ilike "gpt%"'
  helicone-filter 'cached and status >= 500'          (compile is the default)
  echo 'request_created_at >= now - 7d' | helicone-filter compile
  helicone-filter compile --now 2025-01-01T00:00:00Z 'user_last_active > now - 30d'
  helicone-filter compile --lines < examples/saved-filters.txt > filters.ndjson
  helicone-filter compile --quiet "$FILTER"           (no warnings on stderr)
  helicone-filter compile -e requests 'session_tag = "beta" or status >= 500'
""",
        filters.run_compile,
        filters.compile_options,
        _TEXT,
        filters.compile_line,
        "one JSON result",
        warns=True,
        endpoint=True,
    ),
    Command(
        "fmt",
        "filter text or JSON in, canonical text out",
        'Print a filter as canonical text. JSON input (starting with {, [ or ") is read as '
        "a FilterNode; text is compiled first, so `not` is pushed down and relative times are "
        "resolved, unless --as-written.",
        """\
  helicone-filter fmt 'NOT (Cost>1 AND model == "a")'
  echo '{"users_view": {"user_cost": {"gt": 5}}}' | helicone-filter fmt
  helicone-filter fmt --as-written 'request_created_at > now-7d and not cached'
""",
        filters.run_fmt,
        filters.fmt_options,
        _TEXT_OR_JSON,
        filters.fmt_line,
        "the canonical text as a JSON string",
        warns=True,
        endpoint=True,
    ),
    Command(
        "check",
        "filter text or JSON in, its problems out",
        "List every problem with a filter: errors (exit 1) and warnings about what Helicone "
        "would do unexpectedly (exit 0).",
        """\
  helicone-filter check 'model contains "gpt_4"'
  helicone-filter check < examples/saved-filter.json
  helicone-filter check --error-format json '{"users_view": {"user_cost": {"gt": "5"}}}'
  helicone-filter check --lines < examples/saved-filters.txt   (exit 1 if a line has an error)
""",
        filters.run_check,
        filters.check_options,
        _TEXT_OR_JSON,
        filters.check_line,
        '{"line": n, "problems": [...]}',
        errors=CHECK_ERRORS,
        endpoint=True,
    ),
    Command(
        "query",
        "filter in, the whole request body of POST /v1/user/metrics/query out (or sent)",
        "Build the UserMetricsQueryParams body: the filter (text, or FilterNode JSON), a page, "
        "an order and a time window. With --send, POST it to Helicone and print the users "
        "that match.",
        """\
  helicone-filter query 'user_cost > 5' --sort cost:desc --limit 20 --since 7d
  helicone-filter query 'model = "gpt-4o"' --since 2025-01-01 --until 2025-02-01
  helicone-filter query 'user_cost > 5' --sort cost:desc --send      (needs HELICONE_API_KEY)
  helicone-filter query 'model = "gpt-4o"' --since 7d --send --eu --json | jq '.users[].user_id'
  helicone-filter query 'user_cost > 5' | curl -sS https://api.helicone.ai/v1/user/metrics/query \\
      -H "Authorization: Bearer $HELICONE_API_KEY" -H 'Content-Type: application/json' -d @-
""",
        query.run_query,
        query.query_options,
        _TEXT_OR_JSON,
        warns=True,
        endpoint=True,
    ),
    Command(
        "export",
        "every request a filter selects, into a file (JSONL, JSON, CSV, Parquet), resumable",
        "Export every request the filter (text, or FilterNode JSON) selects between --since "
        "and --until from POST /v1/request/query-clickhouse: each request exactly once, paged "
        "by time, with a checkpoint beside the file so that --resume continues after Ctrl-C, "
        "a kill or a full disk. Needs HELICONE_API_KEY and the client extra: "
        f"{install_hint('client')}.",
        """\
  helicone-filter export 'model ilike "gpt-4%" and latency > 2000' \\
      --since 2025-01-01 --until 2025-02-01 -o requests.jsonl
  helicone-filter export 'properties.env = "prod"' --format csv --fields \\
      request_id,request_created_at,model,delay_ms,cost -o prod.csv
  helicone-filter export all --since 7d --bodies --jobs 4 -o week.parquet
  helicone-filter export all --since 7d -o week.parquet --resume     (after Ctrl-C or a kill)
  helicone-filter export 'status >= 500' --since 1d | jq -r .request_id
""",
        export.run_export,
        export.export_options,
        _TEXT_OR_JSON,
    ),
    Command(
        "sql",
        "filter in, a ClickHouse WHERE expression and its parameters out",
        "Write the filter as the ClickHouse SQL Helicone's backend runs, over a table with a "
        "column per field: a WHERE expression in which every value is a query parameter "
        "({p0:String}), and the parameters' values. JSON input (starting with {, [ or \") is "
        "read as a FilterNode.",
        """\
  helicone-filter sql 'model ilike "gpt%" and status = 200'
  helicone-filter sql --table-map request_response_rmt=logs.requests 'cached'
  helicone-filter sql --now 2025-06-01T00:00:00Z 'request_created_at > now - 7d' --compact
""",
        filters.run_sql,
        filters.sql_options,
        _TEXT_OR_JSON,
        warns=True,
        endpoint=True,
    ),
    Command(
        "fields",
        "the fields, their types and operators",
        "List every field a filter can test on an endpoint (--endpoint, default user-metrics): "
        "its table, its type and the operators it takes.",
        """\
  helicone-filter fields
  helicone-filter fields --json | jq -r '.[] | select(.type == "number") | .field'
  helicone-filter fields -e requests                (the request endpoints' fields)
""",
        filters.run_fields,
        filters.fields_options,
        errors="",
        endpoint=True,
    ),
    Command(
        "explain",
        "filter text in, the tree it compiles to out",
        "Show how a filter was read: the compiled tree, indented, each condition beside the "
        "text it came from (so `not`, `in` and precedence can be seen at work).",
        """\
  helicone-filter explain 'not (cost > 1 or cached) and model in ["a", "b"]'
""",
        filters.run_explain,
        reads=_TEXT,
        warns=True,
        endpoint=True,
    ),
    Command(
        "grep",
        "exported requests in, those a filter selects out (offline)",
        "Ask an export again: read exported requests (JSONL, CSV or Parquet, Helicone's field "
        "names) and write those the filter selects, in the same format, as Helicone's SQL "
        "would select them on the request endpoints. Large files run the filter's SQL in "
        f"chdb over the file ({install_hint('clickhouse')}).",
        """\
  helicone-filter grep 'model ilike "gpt-4%" and latency > 2000' requests.jsonl
  helicone-filter grep 'properties.env = "prod"' requests.csv -o prod.csv
  helicone-filter grep --count 'status >= 500' january.parquet february.parquet
  helicone-filter grep --engine clickhouse 'cost > 0.01' big.jsonl > costly.jsonl
""",
        grep.run_grep,
        grep.grep_options,
        "the filter text (of the request endpoints)",
        warns=True,
    ),
    Command(
        "serve",
        "the HTTP service for filter builders",
        "Serve compile, format, check, complete and diagnose as a JSON API. It needs the "
        f"server extra: {install_hint('server')}.",
        f"""\
  helicone-filter serve                          (http://{SERVICE_HOST}:{SERVICE_PORT})
  helicone-filter serve --port 9000 --cors-origin https://builder.example.com
  curl -s localhost:{SERVICE_PORT}/diagnose -H 'content-type: application/json' \\
       -d '{{"text": "modle = 1"}}'
""",
        sessions.run_serve,
        sessions.serve_options,
        errors="",
    ),
    Command(
        "completion",
        "the shell completion script for bash, zsh or fish",
        "Print the script that completes helicone-filter's commands and options in a shell.",
        """\
  helicone-filter completion bash > ~/.local/share/bash-completion/completions/helicone-filter
  helicone-filter completion zsh > ~/.zfunc/_helicone-filter    (a directory in $fpath)
  helicone-filter completion fish > ~/.config/fish/completions/helicone-filter.fish
""",
        _completion,
        _completion_options,
        errors="",
    ),
    Command(
        "repl",
        "the interactive prompt: completion and mistakes as you type, the JSON on Enter",
        "Explore filters at an interactive prompt: completion as you type, mistakes "
        "underlined, Enter prints the JSON; :sql, :body, :explain, :fields, :help, :quit (see "
        "docs/repl.md). When stdin is no terminal, its lines are run as if typed. It needs the "
        f"repl extra: {install_hint('repl')}.",
        """\
  helicone-filter repl
  helicone-filter repl --history        (kept in ~/.local/state/helicone-filter/history)
  helicone-filter repl --history my-filters.history --now 2025-06-01T00:00:00Z
""",
        sessions.run_repl,
        sessions.repl_options,
        errors="",
        endpoint=True,
    ),
)
SUBCOMMANDS = tuple(c.name for c in COMMANDS)
BY_NAME = {c.name: c for c in COMMANDS}
DEFAULT = "compile"  # `helicone-filter 'user_cost > 5'`, or a filter on stdin


def parser() -> Parser:
    """The command line's parser, made from the table."""
    from helicone_filter import __version__

    return build_parser(COMMANDS, DEFAULT, f"{PROG} {__version__}")
