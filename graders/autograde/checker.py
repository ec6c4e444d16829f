"""The trusted checker: the process that runs an assignment's test cells and so decides whether they pass.

Never imported on the host: the sandbox runner starts it (``python -I -c <this file>``) once per notebook,
before any of that notebook's learner code runs, in the same container as the learner's kernel but not in
it. Non-dumpable (same-uid learner code can neither trace it nor read its memory or descriptors), its own
interpreter with isolated paths, no IPython: nothing the learner's kernel imports, replaces, traces or
transforms runs here. It first executes the instructor's import statements (from test and locked cells).

For each test cell the runner sends ``{"op": "test", ...}``; the checker reads the names the test uses from
the learner's kernel through a Unix socket served by responder.py in that kernel. Values come back as data:
pickles read by ``DataUnpickler``, which rebuilds only allow-listed library data types (builtins, numpy,
pandas, scikit-learn estimators, datetime, pathlib…) and never calls anything else. Everything else
(learner functions, charts) stays in the learner's kernel and is reached through ``Remote`` handles: calls
and attribute reads run there and return data or more handles; comparisons on handles are by identity, so a
learner's object cannot decide an ``==``. The test's own code, its assertions and its exceptions run here.

Protocol with the runner: one JSON line per message on private pipes (stdin/stdout).
"""

import ast
import builtins
import ctypes
import importlib
import importlib.util
import inspect
import io
import json
import os
import pickle
import socket
import struct
import sys
import traceback

# Modules whose classes are data; parts that read or write files, evaluate expressions or wrap C are not.
DATA_ROOTS = ("numpy", "pandas", "sklearn", "datetime", "pathlib", "decimal", "fractions", "collections",
              "zoneinfo", "uuid", "re")  # fmt: skip
DENIED_PARTS = ("io", "testing", "_testing", "tests", "computation", "memmap", "f2py", "distutils", "ctypeslib",
                "_datasource", "npyio", "plotting", "_config", "config_init", "parallel", "externals", "_internal",
                "conftest", "_pytesttester", "lib_loader", "_build_utils")  # fmt: skip
IMPORTABLE = frozenset({*DATA_ROOTS, "matplotlib", "math", "statistics", "string", "json", "os", "operator",
                        "functools", "itertools", "unicodedata", "hashlib", "tempfile", "random", "typing",
                        "builtins", "csv", "copyreg"})  # fmt: skip
BUILTIN_CLASSES = frozenset({"int", "float", "complex", "bool", "str", "bytes", "bytearray", "list", "tuple", "dict",
                             "set", "frozenset", "range", "slice", "object"})  # fmt: skip
