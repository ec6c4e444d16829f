"""Write the offline install bundle (hub/offline/__init__.py has its layout)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from graders.text import UserError
from hub.offline.debian import download_debs
from images.wheels import sha256_file

REPO = Path(__file__).resolve().parents[2]
CHECKSUMS = "SHA256SUMS"
MANIFEST = "offline/MANIFEST.json"
# Never in the source tree of a bundle, even when found on disk (a checkout without git).
NOT_SOURCE = {".git", ".venv", "build", "data", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Bundle:
    archive: Path
    top: str  # the folder the archive unpacks into: truongso-<version>
    checksum_file: Path
    digest: str
    size: int
    parts: dict[str, int]  # part -> number of files


def write_bundle(
    output: Path,
    *,
    images: bool = True,
    cluster: bool = False,
    progress: Callable[[str], None] = print,
    repo: Path = REPO,
) -> Bundle:
    """Gather every part into a staging folder next to `output`, checksum it, and write `output` (a tar) and
    `output.sha256`. Nothing is left at `output` unless the whole bundle was written."""
    output = output.resolve()
    if not output.parent.is_dir():
        raise UserError(f"không có thư mục {output.parent}", f"no such folder: {output.parent}")
    if output.exists():
        raise UserError(
            f"{output} đã có; chọn tên khác hoặc xoá nó", f"{output} exists; choose another name or remove it"
        )
    version = bundle_version(repo)
    top = f"truongso-{version}"
    staging = output.parent / f".{output.name}.parts"
    shutil.rmtree(staging, ignore_errors=True)
    root = staging / top
    try:
        parts = {"source": copy_source(repo, root)}
        progress(f"Mã nguồn / source: {parts['source']} tệp / files")
        parts["image-wheels"], saved_images = gather_images(root, images, cluster, progress)
        parts["wheels"] = len(download_wheels(repo, root / "offline" / "wheels", progress))
        parts["npm-cache"] = fill_npm_cache(repo, root / "offline" / "npm-cache", progress)
        parts["debs"] = len(download_debs(root / "offline" / "debs"))
        progress(f"Gói Debian / Debian packages: {parts['debs']}")
        if saved_images:
            parts["images"] = len(saved_images)
        write_manifest(root, version, parts, saved_images)
        write_checksums(root)
        partial = output.with_name(f".{output.name}.partial")
        progress(f"Ghi / writing {output}")
        with tarfile.open(partial, "w") as tar:
            tar.add(root, arcname=top)
        digest = sha256_file(partial)
        os.replace(partial, output)
    except OSError as exc:
        raise UserError(
            f"không ghi được gói cài đặt: {exc.strerror or exc} {exc.filename or ''}".rstrip(),
            f"cannot write the bundle: {exc.strerror or exc} {exc.filename or ''}".rstrip(),
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        output.with_name(f".{output.name}.partial").unlink(missing_ok=True)
    checksum_file = output.with_name(output.name + ".sha256")
    checksum_file.write_text(f"{digest}  {output.name}\n")
    return Bundle(output, top, checksum_file, digest, output.stat().st_size, parts)


def bundle_version(repo: Path) -> str:
    """The package version, with the commit when this is a git checkout: `0.1.0-ec16cdc`."""
    version = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"]
    commit = _git(repo, "rev-parse", "--short=7", "HEAD")
    return f"{version}-{commit.strip()}" if commit else version


def source_files(repo: Path) -> list[Path]:
    """The files of the source tree: git's list when this is a checkout, else every file but caches and data."""
    listed = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if listed is not None:
        return [Path(p) for p in listed.split("\0") if p and (repo / p).is_file()]
    found = []
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = [d for d in dirnames if d not in NOT_SOURCE]
        found += [Path(dirpath, f).relative_to(repo) for f in filenames]
    return found


def copy_source(repo: Path, root: Path) -> int:
    files = source_files(repo)
    for relative in files:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / relative, root / relative)
    return len(files)


