"""One archive of a school's data directory (`truongso backup`), checked end to end before anything is restored
(`truongso restore`).

The archive is a gzip'd tar: every file of the data directory under `data/`, then `MANIFEST.json` last, which
lists each file's size, SHA-256 and mode. SQLite databases are copied with SQLite's online backup API (a
consistent copy while the hub writes to them); other files are read as they are, each file once, so one being
written during the backup may be torn, as with any file-level copy (named in the manifest's `changed`).
Beside the archive, `<archive>.sha256` (sha256sum's format) holds the digest of the whole file.

Restoring reads the archive twice: a first pass checks every member against the manifest (nothing but regular
files and folders, no absolute or `..` names, no duplicates, every size and digest right, nothing missing or
extra) and the second writes the files into a new folder beside the target, checking each digest again, then
renames it into place. A damaged, truncated or tampered archive is refused and the target is left as it was.
Checksums find damage, not a forger who rewrites the manifest too: keep the printed digest (or the .sha256 file)
apart from the archive to detect that.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from graders.text import UserError

FORMAT = "truongso-backup"
VERSION = 1
ROOT = "data"  # every file of the data directory is under data/ in the archive
MANIFEST = "MANIFEST.json"
# Not part of a school's records: a running hub's pid files and state, its logs, half-received uploads, the mount points
# of the learners' home disks (their contents are in the disk images beside them), Python's caches.
SKIPPED_DIRS = ("run", "logs", "enrol-uploads", "exchange/incoming", "homes/mnt", ".databases")
SKIPPED_NAMES = ("__pycache__",)
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")  # the online backup copies what they hold
SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
MAX_MEMBERS = 2_000_000
CHUNK = 1024 * 1024


@dataclass
class Entry:
    path: str  # relative to the data directory, POSIX
    size: int
    sha256: str
    mode: int
    kind: str = "file"  # file | sqlite | pgdump (a PostgreSQL database, at .databases/<setting>.pgdump)


@dataclass
class BackupResult:
    archive: Path
    digest: str  # SHA-256 of the whole archive
    files: int
    databases: int
    bytes: int  # of the files, before compression
    changed: list[str] = field(default_factory=list)


@dataclass
class Manifest:
    created_at: str
    files: dict[str, Entry]
    dirs: list[str]
    changed: list[str]


# -- writing ---------------------------------------------------------------------------------------------------


def write_backup(data_dir: Path, output: Path, databases: dict[str, str] | None = None) -> BackupResult:
    """Archive `data_dir` into `output` (written under a temporary name, renamed when complete), with the
    PostgreSQL `databases` (setting name -> URL) dumped into it."""
    data_dir = data_dir.absolute()
    output = output.absolute()
    if not data_dir.is_dir():
        raise UserError(f"không có thư mục dữ liệu {data_dir}", f"no data directory {data_dir}")
    if output.exists():
        raise UserError(f"{output} đã có: chọn tên khác", f"{output} already exists: choose another name")
    if output.parent == data_dir or data_dir in output.parents:
        raise UserError(
            "tệp sao lưu không được nằm trong thư mục dữ liệu", "the backup file must not be inside the data directory"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    entries: list[Entry] = []
    dirs: list[str] = []
    changed: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="truongso-backup-") as staging:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as raw:
                # level 1: the learners' disk images are mostly zeros, which any level packs; the rest is small
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as packed:
                    with tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar:
                        if databases:
                            entries += _add_dumps(tar, databases, Path(staging), dirs)
                        for relative, path in _walk(data_dir):
                            if path.is_dir():
                                dirs.append(relative)
                                tar.addfile(_info(f"{ROOT}/{relative}", tarfile.DIRTYPE, 0, path.stat().st_mode))
                            else:
                                entry = _add_file(tar, relative, path, Path(staging), changed)
                                if entry is not None:
                                    entries.append(entry)
                        manifest = {
                            "format": FORMAT,
                            "version": VERSION,
                            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                            "files": [entry.__dict__ for entry in entries],
                            "dirs": dirs,
                            "changed": changed,
                        }
                        body = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
                        tar.addfile(_info(MANIFEST, tarfile.REGTYPE, len(body), 0o600), io.BytesIO(body))
                raw.flush()
                os.fsync(raw.fileno())
        digest = _file_digest(partial)
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    output.with_name(output.name + ".sha256").write_text(f"{digest}  {output.name}\n", encoding="utf-8")
    return BackupResult(
        output,
        digest,
        len(entries),
        sum(e.kind in ("sqlite", "pgdump") for e in entries),
        sum(e.size for e in entries),
        changed,
    )


def _add_dumps(tar: tarfile.TarFile, databases: dict[str, str], staging: Path, dirs: list[str]) -> list[Entry]:
    from hub.backup import postgres

    dirs.append(postgres.FOLDER)
    tar.addfile(_info(f"{ROOT}/{postgres.FOLDER}", tarfile.DIRTYPE, 0, 0o700))
    entries = []
    for setting, url in sorted(databases.items()):
        dumped = staging / f"{setting}.pgdump"
        postgres.dump(url, dumped)
        relative = f"{postgres.FOLDER}/{setting}.pgdump"
        with open(dumped, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            reader = _Exactly(handle, size)
            tar.addfile(_info(f"{ROOT}/{relative}", tarfile.REGTYPE, size, 0o600), reader)
        dumped.unlink()
        entries.append(Entry(relative, size, reader.digest.hexdigest(), 0o600, "pgdump"))
    return entries


def _walk(data_dir: Path) -> Iterator[tuple[str, Path]]:
    """Every folder and regular file below `data_dir`, sorted, without the skipped parts; symbolic links and
    special files are not followed or kept (a data directory has none of its own)."""
    for top, folders, files in os.walk(data_dir, followlinks=False):
        here = Path(top)
        relative_top = here.relative_to(data_dir).as_posix()
        folders[:] = sorted(
            f
            for f in folders
            if f not in SKIPPED_NAMES and _relative(relative_top, f) not in SKIPPED_DIRS and not (here / f).is_symlink()
        )
        if relative_top != ".":
            yield relative_top, here
        for name in sorted(files):
            path = here / name
            if path.is_symlink() or not path.is_file() or name.endswith(SQLITE_COMPANIONS):
                continue
            yield _relative(relative_top, name), path


def _relative(top: str, name: str) -> str:
    return name if top == "." else f"{top}/{name}"


def _add_file(tar: tarfile.TarFile, relative: str, path: Path, staging: Path, changed: list[str]) -> Entry | None:
    try:
        mode = path.stat().st_mode
        kind = "sqlite" if _is_sqlite(path) else "file"
        if kind == "sqlite":
            copy = staging / "db.sqlite"
            _sqlite_copy(path, copy)
            source = copy
        else:
            source = path
        with open(source, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            reader = _Exactly(handle, size)
            tar.addfile(_info(f"{ROOT}/{relative}", tarfile.REGTYPE, size, mode), reader)
        if kind == "sqlite":
            copy.unlink()
    except FileNotFoundError:  # removed while the backup ran (a finished upload, a rotated file)
        return None
    if reader.padded:
        changed.append(relative)
    return Entry(relative, size, reader.digest.hexdigest(), mode & 0o7777 & ~0o7000, kind)


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while others write (it restarts if they write meanwhile)."""
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    copy = sqlite3.connect(target)
    try:
        origin.backup(copy)
    except sqlite3.DatabaseError as exc:
        raise UserError(
            f"không sao lưu được cơ sở dữ liệu {source.name}: {exc}", f"cannot back up the database {source}: {exc}"
        ) from None
    finally:
        copy.close()
        origin.close()


