"""OIDC identity providers as an admin configures them: the issuer (and where its discovery
document is, when not at the issuer's `/.well-known/openid-configuration`), the client id
and secret this server was registered with, the scopes asked for, the claim that carries
the person's groups and how groups map to teams and a role.

The client secret is stored sealed (AES-GCM under a key derived from the workspace's master
key, `truthset.master_key`): a copy of the database alone cannot act as this client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from truthset.errors import BadInput, NotFound
from truthset.store.models import OidcProvider
from truthset.workforce import repository
from truthset.workforce.service import NAME_RE, ROLES, check_name

_SECRET_CONTEXT = b"truthset oidc client secret v1"


@dataclass(frozen=True)
class ProviderSettings:
    """What an admin gives for a provider (None: keep what is stored, on an update)."""

    issuer: str
    client_id: str
    client_secret: str | None = None
    display_name: str | None = None
    discovery_url: str | None = None
    scopes: str = "openid profile email"
    groups_claim: str = "groups"
    group_map: dict[str, Any] | None = None
    default_role: str = "worker"
    require_group: bool = False
    redirect_base: str | None = None
    enabled: bool = True


def _secret_key(master_key: bytes) -> bytes:
    return hmac.new(master_key, _SECRET_CONTEXT, hashlib.sha256).digest()


def seal_secret(master_key: bytes, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_secret_key(master_key)).encrypt(nonce, secret.encode(), _SECRET_CONTEXT)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal_secret(master_key: bytes, sealed: str | None) -> str | None:
    if sealed is None:
        return None
    raw = base64.urlsafe_b64decode(sealed.encode())
    try:
        return AESGCM(_secret_key(master_key)).decrypt(raw[:12], raw[12:], _SECRET_CONTEXT).decode()
    except Exception as exc:  # cryptography's InvalidTag: another master key sealed it
        raise BadInput(
            "the stored OIDC client secret cannot be opened with this workspace's master key "
            "(was the key changed?): set the secret again"
        ) from exc


def _check_url(field: str, value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise BadInput(f"{field} {value!r} is not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise BadInput(f"{field} {value!r} must be an http(s) URL with a host")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        # Tokens and secrets travel on these requests: plain HTTP only on this machine.
        raise BadInput(f"{field} {value!r} must use https (http only for localhost)")
    if parts.query or parts.fragment:
        raise BadInput(f"{field} {value!r} must have no query or fragment")
    return value


def _check_group_map(group_map: Any) -> dict[str, Any]:
    if not isinstance(group_map, dict):
        raise BadInput("group_map must be an object: group -> {teams: [...], role: ...}")
    checked: dict[str, Any] = {}
    for group, entry in group_map.items():
        if not isinstance(group, str) or not group or len(group) > 300:
            raise BadInput(f"group_map: group {group!r} must be a string of 1-300 characters")
        if not isinstance(entry, dict) or set(entry) - {"teams", "role"}:
            raise BadInput(
                f"group_map[{group!r}] must be an object with 'teams' (a list) and/or 'role'"
            )
        teams = entry.get("teams", [])
        if not isinstance(teams, list) or not all(
            isinstance(t, str) and NAME_RE.match(t) for t in teams
        ):
            raise BadInput(
                f"group_map[{group!r}].teams must be a list of team names (letters, digits, "
                f"'_', '.', '@', '-'), not {teams!r}"
            )
        role = entry.get("role")
        if role is not None and role not in ROLES:
            raise BadInput(f"group_map[{group!r}].role {role!r} is not one of {', '.join(ROLES)}")
        checked[group] = {"teams": list(dict.fromkeys(teams)), "role": role}
    return checked


def _check_settings(s: ProviderSettings) -> None:
    _check_url("issuer", s.issuer)
    if s.discovery_url is not None:
        _check_url("discovery_url", s.discovery_url)
    if s.redirect_base is not None:
        _check_url("redirect_base", s.redirect_base)
    if not s.client_id or len(s.client_id) > 300:
        raise BadInput("client_id must be 1-300 characters")
    if "openid" not in s.scopes.split():
        raise BadInput(f"scopes {s.scopes!r} must include 'openid'")
    if not s.groups_claim or len(s.groups_claim) > 100:
        raise BadInput("groups_claim must be 1-100 characters")
    if s.default_role not in ROLES:
        raise BadInput(f"default_role {s.default_role!r} is not one of {', '.join(ROLES)}")
    if s.display_name is not None and not (0 < len(s.display_name) <= 100):
        raise BadInput("display_name must be 1-100 characters")


def put_provider(
    session: Session,
    name: str,
    settings: ProviderSettings,
    *,
    master_key: bytes,
    now: float | None = None,
) -> tuple[OidcProvider, bool]:
    """Create the provider `name`, or replace its settings (a secret of None keeps the
    stored one). Returns the provider and whether it is new."""
    now = time.time() if now is None else now
    check_name("provider", name)
    _check_settings(settings)
    group_map = _check_group_map(settings.group_map or {})
    provider = repository.oidc_provider_named(session, name)
    created = provider is None
    if provider is None:
        if settings.client_secret is None:
            raise BadInput("client_secret is required for a new provider")
        provider = OidcProvider(name=name, created_at=now)
        session.add(provider)
    provider.display_name = settings.display_name or name
    provider.issuer = settings.issuer
    provider.discovery_url = settings.discovery_url
    provider.client_id = settings.client_id
    if settings.client_secret is not None:
        provider.client_secret_sealed = seal_secret(master_key, settings.client_secret)
    provider.scopes = " ".join(settings.scopes.split())
    provider.groups_claim = settings.groups_claim
    provider.group_map = group_map
    provider.default_role = settings.default_role
    provider.require_group = settings.require_group
    provider.redirect_base = settings.redirect_base.rstrip("/") if settings.redirect_base else None
    provider.enabled = settings.enabled
    provider.updated_at = now
    session.flush()
    return provider, created


def get_provider(session: Session, name: str, *, enabled_only: bool = False) -> OidcProvider:
    provider = repository.oidc_provider_named(session, name)
    if provider is None or (enabled_only and not provider.enabled):
        raise NotFound(f"no OIDC provider named {name!r}")
    return provider


def delete_provider(session: Session, name: str) -> None:
    """Remove a provider; accounts made through it stay, without a way to sign in by it."""
    session.delete(get_provider(session, name))
    session.flush()


def describe(provider: OidcProvider) -> dict[str, Any]:
    """The settings as an admin reads them back (the secret never leaves the server)."""
    return {
        "name": provider.name,
        "display_name": provider.display_name,
        "issuer": provider.issuer,
        "discovery_url": provider.discovery_url,
        "client_id": provider.client_id,
        "has_client_secret": provider.client_secret_sealed is not None,
        "scopes": provider.scopes,
        "groups_claim": provider.groups_claim,
        "group_map": provider.group_map,
        "default_role": provider.default_role,
        "require_group": provider.require_group,
        "redirect_base": provider.redirect_base,
        "enabled": provider.enabled,
    }
