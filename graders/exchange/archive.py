"""Assignment folders as .tar.gz archives: packed by the client, checked by the service, unpacked safely.

Only regular files and folders travel; names are relative, without `..`, and limits on size and count are
checked while reading, before anything is written. Python 3.11.2 (Debian's, in our images) has no tarfile
extraction filters, so extraction writes each checked member itself.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import tarfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path


class ArchiveError(ValueError):
    """An archive we refuse; `vi` and `en` say why."""

    def __init__(self, vi: str, en: str) -> None:
        self.vi, self.en = vi, en
        super().__init__(f"{vi} / {en}")


@dataclass(frozen=True)
class Limits:
    max_archive_bytes: int = 25 * 1024 * 1024  # compressed upload
    max_total_bytes: int = 60 * 1024 * 1024  # unpacked
    max_file_bytes: int = 20 * 1024 * 1024  # one file, notebooks included
    max_files: int = 500


@dataclass
class ArchiveInfo:
    files: dict[str, int] = field(default_factory=dict)  # name -> size

    @property
    def notebooks(self) -> list[str]:
        return sorted(n for n in self.files if n.endswith(".ipynb") and "/" not in n)


# Things a learner's folder holds that must not travel: caches, checkpoints, hidden files.
EXCLUDED_PARTS = {".ipynb_checkpoints", "__pycache__", ".git", "feedback"}


def _excluded(relative: str) -> bool:
    parts = relative.split("/")
    return any(p in EXCLUDED_PARTS or p.startswith(".") for p in parts)


def pack_directory(root: Path, limits: Limits = Limits()) -> bytes:
    """The regular files under `root` (no links, no hidden files or caches) as tar.gz bytes."""
    buffer = io.BytesIO()
    total = 0
    count = 0
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            relative_dir = os.path.relpath(dirpath, root)
            for name in sorted(filenames):
                path = Path(dirpath, name)
                relative = name if relative_dir == "." else f"{relative_dir}/{name}".replace(os.sep, "/")
                if _excluded(relative):
                    continue
                if path.is_symlink() or not path.is_file():
                    continue
                size = path.stat().st_size
                total += size
                count += 1
                _check_sizes(relative, size, total, count, limits)
                info = tarfile.TarInfo(relative)
                info.size = size
                info.mode = 0o644
                info.mtime = int(path.stat().st_mtime)
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
    data = buffer.getvalue()
    if len(data) > limits.max_archive_bytes:
        raise _too_big("archive", len(data), limits.max_archive_bytes)
    return data


def check_name(name: str) -> str:
    """A safe relative POSIX name, or ArchiveError."""
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        raise ArchiveError(f"tên tệp không hợp lệ: {name[:80]!r}", f"invalid file name: {name[:80]!r}")
    normalised = posixpath.normpath(name)
    if normalised.startswith("../") or normalised == ".." or "/../" in f"/{name}/":
        raise ArchiveError(
            f"tên tệp ra ngoài thư mục bài: {name[:80]!r}", f"file name escapes the folder: {name[:80]!r}"
        )
    if any(unicodedata.category(c) == "Cc" for c in name) or len(name) > 255:
        raise ArchiveError(f"tên tệp không hợp lệ: {name[:80]!r}", f"invalid file name: {name[:80]!r}")
    return normalised


def read_members(data: bytes, limits: Limits):
    """(name, content) of each regular file, every name and size checked first."""
    if len(data) > limits.max_archive_bytes:
        raise _too_big("archive", len(data), limits.max_archive_bytes)
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
    except (tarfile.TarError, EOFError, OSError, ValueError):
        raise ArchiveError("tệp gửi lên không phải .tar.gz hợp lệ", "the upload is not a valid .tar.gz") from None
    total = 0
    count = 0
    seen: set[str] = set()
    try:
        for member in tar:
            if member.isdir():
                check_name(member.name)
                continue
            if not member.isfile():
                raise ArchiveError(
                    f"chỉ nhận tệp thường, không nhận liên kết/thiết bị: {member.name[:80]!r}",
                    f"only regular files are accepted, not links or devices: {member.name[:80]!r}",
                )
            name = check_name(member.name)
            if name in seen:
                raise ArchiveError(f"tệp lặp lại: {name[:80]!r}", f"duplicate file: {name[:80]!r}")
            seen.add(name)
            total += member.size
            count += 1
            _check_sizes(name, member.size, total, count, limits)
            handle = tar.extractfile(member)
            content = handle.read(member.size + 1) if handle else b""
            if len(content) != member.size:
                raise ArchiveError("tệp nén bị hỏng", "the archive is damaged")
            yield name, content
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError("tệp nén bị hỏng", "the archive is damaged") from None
    finally:
        tar.close()


def inspect_archive(data: bytes, limits: Limits = Limits(), validate_notebooks: bool = True) -> ArchiveInfo:
    """Check every member (names, sizes, kinds) and that every notebook is a valid notebook."""
    info = ArchiveInfo()
    for name, content in read_members(data, limits):
        info.files[name] = len(content)
        if validate_notebooks and name.endswith(".ipynb"):
            check_notebook(name, content)
    return info


def check_notebook(name: str, content: bytes) -> None:
    import nbformat

    try:
        nb = nbformat.reads(content.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except UnicodeDecodeError:
        raise ArchiveError(f"sổ tay {name} không phải UTF-8", f"notebook {name} is not UTF-8") from None
    except (json.JSONDecodeError, nbformat.reader.NotJSONError):
        raise ArchiveError(f"sổ tay {name} không phải JSON hợp lệ", f"notebook {name} is not valid JSON") from None
    except Exception as exc:  # nbformat raises several kinds for a malformed notebook
        raise ArchiveError(
            f"sổ tay {name} không đúng định dạng Jupyter ({exc.__class__.__name__})",
            f"notebook {name} is not a valid Jupyter notebook ({exc.__class__.__name__})",
        ) from None


def extract_archive(data: bytes, dest: Path, limits: Limits = Limits(), only_missing: bool = False) -> list[str]:
    """Write the archive's files under `dest` (created); returns the names written."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written = []
    for name, content in read_members(data, limits):
        target = (root / name).resolve()
        if root not in target.parents:
            raise ArchiveError(
                f"tên tệp ra ngoài thư mục: {name[:80]!r}", f"file name escapes the folder: {name[:80]!r}"
            )
        if only_missing and target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        tmp.write_bytes(content)
        os.replace(tmp, target)
        written.append(name)
    return written


def _check_sizes(name: str, size: int, total: int, count: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise _too_big(f"file {name[:80]}", size, limits.max_file_bytes)
    if total > limits.max_total_bytes:
        raise _too_big("folder", total, limits.max_total_bytes)
    if count > limits.max_files:
        raise ArchiveError(f"quá nhiều tệp (> {limits.max_files})", f"too many files (> {limits.max_files})")


def _too_big(what: str, size: int, limit: int) -> ArchiveError:
    mb = 1024 * 1024
    return ArchiveError(
        f"quá lớn: {what} {size / mb:.1f} MB > {limit / mb:.0f} MB",
        f"too large: {what} is {size / mb:.1f} MB > {limit / mb:.0f} MB",
    )
