"""The Debian packages `make run` installs, with every package they depend on, downloaded as .deb files.

apt resolves the closure as if nothing were installed (an empty dpkg status), so the bundle also serves a machine
that has less than this one. apt's own index and mirror are used: the machine making the bundle must be the same
release (Debian 12) and architecture as the school's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from graders.text import UserError

# scripts/ensure-system.sh's `run` list, plus make (the first command is `make run`) and iptables (the workspace
# firewall; docker.io depends on it anyway). Kept equal to the script by tests/unit/test_offline_bundle.py.
RUN_PACKAGES = (
    "python3-venv",
    "nodejs",
    "npm",
    "docker.io",
    "debootstrap",
    "fonts-dejavu-core",
    "fonts-noto-core",
    "make",
    "iptables",
)


def download_debs(target: Path, packages: tuple[str, ...] = RUN_PACKAGES) -> list[Path]:
    """Download `packages` and their whole dependency closure (no recommends) into `target`; the files."""
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise UserError(
            "cần apt-get (Debian 12) để tải các gói Debian cho gói cài đặt",
            "apt-get (Debian 12) is needed to download the bundle's Debian packages",
        )
    (target / "partial").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        empty_status = Path(scratch) / "status"
        empty_status.write_text("")
        command = [
            apt_get, "install", "--download-only", "--no-install-recommends", "--yes", "--quiet", "--quiet",
            f"-o=Dir::Cache::archives={target}",
            f"-o=Dir::State::status={empty_status}",  # as if nothing were installed: the whole closure
            "-o=Debug::NoLocking=1",  # reads only; never touches this machine's dpkg database
            *packages,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0 and os.geteuid() == 0:
            # apt's index may be missing or older than the mirror (superseded packages): refresh it once, retry
            subprocess.run([apt_get, "update", "--quiet", "--quiet"], capture_output=True, timeout=900)
            result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    shutil.rmtree(target / "partial", ignore_errors=True)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["?"])[-1]
        raise UserError(
            f"không tải được các gói Debian ({reason}); chạy `apt-get update` rồi thử lại",
            f"cannot download the Debian packages ({reason}); run `apt-get update` and try again",
        )
    debs = sorted(target.glob("*.deb"))
    missing = [p for p in packages if not any(d.name.startswith(f"{p}_") for d in debs)]
    if missing:
        raise UserError(
            f"apt không tải các gói {', '.join(missing)}",
            f"apt did not download {', '.join(missing)}",
        )
    return debs
