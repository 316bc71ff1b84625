"""The schema table in the code is the OpenAPI file's: every column and operator, no more; and
each field says what it is."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import openapi

from helicone_filter.facts.schema import (
    ALLOWED_OPERATORS,
    FIELDS,
    FIELDS_BY_TABLE,
    JSON_OPERATORS,
    OPERATOR_JSON,
    TABLES,
)

TABLE_SCHEMAS = {
    "users_view": "Partial_UserViewToOperators_",
    "request_response_rmt": "Partial_RequestResponseRMTToOperators_",
}


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = openapi()["components"]["schemas"]
    return schemas


def _operators_in_spec(column_schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(how the spec defines the column, its operator properties)."""
    schemas = _schemas()
    if "$ref" in column_schema:
        name = column_schema["$ref"].rsplit("/", 1)[1]
        return name, schemas[name]["properties"]
    if "additionalProperties" in column_schema:
        name = column_schema["additionalProperties"]["$ref"].rsplit("/", 1)[1]
        return "map:" + name, schemas[name]["properties"]
    return "inline", column_schema["properties"]


def test_tables_are_the_leaf_keys() -> None:
    leaf = _schemas()["Pick_FilterLeaf.users_view-or-request_response_rmt_"]["properties"]
    assert set(leaf) == set(TABLES)


def test_every_column_of_every_table_and_no_other() -> None:
    for table, schema_name in TABLE_SCHEMAS.items():
        in_spec = set(_schemas()[schema_name]["properties"])
        assert set(FIELDS_BY_TABLE[table]) == in_spec, table


def test_every_column_has_exactly_the_spec_operators() -> None:
    value_types = {"text": "string", "number": "number", "timestamp": "string"}
    for table, schema_name in TABLE_SCHEMAS.items():
        for column, column_schema in _schemas()[schema_name]["properties"].items():
            field = FIELDS[column]
            assert field.table == table
            how, operators = _operators_in_spec(column_schema)
            assert set(operators) == set(JSON_OPERATORS[field.kind]), column
            for op, op_schema in operators.items():
                if field.kind in value_types:
                    assert op_schema["type"] == value_types[field.kind], (column, op)
                elif field.kind == "boolean":
                    assert op_schema["type"] == "boolean"
                else:  # map values and property_key are text
                    assert op_schema["type"] == "string"
            if field.kind == "timestamp":
                assert all(s.get("format") == "date-time" for s in operators.values())
            if field.kind == "map":
                assert how == "map:Partial_TextOperators_"
            if field.kind == "property_key":
                assert column_schema["required"] == ["equals"]


def test_text_operators_write_only_allowed_json_operators() -> None:
    """Each text operator a kind allows lowers to JSON operators the spec allows for it."""
    lowered_to = {
        "in": {"equals"},
        "not in": {"not-equals"},
        "is null": {"equals"},
        "is not null": {"not-equals"},
        "is empty": {"equals"},
    }
    for kind, ops in ALLOWED_OPERATORS.items():
        for op in ops:
            targets = lowered_to[op] if op in lowered_to else {OPERATOR_JSON[op]}
            if kind == "boolean":
                targets = {"equals"}  # != on a boolean is `= not v`
            if kind == "timestamp" and op == "!=":
                targets = {"lt", "gt"}
            assert targets <= set(JSON_OPERATORS[kind]), (kind, op)


def test_column_names_are_unique_across_tables() -> None:
    names = [c for t in TABLE_SCHEMAS.values() for c in _schemas()[t]["properties"]]
    assert len(names) == len(set(names)) == len(FIELDS)


def test_every_field_says_what_it_is_once() -> None:
    from helicone_filter.facts.schema import ALL_FIELDS, FIELD_MEANINGS, field_table

    assert set(FIELD_MEANINGS) == set(ALL_FIELDS)
    assert all(0 < len(m) <= 80 and not m.endswith(".") for m in FIELD_MEANINGS.values())
    for endpoint in ("user-metrics", "requests"):
        assert all(row["means"] == FIELD_MEANINGS[row["field"]] for row in field_table(endpoint))


def test_fields_prints_what_each_field_is_under_it(capsys: pytest.CaptureFixture[str]) -> None:
    from helicone_filter.cli import main
    from helicone_filter.facts.schema import FIELD_MEANINGS

    assert main(["fields", "-e", "requests"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("model "))
    assert lines[at + 1] == "    " + FIELD_MEANINGS["model"]