# Functions the libraries' own pickles call to rebuild their objects (found by pickling the curriculum's data).
RECONSTRUCTORS = frozenset({
    ("copyreg", "_reconstructor"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy.ma.core", "_mareconstruct"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pickle", "__generator_ctor"), ("numpy.random._pickle", "__bit_generator_ctor"),
    ("pandas._libs.internals", "_unpickle_block"), ("pandas.core.internals.blocks", "new_block"),
    ("pandas.core.indexes.base", "_new_Index"), ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
    ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"), ("pandas._libs.tslibs.nattype", "_nat_unpickle"),
    ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"), ("pandas._libs.tslibs.offsets", "_unpickle_offset"),
    ("pandas._libs.sparse", "__pyx_unpickle_IntIndex"), ("pandas._libs.sparse", "__pyx_unpickle_BlockIndex"),
    ("pandas.core.arrays.categorical", "_unpickle_categorical"), ("pandas._libs.missing", "NA"),
    ("pandas.core.indexes.period", "_new_PeriodIndex"), ("pandas._libs.tslibs.period", "_unpickle_period"),
    ("pandas.core.internals.managers", "_unpickle_block"), ("zoneinfo", "ZoneInfo._unpickle"),
    ("pandas._libs.properties", "__pyx_unpickle_CachedProperty"), ("re", "_compile"),
})  # fmt: skip
LIB_ROOTS = tuple({os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
HEADER = struct.Struct("!I")
MAX_MESSAGE = 512 << 20
SERVE_WAIT = 20.0  # seconds for the learner's kernel to start serving a test (it runs nothing else meanwhile)


class BridgeError(Exception):
    """The learner's kernel stopped answering or answered something that is not data."""


class RemoteError(Exception):
    """An exception raised by learner code in the learner's kernel, of a class that is not a builtin."""


def data_class(module, qualname):
    """The library class a pickle (or a handle) names, or None: never a function, never learner code."""
    if module == "builtins":
        return getattr(builtins, qualname, None) if qualname in BUILTIN_CLASSES else None
    parts = module.split(".")
    if parts[0] not in DATA_ROOTS or any(p in DENIED_PARTS for p in parts):
        return None
    try:
        obj = library_module(module)
    except (BridgeError, ImportError):
        return None
    for name in qualname.split("."):
        obj = getattr(obj, name, None)
    if not isinstance(obj, type) or issubclass(obj, type | BaseException | io.IOBase):
        return None  # metaclasses would make classes, with any "data" as their methods
    home = str(getattr(obj, "__module__", "")).split(".")  # where it is defined, not the alias it was named by
    if home[0] != parts[0] or any(p in DENIED_PARTS for p in home) or denied_code(obj):
        return None
    return obj


def denied_code(cls):
    """A class whose constructor lives in a denied part (pandas re-exports pandas.io's ExcelWriter as
    ``pandas.ExcelWriter``)."""
    for name in ("__new__", "__init__", "__setstate__"):
        code = getattr(inspect.getattr_static(cls, name, None), "__code__", None)
        folders = os.path.dirname(code.co_filename).split(os.sep) if code is not None else []
        if any(p in DENIED_PARTS for p in folders):
            return True
    return False


def library_class(module, qualname):
    """For isinstance checks on handles: any class of an installed library, imported here already."""
    if module not in sys.modules or not module.split(".")[0] or module == "__main__":
        return None
    file = getattr(sys.modules[module], "__file__", None) or ""
    if module != "builtins" and not os.path.realpath(file).startswith(LIB_ROOTS):
        return None
    obj = sys.modules[module]
    for name in qualname.split("."):
        obj = getattr(obj, name, None)
    return obj if isinstance(obj, type) else None


class Bridge:
    """One connection to the responder in the learner's kernel, for the duration of one test cell."""

    def __init__(self, conn):
        self.conn, self.sent = conn, []

    def send(self, message):
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, protocol=5)
        pickler.persistent_id = lambda obj: ("h", object.__getattribute__(obj, "_h")) if type(obj) is Remote else None
        pickler.dump(message)
        data = buf.getvalue()
        self.conn.sendall(HEADER.pack(len(data)) + data)

    def receive(self):
        size = HEADER.unpack(self.read(HEADER.size))[0]
        if size > MAX_MESSAGE:
            raise BridgeError(f"a {size >> 20} MB answer from the learner's kernel")
        return load_data(self.read(size), self)

    def read(self, n):
        chunks, left = [], n
        while left:
            chunk = self.conn.recv(min(left, 1 << 20))
            if not chunk:
                raise BridgeError("the learner's kernel closed the connection")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def ask(self, *request):
        self.sent = [*request[2], *request[3].values()] if request[0] == "call" else []
        try:
            self.send(request)
            answer = self.receive()
        except (OSError, EOFError) as exc:
            raise BridgeError(f"the learner's kernel stopped answering ({type(exc).__name__})") from None
        if not isinstance(answer, tuple) or not answer or answer[0] not in ("ok", "err"):
            raise BridgeError("a malformed answer")
        if answer[0] == "ok" and len(answer) == 2:
            return answer[1]
        if answer[0] == "err" and len(answer) == 3 and isinstance(answer[1], str) and isinstance(answer[2], str):
            cls = getattr(builtins, answer[1], None)
            if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
                raise cls(answer[2])
            raise RemoteError(f"{answer[1]}: {answer[2]}")
        raise BridgeError("a malformed answer")


def check_state(inst, state):
    """A pickle's state may set an object's data, never replace its methods: an instance attribute ``equals``
    or ``score`` would otherwise decide what the test's call returns."""
    parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
    for part in parts:
        if not isinstance(part, dict):
            continue
        for key in part:
            if not isinstance(key, str):
                raise BridgeError("state with a key that is not a name")
            attr = inspect.getattr_static(type(inst), key, None)
            data_descriptor = hasattr(type(attr), "__set__") or hasattr(type(attr), "__delete__")
            if attr is not None and not data_descriptor and (callable(attr) or hasattr(type(attr), "__get__")):
                raise BridgeError(f"state replaces {type(inst).__name__}.{key}")  # a data descriptor cannot be


class DataUnpickler(pickle._Unpickler):
    """Rebuilds allow-listed library data only: a pickle can name nothing else, and so call nothing else.
    Python's own (not the C) unpickler, so that every object's state is checked before it is set."""

    dispatch = dict(pickle._Unpickler.dispatch)  # noqa: RUF012 - pickle's own convention

    def __init__(self, file, bridge):
        super().__init__(file)
        self.bridge = bridge

    def load_build(self):
        check_state(self.stack[-2], self.stack[-1])
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build

    def find_class(self, module, name):
        if (module, name) in RECONSTRUCTORS:
            return super().find_class(module, name)
        cls = data_class(module, name)
        if cls is not None:
            return cls
        ref = LibraryRef(module, name)
        try:  # a library's named constant that is data itself (pd.NA)
            value = resolve(ref)
        except Exception:
            raise BridgeError(f"not data: {module}.{name}") from None
        cls = type(value)
        if not callable(value) and data_class(cls.__module__, cls.__qualname__) is cls:
            return value
        return ref  # a value (np.mean bound to a name) at most: it stands in and cannot be called

    def persistent_load(self, pid):
        if isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "h" and isinstance(pid[1], int):
            cls = library_class(str(pid[2]), str(pid[3]))
            return Remote(self.bridge, pid[1], cls, f"{pid[2]}.{pid[3]}")
        if isinstance(pid, tuple) and len(pid) == 2 and pid[0] == "t" and type(pid[1]) is int:
            sent = getattr(self.bridge, "sent", [])
            if 0 <= pid[1] < len(sent):
                return sent[pid[1]]  # an argument of this call, returned as itself
            raise BridgeError("a malformed handle")
        if isinstance(pid, tuple) and len(pid) in (2, 3) and pid[0] in ("m", "r"):
            return LibraryRef(*(str(x) for x in pid[1:]))  # resolved after loading: never called by it
        raise BridgeError("a malformed handle")


def load_data(data, bridge):
    """A value from the learner's kernel; BridgeError for anything that is not data."""
    try:
        return resolve(DataUnpickler(io.BytesIO(data), bridge).load())
    except BridgeError:
        raise
    except RecursionError:
        raise BridgeError("data nested too deeply") from None
    except Exception as exc:
        raise BridgeError(f"unreadable data ({type(exc).__name__}: {str(exc)[:200]})") from None


class LibraryRef:
    """A module or library function named by the learner's kernel, stood in for while a pickle is read."""

    def __init__(self, module, qualname=None):
        self.module, self.qualname = module, qualname


def library_module(name):
    """The checker's own copy of an installed module (never one from the learner's working folder); only
    modules tests use are imported for a learner's reference (an import can have side effects)."""
    module = sys.modules.get(name)
    if module is None:
        if name.split(".")[0] not in IMPORTABLE:
            raise BridgeError(f"not a module the checker imports: {name}")
        spec = importlib.util.find_spec(name)
        origin = os.path.realpath(spec.origin) if spec is not None and spec.origin else ""
        if spec is None or not (origin.startswith(LIB_ROOTS) or spec.origin in ("built-in", "frozen")):
            raise BridgeError(f"not an installed module: {name}")
        module = importlib.import_module(name)
    file = getattr(module, "__file__", None)
    if file and not os.path.realpath(file).startswith(LIB_ROOTS):
        raise BridgeError(f"not an installed module: {name}")
    return module


def resolve(value, depth=3):
    """Library references near the top (a name bound to a module or a library function, in an answer, a dict
    of names or a list) become the checker's own objects; deeper ones stay inert stand-ins."""
    if type(value) is LibraryRef:
        obj = library_module(value.module)
        for part in value.qualname.split(".") if value.qualname else ():
            obj = getattr(obj, part)
        return obj
    if depth > 0 and type(value) is dict:
        return {k: resolve(v, depth - 1) for k, v in value.items()}
    if depth > 0 and type(value) in (list, tuple):
        return type(value)(resolve(v, depth - 1) for v in value)
    return value


def _get(remote, name):
    return object.__getattribute__(remote, name)


class Remote:
    """An object that lives in the learner's kernel. Every use is a request there; what comes back is data
    or another handle. Equality is identity of the handle, so no learner ``__eq__`` is ever consulted."""

    __slots__ = ("_bridge", "_cls", "_h", "_name")

    def __init__(self, bridge, handle, cls, name):
        for key, value in (("_bridge", bridge), ("_h", handle), ("_cls", cls), ("_name", name)):
            object.__setattr__(self, key, value)

    def _ask(self, op, *args):
        return _get(self, "_bridge").ask(op, self, *args)

    @property
    def __class__(self):  # isinstance(handle, Axes) for a real Axes of the learner's kernel
        return _get(self, "_cls") or Remote

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._ask("getattr", name)

    def __setattr__(self, name, value):
        self._ask("setattr", name, value)

    def __call__(self, *args, **kwargs):
        return self._ask("call", args, kwargs)

    def __getitem__(self, key):
        return self._ask("getitem", key)

    def __len__(self):
        n = self._ask("len")
        if type(n) is not int or n < 0:
            raise TypeError("len() of a learner object is not a count")
        return n

    def __iter__(self):
        items = self._ask("list")
        if type(items) is not list:
            raise TypeError("a learner object did not iterate to a list")
        return iter(items)

    def __contains__(self, item):
        return any(item is x or (type(x) is not Remote and item == x) for x in self)

    def __bool__(self):
        return self._ask("bool") is True

    def __repr__(self):
        text = self._ask("repr")
        return text if type(text) is str else f"<{_get(self, '_name')}>"

    def __str__(self):
        text = self._ask("str")
        return text if type(text) is str else f"<{_get(self, '_name')}>"

    def __eq__(self, other):
        return type(other) is Remote and _get(other, "_h") == _get(self, "_h")

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("remote", _get(self, "_h")))


