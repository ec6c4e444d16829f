"""Hostile .tar.gz uploads, built in code and streamed through zlib so that a bomb that unpacks to hundreds
of megabytes costs the test a few hundred kilobytes of memory.

Each builder returns the compressed bytes a learner could send; the headers are real tar headers
(tarfile.TarInfo.tobuf), only their sizes and order are hostile.
"""

from __future__ import annotations

import io
import tarfile
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from itertools import chain

BLOCK = tarfile.BLOCKSIZE
MiB = 1024 * 1024
# A notebook nbformat accepts, so that only the hostile part of an archive can be the reason for a refusal.
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'  # valid nbformat 4.5, no cells


def header(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mode = size, kind, 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info.tobuf(format=fmt, encoding="utf-8", errors="strict")


def padded(content: bytes) -> bytes:
    return content + b"\0" * (-len(content) % BLOCK)


def member(name: str, content: bytes = b"") -> bytes:
    return header(name, len(content)) + padded(content)


def folder(name: str) -> bytes:
    return header(name.rstrip("/") + "/", 0, tarfile.DIRTYPE)


def zeros(count: int, chunk: int = MiB) -> Iterator[bytes]:
    while count > 0:
        yield b"\0" * min(chunk, count)
        count -= chunk


def gzip_stream(parts: Iterable[bytes]) -> bytes:
    """gzip of the concatenated parts plus the end-of-archive blocks; pass a generator (not a list) for big
    payloads so that the uncompressed whole is never held."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    out = io.BytesIO()
    for part in parts:
        out.write(compressor.compress(part))
    out.write(compressor.compress(b"\0" * (2 * BLOCK)))
    out.write(compressor.flush())
    return out.getvalue()


def long_name_bomb(payload: int) -> bytes:
    """A GNU long-name record announcing `payload` bytes of name (zeros), then an ordinary notebook."""
    record = header("././@LongLink", payload, tarfile.GNUTYPE_LONGNAME, tarfile.GNU_FORMAT)
    return gzip_stream(chain([record], zeros(payload), [member("bai.ipynb", NOTEBOOK)]))


def pax_bomb(payload: int, kind: bytes = tarfile.XHDTYPE) -> bytes:
    """A PAX extended (or global, kind=XGLTYPE) header of `payload` bytes, then an ordinary notebook."""
    record = header("PaxHeader/bai.ipynb", payload, kind, tarfile.PAX_FORMAT)
    return gzip_stream(chain([record], zeros(payload), [member("bai.ipynb", NOTEBOOK)]))


def pax_record(keyword: str, value: str) -> bytes:
    body = f" {keyword}={value}\n".encode()
    length = len(body) + len(str(len(body)))
    length = len(body) + len(str(length))
    return f"{length}{body.decode()}".encode()


def sparse_map_bomb(numbers: int) -> bytes:
    """GNU sparse 1.0 in PAX: tarfile reads one number per line until it has `2 * count` of them."""
    records = pax_record("GNU.sparse.major", "1") + pax_record("GNU.sparse.minor", "0")
    records += pax_record("GNU.sparse.name", "bai.ipynb") + pax_record("GNU.sparse.realsize", "10")
    body = f"{numbers}\n".encode() + b"0\n" * (2 * numbers)
    return gzip_stream(
        [header("PaxHeader/x", len(records), tarfile.XHDTYPE, tarfile.PAX_FORMAT), padded(records),
         header("GNUSparseFile.0/bai.ipynb", len(body)), padded(body), member("bai.ipynb", NOTEBOOK)]
    )  # fmt: skip


def pax_chain(count: int) -> bytes:
    """`count` small PAX headers in a row before one member: tarfile recurses once per header."""
    record = pax_record("comment", "x")
    chain = [header("PaxHeader/x", len(record), tarfile.XHDTYPE, tarfile.PAX_FORMAT) + padded(record)] * count
    return gzip_stream([*chain, member("bai.ipynb", NOTEBOOK)])


def folder_flood(count: int) -> bytes:
    return gzip_stream([*(folder(f"d{i}") for i in range(count)), member("bai.ipynb", NOTEBOOK)])


def file_and_folder(first: str = "x", second: str = "x/y") -> bytes:
    """A file `x` and a file `x/y`: `x` must be both a file and a folder."""
    return gzip_stream([member("bai.ipynb", NOTEBOOK), member(first, b"1"), member(second, b"2")])


def timestamp_folder() -> bytes:
    """A folder named like the file collect writes the submission time into."""
    return gzip_stream([member("bai.ipynb", NOTEBOOK), folder("timestamp.txt"), member("timestamp.txt/a", b"1")])


def unicode_twins(word: str = "Bài tập") -> bytes:
    """The same visible name twice: once composed (NFC, as typed on Windows), once decomposed (NFD, macOS)."""
    nfc, nfd = unicodedata.normalize("NFC", word), unicodedata.normalize("NFD", word)
    assert nfc != nfd
    return gzip_stream(
        [member("bai.ipynb", NOTEBOOK), header_pax_member(f"{nfc}.csv", b"a"), header_pax_member(f"{nfd}.csv", b"b")]
    )


def case_twins() -> bytes:
    return gzip_stream([member("bai.ipynb", NOTEBOOK), member("Data.csv", b"a"), member("data.csv", b"b")])


def header_pax_member(name: str, content: bytes) -> bytes:
    """A member whose non-ASCII name travels in a PAX record, as Python and GNU tar write it."""
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(content), 0o644
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict") + padded(content)


def negative_size() -> bytes:
    """A regular-file header whose size field is a negative base-256 number."""
    block = bytearray(header("bai.ipynb", 0))
    block[124:136] = b"\xff" * 12  # base-256, all ones: -1
    block[148:156] = b" " * 8
    checksum = sum(block)
    block[148:156] = f"{checksum:06o}\0 ".encode()
    return gzip_stream([bytes(block), member("b.ipynb", NOTEBOOK)])


def zero_flood(unpacked: int) -> bytes:
    """One regular file of `unpacked` zeros: tiny upload, huge content (over every size limit)."""
    return gzip_stream(chain([header("bai.ipynb", unpacked)], zeros(unpacked)))


def hidden_by_global_size(unpacked: int) -> bytes:
    """A global PAX record `size=0` and then a file header announcing `unpacked` bytes: every member looks
    empty, while tarfile skips (and so decompresses) the announced bytes."""
    record = pax_record("size", "0")
    return gzip_stream(
        chain([header("pax_global_header", len(record), tarfile.XGLTYPE, tarfile.PAX_FORMAT), padded(record),
               header("data.bin", unpacked)], zeros(unpacked), [member("bai.ipynb", NOTEBOOK)])
    )  # fmt: skip
