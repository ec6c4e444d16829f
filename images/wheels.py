"""Hashed requirement locks and the host-side wheel cache.

Containers here cannot reach a package index (no registry, and HTTPS inside a container fails
certificate checks), so every wheel an image needs is downloaded on the host for the image's
interpreter (Debian 12: CPython 3.11.2, x86_64 glibc) and copied into the build context.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

# The interpreter inside the images (Debian bookworm's python3).
TARGET_PYTHON = "3.11.2"
PIP_TARGET_ARGS: tuple[str, ...] = (
    "--only-binary=:all:",
    "--python-version", TARGET_PYTHON,
    "--implementation", "cp",
    "--abi", "cp311",
    "--platform", "manylinux2014_x86_64",
    "--platform", "manylinux_2_17_x86_64",
    "--platform", "manylinux_2_28_x86_64",
    "--platform", "any",
)  # fmt: skip

_REQ_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def default_cache_dir() -> Path:
    """<repo>/build/images: gitignored, next to the sources, kept between runs."""
    return Path(__file__).resolve().parent.parent / "build" / "images"


class WheelError(Exception):
    """A lock or download problem, with a message fit for one line."""


@dataclass(frozen=True)
class Pin:
    """One locked requirement: name==version and the sha256 hashes it may have."""

    name: str
    version: str
    hashes: frozenset[str]

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)


def parse_lock(path: Path) -> list[Pin]:
    """Read a `pip --require-hashes` requirements file (backslash continuations allowed)."""
    return parse_lock_text(path.read_text(encoding="utf-8"), path)


def parse_lock_text(text: str, source: str | Path = "lock") -> list[Pin]:
    """The pins of a lock's text (`uv pip compile --generate-hashes`: every artefact's hash, `# via` lines)."""
    text = text.replace("\\\n", " ")
    pins = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        m = _REQ_LINE.match(line)
        hashes = frozenset(_HASH.findall(line))
        if not m or not hashes:
            raise WheelError(f"{source}: not a pinned, hashed requirement: {line[:80]}")
        pins.append(Pin(m.group(1), m.group(2), hashes))
    if not pins:
        raise WheelError(f"{source}: no requirements")
    return pins


def pin_line(pin: Pin) -> str:
    hashes = " ".join(f"--hash=sha256:{h}" for h in sorted(pin.hashes))
    return f"{pin.name}=={pin.version} {hashes}"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class WheelCache:
    """A directory of wheels indexed by sha256 (the index is remembered by size and mtime)."""

    INDEX = ".sha256.json"

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def _index(self) -> dict[str, str]:
        """Map sha256 -> file name for every wheel in the directory, hashing only new files."""
        self.dir.mkdir(parents=True, exist_ok=True)
        index_path = self.dir / self.INDEX
        try:
            old = json.loads(index_path.read_text())
        except (OSError, ValueError):
            old = {}
        new: dict[str, list] = {}
        for p in self.dir.glob("*.whl"):
            st = p.stat()
            stamp = [st.st_size, st.st_mtime_ns]
            entry = old.get(p.name)
            digest = entry[2] if entry and entry[:2] == stamp else sha256_file(p)
            new[p.name] = [*stamp, digest]
        if new != old:
            tmp = index_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(new, sort_keys=True))
            tmp.replace(index_path)
        return {v[2]: name for name, v in new.items()}

    def locate(self, pins: Iterable[Pin]) -> tuple[dict[str, Path], list[Pin]]:
        """Return ({pin key: wheel path} for cached pins, [pins still missing])."""
        by_hash = self._index()
        found: dict[str, Path] = {}
        missing: list[Pin] = []
        for pin in pins:
            name = next((by_hash[h] for h in pin.hashes if h in by_hash), None)
            if name is None:
                missing.append(pin)
            else:
                found[pin.key] = self.dir / name
        return found, missing

    def download(self, pins: list[Pin], progress: Callable[[str], None] = print) -> None:
        """`pip download` exactly these pins (hash-checked) for the image's interpreter."""
        self.dir.mkdir(parents=True, exist_ok=True)
        req = self.dir / ".download-requirements.txt"
        req.write_text("".join(pin_line(p) + "\n" for p in pins))
        progress(f"wheels: downloading {len(pins)} wheel(s) with pip")
        run_pip(["download", "--no-deps", "--require-hashes", "-d", str(self.dir), "-r", str(req)])
        req.unlink()


def run_pip(args: list[str]) -> str:
    """Run the host's pip (this interpreter's); raise WheelError with pip's last error line."""
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args, *PIP_TARGET_ARGS]
    env = dict(os.environ, PIP_NO_INPUT="1")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    except OSError as exc:
        raise WheelError(f"cannot run pip: {exc}") from exc
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR")] or lines[-1:] or ["(no output)"]
        if any("No space left on device" in ln for ln in lines):
            raise WheelError("disk full while downloading wheels (No space left on device)")
        raise WheelError(f"pip {args[0]} failed: {errors[-1]}")
    return proc.stdout


def place_wheels(wheels: Iterable[Path], dest: Path) -> None:
    """Put wheels into a build context: hard links when possible (same filesystem), else copies."""
    dest.mkdir(parents=True, exist_ok=True)
    for src in wheels:
        target = dest / src.name
        if target.exists():
            continue
        try:
            os.link(src, target)
        except OSError:
            shutil.copy2(src, target)
