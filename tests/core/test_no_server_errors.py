"""Every documented operation, called with hostile input by every kind of caller, answers 2xx/4xx, never 5xx.

A cheap, deterministic sweep over the OpenAPI document (the property-based fuzzer of the privacy and reliability
issue goes further): each path with good, absent and absurd ids, each body malformed, empty, of the wrong type,
with unknown fields, with wrong types and oversized strings.
"""

import json
import re

import pytest

from app.core.auth import Role
from tests.factories import make_guest, make_hotel, make_staff
from tests.partners.factories import make_partner, partner_headers

BODIES = [
    ("malformed", "{not json"),
    ("array", "[1, 2]"),
    ("empty object", "{}"),
    ("unknown field", '{"surprise": true}'),
    ("wrong types", '{"email": 5, "phone": [], "password": {}, "hotel_id": "x", "name": 7, "seasons": "x",'
                    ' "source_id": -1, "target_id": 1e309, "code": null, "first_name": true}'),
    ("huge strings", json.dumps({"email": "a" * 5000 + "@x.io", "first_name": "b" * 5000, "login": "c" * 5000})),
]
IDS = ["1", "999999999", "9223372036854775807"]


def operations(client):
    document = client.get("/api/v1/openapi.json").json
    for path, methods in document["paths"].items():
        for method in methods:
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method.upper(), path


@pytest.fixture
def callers(auth_headers):
    hotel = make_hotel()
    return {
        "anonymous": {},
        "guest": auth_headers(make_guest(hotels=[hotel])),
        "front_desk": auth_headers(make_staff(Role.FRONT_DESK, hotels=[hotel])),
        "chain_admin": auth_headers(make_staff(Role.CHAIN_ADMIN)),
        "partner": partner_headers(make_partner(hotels=[hotel])),
        "marketer": auth_headers(make_staff(Role.MARKETER, hotels=[hotel])),
    }


def test_no_operation_answers_5xx_to_bad_input(client, callers):
    failures = []
    for method, template in operations(client):
        for raw_id in IDS:
            path = re.sub(r"\{[^}]+\}", raw_id, template)
            for caller, headers in callers.items():
                bodies = BODIES if method in {"POST", "PUT", "PATCH"} else [("none", None)]
                for label, body in bodies:
                    response = client.open(path, method=method, data=body, headers={
                        **headers, "Content-Type": "application/json", "Idempotency-Key": f"sweep-{label}"})
                    if response.status_code >= 500:
                        failures.append(f"{method} {path} as {caller} with {label}: {response.status_code}")
                    elif response.status_code >= 400:
                        assert response.mimetype == "application/problem+json", (method, path, caller, label)
    assert failures == []
