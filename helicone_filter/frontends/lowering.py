"""AST to the validated form (ir.py): checks every condition, pushes `not` down, joins the
chains.

One pass over the tree, without recursion, collects every problem before it gives up. Each
maximal run of one operator becomes one chain (docs/language.md, "Chains"); its JSON shape is
helicone_json's business. The names it takes are those of one endpoint of Helicone
(`schema.schema_of`): a name of another endpoint, a table the endpoint cannot run or a column it
drops is refused with what Helicone does, and `or` across tables only where the endpoint's
query refuses it.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from helicone_filter.errors import Edits, FilterValidationError, Problem, make_problem
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT, SESSIONS_REQUEST_RESPONSE_RMT
from helicone_filter.facts.quoting import quote
from helicone_filter.facts.schema import (
    ALLOWED_OPERATORS,
    EMPTY_MAGIC,
    MAX_SAFE_INTEGER,
    NEGATED_OPERATOR,
    NULL_MAGIC,
    OPERATOR_JSON,
    TABLE_BITS,
    EndpointSchema,
    Field,
    Kind,
    schema_of,
)
from helicone_filter.facts.semantics import (
    ZERO_UUID,
    Quirk,
    dropped_column,
    operator_not_allowed,
    or_across_tables,
    other_endpoint,
    plain_text_value,
    read_condition,
    refused_table,
    unknown_column,
    unknown_table,
    wrong_type,
)
from helicone_filter.facts.timestamps import canonical_timestamp, format_timestamp, relative
from helicone_filter.form import ALL, Condition, Filter, join
from helicone_filter.frontends.syntax_tree import (
    All,
    And,
    Comparison,
    FieldRef,
    Group,
    Node,
    Not,
    Or,
    Value,
)

Span = tuple[int, int]
# The `not`s and parentheses around a node: their span, and whether the node was negated
# outside them.
Wrap = tuple[int, int, bool]
JSON = Any


# A lowered piece of the tree, as a plain tuple (one per condition, so it must be cheap): the
# piece (None where it failed), one condition on each table below it for messages, and whether
# an or-across-tables problem was reported below.
Item = tuple[Filter | None, Condition | None, Condition | None, bool]


class _Lowerer:
    def __init__(self, text: str, now: datetime, schema: EndpointSchema) -> None:
        self.schema = schema
        self.resolved = _RESOLVED.setdefault(schema.name, {})
        self.text = text
        # Helicone compares whole seconds, so `now` means the current second.
        self.now = now.replace(microsecond=0)
        self.problems: list[Problem] = []
        # The comparison being lowered, as it stands in its chain: the span of the `not`s and
        # parentheses around it (None: none), and whether a `not` outside them turned it around.
        self.operand: Span | None = None
        self.turned = False
        # (code, message, start, end, hint) of each warning, when they are wanted.
        self.warnings: list[tuple[str, str, int, int, str]] | None = None

    def problem(
        self, code: str, message: str, start: int, end: int, hint: str = "", fix: Edits = ()
    ) -> None:
        """Report a problem, with the edits that mend it where they are clear."""
        fixes = (fix,) if fix else ()
        self.problems.append(make_problem(self.text, code, message, start, end, hint, fixes))

    def source(self, start: int, end: int, limit: int = 40) -> str:
        s = " ".join(self.text[start:end].split())
        return s if len(s) <= limit else s[: limit - 1] + "…"

    # -- the walk ------------------------------------------------------------------------------

    def run(self, root: Node) -> Filter:
        # Frames: (node, negated, inside a chain, where its lowered operands start on `out` (-1:
        # not yet lowered), and the outermost `not` or parentheses wrapping the node: its span
        # and whether the node was negated outside it. A chain's problems point there, so that
        # the `not` which turned an `and` into an `or` is part of what is underlined; a
        # condition records it as where it stands in its chain.)
        todo: list[tuple[Node, bool, bool, int, Wrap | None]] = [(root, False, False, -1, None)]
        out: list[Item] = []
        while todo:
            node, neg, in_chain, mark, wrap = todo.pop()
            if isinstance(node, Comparison):
                self.operand, self.turned = (wrap[:2], wrap[2]) if wrap else (None, neg)
                out.append(self.leaf(node, neg))
                self.operand = None
            elif isinstance(node, (And, Or)):
                operands = node.operands
                if mark >= 0:
                    # Conditions are lowered here, in order; the other operands were lowered
                    # first and wait on `out` from `mark` on, in order too.
                    lowered = iter(out[mark:])
                    del out[mark:]
                    leaf = self.leaf
                    self.turned = neg  # of the conditions of `operands`, written as they stand
                    items = [
                        leaf(c, neg) if type(c) is Comparison else next(lowered) for c in operands
                    ]
                    op = "and" if (type(node) is And) != neg else "or"
                    start, end = (wrap[0], wrap[1]) if wrap else (node.start, node.end)
                    out.append(self.chain(op, items, start, end))
                else:
                    todo.append((node, neg, in_chain, len(out), wrap))
                    todo.extend(
                        [
                            (c, neg, True, -1, None)
                            for c in reversed(operands)
                            if type(c) is not Comparison
                        ]
                    )
            elif isinstance(node, Group):
                todo.append((node.inner, neg, in_chain, -1, wrap or (node.start, node.end, neg)))
            elif isinstance(node, Not):
                wrap = wrap or (node.start, node.end, neg)
                todo.append((node.operand, not neg, in_chain, -1, wrap))
            else:
                out.append(self.all(node, neg, in_chain))
        if self.problems:
            self.problems.sort(key=lambda p: (p.start, p.end))
            raise FilterValidationError(self.problems, self.text)
        result = out[0][0]
        assert result is not None
        return result

    def all(self, node: All, neg: bool, in_chain: bool) -> Item:
        if in_chain:
            self.problem(
                "all-combined",
                "'all' cannot be combined with other conditions",
                node.start,
                node.end,
                "'all' matches everything: remove it, or remove the rest",
            )
        elif neg:
            self.problem(
                "not-negatable",
                "'not all' would match nothing, and Helicone has no such filter",
                node.start,
                node.end,
                "remove the 'not'",
            )
        return _ALL_ITEM

    def chain(self, op: str, items: list[Item], start: int, end: int) -> Item:
        nodes: list[Filter] = []
        ex_users: Condition | None = None
        ex_rmt: Condition | None = None
        reported = bad = False
        for node, users, rmt, below in items:
            if node is None:
                bad = True
            else:
                nodes.append(node)
            ex_users = ex_users or users
            ex_rmt = ex_rmt or rmt
            reported = reported or below
        if (
            op == "or"
            and ex_users
            and ex_rmt
            and not reported
            and self.schema.endpoint.refuses_or_across_tables
        ):
            reported = True
            message, hint = or_across_tables(
                self.source(ex_users.start, ex_users.end), self.source(ex_rmt.start, ex_rmt.end)
            )
            self.problem("or-across-tables", message, start, end, hint)
        return (None if bad else join(op, nodes), ex_users, ex_rmt, reported)

    # -- one condition -------------------------------------------------------------------------

    def leaf(self, node: Comparison, neg: bool) -> Item:
        ref = node.field
        cache = self.resolved
        resolved = cache.get((ref.parts, ref.key))
        if resolved is None:
            found = self.resolve(ref)
            if found is None:
                return _BAD_ITEM
            if len(cache) > 10_000:  # map keys are the user's: keep the cache bounded
                cache.clear()
            resolved = cache[(ref.parts, ref.key)] = _resolved(*found)
        field, key, kind, _, plain = resolved
        op = node.op
        raw = node.value
        if not neg and type(raw) is Value:
            json_op = plain.get(op)
            if json_op is not None:
                # The common case: one value, an operator that is its own JSON operator.
                converted = raw.value
                if raw.kind != "string" or kind not in _TEXT_KINDS:
                    converted = self.value(kind, ref, op, raw)
                    if converted is _BAD:
                        return _BAD_ITEM
                return self.make_leaf(resolved, json_op, converted, node, raw)
        if op not in ALLOWED_OPERATORS[kind]:
            self.operator_not_allowed(node, field, key)
            return _BAD_ITEM
        values: list[JSON] = []
        written: list[Value | None] = []  # where each value is, for problems about it
        if isinstance(raw, tuple):
            if not raw:
                self.problem(
                    "empty-list",
                    f"'{op} []' has no values",
                    node.start,
                    node.end,
                    "put at least one value between the brackets",
                )
                return _BAD_ITEM
            ok = True
            for v in raw:
                converted = self.value(kind, ref, op, v)
                ok = ok and converted is not _BAD
                values.append(converted)
                written.append(v)
            if not ok:
                return _BAD_ITEM
        elif raw is not None:
            converted = self.value(kind, ref, op, raw)
            if converted is _BAD:
                return _BAD_ITEM
            values.append(converted)
            written.append(raw)

        if op == "is null":
            op, values, written = "=", [NULL_MAGIC], [None]
        elif op == "is not null":
            op, values, written = "!=", [NULL_MAGIC], [None]
        elif op == "is empty":
            if neg:
                name = self.source(ref.start, ref.end)
                return self.not_negatable(
                    node, f"write {name} != {_not_empty(field)} for a non-empty value"
                )
            op, values, written = "=", [EMPTY_MAGIC], [None]

        if kind == "boolean":
            truth = (bool(values[0]) != (op == "!=")) != neg
            return self.make_leaf(resolved, "equals", truth, node, written[0])
        if neg:
            if kind == "text" and op in ("=", "!=", "in", "not in") and EMPTY_MAGIC in values:
                name = self.source(ref.start, ref.end)
                # Helicone reads equals "__empty__" as empty(col) but not-equals as the literal
                # string, so neither is the other's opposite.
                return self.not_negatable(
                    node,
                    f'"{EMPTY_MAGIC}" means empty to Helicone; write {name} != {_not_empty(field)}',
                )
            if kind == "property_key":
                return self.not_negatable(node, "property_key takes only '='; drop the 'not'")
            if field.family == "session_tag":
                return self.not_negatable(
                    node,
                    "Helicone selects a request when any tag of its session passes the test, "
                    "so != and not contains are no opposites here; drop the 'not'",
                )
            if op not in NEGATED_OPERATOR:  # like, ilike
                name = self.source(ref.start, ref.end)
                return self.not_negatable(
                    node,
                    f"Helicone has no 'not {op}'; for a substring test write "
                    f'{name} not contains "..."',
                )
            op = NEGATED_OPERATOR[op]
        if kind == "timestamp" and op == "!=":
            first = self.make_leaf(resolved, "lt", values[0], node, written[0])
            if first is _BAD_ITEM:
                return first
            parts = [first, self.make_leaf(resolved, "gt", values[0], node, written[0], True)]
            return self.chain("or", parts, node.start, node.end)
        if op in ("in", "not in"):
            json_op = "equals" if op == "in" else "not-equals"
            if len(values) == 1:
                return self.make_leaf(resolved, json_op, values[0], node, written[0])
            # One column, so one table: the chain needs no checking.
            items = [
                self.make_leaf(resolved, json_op, v, node, w)
                for v, w in zip(values, written, strict=True)
            ]
            if _BAD_ITEM in items:
                return _BAD_ITEM
            joined = join("or" if op == "in" else "and", [item[0] for item in items])  # type: ignore[misc]
            return (joined, *items[0][1:3], False)
        return self.make_leaf(resolved, OPERATOR_JSON[op], values[0], node, written[0])

    def make_leaf(
        self,
        resolved: _Resolved,
        json_op: str,
        value: JSON,
        node: Comparison,
        written: Value | None = None,
        quiet: bool = False,
    ) -> Item:
        """The leaf `{json_op: value}` on the resolved field, after Helicone's rules for it
        (`written` is the value as written, for where a problem is; `quiet` skips warnings
        already given for the same value)."""
        field, key, kind, table_bit, _ = resolved
        if key == "__proto__" or not plain_text_value(field.family, kind, json_op, value):
            reading = read_condition(field, key, json_op, value, text=True)
            if reading.quirks and self.quirks(reading.quirks, node, written, quiet):
                return _BAD_ITEM
        c = Condition(field, key, json_op, value, node.start, node.end)
        if self.operand is not None:
            c.operand = self.operand
        if self.turned:
            c.turned = True
        return (c, c, None, False) if table_bit == 1 else (c, None, c, False)

    def quirks(
        self, quirks: list[Quirk], node: Comparison, written: Value | None, quiet: bool
    ) -> bool:
        """Report what Helicone does with a condition; whether any of it is an error."""
        bad = False
        for q in quirks:
            if q.severity == "error":
                bad = True
                if q.where in ("field", "column"):
                    start, end = node.field.start, node.field.end
                elif q.where == "value" and written is not None:
                    start, end = written.start, written.end
                else:
                    start, end = node.start, node.end
                fix: Edits = ()
                if q.code == "like-trailing-escape" and self.text[end - 1 : end] in ("'", '"'):
                    fix = ((end - 1, end - 1, "\\\\"),)  # a second backslash: a literal one
                self.problem(q.code, q.message, start, end, q.hint, fix)
            elif self.warnings is not None and not quiet:
                self.warnings.append((q.code, q.message, node.start, node.end, q.hint))
        return bad

    def not_negatable(self, node: Comparison, hint: str) -> Item:
        self.problem(
            "not-negatable",
            f"'not' cannot apply to {self.source(node.start, node.end)}: Helicone has no "
            f"opposite of '{node.op}' here",
            node.start,
            node.end,
            hint,
        )
        return _BAD_ITEM

    def operator_not_allowed(self, node: Comparison, field: Field, key: str | None) -> None:
        allowed = ", ".join(ALLOWED_OPERATORS["map" if key is not None else field.kind])
        message, hint = operator_not_allowed(field, key, node.op, allowed)
        self.problem("operator-not-allowed", message, node.start, node.end, hint)

    # -- names ---------------------------------------------------------------------------------

    def resolve(self, ref: FieldRef) -> tuple[Field, str | None] | None:
        """The column and map key that `ref` names, or None after reporting why not."""
        parts = list(ref.parts)
        start, end = ref.start, ref.end
        table: str | None = None
        schema = self.schema
        if len(parts) >= 2 and parts[0] in schema.tables:
            table = parts.pop(0)
        name = parts[0]
        field = schema.fields.get(name)
        if field is None or (table is not None and field.table != table):
            self.unknown_field(ref, table, name)
            return None
        rest = parts[1:]
        key = ref.key
        if field.kind == "map":
            if (rest and key is not None) or len(rest) > 1:
                joined = ".".join(rest + ([key] if key is not None else []))
                self.problem(
                    "invalid-map-key",
                    f"'{self.source(start, end)}' names a key in more than one way",
                    start,
                    end,
                    f"a key with dots goes in brackets: {name}[{quote(joined)}]",
                )
                return None
            if rest:
                key = rest[0]
            if key is None:
                self.problem(
                    "missing-map-key",
                    f"{name} is a map; say which key to test",
                    start,
                    end,
                    f'write {name}.environment or {name}["my key"]',
                )
                return None
            return field, key
        if rest or key is not None:
            self.problem(
                "not-a-map",
                f"{name} is a {field.kind_label} column, not a map, so it has no keys",
                start,
                end,
                f"only {', '.join(_maps(schema))} take keys",
            )
            return None
        return field, None

    def unknown_field(self, ref: FieldRef, table: str | None, name: str) -> None:
        start, end = ref.start, ref.end
        elsewhere = self.elsewhere(ref, table, name)
        if elsewhere is not None:
            self.problem(elsewhere.code, elsewhere.message, start, end, elsewhere.hint)
            return
        if table is None and len(ref.parts) >= 2 and ref.parts[1] in self.schema.fields:
            message, hint, near = unknown_table(ref.parts[0], self.schema)
            table_end = start + len(self.text[start:end].split(".")[0].rstrip())
            fix = ((start, table_end, near),) if near else ()
            self.problem("unknown-table", message, start, end, hint, fix)
            return
        written = name if table is not None else self.source(start, end)
        message, hint, near = unknown_column(written, table, self.schema)
        self.problem(
            "unknown-field", message, start, end, hint, ((start, end, near),) if near else ()
        )

    def elsewhere(self, ref: FieldRef, table: str | None, name: str) -> Quirk | None:
        """The error for a name this endpoint refuses though Helicone knows it: a table or a
        field of another endpoint, a table it cannot run, a column it drops; or None."""
        schema = self.schema
        if table is None and len(ref.parts) >= 2:
            found = refused_table(ref.parts[0], schema)
            if found is not None:
                return found
        if table in (None, SESSIONS_REQUEST_RESPONSE_RMT):
            found = dropped_column(SESSIONS_REQUEST_RESPONSE_RMT, name, schema)
            if found is not None:
                return found
        return other_endpoint(name, schema)

    # -- values --------------------------------------------------------------------------------

    def value(self, kind: str, ref: FieldRef, op: str, v: Value) -> JSON:
        """The JSON value for `v` on a field of this kind, or _BAD after reporting why not."""
        if kind in _TEXT_KINDS:
            if v.kind == "string":
                return v.value
            name, written = self.source(ref.start, ref.end), self.text[v.start : v.end]
            quoted = ((v.start, v.end, quote(written)),)
            return self.wrong_type(v, name, kind, f"quote it: {name} {op} {quote(written)}", quoted)
        if kind == "number":
            if v.kind == "number":
                num = v.value
                assert isinstance(num, (int, float))
                if isinstance(num, int) and abs(num) > MAX_SAFE_INTEGER:
                    return self.out_of_range(v, "beyond ±(2^53 − 1), where JavaScript loses digits")
                if isinstance(num, float) and not math.isfinite(num):
                    return self.out_of_range(v, "too large for a double")
                return num
            name = self.source(ref.start, ref.end)
            unquoted: Edits = ()
            if v.kind == "string" and _is_number(str(v.value)):
                hint = f"write the number without quotes: {name} {op} {v.value}"
                unquoted = ((v.start, v.end, str(v.value).strip()),)
            else:
                hint = f"write a number, e.g. {name} {op} 5 or {name} {op} 0.25"
            return self.wrong_type(v, name, kind, hint, unquoted)
        if kind == "timestamp":
            if v.kind == "string":
                canonical = canonical_timestamp(str(v.value))
                if canonical is None:
                    self.problem(
                        "invalid-timestamp",
                        f"{self.text[v.start : v.end]} is not a date or time Helicone accepts",
                        v.start,
                        v.end,
                        'write an ISO 8601 date or date-time, e.g. "2024-01-31", '
                        '"2024-01-31T12:00:00Z", or a relative time: now - 7d',
                    )
                    return _BAD
                return canonical
            if v.kind == "now":
                assert isinstance(v.value, str)
                moment = relative(self.now, v.value)
                if moment is None:
                    self.problem(
                        "invalid-timestamp",
                        f"{self.text[v.start : v.end]} falls before the year 1",
                        v.start,
                        v.end,
                        "use a shorter duration",
                    )
                    return _BAD
                return format_timestamp(moment)
            name = self.source(ref.start, ref.end)
            return self.wrong_type(
                v,
                name,
                kind,
                f'write {name} {op} "2024-01-31T00:00:00Z" or {name} {op} now - 7d '
                "(Helicone refuses unix numbers)",
            )
        # boolean
        if v.kind == "boolean":
            return v.value
        name = self.source(ref.start, ref.end)
        return self.wrong_type(v, name, kind, f"write {name} = true or {name} = false")

    def wrong_type(self, v: Value, name: str, kind: str, hint: str, fix: Edits = ()) -> JSON:
        what = {"string": "a string", "number": "a number", "boolean": "a boolean", "now": "a time"}
        q = wrong_type(name, kind, what[v.kind], hint)
        self.problem(q.code, q.message, v.start, v.end, q.hint, fix)
        return _BAD

    def out_of_range(self, v: Value, why: str) -> JSON:
        self.problem(
            "number-out-of-range",
            f"{self.text[v.start : v.end]} is {why}",
            v.start,
            v.end,
            "write a smaller number",
        )
        return _BAD


_BAD: Any = object()
_BAD_ITEM: Item = (None, None, None, False)
_ALL_ITEM: Item = (ALL, None, None, False)
_TEXT_KINDS = frozenset({"text", "map", "property_key"})

# A resolved field reference: the column, the map key, the kind of what is compared ("map"
# for a map key), the column's table as TABLE_BITS, and _PLAIN for that kind.
_Resolved = tuple[Field, str | None, Kind, int, dict[str, str]]
# Field references already resolved, per endpoint: (parts, key) -> _Resolved.
_RESOLVED: dict[str, dict[tuple[tuple[str, ...], str | None], _Resolved]] = {}


# The common case, kind -> operator -> JSON operator: the operator applies to the kind and is
# its own JSON operator, one value, no `not` (timestamp != becomes two conditions, and a
# boolean's = / != is folded into `equals`).
_PLAIN: dict[Kind, dict[str, str]] = {
    kind: {
        op: OPERATOR_JSON[op]
        for op in allowed
        if op in OPERATOR_JSON and kind != "boolean" and (kind, op) != ("timestamp", "!=")
    }
    for kind, allowed in ALLOWED_OPERATORS.items()
}


def _resolved(field: Field, key: str | None) -> _Resolved:
    kind: Kind = "map" if key is not None else field.kind
    return (field, key, kind, TABLE_BITS[field.table], _PLAIN[kind])


def _not_empty(field: Field) -> str:
    """What a non-empty value is not, as text: "", or the all-zero UUID for a UUID column."""
    return f'"{ZERO_UUID}"' if field.family == "uuid" else '""'


def _maps(schema: EndpointSchema) -> list[str]:
    """The map fields of an endpoint."""
    return [name for name, f in schema.fields.items() if f.kind == "map"]


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def lower(root: Node, text: str, *, now: datetime, endpoint: str = DEFAULT_ENDPOINT) -> Filter:
    """Lower a parsed filter to its validated form, for an endpoint of Helicone.

    Raises:
        FilterValidationError: with every problem found, sorted by position.
        ValueError: an unknown endpoint.
    """
    return _Lowerer(text, now, schema_of(endpoint)).run(root)


def lower_with_warnings(
    root: Node, text: str, *, now: datetime, endpoint: str = DEFAULT_ENDPOINT
) -> tuple[Filter, list[Problem]]:
    """`lower`, and the warnings about what Helicone will do unexpectedly with the result."""
    lowerer = _Lowerer(text, now, schema_of(endpoint))
    lowerer.warnings = []
    result = lowerer.run(root)
    # Each code reported here is registered as a warning, which make_problem gives it.
    warnings = [
        make_problem(text, code, message, start, end, hint)
        for code, message, start, end, hint in lowerer.warnings
    ]
    return result, warnings
