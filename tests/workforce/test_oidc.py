"""OIDC sign-in against a real provider (tests/workforce/oidc_provider.py: authlib's server
side over HTTP on 127.0.0.1): the whole authorization-code flow with PKCE, accounts made
on the first sign-in, teams and role from the groups claim, and every way a sign-in must
be refused, each with the message that says why."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from support import bearer
from truthset.api.deps import SESSION_COOKIE
from truthset.api.tokens import issue_token
from truthset.store.models import OidcProvider, User
from truthset.store.models import OidcSession as OidcSessionRow
from truthset.workforce import oidc, service
from workforce.oidc_provider import TestProvider

CALLBACK = "http://testserver/api/auth/oidc/corp/callback"
GROUP_MAP = {
    "labelers-eu": {"teams": ["eu"]},
    "leads": {"teams": ["eu", "leads"], "role": "reviewer"},
}
ANA = {"sub": "u-1", "preferred_username": "ana", "email": "ana@corp.example", "groups": []}


@pytest.fixture
def provider() -> Iterator[TestProvider]:
    oidc.forget_discovery()
    p = TestProvider().start()
    p.register_client("truthset", "client-secret-1", CALLBACK)
    p.person = dict(ANA, groups=["labelers-eu", "unmapped"])
    yield p
    p.stop()
    oidc.forget_discovery()


@pytest.fixture
def admin(ws) -> dict[str, str]:
    with ws.db.session_scope() as s:
        return bearer(issue_token(s, service.create_user(s, "root", role="admin")))


def configure(client, admin, provider: TestProvider, **changes: Any) -> Any:
    body = {
        "issuer": provider.url,
        "client_id": "truthset",
        "client_secret": "client-secret-1",
        "display_name": "Corp SSO",
        "group_map": GROUP_MAP,
        **changes,
    }
    return client.put("/api/oidc/providers/corp", json=body, headers=admin)


@pytest.fixture
def corp(client, admin, provider) -> TestProvider:
    r = configure(client, admin, provider)
    assert r.status_code == 201, r.text
    return provider


def to_provider(client, next_path: str = "/") -> str:
    r = client.get("/api/auth/oidc/corp/start", params={"next": next_path}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"]


def provider_redirect(authorize_url: str) -> str:
    """The browser at the provider: it consents and sends the browser back."""
    r = httpx.get(authorize_url, follow_redirects=False)
    assert r.status_code == 302, r.text
    return r.headers["location"]


def sign_in(client, next_path: str = "/") -> httpx.Response:
    return client.get(provider_redirect(to_provider(client, next_path)), follow_redirects=False)


def refused(response, status: int = 401, kind: str = "unauthorized") -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] == kind, body
    assert SESSION_COOKIE not in response.cookies
    return body["detail"]


def users(ws) -> list[str]:
    with ws.db.session_scope(write=False) as s:
        return list(s.scalars(select(User.name).order_by(User.id)))


# The flow


def test_the_full_flow_signs_in_with_pkce_and_lands_on_next(client, corp, ws):
    authorize = to_provider(client, "/work/job-1?x=1")
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{corp.url}/authorize?")
    assert query["response_type"] == ["code"] and query["client_id"] == ["truthset"]
    assert query["redirect_uri"] == [CALLBACK] and query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["openid profile email"]
    assert len(query["code_challenge"][0]) == 43 and query["nonce"] and query["state"]
    r = client.get(provider_redirect(authorize), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/work/job-1?x=1"
    assert client.cookies[SESSION_COOKIE].startswith("ts_")
    me = client.get("/api/me").json()
    assert (me["name"], me["role"], me["teams"]) == ("ana", "worker", ["eu"])
    # The code was exchanged with the PKCE verifier and the client's secret (basic auth).
    token_request = corp.token_requests[-1]
    assert token_request["grant_type"] == "authorization_code"
    assert 43 <= len(token_request["code_verifier"]) <= 128
    assert "client_secret" not in token_request


def test_sign_ins_and_refusals_are_in_the_audit_log(client, corp, admin):
    assert sign_in(client).status_code == 303
    corp.id_token_claims = {"aud": "another-app"}
    client.cookies.clear()
    refused(sign_in(client))
    events = client.get("/api/audit", params={"action": "auth.oidc"}, headers=admin).json()
    assert [(e["actor"], e["target"], e["outcome"]) for e in events] == [
        (None, "corp", "refused"),
        ("ana", "corp", "ok"),
    ]
    assert events[0]["detail"]["reason"].startswith("the ID token is meant for audience")
    assert events[1]["detail"] == {"subject": "u-1", "new_account": True}
    [configured] = client.get("/api/audit", params={"action": "oidc."}, headers=admin).json()
    assert (configured["action"], configured["actor"]) == ("oidc.provider.create", "root")
    assert configured["detail"]["client_secret"] == "set"
    assert "client-secret-1" not in str(configured)


def test_a_next_off_this_site_lands_on_the_home_page(client, corp):
    assert sign_in(client, "//evil.example/x").headers["location"] == "/"


def test_first_sign_in_makes_the_account_later_ones_follow_the_groups(client, corp, ws, admin):
    assert sign_in(client).status_code == 303
    assert users(ws) == ["root", "ana"]
    # An admin adds ana to a team the provider's map never names: the provider leaves it.
    assert client.post("/api/teams", json={"name": "local"}, headers=admin).status_code == 201
    client.post("/api/teams/local/members", json={"user": "ana"}, headers=admin)
    corp.person = dict(ANA, groups=["leads"])
    client.cookies.clear()
    assert sign_in(client).status_code == 303
    me = client.get("/api/me").json()
    assert (me["name"], me["role"], me["teams"]) == ("ana", "reviewer", ["eu", "leads", "local"])
    corp.person = dict(ANA, groups=[])
    client.cookies.clear()
    assert sign_in(client).status_code == 303
    me = client.get("/api/me").json()
    assert (me["role"], me["teams"]) == ("worker", ["local"])
    assert users(ws) == ["root", "ana"]  # one account all along


def test_a_local_account_of_the_same_name_is_never_taken_over(client, corp, ws):
    with ws.db.session_scope() as s:
        service.create_user(s, "ana", role="admin", password="local-password")
    assert sign_in(client).status_code == 303
    me = client.get("/api/me").json()
    assert (me["name"], me["role"]) == ("ana-2", "worker")
    # Local passwords go on working beside the provider.
    client.cookies.clear()
    r = client.post("/api/auth/login", json={"name": "ana", "password": "local-password"})
    assert r.status_code == 200 and r.json()["role"] == "admin"


def test_the_groups_claim_may_come_from_userinfo_alone(client, corp):
    corp.person = {k: v for k, v in ANA.items() if k != "groups"}
    corp.userinfo_claims = {"groups": ["leads"]}
    assert sign_in(client).status_code == 303
    assert client.get("/api/me").json()["teams"] == ["eu", "leads"]


def test_userinfo_about_another_subject_is_refused(client, corp, ws):
    corp.userinfo_claims = {"sub": "u-2"}
    detail = refused(sign_in(client))
    assert detail == "provider 'corp''s userinfo is about subject 'u-2', not the ID token's 'u-1'"
    assert users(ws) == ["root"]


def test_a_provider_that_requires_a_group_refuses_people_in_none(client, admin, corp, ws):
    assert configure(client, admin, corp, require_group=True).status_code == 200
    corp.person = dict(ANA, groups=["unmapped"])
    detail = refused(sign_in(client))
    assert detail == (
        "provider 'corp' lets in only members of its mapped groups (labelers-eu, leads); "
        "this person's 'groups' are ['unmapped']"
    )
    assert users(ws) == ["root"]


def test_a_disabled_account_cannot_sign_in_through_the_provider(client, admin, corp):
    assert sign_in(client).status_code == 303
    client.patch("/api/users/ana", json={"active": False}, headers=admin)
    client.cookies.clear()
    assert refused(sign_in(client)) == "this account is disabled"


# Tokens and redirects that must be refused


def test_a_tampered_id_token_is_refused(client, corp, ws):
    corp.tamper = "payload"
    detail = refused(sign_in(client))
    assert detail == (
        "the ID token's signature does not verify against provider 'corp''s keys: "
        "it was altered or signed by someone else"
    )
    assert users(ws) == ["root"]


def test_an_id_token_signed_by_a_key_the_provider_does_not_publish_is_refused(client, corp):
    corp.tamper = "foreign_key"
    assert "signature does not verify" in refused(sign_in(client))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            "alg_none",
            "the ID token cannot be read: unsupported_algorithm: Algorithm of 'none' is not "
            "allowed",
        ),
        ("garbage", "the ID token cannot be read: decode_error: Invalid JSON Web Signature"),
    ],
)
def test_an_unsigned_or_unreadable_id_token_is_refused(client, corp, ws, tamper, message):
    corp.tamper = tamper
    assert refused(sign_in(client)) == message
    assert users(ws) == ["root"]


def test_a_browser_refused_goes_back_to_the_sign_in_page_with_the_reason(client, corp):
    import base64

    corp.id_token_claims = {"aud": "another-app"}
    callback = provider_redirect(to_provider(client))
    r = client.get(callback, headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert SESSION_COOKIE not in r.cookies
    cookie = r.headers["set-cookie"]
    assert "Path=/login" in cookie and "HttpOnly" not in cookie
    value = r.cookies["truthset_sso_error"]
    reason = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    assert reason.startswith("the ID token is meant for audience 'another-app'")


def test_a_wrong_audience_is_refused(client, corp, ws):
    corp.id_token_claims = {"aud": "another-app"}
    assert refused(sign_in(client)) == (
        "the ID token is meant for audience 'another-app', not for this server's client id "
        "'truthset'"
    )
    assert users(ws) == ["root"]


def test_a_wrong_nonce_is_refused(client, corp):
    corp.id_token_claims = {"nonce": "someone-elses-nonce"}
    assert refused(sign_in(client)) == (
        "the ID token's nonce is not this sign-in's (a replayed or mixed-up token)"
    )


def test_an_expired_id_token_is_refused(client, corp):
    now = int(time.time())
    corp.id_token_claims = {"exp": now - 3600, "iat": now - 7200}
    detail = refused(sign_in(client))
    expired = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600))
    assert detail.startswith(f"the ID token expired at {expired} (now ")


def test_an_id_token_from_another_issuer_is_refused(client, corp):
    corp.id_token_claims = {"iss": "https://evil.example"}
    assert refused(sign_in(client)) == (
        f"the ID token was issued by 'https://evil.example', not by the configured issuer "
        f"'{corp.url}'"
    )


def test_a_discovery_document_naming_another_issuer_is_refused(client, corp):
    corp.discovery_issuer = "https://evil.example"
    r = client.get("/api/auth/oidc/corp/start", follow_redirects=False)
    assert refused(r, 502, "provider_error") == (
        f"provider 'corp': the discovery document {corp.url}/.well-known/openid-configuration "
        f"names issuer 'https://evil.example', not the configured issuer '{corp.url}'"
    )


def test_a_wrong_state_is_refused(client, corp):
    callback = provider_redirect(to_provider(client))
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    forged = f"{CALLBACK}?code={query['code'][0]}&state=not-the-state"
    assert refused(client.get(forged, follow_redirects=False)) == (
        "this sign-in's state is unknown, already used or for another provider: "
        "start the sign-in again"
    )


def test_a_callback_works_once(client, corp):
    callback = provider_redirect(to_provider(client))
    assert client.get(callback, follow_redirects=False).status_code == 303
    assert "already used" in refused(client.get(callback, follow_redirects=False))


def test_a_refused_callback_uses_its_state_up(client, corp):
    corp.id_token_claims = {"nonce": "someone-elses-nonce"}
    callback = provider_redirect(to_provider(client))
    assert "nonce" in refused(client.get(callback, follow_redirects=False))
    corp.id_token_claims = {}
    assert "already used" in refused(client.get(callback, follow_redirects=False))


def test_two_sign_ins_from_two_tabs_of_one_browser_both_complete(client, corp):
    first = provider_redirect(to_provider(client))
    second = provider_redirect(to_provider(client))
    assert client.get(first, follow_redirects=False).status_code == 303
    client.cookies.delete(SESSION_COOKIE)
    assert client.get(second, follow_redirects=False).status_code == 303
    assert client.get("/api/me").json()["name"] == "ana"


def test_a_callback_opened_in_another_browser_is_refused(client, corp):
    """Login CSRF: an attacker's own redirect, opened in the victim's browser, would sign
    the victim in as the attacker."""
    callback = provider_redirect(to_provider(client))
    client.cookies.clear()  # the victim's browser never started this sign-in
    assert refused(client.get(callback, follow_redirects=False)) == (
        "this sign-in was started in another browser: start it again here"
    )


def test_a_sign_in_the_provider_refused_says_so(client, corp):
    corp.person = None  # nobody consented: authlib answers access_denied
    detail = refused(sign_in(client))
    assert detail.startswith("provider 'corp' refused the sign-in: access_denied")


def test_a_wrong_client_secret_is_refused_by_the_provider(client, admin, corp):
    assert configure(client, admin, corp, client_secret="not-it").status_code == 200
    assert refused(sign_in(client)).startswith("provider 'corp' refused the code: invalid_client")


# Configuration


def test_the_sign_in_page_lists_enabled_providers_to_anyone(client, admin, corp):
    options = client.get("/api/auth/oidc/providers").json()
    assert options == [
        {"name": "corp", "display_name": "Corp SSO", "start": "/api/auth/oidc/corp/start"}
    ]
    configure(client, admin, corp, enabled=False)
    assert client.get("/api/auth/oidc/providers").json() == []
    r = client.get("/api/auth/oidc/corp/start", follow_redirects=False)
    assert refused(r, 404, "not_found") == "no OIDC provider named 'corp'"


def test_the_client_secret_is_sealed_and_never_read_back(client, admin, corp, ws):
    read = client.get("/api/oidc/providers/corp", headers=admin).json()
    assert read["has_client_secret"] is True and "client_secret" not in read
    with ws.db.session_scope(write=False) as s:
        sealed = s.scalar(select(OidcProvider.client_secret_sealed))
    assert sealed and "client-secret-1" not in sealed
    # Leaving the secret out keeps the stored one: sign-in still works.
    body = {"issuer": corp.url, "client_id": "truthset", "group_map": GROUP_MAP}
    assert client.put("/api/oidc/providers/corp", json=body, headers=admin).status_code == 200
    assert sign_in(client).status_code == 303


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"issuer": "http://idp.example"}, "issuer 'http://idp.example' must use https"),
        ({"issuer": "https://[idp"}, "issuer 'https://[idp' is not a URL"),
        ({"discovery_url": "https://idp:port/x"}, "discovery_url 'https://idp:port/x' is not"),
        ({"scopes": "profile"}, "scopes 'profile' must include 'openid'"),
        ({"default_role": "boss"}, "default_role 'boss' is not one of"),
        (
            {"group_map": {"g": {"teams": ["bad name"]}}},
            "group_map['g'].teams must be a list of team names",
        ),
        ({"group_map": {"g": {"role": "boss"}}}, "group_map['g'].role 'boss' is not one of"),
    ],
)
def test_bad_provider_settings_are_refused_by_name(client, admin, provider, ws, change, message):
    r = configure(client, admin, provider, **change)
    assert message in refused(r, 400, "bad_input")
    with ws.db.session_scope(write=False) as s:
        assert s.scalar(select(OidcProvider.id)) is None


def test_only_an_admin_configures_providers(client, ws, provider):
    with ws.db.session_scope() as s:
        requester = bearer(issue_token(s, service.create_user(s, "req", role="requester")))
    r = configure(client, requester, provider)
    assert refused(r, 403, "forbidden") == "this needs the admin role"
    assert client.get("/api/oidc/providers", headers=requester).status_code == 403


def test_a_provider_can_be_removed(client, admin, corp):
    assert client.delete("/api/oidc/providers/corp", headers=admin).status_code == 204
    assert client.get("/api/oidc/providers", headers=admin).json() == []


def test_the_flow_on_postgresql(pg_url, tmp_path, provider):
    from fastapi.testclient import TestClient

    from conftest import make_workspace
    from truthset.server.app import create_app

    pg_ws = make_workspace(tmp_path, pg_url)
    try:
        with pg_ws.db.session_scope() as s:
            admin = bearer(issue_token(s, service.create_user(s, "root", role="admin")))
        with TestClient(create_app(pg_ws, run_executor=False)) as client:
            assert configure(client, admin, provider).status_code == 201
            callback = provider_redirect(to_provider(client))
            assert client.get(callback, follow_redirects=False).status_code == 303
            me = client.get("/api/me").json()
            assert (me["name"], me["teams"]) == ("ana", ["eu"])
            # The state was taken once: the same redirect again is refused.
            assert "already used" in refused(client.get(callback, follow_redirects=False))
        assert users(pg_ws) == ["root", "ana"]
    finally:
        pg_ws.close()


def test_two_first_sign_ins_at_once_make_one_account(pg_url, tmp_path):
    """One person, two tabs, two app processes: the second sign-in's insert waits on the
    first's, collides when it commits, and the second try finds the account it made."""
    import threading

    from conftest import make_workspace
    from truthset.workforce import oidc_accounts, oidc_config
    from truthset.workforce.oidc_router import _sign_in

    pg_ws = make_workspace(tmp_path, pg_url)
    settings = oidc_config.ProviderSettings(
        issuer="https://idp.example", client_id="c", client_secret="s", group_map=GROUP_MAP
    )
    with pg_ws.db.session_scope() as s:
        oidc_config.put_provider(s, "corp", settings, master_key=b"k" * 32)
    claims = dict(ANA, groups=["leads"])
    flushed, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def first() -> None:
        with pg_ws.db.session_scope() as s:
            provider = oidc_config.get_provider(s, "corp")
            results["first"] = oidc_accounts.sign_in(s, provider, claims)[0].id
            flushed.set()
            release.wait(10)  # holds its uncommitted account until the second one waits

    def second() -> None:
        with pg_ws.db.session_scope() as s:
            provider = oidc_config.get_provider(s, "corp")
            verified = oidc.Verified(provider=provider, claims=claims, next_path="/")
            results["second"] = _sign_in(s, verified)[0].id

    try:
        a = threading.Thread(target=first)
        a.start()
        assert flushed.wait(10)
        b = threading.Thread(target=second)
        b.start()
        time.sleep(0.5)  # the second's insert now waits on the first's row
        release.set()
        a.join(10)
        b.join(10)
        assert results["first"] == results["second"]
        assert users(pg_ws) == ["ana"]
    finally:
        pg_ws.close()


