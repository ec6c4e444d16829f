"""Learner-kernel side of a test cell: serves the checker (checker.py) the values the test reads.

Never imported on the host: the runner executes this file's text in the learner's kernel in place of each test
cell, with ``SOCKET`` and ``USER_NS`` set. It answers the checker's requests until it says "done". Nothing here
is trusted: learner code may replace or break it, and then it answers wrong or not at all; the checker reads
what comes back as data only (checker.DataUnpickler), so the worst a broken responder does is fail the test.

Values are pickled; any object that is not plain library data (learner functions and classes, charts, open
files…) goes as a handle (``persistent_id``) that the checker uses through further requests.
"""

import builtins
import io
import os
import pickle
import socket
import struct
import sys
import types

HEADER = struct.Struct("!I")
DATA_ROOTS = ("numpy", "pandas", "sklearn", "datetime", "pathlib", "decimal", "fractions", "collections",
              "zoneinfo", "uuid", "re", "copyreg")  # fmt: skip
LIB_PREFIXES = tuple({os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
PLAIN = (
    int,
    float,
    complex,
    bool,
    str,
    bytes,
    bytearray,
    list,
    tuple,
    dict,
    set,
    frozenset,
    range,
    slice,
    type(None),
    pickle.PickleBuffer,
)


def handles():
    """Objects handed out by number, kept for the whole notebook (a test may keep a chart for the next test)."""
    table = getattr(sys, "_ts_handles", None)
    if table is None:
        table = sys._ts_handles = {"objects": {}, "ids": {}}
    return table


def handle_of(obj):
    table = handles()
    key = id(obj)
    if key not in table["ids"]:
        table["ids"][key] = len(table["objects"]) + 1
        table["objects"][table["ids"][key]] = obj
    cls = type(obj)
    return ("h", table["ids"][key], str(getattr(cls, "__module__", "")), str(getattr(cls, "__qualname__", "")))


def library_module(name):
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None) or ""
    return module is not None and (name == "builtins" or file.startswith(LIB_PREFIXES))


ECHO = {}  # id of each argument of the call being answered -> its position: handed back as the checker's own


def persistent_id(obj):
    """None for data (pickled as is); a module or library function by name; anything else by handle."""
    if id(obj) in ECHO:  # `f(x) is x` holds as it would in one process
        return ("t", ECHO[id(obj)])
    cls = type(obj)
    if cls in PLAIN:
        return None
    if isinstance(obj, types.ModuleType):
        return ("m", obj.__name__) if library_module(obj.__name__) else handle_of(obj)
    if isinstance(obj, type):
        module = getattr(obj, "__module__", "") or ""
        if module.split(".")[0] in DATA_ROOTS or module == "builtins":
            return None  # a data class: the checker's allow-list decides
        return ("r", module, obj.__qualname__) if library_module(module) else handle_of(obj)
    if callable(obj):  # a library function (numpy's dispatchers and ufuncs too) by name, if it has one
        module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if isinstance(module, str) and module.split(".")[0] in DATA_ROOTS and cls not in PLAIN:
            return None  # by reference, as the library pickles it: the checker allows what it rebuilds with
        if isinstance(module, str) and isinstance(name, str) and library_module(module):
            found = sys.modules[module]
            for part in name.split("."):
                found = getattr(found, part, None)
            if found is obj:
                return ("r", module, name)
        if cls in PLAIN or getattr(cls, "__module__", "").split(".")[0] not in DATA_ROOTS:
            return handle_of(obj)
    module = getattr(cls, "__module__", "") or ""
    return None if module.split(".")[0] in DATA_ROOTS else handle_of(obj)


def dumps(value, whole=False):
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    if whole:  # the value could not be pickled as data: it goes as one handle
        target = id(value[1])
        pickler.persistent_id = lambda obj: handle_of(obj) if id(obj) == target else persistent_id(obj)
    else:
        pickler.persistent_id = persistent_id
    pickler.dump(value)
    return buf.getvalue()


def loads(data):
    table = handles()["objects"]

    class Loader(pickle.Unpickler):
        def persistent_load(self, pid):
            return table[pid[1]]

    return Loader(io.BytesIO(data)).load()


def read(conn, n):
    chunks = []
    while n:
        chunk = conn.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def respond(request, user_ns):
    op = request[0]
    if op == "names":
        values, shadowed = {}, []
        for name in request[1]:
            if name in user_ns:
                if hasattr(builtins, name) and user_ns[name] is not getattr(builtins, name):
                    shadowed.append(name)
                elif not hasattr(builtins, name):
                    values[name] = user_ns[name]
        return (values, shadowed)
    obj = request[1]
    if op == "getattr":
        return getattr(obj, request[2])
    if op == "setattr":
        return setattr(obj, request[2], request[3])
    if op == "call":
        ECHO.update((id(arg), n) for n, arg in enumerate([*request[2], *request[3].values()]))
        return obj(*request[2], **request[3])
    if op == "getitem":
        return obj[request[2]]
    if op == "len":
        return len(obj)
    if op == "list":
        return list(obj)
    if op == "bool":
        return bool(obj)
    if op == "repr":
        return repr(obj)
    if op == "str":
        return str(obj)
    raise ValueError(f"unknown request {op!r}")


def serve(path, user_ns):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    try:
        while True:
            size = HEADER.unpack(read(conn, HEADER.size))[0]
            request = loads(read(conn, size))
            if request[0] == "done":
                return
            ECHO.clear()
            try:
                value = respond(request, user_ns)
                try:
                    data = dumps(("ok", value))
                except Exception:
                    data = dumps(("ok", value), whole=True)
            except Exception as exc:
                data = dumps(("err", type(exc).__name__, str(exc)[:5000]))
            conn.sendall(HEADER.pack(len(data)) + data)
    finally:
        conn.close()


if "SOCKET" in globals():  # set by the runner (tests load this file without them)
    serve(SOCKET, USER_NS)  # noqa: F821
