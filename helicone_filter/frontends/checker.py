"""The JSON front end: FilterNode JSON from elsewhere into the validated form, with every
problem and its JSON path.

It judges any JSON value the way Helicone's backend would treat it (docs/helicone.md): what it
refuses, what it silently drops, and what works but probably not as meant (warnings). It walks
the tree with an explicit stack, so any depth is fine. The ways in (`helicone_filter.api`:
`check`, `validate`, `normalize`...) read JSON through it, once, for one endpoint of Helicone
(`schema.schema_of`), whose tables and fields it takes.
"""

from __future__ import annotations

import re
from typing import Any

from helicone_filter.errors import FilterValidationError, Problem, Severity, closest
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT
from helicone_filter.facts.quoting import key_text
from helicone_filter.facts.schema import (
    JSON_OPERATORS,
    REQUEST_RESPONSE_RMT,
    USERS_VIEW,
    EndpointSchema,
    Field,
    schema_of,
)
from helicone_filter.facts.semantics import (
    Quirk,
    dropped_column,
    operator_not_allowed,
    or_across_tables,
    other_endpoint,
    read_condition,
    refused_table,
    tree_limits,
    unknown_column,
    unknown_table,
)
from helicone_filter.facts.semantics import describe as _describe
from helicone_filter.form import ALL, Condition, Filter, join, join2
from helicone_filter.value_class import Record

_ALL_JSON_OPERATORS = sorted({op for ops in JSON_OPERATORS.values() for op in ops})
_BRANCH_KEYS = ("left", "operator", "right")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Helicone keeps one column of a request_response_rmt object: the first of these present,
# else the first written.
_RMT_PRIORITY = ("property_key", "properties", "search_properties", "scores", "cached", "cost")
# Errors of leaves that Helicone runs in part (it keeps one condition); `normalize` splits
# them, for their author meant all of their conditions.
SPLITTABLE = frozenset({"multiple-columns", "multiple-operators", "multiple-keys"})
# Errors that `normalize` repairs: those, and a tree too deep, which it rebuilds balanced.
REPAIRABLE = SPLITTABLE | {"too-deep-for-helicone"}


class JsonPath:
    """A JSON path as a link to its parent, spelled out only when a problem needs it: a tree
    10,000 levels deep would otherwise build 10,000 ever longer strings."""

    __slots__ = ("parent", "segment")

    def __init__(self, parent: JsonPath | None, segment: str) -> None:
        self.parent = parent
        self.segment = segment

    def child(self, key: Any) -> JsonPath:
        if isinstance(key, int) and not isinstance(key, bool):  # an array's index
            return JsonPath(self, f"[{key}]")
        key = str(key)
        if _IDENTIFIER.fullmatch(key):
            return JsonPath(self, f".{key}")
        escaped = key.replace("\\", "\\\\").replace('"', '\\"')
        return JsonPath(self, f'["{escaped}"]')

    def __str__(self) -> str:
        parts: list[str] = []
        node: JsonPath | None = self
        while node is not None:
            parts.append(node.segment)
            node = node.parent
        return "".join(reversed(parts))


ROOT = JsonPath(None, "$")


def _problem(
    code: str, message: str, path: JsonPath, hint: str = "", severity: Severity = "error"
) -> Problem:
    """A problem at `path` in JSON (no text, so no line). The severity is given, for a few
    codes are warnings in JSON and errors in text (problems.Code.otherwise); the code is
    checked against the registry, as every Problem's is."""
    return Problem(code, message, 0, 0, None, None, hint, severity, str(path))


# An int of more bits has more digits than Python will write (4,300), and is far past any
# double (2^1024) anyway.
_MAX_INT_BITS = 13_000
_MAX_NOT_JSON = 100  # problems of this kind reported at most, then one line for the rest
_JSON_SCALARS = (str, int, float, type(None))  # bool is an int
_Where = tuple[Any, Any] | None  # a path as links: (parent, key), cheap until spelled out


def _spelled(where: _Where) -> JsonPath:
    keys: list[Any] = []
    while where is not None:
        where, key = where
        keys.append(key)
    path = ROOT
    for key in reversed(keys):
        path = path.child(key)
    return path


