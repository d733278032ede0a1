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
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from truthset.errors import BadInput, NotFound
from truthset.sagemaker import repository
from truthset.store.models import AccessKey, User

MASTER_KEY_ENV = "TRUTHSET_MASTER_KEY"
MASTER_KEY_FILE = "master.key"
KEY_ID_PREFIX = "AKIA"
# AWS key ids are 20 characters of A-Z and 2-7 (base32): "AKIA" + 16.
_KEY_ID_RANDOM_BYTES = 10
_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def master_key(data_dir: Path) -> bytes:
    """The workspace's master key: from the environment, else the data directory's file
    (created with mode 0600 the first time; two processes racing both read one file)."""
    env = os.environ.get(MASTER_KEY_ENV)
    if env:
        try:
            key = bytes.fromhex(env.strip())
        except ValueError:
            key = b""
        if len(key) != 32:
            raise BadInput(f"{MASTER_KEY_ENV} must be 64 hexadecimal digits (32 bytes)")
        return key
    path = Path(data_dir) / MASTER_KEY_FILE
    cached = _cache.get(str(path))
    if cached is not None:
        return cached
    with _lock:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
                fh.flush()
                os.fsync(fh.fileno())
        key = path.read_bytes()
        if len(key) != 32:
            raise BadInput(f"{path} must hold 32 bytes (the workspace's master key)")
        _cache[str(path)] = key
        return key


def forget_master_keys() -> None:
    """Drop cached master keys (tests that replace a workspace's file)."""
    _cache.clear()


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
