"""The workspace image's pooled kernel (images/workspace/truongso_kernels.py), against the real built image.

A real Jupyter server runs in the image on loopback (no network) with the image's own configuration; a
script in the container opens notebooks through the REST API and runs code over the kernels' websockets, as
JupyterLab does, and prints what it saw as JSON for the asserts here.
"""

from __future__ import annotations

import json

import pytest

# Common to the scripts below: a server on 127.0.0.1:8888 and a way to run code in a kernel by websocket.
SERVER = r"""
import json, os, subprocess, sys, time, urllib.error, urllib.request, uuid
import websocket
TOKEN = "truongso-test"
HOME = os.path.expanduser("~")
def start(*args):
    log = open("/tmp/server.log", "w")
    server = subprocess.Popen(["jupyter", "server", "--no-browser", "--ip=127.0.0.1", "--port=8888",
                               "--IdentityProvider.token=" + TOKEN, *args], stdout=log, stderr=log)
    for _ in range(480):
        try:
            if call("GET", "/api/status")[0] == 200:
                return server
        except OSError:
            time.sleep(0.25)
    raise SystemExit(open("/tmp/server.log").read())
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request("http://127.0.0.1:8888" + path, data=data, method=method,
                                 headers={"Authorization": "token " + TOKEN, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            text = r.read().decode()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
def open_notebook(path):
    folder = os.path.join(HOME, os.path.dirname(path))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(HOME, path), "w") as f:
        json.dump({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, f)
    status, model = call("POST", "/api/sessions", {"path": path, "name": os.path.basename(path),
                                                   "type": "notebook", "kernel": {"name": "python3"}})
    assert status == 201, (status, model)
    return model["kernel"]["id"]
def run(kernel_id, code):
    ws = websocket.create_connection(f"ws://127.0.0.1:8888/api/kernels/{kernel_id}/channels",
                                     header=["Authorization: token " + TOKEN], timeout=120)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({"header": {"msg_id": msg_id, "username": "", "session": uuid.uuid4().hex,
                                   "msg_type": "execute_request", "version": "5.3"},
                        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                        "content": {"code": code, "silent": False, "store_history": True}}))
    out, error, reply, idle = "", None, False, False
    while not (reply and idle):
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "stream":
            out += msg["content"]["text"]
        elif kind == "error":
            error = msg["content"]["ename"] + ": " + msg["content"]["evalue"]
        elif kind == "execute_reply":
            reply = True
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
    ws.close()
    if error:
        raise SystemExit(f"kernel error: {error}")
    return json.loads(out.strip().splitlines()[-1])
# what a kernel can tell about where and how it runs
PROBE = '''
import json, os, sys
print(json.dumps({
    "cwd": os.getcwd(),
    "data": open("data.csv").read() if os.path.exists("data.csv") else None,
    "pandas_loaded": "pandas" in sys.modules,
    "names": sorted(k for k in globals() if not k.startswith("_") and k not in ("In", "Out", "exit", "quit",
                    "get_ipython", "json", "os", "sys")),
    "session": globals().get("__session__"),
    "dh": [[type(p).__name__, str(p)] for p in _dh],
    "sys_path": sys.path,
    "env": dict(os.environ),
    "pid": os.getpid(),
    "count": get_ipython().execution_count,
}))
'''
def pooled_ready(timeout=120):
    # a pooled kernel is waiting when the server has logged more of them ready than handed over
    deadline = time.time() + timeout
    while time.time() < deadline:
        log = open("/tmp/server.log").read()
        if log.count(") ready") > log.count("handed over"):
            return True
        time.sleep(0.2)
    return False
"""

MAIN = (
    SERVER
    + r"""
os.makedirs(os.path.join(HOME, "khoa/bai 1"), exist_ok=True)
with open(os.path.join(HOME, "khoa/bai 1/data.csv"), "w") as f:
    f.write("tinh,dan_so\nHue,1\n")
server = start()
out = {}
assert pooled_ready(), open("/tmp/server.log").read()
out["listed_before"] = call("GET", "/api/kernels")[1]
a = open_notebook("khoa/bai 1/phan-tich.ipynb")   # the pooled kernel
b = open_notebook("khoa/bai 1/so-sanh.ipynb")     # a new kernel, same folder (the pool refills later)
c = open_notebook("khoa/bai2/khac.ipynb")          # a new kernel, another folder
out["ids"] = [a, b, c]
out["a"], out["b"], out["c"] = run(a, PROBE), run(b, PROBE), run(c, PROBE)
out["a_sum"] = run(a, "import pandas as pd\nprint(int(pd.read_csv('data.csv')['dan_so'].sum()))")
status, _ = call("POST", f"/api/kernels/{a}/restart")
out["restart_status"] = status
out["a_restarted"] = run(a, PROBE)
out["listed_after"] = sorted(k["id"] for k in call("GET", "/api/kernels")[1])
assert pooled_ready(), open("/tmp/server.log").read()   # refilled after the hand-over
d = open_notebook("khoa/bai2/lan-sau.ipynb")
out["d"] = run(d, PROBE)
out["d_id"] = d
server.terminate()
server.wait(60)
def kernels_running():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"ipykernel_launcher" in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0"):
                found.append(pid)
        except OSError:
            pass
    return found
out["kernels_left"] = kernels_running()
print(json.dumps(out))
"""
)

