"""build_images(): a real build, reuse on the second call, the base decision, clear errors."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import docker
import docker.errors
import pytest

from images import build as build_mod
from images import lock as lock_mod
from images.base import RECIPE_LABEL, host_mirror, recipe_digest, split_tag
from images.build import IMAGES_DIR, ImageBuildError, build_images, ensure_base, image_version
from images.lock import SHARED_PINS, read_pins, render_lock
from images.wheels import WheelError, default_cache_dir, parse_lock, parse_lock_text

REPO = Path(__file__).resolve().parents[2]
WHEELS = default_cache_dir() / "wheels"  # what the build downloaded (see the `built` fixture)


def test_build_succeeds(built) -> None:
    report = built.report
    assert [s.name for s in report.steps] == ["base", "wheels", "workspace", "grader"]
    assert all(s.action in ("reused", "built", "downloaded") for s in report.steps), report.summary()
    for name in ("workspace", "grader"):
        assert report.images[name] == f"truongso/{name}:{image_version(name, report.base_id)}"
    print(f"first build_images(): {built.seconds:.1f}s\n{report.summary()}")


def test_second_build_reuses_everything(built, docker_client) -> None:
    start = time.monotonic()
    again = build_images(client=docker_client, progress=lambda _line: None)
    elapsed = time.monotonic() - start
    assert again.all_reused, again.summary()
    assert {s.name: s.action for s in again.steps} == dict.fromkeys(("base", "wheels", "workspace", "grader"), "reused")
    assert again.images == built.report.images
    assert elapsed < 20, f"reuse took {elapsed:.1f}s"
    for name, tag in again.images.items():
        assert docker_client.images.get(f"truongso/{name}:latest").id == docker_client.images.get(tag).id


def test_version_is_a_content_hash() -> None:
    a = image_version("workspace", "sha256:aaa")
    assert a == image_version("workspace", "sha256:aaa")
    assert a != image_version("workspace", "sha256:bbb")
    assert a != image_version("grader", "sha256:aaa")


def test_missing_base_is_a_clear_error(docker_client, docker_prefix) -> None:
    with pytest.raises(ImageBuildError, match=r"not in the local Docker engine.*no registry"):
        build_images(base=f"{docker_prefix}-no-such-base:1", client=docker_client, progress=lambda _l: None)


def test_unreachable_engine_is_a_clear_error(tmp_path: Path) -> None:
    client = docker.DockerClient(base_url=f"unix://{tmp_path}/no-docker.sock", version="1.41")
    with pytest.raises(ImageBuildError, match="Docker engine not reachable"):
        build_images(client=client, progress=lambda _l: None)


def test_unknown_image_name_is_refused() -> None:
    with pytest.raises(ImageBuildError, match="unknown image"):
        build_images(which=("notebook",), client=object())  # refused before the engine is touched


@pytest.mark.parametrize("case", ["missing-base", "no-engine"])
def test_cli_errors_are_one_line(case: str, docker_prefix: str, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    args = [sys.executable, "-m", "images.build", "--quiet"]
    if case == "missing-base":
        args += ["--base", f"{docker_prefix}-no-such-base:1"]
        expected = "no registry"
    else:
        env["DOCKER_HOST"] = f"unix://{tmp_path}/no-docker.sock"
        expected = "Docker engine not reachable"
    proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], proc.stderr


# --- the base image decision, without an engine ---------------------------------------------


class FakeImages:
    def __init__(self, images: dict[str, SimpleNamespace]) -> None:
        self._images = images

    def get(self, ref: str) -> SimpleNamespace:
        if ref not in self._images:
            raise docker.errors.ImageNotFound(ref)
        return self._images[ref]


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fake_create(client, tag, work_dir, *, mirror=None, progress=print):
        calls.append(tag)
        return "sha256:new"

    monkeypatch.setattr(build_mod, "create_base_image", fake_create)
    return calls


def _client(**images: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(images=FakeImages(images))


def _image(id_: str, labels: dict[str, str] | None = None) -> SimpleNamespace:
    return SimpleNamespace(id=id_, labels=labels or {})


def test_base_given_is_used_as_is(made: list[str], tmp_path: Path) -> None:
    client = _client(**{"mine:1": _image("sha256:mine")})
    assert ensure_base(client, "mine:1", work_dir=tmp_path) == ("mine:1", "sha256:mine", "given")
    assert made == []


def test_base_tag_present_is_reused(made: list[str], tmp_path: Path) -> None:
    ours = _image("sha256:ours", {RECIPE_LABEL: recipe_digest()})
    client = _client(**{"t/base:bookworm": ours})
    assert ensure_base(client, None, base_tag="t/base:bookworm", work_dir=tmp_path)[2] == "reused"
    handmade = _client(**{"t/base:bookworm": _image("sha256:hand")})  # no label: put there on purpose
    assert ensure_base(handmade, None, base_tag="t/base:bookworm", work_dir=tmp_path)[2] == "reused"
    assert made == []


def test_base_missing_or_stale_is_built(made: list[str], tmp_path: Path) -> None:
    missing = ensure_base(_client(), None, base_tag="t/base:bookworm", work_dir=tmp_path, progress=str)
    assert missing == ("t/base:bookworm", "sha256:new", "built")
    stale = _client(**{"t/base:bookworm": _image("sha256:old", {RECIPE_LABEL: "other-packages"})})
    assert ensure_base(stale, None, base_tag="t/base:bookworm", work_dir=tmp_path, progress=str)[2] == "built"
    assert made == ["t/base:bookworm", "t/base:bookworm"]


def test_nearly_full_disk_is_a_clear_error(made: list[str], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(build_mod.shutil, "disk_usage", lambda _p: SimpleNamespace(free=100 << 20))
    with pytest.raises(ImageBuildError, match=r"disk nearly full: 100 MB free"):
        ensure_base(_client(), None, base_tag="t/base:bookworm", work_dir=tmp_path, progress=str)
    assert made == []


def test_host_mirror_reads_deb822_and_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    assert host_mirror(tmp_path) == "http://deb.debian.org/debian"  # nothing configured
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: https://mirror.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\nTypes: deb\nURIs: https://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n"
    )
    assert host_mirror(tmp_path) == "https://mirror.example/debian"
    (tmp_path / "sources.list").write_text("# local\ndeb [arch=amd64] http://local.example/debian bookworm main\n")
    assert host_mirror(tmp_path) == "http://local.example/debian"


def test_split_tag() -> None:
    assert split_tag("truongso/base:bookworm") == ("truongso/base", "bookworm")
    assert split_tag("truongso/base") == ("truongso/base", "latest")
    assert split_tag("localhost:5000/x/base:1") == ("localhost:5000/x/base", "1")


# --- the locks -------------------------------------------------------------------------------


def test_locks_pin_the_host_versions() -> None:
    """Every locked package has the host venv's version, except the documented deviations."""
    deviations = read_pins(SHARED_PINS)
    for name in ("workspace", "grader"):
        pins = parse_lock(IMAGES_DIR / name / "requirements.txt")
        assert all(len(p.hashes) >= 1 for p in pins)
        differ = set()
        for pin in pins:
            try:
                host = md.version(pin.name)
            except md.PackageNotFoundError:
                continue
            if host != pin.version:
                differ.add(pin.key)
        assert differ <= set(deviations), f"{name}: {differ - set(deviations)} differ from the host venv"
    stack = ("pandas", "numpy", "matplotlib", "scikit-learn", "scipy", "nbgrader", "nbconvert", "ipykernel")
    locked = {
        n: {p.key: p.version for p in parse_lock(IMAGES_DIR / n / "requirements.txt")} for n in ("workspace", "grader")
    }
    for pkg in stack:
        assert locked["workspace"][pkg] == locked["grader"][pkg] == md.version(pkg), pkg


