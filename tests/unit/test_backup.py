"""`truongso backup` / `truongso restore` (hub/backup/archive.py) on a real data directory layout: SQLite
databases copied consistently while they are written to, files, modes and sparse disk images back as they were,
a running hub's leftovers not kept; and every way an archive can lie refused with nothing changed."""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import stat
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.cli import main
from hub.directory.db import Directory
from hub.directory.models import Person

IMAGE_SIZE = 64 * 1024 * 1024
KEPT = {
    "truongso.toml": b"",
    "secrets/certificates_ed25519.pem": b"-----BEGIN PRIVATE KEY-----\nkhoa\n-----END PRIVATE KEY-----\n",
    "courses/phan-tich-du-lieu/source/01/bai.ipynb": '{"cells": [], "tên": "Bài 1"}'.encode(),
    "exchange/blobs/ab/abcdef": bytes(range(256)) * 64,
    "certificates/PTDL-2026-000001.pdf": b"%PDF-1.7 " + os.urandom(3000),
}
NOT_KEPT = [
    "run/hub.pid",
    "logs/jupyterhub.log",
    "enrol-uploads/tok.csv",
    "exchange/incoming/tmp123",
    "homes/mnt/an/notes.txt",
]


def make_data_dir(root: Path) -> Path:
    data = root / "data"
    for relative, body in KEPT.items():
        path = data / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    (data / "secrets").chmod(0o700)
    (data / "secrets/certificates_ed25519.pem").chmod(0o600)
    (data / "courses/phan-tich-du-lieu/feedback").mkdir()  # an empty folder stays
    for relative in NOT_KEPT:
        (data / relative).parent.mkdir(parents=True, exist_ok=True)
        (data / relative).write_text("x")
    image = data / "homes/an.img"  # a learner's home disk: sparse, a little data in it
    with open(image, "wb") as handle:
        handle.truncate(IMAGE_SIZE)
        handle.seek(5 * 1024 * 1024)
        handle.write(b"bai-lam-cua-an" * 1000)
    directory = Directory(f"sqlite:///{data / 'truongso.sqlite'}")
    directory.ensure_schema()
    with directory.session() as s:
        s.add_all([Person(username="an", full_name="Nguyễn Văn An"), Person(username="binh", full_name="Trần Bình")])
    directory.dispose()
    with sqlite3.connect(data / "courses/phan-tich-du-lieu/gradebook.db") as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE grade (id INTEGER PRIMARY KEY, student TEXT, score REAL)")
        db.execute("INSERT INTO grade (student, score) VALUES ('an', 8.5)")
    return data


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope="module")
def good_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hub.backup import write_backup

    root = tmp_path_factory.mktemp("good")
    archive = root / "out" / "sao-luu.tar.gz"
    write_backup(make_data_dir(root), archive)
    archive.with_name(archive.name + ".sha256").unlink()  # the crafted copies below have none
    return archive


