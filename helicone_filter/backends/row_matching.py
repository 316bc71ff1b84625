"""What Helicone's SQL answers for one row, evaluated in Python (`matches` of the ways in).

A row is a dict keyed by bare column name; map columns are dicts; timestamps are ISO 8601
strings or datetimes; request `cost` is in dollars; None, or a missing column, is SQL NULL. As
in SQL a comparison with NULL is false, and only equals/not-equals "null" (is null / is not
null) and equals "__empty__" (is empty) look at it. Each condition is read as Helicone's SQL
reads it on its own table (docs/helicone.md; each column family of `columns.py` reads its
columns so, and `columns.compared` gives the bound):

- equals / not-equals: `=` / `!=`, case-sensitive; on text columns "null" means IS NULL /
  IS NOT NULL and equals "__empty__" means empty (the empty string, the all-zero UUID).
- like / ilike: the SQL pattern as given; `%` is any run, `_` one character, `\\` escapes
  `%`, `_` and itself (before anything else it is a literal backslash).
- contains / not-contains: ILIKE / NOT ILIKE '%' || v || '%', so `%` and `_` in v are
  wildcards too; "null" under like / ilike is SQL null and matches nothing.
- Numbers: a whole bound is the 32-bit integer Helicone binds (wrapped past its range); request
  cost compares the row's nano-dollars, `round(cost * 1e9)`, with `Math.floor(v * 1e9)`.
- Timestamps: the bound in whole seconds, clamped to 1970-01-01 .. 2106-02-07; the row's
  request times to the millisecond, per-user times (users_view) to the second.
- UUIDs (request_id, organization_id, cache_reference_id) compare as UUIDs, in any case.
- properties[k]: a missing key reads as ''. scores[k]: `has(scores, k) AND scores[k] op v`, the
  value read as an Int64 ("+1" is 1). scores_column: the whole map, item by item, in order.
- `cached`: the row's `cached`, or else whether `cache_reference_id` is not all zeros.
  `helicone-score-feedback`: the row's value (true is 1), or else
  `scores['helicone-score-feedback']`, which is 0 when missing.
- `property_key = k` is true when the row's `properties` has the key k.
- A value a column cannot hold (a string for a number, a timestamp that does not read, a score
  that is no whole number) raises RowError: the row, not the filter, is wrong.
- A leaf with several tables ands them. A leaf with several columns, keys or operators keeps
  only the one Helicone keeps (the first; for request_response_rmt the first of property_key,
  properties, search_properties, scores, cached, cost).
"""

from __future__ import annotations

from typing import Any

from helicone_filter.errors import RowError
from helicone_filter.facts.columns import Row as Row  # the type of a row, for the backends
from helicone_filter.facts.columns import family_of, shown
from helicone_filter.facts.schema import Field
from helicone_filter.form import Chain, Condition, Filter, fold


def row_value(field: Field, row: Row) -> Any:
    """The value a row holds for a field's column as Helicone's SQL reads it (None is NULL):
    nano-dollars for request cost, milliseconds (request times) or seconds (per-user times)
    since 1970, UUIDs as numbers, `cached` and `helicone-score-feedback` as Helicone derives
    them (the field's family reads it: `columns.FAMILIES`)."""
    return family_of(field).read(field, row)


def condition_matches(c: Condition, row: Row) -> bool:
    """One condition on one row, as Helicone's SQL would answer it (its field's family
    answers: `columns.FAMILIES`)."""
    return family_of(c.field).matches(c, row)


def filter_matches(node: Filter, row: Row) -> bool:
    """Whether Helicone's SQL selects `row` with a filter in its validated form (a condition
    Helicone drops counts as true)."""

    def leaf(c: Condition) -> bool:
        return not c.kept or condition_matches(c, row)

    def chain(c: Chain, results: list[bool]) -> bool:
        return all(results) if c.op == "and" else any(results)

    return fold(node, leaf, chain, True)


def checked_row(row: Any) -> Row:
    """`row` itself, or RowError when it is not a dict."""
    if not isinstance(row, dict):
        raise RowError(f"a row is a dict keyed by column name, not {shown(row)}")
    return row
