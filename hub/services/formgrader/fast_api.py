"""The formgrader's data, read in a few statements per page instead of one per learner or notebook.

Targets nbgrader 0.9.6 (pinned in constraints.txt): the formgrader's handlers build an `NbGraderAPI` for every
request (`nbgrader.server_extensions.formgrader.base.BaseHandler.api`), and at a year's scale its reads are
the pages' whole cost (nbgrader #785: 12-28 s per page at ~1,000 submissions). Three causes:
- `Gradebook.submission_dicts` / `notebook_submission_dicts` aggregate every grade of the whole gradebook in
  subqueries and only then keep one assignment (minutes with 8,700 learners x 11 assignments on SQLite);
- per-object lazy loads: `_filter_existing_notebooks` reads `nb.student` (two queries per submission),
  `Grade.to_dict` and the navigation's `failed_tests` one query per column per row;
- the gradebook's foreign keys have no index of their own (`grade.notebook_id`), so `notebook.grades`
  scans the grade table.

`FastNbGraderAPI` overrides the reading methods the pages call with statements bound to the assignment or
notebook asked for, walking nbgrader's unique indexes ((assignment_id, student_id), (notebook_id,
assignment_id), (cell_id, notebook_id)) from the master cells, which are few. They return what stock
returns (tests/unit/test_formgrader_fast_api.py compares the JSON method by method on a gradebook with
missing, late, manual, flagged and ungraded cases; sums of the same scores, added in another order, may
differ from stock's in the last bit). Manage assignments' averages need every grade of the course: they
are kept while the SQLite gradebook is unchanged (see _version), and the collected folders are listed once
per view, one stat per learner. The autograded-folder checks and every write stay nbgrader's.
`install()` (called by our server extension, restrictions.py) puts the class
where the handlers look for it and gives the grading view's JSON and navigation the same indexed reads.
nbgrader untouched; when nbgrader is upgraded, run the parity tests: a changed stock answer shows there.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from nbgrader.api import MissingEntry
from nbgrader.apps.api import NbGraderAPI
from nbgrader.utils import as_timezone, to_numeric_tz
from sqlalchemy import Boolean, DateTime, bindparam, text

from graders.db import sqlite_change_mark

# nbgrader's Grade.score (its CASE): the manual score over the automatic one, plus extra credit
# (NULL where a LEFT JOIN found no grade)
SCORE = """(CASE WHEN g.id IS NULL THEN NULL
    WHEN g.manual_score IS NOT NULL THEN g.manual_score + COALESCE(g.extra_credit, 0.0)
    WHEN g.auto_score IS NOT NULL THEN g.auto_score + COALESCE(g.extra_credit, 0.0) ELSE 0.0 END)"""
PENDING = "(CASE WHEN g.needs_manual_grade THEN 1 ELSE 0 END)"
# nbgrader's Grade.failed_tests, the same SQL (it is NULL for a code cell nobody scored, False in JSON's eyes)
FAILED = "(gc.cell_type IS NOT NULL AND (g.auto_score < COALESCE(gc.max_score, 0.0) AND gc.cell_type = 'code'))"
# the grades submission_dicts / notebook_submission_dicts count: code and written grade cells, written tasks
COUNTED = "(g.id IS NOT NULL AND (gc.cell_type IN ('code', 'markdown') OR tc.cell_type = 'markdown'))"
CELLS = "LEFT JOIN grade_cells gc ON gc.id = bc.id LEFT JOIN task_cells tc ON tc.id = bc.id"
SCORES = f"""
    SUM(CASE WHEN {COUNTED} THEN {SCORE} END) AS score,
    SUM(CASE WHEN g.id IS NULL THEN NULL WHEN gc.cell_type IN ('code', 'markdown') THEN gc.max_score
             WHEN tc.cell_type = 'markdown' THEN tc.max_score END) AS max_score,
    SUM(CASE WHEN gc.cell_type = 'code' THEN {SCORE} END) AS code_score,
    SUM(CASE WHEN g.id IS NOT NULL AND gc.cell_type = 'code' THEN gc.max_score END) AS max_code_score,
    SUM(CASE WHEN gc.cell_type = 'markdown' THEN {SCORE} END) AS written_score,
    SUM(CASE WHEN g.id IS NOT NULL AND gc.cell_type = 'markdown' THEN gc.max_score END) AS max_written_score,
    SUM(CASE WHEN tc.cell_type = 'markdown' THEN {SCORE} END) AS task_score,
    SUM(CASE WHEN g.id IS NOT NULL AND tc.cell_type = 'markdown' THEN tc.max_score END) AS max_task_score,
    MAX({PENDING}) AS pending,
    COUNT(CASE WHEN {COUNTED} THEN 1 END) AS counted"""
SCORE_KEYS = ("score", "max_score", "code_score", "max_code_score", "written_score", "max_written_score",
              "task_score", "max_task_score")  # fmt: skip

# One assignment's submissions (Gradebook.submission_dicts): from its submissions through the unique indexes
# to their grades. CROSS JOIN fixes the order for SQLite, which has no statistics on the gradebook and would
# otherwise walk every submission of the course (PostgreSQL plans it freely, the conditions are in WHERE).
SUBMISSIONS = text(f"""
SELECT sa.id AS id, sa.timestamp AS timestamp, s.first_name AS first_name, s.last_name AS last_name,
       s.id AS student, {SCORES}