# Signing out


def test_signing_out_ends_the_providers_session_too(client, corp, ws):
    """RP-initiated logout: the sign-out answers with the provider's end_session_endpoint,
    hinted with the sign-in's own ID token and coming back to the sign-in page; the
    provider accepts the hint and sends the browser back; the local session is over."""
    assert sign_in(client).status_code == 303
    r = client.post("/api/auth/logout", headers={"X-Truthset-CSRF": "1"})
    assert r.status_code == 200, r.text
    url = r.json()["redirect"]
    assert url.startswith(f"{corp.url}/logout?")
    query = parse_qs(urlsplit(url).query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/login"]
    assert query["client_id"] == ["truthset"]
    back = httpx.get(url, follow_redirects=False)  # the browser at the provider
    assert back.status_code == 302 and back.headers["location"] == "http://testserver/login"
    assert corp.end_sessions[-1]["id_token_hint"] == query["id_token_hint"][0]
    client.cookies.clear()
    assert client.get("/api/me").status_code == 401
    with ws.db.session_scope(write=False) as s:
        assert s.execute(select(OidcSessionRow)).first() is None  # gone with its session


def test_without_an_end_session_endpoint_the_sign_out_is_local(client, corp):
    corp.offers_end_session = False
    oidc.forget_discovery()
    assert sign_in(client).status_code == 303
    r = client.post("/api/auth/logout", headers={"X-Truthset-CSRF": "1"})
    assert r.status_code == 204 and corp.end_sessions == []


def test_a_password_session_signs_out_locally(client, corp, ws):
    with ws.db.session_scope() as s:
        service.create_user(s, "local1", password="a-long-password-1", role="worker")
    r = client.post("/api/auth/login", json={"name": "local1", "password": "a-long-password-1"})
    assert r.status_code == 200, r.text
    r = client.post("/api/auth/logout", headers={"X-Truthset-CSRF": "1"})
    assert r.status_code == 204 and corp.end_sessions == []
