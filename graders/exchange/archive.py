"""Assignment folders as .tar.gz archives: packed by the client, checked by the service, unpacked safely.

Only regular files and folders travel. Every archive is read as a stream with bounded memory, and the same
checks run on the learner's side before upload, in the service before anything is stored, and again on
extraction (collect, fetch, feedback):

- the gzip stream is decompressed piece by piece and refused as soon as it grows past what the limits allow
  (`Limits.max_stream_bytes`), so a small upload cannot unpack to gigabytes;
- tarfile calls a hook for every header before it reads what the header announces: there each header is
  counted (files, folders, GNU long-name and PAX records alike), long-name/PAX payloads are bounded
  (`max_header_bytes` each, `max_header_total` together) and links, devices and sparse files are refused;
- names are relative, without `..`, control characters or undecodable bytes, each part at most 255 bytes;
- no name may be both a file and a folder (`x` and `x/y`), and no two names may be equal once Unicode form
  (NFC/NFD) and letter case are ignored: such archives cannot be unpacked the same way on every system
  (macOS and Windows fold both) and make two files look like one to the instructor;
- `timestamp.txt` at the top is the file nbgrader writes the submission time into: it may not be a folder;
- sizes: each file, all files together, the number of files and folders.

Python 3.11.2 (Debian's, in our images) has no tarfile extraction filters, so extraction writes each checked
member itself, and only after the whole archive has been checked.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import posixpath
import tarfile
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from graders.text import BilingualError

MiB = 1024 * 1024
# GNU long names/links and PAX records: headers that describe the next member instead of being one.
_RECORD_TYPES = frozenset({tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE})
_FILE_TYPES = frozenset({tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE})
# Real tools write at most a global PAX header, a PAX header, a long name and a long link before a member.
_MAX_RECORDS_IN_A_ROW = 8
RESERVED_FILES = ("timestamp.txt",)  # written by collect at the top of each submission


class ArchiveError(BilingualError, ValueError):
    """An archive we refuse; `vi` and `en` say why, `status` is the HTTP status the service answers with."""

    status = 400


class ArchiveTooLarge(ArchiveError):
    """Over a size or count limit."""

    status = 413


@dataclass(frozen=True)
class Limits:
    max_archive_bytes: int = 25 * MiB  # compressed upload
    max_total_bytes: int = 60 * MiB  # all files' contents, unpacked
    max_file_bytes: int = 20 * MiB  # one file, notebooks included
    max_files: int = 500  # files and folders
    max_headers: int = 2000  # every tar header: files, folders, long-name and PAX records
    max_header_bytes: int = 64 * 1024  # one long-name or PAX record's payload (a name is at most 255 chars)
    max_header_total: int = MiB  # all such payloads together (PAX headers stay in memory with their member)
    # nbformat spends about half a millisecond per cell reading and validating (a 20 MB notebook of 300,000
    # empty cells held 340 MB for over two minutes); course notebooks have under 100 cells
    max_notebook_cells: int = 2000
    max_notebook_objects: int = 50_000  # JSON objects: cells, their metadata, outputs and output data

    @property
    def max_stream_bytes(self) -> int:
        """The most an acceptable archive can unpack to as a tar stream: the files, one header block and up
        to one block of padding per header, the records' payloads, and the end-of-archive blocks."""
        return self.max_total_bytes + self.max_headers * 2 * tarfile.BLOCKSIZE + self.max_header_total + 64 * 1024


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


# -- names --------------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """A safe relative POSIX name (normalised), or ArchiveError."""
    shown = name[:80]
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        raise ArchiveError(f"tên tệp không hợp lệ: {shown!r}", f"invalid file name: {shown!r}")
    normalised = posixpath.normpath(name)
    if normalised.startswith("../") or normalised == ".." or "/../" in f"/{name}/":
        raise ArchiveError(f"tên tệp ra ngoài thư mục bài: {shown!r}", f"file name escapes the folder: {shown!r}")
    # Cc: control characters; Cs: bytes that were not UTF-8 (tarfile keeps them as lone surrogates)
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name) or len(name) > 255:
        raise ArchiveError(f"tên tệp không hợp lệ: {shown!r}", f"invalid file name: {shown!r}")
    if any(len(part.encode("utf-8")) > 255 for part in normalised.split("/")):
        raise ArchiveError(f"tên tệp quá dài: {shown!r}", f"file name too long: {shown!r}")
    return normalised


