"""A static look at student code, for the instructor's attention only: it never changes a score.

Runtime evidence (guard reports, canaries, limits) decides scores; this lists constructs that honest
beginner notebooks do not need and that cheating or escaping code does (exits, process control, the kernel's
internals, patching modules, reading outside the assignment folder).
"""

from __future__ import annotations

import ast

CALLS = {
    "os._exit": "os._exit", "sys.exit": "sys.exit", "exit": "exit", "quit": "quit", "os.fork": "os.fork",
    "os.system": "os.system", "os.kill": "os.kill", "os.killpg": "os.killpg", "gc.get_objects": "gc",
    "gc.get_referrers": "gc", "sys.settrace": "sys.settrace", "sys.setprofile": "sys.setprofile",
    "get_ipython": "get_ipython", "ctypes.CDLL": "ctypes", "__import__": "__import__", "setattr": "setattr",
    "exec": "exec", "eval": "eval", "compile": "compile",
}  # fmt: skip
MODULES = {"ctypes", "subprocess", "socket", "multiprocessing", "signal", "builtins", "gc", "inspect", "IPython",
           "ipykernel", "urllib", "requests", "http"}  # fmt: skip
ATTRS = {"showtraceback", "_showtraceback", "excepthook", "set_custom_exc", "input_transformers_post",
         "input_transformers_cleanup", "ast_transformers", "__build_class__", "__builtins__", "__code__",
         "__globals__", "__closure__", "oom_score_adj"}  # fmt: skip
PATHS = ("/proc", "/sys", "/etc", "/home", "/root", "/var", "/srv", "gradebook", "/work", "/data")


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def scan_source(source: str) -> list[str]:
    """Notable constructs in one cell's code (empty when it does not parse)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return []
    found: list[str] = []
    imported: set[str] = set()

    def add(what: str) -> None:
        if what not in found:
            found.append(what)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for alias in getattr(node, "names", []):
                imported.add(alias.asname or alias.name.split(".")[0])
            for name in names:
                if name.split(".")[0] in MODULES:
                    add(f"import {name}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in CALLS:
                add(f"{CALLS[name]}()")
        elif isinstance(node, ast.Attribute) and node.attr in ATTRS:
            add(node.attr)
        elif isinstance(node, ast.FunctionDef) and node.name in ("__eq__", "__ne__", "equals"):
            body = [n for n in node.body if not isinstance(n, ast.Expr)]
            if len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Constant):
                add(f"{node.name} returns a constant")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith(PATHS):
                add(f"path {node.value[:60]!r}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                root = _dotted(target).split(".")[0] if isinstance(target, ast.Attribute) else ""
                if root and root in imported and ".options." not in _dotted(target) + ".":
                    add(f"assigns {_dotted(target)}")
    return found
