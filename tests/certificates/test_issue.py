"""Issuing: exactly the right certificates, never twice, never the same number, even from two processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from support.certificates_world import CLASS, DECISION, OTHER_CLASS, World, build_world, need_tool, submissions
from support.hub import TRUONGSO

from graders.certificates.credential import ensure_signing_key, verify
from graders.certificates.issue import issue
from graders.certificates.store import open_store


def run_issue(world: World, class_name: str | None = CLASS, **kwargs):
    store = open_store(world.db_url)
    return store, issue(
        world.settings, store, world.course.id, decision=DECISION, actor="test", class_name=class_name, **kwargs
    )


def test_exactly_the_eligible_learners_get_one(world: World) -> None:
    store, first = run_issue(world, CLASS)
    assert sorted(c.username for c in first.issued) == ["an", "huong", "lien"]
    assert sorted(lr.username for lr, _ in first.plan.incomplete) == ["cho", "ngoc", "thang"]
    assert [c.serial for c in sorted(first.issued, key=lambda c: c.seq)] == [
        f"TS-{first.issued[0].year}-00000{i}" for i in (1, 2, 3)
    ]
    # again: nothing new, the same three are reported as certified
    _, second = run_issue(world, CLASS)
    assert second.issued == [] and sorted(lr.username for lr, _ in second.plan.certified) == ["an", "huong", "lien"]
    # the other class gets the next number; the whole course then has four
    _, other = run_issue(world, OTHER_CLASS)
    assert [(c.username, c.seq) for c in other.issued] == [("vy", 4)]
    _, everyone = run_issue(world, None)
    assert everyone.issued == [] and len(everyone.plan.certified) == 4
    assert [e.action for e in store.audit()] == ["issue"] * 4


def test_already_certified_learner_is_skipped(world: World) -> None:
    from graders.certificates.issue import Learner

    huong = [Learner("huong", "Đặng Thị Hường", "Cục Chuyển đổi số quốc gia", CLASS)]
    _, before = run_issue(world, CLASS, learners=huong)
    assert [c.username for c in before.issued] == ["huong"]
    _, result = run_issue(world, CLASS)
    assert sorted(c.username for c in result.issued) == ["an", "lien"]
    assert [lr.username for lr, _ in result.plan.certified] == ["huong"]


def test_dry_run_writes_nothing(world: World) -> None:
    store, result = run_issue(world, CLASS, dry_run=True)
    assert sorted(lr.username for lr, _ in result.plan.eligible) == ["an", "huong", "lien"]
    assert result.issued == [] and store.count() == 0
    assert not Path(world.settings.output_dir).exists() and not Path(world.settings.key_file).exists()


def test_revoked_learner_needs_an_explicit_reissue(world: World) -> None:
    store, first = run_issue(world, CLASS)
    an = next(c for c in first.issued if c.username == "an")
    store.revoke(an.serial, "Sai họ tên / wrong name", "test")
    _, again = run_issue(world, CLASS)
    assert again.issued == [] and [lr.username for lr, _ in again.plan.revoked] == ["an"]
    _, reissued = run_issue(world, CLASS, reissue=["an"])
    assert [c.username for c in reissued.issued] == ["an"] and reissued.issued[0].serial != an.serial
    assert [e.action for e in store.audit()] == ["issue", "issue", "issue", "revoke", "issue"]


def test_outputs_are_signed_and_match_the_registry(world: World) -> None:
    _, result = run_issue(world, CLASS)
    key = ensure_signing_key(Path(world.settings.key_file))
    for cert in result.issued:
        folder = Path(world.settings.output_dir) / str(cert.year)
        document = json.loads((folder / f"{cert.serial}.json").read_text(encoding="utf-8"))
        assert verify(document, key.public_key()).ok
        assert document == json.loads(cert.credential)
        assert document["certificate"]["fullName"] == cert.full_name
        assert (folder / f"{cert.serial}.pdf").read_bytes().startswith(b"%PDF")
    # files lost after the commit (a crash, a deleted folder) come back on the next run, same numbers
    lost = Path(world.settings.output_dir) / str(result.issued[0].year) / f"{result.issued[0].serial}.pdf"
    lost.unlink()
    _, again = run_issue(world, CLASS)
    assert again.issued == [] and again.repaired == 1 and lost.is_file()


def test_pdf_text_qr_and_picture(world: World, artifacts: Path) -> None:
    pdftotext, pdftoppm, zbarimg = need_tool("pdftotext"), need_tool("pdftoppm"), need_tool("zbarimg")
    _, result = run_issue(world, CLASS)
    cert = next(c for c in result.issued if c.username == "lien")
    pdf = Path(world.settings.output_dir) / str(cert.year) / f"{cert.serial}.pdf"
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "Trần Thị Kim Liên" in lines  # the name alone on its line, every diacritic back
    assert world.course.title.vi in lines and world.course.title.en in lines
    assert any("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in line for line in lines)
    assert any(DECISION in line for line in lines) and any(cert.serial in line for line in lines)
    png_stem = artifacts / "giay-chung-nhan"
    subprocess.run([pdftoppm, "-png", "-r", "110", "-singlefile", str(pdf), str(png_stem)], check=True)
    qr = subprocess.run([zbarimg, "--quiet", "--raw", f"{png_stem}.png"], capture_output=True, text=True)
    # the QR code carries the verification code, which is also printed for people to type
    assert (
        qr.stdout.strip()
        == f"http://127.0.0.1:8000/services/certificates/verify/{cert.serial}/{cert.verification_code}"
    )
    code = f"{cert.verification_code[:4]}-{cert.verification_code[4:8]}-{cert.verification_code[8:]}"
    assert any(f"Verification code: {code}" in line for line in lines), lines
    (artifacts / "giay-chung-nhan.pdf").write_bytes(pdf.read_bytes())


def _concurrent_issue(world: World, n: int = 2) -> list[subprocess.CompletedProcess]:
    """`n` CLI processes issuing the same course at the same moment, each as a different OS user name."""
    procs = []
    for i in range(n):
        env = {
            **os.environ,
            "USER": f"proc{i}",
            "LOGNAME": f"proc{i}",
            "PATH": f"{Path(sys.executable).parent}:" + os.environ.get("PATH", ""),
        }
        procs.append(
            subprocess.Popen(
                [
                    TRUONGSO,
                    "certificates",
                    "issue",
                    world.course.id,
                    "--decision",
                    DECISION,
                    "--data-dir",
                    str(world.data_dir),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return [subprocess.CompletedProcess(p.args, p.wait(300), *p.communicate()) for p in procs]


def _many_learners(data_dir: Path, course, count: int, db_url: str | None = None) -> World:
    from support.gradebooks import add_people, all_passed, make_gradebook

    world = build_world(data_dir, course, db_url=db_url, toml="batch_size = 4\nrender_workers = 1\n")
    people = [(f"hv{i:04d}", f"Học Viên Số {i}", "Đơn vị thử") for i in range(count)]
    add_people(world.db_url, "DONG-2026", course.id, people)
    gradebook = data_dir / "courses" / course.id / "gradebook.db"
    gradebook.unlink()

    make_gradebook(gradebook, course, {**submissions(course), **{p[0]: all_passed(course) for p in people}})
    return world


def _check_no_duplicates(world: World, expected: int, runs: list[subprocess.CompletedProcess]) -> None:
    for run in runs:
        assert run.returncode == 0, run.stderr
    store = open_store(world.db_url)
    certs = store.listing()
    assert len(certs) == expected
    assert len({c.serial for c in certs}) == expected
    assert sorted(c.seq for c in certs) == list(range(1, expected + 1))  # sequential, no gaps
    assert Counter(c.username for c in certs).most_common(1)[0][1] == 1
    by_actor = Counter(e.actor for e in store.audit())
    assert len(by_actor) == 2, f"the two runs did not overlap: {by_actor}"  # both really issued


@pytest.mark.slow
def test_two_concurrent_runs_make_no_duplicate_sqlite(tmp_path: Path, course) -> None:
    world = _many_learners(tmp_path / "data", course, 80)
    runs = _concurrent_issue(world)
    _check_no_duplicates(world, 80 + 4, runs)


@pytest.mark.postgres
def test_two_concurrent_runs_make_no_duplicate_postgres(tmp_path: Path, course, postgres_url: str) -> None:
    world = _many_learners(tmp_path / "data", course, 80, db_url=postgres_url)
    runs = _concurrent_issue(world)
    _check_no_duplicates(world, 80 + 4, runs)
