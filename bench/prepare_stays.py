"""Set up bench/run-stays: a chain of 50 hotels x 200 rooms x 365 nights, bench guests, and the load plan.

    python bench/prepare_stays.py db --database-url URL --out-dir DIR
        Creates the tables (create_all) and, unless the bench chain is there already, inserts in bulk (one
        executemany per table, never through the API): 10 cities with their own season calendars (two ski resorts
        with winter high season, seaside and lake resorts with summer high season, business cities), 50 hotels,
        4 room types x 50 rooms each, a rate plan per room type, a pricing policy per hotel, and 365 nights of
        room_type_nights counters from today with seeded random occupancy (season, weekday, events: some nights
        full). Adds the bench guests. Writes DIR/prepared_stays.json (what was built) and DIR/stays_plan.txt
        (what bench/wrk_stays.lua requests: search dates, the city, bookable stays read from the counters).
    python bench/prepare_stays.py tokens --database-url URL --out-dir DIR
        Opens one session per bench guest (app.identity.services.open_session, as tests/factories.headers_for
        does) and appends their access tokens to DIR/stays_plan.txt.
    python bench/prepare_stays.py check --base-url http://127.0.0.1:PORT --out-dir DIR
        Through the running server: a whole-chain search must list hotels, one booking must answer 201.
    python bench/prepare_stays.py profile --database-url URL --out-dir DIR
        cProfile in-process (Flask test client, same database, same kind of requests as the wrk runs): timings
        of searches and bookings, and where their time goes (DIR/profile.*.txt, DIR/profile.json).

Run from the repository root with the repository on PYTHONPATH (bench/run-stays does).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from marshmallow import Schema
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import create_app
from app.bookings.models import PricingPolicy, RatePlan, RoomTypeNight
from app.core import clock
from app.core.auth import PrincipalKind
from app.core.db import unit_of_work
from app.extensions import db
from app.guests.models import Guest, GuestSource
from app.hotels.models import Chain, Hotel, Room, RoomType, Season
from app.identity.services import ClientInfo, open_session

CHAIN_CODE = "bench-stays"
NIGHTS = 365
ROOMS_PER_TYPE = 50
GUESTS = 8
SEED = 3  # issue 3: the same chain and occupancy on every run of the same day
SEARCH_GUESTS = 2
BOOKING_MARGIN = 3  # a planned stay leaves at least this many rooms free on each of its nights
PLANNED_STAYS = 4000
FIRST_BOOKABLE_DAY = 2  # days from today (UTC): never "the arrival date has passed" in a time zone ahead of UTC


def _season(kind: str, start: tuple[int, int], end: tuple[int, int]) -> tuple[str, int, int, int, int]:
    return (kind, *start, *end)


# city, country, time zone, hotels, kind (business: busy on weekdays; leisure: busy on weekends), its calendar,
# season adjustments of its rate plans (basis points of the base price), base price of a standard room (kopecks).
CITIES: list[dict[str, Any]] = [
    {"city": "Moscow", "ru": "Москва", "tz": "Europe/Moscow", "hotels": 8, "kind": "business", "base": 1_100_000,
     "seasons": [_season("high", (5, 1), (9, 30)), _season("shoulder", (10, 1), (1, 8)),
                 _season("low", (1, 9), (2, 29)), _season("shoulder", (3, 1), (4, 30))],
     "adjust": {"high": 12000, "low": 8500}},
    {"city": "Saint Petersburg", "ru": "Санкт-Петербург", "tz": "Europe/Moscow", "hotels": 7, "kind": "leisure",
     "base": 1_000_000,
     "seasons": [_season("high", (5, 15), (9, 15)), _season("shoulder", (9, 16), (10, 31)),
                 _season("low", (11, 1), (3, 31)), _season("shoulder", (4, 1), (5, 14))],
     "adjust": {"high": 14000, "shoulder": 10000, "low": 7500}},
    {"city": "Sochi", "ru": "Сочи", "tz": "Europe/Moscow", "hotels": 7, "kind": "leisure", "base": 900_000,
     "seasons": [_season("high", (6, 1), (9, 30)), _season("shoulder", (4, 15), (5, 31)),
                 _season("shoulder", (10, 1), (10, 31)), _season("low", (11, 1), (4, 14))],
     "adjust": {"high": 15000, "shoulder": 10000, "low": 7000}},
    {"city": "Krasnaya Polyana", "ru": "Красная Поляна", "tz": "Europe/Moscow", "hotels": 5, "kind": "leisure",
     "base": 1_200_000, "ski": True,
     "seasons": [_season("high", (12, 15), (4, 10)), _season("shoulder", (7, 1), (8, 31)),
                 _season("low", (4, 11), (6, 30)), _season("low", (9, 1), (12, 14))],
     "adjust": {"high": 16000, "shoulder": 10000, "low": 6500}},
    {"city": "Sheregesh", "ru": "Шерегеш", "tz": "Asia/Novokuznetsk", "hotels": 4, "kind": "leisure",
     "base": 500_000, "ski": True,
     "seasons": [_season("high", (12, 1), (3, 31)), _season("shoulder", (4, 1), (4, 30)),
                 _season("low", (5, 1), (10, 31)), _season("shoulder", (11, 1), (11, 30))],
     "adjust": {"high": 15000, "shoulder": 9000, "low": 6000}},
    {"city": "Kazan", "ru": "Казань", "tz": "Europe/Moscow", "hotels": 5, "kind": "business", "base": 750_000,
     "seasons": [_season("high", (6, 1), (8, 31)), _season("low", (11, 1), (3, 31))],
     "adjust": {"high": 12500, "low": 8500}},
    {"city": "Kaliningrad", "ru": "Калининград", "tz": "Europe/Kaliningrad", "hotels": 4, "kind": "leisure",
     "base": 700_000,
     "seasons": [_season("high", (6, 15), (8, 31)), _season("low", (10, 1), (4, 30))],
     "adjust": {"high": 14000, "low": 7500}},
    {"city": "Yekaterinburg", "ru": "Екатеринбург", "tz": "Asia/Yekaterinburg", "hotels": 4, "kind": "business",
     "base": 700_000,
     "seasons": [_season("high", (6, 1), (8, 31)), _season("low", (12, 20), (1, 10))],
     "adjust": {"high": 11500, "low": 8000}},
    {"city": "Novosibirsk", "ru": "Новосибирск", "tz": "Asia/Novosibirsk", "hotels": 3, "kind": "business",
     "base": 650_000,
     "seasons": [_season("high", (6, 1), (8, 31)), _season("low", (12, 20), (1, 10))],
     "adjust": {"high": 11500, "low": 8000}},
    {"city": "Listvyanka", "ru": "Листвянка", "tz": "Asia/Irkutsk", "hotels": 3, "kind": "leisure", "base": 600_000,
     "seasons": [_season("high", (6, 15), (9, 15)), _season("shoulder", (2, 1), (3, 31)),
                 _season("low", (10, 1), (1, 31))],
     "adjust": {"high": 14500, "shoulder": 11000, "low": 7000}},
]
# code, names, sleeps, bed, m2, price over the city's standard room (basis points), occupancy over the hotel's.
ROOM_TYPES = [
    ("standard", "Standard room", "Стандарт", 2, "double", 22, 10000, 0.04),
    ("superior", "Superior room", "Улучшенный", 2, "king", 28, 13500, 0.0),
    ("family", "Family room", "Семейный", 4, "bunk", 36, 17000, -0.05),
    ("suite", "Suite", "Люкс", 3, "king", 55, 26000, -0.12),
]
SEASON_OCCUPANCY = {"high": 0.86, "shoulder": 0.66, "low": 0.44}


def _app(database_url: str) -> Any:
    return create_app("development", {"SQLALCHEMY_DATABASE_URI": database_url})


def _describe(database_url: str) -> str:
    """The database for the record, without credentials."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or ":memory:")
        repo = Path(__file__).resolve().parent.parent
        return f"SQLite file {path.relative_to(repo) if path.is_relative_to(repo) else path}"
    return f"{url.get_backend_name()} at {url.host}:{url.port or 'default port'}/{url.database}"


