"""The registry-free base image: one real debootstrap run into a throwaway tag."""

from __future__ import annotations

import os
import shutil

import pytest

from images.base import RECIPE_LABEL, recipe_digest
from images.build import ensure_base
from images.wheels import default_cache_dir


def test_debootstrap_base_when_none_exists(docker_client, docker_prefix, run_image) -> None:
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        why = "debootstrap as root is needed to make a base image"
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    tag = f"{docker_prefix}-base:bookworm"
    try:
        # The shared cache dir only lends its .debs; nothing in it is replaced.
        ref, image_id, action = ensure_base(docker_client, None, base_tag=tag, work_dir=default_cache_dir())
        assert (ref, action) == (tag, "built")
        assert ensure_base(docker_client, None, base_tag=tag, work_dir=default_cache_dir())[1:] == (
            image_id,
            "reused",
        )
        image = docker_client.images.get(tag)
        assert image.labels[RECIPE_LABEL] == recipe_digest()
        assert image.attrs["Size"] < 300e6, image.attrs["Size"]
        script = "; ".join([
            "python3 -c 'import sys, venv; print(sys.version.split()[0])'",
            "command -v tini",
            "command -v locale-gen",
            "ls /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf /usr/share/fonts/truetype/dejavu",
            "ls /var/lib/apt/lists | grep -c _Packages || true",
        ])  # fmt: skip
        run = run_image(tag, ["sh", "-c", script])
        lines = run.stdout.split()
        assert run.status == 0 and lines[0] == "3.11.2", run
        assert "/usr/bin/tini" in lines and "/usr/sbin/locale-gen" in lines, run
        assert lines[-1] == "0", "apt lists should be trimmed"
    finally:
        if docker_client.images.list(name=tag):
            docker_client.images.remove(tag, force=True)
