"""`flask seed demo`: a small chain to explore at once, loaded through the domains' own use cases.

Idempotent: a second run finds the chain (code "demo") and changes nothing; every run prints the demo logins.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
from flask.cli import AppGroup

from app.bookings import services as bookings_services
from app.core import clock
from app.core.auth import Role
from app.core.db import unit_of_work
from app.extensions import db
from app.guests import services as guests_services
from app.guests.models import ConsentPurpose, Guest, GuestHotelLink, GuestSource
from app.hotels import services as hotels_services
from app.identity import services as identity_services
from app.staff import services as staff_services

seed_cli = AppGroup("seed", help="Load data.")

# -- the demo chain as data --------------------------------------------------------------------------------------

PASSWORD = "demo-password-2026"
CHAIN = {"code": "demo", "name": "Demo Hotels"}
CHAIN_ADMIN = {"email": "admin@demo.hotel", "full_name": "Alexandra Orlova", "role": Role.CHAIN_ADMIN}
HOTEL_ROLES = (Role.HOTEL_MANAGER, Role.FRONT_DESK, Role.HOUSEKEEPING, Role.MAINTENANCE, Role.KITCHEN,
               Role.CONCIERGE, Role.MARKETER)

DEPARTMENTS = [
    {"kind": "front_desk", "name": {"en": "Front desk", "ru": "Ресепшн"}},
    {"kind": "housekeeping", "name": {"en": "Housekeeping", "ru": "Служба номеров"}},
    {"kind": "maintenance", "name": {"en": "Maintenance", "ru": "Техническая служба"}},
    {"kind": "kitchen", "name": {"en": "Kitchen", "ru": "Кухня"}},
    {"kind": "concierge", "name": {"en": "Concierge", "ru": "Консьерж"}},
    {"kind": "laundry", "name": {"en": "Laundry", "ru": "Прачечная"}},
]


def _season(kind: str, start: tuple[int, int], end: tuple[int, int], en: str, ru: str) -> dict:
    return {"kind": kind, "start": start, "end": end, "name": {"en": en, "ru": ru}}


def _room_type(hotel: str, code: str, en: str, ru: str, *, guests: int, bed: str, m2: int, amenities: str) -> dict:
    return {
        "code": code, "name": {"en": en, "ru": ru}, "max_occupancy": guests, "bed_type": bed, "size_m2": m2,
        "amenities": amenities.split(), "photos": [f"https://example.com/demo/{hotel}/{code}-{n}.jpg" for n in (1, 2)],
    }


# Each hotel: `key` names its staff emails and photo paths; `rooms` lists (floor, room count, room type, features).
HOTELS = [
    {
        "key": "sochi",
        "hotel": {
            "code": "demo-sochi", "city": "Sochi", "country": "RU", "time_zone": "Europe/Moscow", "currency": "RUB",
            "name": {"en": "Demo Sea Resort Sochi", "ru": "Демо Морской курорт Сочи"},
            "description": {"en": "A seaside resort with its own beach and spa.",
                            "ru": "Курорт на побережье: собственный пляж и спа."},
            "address": "Kurortny prospekt 1, Sochi", "stars": 5, "check_in_time": "14:00", "check_out_time": "12:00",
        },
        "seasons": [
            _season("high", (4, 15), (10, 15), "Summer season", "Летний сезон"),
            _season("low", (10, 16), (4, 14), "Low season", "Низкий сезон"),
        ],
        "room_types": [
            _room_type("sochi", "standard", "Standard, garden view", "Стандарт, вид на сад", guests=2, bed="double",
                       m2=24, amenities="wifi air_conditioning minibar safe"),
            _room_type("sochi", "sea-view", "Superior, sea view", "Улучшенный, вид на море", guests=3, bed="king",
                       m2=32, amenities="wifi air_conditioning minibar safe balcony bathrobe"),
            _room_type("sochi", "family-suite", "Family suite", "Семейный люкс", guests=4, bed="king", m2=55,
                       amenities="wifi air_conditioning minibar safe balcony kitchenette baby_cot"),
        ],
        "rooms": [
            (1, 4, "standard", ["accessible", "near_lift"]), (2, 4, "standard", []),
            (3, 4, "sea-view", ["sea_view"]), (4, 3, "sea-view", ["sea_view", "quiet"]),
            (5, 2, "family-suite", ["sea_view", "quiet", "connecting"]),
        ],
    },
    {
        "key": "sheregesh",
        "hotel": {
            "code": "demo-sheregesh", "city": "Sheregesh", "country": "RU", "time_zone": "Asia/Novokuznetsk",
            "currency": "RUB", "name": {"en": "Demo Ski Lodge Sheregesh", "ru": "Демо Горный отель Шерегеш"},
            "description": {"en": "A mini-hotel at the foot of Mount Zelyonaya, a walk from the lifts.",
                            "ru": "Мини-отель под горой Зелёная, до подъёмников пешком."},
            "address": "Gornaya ulitsa 7, Sheregesh", "stars": 3, "check_in_time": "15:00", "check_out_time": "11:00",
        },
        "seasons": [
            _season("high", (12, 1), (3, 31), "Ski season", "Горнолыжный сезон"),
            _season("shoulder", (4, 1), (4, 30), "Spring", "Весна"),
            _season("low", (5, 1), (10, 31), "Summer", "Лето"),
            _season("shoulder", (11, 1), (11, 30), "Early winter", "Начало зимы"),
        ],
        "room_types": [
            _room_type("sheregesh", "double", "Double room", "Двухместный номер", guests=2, bed="double", m2=18,
                       amenities="wifi ski_storage boot_dryer"),
            _room_type("sheregesh", "family", "Family room", "Семейный номер", guests=4, bed="bunk", m2=26,
                       amenities="wifi ski_storage boot_dryer kettle"),
        ],
        "rooms": [
            (1, 4, "double", ["ski_room_access"]), (2, 4, "double", ["mountain_view"]),
            (3, 3, "family", ["mountain_view", "quiet"]),
        ],
    },
    {
        "key": "moscow",
        "hotel": {
            "code": "demo-moscow", "city": "Moscow", "country": "RU", "time_zone": "Europe/Moscow", "currency": "RUB",
            "name": {"en": "Demo City Hotel Moscow", "ru": "Демо Городской отель Москва"},
            "description": {"en": "A business hotel five minutes from Belorussky station.",
                            "ru": "Бизнес-отель в пяти минутах от Белорусского вокзала."},
            "address": "Lesnaya ulitsa 5, Moscow", "stars": 4, "check_in_time": "14:00", "check_out_time": "12:00",
        },
        "seasons": [
            _season("high", (5, 1), (9, 30), "Summer and congresses", "Лето и конгрессы"),
            _season("shoulder", (10, 1), (1, 8), "Autumn and holidays", "Осень и праздники"),
            _season("low", (1, 9), (2, 29), "Late winter", "Конец зимы"),
            _season("shoulder", (3, 1), (4, 30), "Spring", "Весна"),
        ],
        "room_types": [
            _room_type("moscow", "business", "Business room", "Бизнес-номер", guests=2, bed="queen", m2=22,
                       amenities="wifi desk coffee_machine safe"),
            _room_type("moscow", "executive", "Executive room", "Представительский номер", guests=2, bed="king",
                       m2=30, amenities="wifi desk coffee_machine safe lounge_access bathrobe"),
        ],
        "rooms": [
            (2, 4, "business", ["near_lift"]), (3, 4, "business", ["quiet"]),
            (5, 3, "executive", ["city_view"]), (6, 3, "executive", ["city_view", "quiet"]),
        ],
    },
]

# Nightly base prices (minor units, RUB) per room type, the season adjustments and each hotel's pricing policy.
RATES = {
    "sochi": {"prices": {"standard": 900_000, "sea-view": 1_400_000, "family-suite": 2_600_000},
              "seasons": {"high": 14000, "low": 7000},
              "policy": {"direct_discount_bp": 1000, "max_discount_bp": 2500, "tax_bp": 100,
                         "tax_name": {"en": "Resort fee", "ru": "Курортный сбор"}}},
    "sheregesh": {"prices": {"double": 500_000, "family": 850_000},
                  "seasons": {"high": 15000, "shoulder": 9000, "low": 6000},
                  "policy": {"direct_discount_bp": 800, "max_discount_bp": 2000}},
    "moscow": {"prices": {"business": 1_100_000, "executive": 1_600_000},
               "seasons": {"high": 12000, "low": 8500},
               "policy": {"direct_discount_bp": 700, "max_discount_bp": 2000, "free_cancellation_hours": 24}},
}
PROMO_CODES = [{"code": "APPWELCOME", "discount_bp": 500, "hotel_id": None,
                "description": {"en": "Welcome to the app", "ru": "Добро пожаловать в приложение"}}]

GUESTS = [
    {
        "guest": {"email": "anna@demo.guest", "phone": "+79161234567", "first_name": "Anna", "last_name": "Smirnova",
                  "language": "ru", "country": "RU", "city": "Moscow"},
        "preferences": {"room_temperature_c": Decimal("21.5"), "pillow": "firm", "floor": "high", "quiet_room": True,
                        "allergies": ["feathers"], "diet": ["vegetarian"]},
        "consents": {ConsentPurpose.MARKETING_PUSH: True, ConsentPurpose.PROFILING: True},
        "hotels": ["sochi", "moscow"],
    },
    {
        "guest": {"email": "john@demo.guest", "first_name": "John", "last_name": "Carter", "language": "en",
                  "country": "GB", "city": "London"},
        "preferences": {"room_temperature_c": Decimal("20.0"), "bed": "king", "newspaper": "Financial Times"},
        "consents": {ConsentPurpose.MARKETING_EMAIL: False},
        "hotels": ["moscow"],
    },
    {
        "guest": {"email": "olga@demo.guest", "first_name": "Olga", "last_name": "Ivanova", "language": "ru",
                  "country": "RU", "city": "Novosibirsk"},
        "preferences": {"floor": "low", "service_language": "ru", "notes": "Arrives late, after 23:00."},
        "consents": {ConsentPurpose.MARKETING_PUSH: True, ConsentPurpose.MARKETING_EMAIL: True},
        "hotels": ["sheregesh"],
    },
]


# -- loading -----------------------------------------------------------------------------------------------------

@seed_cli.command("demo")
def seed_demo() -> None:
    """Load the demo chain: three hotels, staff of every role, a few guests (a second run changes nothing)."""
    with unit_of_work():
        loaded = load_demo()
    click.echo("Loaded the demo chain." if loaded else "The demo chain is already loaded; nothing changed.")
    for line in demo_logins():
        click.echo(line)


def load_demo() -> bool:
    """Create the demo chain unless it exists (True when created); the caller's unit of work commits it."""
    if hotels_services.find_chain(code=CHAIN["code"]) is not None:
        return False
    chain = hotels_services.create_chain(**CHAIN)
    admin = staff_services.create_staff(**CHAIN_ADMIN, password=PASSWORD, language="ru")
    hotel_ids = {}
    for spec in HOTELS:
        hotel_ids[spec["key"]] = _load_hotel(spec, chain_id=chain.id, admin=admin)
        _load_hotel_staff(spec)
    for promo in PROMO_CODES:
        bookings_services.create_promo_code(staff=admin, **promo)
    for spec in GUESTS:
        _load_guest(spec, hotel_ids=hotel_ids)
    return True


