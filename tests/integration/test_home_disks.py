"""Learners' home disks on this machine's kernel (real mkfs, loop mounts, ENOSPC), without Docker: the limit,
migration of an old home (nothing lost, even when it is bigger than the limit), crashes half-way, growth."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.requirements import require

from hub import storage
from hub.storage import ensure_home_disk, home_disk, is_mounted, release_all, release_home_disk

LIMIT = 64 << 20


@pytest.fixture
def disk_dir(tmp_path: Path) -> Iterator[Path]:
    require(os.geteuid() == 0 and Path("/dev/loop-control").exists(), "needs root and loop devices")
    require(all(shutil.which(t) for t in storage.TOOLS), "needs e2fsprogs and mount")
    disks = tmp_path / "homes"
    yield disks
    release_all(disks)
    for mountpoint in (disks / "mnt").glob("*"):  # whatever a failed test left
        subprocess.run(["umount", str(mountpoint)], capture_output=True)


def fill(folder: Path, name: str = "lon.bin") -> tuple[int, int | None]:
    """Write 1 MiB blocks until the disk says no; (bytes written, errno)."""
    written = 0
    try:
        with (folder / name).open("wb") as f:
            while written < 4 * LIMIT:
                f.write(b"\xa5" * (1 << 20))
                f.flush()
                os.fsync(f.fileno())
                written += 1 << 20
    except OSError as exc:
        return written, exc.errno
    return written, None


def tree(root: Path) -> dict[str, bytes | str]:
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = "-> " + os.readlink(path)
        elif path.is_file():
            found[key] = path.read_bytes()
        else:
            found[key] = f"dir {oct(path.stat().st_mode & 0o777)}"
    return found


def old_home(tmp_path: Path, extra: int = 0) -> Path:
    legacy = tmp_path / "docker-volume" / "_data"
    (legacy / "bài tập" / ".ipynb_checkpoints").mkdir(parents=True)
    (legacy / "bài tập" / "bài-1.ipynb").write_text('{"cells": ["của tôi"]}', encoding="utf-8")
    (legacy / "bài tập" / ".ipynb_checkpoints" / "bài-1-checkpoint.ipynb").write_text("{}", encoding="utf-8")
    (legacy / ".bashrc").write_text("# mine\n", encoding="utf-8")
    (legacy / "lien-ket").symlink_to("bài tập/bài-1.ipynb")
    (legacy / "rieng").mkdir(mode=0o700)
    if extra:
        (legacy / "du-lieu-lon.bin").write_bytes(os.urandom(extra))
    return legacy


def test_writing_past_the_limit_is_no_space_for_that_disk_only(disk_dir: Path) -> None:
    one, two = home_disk(disk_dir, "hocvien1"), home_disk(disk_dir, "hocvien2")
    ensure_home_disk(one, LIMIT)
    ensure_home_disk(two, LIMIT)
    (one.home / "bai-lam.txt").write_text("đã lưu", encoding="utf-8")
    written, error = fill(one.home)
    assert error == errno.ENOSPC and LIMIT // 2 < written <= LIMIT
    assert fill(two.home, "cua-toi.bin") == (pytest.approx(written, rel=0.1), errno.ENOSPC)
    # the host paid at most the limit per learner, whatever they tried
    assert one.image.stat().st_blocks * 512 <= LIMIT + (1 << 20)
    # freeing space makes the disk usable again; files saved before are intact, also after a remount
    (one.home / "lon.bin").unlink()
    (one.home / "moi.txt").write_text("vẫn ghi được", encoding="utf-8")
    assert release_home_disk(one) and not is_mounted(one)
    ensure_home_disk(one, LIMIT)
    assert (one.home / "bai-lam.txt").read_text(encoding="utf-8") == "đã lưu"
    assert (one.home / "moi.txt").read_text(encoding="utf-8") == "vẫn ghi được"
    assert one.image.stat().st_mode & 0o777 == 0o600 and disk_dir.stat().st_mode & 0o777 == 0o700


def test_an_old_home_is_copied_whole_and_kept(disk_dir: Path, tmp_path: Path) -> None:
    legacy = old_home(tmp_path)
    before = tree(legacy)
    disk = home_disk(disk_dir, "hocvien1")
    done = ensure_home_disk(disk, LIMIT, legacy)
    assert any("from" in step for step in done)
    assert tree(disk.home) == before  # names, contents, hidden files, links, modes
    assert tree(legacy) == before  # the old volume is left as it was
    assert (disk.mountpoint / storage.MIGRATION_NOTE).is_file()  # outside the learner's home
    assert not (disk.home / storage.MIGRATION_NOTE).exists()
    # a second start copies nothing again (the disk exists): later work on the disk is not overwritten
    (disk.home / "bài tập" / "bài-1.ipynb").write_text("{}", encoding="utf-8")
    release_home_disk(disk)
    ensure_home_disk(disk, LIMIT, legacy)
    assert (disk.home / "bài tập" / "bài-1.ipynb").read_text(encoding="utf-8") == "{}"


def test_an_old_home_bigger_than_the_limit_is_never_cut(disk_dir: Path, tmp_path: Path) -> None:
    legacy = old_home(tmp_path, extra=LIMIT + (16 << 20))
    disk = home_disk(disk_dir, "hocvien1")
    ensure_home_disk(disk, LIMIT, legacy)
    assert tree(disk.home) == tree(legacy)
    assert disk.image.stat().st_size > LIMIT + (16 << 20)


def test_a_copy_that_fails_leaves_no_disk_and_the_old_home_untouched(
    disk_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the old home does not fit after all (say its size was misjudged), the copy stops with no space: the
    learner gets no half-filled disk, and the old home stays as it was for the next try."""
    legacy = old_home(tmp_path, extra=LIMIT + (8 << 20))
    before = tree(legacy)
    monkeypatch.setattr(storage, "_used_bytes", lambda path: 0)
    disk = home_disk(disk_dir, "hocvien1")
    with pytest.raises(storage.StorageError, match="cannot copy"):
        ensure_home_disk(disk, LIMIT, legacy)
    assert not disk.image.exists() and not is_mounted(disk)
    assert tree(legacy) == before
    monkeypatch.undo()
    ensure_home_disk(disk, LIMIT, legacy)  # the next start, with the size right, copies everything
    assert tree(disk.home) == before


