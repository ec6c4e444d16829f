"""The swarm spawner's pure parts: settings into its configuration, task errors into messages, names, volume
options, the workspace's environment through the gateway (tests/integration/test_swarm_workspaces.py runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub.settings import HubSettings
from hub.swarm.gateway import gateway_problem, relay_command, stop_relay_command
from hub.swarm.spawner import (
    HOME_NOT_READY,
    NO_NODE,
    NODE_FAILED,
    apply_swarm_spawner,
    classify_task_error,
    network_name,
    render_volume_options,
    through_gateway,
)


@pytest.mark.parametrize(
    ("err", "text", "hint"),
    [
        ("no suitable node (1 node not available for new tasks; scheduling constraints not satisfied on 2 nodes)",
         NO_NODE, "drained"),
        ("No such image: 172.17.0.1:5000/truongso/workspace@sha256:00", NODE_FAILED, "registry"),
        ('Get "https://172.17.0.1:5000/v2/": dial tcp 172.17.0.1:5000: connect: connection refused',
         NODE_FAILED, "registry"),
        ("x509: certificate signed by unknown authority", NODE_FAILED, "certificate"),
        ('failed to mount local volume: mount /srv/homes/hv1:/var/lib/docker/volumes/x/_data, flags: 0x1000: '
         "no such file or directory", HOME_NOT_READY, "share"),
        ("something else entirely", NODE_FAILED, "task's error"),
    ],
)  # fmt: skip
def test_task_errors_become_a_clear_message_and_a_hint(err: str, text, hint: str) -> None:
    got_text, got_hint = classify_task_error(err)
    assert got_text is text and hint in got_hint
    assert got_text.vi and got_text.en and got_text.vi != got_text.en  # Vietnamese first, English second


def test_home_volume_options_are_filled_per_learner() -> None:
    nfs = {"type": "nfs", "o": "addr=10.0.0.5,nfsvers=4,rw", "device": ":/srv/truongso/homes/{user}"}
    assert render_volume_options(nfs, "/x", "hv-40a")["device"] == ":/srv/truongso/homes/hv-40a"
    bind = HubSettings(data_dir="/d").home_volume_options
    assert render_volume_options(bind, "/srv/homes/", "hv1") == {
        "type": "none", "o": "bind", "device": "/srv/homes/hv1"
    }  # fmt: skip


def test_each_learner_has_their_own_network_name() -> None:
    names = {network_name("truongso", u) for u in ("hv1", "HV1", "hv-1", "hv_1", "hv.1", "hv@1")}
    assert len(names) == 6 and all(n.startswith("truongso-net-") for n in names)


def test_hub_urls_point_at_the_gateway() -> None:
    env = {
        "JUPYTERHUB_API_URL": "http://172.18.0.1:40001/hub/api",
        "TRUONGSO_EXCHANGE_URL": "http://172.18.0.1:40002/services/exchange/",
        "OTHER": "http://172.18.0.10:5/",  # another address that begins the same: untouched
        "N": 3,
    }
    out = through_gateway(env, "172.18.0.1", "truongso-gateway")
    assert out["JUPYTERHUB_API_URL"] == "http://truongso-gateway:40001/hub/api"
    assert out["TRUONGSO_EXCHANGE_URL"] == "http://truongso-gateway:40002/services/exchange/"
    assert out["OTHER"] == env["OTHER"] and out["N"] == 3


def test_settings_become_the_spawners_configuration(tmp_path: Path) -> None:
    settings = HubSettings(
        data_dir=str(tmp_path), spawner="swarm", mem_limit="1G", cpu_limit=0.5, pids_limit=100,
        workspace_idle_memory="200M", docker_prefix="lop", hub_ip="172.18.0.1", hub_port=40001,
    )  # fmt: skip
    c = Config()
    image = "172.17.0.1:5000/truongso/workspace@sha256:" + "a" * 64
    apply_swarm_spawner(settings, c, image)
    s = c.ClusterSpawner
    assert c.JupyterHub.spawner_class == "hub.swarm.spawner.ClusterSpawner"
    assert s.image == image and s.allowed_images == {"workspace": image}
    assert (s.mem_limit, s.mem_guarantee, s.cpu_limit, s.pids_limit) == ("1G", "200M", 0.5, 100)
    assert s.hub_connect_url == "http://lop-gateway:40001"
    assert s.homes_dir == str(tmp_path / "cluster-homes") and s.resource_prefix == "lop"
    assert c.JupyterHub.cleanup_servers is False  # workspaces outlive the hub


def test_gateway_problems_are_named() -> None:
    assert "gone" in gateway_problem(None, "net").en
    assert "not running" in gateway_problem({"State": {"Running": False}}, "net").en
    off = {"State": {"Running": True}, "NetworkSettings": {"Networks": {"other": {"IPAddress": "10.0.0.2"}}}}
    assert "not on network net" in gateway_problem(off, "net").en
    on = {"State": {"Running": True}, "NetworkSettings": {"Networks": {"net": {"IPAddress": "172.18.0.2"}}}}
    assert gateway_problem(on, "net") is None


def test_relays_are_bound_to_the_bridge_address_and_stopped_by_their_port() -> None:
    cmd = relay_command(20001, "172.18.0.2", "lop-ws-hv1", 8888)
    assert cmd == ["socat", "TCP-LISTEN:20001,bind=172.18.0.2,fork,reuseaddr", "TCP:lop-ws-hv1:8888"]
    assert stop_relay_command(20001)[-1] == "^socat TCP-LISTEN:20001,"  # not 200010
