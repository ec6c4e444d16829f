"""A small world to issue certificates in: a data directory, a directory database with two classes of the
`ky-nang-so` course, and that course's nbgrader gradebook with every kind of learner."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from factories import Sub, add_people, all_passed, make_gradebook

from graders.certificates.config import CertificateSettings
from graders.curriculum import Course, default_courses_root, load_course
from hub.directory.learners import roster_for

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "certificates"
COURSE_ID = "ky-nang-so"
CLASS = "KNS-K01-2026"
OTHER_CLASS = "KNS-K02-2026"
DECISION = "Số 706/QĐ-TBDCB"

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


@pytest.fixture(scope="session")
def course() -> Course:
    return load_course(default_courses_root() / COURSE_ID)


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
    settings = CertificateSettings.create(
        {"data_dir": str(data_dir), "db_url": url, "public_url": "http://127.0.0.1:8000/"}, "test"
    )
    settings.roster = roster_for(url)
    return World(data_dir, settings, course)


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory, course: Course) -> Path:
    """Built once (nbgrader's import and gradebook creation take seconds), copied for every test."""
    return build_world(tmp_path_factory.mktemp("template") / "data", course).data_dir


@pytest.fixture
def world(tmp_path: Path, course: Course, world_template: Path) -> World:
    data_dir = tmp_path / "data"
    shutil.copytree(world_template, data_dir)
    settings = CertificateSettings.create(
        {
            "data_dir": str(data_dir),
            "db_url": f"sqlite:///{data_dir / 'truongso.sqlite'}",
            "public_url": "http://127.0.0.1:8000/",
        },
        "test",
    )
    settings.roster = roster_for(settings.db_url)
    return World(data_dir, settings, course)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


from support.requirements import require  # noqa: E402 (used here and by the certificate tests)


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
    import socket

    from hub.services.certificates.app import CertificateService, make_server

    service = CertificateService(settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = make_server(service)  # as the hub runs it
        server.listen(port, "127.0.0.1")
        ready.set()
        loop.run_forever()
        server.stop()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield Served(f"http://127.0.0.1:{port}/services/certificates/", service)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture
def served(world: World) -> Iterator[Served]:
    with serve(world.settings) as running:
        yield running
