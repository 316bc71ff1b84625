"""The `query` subcommand: the whole request body of an endpoint's query from a filter (text or
FilterNode JSON), a page, an order and a time window: POST /v1/user/metrics/query, or with
`--endpoint requests` POST /v1/request/query-clickhouse; with `--send`, that body sent to
Helicone and the page that comes back (users, or requests) printed as a table (or as JSON).

Its flags are the options of `facts/query_options.py`, one per name whatever the endpoints
taking it; a whole number's range is the chosen endpoint's, checked once the endpoint is known
(`--limit 0` is a page of no requests, but no page of users). The client (and httpx) is
imported only by `--send`.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helicone_filter.cli.arguments import add_output, seconds, source_of, whole
from helicone_filter.cli.exits import Exit, MissingDependency, UsageError
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
    p.set_defaults(query_error=p.error)  # the parser's own report of a flag's value, for run_query
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
        help="POST the body to Helicone and print the page as a table: the users, with the "
        "count of all that match, or with -e requests the requests",
    )
    send.add_argument(
        "--json",
        action="store_true",
        help="with --send: print Helicone's data as JSON (users, count, hasUsers; or the list "
        "of requests)",
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
    """The options of the body that have a flag, the first row of each name, in the table's
    order (the flag is one; its rows differ by endpoint in range and words)."""
    from helicone_filter.facts.query_options import QUERY_OPTIONS

    first: dict[str, QueryOption] = {}
    for option in QUERY_OPTIONS:
        if option.flag:
            first.setdefault(option.name, option)
    return tuple(first.values())


def _flag_settings(option: QueryOption) -> dict[str, Any]:
    """`add_argument`'s settings for an option's flag: its metavar, help and default; a whole
    number is read as text, and checked by `_flag_value` once the endpoint is known; a yes or
    no is a flag and its --no- form."""
    from helicone_filter.facts.query_options import rows_named

    rows = rows_named(option.name)
    settings: dict[str, Any] = {"help": _flag_help(rows), "default": option.default}
    if option.metavar is not None:
        settings["metavar"] = option.metavar
    if option.kind == "bool":
        settings["action"] = argparse.BooleanOptionalAction
    return settings


def _flag_help(rows: tuple[QueryOption, ...]) -> str:
    """A flag's help: its first row's, then each other endpoint's."""
    first, *others = rows
    if first.endpoints != ("user-metrics",):
        return f"{' and '.join(first.endpoints)} only: {first.help}"
    return "; ".join([first.help, *(f"with -e {' '.join(o.endpoints)}: {o.help}" for o in others)])


def _flag_value(args: argparse.Namespace, option: QueryOption) -> Any:
    """The value of `option`'s flag for the endpoint chosen (`option` is its row): a whole
    number checked in the row's range, as argparse would have, naming the flag and why the
    range is what it is (`argument --limit: '5000' is not a number of users per page: give 1
    to 1000 (Helicone answers at most 1,000 users a page)`)."""
    value = getattr(args, option.name)
    if option.kind != "whole" or not isinstance(value, str):
        return value
    assert option.low is not None
    try:
        return whole(option.what, option.low, option.high)(value)
    except argparse.ArgumentTypeError as e:
        why = f" ({option.why})" if option.why else ""
        args.query_error(f"argument {option.flag}: {e}{why}")
        raise  # not reached: the parser's error raises


def run_query(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    from helicone_filter.api.outputs import query_body
    from helicone_filter.backends.request_body import QueryError, endpoint_of
    from helicone_filter.facts.query_options import OPTIONS_BY_ENDPOINT

    endpoint = endpoint_of(args.endpoint)
    taken = OPTIONS_BY_ENDPOINT[endpoint]
    options = {}
    for option in _flagged():
        row = taken.get(option.name)
        if row is None:
            if getattr(args, option.name) != option.default:
                takers = [e for e, o in OPTIONS_BY_ENDPOINT.items() if option.name in o]
                raise UsageError(
                    f"{PROG}: error: {option.flag} applies to the {' and '.join(takers)} "
                    f"endpoint, not to {endpoint}"
                )
            continue
        options[option.name] = _flag_value(args, row)
    try:
        body = query_body(source_of(text).value, now=now, endpoint=endpoint, **options)
    except QueryError as e:
        raise UsageError(f"{PROG}: error: {e}") from None
    if args.send:
        return _send(args, body, endpoint)
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
            f"{PROG}: error: {', '.join(unused)} only apply with --send "
            "(without it, the body is printed and nothing is sent)"
        )
    print(dump(body, pretty(args)))
    warn(args, text, text_warnings(args, text, now))
    return Exit.OK


