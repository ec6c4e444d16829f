"""HTTPS with the school's own certificate (here one from a CA the test makes): login, the portal, the
exchange and certificate verification over TLS checked against that certificate, HSTS on every page, secure
cookies, plain HTTP on the redirect port sent to HTTPS; a bad certificate or key stops `truongso up` in one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.hub import ADMIN_PASSWORD, Hub, HubSession, free_port, start_hub, truongso


def school_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A certificate for 127.0.0.1 from a CA of the test's own, as a school's CA would issue one: (the server's
    certificate, its key, the CA's certificate browsers are given). The cluster registry's maker, reused."""
    from hub.cluster.registry import ensure_tls

    tls = ensure_tls(folder, "127.0.0.1")
    return tls.cert, tls.key, tls.ca_cert


@pytest.fixture(scope="module")
def tls_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Path, int]]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key, ca = school_certificate(folder / "ca")
    data_dir = folder / "data"
    data_dir.mkdir()
    redirect = free_port()
    (data_dir / "truongso.toml").write_text(
        f'[server]\nssl_cert = "{cert}"\nssl_key = "{key}"\nhttp_redirect_port = {redirect}\n', encoding="utf-8"
    )
    hub = start_hub(
        data_dir, "--demo", "--spawner", "local", env={"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD}, scheme="https"
    )
    try:
        yield hub, ca, redirect
    finally:
        hub.stop()


def test_login_portal_exchange_and_verification_over_tls(tls_hub: tuple[Hub, Path, int]) -> None:
    hub, ca, _ = tls_hub  # what the school gives browsers to trust
    with pytest.raises(requests.exceptions.SSLError):  # not trusted without the school's certificate
        requests.get(f"{hub.url}/hub/login", timeout=30)
    instructor = HubSession(hub.url)
    instructor.http.verify = str(ca)
    instructor.http.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment wins over .verify
    assert instructor.login("giangvien", hub.accounts["giangvien"]).ok and instructor.username == "giangvien"
    hub_cookies = [c for c in instructor.http.cookies if c.name.startswith("jupyterhub")]
    assert hub_cookies and all(c.secure for c in hub_cookies), [(c.name, c.secure) for c in hub_cookies]
    portal = instructor.http.get(f"{hub.url}/services/portal/", timeout=30)
    assert portal.status_code == 200 and "Trường Số" in portal.text
    assert portal.url.startswith("https://")
    assert portal.headers["Strict-Transport-Security"].startswith("max-age=")
    login_page = requests.get(f"{hub.url}/hub/login", timeout=30, verify=str(ca))
    assert login_page.headers["Strict-Transport-Security"].startswith("max-age=")
    verify = requests.get(f"{hub.url}/services/certificates/verify", timeout=30, verify=str(ca))
    assert verify.status_code in (200, 400, 404) and verify.headers["Strict-Transport-Security"]
    token = instructor.api("POST", "/users/giangvien/tokens", json={"note": "exchange over TLS"}).json()["token"]
    mine = {"Authorization": f"token {token}"}
    exchange = requests.get(f"{hub.url}/services/exchange/releases", headers=mine, timeout=30, verify=str(ca))
    assert exchange.status_code < 500 and exchange.headers["Strict-Transport-Security"]
    settings = hub.settings()
    assert settings["public_url"].startswith("https://")  # the certificates' QR codes point at HTTPS


def test_plain_http_is_redirected_to_https(tls_hub: tuple[Hub, Path, int]) -> None:
    hub, _, redirect = tls_hub
    plain = f"http://127.0.0.1:{redirect}/hub/login?next=%2Fhub%2Fhome"
    answer = requests.get(plain, timeout=30, allow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["Location"].startswith(f"https://127.0.0.1:{hub.port}/hub/login")


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ('ssl_cert = "{cert}"\n', "ssl_cert and ssl_key go together"),
        ('ssl_cert = "{other}"\nssl_key = "{key}"\n', "is not the key of ssl_cert"),
        ('ssl_cert = "{key}"\nssl_key = "{key}"\n', "is not a PEM certificate"),
        ('ssl_cert = "{cert}"\nssl_key = "{folder}/nowhere.key"\n', "cannot read"),
        ("http_redirect_port = 8080\n", "http_redirect_port needs HTTPS"),
    ],
    ids=["cert-without-key", "key-of-another", "key-as-cert", "missing-key", "redirect-without-tls"],
)
def test_bad_tls_settings_stop_up_in_one_line(tmp_path: Path, settings: str, said: str) -> None:
    cert, key, _ = school_certificate(tmp_path / "one")
    other, _, _ = school_certificate(tmp_path / "other")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    text = settings.format(cert=cert, key=key, other=other, folder=tmp_path)
    (data_dir / "truongso.toml").write_text(f"[server]\n{text}", encoding="utf-8")
    result = truongso("up", "--data-dir", str(data_dir), "--port", str(free_port()), "--spawner", "local")
    assert result.returncode != 0 and said in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