def _today() -> date:
    return clock.now().date()


def _insert(model: type, rows: list[dict[str, Any]]) -> list[int]:
    """One bulk INSERT (executemany); the new ids in the order of `rows`."""
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, rows))


# ------------------------------------------------------------------------------------------ the chain


def build_chain(rng: random.Random, first_night: date) -> None:
    """Insert the chain in bulk; the caller's unit of work commits it."""
    now = clock.now()
    stamps = {"created_at": now, "updated_at": now}
    chain_id = _insert(Chain, [{"code": CHAIN_CODE, "name": "Bench Stays Hotels", **stamps}])[0]
    hotel_rows, hotel_cities = [], []
    for city in CITIES:
        for n in range(1, city["hotels"] + 1):
            slug = city["city"].lower().replace(" ", "-")
            hotel_rows.append({
                "chain_id": chain_id, "code": f"bench-{slug}-{n}", "city": city["city"],
                "city_key": Hotel.fold_city(city["city"]),
                "name": {"en": f"Bench {city['city']} {n}", "ru": f"Бенч {city['ru']} {n}"},
                "description": {"en": "A hotel of the benchmark chain.", "ru": "Отель сети для замеров."},
                "country": "RU", "time_zone": city["tz"], "currency": "RUB", "stars": rng.choice((3, 4, 4, 5)),
                "address": f"Bench street {n}, {city['city']}", "check_in_time": "14:00",
                "check_out_time": "12:00", "is_active": True, **stamps})
            hotel_cities.append(city)
    hotel_ids = _insert(Hotel, hotel_rows)

    season_rows, type_rows, policy_rows = [], [], []
    for hotel_id, city in zip(hotel_ids, hotel_cities, strict=True):
        season_rows += [{"hotel_id": hotel_id, "kind": kind, "name": {"en": kind.capitalize()}, "start_month": sm,
                         "start_day": sd, "end_month": em, "end_day": ed} for kind, sm, sd, em, ed in city["seasons"]]
        for code, en, ru, sleeps, bed, m2, _, _ in ROOM_TYPES:
            type_rows.append({
                "hotel_id": hotel_id, "code": code, "name": {"en": en, "ru": ru}, "max_occupancy": sleeps,
                "bed_type": bed, "size_m2": m2, "amenities": ["wifi", "safe", "minibar"],
                "photos": [f"https://example.com/bench/{hotel_id}/{code}-{i}.jpg" for i in (1, 2)], **stamps})
        policy_rows.append({
            "hotel_id": hotel_id, "direct_discount_bp": rng.choice((500, 700, 800, 1000, 1200)),
            "max_discount_bp": 2500, "tax_bp": 100 if city["city"] == "Sochi" else 0,
            "tax_name": {"en": "Resort fee", "ru": "Курортный сбор"} if city["city"] == "Sochi" else None,
            "free_cancellation_hours": rng.choice((24, 48)), "late_cancellation_fee_nights": 1})
    _insert(Season, season_rows)
    _insert(PricingPolicy, policy_rows)
    type_ids = _insert(RoomType, type_rows)

    room_rows, plan_rows, night_rows = [], [], []
    nights = [first_night + timedelta(days=i) for i in range(NIGHTS)]
    for h, (hotel_id, city) in enumerate(zip(hotel_ids, hotel_cities, strict=True)):
        popularity = rng.gauss(0, 0.06)
        seasons = [Season(kind=k, start_month=sm, start_day=sd, end_month=em, end_day=ed)
                   for k, sm, sd, em, ed in city["seasons"]]
        busy_nights = set(rng.sample(range(NIGHTS), 8))  # congresses, holidays, a festival: the city fills up
        for t, (code, _, _, _, _, _, price_bp, occupancy_offset) in enumerate(ROOM_TYPES):
            type_id = type_ids[h * len(ROOM_TYPES) + t]
            for i in range(ROOMS_PER_TYPE):
                index = t * ROOMS_PER_TYPE + i
                floor = index // 20 + 1
                room_rows.append({"hotel_id": hotel_id, "room_type_id": type_id,
                                  "number": f"{floor}{index % 20 + 1:02d}", "floor": floor,
                                  "features": ["quiet"] if floor >= 8 else [], "is_active": True, **stamps})
            plan_rows.append({"hotel_id": hotel_id, "room_type_id": type_id, "code": "flex",
                              "name": {"en": "Flexible rate", "ru": "Гибкий тариф"},
                              "base_price": city["base"] * price_bp // 10000, "season_adjustments_bp": city["adjust"],
                              "includes_breakfast": code == "suite", "is_active": True, **stamps})
            for i, night in enumerate(nights):
                share = _occupancy(rng, city, seasons, night, popularity + occupancy_offset, i in busy_nights)
                night_rows.append({"room_type_id": type_id, "night": night,
                                   "booked": min(ROOMS_PER_TYPE, max(0, round(share * ROOMS_PER_TYPE)))})
    _insert(Room, room_rows)
    _insert(RatePlan, plan_rows)
    db.session.execute(insert(RoomTypeNight), night_rows)


