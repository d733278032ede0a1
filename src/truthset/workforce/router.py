"""Sign-in, accounts, teams and tokens."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

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
)
from truthset.audit.middleware import record_request
from truthset.errors import AppError, Forbidden, Unauthorized
from truthset.store.models import User
from truthset.workforce import api_tokens, ip_allow, oidc, repository, service
from truthset.workforce.cookies import set_session_cookie
from truthset.workforce.schemas import (
    LoginRequest,
    SourceIpPut,
    SourceIpRead,
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
    # Its own transaction: a failed sign-in must still commit its count (the lockout) and
    # its audit event.
    with db.session_scope() as session:
        try:
            user, token = service.login(session, body.name, body.password)
        except Unauthorized as exc:
            failed: Unauthorized | None = exc
            record_request(
                session,
                request,
                actor=None,
                actor_name=body.name,
                action="auth.login",
                outcome="refused",
                status=exc.status_code,
                detail={"reason": str(exc.detail)},
                committed_anyway=True,
            )
        else:
            failed, user_read = None, _user_read(session, user)
            record_request(session, request, actor=user, action="auth.login", committed_anyway=True)
    if failed is not None:
        raise failed
    set_session_cookie(request, response, token)
    return user_read


@router.post(
    "/auth/logout",
    status_code=204,
    responses={
        200: {
            "description": "signed out here; `redirect` ends the identity provider's "
            "session too (a sign-in through a provider that offers it)"
        }
    },
)
def logout(request: Request, session: WriteSession) -> Response:
    """End the browser session. One made by a sign-in through an identity provider that
    has an `end_session_endpoint` answers 200 `{"redirect": ...}`: the browser goes there,
    the provider ends its own session and sends it back to the sign-in page (OpenID
    Connect RP-initiated logout); otherwise 204."""
    token = request.cookies.get(SESSION_COOKIE)
    redirect: str | None = None
    # The rule of every cookie-authenticated POST (api.deps.authenticate): another site's
    # form cannot add the header, so it cannot sign a visitor out.
    if token and request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden(f"requests signed in by cookie must send the header {CSRF_HEADER}: 1")
    if token:
        try:
            actor: User | None = tokens.authenticate_token(session, token, now=time.time())
        except AppError:
            actor = None  # an expired or revoked session: nothing to record
        made_by = repository.oidc_session_of(session, token) if actor is not None else None
        if made_by is not None:
            redirect = oidc.end_session_url(made_by[0], made_by[1], str(request.base_url))
        service.logout(session, token)
        forget_token(token)
        if actor is not None:
            record_request(session, request, actor=actor, action="auth.logout")
    out: Response = JSONResponse({"redirect": redirect}) if redirect else Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/")
    return out


@router.get("/me")
def me(user: CurrentUser, session: ReadSession) -> UserRead:
    db_user = service.get_user_by_id(session, user.id)
    assert db_user is not None  # authentication has just found this account
    return _user_read(session, db_user)


@router.get("/users")
def list_users(_user: StaffUser, session: ReadSession) -> list[UserRead]:
    return [_user_read(session, u) for u in service.list_users(session)]


@router.post("/users", status_code=201)
def create_user(
    body: UserCreate, request: Request, admin: AdminUser, session: WriteSession
) -> UserRead:
    user = service.create_user(
        session, body.name, role=body.role, password=body.password, teams=body.teams
    )
    record_request(
        session,
        request,
        actor=admin,
        action="user.create",
        target=user.name,
        detail={"role": user.role, "teams": body.teams, "password": body.password is not None},
    )
    return _user_read(session, user)


@router.get("/users/{name}")
def get_user(name: str, _user: StaffUser, session: ReadSession) -> UserRead:
    return _user_read(session, service.get_user(session, name))


@router.patch("/users/{name}")
def update_user(
    name: str, body: UserUpdate, request: Request, admin: AdminUser, session: WriteSession
) -> UserRead:
    changes = body.model_dump(exclude_none=True)
    if "password" in changes:
        changes["password"] = "changed"  # never the password itself
    record_request(session, request, actor=admin, action="user.update", target=name, detail=changes)
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
    name: str, body: TokenCreate, request: Request, user: CurrentUser, session: WriteSession
) -> TokenRead:
    target = service.get_user(session, name)
    expires_in = None if body.expires_days is None else body.expires_days * 86400
    token = service.create_token(session, user, target, name=body.name, expires_in=expires_in)
    record_request(
        session,
        request,
        actor=user,
        action="token.create",
        target=target.name,
        detail={"name": body.name, "expires_days": body.expires_days},
    )
    return TokenRead(token=token, user=target.name)


@router.get("/teams")
def list_teams(_user: StaffUser, session: ReadSession) -> list[dict[str, Any]]:
    return [
        {"name": team.name, "members": members} for team, members in service.list_teams(session)
    ]


@router.post("/teams", status_code=201)
def create_team(
    body: TeamCreate, request: Request, admin: AdminUser, session: WriteSession
) -> dict[str, Any]:
    team = service.create_team(session, body.name)
    record_request(session, request, actor=admin, action="team.create", target=team.name)
    return {"name": team.name, "members": []}


@router.post("/teams/{team}/members", status_code=201)
def add_member(
    team: str, body: TeamMemberAdd, request: Request, admin: AdminUser, session: WriteSession
) -> dict[str, str]:
    service.add_member(session, team, service.get_user(session, body.user))
    record_request(
        session, request, actor=admin, action="team.member.add", target=f"{team}/{body.user}"
    )
    return {"team": team, "user": body.user}


@router.delete("/teams/{team}/members/{user_name}", status_code=204)
def remove_member(
    team: str, user_name: str, request: Request, admin: AdminUser, session: WriteSession
) -> None:
    service.remove_member(session, team, service.get_user(session, user_name))
    record_request(
        session, request, actor=admin, action="team.member.remove", target=f"{team}/{user_name}"
    )


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


# -- source-IP allow-lists ------------------------------------------------------------------


@router.get("/workforce/source-ip")
def get_source_ip(_user: AdminUser, session: ReadSession) -> SourceIpRead:
    """The workforce's allowed source CIDRs, each team's, and the trusted proxies."""
    return SourceIpRead(**ip_allow.describe(session))


@router.put("/workforce/source-ip")
def put_source_ip(
    body: SourceIpPut, request: Request, admin: AdminUser, session: WriteSession
) -> SourceIpRead:
    """Where every worker and reviewer may work from ([] for anywhere)."""
    cidrs = ip_allow.set_workforce_cidrs(session, body.cidrs)
    record_request(
        session,
        request,
        actor=admin,
        action="source_ip.set",
        target="workforce",
        detail={"cidrs": cidrs},
    )
    return SourceIpRead(**ip_allow.describe(session))


@router.put("/workforce/trusted-proxies")
def put_trusted_proxies(
    body: SourceIpPut, request: Request, admin: AdminUser, session: WriteSession
) -> SourceIpRead:
    """The proxies whose X-Forwarded-For names the client ([] believes none)."""
    cidrs = ip_allow.set_trusted_proxies(session, body.cidrs)
    record_request(
        session,
        request,
        actor=admin,
        action="trusted_proxies.set",
        target="workforce",
        detail={"cidrs": cidrs},
    )
    return SourceIpRead(**ip_allow.describe(session))


@router.get("/teams/{team}/source-ip")
def get_team_source_ip(team: str, _user: AdminUser, session: ReadSession) -> dict[str, Any]:
    return {"team": team, "cidrs": ip_allow.team_cidrs(session, team)}


@router.put("/teams/{team}/source-ip")
def put_team_source_ip(
    team: str, body: SourceIpPut, request: Request, admin: AdminUser, session: WriteSession
) -> dict[str, Any]:
    """Where the team's members may work from ([] lifts the team's restriction)."""
    cidrs = ip_allow.set_team_cidrs(session, team, body.cidrs)
    record_request(
        session,
        request,
        actor=admin,
        action="source_ip.set",
        target=f"team:{team}",
        detail={"cidrs": cidrs},
    )
    return {"team": team, "cidrs": cidrs}


from truthset.workforce import oidc_router  # noqa: E402 - its routes join this router

router.include_router(oidc_router.router)


# -- API tokens in the console ----------------------------------------------------------------


@router.get("/users/{name}/tokens")
def list_tokens(name: str, user: CurrentUser, session: ReadSession) -> list[dict[str, Any]]:
    """The user's API tokens: name, first characters, when made, when they expire."""
    return api_tokens.list_api_tokens(session, user, service.get_user(session, name))


@router.delete("/users/{name}/tokens/{token_id}", status_code=204)
def revoke_token(
    name: str, token_id: int, request: Request, user: CurrentUser, session: WriteSession
) -> None:
    target = service.get_user(session, name)
    what = api_tokens.revoke_api_token_id(session, user, target, token_id)
    # This process forgets at once; others re-read within deps._TOKEN_CACHE_TTL.
    forget_all_tokens()
    record_request(
        session,
        request,
        actor=user,
        action="token.revoke",
        target=target.name,
        detail={"token": what},
    )
