"""Configuration per environment; every key comes from an environment variable with a development default."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("HOTEL_INSTANCE_DIR", BASE_DIR / "instance")).resolve()  # Flask wants it absolute

# Secrets that production must receive from its environment; development uses these visible placeholders.
DEV_SECRET = "dev-only-secret-change-me-0123456789"
DEV_ENCRYPTION_KEY = "ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM="  # base64 of 32 bytes; dev only


# OWASP's argon2id profiles (Password Storage Cheat Sheet), as (memory KiB, passes) with p=1: "an equal level of
# defense", trading memory for passes. Any cost at or above one of them is OWASP's.
OWASP_ARGON2ID_PROFILES = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))


def argon2_meets_owasp(memory_kib: int, time_cost: int, parallelism: int) -> bool:
    return parallelism >= 1 and any(memory_kib >= memory and time_cost >= passes
                                    for memory, passes in OWASP_ARGON2ID_PROFILES)


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY = _env("SECRET_KEY", DEV_SECRET)
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'hotel.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # A pooled connection idle longer than this is pinged before use, and replaced if the server closed it (a
    # restart, a firewall's idle timeout). One used more recently is not: pinging at every checkout (pool_pre_ping)
    # cost a round trip per unit of work. 0: ping at every checkout. Not used on SQLite (app/core/db.py).
    DB_PING_IDLE_SECONDS = _env_int("DB_PING_IDLE_SECONDS", 2)
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 10_000)
    # Bytes of the database file read through mmap (0: off). About 0.25 ms less per chain-wide search with 256 MiB;
    # off by default until measured under concurrent writes on a quiet machine (docs/decisions.md, "Performance").
    SQLITE_MMAP_SIZE = _env_int("SQLITE_MMAP_SIZE", 0)
    # Bodies larger than this are refused with 413 before anything reads them.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 1024 * 1024)

    # OpenAPI document and Swagger UI (flask-smorest).
    API_TITLE = "Hotel chain guest API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "api/v1/openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = _env("SWAGGER_UI_URL", "https://cdn.jsdelivr.net/npm/swagger-ui-dist/")

    # Tokens: short access tokens, long refresh tokens rotated on every use (app/core/auth.py).
    JWT_SECRET_KEY = _env("JWT_SECRET_KEY", DEV_SECRET)
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=_env_int("JWT_ACCESS_MINUTES", 15))
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=_env_int("JWT_REFRESH_DAYS", 30))
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ERROR_MESSAGE_KEY = "detail"

    # The staff console (app/console) keeps its login in Flask's signed session cookie: sent only to /console,
    # never readable by scripts, not sent on cross-site POSTs, HTTPS-only unless turned off for plain-HTTP dev.
    SESSION_COOKIE_NAME = "console_session"
    SESSION_COOKIE_PATH = "/console"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=_env_int("CONSOLE_SESSION_HOURS", 12))

    # argon2id cost: OWASP's 7 MiB, 5 passes profile. Two hashes at once (one per core) fit in the CPU's cache, where
    # two at 19 MiB, 2 passes did not: about 30 % more logins a second on two cores (docs/decisions.md).
    ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 5)
    ARGON2_MEMORY_COST_KIB = _env_int("ARGON2_MEMORY_COST_KIB", 7 * 1024)
    ARGON2_PARALLELISM = _env_int("ARGON2_PARALLELISM", 1)
    # How many argon2 hashes this machine's processes run at once, together (more wait their turn, in order, on
    # lock files in LOCK_DIR). 0: one per core this process may use (docs/operations.md).
    PASSWORD_HASH_SLOTS = _env_int("PASSWORD_HASH_SLOTS", 0)
    # A writable folder on this machine, the same for all its web workers (created if missing).
    LOCK_DIR = _env("LOCK_DIR", str(INSTANCE_DIR / "locks"))

    # Login back-off: after this many failures an account is locked for a doubling period.
    LOGIN_FAILURES_BEFORE_LOCK = _env_int("LOGIN_FAILURES_BEFORE_LOCK", 5)
    LOGIN_LOCK_BASE_SECONDS = _env_int("LOGIN_LOCK_BASE_SECONDS", 30)

    # One-time login codes.
    LOGIN_CODE_TTL_SECONDS = _env_int("LOGIN_CODE_TTL_SECONDS", 300)
    LOGIN_CODE_MAX_ATTEMPTS = _env_int("LOGIN_CODE_MAX_ATTEMPTS", 5)
    # Dotted path of the class that delivers codes (SMS gateway, mail); the default logs them.
    LOGIN_CODE_SENDER = _env("LOGIN_CODE_SENDER", "app.guests.senders:LoggingCodeSender")

    # What one loyalty point is worth when redeemed on a folio, in minor units (100 kopecks = 1 rouble).
    LOYALTY_POINT_VALUE_MINOR = _env_int("LOYALTY_POINT_VALUE_MINOR", 100)

    # Flask-Limiter. Counters are per process unless a shared store (Redis) is given: docs/operations.md.
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN = _env("RATELIMIT_LOGIN", "10 per minute")
    RATELIMIT_REGISTER = _env("RATELIMIT_REGISTER", "10 per hour")
    RATELIMIT_CODE_REQUEST = _env("RATELIMIT_CODE_REQUEST", "5 per 10 minutes")  # per phone or email
    RATELIMIT_CODE_REQUEST_PER_ADDRESS = _env("RATELIMIT_CODE_REQUEST_PER_ADDRESS", "20 per 10 minutes")

    # Availability search keeps a per-process copy of the catalogue (app/bookings/catalogue.py), rebuilt at once when
    # a change goes through the ORM and at the latest after this many seconds (changes made by hand in SQL).
    CATALOGUE_CACHE_SECONDS = _env_int("CATALOGUE_CACHE_SECONDS", 60)

    # The night audit (app/bookings/services/no_show.py): a booking not checked in by this hour, hotel time, on the
    # day after its arrival date becomes a no-show (nights released, the agreed late-cancellation fee charged).
    NO_SHOW_AUDIT_HOUR = _env_int("NO_SHOW_AUDIT_HOUR", 4)

    # Idempotency keys are kept this long; a replay after that is a new request.
    IDEMPOTENCY_TTL_HOURS = _env_int("IDEMPOTENCY_TTL_HOURS", 24)

    # Service requests (app/requests): staff alerts repeat this often until acknowledged; a rating at or below
    # REQUESTS_LOW_RATING opens a service-recovery follow-up. The staff queue's SSE stream polls the events table
    # every SSE_POLL_SECONDS, sends a heartbeat comment every SSE_HEARTBEAT_SECONDS and closes after
    # SSE_MAX_SECONDS (the client reconnects with Last-Event-ID), so no worker thread is held forever.
    REQUESTS_ALERT_REPEAT_MINUTES = _env_int("REQUESTS_ALERT_REPEAT_MINUTES", 5)
    REQUESTS_LOW_RATING = _env_int("REQUESTS_LOW_RATING", 2)
    SSE_POLL_SECONDS = float(_env("SSE_POLL_SECONDS", "1"))
    SSE_HEARTBEAT_SECONDS = float(_env("SSE_HEARTBEAT_SECONDS", "15"))
    SSE_MAX_SECONDS = float(_env("SSE_MAX_SECONDS", "300"))
    SSE_AUTH_CHECK_SECONDS = float(_env("SSE_AUTH_CHECK_SECONDS", "15"))  # how soon a logout ends an open stream
    # Open streams one web process serves at once. Each holds a worker thread for up to SSE_MAX_SECONDS; beyond
    # this many the next is refused (503 streams_busy, Retry-After) instead of taking the threads the API's requests
    # need. Size it with gunicorn's --threads (docs/operations.md, "Event streams"); 0 serves none.
    SSE_MAX_STREAMS = _env_int("SSE_MAX_STREAMS", 2)

    # Browser origins allowed to call the API (CORS), comma-separated, e.g. "https://console.example.com". Empty:
    # no cross-origin browser access (the mobile app needs none). "*" is for development; production refuses it.
    CORS_ORIGINS = _env_list("CORS_ORIGINS", "")
    CORS_MAX_AGE_SECONDS = _env_int("CORS_MAX_AGE_SECONDS", 600)
    # Strict-Transport-Security max-age; 0 sends none (development over plain HTTP).
    SECURITY_HSTS_SECONDS = _env_int("SECURITY_HSTS_SECONDS", 0)
    # Production runs on PostgreSQL; a single-machine deployment on SQLite must say so explicitly.
    ALLOW_SQLITE_IN_PRODUCTION = _env_bool("ALLOW_SQLITE_IN_PRODUCTION", False)

    # Keys for fields encrypted at rest (identity documents). The first encrypts; all decrypt (rotation).
    DATA_ENCRYPTION_KEYS = _env_list("DATA_ENCRYPTION_KEYS", DEV_ENCRYPTION_KEY)

    # The policy version a consent refers to; raising it asks guests to consent again. CONSENT_POLICY_VERSIONS
    # overrides it per purpose ("marketing_push:2027-01,profiling:2026-11"): a grant given under another version
    # than its purpose's current one counts as not given until the guest consents again (docs/privacy.md).
    CONSENT_POLICY_VERSION = _env("CONSENT_POLICY_VERSION", "2026-11")
    CONSENT_POLICY_VERSIONS = dict(item.split(":", 1) for item in _env_list("CONSENT_POLICY_VERSIONS", ""))

    # Retention periods the privacy jobs enforce (app/privacy/jobs.py, table in docs/privacy.md).
    PRIVACY_MESSAGES_RETENTION_DAYS = _env_int("PRIVACY_MESSAGES_RETENTION_DAYS", 180)  # after the stay ends
    PRIVACY_SESSIONS_RETENTION_DAYS = _env_int("PRIVACY_SESSIONS_RETENTION_DAYS", 30)  # after expiry/revocation
    PRIVACY_LOGIN_CODES_RETENTION_DAYS = _env_int("PRIVACY_LOGIN_CODES_RETENTION_DAYS", 1)  # after expiry
    PRIVACY_EVENTS_RETENTION_DAYS = _env_int("PRIVACY_EVENTS_RETENTION_DAYS", 400)
    PRIVACY_READ_OFFERS_RETENTION_DAYS = _env_int("PRIVACY_READ_OFFERS_RETENTION_DAYS", 90)  # after opening
    PRIVACY_WEBHOOK_MESSAGES_RETENTION_DAYS = _env_int("PRIVACY_WEBHOOK_MESSAGES_RETENTION_DAYS", 90)

    # Loyalty club (chain level; rules in docs/loyalty.md, tiers in app/loyalty/program.py).
    LOYALTY_QUALIFICATION = _env("LOYALTY_QUALIFICATION", "rolling_12_months")  # or calendar_year
    LOYALTY_GRACE_DAYS = _env_int("LOYALTY_GRACE_DAYS", 90)
    LOYALTY_POINTS_EXPIRY_MONTHS = _env_int("LOYALTY_POINTS_EXPIRY_MONTHS", 24)
    LOYALTY_EXPIRING_SOON_DAYS = _env_int("LOYALTY_EXPIRING_SOON_DAYS", 90)
    # Minor units of eligible spend that earn one base point, per currency ("RUB:10000" = 1 point per 100 RUB).
    LOYALTY_EARN_RATES = _env_list("LOYALTY_EARN_RATES", "RUB:10000,EUR:100,USD:100")
    LOYALTY_REFERRER_POINTS = _env_int("LOYALTY_REFERRER_POINTS", 2000)
    LOYALTY_REFEREE_POINTS = _env_int("LOYALTY_REFEREE_POINTS", 1000)
    LOYALTY_BIRTHDAY_POINTS = _env_int("LOYALTY_BIRTHDAY_POINTS", 500)
    LOYALTY_GOODWILL_MAX_POINTS = _env_int("LOYALTY_GOODWILL_MAX_POINTS", 5000)
    # The chain's own time zone: birthdays of guests who gave none are celebrated here.
    CHAIN_TIME_ZONE = _env("CHAIN_TIME_ZONE", "Europe/Moscow")
    # Partner experiences: the HMAC key that signs vouchers (a forged code fails verification), and outbound
    # webhooks (seconds to wait for a partner's receiver; delays between attempts, after which a delivery fails).
    VOUCHER_SIGNING_KEY = _env("VOUCHER_SIGNING_KEY", DEV_SECRET)
    PARTNER_WEBHOOK_REQUIRE_HTTPS = _env_bool("PARTNER_WEBHOOK_REQUIRE_HTTPS", False)
    PARTNER_WEBHOOK_TIMEOUT_SECONDS = _env_int("PARTNER_WEBHOOK_TIMEOUT_SECONDS", 10)
    # A partner that has not confirmed a booking this long after it was made (or by the experience's start,
    # whichever comes first) is taken as declining it: the guest gets the places' money back and can book elsewhere.
    PARTNER_CONFIRMATION_HOURS = _env_int("PARTNER_CONFIRMATION_HOURS", 24)
    # Webhooks only to public addresses (app/partners/clients.py); development and tests post to local receivers.
    PARTNER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = _env_bool("PARTNER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
    PARTNER_WEBHOOK_RETRY_SECONDS = [int(s) for s in _env_list(
        "PARTNER_WEBHOOK_RETRY_SECONDS", "5,300,1800,7200,18000,36000,36000")]
    # Push (app/push): "fcm" sends through firebase-admin; FCM_ENDPOINT, when set, points it at a local
    # FCM-compatible server instead of Google (development, tests). "logging" only logs.
    PUSH_SENDER = _env("PUSH_SENDER", "fcm")
    FCM_PROJECT_ID = _env("FCM_PROJECT_ID", "hotel-dev")
    FCM_ENDPOINT = _env("FCM_ENDPOINT", "")
    FCM_CREDENTIALS_FILE = _env("FCM_CREDENTIALS_FILE", "")  # service account JSON (production)
    FCM_TIMEOUT_SECONDS = _env_int("FCM_TIMEOUT_SECONDS", 10)
    FCM_HTTP_POOL = _env_int("FCM_HTTP_POOL", 64)
    # Messages per firebase-admin send_each call (app/push/fcm.py), which starts a thread per message: a sender
    # process's HTTP requests in flight. Enough to cover FCM's round trip; more processes add throughput.
    FCM_SEND_EACH_SIZE = _env_int("FCM_SEND_EACH_SIZE", 16)
    PUSH_BATCH_SIZE = _env_int("PUSH_BATCH_SIZE", 500)  # send_each takes at most 500
    PUSH_MAX_BATCHES_PER_RUN = _env_int("PUSH_MAX_BATCHES_PER_RUN", 200)
    PUSH_MAX_ATTEMPTS = _env_int("PUSH_MAX_ATTEMPTS", 8)
    PUSH_RETRY_BASE_SECONDS = _env_int("PUSH_RETRY_BASE_SECONDS", 30)
    PUSH_CLAIM_TIMEOUT_SECONDS = _env_int("PUSH_CLAIM_TIMEOUT_SECONDS", 300)
    PUSH_MARKETING_CAP = _env_int("PUSH_MARKETING_CAP", 2)  # marketing pushes per guest...
    PUSH_MARKETING_CAP_DAYS = _env_int("PUSH_MARKETING_CAP_DAYS", 7)  # ...per this many days
    PUSH_QUIET_HOURS = _env("PUSH_QUIET_HOURS", "21:00-09:00")  # guest-local; marketing waits until the end
    PUSH_DEFAULT_TIME_ZONE = _env("PUSH_DEFAULT_TIME_ZONE", "Europe/Moscow")  # for guests without one
    PUSH_BIRTHDAY_LEAD_DAYS = _env_int("PUSH_BIRTHDAY_LEAD_DAYS", 30)
    PUSH_LOW_SEASON_WEEKS = _env_int("PUSH_LOW_SEASON_WEEKS", 6)  # default; each hotel may set its own
    PUSH_TOKEN_STALE_DAYS = _env_int("PUSH_TOKEN_STALE_DAYS", 270)  # FCM drops tokens idle this long
    PUSH_CHECKOUT_REMINDER_HOUR = _env_int("PUSH_CHECKOUT_REMINDER_HOUR", 8)  # hotel-local, on departure day
    # MQTT bridge to the rooms' devices (app/iot, docs/mqtt.md).
    MQTT_URL = _env("MQTT_URL", "mqtt://127.0.0.1:1883")
    MQTT_MAX_INFLIGHT = _env_int("MQTT_MAX_INFLIGHT", 20)  # at most the broker's Receive Maximum (Mosquitto: 20)
    IOT_BRIDGE_ID = _env("IOT_BRIDGE_ID", "bridge-1")  # the stable client id of the persistent session
    IOT_BRIDGE_SCOPE = _env("IOT_BRIDGE_SCOPE", "all")  # {hotel} level of the bridge's status topic
    IOT_SHARED_GROUP = _env("IOT_SHARED_GROUP", "bridges")  # $share group of the bridges; empty: no sharing
    IOT_SESSION_EXPIRY_SECONDS = _env_int("IOT_SESSION_EXPIRY_SECONDS", 3600)
    IOT_DISCOVERY = _env_bool("IOT_DISCOVERY", True)  # publish Home Assistant discovery configs
    IOT_BRIDGE_POLL_SECONDS = float(_env("IOT_BRIDGE_POLL_SECONDS", "0.2"))
    IOT_BRIDGE_HEARTBEAT_SECONDS = _env_int("IOT_BRIDGE_HEARTBEAT_SECONDS", 10)
    # How long a thread of the bridge process may hold the GIL while another waits (Python's default: 0.005)
    IOT_BRIDGE_SWITCH_INTERVAL_SECONDS = float(_env("IOT_BRIDGE_SWITCH_INTERVAL_SECONDS", "0.0005"))
    IOT_COMMAND_TTL_SECONDS = _env_int("IOT_COMMAND_TTL_SECONDS", 120)
    IOT_LOCK_COMMAND_TTL_SECONDS = _env_int("IOT_LOCK_COMMAND_TTL_SECONDS", 10)  # an unlock never arrives late
    IOT_ACK_GRACE_SECONDS = _env_int("IOT_ACK_GRACE_SECONDS", 30)
    # A sent command still unanswered this long after its PUBACK is published again while its expiry allows (the
    # answer was lost with the broker or a connection; devices answer a repeated command from memory).
    IOT_ANSWER_RETRY_SECONDS = _env_int("IOT_ANSWER_RETRY_SECONDS", 5)
    IOT_HISTORY_DAYS = _env_int("IOT_HISTORY_DAYS", 30)
    IOT_OFFLINE_ALERT_MINUTES = _env_int("IOT_OFFLINE_ALERT_MINUTES", 15)
    # The API process publishes its commands itself after the commit (app/iot/direct.py), the bridges deliver the
    # rest; a command it could not publish is the bridges' once its claim lapses.
    IOT_DIRECT_PUBLISH = _env_bool("IOT_DIRECT_PUBLISH", True)
    IOT_DIRECT_CLAIM_SECONDS = float(_env("IOT_DIRECT_CLAIM_SECONDS", "10"))

    SUPPORTED_LANGUAGES = ("en", "ru")
    DEFAULT_LANGUAGE = "en"
    LOG_JSON = _env_bool("LOG_JSON", True)
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")

    # Database schema: "migrate" expects `flask db upgrade` to have run (release step); tests create tables.
    TESTING = False
    DEBUG = False

    @classmethod
    def validate(cls) -> None:
        """Refuse settings that are unsafe for this environment (only production checks)."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    # The Procfile's `fcm:` process, a local FCM-compatible server: development needs no internet.
    FCM_ENDPOINT = _env("FCM_ENDPOINT", f"http://127.0.0.1:{_env('FCM_DEV_PORT', '9099')}")
    DEBUG = False  # the reloader would start every process twice; use `flask run --debug` by hand if wanted
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)  # scripts/run serves plain HTTP
    PARTNER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = _env_bool("PARTNER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", True)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite:///:memory:")
    # A cheap argon2 profile keeps the suite fast; bench/ measures the real cost.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST_KIB = 256
    # Streams in tests end quickly (the no-5xx sweep opens them too).
    SSE_POLL_SECONDS = 0.02
    SSE_MAX_SECONDS = 0.5
    LOG_JSON = False
    LOG_LEVEL = "WARNING"
    LOGIN_CODE_SENDER = "app.guests.senders:RecordingCodeSender"
    PUSH_SENDER = "logging"  # push tests switch to "fcm" against a local server (tests/push/conftest.py)
    PARTNER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receivers are local; tests/partners checks the guard
    IOT_DIRECT_PUBLISH = False  # tests/iot switch it on where they test it, against the test broker