def _send(args: argparse.Namespace, body: dict[str, Any], endpoint: str) -> int:
    """`query --send`: the body to Helicone, the page back as a table or JSON (users, or with
    `-e requests` requests, as Helicone sends them)."""
    try:
        import httpx  # noqa: F401 - only to know that it is installed
    except ImportError:
        raise MissingDependency(
            f"--send needs httpx, in the client extra: {install_hint('client')}; nothing was sent"
        ) from None
    from helicone_filter.client import (
        HeliconeAPIError,
        check_api_key,
        endpoint_url,
        query_requests,
        send_query,
    )
    from helicone_filter.client.calls import Retries

    key = os.environ.get(API_KEY_ENV)
    if not key:
        state = "empty" if key == "" else "not set"
        raise UsageError(
            f"{PROG}: error: --send needs a Helicone API key in {API_KEY_ENV}, which is "
            f"{state} (export {API_KEY_ENV}=sk-...); nothing was sent"
        )
    timeout = CLIENT_TIMEOUT_SECONDS if args.timeout is None else args.timeout
    try:
        check_api_key(key)
    except HeliconeAPIError as e:
        raise UsageError(f"{PROG}: error: {API_KEY_ENV}: {e.message}") from None
    try:
        endpoint_url(args.base_url, eu=args.eu)
    except HeliconeAPIError as e:
        raise UsageError(f"{PROG}: error: --base-url: {e.message}") from None
    try:
        if endpoint == "requests":
            # The body as printed: its filter, page, order and isScored; tried again on a 429
            # or a 5xx within --timeout, as the export does.
            page = query_requests(
                body["filter"], api_key=key, base_url=args.base_url, eu=args.eu,
                limit=body["limit"], offset=body["offset"], sort=body.get("sort"),
                is_scored=body.get("isScored"), timeout=timeout, retries=Retries(deadline=timeout),
            )  # fmt: skip
            data: Any = page.data
            table = _requests_table(page.requests, body["offset"])
        else:
            users = send_query(
                body, api_key=key, base_url=args.base_url, eu=args.eu, timeout=timeout
            )
            data, table = users.data, _users_table(users.users, users.count, body["offset"])
    except HeliconeAPIError as e:
        report(args, e.message, api_error=e)
        return Exit.REQUEST_FAILED
    print(dump(data, pretty(args)) if args.json else table)
    return Exit.OK


def _requests_table(requests: list[Any], offset: int) -> str:
    """A page of requests as a plain table, newest first as Helicone sorts them."""
    if not requests:
        return "no requests on this page"
    rows = [[_cell(getattr(r, c), c) for c in _REQUEST_COLUMNS] for r in requests]
    shown = f"showing {offset + 1}-{offset + len(requests)}"
    return "\n".join([*_aligned(_REQUEST_COLUMNS, rows), "", shown])


# The columns of `query --send`, named as in Helicone's answer (and in --sort).
_USER_COLUMNS = ("user_id", "total_requests", "active_for", "cost", "first_active", "last_active")
_REQUEST_COLUMNS = (
    "request_id", "request_created_at", "model", "response_status", "delay_ms",
    "total_tokens", "cost",
)  # fmt: skip
_NUMERIC = frozenset(
    {"total_requests", "active_for", "cost", "response_status", "delay_ms", "total_tokens"}
)


def _users_table(users: list[dict[str, Any]], count: int | float, offset: int) -> str:
    """The users as a plain table, numbers aligned right, then how many match in all."""
    rows = [[_cell(u.get(c), c) for c in _USER_COLUMNS] for u in users]
    shown = f" (showing {offset + 1}-{offset + len(users)})" if users else ""
    lines = _aligned(_USER_COLUMNS, rows) if users else ["no users on this page"]
    return "\n".join([*lines, "", f"count: {_cell(count, 'count')}{shown}"])


def _aligned(columns: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    """A head row and the rows, each column as wide as its widest cell, numbers right."""
    from helicone_filter.errors import display_width

    rows = [list(columns), *rows]
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(columns))]
    lines = []
    for row in rows:
        cells = []
        for name, cell, width in zip(columns, row, widths, strict=True):
            pad = " " * (width - display_width(cell))
            cells.append(pad + cell if name in _NUMERIC else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


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
