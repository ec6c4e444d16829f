"""A learner's storage limit in real workspace containers: a clear error past the limit, the workspace still
usable, other learners unaffected, files kept across restarts, an old unbounded volume carried over and kept,
nothing written outside the home but a small /tmp in memory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub import Hub, HubSession, running_demo_hub
from test_workspaces_docker import container_of, login_and_start, wait_for

from hub.storage import format_size, home_disk, parse_size

LIMIT = "96M"
MEM_LIMIT = "768M"
FULL_VI, FULL_EN = "Ổ lưu trữ của bạn đã đầy", "Your storage is full"

FILL = """
import errno
written = 0
try:
    with open("lon.bin", "wb") as f:
        while written < 10 * 96 * 2**20:
            f.write(b"x" * 2**20)
            f.flush()
            written += 2**20
except OSError as exc:
    print("errno", exc.errno, written // 2**20)
    raise
"""


@pytest.fixture(scope="module")
def prefix(docker_prefix: str) -> str:
    return f"{docker_prefix}-disk"


@pytest.fixture(scope="module")
def disk_hub(tmp_path_factory, docker_client, prefix: str, workspace_image: str) -> Iterator[Hub]:
    toml = (
        f'docker_prefix = "{prefix}"\nworkspace_image = "{workspace_image}"\nmem_limit = "{MEM_LIMIT}"\n'
        f'workspace_disk_limit = "{LIMIT}"\nidle_timeout_seconds = 0\n'
    )
    # hocvien1 worked before limits existed: an unbounded volume with their files, made by the image's user
    docker_client.containers.run(
        workspace_image,
        ["sh", "-c", "mkdir 'bài cũ' && printf 'của tôi' > 'bài cũ/ghi-chú.txt' && printf x > .an"],
        volumes={f"{prefix}-home-hocvien1": {"bind": "/home/hocvien", "mode": "rw"}},
        remove=True,
    )
    with running_demo_hub(tmp_path_factory.mktemp("diskhub") / "data", "docker", toml) as hub:
        yield hub


def disk_of(hub: Hub, username: str):
    return home_disk(hub.data_dir / "homes", username)


def restart_server(learner: HubSession, docker_client, prefix: str) -> None:
    assert learner.api("DELETE", f"/users/{learner.username}/server").status_code in (202, 204)
    wait_for(lambda: not docker_client.containers.list(all=True, filters={"name": f"{prefix}-ws-{learner.username}"}))
    learner.start_server()
    assert learner.open_server().status_code == 200


def test_an_old_volume_is_carried_over_and_kept(disk_hub: Hub, docker_client, prefix: str) -> None:
    learner = login_and_start(disk_hub, "hocvien1")
    out = learner.run_code("import os; print(open('bài cũ/ghi-chú.txt').read(), os.path.exists('.an'))")
    assert out["stdout"].split() == ["của", "tôi", "True"], out
    container = container_of(docker_client, prefix, "hocvien1")
    home = next(m for m in container.attrs["Mounts"] if m["Destination"] == "/home/hocvien")
    assert home["Name"] == f"{prefix}-disk-hocvien1"
    old = docker_client.volumes.get(f"{prefix}-home-hocvien1")  # never deleted
    assert (Path(old.attrs["Mountpoint"]) / "bài cũ" / "ghi-chú.txt").read_text(encoding="utf-8") == "của tôi"
    assert disk_of(disk_hub, "hocvien1").image.stat().st_size == parse_size(LIMIT)


def test_the_home_is_the_learners_disk_and_nothing_else_is_writable(disk_hub: Hub, docker_client, prefix) -> None:
    learner = login_and_start(disk_hub, "hocvien2")
    container = container_of(docker_client, prefix, "hocvien2")
    host = container.attrs["HostConfig"]
    assert host["ReadonlyRootfs"] is True and "/tmp" in host["Tmpfs"]
    disk = disk_of(disk_hub, "hocvien2")
    major, minor = os.major(os.stat(disk.mountpoint).st_dev), os.minor(os.stat(disk.mountpoint).st_dev)
    assert major == 7  # a loop device
    mountinfo = Path(f"/proc/{container.attrs['State']['Pid']}/mountinfo").read_text()
    assert any(f.split()[4] == "/home/hocvien" and f.split()[2] == f"{major}:{minor}" for f in mountinfo.splitlines())
    probe = """
import os, errno
def attempt(path):
    try:
        open(path, "wb").write(b"x"); return "ok"
    except OSError as exc:
        return errno.errorcode[exc.errno]
st = os.statvfs("/tmp")
print(attempt("/var/tmp/x"), attempt("/opt/truongso/x"), attempt("/tmp/x"), attempt("bai.txt"))
print(st.f_blocks * st.f_frsize, os.environ["TRUONGSO_DISK_LIMIT"], os.environ["JUPYTER_RUNTIME_DIR"])
"""
    out = learner.run_code(probe)
    assert out["error"] is None, out
    writes, sizes = out["stdout"].splitlines()
    assert writes.split() == ["EROFS", "EROFS", "ok", "ok"]
    tmp_size, limit, runtime = sizes.split()
    assert int(tmp_size) == parse_size(MEM_LIMIT) // 4 and limit == format_size(parse_size(LIMIT))
    assert runtime.startswith("/tmp/")


def test_a_full_disk_is_a_clear_error_for_that_learner_only(disk_hub: Hub, docker_client, prefix: str) -> None:
    learner = login_and_start(disk_hub, "hocvien1")
    neighbour = login_and_start(disk_hub, "hocvien2")
    notebook = {
        "type": "notebook",
        "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
    }
    assert learner.server_api("PUT", "api/contents/truoc.ipynb", json=notebook).status_code in (200, 201)

    out = learner.run_code(FILL, timeout=180)
    assert out["error"] and "OSError" in out["error"], out
    assert "errno 28" in out["stdout"] and FULL_VI in out["stdout"] and FULL_EN in out["stdout"], out
    assert out["stdout"].index(FULL_VI) < out["stdout"].index(FULL_EN)
    written_mib = int(out["stdout"].split("errno 28")[1].split()[0])
    assert 48 < written_mib <= 96
    # saving in JupyterLab says the same (507, shown in its "File Save Error" dialog); the saved copy is intact
    bigger = {"cells": [{"cell_type": "markdown", "source": "x" * 2**20, "metadata": {}}]}
    refused = learner.server_api(
        "PUT", "api/contents/truoc.ipynb", json={**notebook, "content": {**notebook["content"], **bigger}}
    )
    assert refused.status_code == 507 and FULL_VI in refused.json()["message"], refused.text
    assert learner.server_api("GET", "api/contents/truoc.ipynb").json()["content"]["cells"] == []
    # the workspace still works: a new kernel starts (its files are in /tmp) and warns that the disk is full
    again = learner.run_code("print(6 * 7)")
    assert again["stdout"].splitlines()[-1] == "42" and "Ổ lưu trữ của bạn đã dùng" in again["stdout"], again
    # the neighbour writes as before; the host paid at most the limit for the full disk
    assert neighbour.run_code("open('cua-toi.bin', 'wb').write(b'y' * 20 * 2**20)")["error"] is None
    image = disk_of(disk_hub, "hocvien1").image
    assert image.stat().st_blocks * 512 <= parse_size(LIMIT)

    # freeing space is enough; everything saved is there after a restart, on the same disk
    assert learner.run_code("import os; os.remove('lon.bin')")["error"] is None
    assert learner.server_api("PUT", "api/contents/sau.ipynb", json=notebook).status_code in (200, 201)
    restart_server(learner, docker_client, prefix)
    names = {f["name"] for f in learner.server_api("GET", "api/contents").json()["content"]}
    assert {"truoc.ipynb", "sau.ipynb", "bài cũ"} <= names


def test_a_stopped_workspace_leaves_its_disk_unmounted(disk_hub: Hub, docker_client, prefix: str) -> None:
    learner = login_and_start(disk_hub, "hocvien3")
    disk = disk_of(disk_hub, "hocvien3")
    assert os.path.ismount(disk.mountpoint)
    assert learner.api("DELETE", "/users/hocvien3/server").status_code in (202, 204)
    wait_for(lambda: not os.path.ismount(disk.mountpoint), timeout=60)
    assert disk.image.is_file()  # the files stay in the image
