"""The archive checks shared by the exchange service and its nbgrader client: hostile archives are refused
with bounded memory and time, on inspection and on extraction; archives made by real tools are accepted."""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
import tracemalloc
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from support import hostile_archives as h

from graders.exchange.archive import (
    ArchiveError,
    ArchiveTooLarge,
    Limits,
    extract_archive,
    inspect_archive,
    pack_directory,
    read_members,
)

MiB = 1024 * 1024

# name, archive builder, HTTP status the service answers with, fragment of the English reason
HOSTILE: list[tuple[str, Callable[[], bytes], int, str]] = [
    ("GNU long-name bomb", lambda: h.long_name_bomb(300 * MiB), 413, "long-name/PAX header record"),
    ("PAX header bomb", lambda: h.pax_bomb(300 * MiB), 413, "long-name/PAX header record"),
    ("global PAX header bomb", lambda: h.pax_bomb(300 * MiB, tarfile.XGLTYPE), 413, "long-name/PAX header record"),
    ("GNU sparse map in PAX", lambda: h.sparse_map_bomb(3_000_000), 400, "sparse files are not accepted"),
    ("3000 PAX headers in a row", lambda: h.pax_chain(3000), 400, "damaged"),
    ("20,000 folders", lambda: h.folder_flood(20_000), 413, "too many files and folders (> 500)"),
    ("file x and file x/y", h.file_and_folder, 400, "'x' is both a file and a folder"),
    ("folder timestamp.txt", h.timestamp_folder, 400, "'timestamp.txt' at the top must be a file"),
    ("NFC/NFD twins", h.unicode_twins, 400, "differ only in letter case or Unicode form"),
    ("case twins", h.case_twins, 400, "differ only in letter case or Unicode form"),
    ("negative size", h.negative_size, 400, "damaged"),
    ("200 MB file of zeros", lambda: h.zero_flood(200 * MiB), 413, "too large: file bai.ipynb"),
    ("size hidden by a global PAX record", lambda: h.hidden_by_global_size(200 * MiB), 413, "unpacked archive"),
]


