"""Sign-in through OIDC providers, and their settings (admins): the routes of
`truthset.workforce.oidc`, `oidc_accounts` and `oidc_config`; `router` joins them."""

from __future__ import annotations

import base64
import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError

from truthset.api.deps import AdminUser, ReadSession, WriteSession, get_db, get_workspace
from truthset.audit.middleware import record_request
from truthset.errors import AppError, Conflict
from truthset.master_key import master_key
from truthset.workforce import oidc, oidc_accounts, oidc_config, service
from truthset.workforce.cookies import set_session_cookie
from truthset.workforce.schemas import OidcProviderPut, OidcProviderRead, OidcSignInOption

router = APIRouter(tags=["workforce"])

# Binds a sign-in to the browser that started it (several tabs share it); Lax, so the
# provider's redirect (a top-level GET from its site) carries it back.
OIDC_BROWSER_COOKIE = "truthset_oidc_browser"
SSO_ERROR_COOKIE = "truthset_sso_error"
_BROWSER_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")
_OIDC_COOKIE_PATH = "/api/auth/oidc"
# A path on this site: one '/', then neither '/' nor '\\', no control characters.
_SITE_PATH = re.compile(r"^/(?![/\\])[^\x00-\x1f\x7f\\]{0,1999}$")


def _master_key(request: Request) -> bytes:
    return master_key(get_workspace(request).settings.data_dir)


@router.get("/auth/oidc/providers")
def oidc_sign_in_options(session: ReadSession) -> list[OidcSignInOption]:
    """The providers one may sign in through (for the sign-in page; no sign-in needed)."""
    return [
        OidcSignInOption(
            name=p.name, display_name=p.display_name, start=f"/api/auth/oidc/{p.name}/start"
        )
        for p in service.oidc_providers(session, enabled_only=True)
    ]


@router.get("/auth/oidc/{name}/start", status_code=303, response_class=RedirectResponse)
def oidc_start(
    name: str, request: Request, session: WriteSession, next: str = "/"
) -> RedirectResponse:
    """Send the browser to the provider (authorization code with PKCE); `next` is where it
    lands after signing in (a path on this site, else /)."""
    browser = request.cookies.get(OIDC_BROWSER_COOKIE, "")
    if not _BROWSER_ID.match(browser):
        browser = secrets.token_urlsafe(32)
    url, _state = oidc.start(
        session,
        name,
        next_path=next if _SITE_PATH.match(next) else "/",
        base_url=str(request.base_url),
        master_key=_master_key(request),
        browser=browser,
    )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        OIDC_BROWSER_COOKIE,
        browser,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(oidc.PENDING_LIFETIME),
        path=_OIDC_COOKIE_PATH,
    )
    return response


@router.get("/auth/oidc/{name}/callback", status_code=303, response_class=RedirectResponse)
def oidc_callback(
    name: str, request: Request, db: Annotated[Any, Depends(get_db)]
) -> RedirectResponse:
    """Where the provider sends the browser back: the code is exchanged, the ID token
    verified, the account found or made, and a session cookie set."""
    failed: AppError | None = None
    # Its own transaction: a refused sign-in still uses up its state.
    with db.session_scope() as session:
        try:
            # Not in a savepoint: the pending sign-in is used up even when it is refused.
            verified = oidc.finish(
                session,
                name,
                params=dict(request.query_params),
                browser=request.cookies.get(OIDC_BROWSER_COOKIE),
                base_url=str(request.base_url),
                master_key=_master_key(request),
            )
            user, token, created = _sign_in(session, verified)
        except AppError as exc:
            failed = exc
            record_request(
                session,
                request,
                actor=None,
                action="auth.oidc",
                target=name,
                outcome="refused",
                status=exc.status_code,
                detail={"reason": str(exc.detail)},
                committed_anyway=True,
            )
        else:
            record_request(
                session,
                request,
                actor=user,
                action="auth.oidc",
                target=name,
                detail={"subject": verified.claims.get("sub"), "new_account": created},
                committed_anyway=True,
            )
    if failed is not None:
        if "text/html" in request.headers.get("accept", ""):
            return _back_to_sign_in(request, failed)
        raise failed
    response = RedirectResponse(verified.next_path, status_code=303)
    set_session_cookie(request, response, token)
    return response


def _back_to_sign_in(request: Request, failed: AppError) -> RedirectResponse:
    """A browser whose sign-in was refused goes back to the sign-in page, which shows why.
    The reason travels in a cookie only this site can set (never in the URL, where anyone
    could write a message for the page to show), read once by the page's script."""
    response = RedirectResponse("/login", status_code=303)
    reason = base64.urlsafe_b64encode(str(failed.detail)[:1000].encode()).rstrip(b"=")
    response.set_cookie(
        SSO_ERROR_COOKIE,
        reason.decode(),
        max_age=120,
        path="/login",
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def _sign_in(session: Any, verified: oidc.Verified) -> tuple[Any, str, bool]:
    """The account's writes in a savepoint, tried twice: the same person's (or a same-named
    person's) first sign-in completing at the same moment in another process makes this
    one's insert collide; the second try finds what that one made."""
    for attempt in (1, 2):
        try:
            with session.begin_nested():
                return oidc_accounts.sign_in(
                    session, verified.provider, verified.claims, id_token=verified.id_token
                )
        except IntegrityError:
            if attempt == 2:
                raise Conflict(
                    "another sign-in of this person was completing at the same moment: "
                    "sign in again"
                ) from None
    raise AssertionError("unreachable")


@router.get("/oidc/providers")
def list_oidc_providers(_user: AdminUser, session: ReadSession) -> list[OidcProviderRead]:
    return [OidcProviderRead(**oidc_config.describe(p)) for p in service.oidc_providers(session)]


@router.get("/oidc/providers/{name}")
def get_oidc_provider(name: str, _user: AdminUser, session: ReadSession) -> OidcProviderRead:
    return OidcProviderRead(**oidc_config.describe(oidc_config.get_provider(session, name)))


@router.put("/oidc/providers/{name}")
def put_oidc_provider(
    name: str,
    body: OidcProviderPut,
    request: Request,
    response: Response,
    admin: AdminUser,
    session: WriteSession,
) -> OidcProviderRead:
    """Create or replace a provider (leave client_secret out to keep the stored one)."""
    provider, created = oidc_config.put_provider(
        session,
        name,
        oidc_config.ProviderSettings(**body.model_dump()),
        master_key=_master_key(request),
    )
    oidc.forget_discovery()
    settings = oidc_config.describe(provider)
    record_request(
        session,
        request,
        actor=admin,
        action="oidc.provider.create" if created else "oidc.provider.update",
        target=name,
        detail={**settings, "client_secret": "set" if body.client_secret else "kept"},
    )
    if created:
        response.status_code = 201
    return OidcProviderRead(**oidc_config.describe(provider))


@router.delete("/oidc/providers/{name}", status_code=204)
def delete_oidc_provider(
    name: str, request: Request, admin: AdminUser, session: WriteSession
) -> None:
    oidc_config.delete_provider(session, name)
    record_request(session, request, actor=admin, action="oidc.provider.delete", target=name)
