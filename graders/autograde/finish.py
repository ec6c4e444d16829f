"""After execution, on the trusted host: judge the sandbox's result, then let nbgrader score the host's copy.

``interpret`` turns the validated result into outputs per cell and verdicts: a test cell whose checks show
tampering, or that never ran, gets an error output in front of its outputs, so nbgrader's own scoring gives
it 0 and the instructor reads why. ``commit`` runs nbgrader's post-execution preprocessors (SaveAutoGrades,
late penalties, …) inside one gradebook transaction, writes the autograded folder next to the old one and
swaps it in only after the commit.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import nbformat
from nbgrader import utils

from graders.autograde.findings import Finding, dedupe
from graders.autograde.gradebook import transaction
from graders.autograde.prepare import Assignment, PreparedNotebook, Submission
from graders.autograde.preprocessors import is_test_cell, notebook_resources
from graders.autograde.report import CellScore, SubmissionResult
from graders.autograde.results import InvalidResult, safe_output, validate_result
from graders.autograde.sandbox import MARKER, SandboxOutcome

TAMPER_KINDS = {"monkeypatch", "kernel_tampering", "always_equal"}
STOPPED = {"died": "kernel_died", "unresponsive": "unresponsive", "runner_error": "runner_error"}
NOT_RUN = ("TruongSoNotRun", "ô này không được chạy", "this cell did not run")
LOG = logging.getLogger(__name__)
UNTRUSTED = ("TruongSoIntegrityError", "kết quả không được tính vì mã bài làm can thiệp vào việc chấm",
             "result not counted: the submission interfered with grading")  # fmt: skip


def _error(kind: tuple[str, str, str], reason: str) -> dict[str, Any]:
    text = f"{kind[1]} / {kind[2]}" + (f" ({reason})" if reason else "")
    return {"output_type": "error", "ename": kind[0], "evalue": text, "traceback": [f"{kind[0]}: {text}"]}


def interpret(sub: Submission, outcome: SandboxOutcome, job: dict[str, Any]) -> None:
    result, problem = None, outcome.error or ""
    if outcome.result is not None:
        try:
            result = validate_result(outcome.result, job)
        except InvalidResult as exc:
            problem = f"invalid result: {exc}"
    if outcome.foreign_output:
        sub.findings.append(Finding("forged_result", None, None, "extra data on the result channel"))
    if result is None:
        sub.findings.append(Finding("sandbox_failed", None, None, problem[:300]))
        # The runner's own stderr (learner code cannot reach it): why it failed, for whoever reads the host's log.
        LOG.warning("sandbox for %s returned no result (%s); runner stderr:\n%s", sub.student, problem,
                    outcome.stderr_tail[-2000:] or "(empty)")  # fmt: skip
        if outcome.oom_killed:
            sub.findings.append(Finding("out_of_memory"))
        if outcome.timed_out:
            sub.findings.append(Finding("deadline"))
        for prepared in sub.notebooks:
            for spec in prepared.cells:
                if spec["test"]:
                    prepared.ctx.verdicts[spec["i"]] = _error(NOT_RUN, "sandbox")
        return
    for prepared, nb_result in zip(sub.notebooks, result["notebooks"], strict=True):
        _interpret_notebook(prepared, nb_result, outcome)


def _interpret_notebook(prepared: PreparedNotebook, res: dict[str, Any], outcome: SandboxOutcome) -> None:
    ctx, nb, name = prepared.ctx, prepared.nb, prepared.name
    checks = {c["pos"]: c for c in res["checks"]}
    memory = res["limits"]["oom_kills"] > 0 or outcome.oom_killed
    squeezed = memory or res["limits"]["memory_max"] > 0  # the sandbox reached its memory limit

    def add(kind: str, label: str | None, detail: str = "") -> None:
        if not any(f.kind == kind and f.detail == detail for f in ctx.findings):
            ctx.findings.append(Finding(kind, name, label, detail))

    def problems(pos: int | None, label: str) -> list[str]:
        check = checks.get(pos) if pos is not None else None
        if check is None:
            add("probe_silenced", label)
            return ["probe_silenced"]
        found = []
        if not check["canary"]:
            kind = "suppressed_errors" if check["status"] in ("ok", "error") else "probe_silenced"
            add(kind, label, check["status"])
            found.append(kind)
        if not check["report"]:
            add("probe_silenced", label)
            found.append("probe_silenced")
        for f in check["findings"]:
            if f["kind"] in TAMPER_KINDS:
                add(f["kind"], label, f["detail"])
                found.append(f"{f['kind']}: {f['detail']}")
        return found

    if res["status"] == "start_failed":
        add("sandbox_failed", None, res["detail"][:300])
    for cr in res["cells"]:
        i, status = cr["i"], cr["status"]
        cell = nb.cells[i]
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {i}"
        outputs = [safe_output(o) for o in cr["outputs"]]
        ran = status not in ("not_run", "skipped", "deadline")
        if ran:
            ctx.executed[i] = {"outputs": outputs, "execution_count": cr["execution_count"]}
        if status == "timeout":
            add("timeout", label)
        elif status in STOPPED:
            # Out of memory, a kernel dies, or first stalls in memory reclaim (ignoring the interrupt) and is
            # given up before or after the OOM killer comes: the cause is the same, so is the finding, on an
            # idle or a busy machine.
            stopped_by_memory = (memory and status == "died") or (squeezed and status == "unresponsive")
            add("out_of_memory" if stopped_by_memory else STOPPED[status], label)
        elif status == "deadline":
            add("deadline", label)
        if cr["truncated"] or status == "output_lost":
            add("output_truncated", label)
        for out in outputs:
            if out["output_type"] == "error" and out["ename"] == "SystemExit":
                add("system_exit", label)
            text = out.get("text", "") + str(out.get("data", ""))
            if MARKER.decode() in text:
                add("forged_result", label, "result marker printed")
        if not is_test_cell(cell):
            continue
        checker = cr.get("checker") or {}
        for note in checker.get("findings", []):
            if note.startswith("shadowed_builtin"):
                add("shadowed_builtin", label, note.split(": ", 1)[-1])
            elif status not in ("timeout", *STOPPED):  # the learner's code was stopped: that is the finding
                add("bridge_failed", label, note.split(": ", 1)[-1])
        if status == "checker_failed":
            add("bridge_failed", label, checker.get("status", ""))
        if not ran or status in STOPPED or status in ("output_lost", "checker_failed"):  # no trustworthy outcome
            ctx.verdicts[i] = _error(NOT_RUN, status)
            continue
        if "checker" not in cr:  # every test cell's verdict must come from the checker
            ctx.verdicts[i] = _error(UNTRUSTED, "no verdict from the checker")
            add("bridge_failed", label, "no verdict")
            continue
        found = problems(cr.get("check_before"), label) + problems(cr.get("check_after"), label)
        if found:
            ctx.verdicts[i] = _error(UNTRUSTED, "; ".join(dict.fromkeys(found))[:500])
    if res["limits"]["pids_max"] > 0:
        add("pids_exhausted", None)
    if memory and not any(f.kind == "out_of_memory" for f in ctx.findings):
        add("out_of_memory", None)
    for event in res["events"]:
        if event["kind"] in ("non_utf8_output", "runner_error"):
            add(event["kind"], None, event["detail"][:200])
    info = res["language_info"]
    if info is not None:  # from the kernel before any learner code ran; validated to plain strings
        info = dict(info)
        if isinstance(info.get("codemirror_mode"), dict):
            mode = info["codemirror_mode"]
            info["codemirror_mode"] = {k: v for k, v in mode.items() if k in ("name", "version")
                                       and isinstance(v, str | int)}  # fmt: skip
        ctx.language_info = info


def commit(a: Assignment, sub: Submission, gb: Any) -> SubmissionResult:
    """Scores and files of one submission: one gradebook commit, then the autograded folder swapped in."""
    setup, aid, student = a.setup, a.assignment_id, sub.student
    final = setup.path(setup.coursedir.autograded_directory, student, aid)
    _remove_leftovers(final)
    tmp = final.parent / f".{final.name}.tmp-{secrets.token_hex(4)}"
    try:
        with transaction(gb):
            if setup.converter.create_student:
                gb.update_or_create_student(student)
            else:
                gb.find_student(student)
            if sub.timestamp:
                gb.update_or_create_submission(aid, student, timestamp=sub.timestamp)
            else:
                gb.update_or_create_submission(aid, student)
            for name in sub.zeroed:  # as stock autograde does for a missing notebook
                for grade in gb.find_submission_notebook(name, aid, student).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            written = {}
            for prepared in sub.notebooks:
                resources = notebook_resources(prepared.name, student, aid, setup.coursedir.db_url, prepared.ctx)
                graded, _ = setup.exporter("autograde").from_notebook_node(prepared.nb, resources)
                written[prepared.name] = nbformat.writes(graded)
                _annotate(gb, aid, student, prepared)
            findings = dedupe(sub.findings + [f for p in sub.notebooks for f in p.ctx.findings])
            if any(f.flags for f in findings):
                for name in a.snapshot.notebooks:
                    if any(f.flags and f.notebook in (None, name) for f in findings):
                        gb.find_submission_notebook(name, aid, student).flagged = True
            _write_folder(tmp, sub.files, written, setup.converter.permissions)
        _swap(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    submission = gb.find_submission(aid, student)
    cells = [CellScore(n.name, g.name, g.score, g.max_score) for n in submission.notebooks for g in n.grades]
    return SubmissionResult(student, "graded", float(submission.score), float(submission.max_score),
                            float(submission.late_submission_penalty or 0), findings, cells,
                            input_hash=sub.input_hash)  # fmt: skip


def _annotate(gb: Any, aid: str, student: str, prepared: PreparedNotebook) -> None:
    """Why a test scored 0 goes into the comment of the answer cell it tests (what the formgrader shows)."""
    cells = prepared.nb.cells
    for index, verdict in sorted(prepared.ctx.verdicts.items()):
        answer = next((c for c in reversed(cells[:index]) if utils.is_solution(c)), None)
        if answer is None:
            continue
        test = cells[index].metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
        comment = gb.find_comment(answer.metadata.nbgrader["grade_id"], prepared.name, aid, student)
        note = f"[Trường Số] {test}: {verdict['evalue']}"
        if note not in (comment.auto_comment or ""):
            comment.auto_comment = "\n".join(x for x in (comment.auto_comment, note) if x)


def _write_folder(tmp: Path, files: dict[str, bytes], notebooks: dict[str, str], permissions: int) -> None:
    mode = int(str(permissions), 8)
    for rel, data in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode)
    tmp.mkdir(parents=True, exist_ok=True)
    for name, text in notebooks.items():
        path = tmp / f"{name}.ipynb"
        path.write_text(text, encoding="utf-8")
        os.chmod(path, mode)


def _swap(tmp: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{secrets.token_hex(4)}"
        os.rename(final, old)
    os.rename(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(final: Path) -> None:
    """Temporary folders of a grader killed between writing and swapping."""
    if final.parent.is_dir():
        for path in final.parent.glob(f".{final.name}.*-*"):
            if path.name.startswith((f".{final.name}.tmp-", f".{final.name}.old-")):
                shutil.rmtree(path, ignore_errors=True)
