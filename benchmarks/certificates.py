"""Certificates: issue a year of them (8,700) and verify them under load, ours beside a naive/stock baseline.

1. Issuing. Ours (`graders.certificates.issue`: batched transactions on the serial counter, fonts registered
   once, QR drawn as vector runs, PDFs rendered by one process per core) against the naive way (one
   transaction per certificate numbering with SELECT MAX+1, fonts parsed for every PDF, reportlab's stock
   QR widget, one process). Both on the same learners, alternately, REPEAT times on a SAMPLE (the naive way
   is too slow for a whole year), then ours alone on the whole year. The registry step without PDFs (number,
   sign, store) is also measured on the whole year for both.
2. Verifying. Every issued credential's signature, offline (credentials per second).
3. Under load. The real hub (`truongso up --spawner local`) with the whole year in its registry: CONCURRENCY
   clients send REQUESTS requests each round to the verification page of random serials (JSON and HTML)
   and to a credential upload check, beside a static file served by the same proxy and hub (the baseline:
   what the proxy path itself costs). Alternate rounds, REPEAT times; P50/P95/P99 and errors.

    .venv/bin/python benchmarks/certificates.py [--learners 8700] [--sample 40] [--repeat 3]
                                                [--requests 1500] [--concurrency 32]

Prints a table and, last, the headline. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests")]

import requests  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from support.gradebooks import add_people, all_passed, make_gradebook  # noqa: E402
from support.hub import ADMIN_PASSWORD, start_hub  # noqa: E402

from graders.certificates import pdf as pdf_module  # noqa: E402
from graders.certificates.config import CertificateSettings  # noqa: E402
from graders.certificates.credential import ensure_signing_key, verify  # noqa: E402
from graders.certificates.issue import issue, make_plan, new_certificate  # noqa: E402
from graders.certificates.models import Certificate, utcnow  # noqa: E402
from graders.certificates.outputs import paths, write_atomic  # noqa: E402
from graders.certificates.store import add_audit, open_store  # noqa: E402
from graders.curriculum import default_courses_root, load_course  # noqa: E402
from hub.directory.learners import roster_for  # noqa: E402

COURSE = "ky-nang-so"
DECISION = "Số 706/QĐ-TBDCB"
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Ngọc", "Minh", "Thu", "Quốc", "Thanh")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hùng", "Lan", "Long", "Mai", "Nam", "Phương", "Quân", "Thảo")
UNITS = ("Sở Thông tin và Truyền thông", "UBND huyện", "Sở Nội vụ", "Cục Chuyển đổi số", "Sở Tài chính")


def learners(n: int) -> list[tuple[str, str, str]]:
    rng = random.Random(7)
    return [
        (f"hv{i:05d}", f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}", rng.choice(UNITS))
        for i in range(n)
    ]


def build(data_dir: Path, n: int, class_size: int = 100) -> CertificateSettings:
    """A directory with n learners in classes of `class_size`, and a gradebook where all have passed."""
    course = load_course(default_courses_root() / COURSE)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "truongso.toml").touch()
    (data_dir / "certificates.toml").write_text("rate_limit_per_minute = 100000000\nrate_limit_burst = 1000000\n")
    url = f"sqlite:///{data_dir / 'truongso.sqlite'}"
    people = learners(n)
    for start in range(0, n, class_size):
        add_people(url, f"KNS-{start // class_size + 1:03d}-2026", course.id, people[start : start + class_size])
    make_gradebook(
        data_dir / "courses" / course.id / "gradebook.db", course, {p[0]: all_passed(course) for p in people}
    )
    settings = CertificateSettings.create({"data_dir": str(data_dir), "db_url": url}, "bench")
    settings.roster = roster_for(url)
    return settings


def fresh_registry(settings: CertificateSettings):
    """An empty registry and output folder (same database file, our tables emptied)."""
    store = open_store(settings.db_url)
    with store.session() as s:
        for table in ("certificates", "certificate_serials", "certificate_audit"):
            s.execute(Certificate.metadata.tables[table].delete())
    shutil.rmtree(settings.output_dir, ignore_errors=True)
    return store


# ---------------------------------------------------------------- the naive way


def stock_qr(c, text: str, x: float, y: float, size: float) -> None:
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(text, barLevel="M", barBorder=2)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, x, y)


def naive_issue(settings: CertificateSettings, store, course, plan_items, with_pdf: bool) -> int:
    """One transaction per certificate, number = MAX+1, fonts parsed again for each PDF, stock QR."""
    key = ensure_signing_key(Path(settings.key_file))
    certificate = partial(new_certificate, settings, course, decision=DECISION, actor="bench", key=key)
    original_qr = pdf_module.draw_qr
    pdf_module.draw_qr = stock_qr
    try:
        for learner, verdict in plan_items:
            issued_at = utcnow()
            year = issued_at.astimezone(ZoneInfo(settings.timezone)).year
            with store.session() as s:
                seq = (s.scalar(select(func.max(Certificate.seq)).where(Certificate.year == year)) or 0) + 1
                cert = certificate(learner, verdict, seq=seq, issued_at=issued_at)
                serial, text = cert.serial, cert.credential
                s.add(cert)
                add_audit(s, "issue", cert, "bench", {})
            if with_pdf:
                pdf_module._registered.clear()  # what a script that registers its fonts per document pays
                fonts = pdf_module.register_fonts(settings.font_regular, settings.font_bold, settings.font_italic)
                pdf_path, json_path = paths(settings, serial, year)
                write_atomic(json_path, text.encode())
                write_atomic(pdf_path, pdf_module.render_pdf(json.loads(text), fonts))
    finally:
        pdf_module.draw_qr = original_qr
    return len(plan_items)


# ---------------------------------------------------------------- measuring


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@dataclass
class Row:
    what: str
    stock: str
    ours: str
    ratio: str


def issuing(settings: CertificateSettings, sample: int, repeat: int, everyone: int) -> tuple[list[Row], float]:
    course = load_course(default_courses_root() / COURSE)
    store = fresh_registry(settings)
    plan = make_plan(settings, store, course)
    items = plan.eligible[:sample]
    chosen = [lr for lr, _ in items]
    per_naive, per_ours = [], []
    for _ in range(repeat):
        naive_store = fresh_registry(settings)
        per_naive.append(timed(lambda s=naive_store: naive_issue(settings, s, course, items, True)) / len(items))
        our_store = fresh_registry(settings)
        per_ours.append(
            timed(lambda s=our_store: issue(settings, s, COURSE, decision=DECISION, actor="bench", learners=chosen))
            / len(items)
        )
    rows = [
        Row(
            f"issue with PDF, per certificate (sample {len(items)}, median of {repeat})",
            f"{statistics.median(per_naive) * 1000:.1f} ms",
            f"{statistics.median(per_ours) * 1000:.1f} ms",
            f"{statistics.median(per_naive) / statistics.median(per_ours):.1f}x",
        )
    ]

    # the registry step alone, on the whole year: numbering, signing, storing
    all_learners = [lr for lr, _ in plan.eligible]
    store = fresh_registry(settings)
    naive_db = timed(lambda: naive_issue(settings, store, course, plan.eligible, False))
    store = fresh_registry(settings)
    from graders.certificates import issue as issue_module

    real_write = issue_module.write_outputs
    issue_module.write_outputs = lambda *a, **k: 0  # registry only
    try:
        ours_db = timed(lambda: issue(settings, store, COURSE, decision=DECISION, actor="bench", learners=all_learners))
    finally:
        issue_module.write_outputs = real_write
    rows.append(
        Row(
            f"registry only (number, sign, store), {len(all_learners)} certificates",
            f"{naive_db:.1f} s",
            f"{ours_db:.1f} s",
            f"{naive_db / ours_db:.1f}x",
        )
    )

    # the whole year with PDFs, ours only (the naive way would take hours)
    store = fresh_registry(settings)
    whole = timed(lambda: issue(settings, store, COURSE, decision=DECISION, actor="bench", learners=all_learners))
    assert store.count() == len(all_learners) == everyone
    estimate = statistics.median(per_naive) * everyone
    rows.append(
        Row(
            f"a whole year with PDFs: {everyone} certificates",
            f"~{estimate / 60:.0f} min (estimated)",
            f"{whole / 60:.1f} min ({everyone / whole:.0f}/s)",
            f"{estimate / whole:.1f}x",
        )
    )
    return rows, whole


def completion_rules(folder: Path, n: int, repeat: int) -> Row:
    """Reading every learner's result: nbgrader's own `submission_dicts` (stock) vs ours, same gradebook."""
    from support.gradebooks import alembic_on_path

    from graders.certificates.rules import read_results

    course = load_course(default_courses_root() / COURSE)
    path = folder / "rules" / "gradebook.db"
    make_gradebook(path, course, {p[0]: all_passed(course) for p in learners(n)})
    alembic_on_path()
    from nbgrader.api import Gradebook

    def stock() -> None:
        with Gradebook(f"sqlite:///{path}", course_id=course.id) as gb:
            for a in course.assignments:
                gb.submission_dicts(a.id)

    stock_times, our_times = [], []
    for _ in range(repeat):
        stock_times.append(timed(stock))
        our_times.append(timed(lambda: read_results(course, f"sqlite:///{path}")))
    s, o = statistics.median(stock_times), statistics.median(our_times)
    return Row(
        f"read every learner's result, {n} learners x {len(course.assignments)} assignments",
        f"{s:.1f} s (nbgrader submission_dicts)",
        f"{o:.2f} s",
        f"{s / o:.0f}x",
    )


def offline_verification(settings: CertificateSettings) -> Row:
    store = open_store(settings.db_url)
    key = ensure_signing_key(Path(settings.key_file)).public_key()
    documents = [json.loads(c.credential) for c in store.listing()]
    elapsed = timed(lambda: [verify(d, key) for d in documents])
    assert all(verify(d, key).ok for d in documents[:50])
    return Row(
        f"verify {len(documents)} signatures offline", "-", f"{elapsed:.1f} s ({len(documents) / elapsed:.0f}/s)", "-"
    )


STATUS_SEEN: dict[int, int] = {}


def load(urls: list[str], concurrency: int, method: str = "GET", body: bytes | None = None) -> tuple[list, int]:
    sessions = [requests.Session() for _ in range(concurrency)]
    errors = 0

    def one(i: int) -> float:
        nonlocal errors
        s = sessions[i % concurrency]
        started = time.perf_counter()
        try:
            if method == "GET":
                r = s.get(urls[i], timeout=30)
            else:
                r = s.post(urls[i], data=body, headers={"Content-Type": "application/json"}, timeout=30)
            if r.status_code != 200:
                errors += 1
                STATUS_SEEN[r.status_code] = STATUS_SEEN.get(r.status_code, 0) + 1
        except requests.RequestException:
            errors += 1
        return time.perf_counter() - started

    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(len(urls))))
    return latencies, errors


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def under_load(settings: CertificateSettings, n_requests: int, concurrency: int, repeat: int) -> list[Row]:
    data_dir = settings.data_path
    hub = start_hub(data_dir, "--spawner", "local", env={"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD})
    try:
        base = hub.url
        # serial/code: the page that shows a certificate (a serial alone shows only its status)
        serials = [f"{c.serial}/{c.verification_code}" for c in open_store(settings.db_url).listing()]
        credential = next(iter(open_store(settings.db_url).listing())).credential.encode()
        rng = random.Random(3)
        kinds = {
            "static file via proxy (baseline)": ("GET", lambda: f"{base}/hub/static/favicon.ico", None),
            "verify page, JSON": (
                "GET",
                lambda: f"{base}/services/certificates/verify/{rng.choice(serials)}?format=json",
                None,
            ),
            "verify page, HTML": ("GET", lambda: f"{base}/services/certificates/verify/{rng.choice(serials)}", None),
            "upload check (POST credential)": ("POST", lambda: f"{base}/services/certificates/verify", credential),
        }
        results: dict[str, list[tuple[list[float], int, float]]] = {k: [] for k in kinds}
        load([kinds["verify page, JSON"][1]() for _ in range(200)], concurrency)  # warm up
        for _ in range(repeat):
            for name, (method, make_url, body) in kinds.items():
                urls = [make_url() for _ in range(n_requests)]
                started = time.perf_counter()
                latencies, errors = load(urls, concurrency, method, body)
                results[name].append((latencies, errors, n_requests / (time.perf_counter() - started)))
        rows = []
        for name, runs in results.items():
            p50 = statistics.median(pct(r[0], 50) for r in runs)
            p95 = statistics.median(pct(r[0], 95) for r in runs)
            p99 = statistics.median(pct(r[0], 99) for r in runs)
            rps = statistics.median(r[2] for r in runs)
            errs = sum(r[1] for r in runs)
            rows.append(
                Row(
                    f"{name}: P50/P95/P99, req/s, errors ({concurrency} clients)",
                    "",
                    f"{p50:.0f}/{p95:.0f}/{p99:.0f} ms, {rps:.0f}/s, {errs}",
                    "",
                )
            )
        static_p50 = float(rows[0].ours.split("/")[0])
        for row in rows[1:]:
            row.stock = rows[0].ours
            row.ratio = f"{float(row.ours.split('/')[0]) / static_p50:.1f}x P50 of static"
        return rows
    finally:
        hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=8700)
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--rules-learners", type=int, default=1500, help="gradebook size for the stock-vs-ours rules read"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="truongso-bench-cert-"))
    try:
        t = time.perf_counter()
        settings = build(folder / "data", args.learners)
        print(f"setup: {args.learners} learners, gradebook, directory in {time.perf_counter() - t:.0f} s", flush=True)
        rows, whole = issuing(settings, args.sample, args.repeat, args.learners)
        rows.append(completion_rules(folder, args.rules_learners, args.repeat))
        rows.append(offline_verification(settings))
        rows.extend(under_load(settings, args.requests, args.concurrency, args.repeat))
        width = max(len(r.what) for r in rows)
        print(f"\n{'measure'.ljust(width)} | {'stock / naive':>28} | {'ours':>34} | ratio")
        for r in rows:
            print(f"{r.what.ljust(width)} | {r.stock:>28} | {r.ours:>34} | {r.ratio}")
        if STATUS_SEEN:
            print(f"non-200 answers: {STATUS_SEEN}")
        print(f"\n(at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.learners} learners, data in {folder})")
        print(
            f"HEADLINE: {rows[0].ratio} faster per certificate than the naive way; a year of {args.learners} "
            f"certificates with PDFs in {whole / 60:.1f} min; verification P50 {rows[-3].ours.split(',')[0]} "
            f"under {args.concurrency} concurrent clients ({rows[-3].ratio})"
        )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
