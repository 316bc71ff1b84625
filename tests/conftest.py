"""Shared by every test: where the test data is (TESTS, ROOT, CASES, SPEC), the fixed clock
(NOW), Hypothesis's profiles, the HTTP service on a loopback port (`base`), and the net: an
autouse fixture that checks every FilterNode the package writes during a test against its
endpoint's schema, `UserFilterNode` or `RequestFilterNode` (from the OpenAPI files copied
under tests/spec)."""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings
from openapi_schema_validator import OAS30Validator, oas30_format_checker

import helicone_filter.api.text
import helicone_filter.backends.helicone_json

# Where things are, for tests at any depth under tests/.
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
CASES = TESTS / "cases"
SPEC = TESTS / "spec" / "user-metrics-query.openapi.yaml"
REQUEST_SPEC = TESTS / "spec" / "request-query.openapi.json"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile(
    "ci", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@cache
def openapi() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return loaded


def _strict(components: dict[str, Any]) -> dict[str, Any]:
    """The components with `additionalProperties: false` wherever the spec leaves it open.

    The published schema lets any object pass as a leaf (no required keys, extra keys
    allowed), so a check against it alone could not fail; this copy could.
    """
    strict = copy.deepcopy(components)
    stack: list[Any] = [strict]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if x.get("type") == "object" and "properties" in x and "additionalProperties" not in x:
                x["additionalProperties"] = False
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return strict


@cache
def request_openapi() -> dict[str, Any]:
    """The excerpt of Helicone's OpenAPI document for its request endpoints."""
    loaded: dict[str, Any] = json.loads(REQUEST_SPEC.read_text(encoding="utf-8"))
    return loaded


@cache
def filter_node_validators(endpoint: str = "user-metrics") -> tuple[OAS30Validator, OAS30Validator]:
    """The validators of the endpoint's FilterNode (UserFilterNode, RequestFilterNode), as
    published and strict."""
    if endpoint == "requests":
        components = request_openapi()["components"]
        ref = "#/components/schemas/RequestFilterNode"
    else:
        components = openapi()["components"]
        ref = "#/components/schemas/UserFilterNode"
    return (
        OAS30Validator(
            {"components": components, "$ref": ref}, format_checker=oas30_format_checker
        ),
        OAS30Validator(
            {"components": _strict(components), "$ref": ref}, format_checker=oas30_format_checker
        ),
    )


def json_depth(node: Any) -> int:
    deepest = 0
    stack = [(node, 1)]
    while stack:
        x, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(x, dict):
            stack.extend((v, d + 1) for v in x.values())
    return deepest


def assert_valid_filter_node(node: Any, endpoint: str = "user-metrics") -> None:
    """`node` validates against the endpoint's FilterNode (UserFilterNode, RequestFilterNode),
    as published and in the strict copy."""
    for validator in filter_node_validators(endpoint):
        errors = list(validator.iter_errors(node))
        assert not errors, errors[0].message


def assert_valid_query_body(body: dict[str, Any]) -> None:
    """`body` validates against UserMetricsQueryParams, the endpoint's request body, in the
    OpenAPI file and as the pydantic model."""
    from helicone_filter.frontends.models import UserMetricsQueryParams

    schema = {"$ref": "#/components/schemas/UserMetricsQueryParams", **openapi()}
    OAS30Validator(schema).validate(body)
    UserMetricsQueryParams.model_validate(body)


VALIDATED = {"count": 0}  # how many FilterNodes the net below has checked (tests/test_net.py)


def _writer_bindings() -> list[tuple[ModuleType, str]]:
    """Every name that the package's modules hold the FilterNode writer under: its own module's,
    and the copies made by `from ... import to_json` (the ways in, normalize, simplify)."""
    import helicone_filter.backends.analysis
    import helicone_filter.frontends.checker

    writer = helicone_filter.backends.helicone_json.to_json
    return [
        (module, "to_json")
        for name, module in sorted(sys.modules.items())
        if name.startswith("helicone_filter") and getattr(module, "to_json", None) is writer
    ]


@pytest.fixture(autouse=True)
def _every_compile_is_valid(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Wrap the FilterNode writer wherever the package calls it, so that whatever a test
    compiles, normalizes or simplifies is schema-checked (tests/test_net.py fails if this
    stops running)."""
    original = helicone_filter.backends.helicone_json.to_json

    def checked(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        # jsonschema recurses several frames per level; deeper (right-nested) chains are
        # checked by shape in language/test_long_input.py instead.
        if json_depth(result) < 100:
            for endpoint in _endpoints_of(result):
                assert_valid_filter_node(result, endpoint)
            VALIDATED["count"] += 1
        return result

    for module, name in _writer_bindings():
        monkeypatch.setattr(module, name, checked)
    yield


def _endpoints_of(node: Any) -> list[str]:
    """The endpoints whose FilterNode `node` must be: the user-metrics one unless it names the
    sessions table, the request endpoints' unless it names users_view (a filter on
    request_response_rmt alone is checked against both)."""
    written = json.dumps(node)
    users = '"users_view": ' in written
    sessions = '"sessions_request_response_rmt": ' in written
    found = ([] if sessions else ["user-metrics"]) + ([] if users else ["requests"])
    assert found, "a FilterNode names both users_view and sessions_request_response_rmt"
    return found


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port in a thread; its base URL."""
    import threading
    import time

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def base() -> Iterator[str]:
    """The HTTP service, started with uvicorn on a free loopback port for the test run."""
    from helicone_filter.service.app import create_app

    app = create_app(cors_origins=["https://builder.example.com"], max_body=4096)
    with serving(app) as url:
        yield url
