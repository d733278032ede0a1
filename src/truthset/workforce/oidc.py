"""Sign-in through an OpenID Connect provider: the authorization-code flow with PKCE
(RFC 7636, S256), through authlib's client.

`start` keeps a pending sign-in (state, nonce, PKCE verifier) in the database, so the
callback may land on any app process, and answers the provider's authorization URL.
`finish` takes that pending sign-in once, exchanges the code (with the verifier and the
client secret), verifies the ID token (signature against the provider's JWKS, issuer,
audience, expiry, nonce, at_hash) and reads userinfo; `oidc_accounts.sign_in` turns the
claims into an account. Every refusal says what did not hold.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy.orm import Session

from truthset.errors import AppError, Unauthorized
from truthset.store.models import OidcLogin, OidcProvider
from truthset.workforce import repository
from truthset.workforce.oidc_config import get_provider, unseal_secret

PENDING_LIFETIME = 600.0  # a sign-in must come back from the provider within 10 minutes
CLOCK_LEEWAY = 60  # seconds of clock difference allowed on exp / iat
HTTP_TIMEOUT = 10.0
_METADATA_TTL = 300.0
# Asymmetric algorithms only: 'none' and HS* (keyed with the client secret) are refused.
_ALLOWED_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


class ProviderError(AppError):
    """The provider could not be reached or answered something that is not OIDC."""

    status_code = 502
    kind = "provider_error"


@dataclass
class _Discovered:
    metadata: dict[str, Any]
    jwks: dict[str, Any] | None
    fetched_at: float


_discovered: dict[tuple[str, str], _Discovered] = {}
_lock = threading.Lock()


def forget_discovery() -> None:
    """Drop cached discovery documents and keys (tests; after changing a provider)."""
    with _lock:
        _discovered.clear()


def _get_json(url: str, what: str, provider: OidcProvider, **kwargs: Any) -> Any:
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False, **kwargs)
    except httpx.HTTPError as exc:
        raise ProviderError(
            f"provider {provider.name!r}: cannot fetch its {what} {url}: {exc}"
        ) from None
    if response.status_code != 200:
        raise ProviderError(
            f"provider {provider.name!r}: its {what} {url} answered HTTP {response.status_code}"
        )
    try:
        return response.json()
    except ValueError:
        raise ProviderError(f"provider {provider.name!r}: its {what} {url} is not JSON") from None


def discovery_url(provider: OidcProvider) -> str:
    return provider.discovery_url or (
        provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    )


def _discover(provider: OidcProvider, *, now: float) -> _Discovered:
    key = (provider.issuer, discovery_url(provider))
    with _lock:
        found = _discovered.get(key)
    if found is not None and now - found.fetched_at < _METADATA_TTL:
        return found
    url = discovery_url(provider)
    metadata = _get_json(url, "discovery document", provider)
    if not isinstance(metadata, dict):
        raise ProviderError(f"provider {provider.name!r}: the discovery document is not an object")
    # OpenID Connect Discovery 4.3: the document's issuer is exactly the one configured.
    if metadata.get("issuer") != provider.issuer:
        raise ProviderError(
            f"provider {provider.name!r}: the discovery document {url} names issuer "
            f"{metadata.get('issuer')!r}, not the configured issuer {provider.issuer!r}"
        )
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(field), str):
            raise ProviderError(
                f"provider {provider.name!r}: the discovery document has no {field}"
            )
    found = _Discovered(metadata=metadata, jwks=None, fetched_at=now)
    with _lock:
        _discovered[key] = found
    return found


def _key_set(provider: OidcProvider, found: _Discovered, *, refresh: bool) -> KeySet:
    if found.jwks is None or refresh:
        found.jwks = _get_json(found.metadata["jwks_uri"], "keys (JWKS)", provider)
    try:
        return KeySet.import_key_set(found.jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ProviderError(f"provider {provider.name!r}: its JWKS cannot be read: {exc}") from None


def _browser_nonce(browser: str, state: str) -> str:
    """The sign-in's nonce, keyed by the browser's secret cookie: unguessable without it,
    and what binds the callback to the browser that started the sign-in (several tabs of
    one browser share the cookie, so each of their sign-ins completes)."""
    digest = hmac.new(browser.encode(), state.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def redirect_uri(provider: OidcProvider, base_url: str) -> str:
    """The callback the provider sends the browser back to: under `redirect_base` when the
    admin set one (the public address behind a proxy), else under this request's base."""
    base = provider.redirect_base or base_url.rstrip("/")
    return f"{base}/api/auth/oidc/{provider.name}/callback"


