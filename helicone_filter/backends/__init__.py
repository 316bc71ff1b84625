"""The backends: each reads the validated form (`helicone_filter.form`) and writes Helicone's
JSON, the canonical text, SQL or a request body, or answers whether a row matches.

Backends are peers: they never import a front end or the ways in (`helicone_filter.api`).
The one backend tool that takes a user's filter itself, `clickhouse.LocalTable.where`, reads
it with `read_filter`, which the package installs as it loads (the ways in's own
`read_filter`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from helicone_filter.form import Filter

read_filter: Callable[..., Filter] | None = None
"""A filter as text or FilterNode JSON, in its validated form (`api.reading.read_filter`):
set by `helicone_filter/__init__.py`, which every import of the package runs first."""


def read(obj: Any, **options: Any) -> Filter:
    """`obj` read by the installed `read_filter`."""
    assert read_filter is not None, "helicone_filter installs read_filter as it loads"
    return read_filter(obj, **options)