def not_json(root: Any) -> list[Problem]:
    """What makes `root` no JSON data at all, which only Python can hand over: a value of
    another type (a set, bytes, a Decimal), a key that is not a string, an object or array that
    contains itself, an integer too long to write. Each container is visited once, without
    recursion, so a cycle or a deep tree costs no more than its size."""
    problems: list[Problem] = []

    def add(message: str, where: _Where, hint: str = "") -> None:
        if len(problems) < _MAX_NOT_JSON:
            problems.append(_problem("not-json", message, _spelled(where), hint))

    def scalar_problem(value: Any, where: _Where) -> None:
        if isinstance(value, _JSON_SCALARS):
            if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
                digits = int(value.bit_length() * 0.30103)
                add(f"a whole number of about {digits:,} digits is too large for a double", where)
            return
        add(
            f"a {type(value).__name__} is not a JSON value",
            where,
            "use strings, numbers, booleans, None, dicts and lists (a list, not a tuple)",
        )

    if not isinstance(root, (dict, list)):
        scalar_problem(root, None)
        return problems
    inside = {id(root)}  # the containers on the path from the root to where the walk is
    stack: list[tuple[Any, Any, _Where]] = [(root, _entries(root), None)]
    while stack:
        container, entries, where = stack[-1]
        keyed = isinstance(container, dict)
        for key, value in entries:
            if keyed and not isinstance(key, str):
                add(f"a key of type {type(key).__name__}: JSON keys are strings", where)
                continue
            if not isinstance(value, (dict, list)):
                if type(value) is not str:  # the common case, at once
                    scalar_problem(value, (where, key))
                continue
            if id(value) in inside:
                add("this value contains itself: JSON cannot hold a cycle", (where, key))
                continue
            inside.add(id(value))
            stack.append((value, _entries(value), (where, key)))
            break
        else:
            stack.pop()
            inside.discard(id(container))
    if len(problems) == _MAX_NOT_JSON:
        problems.append(_problem("not-json", "and maybe more values that are not JSON", ROOT))
    return problems


def is_plain_json(root: Any) -> bool:
    """Whether `root` is plain JSON data, for sure: string keys, JSON values, no cycle, no
    integer too long to write. The quick test that `not_json` explains when it fails."""
    kind = type(root)
    if kind is not dict and kind is not list:
        return (
            kind is str
            or kind is float
            or kind is bool
            or root is None
            or (kind is int and root.bit_length() <= _MAX_INT_BITS)
        )
    inside = {id(root)}
    stack: list[tuple[Any, Any, bool]] = [(root, _entries(root), kind is dict)]
    while stack:
        container, entries, keyed = stack[-1]
        for key, value in entries:
            if keyed and type(key) is not str:
                return False
            kind = type(value)
            if kind is str or kind is float or kind is bool or value is None:
                continue
            if kind is dict or kind is list:
                if id(value) in inside:
                    return False
                inside.add(id(value))
                stack.append((value, _entries(value), kind is dict))
                break
            if kind is not int or value.bit_length() > _MAX_INT_BITS:
                return False  # another type, a subclass, or an integer too long
        else:
            stack.pop()
            inside.discard(id(container))
    return True


def _entries(container: Any) -> Any:
    """A container's (key, value) pairs: a list's keys are its indices."""
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)


