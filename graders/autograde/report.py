"""What a batch produced: per-submission results, and the per-assignment JSON report in the course directory.

The report (``<course>/autograde-reports/<assignment>.json``) is the instructor's record of every finding;
it lives outside ``autograded/`` on purpose, because nbgrader copies that folder's files into feedback.
It is rewritten atomically after every submission, so a killed batch leaves a report of what was committed.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graders.autograde.findings import Finding

REPORT_DIR = "autograde-reports"


@dataclass
class CellScore:
    notebook: str
    grade_id: str
    score: float | None
    max_score: float


@dataclass
class SubmissionResult:
    student: str
    status: str  # graded | unchanged | failed
    score: float = 0.0
    max_score: float = 0.0
    late_penalty: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    cells: list[CellScore] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""
    input_hash: str = ""

    @property
    def flagged(self) -> bool:
        return any(f.flags for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "late_penalty": self.late_penalty,
            "flagged": self.flagged,
            "findings": [f.to_json() for f in self.findings],
            "cells": [c.__dict__ for c in self.cells],
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "input_hash": self.input_hash,
            "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    @classmethod
    def from_json(cls, student: str, data: dict[str, Any]) -> SubmissionResult:
        findings = [Finding(f["kind"], f.get("notebook"), f.get("cell"), f.get("detail", "")) for f in data["findings"]]
        cells = [CellScore(**c) for c in data.get("cells", [])]
        return cls(student, "unchanged", data["score"], data["max_score"], data.get("late_penalty", 0.0), findings,
                   cells, 0.0, data.get("error", ""), data.get("input_hash", ""))  # fmt: skip


@dataclass
class GradeReport:
    course_id: str
    assignment_id: str
    results: list[SubmissionResult] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    report_path: Path | None = None
    # Seconds summed over submissions: prepare (host, nbgrader sanitize), sandbox (container round trip),
    # kernel (cells executed, as the runner saw it), warm (container start to kernel ready), commit (host).
    timings: dict[str, float] = field(default_factory=dict)

    def add_time(self, phase: str, seconds: float) -> None:
        self.timings[phase] = self.timings.get(phase, 0.0) + seconds

    def result(self, student: str) -> SubmissionResult:
        return next(r for r in self.results if r.student == student)

    @property
    def graded(self) -> int:
        return sum(r.status == "graded" for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.status == "failed" for r in self.results)

    @property
    def flagged(self) -> int:
        return sum(r.flagged for r in self.results)


class ReportStore:
    def __init__(self, root: Path, course_id: str, assignment_id: str) -> None:
        self.path = root / REPORT_DIR / f"{assignment_id}.json"
        self.data: dict[str, Any] = {"course_id": course_id, "assignment_id": assignment_id, "submissions": {}}
        if self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(loaded.get("submissions"), dict):
                    self.data["submissions"] = loaded["submissions"]
            except (OSError, ValueError, AttributeError):
                pass  # a damaged report is rebuilt from the next grades

    def current(self, student: str, input_hash: str) -> SubmissionResult | None:
        entry = self.data["submissions"].get(student)
        if entry and entry.get("status") == "graded" and entry.get("input_hash") == input_hash:
            try:
                return SubmissionResult.from_json(student, entry)
            except (KeyError, TypeError):
                return None
        return None

    def record(self, result: SubmissionResult) -> None:
        self.data["submissions"][result.student] = result.to_json()
        self.data["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".report-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.data, fh, ensure_ascii=False, indent=1, sort_keys=True)
            os.chmod(tmp, 0o644)  # like the gradebook: readable by the course's formgrader
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
