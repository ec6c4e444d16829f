"""Learners' home disks: one ext4 image file per learner, loop-mounted on the host, with a hard size limit.

A Docker named volume on the host's disk has no size limit, so one learner could fill the host's disk and
stop everyone (the database, the exchange, other learners' saves). What enforces a limit on this kind of
machine (checked 2026-12-02, kernel 6.18, Docker 20.10, overlay2 on ext4, no loadable modules):

- Docker's `local` volume driver cannot loop-mount a file (`o=loop` is a mount(8) option; Docker calls
  mount(2), which answers EINVAL), and its `size=` option exists only for tmpfs (files must persist);
- overlay2's `--storage-opt size=` needs /var/lib/docker on xfs with pquota (it is ext4 here) and covers
  the container's own layer, not a volume; ext4 project quotas need the host's root filesystem remounted;
- a loop-mounted filesystem image per learner works: `mount -o loop` (the loop driver is built in and
  /dev/loop-control makes devices on demand), the kernel itself answers ENOSPC at the limit, and only
  that learner's filesystem is full. A fresh 2 GiB image costs ~1 MB of host disk (sparse, lazy init),
  and `discard` gives deleted files' space back to the host.

So each learner has `<disk_dir>/<name>.img` (ext4, no reserved blocks), mounted at `<disk_dir>/mnt/<name>`
while their workspace runs; the home folder is its `home/` sub-folder (lost+found and our migration note
stay out of the learner's sight), bound into the container through a Docker volume of type `none,bind`
(so Docker still copies the image's skeleton into a new home, and `docker volume rm`/`prune` cannot
delete files: they live in the image file). Failure modes are in the README (Workspaces).

Migration: a learner's existing unbounded volume (`<prefix>-home-<user>`) is copied into a new image at
their next start. The copy is made under a temporary name and renamed only when complete, and the old
volume is never deleted (the admin removes it after checking). An old home larger than the limit gets an
image big enough for it (plus room to work), so nothing is ever cut.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from graders.text import BilingualError, Text, UserError

WORKSPACE_UID = 1000  # the image's learner (images/workspace/Dockerfile: useradd --uid 1000)
MIN_DISK = 64 << 20  # below this an ext4 image is mostly journal and metadata
MIGRATION_NOTE = ".truongso-migration.json"  # in the image's root, next to home/, not in the learner's home
TOOLS = ("mkfs.ext4", "e2fsck", "resize2fs", "mount", "umount")
MOUNT_OPTIONS = "loop,discard,nosuid,nodev,errors=remount-ro"


class StorageError(BilingualError):
    """A home disk could not be made ready; the learner's files are untouched. `text` is bilingual."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.vi, text.en)


def parse_size(value: str) -> int:
    """Bytes of a size like `2G`, `500M`, `1.5GiB`, `0`; binary units (as Docker's mem_limit)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", value)
    if match is None:
        raise ValueError(f"not a size: {value!r} (e.g. 2G, 500M, 0)")
    number, unit = match.groups()
    return int(float(number) * (1 << (10 * " kmgt".index(unit.lower() or " "))))


def format_size(size: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.3g}{unit}"
    return f"{size}B"


@dataclass(frozen=True)
class HomeDisk:
    image: Path
    mountpoint: Path

    @property
    def home(self) -> Path:
        """What the workspace sees as its home folder."""
        return self.mountpoint / "home"


def home_disk(disk_dir: Path, key: str) -> HomeDisk:
    """The disk of the learner whose escaped name is `key` (hub.spawner.stable_escape: [a-z0-9-] only)."""
    if not re.fullmatch(r"[a-z0-9-]+", key):
        raise ValueError(f"not an escaped name: {key!r}")
    return HomeDisk(disk_dir / f"{key}.img", disk_dir / "mnt" / key)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StorageError(Text(f"thiếu lệnh {name}", f"the {name} command is missing"))
    return path


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([_tool(args[0]), *args[1:]], capture_output=True, text=True, timeout=timeout)
    return done


def _check(done: subprocess.CompletedProcess, what: Text) -> None:
    if done.returncode != 0:
        reason = " ".join((done.stderr or done.stdout).split())[:300]
        raise StorageError(Text(f"{what.vi} ({reason})", f"{what.en} ({reason})"))


def mounted_image(mountpoint: Path) -> Path | None:
    """The image file whose loop device is mounted at `mountpoint`, or None if nothing is mounted there.
    Raises StorageError when something else is mounted there."""
    if not os.path.ismount(mountpoint):
        return None
    device = os.stat(mountpoint).st_dev
    major, minor = os.major(device), os.minor(device)
    backing = Path(f"/sys/dev/block/{major}:{minor}/loop/backing_file")
    try:
        return Path(backing.read_text().strip())
    except OSError:
        raise StorageError(
            Text(f"{mountpoint} đã gắn một thứ không phải ảnh đĩa", f"{mountpoint} has something else mounted")
        ) from None


def is_mounted(disk: HomeDisk) -> bool:
    """Whether the learner's own image is mounted at its place (not just any filesystem)."""
    image = mounted_image(disk.mountpoint)
    if image is None:
        return False
    if image != disk.image.resolve():
        raise StorageError(
            Text(
                f"{disk.mountpoint} đang gắn {image}, không phải {disk.image}",
                f"{disk.mountpoint} has {image} mounted, not {disk.image}",
            )
        )
    return True


