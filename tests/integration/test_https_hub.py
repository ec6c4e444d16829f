"""HTTPS with the school's own certificate (here a self-signed one made by the test): login, the portal, the
exchange and certificate verification over TLS checked against that certificate, HSTS on every page, secure
cookies, plain HTTP on the redirect port sent to HTTPS; a bad certificate or key stops `truongso up` in one line."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.hub import ADMIN_PASSWORD, Hub, HubSession, free_port, start_hub, truongso


def self_signed(folder: Path, name: str = "truongso") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert, pem_key = folder / f"{name}.crt", folder / f"{name}.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pem_key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem_key.chmod(0o600)
    return cert, pem_key


@pytest.fixture(scope="module")
def tls_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Path, int]]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(folder)
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
        yield hub, cert, redirect
    finally:
        hub.stop()


def test_login_portal_exchange_and_verification_over_tls(tls_hub: tuple[Hub, Path, int]) -> None:
    hub, cert, _ = tls_hub
    with pytest.raises(requests.exceptions.SSLError):  # not trusted without the school's certificate
        requests.get(f"{hub.url}/hub/login", timeout=30)
    instructor = HubSession(hub.url)
    instructor.http.verify = str(cert)
    instructor.http.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment wins over .verify
    assert instructor.login("giangvien", hub.accounts["giangvien"]).ok and instructor.username == "giangvien"
    hub_cookies = [c for c in instructor.http.cookies if c.name.startswith("jupyterhub")]
    assert hub_cookies and all(c.secure for c in hub_cookies), [(c.name, c.secure) for c in hub_cookies]
    portal = instructor.http.get(f"{hub.url}/services/portal/", timeout=30)
    assert portal.status_code == 200 and "Trường Số" in portal.text
    assert portal.url.startswith("https://")
    assert portal.headers["Strict-Transport-Security"].startswith("max-age=")
    login_page = requests.get(f"{hub.url}/hub/login", timeout=30, verify=str(cert))
    assert login_page.headers["Strict-Transport-Security"].startswith("max-age=")
    verify = requests.get(f"{hub.url}/services/certificates/verify", timeout=30, verify=str(cert))
    assert verify.status_code in (200, 400, 404) and verify.headers["Strict-Transport-Security"]
    token = instructor.api("POST", "/users/giangvien/tokens", json={"note": "exchange over TLS"}).json()["token"]
    mine = {"Authorization": f"token {token}"}
    exchange = requests.get(f"{hub.url}/services/exchange/releases", headers=mine, timeout=30, verify=str(cert))
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
    cert, key = self_signed(tmp_path)
    other, _ = self_signed(tmp_path, "other")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    text = settings.format(cert=cert, key=key, other=other, folder=tmp_path)
    (data_dir / "truongso.toml").write_text(f"[server]\n{text}", encoding="utf-8")
    result = truongso("up", "--data-dir", str(data_dir), "--port", str(free_port()), "--spawner", "local")
    assert result.returncode != 0 and said in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
