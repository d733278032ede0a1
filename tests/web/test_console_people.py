"""The console's people page in a real browser: add a person, change a role, deactivate
and reactivate, reset a password, put someone in a team and take them out, make and revoke
an API token; a requester sees the lists and cannot change them."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from web.ui_support import Pages, Site

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = os.environ.get("TRUTHSET_UPDATE_SCREENSHOTS") == "1"


def _sign_in(site: Site, name: str, password: str) -> int:
    res = httpx.post(
        site.base + "/api/auth/login", json={"name": name, "password": password}, timeout=10
    )
    return res.status_code


def _ok(page: object, words: str) -> None:
    page.locator(".toast.ok", has_text=words).wait_for()  # type: ignore[attr-defined]


def test_an_admin_adds_and_manages_a_person(pages: Pages, site: Site) -> None:
    page = pages.open("admin", "/console/people")
    page.wait_for_selector("#people")
    page.fill("#p-name", "rita")
    page.select_option("#p-role", "reviewer")
    page.fill("#p-password", "rita-first-pass")
    page.select_option("#p-team", "labelers")
    page.click("#add-person button[type=submit]")
    _ok(page, "rita was added as reviewer.")
    row = page.locator("#people tr[data-user='rita']")
    assert row.locator("td").nth(1).inner_text() == "reviewer"
    assert row.locator("td").nth(3).inner_text() == "labelers"
    assert _sign_in(site, "rita", "rita-first-pass") == 200
    # A name the server refuses: its sentence, and nobody added.
    page.fill("#p-name", "rita")
    page.click("#add-person button[type=submit]")
    page.locator(".toast.error").wait_for()
    assert "rita" in page.locator(".toast.error").inner_text()

    row.locator("button").click()
    page.wait_for_selector("#person[data-user='rita']")
    assert "user=rita" in page.url
    page.select_option("#pp-role", "worker")
    page.click("#pp-save-role")
    _ok(page, "rita is now worker.")
    assert site.api("admin", "GET", "/api/users/rita").json()["role"] == "worker"

    page.fill("#pp-password", "rita-second-pass")
    page.click("#pp-set-password")
    _ok(page, "rita's password was reset")
    assert _sign_in(site, "rita", "rita-first-pass") == 401
    assert _sign_in(site, "rita", "rita-second-pass") == 200

    page.wait_for_selector("#pp-teams li[data-team='labelers']")
    page.click("#pp-teams li[data-team='labelers'] .pp-leave")
    _ok(page, "rita left labelers.")
    assert site.api("admin", "GET", "/api/users/rita").json()["teams"] == []
    page.select_option("#pp-team", "labelers")
    page.click("#pp-add-team")
    _ok(page, "rita joined labelers.")
    assert site.api("admin", "GET", "/api/users/rita").json()["teams"] == ["labelers"]

    # A token: shown once, listed by its first characters, works, then revoked.
    page.fill("#t-name", "rita-laptop")
    page.click("#t-create")
    secret = page.locator("#t-secret").inner_text()
    page.wait_for_selector("#t-list tr[data-token='rita-laptop']")
    prefix = page.locator("#t-list tr[data-token='rita-laptop'] code").inner_text().rstrip("…")
    assert secret.startswith(prefix)
    me = httpx.get(site.base + "/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["name"] == "rita"
    if SHOTS:
        page.evaluate("document.getElementById('toasts')?.remove()")
        page.screenshot(path=str(DOCS / "console-people.png"), full_page=True)
    page.click("#t-list tr[data-token='rita-laptop'] .t-revoke")
    _ok(page, "The token rita-laptop was revoked.")
    assert page.locator("#t-list tr[data-token='rita-laptop']").count() == 0
    me = httpx.get(site.base + "/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 401

    page.click("#pp-active")
    _ok(page, "rita can no longer sign in")
    assert page.locator("#people tr[data-user='rita']").get_attribute("data-active") == "false"
    assert _sign_in(site, "rita", "rita-second-pass") == 401
    page.click("#pp-active")
    _ok(page, "rita can sign in again.")
    assert _sign_in(site, "rita", "rita-second-pass") == 200


def test_a_requester_sees_people_but_changes_nothing(pages: Pages, site: Site) -> None:
    if site.api("admin", "GET", "/api/users/reqa").status_code == 404:
        made = site.api(
            "admin",
            "POST",
            "/api/users",
            json={"name": "reqa", "role": "requester", "password": "reqa-pass"},
        )
        assert made.status_code == 201, made.text
    page = pages.open("reqa", "/console/people?user=worker1")
    page.wait_for_selector("#person[data-user='worker1']")
    assert page.locator("#add-person").count() == 0
    assert page.locator("#pp-role").count() == 0 and page.locator("#t-create").count() == 0
    assert page.locator("#people tr[data-user='admin']").count() == 1
    # The tokens of someone else are the server's to refuse, in words.
    refused = page.locator("#t-refused").inner_text()
    assert refused == "only an admin can see or revoke another user's tokens"


def test_a_requester_makes_and_revokes_their_own_token(pages: Pages, site: Site) -> None:
    if site.api("admin", "GET", "/api/users/reqb").status_code == 404:
        made = site.api(
            "admin",
            "POST",
            "/api/users",
            json={"name": "reqb", "role": "requester", "password": "reqb-pass"},
        )
        assert made.status_code == 201, made.text
    page = pages.open("reqb", "/console/people?user=reqb")
    page.wait_for_selector("#person[data-user='reqb']")
    assert page.locator("#pp-role").count() == 0
    page.fill("#t-name", "reqb-script")
    page.fill("#t-days", "30")
    page.click("#t-create")
    secret = page.locator("#t-secret").inner_text()
    row = page.locator("#t-list tr[data-token='reqb-script']")
    row.wait_for()
    assert "never" not in row.inner_text()  # it expires in 30 days
    me = httpx.get(site.base + "/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["name"] == "reqb"
    row.locator(".t-revoke").click()
    _ok(page, "The token reqb-script was revoked.")
    me = httpx.get(site.base + "/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 401
