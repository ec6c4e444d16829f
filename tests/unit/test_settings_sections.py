"""One settings file (issue 11): truongso.toml in sections, the old flat layout and the old certificates.toml
still read, one school `timezone` and one `courses_root` handed down to everything, `docker_prefix` naming
`truongso grade`'s sandboxes."""

from __future__ import annotations

import shutil
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from traitlets.config import Config

from graders.certificates.config import FROM_HUB, CertificateSettings
from graders.course_settings import read_generated_settings
from graders.coursedir import ensure_course_dir, sandbox_name_prefix
from graders.curriculum import default_courses_root, load_course
from graders.late_penalty import CourseLatePenalty
from hub.settings import SECTIONS, TOP_LEVEL, HubSettings, SettingsError, SettingsWarning

C = "phan-tich-du-lieu"  # its course.yaml: 10 % per started day late


def write(data_dir: Path, text: str, name: str = "truongso.toml") -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / name).write_text(text, encoding="utf-8")


def load(data_dir: Path) -> HubSettings:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SettingsWarning)  # no warning unless the test expects one
        return HubSettings.load(data_dir, {})


@pytest.fixture
def courses(tmp_path: Path) -> Path:
    """A courses folder elsewhere than the repository's, holding one course whose late penalty is 25 %/day."""
    root = tmp_path / "elsewhere" / "courses"
    shutil.copytree(default_courses_root() / C, root / C, ignore=shutil.ignore_patterns("test-*"))
    yaml_path = root / C / "course.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    yaml_path.write_text(text.replace("percent_per_day: 10", "percent_per_day: 25"), encoding="utf-8")
    return root


# -- the layout ---------------------------------------------------------------------------------------------


def test_every_setting_has_one_place() -> None:
    placed = [key for keys in SECTIONS.values() for key in keys] + list(TOP_LEVEL)
    assert sorted(placed) == sorted(HubSettings.class_trait_names(config=True))  # each once, none forgotten
    assert not set(SECTIONS) & set(HubSettings.class_trait_names(config=True))  # a section is never a setting


def test_sections_are_read(tmp_path: Path, courses: Path) -> None:
    write(
        tmp_path,
        f"""demo = true

[school]
timezone = "Asia/Bangkok"
courses_root = "{courses}"

[server]
port = 9000
public_url = "https://truongso.example.gov.vn"

[server.service_ports]
exchange = 18081

[workspaces]
mem_limit = "1G"

[docker]
docker_prefix = "truong-a"

[exchange]
exchange_quota_mb = 50

[grading]
gradebook_url = "postgresql://truongso@db/gradebook_{{course_id}}"

[certificates]
school_name = "Trường A"
batch_size = 7
""",
    )
    s = load(tmp_path)
    assert (s.demo, s.timezone, s.courses_path, s.port) == (True, "Asia/Bangkok", courses, 9000)
    assert s.public_url == "https://truongso.example.gov.vn/" and s.service_ports == {"exchange": 18081}
    assert (s.mem_limit, s.docker_prefix, s.exchange_quota_mb) == ("1G", "truong-a", 50)
    assert s.gradebook_url_for(C) == f"postgresql://truongso@db/gradebook_{C}"
    assert s.workspace_network == "truong-a-workspaces"  # defaults still follow the settings they depend on
    cert = CertificateSettings.from_hub(s)
    assert (cert.school_name, cert.batch_size) == ("Trường A", 7)
    # what the hub hands down: one time zone, one courses folder for the whole school
    assert (cert.timezone, Path(cert.courses_root), cert.public_url) == (s.timezone, courses, s.public_url)
    # the run file the services read keeps all of it
    s.write_run_file()
    again = HubSettings.from_run_file(tmp_path)
    assert again.to_dict() == s.to_dict() and again.certificates == {"school_name": "Trường A", "batch_size": 7}


def test_the_old_flat_layout_still_works(tmp_path: Path) -> None:
    write(tmp_path, 'port = 9000\nmem_limit = "1G"\ndocker_prefix = "cu"\ntimezone = "Asia/Bangkok"\n')
    s = load(tmp_path)
    assert (s.port, s.mem_limit, s.docker_prefix, s.timezone) == (9000, "1G", "cu", "Asia/Bangkok")
    write(tmp_path, 'port = 9000\n[workspaces]\nmem_limit = "1G"\n')  # mixed: also fine
    assert (load(tmp_path).port, load(tmp_path).mem_limit) == (9000, "1G")
    assert HubSettings.create({"server": {"port": 9001}}, "t").port == 9001  # create() takes both layouts too


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = load(tmp_path)
    assert s.timezone == "Asia/Ho_Chi_Minh" and s.courses_path == default_courses_root()
    assert s.certificates == {} and s.docker_prefix == "truongso"


