"""The formgrader's bulk reads (hub/services/formgrader/fast_api.py) answer exactly what nbgrader's own
NbGraderAPI answers, method by method, on one gradebook with the awkward cases: learners collected but not
graded, graded ones whose autograded folder is gone, one whose collected folder is gone, learners without a
gradebook record, a notebook not submitted, manual scores, extra credit, waiting answers, failed tests, late
penalties, flagged notebooks, an assignment only in the source folder and one nobody submitted. Answers are
compared as the formgrader sends them (JSON), so a True where stock says 1, or 0 where it says 0.0, fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from support.formgrader_world import COURSE_ID, DUE, NOTEBOOKS, World, build_world

NOTEBOOK_NAMES = list(NOTEBOOKS)


def same(stock: Any, fast: Any) -> None:
    assert json.dumps(fast, sort_keys=True, ensure_ascii=False) == json.dumps(stock, sort_keys=True, ensure_ascii=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("khoa") / "course"
    world = build_world(root, learners=30, assignments=3, submissions=20, seed=7, filler_cells=0)
    from nbgrader.api import Gradebook

    with Gradebook(world.db_url, course_id=COURSE_ID) as gb:  # in the gradebook, submitted by nobody
        gb.add_assignment("bai-trong", duedate=DUE)
        gb.add_notebook("bai-tap", "bai-trong")
        gb.add_grade_cell("kt", "bai-tap", "bai-trong", max_score=2, cell_type="code")
    for name in ("bai-trong", "chi-co-nguon"):  # the second only in the source folder
        (root / "source" / name).mkdir(parents=True)
        (root / "source" / name / "bai-tap.ipynb").write_text("{}", encoding="utf-8")
    shutil.rmtree(root / "submitted" / world.submitted[2] / world.current)  # graded, collected folder gone
    (root / "release" / world.assignments[0]).mkdir(parents=True)
    return world


@pytest.fixture(scope="module")
def apis(world: World, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from hub.services.formgrader.fast_api import FastNbGraderAPI

    exchange = tmp_path_factory.mktemp("exchange")
    config = Config()
    config.CourseDirectory.root = str(world.root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.db_url = world.db_url
    config.Exchange.root = str(exchange)
    config.Exchange.path_includes_course = True
    config.NbGraderAPI.timezone = "Asia/Ho_Chi_Minh"

    def make(cls: type) -> Any:
        return cls(CourseDirectory(config=config), config=config)

    return SimpleNamespace(stock=make(NbGraderAPI), fast=make(FastNbGraderAPI))


def all_assignments(world: World) -> list[str]:
    return [*world.assignments, "bai-trong", "chi-co-nguon", "khong-co"]


def test_the_world_has_the_cases(world: World, apis: SimpleNamespace) -> None:
    subs = apis.stock.get_submissions(world.current)
    assert {s["autograded"] for s in subs} == {True, False}
    assert any(s["first_name"] is None for s in subs)  # no gradebook record
    assert any(s["needs_manual_grade"] for s in subs) and any(not s["needs_manual_grade"] for s in subs)
    nbs = apis.stock.get_notebook_submissions(world.current, NOTEBOOK_NAMES[0])
    assert any(s["failed_tests"] for s in nbs) and any(s["flagged"] for s in nbs)
    assert len(apis.stock.get_notebook_submissions(world.current, NOTEBOOK_NAMES[1])) < len(nbs)


def test_assignments(world: World, apis: SimpleNamespace) -> None:
    same(apis.stock.get_assignments(), apis.fast.get_assignments())
    for name in all_assignments(world):
        same(apis.stock.get_assignment(name), apis.fast.get_assignment(name))


def test_notebooks(world: World, apis: SimpleNamespace) -> None:
    for name in all_assignments(world):
        same(apis.stock.get_notebooks(name), apis.fast.get_notebooks(name))


def test_submissions(world: World, apis: SimpleNamespace) -> None:
    for name in all_assignments(world):
        same(apis.stock.get_submissions(name), apis.fast.get_submissions(name))


@pytest.mark.parametrize("notebook", [*NOTEBOOK_NAMES, "khong-co"])
def test_notebook_submissions_and_indices(world: World, apis: SimpleNamespace, notebook: str) -> None:
    for name in all_assignments(world):
        same(
            apis.stock.get_notebook_submission_indices(name, notebook),
            apis.fast.get_notebook_submission_indices(name, notebook),
        )
        same(apis.stock.get_notebook_submissions(name, notebook), apis.fast.get_notebook_submissions(name, notebook))


def test_filter_existing_notebooks(world: World, apis: SimpleNamespace) -> None:
    with apis.stock.gradebook as gb:
        for name in world.assignments:
            for notebook in NOTEBOOK_NAMES:
                notebooks = gb.notebook_submissions(notebook, name)
                stock = [nb.id for nb in apis.stock._filter_existing_notebooks(name, notebooks)]
                assert [nb.id for nb in apis.fast._filter_existing_notebooks(name, notebooks)] == stock
        assert apis.fast._filter_existing_notebooks(world.current, []) == []


def test_grades_and_comments_of_a_submitted_notebook(world: World, apis: SimpleNamespace) -> None:
    with apis.stock.gradebook as gb:
        notebooks = [
            nb for name in world.assignments for n in NOTEBOOK_NAMES for nb in gb.notebook_submissions(n, name)
        ]
        assert len(notebooks) > 100
        for nb in notebooks:
            # stock's order is the database's (no ORDER BY); ours is by id
            same(sorted((g.to_dict() for g in nb.grades), key=lambda g: g["id"]), apis.fast.get_grades(nb.id))
            same(sorted((c.to_dict() for c in nb.comments), key=lambda c: c["id"]), apis.fast.get_comments(nb.id))
        assert {g.failed_tests for nb in notebooks for g in nb.grades} >= {True, False}
    assert apis.fast.get_grades("khong-co") is None and apis.fast.get_comments("khong-co") is None


def test_installed_navigation_matches_stock(
    world: World, apis: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbgrader.server_extensions.formgrader import apihandlers, base, handlers

    from hub.services.formgrader import fast_api

    nav = handlers.SubmissionNavigationHandler
    replaced = [(base, "NbGraderAPI"), (nav, "_get_submission_ids"), (nav, "_get_incorrect_submission_ids"),
                (apihandlers.GradeCollectionHandler, "get"), (apihandlers.CommentCollectionHandler, "get")]  # fmt: skip
    for target, name in replaced:
        monkeypatch.setattr(target, name, getattr(target, name))  # put back when the test ends
    stock_ids, stock_incorrect = nav._get_submission_ids, nav._get_incorrect_submission_ids
    fast_api.install()
    assert base.NbGraderAPI is fast_api.FastNbGraderAPI
    with apis.stock.gradebook as gb:
        stock_self = SimpleNamespace(api=apis.stock, gradebook=gb)
        fast_self = SimpleNamespace(api=apis.fast, gradebook=gb)
        for name in world.assignments:
            for notebook in NOTEBOOK_NAMES:
                ids = stock_ids(stock_self, name, notebook)
                assert ids or name != world.current  # past assignments' notebooks are not on disk
                assert nav._get_submission_ids(fast_self, name, notebook) == ids
                for submission in gb.notebook_submissions(notebook, name)[:8]:
                    expected = stock_incorrect(stock_self, name, notebook, submission)
                    assert nav._get_incorrect_submission_ids(fast_self, name, notebook, submission) == expected


def test_a_changed_grade_is_seen_at_once(world: World, apis: SimpleNamespace, tmp_path: Path) -> None:
    """No cache: a manual score given in the formgrader shows in the next answer, as in stock."""
    from nbgrader.api import Gradebook

    before = apis.fast.get_submissions(world.current)
    with Gradebook(world.db_url, course_id=COURSE_ID) as gb:
        nb = gb.notebook_submissions(NOTEBOOK_NAMES[0], world.current)[0]
        grade = next(g for g in nb.grades if g.cell_type == "markdown")
        old = grade.manual_score
        grade.manual_score, grade.needs_manual_grade = 0.5 if old != 0.5 else 1.0, False
        gb.db.commit()
        try:
            after = apis.fast.get_submissions(world.current)
            assert after != before
            same(apis.stock.get_submissions(world.current), after)
            same(apis.stock.get_assignments(), apis.fast.get_assignments())
        finally:
            grade.manual_score = old
            gb.db.commit()