def gather_images(root: Path, images: bool, cluster: bool, progress: Callable[[str], None]) -> tuple[int, list[str]]:
    """The images' wheels into build/images/wheels (so images.build reuses them) and, with `images`, the images
    themselves saved into offline/images.tar, with `cluster` also a Swarm's gateway and registry (they install
    Debian packages when built, so a closed network cannot build them); (number of wheels, image tags saved)."""
    from images.build import IMAGE_NAMES, ImageBuildError, build_images
    from images.wheels import default_cache_dir

    wheel_dir = root / "build" / "images" / "wheels"
    wheel_dir.mkdir(parents=True)
    (root / "offline").mkdir(exist_ok=True)
    tags: list[str] = []
    if images:
        try:
            report = build_images(which=IMAGE_NAMES, progress=lambda line: None)
        except ImageBuildError as exc:
            raise UserError(f"không xây dựng được image: {exc}", f"cannot build the images: {exc}") from None
        built = dict(report.images)
        if cluster:
            from images.cluster_images import build_cluster_images

            try:
                built.update(build_cluster_images(progress=lambda line: None))
            except ImageBuildError as exc:
                raise UserError(
                    f"không xây dựng được image của cụm: {exc}", f"cannot build the cluster images: {exc}"
                ) from None
        tags = [report.base, *built.values(), *(f"truongso/{name}:latest" for name in built)]
        progress(f"Lưu image / saving images: {', '.join(tags)}")
        saved = subprocess.run(
            ["docker", "save", "--output", str(root / "offline" / "images.tar"), *tags],
            capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        if saved.returncode != 0:
            raise UserError(f"docker save lỗi: {saved.stderr.strip()}", f"docker save failed: {saved.stderr.strip()}")
    else:
        from images.build import ensure_wheels

        try:
            ensure_wheels(list(IMAGE_NAMES), default_cache_dir() / "wheels", progress=lambda line: None)
        except Exception as exc:  # WheelError, ImageBuildError: one line either way
            raise UserError(
                f"không tải được wheel của image: {exc}", f"cannot fetch the images' wheels: {exc}"
            ) from None
    wheels = sorted((default_cache_dir() / "wheels").glob("*.whl"))
    for wheel in wheels:
        shutil.copy2(wheel, wheel_dir / wheel.name)
    return len(wheels), tags


def host_requirements(repo: Path) -> list[str]:
    """What `make setup` installs into the hub's virtualenv: the project with its test extra, its build backend,
    and pip itself (the Makefile upgrades it)."""
    project = tomllib.loads((repo / "pyproject.toml").read_text())
    build = project.get("build-system", {}).get("requires", [])
    extras = [r for extra in project["project"].get("optional-dependencies", {}).values() for r in extra]
    return ["pip", "wheel", *build, *project["project"]["dependencies"], *extras]


def download_wheels(repo: Path, target: Path, progress: Callable[[str], None]) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    progress("Tải wheel / downloading wheels (pip)")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(target),
         "--constraint", str(repo / "constraints.txt"), *host_requirements(repo)],
        capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["?"])[-1]
        raise UserError(f"pip download lỗi: {reason}", f"pip download failed: {reason}")
    return sorted(target.iterdir())


def fill_npm_cache(repo: Path, cache: Path, progress: Callable[[str], None]) -> int:
    """The proxy's locked npm packages into an npm cache (`npm ci --offline --cache` installs from it)."""
    progress("Tải gói npm / downloading npm packages")
    work = cache.parent / ".npm-work"
    work.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(repo / "hub" / "proxy" / name, work / name)
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", "--cache", str(cache)],
        cwd=work, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["?"])[-1]
        raise UserError(f"npm ci lỗi: {reason}", f"npm ci failed: {reason}")
    return sum(1 for _ in _files(cache))


def write_manifest(root: Path, version: str, parts: dict[str, int], images: list[str]) -> None:
    manifest = {
        "format": 1,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "made_on": {"python": sys.version.split()[0], "platform": sys.platform, "machine": os.uname().machine},
        "parts": parts,
        "images": images,
    }
    (root / MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_checksums(root: Path) -> None:
    """SHA256SUMS in `sha256sum` format over every file below `root` (the installer checks it with coreutils)."""
    lines = [f"{sha256_file(path)}  {path.relative_to(root).as_posix()}" for path in sorted(_files(root))]
    (root / CHECKSUMS).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, filenames in os.walk(root):
        for name in filenames:
            yield Path(dirpath, name)


def _git(repo: Path, *args: str) -> str | None:
    if not (repo / ".git").exists() or shutil.which("git") is None:
        return None
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None
