"""Sign-in, accounts, teams and tokens."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from truthset.api import tokens
from truthset.api.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    AdminUser,
    CurrentUser,
    ReadSession,
    StaffUser,
    WriteSession,
    forget_all_tokens,
    forget_token,
    get_db,
    get_workspace,
)
from truthset.errors import AppError, Forbidden, Unauthorized
from truthset.master_key import master_key
from truthset.store.models import User
from truthset.workforce import oidc, oidc_accounts, oidc_config, service
from truthset.workforce.schemas import (
    LoginRequest,
    OidcProviderPut,
    OidcProviderRead,
    OidcSignInOption,
    TeamCreate,
    TeamMemberAdd,
    TokenCreate,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)

router = APIRouter(tags=["workforce"])


def _user_read(session: Any, user: User) -> UserRead:
    return UserRead(
        id=user.id,
        name=user.name,
        role=user.role,
        active=user.active,
        teams=service.team_names_of(session, user.id),
    )


@router.post("/auth/login")
def login(
    body: LoginRequest, request: Request, response: Response, db: Annotated[Any, Depends(get_db)]
) -> UserRead:
    # Its own transaction: a failed sign-in must still commit its count (the lockout).
    with db.session_scope() as session:
        try:
            user, token = service.login(session, body.name, body.password)
        except Unauthorized as exc:
            failed: Unauthorized | None = exc
        else:
            failed, user_read = None, _user_read(session, user)
    if failed is not None:
        raise failed
    _set_session_cookie(request, response, token)
    return user_read


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=tokens.SESSION_LIFETIME,
        path="/",
    )


# -- OIDC sign-in -------------------------------------------------------------------------

# Binds a sign-in to the browser that started it; Lax, so the provider's redirect (a
# top-level GET from its site) carries it back.
OIDC_STATE_COOKIE = "truthset_oidc_state"
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
    url, state = oidc.start(
        session,
        name,
        next_path=next if _SITE_PATH.match(next) else "/",
        base_url=str(request.base_url),
        master_key=_master_key(request),
    )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        OIDC_STATE_COOKIE,
        state,
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
            with session.begin_nested():
                verified = oidc.finish(
                    session,
                    name,
                    params=dict(request.query_params),
                    browser_state=request.cookies.get(OIDC_STATE_COOKIE),
                    base_url=str(request.base_url),
                    master_key=_master_key(request),
                )
                user, token, _created = oidc_accounts.sign_in(
                    session, verified.provider, verified.claims
                )
        except AppError as exc:
            failed = exc
    if failed is not None:
        raise failed
    response = RedirectResponse(verified.next_path, status_code=303)
    _set_session_cookie(request, response, token)
    response.delete_cookie(OIDC_STATE_COOKIE, path=_OIDC_COOKIE_PATH)
    return response


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
    _user: AdminUser,
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
    if created:
        response.status_code = 201
    return OidcProviderRead(**oidc_config.describe(provider))


@router.delete("/oidc/providers/{name}", status_code=204)
def delete_oidc_provider(name: str, _user: AdminUser, session: WriteSession) -> None:
    oidc_config.delete_provider(session, name)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, session: WriteSession) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    # The rule of every cookie-authenticated POST (api.deps.authenticate): another site's
    # form cannot add the header, so it cannot sign a visitor out.
    if token and request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden(f"requests signed in by cookie must send the header {CSRF_HEADER}: 1")
    if token:
        service.logout(session, token)
        forget_token(token)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me")
def me(user: CurrentUser, session: ReadSession) -> UserRead:
    db_user = service.get_user_by_id(session, user.id)
    assert db_user is not None  # authentication has just found this account
    return _user_read(session, db_user)


@router.get("/users")
def list_users(_user: StaffUser, session: ReadSession) -> list[UserRead]:
    return [_user_read(session, u) for u in service.list_users(session)]


@router.post("/users", status_code=201)
def create_user(body: UserCreate, _user: AdminUser, session: WriteSession) -> UserRead:
    user = service.create_user(
        session, body.name, role=body.role, password=body.password, teams=body.teams
    )
    return _user_read(session, user)


@router.get("/users/{name}")
def get_user(name: str, _user: StaffUser, session: ReadSession) -> UserRead:
    return _user_read(session, service.get_user(session, name))


@router.patch("/users/{name}")
def update_user(name: str, body: UserUpdate, _user: AdminUser, session: WriteSession) -> UserRead:
    user = service.update_user(
        session,
        service.get_user(session, name),
        role=body.role,
        password=body.password,
        active=body.active,
    )
    # This process forgets at once; others re-read within deps._TOKEN_CACHE_TTL.
    forget_all_tokens()
    return _user_read(session, user)


@router.post("/users/{name}/tokens", status_code=201)
def create_token(
    name: str, body: TokenCreate, user: CurrentUser, session: WriteSession
) -> TokenRead:
    target = service.get_user(session, name)
    expires_in = None if body.expires_days is None else body.expires_days * 86400
    token = service.create_token(session, user, target, name=body.name, expires_in=expires_in)
    return TokenRead(token=token, user=target.name)


@router.get("/teams")
def list_teams(_user: StaffUser, session: ReadSession) -> list[dict[str, Any]]:
    return [
        {"name": team.name, "members": members} for team, members in service.list_teams(session)
    ]


@router.post("/teams", status_code=201)
def create_team(body: TeamCreate, _user: AdminUser, session: WriteSession) -> dict[str, Any]:
    team = service.create_team(session, body.name)
    return {"name": team.name, "members": []}


@router.post("/teams/{team}/members", status_code=201)
def add_member(
    team: str, body: TeamMemberAdd, _user: AdminUser, session: WriteSession
) -> dict[str, str]:
    service.add_member(session, team, service.get_user(session, body.user))
    return {"team": team, "user": body.user}


@router.delete("/teams/{team}/members/{user_name}", status_code=204)
def remove_member(team: str, user_name: str, _user: AdminUser, session: WriteSession) -> None:
    service.remove_member(session, team, service.get_user(session, user_name))


@router.get("/users/{name}/activity")
def user_activity(
    name: str,
    _user: StaffUser,
    session: ReadSession,
    offset: int = Query(0, ge=0),
    limit: int = Query(1000, ge=1, le=10000),
) -> list[dict[str, Any]]:
    from truthset.jobs.views import worker_activity

    target = service.get_user(session, name)
    return worker_activity(session, target.id, limit=limit, offset=offset)


@router.get("/me/activity")
def my_activity(
    user: CurrentUser,
    session: ReadSession,
    offset: int = Query(0, ge=0),
    limit: int = Query(1000, ge=1, le=10000),
) -> list[dict[str, Any]]:
    from truthset.jobs.views import worker_activity

    return worker_activity(session, user.id, limit=limit, offset=offset)