class CappedWriter(io.TextIOBase):
    """A test's stdout or stderr, kept up to a size."""

    def __init__(self, name, outputs, cap):
        self.name, self.outputs, self.cap = name, outputs, cap

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        if self.cap["left"] <= 0:
            self.cap["truncated"] = True
            return len(text)
        kept = text[: self.cap["left"]]
        self.cap["left"] -= len(kept)
        self.cap["truncated"] |= len(kept) < len(text)
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == self.name:
            last["text"] += kept
        else:
            self.outputs.append({"output_type": "stream", "name": self.name, "text": kept})
        return len(text)


def names_read(tree):
    """Every name a test cell reads (it may also bind some of them first)."""
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)})


def names_imported(tree):
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                found.add(alias.asname or alias.name.split(".")[0])
    return found


def to_python(source):
    """A cell's IPython syntax (magics) as Python, as the kernel would run it."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:
        return source


class Checker:
    def __init__(self, sock_path):
        self.ns = {"__name__": "__main__", "__builtins__": builtins, "display": lambda *a, **k: None}
        self.own = set(self.ns)  # names the instructor's own imports bound: never taken from the learner
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(sock_path)
        self.server.listen(1)

    def imports(self, statements):
        failed = []
        for source in statements:
            try:
                tree = ast.parse(source)
                exec(compile(tree, "<imports>", "exec"), self.ns)
                self.own |= names_imported(tree)
            except BaseException as exc:  # an import that fails here fails again in the test, visibly
                failed.append(f"{source[:80]}: {type(exc).__name__}")
        return {"ok": True, "failed": failed[:20]}

    def test(self, source, timeout, cap_bytes):
        outputs, cap, findings = [], {"left": cap_bytes, "truncated": False}, []
        try:
            tree = ast.parse(to_python(source))
        except SyntaxError as exc:
            return self.result("error", [error_output(exc)], cap, findings)
        self.server.settimeout(SERVE_WAIT)
        try:
            conn, _ = self.server.accept()
        except OSError:
            return self.result("bridge_failed", [], cap, ["the learner's kernel did not serve the test"])
        conn.settimeout(max(1.0, timeout))
        bridge = Bridge(conn)
        status = "ok"
        try:
            wanted = [n for n in names_read(tree) if n not in self.own]
            try:
                values, shadowed = bridge.ask("names", wanted)
                if not isinstance(values, dict) or not isinstance(shadowed, list):
                    raise BridgeError("a malformed answer")
            except Exception as exc:
                return self.result("bridge_failed", [], cap, [str(exc)[:300]])
            shadowed = [str(n) for n in shadowed if hasattr(builtins, str(n))]
            if shadowed:
                findings.append("shadowed_builtin: " + ", ".join(shadowed[:10]))
                outputs.append(error_output(RuntimeError(
                    f"Trường Số: tên có sẵn của Python bị gán lại trong bài làm / Python builtins reassigned in "
                    f"the submission: {', '.join(shadowed[:10])}")))  # fmt: skip
                return self.result("error", outputs, cap, findings)
            for name, value in values.items():
                if isinstance(name, str) and name.isidentifier() and name not in self.own:
                    self.ns[name] = value
            status = self.execute(tree, outputs, cap)
        finally:
            try:
                bridge.send(("done",))
            except Exception:
                pass
            conn.close()
        for out in outputs:
            if out.get("ename") == "BridgeError":
                findings.append("bridge: " + out.get("evalue", "")[:200])
        return self.result(status, outputs, cap, findings)

    def execute(self, tree, outputs, cap):
        self.own |= names_imported(tree)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = CappedWriter("stdout", outputs, cap), CappedWriter("stderr", outputs, cap)
        try:
            exec(compile(tree, "<test cell>", "exec"), self.ns)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), "<test cell>", "eval"), self.ns)
                if value is not None:
                    self.ns["_"] = value
                    text = repr(value)
                    outputs.append({"output_type": "execute_result", "metadata": {},
                                    "data": {"text/plain": text[:10000]}})  # fmt: skip
            return "ok"
        except BaseException as exc:  # the test failed (or its learner code raised): nbgrader scores 0
            outputs.append(error_output(exc))
            return "error"
        finally:
            sys.stdout, sys.stderr = saved

    @staticmethod
    def result(status, outputs, cap, findings):
        return {"status": status, "outputs": outputs, "truncated": cap["truncated"], "findings": findings}


def error_output(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != "<string>"]  # not the checker's
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames),
             *traceback.format_exception_only(type(exc), exc)]  # fmt: skip
    return {"output_type": "error", "ename": type(exc).__name__, "evalue": str(exc)[:20000],
            "traceback": [line[:20000] for line in lines[-60:]]}  # fmt: skip


def main():
    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0: no ptrace, no /proc/<pid>/mem
    sys.setrecursionlimit(3000)
    reply_fd, request_fd = os.dup(1), os.dup(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)  # a library writing to fd 1 cannot corrupt the protocol
    requests = os.fdopen(request_fd, "rb")
    replies = os.fdopen(reply_fd, "wb")
    checker = None
    for line in requests:
        try:
            msg = json.loads(line)
            if msg["op"] == "start":
                for name in msg.get("preimports", []):
                    try:
                        importlib.import_module(name)
                    except Exception:
                        pass
                checker = Checker(msg["socket"])
                answer = {"ok": True}
            elif msg["op"] == "imports":
                answer = checker.imports(msg["statements"])
            elif msg["op"] == "test":
                answer = checker.test(msg["src"], float(msg["timeout"]), int(msg["cap_bytes"]))
            else:
                answer = {"ok": False}
        except Exception as exc:
            answer = {"status": "checker_error", "outputs": [], "truncated": False,
                      "findings": [f"{type(exc).__name__}: {str(exc)[:300]}"]}  # fmt: skip
        try:
            data = json.dumps(answer, default=str, ensure_ascii=True)
        except Exception as exc:  # e.g. a lone surrogate in a test's output
            data = json.dumps({"status": "checker_error", "outputs": [], "truncated": False,
                               "findings": [f"unencodable result: {type(exc).__name__}"]})  # fmt: skip
        replies.write(data.encode("ascii") + b"\n")
        replies.flush()


if __name__ == "__main__":
    main()
