"""The gradebook, as nbgrader's own preprocessors see it during a batch.

nbgrader's preprocessors open ``Gradebook(db_url)`` themselves, once per notebook, and commit after every
cell. Here the exact nbgrader code runs with that one name rebound (``rebind``):
  * before execution (OverwriteCells, OverwriteKernelspec) it gets an in-memory, read-only snapshot of the
    assignment taken once per batch: no database round trips, safe from any thread;
  * after execution (SaveAutoGrades, AssignLatePenalties) it gets the submission's open transaction, whose
    ``commit()`` only flushes: a submission's grades reach the database in one commit, or not at all.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

_current = threading.local()


@dataclass(frozen=True)
class SourceCellRow:
    name: str
    cell_type: str
    source: str
    checksum: str | None
    locked: bool


@dataclass(frozen=True)
class GradedCellRow:
    name: str
    cell_type: str
    max_score: float


@dataclass(frozen=True)
class NotebookRow:
    name: str
    kernelspec: str | None
    source_cells: tuple[SourceCellRow, ...]
    grade_cells: tuple[GradedCellRow, ...]
    solution_cells: tuple[SourceCellRow, ...]
    task_cells: tuple[GradedCellRow, ...]


@dataclass
class AssignmentSnapshot:
    """Everything the pre-execution preprocessors read, with Gradebook's method names."""

    course_id: str
    assignment_id: str
    notebooks: dict[str, NotebookRow] = field(default_factory=dict)

    def __enter__(self) -> AssignmentSnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    def find_notebook(self, name: str, assignment: str) -> NotebookRow:
        if assignment != self.assignment_id or name not in self.notebooks:
            raise MissingEntry(f"No such notebook: {name}/{assignment}")
        return self.notebooks[name]

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> SourceCellRow:
        for cell in self.find_notebook(notebook, assignment).source_cells:
            if cell.name == name:
                return cell
        raise MissingEntry(f"No such source cell: {name}")

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> GradedCellRow:
        nb = self.find_notebook(notebook, assignment)
        for cell in (*nb.grade_cells, *nb.task_cells):
            if cell.name == name:
                return cell
        raise MissingEntry(f"No such graded cell: {name}")

    find_grade_cell = find_graded_cell

    def fingerprint(self) -> str:
        import hashlib

        h = hashlib.sha256()
        for nb in sorted(self.notebooks.values(), key=lambda n: n.name):
            h.update(repr(nb).encode())
        return h.hexdigest()


def ensure_alembic_on_path() -> None:
    """nbgrader runs `alembic` by name when it creates a gradebook: make the venv's copy findable."""
    bin_dir = os.path.dirname(sys.executable)
    if shutil.which("alembic") is None and os.path.exists(os.path.join(bin_dir, "alembic")):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def open_gradebook(db_url: str, course_id: str) -> Gradebook:
    ensure_alembic_on_path()
    return Gradebook(db_url, course_id=course_id)


def snapshot_assignment(gb: Gradebook, assignment_id: str) -> AssignmentSnapshot:
    assignment = gb.find_assignment(assignment_id)  # MissingEntry if generate_assignment never ran
    snap = AssignmentSnapshot(gb.course_id, assignment_id)
    for nb in assignment.notebooks:

        def source(c: Any) -> SourceCellRow:
            return SourceCellRow(c.name, c.cell_type, c.source, c.checksum, bool(c.locked))

        snap.notebooks[nb.name] = NotebookRow(
            name=nb.name,
            kernelspec=nb.kernelspec,
            source_cells=tuple(source(c) for c in nb.source_cells),
            grade_cells=tuple(GradedCellRow(c.name, c.cell_type, float(c.max_score)) for c in nb.grade_cells),
            solution_cells=tuple(source(sc) for c in nb.solution_cells for sc in nb.source_cells if sc.name == c.name),
            task_cells=tuple(GradedCellRow(c.name, c.cell_type, float(c.max_score)) for c in nb.task_cells),
        )
    return snap


class _FlushOnCommit:
    """A session whose commit() only flushes, so nbgrader's per-cell commits join one transaction."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def commit(self) -> None:
        self._session.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class _Borrowed:
    """What nbgrader's `Gradebook(db_url)` returns inside a transaction: the open gradebook, never closed."""

    def __init__(self, gb: Gradebook) -> None:
        self._gb = gb

    def __enter__(self) -> Gradebook:
        return self._gb

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gb, name)


@contextmanager
def use_snapshot(snapshot: AssignmentSnapshot) -> Iterator[None]:
    """Pre-execution preprocessors in this thread read `snapshot` instead of the database."""
    previous = getattr(_current, "snapshot", None)
    _current.snapshot = snapshot
    try:
        yield
    finally:
        _current.snapshot = previous


@contextmanager
def transaction(gb: Gradebook) -> Iterator[Gradebook]:
    """One commit for everything nbgrader writes about a submission; rolled back on any error."""
    real = gb.db
    gb.db = _FlushOnCommit(real)
    _current.gradebook = gb
    try:
        with warnings.catch_warnings():
            # nbgrader's add_submission makes SQLAlchemy warn about autoflush; stock autograde prints them too
            warnings.simplefilter("ignore", SAWarning)
            yield gb
        real.commit()
    except BaseException:
        real.rollback()
        raise
    finally:
        gb.db = real
        _current.gradebook = None
        real.remove()  # the next submission starts from a fresh session: nothing stale from a rollback


def _snapshot_factory(db_url: str, *args: Any, **kwargs: Any) -> AssignmentSnapshot:
    snapshot = getattr(_current, "snapshot", None)
    if snapshot is None:
        raise RuntimeError("pre-execution preprocessor used outside use_snapshot()")
    return snapshot


def _transaction_factory(db_url: str, *args: Any, **kwargs: Any) -> _Borrowed:
    gb = getattr(_current, "gradebook", None)
    if gb is None:
        raise RuntimeError("post-execution preprocessor used outside transaction()")
    return _Borrowed(gb)


def rebind(func: Callable[..., Any], **names: Any) -> Callable[..., Any]:
    """`func` with some of its module-level names replaced: nbgrader's code, our gradebook."""
    scope = dict(func.__globals__)
    scope.update(names)
    new = types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__, func.__closure__)
    new.__kwdefaults__ = func.__kwdefaults__
    new.__doc__ = func.__doc__
    return new


def reading_snapshot(func: Callable[..., Any]) -> Callable[..., Any]:
    return rebind(func, Gradebook=_snapshot_factory)


def writing_transaction(func: Callable[..., Any]) -> Callable[..., Any]:
    return rebind(func, Gradebook=_transaction_factory)
