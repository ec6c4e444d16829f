"""A course's grading settings, read as data: nothing in the course folder is ever executed to learn them.

Instructors write the course folder through the formgrader, so processes with more rights (the portal's
*Autograde* button, `truongso grade`, the hub) must not run what is there (issue 10). Two files are read:

- ``grading.toml``, the instructors' file: nbgrader-style sections (``[Execute]``, ``[SandboxGrader]``, …)
  with only the settings listed in ``INSTRUCTOR_SCHEMA``, each within bounds; anything else is an error.
- ``nbgrader_config.py``, Trường Số's generated file (or a hand-made course directory's): parsed, never run.
  Only top-level ``c.Section.key = <literal>`` lines count, and only for the keys in ``OPERATOR_SCHEMA``
  (the instructors' ones plus the course's identity, database and sandbox image); other lines configure
  nbgrader's own commands and are ignored here.

Every problem is one bilingual line (`CourseSettingsError.text`), raised before anything is graded.
"""

from __future__ import annotations

import ast
import copy
import logging
import tomllib
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from traitlets.config import Config

from graders.text import BilingualError

INSTRUCTOR_FILE = "grading.toml"
GENERATED_FILE = "nbgrader_config.py"
MAX_BYTES = 64 << 10
COURSE_PLUGIN = "graders.late_penalty.CourseLatePenalty"  # course.yaml's late_policy
NBGRADER_PLUGIN = "nbgrader.plugins.LateSubmissionPlugin"  # nbgrader's own: penalty_method none | zero
_ID = "^[A-Za-z0-9._-]+$"
_RELATIVE = r"^(?!/)(?!.*(^|/)\.\.(/|$))[^\\\x00]+$"
_MEMORY = r"^[0-9]{1,6}[mMgG]$"
MEMORY_MB = (256, 4096)  # bounds of SandboxGrader.memory


def _section(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _number(low: float, high: float, kind: str = "number") -> dict[str, Any]:
    return {"type": kind, "minimum": low, "maximum": high}


INSTRUCTOR_SCHEMA: dict[str, Any] = _section(
    Execute=_section(
        timeout=_number(1, 1800, "integer"),
        interrupt_on_timeout={"type": "boolean"},
        iopub_timeout=_number(1, 60, "integer"),
        raise_on_iopub_timeout={"type": "boolean"},
    ),
    Autograde=_section(
        exclude_overwriting={
            "type": "object",
            "propertyNames": {"pattern": _ID},
            "additionalProperties": {
                "type": "array",
                "maxItems": 200,
                "items": {"type": "string", "pattern": _RELATIVE, "maxLength": 255},
            },
        }
    ),
    AssignLatePenalties=_section(plugin_class={"enum": [COURSE_PLUGIN, NBGRADER_PLUGIN]}),
    LateSubmissionPlugin=_section(penalty_method={"enum": ["none", "zero"]}),
    SandboxGrader=_section(
        workers=_number(0, 16, "integer"),
        memory={"type": "string", "pattern": _MEMORY},
        cpus=_number(0.25, 4),
        pids=_number(32, 1024, "integer"),
        wall_timeout=_number(10, 3600),
        max_notebook_mb=_number(1, 256),
        max_code_mb=_number(0.1, 32),
        max_files_mb=_number(1, 256),
        matplotlib_backend={"enum": ["", "agg", "Agg"]},
        preimport={"type": "boolean"},
    ),
)


def _operator_schema() -> dict[str, Any]:
    """What a course's nbgrader_config.py may also set (Trường Số writes it; instructors cannot)."""
    schema = copy.deepcopy(INSTRUCTOR_SCHEMA)
    props = schema["properties"]
    props["ExecutePreprocessor"] = copy.deepcopy(props["Execute"])  # nbconvert's name for Execute's settings
    props["CourseDirectory"] = _section(
        course_id={"type": "string", "pattern": _ID}, root={"type": "string"}, db_url={"type": "string"}
    )
    props["CourseLatePenalty"] = _section(course_id={"type": "string", "pattern": _ID}, courses_root={"type": "string"})
    props["SandboxGrader"]["properties"].update(
        image={"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$"},
        name_prefix={"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
    )
    return schema


OPERATOR_SCHEMA = _operator_schema()
# JSON Schema counts 60.0 as an integer; traitlets' Integer does not, so neither do we.
_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)
_TYPES = {
    "integer": ("số nguyên", "an integer"),
    "number": ("số", "a number"),
    "boolean": ("true hoặc false", "true or false"),
    "string": ("chuỗi trong ngoặc kép", "a quoted string"),
    "object": ("bảng", "a table"),
    "array": ("danh sách", "a list"),
}
log = logging.getLogger(__name__)


class CourseSettingsError(BilingualError, ValueError):
    """A course setting we cannot grade with; `text` says which and why, in both languages, on one line."""


def _fail(source: str, where: str, vi: str, en: str) -> CourseSettingsError:
    at = f" ({source}{', ' + where if where else ''})"
    return CourseSettingsError(f"cài đặt chấm bài sai{at}: {vi}", f"bad grading setting{at}: {en}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _where(path: list[Any]) -> str:
    if not path:
        return ""
    head = f"[{path[0]}]"
    return " ".join([head, *(str(p) for p in path[1:])])


def _explain(error: ValidationError, source: str) -> CourseSettingsError:
    path = list(error.absolute_path)
    where, rule, shown = _where(path), error.schema, _show(error.instance)
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {}))) or "—"
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        name = _where([*path, extra[0]]) if extra else where
        return _fail(source, name, f"không được đặt ở đây (được phép: {allowed})",
                     f"cannot be set here (allowed: {allowed})")  # fmt: skip
    if error.validator == "type":
        vi, en = _TYPES.get(str(rule.get("type")), (str(rule.get("type")), str(rule.get("type"))))
        return _fail(source, where, f"phải là {vi}, không phải {shown}",
                     f"must be {en}, not {shown}")  # fmt: skip
    if error.validator in ("minimum", "maximum"):
        low, high = rule.get("minimum"), rule.get("maximum")
        return _fail(source, where, f"phải từ {low} đến {high}, không phải {shown}",
                     f"must be between {low} and {high}, not {shown}")  # fmt: skip
    if error.validator == "enum":
        choices = ", ".join(repr(c) for c in rule["enum"])
        return _fail(source, where, f"phải là một trong {choices}", f"must be one of {choices}")
    if error.validator == "pattern" and rule.get("pattern") == _MEMORY:
        return _fail(source, where, "dạng 512m hoặc 2g", "like 512m or 2g")
    if error.validator == "pattern" and rule.get("pattern") == _RELATIVE:
        return _fail(source, where, f"phải là đường dẫn tương đối trong thư mục bài: {shown}",
                     f"must be a relative path inside the assignment folder: {shown}")  # fmt: skip
    if error.validator in ("pattern", "propertyNames"):
        return _fail(source, where, f"giá trị không hợp lệ: {shown}", f"invalid value: {shown}")
    return _fail(source, where, f"không hợp lệ ({error.validator})", f"invalid ({error.message})")