def _client(provider: OidcProvider, master_key: bytes, redirect: str) -> OAuth2Client:
    return OAuth2Client(
        client_id=provider.client_id,
        client_secret=unseal_secret(master_key, provider.client_secret_sealed),
        scope=provider.scopes,
        redirect_uri=redirect,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


def start(
    session: Session,
    name: str,
    *,
    next_path: str,
    base_url: str,
    master_key: bytes,
    browser: str,
    now: float | None = None,
) -> tuple[str, str]:
    """Begin a sign-in through provider `name` from the browser whose sign-in cookie is
    `browser`: the URL to send the browser to, and the state."""
    now = time.time() if now is None else now
    provider = get_provider(session, name, enabled_only=True)
    found = _discover(provider, now=now)
    repository.delete_oidc_logins_before(session, now - PENDING_LIFETIME)
    state = secrets.token_urlsafe(32)
    nonce = _browser_nonce(browser, state)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 asks for 43-128
    session.add(
        OidcLogin(
            state=state,
            provider_id=provider.id,
            nonce=nonce,
            code_verifier=verifier,
            next_path=next_path,
            created_at=now,
        )
    )
    session.flush()
    with _client(provider, master_key, redirect_uri(provider, base_url)) as client:
        url, _ = client.create_authorization_url(
            found.metadata["authorization_endpoint"],
            state=state,
            nonce=nonce,
            code_verifier=verifier,
        )
    return url, state


@dataclass(frozen=True)
class Verified:
    """The provider, the claims of a verified ID token merged with userinfo, and where the
    browser goes after."""

    provider: OidcProvider
    claims: dict[str, Any]
    next_path: str
    # The raw ID token: the sign-out's `id_token_hint` (RP-initiated logout).
    id_token: str = ""


def finish(
    session: Session,
    name: str,
    *,
    params: dict[str, str],
    browser: str | None,
    base_url: str,
    master_key: bytes,
    now: float | None = None,
) -> Verified:
    """Complete a sign-in from the provider's redirect (`params`: code and state, or error).
    The pending sign-in is consumed whatever happens after: a state works once."""
    now = time.time() if now is None else now
    provider = get_provider(session, name, enabled_only=True)
    state = params.get("state")
    if not state:
        raise Unauthorized("the provider's redirect carries no state: start the sign-in again")
    login = repository.take_oidc_login(session, state)
    if login is None or login.provider_id != provider.id:
        raise Unauthorized(
            "this sign-in's state is unknown, already used or for another provider: "
            "start the sign-in again"
        )
    if login.created_at < now - PENDING_LIFETIME:
        raise Unauthorized(
            f"this sign-in was started more than {PENDING_LIFETIME / 60:.0f} minutes ago: "
            "start it again"
        )
    if browser is None or not secrets.compare_digest(_browser_nonce(browser, state), login.nonce):
        # Someone else's redirect opened in this browser (login CSRF): not this browser's.
        raise Unauthorized("this sign-in was started in another browser: start it again here")
    if params.get("error"):
        description = params.get("error_description") or ""
        raise Unauthorized(
            f"provider {provider.name!r} refused the sign-in: {params['error']}"
            + (f" ({description[:300]})" if description else "")
        )
    code = params.get("code")
    if not code:
        raise Unauthorized("the provider's redirect carries no code: start the sign-in again")
    found = _discover(provider, now=now)
    with _client(provider, master_key, redirect_uri(provider, base_url)) as client:
        try:
            token = client.fetch_token(
                found.metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=login.code_verifier,
            )
        except OAuthError as exc:
            raise Unauthorized(
                f"provider {provider.name!r} refused the code: {exc.error}"
                + (f" ({exc.description})" if exc.description else "")
            ) from None
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(
                f"provider {provider.name!r}: the token request failed: {exc}"
            ) from None
    claims = verify_id_token(provider, found, token, nonce=login.nonce, now=now)
    claims = _with_userinfo(provider, found, token, claims)
    return Verified(
        provider=provider,
        claims=claims,
        next_path=login.next_path,
        id_token=str(token.get("id_token") or ""),
    )


def end_session_url(
    provider: OidcProvider, id_token: str, base_url: str, *, now: float | None = None
) -> str | None:
    """Where the browser goes to end the provider's session as well (OpenID Connect
    RP-initiated logout: the discovery document's `end_session_endpoint` with the ID token
    as a hint and this site's sign-in page to come back to), or None when the provider
    offers no such endpoint or cannot be asked now (the local sign-out stands alone)."""
    from urllib.parse import urlencode

    try:
        found = _discover(provider, now=time.time() if now is None else now)
    except AppError:
        return None
    endpoint = found.metadata.get("end_session_endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": base_url.rstrip("/") + "/login",
            "client_id": provider.client_id,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def _decode(provider: OidcProvider, found: _Discovered, id_token: str) -> Any:
    supported = found.metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in supported if a in _ALLOWED_ALGS]
    if not algorithms:
        raise ProviderError(
            f"provider {provider.name!r} signs ID tokens only with {supported}, none of "
            f"{', '.join(_ALLOWED_ALGS)}"
        )
    registry = JWSRegistry(algorithms=algorithms)
    for refresh in (False, True):  # keys rotated since they were fetched: fetch them again
        try:
            return jwt.decode(
                id_token, _key_set(provider, found, refresh=refresh), registry=registry
            )
        except InvalidKeyIdError:
            if refresh:
                raise Unauthorized(
                    f"the ID token is signed with a key provider {provider.name!r} does not "
                    "publish (unknown kid)"
                ) from None
        except BadSignatureError:
            raise Unauthorized(
                f"the ID token's signature does not verify against provider "
                f"{provider.name!r}'s keys: it was altered or signed by someone else"
            ) from None
        except JoseError as exc:
            raise Unauthorized(
                f"the ID token cannot be read: {exc.error}: {exc.description}"
            ) from None
        except (ValueError, TypeError):
            raise Unauthorized("the ID token cannot be read: it is not a signed JWT") from None
    raise AssertionError("unreachable")


def verify_id_token(
    provider: OidcProvider,
    found: _Discovered,
    token: dict[str, Any],
    *,
    nonce: str,
    now: float,
) -> dict[str, Any]:
    """The ID token's claims once its signature, issuer, audience, times, nonce and
    at_hash hold (authlib's CodeIDToken rules)."""
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise Unauthorized(
            f"provider {provider.name!r} answered no ID token (is 'openid' a scope?)"
        )
    decoded = _decode(provider, found, id_token)
    claims = decoded.claims
    if not isinstance(claims, dict):
        raise Unauthorized("the ID token's payload is not a JSON object of claims")
    checked = CodeIDToken(
        claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": provider.issuer},
            "aud": {"essential": True, "value": provider.client_id},
        },
        {
            "nonce": nonce,
            "client_id": provider.client_id,
            "access_token": token.get("access_token"),
        },
    )
    try:
        checked.validate(now=int(now), leeway=CLOCK_LEEWAY)
    except ExpiredTokenError:
        raise Unauthorized(
            f"the ID token expired at {_utc(claims.get('exp'))} (now {_utc(now)}): sign in again"
        ) from None
    except MissingClaimError as exc:
        raise Unauthorized(f"the ID token has no {exc.claim!r} claim") from None
    except InvalidClaimError as exc:
        raise Unauthorized(_invalid_claim(provider, claims, exc.claim)) from None
    return dict(claims)