FROM assignment a
CROSS JOIN submitted_assignment sa
CROSS JOIN notebook n
CROSS JOIN submitted_notebook sn
CROSS JOIN student s
LEFT JOIN base_cell bc ON bc.notebook_id = sn.notebook_id
LEFT JOIN grade g ON g.cell_id = bc.id AND g.notebook_id = sn.id
{CELLS}
WHERE a.name = :assignment AND sa.assignment_id = a.id AND n.assignment_id = a.id AND sn.notebook_id = n.id
  AND sn.assignment_id = sa.id AND s.id = sa.student_id
GROUP BY sa.id, sa.timestamp, s.first_name, s.last_name, s.id""").columns(timestamp=DateTime)

# One notebook's submissions (Gradebook.notebook_submission_dicts).
NOTEBOOK_SUBMISSIONS = text(f"""
SELECT sn.id AS id, s.id AS student, s.first_name AS first_name, s.last_name AS last_name,
       sn.flagged AS flagged, MAX(CASE WHEN {FAILED} THEN 1 ELSE 0 END) AS failed, {SCORES}
FROM assignment a
JOIN submitted_assignment sa ON sa.assignment_id = a.id
JOIN submitted_notebook sn ON sn.assignment_id = sa.id
JOIN notebook n ON n.id = sn.notebook_id
JOIN student s ON s.id = sa.student_id
LEFT JOIN base_cell bc ON bc.notebook_id = n.id
LEFT JOIN grade g ON g.cell_id = bc.id AND g.notebook_id = sn.id
{CELLS}
WHERE a.name = :assignment AND n.name = :notebook
GROUP BY sn.id, s.id, s.first_name, s.last_name, sn.flagged""").columns(flagged=Boolean)

# Which learner each submitted notebook of one notebook belongs to (Gradebook.notebook_submissions + .student).
NOTEBOOK_OWNERS = text("""
SELECT sn.id AS id, sa.student_id AS student
FROM assignment a
JOIN submitted_assignment sa ON sa.assignment_id = a.id
JOIN submitted_notebook sn ON sn.assignment_id = sa.id
JOIN notebook n ON n.id = sn.notebook_id
WHERE a.name = :assignment AND n.name = :notebook""")

# Master notebooks: their maxima (Notebook.max_*), counts, and grade sums by cell kind (the averages).
NOTEBOOKS = text("""
SELECT a.id AS assignment_id, a.name AS assignment, n.id AS id, n.name AS name,
       SUM(gc.max_score) AS max_grade, SUM(tc.max_score) AS max_task_all,
       SUM(CASE WHEN gc.cell_type = 'code' THEN gc.max_score END) AS max_code,
       SUM(CASE WHEN gc.cell_type = 'markdown' THEN gc.max_score END) AS max_written,
       SUM(CASE WHEN tc.cell_type = 'markdown' THEN tc.max_score END) AS max_task
