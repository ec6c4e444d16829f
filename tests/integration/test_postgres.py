"""Production's databases: the hub, the directory, the exchange and the gradebooks all on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.hub import Hub, HubSession, running_demo_hub, truongso

from graders.coursedir import course_dir
from hub.services.portal.views import gradebook_scores

REPO = Path(__file__).resolve().parents[2]
COURSE = "phan-tich-du-lieu"
ASSIGNMENT = "01-python-co-ban"
TYPICAL = REPO / "courses" / COURSE / "test-submissions" / ASSIGNMENT / "typical" / "python-co-ban.ipynb"
VENV_BIN = str(Path(sys.executable).parent)


@pytest.fixture(scope="module")
def pg_hub(tmp_path_factory, postgres) -> Hub:
    main, hub_db = postgres.database("directory"), postgres.database("hub")
    for course in ("phan-tich-du-lieu", "ky-nang-so"):
        postgres.database(f"gradebook_{course}")
    gradebooks = main.rsplit("_directory", 1)[0] + "_gradebook_{course_id}"
    toml = f'db_url = "{main}"\nhub_db_url = "{hub_db}"\ngradebook_url = "{gradebooks}"\n'
    with running_demo_hub(tmp_path_factory.mktemp("pg") / "data", toml=toml) as hub:
        yield hub


def test_nothing_is_written_to_sqlite(pg_hub: Hub) -> None:
    assert not list(pg_hub.data_dir.rglob("*.sqlite")) and not list(pg_hub.data_dir.rglob("gradebook.db"))


def test_login_import_and_the_assignment_loop_on_postgres(pg_hub: Hub, tmp_path, docker_prefix, grader_image) -> None:
    roster = tmp_path / "k.csv"
    roster.write_text("Họ và tên,Email,Đơn vị,Lớp\nMai Thị Lan,lan@sogd.gov.vn,Sở Giáo dục,DEMO\n", encoding="utf-8")
    done = truongso("users", "import", str(roster), "--data-dir", str(pg_hub.data_dir))
    assert done.returncode == 0, done.stderr
    assert "lan@sogd.gov.vn" in truongso("users", "list", "--data-dir", str(pg_hub.data_dir)).stdout

    tokens = {}
    for name in ("giangvien", "hocvien1"):
        session = HubSession(pg_hub.url)
        assert session.login(name, pg_hub.accounts[name]).status_code == 200
        token = session.api("POST", f"/users/{name}/tokens", json={"scopes": ["access:services!service=exchange"]})
        tokens[name] = token.json()["token"]
    settings = pg_hub.settings()
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "TRUONGSO_EXCHANGE_URL":
           f"http://{settings['hub_ip']}:{settings['service_ports']['exchange']}/services/exchange/"}  # fmt: skip

    def nbgrader(cwd: Path, who: str, *args: str) -> str:
        done = subprocess.run([f"{VENV_BIN}/nbgrader", *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                              env={**env, "HOME": str(cwd), "JUPYTERHUB_API_TOKEN": tokens[who]})  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    home = tmp_path / "hocvien1"
    home.mkdir()
    (home / "nbgrader_config.py").write_text(
        "from graders.exchange import use_hub_exchange\nuse_hub_exchange(get_config())\n"
    )
    nbgrader(home, "hocvien1", "fetch_assignment", ASSIGNMENT, "--course", COURSE)  # released by demo mode
    shutil.copy(TYPICAL, home / COURSE / ASSIGNMENT / TYPICAL.name)
    nbgrader(home, "hocvien1", "submit", ASSIGNMENT, "--course", COURSE)

    root = course_dir(pg_hub.data_dir, COURSE)  # the formgrader's course directory, gradebook on PostgreSQL
    nbgrader(root, "giangvien", "collect", ASSIGNMENT)
    from graders.autograde import grade_assignment

    report = grade_assignment(root, ASSIGNMENT, image=grader_image, name_prefix=f"{docker_prefix}-pg")
    assert (report.graded, report.failed) == (1, 0)
    scores = gradebook_scores(settings["gradebook_url"].format(data_dir=pg_hub.data_dir, course_id=COURSE),
                              ["hocvien1"], [ASSIGNMENT])  # fmt: skip
    earned, maximum = scores[("hocvien1", ASSIGNMENT)].shown().split("/")
    assert 0 < float(earned) < float(maximum) == 20