class _Checker:
    def __init__(self, schema: EndpointSchema) -> None:
        self.schema = schema
        self.problems: list[Problem] = []

    def add(
        self, code: str, message: str, path: JsonPath, hint: str = "", severity: Severity = "error"
    ) -> None:
        self.problems.append(_problem(code, message, path, hint, severity))

    # -- the tree ------------------------------------------------------------------------------

    def run(self, root: Any) -> Filter | None:
        """Check the whole tree; return its validated form, or None where it has errors
        (reported)."""
        found = [] if is_plain_json(root) else not_json(root)  # subclasses of dict... pass
        if found:  # then nothing else can be read safely
            self.problems.extend(found)
            return None
        # Frames: (node, path, children done, branch well formed, depth in branches above,
        # the run of branches above that are each the left side of the next). Results: (the
        # validated piece or None, a condition on each table below, whether an
        # or-across-tables problem was reported below).
        todo: list[tuple[Any, JsonPath, bool, bool, int, int]] = [(root, ROOT, False, True, 0, 0)]
        out: list[tuple[Filter | None, Condition | None, Condition | None, bool]] = []
        depth = run = 0
        while todo:
            node, path, done, shaped, above, left = todo.pop()
            if isinstance(node, dict) and any(k in node for k in _BRANCH_KEYS):
                sides = [k for k in ("left", "right") if k in node]
                if not done:
                    # Children are checked even under a broken branch: every problem at once.
                    shaped = self.branch_shape(node, path)
                    depth, run = max(depth, above + 1), max(run, left + 1)
                    todo.append((node, path, True, shaped, above, left))
                    todo.extend(
                        (
                            node[k],
                            path.child(k),
                            False,
                            True,
                            above + 1,
                            left + 1 if k == "left" else 0,
                        )
                        for k in reversed(sides)
                    )
                    continue
                results = [out.pop() for _ in sides]
                if not shaped:
                    out.append((None, None, None, False))
                    continue
                (right, r_users, r_rmt, r_bad), (left_ir, l_users, l_rmt, l_bad) = results
                op = node["operator"]
                users, rmt, bad = l_users or r_users, l_rmt or r_rmt, l_bad or r_bad
                if op == "or" and users and rmt and not bad and self.refuses_or:
                    bad = True
                    message, hint = or_across_tables(str(users.path), str(rmt.path))
                    self.add("or-across-tables", message, path, hint)
                joined = None if left_ir is None or right is None else join2(op, left_ir, right)
                out.append((joined, users, rmt, bad))
            elif node == "all":
                out.append((ALL, None, None, False))
            elif isinstance(node, dict):
                conditions = self.leaf(node, path, root=path is ROOT)
                if conditions is None:
                    out.append((None, None, None, False))
                    continue
                users = next((c for c in conditions if c.field.table == USERS_VIEW), None)
                rmt = next((c for c in conditions if c.field.table != USERS_VIEW), None)
                # `{}` is ALL, which Helicone reads as true.
                out.append((join("and", conditions), users, rmt, False))
            else:
                self.not_a_filter(node, path)
                out.append((None, None, None, False))
        limit = tree_limits(depth, run)
        if limit is not None:
            self.add(limit.code, limit.message, ROOT, limit.hint)
        return out[0][0]

    def not_a_filter(self, node: Any, path: JsonPath) -> None:
        hint = (
            'a filter is "all", a leaf {"users_view": {...}} or a branch '
            '{"left", "operator", "right"}'
        )
        if isinstance(node, str) and node.lower() == "all":
            hint = 'write "all" in lower case'
        elif isinstance(node, list) and len(node) == 1 and node[0] == "all":
            hint = 'write "all" itself; Helicone unwraps ["all"] without a word'
        shown = repr(node) if isinstance(node, str) else _describe(node)
        self.add("not-a-filter", f"{shown} is not a filter node", path, hint)

    def branch_shape(self, node: dict[str, Any], path: JsonPath) -> bool:
        ok = True
        missing = [k for k in _BRANCH_KEYS if k not in node]
        if missing:
            ok = False
            self.add(
                "missing-branch-key",
                f"the branch has no {' or '.join(repr(k) for k in missing)}",
                path,
                'a branch is {"left": node, "operator": "and" | "or", "right": node}',
            )
        extra = [k for k in node if k not in _BRANCH_KEYS]
        if extra:
            self.add(
                "extra-branch-key",
                f"a branch has only left, operator and right, not {', '.join(map(repr, extra))}",
                path.child(extra[0]),
                "put other conditions in a leaf of their own and join it with 'and'",
            )
        op = node.get("operator")
        if "operator" in node and op not in ("and", "or"):
            ok = False
            hint = "the operator is 'and' or 'or'"
            if isinstance(op, str) and op.lower() in ("and", "or"):
                hint = f"write '{op.lower()}' in lower case: Helicone's check is case-sensitive"
            elif isinstance(op, list) and len(op) == 1 and op[0] in ("and", "or"):
                hint = f"write '{op[0]}' itself; Helicone unwraps [{op[0]!r}] without a word"
            self.add(
                "invalid-branch-operator",
                f"{op!r} is not a branch operator"
                if isinstance(op, str)
                else f"the branch operator is {_describe(op)}, not 'and' or 'or'",
                path.child("operator"),
                hint,
            )
        return ok

    @property
    def refuses_or(self) -> bool:
        """Whether the endpoint's query refuses `or` across tables."""
        return self.schema.endpoint.refuses_or_across_tables

    def quirk(self, q: Quirk, path: JsonPath) -> None:
        """Report a quirk of a name (a table or column the endpoint refuses) at `path`."""
        self.add(q.code, q.message, path, q.hint, q.severity)

    # -- leaves --------------------------------------------------------------------------------

    def leaf(self, node: dict[str, Any], path: JsonPath, root: bool) -> list[Condition] | None:
        """The leaf's conditions, or None when one of them is broken (reported)."""
        if not node:
            if root:
                self.add(
                    "empty-filter",
                    "an empty object matches everything",
                    path,
                    'write "all"',
                    "warning",
                )
            else:
                self.add(
                    "empty-leaf",
                    "an empty object is no condition: Helicone reads it as true",
                    path,
                    'remove it, or write "all" if every user is meant',
                    "warning",
                )
            return []
        conditions: list[Condition] = []
        ok = True
        tables = self.schema.tables
        if len(node) > 1 and all(t in tables for t in node):
            self.add(
                "several-tables",
                f"one leaf names {' and '.join(node)}: Helicone applies both, as 'and'",
                path,
                "give each table a leaf of its own, joined with 'and'",
                "warning",
            )
        for table, columns in node.items():
            tpath = path.child(table)
            if table not in tables:
                refused = refused_table(table, self.schema)
                if refused is not None:
                    self.quirk(refused, tpath)
                else:
                    message, hint, _ = unknown_table(table, self.schema)
                    self.add("unknown-table", message, tpath, hint)
                ok = False
                continue
            if not isinstance(columns, dict):
                self.add("not-an-object", f"{table} holds {_describe(columns)}, not columns", tpath)
                ok = False
                continue
            if not columns:
                self.add(
                    "empty-table",
                    f"{table} names no column",
                    tpath,
                    "Helicone accepts this and then fails (HTTP 500); name a column or remove it",
                )
                ok = False
                continue
            if len(columns) > 1:
                kept = _kept_column(table, list(columns))
                self.add(
                    "multiple-columns",
                    f"{table} names {len(columns)} columns; Helicone uses only {kept} and drops "
                    "the rest",
                    tpath,
                    "give each condition a leaf of its own, joined with 'and'",
                )
            for column, operators in columns.items():
                found = self.column(table, column, operators, tpath.child(column))
                if found is None:
                    ok = False
                else:
                    conditions += found
        if not ok:
            return None
        if len(conditions) > len(node):  # several conditions for a table: Helicone keeps one
            first = {
                id(next(c for c in conditions if c.field.name == _kept_column(t, list(cs))))
                for t, cs in node.items()
            }
            conditions = [c if id(c) in first else c.replace(kept=False) for c in conditions]
        return conditions

    def column(
        self, table: str, column: str, operators: Any, path: JsonPath
    ) -> list[Condition] | None:
        field = self.schema.fields_by_table[table].get(column)
        if field is None:
            elsewhere = dropped_column(table, column, self.schema)
            if elsewhere is None and column not in self.schema.fields:
                elsewhere = other_endpoint(column, self.schema)
            if elsewhere is not None:
                self.quirk(elsewhere, path)
                return None
            message, hint, _ = unknown_column(column, table, self.schema)
            self.add("unknown-field", message, path, hint)
            return None
        if not isinstance(operators, dict):
            self.add("not-an-object", f"{column} holds {_describe(operators)}, not operators", path)
            return None
        if not operators:
            self.add(
                "empty-column",
                f"{column} has no operator",
                path,
                'Helicone accepts this and then fails (HTTP 500); add one, e.g. {"equals": ...}',
            )
            return None
        if field.kind != "map":
            return self.operators(field, None, operators, path)
        if len(operators) > 1:
            self.add(
                "multiple-keys",
                f"{column} names {len(operators)} keys; Helicone uses only the first, "
                f"{column}{key_text(next(iter(operators)))}",
                path,
                "give each key a leaf of its own, joined with 'and'",
            )
        conditions: list[Condition] = []
        for key, key_operators in operators.items():
            kpath = path.child(key)
            if _SURROGATE.search(key):
                self.add("invalid-character", "the key holds a lone surrogate", kpath)
                return None
            if not isinstance(key_operators, dict):
                self.add(
                    "not-an-object",
                    f"{column}{key_text(key)} holds {_describe(key_operators)}",
                    kpath,
                )
                return None
            if not key_operators:
                self.add("empty-column", f"{column}{key_text(key)} has no operator", kpath)
                return None
            found = self.operators(field, key, key_operators, kpath)
            if found is None:
                return None
            conditions += found
        return conditions

    def operators(
        self, field: Field, key: str | None, operators: dict[str, Any], path: JsonPath
    ) -> list[Condition] | None:
        kind = "map" if key is not None else field.kind
        name = field.name if key is None else f"{field.name}{key_text(key)}"
        if len(operators) > 1:
            self.add(
                "multiple-operators",
                f"{name} has {len(operators)} operators; Helicone uses only the first, "
                f"{next(iter(operators))!r}",
                path,
                "give each operator a leaf of its own, joined with 'and'",
            )
        conditions: list[Condition] = []
        ok = True
        for op, value in operators.items():
            opath = path.child(op)
            allowed = JSON_OPERATORS[kind]
            if op not in allowed:
                ok = False
                if op in _ALL_JSON_OPERATORS:
                    message, hint = operator_not_allowed(field, key, op, ", ".join(allowed))
                    self.add("operator-not-allowed", message, opath, hint)
                else:
                    near = closest(op, allowed)
                    self.add(
                        "unknown-operator",
                        f"unknown operator {op!r}",
                        opath,
                        f"did you mean '{near[0]}'?"
                        if near
                        else f"{name} takes {', '.join(allowed)}",
                    )
                continue
            reading = read_condition(field, key, op, value)
            for q in reading.quirks:
                column = path if key is None or path.parent is None else path.parent
                where = {"field": path, "column": column, "operator": opath}.get(q.where, opath)
                self.add(q.code, q.message, where, q.hint, q.severity)
            if not reading.ok:
                ok = False
                continue
            conditions.append(Condition(field, key, op, reading.value, path=opath))
        return conditions if ok else None


