"""The pydantic models and json_schema() agree with the OpenAPI file."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import NOW, openapi

import helicone_filter
from helicone_filter.frontends.models import FILTER_NODE, UserMetricsQueryParams

OPERATOR_SCHEMAS = {
    "Partial_TextOperators_": "TextOperators",
    "Partial_NumberOperators_": "NumberOperators",
    "Partial_TimestampOperatorsTyped_": "TimestampOperatorsTyped",
    "Partial_BooleanOperators_": "BooleanOperators",
}
TABLE_SCHEMAS = {
    "Partial_UserViewToOperators_": "UserViewToOperators",
    "Partial_RequestResponseRMTToOperators_": "RequestResponseRMTToOperators",
}


def _spec() -> dict[str, Any]:
    schemas: dict[str, Any] = openapi()["components"]["schemas"]
    return schemas


def _ours() -> dict[str, Any]:
    defs: dict[str, Any] = helicone_filter.json_schema()["$defs"]
    return defs


def _type(schema: dict[str, Any]) -> str:
    """A property's type in one word, for either side."""
    if "$ref" in schema:
        return "ref:" + schema["$ref"].rsplit("/", 1)[1]
    if "anyOf" in schema:
        types = {s.get("type") for s in schema["anyOf"]}
        return "number" if types == {"integer", "number"} else str(types)
    if schema.get("type") == "object" and "additionalProperties" in schema:
        return "map:" + _type(schema["additionalProperties"])
    if schema.get("format") == "date-time":
        return "date-time"
    return str(schema["type"])


def _spec_type(schema: dict[str, Any]) -> str:
    t = _type(schema)
    ref = t.split(":", 1)[1] if ":" in t else ""
    names = {**OPERATOR_SCHEMAS, **TABLE_SCHEMAS, "Partial_TextOperators_": "TextOperators"}
    if t.startswith("ref:"):
        return "ref:" + names.get(ref, ref)
    if t.startswith("map:ref:"):
        return "map:ref:" + names[t.split(":", 2)[2]]
    if t == "object" and schema.get("required") == ["equals"]:
        return "ref:PropertyKeyOperators"
    return t


@pytest.mark.parametrize("spec_name", [*OPERATOR_SCHEMAS, *TABLE_SCHEMAS])
def test_operator_and_column_objects(spec_name: str) -> None:
    spec = _spec()[spec_name]
    ours = _ours()[{**OPERATOR_SCHEMAS, **TABLE_SCHEMAS}[spec_name]]
    assert set(ours["properties"]) == set(spec["properties"])
    for name, prop in spec["properties"].items():
        assert _type(ours["properties"][name]) == _spec_type(prop), name
    assert ours["additionalProperties"] is False
    assert not ours.get("required")


def test_property_key_requires_equals() -> None:
    spec = _spec()["Partial_RequestResponseRMTToOperators_"]["properties"]["property_key"]
    ours = _ours()["PropertyKeyOperators"]
    assert ours["required"] == spec["required"] == ["equals"]
    assert ours["properties"]["equals"]["type"] == spec["properties"]["equals"]["type"] == "string"


def test_leaf_branch_and_node() -> None:
    leaf = _spec()["Pick_FilterLeaf.users_view-or-request_response_rmt_"]
    assert set(_ours()["FilterLeaf"]["properties"]) == set(leaf["properties"])
    spec_branch, our_branch = _spec()["UserFilterBranch"], _ours()["FilterBranch"]
    assert set(our_branch["required"]) == set(spec_branch["required"])
    assert set(our_branch["properties"]["operator"]["enum"]) == set(
        spec_branch["properties"]["operator"]["enum"]
    )
    node = helicone_filter.json_schema("filter")
    assert {"const": "all", "type": "string"} in node["oneOf"]
    assert len(node["oneOf"]) == len(_spec()["UserFilterNode"]["anyOf"]) == 3


def test_request_body() -> None:
    spec = _spec()["UserMetricsQueryParams"]
    ours = helicone_filter.json_schema()
    assert set(ours["properties"]) == set(spec["properties"])
    assert set(ours["required"]) == set(spec["required"])
    assert ours["additionalProperties"] is spec["additionalProperties"] is False
    assert set(_ours()["TimeFilter"]["required"]) == set(
        spec["properties"]["timeFilter"]["required"]
    )
    sort_spec = _spec()["SortLeafUsers"]["properties"]
    assert set(_ours()["SortLeafUsers"]["properties"]) == set(sort_spec)
    for prop in _ours()["SortLeafUsers"]["properties"].values():
        assert set(prop["enum"]) == set(_spec()["SortDirection"]["enum"])