def test_backup_while_the_gradebook_is_written_then_restore_brings_everything_back(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = make_data_dir(tmp_path)
    gradebook = data / "courses/phan-tich-du-lieu/gradebook.db"
    stop = threading.Event()

    def keep_grading() -> None:  # the instructor autograding while the admin backs up
        with sqlite3.connect(gradebook, timeout=30) as db:
            while not stop.is_set():
                db.execute("INSERT INTO grade (student, score) VALUES ('binh', 7.0)")
                db.commit()

    writer = threading.Thread(target=keep_grading)
    writer.start()
    try:
        code, said = run_cli(capsys, "backup", "--data-dir", data, "--output", tmp_path / "b/sao-luu.tar.gz")
    finally:
        stop.set()
        writer.join()
    assert code == 0, said
    assert "SHA-256" in said and (tmp_path / "b/sao-luu.tar.gz.sha256").is_file()
    assert not list((tmp_path / "b").glob(".*partial"))

    code, said = run_cli(capsys, "restore", tmp_path / "b/sao-luu.tar.gz", "--data-dir", tmp_path / "back")
    assert code == 0, said
    back = tmp_path / "back"
    for relative, body in KEPT.items():
        assert (back / relative).read_bytes() == body, relative
    for relative in NOT_KEPT:
        assert not (back / relative).exists(), relative
    assert (back / "courses/phan-tich-du-lieu/feedback").is_dir()
    assert stat.S_IMODE((back / "secrets").stat().st_mode) == 0o700
    assert stat.S_IMODE((back / "secrets/certificates_ed25519.pem").stat().st_mode) == 0o600
    image = back / "homes/an.img"
    assert image.read_bytes() == (data / "homes/an.img").read_bytes()
    assert image.stat().st_blocks * 512 < IMAGE_SIZE // 4  # still sparse
    with sqlite3.connect(back / "courses/phan-tich-du-lieu/gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        restored = db.execute("SELECT count(*) FROM grade").fetchone()[0]
    with sqlite3.connect(gradebook) as db:
        assert 1 <= restored <= db.execute("SELECT count(*) FROM grade").fetchone()[0]
    directory = Directory(f"sqlite:///{back / 'truongso.sqlite'}")
    with directory.session() as s:
        assert {p.username: p.full_name for p in s.query(Person)} == {"an": "Nguyễn Văn An", "binh": "Trần Bình"}
    directory.dispose()
    assert not [p for p in tmp_path.iterdir() if ".restoring-" in p.name]


def test_check_only_reads_and_writes_nothing(good_archive: Path, tmp_path: Path, capsys) -> None:
    code, said = run_cli(capsys, "restore", good_archive, "--data-dir", tmp_path / "x", "--check")
    assert code == 0 and "sound" in said
    assert not (tmp_path / "x").exists()


def test_restore_refuses_a_folder_with_something_in_it(good_archive: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data/truongso.sqlite").write_text("the school's live database")
    code, said = run_cli(capsys, "restore", good_archive, "--data-dir", tmp_path / "data")
    assert code == 1 and "not empty" in said
    assert (tmp_path / "data/truongso.sqlite").read_text() == "the school's live database"


def test_backup_refuses_to_write_inside_the_data_directory_or_over_a_file(tmp_path: Path, capsys) -> None:
    data = make_data_dir(tmp_path)
    code, said = run_cli(capsys, "backup", "--data-dir", data, "--output", data / "b.tar.gz")
    assert code == 1 and "inside the data directory" in said and not (data / "b.tar.gz").exists()
    (tmp_path / "old.tar.gz").write_text("an older backup")
    code, said = run_cli(capsys, "backup", "--data-dir", data, "--output", tmp_path / "old.tar.gz")
    assert code == 1 and "already exists" in said and (tmp_path / "old.tar.gz").read_text() == "an older backup"
    code, said = run_cli(capsys, "backup", "--data-dir", tmp_path / "nowhere", "--output", tmp_path / "n.tar.gz")
    assert code == 1 and "not a Trường Số data directory" in said


# -- archives that lie -------------------------------------------------------------------------------------------

Member = tuple[tarfile.TarInfo, bytes]


def members_of(archive: Path) -> list[Member]:
    with tarfile.open(archive, "r:gz") as tar:
        return [(m, tar.extractfile(m).read() if m.isreg() else b"") for m in tar.getmembers()]


def rebuilt(archive: Path, change: Callable[[list[Member]], list[Member]], out: Path) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, body in change(members_of(archive)):
            info.size = len(body) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(body) if info.isreg() else None)
    out.write_bytes(buffer.getvalue())
    return out


def with_manifest(members: list[Member], edit: Callable[[dict], None]) -> list[Member]:
    info, body = members[-1]
    manifest = json.loads(body)
    edit(manifest)
    return [*members[:-1], (info, json.dumps(manifest).encode())]


def renamed(members: list[Member], name: str, to: str) -> list[Member]:
    info = next(i for i, _ in members if i.name == name)
    info.name = to
    return members


def extra(kind: bytes, name: str, linkname: str = "") -> Callable[[list[Member]], list[Member]]:
    def change(members: list[Member]) -> list[Member]:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, linkname
        return [*members[:-1], (info, b""), members[-1]]

    return change


def flip_content(members: list[Member]) -> list[Member]:
    return [(i, bytes([b[0] ^ 1]) + b[1:] if i.name == "data/exchange/blobs/ab/abcdef" else b) for i, b in members]


def dropped(name: str) -> Callable[[list[Member]], list[Member]]:
    return lambda members: [(i, b) for i, b in members if i.name != name]


def duplicated(members: list[Member]) -> list[Member]:
    first = next(m for m in members if m[0].name == "data/truongso.toml")
    return [*members[:-1], first, members[-1]]


def after_manifest(members: list[Member]) -> list[Member]:
    return [*members, next(m for m in members if m[0].name == "data/truongso.toml")]


def unlisted(members: list[Member]) -> list[Member]:
    info = tarfile.TarInfo("data/secrets/authorized_keys")
    return [*members[:-1], (info, b"ssh-ed25519 AAAA attacker"), members[-1]]


def rewritten_bytes(archive: Path, out: Path, edit: Callable[[bytes], bytes]) -> Path:
    out.write_bytes(edit(archive.read_bytes()))
    return out


CRAFTED = {
    "symlink": extra(tarfile.SYMTYPE, "data/secrets/link", "/etc/shadow"),
    "hardlink": extra(tarfile.LNKTYPE, "data/secrets/hard", "/etc/passwd"),
    "device": extra(tarfile.CHRTYPE, "data/dev-null"),
    "fifo": extra(tarfile.FIFOTYPE, "data/fifo"),
    "absolute-path": lambda m: renamed(m, "data/truongso.toml", "/etc/cron.d/truongso"),
    "dot-dot": lambda m: renamed(m, "data/truongso.toml", "data/../../outside.toml"),
    "outside-data": lambda m: renamed(m, "data/truongso.toml", "truongso.toml"),
    "changed-content": flip_content,
    "missing-file": dropped("data/exchange/blobs/ab/abcdef"),
    "no-manifest": dropped("MANIFEST.json"),
    "duplicate": duplicated,
    "member-after-manifest": after_manifest,
    "unlisted-file": unlisted,
    "manifest-wrong-size": lambda m: with_manifest(m, lambda d: d["files"][0].update(size=d["files"][0]["size"] + 1)),
    "manifest-other-format": lambda m: with_manifest(m, lambda d: d.update(format="tar")),
    "manifest-escapes": lambda m: with_manifest(m, lambda d: d["files"][0].update(path="../../x")),
    "manifest-not-json": lambda m: [*m[:-1], (m[-1][0], b"{not json")],
}


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def one_byte_flipped(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


RAW = {
    "truncated": truncated,
    "truncated-at-the-end": lambda d: d[:-9],
    "one-byte-flipped": one_byte_flipped,
    "empty": lambda d: b"",
    "not-gzip": lambda d: b"PK\x03\x04 a zip, not ours" * 10,
    "gzip-of-garbage": lambda d: gzip.compress(os.urandom(4096)),
}


def refused_and_nothing_changed(archive: Path, tmp_path: Path, capsys) -> str:
    target = tmp_path / "restored"
    code, said = run_cli(capsys, "restore", archive, "--data-dir", target)
    assert code == 1, said
    assert "Traceback" not in said and said.count("\n") == 1, said  # one bilingual line
    assert not target.exists() and not (tmp_path / "outside.toml").exists()
    assert not [p for p in tmp_path.iterdir() if ".restoring-" in p.name]
    return said


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_archives_are_refused(good_archive: Path, tmp_path: Path, capsys, case: str) -> None:
    archive = rebuilt(good_archive, CRAFTED[case], tmp_path / "crafted.tar.gz")
    said = refused_and_nothing_changed(archive, tmp_path, capsys)
    assert "backup refused, nothing changed" in said


@pytest.mark.parametrize("case", sorted(RAW))
def test_damaged_archives_are_refused(good_archive: Path, tmp_path: Path, capsys, case: str) -> None:
    archive = rewritten_bytes(good_archive, tmp_path / "damaged.tar.gz", RAW[case])
    said = refused_and_nothing_changed(archive, tmp_path, capsys)
    assert "refused" in said


def test_the_digest_beside_the_archive_is_checked(good_archive: Path, tmp_path: Path, capsys) -> None:
    """A forger who rewrites the manifest too passes the checksums inside; the digest kept apart catches it."""
    archive = rebuilt(good_archive, lambda m: m, tmp_path / "copy.tar.gz")  # well formed, other bytes
    (tmp_path / "copy.tar.gz.sha256").write_text(f"{'0' * 64}  copy.tar.gz\n")
    said = refused_and_nothing_changed(archive, tmp_path, capsys)
    assert "SHA-256" in said
