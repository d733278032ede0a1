"""The sign-in page's "Sign in with <provider>" button, in a browser, against a real OIDC
provider (tests/workforce/oidc_provider.py) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from truthset.master_key import master_key
from truthset.workforce import oidc, oidc_config
from web.conftest import TEAM
from web.ui_support import Pages, Site
from workforce.oidc_provider import TestProvider


@pytest.fixture
def corp(site: Site) -> Iterator[TestProvider]:
    oidc.forget_discovery()
    provider = TestProvider().start()
    provider.register_client("truthset", "secret-1", f"{site.base}/api/auth/oidc/corp/callback")
    provider.person = {"sub": "p-7", "preferred_username": "sso.person", "groups": ["crew"]}
    settings = oidc_config.ProviderSettings(
        issuer=provider.url,
        client_id="truthset",
        client_secret="secret-1",
        display_name="Corp SSO",
        group_map={"crew": {"teams": [TEAM]}},
    )
    with site.ws.db.session_scope() as s:
        oidc_config.put_provider(
            s, "corp", settings, master_key=master_key(site.ws.settings.data_dir)
        )
    yield provider
    with site.ws.db.session_scope() as s:
        oidc_config.delete_provider(s, "corp")  # the site is shared with other tests
    provider.stop()
    oidc.forget_discovery()


def test_a_refused_sign_in_shows_why_on_the_sign_in_page(pages: Pages, site: Site, corp) -> None:
    corp.tamper = "payload"
    page = pages.open(None, "/login")
    page.get_by_role("link", name="Sign in with Corp SSO").click()
    page.wait_for_url(f"{site.base}/login")
    error = page.locator("#login-error")
    error.wait_for()
    assert error.inner_text() == (
        "Signing in through your provider was refused: the ID token's signature does not "
        "verify against provider 'corp''s keys: it was altered or signed by someone else"
    )
    # Shown once: the page took the reason and cleared it.
    page.reload()
    page.get_by_role("link", name="Sign in with Corp SSO").wait_for()
    assert page.locator("#login-error").inner_text() == ""


def test_the_provider_button_signs_in_and_lands_on_next(pages: Pages, site: Site, corp) -> None:
    page = pages.open(None, "/login?next=/api/me")
    button = page.get_by_role("link", name="Sign in with Corp SSO")
    button.wait_for()
    # Password sign-in stays on the page beside it.
    assert page.locator("#password").is_visible()
    button.click()
    page.wait_for_url(f"{site.base}/api/me")
    me = page.evaluate("() => JSON.parse(document.body.innerText)")
    assert (me["name"], me["role"], me["teams"]) == ("sso.person", "worker", [TEAM])
