"""The subcommands that start something that runs until it is stopped: `serve` (the HTTP
service) and `repl` (the interactive prompt). Each imports what it starts only when run: the
service (Starlette, uvicorn, pydantic) and the REPL (prompt_toolkit) are no part of a one-shot
command.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from helicone_filter.cli.arguments import add_now, parse_now, whole
from helicone_filter.cli.exits import Exit, MissingDependency, UsageError
from helicone_filter.defaults import (
    MAX_BODY_LIMIT,
    PROG,
    SERVICE_HOST,
    SERVICE_MAX_BODY,
    SERVICE_PORT,
    install_hint,
)


def run_serve(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    try:
        from helicone_filter.service.running import serve
    except ImportError as e:
        raise MissingDependency(
            f"serve needs the server extra ({e.name} is missing): {install_hint('server')}"
        ) from None
    from helicone_filter.errors import printable
    from helicone_filter.service.running import ListenError

    def announce(line: str) -> None:
        print(f"{PROG}: {line}", file=sys.stderr, flush=True)

    try:
        serve(
            args.host,
            args.port,
            cors_origins=args.cors_origin,
            max_body=args.max_body_bytes,
            announce=announce,
        )
    except ListenError as e:
        print(f"{PROG}: error: {printable(str(e))}", file=sys.stderr)
        return Exit.CANNOT_LISTEN
    except ValueError as e:  # an option the service refuses before it listens (a CORS origin)
        raise UsageError(f"{PROG}: error: {e}") from None
    return Exit.OK


def serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--host", default=SERVICE_HOST, help=f"address to listen on (default {SERVICE_HOST})"
    )
    p.add_argument(
        "--port",
        type=whole("a port", 0, 65535),
        default=SERVICE_PORT,
        help=f"port (default {SERVICE_PORT}; 0: any free port)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an origin allowed to call the service from a browser (repeatable)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=whole("a number of bytes", 1, MAX_BODY_LIMIT),
        default=SERVICE_MAX_BODY,
        metavar="N",
        help=f"the largest request body accepted (default {SERVICE_MAX_BODY}, at most "
        f"{MAX_BODY_LIMIT})",
    )


def repl_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--history",
        nargs="?",
        const=True,
        metavar="FILE",
        help="keep the history of filters in FILE (without FILE: $XDG_STATE_HOME/"
        "helicone-filter/history, by default ~/.local/state/helicone-filter/history); "
        "without --history it lasts the session",
    )
    add_now(p)
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the problems printed: auto (default) on a terminal, or with FORCE_COLOR "
        "set; never with NO_COLOR set",
    )
    p.add_argument(
        "--values",
        metavar="FILE",
        help="known values that completion offers after a field's operator: a JSON object, "
        'field -> list of strings or numbers, e.g. {"model": ["gpt-4o"], "status": [200]}',
    )


def run_repl(args: argparse.Namespace, text: str, now: datetime | None) -> int:
    try:
        import prompt_toolkit  # noqa: F401 - only to know that it is installed
    except ImportError:
        raise MissingDependency(
            f"the repl needs prompt_toolkit, in the repl extra: {install_hint('repl')}"
        ) from None
    from helicone_filter.cli.repl import run

    color = {"always": True, "never": False}.get(args.color)
    values = _known_values(args.values) if args.values is not None else None
    return run(
        args.history, now=parse_now(args.now), color=color, endpoint=args.endpoint, values=values
    )


def _known_values(path: str) -> dict[str, list[str | int | float]]:
    """The known values of `--values FILE`: a JSON object, field -> list of strings or numbers.

    Raises:
        UsageError: the file cannot be read, is not JSON, or holds something else.
    """
    import json

    from helicone_filter.errors import printable

    def refuse(why: str) -> UsageError:
        return UsageError(f"{PROG} repl: error: --values: {printable(why)}")

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise UsageError(
            f"{PROG} repl: error: cannot read --values {printable(path)}: {e.strerror or e}"
        ) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise refuse(f"not JSON ({e})") from None
    if not isinstance(data, dict):
        raise refuse(
            'the file must hold a JSON object: field -> list of values, e.g. {"model": ["gpt-4o"]}'
        )
    for field, given in data.items():
        if not isinstance(given, list) or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in given
        ):
            raise refuse(f'{field!r} must be a list of strings or numbers, e.g. ["gpt-4o", 200]')
    return data