def test_compiled_filters_validate_as_models() -> None:
    for text in (
        'user_cost > 5 and model ilike "gpt%"',
        "not (request_created_at = now) and cached",
        'properties["a b"] in ["x", "y"] and property_key = "k" and helicone-score-feedback',
        "all",
    ):
        compiled = helicone_filter.compile(text, now=NOW)
        model = FILTER_NODE.validate_python(compiled)
        assert FILTER_NODE.dump_python(model, by_alias=True, exclude_unset=True) == compiled


@pytest.mark.parametrize(
    "node",
    [
        {"users_view": {"user_cost": {"gt": "5x"}}},
        {"users_view": {"user_cost": {"gt": None}}},
        {"users_view": {"model": {"equals": "x"}}},
        {"request_response_rmt": {"model": {"gt": "x"}}},
        {"request_response_rmt": {"request_created_at": {"gt": 1700000000}}},
        {"request_response_rmt": {"request_created_at": {"not-equals": "2025-01-01"}}},
        {"left": "all", "operator": "AND", "right": "all"},
        {"left": "all", "operator": "and"},
        "ALL",
    ],
)
def test_the_models_refuse_what_check_refuses(node: Any) -> None:
    assert any(p.severity == "error" for p in helicone_filter.check(node))
    with pytest.raises(ValueError):
        FILTER_NODE.validate_python(node)


def test_request_body_model() -> None:
    body = UserMetricsQueryParams.model_validate(
        {
            "filter": helicone_filter.compile("user_cost > 5"),
            "offset": 0,
            "limit": 100,
            "timeFilter": {"startTimeUnixSeconds": 0, "endTimeUnixSeconds": 1.5},
            "sort": {"cost": "desc"},
        }
    )
    assert body.model_dump(by_alias=True, exclude_unset=True)["sort"] == {"cost": "desc"}
    with pytest.raises(ValueError):
        UserMetricsQueryParams.model_validate({"filter": "all", "offset": 0})
    with pytest.raises(ValueError):
        UserMetricsQueryParams.model_validate({"filter": "all", "offset": 0, "limit": 1, "x": 1})


def test_the_compiler_does_not_import_pydantic() -> None:
    import subprocess
    import sys

    code = (
        "import sys, helicone_filter; helicone_filter.compile('cached'); "
        "print('pydantic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# -- the request endpoints ---------------------------------------------------------------------


def test_request_models_take_what_the_request_endpoints_take() -> None:
    """RequestQueryParams and RequestFilterNode: the body's fields and sort keys are those of
    the OpenAPI excerpt; the leaf's tables the ones the language writes (session_tag alone of
    its table), and a compiled filter is a valid body."""
    from conftest import request_openapi

    from helicone_filter.frontends.models import REQUEST_SORT_KEYS, RequestQueryParams

    spec = request_openapi()["components"]["schemas"]
    ours = helicone_filter.json_schema(endpoint="requests")
    assert set(ours["properties"]) == set(spec["RequestQueryParams"]["properties"])
    assert ours["required"] == spec["RequestQueryParams"]["required"] == ["filter"]
    sorts = set(spec["SortLeafRequest"]["properties"])
    assert sorts == {*REQUEST_SORT_KEYS, "random", "properties", "values"}
    leaf = ours["$defs"]["RequestFilterLeaf"]["properties"]
    assert set(leaf) == {"request_response_rmt", "sessions_request_response_rmt"}
    sessions = ours["$defs"]["SessionsRequestResponseRMTToOperators"]["properties"]
    assert set(sessions) == {"session_tag"}
    node = helicone_filter.compile('session_tag = "prod" or cost > 1', now=NOW, endpoint="requests")
    RequestQueryParams.model_validate({"filter": node, "limit": 10})
    assert helicone_filter.json_schema("filter", endpoint="requests")["oneOf"][2] == {
        "const": "all",
        "type": "string",
    }
    with pytest.raises(ValueError, match="unknown endpoint"):
        helicone_filter.json_schema(endpoint="sessions")
