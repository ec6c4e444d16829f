"""Every must-survive submission of SECURITY.md, graded in one batch with honest ones.

Each case (tests/grading/submissions/, written by make_submissions.py from lesson 01-python-co-ban) must get
a recorded outcome and the score its real work deserves; the honest submissions in the same batch must be
graded as usual, nothing may escape the sandbox and nothing may be left running.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from grading_support import (
    ASSIGNMENT,
    COURSE,
    NOTEBOOK,
    SUBMISSIONS,
    case_path,
    fast_config,
    inflate,
    make_course,
    submit,
)

from graders.autograde import GradeReport, grade_assignment

pytestmark = pytest.mark.docker

ESCAPE_TOKEN = "truongso-escape-7f3a9c"
TESTS = ("kt1-ty-le", "kt2-danh-sach", "kt3-tu-dien", "kt4-xep-loai", "kt5-ten-dang-nhap", "kt6-hoc-phi")
FULL = dict(zip(TESTS, (2, 3, 3, 4, 4, 2), strict=True))  # points of the lesson's autograded tests
CASES = sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir())


@dataclass
class Batch:
    root: Path
    report: GradeReport
    seconds: float

    def tests(self, student: str) -> dict[str, float | None]:
        return {c.grade_id: c.score for c in self.report.result(student).cells if c.grade_id in FULL}

    def kinds(self, student: str) -> set[str]:
        return {f.kind for f in self.report.result(student).findings}

    def notebook(self, student: str) -> nbformat.NotebookNode:
        return nbformat.read(self.root / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)

    def output_of(self, student: str, marker: str) -> dict:
        for cell in self.notebook(student).cells:
            for out in cell.get("outputs", []):
                text = out.get("text", "")
                if marker in text:
                    return json.loads(text.split(marker, 1)[1].splitlines()[0])
        raise AssertionError(f"no {marker} output in {student}'s graded notebook")


def _host_processes_with(token: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in cmdline:
                found.append(pid)
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, grader_image: str, sandbox_prefix: str) -> Batch:
    assert not Path(f"/tmp/{ESCAPE_TOKEN}").exists()
    root = make_course(tmp_path_factory.mktemp("adversarial"), COURSE, ASSIGNMENT)
    for case in CASES:
        dest = submit(root, case, case_path(case))
        if case == "huge-notebook":
            inflate(dest / f"{NOTEBOOK}.ipynb", 50)
    started = time.monotonic()
    report = grade_assignment(root, ASSIGNMENT, image=grader_image, name_prefix=sandbox_prefix, config=fast_config())
    return Batch(root, report, time.monotonic() - started)


def test_every_submission_is_graded_and_reported(batch: Batch) -> None:
    assert sorted(r.student for r in batch.report.results) == CASES
    failed = {r.student: r.error for r in batch.report.results if r.status != "graded"}
    assert not failed, failed
    data = json.loads(batch.report.report_path.read_text(encoding="utf-8"))
    assert sorted(data["submissions"]) == CASES
    assert all("findings" in entry and "score" in entry for entry in data["submissions"].values())


def test_honest_submissions_in_the_batch(batch: Batch) -> None:
    assert batch.tests("solution") == FULL
    assert set(batch.tests("blank").values()) == {0}
    typical = sum(batch.tests("typical").values())
    assert 0 < typical < sum(FULL.values())
    for student in ("solution", "blank", "typical"):
        assert not [f.line() for f in batch.report.result(student).findings if f.flags], student


def _solution_except(*zero: str) -> dict[str, float]:
    return {k: (0 if k in zero else v) for k, v in FULL.items()}


# case -> (expected test scores: dict, "typical" or "zero"; finding kinds that must be recorded)
EXPECTED: dict[str, tuple[object, set[str]]] = {
    "infinite-loop": (_solution_except("kt3-tu-dien"), {"timeout"}),
    "infinite-loop-uninterruptible": (_solution_except(*TESTS[2:]), {"unresponsive"}),
    "sleep": (_solution_except("kt2-danh-sach"), {"timeout"}),
    "memory-bomb": (_solution_except(*TESTS[3:]), {"out_of_memory"}),
    "huge-output": (FULL, {"output_truncated"}),
    # times out with a flood still queued: the kernel answers afterwards, so the rest is graded
    "endless-output": (FULL, {"timeout", "output_truncated"}),
    "non-utf8-output": (FULL, {"non_utf8_output"}),
    "snoop": (FULL, set()),
    "write-results-channel": ("zero", {"forged_result"}),
    "sys-exit": (FULL, {"system_exit"}),
    "os-exit": (_solution_except(*TESTS[3:]), {"kernel_died"}),
    "showtraceback": ("zero", {"suppressed_errors", "kernel_tampering"}),
    "swallow-errors": ("zero", {"suppressed_errors", "kernel_tampering"}),
    "always-equal": ("zero", {"always_equal"}),
    "monkeypatch": ("zero", {"monkeypatch"}),
    "deleted-grade-cell": ("typical", {"deleted_cell"}),
    "retyped-grade-cell": ("typical", {"retyped_cell"}),
    "duplicated-grade-cell": ("typical", {"duplicated_cell"}),
    "edited-checksum": ("typical", {"changed_cell"}),
    "invalid-json": ("zero", {"invalid_notebook"}),
    "huge-notebook": (FULL, {"large_notebook"}),
    "xss": (FULL, {"active_content"}),
    # forged passes (make_submissions.TAMPER): the checker decides, the tampering is flagged
    "replace-guard": ("zero", {"probe_silenced"}),
    "ast-transformer": ("zero", {"kernel_tampering"}),
    "settrace": ("zero", {"kernel_tampering"}),
    "stdout-write": ("zero", {"kernel_tampering"}),
    "assertion-error": ("zero", {"monkeypatch"}),
    "edit-builtins": ("zero", {"monkeypatch"}),
    "shadow-builtin": ("zero", {"shadowed_builtin"}),
    "forge-pickle": ("zero", {"bridge_failed"}),
    "kill-checker": ("zero", {"bridge_failed"}),
}


def test_every_case_has_an_expectation() -> None:
    assert set(EXPECTED) | {"solution", "blank", "typical", "fork-bomb"} == set(CASES)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_fair_score_and_recorded_outcome(batch: Batch, case: str) -> None:
    expected, kinds = EXPECTED[case]
    if expected == "typical":
        expected = batch.tests("typical")
    elif expected == "zero":
        expected = dict.fromkeys(FULL, 0)
    assert batch.tests(case) == expected
    assert kinds <= batch.kinds(case), [f.line() for f in batch.report.result(case).findings]
    flagged = any(f.flags for f in batch.report.result(case).findings)
    assert flagged == (case != "snoop" and not kinds <= {"non_utf8_output", "system_exit", "large_notebook"})


def test_fork_bomb(batch: Batch) -> None:
    scores = batch.tests("fork-bomb")
    assert {k: scores[k] for k in TESTS[:5]} == {k: FULL[k] for k in TESTS[:5]}  # graded up to the bomb
    assert "pids_exhausted" in batch.kinds("fork-bomb")


def test_faked_passes_are_explained_to_the_instructor(batch: Batch) -> None:
    from nbgrader.api import Gradebook

    cell = next(c for c in batch.notebook("always-equal").cells if c.get("id") == "kt2-danh-sach")
    assert cell.outputs[0]["ename"] == "TruongSoIntegrityError"
    db = f"sqlite:///{batch.root / 'gradebook.db'}"
    with Gradebook(db, course_id=COURSE) as gb:
        comment = gb.find_comment("bt2-danh-sach", NOTEBOOK, ASSIGNMENT, "always-equal")
        assert "[Trường Số]" in (comment.auto_comment or "")
        assert gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "always-equal").flagged
        assert not gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "solution").flagged


def test_deleted_test_is_restored_in_place(batch: Batch) -> None:
    ids = [c.get("id") for c in batch.notebook("deleted-grade-cell").cells]
    assert ids.index("kt3-tu-dien") == ids.index("bt3-tu-dien") + 1


def test_snooping_finds_nothing(batch: Batch) -> None:
    seen = batch.output_of("snoop", "SNOOP:")
    assert seen["uid"] == 1001
    assert seen["net"] == ["lo"] and seen["routes"] == []  # network none: loopback only, no route out
    assert seen["hits"] == [] and seen["secrets"] == []  # no gradebook, solutions, hidden tests, other work
    for probe in ("/proc/1/environ", "/proc/1/fd/0", "/proc/1/fd/1", "/proc/1/mem", "/proc/1/fd"):
        assert seen[probe] == "PermissionError", probe  # the runner (PID 1) is not dumpable
    assert seen[f"/home/grader/{ESCAPE_TOKEN}"] == "OSError"  # read-only root file system


def test_results_channel_cannot_be_written(batch: Batch) -> None:
    tried = batch.output_of("write-results-channel", "FORGE:")
    assert all(v != "written" for k, v in tried.items() if k.startswith("/proc/1")), tried


def test_active_content_is_neutralised(batch: Batch) -> None:
    nb = batch.notebook("xss")
    rendered = [c.source for c in nb.cells if c.cell_type != "code"]
    rendered += [json.dumps(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "\n".join(rendered).lower()
    for needle in ("<script", "onerror", "onload", "javascript:", "<iframe", "application/javascript", "widget-view"):
        assert needle not in text, needle


def test_huge_output_is_capped(batch: Batch) -> None:
    path = batch.root / "autograded" / "huge-output" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    assert path.stat().st_size < 20 << 20


def test_graded_notebooks_are_valid_utf8(batch: Batch) -> None:
    for case in CASES:
        path = batch.root / "autograded" / case / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        if case == "invalid-json":
            assert not path.exists()  # scored 0, nothing to show
            continue
        nbformat.validate(nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4))


def test_nothing_escapes_and_nothing_is_left(batch: Batch, docker_client: object, sandbox_prefix: str) -> None:
    assert not Path(f"/tmp/{ESCAPE_TOKEN}").exists()  # the snoop wrote it inside its container's /tmp only
    assert not Path.home().joinpath(ESCAPE_TOKEN).exists()
    assert not _host_processes_with(ESCAPE_TOKEN)  # its background process died with its container
    left = docker_client.containers.list(all=True, filters={"name": sandbox_prefix})
    assert not left, [c.name for c in left]


# What timing could change: a flood, the time and memory limits, a killed checker, tampering, honest work around
# them (the whole list, many rounds: benchmarks/saturation.py; here the suite's time allows these).
SATURATION_CASES = ("solution", "typical", "endless-output", "infinite-loop", "memory-bomb", "replace-guard",
                    "kill-checker")  # fmt: skip


def test_the_same_outcome_on_a_saturated_machine(batch: Batch, tmp_path: Path, grader_image: str,
                                                 sandbox_prefix: str) -> None:  # fmt: skip
    """Two CPU hogs and a second grading batch at once: every case gets the scores and findings it got alone."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    roots = []
    for n in range(2):
        root = make_course(tmp_path / f"busy-{n}", COURSE, ASSIGNMENT)
        for case in SATURATION_CASES:
            submit(root, case, case_path(case))
        roots.append(root)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            reports = list(pool.map(lambda r: grade_assignment(r, ASSIGNMENT, image=grader_image,
                                                               name_prefix=sandbox_prefix, config=fast_config()),
                                    roots))  # fmt: skip
    finally:
        for hog in hogs:
            hog.kill()
    for report in reports:
        for case in SATURATION_CASES:
            alone = (batch.tests(case), sorted(batch.kinds(case)))
            busy = report.result(case)
            scores = {c.grade_id: c.score for c in busy.cells if c.grade_id in FULL}
            got = (scores, sorted({f.kind for f in busy.findings}))
            assert got == alone, (case, [f.line() for f in busy.findings])
