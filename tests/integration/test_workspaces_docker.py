"""Learner workspaces in real containers from our image: persistence, isolation, limits, hub restarts."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator

import pytest
from support.hub import ADMIN_PASSWORD, Hub, HubSession, running_demo_hub

MEM_LIMIT_MB = 768
PIDS_LIMIT = 128

PLOT_CELL = """
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display
df = pd.DataFrame({"tinh": ["Hà Giang", "Điện Biên", "Cà Mau"], "ho_so": [120, 80, 95]})
fig, ax = plt.subplots()
ax.bar(df["tinh"], df["ho_so"])
ax.set_title("Hồ sơ trực tuyến theo tỉnh")
display(fig)
print(int(df["ho_so"].sum()))
"""


@pytest.fixture(scope="module")
def docker_hub(tmp_path_factory, docker_client, docker_prefix: str, workspace_image: str) -> Iterator[Hub]:
    toml = (
        f'docker_prefix = "{docker_prefix}"\n'
        f'workspace_image = "{workspace_image}"\n'
        f'mem_limit = "{MEM_LIMIT_MB}M"\n'
        f"pids_limit = {PIDS_LIMIT}\n"
    )
    with running_demo_hub(tmp_path_factory.mktemp("dockerhub") / "data", "docker", toml) as hub:
        yield hub


def login_and_start(hub: Hub, username: str) -> HubSession:
    session = HubSession(hub.url)
    assert session.login(username, hub.accounts[username]).status_code == 200
    session.start_server()
    assert session.open_server().status_code == 200
    return session


def container_of(docker_client, prefix: str, username: str):
    return docker_client.containers.get(f"{prefix}-ws-{username}")


def test_workspace_runs_our_image_safely(docker_hub: Hub, docker_client, docker_prefix: str) -> None:
    learner = login_and_start(docker_hub, "hocvien1")
    container = container_of(docker_client, docker_prefix, "hocvien1")
    host = container.attrs["HostConfig"]
    assert container.image.tags and any(t.startswith("truongso/workspace:") for t in container.image.tags)
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"][0]
    assert host["Memory"] == MEM_LIMIT_MB * 1024 * 1024 and host["PidsLimit"] == PIDS_LIMIT
    assert host["NanoCpus"] or host["CpuQuota"]
    assert host["ReadonlyRootfs"] is True and "/tmp" in host["Tmpfs"]
    # No IPv6 anywhere: the network has none and the container has it switched off, so nothing can go
    # around the (IPv4) host firewall.
    network = docker_client.networks.get(f"{docker_prefix}-workspaces")
    assert network.attrs["EnableIPv6"] is False
    assert host["Sysctls"]["net.ipv6.conf.all.disable_ipv6"] == "1"
    out = learner.run_code("import os; print(os.getuid(), os.getcwd(), repr(open('/proc/net/if_inet6').read()))")
    assert out["stdout"].split() == ["1000", "/home/hocvien", "''"]


def test_plot_comes_back_and_work_survives_a_new_container(docker_hub: Hub, docker_client, docker_prefix) -> None:
    learner = login_and_start(docker_hub, "hocvien1")
    out = learner.run_code(PLOT_CELL)
    assert out["error"] is None and out["stdout"].strip() == "295"
    png = base64.b64decode(next(d["image/png"] for d in out["display"] if "image/png" in d))
    assert png.startswith(b"\x89PNG") and len(png) > 5000

    notebook = {
        "type": "notebook",
        "content": {
            "cells": [
                {
                    "cell_type": "code",
                    "source": "x = 'bài làm của tôi'",
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                }
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
    }
    assert learner.server_api("PUT", "api/contents/bai-tap-1.ipynb", json=notebook).status_code in (200, 201)
    first_id = container_of(docker_client, docker_prefix, "hocvien1").id

    assert learner.api("DELETE", "/users/hocvien1/server").status_code in (202, 204)
    wait_for(lambda: not docker_client.containers.list(all=True, filters={"name": f"{docker_prefix}-ws-hocvien1"}))
    learner.start_server()
    learner.open_server()
    assert container_of(docker_client, docker_prefix, "hocvien1").id != first_id
    saved = learner.server_api("GET", "api/contents/bai-tap-1.ipynb").json()
    assert saved["content"]["cells"][0]["source"] == "x = 'bài làm của tôi'"


def test_learners_cannot_see_or_reach_each_other(docker_hub: Hub, docker_client, docker_prefix) -> None:
    one = login_and_start(docker_hub, "hocvien1")
    two = login_and_start(docker_hub, "hocvien2")
    assert two.run_code("open('bi-mat.txt', 'w').write('của hocvien2')")["error"] is None
    other = container_of(docker_client, docker_prefix, "hocvien2")
    other_ip = next(iter(other.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
    network = docker_client.networks.get(f"{docker_prefix}-workspaces")
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]

    # a host port that is not the hub's: the test listens on the gateway address itself
    with socket.socket() as listener:
        listener.bind((gateway, 0))
        listener.listen()
        host_port = listener.getsockname()[1]
        hub_port = int(docker_hub.settings()["hub_port"])
        exchange_port = int(docker_hub.settings()["service_ports"]["exchange"])
        probe = f"""