class _Exactly(io.RawIOBase):
    """Reads exactly `size` bytes of `handle`, hashing them: a file that grows while it is read is cut at the size
    it had, one that shrinks is padded with zeros (and named as changed), so the archive stays well formed."""

    def __init__(self, handle: IO[bytes], size: int) -> None:
        self.handle, self.left, self.digest, self.padded = handle, size, hashlib.sha256(), False

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.handle.read(n) if n else b""
        if len(data) < n:
            self.padded = True
            data += b"\0" * (n - len(data))
        self.left -= len(data)
        self.digest.update(data)
        return data


def _info(name: str, kind: bytes, size: int, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.mtime = kind, size, mode & 0o777, 0
    return info


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- checking and restoring ------------------------------------------------------------------------------------


def _refused(vi: str, en: str) -> UserError:
    return UserError(f"bản sao lưu bị từ chối, không thay đổi gì: {vi}", f"backup refused, nothing changed: {en}")


def _members(archive: Path) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
    """The archive's members in order, then the rest of the stream read so gzip checks its CRC and length (a
    file cut after the tar's end would pass otherwise). Callers read members inside `_damage_is_refusal`."""
    with tarfile.open(archive, mode="r:gz") as tar:
        count = 0
        while (member := tar.next()) is not None:
            count += 1
            if count > MAX_MEMBERS:
                raise _refused("quá nhiều mục", "too many members")
            yield member, tar
        while tar.fileobj.read(CHUNK):
            pass


@contextmanager
def _damage_is_refusal(archive: Path) -> Iterator[None]:
    """Any error reading the archive is the archive's fault, said once in both languages."""
    try:
        yield
    except FileNotFoundError:
        raise UserError(f"không có tệp {archive}", f"no such file {archive}") from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):  # the target's fault
            raise UserError(f"không ghi được: {exc.strerror}", f"cannot write: {exc.strerror}") from None
        raise _refused(
            f"tệp hỏng hoặc bị cắt cụt ({exc.__class__.__name__})",
            f"the file is damaged or truncated ({exc.__class__.__name__})",
        ) from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise _refused(
            f"tệp hỏng hoặc bị cắt cụt ({exc.__class__.__name__})",
            f"the file is damaged or truncated ({exc.__class__.__name__})",
        ) from None


