"""The sandbox's result, as the host accepts it: JSON validated against a schema, never pickle.

Only outputs and execution counts of the cells the host sent are taken from it; cell sources and metadata
always come from the host's own copy. Anything that does not fit the schema or the job is rejected whole.
"""

from __future__ import annotations

from typing import Any

import jsonschema

MIME = r"^[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,128}$"
TEXT = {"type": "string"}
STATUSES = [
    "ok",
    "error",
    "checker_failed",
    "timeout",
    "died",
    "unresponsive",
    "runner_error",
    "not_run",
    "skipped",
    "deadline",
    "output_lost",
]
NB_STATUSES = ["completed", "died", "unresponsive", "runner_error", "deadline", "start_failed"]

_MIMEBUNDLE = {
    "type": "object",
    "maxProperties": 32,
    "propertyNames": {"pattern": MIME},
    "additionalProperties": {"anyOf": [TEXT, {"type": "array", "items": TEXT}, {"type": "object"}]},
}
_OUTPUT = {
    "oneOf": [
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["output_type", "name", "text"],
            "properties": {"output_type": {"const": "stream"}, "name": {"enum": ["stdout", "stderr"]}, "text": TEXT},
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["output_type", "data", "metadata"],
            "properties": {
                "output_type": {"const": "display_data"},
                "data": _MIMEBUNDLE,
                "metadata": {"type": "object"},
            },
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["output_type", "data", "metadata", "execution_count"],
            "properties": {
                "output_type": {"const": "execute_result"},
                "data": _MIMEBUNDLE,
                "metadata": {"type": "object"},
                "execution_count": {"type": ["integer", "null"]},
            },
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["output_type", "ename", "evalue", "traceback"],
            "properties": {
                "output_type": {"const": "error"},
                "ename": TEXT,
                "evalue": TEXT,
                "traceback": {"type": "array", "maxItems": 201, "items": TEXT},
            },
        },
    ]
}
_CELL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["i", "status", "execution_count", "outputs", "truncated"],
    "properties": {
        "i": {"type": "integer", "minimum": 0},
        "status": {"enum": STATUSES},
        "execution_count": {"type": ["integer", "null"]},
        "outputs": {"type": "array", "maxItems": 2100, "items": _OUTPUT},
        "truncated": {"type": "boolean"},
        "check_before": {"type": "integer", "minimum": 0},
        "check_after": {"type": "integer", "minimum": 0},
        "checker": {  # a test cell's verdict came from the trusted checker (checker.py)
            "type": "object",
            "additionalProperties": False,
            "required": ["status", "findings"],
            "properties": {
                "status": {"type": "string", "maxLength": 40},
                "findings": {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 300}},
            },
        },
    },
}
_CHECK = {
    "type": "object",
    "additionalProperties": False,
    "required": ["pos", "status", "canary", "report", "findings"],
    "properties": {
        "pos": {"type": "integer", "minimum": 0},
        "status": {"enum": STATUSES},
        "canary": {"type": "boolean"},
        "report": {"type": "boolean"},
        "findings": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind", "detail"],
                "properties": {
                    "kind": {"type": "string", "maxLength": 40},
                    "detail": {"type": "string", "maxLength": 300},
                },
            },
        },
    },
}
_EVENT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "i", "detail"],
    "properties": {"kind": {"type": "string", "maxLength": 40}, "i": {"type": ["integer", "null"]}, "detail": TEXT},
}
RESULT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["protocol", "warm_seconds", "elapsed", "notebooks"],
    "properties": {
        "protocol": {"const": 2},
        "warm_seconds": {"type": "number"},
        "elapsed": {"type": "number"},
        "cpu": {
            "type": "object",
            "required": ["warm", "total", "runner_warm", "runner_total"],
            "additionalProperties": {"type": "number"},
        },
        "notebooks": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "status", "detail", "language_info", "cells", "checks", "events", "limits"],
                "properties": {
                    "name": TEXT,
                    "status": {"enum": NB_STATUSES},
                    "detail": TEXT,
                    "language_info": {"type": ["object", "null"]},
                    "cells": {"type": "array", "items": _CELL},
                    "checks": {"type": "array", "maxItems": 10000, "items": _CHECK},
                    "events": {"type": "array", "maxItems": 1000, "items": _EVENT},
                    "limits": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["oom_kills", "memory_max", "pids_max"],
                        "properties": {
                            "oom_kills": {"type": "integer"},
                            "memory_max": {"type": "integer"},
                            "pids_max": {"type": "integer"},
                        },
                    },
                },
            },
        },
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(RESULT_SCHEMA)


LANGUAGE_INFO_KEYS = {"name", "version", "mimetype", "file_extension", "pygments_lexer", "nbconvert_exporter",
                      "codemirror_mode"}  # what an IPython kernel's kernel_info reply holds  # fmt: skip


class InvalidResult(ValueError):
    """The sandbox's result does not fit the schema or the job it answers."""


def validate_result(result: Any, job: dict[str, Any]) -> dict[str, Any]:
    """The result if it is well-formed and answers exactly `job`; InvalidResult otherwise."""
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(result))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        raise InvalidResult(f"schema: {where}: {error.message[:200]}")
    names = [nb["name"] for nb in job["notebooks"]]
    if [nb["name"] for nb in result["notebooks"]] != names:
        raise InvalidResult("notebooks differ from the job")
    for sent, got in zip(job["notebooks"], result["notebooks"], strict=True):
        if [c["i"] for c in got["cells"]] != [c["i"] for c in sent["cells"]]:
            raise InvalidResult(f"{sent['name']}: cells differ from the job")
        positions = {c["pos"] for c in got["checks"]}
        for cell in got["cells"]:
            for key in ("check_before", "check_after"):
                if key in cell and cell[key] not in positions:
                    raise InvalidResult(f"{sent['name']}: cell {cell['i']} refers to a missing check")
        info = got["language_info"]
        if info is not None and not (
            set(info) <= LANGUAGE_INFO_KEYS
            and all(isinstance(v, str) and len(v) < 200 for k, v in info.items() if k != "codemirror_mode")
            and isinstance(info.get("codemirror_mode", {}), dict | str)
        ):
            raise InvalidResult("language_info")
    return result


def safe_output(output: dict[str, Any]) -> dict[str, Any]:
    """A validated output reduced to the keys nbformat defines (metadata kept only for image sizes)."""
    kind = output["output_type"]
    if kind == "stream":
        return {"output_type": kind, "name": output["name"], "text": output["text"]}
    if kind == "error":
        return {"output_type": kind, "ename": output["ename"], "evalue": output["evalue"],
                "traceback": list(output["traceback"])}  # fmt: skip
    meta = {}
    for mime, value in output["metadata"].items():
        if mime.startswith("image/") and isinstance(value, dict):
            meta[mime] = {k: v for k, v in value.items() if k in ("width", "height") and isinstance(v, int | float)}
    out = {"output_type": kind, "data": dict(output["data"]), "metadata": meta}
    if kind == "execute_result":
        out["execution_count"] = output["execution_count"]
    return out