def _fold(name: str) -> str:
    """What macOS and Windows consider the same name: one Unicode form, one letter case."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


class NameIndex:
    """The names of one archive, refusing duplicates, twins and names that are both file and folder."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}  # folded -> name as given
        self.folders: dict[str, str] = {}

    def add_file(self, name: str) -> None:
        key = _fold(name)
        if key in self.files:
            if self.files[key] == name:
                raise ArchiveError(f"tệp lặp lại: {name[:80]!r}", f"duplicate file: {name[:80]!r}")
            raise _twins(self.files[key], name)
        if key in self.folders:
            raise _file_and_folder(name)
        self._add_parents(name)
        self.files[key] = name

    def add_folder(self, name: str) -> None:
        if name == ".":
            return
        key = _fold(name)
        if key in self.files:
            raise _file_and_folder(name)
        self._add_parents(name)
        self._add_one_folder(key, name)

    def _add_parents(self, name: str) -> None:
        parts = name.split("/")
        for end in range(1, len(parts)):
            parent = "/".join(parts[:end])
            key = _fold(parent)
            if key in self.files:
                raise _file_and_folder(parent)
            self._add_one_folder(key, parent)

    def _add_one_folder(self, key: str, name: str) -> None:
        known = self.folders.setdefault(key, name)
        if known != name:
            raise _twins(known, name)
        if "/" not in name and key in RESERVED_FILES:
            raise ArchiveError(
                f"{name!r} ở thư mục gốc phải là tệp (nơi ghi thời điểm nộp bài), không được là thư mục",
                f"{name!r} at the top must be a file (it holds the submission time), not a folder",
            )


def _file_and_folder(name: str) -> ArchiveError:
    return ArchiveError(f"{name[:80]!r} vừa là tệp vừa là thư mục", f"{name[:80]!r} is both a file and a folder")


def _twins(first: str, second: str) -> ArchiveError:
    return ArchiveError(
        f"hai tên chỉ khác nhau ở chữ hoa/thường hoặc cách mã hoá Unicode (NFC/NFD): {first[:80]!r} và "
        f"{second[:80]!r}; hãy đổi tên một tệp",
        f"two names differ only in letter case or Unicode form (NFC/NFD): {first[:80]!r} and {second[:80]!r}; "
        "rename one of them",
    )


# -- reading ------------------------------------------------------------------------------------------


class _Decompressed(io.RawIOBase):
    """The gzip stream, decompressed a buffer at a time and refused as soon as it grows past `cap`."""

    def __init__(self, compressed: BinaryIO, cap: int) -> None:
        super().__init__()
        self._gzip = gzip.GzipFile(fileobj=compressed, mode="rb")
        self._cap = cap
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self._gzip.readinto(buffer)
        self.produced += count
        if self.produced > self._cap:
            raise _too_big("tệp nén khi giải nén", "the unpacked archive", self.produced, self._cap)
        return count