def _occupancy(rng: random.Random, city: dict[str, Any], seasons: list[Season], night: date, offset: float,
               busy: bool) -> float:
    kind = next((s.kind for s in seasons if s.covers(night)), "shoulder")
    share = SEASON_OCCUPANCY[kind] + offset + rng.gauss(0, 0.10)
    weekend = night.weekday() in (4, 5)  # Friday and Saturday nights
    if city["kind"] == "business":
        share += -0.12 if weekend else 0.06
    elif weekend:
        share += 0.08
    return share + (0.30 if busy else 0.0)


def ensure_guests() -> list[int]:
    ids = []
    for n in range(1, GUESTS + 1):
        email = f"bench.stays.{n}@example.com"
        guest = db.session.scalars(select(Guest).where(Guest.email == email)).one_or_none()
        if guest is None:
            guest = Guest(email=email, first_name="Bench", last_name=f"Traveller{n}", language="en",
                          source=GuestSource.APP.value, email_verified_at=clock.now())
            db.session.add(guest)
            db.session.flush()
        ids.append(guest.id)
    return ids


# ------------------------------------------------------------------------------------------ the plan


@dataclass
class Shape:
    hotels: int
    cities: int
    room_types: int
    rooms: int
    counters: int
    first_night: date
    last_night: date


