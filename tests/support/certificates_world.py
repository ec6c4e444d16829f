"""A small world to issue certificates in: a data directory, a directory database with two classes of the
`ky-nang-so` course, and that course's nbgrader gradebook with every kind of learner; the certificate service
served from this process. The fixtures built on them are in tests/certificates/conftest.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from graders.certificates.config import CertificateSettings
from graders.certificates.documents import Award, credential_for
from graders.curriculum import Course
from hub.directory.learners import roster_for
from support.gradebooks import Sub, add_people, all_passed, make_gradebook
from support.hub_stubs import serve as serve_app
from support.requirements import require

COURSE_ID = "ky-nang-so"
CLASS = "KNS-K01-2026"
OTHER_CLASS = "KNS-K02-2026"
DECISION = "Số 706/QĐ-TBDCB"
ISSUED_AT = datetime(2026, 6, 5, 3, 0, tzinfo=UTC)  # when the credential tests issue and sign

# username, full name, organisation, submissions (filled in by `people`)
LEARNERS = {
    "an": ("Nguyễn Văn An", "Sở Thông tin và Truyền thông Hà Nội"),  # 90%: eligible
    "lien": ("Trần Thị Kim Liên", "UBND quận Hoàn Kiếm"),  # exactly 70%: eligible
    "huong": ("Đặng Thị Hường", "Cục Chuyển đổi số quốc gia"),  # eligible, certified beforehand in tests
    "ngoc": ("Lê Thị Bích Ngọc", "UBND tỉnh Thừa Thiên Huế"),  # one assignment missing
    "thang": ("Phạm Đức Thắng", "Bộ Khoa học và Công nghệ"),  # 60%: under the bar
    "cho": ("Vũ Văn Chờ", "Sở Nội vụ Đà Nẵng"),  # last assignment waits for manual grading
}
OTHER_LEARNERS = {"vy": ("Hồ Ngọc Vỹ", "Sở Tài chính Cần Thơ")}  # eligible, in the other class


def submissions(course: Course) -> dict[str, list[Sub]]:
    last = course.assignments[-1].id
    return {
        "an": all_passed(course, 0.9),
        "lien": all_passed(course, 0.7),
        "huong": all_passed(course, 1.0),
        "ngoc": all_passed(course, 1.0)[:-1],
        "thang": all_passed(course, 0.6),
        "cho": [*all_passed(course, 1.0)[:-1], Sub(last, 0.0, pending_manual=True)],
        "vy": all_passed(course, 0.8),
    }


@dataclass
class World:
    data_dir: Path
    settings: CertificateSettings
    course: Course

    @property
    def db_url(self) -> str:
        return self.settings.db_url


def build_world(data_dir: Path, course: Course, db_url: str | None = None, toml: str = "") -> World:
    data_dir.mkdir(parents=True, exist_ok=True)
    url = db_url or f"sqlite:///{data_dir / 'truongso.sqlite'}"
    (data_dir / "truongso.toml").write_text(f'db_url = "{url}"\n' if db_url else "", encoding="utf-8")
    if toml:
        (data_dir / "certificates.toml").write_text(toml, encoding="utf-8")
    add_people(url, CLASS, course.id, [(u, *v) for u, v in LEARNERS.items()])
    add_people(url, OTHER_CLASS, course.id, [(u, *v) for u, v in OTHER_LEARNERS.items()])
    make_gradebook(data_dir / "courses" / course.id / "gradebook.db", course, submissions(course))
    return open_world(data_dir, course, url)


def open_world(data_dir: Path, course: Course, db_url: str | None = None) -> World:
    """The world in `data_dir` (built by build_world, or a copy of one); its own SQLite database by default."""
    url = db_url or f"sqlite:///{data_dir / 'truongso.sqlite'}"
    settings = CertificateSettings.create(
        {"data_dir": str(data_dir), "db_url": url, "public_url": "http://127.0.0.1:8000/"}, "test"
    )
    settings.roster = roster_for(url)
    return World(data_dir, settings, course)


def credential_of(world: World, award: Award, seq: int) -> dict:
    """The unsigned credential of `award` with serial TS-2026-<seq>, issued at ISSUED_AT under DECISION."""
    return credential_for(
        world.settings,
        world.course,
        award,
        serial=f"TS-2026-{seq:06d}",
        seq=seq,
        year=2026,
        issued_at=ISSUED_AT,
        issued_on=date(2026, 6, 5),
        decision=DECISION,
        code="7K3MQ9XHPD2A",
    )


def need_tool(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed (Debian: poppler-utils / zbar-tools)")
    return path


# ------------------------------------------------------------------ the service, in this process


@dataclass
class Served:
    url: str  # ends with /services/certificates/
    service: object


@contextmanager
def serve(settings: CertificateSettings) -> Iterator[Served]:
    """The certificate service's tornado app on a free loopback port, in a thread of this process."""
    from hub.services.certificates.app import CertificateService, make_server

    service = CertificateService(settings)
    with serve_app(lambda: make_server(service)) as port:  # as the hub runs it
        yield Served(f"http://127.0.0.1:{port}/services/certificates/", service)