# Offline, from the wheels the build downloaded (tests talk to no index): `built` fills the cache.
def test_locks_are_up_to_date(built) -> None:
    """The committed locks have the versions `python -m images.lock` (uv pip compile) locks now, and the
    wheels the build installs are among the hashes they allow."""
    for name in ("workspace", "grader"):
        committed = {p.key: p for p in parse_lock(IMAGES_DIR / name / "requirements.txt")}
        fresh = {p.key: p for p in parse_lock_text(render_lock(name, WHEELS), name)}
        hint = f"run: python -m images.lock --only {name}"
        assert {k: p.version for k, p in fresh.items()} == {k: p.version for k, p in committed.items()}, hint
        assert all(p.hashes <= committed[k].hashes for k, p in fresh.items()), hint


def test_lock_refuses_what_the_host_venv_lacks(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package of the closure that no file pins would get the index's newest release: refused."""
    host = tmp_path / "constraints.txt"
    host.write_text("".join(ln for ln in (REPO / "constraints.txt").open() if not ln.startswith("six==")))
    monkeypatch.setattr(lock_mod, "HOST_CONSTRAINTS", host)
    with pytest.raises(WheelError, match=r"grader: six not in the host venv"):
        render_lock("grader", WHEELS)


def test_pins_replace_the_host_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What uv is given: a pins.txt version instead of the host's, a requirements.in pin instead of both."""
    pins = tmp_path / "pins.txt"
    pins.write_text("soupsieve==2.8  # older than the host's\nsetuptools==65.5.0\n")
    monkeypatch.setattr(lock_mod, "SHARED_PINS", pins)
    sources, pinned = lock_mod.image_constraints("grader")
    assert sources["images/pins.txt"]["soupsieve"] == "soupsieve==2.8"
    assert "soupsieve" not in sources["constraints.txt"] and "pandas" in sources["constraints.txt"]
    assert {"soupsieve", "setuptools", "pandas"} <= pinned
