"""HTTPS from the school's own certificate (closed networks have no ACME) and ministry sign-in: checked before the
hub starts."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from graders.text import UserError
from hub.settings import HubSettings


def ensure_tls_files(settings: HubSettings) -> None:
    """ssl_cert and ssl_key both or neither, each a readable PEM, the key the certificate's; a clear line otherwise
    (the proxy would otherwise die at start with a Node.js stack trace)."""
    if not settings.ssl_cert and not settings.ssl_key:
        if settings.http_redirect_port:
            raise UserError(
                "http_redirect_port cần HTTPS (ssl_cert, ssl_key)", "http_redirect_port needs HTTPS (ssl_cert, ssl_key)"
            )
        return
    if not (settings.ssl_cert and settings.ssl_key):
        raise UserError("cần cả ssl_cert và ssl_key", "ssl_cert and ssl_key go together: set both")
    try:
        certificate = x509.load_pem_x509_certificate(Path(settings.ssl_cert).read_bytes())
    except (OSError, ValueError) as exc:
        raise UserError(
            f"ssl_cert {settings.ssl_cert} không phải chứng thư PEM ({exc})",
            f"ssl_cert {settings.ssl_cert} is not a PEM certificate ({exc})",
        ) from None
    try:
        key = serialization.load_pem_private_key(Path(settings.ssl_key).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(
            f"ssl_key {settings.ssl_key} không phải khoá riêng PEM không mật khẩu ({exc})",
            f"ssl_key {settings.ssl_key} is not an unencrypted PEM private key ({exc})",
        ) from None
    raw = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, raw) != certificate.public_key().public_bytes(
        serialization.Encoding.DER, raw
    ):
        raise UserError(
            "ssl_key không khớp với ssl_cert", "ssl_key is not the key of ssl_cert: they do not belong together"
        )
    if settings.http_redirect_port == settings.port:
        raise UserError("http_redirect_port trùng port", "http_redirect_port must differ from port")


def ensure_sign_in(settings: HubSettings) -> None:
    """Ministry sign-in needs to know how to bind: said before the hub starts, not at the first login."""
    if settings.ldap_url and not settings.ldap_bind_dn_template:
        raise UserError(
            'ldap_url cần ldap_bind_dn_template, vd. ["uid={username},ou=people,dc=bo,dc=gov,dc=vn"]',
            'ldap_url needs ldap_bind_dn_template, e.g. ["uid={username},ou=people,dc=bo,dc=gov,dc=vn"]',
        )
