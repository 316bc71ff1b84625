"""A table of rows in ClickHouse's own engine, in this process (chdb), on which a user's filter
runs as the SQL `to_clickhouse` writes: the SQL tried for real, against `matches`.

It is a way in: `LocalTable.where` takes a user's filter (text or FilterNode JSON), reads it
once (`reading.read_filter`) and hands the validated form to the SQL writer
(`backends.clickhouse`, which also makes the table, `create_table`, and its rows, `row_json`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from helicone_filter.api.reading import read_filter
from helicone_filter.backends.clickhouse import (
    Params,
    create_table,
    param_text,
    quote_name,
    row_json,
    sql_of,
)
from helicone_filter.backends.row_matching import Row
from helicone_filter.defaults import install_hint
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT
from helicone_filter.facts.endpoints import endpoint as endpoint_named


class LocalTable:
    """Rows in ClickHouse's own engine, in this process (chdb): the filter's SQL run for real.

    Its columns are those of one endpoint's fields (`endpoint`: "user-metrics" by default,
    or "requests", whose rows also have `session_tags`, the tags of their session), and its
    filters are read for it.

    Example:
        >>> table = LocalTable([{"model": "gpt-4o"}, {"model": "claude"}])
        >>> table.where('model ilike "GPT%"')
        [0]
        >>> LocalTable([{"session_tags": ["a"]}], endpoint="requests").where('session_tag = "a"')
        [0]
    """

    _session: Any = None
    _count = 0

    def __init__(self, rows: Iterable[Row] = (), *, endpoint: str = DEFAULT_ENDPOINT) -> None:
        self.endpoint = endpoint_named(endpoint).name  # an unknown one is refused first
        if LocalTable._session is None:
            LocalTable._session = _session()
        LocalTable._count += 1
        self.name = f"helicone_filter_rows_{LocalTable._count}"
        self.size = 0
        self.query(create_table(self.name, endpoint=self.endpoint))
        self.insert(rows)

    def query(self, sql: str, params: Params | None = None) -> str:
        """Run any SQL on the engine, `params` bound; the result as JSON lines."""
        texts = {k: param_text(v) for k, v in (params or {}).items()}
        result = LocalTable._session.query(sql, "JSONEachRow", params=texts)
        return bytes(result.bytes()).decode()

    def insert(self, rows: Iterable[Row]) -> None:
        """Add rows (dicts keyed by bare column name, as `matches` takes them)."""
        lines = [row_json(self.size + i, r, endpoint=self.endpoint) for i, r in enumerate(rows)]
        if lines:
            self.query(
                f"INSERT INTO {quote_name(self.name)} FORMAT JSONEachRow\n" + "\n".join(lines)
            )
            self.size += len(lines)

    def where(self, node: Any, *, now: datetime | None = None) -> list[int]:
        """The numbers (0-based, in insertion order) of the rows a filter (text or FilterNode)
        selects, read for the table's endpoint."""
        sql, params = sql_of(read_filter(node, now=now, endpoint=self.endpoint))
        out = self.query(
            f"SELECT _row FROM {quote_name(self.name)} WHERE {sql} ORDER BY _row", params
        )
        return [json.loads(line)["_row"] for line in out.splitlines()]

    def drop(self) -> None:
        """Remove the table from the engine."""
        self.query(f"DROP TABLE IF EXISTS {quote_name(self.name)}")


def _session() -> Any:
    """chdb's in-process session, which every LocalTable shares.

    Raises:
        ImportError: chdb (the `clickhouse` extra) is not installed.
    """
    try:
        from chdb import session
    except ImportError:
        raise ImportError(f"LocalTable needs chdb: {install_hint('clickhouse')}") from None
    return session.Session()  # type: ignore[no-untyped-call]
