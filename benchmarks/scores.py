"""Portal progress page data: one class of 60 learners x 10 assignments, in a gradebook holding 1,000 learners.

Before: the portal's former score formula (plain SQL reading every grade row of the course, then filtered in
Python; copied below verbatim from hub/services/portal/views.py as it was, only renamed). After: graders.scores
(one query bound to the shown learners). Both run inside the real `views.instructor_view` with the real
directory and exchange store, alternately, REPEAT times each, on SQLite and (when it answers) PostgreSQL.
Also: the certificate path reading every learner of the course (the rules' former four-table scan, also
copied below, vs graders.scores for all learners).

    .venv/bin/python benchmarks/scores.py [--learners 1000] [--class-size 60] [--repeat 7] [--postgres URL]

Prints a table. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "scores")]

from portal_world import build_portal, instructor  # noqa: E402
from score_world import Cell, add_crowd, build_gradebook  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from graders.curriculum import Assignment, CompletionRule, Course, LocalizedText  # noqa: E402
from graders.scores import assignment_scores, dispose_engines  # noqa: E402
from hub.services.portal import views  # noqa: E402

COURSE = "bench-10"
LAYOUT = {
    f"{i:02d}-bai": {
        "bai": [Cell("giai", "solution"), Cell("kt-1", "auto", 4), Cell("kt-2", "auto", 4), Cell("kt-3", "auto", 4),
                Cell("tra-loi", "manual", 5), Cell("nhiem-vu", "task", 3)],
    }
    for i in range(1, 11)
}  # fmt: skip


def course() -> Course:
    return Course(
        id=COURSE,
        title=LocalizedText("Đo hiệu năng", "Benchmark"),
        description=LocalizedText(""),
        hours=10,
        assignments=tuple(Assignment(a, LocalizedText(a), 20) for a in LAYOUT),
        completion=CompletionRule(True, 70),
        path=REPO,
    )


# ---------------------------------------------------------------- the formulas this replaced, verbatim


def old_gradebook_scores(gradebook_url: str, usernames: list[str]) -> dict[tuple[str, str], str]:
    if not usernames:
        return {}
    if gradebook_url.startswith("sqlite:///") and not Path(gradebook_url.removeprefix("sqlite:///")).exists():
        return {}
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(gradebook_url)
    wanted = set(usernames)
    try:
        with engine.connect() as conn:
            notebooks = conn.execute(text(
                "SELECT sa.student_id, a.name, sn.id, COALESCE(sn.late_submission_penalty, 0) "
                "FROM submitted_assignment sa JOIN assignment a ON a.id = sa.assignment_id "
                "JOIN submitted_notebook sn ON sn.assignment_id = sa.id"
            )).all()  # fmt: skip
            grades = conn.execute(text(
                "SELECT g.notebook_id, COALESCE(g.manual_score, g.auto_score, 0), gc.max_score "
                "FROM grade g JOIN grade_cells gc ON gc.id = g.cell_id"
            )).all()  # fmt: skip
    except SQLAlchemyError:
        return {}
    finally:
        engine.dispose()
    per_notebook: dict[str, list[float]] = {}
    for notebook_id, score, maximum in grades:
        totals = per_notebook.setdefault(notebook_id, [0.0, 0.0])
        totals[0] += score or 0
        totals[1] += maximum or 0
    result: dict[tuple[str, str], list[float]] = {}
    for student, assignment, notebook_id, penalty in notebooks:
        if student not in wanted or notebook_id not in per_notebook:
            continue
        score, maximum = per_notebook[notebook_id]
        totals = result.setdefault((student, assignment), [0.0, 0.0])
        totals[0] += score - penalty
        totals[1] += maximum
    return {key: f"{max(0.0, s):g}/{m:g}" for key, (s, m) in result.items() if m}


def old_as_views(gradebook_url: str, usernames: list[str], assignment_ids) -> dict:
    """The old strings in the shape instructor_view now reads (the cost of this wrapper is nothing)."""
    return {
        key: SimpleNamespace(shown=lambda s=shown: s, needs_manual_grade=False)
        for key, shown in old_gradebook_scores(gradebook_url, usernames).items()
    }


def old_certificate_results(gradebook_url: str, assignment_ids: list[str]) -> int:
    """The certificate rules' former read: four table scans joined in dictionaries (nbgrader's ORM)."""
    from nbgrader.api import Assignment as NbAssignment
    from nbgrader.api import Grade, Gradebook, SubmittedAssignment, SubmittedNotebook

    with Gradebook(gradebook_url, course_id=COURSE) as gb:
        db = gb.db
        names = dict(db.query(NbAssignment.id, NbAssignment.name).filter(NbAssignment.name.in_(assignment_ids)))
        subs = {}
        for sub_id, assignment_id, student, timestamp in db.query(
            SubmittedAssignment.id, SubmittedAssignment.assignment_id, SubmittedAssignment.student_id,
            SubmittedAssignment.timestamp,
        ):  # fmt: skip
            if assignment_id in names:
                subs[sub_id] = [student, names[assignment_id], timestamp, 0.0, False, 0.0]
        notebook_sub = {}
        for nb_id, sub_id, penalty in db.query(
            SubmittedNotebook.id, SubmittedNotebook.assignment_id, SubmittedNotebook.late_submission_penalty
        ):
            if sub_id in subs:
                notebook_sub[nb_id] = sub_id
                subs[sub_id][5] += float(penalty or 0.0)
        for nb_id, score, pending in db.query(Grade.notebook_id, Grade.score, Grade.needs_manual_grade):
            sub = subs.get(notebook_sub.get(nb_id, ""))
            if sub is not None:
                sub[3] += float(score or 0.0)
                sub[4] = sub[4] or bool(pending)
    return len(subs)


# ---------------------------------------------------------------- measuring


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def rows_fetched(url: str, shown: list[str]) -> tuple[int, int]:
    """Rows the old formula brought into Python (all submitted notebooks + all grades) and the new one
    (one per submitted notebook of the shown learners)."""
    engine = create_engine(url)
    names = ", ".join(f"'{u}'" for u in shown)
    with engine.connect() as conn:
        old = conn.execute(text("SELECT (SELECT count(*) FROM submitted_notebook) + (SELECT count(*) FROM grade)"))
        new = conn.execute(text("SELECT count(*) FROM submitted_notebook sn JOIN submitted_assignment sa "
                                f"ON sa.id = sn.assignment_id WHERE sa.student_id IN ({names})"))  # fmt: skip
        counts = old.scalar_one(), new.scalar_one()
    engine.dispose()
    return counts


def measure(label: str, url: str, folder: Path, learners: int, class_size: int, repeat: int) -> list[tuple]:
    crowd = [f"hv{i:05d}" for i in range(learners)]
    started = time.perf_counter()
    build_gradebook(url, {}, LAYOUT, COURSE)
    add_crowd(url, crowd, course_id=COURSE)
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))  # what autovacuum does on a live gradebook
        engine.dispose()
    shown = crowd[:class_size]
    portal = build_portal(folder / "data", url, course(), {u: list(LAYOUT) for u in shown})
    print(f"[{label}] built {learners} learners x {len(LAYOUT)} assignments in {time.perf_counter() - started:.0f} s")

    new_scores = views.gradebook_scores
    caller = instructor()
    page = {"before": [], "after": []}
    score_only = {"before": [], "after": []}
    cert = {"before": [], "after": []}
    ids = list(LAYOUT)
    for _ in range(repeat):
        views.gradebook_scores = old_as_views
        try:
            page["before"].append(timed(lambda: views.instructor_view(portal, caller, COURSE)))
            before = views.instructor_view(portal, caller, COURSE)[0][0].cells
        finally:
            views.gradebook_scores = new_scores
        page["after"].append(timed(lambda: views.instructor_view(portal, caller, COURSE)))
        score_only["before"].append(timed(lambda: old_gradebook_scores(url, shown)))
        score_only["after"].append(timed(lambda: assignment_scores(url, shown, ids)))
        cert["before"].append(timed(lambda: old_certificate_results(url, ids)))
        cert["after"].append(timed(lambda: assignment_scores(url, None, ids)))
    after = views.instructor_view(portal, caller, COURSE)[0][0].cells
    differ = sum(1 for key in after if after[key].score != before[key].score)
    old_rows, new_rows = rows_fetched(url, shown)
    dispose_engines()

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.1f} ms"

    def ratio(d: dict) -> str:
        return f"{statistics.median(d['before']) / statistics.median(d['after']):.1f}x"

    return [
        (label, f"progress page data ({class_size} x {len(LAYOUT)})", ms(page["before"]), ms(page["after"]),
         ratio(page)),
        (label, "  of which the scores", ms(score_only["before"]), ms(score_only["after"]), ratio(score_only)),
        (label, "  gradebook rows brought into Python", str(old_rows), str(new_rows), f"{old_rows / new_rows:.0f}x"),
        (label, "  cells whose shown score changed", "-", str(differ), "(task cells now counted)"),
        (label, f"certificates: read all {learners} learners", ms(cert["before"]), ms(cert["after"]), ratio(cert)),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--class-size", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres", help="URL of an empty PostgreSQL database (optional)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sqlite_url = f"sqlite:///{folder / 'gradebook.db'}"
        rows += measure("SQLite", sqlite_url, folder / "s", args.learners, args.class_size, args.repeat)
        if args.postgres:
            rows += measure("PostgreSQL", args.postgres, folder / "p", args.learners, args.class_size, args.repeat)
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    print(f"{'db':<{widths[0]}}  {'what':<{widths[1]}}  {'before':>{widths[2]}}  {'after':>{widths[3]}}  ratio")
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}  {r[4]}")


if __name__ == "__main__":
    main()
