"""No analytics endpoint answers 500 to any parameter value, and every 200 matches its
documented schema: schemathesis generates requests from ``/openapi.json`` and sends them to the
in-process app, a bounded number per operation. Valid values run on SQLite and PostgreSQL;
invalid ones (refused before any query) on SQLite only, to keep the tier fast."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.generation import GenerationMode

from tests.analytics.conftest import DataSet

pytestmark = pytest.mark.xdist_group("analytics")

#: examples per operation: valid values, and invalid ones (cheap to refuse, costly to generate)
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 5}


def _operations(data: DataSet) -> list:
    schema = schemathesis.openapi.from_asgi("/openapi.json", data.client.app)
    schema = schema.include(path_regex="^/api/v1/admin/llm-costs/")
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) >= 16
    return ops


def test_no_parameter_value_makes_a_server_error(data: DataSet) -> None:
    modes = [GenerationMode.POSITIVE]
    if data.backend == "sqlite":
        modes.append(GenerationMode.NEGATIVE)
    for mode in modes:
        for operation in _operations(data):
            _fuzz(data, operation, mode)


def _fuzz(data: DataSet, operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers=data.admin)
        checks = [not_a_server_error]
        content_type = response.headers.get("content-type", [""])[0]
        if response.status_code == 200 and "json" in content_type:
            checks.append(response_schema_conformance)
        case.validate_response(response, checks=checks)

    try:
        check()
    except Unsatisfiable:
        # an operation whose every parameter admits any value has no invalid request to make
        if mode is not GenerationMode.NEGATIVE:
            raise
        print(f"no invalid request for {operation.method.upper()} {operation.path}")
