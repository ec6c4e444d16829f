"""The Debian base image, made locally with debootstrap because there is no registry to pull from.

Every Debian package the images need is installed here, on the host, through the host's own
mirror: inside a container apt over HTTPS fails certificate checks and the builds run with no
network at all, so the Dockerfiles never call apt.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

SUITE = "bookworm"
DEFAULT_BASE_TAG = "truongso/base:bookworm"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
# Debian packages of both images. python3-venv brings ensurepip's pip; locales for vi_VN.UTF-8;
# fonts with Vietnamese diacritics for plots; tini reaps the kernel's and terminals' children.
PACKAGES = (
    "python3",
    "python3-venv",
    "ca-certificates",
    "locales",
    "fonts-dejavu-core",
    "fonts-noto-core",
    "tini",
)
# What the base was made from; a base of ours with another recipe is stale and is remade.
RECIPE_LABEL = "org.truongso.base-recipe"
# Trimmed before import: docs, manuals, other languages' messages and apt's caches.
_TRIM = (
    "usr/share/doc/*/[!c]*",  # keep copyright files
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/[!v]*/",  # message catalogues (directories) of languages other than vi
    "var/cache/apt/*.bin",
    "var/cache/apt/archives/*.deb",
    "var/lib/apt/lists/*_*",
    "var/log/*.log",
    "var/log/apt/*",
    "dev/*",
)
# Image config set on import (a tarball carries none).
_CHANGES = ("ENV LANG=C.UTF-8", 'CMD ["/bin/bash"]')


class BaseImageError(Exception):
    """A problem making the base image, with a message fit for one line."""


def recipe_digest(packages: tuple[str, ...] = PACKAGES) -> str:
    recipe = f"{SUITE}\n{' '.join(sorted(packages))}\n{' '.join(_TRIM)}\nimport: {' '.join(_CHANGES)}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def host_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror the host's apt uses (one-line or deb822 sources), else deb.debian.org."""
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    files += sorted((apt_dir / "sources.list.d").glob("*.sources"))
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for uri, suites in _sources(text, deb822=path.suffix == ".sources"):
            if SUITE in suites and re.match(r"^(https?|file)://", uri) and "security" not in uri:
                return uri.rstrip("/")
    return FALLBACK_MIRROR


def _sources(text: str, *, deb822: bool) -> list[tuple[str, list[str]]]:
    found = []
    if deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.split()
            if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"]) != ["no"]:
                found += [(uri, fields.get("suites", [])) for uri in fields.get("uris", [])]
    else:
        for line in text.splitlines():
            parts = re.sub(r"\[[^\]]*\]", "", line.split("#", 1)[0]).split()
            if len(parts) >= 3 and parts[0] == "deb":
                found.append((parts[1], [parts[2]]))
    return found


def debootstrap_command(root: Path, mirror: str, debs: Path) -> list[str]:
    return [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        f"--cache-dir={debs}",  # .debs kept for the next base build
        SUITE,
        str(root),
        mirror,
    ]


def create_base_image(
    client: docker.DockerClient,
    tag: str,
    work_dir: Path,
    *,
    mirror: str | None = None,
    progress: Callable[[str], None] = print,
) -> str:
    """debootstrap a minimal bookworm with PACKAGES, import it as `tag`; return the image id."""
    if shutil.which("debootstrap") is None:
        raise BaseImageError("debootstrap is not installed (apt-get install debootstrap), or pass --base IMAGE")
    if os.geteuid() != 0:
        raise BaseImageError("debootstrap needs root to build the base image; run as root or pass --base")
    mirror = mirror or host_mirror()
    debs = work_dir / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="base-", dir=work_dir))
    root = tmp / "root"
    try:
        progress(f"base: debootstrap {SUITE} from {mirror} (about a minute)")
        _run(debootstrap_command(root, mirror, debs), "debootstrap")
        _trim(root)
        tarball = tmp / "rootfs.tar"
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(tarball), "."], "tar")
        progress(f"base: importing {tarball.stat().st_size >> 20} MB as {tag}")
        repo, tagname = split_tag(tag)
        changes = [*_CHANGES, f"LABEL {RECIPE_LABEL}={recipe_digest()}"]
        try:
            client.api.import_image(src=str(tarball), repository=repo, tag=tagname, changes=changes)
        except docker.errors.APIError as exc:
            raise BaseImageError(f"docker import of the base image failed: {exc.explanation or exc}") from exc
        return client.images.get(tag).id
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise BaseImageError(f"disk full while building the base image in {work_dir}") from exc
        raise BaseImageError(f"base image: {exc}") from exc
    finally:
        _cleanup(tmp)


def split_tag(ref: str) -> tuple[str, str]:
    """'repo/name:tag' -> ('repo/name', 'tag'); a missing tag is 'latest' (registry ports allowed)."""
    head, _, last = ref.rpartition("/")
    if ":" in last:
        name, _, tag = last.partition(":")
        return (f"{head}/{name}" if head else name), tag
    return ref, "latest"


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        out = (proc.stderr + proc.stdout).strip().splitlines()
        last = next((ln for ln in reversed(out) if ln.startswith("E:")), out[-1] if out else "")
        if "No space left on device" in proc.stderr + proc.stdout:
            raise BaseImageError(f"disk full during {what}")
        raise BaseImageError(f"{what} failed (exit {proc.returncode}): {last.strip()}")


def _trim(root: Path) -> None:
    for pattern in _TRIM:
        dirs_only = pattern.endswith("/")
        for path in root.glob(pattern.rstrip("/")):
            if dirs_only and not path.is_dir():
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _cleanup(tmp: Path) -> None:
    # debootstrap mounts proc/sys inside the target; never recurse into a live mount.
    for sub in ("root/proc", "root/sys", "root/dev/pts"):
        if os.path.ismount(tmp / sub):
            subprocess.run(["umount", "-l", str(tmp / sub)], check=False)
    shutil.rmtree(tmp, ignore_errors=True)