import glob, socket
def reach(host, port):
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, port)); return "open"
    except OSError as e:
        return type(e).__name__
    finally:
        s.close()
print(reach("{other_ip}", 8888), reach("{gateway}", {host_port}), reach("{gateway}", {hub_port}),
      reach("{gateway}", {exchange_port}))
print(sorted(glob.glob('/home/*')), glob.glob('/home/**/bi-mat.txt', recursive=True))
print(open('/proc/mounts').read().count('{docker_prefix}'))
"""
        out = one.run_code(probe)
    assert out["error"] is None, out
    lines = out["stdout"].splitlines()
    other_server, host_other_port, hub_api, exchange = lines[0].split()
    assert other_server != "open" and host_other_port != "open" and hub_api == "open" and exchange == "open"
    assert lines[1] == "['/home/hocvien'] []"
    # the hub will not route one learner to the other's server either
    assert one.http.get(one.server_url("hocvien2") + "api/contents", timeout=30).status_code == 403


def test_memory_bomb_kills_only_that_kernel(docker_hub: Hub) -> None:
    bomber = login_and_start(docker_hub, "hocvien1")
    neighbour = login_and_start(docker_hub, "hocvien2")
    neighbour_kernel = neighbour.start_kernel()
    neighbour.execute(neighbour_kernel, "so_lieu = 41")
    out = bomber.run_code("chunks = []\nwhile True:\n    chunks.append(b'x' * 50_000_000)", timeout=120)
    assert out["died"] or out["error"], out
    assert neighbour.execute(neighbour_kernel, "print(so_lieu + 1)")["stdout"].strip() == "42"
    assert HubSession(docker_hub.url).http.get(f"{docker_hub.url}/hub/api/", timeout=10).status_code == 200
    # the bomber's workspace itself is still there and takes a fresh kernel
    wait_for(lambda: bomber.server_api("GET", "api/status").status_code == 200)
    assert bomber.run_code("print('vẫn chạy')")["stdout"].strip() == "vẫn chạy"


def test_fork_bomb_hits_the_pids_limit(docker_hub: Hub) -> None:
    learner = login_and_start(docker_hub, "hocvien3")
    bomb = """
