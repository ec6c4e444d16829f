"""Completion rules of course.yaml on a real nbgrader gradebook: who completed, who not, and exactly why."""

from __future__ import annotations

from support.certificates_world import CLASS, LEARNERS, World

from graders.certificates.issue import make_plan
from graders.certificates.rules import AssignmentResult, evaluate, read_results


def verdicts(world: World) -> dict:
    results = read_results(world.course, world.settings.gradebook_url_for(world.course.id))
    return {e.username: e for e in evaluate(world.course, results, [*LEARNERS, "vy", "nobody"])}


def test_eligible_learners_complete(world: World) -> None:
    v = verdicts(world)
    assert v["an"].completed and v["an"].percent == 90.0 and v["an"].reasons == []
    assert v["lien"].completed and v["lien"].percent == 70.0  # exactly the bar passes
    assert v["an"].completed_on is not None


def test_missing_assignment_is_named_in_both_languages(world: World) -> None:
    last = world.course.assignments[-1]
    reasons = verdicts(world)["ngoc"].reasons
    assert not verdicts(world)["ngoc"].completed
    assert reasons[0].vi == f"chưa nộp bài {last.id} «{last.title.vi}»"
    assert reasons[0].en == f"assignment {last.id} “{last.title.en}” not submitted"


def test_score_under_the_bar_says_both_numbers(world: World) -> None:
    thang = verdicts(world)["thang"]
    assert not thang.completed
    assert [str(r) for r in thang.reasons] == [
        "điểm tổng 60% thấp hơn mức yêu cầu 70% / overall score 60% is under the required 70%"
    ]


def test_pending_manual_grading_is_not_a_failure(world: World) -> None:
    cho = verdicts(world)["cho"]
    assert not cho.completed
    assert len(cho.reasons) == 1 and "chưa chấm xong" in cho.reasons[0].vi and "not fully graded" in cho.reasons[0].en


def test_learner_without_any_submission(world: World) -> None:
    nobody = verdicts(world)["nobody"]
    assert not nobody.completed and len(nobody.reasons) == len(world.course.required_assignments) + 1


def test_scores_above_the_announced_points_are_capped(world: World) -> None:
    a = world.course.assignments
    results = {"x": {x.id: AssignmentResult(x.id, 0.0, x.points, None, False) for x in a}}
    results["x"][a[0].id] = AssignmentResult(a[0].id, 10_000.0, a[0].points, None, False)
    assert not evaluate(world.course, results, ["x"])[0].completed


def test_missing_gradebook_means_nobody_yet(world: World) -> None:
    (world.data_dir / "courses" / world.course.id / "gradebook.db").unlink()
    plan = make_plan(world.settings, None, world.course, CLASS)
    assert plan.eligible == [] and plan.note is not None and len(plan.incomplete) == len(LEARNERS)
    assert not (world.data_dir / "courses" / world.course.id / "gradebook.db").exists()  # not created


def test_nbgrader_late_penalty_counts(world: World) -> None:
    """A late penalty recorded by nbgrader takes an exactly-at-the-bar learner under it."""
    from nbgrader.api import Gradebook

    first = world.course.assignments[0].id
    with Gradebook(world.settings.gradebook_url_for(world.course.id), world.course.id) as gb:
        submission = gb.find_submission(first, "lien")
        submission.notebooks[0].late_submission_penalty = 2.0
        gb.db.commit()
    lien = verdicts(world)["lien"]
    assert not lien.completed and "67.8%" in lien.reasons[0].en