def _refusal(action: Callable[[], object]) -> tuple[ArchiveError, float, float]:
    """The ArchiveError `action` raises, its peak Python memory (MB) and its duration (s)."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ArchiveError) as refused:
            action()
        return refused.value, tracemalloc.get_traced_memory()[1] / MiB, time.monotonic() - started
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("case", "build", "status", "reason"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_archives_are_refused_with_bounded_memory(case, build, status, reason, tmp_path: Path) -> None:
    data = build()
    assert len(data) < Limits().max_archive_bytes  # each fits in an upload
    for how, action in [
        ("inspect", lambda: inspect_archive(data)),
        ("read", lambda: list(read_members(io.BytesIO(data)))),
        ("extract", lambda: extract_archive(data, tmp_path / "out")),
    ]:
        error, peak_mb, seconds = _refusal(action)
        assert reason in error.en, (how, error.en)
        assert error.vi and error.vi != error.en  # Vietnamese first, its own words
        assert error.status == status
        assert isinstance(error, ArchiveTooLarge) == (status == 413)
        assert peak_mb < 20, f"{case} ({how}) held {peak_mb:.0f} MB"
        assert seconds < 10, f"{case} ({how}) took {seconds:.1f} s"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing written


def _gnu_tar(folder: Path, fmt: str) -> bytes:
    out = folder.parent / f"{fmt}.tar.gz"
    subprocess.run(["tar", "-czf", str(out), f"--format={fmt}", "-C", str(folder), "."], check=True)
    return out.read_bytes()


@pytest.mark.parametrize("fmt", ["gnu", "pax", "ustar"])
def test_archives_made_by_gnu_tar_are_accepted(fmt: str, tmp_path: Path) -> None:
    folder = tmp_path / "bai"
    # over 100 bytes: GNU long names or PAX records (ustar cannot hold it)
    deep = folder / "dữ liệu" / ("thư mục rất dài " * (6 if fmt != "ustar" else 1)).strip()
    deep.mkdir(parents=True)
    (folder / "bài-1.ipynb").write_bytes(h.NOTEBOOK)
    (deep / "bảng số liệu.csv").write_text("tỉnh,dân số\nHà Nội,8\n", encoding="utf-8")
    info = inspect_archive(_gnu_tar(folder, fmt))
    assert info.notebooks == ["bài-1.ipynb"]
    assert any(name.endswith("/bảng số liệu.csv") for name in info.files)


def test_a_global_pax_header_like_git_archive_writes_is_accepted() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT, pax_headers={"comment": "a" * 40}) as tar:
        entry = tarfile.TarInfo("bai.ipynb")
        entry.size = len(h.NOTEBOOK)
        tar.addfile(entry, io.BytesIO(h.NOTEBOOK))
    assert inspect_archive(buffer.getvalue()).notebooks == ["bai.ipynb"]


def test_pack_and_extract_keep_vietnamese_names_and_contents(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "dữ liệu").mkdir(parents=True)
    (source / "bài tập.ipynb").write_bytes(h.NOTEBOOK)
    (source / "dữ liệu" / "Hà Nội.csv").write_text("1,2\n", encoding="utf-8")
    (source / ".ipynb_checkpoints").mkdir()
    (source / ".ipynb_checkpoints" / "bài tập-checkpoint.ipynb").write_bytes(h.NOTEBOOK)
    data = pack_directory(source)
    assert inspect_archive(data).notebooks == ["bài tập.ipynb"]
    written = extract_archive(data, tmp_path / "dest")
    assert sorted(written) == ["bài tập.ipynb", "dữ liệu/Hà Nội.csv"]
    assert (tmp_path / "dest" / "dữ liệu" / "Hà Nội.csv").read_text(encoding="utf-8") == "1,2\n"


@pytest.mark.parametrize(
    ("names", "reason"),
    [
        (["Data.csv", "data.csv"], "letter case"),
        ([unicodedata.normalize("NFC", "Bảng.csv"), unicodedata.normalize("NFD", "Bảng.csv")], "Unicode form"),
    ],
)
def test_the_learner_hears_about_twins_before_uploading(names: list[str], reason: str, tmp_path: Path) -> None:
    folder = tmp_path / "bai"
    folder.mkdir()
    (folder / "bai.ipynb").write_bytes(h.NOTEBOOK)
    for name in names:
        (folder / name).write_text(name, encoding="utf-8")
    assert len(list(folder.iterdir())) == 3  # Linux keeps both
    with pytest.raises(ArchiveError) as refused:
        pack_directory(folder)
    assert reason in refused.value.en and "rename one" in refused.value.en


def test_extraction_that_meets_a_folder_names_the_file(tmp_path: Path) -> None:
    data = h.gzip_stream([h.member("bai.ipynb", h.NOTEBOOK), h.member("ket-qua.csv", b"1")])
    dest = tmp_path / "dest"
    (dest / "ket-qua.csv").mkdir(parents=True)  # already there, as a folder
    with pytest.raises(ArchiveError) as refused:
        extract_archive(data, dest)
    assert "cannot write 'ket-qua.csv'" in refused.value.en
    fetched = tmp_path / "fetched"
    (fetched / "ket-qua.csv").mkdir(parents=True)
    assert extract_archive(data, fetched, only_missing=True) == ["bai.ipynb"]  # fetch keeps what is there


def test_a_folder_listed_before_its_files_and_dot_entries_are_fine() -> None:
    data = h.gzip_stream(
        [h.folder("./"), h.folder("./a"), h.member("./a/b.txt", b"1"), h.member("./bai.ipynb", h.NOTEBOOK)]
    )
    assert inspect_archive(data).files == {"a/b.txt": 1, "bai.ipynb": len(h.NOTEBOOK)}


def test_every_header_is_counted() -> None:
    limits = Limits(max_files=10_000, max_headers=50)
    with pytest.raises(ArchiveTooLarge) as refused:
        inspect_archive(h.folder_flood(60), limits)
    assert "too many entries in the archive (> 50)" in refused.value.en


def _notebook(cells: list[dict], metadata: dict | None = None) -> bytes:
    import json

    return json.dumps({"cells": cells, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}).encode()


@pytest.mark.parametrize(
    "build",
    [
        lambda: _notebook([{"cell_type": "raw", "id": f"c{i}", "metadata": {}, "source": ""} for i in range(300_000)]),
        lambda: _notebook([], {"x": [{} for _ in range(2_000_000)]}),
    ],
    ids=["300,000 cells", "2,000,000 objects"],
)
def test_a_notebook_flood_is_refused_before_nbformat_reads_it(build: Callable[[], bytes]) -> None:
    data = h.gzip_stream([h.member("bai.ipynb", build())])
    error, peak_mb, seconds = _refusal(lambda: inspect_archive(data))
    assert error.status == 413 and "too many cells or outputs" in error.en and "xoá kết quả" in error.vi
    assert seconds < 10 and peak_mb < 60, (seconds, peak_mb)  # nbformat took minutes and 340 MB


def test_a_notebook_of_a_few_hundred_cells_is_fine() -> None:
    cells = [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": "x = 1", "execution_count": i,
              "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}]} for i in range(500)]  # fmt: skip
    assert inspect_archive(h.gzip_stream([h.member("bai.ipynb", _notebook(cells))])).notebooks == ["bai.ipynb"]
