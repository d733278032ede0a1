"""Password hashes: argon2id at OWASP's parameters; older scrypt hashes still verify and
are re-hashed at the next successful sign-in (`needs_rehash`).

`verify_password` spends the same time whatever it is given: with no stored hash (an unknown
user name, a token-only account) it verifies against a dummy hash, so sign-in timing does
not tell which names exist.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 at the least.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1

_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_KIB,
    parallelism=ARGON2_PARALLELISM,
)

_SCRYPT_N = 2**14  # what earlier versions stored; only ever verified now


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify_scrypt(password: str, stored: str) -> bool:
    parts = stored.split("$")
    if len(parts) != 3:
        return False
    try:
        salt = bytes.fromhex(parts[1])
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=8, p=1, dklen=32)
    return hmac.compare_digest(digest.hex(), parts[2])


def verify_password(password: str, stored: str | None) -> bool:
    if stored is not None and stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    if stored is None or not stored.startswith("$argon2"):
        _verify_argon2(password, _dummy_hash())  # the same time as a wrong password
        return False
    return _verify_argon2(password, stored)


def _verify_argon2(password: str, stored: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash that has just verified should be replaced by a current one."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
