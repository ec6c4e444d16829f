"""Regenerate the hashed requirement locks of the images: `python -m images.lock [--only NAME]`.

`uv pip compile` resolves each image's `requirements.in` for the image's interpreter (Debian 12:
CPython 3.11.2, x86_64 glibc, wheels only) under the host venv's exact versions (constraints.txt),
so the learner, the hub and the grader compute the same thing; `images/pins.txt` and `==` pins in
`requirements.in` replace the host's version of their package (Debian's 3.11.2 is too old for some
releases; some packages are not on the host). Every locked package must come out pinned by one of
those files, and `requirements.txt` lists the sha256 of each of its artefacts for
`pip install --require-hashes`. `python -m images.build` then downloads the wheels into its cache.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from images.wheels import TARGET_PYTHON, WheelError, parse_lock_text

IMAGES_DIR = Path(__file__).resolve().parent
REPO = IMAGES_DIR.parent
IMAGE_NAMES = ("workspace", "grader")
HOST_CONSTRAINTS = REPO / "constraints.txt"
SHARED_PINS = IMAGES_DIR / "pins.txt"

# The image's interpreter as uv names it; manylinux_2_28 is the newest tag wheels.PIP_TARGET_ARGS
# downloads (Debian 12's glibc 2.36 could take more, the build's `pip download` would not).
UV_TARGET_ARGS = (
    "--python-version", TARGET_PYTHON,
    "--python-platform", "x86_64-manylinux_2_28",
    "--only-binary", ":all:",  # an sdist-only package fails the lock: nothing is compiled in the images
)  # fmt: skip


def read_pins(path: Path) -> dict[str, str]:
    """{key: "name==version"} of the `==` pins in a requirements/constraints file (comments dropped)."""
    pins = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if [s.operator for s in req.specifier] == ["=="]:
            pins[canonicalize_name(req.name)] = line
    return pins


def image_constraints(name: str) -> tuple[dict[str, dict[str, str]], set[str]]:
    """({file: {key: pin}} to constrain the lock of `name` with, {every key pinned}).

    uv refuses two different `==` of one package, so a pin in requirements.in drops that package
    from pins.txt and constraints.txt, and a pin in pins.txt drops it from constraints.txt.
    """
    own = read_pins(IMAGES_DIR / name / "requirements.in")
    shared = {k: v for k, v in read_pins(SHARED_PINS).items() if k not in own}
    host = {k: v for k, v in read_pins(HOST_CONSTRAINTS).items() if k not in own and k not in shared}
    return {"constraints.txt": host, "images/pins.txt": shared}, {*own, *shared, *host}


def _uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError as exc:
        raise WheelError("uv is not installed in this venv: make setup (pip install -c constraints.txt uv)") from exc
    return find_uv_bin()


def render_lock(name: str, wheels: Path | None = None) -> str:
    """The text of images/<name>/requirements.txt as constraints.txt and the pins make it now; with `wheels`
    (a folder, e.g. the build's cache), offline from those files alone (one hash each: what tests compare)."""
    sources, pinned = image_constraints(name)
    with tempfile.TemporaryDirectory(prefix="images-lock-") as tmp:
        files = {label: Path(tmp) / f"{i}.txt" for i, label in enumerate(sources)}
        for label, pins in sources.items():
            files[label].write_text("".join(line + "\n" for line in pins.values()), encoding="utf-8")
        cmd = [
            _uv(), "pip", "compile", "--no-config", "--quiet", "--no-header", "--generate-hashes", *UV_TARGET_ARGS,
            *(arg for path in files.values() for arg in ("-c", str(path))), f"images/{name}/requirements.in",
            *(("--offline", "--no-index", "--find-links", str(wheels)) if wheels is not None else ()),
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise WheelError(f"cannot run uv: {exc}") from exc
    if proc.returncode != 0:
        detail = " ".join(ln.strip() for ln in proc.stderr.splitlines() if ln.strip()) or "(no output)"
        raise WheelError(f"uv pip compile failed for {name}: {detail}")
    body = proc.stdout
    for label, path in files.items():  # the `# via -c` annotations name the file each pin comes from
        body = body.replace(str(path), label)
    unpinned = sorted(p.key for p in parse_lock_text(body, name) if p.key not in pinned)
    if unpinned:
        raise WheelError(f"{name}: {', '.join(unpinned)} not in the host venv: pin in images/{name}/requirements.in")
    header = (
        f"# Lock of images/{name}/requirements.in for CPython {TARGET_PYTHON} on Debian 12 x86_64.\n"
        "# Generated by `python -m images.lock` (uv pip compile); do not edit. Install with:\n"
        "#   pip install --no-index --find-links /wheels --require-hashes -r requirements.txt\n"
    )
    return header + body


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m images.lock", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=IMAGE_NAMES, action="append", help="lock only this image")
    ap.add_argument("--check", action="store_true", help="only report whether the locks are up to date")
    args = ap.parse_args(argv)
    stale = []
    try:
        for name in args.only or IMAGE_NAMES:
            out = IMAGES_DIR / name / "requirements.txt"
            text = render_lock(name)
            current = out.read_text(encoding="utf-8") if out.exists() else ""
            if args.check:
                stale += [] if text == current else [name]
                print(f"{out.relative_to(REPO)}: {'up to date' if text == current else 'STALE'}")
            else:
                out.write_text(text, encoding="utf-8")
                print(f"{out.relative_to(REPO)}: {len(parse_lock_text(text, name))} packages")
    except WheelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
