"""Where the consolidation payload file goes: the job's S3 output folder when it has one
(the Lambda reads `s3Uri` as on Ground Truth), else a file of truthset's own behind a
signed, short-lived URL (`GET /api/hooks/payloads/{name}?expires=...&signature=...`).

The URL's signature is an HMAC of the name and the expiry time with a key derived from the
workspace's master key; a local payload is deleted once the hook has answered."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from urllib.parse import urlencode

from truthset.config import Settings
from truthset.errors import Forbidden, NotFound
from truthset.exports.layout import OutputLocation, consolidation_path

LIFETIME = 3600.0
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def payload_dir(settings: Settings) -> Path:
    return settings.data_dir / "hooks" / "payloads"


def _key(settings: Settings) -> bytes:
    from truthset.master_key import master_key

    return hmac.new(
        master_key(settings.data_dir), b"truthset hooks payload", hashlib.sha256
    ).digest()


def _signature(settings: Settings, name: str, expires: int) -> str:
    return hmac.new(_key(settings), f"{name}\n{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(settings: Settings, name: str, now: float) -> str:
    expires = int(now + LIFETIME)
    query = urlencode({"expires": expires, "signature": _signature(settings, name, expires)})
    base = (settings.public_url or DEFAULT_PUBLIC_URL).rstrip("/")
    return f"{base}/api/hooks/payloads/{name}?{query}"


def store_payload(
    settings: Settings, output_path: str | None, job_name: str, data: bytes, now: float
) -> tuple[str, Path | None]:
    """Write the payload; (the URI the hook reads, the local file to delete after)."""
    if output_path and output_path.startswith("s3://"):
        location = OutputLocation(output_path, endpoint_url=settings.s3_endpoint_url)
        rel = consolidation_path("request", 1, now).removesuffix(".json")
        rel = f"{job_name}/{rel}_{secrets.token_hex(4)}.json"
        try:
            uri = location.put(rel, data)
            location.flush()
        finally:
            location.close()
        return uri, None
    folder = payload_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.json"
    path = folder / name
    path.write_bytes(data)
    return signed_url(settings, name, now), path


def read_payload(settings: Settings, name: str, expires: int, signature: str, now: float) -> bytes:
    """The payload behind a signed URL (Forbidden when the signature is wrong or old)."""
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    expected = _signature(settings, name, expires).encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass")):
        raise Forbidden("the payload link's signature is not valid")
    if now > expires:
        raise Forbidden("the payload link has expired")
    path = payload_dir(settings) / name
    if "/" in name or not name.endswith(".json") or not path.is_file():
        raise NotFound(f"payload {name!r} not found")
    return path.read_bytes()
