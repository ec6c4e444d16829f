"""nbgrader's autograde preprocessors, extended (never forked) for sandboxed grading.

Each class subclasses the nbgrader preprocessor it replaces in ``Autograde``'s lists (so the course's config
for it still applies), runs nbgrader's own code, and records what it repaired as findings.
``SandboxOutputs`` takes the place of ``Execute``: the notebook was executed in the sandbox, and only the
validated outputs come back.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader import utils
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    DeduplicateIds,
    Execute,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from traitlets import Bool

from graders.autograde.findings import Finding
from graders.autograde.gradebook import reading_snapshot, rebind, writing_transaction

CONTEXT = "truongso"  # key of our per-notebook context in nbconvert's resources


def notebook_resources(notebook: str, student: str, assignment: str, db_url: str, ctx: Any) -> dict[str, Any]:
    """nbconvert resources as nbgrader's converters build them, plus our context."""
    return {
        "unique_key": notebook,
        "output_files_dir": f"{notebook}_files",
        "nbgrader": {"student": student, "assignment": assignment, "notebook": notebook, "db_url": db_url},
        CONTEXT: ctx,
    }


def _ctx(resources: dict[str, Any]) -> Any:
    return resources[CONTEXT]


def _record(resources: dict[str, Any], kind: str, cell: str | None, detail: str = "") -> None:
    ctx = _ctx(resources)
    ctx.findings.append(Finding(kind, ctx.notebook, cell, detail))


class TrackedDeduplicateIds(DeduplicateIds):
    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any], index: int) -> tuple[Any, Any]:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell, resources = super().preprocess_cell(cell, resources, index)
        if grade_id and not cell.metadata.get("nbgrader"):
            # nbgrader leaves `nbgrader: {}`, which its own CheckCellMetadata then rejects (schema 0) and the
            # whole submission fails; without the key the extra copy is an ordinary cell.
            cell.metadata.pop("nbgrader", None)
            _record(resources, "duplicated_cell", grade_id)
        return cell, resources


class SnapshotOverwriteKernelspec(OverwriteKernelspec):
    preprocess = reading_snapshot(OverwriteKernelspec.preprocess)


class TrackedOverwriteCells(OverwriteCells):
    """nbgrader's OverwriteCells on the snapshot, recording changes; also restores the nbgrader flags
    (grade/solution/task/locked) from the gradebook and puts deleted graded cells back where they were."""

    restore_deleted = Bool(True, help="Put deleted graded cells back (run deleted tests).").tag(config=True)
    _nbgrader_preprocess = reading_snapshot(OverwriteCells.preprocess)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[Any, Any]:
        nb, resources = self._nbgrader_preprocess(nb, resources)
        if self.restore_deleted and not self.add_missing_cells:
            self._restore_missing(nb, resources)
        return nb, resources

    def report_change(self, name: str, attr: str, old: Any, new: Any) -> None:
        super().report_change(name, attr, old, new)
        kind = "retyped_cell" if attr == "cell_type" else "changed_cell"
        self._pending.append(Finding(kind, None, name, attr))

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any], index: int) -> tuple[Any, Any]:
        self._pending: list[Finding] = []
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        submitted = cell.source
        if grade_id is not None:
            snap = self.gradebook
            try:
                nb = snap.find_notebook(self.notebook_id, self.assignment_id)
                snap.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except Exception:
                _record(resources, "unknown_cell", str(grade_id))
            else:
                self._restore_flags(cell, nb, grade_id, resources)
        cell, resources = super().preprocess_cell(cell, resources, index)
        ctx = _ctx(resources)
        for f in self._pending:
            # Restoring hidden tests also changes the checksum: only an edit of what was handed out counts.
            if f.detail == "checksum" and submitted == ctx.release_sources.get(grade_id, cell.source):
                continue
            ctx.findings.append(Finding(f.kind, ctx.notebook, f.cell, f.detail))
        return cell, resources

    def _restore_flags(self, cell: NotebookNode, nb: Any, grade_id: str, resources: dict[str, Any]) -> None:
        meta = cell.metadata.nbgrader
        source = next(c for c in nb.source_cells if c.name == grade_id)
        expected = {
            "grade": any(c.name == grade_id for c in nb.grade_cells),
            "solution": any(c.name == grade_id for c in nb.solution_cells),
            "locked": source.locked,
        }
        if any(c.name == grade_id for c in nb.task_cells) or meta.get("task"):
            expected["task"] = any(c.name == grade_id for c in nb.task_cells)
        if expected["grade"] or expected["solution"]:
            # nbgrader's is_locked ignores the flag here (tests are always locked, answers never), and
            # generate_assignment may set or clear it on release: a difference is no change.
            del expected["locked"]
        changed = [k for k, v in expected.items() if bool(meta.get(k, False)) != v]
        if changed:
            for key in changed:
                meta[key] = expected[key]
            if expected["grade"] and "points" not in meta:
                meta["points"] = next(c.max_score for c in nb.grade_cells if c.name == grade_id)
            _record(resources, "changed_metadata", grade_id, ", ".join(changed))

    def _restore_missing(self, nb: NotebookNode, resources: dict[str, Any]) -> None:
        ctx = _ctx(resources)
        snap_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        solutions = {c.name for c in snap_nb.solution_cells}
        missing = [(c, False) for c in snap_nb.grade_cells if c.name not in present]
        missing += [(c, True) for c in snap_nb.task_cells if c.name not in present]
        order = ctx.release_order  # grade ids / cell ids of the released notebook, in order
        for graded, is_task in missing:
            source = next(c for c in snap_nb.source_cells if c.name == graded.name)
            new = self.missing_cell_transform(source, graded.max_score, is_solution=graded.name in solutions,
                                              is_task=is_task)  # fmt: skip
            new = from_dict(copy.deepcopy(dict(new)))
            new["id"] = ctx.release_ids.get(graded.name) or f"ts-restored-{graded.name}"[:64]
            nb.cells.insert(self._position(nb, order, graded.name), new)
            ctx.findings.append(Finding("deleted_cell", ctx.notebook, graded.name))

    @staticmethod
    def _position(nb: NotebookNode, order: list[tuple[str | None, str | None]], name: str) -> int:
        """After the nearest earlier cell of the released notebook that is still in the submission."""
        keys = [(c.metadata.get("nbgrader", {}).get("grade_id"), c.get("id")) for c in nb.cells]
        at = next((i for i, (gid, _) in enumerate(order) if gid == name), None)
        if at is None:
            return len(nb.cells)
        for gid, cid in reversed(order[:at]):
            for i, (sgid, scid) in enumerate(keys):
                if (gid and sgid == gid) or (not gid and cid and scid == cid):
                    return i + 1
        return 0


