"""The problem codes have one registry (helicone_filter/problems.py), and it tells the truth:
every code the package raises is in it, at its severity; every code in it is raised; the
docs list exactly its codes; no code has two meanings.

The package is read as source (its AST), so a code on a path no test reaches is still seen.
A code is a string literal in a code's place: the `code` argument of a function or class
that takes one (make_problem, Problem, Quirk, a checker's `self.add`...), a `code=`
keyword, a value assigned to `code`, or a value compared with a problem's `.code`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from helicone_filter.errors import make_problem
from helicone_filter.problems import CODES, UnregisteredCode, severity

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "helicone_filter"
API_DOC = ROOT / "docs" / "api.md"
HELICONE_DOC = ROOT / "docs" / "helicone.md"


# -- reading the package's source ----------------------------------------------------------------


def _modules() -> dict[str, ast.Module]:
    """Every module of the package by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


MODULES = _modules()


class Signature:
    """Where a callable takes its code, and its severity (with the default), by position."""

    def __init__(self, params: list[str], defaults: dict[str, ast.expr]) -> None:
        self.params = params
        self.defaults = defaults

    def argument(self, call: ast.Call, name: str) -> ast.expr | None:
        for keyword in call.keywords:
            if keyword.arg == name:
                return keyword.value
        if name not in self.params:
            return None
        index = self.params.index(name)
        if index < len(call.args) and not any(
            isinstance(a, ast.Starred) for a in call.args[: index + 1]
        ):
            return call.args[index]
        return self.defaults.get(name)


def _function_signature(fn: ast.FunctionDef, method: bool) -> Signature:
    positional = [*fn.args.posonlyargs, *fn.args.args]
    defaults = dict(
        zip(
            [a.arg for a in positional[len(positional) - len(fn.args.defaults) :]],
            fn.args.defaults,
            strict=True,
        )
    )
    params = [a.arg for a in positional]
    return Signature(params[1:] if method else params, defaults)


def _class_signature(cls: ast.ClassDef) -> Signature | None:
    """A class's constructor: its `__init__`, or its fields declared as annotations (the
    package's Record)."""
    for item in cls.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            return _function_signature(item, method=True)
    fields = [
        item
        for item in cls.body
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
    ]
    if not fields:
        return None
    return Signature(
        [f.target.id for f in fields],  # type: ignore[union-attr]
        {f.target.id: f.value for f in fields if f.value is not None},  # type: ignore[union-attr]
    )


def _top_level(tree: ast.Module) -> dict[str, Signature]:
    """The module's own functions and classes that take a code."""
    found = {}
    for item in tree.body:
        signature = None
        if isinstance(item, ast.FunctionDef):
            signature = _function_signature(item, method=False)
        elif isinstance(item, ast.ClassDef):
            signature = _class_signature(item)
        if signature is not None and "code" in signature.params:
            found[item.name] = signature
    return found


OWN = {name: _top_level(tree) for name, tree in MODULES.items()}


def _callables(module: str) -> dict[str, Signature]:
    """The callables that take a code, as `module` names them: its own, and those it imports
    from the package."""
    names = dict(OWN[module])
    for node in ast.walk(MODULES[module]):
        if isinstance(node, ast.ImportFrom) and node.module in OWN:
            for alias in node.names:
                signature = OWN[node.module].get(alias.name)
                if signature is not None:
                    names[alias.asname or alias.name] = signature
    return names