def chain_shape(chain_id: int) -> Shape:
    hotel_ids = select(Hotel.id).where(Hotel.chain_id == chain_id).scalar_subquery()
    type_ids = select(RoomType.id).where(RoomType.hotel_id.in_(hotel_ids)).scalar_subquery()
    counters = db.session.execute(select(func.count(), func.min(RoomTypeNight.night), func.max(RoomTypeNight.night))
                                  .where(RoomTypeNight.room_type_id.in_(type_ids))).one()
    return Shape(
        hotels=db.session.scalar(select(func.count()).select_from(Hotel).where(Hotel.chain_id == chain_id)) or 0,
        cities=db.session.scalar(select(func.count(func.distinct(Hotel.city))).where(Hotel.chain_id == chain_id)) or 0,
        room_types=db.session.scalar(select(func.count()).where(RoomType.id.in_(type_ids))) or 0,
        rooms=db.session.scalar(select(func.count()).select_from(Room).where(Room.hotel_id.in_(hotel_ids))) or 0,
        counters=counters[0], first_night=counters[1], last_night=counters[2])


def write_plan(rng: random.Random, chain_id: int, out_dir: Path, city: str) -> dict[str, Any]:
    """The wrk plan, from the counters as they are now: search dates, the city, bookable stays."""
    shape = chain_shape(chain_id)
    types = db.session.execute(
        select(RoomType.id, RoomType.hotel_id, RoomType.max_occupancy, func.count(Room.id))
        .join(Room, Room.room_type_id == RoomType.id).join(Hotel, Hotel.id == RoomType.hotel_id)
        .where(Hotel.chain_id == chain_id, Room.is_active.is_(True)).group_by(RoomType.id)).all()
    booked: dict[tuple[int, date], int] = {
        (type_id, night): count for type_id, night, count in db.session.execute(
            select(RoomTypeNight.room_type_id, RoomTypeNight.night, RoomTypeNight.booked)
            .where(RoomTypeNight.room_type_id.in_([t[0] for t in types])))}
    capacity = {t[0]: t[3] for t in types}
    full = sum(1 for (type_id, _), count in booked.items() if count >= capacity[type_id])
    share = sum(booked.values()) / max(1, sum(capacity[type_id] for type_id, _ in booked))

    today = _today()
    first = max(today + timedelta(days=FIRST_BOOKABLE_DAY), shape.first_night)
    last_check_out = shape.last_night + timedelta(days=1)  # a stay may end the morning after the last counter
    stays, tries = [], 0
    while len(stays) < PLANNED_STAYS and tries < PLANNED_STAYS * 20:
        tries += 1
        type_id, hotel_id, sleeps, _ = rng.choice(types)
        nights = rng.choice((1, 2, 2, 3, 3, 4))
        check_in = first + timedelta(days=rng.randrange((last_check_out - first).days - nights + 1))
        if all(booked.get((type_id, check_in + timedelta(days=i)), 0) <= capacity[type_id] - BOOKING_MARGIN
               for i in range(nights)):
            stays.append({"hotel_id": hotel_id, "room_type_id": type_id, "check_in": check_in.isoformat(),
                          "check_out": (check_in + timedelta(days=nights)).isoformat(),
                          "adults": rng.randint(1, min(2, sleeps))})
    # Search: check-in any day from tomorrow, 3-7 nights, all inside the counters' year.
    search_first = max(today + timedelta(days=1), shape.first_night)
    search_dates = [search_first + timedelta(days=i) for i in range((last_check_out - search_first).days + 1)]
    city_hotels = db.session.scalar(select(func.count()).select_from(Hotel).where(
        Hotel.chain_id == chain_id, Hotel.city_key == Hotel.fold_city(city))) or 0
    if not city_hotels:
        sys.exit(f"error: no hotel of the bench chain in {city!r} (BENCH_CITY)")
    lines = [f"city {urllib.parse.quote(city)}", f"guests {SEARCH_GUESTS}"]
    lines += [f"date {day.isoformat()}" for day in search_dates]
    lines += ["stay " + json.dumps(stay, separators=(",", ":")) for stay in stays]
    (out_dir / "stays_plan.txt").write_text("\n".join(lines) + "\n")
    return {
        "hotels": shape.hotels, "cities": shape.cities, "room_types": shape.room_types, "rooms": shape.rooms,
        "room_type_nights": shape.counters, "first_night": shape.first_night.isoformat(),
        "last_night": shape.last_night.isoformat(), "booked_share": round(share, 3),
        "full_room_type_nights": full, "full_share": round(full / max(1, len(booked)), 3),
        "city": city, "city_hotels": city_hotels, "search_guests": SEARCH_GUESTS,
        "search_check_in": [search_dates[0].isoformat(), search_dates[-8].isoformat()],
        "planned_stays": len(stays), "booking_margin": BOOKING_MARGIN,
    }


