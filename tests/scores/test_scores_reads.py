"""The portal reads the gradebook rows of the learners it shows, not the course's: in a gradebook holding
1,000 other learners, one statement, bound to the shown learners, reaches only their rows (SQLite's query
plan searches by index, PostgreSQL's executed plan counts the rows it read)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from portal_world import build_portal, instructor
from score_world import COURSE_ID, LAYOUT, SITUATIONS
from sqlalchemy import Engine, create_engine, event, text

from graders.curriculum import default_courses_root, load_course
from hub.services.portal import views

SHOWN = ["binh", "chi", "giang"]
LEARNER_TABLES = ("submitted_assignment", "submitted_notebook", "grade")


@contextmanager
def statements() -> Iterator[list[tuple[str, object]]]:
    """Every SQL statement any engine of this process sends, with its parameters."""
    seen: list[tuple[str, object]] = []

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", listener)


def gradebook_statements(seen: list[tuple[str, object]]) -> list[tuple[str, object]]:
    return [(sql, params) for sql, params in seen if "submitted_assignment" in sql]


def bound_values(params: object) -> set[str]:
    values = params.values() if isinstance(params, dict) else params
    return {v for v in values if isinstance(v, str)}


def own_rows(url: str, learners: list[str]) -> dict[str, int]:
    """How many rows of each learner-sized table belong to these learners."""
    engine = create_engine(url)
    names = ", ".join(f"'{u}'" for u in learners)
    with engine.connect() as conn:
        counts = {
            "submitted_assignment": f"SELECT count(*) FROM submitted_assignment WHERE student_id IN ({names})",
            "submitted_notebook": "SELECT count(*) FROM submitted_notebook sn JOIN submitted_assignment sa "
            f"ON sa.id = sn.assignment_id WHERE sa.student_id IN ({names})",
            "grade": "SELECT count(*) FROM grade g JOIN submitted_notebook sn ON sn.id = g.notebook_id "
            f"JOIN submitted_assignment sa ON sa.id = sn.assignment_id WHERE sa.student_id IN ({names})",
        }
        result = {table: conn.execute(text(sql)).scalar_one() for table, sql in counts.items()}
        for table in LEARNER_TABLES:
            result[f"all {table}"] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return result


def test_one_statement_bound_to_the_shown_learners(crowd_url: str) -> None:
    views.gradebook_scores(crowd_url, SHOWN, LAYOUT)  # first use: the engine's own set-up queries
    with statements() as seen:
        scores = views.gradebook_scores(crowd_url, SHOWN, LAYOUT)
    [(_, params)] = gradebook_statements(seen)
    assert bound_values(params) == {*SHOWN, *LAYOUT}
    assert {u for u, _ in scores} == set(SHOWN)


def test_the_progress_page_asks_for_its_class_only(tmp_path: Path, crowd_url: str) -> None:
    course = load_course(default_courses_root() / COURSE_ID)
    portal = build_portal(tmp_path / "data", crowd_url, course, {u: list(SITUATIONS[u]) for u in SHOWN})
    views.instructor_view(portal, instructor(), course.id)
    with statements() as seen:
        [progress], _ = views.instructor_view(portal, instructor(), course.id)
    [(_, params)] = gradebook_statements(seen)
    assert bound_values(params) - set(LAYOUT) == set(SHOWN)
    assert {u for u, _ in progress.learners} == set(SHOWN) and len(progress.cells) == len(SHOWN) * len(LAYOUT)


def test_the_database_reaches_only_their_rows(crowd_url: str) -> None:
    views.gradebook_scores(crowd_url, SHOWN, LAYOUT)
    with statements() as seen:
        views.gradebook_scores(crowd_url, SHOWN, LAYOUT)
    [(sql, params)] = gradebook_statements(seen)
    mine = own_rows(crowd_url, SHOWN)
    assert mine["all grade"] > 100 * mine["grade"]  # the crowd is really there
    # what comes back: one row per (submission, notebook) of the shown learners, nobody else's
    engine = create_engine(crowd_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(sql, params).all()
    engine.dispose()
    assert {row[0] for row in rows} == set(SHOWN) and len(rows) == mine["submitted_notebook"]
    if crowd_url.startswith("sqlite"):
        _sqlite_plan_searches(crowd_url, sql, params)
    else:
        read = _postgres_rows_read(crowd_url, sql, params)
        for table in LEARNER_TABLES:
            # EXPLAIN reports rows per loop as a rounded average, so the sum is approximate; the crowd's
            # rows (over 99% of each table) would show as thousands
            assert 0 < read[table] <= 2 * mine[table] < mine[f"all {table}"] / 50, (table, read, mine)


def _sqlite_plan_searches(url: str, sql: str, params: object) -> None:
    """Each learner-sized table is searched through a unique index keyed by the learner's rows, never
    scanned; only the master tables (assignments, notebooks, cells: a few hundred rows) may be."""
    import sqlite3

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    finally:
        conn.close()
    by_alias = {detail.split()[1]: detail for detail in plan}
    for alias in ("sa", "sn", "g"):
        assert by_alias[alias].startswith(f"SEARCH {alias} USING INDEX"), plan
    assert "student_id=?" in by_alias["sa"], plan
    assert "assignment_id=?" in by_alias["sn"] and "notebook_id=?" in by_alias["g"], plan


def _postgres_rows_read(url: str, sql: str, params: object) -> dict[str, int]:
    """Rows each learner-sized table gave up while PostgreSQL ran the statement (EXPLAIN ANALYZE).

    PostgreSQL chooses by cost, and a sequential scan of a 10,000-row grade table can cost less than fifty
    index probes (it did here); on a year's gradebook the probes win. With sequential scans priced out, the
    plan shows what the statement allows: every learner-sized table reached through nbgrader's unique
    indexes, only the shown learners' rows read."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            raw = cursor.fetchone()[0]
    finally:
        engine.dispose()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    read = dict.fromkeys(LEARNER_TABLES, 0)

    def walk(node: dict) -> None:
        table = node.get("Relation Name")
        if table in read:
            assert node["Node Type"] != "Seq Scan", node
            loops = node.get("Actual Loops", 1)
            kept = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            read[table] += kept * loops
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return read