FROM assignment a
JOIN notebook n ON n.assignment_id = a.id
LEFT JOIN base_cell bc ON bc.notebook_id = n.id
LEFT JOIN grade_cells gc ON gc.id = bc.id
LEFT JOIN task_cells tc ON tc.id = bc.id
WHERE a.name IN :assignments
GROUP BY a.id, a.name, n.id, n.name""")
GRADE_SUMS = text(f"""
SELECT n.id AS id,
       SUM({SCORE}) AS all_sum,
       SUM(CASE WHEN gc.id IS NOT NULL THEN {SCORE} END) AS grade_sum,
       SUM(CASE WHEN gc.cell_type = 'code' THEN {SCORE} END) AS code_sum,
       SUM(CASE WHEN gc.cell_type = 'markdown' THEN {SCORE} END) AS written_sum,
       SUM(CASE WHEN tc.id IS NOT NULL THEN {SCORE} END) AS task_all_sum,
       SUM(CASE WHEN tc.cell_type = 'markdown' THEN {SCORE} END) AS task_sum,
       MAX({PENDING}) AS pending
FROM assignment a
JOIN notebook n ON n.assignment_id = a.id
JOIN base_cell bc ON bc.notebook_id = n.id
LEFT JOIN grade g ON g.cell_id = bc.id
{CELLS}
WHERE a.name IN :assignments
GROUP BY n.id""")
# The same sums for many assignments (manage assignments: all of them, so every grade of the course): one
# pass over the grade table summed per cell, cheaper than an index probe per grade. SQLite, which has no
# statistics on the gradebook, is told not to walk the (cell_id, notebook_id) index for it.
GRADE_SUMS_SCAN = f"""
SELECT n.id AS id,
       SUM(x.total) AS all_sum,
       SUM(CASE WHEN gc.id IS NOT NULL THEN x.total END) AS grade_sum,
       SUM(CASE WHEN gc.cell_type = 'code' THEN x.total END) AS code_sum,
       SUM(CASE WHEN gc.cell_type = 'markdown' THEN x.total END) AS written_sum,
       SUM(CASE WHEN tc.id IS NOT NULL THEN x.total END) AS task_all_sum,
       SUM(CASE WHEN tc.cell_type = 'markdown' THEN x.total END) AS task_sum,
       MAX(x.pending) AS pending
FROM (SELECT g.cell_id AS cell_id, SUM({SCORE}) AS total, MAX({PENDING}) AS pending
      FROM grade g {{hint}} GROUP BY g.cell_id) x
JOIN base_cell bc ON bc.id = x.cell_id
JOIN notebook n ON n.id = bc.notebook_id
JOIN assignment a ON a.id = n.assignment_id
{CELLS}
WHERE a.name IN :assignments
GROUP BY n.id"""
SCAN_FROM = 3  # assignments asked about at once from which the scan is used

COUNTS = text("""
SELECT a.name AS assignment, (SELECT COUNT(*) FROM submitted_assignment sa WHERE sa.assignment_id = a.id) AS n,
       a.duedate AS duedate
FROM assignment a WHERE a.name IN :assignments""").columns(duedate=DateTime)
NOTEBOOK_COUNTS = text("""
SELECT n.id AS id, (SELECT COUNT(*) FROM submitted_notebook sn WHERE sn.notebook_id = n.id) AS n
FROM assignment a JOIN notebook n ON n.assignment_id = a.id WHERE a.name IN :assignments""")

# One submitted notebook's grades and comments (the grading view's JSON), through (cell_id, notebook_id).
GRADES = text(f"""
SELECT g.id AS id, bc.name AS name, n.name AS notebook, a.name AS assignment, sa.student_id AS student,
       g.auto_score AS auto_score, g.manual_score AS manual_score, g.extra_credit AS extra_credit,
       COALESCE(gc.max_score, tc.max_score, 0.0) AS max_score, g.needs_manual_grade AS needs_manual_grade,
       {FAILED} AS failed_tests, COALESCE(gc.cell_type, tc.cell_type) AS cell_type
