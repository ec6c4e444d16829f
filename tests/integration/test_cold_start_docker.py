"""A learner's cold start through the real hub and real containers: the spawn returns once the server answers,
and the first notebook opened gets the workspace's pooled kernel (images/workspace/truongso_kernels.py), which
runs in that notebook's folder with everything a new kernel has, under the workspace's real limits (read-only
root, /tmp in memory, no capabilities, the learner's own disk)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from support.hub import Hub, HubSession, running_demo_hub
from test_workspaces_docker import login_and_start

PROBE = """
import json, os, sys
print(json.dumps({"cwd": os.getcwd(), "pandas": "pandas" in sys.modules, "pd": "pd" in globals(),
                  "data": open("so-lieu.csv", encoding="utf-8").read(), "session": os.environ.get("JPY_SESSION_NAME"),
                  "uid": os.getuid(), "pid": os.getpid()}))
"""


@pytest.fixture(scope="module")
def docker_hub(tmp_path_factory, docker_client, docker_prefix: str, workspace_image: str) -> Iterator[Hub]:
    toml = f'docker_prefix = "{docker_prefix}-cold"\nworkspace_image = "{workspace_image}"\nidle_timeout_seconds = 0\n'
    with running_demo_hub(tmp_path_factory.mktemp("coldhub") / "data", "docker", toml) as hub:
        yield hub


def open_notebook(learner: HubSession, path: str) -> str:
    """Create the notebook and open it as JupyterLab does (a session): the kernel's id."""
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert learner.server_api("PUT", f"api/contents/{path}", json={"type": "notebook", "content": notebook}).ok
    name = path.rsplit("/", 1)[-1]
    body = {"path": path, "name": name, "type": "notebook", "kernel": {"name": "python3"}}
    created = learner.server_api("POST", "api/sessions", json=body)
    assert created.status_code == 201, created.text
    return created.json()["kernel"]["id"]


def probe(learner: HubSession, kernel_id: str) -> dict:
    out = learner.execute(kernel_id, PROBE)
    assert out["error"] is None, out
    return json.loads(out["stdout"].strip().splitlines()[-1])


def test_first_notebook_gets_a_ready_kernel_in_its_folder(docker_hub: Hub) -> None:
    learner = login_and_start(docker_hub, "hocvien1")
    # the hub said ready: the server answers at once (the spawner waited for it, the hub checked it)
    assert learner.server_api("GET", "api/status").status_code == 200
    folder = "khoá học/bài 1"
    assert learner.server_api("PUT", "api/contents/khoá học", json={"type": "directory"}).ok
    assert learner.server_api("PUT", f"api/contents/{folder}", json={"type": "directory"}).ok
    data = {"type": "file", "format": "text", "content": "tỉnh,số\nHuế,3\n"}
    assert learner.server_api("PUT", f"api/contents/{folder}/so-lieu.csv", json=data).ok
    # opened at once, as a learner does: the pooled kernel may still be starting, and is waited for
    first = probe(learner, open_notebook(learner, f"{folder}/phan-tich.ipynb"))
    assert first["pandas"] is True and first["pd"] is False  # started ahead with pandas, nothing in the namespace
    assert first["cwd"] == f"/home/hocvien/{folder}" and first["data"] == "tỉnh,số\nHuế,3\n"
    assert first["session"] == f"/home/hocvien/{folder}/phan-tich.ipynb" and first["uid"] == 1000

    second_id = open_notebook(learner, f"{folder}/lan-hai.ipynb")
    second = probe(learner, second_id)
    assert second["pid"] != first["pid"] and second["cwd"] == first["cwd"]
    result = learner.execute(second_id, "import pandas as pd\nprint(int(pd.read_csv('so-lieu.csv')['số'].sum()))")
    assert result["stdout"].strip() == "3", result
    # the kernels the learner opened are listed; the one started ahead for the next notebook is not
    listed = {k["id"] for k in learner.server_api("GET", "api/kernels").json()}
    sessions = {s["kernel"]["id"] for s in learner.server_api("GET", "api/sessions").json()}
    assert listed == sessions and len(listed) == 2


def test_a_server_that_dies_at_start_fails_the_spawn(tmp_path, docker_client, docker_prefix, workspace_image) -> None:
    """The spawner's wait for the server ends when the container has stopped: the spawn fails (the hub's own
    check decides, as before), the learner is not left pending, and nothing keeps running."""
    prefix = f"{docker_prefix}-dies"
    data_dir = tmp_path / "data"
    (data_dir / "jupyterhub_config.d").mkdir(parents=True)
    # a workspace whose server exits at once; the hub's own check gives up after 10 s
    (data_dir / "jupyterhub_config.d" / "dies.py").write_text(
        'c.WorkspaceSpawner.cmd = ["python", "-c", "raise SystemExit(3)"]\nc.Spawner.http_timeout = 10\n'
    )
    toml = f'docker_prefix = "{prefix}"\nworkspace_image = "{workspace_image}"\nidle_timeout_seconds = 0\n'
    with running_demo_hub(data_dir, "docker", toml) as hub:
        learner = HubSession(hub.url)
        assert learner.login("hocvien2", hub.accounts["hocvien2"]).status_code == 200
        with pytest.raises(RuntimeError, match="spawn failed"):
            learner.start_server(timeout=150)
        user = learner.api("GET", "/users/hocvien2").json()
        assert not user["pending"] and not user["servers"], user
        assert not docker_client.containers.list(filters={"name": f"{prefix}-ws-hocvien2"})  # none running
