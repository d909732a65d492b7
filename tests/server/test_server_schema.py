"""Property-based: schemathesis generates requests for every operation of the published
OpenAPI document (valid and invalid ones). No response is a server error, and every response
conforms to the document: status code, content type, headers and body schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from evopipe.app.ratelimit import Rate
from evopipe.app.serving import ServerOptions
from evopipe.server import create_server

CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)


@pytest.fixture
def db_url(project: Path) -> str:
    """SQLite only (the API tests cover PostgreSQL)."""
    return str(project / "evopipe.db")


@pytest.fixture
def options() -> ServerOptions:
    """Quick waits (no worker runs here), limits the generated traffic does not reach."""
    return ServerOptions(
        wait_timeout_s=0.2,
        key_rate=Rate(100_000, 100_000.0),
        tenant_rate=Rate(100_000, 100_000.0),
    )


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_within_its_documented_contract(
    served: Any, options: ServerOptions, mode: GenerationMode
) -> None:
    api = create_server(served.app, options, keyless=False)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api)
    headers = served.headers("a:admin")
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            if case.path == "/api/v1/runs/{run_id}/events":
                case.path_parameters = {"run_id": "no-such-run"}  # a live stream never ends
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            # no invalid input exists for an operation that takes none
            assert mode is GenerationMode.NEGATIVE, operation.label
            assert not _takes_input(operation.definition.raw), operation.label
            continue
        tested.append(operation.label)
    assert len(tested) >= (20 if mode is GenerationMode.POSITIVE else 14), tested


def _takes_input(definition: dict[str, Any]) -> bool:
    """Whether some input of the operation can be invalid (a body, or a constrained
    parameter; any string is a valid unconstrained path parameter)."""
    if definition.get("requestBody"):
        return True
    plain = {"type": "string", "title": ""}
    return any(
        set(p.get("schema", {})) - set(plain) or p["schema"].get("type") != "string"
        for p in definition.get("parameters", [])
    )
