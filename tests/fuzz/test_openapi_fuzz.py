"""Property-based fuzzing of every documented operation (schemathesis over the OpenAPI document, in process).

Each operation is called by the callers its security allows: a checked-in guest (stay, folio, request, room device,
excursion...) and the hotel's manager for bearer operations, the hotel's partner for API-key operations, an anonymous
client for public ones. Cases come from the document both valid (positive) and invalid (negative), half of them with
the path ids of the caller's real resources so that the handlers do real work. Every response must:

- not be a 5xx;
- have a success status the operation documents explicitly (errors fall under the document's `default` response,
  which is problem+json);
- have a documented content type and a body that matches the documented schema.

Deterministic (derandomized, no example database) and bounded by MAX_EXAMPLES per operation and caller.
tests/core/test_no_server_errors.py keeps the cheap hand-written sweep of absurd ids and malformed bodies.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from app import create_app
from tests.factories import make_world

MAX_EXAMPLES = 6
OPENAPI_PATH = "/api/v1/openapi.json"

# Operations the fuzzer leaves out, each with its reason. Keep this short: prefer fixing the app or the document.
EXCLUDED: dict[tuple[str, str], str] = {}


def _documented_operations() -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path, callers) for every operation, read from the document of an app built for collection only."""
    document = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"}).test_client().get(OPENAPI_PATH).json
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"} or (method, path) in EXCLUDED:
                continue
            schemes = {name for requirement in operation.get("security", [{}]) for name in requirement} or {"none"}
            callers: list[str] = []
            if "bearerAuth" in schemes:
                callers += ["guest", "manager"]
            if "apiKeyAuth" in schemes:
                callers.append("partner")
            if not operation.get("security") or {} in operation["security"]:
                callers.append("anonymous")
            found.append((method.upper(), path, tuple(callers)))
    return found


CASES = [pytest.param(method, path, caller, id=f"{method} {path} as {caller}")
         for method, path, callers in _documented_operations() for caller in callers]


@pytest.fixture
def world(client: Any) -> Any:
    return make_world(client)


@pytest.fixture
def schema(app: Any) -> Any:
    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)
    return schema


def _real_ids(world: Any, path: str) -> dict[str, Any]:
    """The caller's own resources for each path parameter this template names."""
    by_name = {
        "hotel_id": world.hotel_id, "room_type_id": world.room_type_id, "room_id": world.room_id,
        "stay_id": world.stay_id, "guest_id": world.guest_id, "request_id": world.request_id,
        "message_id": world.message_id, "command_id": world.command_id, "session_id": world.session_id,
        "offering_id": world.offering_id, "slot_id": world.slot_id, "partner_id": world.partner_id,
        "item_id": world.catalog_item_id, "scene": "sleep",
    }
    by_name["booking_id"] = world.booking_id if path.startswith("/api/v1/bookings") else world.experience_booking_id
    by_name["device_id"] = world.push_device_id if path.startswith("/api/v1/me") else world.room_device_id
    return {name: by_name[name] for name in re.findall(r"\{([^}]+)\}", path) if name in by_name}


def success_status_documented(ctx: Any, response: Any, case: Any) -> None:
    """A 2xx must be one the operation names: `default` only stands for the problem+json errors."""
    if 200 <= response.status_code < 300:
        documented = set(case.operation.responses.status_codes)
        assert str(response.status_code) in documented, (
            f"{case.operation.label} answered {response.status_code}; documented: {sorted(documented)}")


CHECKS = [not_a_server_error, success_status_documented, content_type_conformance, response_schema_conformance]


@pytest.mark.parametrize(("method", "path", "caller"), CASES)
def test_operation_conforms_to_its_document(method: str, path: str, caller: str, schema: Any, world: Any,
                                            app: Any) -> None:
    operation = schema[path][method]
    headers = {"guest": world.guest_headers, "manager": world.manager_headers, "partner": world.partner_headers,
               "anonymous": {}}[caller]
    real = _real_ids(world, path)
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real or None),
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real or None),
    )
    client = app.test_client()

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(session=client, headers=headers, buffered=True)
        case.validate_response(response, checks=CHECKS)

    run()