# -- clear errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[phong_hoc]\nport = 1\n", ["unknown section [phong_hoc]", "sections: accounts"]),
        ("[server]\nmemory = 1\n", ["[server] unknown setting(s) memory"]),
        ('[server]\nmem_limit = "1G"\n', ["[server] unknown setting(s) mem_limit", "belongs in [workspaces]"]),
        ("memory = '2G'\n", ["unknown setting(s) memory"]),  # top level: as before
        ("port = 9000\n[server]\nport = 9001\n", ["port is set twice"]),
        ("school = 1\n", ["[school] is a section"]),
        ("[certificates]\nnope = 1\n", ["[certificates]", "unknown setting(s) nope"]),
        ("[certificates]\nbatch_size = 0\n", ["[certificates]", "batch_size must be at least 1"]),
        ('[certificates]\ntimezone = "UTC"\n', ["[certificates] timezone", "timezone in [school]"]),
        ('[certificates]\ncourses_root = "/x"\n', ["courses_root in [school]"]),
        ('[school]\ncourses_root = "/khong/co/thu/muc"\n', ["courses_root", "no folder /khong/co/thu/muc"]),
    ],
)
def test_unknown_or_misplaced_settings_are_refused_by_name(tmp_path: Path, text: str, fragments: list[str]) -> None:
    write(tmp_path, text)
    with pytest.raises(SettingsError) as caught:
        load(tmp_path)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "truongso.toml")), message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("text", ['[school]\ntimezone = "Asia/Ha_Noi"\n', 'timezone = "Asia/Ha_Noi"\n'])
def test_a_bad_time_zone_is_a_clear_bilingual_error(tmp_path: Path, text: str) -> None:
    write(tmp_path, text)
    with pytest.raises(SettingsError) as caught:
        load(tmp_path)
    message = str(caught.value)
    assert "timezone" in message and "'Asia/Ha_Noi'" in message
    assert "múi giờ không tồn tại" in message and "unknown time zone" in message  # Vietnamese / English
    assert "\n" not in message