def prepare_database(database_url: str, out_dir: Path, city: str) -> None:
    app = _app(database_url)
    rng = random.Random(f"{SEED}:{_today().isoformat()}")
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        chain = db.session.scalars(select(Chain).where(Chain.code == CHAIN_CODE)).one_or_none()
        built = chain is None
        if built:
            with unit_of_work():
                build_chain(rng, first_night=_today())
        with unit_of_work():
            guests = ensure_guests()
        seconds = time.perf_counter() - started
        chain_id = db.session.scalar(select(Chain.id).where(Chain.code == CHAIN_CODE))
        plan = write_plan(rng, chain_id, out_dir, city)
        db.session.remove()
        db.engine.dispose()
    prepared = {"database": _describe(database_url), "built": built, "build_s": round(seconds, 1),
                "guests": len(guests), "seed": SEED, **plan}
    (out_dir / "prepared_stays.json").write_text(json.dumps(prepared, indent=2) + "\n")
    what = "built in bulk" if built else "found (reused; BENCH_DATABASE_URL)"
    print(f"   chain {what} in {seconds:.1f} s: {plan['hotels']} hotels in {plan['cities']} cities, "
          f"{plan['rooms']} rooms, {plan['room_type_nights']} room-type nights "
          f"({plan['first_night']}..{plan['last_night']}), {plan['booked_share']:.0%} booked, "
          f"{plan['full_share']:.1%} of room-type nights full; {plan['planned_stays']} bookable stays planned",
          file=sys.stderr)


