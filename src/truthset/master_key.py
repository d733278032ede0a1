"""The workspace's master key: 32 random bytes every derived secret of a workspace comes
from (the SageMaker API's access-key secrets, the signed media URLs of templates), so that
the database holds none of them.

From `TRUTHSET_MASTER_KEY` (64 hex digits; every app process on every host of a PostgreSQL
deployment must share it), else `<data dir>/master.key`, made with mode 0600 on first use
(two processes racing both read the one file that won). Changing it revokes every access
key and signed URL at once."""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from truthset.errors import BadInput

MASTER_KEY_ENV = "TRUTHSET_MASTER_KEY"
MASTER_KEY_FILE = "master.key"
_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def master_key(data_dir: Path) -> bytes:
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
