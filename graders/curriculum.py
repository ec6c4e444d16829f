"""The curriculum: load and validate ``courses/<id>/course.yaml``.

A course folder holds ``course.yaml`` and nbgrader ``source/<assignment>/*.ipynb`` notebooks::

    id: phan-tich-du-lieu            # equals the folder name; the nbgrader course_id
    title: {vi: "...", en: "..."}    # vi required, en optional
    description: {vi: "...", en: "..."}
    hours: 40                        # training hours printed on certificates
    assignments:                     # ordered
      - id: "01-python-co-ban"       # equals the folder under source/; lowercase ASCII, digits, hyphens
        title: {vi: "...", en: "..."}
        points: 20                   # must equal the nbgrader points of the assignment's notebooks
        required: true               # optional, default true
    completion:                      # the certificate rule
      require_all_required_submitted: true
      min_overall_percent: 70        # sum of scores / sum of points over required assignments
    late_policy:                     # optional; deadlines themselves are set per class
      penalty: percent_per_day       # none | zero | percent_per_day
      percent_per_day: 10            # with percent_per_day: % of the earned score lost per started day
      close_after_days: 7            # optional: refuse submissions this long after the deadline

Every problem raises :class:`CourseError`, whose message names the file and the problem.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

COURSE_FILE = "course.yaml"
ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TOP_KEYS = {"id", "title", "description", "hours", "assignments", "completion"}
_OPTIONAL_TOP_KEYS = {"late_policy"}
_LATE_KEYS = {"penalty", "percent_per_day", "close_after_days"}
LATE_PENALTIES = ("none", "zero", "percent_per_day")
_ASSIGNMENT_KEYS = {"id", "title", "points", "required"}
_COMPLETION_KEYS = {"require_all_required_submitted", "min_overall_percent"}


class CourseError(ValueError):
    """A course folder or its course.yaml is invalid."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class LocalizedText:
    """A learner-facing text: Vietnamese first, English second."""

    vi: str
    en: str = ""

    def get(self, lang: str = "vi") -> str:
        """The text in ``lang``, falling back to Vietnamese."""
        return self.en if lang == "en" and self.en else self.vi


@dataclass(frozen=True)
class Assignment:
    id: str
    title: LocalizedText
    points: float
    required: bool = True
    notebooks: tuple[str, ...] = ()  # notebook file names under source/<id>/, sorted


@dataclass(frozen=True)
class CompletionRule:
    require_all_required_submitted: bool
    min_overall_percent: float


@dataclass(frozen=True)
class LatePolicy:
    """What a late submission costs; lateness is measured against the learner's class deadline."""

    penalty: str = "none"  # one of LATE_PENALTIES
    percent_per_day: float = 0.0
    close_after_days: float | None = None  # refuse submissions this long after the deadline

    def penalty_points(self, seconds_late: float, score: float) -> float:
        """Points taken from `score`: all of it (zero), or percent_per_day of it per started day late."""
        if seconds_late <= 0 or self.penalty == "none" or score <= 0:
            return 0.0
        if self.penalty == "zero":
            return score
        days = math.ceil(seconds_late / 86400)
        return min(score, score * self.percent_per_day / 100 * days)


@dataclass(frozen=True)
class Course:
    id: str
    title: LocalizedText
    description: LocalizedText
    hours: float
    assignments: tuple[Assignment, ...]
    completion: CompletionRule
    path: Path  # the course folder
    late_policy: LatePolicy = LatePolicy()

    @property
    def source_dir(self) -> Path:
        return self.path / "source"

    @property
    def required_assignments(self) -> tuple[Assignment, ...]:
        return tuple(a for a in self.assignments if a.required)

    @property
    def total_points(self) -> float:
        return sum(a.points for a in self.assignments)

    @property
    def required_points(self) -> float:
        return sum(a.points for a in self.required_assignments)

    def assignment(self, assignment_id: str) -> Assignment:
        for a in self.assignments:
            if a.id == assignment_id:
                return a
        raise KeyError(f"course {self.id!r} has no assignment {assignment_id!r}")