import os, signal, time
children, error = [], None
try:
    for _ in range(10_000):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except OSError as exc:
    error = type(exc).__name__
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
print(len(children), error)
"""
    out = learner.run_code(bomb, timeout=180)
    assert out["error"] is None, out
    forked, error = out["stdout"].split()
    assert int(forked) < PIDS_LIMIT and error in ("BlockingIOError", "OSError")
    assert learner.run_code("print(1 + 1)")["stdout"].strip() == "2"


@pytest.mark.parametrize(
    "options",
    [
        {"image": "truongso/base:bookworm"},
        {"volumes": {"/": "/host"}},
        {"environment": {"LD_PRELOAD": "x"}},
        {"user_options": {"image": "ubuntu"}},
    ],
)
def test_user_options_are_refused(docker_hub: Hub, options: dict) -> None:
    session = HubSession(docker_hub.url)
    assert session.login("hocvien3", docker_hub.accounts["hocvien3"]).status_code == 200
    session.api("DELETE", "/users/hocvien3/server")
    wait_for(lambda: not session.api("GET", "/users/hocvien3").json()["servers"])
    refused = session.api("POST", "/users/hocvien3/server", json=options)
    assert refused.status_code == 400, refused.text
    assert "options" in refused.json()["message"]
    assert not session.api("GET", "/users/hocvien3").json()["servers"]


def test_hub_restart_leaves_workspaces_running(docker_hub: Hub, docker_client, docker_prefix) -> None:
    learner = login_and_start(docker_hub, "hocvien2")
    kernel = learner.start_kernel()
    learner.execute(kernel, "dang_lam = 'chưa lưu'")
    container_id = container_of(docker_client, docker_prefix, "hocvien2").id

    docker_hub.restart("--demo", "--spawner", "docker", env={"TRUONGSO_ADMIN_PASSWORD": ADMIN_PASSWORD})
    assert container_of(docker_client, docker_prefix, "hocvien2").id == container_id
    # same browser session, same kernel: the learner goes on where they were
    wait_for(lambda: learner.server_api("GET", "api/status").status_code == 200)
    assert learner.execute(kernel, "print(dang_lam)")["stdout"].strip() == "chưa lưu"
    # new demo passwords after restart; the old cookie still works, the hub knows the server
    assert learner.api("GET", "/user").json()["servers"][""]["ready"] is True
    # the workspace still reaches the hub's API (same port): a fresh login goes through its OAuth
    again = HubSession(docker_hub.url)
    assert again.login("hocvien2", docker_hub.accounts["hocvien2"]).status_code == 200
    assert again.open_server().status_code == 200


def test_container_removed_behind_the_hubs_back(docker_hub: Hub, docker_client, docker_prefix) -> None:
    learner = login_and_start(docker_hub, "hocvien1")
    assert learner.run_code("open('con-lai.txt', 'w').write('còn')")["error"] is None
    container_of(docker_client, docker_prefix, "hocvien1").remove(force=True)

    def restarted() -> bool:
        response = learner.api("POST", "/users/hocvien1/server")
        return response.status_code in (201, 202)

    wait_for(restarted, timeout=90, interval=3)
    learner.start_server()
    learner.open_server()
    assert learner.run_code("print(open('con-lai.txt').read())")["stdout"].strip() == "còn"


def wait_for(condition, timeout: float = 60, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # the thing being waited for may still be coming up
            pass
        time.sleep(interval)
    raise TimeoutError("condition not met in time")


def test_running_container_the_hub_lost_track_of(
    docker_hub: Hub, docker_client, docker_prefix, workspace_image
) -> None:
    """A container with the learner's name that this hub did not start (a hub database reset, a crash before
    the state was saved) is replaced at the next start instead of a name clash and a 500."""
    name = f"{docker_prefix}-ws-hocvien3"
    for container in docker_client.containers.list(all=True, filters={"name": name}):
        container.remove(force=True)
    stranger = docker_client.containers.run(
        workspace_image, ["sleep", "600"], name=name, detach=True, labels={"org.truongso.prefix": docker_prefix}
    )
    learner = login_and_start(docker_hub, "hocvien3")
    assert learner.run_code("print(6 * 7)")["stdout"].strip() == "42"
    assert container_of(docker_client, docker_prefix, "hocvien3").id != stranger.id


PLANT = """
import pathlib
home = pathlib.Path.home()
(home / "da-nap").mkdir(exist_ok=True)
config = (
    "import pathlib, os\\n"
    "pathlib.Path.home().joinpath('da-nap', 'cau-hinh-' + str(os.getpid())).touch()\\n"
    "c.FileContentsManager.allow_hidden = True\\n"
)
for folder in (".jupyter", ".config/jupyter"):  # ~/.config/jupyter: the image sets JUPYTER_PLATFORM_DIRS=1
    (home / folder).mkdir(parents=True, exist_ok=True)
    (home / folder / "jupyter_server_config.py").write_text(config)