def write_tokens(database_url: str, out_dir: Path) -> None:
    app = _app(database_url)
    tokens = []
    with app.app_context(), app.test_request_context():
        guest_ids = db.session.scalars(select(Guest.id).where(Guest.email.like("bench.stays.%@example.com"))).all()
        for guest_id in guest_ids:
            with unit_of_work():
                pair = open_session(kind=PrincipalKind.GUEST, principal_id=guest_id, method="password",
                                    client=ClientInfo(device_name="bench/run-stays"))
            tokens.append(pair.access_token)
        db.session.remove()
        db.engine.dispose()
    if not tokens:
        sys.exit("error: no bench guest found; run `prepare_stays.py db` first")
    with (out_dir / "stays_plan.txt").open("a") as plan:
        plan.writelines(f"token {token}\n" for token in tokens)


# ------------------------------------------------------------------------------------------ checks and profile


def read_plan(out_dir: Path) -> dict[str, list[str]]:
    plan: dict[str, list[str]] = {}
    for line in (out_dir / "stays_plan.txt").read_text().splitlines():
        kind, _, rest = line.partition(" ")
        plan.setdefault(kind, []).append(rest)
    return plan


def search_path(plan: dict[str, list[str]], rng: random.Random, *, city: bool) -> str:
    """A search like bench/wrk_stays.lua sends: any check-in of the year, 3-7 nights."""
    dates = plan["date"]
    i, nights = rng.randrange(len(dates) - 7), rng.randint(3, 7)
    path = f"/api/v1/availability?check_in={dates[i]}&check_out={dates[i + nights]}&guests={plan['guests'][0]}"
    return path + (f"&city={plan['city'][0]}" if city else "")


