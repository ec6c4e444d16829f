"""Unit tests for graders.curriculum: course.yaml loading and validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from graders.curriculum import (
    Course,
    CourseError,
    LocalizedText,
    default_courses_root,
    load_course,
    load_courses,
    notebook_points,
)

# ---------------------------------------------------------------- cell factories


def _meta(**kw: Any) -> dict[str, Any]:
    base = {"grade": False, "solution": False, "locked": False, "schema_version": 3}
    base.update(kw)
    return {"nbgrader": base}


def answer_cell(grade_id: str) -> nbformat.NotebookNode:
    source = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    cell = new_code_cell(source, metadata=_meta(solution=True, grade_id=grade_id))
    cell.id = grade_id
    return cell


def grading_cell(grade_id: str, points: float) -> nbformat.NotebookNode:
    cell = new_code_cell(
        "assert x == 1, 'Sai rồi'", metadata=_meta(grade=True, locked=True, points=points, grade_id=grade_id)
    )
    cell.id = grade_id
    return cell


def manual_cell(grade_id: str, points: float) -> nbformat.NotebookNode:
    cell = new_markdown_cell("Trả lời", metadata=_meta(grade=True, solution=True, points=points, grade_id=grade_id))
    cell.id = grade_id
    return cell


def task_cell(grade_id: str, points: float) -> nbformat.NotebookNode:
    cell = new_markdown_cell("Nhiệm vụ", metadata=_meta(task=True, locked=True, points=points, grade_id=grade_id))
    cell.id = grade_id
    return cell


def write_notebook(path: Path, *cells: nbformat.NotebookNode) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=list(cells)), path)
    return path


def valid_doc(course_id: str = "khoa-thu") -> dict[str, Any]:
    return {
        "id": course_id,
        "title": {"vi": "Khóa thử", "en": "Test course"},
        "description": {"vi": "Mô tả", "en": "Description"},
        "hours": 8,
        "assignments": [
            {"id": "01-bai-mot", "title": {"vi": "Bài một", "en": "One"}, "points": 5, "required": True},
            {"id": "02-bai-hai", "title": {"vi": "Bài hai"}, "points": 3.5, "required": False},
        ],
        "completion": {"require_all_required_submitted": True, "min_overall_percent": 70},
    }


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    """A valid course: two assignments whose notebooks are worth 5 and 3.5 points."""
    folder = tmp_path / "khoa-thu"
    src = folder / "source"
    write_notebook(src / "01-bai-mot" / "a.ipynb", answer_cell("a1"), grading_cell("t1", 2), manual_cell("m1", 1))
    write_notebook(src / "01-bai-mot" / "b.ipynb", answer_cell("a1"), grading_cell("t1", 2))
    write_notebook(src / "02-bai-hai" / "c.ipynb", grading_cell("t1", 1.5), task_cell("k1", 2))
    (src / "01-bai-mot" / "data").mkdir()
    write_yaml(folder, valid_doc())
    return folder


def write_yaml(folder: Path, doc: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "course.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def expect_error(folder: Path, *fragments: str) -> CourseError:
    with pytest.raises(CourseError) as info:
        load_course(folder)
    message = str(info.value)
    assert str(folder / "course.yaml") in message, f"the message does not name the file: {message}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return info.value


# ---------------------------------------------------------------- the happy path


def test_loads_a_valid_course(course_dir: Path) -> None:
    course = load_course(course_dir)
    assert isinstance(course, Course)
    assert course.id == "khoa-thu" and course.hours == 8
    assert course.title == LocalizedText("Khóa thử", "Test course")
    assert [a.id for a in course.assignments] == ["01-bai-mot", "02-bai-hai"]
    assert course.assignments[0].notebooks == ("a.ipynb", "b.ipynb")
    assert course.assignments[1].title.en == "" and course.assignments[1].title.get("en") == "Bài hai"
    assert [a.id for a in course.required_assignments] == ["01-bai-mot"]
    assert course.total_points == 8.5 and course.required_points == 5
    assert course.completion.min_overall_percent == 70 and course.completion.require_all_required_submitted
    assert course.assignment("02-bai-hai").points == 3.5
    with pytest.raises(KeyError):
        course.assignment("99-khong-co")
    assert load_course(course_dir / "course.yaml") == course


def test_required_defaults_to_true(course_dir: Path) -> None:
    doc = valid_doc()
    del doc["assignments"][1]["required"]
    write_yaml(course_dir, doc)
    assert load_course(course_dir).assignments[1].required is True


def test_notebook_points_counts_tests_manual_and_tasks(course_dir: Path) -> None:
    assert notebook_points(course_dir / "source" / "01-bai-mot" / "a.ipynb") == 3
    assert notebook_points(course_dir / "source" / "02-bai-hai" / "c.ipynb") == 3.5


def test_load_courses_sorted_and_skips_plain_folders(tmp_path: Path, course_dir: Path) -> None:
    (tmp_path / "not-a-course").mkdir()
    other = tmp_path / "a-khoa"
    write_notebook(other / "source" / "01-bai-mot" / "x.ipynb", grading_cell("t", 5))
    write_notebook(other / "source" / "02-bai-hai" / "y.ipynb", grading_cell("t", 3.5))
    write_yaml(other, valid_doc("a-khoa"))
    assert [c.id for c in load_courses(tmp_path)] == ["a-khoa", "khoa-thu"]


def test_default_root_is_the_repository_courses_folder() -> None:
    root = default_courses_root()
    assert root == Path(__file__).resolve().parents[2] / "courses"
    ids = [c.id for c in load_courses()]
    assert "phan-tich-du-lieu" in ids and "ky-nang-so" in ids


# ---------------------------------------------------------------- broken inputs


def test_invalid_yaml(course_dir: Path) -> None:
    (course_dir / "course.yaml").write_text("id: khoa-thu\ntitle: {vi: 'Khóa thử'\n", encoding="utf-8")
    expect_error(course_dir, "invalid YAML")


def test_not_a_mapping(course_dir: Path) -> None:
    write_yaml(course_dir, ["id", "khoa-thu"])
    expect_error(course_dir, "must be a mapping")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="file not found"):
        load_course(tmp_path)


@pytest.mark.parametrize("field", ["id", "title", "description", "hours", "assignments", "completion"])
def test_missing_top_level_field(course_dir: Path, field: str) -> None:
    doc = valid_doc()
    del doc[field]
    write_yaml(course_dir, doc)
    expect_error(course_dir, "missing required field", field)


def test_unknown_field_is_a_typo(course_dir: Path) -> None:
    doc = valid_doc()
    doc["asignments"] = doc["assignments"]
    write_yaml(course_dir, doc)
    expect_error(course_dir, "unknown field", "asignments")


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (("hours",), "forty", "hours must be a number"),
        (("hours",), True, "hours must be a number"),
        (("hours",), 0, "hours must be greater than 0"),
        (("title",), "Khóa thử", "title must be a mapping"),
        (("assignments",), {"id": "x"}, "'assignments' must be a non-empty list"),
        (("assignments",), [], "'assignments' must be a non-empty list"),
        (("assignments", 0, "points"), "5", "assignments[0].points must be a number"),
        (("assignments", 0, "required"), "yes", "assignments[0].required must be true or false"),
        (("assignments", 0), "01-bai-mot", "assignments[0] must be a mapping"),
        (("completion", "min_overall_percent"), 170, "between 0 and 100"),
        (("completion", "min_overall_percent"), "70%", "completion.min_overall_percent must be a number"),
        (("completion", "require_all_required_submitted"), "true", "must be true or false"),
    ],
)
def test_wrong_types(course_dir: Path, path: tuple[Any, ...], value: Any, fragment: str) -> None:
    doc = valid_doc()
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    write_yaml(course_dir, doc)
    expect_error(course_dir, fragment)


def test_missing_vietnamese_title(course_dir: Path) -> None:
    doc = valid_doc()
    doc["assignments"][0]["title"] = {"en": "One"}
    write_yaml(course_dir, doc)
    expect_error(course_dir, "assignments[0].title", "Vietnamese")


def test_blank_vietnamese_description(course_dir: Path) -> None:
    doc = valid_doc()
    doc["description"] = {"vi": "   ", "en": "Description"}
    write_yaml(course_dir, doc)
    expect_error(course_dir, "description", "Vietnamese")


def test_points_mismatch_with_notebooks(course_dir: Path) -> None:
    doc = valid_doc()
    doc["assignments"][0]["points"] = 6
    write_yaml(course_dir, doc)
    expect_error(course_dir, "assignments[0].points is 6", "worth 5 points")


def test_unknown_assignment_folder(course_dir: Path) -> None:
    doc = valid_doc()
    doc["assignments"].append({"id": "03-bai-ba", "title": {"vi": "Bài ba"}, "points": 1})
    write_yaml(course_dir, doc)
    expect_error(course_dir, "unknown assignment folder source/03-bai-ba/")


def test_assignment_folder_without_notebooks(course_dir: Path) -> None:
    (course_dir / "source" / "03-bai-ba").mkdir()
    doc = valid_doc()
    doc["assignments"].append({"id": "03-bai-ba", "title": {"vi": "Bài ba"}, "points": 1})
    write_yaml(course_dir, doc)
    expect_error(course_dir, "source/03-bai-ba/ contains no notebook")


def test_unlisted_source_folder(course_dir: Path) -> None:
    write_notebook(course_dir / "source" / "03-bai-ba" / "d.ipynb", grading_cell("t", 1))
    expect_error(course_dir, "not listed", "03-bai-ba")


@pytest.mark.parametrize("bad_id", ["01_bai_mot", "01-Bai-Mot", "bài-một", "-01", "01--bai", "", 1])
def test_bad_assignment_id(course_dir: Path, bad_id: Any) -> None:
    doc = valid_doc()
    doc["assignments"][0]["id"] = bad_id
    write_yaml(course_dir, doc)
    expect_error(course_dir, "assignments[0].id", "not a valid id")


def test_course_id_must_match_folder(course_dir: Path) -> None:
    doc = valid_doc("khoa-khac")
    write_yaml(course_dir, doc)
    expect_error(course_dir, "must equal the course folder name")


def test_duplicate_assignment(course_dir: Path) -> None:
    doc = valid_doc()
    doc["assignments"][1] = dict(doc["assignments"][0])
    write_yaml(course_dir, doc)
    expect_error(course_dir, "listed twice")


def test_no_required_assignment(course_dir: Path) -> None:
    doc = valid_doc()
    doc["assignments"][0]["required"] = False
    write_yaml(course_dir, doc)
    expect_error(course_dir, "at least one assignment must be required")


def test_broken_notebook_names_the_notebook(course_dir: Path) -> None:
    bad = course_dir / "source" / "02-bai-hai" / "c.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CourseError) as info:
        load_course(course_dir)
    assert str(bad) in str(info.value) and "unreadable notebook" in str(info.value)


def test_error_exposes_path_and_problem(course_dir: Path) -> None:
    doc = valid_doc()
    doc["hours"] = -1
    write_yaml(course_dir, doc)
    err = expect_error(course_dir, "hours")
    assert err.path == course_dir / "course.yaml"
    assert "greater than 0" in err.problem
