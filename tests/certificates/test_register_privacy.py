"""The public register cannot be paged through: serials are sequential, so a serial alone shows only whether
that number is registered, in force or revoked; the certificate's contents need its verification code.
Certificates issued before codes existed get one from migration c0002 and keep their signed files."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
from support.certificates_world import CLASS, DECISION, LEARNERS, OTHER_LEARNERS, Served, World, serve

from graders.certificates.codes import ALPHABET, LENGTH, codes_match, format_code, normalize_code, parse_reference
from graders.certificates.issue import Learner, issue
from graders.certificates.store import open_store
from graders.db import MIGRATIONS
from hub.services.certificates.ratelimit import RateLimiter

PERSONAL = [text for person in (*LEARNERS.values(), *OTHER_LEARNERS.values()) for text in person]


@pytest.fixture
def issued(world: World, served: Served) -> dict:
    store = open_store(world.db_url)
    result = issue(world.settings, store, world.course.id, decision=DECISION, actor="test", class_name=CLASS)
    served.service.limiter = RateLimiter(per_minute=100_000, burst=100_000)  # this test enumerates on purpose
    return {c.username: c for c in result.issued}


def status_of(page: requests.Response) -> str:
    page.encoding = "utf-8"
    return page.text.split('data-status="', 1)[1].split('"', 1)[0]


def wrong(code: str) -> str:
    """The same code with its last character changed."""
    return code[:-1] + ALPHABET[(ALPHABET.index(code[-1]) + 1) % len(ALPHABET)]


def test_codes_are_random_typable_and_forgiving() -> None:
    from graders.certificates.codes import new_code

    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000 and all(re.fullmatch(f"[{ALPHABET}]{{{LENGTH}}}", c) for c in codes)
    assert len(set("".join(codes))) == 32  # the whole alphabet is used: 60 bits per code
    code = "7K3MQ9XHPD2A"
    assert format_code(code) == "7K3M-Q9XH-PD2A"
    for typed in ("7k3m-q9xh-pd2a", " 7K3M Q9XH PD2A ", "7K3MQ9XHPD2A"):
        assert normalize_code(typed) == code and codes_match(typed, code)
    assert normalize_code("0O1IL") is None and normalize_code("10I1L00O0000") == "101110000000"  # O→0, I/L→1
    for bad in ("", "7K3M", "7K3MQ9XHPD2AA", "7K3MQ9XHPD2U", "<script>", None):
        assert normalize_code(bad) is None and not codes_match(bad, code)
    assert not codes_match(code, None) and not codes_match(code, "")
    url = "https://truongso.example/services/certificates/verify/TS-2026-000123/7K3MQ9XHPD2A?x=1"
    assert parse_reference(url) == ("TS-2026-000123", "7K3MQ9XHPD2A")
    assert parse_reference("ts-2026-000123") == ("TS-2026-000123", None)
    assert parse_reference("TS-2026-000123 7K3M-Q9XH-PD2A") == ("TS-2026-000123", "7K3M-Q9XH-PD2A")
    assert parse_reference("hello") == (None, None)


def test_enumerating_serials_reveals_no_holder(world: World, served: Served, issued: dict) -> None:
    """Everything a scraper can reach without codes: serial pages (HTML, JSON), lookups, guessed codes."""
    year = next(iter(issued.values())).year
    open_store(world.db_url).revoke(issued["lien"].serial, "Cấp nhầm lớp — Trần Thị Kim Liên", "test")
    seen: list[str] = []
    states: dict[str, str] = {}
    for seq in range(1, len(issued) + 4):
        serial = f"TS-{year}-{seq:06d}"
        page = requests.get(served.url + f"verify/{serial}", timeout=10)
        states[serial] = status_of(page)
        data = requests.get(served.url + f"verify/{serial}?format=json", timeout=10)
        assert data.json()["certificate"] is None
        lookup = requests.get(served.url + "verify", params={"q": serial.lower()}, timeout=10)
        guessed = requests.get(served.url + f"verify/{serial}/{'0' * LENGTH}", timeout=10)
        guessed_json = requests.get(served.url + f"verify/{serial}/{'0' * LENGTH}?format=json", timeout=10)
        assert guessed.status_code == 404 and guessed_json.json()["certificate"] is None
        seen += [page.text, data.text, lookup.text, guessed.text, guessed_json.text]
    for text in seen:
        for personal in [*PERSONAL, CLASS, "Cấp nhầm", world.course.title.vi]:
            assert personal not in text, personal
    numbers = sorted(c.serial for c in issued.values())
    assert [states[s] for s in numbers].count("needs-code") == len(issued) - 1
    assert states[issued["lien"].serial] == "revoked"  # a revoked number says so, without the reason
    assert [v for k, v in states.items() if k not in numbers] == ["unknown"] * 3
    json_view = requests.get(served.url + f"verify/{issued['an'].serial}?format=json", timeout=10).json()
    assert json_view == {"serial": issued["an"].serial, "status": "valid", "certificate": None, "codeRequired": True}


def test_the_right_serial_and_code_show_the_certificate_a_wrong_code_does_not(
    world: World, served: Served, issued: dict, caplog: pytest.LogCaptureFixture
) -> None:
    an = issued["an"]
    caplog.set_level(logging.INFO, logger="tornado.access")
    page = requests.get(served.url + f"verify/{an.serial}/{an.verification_code}", timeout=10)
    assert page.status_code == 200 and status_of(page) == "valid"
    assert "Nguyễn Văn An" in page.text and "Sở Thông tin và Truyền thông Hà Nội" in page.text
    assert "an@" not in page.text and ">an<" not in page.text  # still nothing beyond the certificate
    typed = requests.get(
        served.url + "verify", params={"q": an.serial, "code": format_code(an.verification_code).lower()}, timeout=10
    )
    assert typed.status_code == 200 and status_of(typed) == "valid" and "Nguyễn Văn An" in typed.text
    full = requests.get(served.url + f"verify/{an.serial}/{an.verification_code}?format=json", timeout=10).json()
    assert full["certificate"]["fullName"] == "Nguyễn Văn An" and full["codeRequired"] is False

    for code in (wrong(an.verification_code), issued["huong"].verification_code, "<b>x"):
        bad = requests.get(served.url + f"verify/{an.serial}/{code}", timeout=10)
        assert bad.status_code == 404 and status_of(bad) == "code-mismatch", code
        assert "Nguyễn Văn An" not in bad.text and "<b>x" not in bad.text
        assert "KHÔNG KHỚP" in bad.text and bad.text.index("KHÔNG KHỚP") < bad.text.index("DOES NOT MATCH")
    extra = requests.get(served.url + f"verify/{an.serial}/{an.verification_code}/more", timeout=10)
    assert extra.status_code == 404 and "Nguyễn Văn An" not in extra.text
    # the code never reaches the logs (access log, warnings about 404s)
    assert an.serial in caplog.text and an.verification_code not in caplog.text
    assert format_code(an.verification_code).lower() not in caplog.text


def test_the_signed_credential_carries_the_code_and_still_verifies(world: World, served: Served, issued: dict) -> None:
    from graders.certificates.credential import verify

    an = issued["an"]
    document = json.loads(an.credential)
    assert document["id"] == world.settings.verify_url(an.serial, an.verification_code)
    assert document["certificate"]["verificationCode"] == format_code(an.verification_code)
    assert verify(document, served.service.public_key).ok
    body = (Path(world.settings.output_dir) / str(an.year) / f"{an.serial}.json").read_bytes()
    upload = requests.post(served.url + "verify", files={"credential": ("gcn.json", body)}, timeout=10)
    assert upload.status_code == 200 and status_of(upload) == "valid" and "Nguyễn Văn An" in upload.text


# ------------------------------------------------------------------ migration c0002


def _database_at_c0001(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from graders.certificates.store import make_engine

    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "c0001")
    engine.dispose()


def _old_certificates(world: World, url: str, people: list[tuple[str, str, str]]) -> list[str]:
    """Rows as the code before c0002 wrote them: a credential whose id is `verify/<serial>`, no code."""
    from sqlalchemy import text

    from graders.certificates.credential import ensure_signing_key, sign
    from graders.certificates.documents import Award, credential_for
    from graders.certificates.store import make_engine

    key = ensure_signing_key(Path(world.settings.key_file))
    issued_at = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    engine = make_engine(url)
    serials = []
    with engine.begin() as conn:
        for seq, (username, name, organisation) in enumerate(people, start=1):
            serial = f"TS-2026-{seq:06d}"
            award = Award(username, name, organisation, CLASS, date(2026, 2, 27))
            document = credential_for(
                world.settings,
                world.course,
                award,
                serial=serial,
                seq=seq,
                year=2026,
                issued_at=issued_at,
                issued_on=date(2026, 3, 2),
                decision=DECISION,
                code="0" * LENGTH,
            )
            document["id"] = world.settings.verify_url(serial)
            del document["certificate"]["verificationCode"]
            credential = json.dumps(sign(document, key, issued_at), ensure_ascii=False, indent=2)
            conn.execute(
                text(
                    "INSERT INTO certificates (serial, year, seq, username, course_id, class_name, full_name,"
                    " organisation, course_title_vi, course_title_en, hours, completed_on, issued_at, issued_on,"
                    " decision, issued_by, credential) VALUES (:serial, 2026, :seq, :username, :course, :cls, :name,"
                    " :org, :title, :title_en, :hours, :done, :at, :on, :decision, 'test', :credential)"
                ),
                {
                    "serial": serial,
                    "seq": seq,
                    "username": username,
                    "course": world.course.id,
                    "cls": CLASS,
                    "name": name,
                    "org": organisation,
                    "title": world.course.title.vi,
                    "title_en": world.course.title.get("en"),
                    "hours": world.course.hours,
                    "done": date(2026, 2, 27),
                    "at": issued_at,
                    "on": date(2026, 3, 2),
                    "decision": DECISION,
                    "credential": credential,
                },
            )
            serials.append(serial)
        conn.execute(text("INSERT INTO certificate_serials (year, last_seq) VALUES (2026, :n)"), {"n": len(people)})
    engine.dispose()
    return serials


def _credentials(url: str) -> dict[str, str]:
    from sqlalchemy import text

    from graders.certificates.store import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT serial, credential FROM certificates")).all())
    engine.dispose()
    return rows


def _check_migrated(world: World, url: str) -> None:
    people = [(u, *v) for u, v in LEARNERS.items()]
    _database_at_c0001(url)
    serials = _old_certificates(world, url, people)
    before = _credentials(url)

    world.settings.db_url = url
    with serve(world.settings) as served:  # the service upgrades the registry as it starts
        store = open_store(url, create=False)
        certs = [store.get(s) for s in serials]
        codes = [c.verification_code for c in certs]
        assert all(normalize_code(c) == c for c in codes) and len(set(codes)) == len(codes)
        assert _credentials(url) == before  # signed documents are never rewritten

        from graders.certificates.credential import verify

        for cert in certs:
            assert verify(json.loads(cert.credential), served.service.public_key).ok
        an = certs[0]
        old_qr = requests.get(served.url + f"verify/{an.serial}", timeout=10)  # what the old paper points at
        assert old_qr.status_code == 200 and status_of(old_qr) == "needs-code"
        assert "Nguyễn Văn An" not in old_qr.text and "trước khi có mã xác thực" in old_qr.text
        full = requests.get(served.url + f"verify/{an.serial}/{an.verification_code}", timeout=10)
        assert status_of(full) == "valid" and "Nguyễn Văn An" in full.text
        upload = requests.post(served.url + "verify", files={"credential": ("old.json", an.credential)}, timeout=10)
        assert status_of(upload) == "valid" and "Nguyễn Văn An" in upload.text
        # a certificate issued after the migration gets its code like everyone else
        vy = Learner("vy", *OTHER_LEARNERS["vy"], "KNS-K02-2026")
        result = issue(world.settings, store, world.course.id, decision=DECISION, actor="t", learners=[vy])
        (new,) = result.issued
        assert new.serial not in serials and normalize_code(new.verification_code) == new.verification_code
        assert json.loads(new.credential)["id"].endswith(f"verify/{new.serial}/{new.verification_code}")


def test_migration_gives_old_certificates_a_code_sqlite(world: World) -> None:
    _check_migrated(world, world.db_url)  # the hub's own database file, as in production


@pytest.mark.postgres
def test_migration_gives_old_certificates_a_code_postgres(world: World, postgres) -> None:
    _check_migrated(world, postgres.database("cert_codes"))