def _call(url: str, *, body: bytes | None = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"} if body else {}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.read()[:500]


def check_server(base_url: str, out_dir: Path) -> None:
    """Prove a search and a booking work through the server before loading it."""
    plan, rng = read_plan(out_dir), random.Random(SEED)
    status, hotels = _call(base_url + search_path(plan, rng, city=False))
    if status != 200 or not isinstance(hotels, list) or not hotels:
        sys.exit(f"error: the whole-chain search answered {status}: {str(hotels)[:300]}")
    offers = sum(len(hotel["offers"]) for hotel in hotels)
    status, booking = _call(f"{base_url}/api/v1/bookings", body=plan["stay"][0].encode(), token=plan["token"][0])
    if status != 201:
        sys.exit(f"error: POST /api/v1/bookings answered {status}: {str(booking)[:300]}")
    print(f"   check: a whole-chain search lists {len(hotels)} hotels ({offers} offers); "
          f"a booking answered 201 ({booking['reference']})", file=sys.stderr)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _profile_requests(name: str, send: Any, count: int, out_dir: Path, parts: list[tuple[str, Any, str]]
                      ) -> dict[str, Any]:
    """`count` calls of send() three times: plainly timed, with a timer around each of `parts`, under cProfile."""
    for _ in range(10):
        send()
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        send()
        timings.append((time.perf_counter() - started) * 1000)
    where = _timed_parts(send, count, parts)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        send()
    profiler.disable()
    text = io.StringIO()
    for key, limit in (("cumulative", 50), ("tottime", 35)):
        pstats.Stats(profiler, stream=text).sort_stats(key).print_stats(limit)
    (out_dir / f"profile.{name}.txt").write_text(text.getvalue())
    return {"requests": count, "mean_ms": round(statistics.mean(timings), 2),
            "p50_ms": round(_percentile(timings, 50), 2), "p99_ms": round(_percentile(timings, 99), 2),
            "where": where}


def _timed_parts(send: Any, count: int, parts: list[tuple[str, Any, str]]) -> list[dict[str, Any]]:
    """Mean ms per request spent inside each part (outermost calls only), every part wrapped by a timer: far less
    distortion than cProfile, which inflates Python-heavy code (ORM loading, marshmallow) the most."""
    spent = {label: 0.0 for label, _, _ in parts}
    calls = dict.fromkeys(spent, 0)
    originals = [(owner, attribute, getattr(owner, attribute)) for _, owner, attribute in parts]

    def timer(label: str, function: Any) -> Any:
        depth = [0]

        def timed(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:  # a nested call (marshmallow's Nested fields dump again) is already being timed
                return function(*args, **kwargs)
            depth[0] += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started
                calls[label] += 1
                depth[0] -= 1

        return timed

    for label, owner, attribute in parts:
        setattr(owner, attribute, timer(label, getattr(owner, attribute)))
    total = 0.0
    try:
        for _ in range(count):
            started = time.perf_counter()
            send()
            total += time.perf_counter() - started
    finally:
        for owner, attribute, original in originals:
            setattr(owner, attribute, original)
    rows = [{"what": "whole request (test client, timers on)", "ms_per_request": round(total / count * 1000, 2),
             "calls_per_request": 1.0}]
    rows += [{"what": label, "ms_per_request": round(spent[label] / count * 1000, 2),
              "calls_per_request": round(calls[label] / count, 1)} for label, _, _ in parts]
    return rows


def _search_parts() -> list[tuple[str, Any, str]]:
    from app.bookings import catalogue, routes, services
    from app.bookings.services import inventory

    return [
        ("inventory.search (the service)", services, "search_availability"),
        ("catalogue.current: stamp + cached catalogue", catalogue, "current"),
        ("catalogue._build: rebuild (ORM; rare)", catalogue, "_build"),
        ("_busiest_nights: booked counts (1 SQL)", inventory, "_busiest_nights"),
        ("_offer: prices per season kind (per room type)", inventory, "_offer"),
        ("dump_availability (the response, by hand)", routes, "dump_availability"),
        ("marshmallow Schema.dump", Schema, "dump"),
    ]


def _booking_parts() -> list[tuple[str, Any, str]]:
    from app.bookings import services
    from app.bookings.services import booking, inventory
    from app.core import auth, events, idempotency

    return [
        ("auth: token + session", auth, "_authenticated"),
        ("idempotency: claim (its own transaction)", idempotency, "_claim"),
        ("create_booking (the service)", services, "create_booking"),
        ("make_quote: hotel, room type, plan, policy, seasons", booking, "make_quote"),
        ("hold_nights: capacity, ensure rows, UPDATE", inventory, "hold_nights"),
        ("_terms: the policy again, cancellation terms", booking, "_terms"),
        ("_new_reference", booking, "_new_reference"),
        ("events.record (outbox row + subscribers)", events, "record"),
        ("Session.commit (every transaction)", Session, "commit"),
        ("marshmallow Schema.dump (the response)", Schema, "dump"),
    ]


def profile(database_url: str, out_dir: Path, count: int) -> None:
    app = _app(database_url)
    plan, rng = read_plan(out_dir), random.Random(SEED + 1)
    client = app.test_client()
    serial = iter(range(10**9))

    def search() -> None:
        response = client.get(search_path(plan, rng, city=False))
        assert response.status_code == 200, response.status_code

    def book() -> None:
        token = rng.choice(plan["token"])
        response = client.post("/api/v1/bookings", data=rng.choice(plan["stay"]), headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Idempotency-Key": f"profile-{time.time_ns()}-{next(serial)}"})
        assert response.status_code in (201, 409), (response.status_code, response.data[:300])

    results = {"search_chain": _profile_requests("search_chain", search, count, out_dir, _search_parts()),
               "book": _profile_requests("book", book, count, out_dir, _booking_parts())}
    with app.app_context():
        db.engine.dispose()
    (out_dir / "profile.json").write_text(json.dumps(results, indent=2) + "\n")
    for name, result in results.items():
        print(f"   profile {name}: in-process mean {result['mean_ms']} ms, p99 {result['p99_ms']} ms "
              f"({count} requests, one at a time)", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("db", "tokens", "profile"):
        command = commands.add_parser(name)
        command.add_argument("--database-url", required=True)
        command.add_argument("--out-dir", type=Path, required=True)
        if name == "db":
            command.add_argument("--city", default="Moscow", help="the city of the one-city search")
        if name == "profile":
            command.add_argument("--requests", type=int, default=200)
    check = commands.add_parser("check")
    check.add_argument("--base-url", required=True)
    check.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "db":
        prepare_database(args.database_url, args.out_dir, args.city)
    elif args.command == "tokens":
        write_tokens(args.database_url, args.out_dir)
    elif args.command == "check":
        check_server(args.base_url, args.out_dir)
    else:
        profile(args.database_url, args.out_dir, args.requests)


if __name__ == "__main__":
    main()
