"""The argon2 library in use computes argon2id exactly: `scripts/lib.sh` may rebuild it for this CPU (AVX2)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type, hash_secret_raw

from app.core.auth import ensure_argon2_runs_here, hash_password, verify_password


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


def test_an_avx2_build_refuses_to_start_on_a_cpu_without_avx2(tmp_path) -> None:
    marker, cpuinfo = tmp_path / "argon2-build", tmp_path / "cpuinfo"
    marker.write_text("avx2\n")
    cpuinfo.write_text("flags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx\n")
    with pytest.raises(RuntimeError, match="AVX2"):
        ensure_argon2_runs_here(marker, cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx avx2\n")
    ensure_argon2_runs_here(marker, cpuinfo)  # this CPU has it
    marker.write_text("pypi-wheel\n")
    cpuinfo.write_text("flags\t\t: fpu sse sse2\n")
    ensure_argon2_runs_here(marker, cpuinfo)  # the portable wheel runs anywhere