def device_of(path: Path) -> tuple[int, int]:
    """(major, minor) of the filesystem holding `path`: how a container's home is matched to the disk."""
    device = os.stat(path).st_dev
    return os.major(device), os.minor(device)


def ensure_home_disk(disk: HomeDisk, size: int, legacy: Path | None = None) -> list[str]:
    """Make the learner's disk ready: created (with `legacy`'s files copied in) if missing, grown to `size`
    if smaller, checked and mounted. Safe to repeat; returns what was done, for the log.

    `size` 0 means: no limit for new disks (none is created) and no growth for existing ones."""
    done: list[str] = []
    disk.image.parent.mkdir(parents=True, exist_ok=True)
    disk.image.parent.chmod(0o700)  # learners' files: root only on the host
    disk.mountpoint.mkdir(parents=True, exist_ok=True)
    if is_mounted(disk):
        return done
    if not disk.image.exists():
        if size <= 0:
            raise StorageError(Text("chưa có ảnh đĩa và không đặt giới hạn", "no disk image and no limit set"))
        done.append(_create(disk, size, legacy))
    elif _attached(disk.image):
        # Still in use through its loop device (e.g. our mount point was unmounted by hand while a container
        # ran): checking or growing it now could corrupt it; mount(8) reuses that device, so one filesystem.
        _mount(disk.image, disk.mountpoint)
        done.append("mounted (loop device reused)")
        return done
    elif size > disk.image.stat().st_size:
        _grow(disk.image, size)
        done.append(f"grown to {format_size(size)}")
    _fsck(disk.image)
    _mount(disk.image, disk.mountpoint)
    done.append("mounted")
    if not disk.home.is_dir():  # an image made by hand, or by a version without home/
        disk.home.mkdir()
        os.chown(disk.home, WORKSPACE_UID, WORKSPACE_UID)
    return done


def _create(disk: HomeDisk, size: int, legacy: Path | None) -> str:
    """A new image under a temporary name, renamed when complete: a crash half-way leaves only the
    temporary file (redone next time), never an image that looks complete but lacks files."""
    partial = disk.image.with_name(disk.image.name + ".new")
    scratch = disk.mountpoint.with_name(disk.mountpoint.name + ".new")
    scratch.mkdir(parents=True, exist_ok=True)
    if mounted_image(scratch) is not None:
        _check(_run("umount", str(scratch)), Text("không gỡ được", "cannot unmount"))
    partial.unlink(missing_ok=True)
    used = _used_bytes(legacy) if legacy is not None else 0
    # ext4 needs room for metadata and a journal; an old home bigger than the limit is never cut.
    image_size = max(size, used + used // 8 + MIN_DISK) if used else size
    with partial.open("wb") as f:
        f.truncate(image_size)  # sparse: costs host disk only as it fills
    partial.chmod(0o600)
    _check(
        _run(
            "mkfs.ext4", "-q", "-F", "-m", "0", "-L", "truongso-home",
            "-E", "root_owner=0:0,lazy_itable_init=1,lazy_journal_init=1", str(partial),
        ),
        Text("không tạo được hệ thống tệp", "cannot make the filesystem"),
    )  # fmt: skip
    _mount(partial, scratch)
    try:
        home = scratch / "home"
        home.mkdir(mode=0o755)
        os.chown(home, WORKSPACE_UID, WORKSPACE_UID)
        note = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "size": image_size}
        if legacy is not None:
            # cp -a keeps owners, modes, times, links; "/." takes hidden files too
            copied = _run("cp", "-a", "--", f"{legacy}/.", f"{home}/")
            _check(copied, Text(f"không chép được {legacy}", f"cannot copy {legacy}"))
            note["copied_from"] = str(legacy)
        (scratch / MIGRATION_NOTE).write_text(json.dumps(note), encoding="utf-8")
        os.sync()
    finally:
        subprocess.run([_tool("umount"), str(scratch)], capture_output=True)
    os.rename(partial, disk.image)
    scratch.rmdir()
    if legacy is not None:
        return f"created {format_size(image_size)} from {legacy} ({format_size(used)}; the old volume is kept)"
    return f"created {format_size(image_size)}"


def _used_bytes(path: Path) -> int:
    done = _run("du", "-s", "-B1", "--", str(path))
    _check(done, Text(f"không đọc được {path}", f"cannot read {path}"))
    return int(done.stdout.split()[0])


def _attached(image: Path) -> bool:
    """Whether a loop device has this image (the kernel's own list, /sys/block/loop*/loop/backing_file)."""
    target = str(image.resolve())
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        try:
            if backing.read_text().strip() == target:
                return True
        except OSError:
            continue
    return False


