"""graders.scores gives the numbers nbgrader's own API and export give, for every learner and every case
(autograded tests, manual answers, task cells, extra credit, manual overrides, waiting grades, late
penalties), on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from score_world import A1, A2, A3, A4, CROWD, LAYOUT, LEARNERS, Mark, build_gradebook, nbgrader_export, nbgrader_truth

from graders.scores import (
    GradebookMissing,
    GradebookUnreadable,
    assignment_maxima,
    assignment_scores,
    course_scores,
)


@pytest.mark.parametrize("named", [True, False], ids=["named-learners", "everyone"])
def test_every_submission_equals_nbgrader_api(gradebook_url: str, named: bool) -> None:
    """Both shapes of the statement: a few named learners (index probes) and everyone (one grade scan)."""
    truth = nbgrader_truth(gradebook_url, LEARNERS)
    ours = assignment_scores(gradebook_url, LEARNERS if named else None, LAYOUT)
    assert {u: set(m) for u, m in ours.items()} == {u: set(m) for u, m in truth.items()}
    for username, mine in ours.items():
        for assignment, score in mine.items():
            t = truth[username][assignment]
            where = f"{username}/{assignment}"
            assert score.raw_score == pytest.approx(t["raw"], abs=1e-9), where
            assert score.late_penalty == pytest.approx(t["penalty"], abs=1e-9), where
            assert score.score == pytest.approx(t["score"], abs=1e-9), where
            assert score.max_score == t["max"], where
            assert score.needs_manual_grade is t["pending"], where
            assert score.submitted_at == t["timestamp"], where


def test_equals_nbgrader_export(gradebook_url: str, tmp_path: Path) -> None:
    """`nbgrader export`'s CSV plug-in is nbgrader's own statement of the final score (penalty taken off)."""
    exported = nbgrader_export(gradebook_url, tmp_path / "grades.csv")
    ours = assignment_scores(gradebook_url, LEARNERS, LAYOUT)
    for (student, assignment), row in exported.items():
        mine = ours.get(student, {}).get(assignment)
        if not row["timestamp"]:  # nbgrader's export lists non-submissions with 0
            assert mine is None
            continue
        assert mine.score == pytest.approx(float(row["score"]), abs=1e-9)
        assert mine.raw_score == pytest.approx(float(row["raw_score"]), abs=1e-9)
        assert mine.late_penalty == pytest.approx(float(row["late_submission_penalty"]), abs=1e-9)
        assert mine.max_score == float(row["max_score"])


def test_the_cases_are_really_there(gradebook_url: str) -> None:
    """Hand-worked numbers, so that a builder that stopped making a case would not pass unnoticed."""
    s = assignment_scores(gradebook_url, LEARNERS, LAYOUT)
    assert [s["an"][a].shown() for a in LAYOUT] == ["20/20", "20/20", "25/25", "25/25"]
    assert s["binh"][A1].raw_score == 7 + 5 + 4 + 2 and s["binh"][A1].shown() == "15/20"  # override, extra, late
    assert s["binh"][A2].shown() == "18.5/20" and s["binh"][A3].shown() == "22.25/25"  # overrides
    assert s["chi"][A4].needs_manual_grade and s["chi"][A4].shown() == "6/25"  # the answer waits
    assert s["dung"][A1].shown() == "15/20" and s["dung"][A1].needs_manual_grade  # lone extra credit: nothing
    assert s["dung"][A3].raw_score == 3 and s["dung"][A3].late_penalty == 5 and s["dung"][A3].score == 0
    assert s["em"][A1].shown() == "24.5/20"  # extra credit above the maximum
    assert s["giang"][A2].late_penalty == 3.5 and s["giang"][A2].shown() == "14.5/20" and A4 not in s["giang"]
    assert s["khoa"][A1].shown() == "0/20" and s["khoa"][A1].needs_manual_grade and s["khoa"][A1].graded
    assert s["lan"][A1].shown() == "9/20"


def test_course_totals_equal_nbgrader_export(gradebook_url: str, tmp_path: Path) -> None:
    exported = nbgrader_export(gradebook_url, tmp_path / "grades.csv")
    maxima = {a: float(r["max_score"]) for (_, a), r in exported.items()}
    totals = course_scores(gradebook_url, [*LEARNERS, "nobody"], list(LAYOUT))
    assert assignment_maxima(gradebook_url, LAYOUT) == maxima
    for username in LEARNERS:
        expected = sum(float(r["score"]) for (u, _), r in exported.items() if u == username)
        assert totals[username].score == pytest.approx(expected, abs=1e-9)
        assert totals[username].max_score == sum(maxima.values()) == 90
    assert totals["nobody"].score == 0 and totals["nobody"].assignments == {}
    assert totals["chi"].needs_manual_grade and not totals["an"].needs_manual_grade
    assert totals["an"].percent == 100


def test_a_thousand_random_learners_equal_nbgrader(crowd_url: str, gradebook_url: str) -> None:
    """Random scores, penalties and waiting grades (a sample: nbgrader's API takes ~10 ms a submission)."""
    sample = random.Random(5).sample(CROWD, 40)
    truth = nbgrader_truth(crowd_url, sample)
    ours = assignment_scores(crowd_url, sample, LAYOUT)
    assert set(ours) == set(sample)
    for username in sample:
        for assignment, t in truth[username].items():
            mine = ours[username][assignment]
            assert (mine.score, mine.max_score, mine.needs_manual_grade) == (
                pytest.approx(t["score"], abs=1e-9),
                t["max"],
                t["pending"],
            ), f"{username}/{assignment}"
    # the same learners read alone, among 1,000 others, or in a gradebook of their own: the same numbers
    alone = assignment_scores(crowd_url, LEARNERS, LAYOUT)
    everyone = assignment_scores(crowd_url, [*LEARNERS, *CROWD], LAYOUT)
    assert len(everyone) == len(LEARNERS) + len(CROWD)
    assert alone == {u: everyone[u] for u in LEARNERS} == assignment_scores(gradebook_url, LEARNERS, LAYOUT)


def test_only_the_asked_assignments_and_learners(gradebook_url: str) -> None:
    s = assignment_scores(gradebook_url, ["binh", "no-such-learner"], [A2, "khong-co-bai-nay"])
    assert list(s) == ["binh"] and list(s["binh"]) == [A2]
    assert assignment_scores(gradebook_url, [], LAYOUT) == {} == assignment_scores(gradebook_url, ["an"], [])


def test_everyone_when_no_learners_are_named(gradebook_url: str) -> None:
    assert assignment_scores(gradebook_url, None, LAYOUT) == assignment_scores(gradebook_url, LEARNERS, LAYOUT)


def test_missing_sqlite_gradebook_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "courses" / "x" / "gradebook.db"
    with pytest.raises(GradebookMissing):
        assignment_scores(f"sqlite:///{path}", ["an"], LAYOUT)
    assert not path.exists()


def test_broken_sqlite_gradebook_is_unreadable_not_empty(tmp_path: Path) -> None:
    broken = tmp_path / "gradebook.db"
    broken.write_bytes(b"this is not a database" * 100)
    with pytest.raises(GradebookUnreadable):
        assignment_scores(f"sqlite:///{broken}", ["an"], LAYOUT)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("CREATE TABLE x (y)").connection.commit()
    with pytest.raises(GradebookMissing):  # a file without nbgrader's tables: nobody graded yet
        assignment_scores(f"sqlite:///{empty}", ["an"], LAYOUT)


@pytest.mark.postgres
def test_postgres_database_without_tables_is_missing(postgres) -> None:
    with pytest.raises(GradebookMissing):
        assignment_scores(postgres.database("scores_empty"), ["an"], LAYOUT)


def test_a_gradebook_replaced_on_disk_is_read_afresh(tmp_path: Path) -> None:
    """The portal keeps one engine per URL; a SQLite gradebook rebuilt under it must not be read stale."""
    path = tmp_path / "gradebook.db"
    url = build_gradebook(f"sqlite:///{path}", {"an": {A1: ({}, {}, 0)}})
    assert assignment_scores(url, ["an"], LAYOUT)["an"][A1].shown() == "20/20"
    path.unlink()
    build_gradebook(url, {"an": {A1: ({"kiem-tra-1": Mark(auto=1)}, {}, 0)}})
    assert assignment_scores(url, ["an"], LAYOUT)["an"][A1].shown() == "11/20"
