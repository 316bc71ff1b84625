"""The language for Helicone's request endpoints (`endpoint="requests"`): the golden table
tests/cases/requests.json, what differs from user metrics (session_tag, `or` across tables,
the names refused with what Helicone does), and the `endpoint` argument of every way in."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from conftest import CASES, NOW

import helicone_filter
from helicone_filter import FilterError
from helicone_filter.api.text import compile_explained, compile_with_sources, compile_with_warnings
from helicone_filter.facts.endpoints import DEFAULT_ENDPOINT, ENDPOINTS, endpoint
from helicone_filter.facts.schema import FIELDS, field_table, schema_of
from helicone_filter.facts.timestamps import parse_timestamp

DATA = json.loads((CASES / "requests.json").read_text(encoding="utf-8"))
CASE_NOW = parse_timestamp(DATA["now"])
REQUESTS = "requests"


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["text"][:60] for c in DATA["cases"]])
def test_case(case: dict[str, Any]) -> None:
    text = case["text"]
    if "json" in case:
        got, warnings = compile_with_warnings(text, now=CASE_NOW, endpoint=REQUESTS, analyze=False)
        assert got == case["json"]
        assert [p.code for p in warnings] == case.get("warnings", [])
        return
    with pytest.raises(FilterError) as info:
        helicone_filter.compile(text, now=CASE_NOW, endpoint=REQUESTS)
    got_errors = [{"code": p.code, "start": p.start, "end": p.end} for p in info.value.problems]
    assert got_errors == case["errors"]
    for p in info.value.problems:
        assert p.message and p.hint


def test_the_table_covers_what_differs() -> None:
    codes = {p["code"] for c in DATA["cases"] for p in c.get("errors", [])}
    assert {"other-endpoint", "dropped-column", "table-fails", "session-tag-magic"} <= codes
    assert any(c.get("warnings") == ["session-tag-contains"] for c in DATA["cases"])


def test_user_metrics_is_the_default_and_unchanged() -> None:
    assert DEFAULT_ENDPOINT == "user-metrics" == ENDPOINTS[DEFAULT_ENDPOINT].name
    text = 'user_cost > 5 and model = "gpt-4o"'
    assert helicone_filter.compile(text, now=NOW) == helicone_filter.compile(
        text, now=NOW, endpoint="user-metrics"
    )
    with pytest.raises(FilterError) as info:
        helicone_filter.compile('user_cost > 5 or model = "a"', now=NOW)
    assert [p.code for p in info.value.problems] == ["or-across-tables"]
    assert schema_of().fields == FIELDS
    assert field_table() == field_table("user-metrics")


def test_the_endpoints_rows() -> None:
    users, requests = ENDPOINTS["user-metrics"], ENDPOINTS[REQUESTS]
    assert users.paths == ("/v1/user/metrics/query",)
    assert requests.paths == ("/v1/request/query-clickhouse", "/v1/request/count/query")
    assert users.refuses_or_across_tables and not requests.refuses_or_across_tables
    assert (users.filter_schema, requests.filter_schema) == ("UserFilterNode", "RequestFilterNode")
    answers = {t: r.answer for t, r in requests.refused_tables.items()}
    assert answers == {
        "users_view": "422",
        "request": "empty page",
        "response": "empty page",
        "feedback": "empty page",
        "properties": "empty page",
        "values": "500",
    }


def test_the_fields_of_the_requests_endpoint() -> None:
    rows = field_table(REQUESTS)
    names = [r["field"] for r in rows]
    assert names == [n for n, f in FIELDS.items() if f.table == "request_response_rmt"] + [
        "session_tag"
    ]
    tag = rows[-1]
    assert tag["table"] == "sessions_request_response_rmt"
    assert tag["operators"] == [
        "=",
        "!=",
        "like",
        "ilike",
        "contains",
        "not contains",
        "in",
        "not in",
    ]
    assert "contains adds no %" in tag["helicone"]


def test_an_unknown_endpoint_is_a_value_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"'user-metrics' and 'requests'; did you mean 'requests'"):
        endpoint("request")
    ways = [
        lambda e: helicone_filter.compile("cached", endpoint=e),
        lambda e: helicone_filter.compile_with_spans("cached", endpoint=e),
        lambda e: compile_with_warnings("cached", endpoint=e),
        lambda e: compile_with_sources("cached", endpoint=e),
        lambda e: compile_explained("cached", endpoint=e),
        lambda e: helicone_filter.check_text("cached", endpoint=e),
        lambda e: helicone_filter.check("all", endpoint=e),
        lambda e: helicone_filter.validate("all", endpoint=e),
        lambda e: helicone_filter.normalize("all", endpoint=e),
        lambda e: helicone_filter.to_text("all", endpoint=e),
        lambda e: helicone_filter.simplify("cached", endpoint=e),
        lambda e: helicone_filter.matches("all", {}, endpoint=e),
        lambda e: helicone_filter.to_clickhouse("cached", endpoint=e),
        lambda e: helicone_filter.diagnose("cached", endpoint=e),
        lambda e: helicone_filter.complete("cached", endpoint=e),
        lambda e: helicone_filter.json_schema(endpoint=e),
        lambda e: field_table(e),
    ]
    for way in ways:
        with pytest.raises(ValueError, match="unknown endpoint 'sessions'"):
            way("sessions")
        way(REQUESTS)


def test_endpoint_is_keyword_only() -> None:
    for name in (
        "compile",
        "check_text",
        "check",
        "validate",
        "normalize",
        "to_text",
        "simplify",
        "matches",
        "to_clickhouse",
        "diagnose",
        "complete",
        "json_schema",
        "compile_with_spans",
    ):
        parameter = inspect.signature(getattr(helicone_filter, name)).parameters["endpoint"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.default == "user-metrics", name


def test_json_is_read_for_the_endpoint() -> None:
    node = {
        "left": {"sessions_request_response_rmt": {"session_tag": {"equals": "prod"}}},
        "operator": "or",
        "right": {"request_response_rmt": {"status": {"equals": 500}}},
    }
    assert helicone_filter.check(node, endpoint=REQUESTS) == []
    assert (
        helicone_filter.to_text(node, endpoint=REQUESTS) == 'session_tag = "prod" or status = 500'
    )
    assert helicone_filter.normalize(node, endpoint=REQUESTS) == node
    assert [p.code for p in helicone_filter.check(node)] == ["unknown-table"]
    users = {"users_view": {"user_cost": {"gt": 5}}}
    problem = helicone_filter.check(users, endpoint=REQUESTS)[0]
    assert (problem.code, problem.path) == ("other-endpoint", "$.users_view")
    assert 'endpoint="user-metrics"' in problem.hint


def test_or_across_tables_is_no_problem_on_the_request_endpoints() -> None:
    text = 'session_tag = "a" or model = "b"'
    assert helicone_filter.check_text(text, endpoint=REQUESTS) == []
    assert helicone_filter.diagnose(text, endpoint=REQUESTS) == []
    assert helicone_filter.simplify(text + ' or model = "b"', endpoint=REQUESTS) == text


def test_completion_offers_the_endpoints_fields() -> None:
    labels = [c.label for c in helicone_filter.complete("", endpoint=REQUESTS)]
    assert "session_tag" in labels and "user_cost" not in labels
    assert "sessions_request_response_rmt" in labels and "users_view" not in labels
    ops = [c.label for c in helicone_filter.complete("session_tag ", endpoint=REQUESTS)]
    assert "is null" not in ops and "contains" in ops
    assert "session_tag" not in [c.label for c in helicone_filter.complete("")]
