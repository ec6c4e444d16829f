"""The test OIDC provider (tests/support/oidc_provider.py) really is one: discovery, our login page, the
authorization-code flow with a client secret (basic and post), the id_token and userinfo claims, a locked account,
and stop/start on the same port. Plain requests, no browser: every redirect is followed by hand."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from support.oidc_provider import OidcProvider, login_form, start_oidc_provider

REDIRECT_URI = "http://127.0.0.1:9/hub/oauth_callback"  # nobody listens: the test reads the Location header
ACCOUNTS = [
    {
        "sub": "bnv-0001",
        "preferred_username": "nguyenvana",
        "email": "nguyenvana@bonoivu.gov.vn",
        "name": "Nguyễn Văn A",
        "password": "mật-khẩu-đúng",
    },
    {
        "sub": "bnv-0002",
        "preferred_username": "tranthib",
        "email": "tranthib@bonoivu.gov.vn",
        "name": "Trần Thị B",
        "password": "khoá-rồi",
        "disabled": True,
    },
]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    started = start_oidc_provider(tmp_path_factory.mktemp("oidc"), REDIRECT_URI, ACCOUNTS)
    try:
        yield started
    finally:
        started.stop()


def discovery(provider: OidcProvider) -> dict:
    response = requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5)
    response.raise_for_status()
    return response.json()


def open_login_page(provider: OidcProvider, session: requests.Session, state: str, **extra: str) -> str:
    """Authorization request → our login page; the URL the form posts to."""
    config = discovery(provider)
    response = session.get(
        config["authorization_endpoint"],
        params={
            "client_id": provider.client_id,
            "response_type": "code",
            "scope": "openid profile email",
            "redirect_uri": REDIRECT_URI,
            "state": state,
            **extra,
        },
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code in (302, 303), response.text
    page_url = urljoin(response.url, response.headers["Location"])
    assert page_url.startswith(provider.issuer + "/interaction/")
    page = session.get(page_url, allow_redirects=False, timeout=5)
    assert page.status_code == 200, page.text
    assert "secure" not in response.headers.get("Set-Cookie", "").lower(), "cookies must work over plain http"
    return urljoin(page_url, login_form(page.text).action)


def post_login(session: requests.Session, form_url: str, login: str, password: str) -> requests.Response:
    return session.post(form_url, data={"login": login, "password": password}, allow_redirects=False, timeout=5)


def follow_to_redirect_uri(provider: OidcProvider, session: requests.Session, response: requests.Response) -> str:
    """Follow the provider's own redirects; the first one leaving it (to the redirect_uri) is returned."""
    for _ in range(5):
        assert response.status_code in (302, 303), response.text
        location = urljoin(response.url, response.headers["Location"])
        if not location.startswith(provider.issuer + "/"):
            return location
        response = session.get(location, allow_redirects=False, timeout=5)
    raise AssertionError("too many redirects inside the provider")


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_discovery(provider: OidcProvider) -> None:
    config = discovery(provider)
    assert config["issuer"] == provider.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert config[endpoint].startswith(provider.issuer + "/"), endpoint
    assert {"openid", "profile", "email"} <= set(config["scopes_supported"])
    assert {"client_secret_basic", "client_secret_post"} <= set(config["token_endpoint_auth_methods_supported"])
    keys = requests.get(config["jwks_uri"], timeout=5).json()["keys"]
    assert keys and all("d" not in key for key in keys)  # public halves only


# Basic with PKCE is what oauthenticator 17 sends by default (basic_auth, enable_pkce); post without PKCE also works.
@pytest.mark.parametrize("auth", ["client_secret_basic", "client_secret_post"])
def test_code_flow(provider: OidcProvider, auth: str) -> None:
    session = requests.Session()
    state = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)
    pkce = {}
    if auth == "client_secret_basic":
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    form_url = open_login_page(provider, session, state, **pkce)

    wrong = post_login(session, form_url, "nguyenvana", "sai-mật-khẩu")
    assert wrong.status_code == 200
    assert "Sai mật khẩu" in wrong.text
    form_url = urljoin(wrong.url, login_form(wrong.text).action)

    right = post_login(session, form_url, "nguyenvana", "mật-khẩu-đúng")
    callback = follow_to_redirect_uri(provider, session, right)
    assert callback.split("?")[0] == REDIRECT_URI
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == [state]
    code = query["code"][0]

    config = discovery(provider)
    token_request = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if auth == "client_secret_basic":
        token_request["code_verifier"] = verifier
        tokens = requests.post(
            config["token_endpoint"],
            data=token_request,
            auth=(provider.client_id, provider.client_secret),
            timeout=5,
        )
    else:
        token_request |= {"client_id": provider.client_id, "client_secret": provider.client_secret}
        tokens = requests.post(config["token_endpoint"], data=token_request, timeout=5)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"].lower() == "bearer"
    id_token = jwt_claims(body["id_token"])
    assert id_token["iss"] == provider.issuer
    assert id_token["aud"] == provider.client_id
    assert id_token["sub"] == "bnv-0001"
    assert id_token["preferred_username"] == "nguyenvana"
    assert id_token["email"] == "nguyenvana@bonoivu.gov.vn"

    userinfo = requests.get(
        config["userinfo_endpoint"], headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=5
    )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json() == {
        "sub": "bnv-0001",
        "preferred_username": "nguyenvana",
        "email": "nguyenvana@bonoivu.gov.vn",
        "email_verified": True,
        "name": "Nguyễn Văn A",
    }

    # A code is good once; a wrong secret gets nothing.
    again = requests.post(
        config["token_endpoint"], data=token_request, auth=(provider.client_id, provider.client_secret), timeout=5
    )
    assert again.status_code == 400
    wrong_secret = requests.post(
        config["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(provider.client_id, "not-the-secret"),
        timeout=5,
    )
    assert wrong_secret.status_code == 401


def test_disabled_account_cannot_log_in(provider: OidcProvider) -> None:
    session = requests.Session()
    form_url = open_login_page(provider, session, "locked")
    response = post_login(session, form_url, "tranthib", "khoá-rồi")
    assert response.status_code == 200
    assert "Tài khoản bị khoá" in response.text
    login_form(response.text)  # the form again, no redirect anywhere
    assert "Location" not in response.headers


def test_unknown_redirect_uri_is_refused(provider: OidcProvider) -> None:
    response = requests.get(
        discovery(provider)["authorization_endpoint"],
        params={
            "client_id": provider.client_id,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": "http://127.0.0.1:9/somewhere-else",
            "state": "x",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 400
    assert "redirect_uri" in response.text


def test_stop_then_start_again(provider: OidcProvider) -> None:
    provider.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2)
    provider.start()
    assert discovery(provider)["issuer"] == provider.issuer
    session = requests.Session()  # and it signs people in again
    form_url = open_login_page(provider, session, "back")
    callback = follow_to_redirect_uri(provider, session, post_login(session, form_url, "nguyenvana", "mật-khẩu-đúng"))
    assert parse_qs(urlsplit(callback).query)["state"] == ["back"]
