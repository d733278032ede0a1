"""Signature Version 4, checked with botocore's own signer.

The incoming request is rebuilt as a botocore `AWSRequest` holding exactly the headers
the client says it signed, and signed again with the key's secret and the client's date
and scope through `SigV4Auth`'s canonical request, string to sign and signature; the two
signatures are compared in constant time. Errors carry the codes AWS answers with, so
botocore raises `ClientError` with them."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "sagemaker"
MAX_SKEW = datetime.timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*"
)
Owner = TypeVar("Owner")


class AwsError(Exception):
    """An error answered in the AWS JSON shape: {"__type": code, "message": ...}."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    path: str  # as sent (percent-encoded)
    query: str
    headers: Sequence[tuple[str, str]]  # lower-case names, in the order received
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class Verified:
    owner: Any
    key_id: str
    region: str


def _timestamp(value: str) -> datetime.datetime:
    try:
        return datetime.datetime.strptime(value, SIGV4_TIMESTAMP).replace(tzinfo=datetime.UTC)
    except ValueError:
        raise AwsError(
            "IncompleteSignatureException",
            f"X-Amz-Date {value!r} must be an ISO 8601 basic date-time (YYYYMMDDTHHMMSSZ)",
        ) from None


def verify(
    request: IncomingRequest,
    secret_of: Callable[[str], tuple[str, Owner] | None],
    *,
    now: datetime.datetime | None = None,
) -> Verified:
    """The owner of the key that signed `request`; AwsError when it is not signed, signed
    badly, too old or too new, or by a key nobody knows. `secret_of(key_id)` gives the
    key's secret and owner, or None for an unknown, expired or revoked key."""
    now = now or datetime.datetime.now(datetime.UTC)
    authorization = request.header("authorization")
    if not authorization:
        raise AwsError("MissingAuthenticationTokenException", "Missing Authentication Token")
    found = _AUTHORIZATION.fullmatch(authorization.strip())
    if found is None:
        raise AwsError(
            "IncompleteSignatureException",
            "Authorization header must be 'AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/"
            "sagemaker/aws4_request, SignedHeaders=<names>, Signature=<hex>'",
        )
    credential = found["credential"].split("/")
    if len(credential) != 5 or credential[4] != "aws4_request":
        raise AwsError(
            "IncompleteSignatureException",
            "Credential must be <key>/<date>/<region>/sagemaker/aws4_request",
        )
    key_id, scope_date, region, service, _ = credential
    if service != SERVICE:
        raise AwsError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SERVICE}'.",
        )
    signed = found["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        raise AwsError(
            "IncompleteSignatureException", "'Host' and 'X-Amz-Date' must be signed headers"
        )
    amz_date = request.header("x-amz-date") or ""
    when = _timestamp(amz_date)
    if scope_date != amz_date[:8]:
        raise AwsError(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from X-Amz-Date {amz_date}",
        )
    stamp = now.strftime(SIGV4_TIMESTAMP)
    if when < now - MAX_SKEW:
        raise AwsError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than "
            f"{(now - MAX_SKEW).strftime(SIGV4_TIMESTAMP)} ({stamp} - 15 min.)",
        )
    if when > now + MAX_SKEW:
        raise AwsError(
            "InvalidSignatureException",
            f"Signature not yet current: {amz_date} is still later than "
            f"{(now + MAX_SKEW).strftime(SIGV4_TIMESTAMP)} ({stamp} + 15 min.)",
        )
    if request.header("x-amz-security-token") is not None:
        raise AwsError(
            "UnrecognizedClientException",
            "temporary credentials (session tokens) are not issued here; sign with an "
            "access key from `truthset user token NAME --aws`",
        )
    declared = request.header("x-amz-content-sha256")
    if declared is not None and declared != hashlib.sha256(request.body).hexdigest():
        # The signer trusts this header for the payload hash: it must be the body's.
        raise AwsError("InvalidSignatureException", "X-Amz-Content-SHA256 is not the body's hash")
    known = secret_of(key_id)
    if known is None:
        raise AwsError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    secret, owner = known
    expected = _signature(request, signed, key_id, secret, region, amz_date)
    if not hmac.compare_digest(expected, found["signature"]):
        raise AwsError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return Verified(owner=owner, key_id=key_id, region=region)


def _signature(
    request: IncomingRequest,
    signed: list[str],
    key_id: str,
    secret: str,
    region: str,
    amz_date: str,
) -> str:
    host = request.header("host") or ""
    url = f"http://{host}{request.path}" + (f"?{request.query}" if request.query else "")
    rebuilt = AWSRequest(method=request.method, url=url, data=request.body)
    names = set(signed)
    for name, value in request.headers:
        if name in names:
            rebuilt.headers[name] = value  # HTTPHeaders appends: repeated headers stay
    rebuilt.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key_id, secret), SERVICE, region)
    prepared = signer.headers_to_sign(rebuilt)
    if signer.signed_headers(prepared) != ";".join(sorted(names)):
        raise AwsError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided "
            "(a signed header is missing from the request).",
        )
    canonical = signer.canonical_request(rebuilt)
    return str(signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt))
