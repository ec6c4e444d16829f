"""Regenerate the hashed requirement locks of the images: `python -m images.lock [--only NAME]`.

Each image's `requirements.in` names its top-level packages. Every package of the dependency
closure is pinned to the version installed in the host venv running this script (the one built
from constraints.txt), so the learner, the hub and the grader compute the same thing; packages
the host lacks, or whose host release cannot run on Debian 12's Python 3.11.2, are pinned in
`requirements.in` or `images/pins.txt`. The closure is walked over the *downloaded wheels'*
metadata with markers evaluated for the image's interpreter, and the sha256 of each wheel goes
into `requirements.txt`. The wheels land in the build cache, so a build right after is offline.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from images.wheels import (
    TARGET_PYTHON,
    WheelCache,
    WheelError,
    default_cache_dir,
    run_pip,
    sha256_file,
    wheel_key,
)

IMAGES_DIR = Path(__file__).resolve().parent
IMAGE_NAMES = ("workspace", "grader")

# Marker environment of the image's interpreter (Debian 12, x86_64).
TARGET_ENV = {
    "python_version": TARGET_PYTHON.rsplit(".", 1)[0],
    "python_full_version": TARGET_PYTHON,
    "implementation_name": "cpython",
    "implementation_version": TARGET_PYTHON,
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "sys_platform": "linux",
    "os_name": "posix",
}


def read_in(path: Path) -> tuple[list[Requirement], dict[str, tuple[str, str]]]:
    """Top-level requirements and {key: (version, comment)} pins from a requirements.in/pins file."""
    reqs, pins = [], {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line, _, comment = raw.partition("#")
        if not line.strip():
            continue
        req = Requirement(line.strip())
        reqs.append(req)
        spec = list(req.specifier)
        if len(spec) == 1 and spec[0].operator == "==":
            pins[canonicalize_name(req.name)] = (spec[0].version, comment.strip())
    return reqs, pins


def host_versions() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in md.distributions()}


def _requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        msg = Parser().parsestr(zf.read(meta).decode("utf-8"))
    return [Requirement(r) for r in msg.get_all("Requires-Dist") or []]


def _wanted(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**TARGET_ENV, "extra": e}) for e in ({""} | extras))


def resolve(reqs: list[Requirement], pins: dict[str, tuple[str, str]], cache: WheelCache) -> dict[str, Path]:
    """Walk the closure of `reqs`; return {key: wheel path}, downloading wheels as needed."""
    host = host_versions()
    cache.dir.mkdir(parents=True, exist_ok=True)
    versions: dict[str, str] = {}
    extras: dict[str, set[str]] = {}
    wheels: dict[str, Path] = {}
    todo = [(canonicalize_name(r.name), set(r.extras), r) for r in reqs]
    while todo:
        # Pin this round's new names, download them in one pip call, then read their metadata.
        fresh = sorted({k for k, _, _ in todo if k not in versions})
        for key in fresh:
            version = pins[key][0] if key in pins else host.get(key)
            if version is None:
                raise WheelError(f"{key} is not installed in the host venv: pin it in requirements.in")
            versions[key] = version
        if fresh:
            by_key = {wheel_key(p): p for p in cache.dir.glob("*.whl")}
            need = [k for k in fresh if (k, versions[k]) not in by_key]
            if need:
                req_file = cache.dir / ".lock-requirements.txt"
                req_file.write_text("".join(f"{k}=={versions[k]}\n" for k in need))
                print(f"lock: downloading {len(need)} wheel(s)", file=sys.stderr)
                run_pip(["download", "--no-deps", "-d", str(cache.dir), "-r", str(req_file)])
                req_file.unlink()
                by_key = {wheel_key(p): p for p in cache.dir.glob("*.whl")}
            for k in fresh:
                wheels[k] = by_key[(k, versions[k])]
        batch, todo = todo, []
        for key, want_extras, req in batch:
            if req.specifier and not req.specifier.contains(versions[key], prereleases=True):
                raise WheelError(f"{req} is not satisfied by the pinned {key}=={versions[key]}")
            done = extras.get(key)
            if done is not None and want_extras <= done:
                continue
            extras[key] = (done or set()) | want_extras
            # Re-adding deps already walked is harmless: they are skipped above.
            todo += [
                (canonicalize_name(dep.name), set(dep.extras), dep)
                for dep in _requires(wheels[key])
                if _wanted(dep, extras[key])
            ]
    return wheels


def render_lock(name: str, cache: WheelCache) -> str:
    """The text of images/<name>/requirements.txt as the host venv and the pins make it now."""
    reqs, pins = read_in(IMAGES_DIR / name / "requirements.in")
    _shared_reqs, shared = read_in(IMAGES_DIR / "pins.txt")
    pins = {**shared, **pins}
    wheels = resolve(reqs, pins, cache)
    host = host_versions()
    lines = [
        f"# Lock of images/{name}/requirements.in for CPython {TARGET_PYTHON} on Debian 12 x86_64.",
        "# Generated by `python -m images.lock`; do not edit. Install with:",
        "#   pip install --no-index --find-links /wheels --require-hashes -r requirements.txt",
    ]
    for key in sorted(wheels):
        path = wheels[key]
        _k, version = wheel_key(path)
        note = ""
        if key in pins and pins[key][1]:  # the pin's reason, whatever the host has (locks are host-independent)
            note = f"  # {pins[key][1]}"
        elif key not in host:
            note = "  # not in the host venv"
        lines.append(f"{key}=={version} \\\n    --hash=sha256:{sha256_file(path)}{note}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m images.lock", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=IMAGE_NAMES, action="append", help="lock only this image")
    ap.add_argument("--cache-dir", type=Path, default=None, help="wheel cache (default: build/images)")
    ap.add_argument("--check", action="store_true", help="only report whether the locks are up to date")
    args = ap.parse_args(argv)
    cache = WheelCache((args.cache_dir or default_cache_dir()) / "wheels")
    stale = []
    try:
        for name in args.only or IMAGE_NAMES:
            out = IMAGES_DIR / name / "requirements.txt"
            text = render_lock(name, cache)
            count = text.count("--hash=")
            current = out.read_text(encoding="utf-8") if out.exists() else ""
            if args.check:
                stale += [] if text == current else [name]
                print(f"{out.relative_to(IMAGES_DIR.parent)}: {'up to date' if text == current else 'STALE'}")
            else:
                out.write_text(text, encoding="utf-8")
                print(f"{out.relative_to(IMAGES_DIR.parent)}: {count} packages")
    except WheelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