def _strings(node: ast.AST | None) -> Iterator[str]:
    """The string literals a code's place can hold: a literal, either side of `a if c else
    b`, the items of a tuple, list or set."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for item in node.elts:
            yield from _strings(item)


def _is_code(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "code") or (
        isinstance(node, ast.Attribute) and node.attr == "code"
    )


class Found:
    """A code literal in the source: where, whether it is raised (or only compared), and the
    severities it is raised at when the source says (empty: the registry's)."""

    def __init__(self, code: str, where: str, raised: bool, severities: set[str]) -> None:
        self.code = code
        self.where = where
        self.raised = raised
        self.severities = severities


def _severities(signature: Signature, call: ast.Call) -> set[str]:
    return set(_strings(signature.argument(call, "severity")))


def _scan(module: str) -> Iterator[Found]:
    tree = MODULES[module]
    callables = _callables(module)
    where = f"{module.replace('.', '/')}.py"

    def found(node: ast.AST, codes: ast.AST | None, raised: bool, levels: set[str] = set()):  # noqa: B006
        for code in _strings(codes):
            yield Found(code, f"{where}:{node.lineno}", raised, levels)  # type: ignore[attr-defined]

    # Methods that take a code, called on self inside their class.
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        methods = {
            item.name: _function_signature(item, method=True)
            for item in cls.body
            if isinstance(item, ast.FunctionDef)
        }
        methods = {name: s for name, s in methods.items() if "code" in s.params}
        for call in (n for n in ast.walk(cls) if isinstance(n, ast.Call)):
            f = call.func
            if (
                isinstance(f, ast.Attribute)
                and isinstance(f.value, ast.Name)
                and f.value.id == "self"
                and f.attr in methods
            ):
                signature = methods[f.attr]
                levels = _severities(signature, call)
                yield from found(call, signature.argument(call, "code"), True, levels)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in callables:
                signature = callables[name]
                levels = _severities(signature, node)
                yield from found(node, signature.argument(node, "code"), True, levels)
            else:
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        yield from found(node, keyword.value, True)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if _is_code(target):
                    yield from found(node, node.value, True)
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for t, v in zip(target.elts, node.value.elts, strict=False):
                        if _is_code(t):
                            yield from found(node, v, True)
        elif isinstance(node, ast.Compare) and _is_code(node.left):
            for right in node.comparators:
                yield from found(node, right, False)
                if isinstance(right, ast.Name):  # a set of codes named elsewhere
                    yield from found(node, _set_of_codes(module, right.id), False)


def _set_of_codes(module: str, name: str) -> ast.AST | None:
    """The literal set of codes that `name` is in `module` (or where it imports it from)."""
    tree = MODULES[module]
    for item in tree.body:
        if isinstance(item, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in item.targets
        ):
            return ast.Set(elts=[e for e in ast.walk(item.value) if isinstance(e, ast.Constant)])
        if isinstance(item, ast.ImportFrom) and item.module in MODULES:
            for alias in item.names:
                if (alias.asname or alias.name) == name:
                    return _set_of_codes(item.module, alias.name)
    return None


FOUND = [f for module in MODULES for f in _scan(module)]


# -- the registry against the source -------------------------------------------------------------


def test_the_scan_sees_the_codes() -> None:
    # A scan that finds nothing passes every test below: make sure it reads each way in.
    places = {f.where.split(":")[0] for f in FOUND if f.raised}
    for module in [
        "helicone_filter/frontends/parser.py",
        "helicone_filter/frontends/lowering.py",
        "helicone_filter/frontends/checker.py",
        "helicone_filter/facts/semantics.py",
        "helicone_filter/backends/analysis.py",
        "helicone_filter/api/reading.py",
    ]:
        assert module in places
    assert len({f.code for f in FOUND if f.raised}) >= 60


def test_every_code_in_the_source_is_registered() -> None:
    unregistered = sorted({f"{f.code} ({f.where})" for f in FOUND if f.code not in CODES})
    assert not unregistered, f"register these in helicone_filter/problems.py: {unregistered}"


def test_every_registered_code_is_raised() -> None:
    raised = {f.code for f in FOUND if f.raised}
    assert sorted(set(CODES) - raised) == [], "registered, but raised nowhere: remove them"


def test_codes_are_raised_at_their_registered_severity() -> None:
    # Where the source says the severity, it is the registered one, or the code says why it
    # is also the other.
    wrong = sorted(
        f"{f.code} as {level} ({f.where})"
        for f in FOUND
        if f.code in CODES
        for level in f.severities
        if level != CODES[f.code].severity and not CODES[f.code].otherwise
    )
    assert not wrong


def test_codes_said_to_have_two_severities_have_them() -> None:
    for name, code in CODES.items():
        assert bool(code.otherwise) == bool(code.why), name
        if code.otherwise:
            other = "warning" if code.severity == "error" else "error"
            assert code.otherwise.startswith(other), name


def test_codes_are_kebab_case() -> None:
    for name in CODES:
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name), name


def test_no_code_has_two_meanings() -> None:
    # A dict literal keeps the last of two equal keys without a word: read the source.
    tree = ast.parse((PACKAGE / "problems.py").read_text(encoding="utf-8"))
    (registry,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "CODES"
    ]
    assert isinstance(registry, ast.Dict)
    keys = [key.value for key in registry.keys if isinstance(key, ast.Constant)]
    assert len(keys) == len(set(keys)) == len(CODES)
    meanings = [code.meaning for code in CODES.values()]
    assert len(meanings) == len(set(meanings)), "two codes with one meaning: make them one"


