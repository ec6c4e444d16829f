"""Kernel-side integrity guard. Its source is executed inside the sandboxed kernel before any student code.

Never imported on the host: the sandbox runner sends this file's text to the kernel, which runs
``install(nonce, preimports)``. Standard library only; every name the checks use is captured at install
time, so a student who later replaces ``id``, ``print``, ``sys.stdout`` or ``json.dumps`` cannot blind them.

The runner calls ``sys.modules["_ts_<nonce>"].check(pos)`` in extra cells it runs around every test cell
(``store_history=False``, so execution counts stay those of stock nbgrader). ``check`` prints one report
line and then must raise: a check cell that does not end in its own AssertionError means student code
suppresses errors. The report lists tampering the guard can see: patched builtins, library functions or
classes the tests rely on, changed IPython/kernel hooks (showtraceback, transformers, custom exception
handlers, events, sys hooks), tracing hooks, and classes whose comparisons are always true.

This is defence in depth, not a proof: code that runs in the same interpreter as the tests can in principle
find and forge this guard. The runner treats a missing or malformed report as tampering.
"""

import builtins
import sys

# Modules and classes whose attributes tests rely on; compared by identity with the state at install.
WATCH_MODULES = (
    "builtins", "math", "operator", "unicodedata", "json", "re", "os", "os.path", "pathlib", "tempfile",
    "hashlib", "hmac", "datetime", "statistics", "numbers", "functools", "numpy", "numpy.testing", "pandas",
    "pandas.testing", "pandas.api.types", "sklearn.metrics", "matplotlib.axes", "matplotlib.pyplot",
)  # fmt: skip
WATCH_CLASSES = (
    ("pathlib", "Path"), ("pathlib", "PurePath"), ("pandas", "DataFrame"), ("pandas", "Series"),
    ("pandas", "Index"), ("pandas.core.strings.accessor", "StringMethods"), ("matplotlib.axes", "Axes"),
    ("matplotlib.axes._base", "_AxesBase"), ("matplotlib.artist", "Artist"), ("matplotlib.lines", "Line2D"),
    ("matplotlib.text", "Text"), ("matplotlib.patches", "Patch"), ("matplotlib.patches", "Rectangle"),
)  # fmt: skip
# Modules whose attributes legitimately change at run time (backend switches): only user code is flagged.
LOOSE_MODULES = ("matplotlib.pyplot",)
COMPARISONS = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "equals", "__bool__")


def cap_output(ip, out, cap, own):
    """Output is cut where it is written, by size: a flood costs neither the kernel's memory nor (on a busy
    machine) the time to ship it, so the same hand-in gets the same outcome under any load. IPython 9's copy of
    every output in the history (its _tee) is switched off: it held a 1 GB print in memory."""
    import contextlib

    ip._tee = lambda channel: contextlib.nullcontext()
    stream_class = type(out)
    plain_write = stream_class.write
    used = [0, False]  # characters written in this cell, note shown
    note = "\n… [Trường Số: bỏ bớt đầu ra quá lớn / excess output dropped]\n"

    def new_cell(*args):
        used[0], used[1] = 0, False
        for stream in (sys.stdout, sys.stderr):  # the boot cell's tee left the plain method on the instance
            if getattr(vars(stream).get("write"), "__func__", None) is plain_write:
                del stream.write

    def capped_write(self, text):
        size = len(text) if type(text) is str else 0
        if used[0] + size <= cap:
            used[0] += size
            return plain_write(self, text)
        if not used[1]:
            used[0], used[1] = cap, True
            plain_write(self, note)
        return size

    ip.events.register("pre_run_cell", new_cell)
    stream_class.write = capped_write
    own.update((id(capped_write), id(new_cell)))


