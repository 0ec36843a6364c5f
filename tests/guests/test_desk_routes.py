"""The front desk's work on guests: walk-ins, search, audited reads, masking by role, hotel scoping, merging."""

from app.core.auth import Role
from tests.factories import make_guest, make_hotel, make_staff

PHONE = "+79995550011"


def walk_in(client, headers, hotel_id, **fields):
    body = {"hotel_id": hotel_id, "first_name": "Pavel", "last_name": "Petrov", "phone": PHONE, **fields}
    return client.post("/api/v1/staff/guests", headers=headers, json=body)


def test_front_desk_creates_a_walk_in_profile_with_consents(client, auth_headers):
    hotel = make_hotel()
    desk = auth_headers(make_staff(Role.FRONT_DESK, hotels=[hotel]))
    response = walk_in(client, desk, hotel.id, consents=[{"purpose": "marketing_email", "granted": True}])
    assert response.status_code == 201
    card = response.json
    assert card["source"] == "front_desk" and card["has_account"] is False and card["phone"] == PHONE
    email = next(c for c in card["consents"] if c["purpose"] == "marketing_email")
    assert email["granted"] is True and email["source"] == "front_desk"


def test_a_known_contact_is_pointed_to_not_duplicated(client, auth_headers):
    hotel = make_hotel()
    desk = auth_headers(make_staff(hotels=[hotel]))
    first = walk_in(client, desk, hotel.id).json
    again = walk_in(client, desk, hotel.id, first_name="P.")
    assert again.status_code == 409 and again.json["code"] == "guest_exists"
    assert again.json["guest_id"] == first["id"]


def test_walk_in_at_another_hotel_is_refused(client, auth_headers):
    mine, other = make_hotel(), make_hotel()
    desk = auth_headers(make_staff(hotels=[mine]))
    assert walk_in(client, desk, other.id).status_code == 404


def test_a_housekeeper_cannot_read_guest_profiles(client, auth_headers):
    hotel = make_hotel()
    guest = make_guest(hotels=[hotel])
    housekeeper = auth_headers(make_staff(Role.HOUSEKEEPING, hotels=[hotel]))
    response = client.get(f"/api/v1/staff/guests/{guest.id}", headers=housekeeper)
    assert response.status_code == 403 and response.json["code"] == "role_forbidden"
    assert client.get("/api/v1/staff/guests?query=Anna", headers=housekeeper).status_code == 403


def test_a_guest_cannot_call_staff_endpoints(client, auth_headers):
    guest = make_guest(hotels=[make_hotel()])
    response = client.get(f"/api/v1/staff/guests/{guest.id}", headers=auth_headers(guest))
    assert response.status_code == 403


def test_staff_of_hotel_a_do_not_see_guests_of_hotel_b(client, auth_headers):
    hotel_a, hotel_b = make_hotel(), make_hotel()
    guest_of_b = make_guest(hotels=[hotel_b], last_name="Bsideov")
    desk_a = auth_headers(make_staff(hotels=[hotel_a]))
    assert client.get(f"/api/v1/staff/guests/{guest_of_b.id}", headers=desk_a).status_code == 404
    assert client.get("/api/v1/staff/guests?query=bside", headers=desk_a).json["items"] == []
    admin = auth_headers(make_staff(Role.CHAIN_ADMIN))
    assert client.get(f"/api/v1/staff/guests/{guest_of_b.id}", headers=admin).status_code == 200


def test_concierge_sees_contacts_masked_front_desk_in_full(client, auth_headers):
    hotel = make_hotel()
    guest = make_guest(hotels=[hotel], email="olga.smirnova@example.com", phone="+79991234567")
    concierge = client.get(f"/api/v1/staff/guests/{guest.id}",
                           headers=auth_headers(make_staff(Role.CONCIERGE, hotels=[hotel]))).json
    desk = client.get(f"/api/v1/staff/guests/{guest.id}", headers=auth_headers(make_staff(hotels=[hotel]))).json
    assert (concierge["email"], concierge["phone"]) == ("o***@example.com", "+7******4567")
    assert (desk["email"], desk["phone"]) == ("olga.smirnova@example.com", "+79991234567")


def test_search_finds_by_name_email_or_phone_and_paginates(client, auth_headers):
    hotel = make_hotel()
    for n in range(3):
        make_guest(hotels=[hotel], last_name=f"Ivanova{n}")
    desk = auth_headers(make_staff(hotels=[hotel]))
    first = client.get("/api/v1/staff/guests?query=ivanova&limit=2", headers=desk).json
    second = client.get(f"/api/v1/staff/guests?query=ivanova&limit=2&cursor={first['next_cursor']}",
                        headers=desk).json
    names = [g["last_name"] for g in first["items"] + second["items"]]
    assert names == ["Ivanova0", "Ivanova1", "Ivanova2"] and second["next_cursor"] is None


