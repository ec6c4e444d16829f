"""The portal's pages and the certificate rules show the numbers nbgrader's API gives, for every learner,
on SQLite and on PostgreSQL gradebooks: one formula, no disagreement about the same learner."""

from __future__ import annotations

from pathlib import Path

import pytest
from portal_world import CLASS, PortalData, build_portal, instructor, learner
from score_world import COURSE_ID, LAYOUT, LEARNERS, SITUATIONS, nbgrader_truth

from graders.curriculum import Course, default_courses_root, load_course
from hub.services.portal import views

NOT_IN_GRADEBOOK = "moi-nop"  # submitted through the exchange, not autograded yet
NOBODY = "chua-nop"  # enrolled, nothing submitted


@pytest.fixture(scope="session")
def course() -> Course:
    course = load_course(default_courses_root() / COURSE_ID)
    assert [a.id for a in course.assignments] == list(LAYOUT)  # the gradebook is built for these ids
    return course


@pytest.fixture
def portal(tmp_path: Path, gradebook_url: str, course: Course) -> PortalData:
    submitted = {u: list(plan) for u, plan in SITUATIONS.items()}
    submitted[NOT_IN_GRADEBOOK] = list(LAYOUT)[:1]
    return build_portal(tmp_path / "data", gradebook_url, course, submitted, others=[NOBODY])


def shown(t: dict) -> str:
    return f"{t['score']:g}/{t['max']:g}"


def test_instructor_progress_equals_nbgrader(portal: PortalData, gradebook_url: str, course: Course) -> None:
    truth = nbgrader_truth(gradebook_url, LEARNERS)
    [progress], assignments = views.instructor_view(portal, instructor(), course.id)
    assert progress.name == CLASS and [a.id for a in assignments] == list(LAYOUT)
    assert {u for u, _ in progress.learners} == {*LEARNERS, NOT_IN_GRADEBOOK, NOBODY}
    for username, _ in progress.learners:
        for a in LAYOUT:
            cell = progress.cells[(username, a)]
            t = truth.get(username, {}).get(a)
            if t is not None:
                assert (cell.status, cell.score, cell.pending) == ("graded", shown(t), t["pending"]), (username, a)
            elif username == NOT_IN_GRADEBOOK and a == next(iter(LAYOUT)):
                assert (cell.status, cell.score) == ("submitted", "")
            else:
                assert (cell.status, cell.score) == ("", ""), (username, a)


def test_learner_page_equals_nbgrader(portal: PortalData, gradebook_url: str, course: Course) -> None:
    truth = nbgrader_truth(gradebook_url, LEARNERS)
    for username in LEARNERS:
        rows = {r.assignment_id: r for r in views.learner_view(portal, learner(username, course.id), course.id)}
        assert list(rows) == list(LAYOUT)
        for a, row in rows.items():
            t = truth[username].get(a)
            if t is None:
                assert (row.attempts, row.score) == (0, "")
            else:
                assert row.feedback and (row.score, row.pending) == (shown(t), t["pending"]), (username, a)


def test_certificate_rules_equal_nbgrader(portal: PortalData, gradebook_url: str, course: Course) -> None:
    """make_plan (the path of `truongso certificates check/issue`) against the rule worked out by hand on
    nbgrader's numbers: capped at course.yaml's points, waiting grades are "not yet", missing ones named."""
    from graders.certificates.config import CertificateSettings
    from graders.certificates.issue import make_plan
    from hub.directory.learners import roster_for

    settings = CertificateSettings.create(
        {"data_dir": str(portal.settings.data_path), "db_url": portal.settings.db_url, "gradebook_url": gradebook_url,
         "public_url": "http://127.0.0.1:8000/"}, "test")  # fmt: skip
    settings.roster = roster_for(settings.db_url)
    plan = make_plan(settings, None, course, CLASS)
    verdicts = {lr.username: v for lr, v in [*plan.eligible, *plan.incomplete]}
    assert set(verdicts) == {*LEARNERS, NOT_IN_GRADEBOOK, NOBODY} and plan.note is None
    truth = nbgrader_truth(gradebook_url, LEARNERS)
    outcomes = {}
    for username in LEARNERS:
        mine, verdict = truth[username], verdicts[username]
        counted = [min(mine[a.id]["score"], a.points) for a in course.assignments
                   if a.id in mine and not mine[a.id]["pending"]]  # fmt: skip
        percent = 100 * sum(counted) / course.required_points
        missing = [a.id for a in course.assignments if a.id not in mine]
        waiting = [a for a, t in mine.items() if t["pending"]]
        assert verdict.percent == pytest.approx(round(percent, 4), abs=1e-9), username
        named = [f"chưa nộp bài {a} «{course.assignment(a).title.vi}»" for a in missing]
        assert [r.vi for r in verdict.reasons if "chưa nộp" in r.vi] == named, username
        assert len([r for r in verdict.reasons if "chưa chấm xong" in r.vi]) == len(waiting), username
        assert verdict.completed == (not missing and not waiting and percent >= course.completion.min_overall_percent)
        outcomes[username] = verdict.completed
    # the gradebook holds passing, failing and waiting learners, so the comparison above meant something
    assert outcomes == {"an": True, "binh": True, "chi": False, "dung": False, "em": True, "giang": False,
                        "khoa": False, "lan": False}  # fmt: skip
    assert verdicts["em"].percent == round(100 * (20 + 20 + 21 + 19.5) / 90, 4)  # 24.5/20 counts as 20 (the cap)


def test_portal_and_certificate_agree_on_each_learner(portal: PortalData, gradebook_url: str, course: Course) -> None:
    """The same learner's numbers, side by side: what the instructor sees is what the certificate counted."""
    from graders.certificates.rules import evaluate, read_results

    [progress], _ = views.instructor_view(portal, instructor(), course.id)
    results = read_results(course, gradebook_url, LEARNERS)
    for username in LEARNERS:
        for a in course.assignments:
            cell = progress.cells[(username, a.id)]
            result = results.get(username, {}).get(a.id)
            assert (cell.status == "graded") == (result is not None)
            if result is not None:
                assert cell.score == f"{result.score:g}/{result.max_score:g}"
                assert cell.pending == result.needs_manual_grade
    verdict = {e.username: e for e in evaluate(course, results, LEARNERS)}["binh"]
    portal_total = sum(float(progress.cells[("binh", a.id)].score.split("/")[0]) for a in course.assignments)
    assert verdict.percent == pytest.approx(100 * portal_total / course.required_points)


def test_portal_without_a_gradebook(tmp_path: Path, course: Course) -> None:
    missing = tmp_path / "nowhere" / "gradebook.db"
    portal = build_portal(tmp_path / "data", f"sqlite:///{missing}", course, {"an": [next(iter(LAYOUT))]})
    [progress], _ = views.instructor_view(portal, instructor(), course.id)
    assert progress.cells[("an", next(iter(LAYOUT)))].status == "submitted" and not missing.exists()


def test_portal_with_a_broken_gradebook_still_opens(tmp_path: Path, course: Course, caplog) -> None:
    broken = tmp_path / "gradebook.db"
    broken.write_bytes(b"not a database" * 200)
    portal = build_portal(tmp_path / "data", f"sqlite:///{broken}", course, {"an": [next(iter(LAYOUT))]})
    [progress], _ = views.instructor_view(portal, instructor(), course.id)
    assert progress.cells[("an", next(iter(LAYOUT)))].status == "submitted"
    assert "unreadable" in caplog.text