# -- making a problem ----------------------------------------------------------------------------


def test_make_problem_refuses_an_unregistered_code() -> None:
    with pytest.raises(UnregisteredCode, match="no-such-code"):
        make_problem("model", "no-such-code", "nothing", 0, 5)


@pytest.mark.parametrize("code", ["unknown-field", "contains-wildcard", "int32-overflow"])
def test_make_problem_takes_the_registered_severity(code: str) -> None:
    assert make_problem("model", code, "m", 0, 5).severity == severity(code) == CODES[code].severity


# -- the docs ------------------------------------------------------------------------------------


def _section(text: str, title: str) -> str:
    start = text.index(f"\n{title}\n")
    end = text.find("\n## ", start + len(title) + 2)
    return text[start : end if end >= 0 else len(text)]


def _row(name: str) -> str:
    code = CODES[name]
    level = f"{code.severity}; {code.otherwise}" if code.otherwise else code.severity
    meaning = f"{code.meaning} ({code.why})" if code.why else code.meaning
    return f"| `{name}` | {level} | {meaning} |"


def test_the_docs_list_the_registry() -> None:
    section = _section(API_DOC.read_text(encoding="utf-8"), "## Problem codes")
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    expected = [_row(name) for name in CODES]
    assert rows == expected, "docs/api.md, ## Problem codes, is out of date; its rows:\n" + (
        "\n".join(expected)
    )


def test_the_codes_docs_name_are_registered() -> None:
    api = API_DOC.read_text(encoding="utf-8")
    # check()'s errors and warnings, and the analysis's warnings
    listed = _section(api, "## JSON from elsewhere").split("- `check(obj)`")[1].split("\n- ")[0]
    errors, warnings = listed.split("Errors:")[1].split("Warnings:")
    for words, level in [(errors, "error"), (warnings, "warning")]:
        for name in re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", words):
            assert name in CODES, name
            assert CODES[name].severity == level or CODES[name].otherwise, name
    analysis = _section(api, "### Slips no syntax check sees: the analysis")
    for name in re.findall(r"^- `([a-z0-9-]+)`", analysis, re.M):
        assert CODES[name].severity == "warning", name
    # each code helicone.md explains
    for line in re.findall(r"^- (`.*)", HELICONE_DOC.read_text(encoding="utf-8"), re.M):
        for name in re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", line.split(":")[0]):
            assert name in CODES, name


# -- map keys in messages, as the language writes them -------------------------------------------

MAP = "request_response_rmt"


@pytest.mark.parametrize(
    ("node", "code", "said"),
    [
        (
            {MAP: {"properties": {"env": {"gt": "x"}}}},
            "operator-not-allowed",
            "'gt' does not apply to properties.env, a map key (text)",
        ),
        (
            {MAP: {"properties": {"my key": {"gt": "x"}}}},
            "operator-not-allowed",
            "'gt' does not apply to properties[\"my key\"], a map key (text)",
        ),
        ({MAP: {"properties": {"env": 5}}}, "not-an-object", "properties.env holds a number"),
        ({MAP: {"properties": {"a b": {}}}}, "empty-column", 'properties["a b"] has no operator'),
        (
            {MAP: {"properties": {"a": {"equals": "x"}, "b": {"equals": "y"}}}},
            "multiple-keys",
            "properties names 2 keys; Helicone uses only the first, properties.a",
        ),
        (
            {MAP: {"properties": {"and": {"equals": "x", "like": "y"}}}},
            "multiple-operators",
            "properties[\"and\"] has 2 operators; Helicone uses only the first, 'equals'",
        ),
    ],
)
def test_json_messages_write_map_keys_as_the_language(node: object, code: str, said: str) -> None:
    from helicone_filter import check

    assert [p.message for p in check(node) if p.code == code] == [said]


@pytest.mark.parametrize(
    ("text", "code", "said"),
    [
        (
            'properties["x y"] is null',
            "operator-not-allowed",
            "'is null' does not apply to properties[\"x y\"], a map key (text)",
        ),
        (
            'properties.a.b["c\\"d"] = "x"',
            "invalid-map-key",
            'a key with dots goes in brackets: properties["a.b.c\\"d"]',
        ),
    ],
)
def test_text_messages_write_map_keys_as_the_language(text: str, code: str, said: str) -> None:
    from helicone_filter import check_text

    (problem,) = check_text(text)
    assert problem.code == code
    assert said in (problem.message, problem.hint)