def test_search_folds_case_in_any_alphabet_and_takes_wildcards_literally(client, auth_headers):
    hotel = make_hotel()
    make_guest(hotels=[hotel], first_name="Ирина", last_name="Иванова")
    make_guest(hotels=[hotel], first_name="Irina", last_name="Ivanova_2")
    desk = auth_headers(make_staff(hotels=[hotel]))
    found = client.get("/api/v1/staff/guests?query=ИВАНОВА", headers=desk).json["items"]
    assert [g["last_name"] for g in found] == ["Иванова"]
    assert [g["last_name"] for g in client.get("/api/v1/staff/guests?query=a_2", headers=desk).json["items"]] == [
        "Ivanova_2"]
    assert client.get("/api/v1/staff/guests?query=%25%25", headers=desk).json["items"] == []


def test_staff_reads_are_written_to_the_audit_log(client, auth_headers):
    hotel = make_hotel()
    guest = make_guest(hotels=[hotel])
    desk = make_staff(hotels=[hotel])
    client.get(f"/api/v1/staff/guests/{guest.id}", headers=auth_headers(desk))
    client.get("/api/v1/staff/guests?query=anna", headers=auth_headers(desk))

    manager = auth_headers(make_staff(Role.HOTEL_MANAGER, hotels=[hotel]))
    entries = client.get(f"/api/v1/staff/audit?subject_kind=guest&subject_id={guest.id}", headers=manager).json
    assert [(e["action"], e["actor_id"], e["hotel_id"]) for e in entries["items"]] == [
        ("guest.read", desk.id, hotel.id)]

    other_manager = auth_headers(make_staff(Role.HOTEL_MANAGER, hotels=[make_hotel()]))
    assert client.get("/api/v1/staff/audit", headers=other_manager).json["items"] == []
    assert client.get("/api/v1/staff/audit", headers=auth_headers(desk)).status_code == 403


def test_merge_keeps_all_history_and_the_stricter_consents(client, auth_headers):
    hotel_a, hotel_b = make_hotel(), make_hotel()
    app_guest = make_guest(hotels=[hotel_a], email="pavel@example.com", phone=None)
    guest_headers = auth_headers(app_guest)
    client.put("/api/v1/me/preferences", headers=guest_headers, json={"pillow": "firm", "allergies": ["nuts"]})
    client.post("/api/v1/me/consents", headers=guest_headers, json={"purpose": "marketing_push", "granted": True})
    client.post("/api/v1/me/consents", headers=guest_headers, json={"purpose": "profiling", "granted": True})
    client.post("/api/v1/me/family", headers=guest_headers, json={"relation": "spouse", "first_name": "Vera"})

    admin = auth_headers(make_staff(Role.CHAIN_ADMIN))
    walk_in_card = walk_in(client, admin, hotel_b.id, consents=[{"purpose": "marketing_push", "granted": False},
                                                                {"purpose": "profiling", "granted": True}]).json
    merged = client.post("/api/v1/staff/guests/merge", headers=admin,
                         json={"source_id": app_guest.id, "target_id": walk_in_card["id"]})

    assert merged.status_code == 200
    card = merged.json
    assert (card["email"], card["phone"]) == ("pavel@example.com", PHONE)
    assert card["preferences"]["pillow"] == "firm" and card["preferences"]["allergies"] == ["nuts"]
    consents = {c["purpose"]: c["granted"] for c in card["consents"]}
    assert consents["marketing_push"] is False and consents["profiling"] is True
    # The duplicate's sessions ended; its owner logs in (same password) and lands in the merged profile.
    assert client.get("/api/v1/me", headers=guest_headers).status_code == 401
    tokens = client.post("/api/v1/auth/login", json={"login": "pavel@example.com", "password": "correct horse battery"})
    me_headers = {"Authorization": f"Bearer {tokens.json['access_token']}"}
    assert client.get("/api/v1/me", headers=me_headers).json["id"] == walk_in_card["id"]
    assert [m["first_name"] for m in client.get("/api/v1/me/family", headers=me_headers).json] == ["Vera"]
    history = client.get("/api/v1/me/consents", headers=me_headers).json["history"]
    assert {r["source"] for r in history} == {"app", "front_desk", "merge"}
    audit = client.get("/api/v1/staff/audit?action=guest.merged", headers=admin).json["items"]
    assert audit[0]["detail"] == {"source_id": app_guest.id} and audit[0]["subject_id"] == walk_in_card["id"]


def test_merge_is_refused_for_the_same_or_an_invisible_profile(client, auth_headers):
    hotel_a, hotel_b = make_hotel(), make_hotel()
    mine, theirs = make_guest(hotels=[hotel_a]), make_guest(hotels=[hotel_b])
    desk = auth_headers(make_staff(hotels=[hotel_a]))
    same = client.post("/api/v1/staff/guests/merge", headers=desk, json={"source_id": mine.id, "target_id": mine.id})
    assert same.status_code == 422 and same.json["code"] == "merge_same_guest"
    other = client.post("/api/v1/staff/guests/merge", headers=desk, json={"source_id": theirs.id, "target_id": mine.id})
    assert other.status_code == 404
