"""The offline bundle without an engine or a registry: the installer refuses a damaged, partial or padded bundle
before installing anything, and the bundle's lists agree with what `make run` installs. The whole install on a
machine with no network is tests/integration/test_offline_install.py."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from hub.cli import main
from hub.offline.bundle import host_requirements, source_files, write_checksums, write_manifest
from hub.offline.debian import RUN_PACKAGES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def bundle_tree(tmp_path: Path) -> Path:
    """A small bundle's unpacked tree: the installer, a wheel, a .deb, an image wheel, checksums."""
    root = tmp_path / "truongso-0.1.0-test"
    (root / "scripts").mkdir(parents=True)
    for script in ("offline-install.sh", "ensure-system.sh", "ensure-docker.sh"):
        shutil.copy2(REPO / "scripts" / script, root / "scripts" / script)
    for relative, data in {
        "offline/wheels/pandas-2.2.3-cp311-cp311-manylinux_2_17_x86_64.whl": b"wheel",
        "offline/debs/make_4.3-4.1_amd64.deb": b"deb",
        "build/images/wheels/numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.whl": b"image wheel",
        "Makefile": b"run:\n\techo ran make run\n",
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    write_manifest(root, "0.1.0-test", {"wheels": 1}, [])
    write_checksums(root)
    return root


def install(root: Path, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run the installer with apt-get, dpkg and make replaced by recorders: nothing may be installed here."""
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir(exist_ok=True)
    for tool in ("apt-get", "dpkg", "make", "docker"):
        (fake_bin / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {tmp_path}/called\n')
        (fake_bin / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(root / "scripts" / "offline-install.sh"), *args], capture_output=True, text=True, env=env
    )


def test_an_intact_bundle_passes_the_check(bundle_tree: Path, tmp_path: Path) -> None:
    checked = install(bundle_tree, "--check", tmp_path=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "intact" in checked.stdout and not (tmp_path / "called").exists()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("flip", "FAILED"),  # a byte changed in transit
        ("truncate", "FAILED"),  # a copy that stopped early
        ("remove", "No such file"),  # a partial unpack
        ("plant-wheel", "unlisted: offline/wheels/pandas-9.9.9"),  # pip would prefer the higher version
        ("plant-image-wheel", "unlisted: build/images/wheels/evil"),
        ("sums-gone", "not an offline bundle"),
    ],
)
def test_a_damaged_partial_or_padded_bundle_installs_nothing(
    bundle_tree: Path, tmp_path: Path, change: str, says: str
) -> None:
    wheel = bundle_tree / "offline/wheels/pandas-2.2.3-cp311-cp311-manylinux_2_17_x86_64.whl"
    if change == "flip":
        wheel.write_bytes(b"wheeL")
    elif change == "truncate":
        wheel.write_bytes(wheel.read_bytes()[:2])
    elif change == "remove":
        (bundle_tree / "offline/debs/make_4.3-4.1_amd64.deb").unlink()
    elif change == "plant-wheel":
        (wheel.parent / "pandas-9.9.9-py3-none-any.whl").write_bytes(b"import os")
    elif change == "plant-image-wheel":
        (bundle_tree / "build/images/wheels/evil-1.0-py3-none-any.whl").write_bytes(b"x")
    else:
        (bundle_tree / "SHA256SUMS").unlink()
    for args in (("--check",), ()):  # checking only, and installing: both stop before anything is installed
        refused = install(bundle_tree, *args, tmp_path=tmp_path)
        assert refused.returncode == 1
        assert says in refused.stderr, refused.stderr
        assert "nothing was installed" in refused.stderr or change == "sums-gone"
        assert not (tmp_path / "called").exists(), (tmp_path / "called").read_text()


def test_the_bundle_carries_what_make_run_installs() -> None:
    script = (REPO / "scripts" / "ensure-system.sh").read_text()
    run_list = re.search(r"^want=\(([^)]*)\)", script, re.M).group(1).split()
    assert set(run_list) <= set(RUN_PACKAGES)
    assert {"make", "iptables"} <= set(RUN_PACKAGES)  # `make run` itself; the workspace firewall
    wanted = " ".join(host_requirements(REPO))
    for name in ("jupyterhub", "nbgrader", "dockerspawner", "pytest", "pip", "setuptools"):
        assert name in wanted
    makefile = (REPO / "Makefile").read_text()
    for line in ("PIP_NO_INDEX", "PIP_FIND_LINKS", "npm_config_offline", "npm_config_cache", "TRUONGSO_OFFLINE_DIR"):
        assert f"export {line} :=" in makefile


def test_the_source_tree_leaves_out_caches_and_data(tmp_path: Path) -> None:
    """Without git (an unpacked bundle re-bundled, a tarball checkout): no venv, data or cache goes in."""
    for relative in ("hub/app.py", ".venv/bin/python", "data/hub.sqlite", "build/images/x.whl", "a/__pycache__/x.pyc"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    assert source_files(tmp_path) == [Path("hub/app.py")]


@pytest.mark.parametrize("case", ["exists", "no-folder"])
def test_a_bad_output_is_a_clear_error_before_any_download(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture
) -> None:
    output = tmp_path / "b.tar" if case == "exists" else tmp_path / "missing" / "b.tar"
    if case == "exists":
        output.write_text("an earlier bundle")
    assert main(["bundle", "--output", str(output)]) == 1
    err = capsys.readouterr().err
    assert ("exists" in err) if case == "exists" else ("no such folder" in err)
    assert "lỗi / error" in err
    if case == "exists":
        assert output.read_text() == "an earlier bundle"  # never overwritten
    assert not any(p.name.startswith(".b.tar") for p in tmp_path.iterdir())


def test_an_intact_bundle_goes_on_to_make_run(bundle_tree: Path, tmp_path: Path) -> None:
    """This machine has the system packages (`make test` installed them) and the bundle no images: straight on."""
    assert (REPO / "scripts/offline-install.sh").stat().st_mode & stat.S_IXUSR
    ran = install(bundle_tree, "PORT=8123", tmp_path=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "called").read_text() == "make run PORT=8123\n"