class ProductionConfig(Config):
    ENV_NAME = "production"
    PARTNER_WEBHOOK_REQUIRE_HTTPS = _env_bool("PARTNER_WEBHOOK_REQUIRE_HTTPS", True)
    SECURITY_HSTS_SECONDS = _env_int("SECURITY_HSTS_SECONDS", 365 * 24 * 3600)

    @classmethod
    def validate(cls) -> None:
        problems = []
        if cls.SECRET_KEY == DEV_SECRET or len(cls.SECRET_KEY) < 32:
            problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
        if cls.JWT_SECRET_KEY == DEV_SECRET or len(cls.JWT_SECRET_KEY) < 32:
            problems.append("JWT_SECRET_KEY must be set to a random value of at least 32 characters")
        if "DATABASE_URL" not in os.environ:
            problems.append("DATABASE_URL must be set (PostgreSQL)")
        if cls.VOUCHER_SIGNING_KEY == DEV_SECRET or len(cls.VOUCHER_SIGNING_KEY) < 32:
            problems.append("VOUCHER_SIGNING_KEY must be set to a random value of at least 32 characters")
        if DEV_ENCRYPTION_KEY in cls.DATA_ENCRYPTION_KEYS:
            problems.append("DATA_ENCRYPTION_KEYS must not contain the development key")
        if cls.LOGIN_CODE_SENDER.endswith(("LoggingCodeSender", "RecordingCodeSender")):
            problems.append("LOGIN_CODE_SENDER must be a real sender in production")
        if cls.PUSH_SENDER != "fcm" or cls.FCM_ENDPOINT or not cls.FCM_CREDENTIALS_FILE:
            problems.append("PUSH_SENDER must be fcm with FCM_CREDENTIALS_FILE and no FCM_ENDPOINT in production")
        problems += [] if cls.SESSION_COOKIE_SECURE else [
            "SESSION_COOKIE_SECURE must stay on in production (the console's login cookie)"]
        problems += cls.weak_settings()
        if problems:
            raise RuntimeError("Refusing to start in production: " + "; ".join(problems))

    @classmethod
    def weak_settings(cls) -> list[str]:
        """Settings that would run production open or cheap: debug, open CORS, SQLite, weak hashing, no keys."""
        problems = []
        if cls.DEBUG or _env_bool("FLASK_DEBUG", False):
            problems.append("DEBUG (FLASK_DEBUG) must be off in production")
        if "*" in cls.CORS_ORIGINS or any(not origin.startswith("https://") for origin in cls.CORS_ORIGINS):
            problems.append("CORS_ORIGINS must list https:// origins, never *")
        if os.environ.get("DATABASE_URL", "").startswith("sqlite") and not cls.ALLOW_SQLITE_IN_PRODUCTION:
            problems.append("DATABASE_URL is SQLite: use PostgreSQL, or set ALLOW_SQLITE_IN_PRODUCTION=1 for a "
                            "single-machine deployment")
        if not argon2_meets_owasp(cls.ARGON2_MEMORY_COST_KIB, cls.ARGON2_TIME_COST, cls.ARGON2_PARALLELISM):
            problems.append("ARGON2_MEMORY_COST_KIB and ARGON2_TIME_COST (or ARGON2_PARALLELISM) are below every OWASP "
                            "argon2id profile (19 MiB x 2 passes, 7 MiB x 5, ...)")
        if not cls.DATA_ENCRYPTION_KEYS:
            problems.append("DATA_ENCRYPTION_KEYS must be set")
        return problems


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None) -> type[Config]:
    """Return the Config class named by `name` or by APP_ENV (development by default)."""
    name = name or os.environ.get("APP_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"Unknown APP_ENV {name!r}; expected one of {sorted(CONFIGS)}")
    return CONFIGS[name]
