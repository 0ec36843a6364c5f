"""The argon2 library in use computes argon2id exactly: `scripts/lib.sh` may rebuild it for this CPU (AVX2)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.low_level import Type, hash_secret_raw

from app.core.auth import hash_password, verify_password


def test_argon2id_matches_the_reference_implementations_known_answer() -> None:
    # phc-winner-argon2's own test vector (src/test.c): argon2id v1.3, t=2, m=64 MiB, p=1, "password", "somesalt".
    raw = hash_secret_raw(b"password", b"somesalt", time_cost=2, memory_cost=65536, parallelism=1, hash_len=32,
                          type=Type.ID)
    assert raw.hex() == "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"


def test_a_hash_from_the_portable_build_at_the_login_cost_still_verifies() -> None:
    # Made by PyPI's SSE2 wheel at OWASP's 7 MiB x 5 profile (the production cost): every stored hash must keep
    # verifying whichever build checks it.
    stored = "$argon2id$v=19$m=7168,t=5,p=1$aG90ZWwtY2hhaW4tc2FsdA$S9Yn2rSwPzgvOP/dlcKXIS8cUzVjrWKVmpGWNkPSuuo"
    assert PasswordHasher().verify(stored, "correct horse battery staple")


def test_the_apps_hash_verifies_and_a_wrong_password_does_not(app) -> None:
    stored = hash_password("a long enough passphrase")
    assert verify_password(stored, "a long enough passphrase")[0] is True
    assert verify_password(stored, "a long enough passphrasE")[0] is False
