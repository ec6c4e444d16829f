"""Secrets the hub generates on first start and keeps in the data directory, readable by root only."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from graders.text import UserError


def ensure_secret_file(path: Path, nbytes: int = 32) -> str:
    """Return the hex secret in `path`, creating it (mode 0600) the first time; refuse a world-readable one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise UserError(
                f"tệp bí mật {path} có quyền {oct(mode)}: chỉ chủ sở hữu được đọc (chmod 600)",
                f"secret file {path} has mode {oct(mode)}: it must be readable by its owner only (chmod 600)",
            ) from None
        value = path.read_text(encoding="ascii").strip()
        if len(value) < 32:
            raise UserError(f"tệp bí mật {path} quá ngắn", f"secret file {path} is too short") from None
        return value
    value = secrets.token_hex(nbytes)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(value + "\n")
    return value


@dataclass(frozen=True)
class HubSecrets:
    cookie_secret_file: Path
    proxy_auth_token: str
    api_token: str  # token of the `truongso` admin service, used by the CLI to talk to a running hub
    metrics_token: str = ""  # token of the `prometheus` service: reads /hub/metrics and our services' metrics

    @classmethod
    def ensure(cls, data_dir: Path) -> HubSecrets:
        folder = data_dir / "secrets"
        cookie = folder / "jupyterhub_cookie_secret"
        ensure_secret_file(cookie)
        return cls(
            cookie_secret_file=cookie,
            proxy_auth_token=ensure_secret_file(folder / "proxy_auth_token"),
            api_token=ensure_secret_file(folder / "truongso_api_token"),
            metrics_token=ensure_secret_file(folder / "metrics_token"),
        )
