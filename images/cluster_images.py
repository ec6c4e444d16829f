"""The images only a Swarm cluster needs: `build_cluster_images()` or `python -m images.cluster_images`.

Each is `images/<name>/Dockerfile` built FROM our base image with its folder as context, tagged
`truongso/<name>:<content hash>` and `:latest`, and reused when that tag exists. Unlike the workspace and
grader images they install Debian packages at build time (apt over http, the way the base image was made).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

from images.base import DEFAULT_BASE_TAG
from images.build import REPOSITORY, ImageBuildError, docker_build

IMAGES_DIR = Path(__file__).resolve().parent
CLUSTER_IMAGES = ("registry", "gateway")
BUILD_FORMAT = "1"  # bump when the procedure changes in a way the hashed files do not show


def available(name: str) -> bool:
    """Whether images/<name>/ has a Dockerfile."""
    return (IMAGES_DIR / name / "Dockerfile").is_file()


def image_version(name: str, base_id: str) -> str:
    """Content hash of the image's folder and the base image id."""
    h = hashlib.sha256(f"format={BUILD_FORMAT}\nbase={base_id}\n".encode())
    for path in sorted(p for p in (IMAGES_DIR / name).rglob("*") if p.is_file()):
        h.update(f"{path.relative_to(IMAGES_DIR / name)}\n".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def ensure_cluster_image(
    client: docker.DockerClient,
    name: str,
    *,
    base: str = DEFAULT_BASE_TAG,
    progress: Callable[[str], None] = print,
) -> str:
    """`truongso/<name>:<version>`, built unless present; `:latest` points at it."""
    if name not in CLUSTER_IMAGES:
        raise ImageBuildError(f"unknown cluster image {name!r} (known: {', '.join(CLUSTER_IMAGES)})")
    if not available(name):
        raise ImageBuildError(f"images/{name}/Dockerfile does not exist")
    try:
        base_id = client.images.get(base).id
    except docker.errors.ImageNotFound:
        raise ImageBuildError(f"base image {base} not found: run `truongso images build` first") from None
    tag = f"{REPOSITORY}/{name}:{image_version(name, base_id)}"
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        image = _build(client, name, tag, base, progress)
    if f"{REPOSITORY}/{name}:latest" not in image.tags:
        image.tag(f"{REPOSITORY}/{name}", "latest")
    return tag


def build_cluster_images(
    client: docker.DockerClient | None = None,
    which: tuple[str, ...] = CLUSTER_IMAGES,
    *,
    base: str = DEFAULT_BASE_TAG,
    progress: Callable[[str], None] = print,
) -> dict[str, str]:
    """Every cluster image in `which` whose Dockerfile exists: {name: versioned tag}."""
    client = client or docker.from_env(timeout=600)
    return {name: ensure_cluster_image(client, name, base=base, progress=progress) for name in which if available(name)}


def _build(client: docker.DockerClient, name: str, tag: str, base: str, progress: Callable[[str], None]) -> object:
    with tempfile.TemporaryDirectory(prefix=f"truongso-{name}-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(IMAGES_DIR / name, context, ignore=shutil.ignore_patterns("__pycache__"))
        docker_build(client, context, name, tag, base, progress)
    return client.images.get(tag)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the cluster images (registry, gateway).")
    parser.add_argument("--only", choices=CLUSTER_IMAGES)
    args = parser.parse_args(argv)
    try:
        tags = build_cluster_images(which=(args.only,) if args.only else CLUSTER_IMAGES)
    except ImageBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(tags.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