_BAD: Any = object()


def _kept_column(table: str, columns: list[str]) -> str:
    if table == REQUEST_RESPONSE_RMT:
        for name in _RMT_PRIORITY:
            if name in columns:
                return name
    return columns[0]


def check_json(obj: Any, endpoint: str = DEFAULT_ENDPOINT) -> tuple[Filter | None, list[Problem]]:
    """A FilterNode's validated form (None where it has errors) and every problem with it, in
    document order, for an endpoint of Helicone; never raises for a filter (ValueError for an
    unknown endpoint)."""
    checker = _Checker(schema_of(endpoint))
    ir = checker.run(obj)
    return ir, checker.problems


class Checked(Record):
    """A FilterNode read once: its validated form, and every problem `check` finds."""

    filter: Filter
    problems: list[Problem]


def read_json(
    obj: Any, tolerated: frozenset[str] = REPAIRABLE, endpoint: str = DEFAULT_ENDPOINT
) -> Checked:
    """A FilterNode in its validated form, with its problems, or FilterValidationError when it
    has errors other than `tolerated` ones (by default those `normalize` repairs: leaves with
    several conditions, which the form splits, and a tree too deep for Helicone)."""
    ir, problems = check_json(obj, endpoint)
    fatal = [p for p in problems if p.severity == "error" and p.code not in tolerated]
    if fatal:
        raise FilterValidationError(fatal)
    assert ir is not None  # the errors that leave a filter readable are all tolerated
    return Checked(ir, problems)


def normalized_ir(
    obj: Any, tolerated: frozenset[str] = REPAIRABLE, endpoint: str = DEFAULT_ENDPOINT
) -> Filter:
    """`read_json(obj, tolerated, endpoint).filter`: the validated form of a FilterNode."""
    return read_json(obj, tolerated, endpoint).filter


__all__ = ["REPAIRABLE", "SPLITTABLE", "Checked", "check_json", "normalized_ir", "read_json"]
