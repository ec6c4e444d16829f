"""`truongso grade COURSE ASSIGNMENT`: sandboxed, parallel autograding of collected submissions.

It runs with the hub's rights on a course folder that instructors write: the course's settings are read as
data (graders.course_settings), which course it is and where its gradebook lives come from the data
directory's settings, and the course folder is never on this process's `sys.path`.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from graders.text import UserError

if TYPE_CHECKING:
    from hub.settings import HubSettings

COURSE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

STATUS = {"graded": "đã chấm / graded", "unchanged": "không đổi / unchanged", "failed": "lỗi / failed"}


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("grade", help="chấm tự động bài nộp, an toàn và song song / autograde submissions (sandboxed)")
    p.add_argument("course", help="mã khoá học / course id (e.g. phan-tich-du-lieu)")
    p.add_argument("assignment", help="mã bài / assignment id (e.g. 01-python-co-ban)")
    p.add_argument("--workers", type=int, help="số bài chấm cùng lúc / submissions at once (default: CPU cores)")
    p.add_argument("--student", action="append", dest="students", metavar="ID",
                   help="chỉ học viên này (lặp lại được) / only this learner (repeatable)")  # fmt: skip
    p.add_argument("--course-dir", type=Path, help="thư mục khoá học nbgrader / nbgrader course directory "
                   "(default: DATA_DIR/courses/COURSE)")  # fmt: skip
    p.add_argument("--data-dir", default="data", type=Path, help="thư mục dữ liệu / data directory (default: ./data)")
    p.add_argument("--force", action="store_true", help="chấm lại cả bài không đổi / regrade unchanged submissions")
    p.add_argument("--image", help="image chấm bài / grader image (mặc định / default: truongso/grader:latest; "
                   "với / with --cluster: bản `truongso images push` đã ghim / the one it pinned)")  # fmt: skip
    p.add_argument("--cluster", action="store_true", help="chấm trên các máy worker của cụm Docker Swarm / "
                   "run the sandboxes on the Swarm's worker nodes (default: [cluster] grade_on_cluster)")  # fmt: skip
    p.set_defaults(run=run_grade)


def run_grade(args: argparse.Namespace) -> int:
    if args.course_dir is None and not COURSE_ID.fullmatch(args.course):
        raise UserError(f"mã khoá học không hợp lệ: {args.course!r}", f"invalid course id: {args.course!r}")
    course_dir = args.course_dir or args.data_dir / "courses" / args.course
    if not course_dir.is_dir():
        raise UserError(
            f"không có thư mục khoá học {course_dir} (dùng --course-dir)",
            f"no course directory {course_dir} (use --course-dir)",
        )
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers phải ≥ 1", "--workers must be at least 1")
    keep_off_sys_path(course_dir)
    from hub.cli.common import load_settings

    settings = load_settings(args.data_dir)  # also with --course-dir: docker_prefix, courses_root, …
    options = grading_options(settings, args.course, course_dir, own_course=args.course_dir is None)
    cluster = args.cluster or settings.grade_on_cluster
    image = args.image
    if cluster and image is None:
        from hub.cluster.registry import pinned_image

        image = pinned_image(settings, "grader")  # by digest: every node runs the same bytes
    from graders.autograde import AutogradeError, grade_assignment

    bar = ProgressBar(sys.stderr)
    try:
        report = grade_assignment(course_dir, args.assignment, students=args.students, workers=args.workers,
                                  image=image, force=args.force, progress=bar, cluster=cluster,
                                  **options)  # fmt: skip
    except AutogradeError as exc:
        raise UserError(exc.text.vi, exc.text.en) from None
    finally:
        bar.close()
    print_summary(report, sys.stdout)
    return 1 if report.failed else 0


def grading_options(settings: HubSettings, course_id: str, course_dir: Path, own_course: bool) -> dict[str, Any]:
    """What the hub's settings say about a batch: its sandboxes' names (`docker_prefix`, as the portal's,
    unless the course's nbgrader_config.py names them: `SandboxGrader.name_prefix`, operator-only), and the
    nbgrader overrides: the course's identity and gradebook for a course of the data directory (`own_course`),
    never taken from its folder, and where course.yaml's late policy is (`courses_root`)."""
    from traitlets.config import Config

    from graders.course_settings import CourseSettingsError, read_course_settings
    from graders.coursedir import grading_config, sandbox_name_prefix

    name_prefix: str | None = sandbox_name_prefix(settings.docker_prefix)
    try:
        course = read_course_settings(course_dir)
    except CourseSettingsError:  # grading reports it, in its own words
        course = Config()
    if "SandboxGrader" in course and "name_prefix" in course["SandboxGrader"]:
        name_prefix = None  # the course's own, as before

    if own_course:
        config = grading_config(course_id, course_dir.absolute(), settings.gradebook_url_for(course_id),
                                settings.courses_path)  # fmt: skip
    else:
        config = Config({"CourseLatePenalty": {"courses_root": str(settings.courses_path)}})
    return {"name_prefix": name_prefix, "config": config}


def keep_off_sys_path(course_dir: Path) -> None:
    """A console script's `sys.path` has no working directory, but `python -m hub.cli grade` run from inside
    a course folder would put it first: a `numpy.py` left there would then be imported with our rights."""
    folder = course_dir.resolve()

    def inside(entry: str) -> bool:
        path = Path(entry or ".").resolve()
        return path == folder or folder in path.parents

    sys.path[:] = [entry for entry in sys.path if not inside(entry)]


class ProgressBar:
    """One redrawn line on a terminal; nothing when the output is a file or a pipe."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream, self.width = stream, width
        self.live = stream.isatty()
        self.started = time.monotonic()

    def __call__(self, done: int, total: int, result: object | None) -> None:
        if not self.live or total == 0:
            return
        filled = self.width * done // total
        who = getattr(result, "student", "")
        elapsed = time.monotonic() - self.started
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {elapsed:5.0f} s {who[:24]:24}"
        self.stream.write("\r" + line)
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def print_summary(report: object, out: TextIO) -> None:
    results = report.results
    print(f"Chấm tự động / Autograding: {report.course_id} / {report.assignment_id} — {len(results)} bài nộp / "
          f"submissions, {report.workers} luồng / workers, {report.seconds:.1f} s", file=out)  # fmt: skip
    if not results:
        print("Chưa có bài nộp nào / no submissions yet", file=out)
        return
    width = max(12, *(len(r.student) for r in results))
    print(f"{'học viên / student':<{width}}  {'điểm / score':>13}  {'trạng thái / status':<22}  cần xem / to review",
          file=out)  # fmt: skip
    for r in results:
        score = f"{r.score:g} / {r.max_score:g}" if r.status != "failed" else "—"
        kinds = sorted({f.text.vi for f in r.findings if f.flags})
        note = ("⚑ " + "; ".join(kinds)) if kinds else ""
        print(f"{r.student:<{width}}  {score:>13}  {STATUS.get(r.status, r.status):<22}  {note}"[:220], file=out)
        if r.status == "failed":
            print(f"{'':<{width}}  lỗi / error: {r.error[:200]}", file=out)
        for f in r.findings:
            if f.flags:
                print(f"{'':<{width}}    - {f.line()[:200]}", file=out)
    print(f"Tổng / total: {report.graded} đã chấm / graded, {report.failed} lỗi / failed, {report.flagged} cần xem / "
          f"flagged", file=out)  # fmt: skip
    if report.report_path:
        print(f"Báo cáo toàn vẹn / integrity report: {report.report_path}", file=out)