def _invalid_claim(provider: OidcProvider, claims: dict[str, Any], claim: str) -> str:
    value = claims.get(claim)
    if claim == "iss":
        return (
            f"the ID token was issued by {value!r}, not by the configured issuer "
            f"{provider.issuer!r}"
        )
    if claim == "aud":
        return (
            f"the ID token is meant for audience {value!r}, not for this server's client id "
            f"{provider.client_id!r}"
        )
    if claim == "nonce":
        return "the ID token's nonce is not this sign-in's (a replayed or mixed-up token)"
    if claim == "at_hash":
        return "the ID token's at_hash does not match the access token it came with"
    if claim in ("iat", "nbf"):
        return f"the ID token's {claim} {value!r} is in the future (clocks differ by too much?)"
    return f"the ID token's {claim!r} claim is not valid: {value!r}"


def _utc(seconds: Any) -> str:
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(seconds)))
    except (TypeError, ValueError):
        return repr(seconds)


def _with_userinfo(
    provider: OidcProvider, found: _Discovered, token: dict[str, Any], claims: dict[str, Any]
) -> dict[str, Any]:
    """The ID token's claims plus what userinfo adds (groups are often only there); the
    ID token's own values win, and userinfo must be about the same subject."""
    url = found.metadata.get("userinfo_endpoint")
    access_token = token.get("access_token")
    if not isinstance(url, str) or not isinstance(access_token, str):
        return claims
    info = _get_json(url, "userinfo", provider, headers={"Authorization": f"Bearer {access_token}"})
    if not isinstance(info, dict):
        raise ProviderError(f"provider {provider.name!r}: userinfo is not an object")
    if info.get("sub") != claims.get("sub"):
        raise Unauthorized(
            f"provider {provider.name!r}'s userinfo is about subject {info.get('sub')!r}, "
            f"not the ID token's {claims.get('sub')!r}"
        )
    return {**info, **claims}