site = home / ".local/lib/python3.11/site-packages"
site.mkdir(parents=True, exist_ok=True)
touch = "import pathlib; pathlib.Path.home().joinpath('da-nap', {!r}).touch()"
(site / "usercustomize.py").write_text(touch.format("usercustomize"))
(site / "truongso-test.pth").write_text(touch.format("pth"))
"""


def test_a_learners_own_config_and_packages_do_not_change_the_server(
    docker_hub: Hub, docker_client, docker_prefix
) -> None:
    learner = login_and_start(docker_hub, "hocvien3")
    assert learner.run_code(PLANT)["error"] is None
    container = container_of(docker_client, docker_prefix, "hocvien3")
    # the plant works: a Jupyter server as it starts by default (no disable_user_config) runs that config
    control = container.exec_run(
        ["python", "-c", "from jupyter_server.serverapp import ServerApp as A; a = A(); a.load_config_file(); "
         "print(a.config.FileContentsManager.allow_hidden)"],
        user="1000", environment={"JUPYTERHUB_DISABLE_USER_CONFIG": ""},
    )  # fmt: skip
    assert control.output.decode().split()[-1] == "True", control.output
    assert learner.run_code("import os, shutil; shutil.rmtree('da-nap'); os.mkdir('da-nap')")["error"] is None

    assert learner.api("DELETE", "/users/hocvien3/server").status_code in (202, 204)
    wait_for(lambda: not docker_client.containers.list(all=True, filters={"name": f"{docker_prefix}-ws-hocvien3"}))
    learner.start_server()
    assert learner.open_server().status_code == 200
    env = container_of(docker_client, docker_prefix, "hocvien3").attrs["Config"]["Env"]
    assert "JUPYTERHUB_DISABLE_USER_CONFIG=1" in env and "PYTHONNOUSERSITE=1" in env
    listing = learner.server_api("GET", "api/contents").json()["content"]
    assert not [f["name"] for f in listing if f["name"].startswith(".")]  # allow_hidden stayed off
    out = learner.run_code("import os, sys; print(sorted(os.listdir('da-nap')), 'usercustomize' in sys.modules)")
    assert out["stdout"].split() == ["[]", "False"], out  # neither the server nor the kernel loaded them
    learner.run_code("import shutil; [shutil.rmtree(p, True) for p in ('.jupyter', '.config/jupyter', '.local')]")


@pytest.mark.parametrize("how", ["chain deleted", "chain flushed"])
def test_no_workspace_starts_without_the_firewall(docker_hub: Hub, docker_client, docker_prefix, how: str) -> None:
    """Fail closed: the firewall disappears behind the hub's back (a firewall reload, `iptables -F`); the next
    start is refused with a message and nothing runs; put back, starts work again."""
    import subprocess

    from hub.configure import workspace_ports
    from hub.keys import HubSecrets
    from hub.network import ensure_host_firewall, firewall_chain, remove_host_firewall, workspace_network
    from hub.settings import HubSettings

    session = HubSession(docker_hub.url)
    assert session.login("hocvien3", docker_hub.accounts["hocvien3"]).status_code == 200
    session.api("DELETE", "/users/hocvien3/server")
    wait_for(lambda: not docker_client.containers.list(all=True, filters={"name": f"{docker_prefix}-ws-hocvien3"}))
    wait_for(lambda: not session.api("GET", "/users/hocvien3").json()["servers"])
    network = workspace_network(docker_client.networks.get(f"{docker_prefix}-workspaces").attrs)
    if how == "chain deleted":
        remove_host_firewall(network, docker_prefix)
    else:
        subprocess.run(["iptables", "-w", "-F", firewall_chain(docker_prefix)], check=True)
    try:
        refused = session.api("POST", "/users/hocvien3/server")
        assert refused.status_code == 503, refused.text
        message = refused.json()["message"]
        assert "bảo vệ" in message and "protection" in message and message.index("bảo vệ") < message.index("protection")
        assert not docker_client.containers.list(all=True, filters={"name": f"{docker_prefix}-ws-hocvien3"})
        assert "restart `truongso up` to put the firewall back" in docker_hub.log()
    finally:
        settings = HubSettings.from_run_file(docker_hub.data_dir)
        ensure_host_firewall(network, docker_prefix, workspace_ports(settings, HubSecrets.ensure(docker_hub.data_dir)))
    wait_for(lambda: not session.api("GET", "/users/hocvien3").json()["pending"])
    session.start_server()
    assert session.open_server().status_code == 200