def test_a_bad_time_zone_stops_a_verb_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hub.cli import main

    data_dir = tmp_path / "data"
    write(data_dir, '[school]\ntimezone = "Mars/Olympus"\n')
    (data_dir / "secrets").mkdir()
    assert main(["users", "list", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("truongso: lỗi / error: cấu hình sai") and "Mars/Olympus" in err[0]


# -- the old certificates.toml ------------------------------------------------------------------------------


def load_warned(data_dir: Path) -> tuple[HubSettings, str]:
    """The settings, and the text of the SettingsWarning their loading must give."""
    with pytest.warns(SettingsWarning) as caught:
        s = HubSettings.load(data_dir, {})
    return s, str(caught[0].message)


def test_old_certificates_toml_is_read_with_a_deprecation_warning(tmp_path: Path) -> None:
    write(tmp_path, "port = 9000\n")
    write(tmp_path, 'school_name = "Trường Cũ"\nbatch_size = 4\ndb_url = "ignored"\n', "certificates.toml")
    s, message = load_warned(tmp_path)
    assert "certificates.toml" in message and "[certificates]" in message and "truongso.toml" in message
    assert "lỗi thời" in message and "deprecated" in message  # both languages
    assert s.certificates == {"school_name": "Trường Cũ", "batch_size": 4}  # the hub's db_url is the hub's, as before
    assert CertificateSettings.from_hub(s).school_name == "Trường Cũ"


def test_old_certificates_time_zone_becomes_the_schools_unless_truongso_toml_says(tmp_path: Path) -> None:
    write(tmp_path, 'timezone = "Asia/Bangkok"\nplace = "Huế"\n', "certificates.toml")
    with pytest.warns(SettingsWarning, match=r"timezone.*\[school\]"):
        s = HubSettings.load(tmp_path, {})
    assert s.timezone == "Asia/Bangkok" and s.certificates == {"place": "Huế"}
    write(tmp_path, '[school]\ntimezone = "Asia/Tokyo"\n')
    with pytest.warns(SettingsWarning):
        assert HubSettings.load(tmp_path, {}).timezone == "Asia/Tokyo"


def test_truongso_toml_section_wins_over_the_old_file(tmp_path: Path) -> None:
    write(tmp_path, '[certificates]\nschool_name = "Trường Mới"\n')
    write(tmp_path, 'school_name = "Trường Cũ"\nplace = "Huế"\n', "certificates.toml")
    s, message = load_warned(tmp_path)
    assert "bị bỏ qua" in message and "is ignored" in message and "wins" in message
    assert s.certificates == {"school_name": "Trường Mới"}  # nothing of the old file mixed in


def test_old_certificates_toml_errors_name_it(tmp_path: Path) -> None:
    write(tmp_path, "serial_prefix = 'ts1'\n", "certificates.toml")
    with pytest.raises(SettingsError, match=r"certificates\.toml: serial_prefix"):
        HubSettings.load(tmp_path, {})


def test_the_cli_prints_the_warning_as_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hub.cli.common import load_settings

    write(tmp_path, 'place = "Huế"\n', "certificates.toml")
    assert load_settings(tmp_path).certificates == {"place": "Huế"}
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("truongso: cảnh báo / warning: ") and "deprecated" in err[0]


def test_the_hub_gives_what_the_certificates_section_may_not_set() -> None:
    assert set(FROM_HUB) <= set(CertificateSettings.class_trait_names(config=True))


# -- one time zone, handed down -----------------------------------------------------------------------------


def test_the_time_zone_reaches_workspaces_portal_and_exchange(tmp_path: Path) -> None:
    from hub.configure import apply_local_spawner
    from hub.services.portal.views import when
    from hub.spawner import apply_docker_spawner

    s = HubSettings.create({"data_dir": str(tmp_path), "timezone": "Europe/Paris"}, "t")
    c = Config()
    apply_docker_spawner(s, c)
    assert c.WorkspaceSpawner.timezone == "Europe/Paris"
    c = Config()
    apply_local_spawner(s, c)
    assert c.Spawner.environment["TZ"] == "Europe/Paris"
    moment = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)
    assert when(moment, s.timezone) == "20/12/2026 11:00 (UTC+1)"
    assert when(moment) == "20/12/2026 17:00 (UTC+7)"  # without settings: the default, Vietnam


# -- grade: docker_prefix -----------------------------------------------------------------------------------


def test_grade_names_its_sandboxes_after_docker_prefix(tmp_path: Path) -> None:
    from graders.autograde.sandbox import sandbox_name
    from hub.cli.grade import grading_options

    write(tmp_path, '[docker]\ndocker_prefix = "truong-b"\n')
    s = load(tmp_path)
    root = tmp_path / "courses" / C
    root.mkdir(parents=True)
    options = grading_options(s, C, root, own_course=True)
    assert options["name_prefix"] == sandbox_name_prefix("truong-b") == "truong-b-grade"
    assert sandbox_name(options["name_prefix"], "00042a", 3) == "truong-b-grade-00042a-3"
    # --course-dir: the settings still name the sandboxes
    assert grading_options(s, "any", root, own_course=False)["name_prefix"] == "truong-b-grade"
    # a course whose (operator-written) nbgrader_config.py names its sandboxes keeps that name
    (root / "nbgrader_config.py").write_text("c.SandboxGrader.name_prefix = 'rieng'\n", encoding="utf-8")
    assert grading_options(s, C, root, own_course=True)["name_prefix"] is None


# -- courses_root everywhere --------------------------------------------------------------------------------


def test_late_penalty_honours_courses_root(tmp_path: Path, courses: Path) -> None:
    from hub.cli.grade import grading_options

    s = HubSettings.create({"data_dir": str(tmp_path), "school": {"courses_root": str(courses)}}, "t")
    root = tmp_path / "courses" / C
    root.mkdir(parents=True)
    for own_course in (True, False):
        config = grading_options(s, C, root, own_course=own_course)["config"]
        plugin = CourseLatePenalty(config=config, course_id=C)
        assert Path(plugin.course_path) == courses / C
        assert plugin.late_submission_penalty("hv", 8.0, 3600) == pytest.approx(2.0)  # 25 %, not the repo's 10 %
    # the generated nbgrader_config.py (the formgrader's grading) says it too, and grading reads it back
    generated = ensure_course_dir(tmp_path / "khoa", load_course(courses / C), None, s.courses_path)
    kept = read_generated_settings(generated)
    assert kept.CourseLatePenalty.courses_root == str(courses)


def test_exchange_and_portal_take_their_courses_from_courses_root(tmp_path: Path, courses: Path) -> None:
    from hub.services.exchange.app import ExchangeApp

    s = HubSettings.create({"data_dir": str(tmp_path), "courses_root": str(courses), "timezone": "Asia/Tokyo"}, "t")
    assert [c.id for c in s.load_courses()] == [C]
    app = ExchangeApp(s, "http://127.0.0.1:1/hub/api", "token")
    try:
        assert set(app.courses) == {C} and app.access.courses == {C}
        assert app.store.timezone == "Asia/Tokyo"
    finally:
        app.directory.engine.dispose()
    assert CertificateSettings.from_hub(s).courses_root == str(courses)
