"""Property-based fuzzing of every documented operation (schemathesis over the OpenAPI document, in process).

Each operation is called by the callers it serves: a checked-in guest (stay, folio, request, room device,
excursion...) for guest operations, the hotel's manager for staff ones (both for the rest), the hotel's partner
for API-key operations, an anonymous client for public ones. Cases come from the document, valid (positive) and
invalid (negative), two thirds of them with the ids of the caller's real resources in the path, so that the
handlers do real work. Every response must:

- not be a 5xx;
- have a success status the operation documents explicitly (errors fall under the document's `default` response,
  which is problem+json);
- have a documented content type and a body that matches the documented schema;
- refuse (4xx) input that the document forbids.

Deterministic (derandomized, no example database) and bounded by MAX_EXAMPLES per operation and caller.
tests/core/test_no_server_errors.py keeps the cheap hand-written sweep of absurd ids and malformed bodies.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from app import create_app
from tests.factories import make_world, world_path_ids

MAX_EXAMPLES = 10
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
                callers += _bearer_callers(path)
            if "apiKeyAuth" in schemes:
                callers.append("partner")
            if not operation.get("security") or {} in operation["security"]:
                callers.append("anonymous")
            found.append((method.upper(), path, tuple(callers)))
    return found


# Bearer operations are fuzzed by the callers they serve: staff paths by the manager, guest paths by the guest, the
# rest (auth, quotes, public lists with member prices) by both. A wrong role's 403 is tests/security's business.
STAFF_PREFIXES = ("/api/v1/staff", "/api/v1/admin", "/api/v1/marketing")
GUEST_PREFIXES = ("/api/v1/me", "/api/v1/loyalty", "/api/v1/stays", "/api/v1/requests", "/api/v1/bookings",
                  "/api/v1/experience-bookings")


def _bearer_callers(path: str) -> list[str]:
    if path.startswith(STAFF_PREFIXES):
        return ["manager"]
    if path.startswith(GUEST_PREFIXES):
        return ["guest"]
    return ["guest", "manager"]


CASES = [pytest.param(method, path, caller, id=f"{method} {path} as {caller}")
         for method, path, callers in _documented_operations() for caller in callers]


@pytest.fixture
def world(client: Any) -> Any:
    return make_world(client)


@pytest.fixture(scope="session")
def schema(app: Any) -> Any:
    return schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)


def success_status_documented(ctx: Any, response: Any, case: Any) -> None:
    """A 2xx must be one the operation names: `default` only stands for the problem+json errors."""
    if 200 <= response.status_code < 300:
        documented = set(case.operation.responses.status_codes)
        assert str(response.status_code) in documented, (
            f"{case.operation.label} answered {response.status_code}; documented: {sorted(documented)}")


# negative_data_rejection: input the document forbids must never be accepted with a 2xx.
CHECKS = [not_a_server_error, success_status_documented, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@pytest.mark.parametrize(("method", "path", "caller"), CASES)
def test_operation_conforms_to_its_document(method: str, path: str, caller: str, schema: Any, world: Any,
                                            app: Any) -> None:
    operation = schema[path][method]
    headers = {"guest": world.guest_headers, "manager": world.manager_headers, "partner": world.partner_headers,
               "anonymous": {}}[caller]
    real = world_path_ids(world, path)
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