def test_a_crash_half_way_through_a_copy_is_redone(disk_dir: Path, tmp_path: Path) -> None:
    legacy = old_home(tmp_path)
    disk = home_disk(disk_dir, "hocvien1")
    # what a hub killed during the copy leaves: a partial image, still mounted at the scratch mount point
    partial = disk.image.with_name(disk.image.name + ".new")
    scratch = disk.mountpoint.with_name(disk.mountpoint.name + ".new")
    scratch.mkdir(parents=True)
    subprocess.run(["truncate", "-s", str(LIMIT), str(partial)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(partial)], check=True)
    subprocess.run(["mount", "-o", "loop", str(partial), str(scratch)], check=True)
    (scratch / "home").mkdir()
    (scratch / "home" / "nua-chung.txt").write_text("một nửa", encoding="utf-8")
    ensure_home_disk(disk, LIMIT, legacy)
    assert tree(disk.home) == tree(legacy)
    assert not partial.exists() and not os.path.ismount(scratch)


def test_a_raised_limit_grows_the_disk_and_keeps_the_files(disk_dir: Path) -> None:
    disk = home_disk(disk_dir, "hocvien1")
    ensure_home_disk(disk, LIMIT)
    (disk.home / "giu.txt").write_text("giữ", encoding="utf-8")
    total = storage.usage(disk)[1]
    release_home_disk(disk)
    assert "grown to 128M" in ensure_home_disk(disk, 2 * LIMIT)
    assert storage.usage(disk)[1] > 1.8 * total
    assert (disk.home / "giu.txt").read_text(encoding="utf-8") == "giữ"
    release_home_disk(disk)
    ensure_home_disk(disk, LIMIT)  # a lowered limit never shrinks a disk (it could not without losing files)
    assert storage.usage(disk)[1] > 1.8 * total


def test_a_disk_in_use_elsewhere_is_not_unmounted_nor_mounted_twice(disk_dir: Path, tmp_path: Path) -> None:
    """Docker binds the home into a container; while it does, our unmount must wait, and a new mount must
    reuse the same loop device (two filesystems on one image would corrupt it)."""
    disk = home_disk(disk_dir, "hocvien1")
    ensure_home_disk(disk, LIMIT)
    container_view = tmp_path / "container-home"
    container_view.mkdir()
    subprocess.run(["mount", "--bind", str(disk.home), str(container_view)], check=True)
    try:
        assert release_home_disk(disk) is False and is_mounted(disk)
        subprocess.run(["umount", str(disk.mountpoint)], check=True)  # an admin unmounting by hand
        assert "mounted (loop device reused)" in ensure_home_disk(disk, LIMIT)
        assert storage.device_of(disk.mountpoint) == storage.device_of(container_view)
    finally:
        subprocess.run(["umount", str(container_view)], capture_output=True)
    assert release_home_disk(disk) and not is_mounted(disk)


def test_something_else_mounted_there_is_refused(disk_dir: Path) -> None:
    disk = home_disk(disk_dir, "hocvien1")
    disk.mountpoint.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk.mountpoint)], check=True)
    try:
        with pytest.raises(storage.StorageError):
            ensure_home_disk(disk, LIMIT)
    finally:
        subprocess.run(["umount", str(disk.mountpoint)], check=True)
