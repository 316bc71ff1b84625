"""The public API: names, spans in the AST and of the compiled leaves, options and their checks."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import NOW, ROOT

import helicone_filter
from helicone_filter import (
    All,
    And,
    Comparison,
    FieldRef,
    FilterError,
    FilterSyntaxError,
    FilterValidationError,
    Group,
    Not,
    Or,
    Value,
    parse,
)
from helicone_filter.frontends.parser import iter_nodes


def test_public_names() -> None:
    for name in ("compile", "parse", "FilterError", "FilterSyntaxError", "FilterValidationError"):
        assert name in helicone_filter.__all__
    assert issubclass(FilterError, ValueError)
    assert issubclass(FilterSyntaxError, FilterError)
    assert issubclass(FilterValidationError, FilterError)


def test_every_node_spans_its_own_text() -> None:
    text = 'not (user_cost >= 5 or user_cost < 1) and properties["k k"] in ["a", \'b\'] || cached'
    root = parse(text)
    assert isinstance(root, Or)
    seen = {type(n) for n in iter_nodes(root)}
    assert seen == {Or, And, Not, Group, Comparison}
    spans = {text[n.start : n.end] for n in iter_nodes(root)}
    assert {
        text,
        "not (user_cost >= 5 or user_cost < 1)",
        "(user_cost >= 5 or user_cost < 1)",
        "user_cost >= 5",
        'properties["k k"] in ["a", \'b\']',
        "cached",
    } <= spans
    and_node = root.operands[0]
    assert isinstance(and_node, And)
    comparison = and_node.operands[1]
    assert isinstance(comparison, Comparison)
    at = text.index("properties")
    assert comparison.field == FieldRef(("properties",), "k k", at, at + 17)
    a, b = text.index('"a"'), text.index("'b'")
    assert comparison.value == (Value("string", "a", a, a + 3), Value("string", "b", b, b + 3))


def test_ast_keeps_what_was_written() -> None:
    root = parse("NOT x <> 1")
    assert isinstance(root, Not)
    assert root.operand == Comparison(
        FieldRef(("x",), None, 4, 5), "!=", Value("number", 1, 9, 10), 4, 10
    )
    assert parse("request_created_at > now - 2h").value == Value("now", "2h", 21, 29)  # type: ignore[union-attr]
    assert parse("  ") == All(0, 2)
    assert parse("x is not null").op == "is not null"  # type: ignore[union-attr]


def test_parse_does_not_validate_names() -> None:
    assert isinstance(parse("no_such_field = 1"), Comparison)


def test_relative_times_count_back_from_now() -> None:
    result = helicone_filter.compile("request_created_at > now - 1d", now=NOW)
    assert result == {
        "request_response_rmt": {"request_created_at": {"gt": "2025-05-31T12:00:00.000Z"}}
    }
    other_zone = NOW.astimezone(timezone(timedelta(hours=5)))
    assert helicone_filter.compile("request_created_at > now - 1d", now=other_zone) == result


def test_now_defaults_to_the_current_time() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    result = helicone_filter.compile("request_created_at > now")
    assert isinstance(result, dict)
    stamp = result["request_response_rmt"]["request_created_at"]["gt"]
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before <= moment <= datetime.now(UTC)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        helicone_filter.compile("cached", now=datetime(2025, 1, 1))


def test_unknown_nesting_is_refused() -> None:
    with pytest.raises(ValueError, match="nesting"):
        helicone_filter.compile("cached", nesting="left")  # type: ignore[arg-type]


def test_result_is_plain_json_data() -> None:
    result = helicone_filter.compile(
        'cost > 1 and model = "a" and request_created_at < now', now=NOW
    )
    stack = [result]
    while stack:
        x = stack.pop()
        assert type(x) in (dict, str, int, float, bool)
        if isinstance(x, dict):
            assert all(type(k) is str for k in x)
            stack.extend(x.values())


def test_errors_carry_every_field_users_need() -> None:
    with pytest.raises(FilterValidationError) as info:
        helicone_filter.compile('cached and\n  modle = "x"')
    (p,) = info.value.problems
    assert (p.code, p.start, p.end, p.line, p.column) == ("unknown-field", 13, 18, 2, 3)
    assert p.hint == "did you mean 'model'?"
    assert p.severity == "error"
    assert info.value.code == "unknown-field"
    assert isinstance(info.value, ValueError)


def test_keywords_are_case_insensitive() -> None:
    lower = helicone_filter.compile(
        'not (model like "a" and cost > 1 or model is null)'.replace("like", "contains")
    )
    upper = helicone_filter.compile('NOT (model CONTAINS "a" AND cost > 1 OR model IS NULL)')
    assert lower == upper


def test_a_raw_lone_surrogate_is_refused() -> None:
    """Such a string could not be encoded as UTF-8 JSON (orjson refuses it)."""
    with pytest.raises(FilterSyntaxError) as info:
        helicone_filter.compile('model = "a\ud800"')
    (p,) = info.value.problems
    assert (p.code, p.start, p.end) == ("invalid-character", 10, 11)
    assert "\ufffd" in str(info.value)


def test_compile_with_spans_maps_every_leaf() -> None:
    text = 'user_cost > 1 and not (request_created_at != "2025-01-01" or model in ["a"])'
    result, spans = helicone_filter.compile_with_spans(text, now=NOW)
    assert [(path, text[start:end]) for path, start, end in spans] == [
        (("left",), "user_cost > 1"),
        (("right", "left"), 'request_created_at != "2025-01-01"'),
        (("right", "right"), 'model in ["a"]'),
    ]
    assert isinstance(result, dict)
    assert result["right"]["left"] == {
        "request_response_rmt": {"request_created_at": {"equals": "2025-01-01T00:00:00.000Z"}}
    }


def test_compile_with_spans_checks_its_arguments_as_compile_does() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        helicone_filter.compile_with_spans("cached", now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="nesting"):
        helicone_filter.compile_with_spans("cached", nesting="left")  # type: ignore[arg-type]


# -- the names loaded on first use are listed with the rest ---------------------------------

_STAND_INS = {
    "complete": "api.diagnosis",
    "diagnose": "api.diagnosis",
    "check": "api.filter_nodes",
    "normalize": "api.filter_nodes",
    "validate": "api.filter_nodes",
    "count_body": "api.outputs",
    "matches": "api.outputs",
    "query_body": "api.outputs",
    "simplify": "api.outputs",
    "to_clickhouse": "api.outputs",
    "to_text": "api.outputs",
}


def test_every_public_name_is_listed_by_dir_help_and_all() -> None:
    import pydoc
    import re

    assert sorted(set(helicone_filter.__all__) - set(dir(helicone_filter))) == []
    shown = pydoc.render_doc(helicone_filter, renderer=pydoc.plaintext)
    functions = set(re.findall(r"^    (\w+)\(", shown[shown.index("\nFUNCTIONS") :], re.M))
    classes = set(re.findall(r"^    class (\w+)", shown, re.M))
    for name in helicone_filter.__all__:
        value = getattr(helicone_filter, name)
        if inspect.isfunction(value):
            assert name in functions, name
        elif inspect.isclass(value):
            assert name in classes, name


@pytest.mark.parametrize("name", sorted(_STAND_INS))
def test_a_stand_in_has_the_signature_and_docstring_of_its_function(name: str) -> None:
    import importlib

    real = getattr(importlib.import_module(f"helicone_filter.{_STAND_INS[name]}"), name)
    stand_in = getattr(helicone_filter, name)
    assert inspect.isfunction(stand_in) and stand_in.__module__ == "helicone_filter"
    assert inspect.signature(stand_in) == inspect.signature(real)
    assert inspect.getdoc(stand_in) == inspect.getdoc(real)


def test_importing_the_package_loads_neither_the_json_side_nor_the_other_backends() -> None:
    code = (
        "import sys, helicone_filter; "
        "print(sorted(m for m in sys.modules if m.startswith(('helicone_filter.api.', "
        "'helicone_filter.frontends.checker', 'helicone_filter.frontends.completion', "
        "'helicone_filter.diagnostics', 'helicone_filter.backends.node_types', 'pydantic'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "['helicone_filter.api.reading', 'helicone_filter.api.text']"


def _conforms(value: object, hint: Any) -> bool:
    """Whether `value` is of the type `hint` (the few kinds FilterNode is made of)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if typing.is_typeddict(hint):
        fields = typing.get_type_hints(hint)
        return (
            isinstance(value, dict)
            and hint.__required_keys__ <= value.keys() <= fields.keys()
            and all(_conforms(v, fields[k]) for k, v in value.items())
        )
    return isinstance(value, origin or hint)


def test_compile_returns_a_filter_node_users_can_annotate_with() -> None:
    from helicone_filter.api import text

    hints = typing.get_type_hints(text.compile, {**vars(text), **vars(helicone_filter)})
    assert hints["return"] == helicone_filter.FilterNode
    assert {"FilterNode", "FilterLeaf", "FilterBranch"} <= set(helicone_filter.__all__)
    for source, endpoint in [
        ("all", "user-metrics"),
        ('user_cost > 5 and (model = "a" or properties.env = "b")', "user-metrics"),
        ('session_tag = "a" or status = 500 or cached', "requests"),
    ]:
        node = helicone_filter.compile(source, now=NOW, endpoint=endpoint, nesting="right")
        assert _conforms(node, helicone_filter.FilterNode), node
    assert not _conforms({"left": "all", "operator": "xor", "right": "all"}, hints["return"])
    assert not _conforms({"sessions": {}}, hints["return"])
