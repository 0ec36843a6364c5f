"""Authorisation matrix: nobody reaches another guest's, another hotel's or another partner's resources.

Two complete worlds (tests/factories.py make_world): hotel A with its guest, staff and partner, and hotel B (another
chain) with its own. For every operation that names a resource (in its path, or in its body or query where listed
below), A's resource is asked for by:

- the intruder of the same kind: B's guest for a guest's resource, B's staff of the owning role for a hotel's
  resource, B's partner for a partner's resource -> 404 (the resource's existence is not revealed);
- a caller of the wrong kind (A's own guest on staff routes, A's manager on guest routes) -> 403 (or 401 for a
  missing API key);

and, for reads, the owner gets 200 (so a refusal is about ownership, not a wrong id). Lists (LISTS) show the owner
their item and the other side's caller never. The operation list comes from
the OpenAPI document and the app's url_map: an operation with a path parameter and no entry here (MATRIX or PUBLIC)
fails test_every_resource_route_is_in_the_matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from app.core import clock
from app.extensions import db
from app.guests.models import Guest
from app.hotels.models import Hotel
from tests.factories import give_points, make_guest, make_world, world_path_ids


@dataclass(frozen=True)
class Entry:
    owner: str  # guest | manager | marketer | partner | admin | account (a guest or staff member's own sessions)
    body: dict[str, Any] | None = None
    query: str = ""
    refused: tuple[int, ...] = (404,)  # what the same-kind intruder gets
    ids: dict[str, str] = field(default_factory=dict)  # body fields filled with A's ids: {"stay_id": "stay_id"}


def _dates() -> dict[str, str]:
    today = clock.now().date()
    return {"check_in": str(today + timedelta(days=30)), "check_out": str(today + timedelta(days=32))}


G, M, K, P, A = "guest", "manager", "marketer", "partner", "admin"
MATRIX: dict[tuple[str, str], Entry] = {
    # -- a guest's own resources
    ("DELETE", "/api/v1/auth/sessions/{session_id}"): Entry("account"),
    ("DELETE", "/api/v1/me/family/{member_id}"): Entry(G),
    ("DELETE", "/api/v1/me/devices/{device_id}"): Entry(G),
    ("POST", "/api/v1/me/inbox/{notification_id}/actions/open"): Entry(G),
    ("GET", "/api/v1/bookings/{booking_id}"): Entry(G),
    ("POST", "/api/v1/bookings/{booking_id}/actions/modify"): Entry(G, body=_dates()),
    ("POST", "/api/v1/bookings/{booking_id}/actions/cancel"): Entry(G),
    ("POST", "/api/v1/bookings/{booking_id}/actions/check-in"): Entry(G),
    ("GET", "/api/v1/stays/{stay_id}"): Entry(G),
    ("GET", "/api/v1/stays/{stay_id}/folio"): Entry(G),
    ("PUT", "/api/v1/stays/{stay_id}/room-status"): Entry(G, body={"state": "dnd"}),
    ("POST", "/api/v1/stays/{stay_id}/actions/checkout"): Entry(G, body={"confirmed_balance": 0}),
    ("GET", "/api/v1/stays/{stay_id}/survey"): Entry(G),
    ("POST", "/api/v1/stays/{stay_id}/survey"): Entry(G, body={"answers": {"overall": 5}}),
    ("GET", "/api/v1/stays/{stay_id}/room/devices"): Entry(G),
    ("POST", "/api/v1/stays/{stay_id}/room/commands"): Entry(G, body={"values": {"on": True}},
                                                              ids={"device_id": "room_device_id"}),
    ("GET", "/api/v1/stays/{stay_id}/room/commands/{command_id}"): Entry(G),
    ("POST", "/api/v1/stays/{stay_id}/room/scenes/{scene}"): Entry(G),
    ("POST", "/api/v1/stays/{stay_id}/room/unlock"): Entry(G),
    ("GET", "/api/v1/stays/{stay_id}/messages"): Entry(G),
    ("POST", "/api/v1/stays/{stay_id}/messages"): Entry(G, body={"body": "hello"}),
    ("GET", "/api/v1/experience-bookings/{booking_id}"): Entry(G),
    ("POST", "/api/v1/experience-bookings/{booking_id}/actions/cancel"): Entry(G),
    ("GET", "/api/v1/requests/{request_id}"): Entry(G),
    ("POST", "/api/v1/requests/{request_id}/actions/cancel"): Entry(G),
    ("POST", "/api/v1/requests/{request_id}/actions/rate"): Entry(G, body={"rating": 5}),
    ("POST", "/api/v1/requests"): Entry(G, body={"type": "room_service"},
                                        ids={"stay_id": "stay_id", "items": "catalog_items"}),
    ("POST", "/api/v1/loyalty/redemptions"): Entry(G, body={"points": 1}, ids={"booking_id": "booking_id"}),
    # -- a hotel's resources, for its staff
    ("GET", "/api/v1/staff/guests/{guest_id}"): Entry(M),
    ("GET", "/api/v1/staff/guests/{guest_id}/summary"): Entry(M),
    ("GET", "/api/v1/staff/loyalty/members/{guest_id}"): Entry(M),
    ("POST", "/api/v1/staff/loyalty/goodwill"): Entry(M, body={"points": 10, "reason": "sorry"},
                                                      ids={"guest_id": "guest_id"}),
    ("POST", "/api/v1/staff/guests/merge"): Entry(M, ids={"source_id": "guest_id", "target_id": "other_guest_id"}),
    ("POST", "/api/v1/staff/quotes"): Entry(M, body={"check_in": "2030-01-10", "check_out": "2030-01-12"}, ids={
        "hotel_id": "hotel_id", "room_type_id": "room_type_id", "guest_id": "guest_id"}),
    ("POST", "/api/v1/staff/bookings"): Entry(M, body={"check_in": "2030-01-10", "check_out": "2030-01-12"}, ids={
        "hotel_id": "hotel_id", "room_type_id": "room_type_id", "guest_id": "guest_id"}),
    # -- chain-wide data rights (a chain admin sees every guest of the chain: hotel staff and guests are refused)
    ("GET", "/api/v1/staff/guests/{guest_id}/export"): Entry(A),
    ("POST", "/api/v1/staff/guests/{guest_id}/erasure"): Entry(A),
    ("GET", "/api/v1/admin/hotels/{hotel_id}"): Entry(M),
    ("PATCH", "/api/v1/admin/hotels/{hotel_id}"): Entry(M, body={"city": "Sochi"}),
    ("PUT", "/api/v1/admin/hotels/{hotel_id}/seasons"): Entry(M, body={"seasons": []}),
    ("GET", "/api/v1/admin/hotels/{hotel_id}/room-types"): Entry(M),
    ("POST", "/api/v1/admin/hotels/{hotel_id}/room-types"): Entry(M, body={
        "code": "suite", "name": {"en": "Suite"}, "max_occupancy": 2, "bed_type": "double"}),
    ("PATCH", "/api/v1/admin/room-types/{room_type_id}"): Entry(M, body={"max_occupancy": 3}),
    ("GET", "/api/v1/admin/hotels/{hotel_id}/rooms"): Entry(M),
    ("POST", "/api/v1/admin/hotels/{hotel_id}/rooms"): Entry(M, body={"number": "999", "floor": 9},
                                                             ids={"room_type_id": "room_type_id"}),
    ("PATCH", "/api/v1/admin/rooms/{room_id}"): Entry(M, body={"floor": 2}),
    ("GET", "/api/v1/admin/hotels/{hotel_id}/departments"): Entry(M),
    ("PUT", "/api/v1/admin/hotels/{hotel_id}/departments"): Entry(M, body={"departments": []}),
    ("PUT", "/api/v1/admin/hotels/{hotel_id}/pricing"): Entry(M, body={"direct_discount_bp": 500,
                                                                       "max_discount_bp": 1000}),
    ("GET", "/api/v1/admin/hotels/{hotel_id}/rate-plans"): Entry(M),
    ("POST", "/api/v1/admin/hotels/{hotel_id}/rate-plans"): Entry(M, body={"base_price": 500000, "code": "flex",
                                                                           "name": {"en": "Flexible"}},
                                                                  ids={"room_type_id": "room_type_id"}),
    ("POST", "/api/v1/admin/promo-codes"): Entry(M, body={"code": "SPRING", "discount_bp": 500},
                                                 ids={"hotel_id": "hotel_id"}),
    ("GET", "/api/v1/staff/rooms"): Entry(M, query="hotel_id={hotel_id}"),
    ("GET", "/api/v1/staff/rooms/{room_id}/devices"): Entry(M),
    ("POST", "/api/v1/staff/rooms/{room_id}/commands"): Entry(M, body={"values": {"on": True}},
                                                              ids={"device_id": "room_device_id"}),
    ("GET", "/api/v1/staff/room-commands/{command_id}"): Entry(M),
    ("PUT", "/api/v1/staff/stays/{stay_id}/key-block"): Entry(M, body={}),
    ("DELETE", "/api/v1/staff/stays/{stay_id}/key-block"): Entry(M),
    ("GET", "/api/v1/admin/rooms/{room_id}/devices"): Entry(M),
    ("POST", "/api/v1/admin/rooms/{room_id}/devices"): Entry(M, body={"key": "fan", "kind": "climate",
                                                                      "name": {"en": "Fan"}}),
    ("DELETE", "/api/v1/admin/devices/{device_id}"): Entry(M),
    ("GET", "/api/v1/admin/partners/{partner_id}"): Entry(M),
    ("PATCH", "/api/v1/admin/partners/{partner_id}"): Entry(M, body={"is_active": True}),
    ("POST", "/api/v1/admin/partners/{partner_id}/api-keys"): Entry(M, body={"name": "key"}),
    ("GET", "/api/v1/admin/partners/{partner_id}/offerings"): Entry(M),
    ("POST", "/api/v1/admin/partners/{partner_id}/offerings"): Entry(M, body={
        "title": {"en": "Trip"}, "price": 1000, "duration_minutes": 60, "languages": ["en"]}),
    ("PATCH", "/api/v1/admin/offerings/{offering_id}"): Entry(M, body={"price": 2000}),
    ("GET", "/api/v1/admin/partners/{partner_id}/statements"): Entry(M, query="month=2026-10"),
    ("GET", "/api/v1/staff/queue"): Entry(M, query="hotel_id={hotel_id}"),
    ("GET", "/api/v1/staff/stats"): Entry(M, query="hotel_id={hotel_id}&date_from=2026-01-01&date_to=2026-01-31"),
    ("GET", "/api/v1/staff/alerts"): Entry(M, query="hotel_id={hotel_id}"),
    ("GET", "/api/v1/staff/service-recoveries"): Entry(M, query="hotel_id={hotel_id}"),
    ("POST", "/api/v1/staff/requests"): Entry(M, body={"type": "room_service"},
                                              ids={"stay_id": "stay_id", "items": "catalog_items"}),
    ("GET", "/api/v1/staff/requests/{request_id}"): Entry(M),
    ("POST", "/api/v1/staff/requests/{request_id}/actions/acknowledge"): Entry(M),
    ("POST", "/api/v1/staff/requests/{request_id}/actions/assign"): Entry(M),
    ("POST", "/api/v1/staff/requests/{request_id}/actions/start"): Entry(M),
    ("POST", "/api/v1/staff/requests/{request_id}/actions/hold"): Entry(M, body={"reason": "wait"}),
    ("POST", "/api/v1/staff/requests/{request_id}/actions/resume"): Entry(M),
    ("POST", "/api/v1/staff/requests/{request_id}/actions/complete"): Entry(M),
    ("POST", "/api/v1/staff/requests/{request_id}/actions/reject"): Entry(M, body={"reason": "no"}),
    ("GET", "/api/v1/staff/hotels/{hotel_id}/sla"): Entry(M),
    ("PUT", "/api/v1/staff/hotels/{hotel_id}/sla"): Entry(M, body={"targets": []}),
    ("GET", "/api/v1/staff/hotels/{hotel_id}/catalog"): Entry(M),
    ("POST", "/api/v1/staff/hotels/{hotel_id}/catalog"): Entry(M, body={"type": "room_service", "code": "tea",
                                                                        "name": {"en": "Tea"}}),
    ("PATCH", "/api/v1/staff/catalog/{item_id}"): Entry(M, body={"price": 100}),
    ("POST", "/api/v1/staff/alerts/{alert_id}/actions/acknowledge"): Entry(M),
    ("POST", "/api/v1/staff/service-recoveries/{recovery_id}/actions/resolve"): Entry(M, body={"resolution": "ok"}),
    ("GET", "/api/v1/staff/stays/{stay_id}"): Entry(M),
    ("POST", "/api/v1/staff/stays/{stay_id}/actions/check-in"): Entry(M, body={}),
    ("POST", "/api/v1/staff/stays/{stay_id}/actions/checkout"): Entry(M, body={"confirmed_balance": 0}),
    ("GET", "/api/v1/staff/stays/{stay_id}/messages"): Entry(M),
    ("POST", "/api/v1/staff/stays/{stay_id}/messages"): Entry(M, body={"body": "hello"}),
    ("POST", "/api/v1/staff/messages/{message_id}/actions/convert"): Entry(M, body={"type": "room_service"},
                                                                           ids={"items": "catalog_items"}),
    # -- marketing (hotel-scoped segments and campaigns)
    ("PATCH", "/api/v1/staff/loyalty/offers/{offer_id}"): Entry(K, body={"is_active": False}),
    ("GET", "/api/v1/marketing/segments/{segment_id}"): Entry(K),
    ("POST", "/api/v1/marketing/segments/{segment_id}/preview"): Entry(K),
    ("POST", "/api/v1/marketing/segments"): Entry(K, body={"name": "x"}, ids={"hotel_id": "hotel_id"}),
    ("POST", "/api/v1/marketing/campaigns"): Entry(K, body={"name": "x", "title": {"en": "t"}, "body": {"en": "b"}},
                                                   ids={"segment_id": "segment_id"}),
    ("GET", "/api/v1/marketing/campaigns/{campaign_id}"): Entry(K),
    ("POST", "/api/v1/marketing/campaigns/{campaign_id}/actions/schedule"): Entry(K),
    ("POST", "/api/v1/marketing/campaigns/{campaign_id}/actions/cancel"): Entry(K),
    ("GET", "/api/v1/marketing/campaigns/{campaign_id}/stats"): Entry(K),
    ("GET", "/api/v1/marketing/hotels/{hotel_id}/settings"): Entry(K),
    ("PUT", "/api/v1/marketing/hotels/{hotel_id}/settings"): Entry(K, body={"auto_low_season": False}),
    # -- a partner's resources
    ("PATCH", "/api/v1/partner/slots/{slot_id}"): Entry(P, body={"capacity": 20}),
    ("GET", "/api/v1/partner/bookings/{booking_id}"): Entry(P),
    ("POST", "/api/v1/partner/bookings/{booking_id}/actions/confirm"): Entry(P),
    ("POST", "/api/v1/partner/bookings/{booking_id}/actions/decline"): Entry(P, body={"reason": "full"}),
    ("GET", "/api/v1/partner/vouchers/{code}"): Entry(P),
    ("POST", "/api/v1/partner/vouchers/{code}/redeem"): Entry(P),
    ("DELETE", "/api/v1/partner/webhooks/{endpoint_id}"): Entry(P),
    ("POST", "/api/v1/partner/webhooks/{endpoint_id}/actions/rotate-secret"): Entry(P),
    ("POST", "/api/v1/partner/webhooks/deliveries/{delivery_id}/actions/retry"): Entry(P),
}

# Lists: (path, whose list, the attribute of world A whose id the list holds). A's owner sees the item; B's never.
LISTS = [
    ("/api/v1/bookings", G, "booking_id"),
    ("/api/v1/requests", G, "request_id"),
    ("/api/v1/experience-bookings", G, "experience_booking_id"),
    ("/api/v1/me/devices", G, "push_device_id"),
    ("/api/v1/me/family", G, "member_id"),
    ("/api/v1/me/inbox", G, "notification_id"),
    ("/api/v1/auth/sessions", G, "session_id"),
    ("/api/v1/staff/queue", M, "request_id"),
    ("/api/v1/staff/rooms?hotel_id={hotel_id}", M, "room_id"),  # each asks for their own hotel; items by room_id
    ("/api/v1/staff/alerts", M, "alert_id"),
    ("/api/v1/staff/service-recoveries?hotel_id={hotel_id}", M, "recovery_id"),
    ("/api/v1/staff/guests?query=Anna", M, "guest_id"),
    ("/api/v1/admin/partners", M, "partner_id"),
    ("/api/v1/marketing/segments", K, "segment_id"),
    ("/api/v1/marketing/campaigns", K, "campaign_id"),
    ("/api/v1/partner/bookings", P, "experience_booking_id"),
    ("/api/v1/partner/offerings", P, "offering_id"),
    ("/api/v1/partner/slots", P, "slot_id"),
    ("/api/v1/partner/webhooks", P, "endpoint_id"),
    ("/api/v1/partner/webhooks/deliveries", P, "delivery_id"),
]

# Operations with a path parameter that are nobody's private resource, with the reason.
PUBLIC = {
    ("GET", "/api/v1/hotels/{hotel_id}"): "the chain's public hotel list",
    ("GET", "/api/v1/hotels/{hotel_id}/room-types"): "public: what a hotel sells",
    ("GET", "/api/v1/hotels/{hotel_id}/seasons"): "public: the hotel's seasons",
    ("GET", "/api/v1/hotels/{hotel_id}/catalog"): "public: the hotel's room-service menu",
    ("GET", "/api/v1/hotels/{hotel_id}/experiences"): "public: excursions sold at a hotel",
    ("GET", "/api/v1/experiences/{offering_id}"): "public: one excursion",
    ("GET", "/api/v1/experiences/{offering_id}/slots"): "public: an excursion's schedule",
}
# The staff console's pages (cookie login, not in the OpenAPI document): rule -> the role that opens them. B's
# staff of that role get 404 for A's resource; A's get 200 for a page.
CONSOLE_MATRIX = {
    ("GET", "/console/requests/<int:request_id>"): "desk",
    ("POST", "/console/requests/<int:request_id>/actions/<action>"): "desk",
    ("GET", "/console/guests/<int:guest_id>"): "desk",
    ("GET", "/console/stays/<int:stay_id>"): "desk",
    ("POST", "/console/stays/<int:stay_id>/actions/<action>"): "desk",
    ("GET", "/console/marketing/segments/<int:segment_id>"): "marketer",
    ("GET", "/console/marketing/campaigns/<int:campaign_id>"): "marketer",
    ("POST", "/console/marketing/campaigns/<int:campaign_id>/schedule"): "marketer",
    ("POST", "/console/marketing/campaigns/<int:campaign_id>/cancel"): "marketer",
}
# Rules of the url_map that are not API operations.
NOT_IN_DOCUMENT = {
    "/docs/<path:filename>": "Swagger UI's static files",
    "/static/<path:filename>": "Flask's static files",
    "/console/static/<path:filename>": "the console's stylesheet and script",
}


def _document(app: Any) -> dict:
    return app.test_client().get("/api/v1/openapi.json").get_json()


def test_every_resource_route_is_in_the_matrix(app: Any) -> None:
    document = _document(app)
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item
                  if method in {"get", "post", "put", "patch", "delete"}}
    missing = sorted(op for op in operations if "{" in op[1] and op not in MATRIX and op not in PUBLIC)
    assert missing == [], "add these operations to MATRIX (or PUBLIC, with a reason)"
    stale = sorted(op for op in [*MATRIX, *PUBLIC] if op not in operations)
    assert stale == [], "these entries name operations the document no longer has"
    documented = {re.sub(r"\{([^}]+)\}", r"<\1>", path) for path in document["paths"]}
    undocumented = sorted(rule.rule for rule in app.url_map.iter_rules() if rule.arguments
                          and re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"<\1>", rule.rule) not in documented
                          and rule.rule not in NOT_IN_DOCUMENT
                          and not any((method, rule.rule) in CONSOLE_MATRIX for method in rule.methods))
    assert undocumented == [], "routes with parameters outside the OpenAPI document escape the matrix"


def _body_value(world: Any, attr: str) -> Any:
    if attr == "catalog_items":
        return [{"item_id": world.catalog_item_id, "quantity": 1}]
    return getattr(world, attr)


def _request(client: Any, method: str, path: str, entry: Entry, world: Any, headers: dict) -> Any:
    url = path.format(**world_path_ids(world, path))
    if entry.query:
        url += "?" + entry.query.format(hotel_id=world.hotel_id)
    body = None
    if method in {"POST", "PUT", "PATCH"}:
        body = {**(entry.body or {}), **{name: _body_value(world, attr) for name, attr in entry.ids.items()}}
    return client.open(url, method=method, json=body, headers={**headers, "Idempotency-Key": f"matrix-{method}{path}"})


def _intruders(entry: Entry, a: Any, b: Any) -> list[tuple[str, dict, tuple[int, ...]]]:
    """(who, headers, statuses they must get) for a resource of world `a`."""
    if entry.owner == "guest":
        return [("B's guest", b.guest_headers, entry.refused), ("A's manager", a.manager_headers, (403,))]
    if entry.owner == "account":
        return [("B's guest", b.guest_headers, (404,)), ("B's manager", b.manager_headers, (404,))]
    if entry.owner == "partner":
        return [("B's partner", b.partner_headers, entry.refused), ("A's guest", a.guest_headers, (401,))]
    if entry.owner == "admin":  # one chain per deployment: the refusal is by role, not by ownership
        return [("A's manager", a.manager_headers, (403,)), ("A's guest", a.guest_headers, (403,))]
    own = b.manager_headers if entry.owner == "manager" else b.marketer_headers
    return [(f"B's {entry.owner}", own, entry.refused), ("A's guest", a.guest_headers, (403,))]


def _owner_headers(entry: Entry, world: Any) -> dict:
    return {"guest": world.guest_headers, "account": world.guest_headers, "manager": world.manager_headers,
            "marketer": world.marketer_headers, "partner": world.partner_headers,
            "admin": world.admin_headers}[entry.owner]


@pytest.fixture
def worlds(client: Any) -> tuple[Any, Any]:
    a, b = make_world(client, label="a"), make_world(client, label="b")
    a.other_guest_id = make_guest(hotels=[db.session.get(Hotel, a.hotel_id)]).id  # a duplicate to merge into
    give_points(db.session.get(Guest, b.guest_id), 100)  # B's guest could pay with points: only the booking is wrong
    return a, b


def test_nobody_reaches_another_owners_resources(client: Any, worlds: tuple[Any, Any]) -> None:
    a, b = worlds
    failures = []
    for (method, path), entry in MATRIX.items():
        for who, headers, expected in _intruders(entry, a, b):
            response = _request(client, method, path, entry, a, headers)
            if response.status_code not in expected:
                failures.append(f"{method} {path} by {who}: {response.status_code} "
                                f"{(response.get_json() or {}).get('code')} (expected {expected})")
        if method == "GET":
            response = _request(client, method, path, entry, a, _owner_headers(entry, a))
            if response.status_code != 200:
                failures.append(f"{method} {path} by its owner: {response.status_code} (expected 200)")
    assert failures == [], "\n".join(failures)


def _ids(response: Any) -> set[int]:
    body = response.get_json()
    items = body.get("items", []) if isinstance(body, dict) else body or []
    return {item.get("id", item.get("room_id")) for item in items if isinstance(item, dict)}


def test_lists_show_their_owner_everything_and_others_nothing(client: Any, worlds: tuple[Any, Any]) -> None:
    a, b = worlds
    failures = []
    for path, owner, attribute in LISTS:
        entry = Entry(owner)
        mine = client.get(path.format(hotel_id=a.hotel_id), headers=_owner_headers(entry, a))
        theirs = client.get(path.format(hotel_id=b.hotel_id), headers=_owner_headers(entry, b))
        if mine.status_code != 200 or getattr(a, attribute) not in _ids(mine):
            failures.append(f"{path}: A's own list lacks its item ({mine.status_code})")
        if theirs.status_code != 200 or getattr(a, attribute) in _ids(theirs):
            failures.append(f"{path}: B's list shows A's item ({theirs.status_code})")
    assert failures == [], "\n".join(failures)


def test_console_pages_of_another_hotel_are_not_found(app: Any, worlds: tuple[Any, Any]) -> None:
    from tests.console.conftest import console_login, csrf_of

    a, b = worlds
    failures = []
    clients: dict[tuple[str, str], Any] = {}  # one login per world and role (logins are rate-limited)

    def logged_in(world: Any, role: str) -> Any:
        key = ("a" if world is a else "b", role)
        if key not in clients:
            clients[key] = app.test_client()
            console_login(clients[key], SimpleNamespace(email=world.staff_emails[role]))
        return clients[key]

    for (method, rule), role in CONSOLE_MATRIX.items():
        action = "check-in" if "/stays/" in rule else "acknowledge"
        url = re.sub(r"<(?:int:)?([^>]+)>", lambda m, action=action: str({"action": action}.get(m[1])
                                                                          or getattr(a, m[1])), rule)
        for world, expected in ((b, 404), (a, 200)):
            if method == "POST" and world is a:
                continue  # the owner's actions are the console tests' business; here only refusals
            client = logged_in(world, role)
            data = ({"csrf_token": csrf_of(client.get("/console/", follow_redirects=True).text)}
                    if method == "POST" else None)
            status = client.open(url, method=method, data=data).status_code
            if status != expected:
                failures.append(f"{method} {url} by {'B' if world is b else 'A'}'s {role}: {status} (expected "
                                f"{expected})")
    assert failures == [], "\n".join(failures)