def default_courses_root() -> Path:
    """The repository's ``courses/`` folder (next to the ``graders`` package)."""
    return Path(__file__).resolve().parent.parent / "courses"


def load_courses(root: Path | str | None = None) -> list[Course]:
    """Every course under ``root`` (default: the repository's courses/), sorted by id."""
    root = Path(root) if root is not None else default_courses_root()
    if not root.is_dir():
        raise CourseError(root, "courses folder does not exist")
    return [load_course(d) for d in sorted(root.iterdir()) if (d / COURSE_FILE).is_file()]


def load_course(path: Path | str) -> Course:
    """Load and validate one course; ``path`` is the course folder or its course.yaml."""
    path = Path(path)
    yaml_path = path / COURSE_FILE if path.is_dir() else path
    folder = yaml_path.parent
    if not yaml_path.is_file():
        raise CourseError(yaml_path, "file not found")
    try:
        data = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise CourseError(yaml_path, f"not UTF-8 text ({exc})") from exc
    except yaml.YAMLError as exc:
        raise CourseError(yaml_path, f"invalid YAML: {exc}") from exc
    v = _Validator(yaml_path)
    data = v.mapping(data, "the document", required=_TOP_KEYS, allowed=_TOP_KEYS | _OPTIONAL_TOP_KEYS)

    course_id = v.ident(data["id"], "id")
    if course_id != folder.name:
        v.fail(f"id {course_id!r} must equal the course folder name {folder.name!r}")
    title = v.text(data["title"], "title")
    description = v.text(data["description"], "description")
    hours = v.number(data["hours"], "hours", positive=True)

    raw_assignments = data["assignments"]
    if not isinstance(raw_assignments, list) or not raw_assignments:
        v.fail("'assignments' must be a non-empty list")
    assignments: list[Assignment] = []
    for i, raw in enumerate(raw_assignments):
        where = f"assignments[{i}]"
        item = v.mapping(raw, where, required={"id", "title", "points"}, allowed=_ASSIGNMENT_KEYS)
        aid = v.ident(item["id"], f"{where}.id")
        if any(a.id == aid for a in assignments):
            v.fail(f"{where}.id {aid!r} is listed twice")
        required = item.get("required", True)
        if not isinstance(required, bool):
            v.fail(f"{where}.required must be true or false, not {required!r}")
        points = v.number(item["points"], f"{where}.points", positive=True)
        notebooks = _check_assignment_folder(v, folder, aid, points, where)
        assignments.append(Assignment(aid, v.text(item["title"], f"{where}.title"), points, required, notebooks))
    if not any(a.required for a in assignments):
        v.fail("at least one assignment must be required")
    _check_unlisted_folders(v, folder, {a.id for a in assignments})

    comp = v.mapping(data["completion"], "completion", required=_COMPLETION_KEYS, allowed=_COMPLETION_KEYS)
    flag = comp["require_all_required_submitted"]
    if not isinstance(flag, bool):
        v.fail(f"completion.require_all_required_submitted must be true or false, not {flag!r}")
    percent = v.number(comp["min_overall_percent"], "completion.min_overall_percent")
    if not 0 <= percent <= 100:
        v.fail(f"completion.min_overall_percent must be between 0 and 100, not {percent!r}")
    late = _late_policy(v, data.get("late_policy"))
    completion = CompletionRule(flag, percent)
    return Course(course_id, title, description, hours, tuple(assignments), completion, folder, late)