def _fsck(image: Path) -> None:
    """Check (and replay the journal) before mounting: 0 clean, 1-2 fixed; anything else needs a person."""
    done = _run("e2fsck", "-p", str(image))
    if done.returncode not in (0, 1, 2):
        _check(done, Text(f"ảnh đĩa {image} bị lỗi, cần e2fsck -f", f"disk image {image} is damaged, needs e2fsck -f"))


def _grow(image: Path, size: int) -> None:
    """A raised limit applies at the next start (the image is not mounted then). Never shrinks."""
    with image.open("r+b") as f:
        f.truncate(size)
    _check(_run("e2fsck", "-f", "-p", str(image)), Text("e2fsck lỗi", "e2fsck failed"))
    _check(_run("resize2fs", str(image)), Text("không nới được ảnh đĩa", "cannot grow the disk image"))


def _mount(image: Path, mountpoint: Path) -> None:
    # mount(8) finds a free loop device (autoclear: it goes with the unmount), and reuses the device when the
    # image is still attached: never two loop devices, and so two filesystems, on one image.
    _check(
        _run("mount", "-t", "ext4", "-o", MOUNT_OPTIONS, str(image), str(mountpoint)),
        Text(f"không gắn được ảnh đĩa {image}", f"cannot mount disk image {image}"),
    )


def _other_mounts(mountpoint: Path) -> list[str]:
    """Other mounts of the filesystem mounted at `mountpoint` in this mount namespace (dockerd's): Docker's
    bind of the volume while a container uses it. umount(8) of ours would succeed anyway (a separate mount),
    leaving the filesystem in use with no mount point of ours: so we do not unmount then."""
    major, minor = device_of(mountpoint)
    others = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            where = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])  # \040 is a space
            if fields[2] == f"{major}:{minor}" and where != str(mountpoint):
                others.append(where)
    return others


def release_home_disk(disk: HomeDisk) -> bool:
    """Unmount after the workspace stopped (frees the loop device); False when something still uses it."""
    if mounted_image(disk.mountpoint) is None:
        return True
    if _other_mounts(disk.mountpoint):
        return False
    return subprocess.run([_tool("umount"), str(disk.mountpoint)], capture_output=True).returncode == 0


def release_all(disk_dir: Path) -> int:
    """Unmount every learner disk no container uses any more (`truongso down --workspaces`, tests)."""
    released = 0
    mounts = disk_dir / "mnt"
    if not mounts.is_dir():
        return 0
    for mountpoint in mounts.iterdir():
        try:
            image = mounted_image(mountpoint)
            if image is not None and release_home_disk(HomeDisk(image, mountpoint)):
                released += 1
        except (StorageError, OSError):
            continue
    return released


def usage(disk: HomeDisk) -> tuple[int, int]:
    """(used, total) bytes of a mounted disk."""
    st = os.statvfs(disk.mountpoint)
    return (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_blocks * st.f_frsize


def check_disk_support(disk_dir: Path) -> None:
    """`truongso up`: prove, with a small image, that this machine can make, mount and fill a learner disk
    (tools, root, a loop device), or refuse with how to fix it."""
    fix = Text(
        "cài e2fsprogs và mount, chạy truongso up với quyền root trên máy có thiết bị loop (/dev/loop-control), "
        'hoặc đặt workspace_disk_limit = "0" (không giới hạn dung lượng, không khuyến nghị)',
        "install e2fsprogs and mount, run truongso up as root on a machine with loop devices "
        '(/dev/loop-control), or set workspace_disk_limit = "0" (no storage limit, not recommended)',
    )
    try:
        for name in TOOLS:
            _tool(name)
        probe = HomeDisk(disk_dir / ".probe.img", disk_dir / "mnt" / ".probe")
        if mounted_image(probe.mountpoint) is not None:
            subprocess.run([_tool("umount"), str(probe.mountpoint)], capture_output=True)
        probe.image.unlink(missing_ok=True)
        try:
            _create(probe, MIN_DISK, None)
            ensure_home_disk(probe, 0)
            (probe.home / "probe").write_bytes(b"ok")
        finally:
            # clean up what the probe got as far as making, and never hide why it failed behind this clean-up
            release_home_disk(probe)
            probe.image.unlink(missing_ok=True)
            for folder in (probe.mountpoint, probe.mountpoint.with_name(probe.mountpoint.name + ".new")):
                if folder.is_dir() and mounted_image(folder) is None:
                    folder.rmdir()
            probe.image.with_name(probe.image.name + ".new").unlink(missing_ok=True)
    except (StorageError, OSError) as exc:
        text = exc.text if isinstance(exc, StorageError) else Text(str(exc), str(exc))
        raise UserError(
            f"không tạo được ổ đĩa giới hạn dung lượng cho học viên: {text.vi}; {fix.vi}",
            f"cannot make size-limited learner disks: {text.en}; {fix.en}",
        ) from None
