"""Ministry sign-in through OIDC, the school's side: a provider's person becomes the school's person with the same
username, else the one with the same e-mail; nobody else, never the school's admin, never a deactivated person;
with OIDC on and local passwords off, only the admin's local password works; bad settings are refused by name.
(The whole sign-in against a real OpenID provider: tests/integration/test_oidc_login.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.aio import run_coroutine
from traitlets import TraitError

from hub.auth.authenticator import TruongSoAuthenticator
from hub.directory.accounts import ADMIN_USERNAME, hash_password, set_password
from hub.directory.db import Directory
from hub.directory.models import Person
from hub.settings import HubSettings

PASSWORD = "Mat-khau-rieng-2026"


@pytest.fixture
def directory_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'truongso.sqlite'}"
    directory = Directory(url)
    directory.ensure_schema()
    with directory.session() as s:
        s.add(Person(username="hocvien1", full_name="Nguyễn Văn An", email="an.nguyen@bo.gov.vn"))
        s.add(Person(username="hocvien2", full_name="Trần Thị Bình", email="binh@bo.gov.vn", active=False))
        s.add(Person(username=ADMIN_USERNAME, full_name="Quản trị", email="admin@bo.gov.vn", is_admin=True))
        for name in ("hocvien1", "hocvien2", ADMIN_USERNAME):
            set_password(s, name, hash_password(PASSWORD, 4))
    directory.dispose()
    return url


def school(url: str, **settings: object) -> TruongSoAuthenticator:
    return TruongSoAuthenticator(directory_url=url, oidc_issuer="https://sso.bo.gov.vn/realms/bo",
                                 oidc_client_id="truongso", oidc_client_secret="s", **settings)  # fmt: skip


def person(auth: TruongSoAuthenticator, name: str, email: str | None) -> str | None:
    model = run_coroutine(auth.model_for_ministry_account(name, email))
    return model["name"] if model else None


def test_matched_by_username_then_by_email(directory_url: str) -> None:
    auth = school(directory_url)
    assert person(auth, "hocvien1", "someone-else@bo.gov.vn") == "hocvien1"  # the username first
    assert person(auth, "HocVien1", None) == "hocvien1"  # usernames compared as the directory keeps them
    assert person(auth, "an.nguyen", "an.nguyen@bo.gov.vn") == "hocvien1"  # a ministry username of its own
    assert person(auth, "an.nguyen", "AN.NGUYEN@bo.gov.vn") == "hocvien1"
    assert person(auth, "khach", "khach@example.org") is None  # not one of the school's people
    assert person(auth, "khach", None) is None
    assert person(auth, "", "") is None


def test_never_the_admin_nor_a_deactivated_person(directory_url: str) -> None:
    auth = school(directory_url)
    assert person(auth, ADMIN_USERNAME, None) is None  # a ministry account named "admin" is not the school's admin
    assert person(auth, "quantri", "admin@bo.gov.vn") is None
    assert person(auth, "hocvien2", None) is None  # deactivated by the school
    assert person(auth, "binh", "binh@bo.gov.vn") is None


def login(auth: TruongSoAuthenticator, username: str, password: str) -> dict | None:
    return run_coroutine(auth.authenticate(None, {"username": username, "password": password}))


def test_local_passwords_off_leaves_only_the_admin(directory_url: str) -> None:
    assert login(school(directory_url), "hocvien1", PASSWORD) is not None  # local passwords on: both ways work
    closed = school(directory_url, local_passwords=False)
    assert login(closed, "hocvien1", PASSWORD) is None
    assert login(closed, ADMIN_USERNAME, PASSWORD) is not None  # the school is never locked out
    assert login(TruongSoAuthenticator(directory_url=directory_url, local_passwords=False), "hocvien1", PASSWORD)


def test_the_oidc_pages_exist_only_with_an_issuer(directory_url: str) -> None:
    with_oidc = [path for path, _ in school(directory_url).get_handlers(None)]
    without = [path for path, _ in TruongSoAuthenticator(directory_url=directory_url).get_handlers(None)]
    assert {"/oauth_login", "/oauth_callback"} <= set(with_oidc)
    assert not {"/oauth_login", "/oauth_callback"} & set(without)
    inner = school(directory_url).oidc
    assert inner.client_id == "truongso" and inner.username_claim == "preferred_username"
    assert inner.manage_groups and inner.manage_roles  # classes and roles synced as at a password login


@pytest.mark.parametrize("issuer", ["sso.bo.gov.vn", "ftp://sso.bo.gov.vn", "https://", "javascript:alert(1)"])
def test_a_bad_issuer_is_refused_by_name(tmp_path: Path, issuer: str) -> None:
    with pytest.raises(TraitError, match="oidc_issuer"):
        HubSettings(oidc_issuer=issuer)


def test_an_unreadable_secret_file_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(TraitError, match="oidc_client_secret_file"):
        HubSettings(oidc_client_secret_file=str(tmp_path / "khong-co"))
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    assert HubSettings(oidc_client_secret_file=str(secret), oidc_issuer="https://sso.bo.gov.vn/").oidc_issuer == (
        "https://sso.bo.gov.vn"
    )


def test_a_discovery_document_for_another_issuer_is_refused(directory_url: str) -> None:
    """OpenID Connect Discovery §4.3: a document naming another issuer (a misdirected or spoofed one) is not used,
    and a provider that does not answer is said as such."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from hub.auth.oidc import ProviderUnreachable

    class Discovery(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            endpoints = {f"{name}_endpoint": f"https://x/{name}" for name in ("authorization", "token", "userinfo")}
            body = json.dumps({"issuer": "https://sso.khac.example", **endpoints}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Discovery)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        auth = TruongSoAuthenticator(directory_url=directory_url, oidc_issuer=f"http://127.0.0.1:{server.server_port}")
        with pytest.raises(ProviderUnreachable, match="names issuer"):
            run_coroutine(auth.oidc.discover())
        assert not auth.oidc.authorize_url  # nothing taken from it
    finally:
        server.shutdown()
        server.server_close()
    gone = TruongSoAuthenticator(directory_url=directory_url, oidc_issuer=f"http://127.0.0.1:{server.server_port}")
    with pytest.raises(ProviderUnreachable):
        run_coroutine(gone.oidc.discover())