def install(nonce, preimports, output_cap=None):
    import importlib
    import json
    import os
    import random
    import types

    for path, value in (("/proc/self/oom_score_adj", "1000"),):  # the kernel dies first when memory runs out
        try:
            with open(path, "w") as fh:
                fh.write(value)
        except OSError:
            pass
    for name in preimports:  # what the assignment imports anyway, done while the container waits for work
        try:
            importlib.import_module(name)
        except Exception:
            pass

    # The runner executes this file with a private copy of the builtins, so the names below stay the
    # originals even if student code later replaces them in the real builtins module.
    ip = get_ipython()  # noqa: F821 - defined in the kernel
    _dumps, _modules, _gettrace, _getprofile = json.dumps, sys.modules, sys.gettrace, sys.getprofile
    _out = sys.stdout
    _write, _flush = type(_out).write, type(_out).flush
    lib_roots = tuple({os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    lib_roots += ("/usr/lib/python3",)
    own = set()  # ids of the guard's own functions, never reported

    def code_file(obj):
        """Where a Python function was compiled; None for C and Cython callables (whose file names are
        relative, e.g. pandas/_libs/…pyx: they are library code, and learners cannot build them here)."""
        for _ in range(4):  # unwrap bound methods, partials, static/class methods
            if isinstance(obj, types.MethodType | staticmethod | classmethod):
                obj = obj.__func__
            elif hasattr(obj, "func") and type(obj).__name__ == "partial":
                obj = obj.func
            else:
                break
        return obj.__code__.co_filename if isinstance(obj, types.FunctionType) else None

    def user_code(obj):
        """True for functions compiled from notebook cells or strings rather than installed libraries."""
        if id(obj) in own:
            return False
        filename = code_file(obj)
        return filename is not None and not filename.startswith(lib_roots)

    def untee(fn):
        """IPython 9 wraps sys.stdout/stderr.write around every cell (history capture): look through it."""
        for _ in range(3):
            code = getattr(fn, "__code__", None)
            if code is None or not fn.__qualname__.endswith("_tee.<locals>.write") or user_code(fn):
                break
            if "original_write" not in code.co_freevars:
                break
            fn = fn.__closure__[code.co_freevars.index("original_write")].cell_contents
        return fn

    def same(a, b):
        """Identity, except that a fresh bound method of the same function and object is the same hook."""
        if a is b:
            return True
        a, b = untee(a), untee(b)
        if a is b:
            return True
        if isinstance(a, types.MethodType) and isinstance(b, types.MethodType):
            return a.__func__ is b.__func__ and a.__self__ is b.__self__
        return False

    def watched(key, old, new):
        """Functions and classes tests call; not caches and state (tempfile._name_sequence, counters…)."""
        if key.startswith("_") and not (key.startswith("__") and key.endswith("__")):
            return False
        return callable(old) or callable(new) or isinstance(old, type) or isinstance(new, type)

    def members(obj):
        try:
            return dict(vars(obj))
        except TypeError:
            return {}

    def hook_lists():
        lists = {
            "input_transformers_post": ip.input_transformers_post,
            "input_transformers_cleanup": ip.input_transformers_cleanup,
            "ast_transformers": ip.ast_transformers,
            "sys.meta_path": sys.meta_path,
        }
        manager = ip.input_transformer_manager
        for attr in ("cleanup_transforms", "line_transforms", "token_transformers"):
            lists["input_transformer_manager." + attr] = getattr(manager, attr, [])
        for event, callbacks in ip.events.callbacks.items():
            lists["events." + event] = callbacks
        for attr in ("shell_handlers", "control_handlers"):
            lists["kernel." + attr] = list(getattr(ip.kernel, attr, {}).values())
        return {key: [id(x) for x in value] for key, value in lists.items()}, lists

    def hook_objects():
        objs = {"shell": ip, "kernel": ip.kernel, "session": ip.kernel.session, "display_pub": ip.display_pub,
                "displayhook": ip.displayhook, "InteractiveTB": ip.InteractiveTB, "SyntaxTB": ip.SyntaxTB,
                "compile": ip.compile, "events": ip.events, "stdout": _out, "stderr": sys.stderr,
                "transformer_manager": ip.input_transformer_manager}  # fmt: skip
        for attr in ("iopub_thread", "iopub_socket"):
            if getattr(ip.kernel, attr, None) is not None:
                objs[attr] = getattr(ip.kernel, attr)
        return objs

    def singletons():
        return {
            "sys.excepthook": sys.excepthook,
            "sys.displayhook": sys.displayhook,
            "sys.stdout": sys.stdout,
            "sys.stderr": sys.stderr,
            "custom_exceptions": ip.custom_exceptions,
            "CustomTB": ip.CustomTB,
            "builtins.__import__": builtins.__import__,
            "builtins.__build_class__": builtins.__build_class__,
        }

    def snapshot_objects():
        snap = {}
        for label, obj in hook_objects().items():
            snap[label] = {k: v for k, v in members(obj).items() if callable(v)}
            for cls in type(obj).__mro__[:-1]:
                snap[label + "<" + cls.__name__] = members(cls)
        return snap

    modules, classes = {}, {}

    def snapshot_modules():
        for name in WATCH_MODULES:
            mod = _modules.get(name)
            if mod is not None and name not in modules:
                modules[name] = (mod, members(mod))
        for modname, clsname in WATCH_CLASSES:
            mod = _modules.get(modname)
            cls = getattr(mod, clsname, None) if mod is not None else None
            key = modname + "." + clsname
            if isinstance(cls, type) and key not in classes:
                classes[key] = (cls, members(cls))

    registry = []  # classes defined by student code (class statements), kept alive for the checks
    original_build_class = builtins.__build_class__

    def build_class(func, name, *bases, **kwargs):
        cls = original_build_class(func, name, *bases, **kwargs)
        try:
            if isinstance(cls, type) and user_code(func) and len(registry) < 10000:
                registry.append(cls)
        except Exception:
            pass
        return cls

    tb_mode = [None]

    def restore_tb_mode(*args):
        if tb_mode[0] is not None:
            ip.InteractiveTB.set_mode(tb_mode[0])
            tb_mode[0] = None

    builtins.__build_class__ = build_class
    ip.events.register("post_run_cell", restore_tb_mode)
    if output_cap:
        cap_output(ip, _out, output_cap, own)
    snapshot_modules()
    base_objects = snapshot_objects()
    base_lists, _ = hook_lists()
    base_single = singletons()
    base_lists_objs = {k: set(v) for k, v in base_lists.items()}
    rng = random.Random(nonce)
    verified = {}

    class Probe:
        pass

    Probe.__name__ = Probe.__qualname__ = "P" + nonce[:8]

    def always_true(cls):
        """A class whose comparisons hold for unrelated random values is faking results."""
        found = []
        for name in COMPARISONS:
            fn = None
            for klass in type.__getattribute__(cls, "__mro__"):
                if name in klass.__dict__:
                    fn = klass.__dict__[name]
                    break
            if fn is None or not user_code(fn):
                continue
            key = (id(cls), name, id(fn))
            if key in verified:
                if verified[key]:
                    found.append(name)
                continue
            try:
                try:
                    inst = cls.__new__(cls)
                except Exception:
                    inst = object.__new__(cls)
                probes = [Probe(), rng.random() * 1e6 + 0.5, "x" + str(rng.random()), -rng.randrange(10**12)]
                results = []
                for probe in probes:
                    value = fn(inst, probe) if name != "__bool__" else fn(inst)
                    results.append(value is not NotImplemented and bool(value))
                    if name == "__bool__":
                        break
                bad = (sum(results) >= 2) if name not in ("__ne__", "__bool__") else False
                if name == "__ne__":
                    bad = sum(not r for r in results) >= 2
            except BaseException:
                bad = False
            verified[key] = bad
            if bad:
                found.append(name)
        return found

    library_class = {}  # id -> whether a class comes from an installed library (decided once)

    def candidates(add):
        """Classes to test for always-true comparisons: the learner's own. Library classes the learner's
        values use join the watched classes, so a patched method on them shows as a monkeypatch."""
        seen = {id(cls): cls for cls in registry}
        for value in list(ip.user_ns.values()):
            cls = value if isinstance(value, type) else type(value)
            key = id(cls)
            if key in seen:
                continue
            if key not in library_class:
                own_code = [k for k, v in members(cls).items() if user_code(v)]
                mod = _modules.get(getattr(cls, "__module__", ""), None)
                library_class[key] = not own_code and getattr(mod, "__file__", "").startswith(lib_roots)
                if library_class[key]:
                    classes.setdefault(cls.__module__ + "." + cls.__qualname__, (cls, members(cls)))
                elif mod is not None and getattr(mod, "__file__", "").startswith(lib_roots):
                    for k in own_code:  # a library class that already carries the learner's code
                        add("monkeypatch", cls.__qualname__ + "." + k)
            if not library_class[key]:
                seen[key] = cls
        return seen.values()

    def check(pos):
        findings = []

        def add(kind, detail):
            if len(findings) < 50:
                findings.append({"kind": kind, "detail": detail[:300]})

        snapshot_modules()  # modules imported since the last check: baseline from first sight
        for name, (mod, base) in list(modules.items()) + list(classes.items()):
            now = members(mod)
            for key, value in base.items():
                new = now.get(key, base)
                if same(new, value) or not watched(key, value, new):
                    continue
                if name in LOOSE_MODULES and not user_code(new):
                    continue
                add("monkeypatch", name + "." + key)
            for key, value in now.items():
                if key not in base and user_code(value):
                    add("monkeypatch", name + "." + key)
        for label, base in snapshot_objects().items():
            old = base_objects.get(label, {})
            for key, value in base.items():
                if "<" in label:
                    if key in old and not same(old[key], value):
                        add("kernel_tampering", label.split("<")[0] + "." + key)
                    elif key not in old and user_code(value):
                        add("kernel_tampering", label.split("<")[0] + "." + key)
                elif key in old and not same(old[key], value):
                    add("kernel_tampering", label + "." + key)
                elif key not in old and user_code(value):
                    add("kernel_tampering", label + "." + key)
        for key, value in singletons().items():
            if not same(base_single.get(key), value):
                add("kernel_tampering", key)
        ids, lists = hook_lists()
        for key, current in ids.items():
            for item, ident in zip(lists[key], current, strict=False):
                if ident not in base_lists_objs.get(key, ()) and (user_code(item) or key.startswith(("input", "ast_"))):
                    add("kernel_tampering", key)
                    break
            if not set(base_lists.get(key, [])) <= set(current):
                add("kernel_tampering", key + " (removed)")
        if _gettrace() is not None or _getprofile() is not None:
            add("kernel_tampering", "sys.settrace/setprofile")
        for cls in candidates(add):
            for name in always_true(cls):
                add("always_equal", getattr(cls, "__qualname__", "?") + "." + name)
        report = _dumps({"pos": pos, "findings": findings}, ensure_ascii=True)
        _write(_out, "\x1e" + nonce + ":" + report + "\n")
        _flush(_out)
        # The canary travels the same error path as a failed test, but a full context traceback costs ~7 ms
        # per check: format this one minimally and restore the learner's mode once the cell is done.
        tb_mode[0] = ip.InteractiveTB.mode
        ip.InteractiveTB.set_mode("Minimal")
        raise AssertionError("truongso-canary-" + nonce + "-" + str(pos))

    for fn in (
        build_class,
        check,
        always_true,
        candidates,
        code_file,
        user_code,
        same,
        untee,
        watched,
        restore_tb_mode,
    ):
        own.add(id(fn))
    module = types.ModuleType("_ts_" + nonce)
    module.check = check
    _modules["_ts_" + nonce] = module
