"""The workforce service's rules: accounts, passwords, teams and members, sign-in and
tokens, on the embedded store and on PostgreSQL."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import func, select

from truthset.api.tokens import SESSION_LIFETIME, authenticate_token, issue_token
from truthset.errors import BadInput, Conflict, Forbidden, NotFound, Unauthorized
from truthset.store.models import AuthToken, Team, TeamMember, User
from truthset.workforce import service

NOW = 1_700_000_000.0


def test_a_password_is_kept_as_a_salted_argon2id_hash():
    first, second = service.hash_password("correct horse"), service.hash_password("correct horse")
    assert first.startswith("$argon2id$") and "correct horse" not in first
    assert first != second  # a fresh salt each time
    assert service.verify_password("correct horse", first)
    assert service.verify_password("correct horse", second)
    assert not service.verify_password("correct hors", first)
    assert not service.verify_password("correct horse", None)
    assert not service.verify_password("correct horse", "plain-text")


def test_create_user_stores_the_account_and_its_teams(any_ws):
    with any_ws.db.session_scope() as s:
        user = service.create_user(
            s, "ana", role="reviewer", password="long-enough", teams=["zeta", "alpha"], now=NOW
        )
        assert (user.role, user.active, user.created_at) == ("reviewer", True, NOW)
    with any_ws.db.session_scope(write=False) as s:
        ana = service.get_user(s, "ana")
        assert ana.password_hash != "long-enough"
        assert service.verify_password("long-enough", ana.password_hash)
        # Missing teams are created; the names come back sorted.
        assert service.team_names_of(s, ana.id) == ["alpha", "zeta"]
        assert service.get_team(s, "alpha").created_at == NOW


def test_an_account_without_a_password_has_no_hash(any_ws):
    with any_ws.db.session_scope() as s:
        assert service.create_user(s, "bot").password_hash is None
        assert service.create_user(s, "bot2").role == "worker"


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"name": "bad name"}, BadInput, "user name 'bad name' must be"),
        ({"name": "-dash-first"}, BadInput, "starting with a letter or digit"),
        ({"name": "x" * 101}, BadInput, "must be 1-100"),
        ({"name": "ok", "role": "owner"}, BadInput, "role 'owner' is not one of admin"),
        ({"name": "ok", "password": "short"}, BadInput, "at least 8 characters"),
        ({"name": "taken"}, Conflict, "a user named 'taken' already exists"),
    ],
)
def test_create_user_refuses(any_ws, kwargs, error, words):
    with any_ws.db.session_scope() as s:
        service.create_user(s, "taken")
    with any_ws.db.session_scope() as s, pytest.raises(error) as info:
        service.create_user(s, **kwargs)
    assert words in str(info.value.detail)
    with any_ws.db.session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1


def test_get_user_of_an_unknown_name_is_not_found(any_ws):
    with any_ws.db.session_scope(write=False) as s, pytest.raises(NotFound) as info:
        service.get_user(s, "ghost")
    assert info.value.detail == "user 'ghost' not found"
    assert info.value.status_code == 404


def test_set_password_replaces_the_hash_and_refuses_a_short_one(any_ws):
    with any_ws.db.session_scope() as s:
        user = service.create_user(s, "ana", password="first-password")
        service.set_password(s, user, "second-password")
        with pytest.raises(BadInput):
            service.set_password(s, user, "1234567")
        assert service.verify_password("second-password", user.password_hash)
        assert not service.verify_password("first-password", user.password_hash)


def test_teams_and_members(any_ws):
    with any_ws.db.session_scope() as s:
        ana = service.create_user(s, "ana")
        bo = service.create_user(s, "bo")
        service.create_team(s, "night")
        service.create_team(s, "day")
        service.add_member(s, "night", bo)
        service.add_member(s, "night", ana)
        service.add_member(s, "night", ana)  # a second time changes nothing
        with pytest.raises(Conflict, match="a team named 'day' already exists"):
            service.create_team(s, "day")
        with pytest.raises(BadInput, match="team name"):
            service.create_team(s, "no spaces")
    with any_ws.db.session_scope(write=False) as s:
        assert [(t.name, members) for t, members in service.list_teams(s)] == [
            ("day", []),
            ("night", ["ana", "bo"]),
        ]
        assert s.scalar(select(func.count()).select_from(TeamMember)) == 2
    with any_ws.db.session_scope() as s:
        ana = service.get_user(s, "ana")
        service.remove_member(s, "night", ana)
        service.remove_member(s, "night", ana)  # not a member: nothing to do
        service.remove_member(s, "day", ana)
    with any_ws.db.session_scope(write=False) as s:
        assert [(t.name, m) for t, m in service.list_teams(s)] == [("day", []), ("night", ["bo"])]
        assert service.team_names_of(s, service.get_user(s, "ana").id) == []


def test_an_unknown_team_is_not_found_unless_asked_to_create_it(any_ws):
    with any_ws.db.session_scope() as s:
        ana = service.create_user(s, "ana")
        with pytest.raises(NotFound) as info:
            service.add_member(s, "nope", ana)
        assert info.value.detail == "team 'nope' not found"
        with pytest.raises(NotFound, match="team 'nope' not found"):
            service.remove_member(s, "nope", ana)
        with pytest.raises(NotFound, match="team 'nope' not found"):
            service.get_team(s, "nope")
        assert s.scalar(select(func.count()).select_from(Team)) == 0
        service.add_member(s, "nope", ana, create_team_if_missing=True)
        assert service.team_names_of(s, ana.id) == ["nope"]


def test_list_users_is_oldest_first(any_ws):
    with any_ws.db.session_scope() as s:
        for name in ("zed", "amy", "kim"):
            service.create_user(s, name)
    with any_ws.db.session_scope(write=False) as s:
        assert [u.name for u in service.list_users(s)] == ["zed", "amy", "kim"]
        first = service.list_users(s)[0]
        assert service.get_user_by_id(s, first.id) is first
        assert service.get_user_by_id(s, first.id + 1000) is None


def test_login_gives_a_session_token_that_expires(any_ws):
    with any_ws.db.session_scope() as s:
        service.create_user(s, "ana", password="right-password")
    with any_ws.db.session_scope() as s:
        user, token = service.login(s, "ana", "right-password", now=NOW)
        assert user.name == "ana"
    with any_ws.db.session_scope(write=False) as s:
        row = s.scalar(select(AuthToken))
        assert row is not None and row.kind == "session"
        assert row.expires_at == NOW + SESSION_LIFETIME and row.token_hash != token
        assert authenticate_token(s, token, now=NOW + 60).name == "ana"
        with pytest.raises(Unauthorized, match="invalid or expired token"):
            authenticate_token(s, token, now=NOW + SESSION_LIFETIME + 1)


@pytest.mark.parametrize(
    ("name", "password"),
    [("ana", "wrong-password"), ("ghost", "right-password"), ("tokenonly", "right-password")],
)
def test_login_refuses_with_one_message(any_ws, name, password):
    # A wrong password, an unknown name and an account without a password read the same:
    # the answer does not tell which names exist.
    with any_ws.db.session_scope() as s:
        service.create_user(s, "ana", password="right-password")
        service.create_user(s, "tokenonly")
    with any_ws.db.session_scope() as s, pytest.raises(Unauthorized) as info:
        service.login(s, name, password)
    assert info.value.detail == "wrong user name or password"
    assert info.value.status_code == 401
    with any_ws.db.session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(AuthToken)) == 0


def test_a_disabled_account_cannot_sign_in_and_its_tokens_stop(any_ws):
    with any_ws.db.session_scope() as s:
        ana = service.create_user(s, "ana", password="right-password")
        token = issue_token(s, ana)
    with any_ws.db.session_scope() as s:
        service.update_user(s, service.get_user(s, "ana"), active=False)
    with any_ws.db.session_scope() as s:
        with pytest.raises(Unauthorized, match="wrong user name or password"):
            service.login(s, "ana", "right-password")
        # Deactivation deleted the token (tests/api/test_tokens.py covers the rest).
        with pytest.raises(Unauthorized, match="invalid or expired token"):
            authenticate_token(s, token)
    with any_ws.db.session_scope() as s:
        service.update_user(s, service.get_user(s, "ana"), active=True)
    with any_ws.db.session_scope() as s:
        assert service.login(s, "ana", "right-password")[0].name == "ana"
        with pytest.raises(Unauthorized, match="invalid or expired token"):
            authenticate_token(s, token)


def test_logout_revokes_the_session_token(any_ws):
    with any_ws.db.session_scope() as s:
        service.create_user(s, "ana", password="right-password")
        _, token = service.login(s, "ana", "right-password")
        _, other = service.login(s, "ana", "right-password")
    with any_ws.db.session_scope() as s:
        service.logout(s, token)
        service.logout(s, "ts_never-issued")  # unknown: nothing to do
    with any_ws.db.session_scope(write=False) as s:
        with pytest.raises(Unauthorized, match="invalid or expired token"):
            authenticate_token(s, token)
        assert authenticate_token(s, other).name == "ana"  # other sessions go on


def test_update_user_changes_only_what_is_given(any_ws):
    with any_ws.db.session_scope() as s:
        ana = service.create_user(s, "ana", password="first-password")
        service.update_user(s, ana, role="requester")
        assert (ana.role, ana.active) == ("requester", True)
        assert service.verify_password("first-password", ana.password_hash)
        service.update_user(s, ana, password="second-password")
        assert ana.role == "requester"
        assert service.verify_password("second-password", ana.password_hash)
        with pytest.raises(BadInput, match="role 'boss' is not one of"):
            service.update_user(s, ana, role="boss")
        with pytest.raises(BadInput, match="at least 8 characters"):
            service.update_user(s, ana, password="short")
        assert ana.role == "requester"


def test_only_an_admin_creates_tokens_for_someone_else(any_ws):
    with any_ws.db.session_scope() as s:
        admin = service.create_user(s, "root", role="admin")
        ana = service.create_user(s, "ana")
        bo = service.create_user(s, "bo", role="requester")
        own = service.create_token(s, ana, ana, name="laptop")
        for_ana = service.create_token(s, admin, ana)
        with pytest.raises(Forbidden, match="only an admin can create tokens"):
            service.create_token(s, bo, ana)
        assert authenticate_token(s, own).name == "ana"
        assert authenticate_token(s, for_ana).name == "ana"
        names = s.scalars(select(AuthToken.name).order_by(AuthToken.id)).all()
        assert names == ["laptop", None]


def test_services_flush_and_leave_the_commit_to_the_caller(any_ws):
    session = any_ws.db.new_session()
    try:
        user = service.create_user(session, "ana", password="right-password", teams=["crew"])
        service.create_team(session, "night")
        service.login(session, "ana", "right-password")
        assert user.id is not None  # flushed: the rows exist inside the transaction
        assert service.team_names_of(session, user.id) == ["crew"]
        session.rollback()
    finally:
        session.close()
    with any_ws.db.session_scope(write=False) as s:
        for model in (User, Team, TeamMember, AuthToken):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model


def test_the_domain_keeps_its_layers():
    """The service and the repository import no FastAPI and never commit; queries live in
    the repository, not in the service or the router."""
    package = Path(service.__file__).parent
    for name in ("service.py", "repository.py"):
        tree = ast.parse((package / name).read_text())
        imported = {
            alias.name if isinstance(node, ast.Import) else node.module or ""
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not any(m.split(".")[0] in ("fastapi", "starlette") for m in imported), name
        assert not any(_commits_a_session(node) for node in ast.walk(tree)), name
    for name in ("service.py", "router.py"):
        source = (package / name).read_text()
        assert "select(" not in source and "from sqlalchemy import" not in source, name


def _commits_a_session(node: ast.AST) -> bool:
    """`session.commit()` or `self.session.commit()` (a savepoint's commit is a release)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    owner = node.func.value
    named = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
    return node.func.attr == "commit" and named == "session"