class _Budget:
    """Counts of one archive's headers, checked before tarfile reads what a header announces."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.headers = 0
        self.record_bytes = 0
        self.records_in_a_row = 0

    def check(self, info: tarfile.TarInfo) -> None:
        limits = self.limits
        self.headers += 1
        if self.headers > limits.max_headers:
            raise ArchiveTooLarge(
                f"quá nhiều mục trong tệp nén (> {limits.max_headers})",
                f"too many entries in the archive (> {limits.max_headers})",
            )
        if info.size < 0:
            raise _damaged()
        if info.type in _RECORD_TYPES:
            self.records_in_a_row += 1
            self.record_bytes += info.size
            if info.size > limits.max_header_bytes:
                raise _too_big("một bản ghi tên dài/PAX trong tệp nén", "a long-name/PAX header record",
                               info.size, limits.max_header_bytes)  # fmt: skip
            if self.record_bytes > limits.max_header_total:
                raise _too_big("các bản ghi tên dài/PAX trong tệp nén", "the long-name/PAX header records",
                               self.record_bytes, limits.max_header_total)  # fmt: skip
            if self.records_in_a_row > _MAX_RECORDS_IN_A_ROW:
                raise _damaged()
        elif info.type in _FILE_TYPES or info.type == tarfile.DIRTYPE:
            self.records_in_a_row = 0
        else:
            raise _not_regular(info.name)


class _CheckedTarInfo(tarfile.TarInfo):
    """tarfile calls `_proc_member` for every header, before reading what the header announces; the module
    documents it as the method to override in a subclass. Each header is checked there first."""

    def _proc_member(self, tarfile: _CheckedTarFile) -> tarfile.TarInfo:
        tarfile.budget.check(self)
        return super()._proc_member(tarfile)

    # GNU sparse maps in PAX records make tarfile read and keep numbers with no bound (a 12 KB upload held
    # 540 MB); sparse files are not regular files for us anyway.
    def _proc_gnusparse_00(self, *args: object) -> None:
        raise ArchiveError("không nhận tệp thưa (sparse)", "sparse files are not accepted")

    _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00


class _CheckedTarFile(tarfile.TarFile):
    tarinfo = _CheckedTarInfo

    def __init__(self, *args: object, budget: _Budget, **kwargs: object) -> None:
        self.budget = budget  # set first: the constructor already reads the first header
        super().__init__(*args, **kwargs)


Source = bytes | BinaryIO


def _compressed(source: Source, limits: Limits) -> BinaryIO:
    stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes | bytearray | memoryview) else source
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size > limits.max_archive_bytes:
        raise _too_big("tệp nén", "archive", size, limits.max_archive_bytes)
    return stream


def walk_archive(
    source: Source, limits: Limits = Limits(), keep: Callable[[str], bool] = lambda name: True
) -> Iterator[tuple[str, int, bytes | None]]:
    """(name, size, content) of each regular file, in archive order, each checked before it is yielded;
    content is None for the files `keep` does not want (they are read through, not held)."""
    stream = _compressed(source, limits)
    names = NameIndex()
    total = count = 0
    try:
        with _CheckedTarFile.open(fileobj=_Decompressed(stream, limits.max_stream_bytes), mode="r|",
                                  budget=_Budget(limits)) as tar:  # fmt: skip
            for member in tar:
                count += 1
                if count > limits.max_files:
                    raise ArchiveTooLarge(
                        f"quá nhiều tệp và thư mục (> {limits.max_files})",
                        f"too many files and folders (> {limits.max_files})",
                    )
                if member.type == tarfile.DIRTYPE:
                    names.add_folder(check_name(member.name))
                    continue
                if member.type not in _FILE_TYPES or getattr(member, "sparse", None) is not None:
                    raise _not_regular(member.name)
                name = check_name(member.name)
                if name == ".":
                    raise ArchiveError(f"tên tệp không hợp lệ: {member.name!r}", f"invalid file name: {member.name!r}")
                names.add_file(name)
                if member.size < 0:
                    raise _damaged()
                total += member.size
                _check_sizes(name, member.size, total, count, limits)
                yield name, member.size, _read(tar, member, keep(name))
    except ArchiveError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error, RecursionError, OverflowError):
        raise _damaged() from None


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo, keep: bool) -> bytes | None:
    handle = tar.extractfile(member)
    if handle is None:
        raise _damaged()
    if keep:
        content = handle.read(member.size + 1)
        if len(content) != member.size:
            raise _damaged()
        return content
    remaining = member.size
    while remaining:
        chunk = handle.read(min(remaining, MiB))
        if not chunk:
            raise _damaged()
        remaining -= len(chunk)
    return None


def read_members(source: Source, limits: Limits = Limits()) -> Iterator[tuple[str, bytes]]:
    """(name, content) of each regular file, every header, name and size checked first."""
    for name, _, content in walk_archive(source, limits):
        yield name, content or b""


def inspect_archive(source: Source, limits: Limits = Limits(), validate_notebooks: bool = True) -> ArchiveInfo:
    """Check every member (names, sizes, kinds) and that every notebook is a valid notebook."""
    info = ArchiveInfo()
    wanted: Callable[[str], bool] = lambda name: validate_notebooks and name.endswith(".ipynb")  # noqa: E731
    for name, size, content in walk_archive(source, limits, keep=wanted):
        info.files[name] = size
        if content is not None:
            check_notebook(name, content, limits)
    return info


class _TooComplex(Exception):
    pass


def check_notebook(name: str, content: bytes, limits: Limits = Limits()) -> None:
    """A valid Jupyter notebook, with its size in cells and JSON objects bounded before nbformat reads it."""
    import nbformat

    objects = 0

    def count(obj: dict) -> dict:  # json calls this for every object it decodes: stop a flood at once
        nonlocal objects
        objects += 1
        if objects > limits.max_notebook_objects:
            raise _TooComplex
        return obj

    try:
        text = content.decode("utf-8")
        cells = json.loads(text, object_hook=count).get("cells")
        if isinstance(cells, list) and len(cells) > limits.max_notebook_cells:
            raise _TooComplex
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except _TooComplex:
        raise ArchiveTooLarge(
            f"sổ tay {name} quá nhiều ô hoặc kết quả (tối đa {limits.max_notebook_cells} ô, "
            f"{limits.max_notebook_objects} đối tượng JSON); hãy xoá kết quả (Kernel → Restart & Clear Output)",
            f"notebook {name} has too many cells or outputs (at most {limits.max_notebook_cells} cells, "
            f"{limits.max_notebook_objects} JSON objects); clear its outputs (Kernel → Restart & Clear Output)",
        ) from None
    except UnicodeDecodeError:
        raise ArchiveError(f"sổ tay {name} không phải UTF-8", f"notebook {name} is not UTF-8") from None
    except (json.JSONDecodeError, nbformat.reader.NotJSONError):
        raise ArchiveError(f"sổ tay {name} không phải JSON hợp lệ", f"notebook {name} is not valid JSON") from None
    except Exception as exc:  # nbformat raises several kinds for a malformed notebook
        raise ArchiveError(
            f"sổ tay {name} không đúng định dạng Jupyter ({exc.__class__.__name__})",
            f"notebook {name} is not a valid Jupyter notebook ({exc.__class__.__name__})",
        ) from None


# -- writing ------------------------------------------------------------------------------------------


def pack_directory(root: Path, limits: Limits = Limits()) -> bytes:
    """The regular files under `root` (no links, no hidden files or caches) as tar.gz bytes, refused
    here with the same name and size rules the service applies, so the learner hears why before uploading."""
    buffer = io.BytesIO()
    names = NameIndex()
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
                relative = check_name(relative)
                names.add_file(relative)
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
        raise _too_big("tệp nén", "archive", len(data), limits.max_archive_bytes)
    return data


def extract_archive(source: Source, dest: Path, limits: Limits = Limits(), only_missing: bool = False) -> list[str]:
    """Write the archive's files under `dest` (created); returns the names written.

    The whole archive is read and checked before the first file is written, so a refused archive leaves
    nothing behind; a file that cannot be written (a folder of that name already there, disk full) is an
    ArchiveError naming it."""
    members = list(read_members(source, limits))
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written = []
    for name, content in members:
        target = (root / name).resolve()
        if root not in target.parents:
            raise ArchiveError(
                f"tên tệp ra ngoài thư mục: {name[:80]!r}", f"file name escapes the folder: {name[:80]!r}"
            )
        if only_missing and target.exists():
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.part")
            tmp.write_bytes(content)
            os.replace(tmp, target)
        except OSError as exc:
            raise ArchiveError(
                f"không ghi được tệp {name[:80]!r}: {exc.strerror or exc}",
                f"cannot write {name[:80]!r}: {exc.strerror or exc}",
            ) from None
        written.append(name)
    return written


# -- limits -------------------------------------------------------------------------------------------


def _check_sizes(name: str, size: int, total: int, count: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise _too_big(f"tệp {name[:80]}", f"file {name[:80]}", size, limits.max_file_bytes)
    if total > limits.max_total_bytes:
        raise _too_big("cả thư mục", "folder", total, limits.max_total_bytes)
    if count > limits.max_files:
        raise ArchiveTooLarge(
            f"quá nhiều tệp và thư mục (> {limits.max_files})", f"too many files and folders (> {limits.max_files})"
        )


def _too_big(what_vi: str, what_en: str, size: int, limit: int) -> ArchiveTooLarge:
    return ArchiveTooLarge(
        f"quá lớn: {what_vi} {_amount(size)} > {_amount(limit)}",
        f"too large: {what_en} is {_amount(size)} > {_amount(limit)}",
    )


def _amount(size: int) -> str:
    return f"{size / MiB:.1f} MB" if size >= MiB else f"{size / 1024:.0f} KB"


def _damaged() -> ArchiveError:
    return ArchiveError("tệp nén bị hỏng", "the archive is damaged")


def _not_regular(name: str) -> ArchiveError:
    return ArchiveError(
        f"chỉ nhận tệp thường và thư mục, không nhận liên kết/thiết bị: {name[:80]!r}",
        f"only regular files and folders are accepted, not links or devices: {name[:80]!r}",
    )
