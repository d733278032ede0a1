"""Short-lived signed URLs of truthset's own media route, for `grant_read_access`.

A template runs in a sandboxed, opaque-origin frame that carries no credentials, so the
images it shows are fetched through URLs that are their own permission: HMAC-SHA256 over
(reference, expiry) with a key derived from the workspace's master key (the one the
SageMaker access keys derive from: `TRUTHSET_MASTER_KEY`, else `<data dir>/master.key`).
A reference outside the workspace's allowed roots and buckets is never signed, and the
media route checks the roots again when it serves one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from pathlib import Path
from urllib.parse import quote

from truthset.errors import Forbidden
from truthset.master_key import MASTER_KEY_ENV, master_key

GRANT_ROUTE = "/api/media/grant"
# A signed URL lives at least this long; expiries are rounded up to GRANT_STEP so the
# URLs (and the rendered pages that hold them) stay the same for a while and cache.
GRANT_LIFETIME = 3600
GRANT_STEP = 600
_keys: dict[str, bytes] = {}


def grant_key(data_dir: Path) -> bytes:
    """The media grant signing key of a workspace (not the master key itself)."""
    cache_key = f"{os.environ.get(MASTER_KEY_ENV, '')}|{data_dir}"
    key = _keys.get(cache_key)
    if key is None:
        key = hmac.new(master_key(data_dir), b"truthset media grant", hashlib.sha256).digest()
        _keys[cache_key] = key
    return key


def forget_grant_keys() -> None:
    _keys.clear()


def grant_expiry(now: float | None = None) -> int:
    now = time.time() if now is None else now
    return (int(now) // GRANT_STEP + 1) * GRANT_STEP + GRANT_LIFETIME


def signature(key: bytes, ref: str, expires: int) -> str:
    return hmac.new(key, f"{ref}\n{expires}".encode(), hashlib.sha256).hexdigest()


def grant_url(key: bytes, ref: str, expires: int, origin: str = "") -> str:
    return (
        f"{origin}{GRANT_ROUTE}?ref={quote(ref, safe='')}&expires={expires}"
        f"&signature={signature(key, ref, expires)}"
    )


def check_grant(key: bytes, ref: str, expires: str, given: str, now: float | None = None) -> None:
    """Refuse (403) a tampered or expired grant."""
    now = time.time() if now is None else now
    try:
        when = int(expires)
    except ValueError:
        raise Forbidden("the media grant's expiry is not a number") from None
    if not hmac.compare_digest(signature(key, ref, when), given):
        raise Forbidden("the media grant's signature does not match")
    if when < now:
        raise Forbidden("the media grant has expired")