FROM submitted_notebook sn
JOIN notebook n ON n.id = sn.notebook_id
JOIN submitted_assignment sa ON sa.id = sn.assignment_id
JOIN assignment a ON a.id = sa.assignment_id
JOIN base_cell bc ON bc.notebook_id = n.id
LEFT JOIN grade g ON g.cell_id = bc.id AND g.notebook_id = sn.id
{CELLS}
WHERE sn.id = :submission AND g.id IS NOT NULL""").columns(needs_manual_grade=Boolean, failed_tests=Boolean)
COMMENTS = text("""
SELECT c.id AS id, bc.name AS name, n.name AS notebook, a.name AS assignment, sa.student_id AS student,
       c.auto_comment AS auto_comment, c.manual_comment AS manual_comment
FROM submitted_notebook sn
JOIN notebook n ON n.id = sn.notebook_id
JOIN submitted_assignment sa ON sa.id = sn.assignment_id
JOIN assignment a ON a.id = sa.assignment_id
JOIN base_cell bc ON bc.notebook_id = n.id
LEFT JOIN comment c ON c.cell_id = bc.id AND c.notebook_id = sn.id
WHERE sn.id = :submission AND c.id IS NOT NULL""")

NOTEBOOKS = NOTEBOOKS.bindparams(bindparam("assignments", expanding=True))
GRADE_SUMS = GRADE_SUMS.bindparams(bindparam("assignments", expanding=True))
COUNTS = COUNTS.bindparams(bindparam("assignments", expanding=True))
NOTEBOOK_COUNTS = NOTEBOOK_COUNTS.bindparams(bindparam("assignments", expanding=True))


def _f(value: Any) -> float:
    """A SUM as nbgrader's COALESCE(..., 0.0) gives it."""
    return 0.0 if value is None else float(value)


def _score_fields(row: Any) -> dict[str, float]:
    return {key: _f(getattr(row, key)) for key in SCORE_KEYS}


DEFAULT_STRUCTURE = os.path.join("{nbgrader_step}", "{student_id}", "{assignment_id}")

# Assignment-level facts (maxima, counts, grade sums: every grade of the course is read for the averages of
# manage assignments) are kept per SQLite gradebook while the file is unchanged. Any commit, by any process,
# changes the database file or its write-ahead log, so a grade given in the formgrader or by the autograder
# is seen at the next view. Other databases are read every time (no cheap sign of change).
_facts_cache: dict[str, tuple[tuple, dict[str, dict[str, Any]], set[str]]] = {}  # (version, found, absent)
_facts_lock = threading.Lock()


# A learner's folder in submitted/ -> (its mtime, the assignment folders in it): a folder's mtime changes
# whenever a name in it is added, removed or renamed, so one stat per learner replaces one listing.
_folders_cache: dict[str, tuple[int, frozenset[str]]] = {}