def demo_logins() -> list[str]:
    """One `login:` line per demo account, staff first (scripts/run shows them)."""
    staff = [CHAIN_ADMIN] + [_hotel_staff(spec, role) for spec in HOTELS for role in HOTEL_ROLES]
    return [f"login: {person['role'].value} {person['email']} / {PASSWORD}" for person in staff] + [
        f"login: guest {spec['guest']['email']} / {PASSWORD}" for spec in GUESTS
    ]


def _load_hotel(spec: dict[str, Any], *, chain_id: int, admin: Any) -> int:
    hotel = hotels_services.create_hotel(chain_id=chain_id, seasons=spec["seasons"], **spec["hotel"])
    room_type_ids = {
        room_type["code"]: hotels_services.create_room_type(staff=admin, hotel_id=hotel.id, **room_type).id
        for room_type in spec["room_types"]
    }
    for floor, count, type_code, features in spec["rooms"]:
        for n in range(1, count + 1):
            hotels_services.create_room(staff=admin, hotel_id=hotel.id, number=f"{floor}{n:02d}", floor=floor,
                                        room_type_id=room_type_ids[type_code], features=features)
    hotels_services.replace_departments(staff=admin, hotel_id=hotel.id, departments=DEPARTMENTS)
    rates = RATES[spec["key"]]
    bookings_services.set_pricing_policy(staff=admin, hotel_id=hotel.id, **rates["policy"])
    for type_code, price in rates["prices"].items():
        bookings_services.create_rate_plan(
            staff=admin, hotel_id=hotel.id, room_type_id=room_type_ids[type_code], code="flex",
            name={"en": "Flexible rate", "ru": "Гибкий тариф"}, base_price=price,
            season_adjustments_bp=rates["seasons"])
    return hotel.id


