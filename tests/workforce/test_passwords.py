"""Password hashes: argon2id at OWASP's parameters, scrypt hashes of earlier versions still
accepted and upgraded at the next sign-in, and the same cost for names that do not exist."""

from __future__ import annotations

import hashlib
import secrets
import statistics
import time

from sqlalchemy import select

from truthset.store.models import User
from truthset.workforce import passwords, service


def _old_scrypt_hash(password: str) -> str:
    """A hash as truthset stored them before argon2id (scrypt, N=2^14, r=8, p=1)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def test_hashes_are_argon2id_at_owasp_parameters_or_stronger():
    stored = passwords.hash_password("correct horse")
    variant, version, params, _salt, _digest = stored.split("$")[1:]
    assert (variant, version) == ("argon2id", "v=19")
    fields = dict(kv.split("=") for kv in params.split(","))
    assert int(fields["m"]) >= 19 * 1024 and int(fields["t"]) >= 2 and int(fields["p"]) >= 1
    assert passwords.verify_password("correct horse", stored)
    assert not passwords.verify_password("correct horsE", stored)
    assert not passwords.needs_rehash(stored)


def test_an_old_scrypt_hash_still_verifies_but_asks_to_be_replaced():
    old = _old_scrypt_hash("correct horse")
    assert passwords.verify_password("correct horse", old)
    assert not passwords.verify_password("wrong horse", old)
    assert passwords.needs_rehash(old)
    for broken in ("scrypt$zz$00", "scrypt$", "$argon2id$garbage", "plain"):
        assert not passwords.verify_password("correct horse", broken)


def test_a_weaker_argon2_hash_asks_to_be_replaced():
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")
    assert passwords.verify_password("correct horse", weak)
    assert passwords.needs_rehash(weak)


def test_a_scrypt_account_is_upgraded_to_argon2id_at_its_next_sign_in(any_ws):
    with any_ws.db.session_scope() as s:
        user = service.create_user(s, "ana")
        user.password_hash = _old_scrypt_hash("right-password")
    with any_ws.db.session_scope() as s:
        assert service.login(s, "ana", "right-password")[0].name == "ana"
    with any_ws.db.session_scope(write=False) as s:
        stored = s.scalar(select(User.password_hash).where(User.name == "ana"))
    assert stored is not None and stored.startswith("$argon2id$")
    with any_ws.db.session_scope() as s:
        assert service.login(s, "ana", "right-password")[0].name == "ana"
    with any_ws.db.session_scope(write=False) as s:
        # Already current: the next sign-in keeps the same hash.
        assert s.scalar(select(User.password_hash).where(User.name == "ana")) == stored


def _median_seconds(fn, rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_an_unknown_name_costs_the_same_as_a_wrong_password():
    stored = passwords.hash_password("right-password")
    wrong = _median_seconds(lambda: passwords.verify_password("wrong-password", stored))
    unknown = _median_seconds(lambda: passwords.verify_password("wrong-password", None))
    no_password = _median_seconds(lambda: passwords.verify_password("x", "not-a-hash"))
    # Without the dummy verification an unknown name answered in microseconds (34 vs 2 ms
    # was told apart by the attack); now each costs one argon2id verification.
    assert wrong > 0.005
    for other in (unknown, no_password):
        assert 0.6 < other / wrong < 1.6, (wrong, unknown, no_password)
