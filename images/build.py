"""Build the workspace and grader images with no registry: `build_images()` or `python -m images.build`.

Steps, each skipped when its result is already there:
  base     the local `truongso/base:bookworm`, made with debootstrap when missing (or `--base IMAGE`);
  wheels   every locked wheel in the host cache, `pip download`-ed when missing;
  <image>  `docker build` with networking off, tagged `truongso/<image>:<version>` and `:latest`,
           where version hashes the Dockerfile, the lock and the base image id.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import hashlib
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import docker
import docker.errors
import requests

from images.base import DEFAULT_BASE_TAG, RECIPE_LABEL, BaseImageError, create_base_image, recipe_digest
from images.wheels import WheelCache, WheelError, default_cache_dir, parse_lock, place_wheels

IMAGES_DIR = Path(__file__).resolve().parent
IMAGE_NAMES = ("workspace", "grader")
REPOSITORY = "truongso"
# Bump when the build procedure itself changes in a way the hashed files do not show.
BUILD_FORMAT = "1"
STAGE_LABEL = "org.truongso.stage=venv"  # set in the Dockerfiles' venv stage

Action = Literal["reused", "built", "downloaded", "given"]


class ImageBuildError(Exception):
    """Why a build could not be done, in one line for the person running it."""


@dataclass
class Step:
    """One step of a build: what it was about, what was done, how long it took."""

    name: str  # "base", "wheels", "workspace", "grader"
    action: Action
    detail: str
    seconds: float


@dataclass
class BuildReport:
    """What `build_images()` did. `images` maps image name -> versioned tag (also tagged :latest)."""

    base: str = ""
    base_id: str = ""
    images: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def action(self, name: str) -> Action:
        return next(s.action for s in self.steps if s.name == name)

    @property
    def all_reused(self) -> bool:
        return all(s.action in ("reused", "given") for s in self.steps)

    def summary(self) -> str:
        return "\n".join(f"{s.name:<10} {s.action:<10} {s.seconds:6.1f}s  {s.detail}" for s in self.steps)


def build_images(
    *,
    base: str | None = None,
    which: Iterable[str] = IMAGE_NAMES,
    client: docker.DockerClient | None = None,
    progress: Callable[[str], None] = print,
    cache_dir: Path | None = None,
    base_tag: str = DEFAULT_BASE_TAG,
    mirror: str | None = None,
    repository: str = REPOSITORY,
    on_step: Callable[[str, int, int], None] | None = None,
) -> BuildReport:
    """Build (or reuse) the images named in `which`; raise ImageBuildError with a one-line reason.

    `base` names an existing local image to build on; without it `base_tag` is used, made with
    debootstrap from `mirror` (default: the host's apt mirror) when missing. `cache_dir` holds the
    wheels, .debs and build contexts (default: <repo>/build/images). `on_step(name, done, total)`, if
    given, is called as each step starts (`done` steps finished before it) and once more as it ends
    (`done` counting it); the steps are base, wheels and one per image.
    """
    names = list(dict.fromkeys((which,) if isinstance(which, str) else which))
    unknown = [n for n in names if n not in IMAGE_NAMES]
    if unknown or not names:
        raise ImageBuildError(f"unknown image {unknown or names}; choose from {', '.join(IMAGE_NAMES)}")
    cache_dir = (cache_dir or default_cache_dir()).resolve()
    client = client or _client_from_env()
    _ping(client)
    report = BuildReport()
    steps = 2 + len(names)

    @contextmanager
    def step_of(name: str) -> Iterator[Step]:
        if on_step is not None:
            on_step(name, len(report.steps), steps)
        with _step(report, name, progress) as step:
            yield step
        if on_step is not None:
            on_step(name, len(report.steps), steps)

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with _exclusive(cache_dir):
            with step_of("base") as step:
                report.base, report.base_id, step.action = ensure_base(
                    client, base, base_tag=base_tag, work_dir=cache_dir, mirror=mirror, progress=progress
                )
                step.detail = f"{report.base} ({report.base_id[7:19]})"
            with step_of("wheels") as step:
                wheels, step.action, step.detail = ensure_wheels(names, cache_dir / "wheels", progress)
            for name in names:
                with step_of(name) as step:
                    tag, step.action = ensure_image(
                        client, name, report.base, report.base_id, wheels[name],
                        context_root=cache_dir / "context", repository=repository, progress=progress,
                    )  # fmt: skip
                    size = client.images.get(tag).attrs.get("Size", 0)
                    step.detail = f"{tag} ({size / 1e9:.2f} GB)"
                    report.images[name] = tag
    except (BaseImageError, WheelError) as exc:
        raise ImageBuildError(str(exc)) from exc
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ImageBuildError(f"disk full (No space left on device) under {cache_dir}") from exc
        raise ImageBuildError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from exc
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise ImageBuildError(_docker_message(exc)) from exc
    return report


def ensure_base(
    client: docker.DockerClient,
    base: str | None,
    *,
    base_tag: str = DEFAULT_BASE_TAG,
    work_dir: Path,
    mirror: str | None = None,
    progress: Callable[[str], None] = print,
) -> tuple[str, str, Action]:
    """Return (reference, image id, action) of the base image, making it when needed."""
    if base:
        try:
            return base, client.images.get(base).id, "given"
        except docker.errors.ImageNotFound:
            raise ImageBuildError(
                f"base image {base!r} is not in the local Docker engine and there is no registry to "
                "pull it from; omit --base to build one with debootstrap"
            ) from None
    try:
        image = client.images.get(base_tag)
    except docker.errors.ImageNotFound:
        image = None
    # A base we made earlier with another package list is stale; one without our label was put
    # there on purpose by someone, so it is used as it is.
    label = (image.labels or {}).get(RECIPE_LABEL) if image else None
    if image is not None and label in (None, recipe_digest()):
        return base_tag, image.id, "reused"
    progress(f"base: {base_tag} {'is stale' if image else 'not found'}, building it")
    _check_free_space(work_dir, 1 << 30)
    image_id = create_base_image(client, base_tag, work_dir, mirror=mirror, progress=progress)
    return base_tag, image_id, "built"


def ensure_wheels(
    names: list[str], wheel_dir: Path, progress: Callable[[str], None] = print
) -> tuple[dict[str, list[Path]], Action, str]:
    """Make sure every wheel locked for `names` is cached; return ({image: wheels}, action, detail)."""
    locks = {name: parse_lock(IMAGES_DIR / name / "requirements.txt") for name in names}
    cache = WheelCache(wheel_dir)
    union = list({p.key: p for pins in locks.values() for p in pins}.values())
    found, missing = cache.locate(union)
    action: Action = "reused"
    if missing:
        _check_free_space(wheel_dir, 1 << 30)
        cache.download(missing, progress)
        found, missing = cache.locate(union)
        if missing:
            raise ImageBuildError(f"pip did not fetch {', '.join(p.name for p in missing[:5])}")
        action = "downloaded"
    size = sum(p.stat().st_size for p in found.values())
    detail = f"{len(found)} wheels, {size / 1e6:.0f} MB in {wheel_dir}"
    return {n: [found[p.key] for p in pins] for n, pins in locks.items()}, action, detail


def image_version(name: str, base_id: str) -> str:
    """Content hash of what goes into an image: its directory's files and the base image id."""
    h = hashlib.sha256(f"format={BUILD_FORMAT}\nbase={base_id}\n".encode())
    for path in _context_files(name):
        h.update(f"{path.name}\n".encode())
        h.update(path.read_bytes())
    for relative, path in _source_files(name):
        h.update(f"src/{relative}\n".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def ensure_image(
    client: docker.DockerClient,
    name: str,
    base_ref: str,
    base_id: str,
    wheels: list[Path],
    *,
    context_root: Path,
    repository: str = REPOSITORY,
    progress: Callable[[str], None] = print,
) -> tuple[str, Action]:
    """Build `<repository>/<name>:<version>` unless it exists; point `:latest` at it."""
    version = image_version(name, base_id)
    tag = f"{repository}/{name}:{version}"
    try:
        image = client.images.get(tag)
        action: Action = "reused"
    except docker.errors.ImageNotFound:
        _check_free_space(context_root.parent, 1 << 30)
        # The engine writes the venv twice (stage and final image) plus the context: ~3 GB.
        root = Path(client.info().get("DockerRootDir") or "/nonexistent")
        if root.is_dir():
            _check_free_space(root, 3 << 30)
        image = _build(client, name, tag, base_ref, wheels, context_root / name, progress)
        action = "built"
    latest = f"{repository}/{name}:latest"
    if latest not in image.tags:
        image.tag(f"{repository}/{name}", "latest")
    return tag, action


def _build(
    client: docker.DockerClient,
    name: str,
    tag: str,
    base_ref: str,
    wheels: list[Path],
    context: Path,
    progress: Callable[[str], None],
) -> docker.models.images.Image:
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    try:
        for path in _context_files(name):
            shutil.copy2(path, context / path.name)
        (context / "src").mkdir()
        for relative, path in _source_files(name):
            (context / "src" / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, context / "src" / relative)
        place_wheels(wheels, context / "wheels")
        progress(f"{name}: {len(wheels)} wheels")
        docker_build(client, context, name, tag, base_ref, progress, network_mode="none")  # nothing may reach out
    finally:
        shutil.rmtree(context, ignore_errors=True)
        # The venv stage's leftover image holds the wheels and the venv again (~1 GB); it would only
        # ever serve as build cache for the final image, which is reused by tag instead.
        client.images.prune(filters={"dangling": True, "label": STAGE_LABEL})
    return client.images.get(tag)


def _context_files(name: str) -> list[Path]:
    return sorted(p for p in (IMAGES_DIR / name).iterdir() if p.is_file() and p.suffix != ".in")


def _source_files(name: str) -> list[tuple[str, Path]]:
    """Our own Python code an image needs (e.g. the exchange client), listed in `<image>/sources.txt` as
    repository paths; copied into the build context under src/ and so into the image's site-packages."""
    listing = IMAGES_DIR / name / "sources.txt"
    if not listing.is_file():
        return []
    repo = IMAGES_DIR.parent
    files: list[tuple[str, Path]] = []
    for line in listing.read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        path = repo / entry
        found = [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        if not found:
            raise ImageBuildError(f"{listing}: {entry} does not exist")
        files.extend((p.relative_to(repo).as_posix(), p) for p in found)
    return files


@contextmanager
def _step(report: BuildReport, name: str, progress: Callable[[str], None]) -> Iterator[Step]:
    step = Step(name, "reused", "", 0.0)
    start = time.monotonic()
    yield step
    step.seconds = time.monotonic() - start
    report.steps.append(step)
    progress(f"{name}: {step.action} in {step.seconds:.1f}s: {step.detail}")


@contextmanager
def _exclusive(cache_dir: Path) -> Iterator[None]:
    """One build at a time per cache (the hub's CLI and a test run may race)."""
    with open(cache_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _check_free_space(path: Path, need: int) -> None:
    """Fail early and clearly rather than half-way with ENOSPC."""
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    if free < need:
        raise ImageBuildError(f"disk nearly full: {free >> 20} MB free in {path}, need about {need >> 30} GB")


def _client_from_env() -> docker.DockerClient:
    try:
        return docker.from_env()
    except docker.errors.DockerException as exc:  # from_env already asks the engine its version
        raise ImageBuildError(_unreachable(exc)) from None


def _ping(client: docker.DockerClient) -> None:
    try:
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise ImageBuildError(_unreachable(exc)) from None


def _unreachable(exc: Exception) -> str:
    return f"Docker engine not reachable (start dockerd, or set DOCKER_HOST): {_first_line(exc)}"


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "explanation", None) or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _docker_message(exc: Exception) -> str:
    text = _first_line(exc)
    if "no space left on device" in text.lower():
        return "disk full in the Docker engine's storage (no space left on device)"
    if isinstance(exc, requests.ConnectionError):
        return f"lost the connection to the Docker engine: {text}"
    return f"Docker: {text}"


def docker_build(
    client: docker.DockerClient,
    context: Path,
    name: str,
    tag: str,
    base_ref: str,
    progress: Callable[[str], None],
    network_mode: str | None = None,
) -> None:
    """`docker build` of `context` as `tag`, labelled as ours, its steps reported through `progress`; a failed
    step raises ImageBuildError with its message and the last lines of output (the build images and the cluster
    images both build through here)."""
    progress(f"{name}: docker build {tag}" + (f" (network {network_mode})" if network_mode else ""))
    stream = client.api.build(
        path=str(context),
        tag=tag,
        buildargs={"BASE_IMAGE": base_ref},
        network_mode=network_mode,
        labels={"org.truongso.image": name, "org.truongso.version": tag.rsplit(":", 1)[1]},
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
    )
    tail: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
            context_lines = " | ".join(t for t in tail[-3:] if t)
            raise ImageBuildError(_disk_or(f"building {name} failed: {detail.strip()}  [{context_lines}]"))
        text = chunk.get("stream", "").rstrip()
        if text:
            tail = [*tail[-20:], text[:200]]
            if text.startswith("Step "):
                progress(f"{name}: {text[:120]}")


def _disk_or(message: str) -> str:
    return _docker_message(Exception(message)) if "no space left" in message.lower() else message


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m images.build", description=__doc__.split("\n")[0])
    ap.add_argument("--base", metavar="IMAGE", help="build on this local image instead of the debootstrap base")
    ap.add_argument("--only", choices=IMAGE_NAMES, action="append", help="build only this image (repeatable)")
    ap.add_argument("--cache-dir", type=Path, help="wheels, .debs and build contexts (default: build/images)")
    ap.add_argument("--mirror", help="Debian mirror for debootstrap (default: the host's apt mirror)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    args = ap.parse_args(argv)
    try:
        report = build_images(
            base=args.base,
            which=args.only or IMAGE_NAMES,
            progress=(lambda _msg: None) if args.quiet else print,
            cache_dir=args.cache_dir,
            mirror=args.mirror,
        )
    except ImageBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
