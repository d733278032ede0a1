"""AWS-style access keys for the SageMaker API.

Signature Version 4 is an HMAC keyed with the secret itself, so the server must be able
to compute the secret: a one-way hash of it, as API tokens keep, cannot check a
signature. Rather than store secrets (or encrypt them beside the key that opens them),
each secret is *derived*: secret = HMAC-SHA256(master key, access key id). The database
holds the key id, its user, a SHA-256 of the secret and its times; a copy of the database
alone signs nothing. The master key is 32 random bytes in `<data dir>/master.key`
(mode 0600, made on first use), or `TRUTHSET_MASTER_KEY` (64 hex digits), which every
app process on every host of a PostgreSQL deployment must share. Changing the master key
revokes every access key at once (docs/sagemaker.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from truthset.errors import BadInput, NotFound
from truthset.master_key import (  # noqa: F401 - re-exported for the key's users
    MASTER_KEY_ENV,
    MASTER_KEY_FILE,
    forget_master_keys,
    master_key,
)
from truthset.sagemaker import repository
from truthset.store.models import AccessKey, User

KEY_ID_PREFIX = "AKIA"
# AWS key ids are 20 characters of A-Z and 2-7 (base32): "AKIA" + 16.
_KEY_ID_RANDOM_BYTES = 10


def derive_secret(master: bytes, key_id: str) -> str:
    """The secret access key of `key_id`: 40 characters, as AWS secrets are."""
    digest = hmac.new(master, key_id.encode("ascii"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")[:40]


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_key_id() -> str:
    return KEY_ID_PREFIX + base64.b32encode(secrets.token_bytes(_KEY_ID_RANDOM_BYTES)).decode()


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    secret: str
    expires_at: float | None


def issue_access_key(
    session: Session,
    user: User,
    master: bytes,
    *,
    name: str | None = None,
    expires_in: float | None = None,
    now: float | None = None,
) -> IssuedKey:
    """A new access key of `user`; its secret is returned once and never stored."""
    now = time.time() if now is None else now
    if expires_in is not None and expires_in <= 0:
        raise BadInput("an access key's lifetime must be positive")
    key_id = new_key_id()
    secret = derive_secret(master, key_id)
    expires_at = now + expires_in if expires_in is not None else None
    session.add(
        AccessKey(
            key_id=key_id,
            user_id=user.id,
            secret_hash=secret_hash(secret),
            name=name,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return IssuedKey(key_id=key_id, secret=secret, expires_at=expires_at)


def revoke_access_key(session: Session, key_id: str) -> None:
    row = repository.access_key(session, key_id)
    if row is None:
        raise NotFound(f"access key {key_id!r} not found")
    session.delete(row)
    session.flush()


@dataclass(frozen=True)
class KeyOwner:
    """Who signs with a key: the user's id, role and name (read, never attached)."""

    user_id: int
    role: str
    name: str
    active: bool


def key_secret(
    session: Session, master: bytes, key_id: str, *, now: float | None = None
) -> tuple[str, KeyOwner] | None:
    """The secret of a live key and its owner, or None when the key is unknown, expired,
    or was issued under another master key."""
    now = time.time() if now is None else now
    found = repository.access_key_owner(session, key_id)
    if found is None:
        return None
    key, user = found
    if key.expires_at is not None and key.expires_at < now:
        return None
    secret = derive_secret(master, key_id)
    if not hmac.compare_digest(secret_hash(secret), key.secret_hash):
        return None
    return secret, KeyOwner(user_id=user.id, role=user.role, name=user.name, active=user.active)
