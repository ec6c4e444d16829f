"""A course directory as the autograder sees it: nbgrader's config, paths, preprocessor lists, settings.

Settings are traitlets on ``SandboxGrader`` next to nbgrader's own (``Execute.timeout``,
``AssignLatePenalties.plugin_class``, ``Autograde.exclude_overwriting``, …), which apply as they do for stock
``nbgrader autograde``. They are read as data, never executed: instructors set the allowed ones in the
course's ``grading.toml`` (``[SandboxGrader] workers = 4``), see graders/course_settings.py.
"""

from __future__ import annotations

import ast
import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbconvert.exporters import Exporter
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, Unicode
from traitlets.config import Config, LoggingConfigurable

from graders.autograde.preprocessors import REPLACEMENTS
from graders.autograde.sanitize import SanitizeActiveContent
from graders.course_settings import CourseSettingsError, read_course_settings
from graders.text import BilingualError

# Heavy modules worth importing while a container waits for work, when the assignment imports them.
PREIMPORTABLE = ("numpy", "pandas", "matplotlib", "sklearn", "scipy", "openpyxl")


class AutogradeError(BilingualError):
    """The batch cannot start (bad course directory, unknown assignment, no Docker…): one line for a person."""


class SandboxGrader(LoggingConfigurable):
    """Sandboxed, parallel autograding (Trường Số)."""

    image = Unicode("truongso/grader:latest", help="Grader image (`truongso images build`).").tag(config=True)
    workers = Integer(0, help="Submissions graded at once; 0 fits the machine (one per CPU core).").tag(config=True)
    memory = Unicode("1g", help="Memory limit of one sandbox (no swap).").tag(config=True)
    cpus = Float(1.0, help="CPU limit of one sandbox, in cores.").tag(config=True)
    pids = Integer(128, help="Process/thread limit of one sandbox.").tag(config=True)
    wall_timeout = Float(300.0, help="Total seconds one submission may run (all notebooks).").tag(config=True)
    max_notebook_mb = Float(64.0, help="Submitted notebooks larger than this are not graded.").tag(config=True)
    max_code_mb = Float(8.0, help="Code (cell sources) sent to the sandbox, per submission.").tag(config=True)
    max_files_mb = Float(64.0, help="Non-notebook files copied along with a submission.").tag(config=True)
    matplotlib_backend = Unicode(
        "", help="MPLBACKEND of the kernel; empty keeps ipykernel's inline backend (charts in the notebook)."
    ).tag(config=True)
    name_prefix = Unicode("truongso-grade", help="Prefix of the sandbox containers' names.").tag(config=True)
    preimport = Bool(True, help="Import the assignment's heavy libraries while a sandbox waits.").tag(config=True)


@dataclass
class CourseSetup:
    root: Path
    config: Config
    coursedir: CourseDirectory
    converter: Autograde
    settings: SandboxGrader
    course_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def path(self, step: str, student: str, assignment: str) -> Path:
        return Path(self.coursedir.format_path(step, student, assignment))

    def exporter(self, stage: str) -> Exporter:
        """nbconvert exporter with Autograde's preprocessors of `stage` ('sanitize' or 'autograde')."""
        exporter = _Exporter(config=self.config)
        conv = self.converter
        classes = conv.sanitize_preprocessors if stage == "sanitize" else conv.autograde_preprocessors
        for cls in classes:
            exporter.register_preprocessor(REPLACEMENTS.get(cls, cls))
        if stage == "autograde":
            if Execute not in classes:
                raise AutogradeError(
                    "cấu hình thiếu Execute trong Autograde.autograde_preprocessors",
                    "Autograde.autograde_preprocessors has no Execute: nothing would run",
                )
            exporter.register_preprocessor(SanitizeActiveContent, enabled=True)
        return exporter


class _Exporter(Exporter):
    """nbconvert validates the whole notebook after every preprocessor; ours are trusted transformations of
    the host's copy, so the notebook is validated once, after the last one."""

    def _validate_preprocessor(self, nbc: Any, preprocessor: Any) -> None:
        if preprocessor is self._preprocessors[-1]:
            super()._validate_preprocessor(nbc, preprocessor)


def load_config(root: Path) -> Config:
    """The course's grading settings, read as data and never executed (instructors write the course folder):
    nbgrader_config.py's literal settings, then grading.toml (graders.course_settings)."""
    try:
        return read_course_settings(root)
    except CourseSettingsError as exc:
        raise AutogradeError(exc.text.vi, exc.text.en) from None


def setup_course(root: Path | str, overrides: Config | None = None) -> CourseSetup:
    root = Path(root).absolute()
    if not root.is_dir():
        raise AutogradeError(f"không có thư mục khoá học {root}", f"course directory {root} does not exist")
    config = load_config(root)
    if overrides is not None:
        config.merge(overrides)
    config = copy.deepcopy(config)
    config.Exporter.default_preprocessors = []  # as nbgrader's BaseConverter does
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)  # the directory we grade, wherever the config says it was
    converter = Autograde(coursedir=coursedir, config=config)
    settings = SandboxGrader(config=config)
    return CourseSetup(root, config, coursedir, converter, settings, coursedir.course_id)


def preimports_for(notebooks: list[Path]) -> tuple[str, ...]:
    """Heavy modules the instructor's source notebooks import at top level (trusted code, parsed only)."""
    found: list[str] = []
    for path in notebooks:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
            try:
                tree = ast.parse(src)
            except SyntaxError:
                continue
            for node in tree.body:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                for name in names:
                    if name.split(".")[0] in PREIMPORTABLE and name not in found:
                        found.append(name)
    return tuple(found)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
