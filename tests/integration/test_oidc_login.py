"""Ministry sign-in through OpenID Connect against a real provider (panva's oidc-provider, the OpenID-certified
Node library, started by the test: tests/support/oidc/): a ministry account signs in with the provider's password
and lands in its class (classes come from our directory), matched by username or by e-mail; a ministry account
that is not one of the school's people is refused with a clear message; a wrong password and an account the
ministry locked never get back to the hub; with local passwords off, only the admin's works; the provider going
down is said on the login page, and sign-in works again once it is back."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

import pytest
from support.hub import ADMIN_PASSWORD, Hub, HubSession, free_port, running_demo_hub
from support.oidc_provider import OidcProvider, login_form, start_oidc_provider

from hub.directory.db import Directory
from hub.directory.models import Person
from hub.settings import HubSettings

ACCOUNTS = [  # the ministry's accounts, at its provider
    {"sub": "bnv-1", "preferred_username": "hocvien1", "email": "an@bonoivu.gov.vn", "password": "Bo-mat-khau-1"},
    # the instructor's ministry username is not the school's: matched by e-mail
    {"sub": "bnv-2", "preferred_username": "tran.gv", "email": "gv.tran@bonoivu.gov.vn", "password": "Bo-mat-khau-2"},
    {"sub": "bnv-3", "preferred_username": "khach", "email": "khach@bonoivu.gov.vn", "password": "Bo-mat-khau-3"},
    {
        "sub": "bnv-4",
        "preferred_username": "hocvien2",
        "email": "b@bonoivu.gov.vn",
        "password": "Bo-mat-khau-4",
        "disabled": True,
    },
]


@pytest.fixture(scope="module")
def oidc_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, OidcProvider]]:
    folder = tmp_path_factory.mktemp("oidc")
    port = free_port()
    provider = start_oidc_provider(folder / "provider", f"http://127.0.0.1:{port}/hub/oauth_callback", ACCOUNTS)
    try:
        secret = folder / "oidc-client-secret"
        secret.write_text(provider.client_secret + "\n", encoding="utf-8")
        secret.chmod(0o600)
        toml = (
            f'[accounts]\noidc_issuer = "{provider.issuer}"\noidc_client_id = "{provider.client_id}"\n'
            f'oidc_client_secret_file = "{secret}"\nlocal_passwords = false\n'
        )
        with running_demo_hub(folder / "data", toml=toml, port=port) as hub:
            directory = Directory(HubSettings.load(hub.data_dir, {}).db_url)
            with directory.session() as db:
                db.get(Person, "giangvien").email = "gv.tran@bonoivu.gov.vn"
            directory.dispose()
            yield hub, provider
    finally:
        provider.stop()


def sign_in(hub: Hub, login: str, password: str) -> tuple[HubSession, object]:
    """The login page's ministry button, the provider's form, and every redirect back: the last answer."""
    session = HubSession(hub.url)
    page = session.http.get(f"{hub.url}/hub/login", timeout=30)
    assert 'id="oidc_login"' in page.text and "tài khoản bộ/ngành" in page.text
    provider_page = session.http.get(f"{hub.url}/hub/oauth_login?next=/hub/home", timeout=30)
    if "/hub/login" in provider_page.url:  # the hub could not reach the provider
        return session, provider_page
    form = login_form(provider_page.text)
    answer = session.http.post(urljoin(provider_page.url, form.action), data={"login": login, "password": password},
                               timeout=60)  # fmt: skip
    return session, answer


def whoami(hub: Hub, session: HubSession) -> dict | None:
    response = session.api("GET", "/user")
    return response.json() if response.status_code == 200 else None


def test_a_ministry_account_signs_in_and_lands_in_its_class(oidc_hub: tuple[Hub, OidcProvider]) -> None:
    hub, _ = oidc_hub
    session, answer = sign_in(hub, "hocvien1", "Bo-mat-khau-1")
    assert answer.status_code == 200 and answer.url == f"{hub.url}/hub/home", answer.url
    me = whoami(hub, session)
    assert me["name"] == "hocvien1" and "DEMO" in me["groups"]  # the class from our directory


def test_matched_by_email_when_the_ministry_username_differs(oidc_hub: tuple[Hub, OidcProvider]) -> None:
    hub, _ = oidc_hub
    session, answer = sign_in(hub, "tran.gv", "Bo-mat-khau-2")
    assert answer.status_code == 200, answer.text[:500]
    me = whoami(hub, session)
    assert me["name"] == "giangvien" and any(role.startswith("instructor") for role in me["roles"]), me


def test_refusals_are_clear_and_local_passwords_are_off(oidc_hub: tuple[Hub, OidcProvider]) -> None:
    hub, _ = oidc_hub
    session, answer = sign_in(hub, "khach", "Bo-mat-khau-3")  # the ministry knows them, the school does not
    assert answer.status_code == 403 and "chưa có trong danh sách" in answer.text and whoami(hub, session) is None
    session, answer = sign_in(hub, "hocvien1", "not-the-password")  # the provider says no: never back at the hub
    assert "Sai mật khẩu" in answer.text and whoami(hub, session) is None
    session, answer = sign_in(hub, "hocvien2", "Bo-mat-khau-4")  # locked by the ministry
    assert "bị khoá" in answer.text and whoami(hub, session) is None
    local = HubSession(hub.url)
    assert local.login("hocvien3", hub.accounts["hocvien3"]).status_code == 403  # local passwords off
    assert local.login("admin", ADMIN_PASSWORD).status_code == 200 and whoami(hub, local)["name"] == "admin"


def test_the_login_page_says_when_the_provider_is_down(oidc_hub: tuple[Hub, OidcProvider]) -> None:
    hub, provider = oidc_hub
    provider.stop()
    try:
        _, answer = sign_in(hub, "hocvien1", "Bo-mat-khau-1")
        assert "/hub/login" in answer.url and "(OIDC)" in answer.text and "cannot be reached" in answer.text
        assert HubSession(hub.url).login("admin", ADMIN_PASSWORD).status_code == 200  # the school is not locked out
    finally:
        provider.start()
    session, answer = sign_in(hub, "hocvien1", "Bo-mat-khau-1")  # back: signing in works again
    assert whoami(hub, session)["name"] == "hocvien1"