def _late_policy(v: _Validator, raw: Any) -> LatePolicy:
    if raw is None:
        return LatePolicy()
    item = v.mapping(raw, "late_policy", required={"penalty"}, allowed=_LATE_KEYS)
    penalty = item["penalty"]
    if penalty not in LATE_PENALTIES:
        v.fail(f"late_policy.penalty must be one of {', '.join(LATE_PENALTIES)}, not {penalty!r}")
    percent = 0.0
    if penalty == "percent_per_day":
        if "percent_per_day" not in item:
            v.fail("late_policy.percent_per_day is required with penalty: percent_per_day")
        percent = v.number(item["percent_per_day"], "late_policy.percent_per_day", positive=True)
        if percent > 100:
            v.fail(f"late_policy.percent_per_day must be at most 100, not {percent!r}")
    close = item.get("close_after_days")
    if close is not None:
        close = v.number(close, "late_policy.close_after_days")
        if close < 0:
            v.fail(f"late_policy.close_after_days cannot be negative, not {close!r}")
    return LatePolicy(penalty, percent, close)


def notebook_points(notebook: Path | str) -> float:
    """Total nbgrader points of a notebook (graded cells and tasks)."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    total = 0.0
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("task"):
            total += float(meta.get("points") or 0)
    return total


def _check_assignment_folder(v: _Validator, folder: Path, aid: str, points: float, where: str) -> tuple[str, ...]:
    source = folder / "source" / aid
    if not source.is_dir():
        v.fail(f"{where}: unknown assignment folder source/{aid}/ (it does not exist)")
    notebooks = sorted(p for p in source.glob("*.ipynb") if p.is_file())
    if not notebooks:
        v.fail(f"{where}: source/{aid}/ contains no notebook")
    total = 0.0
    for nb in notebooks:
        try:
            total += notebook_points(nb)
        except (ValueError, OSError) as exc:
            raise CourseError(nb, f"unreadable notebook: {exc}") from exc
    if not math.isclose(total, points, abs_tol=1e-9):
        v.fail(f"{where}.points is {points:g} but the notebooks in source/{aid}/ are worth {total:g} points")
    return tuple(nb.name for nb in notebooks)


def _check_unlisted_folders(v: _Validator, folder: Path, listed: set[str]) -> None:
    source = folder / "source"
    if not source.is_dir():
        return
    extra = sorted(
        d.name for d in source.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name not in listed
    )
    if extra:
        v.fail(f"source/ has assignment folders not listed in 'assignments': {', '.join(extra)}")


class _Validator:
    """Small helpers that raise CourseError naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, problem: str) -> NoReturn:
        raise CourseError(self.path, problem)

    def mapping(self, value: Any, where: str, *, required: set[str], allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            self.fail(f"{where} must be a mapping (key: value), not {type(value).__name__}")
        missing = sorted(required - value.keys())
        if missing:
            self.fail(f"{where} is missing required field(s): {', '.join(missing)}")
        unknown = sorted(str(k) for k in value.keys() - allowed)
        if unknown:
            self.fail(f"{where} has unknown field(s): {', '.join(unknown)}")
        return value

    def ident(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            self.fail(f"{where} {value!r} is not a valid id (lowercase ASCII letters, digits and single hyphens)")
        return value

    def text(self, value: Any, where: str) -> LocalizedText:
        if not isinstance(value, dict):
            self.fail(f"{where} must be a mapping with 'vi' (and optionally 'en'), not {type(value).__name__}")
        unknown = sorted(str(k) for k in value.keys() - {"vi", "en"})
        if unknown:
            self.fail(f"{where} has unknown language(s): {', '.join(unknown)}")
        vi, en = value.get("vi"), value.get("en", "")
        if not isinstance(vi, str) or not vi.strip():
            self.fail(f"{where} is missing the Vietnamese text ('vi')")
        if not isinstance(en, str):
            self.fail(f"{where}.en must be text, not {type(en).__name__}")
        return LocalizedText(vi.strip(), en.strip())

    def number(self, value: Any, where: str, *, positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(f"{where} must be a number, not {value!r}")
        if positive and value <= 0:
            self.fail(f"{where} must be greater than 0, not {value!r}")
        return value
