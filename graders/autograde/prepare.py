"""Before execution, on the trusted host: read a submission and run nbgrader's sanitize preprocessors.

No student code runs here. The result is the host's own copy of each notebook (cleared outputs, graded cells
restored from the gradebook) and the job for the sandbox: only the code cells to execute and the files the
notebook reads, never solutions, the gradebook or anyone else's work.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute

from graders.autograde.course import CourseSetup
from graders.autograde.findings import Finding
from graders.autograde.gradebook import AssignmentSnapshot, use_snapshot
from graders.autograde.preprocessors import is_test_cell, notebook_resources
from graders.autograde.scan import scan_source

GRADER_VERSION = "1"  # bump when grading logic changes: re-runs then regrade instead of skipping
LARGE_NOTEBOOK = 10 << 20


@dataclass
class NotebookContext:
    """Per-notebook state shared with our preprocessors through nbconvert's resources."""

    notebook: str
    release_order: list[tuple[str | None, str | None]] = field(default_factory=list)
    release_ids: dict[str, str] = field(default_factory=dict)
    release_sources: dict[str, str] = field(default_factory=dict)  # grade id -> source as handed out
    findings: list[Finding] = field(default_factory=list)
    executed: dict[int, dict[str, Any]] = field(default_factory=dict)
    verdicts: dict[int, dict[str, Any]] = field(default_factory=dict)
    language_info: dict[str, Any] | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> NotebookContext:
        return self  # nbconvert deep-copies resources; findings must reach the one context we read


@dataclass
class PreparedNotebook:
    name: str
    nb: NotebookNode
    ctx: NotebookContext
    cells: list[dict[str, Any]]  # the job's code cells: index, source, test?, skip?
    imports: list[str] = field(default_factory=list)  # the instructor's import statements, for the checker


@dataclass
class Submission:
    student: str
    src: Path
    timestamp: datetime | None = None
    notebooks: list[PreparedNotebook] = field(default_factory=list)
    zeroed: list[str] = field(default_factory=list)  # gradebook notebooks that cannot be graded: score 0
    files: dict[str, bytes] = field(default_factory=dict)  # non-notebook files, as stock autograde copies them
    findings: list[Finding] = field(default_factory=list)
    input_hash: str = ""

    def job(self, exec_options: dict[str, Any], deadline: float) -> dict[str, Any]:
        return {
            "deadline": deadline,
            "exec": exec_options,
            "files": [{"path": p, "b64": base64.b64encode(d).decode("ascii")} for p, d in self.files.items()],
            "notebooks": [{"name": n.name, "cells": n.cells, "imports": n.imports} for n in self.notebooks],
        }


@dataclass
class Assignment:
    """What every submission of a batch shares."""

    setup: CourseSetup
    assignment_id: str
    snapshot: AssignmentSnapshot
    release: dict[str, tuple[list[tuple[str | None, str | None]], dict[str, str], dict[str, str]]]
    source_files: dict[str, bytes]
    exec_options: dict[str, Any]
    config_digest: str


def load_assignment(setup: CourseSetup, assignment_id: str, snapshot: AssignmentSnapshot) -> Assignment:
    release: dict[str, tuple[list[tuple[str | None, str | None]], dict[str, str], dict[str, str]]] = {}
    for name in snapshot.notebooks:
        order: list[tuple[str | None, str | None]] = []
        ids: dict[str, str] = {}
        sources: dict[str, str] = {}
        for step in (setup.coursedir.release_directory, setup.coursedir.source_directory):
            path = setup.path(step, ".", assignment_id) / f"{name}.ipynb"
            if path.is_file():
                nb = nbformat.read(path, as_version=4)
                for cell in nb.cells:
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                    order.append((gid, cell.get("id")))
                    if gid and cell.get("id"):
                        ids[gid] = cell["id"]
                    if gid:
                        sources[gid] = cell.source
                break
        release[name] = (order, ids, sources)
    source = setup.path(setup.coursedir.source_directory, ".", assignment_id)
    excluded = {str(source / x) for x in setup.converter.exclude_overwriting.get(assignment_id, [])}
    files = {}
    for path in sorted(utils.find_all_files(str(source), [*setup.coursedir.ignore, "*.ipynb"])):
        if path not in excluded and not os.path.islink(path):
            files[os.path.relpath(path, source)] = Path(path).read_bytes()
    ex = Execute(config=setup.config)
    exec_options = {
        "timeout": ex.timeout, "interrupt_on_timeout": ex.interrupt_on_timeout, "iopub_timeout": ex.iopub_timeout,
        "raise_on_iopub_timeout": ex.raise_on_iopub_timeout, "error_on_timeout": dict(ex.error_on_timeout or {}),
        "extra_arguments": list(ex.extra_arguments),
    }  # fmt: skip
    s = setup.settings
    digest = hashlib.sha256(repr((GRADER_VERSION, exec_options, s.image, s.memory, s.cpus, s.pids, s.wall_timeout,
                                  snapshot.fingerprint(), sorted(files.items()))).encode()).hexdigest()  # fmt: skip
    return Assignment(setup, assignment_id, snapshot, release, files, exec_options, digest)