CULL = (
    SERVER
    + r"""
server = start("--PooledKernelManager.cull_idle_timeout=3", "--PooledKernelManager.cull_interval=1",
               "--PooledKernelManager.refill_delay=0")
out = {}
assert pooled_ready(), open("/tmp/server.log").read()
a = open_notebook("cull/mot.ipynb")
run(a, "print(1)")
time.sleep(1)   # the refill starts: a new pooled kernel, idle by design
assert pooled_ready(), open("/tmp/server.log").read()
time.sleep(8)   # past the idle timeout, several cull rounds
out["listed"] = [k["id"] for k in call("GET", "/api/kernels")[1]]
out["a"] = a
log = open("/tmp/server.log").read()
out["culled"] = log.count("Culling 'idle' kernel")
b = open_notebook("cull/hai.ipynb")    # the pooled kernel survived the culling and is handed over
out["b"] = run(b, PROBE)
server.terminate()
server.wait(60)
print(json.dumps(out))
"""
)


@pytest.fixture(scope="module")
def workspace(built) -> str:
    return built.report.images["workspace"]


def _run_script(run_image, workspace: str, script: str) -> dict:
    # as the hub runs it: the kernels' connection files in /tmp (hub/spawner.py: JUPYTER_RUNTIME_DIR)
    run = run_image(
        workspace, ["python", "-c", script], timeout=300, environment={"JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime"}
    )
    assert run.status == 0, run
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def pool(workspace, run_image) -> dict:
    return _run_script(run_image, workspace, MAIN)


def test_first_notebook_gets_the_pooled_kernel_with_pandas_loaded(pool) -> None:
    assert pool["listed_before"] == [], pool["listed_before"]  # a pooled kernel is nobody's yet
    assert pool["a"]["pandas_loaded"] is True
    assert pool["b"]["pandas_loaded"] is False and pool["c"]["pandas_loaded"] is False  # started the usual way
    # imported, but no name bound: the learner's namespace is a new kernel's
    assert pool["a"]["names"] == pool["b"]["names"] and not {"pandas", "pd"} & set(pool["a"]["names"])
    assert pool["a"]["count"] == pool["b"]["count"]  # the hand-over left no history


def test_pooled_kernel_runs_in_the_notebooks_folder(pool) -> None:
    home = "/home/hocvien"
    assert pool["a"]["cwd"] == pool["b"]["cwd"] == f"{home}/khoa/bai 1"
    assert pool["a"]["data"] == "tinh,dan_so\nHue,1\n"  # relative data files open
    assert pool["a_sum"] == 1
    assert pool["c"]["cwd"] == f"{home}/khoa/bai2" and pool["c"]["data"] is None
    assert pool["a"]["dh"] == pool["b"]["dh"]  # IPython's %cd history starts there, as in a new kernel
    assert pool["a"]["dh"][0][1] == f"{home}/khoa/bai 1"


def test_pooled_kernel_has_a_new_kernels_environment(pool) -> None:
    a, b = pool["a"], pool["b"]  # same folder: everything equal but the notebook's own name
    assert a["session"] == a["env"]["JPY_SESSION_NAME"] == "/home/hocvien/khoa/bai 1/phan-tich.ipynb"
    assert b["session"] == b["env"]["JPY_SESSION_NAME"] == "/home/hocvien/khoa/bai 1/so-sanh.ipynb"
    assert a["sys_path"] == b["sys_path"]
    drop = {"JPY_SESSION_NAME"}
    assert {k: v for k, v in a["env"].items() if k not in drop} == {k: v for k, v in b["env"].items() if k not in drop}


def test_two_notebooks_get_two_kernels(pool) -> None:
    a, b, c = pool["ids"]
    assert len({a, b, c}) == 3
    assert len({pool["a"]["pid"], pool["b"]["pid"], pool["c"]["pid"]}) == 3
    assert pool["d_id"] not in pool["ids"] and pool["d"]["pandas_loaded"] is True  # the pool was refilled
    assert pool["d"]["cwd"] == "/home/hocvien/khoa/bai2"


def test_restart_keeps_the_folder_and_environment(pool) -> None:
    assert pool["restart_status"] == 200
    restarted = pool["a_restarted"]
    assert restarted["pid"] != pool["a"]["pid"]
    assert restarted["cwd"] == "/home/hocvien/khoa/bai 1"
    assert restarted["session"] == restarted["env"]["JPY_SESSION_NAME"] == "/home/hocvien/khoa/bai 1/phan-tich.ipynb"
    assert restarted["pandas_loaded"] is False  # a restart is a plain new kernel
    assert restarted["sys_path"] == pool["a"]["sys_path"]


def test_only_opened_kernels_are_listed_and_none_outlive_the_server(pool) -> None:
    assert pool["listed_after"] == sorted(pool["ids"])  # the refilled pooled kernel is not listed
    assert pool["kernels_left"] == []


def test_handed_over_kernels_are_culled_pooled_one_is_not(workspace, run_image) -> None:
    out = _run_script(run_image, workspace, CULL)
    assert out["a"] not in out["listed"] and out["culled"] >= 1, out  # idle past the timeout: culled
    assert out["b"]["pandas_loaded"] is True and out["b"]["cwd"] == "/home/hocvien/cull", out