def validate(settings: dict[str, Any], schema: dict[str, Any], source: str) -> Config:
    """`settings` ({section: {key: value}}) checked against `schema`; the traitlets Config it sets."""
    error = best_match(_Validator(schema).iter_errors(settings))
    if error is not None:
        raise _explain(error, source)
    memory = settings.get("SandboxGrader", {}).get("memory")
    if memory is not None:
        megabytes = int(memory[:-1]) * (1024 if memory[-1] in "gG" else 1)
        if not MEMORY_MB[0] <= megabytes <= MEMORY_MB[1]:
            low, high, shown = MEMORY_MB[0], MEMORY_MB[1] // 1024, _show(memory)
            raise _fail(source, "[SandboxGrader] memory", f"phải từ {low}m đến {high}g, không phải {shown}",
                        f"must be between {low}m and {high}g, not {shown}")  # fmt: skip
    return Config({section: dict(values) for section, values in settings.items()})


def _read_text(path: Path) -> str | None:
    """The file's text, None when it does not exist; only a regular file of ours, small, UTF-8."""
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink() or not path.is_file():
        raise _fail(path.name, "", "không phải tệp thường", "not a regular file")
    if path.stat().st_size > MAX_BYTES:
        raise _fail(path.name, "", f"tệp lớn hơn {MAX_BYTES >> 10} KiB", f"file larger than {MAX_BYTES >> 10} KiB")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path.name, "", f"không đọc được ({exc})", f"cannot be read ({exc})") from None


def read_instructor_settings(root: Path) -> Config:
    """The course's grading.toml (an empty Config when there is none)."""
    text = _read_text(root / INSTRUCTOR_FILE)
    if text is None:
        return Config()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(INSTRUCTOR_FILE, "", f"không phải TOML hợp lệ ({exc})", f"not valid TOML ({exc})") from None
    return validate(data, INSTRUCTOR_SCHEMA, INSTRUCTOR_FILE)


def literal_settings(text: str, source: str = GENERATED_FILE) -> dict[str, dict[str, Any]]:
    """Every top-level ``c.Section.key = <literal>`` of an nbgrader_config.py, found by parsing, not running it."""
    try:
        tree = ast.parse(text, filename=source)
    except SyntaxError as exc:
        raise _fail(source, f"dòng/line {exc.lineno}", "không đọc được", "cannot be parsed") from None
    found: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute)
                and isinstance(target.value.value, ast.Name) and target.value.value.id == "c"):  # fmt: skip
            continue
        try:
            value = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue  # an expression, not data: only nbgrader's own commands would evaluate it
        found.setdefault(target.value.attr, {})[target.attr] = value
    return found


def read_generated_settings(root: Path) -> Config:
    """The course's nbgrader_config.py read as data, limited to the keys grading uses (OPERATOR_SCHEMA)."""
    text = _read_text(root / GENERATED_FILE)
    if text is None:
        return Config()
    allowed = OPERATOR_SCHEMA["properties"]
    kept: dict[str, dict[str, Any]] = {}
    for section, values in literal_settings(text).items():
        for key, value in values.items():
            if key in allowed.get(section, {}).get("properties", {}):
                kept.setdefault(section, {})[key] = value
            else:
                log.debug("%s: %s.%s is not a grading setting; ignored", GENERATED_FILE, section, key)
    return validate(kept, OPERATOR_SCHEMA, GENERATED_FILE)


def read_course_settings(root: Path) -> Config:
    """nbgrader_config.py's data, then grading.toml on top: the course's grading settings."""
    config = read_generated_settings(root)
    config.merge(read_instructor_settings(root))
    return config


def describe() -> list[tuple[str, str]]:
    """(section.key, what is allowed) for every setting instructors may change, for documentation."""
    rows = []
    for section, spec in INSTRUCTOR_SCHEMA["properties"].items():
        for key, rule in spec["properties"].items():
            if "enum" in rule:
                what = " | ".join(repr(v) for v in rule["enum"])
            elif "minimum" in rule:
                what = f"{rule['type']} {rule['minimum']}–{rule['maximum']}"
            elif rule.get("pattern") == _MEMORY:
                what = f"string {MEMORY_MB[0]}m–{MEMORY_MB[1] // 1024}g"
            else:
                what = str(rule.get("type"))
            rows.append((f"{section}.{key}", what))
    return rows
