"""Every exception class of the package travels: through pickle (a worker process's error, as
in `ProcessPoolExecutor`, Celery or pytest-xdist) and `copy.deepcopy`, with every attribute
equal."""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

import helicone_filter
from helicone_filter.backends.request_body import QueryError
from helicone_filter.client.calls import HeliconeAPIError
from helicone_filter.client.records import NotANumber
from helicone_filter.errors import (
    FilterArgumentError,
    FilterError,
    FilterSyntaxError,
    FilterTypeError,
    FilterValidationError,
    RowError,
    make_problem,
)
from helicone_filter.problems import UnregisteredCode

_TEXT = 'cached and\n  modle = "x"'
_PROBLEM = make_problem(_TEXT, "unknown-field", "unknown field 'modle'", 13, 18, "did you mean?")

# One of each, with every attribute set to something other than its default.
INSTANCES: list[BaseException] = [
    FilterError([_PROBLEM], _TEXT),
    FilterSyntaxError([_PROBLEM], _TEXT),
    FilterValidationError([_PROBLEM, _PROBLEM], _TEXT),
    FilterArgumentError.because("unknown endpoint 'sessions'", "use 'requests'"),
    FilterTypeError.because("compile takes filter text (str), not int", "write it as text"),
    RowError("a row is a dict keyed by column name, not 5"),
    UnregisteredCode("problem code 'x' is not registered in CODES"),
    QueryError("-1 falls before the year 1"),
    NotANumber("'abc' is no number"),
    HeliconeAPIError(
        "Helicone refused the request body",
        status=422,
        url="https://api.helicone.ai/v1/user/metrics/query",
        details=[{"path": "requestBody.filter", "message": "bad", "value": 1}],
        hint="check the filter",
    ),
]

# The modules whose exceptions reach a user of the library.
_PUBLIC_MODULES = (
    "helicone_filter",
    "helicone_filter.errors",
    "helicone_filter.problems",
    "helicone_filter.api",
    "helicone_filter.backends.request_body",
    "helicone_filter.client",
    "helicone_filter.client.calls",
    "helicone_filter.client.records",
    "helicone_filter.client.requests",
    "helicone_filter.client.user_metrics",
    "helicone_filter.client.bodies",
)


def _state(e: BaseException) -> dict[str, Any]:
    return {"type": type(e), "args": e.args, "str": str(e), **vars(e)}


def test_the_table_names_every_exception_class() -> None:
    found = set()
    for name in _PUBLIC_MODULES:
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("helicone_filter"):
                found.add(value)
    assert found - {type(e) for e in INSTANCES} == set()


@pytest.mark.parametrize("error", INSTANCES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("how", ["pickle", "deepcopy", "copy"])
def test_an_error_round_trips(error: BaseException, how: str) -> None:
    if how == "pickle":
        again = pickle.loads(pickle.dumps(error))
    elif how == "deepcopy":
        again = copy.deepcopy(error)
    else:
        again = copy.copy(error)
    assert again is not error
    assert _state(again) == _state(error)


def test_a_filter_error_comes_back_from_a_worker_process() -> None:
    with pytest.raises(FilterValidationError) as here:
        helicone_filter.compile(_TEXT)
    with ProcessPoolExecutor(max_workers=1) as pool:
        future = pool.submit(helicone_filter.compile, _TEXT)
        with pytest.raises(FilterValidationError) as there:
            future.result(timeout=60)
    assert there.value.problems == here.value.problems
    assert [p.code for p in there.value.problems] == ["unknown-field"]
    assert there.value.text == _TEXT
    assert str(there.value) == str(here.value)