def _data_path(name: str) -> str:
    """`data/<relative>` → relative, or a refusal for any name that could land outside the target."""
    pure = PurePosixPath(name)
    if (
        name != pure.as_posix()
        or pure.is_absolute()
        or ".." in pure.parts
        or len(pure.parts) < 2
        or pure.parts[0] != ROOT
        or "\\" in name
        or "\0" in name
    ):
        raise _refused(f"tên không hợp lệ trong tệp: {name[:200]!r}", f"a name that is not allowed: {name[:200]!r}")
    return PurePosixPath(*pure.parts[1:]).as_posix()


def verify_backup(archive: Path) -> Manifest:
    """Every member checked against the manifest (see the module's docstring); the manifest, or a refusal."""
    _check_side_digest(archive)
    seen_files: dict[str, tuple[int, str]] = {}
    seen_dirs: set[str] = set()
    with _damage_is_refusal(archive):
        manifest_body = _read_members(archive, seen_files, seen_dirs)
    if manifest_body is None:
        raise _refused("thiếu MANIFEST.json (tệp bị cắt cụt?)", "no MANIFEST.json (a truncated file?)")
    manifest = _parse_manifest(manifest_body)
    if set(manifest.files) != set(seen_files):
        missing = sorted(set(manifest.files) - set(seen_files))[:3]
        extra = sorted(set(seen_files) - set(manifest.files))[:3]
        raise _refused(f"tệp thiếu {missing} hoặc thừa {extra}", f"files missing {missing} or not listed {extra}")
    if set(manifest.dirs) != seen_dirs:
        raise _refused("danh sách thư mục không khớp", "the folders do not match the manifest")
    for path, (size, digest) in seen_files.items():
        entry = manifest.files[path]
        if entry.size != size or entry.sha256 != digest:
            raise _refused(f"nội dung {path} không khớp mã kiểm tra", f"{path} does not match its checksum")
    return manifest


def _read_members(archive: Path, seen_files: dict[str, tuple[int, str]], seen_dirs: set[str]) -> bytes | None:
    """Each member's kind and name checked, each file's size and digest noted; the manifest's bytes."""
    manifest_body: bytes | None = None
    for member, tar in _members(archive):
        if manifest_body is not None:
            raise _refused("có mục sau MANIFEST.json", "members after MANIFEST.json")
        if member.name == MANIFEST and member.isreg():
            if member.size > MAX_MANIFEST_BYTES:
                raise _refused("MANIFEST.json quá lớn", "MANIFEST.json is too large")
            manifest_body = tar.extractfile(member).read()
            continue
        relative = _data_path(member.name)
        if relative in seen_files or relative in seen_dirs:
            raise _refused(f"mục trùng tên: {relative}", f"a duplicate member: {relative}")
        if member.isdir():
            seen_dirs.add(relative)
        elif member.isreg():
            seen_files[relative] = (member.size, _digest_of(tar.extractfile(member)))
        else:
            raise _refused(
                f"mục không phải tệp thường hay thư mục (liên kết, thiết bị…): {relative}",
                f"a member that is not a regular file or folder (a link, a device…): {relative}",
            )
    return manifest_body


def _check_side_digest(archive: Path) -> None:
    side = archive.with_name(archive.name + ".sha256")
    if not side.is_file():
        return
    expected = side.read_text(encoding="utf-8", errors="replace").split()[:1]
    if not expected or _file_digest(archive) != expected[0].lower():
        raise _refused(f"mã SHA-256 của cả tệp khác với {side.name}", f"the file's SHA-256 differs from {side.name}")


