"""The import rule between our packages (README, "How it fits together"): hub/ may import graders/, graders/
never imports hub/ (not even inside a function), and the bottom modules import nothing of ours."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BOTTOM = (
    "graders/text.py",
    "graders/db.py",
    "graders/settings_files.py",
    "graders/timeutil.py",
    "graders/spreadsheet.py",
)


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


def test_graders_never_import_the_hub() -> None:
    wrong = [f"{path.relative_to(REPO)}: {name}" for path in sorted((REPO / "graders").rglob("*.py"))
             for name in imported_modules(path) if name == "hub" or name.startswith("hub.")]  # fmt: skip
    assert not wrong, wrong


@pytest.mark.parametrize("module", BOTTOM)
def test_the_bottom_imports_nothing_of_ours(module: str) -> None:
    ours = [n for n in imported_modules(REPO / module) if n.split(".")[0] in ("hub", "graders", "images")]
    assert not ours, ours


def test_the_rule_catches_an_import_inside_a_function(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from hub.directory.db import Directory\n    import hub.settings\n")
    assert imported_modules(sample) == ["hub.directory.db", "hub.settings"]
