"""The ways in: the one layer of public functions that take a user's filter (text, FilterNode
JSON, or either), read it once into the validated form (`helicone_filter.form`) by its front
end, and hand that to a backend. The faces (the package's facade, the command line, the
service, the client) call these; nothing below them imports this layer.

- `reading`: the door itself: `lower_text`, `read_filter`, `read_input` (text or JSON),
  `load_json`, `is_json_text`.
- `text`: `compile` and its kin, `check_text`.
- `filter_nodes`: FilterNode JSON from elsewhere: `check`, `validate`, `normalize`.
- `outputs`: either kind to one backend: `to_text`, `simplify`, `matches`, `to_clickhouse`,
  `query_body`.
- `diagnosis`: `diagnose` and `every_problem`, for editors.
- `local_table`: `LocalTable`, rows in ClickHouse's engine in this process (chdb), on which
  a filter's SQL runs.

The text side is imported here; the rest on first use (`from helicone_filter.api.outputs
import matches`), so that compiling text loads neither the checker nor the other backends.
"""

from __future__ import annotations

from helicone_filter.api.reading import (
    Input,
    checked_now,
    is_json_text,
    load_json,
    lower_text,
    read_filter,
    read_input,
)
from helicone_filter.api.text import (
    LeafSpan,
    Sources,
    check_depth,
    check_text,
    compile,  # noqa: A004 - the API's verb
    compile_explained,
    compile_with_sources,
    compile_with_spans,
    compile_with_warnings,
    text_problems,
    to_helicone,
)

__all__ = [
    "Input",
    "LeafSpan",
    "Sources",
    "check_depth",
    "check_text",
    "checked_now",
    "compile",
    "compile_explained",
    "compile_with_sources",
    "compile_with_spans",
    "compile_with_warnings",
    "is_json_text",
    "load_json",
    "lower_text",
    "read_filter",
    "read_input",
    "text_problems",
    "to_helicone",
]
