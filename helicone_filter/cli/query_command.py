"""The `query` subcommand: the whole request body of POST /v1/user/metrics/query from a filter
(text or FilterNode JSON), a page, an order and a time window; with `--send`, that body sent to
Helicone and the page of users that match printed as a table (or as JSON).

The client (and httpx) is imported only by `--send`.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helicone_filter.cli.arguments import add_output, seconds, source_of, whole
from helicone_filter.cli.exits import Exit, UsageError
from helicone_filter.cli.filter_commands import text_warnings
from helicone_filter.cli.terminal import dump, pretty, report, warn
from helicone_filter.defaults import (
    API_KEY_ENV,
    CLIENT_TIMEOUT_SECONDS,
    HELICONE_BASE_URL,
    HELICONE_EU_BASE_URL,
    PROG,
    install_hint,
)

if TYPE_CHECKING:
    from helicone_filter.facts.query_options import QueryOption


def query_options(p: argparse.ArgumentParser) -> None:
    for option in _flagged():
        p.add_argument(option.flag, **_flag_settings(option))
    add_output(p)
    send = p.add_argument_group(
        "sending it",
        "With --send the body goes to Helicone with the API key in the environment variable "
        f"{API_KEY_ENV}. Exit 3 when no users come back: Helicone refused the request or "
        "failed, or did not answer in time. Sending needs the client extra: "
        f"{install_hint('client')}.",
    )
    send.add_argument(
        "--send",
        action="store_true",
        help="POST the body to Helicone and print the page of users as a table, with the "
        "count of all that match",
    )
    send.add_argument(
        "--json",
        action="store_true",
        help="with --send: print Helicone's data object (users, count, hasUsers) as JSON",
    )
    host = send.add_mutually_exclusive_group()
    host.add_argument(
        "--eu",
        action="store_true",
        help=f"send to the EU host, {HELICONE_EU_BASE_URL}, as EU accounts must",
    )
    host.add_argument(
        "--base-url",
        metavar="URL",
        help=f"send to another API host, e.g. a self-hosted Helicone (default {HELICONE_BASE_URL})",
    )
    send.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="give up when the whole call (connecting, sending, reading all of the answer) "
        f"takes longer (default {CLIENT_TIMEOUT_SECONDS:g})",
    )


def _flagged() -> tuple[QueryOption, ...]:
    """The options of the body that have a flag, in the table's order."""
    from helicone_filter.facts.query_options import QUERY_OPTIONS

    return tuple(option for option in QUERY_OPTIONS if option.flag)


def _flag_settings(option: QueryOption) -> dict[str, Any]:
    """`add_argument`'s settings for an option's flag: its metavar, help and default, and for a
    whole number a type that checks its range (up to `high` only where the flag says it)."""
    settings: dict[str, Any] = {"help": option.help, "default": option.default}
    if option.metavar is not None:
        settings["metavar"] = option.metavar
    if option.kind == "whole":
        assert option.low is not None
        high = option.high if option.flag_high else None
        settings["type"] = whole(option.what, option.low, high)
    return settings


def run_query(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.api.outputs import query_body
    from helicone_filter.backends.request_body import QueryError

    try:
        options = {option.name: getattr(args, option.name) for option in _flagged()}
        body = query_body(source_of(text).value, now=now, **options)
    except QueryError as e:
        raise UsageError(f"{PROG} query: error: {e}") from None
    if args.send:
        return _send(args, body)
    unused = [
        option
        for option, value in (
            ("--json", args.json),
            ("--eu", args.eu),
            ("--base-url", args.base_url),
            ("--timeout", args.timeout),
        )
        if value not in (False, None)
    ]
    if unused:
        raise UsageError(
            f"{PROG} query: error: {', '.join(unused)} only apply with --send "
            "(without it, the body is printed and nothing is sent)"
        )
    print(dump(body, pretty(args)))
    warn(args, text, text_warnings(args, text, now))
    return Exit.OK


def _send(args: argparse.Namespace, body: dict[str, Any]) -> int:
    """`query --send`: the body to Helicone, the users back as a table or JSON."""
    from helicone_filter.client import (
        HeliconeAPIError,
        check_api_key,
        endpoint_url,
        send_query,
    )

    key = os.environ.get(API_KEY_ENV)
    if not key:
        state = "empty" if key == "" else "not set"
        raise UsageError(
            f"{PROG} query: error: --send needs a Helicone API key in {API_KEY_ENV}, which is "
            f"{state} (export {API_KEY_ENV}=sk-...); nothing was sent"
        )
    timeout = CLIENT_TIMEOUT_SECONDS if args.timeout is None else args.timeout
    try:
        check_api_key(key)
    except HeliconeAPIError as e:
        raise UsageError(f"{PROG} query: error: {API_KEY_ENV}: {e.message}") from None
    try:
        endpoint_url(args.base_url, eu=args.eu)
    except HeliconeAPIError as e:
        raise UsageError(f"{PROG} query: error: --base-url: {e.message}") from None
    try:
        page = send_query(body, api_key=key, base_url=args.base_url, eu=args.eu, timeout=timeout)
    except HeliconeAPIError as e:
        report(args, e.message, api_error=e)
        return Exit.REQUEST_FAILED
    if args.json:
        print(dump(page.data, pretty(args)))
    else:
        print(_users_table(page.users, page.count, body["offset"]))
    return Exit.OK


# The columns of `query --send`, named as in Helicone's answer (and in --sort).
_USER_COLUMNS = ("user_id", "total_requests", "active_for", "cost", "first_active", "last_active")
_NUMERIC = frozenset({"total_requests", "active_for", "cost"})


def _users_table(users: list[dict[str, Any]], count: int | float, offset: int) -> str:
    """The users as a plain table, numbers aligned right, then how many match in all."""
    from helicone_filter.errors import display_width

    rows = [list(_USER_COLUMNS)] + [[_cell(u.get(c), c) for c in _USER_COLUMNS] for u in users]
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(_USER_COLUMNS))]
    lines = []
    for row in rows:
        cells = []
        for name, cell, width in zip(_USER_COLUMNS, row, widths, strict=True):
            pad = " " * (width - display_width(cell))
            cells.append(pad + cell if name in _NUMERIC else cell + pad)
        lines.append("  ".join(cells).rstrip())
    shown = f" (showing {offset + 1}-{offset + len(users)})" if users else ""
    if not users:
        lines = ["no users on this page"]
    return "\n".join([*lines, "", f"count: {_cell(count, 'count')}{shown}"])


def _cell(value: Any, column: str) -> str:
    """A value of Helicone's answer as table text: money to the micro-dollar, whole numbers
    without a fraction, and nothing that a terminal would take as a control sequence."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int | float):
        if column == "cost":
            return f"{value:.6f}"
        return str(int(value)) if float(value).is_integer() else f"{value:g}"
    from helicone_filter.errors import printable

    return printable(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def _sort_keys() -> tuple[str, ...]:
    from helicone_filter.facts.schema import SORT_KEYS

    return SORT_KEYS
