"""The signature of a hook's or webhook's body: `X-Truthset-Signature: sha256=<hex>`, the
HMAC-SHA256 of the exact bytes sent, keyed by the hook's secret (GitHub's scheme)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Truthset-Signature"


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, secret: str, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(signature(body, secret), header)