def _digest_of(handle: IO[bytes] | None) -> str:
    digest = hashlib.sha256()
    while handle is not None and (chunk := handle.read(CHUNK)):
        digest.update(chunk)
    return digest.hexdigest()


def _parse_manifest(body: bytes) -> Manifest:
    try:
        raw = json.loads(body.decode("utf-8"))
        if raw.get("format") != FORMAT or raw.get("version") != VERSION:
            raise ValueError(f"format {raw.get('format')!r} version {raw.get('version')!r}")
        files = {}
        for item in raw["files"]:
            entry = Entry(str(item["path"]), int(item["size"]), str(item["sha256"]), int(item["mode"]),
                          str(item.get("kind", "file")))  # fmt: skip
            _data_path(f"{ROOT}/{entry.path}")
            files[entry.path] = entry
        dirs = [str(d) for d in raw["dirs"]]
        return Manifest(str(raw["created_at"]), files, dirs, [str(c) for c in raw.get("changed", [])])
    except UserError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _refused(f"MANIFEST.json không đọc được ({exc})", f"MANIFEST.json is unreadable ({exc})") from None


def restore_backup(
    archive: Path, data_dir: Path, databases: Callable[[Path, Manifest], None] | None = None
) -> Manifest:
    """Bring the archive back as `data_dir`, which must not exist yet or be empty. `databases(folder, manifest)`
    restores what lives outside the folder (PostgreSQL) from the files written so far, before they are put in
    place; it may refuse, and then nothing is put in place."""
    data_dir = data_dir.absolute()
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise UserError(
            f"{data_dir} đã có dữ liệu: khôi phục vào một thư mục mới hoặc rỗng",
            f"{data_dir} is not empty: restore into a new or empty folder",
        )
    manifest = verify_backup(archive)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = data_dir.with_name(f".{data_dir.name}.restoring-{secrets.token_hex(4)}")
    staging.mkdir(mode=0o700)
    try:
        with _damage_is_refusal(archive):
            _extract(archive, manifest, staging)
        if databases is not None:
            databases(staging, manifest)
        shutil.rmtree(staging / ".databases", ignore_errors=True)  # the dumps' job is done
        if data_dir.exists():
            data_dir.rmdir()  # empty, checked above
        os.replace(staging, data_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _extract(archive: Path, manifest: Manifest, target: Path) -> None:
    """Write the files (never through a link, never over one), each digest checked again as it is written: the
    archive may have changed since it was verified."""
    for directory in sorted(manifest.dirs):
        (target / directory).mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    folder_modes: dict[str, int] = {}
    for member, tar in _members(archive):
        if member.name == MANIFEST:
            continue
        if member.isdir():
            folder_modes[_data_path(member.name)] = member.mode & 0o777 | 0o700  # the owner keeps access
            continue
        relative = _data_path(member.name)
        entry = manifest.files.get(relative)
        if entry is None or relative in written or not member.isreg():
            raise _refused(f"tệp đã thay đổi khi đang khôi phục: {relative}", f"the archive changed: {relative}")
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, entry.mode & 0o777)
        digest = hashlib.sha256()
        source = tar.extractfile(member)
        with os.fdopen(fd, "wb") as out:
            while source is not None and (chunk := source.read(CHUNK)):
                digest.update(chunk)
                if chunk.count(0) == len(chunk):
                    out.seek(len(chunk), os.SEEK_CUR)  # a hole: the learners' disk images stay sparse
                else:
                    out.write(chunk)
            out.truncate(member.size)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(path, entry.mode & 0o777)  # the umask may have taken bits off
        if digest.hexdigest() != entry.sha256:
            raise _refused(f"tệp đã thay đổi khi đang khôi phục: {relative}", f"the archive changed: {relative}")
        written.add(relative)
    if written != set(manifest.files) or set(folder_modes) != set(manifest.dirs):
        raise _refused("tệp đã thay đổi khi đang khôi phục", "the archive changed while it was restored")
    for directory, mode in sorted(folder_modes.items(), reverse=True):
        os.chmod(target / directory, mode)


def describe(manifest: Manifest) -> dict[str, Any]:
    return {
        "created_at": manifest.created_at,
        "files": len(manifest.files),
        "databases": sum(e.kind in ("sqlite", "pgdump") for e in manifest.files.values()),
        "bytes": sum(e.size for e in manifest.files.values()),
    }