def _hotel_staff(spec: dict[str, Any], role: Role) -> dict[str, Any]:
    title = role.value.replace("_", " ").capitalize()
    city = spec["hotel"]["city"]
    return {"email": f"{role.value.replace('_', '-')}.{spec['key']}@demo.hotel", "full_name": f"{title} {city}",
            "role": role}


def _load_hotel_staff(spec: dict[str, Any]) -> None:
    for role in HOTEL_ROLES:
        staff_services.create_staff(**_hotel_staff(spec, role), password=PASSWORD,
                                    hotel_codes=[spec["hotel"]["code"]], language="ru")


def _load_guest(spec: dict[str, Any], *, hotel_ids: dict[str, int]) -> None:
    # Registering is an HTTP use case (it opens a session); a seeded guest is an account with a verified email.
    guest = Guest(**spec["guest"], source=GuestSource.APP.value, email_verified_at=clock.now())
    identity_services.set_password(guest, PASSWORD)
    db.session.add(guest)
    db.session.flush()
    guests_services.replace_preferences(guest=guest, preferences=spec["preferences"])
    for purpose, granted in spec["consents"].items():
        guests_services.record_consent(guest_id=guest.id, purpose=purpose, granted=granted, source="app")
    for key in spec["hotels"]:
        db.session.add(GuestHotelLink(guest_id=guest.id, hotel_id=hotel_ids[key], reason="booking"))