def submitted_students(setup: CourseSetup, assignment_id: str) -> list[str]:
    root = Path(setup.coursedir.format_path(setup.coursedir.submitted_directory, ".", "."))
    if not root.is_dir():
        return []
    return sorted(d.name for d in root.iterdir() if (d / assignment_id).is_dir() and not d.name.startswith("."))


def read_submission(a: Assignment, student: str) -> Submission:
    """The submission's files and a hash of everything its grade depends on (cheap: nothing is parsed)."""
    setup, s = a.setup, a.setup.settings
    src = setup.path(setup.coursedir.submitted_directory, student, a.assignment_id)
    sub = Submission(student, src, setup.coursedir.get_existing_timestamp(str(src)))
    digest = hashlib.sha256(a.config_digest.encode())
    extra, budget = {}, s.max_files_mb * (1 << 20)
    for path in sorted(utils.find_all_files(str(src), setup.coursedir.ignore)):
        if os.path.islink(path) or not os.path.isfile(path):
            continue  # a link could point anywhere on the host
        rel = os.path.relpath(path, src)
        size = os.path.getsize(path)
        digest.update(f"{rel}\0{size}\0".encode())
        if rel.endswith(".ipynb"):  # graded ones are read below; like stock, no notebook is copied along
            if rel[:-6] in a.snapshot.notebooks and size <= s.max_notebook_mb * (1 << 20):
                digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
            continue
        if size > budget:
            sub.findings.append(Finding("too_large", None, None, f"{rel}: {size >> 20} MB not copied"))
            continue
        budget -= size
        data = Path(path).read_bytes()
        digest.update(hashlib.sha256(data).digest())
        extra[rel] = data
    sub.files = {**extra, **a.source_files}  # the course's files win, as in stock autograde
    sub.input_hash = digest.hexdigest()
    return sub


def prepare_notebooks(a: Assignment, sub: Submission) -> Submission:
    """nbgrader's sanitize preprocessors on each notebook; the job's cells. Safe in any thread."""
    for name in sorted(a.snapshot.notebooks):
        prepared = _prepare_notebook(a, sub, name, sub.src / f"{name}.ipynb")
        if prepared is None:
            sub.zeroed.append(name)
        else:
            sub.notebooks.append(prepared)
    code = sum(len(c["src"]) for n in sub.notebooks for c in n.cells)
    if code > a.setup.settings.max_code_mb * (1 << 20):
        sub.findings.append(Finding("too_large", None, None, f"{code >> 20} MB of code"))
        sub.zeroed.extend(n.name for n in sub.notebooks)
        sub.notebooks = []
    return sub


def _prepare_notebook(a: Assignment, sub: Submission, name: str, path: Path) -> PreparedNotebook | None:
    setup = a.setup
    if not path.is_file() or path.is_symlink():
        sub.findings.append(Finding("missing_notebook", name))
        return None
    size = path.stat().st_size
    if size > setup.settings.max_notebook_mb * (1 << 20):
        sub.findings.append(Finding("too_large", name, None, f"{size >> 20} MB"))
        return None
    if size > LARGE_NOTEBOOK:
        sub.findings.append(Finding("large_notebook", name, None, f"{size >> 20} MB"))
    order, ids, sources = a.release[name]
    ctx = NotebookContext(name, order, ids, sources)
    try:
        nb = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
        _repair_cell_ids(nb, ctx)
        resources = notebook_resources(name, sub.student, a.assignment_id, setup.coursedir.db_url, ctx)
        with use_snapshot(a.snapshot):
            nb, _ = setup.exporter("sanitize").from_notebook_node(nb, resources)
    except Exception as exc:  # unreadable JSON, broken structure, nbgrader metadata that fails validation
        sub.findings.append(Finding("invalid_notebook", name, None, f"{type(exc).__name__}: {str(exc)[:200]}"))
        sub.findings.extend(ctx.findings)
        return None
    cells, imports = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        test = is_test_cell(cell)
        if test or utils.is_locked(cell):  # restored from the gradebook above: the instructor's own text
            imports.extend(s for s in import_statements(cell.source) if s not in imports)
        skip = "skip-execution" in cell.get("metadata", {}).get("tags", [])
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
        if test and skip:
            ctx.findings.append(Finding("skip_tag", name, label))
        cells.append({"i": index, "src": cell.source, "test": test, "skip": skip and not test})
        if not utils.is_locked(cell):
            notable = scan_source(cell.source)
            if notable:
                ctx.findings.append(Finding("suspicious_code", name, label, ", ".join(notable)[:300]))
    return PreparedNotebook(name, nb, ctx, cells, imports)


def import_statements(source: str) -> list[str]:
    """The import statements of a cell (at any depth), each runnable on its own; none if it is not Python."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Import) or (isinstance(n, ast.ImportFrom) and n.level == 0)]
    return [ast.unparse(n) for n in nodes]


def _repair_cell_ids(nb: NotebookNode, ctx: NotebookContext) -> None:
    seen: set[str] = set()
    repaired = False
    for cell in nb.cells:
        cid = cell.get("id")
        if cid is None:
            continue
        if cid in seen:
            cell["id"] = uuid.uuid4().hex[:8]
            repaired = True
        seen.add(cell["id"])
    if repaired:
        ctx.findings.append(Finding("duplicate_cell_ids", ctx.notebook))
