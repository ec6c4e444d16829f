"""Grade every submission of one assignment: prepare and execute in parallel, commit one by one.

Worker threads prepare a submission (host, no student code) and run it in a warm sandbox; the calling
thread interprets each result as it arrives and commits it to the gradebook, so database writes are
sequential and every submission lands whole. Safe to run in a background thread; safe to repeat: a
submission whose files, tests and settings are unchanged since its last committed grading is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from nbgrader.api import MissingEntry
from traitlets.config import Config

from graders.autograde.course import AutogradeError, default_workers, preimports_for, setup_course
from graders.autograde.finish import commit, interpret
from graders.autograde.gradebook import open_gradebook, snapshot_assignment
from graders.autograde.prepare import (
    Assignment,
    Submission,
    load_assignment,
    prepare_notebooks,
    read_submission,
    submitted_students,
)
from graders.autograde.report import GradeReport, ReportStore, SubmissionResult
from graders.autograde.sandbox import SandboxLimits, SandboxOutcome, SandboxPool, SandboxSpec, remove_stale_sandboxes
from graders.autograde.swarm_pool import SwarmSandboxPool, check_cluster, remove_stale_swarm_sandboxes

Progress = Callable[[int, int, SubmissionResult | None], None]
GRACE = 30.0  # the host's backstop beyond the runner's own deadline
SUBMISSION_WALL_FACTOR = 3  # as runner.py: a submission's run time is limited, its wall clock only at 3x


def grade_assignment(
    course_dir: Path | str,
    assignment_id: str,
    students: list[str] | None = None,
    workers: int | None = None,
    image: str | None = None,
    client: Any = None,
    progress: Progress | None = None,
    force: bool = False,
    config: Config | None = None,
    name_prefix: str | None = None,
    cluster: bool = False,
) -> GradeReport:
    """Autograde `assignment_id`'s submissions in `course_dir` (a standard nbgrader course directory).

    `students` limits the batch; `force` regrades unchanged submissions; `config` overrides the course's
    nbgrader_config.py (nbgrader's classes and `SandboxGrader`). `progress(done, total, result)` is called
    from this thread. Raises AutogradeError when the batch cannot start; a submission that cannot be graded
    is a `failed` result, never an exception. `cluster`: the sandboxes are one-shot services on the Docker
    Swarm's worker nodes (swarm_pool.py) and `image` is the grader image pinned by digest in its registry.
    """
    started = time.monotonic()
    setup = setup_course(course_dir, config)
    settings = setup.settings
    workers = max(1, workers or settings.workers or default_workers())
    gb = open_gradebook(setup.coursedir.db_url, setup.course_id)
    report = GradeReport(setup.course_id, assignment_id, workers=workers)
    try:
        try:
            snapshot = snapshot_assignment(gb, assignment_id)
        except MissingEntry:
            raise AutogradeError(
                f"bài {assignment_id!r} chưa có trong sổ điểm (chạy nbgrader generate_assignment trước)",
                f"assignment {assignment_id!r} is not in the gradebook (run nbgrader generate_assignment)",
            ) from None
        assignment = load_assignment(setup, assignment_id, snapshot)
        wanted = submitted_students(setup, assignment_id)
        if students is not None:
            missing = sorted(set(students) - set(wanted))
            if missing:
                who = ", ".join(missing)
                raise AutogradeError(
                    f"{who} chưa nộp bài {assignment_id!r}", f"no submission of {assignment_id!r} by {who}"
                )
            wanted = [s for s in wanted if s in set(students)]
        store = ReportStore(setup.root, setup.course_id, assignment_id)
        report.report_path = store.path
        total = len(wanted)
        if progress:
            progress(0, total, None)
        if total:
            client = client or _docker_client()
            _check_image(client, image or settings.image, cluster)
            _run(assignment, wanted, workers, image or settings.image, client, store, report, progress, force,
                 name_prefix or settings.name_prefix, gb, cluster)  # fmt: skip
    finally:
        gb.close()
    report.results.sort(key=lambda r: r.student)
    report.seconds = time.monotonic() - started
    return report


def _run(a: Assignment, students: list[str], workers: int, image: str, client: Any, store: ReportStore,
         report: GradeReport, progress: Progress | None, force: bool, prefix: str, gb: Any,
         cluster: bool = False) -> None:  # fmt: skip
    setup, s = a.setup, a.setup.settings
    prepared: dict[str, Submission] = {}
    todo = []
    for student in students:  # cheap reads (nothing parsed) decide what to skip
        sub = read_submission(a, student)
        current = None if force else store.current(student, sub.input_hash)
        if current is not None and _graded_folder_exists(a, student):
            report.results.append(current)
            _tick(progress, report, len(students), current)
        else:
            prepared[student] = sub
            todo.append(student)
    if not todo:
        return
    notebooks = [setup.path(setup.coursedir.source_directory, ".", a.assignment_id) / f"{n}.ipynb"
                 for n in a.snapshot.notebooks]  # fmt: skip
    spec = SandboxSpec(
        image=image,
        name_prefix=prefix,
        limits=SandboxLimits(memory=s.memory, cpus=s.cpus, pids=s.pids),
        preimports=preimports_for(notebooks) if s.preimport else (),
        kernel_env={"MPLBACKEND": s.matplotlib_backend} if s.matplotlib_backend else {},
        labels={"org.truongso.course": setup.course_id[:60], "org.truongso.assignment": a.assignment_id[:60]},
        idle_timeout=2 * s.wall_timeout + 120,  # a warm sandbox nobody will use exits on its own
    )
    workers = min(workers, len(todo))
    pool: SandboxPool | SwarmSandboxPool
    if cluster:
        remove_stale_swarm_sandboxes(client, prefix)
        pool = SwarmSandboxPool(client, spec, workers, len(todo))
    else:
        remove_stale_sandboxes(client, prefix)
        pool = SandboxPool(client, spec, workers, len(todo))
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="autograde") as executor:
            pending: dict[Future[Executed], str] = {executor.submit(_execute, a, prepared[st], pool): st for st in todo}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        student = pending.pop(future)
                        result = _finish(a, gb, prepared.pop(student), future, report)
                        store.record(result)
                        report.results.append(result)
                        _tick(progress, report, len(students), result)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    finally:
        pool.close()


Executed = tuple[Submission, dict[str, Any], SandboxOutcome, dict[str, float]]


def _execute(a: Assignment, sub: Submission, pool: SandboxPool | SwarmSandboxPool) -> Executed:
    started = time.monotonic()
    prepare_notebooks(a, sub)
    job = sub.job(a.exec_options, a.setup.settings.wall_timeout)
    times = {"prepare": time.monotonic() - started}
    if not sub.notebooks:
        return sub, job, SandboxOutcome(result={"protocol": 2, "warm_seconds": 0, "elapsed": 0, "notebooks": []}), times
    outcome = pool.run(job, a.setup.settings.wall_timeout * SUBMISSION_WALL_FACTOR + GRACE)
    times["sandbox"] = outcome.seconds
    if isinstance(outcome.result, dict):  # reported by the sandbox: for the record only, never trusted
        cpu = outcome.result.get("cpu") if isinstance(outcome.result.get("cpu"), dict) else {}
        for phase, value in (("kernel", outcome.result.get("elapsed")), ("warm", outcome.result.get("warm_seconds")),
                             ("cpu_warm", cpu.get("warm")), ("cpu_total", cpu.get("total")),
                             ("cpu_runner", cpu.get("runner_total"))):  # fmt: skip
            times[phase] = float(value) if isinstance(value, int | float) else 0.0
    return sub, job, outcome, times


def _finish(a: Assignment, gb: Any, sub: Submission, future: Future[Any], report: GradeReport) -> SubmissionResult:
    started = time.monotonic()
    try:
        sub, job, outcome, times = future.result()
        interpret(sub, outcome, job)
        result = commit(a, sub, gb)
        times["commit"] = time.monotonic() - started
        for phase, seconds in times.items():
            report.add_time(phase, seconds)
        result.seconds = times.get("prepare", 0) + times.get("sandbox", 0) + times["commit"]
        return result
    except Exception as exc:  # one submission's failure is a result, never the batch's end
        error = f"{type(exc).__name__}: {exc}"
        return SubmissionResult(sub.student, "failed", findings=list(sub.findings), error=error,
                                seconds=time.monotonic() - started)  # fmt: skip


def _graded_folder_exists(a: Assignment, student: str) -> bool:
    setup = a.setup
    return setup.path(setup.coursedir.autograded_directory, student, a.assignment_id).is_dir()


def _tick(progress: Progress | None, report: GradeReport, total: int, result: SubmissionResult) -> None:
    if progress:
        progress(len(report.results), total, result)


def _docker_client() -> Any:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        raise AutogradeError(
            f"không kết nối được Docker ({type(exc).__name__})", f"no Docker engine answers ({type(exc).__name__})"
        ) from None
    return client


def _check_image(client: Any, image: str, cluster: bool = False) -> None:
    from docker.errors import ImageNotFound

    if cluster:
        problem = check_cluster(client, image)
        if problem:
            raise AutogradeError(
                f"không chấm được trên cụm: {problem} (xem `truongso cluster status`, `truongso images push`)",
                f"cannot grade on the cluster: {problem} (see `truongso cluster status`, `truongso images push`)",
            )
        return
    try:
        client.images.get(image)
    except ImageNotFound:
        raise AutogradeError(
            f"thiếu image chấm bài {image} (chạy `truongso images build`)",
            f"grader image {image} is missing (run `truongso images build`)",
        ) from None