def _assignment_folders(path: str) -> frozenset[str]:
    """The folders (not hidden, links followed: glob's view) in one learner's submitted/ folder."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return frozenset()
    cached = _folders_cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        names = frozenset(e.name for e in os.scandir(path) if not e.name.startswith(".") and e.is_dir())
    except OSError:
        return frozenset()
    _folders_cache[path] = (mtime, names)
    return names


class FastNbGraderAPI(NbGraderAPI):
    """NbGraderAPI with the formgrader pages' reads in bulk (see the module's docstring)."""

    # ---------------------------------------------------------------- collected folders

    def _submitted_folders(self, assignment_ids: list[str] | None) -> dict[str, set[str]] | None:
        """assignment -> learners with a folder in `submitted/` (stock: one glob per assignment, 8,700 stats and
        regexes each); None when the course uses another directory layout (then stock's globs answer)."""
        if self.coursedir.directory_structure != DEFAULT_STRUCTURE:
            return None
        base = os.path.join(self.coursedir.root, self.coursedir.submitted_directory)
        out: dict[str, set[str]] = {a: set() for a in assignment_ids or ()}
        try:
            learners = [e for e in os.scandir(base) if not e.name.startswith(".")]  # glob's "*" skips dot names
        except OSError:
            return out
        for learner in learners:
            if assignment_ids is not None:  # a few assignments: one stat each, like stock's isdir
                for a in assignment_ids:
                    if os.path.isdir(os.path.join(learner.path, a)):
                        out[a].add(learner.name)
                continue
            for name in _assignment_folders(learner.path):
                out.setdefault(name, set()).add(learner.name)
        return out

    def get_submitted_students(self, assignment_id: str) -> set[str]:
        if assignment_id == "*" or any(ch in assignment_id for ch in "*?[" + os.sep):
            return super().get_submitted_students(assignment_id)
        folders = self._submitted_folders([assignment_id])
        return super().get_submitted_students(assignment_id) if folders is None else folders[assignment_id]

    # ---------------------------------------------------------------- assignments and notebooks

    def _notebook_facts(self, gb: Any, assignments: list[str]) -> dict[str, list[dict[str, Any]]]:
        """assignment -> its master notebooks (by name), each with maxima, counts and grade sums."""
        if not assignments:
            return {}
        db = gb.db
        statement = GRADE_SUMS
        if len(assignments) >= SCAN_FROM:
            hint = "NOT INDEXED" if db.get_bind().dialect.name == "sqlite" else ""
            statement = text(GRADE_SUMS_SCAN.format(hint=hint)).bindparams(bindparam("assignments", expanding=True))
        sums = {r.id: r for r in db.execute(statement, {"assignments": assignments})}
        counts = {r.id: r.n for r in db.execute(NOTEBOOK_COUNTS, {"assignments": assignments})}
        out: dict[str, list[dict[str, Any]]] = {}
        for r in db.execute(NOTEBOOKS, {"assignments": assignments}):
            s = sums.get(r.id)
            out.setdefault(r.assignment, []).append({
                "id": r.id, "name": r.name, "num": counts.get(r.id, 0),
                "max_grade": _f(r.max_grade), "max_task_all": _f(r.max_task_all), "max_code": _f(r.max_code),
                "max_written": _f(r.max_written), "max_task": _f(r.max_task),
                **{k: _f(getattr(s, k, None)) for k in ("all_sum", "grade_sum", "code_sum", "written_sum",
                                                         "task_all_sum", "task_sum")},
                "pending": bool(getattr(s, "pending", 0) or 0),
            })  # fmt: skip
        for notebooks in out.values():
            notebooks.sort(key=lambda nb: nb["name"])
        return out

    def _assignment_dicts(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """What stock get_assignment reads from the gradebook, for several assignments at once."""
        url = self.coursedir.db_url
        version = sqlite_change_mark(url)
        key = f"{url}|{self.timezone}|{self.timestamp_format}"
        if version is not None:
            with _facts_lock:
                cached = _facts_cache.get(key)
            if cached is not None and cached[0] == version and all(n in cached[1] or n in cached[2] for n in names):
                return {n: cached[1][n] for n in names if n in cached[1]}
        found = self._read_assignment_dicts(names)
        if version is not None and version == sqlite_change_mark(url):  # unchanged while it was read
            with _facts_lock:
                _facts_cache[key] = (version, found, set(names) - set(found))
        return found

    def _read_assignment_dicts(self, names: list[str]) -> dict[str, dict[str, Any]]:
        with self.gradebook as gb:
            db = gb.db
            rows = {r.assignment: r for r in db.execute(COUNTS, {"assignments": names})}
            ids = {
                r.name: r.id
                for r in db.execute(
                    text("SELECT id, name FROM assignment WHERE name IN :names").bindparams(
                        bindparam("names", expanding=True)
                    ),
                    {"names": names},
                )
            }
            notebooks = self._notebook_facts(gb, list(rows))
        out = {}
        for name, row in rows.items():
            nbs = notebooks.get(name, [])
            n = row.n
            grade_sum = sum(nb["grade_sum"] for nb in nbs)
            task_all_sum = sum(nb["task_all_sum"] for nb in nbs)

            def average(total: float, n: int = n) -> float:
                return 0.0 if n == 0 else total / n

            assignment: dict[str, Any] = {
                "id": ids[name],
                "name": name,
                "duedate": row.duedate.isoformat() if row.duedate is not None else None,
                "num_submissions": n,
                "max_score": sum(nb["max_grade"] for nb in nbs) + sum(nb["max_task_all"] for nb in nbs),
                "max_code_score": sum(nb["max_code"] for nb in nbs),
                "max_written_score": sum(nb["max_written"] for nb in nbs),
            }
            assignment["max_task_score"] = assignment["max_written_score"]  # sic: nbgrader's Assignment.to_dict
            if row.duedate:
                ts = as_timezone(row.duedate, self.timezone)
                assignment["display_duedate"] = ts.strftime(self.timestamp_format)
                assignment["duedate_notimezone"] = ts.replace(tzinfo=None).isoformat()
            else:
                assignment["display_duedate"] = None
                assignment["duedate_notimezone"] = None
            assignment["duedate_timezone"] = to_numeric_tz(self.timezone)
            assignment["average_score"] = average(grade_sum + task_all_sum)
            assignment["average_code_score"] = average(sum(nb["code_sum"] for nb in nbs))
            assignment["average_written_score"] = average(sum(nb["written_sum"] for nb in nbs))
            assignment["average_task_score"] = average(sum(nb["task_sum"] for nb in nbs))
            out[name] = assignment
        return out

    def _assignment(
        self,
        assignment_id: str,
        released: set[str],
        known: dict[str, dict[str, Any]],
        submitted: dict[str, set[str]] | None = None,
    ) -> dict | None:
        """Stock get_assignment, with the gradebook's part given (`known`) and the collected folders if listed."""
        sourcedir = os.path.abspath(
            self.coursedir.format_path(self.coursedir.source_directory, student_id=".", assignment_id=assignment_id)
        )
        if not os.path.isdir(sourcedir):
            return None
        assignment = known.get(assignment_id)
        if assignment is None:
            assignment = {
                "id": None, "name": assignment_id, "duedate": None, "display_duedate": None,
                "duedate_notimezone": None, "duedate_timezone": to_numeric_tz(self.timezone),
                "average_score": 0, "average_code_score": 0, "average_written_score": 0, "average_task_score": 0,
                "max_score": 0, "max_code_score": 0, "max_written_score": 0, "max_task_score": 0,
            }  # fmt: skip
        else:
            assignment = dict(assignment)
        if not self.exchange_is_functional:
            assignment["releaseable"] = False
            assignment["status"] = "draft"
        else:
            assignment["releaseable"] = True
            assignment["status"] = "released" if assignment_id in released else "draft"
        assignment["source_path"] = os.path.relpath(sourcedir, self.coursedir.root)
        releasedir = os.path.abspath(
            self.coursedir.format_path(self.coursedir.release_directory, student_id=".", assignment_id=assignment_id)
        )
        assignment["release_path"] = (
            os.path.relpath(releasedir, self.coursedir.root) if os.path.exists(releasedir) else None
        )
        if submitted is None:
            submitted = {assignment_id: self.get_submitted_students(assignment_id)}
        assignment["num_submissions"] = len(submitted[assignment_id])
        return assignment

    def get_assignment(self, assignment_id: str, released: Any = None) -> dict | None:
        if not released:
            released = self.get_released_assignments()
        return self._assignment(assignment_id, released, self._assignment_dicts([assignment_id]))

    def get_assignments(self) -> list[dict]:
        released = self.get_released_assignments()
        names = sorted(self.get_source_assignments())
        known = self._assignment_dicts(names)
        submitted = self._submitted_folders(None)
        if submitted is not None:  # every assignment asked about gets an entry: folders are the answer
            submitted = {a: submitted.get(a, set()) for a in names}
        assignments = [self._assignment(x, released, known, submitted) for x in names]
        assignments.sort(key=lambda x: (x["duedate"] if x["duedate"] is not None else "None", x["name"]))
        return assignments

    def get_notebooks(self, assignment_id: str) -> list[dict]:
        with self.gradebook as gb:
            notebooks = self._notebook_facts(gb, [assignment_id]).get(assignment_id)
        if not notebooks:
            return super().get_notebooks(assignment_id)  # not in the gradebook: stock reads the source folder
        out = []
        for nb in notebooks:
            n = nb["num"]

            def average(total: float, n: int = n) -> float:
                return 0.0 if n == 0 else total / n

            out.append({
                "id": nb["id"], "name": nb["name"], "num_submissions": n,
                "max_score": nb["max_grade"] + nb["max_task_all"], "max_code_score": nb["max_code"],
                "max_written_score": nb["max_written"], "max_task_score": nb["max_task"],
                "needs_manual_grade": nb["pending"],
                "average_score": average(nb["all_sum"]), "average_code_score": average(nb["code_sum"]),
                "average_written_score": average(nb["written_sum"]), "average_task_score": average(nb["task_sum"]),
            })  # fmt: skip
        return out

    # ---------------------------------------------------------------- submissions

    def get_submissions(self, assignment_id: str) -> list[dict]:
        with self.gradebook as gb:
            rows = [r for r in gb.db.execute(SUBMISSIONS, {"assignment": assignment_id}) if r.counted]
        submitted = self.get_submitted_students(assignment_id)
        autograded = self.get_autograded_students(assignment_id)
        ungraded = submitted - autograded
        submissions = []
        for r in rows:
            if r.student in ungraded:
                continue
            submission = {"id": r.id, "name": assignment_id, "timestamp": None, "display_timestamp": None,
                          "first_name": r.first_name, "last_name": r.last_name, "student": r.student,
                          **_score_fields(r), "needs_manual_grade": bool(r.pending)}  # fmt: skip
            if r.timestamp:
                submission["timestamp"] = r.timestamp.isoformat()
                submission["display_timestamp"] = as_timezone(r.timestamp, self.timezone).strftime(
                    self.timestamp_format
                )
            submission["autograded"] = True
            submission["submitted"] = True
            submissions.append(submission)
        names = self._names(ungraded)
        for student_id in ungraded:
            submissions.append(self.get_submission(assignment_id, student_id, ungraded=ungraded, students=names))
        submissions.sort(key=lambda x: x["student"])
        return submissions

    def _names(self, student_ids: set[str]) -> dict[str, dict[str, Any]]:
        """The names of these learners only (stock reads every learner's scores for it)."""
        if not student_ids:
            return {}
        statement = text("SELECT id, first_name, last_name FROM student WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        out = {}
        with self.gradebook as gb:
            wanted = sorted(student_ids)
            for start in range(0, len(wanted), 500):
                for r in gb.db.execute(statement, {"ids": wanted[start : start + 500]}):
                    out[r.id] = {"id": r.id, "first_name": r.first_name, "last_name": r.last_name}
        return out

    def _owners(self, assignment_id: str, notebook_id: str) -> dict[str, str]:
        with self.gradebook as gb:
            return {
                r.id: r.student
                for r in gb.db.execute(NOTEBOOK_OWNERS, {"assignment": assignment_id, "notebook": notebook_id})
            }

    def _existing(self, assignment_id: str, notebook_id: str, owners: dict[str, str]) -> list[str]:
        """Stock _filter_existing_notebooks on ids: the submitted notebooks whose autograded file exists."""
        if self.exchange_is_functional:
            submit = self.exchange.Submit(coursedir=self.coursedir, authenticator=self.authenticator, parent=self)
            if submit.strict:
                return sorted(owners)
        kept = []
        for nb_id, student in owners.items():
            folder = os.path.abspath(
                self.coursedir.format_path(
                    self.coursedir.autograded_directory, student_id=student, assignment_id=assignment_id
                )
            )
            if os.path.exists(os.path.join(folder, f"{notebook_id}.ipynb")):
                kept.append(nb_id)
        return sorted(kept)

    def _filter_existing_notebooks(self, assignment_id: str, notebooks: list) -> list:
        if not notebooks:
            return []
        owners = self._owners(assignment_id, notebooks[0].name)
        by_id = {nb.id: nb for nb in notebooks}
        kept = set(self._existing(assignment_id, notebooks[0].name, {i: owners[i] for i in by_id if i in owners}))
        return sorted((nb for nb in notebooks if nb.id in kept), key=lambda x: x.id)

    def get_notebook_submission_indices(self, assignment_id: str, notebook_id: str) -> dict[str, int]:
        ids = self._existing(assignment_id, notebook_id, self._owners(assignment_id, notebook_id))
        return {x: i for i, x in enumerate(ids)}

    def get_notebook_submissions(self, assignment_id: str, notebook_id: str) -> list[dict]:
        with self.gradebook as gb:
            try:
                gb.find_notebook(notebook_id, assignment_id)
            except MissingEntry:
                return []
            rows = [
                r
                for r in gb.db.execute(NOTEBOOK_SUBMISSIONS, {"assignment": assignment_id, "notebook": notebook_id})
                if r.counted
            ]
        indices = self.get_notebook_submission_indices(assignment_id, notebook_id)
        submissions = []
        for r in rows:
            if r.id not in indices:
                continue
            submissions.append({
                "id": r.id, "name": notebook_id, "student": r.student, "first_name": r.first_name,
                "last_name": r.last_name, **_score_fields(r), "needs_manual_grade": bool(r.pending),
                "failed_tests": bool(r.failed), "flagged": r.flagged, "index": indices[r.id],
            })  # fmt: skip
        submissions.sort(key=lambda x: x["id"])
        return submissions

    # ---------------------------------------------------------------- one submitted notebook

    def get_grades(self, submission_id: str) -> list[dict] | None:
        """`[g.to_dict() for g in notebook.grades]` of one submitted notebook (None: no such notebook)."""
        with self.gradebook as gb:
            if not gb.db.execute(text("SELECT 1 FROM submitted_notebook WHERE id = :i"), {"i": submission_id}).first():
                return None
            rows = gb.db.execute(GRADES, {"submission": submission_id}).all()
        return [{**r._asdict(), "failed_tests": r.failed_tests} for r in sorted(rows, key=lambda r: r.id)]

    def get_comments(self, submission_id: str) -> list[dict] | None:
        """`[c.to_dict() for c in notebook.comments]` of one submitted notebook (None: no such notebook)."""
        with self.gradebook as gb:
            if not gb.db.execute(text("SELECT 1 FROM submitted_notebook WHERE id = :i"), {"i": submission_id}).first():
                return None
            rows = gb.db.execute(COMMENTS, {"submission": submission_id}).all()
        return [r._asdict() for r in sorted(rows, key=lambda r: r.id)]


def install() -> None:
    """Make nbgrader's formgrader handlers use FastNbGraderAPI: their `api` property builds whatever
    `nbgrader.server_extensions.formgrader.base.NbGraderAPI` names; the grading view's JSON (grades, comments)
    and its next/previous navigation get the indexed reads. Safe to repeat."""
    from nbgrader.server_extensions.formgrader import apihandlers, base, handlers
    from tornado import web

    base.NbGraderAPI = FastNbGraderAPI

    def grades_get(self: Any) -> None:
        found = self.api.get_grades(self.get_argument("submission_id"))
        if found is None:
            raise web.HTTPError(404)
        self.write(json.dumps(found))

    def comments_get(self: Any) -> None:
        found = self.api.get_comments(self.get_argument("submission_id"))
        if found is None:
            raise web.HTTPError(404)
        self.write(json.dumps(found))

    for cls, get in ((apihandlers.GradeCollectionHandler, grades_get), (apihandlers.CommentCollectionHandler,
                                                                         comments_get)):  # fmt: skip
        cls.get = web.authenticated(base.check_xsrf(base.check_notebook_dir(get)))

    def submission_ids(self: Any, assignment_id: str, notebook_id: str) -> list[str]:
        api = self.api
        return api._existing(assignment_id, notebook_id, api._owners(assignment_id, notebook_id))

    def incorrect_ids(self: Any, assignment_id: str, notebook_id: str, submission: Any) -> list[str]:
        api = self.api
        failed = {s["id"] for s in api.get_notebook_submissions(assignment_id, notebook_id) if s["failed_tests"]}
        kept = set(api._existing(assignment_id, notebook_id, api._owners(assignment_id, notebook_id)))
        return sorted((failed & kept) | {submission.id})

    handlers.SubmissionNavigationHandler._get_submission_ids = submission_ids
    handlers.SubmissionNavigationHandler._get_incorrect_submission_ids = incorrect_ids
