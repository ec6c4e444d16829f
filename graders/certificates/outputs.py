"""Files of issued certificates: `<output_dir>/<year>/<serial>.pdf` and `.json`, written atomically.

Rendering is the slow part of issuing (a page with embedded font subsets), so a large batch is spread over
worker processes; each registers the fonts once. Files are derived from the registry: a crash between the
database commit and the files is repaired by the next `issue` (ensure_outputs), never by renumbering.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from graders.certificates.config import CertificateSettings
from graders.certificates.models import Certificate
from graders.certificates.pdf import Fonts, register_fonts, render_pdf

PARALLEL_FROM = 64  # below this, starting worker processes costs more than it saves


@dataclass(frozen=True)
class Job:
    credential: str  # the stored JSON text
    pdf: str
    json: str


def paths(settings: CertificateSettings, serial: str, year: int) -> tuple[Path, Path]:
    folder = Path(settings.output_dir) / str(year)
    return folder / f"{serial}.pdf", folder / f"{serial}.json"


def fonts_of(settings: CertificateSettings) -> Fonts:
    return register_fonts(settings.font_regular, settings.font_bold, settings.font_italic)


def write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never half of it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def credential_file_bytes(credential: str) -> bytes:
    return (credential.rstrip("\n") + "\n").encode("utf-8")


def _run(job: Job, fonts: Fonts) -> None:
    write_atomic(Path(job.json), credential_file_bytes(job.credential))
    write_atomic(Path(job.pdf), render_pdf(json.loads(job.credential), fonts))


_worker_fonts: Fonts | None = None


def _init_worker(regular: str, bold: str, italic: str) -> None:
    global _worker_fonts
    _worker_fonts = register_fonts(regular, bold, italic)


def _run_chunk(jobs: Sequence[Job]) -> int:
    assert _worker_fonts is not None
    for job in jobs:
        _run(job, _worker_fonts)
    return len(jobs)


def write_outputs(settings: CertificateSettings, certs: Iterable[Certificate], workers: int | None = None) -> int:
    """Write the PDF and JSON of `certs`; returns how many were written."""
    jobs = []
    for cert in certs:
        pdf, js = paths(settings, cert.serial, cert.year)
        jobs.append(Job(cert.credential, str(pdf), str(js)))
    if not jobs:
        return 0
    workers = workers if workers is not None else (settings.render_workers or os.cpu_count() or 1)
    fonts = fonts_of(settings)  # fails early, in this process, if no usable font
    if workers <= 1 or len(jobs) < PARALLEL_FROM:
        for job in jobs:
            _run(job, fonts)
        return len(jobs)
    size = max(8, len(jobs) // (workers * 4))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    # forkserver: never fork a process that may hold database connections and threads
    context = multiprocessing.get_context("forkserver")
    font_files = (settings.font_regular, settings.font_bold, settings.font_italic)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=font_files) as pool:
        return sum(pool.map(_run_chunk, chunks))


def missing_outputs(settings: CertificateSettings, certs: Iterable[Certificate]) -> list[Certificate]:
    out = []
    for cert in certs:
        pdf, js = paths(settings, cert.serial, cert.year)
        if not (pdf.is_file() and js.is_file()):
            out.append(cert)
    return out


def ensure_pdf(settings: CertificateSettings, cert: Certificate) -> Path:
    """The PDF of one certificate, rendered now if its file is missing (e.g. deleted, or a crash)."""
    pdf, _ = paths(settings, cert.serial, cert.year)
    if not pdf.is_file():
        write_outputs(settings, [cert], workers=1)
    return pdf