class SandboxOutputs(NbGraderPreprocessor):
    """In place of nbgrader's Execute: puts the sandbox's validated outputs on the host's own copy.

    Test cells whose result cannot be trusted get an error output first, so nbgrader scores them 0 and the
    instructor sees why; cells that never ran get an error saying so."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[Any, Any]:
        ctx = _ctx(resources)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            executed = ctx.executed.get(index)
            cell.outputs = [from_dict(o) for o in executed["outputs"]] if executed else []
            cell.execution_count = executed["execution_count"] if executed else None
            note = ctx.verdicts.get(index)
            if note is not None:
                cell.outputs.insert(0, from_dict(note))
        if ctx.language_info:
            nb.metadata["language_info"] = ctx.language_info
        return nb, resources


class _CachedJsonschema:
    """`jsonschema.validate` without re-checking the (constant) schema on every call: nbgrader validates each
    cell's metadata that way, which made CheckCellMetadata the costliest step on the host."""

    def __init__(self) -> None:
        import jsonschema

        self._jsonschema = jsonschema
        self._validators: dict[int, tuple[Any, Any]] = {}

    def validate(self, instance: Any, schema: Any) -> None:
        js = self._jsonschema
        entry = self._validators.get(id(schema))
        if entry is None or entry[0] is not schema:
            cls = js.validators.validator_for(schema)
            cls.check_schema(schema)
            entry = self._validators[id(schema)] = (schema, cls(schema))
        error = js.exceptions.best_match(entry[1].iter_errors(instance))
        if error is not None:
            raise error


class _FastMetadataValidator(MetadataValidator):
    _schema_cache: ClassVar[dict[str, Any]] = {}
    validate_cell = rebind(BaseMetadataValidator.validate_cell, jsonschema=_CachedJsonschema())

    def __init__(self) -> None:  # the schema file is read once, not for every notebook
        key = type(self).__mro__[1].__name__
        if key not in self._schema_cache:
            super().__init__()
            self._schema_cache[key] = self.schema
        self.schema = self._schema_cache[key]


class FastCheckCellMetadata(CheckCellMetadata):
    preprocess = rebind(CheckCellMetadata.preprocess, MetadataValidator=_FastMetadataValidator)


class TransactionSaveAutoGrades(SaveAutoGrades):
    preprocess = writing_transaction(SaveAutoGrades.preprocess)


class TransactionAssignLatePenalties(AssignLatePenalties):
    preprocess = writing_transaction(AssignLatePenalties.preprocess)


REPLACEMENTS = {
    Execute: SandboxOutputs,
    CheckCellMetadata: FastCheckCellMetadata,
    DeduplicateIds: TrackedDeduplicateIds,
    OverwriteKernelspec: SnapshotOverwriteKernelspec,
    OverwriteCells: TrackedOverwriteCells,
    SaveAutoGrades: TransactionSaveAutoGrades,
    AssignLatePenalties: TransactionAssignLatePenalties,
}


def is_test_cell(cell: NotebookNode) -> bool:
    """A cell nbgrader scores from its execution: graded, code, not an answer."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)
