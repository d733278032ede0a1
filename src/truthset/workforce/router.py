"""Sign-in, accounts, teams and tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

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
from truthset.errors import Forbidden, Unauthorized
from truthset.store.models import User
from truthset.workforce import service
from truthset.workforce.schemas import (
    LoginRequest,
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
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=tokens.SESSION_LIFETIME,
        path="/",
    )
    return user_read


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
