"""Fail-closed pieces without an engine: firewall rules, network checks, disk sizes, spawner settings, and the
workspace image's "storage full" messages (imported from images/workspace, as the image does)."""

from __future__ import annotations

import errno
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from support.aio import run_coroutine
from traitlets.config import Config

from hub import network
from hub.configure import apply_spawner
from hub.network import WorkspaceNetwork, firewall_chain, firewall_restore_input, firewall_rules, network_problem
from hub.settings import HubSettings, SettingsError
from hub.storage import format_size, home_disk, parse_size

REPO = Path(__file__).resolve().parents[2]
NET = WorkspaceNetwork("truongso-workspaces", "172.30.0.0/16", "172.30.0.1")


def good_network(**changes: object) -> dict:
    attrs = {
        "Name": "truongso-workspaces",
        "Internal": True,
        "EnableIPv6": False,
        "Options": {"com.docker.network.bridge.enable_icc": "false"},
        "IPAM": {"Config": [{"Subnet": NET.subnet, "Gateway": NET.gateway}]},
    }
    attrs.update(changes)
    return attrs


class _EngineWithoutAddresses:
    """An engine whose address pools are used up, as Docker says it (docker 20.10 / API 1.41)."""

    class networks:  # the SDK's attribute name
        @staticmethod
        def get(name: str) -> None:
            from docker.errors import NotFound

            raise NotFound("network not found")

        @staticmethod
        def create(name: str, **kwargs: object) -> None:
            from docker.errors import APIError

            raise APIError(
                "404 Client Error: Not Found",
                explanation="could not find an available, non-overlapping IPv4 address pool among the defaults to "
                "assign to the network",
            )


def test_no_address_pool_left_is_a_clear_error_with_the_way_out() -> None:
    with pytest.raises(network.UserError) as raised:
        network.ensure_workspace_network(_EngineWithoutAddresses(), "truongso-workspaces", "truongso")
    assert "docker network prune" in raised.value.en and "docker network prune" in raised.value.vi
    assert "hết dải địa chỉ" in raised.value.vi and "truongso-workspaces" in raised.value.en


def test_chain_is_replaced_in_one_transaction_and_ends_refusing() -> None:
    chain = firewall_chain("truongso")
    text = firewall_restore_input(chain, firewall_rules(NET, chain, [8081, 8090]))
    lines = text.splitlines()
    # declaring the chain in iptables-restore --noflush empties it inside the same transaction as the new rules
    assert lines[:2] == ["*filter", f":{chain} - [0:0]"] and lines[-1] == "COMMIT"
    assert f"-A {chain} -p tcp -d 172.30.0.1 --dport 8081 -j RETURN" in lines
    assert lines[-3:-1] == [f"-A {chain} -p tcp -j REJECT --reject-with tcp-reset", f"-A {chain} -j REJECT"]
    assert len(chain) <= 28 and firewall_chain("truongso") != firewall_chain("truongso-test")


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({}, None),
        ({"EnableIPv6": True}, "IPv6"),
        ({"Internal": False}, "go out"),
        ({"Options": {}}, "talk to each other"),
    ],
)
def test_network_problems(changes: dict, fragment: str | None) -> None:
    problem = network_problem(good_network(**changes))
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None and fragment in problem.en and problem.vi


def test_firewall_check_without_iptables_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network.shutil, "which", lambda name: None)
    problem = network.check_host_firewall(NET, "truongso")
    assert problem is not None and "iptables" in problem.en and "iptables" in problem.vi
    with pytest.raises(network.UserError) as refused:
        network.ensure_host_firewall(NET, "truongso", [8081])
    text = str(refused.value.text)
    assert (
        "apt-get install iptables" in text and "--spawner local" in text and text.index("cài") < text.index("install")
    )


def test_firewall_check_sees_a_missing_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in iptables: -C (is the jump there?) fails, as after `iptables -F INPUT`."""
    monkeypatch.setattr(network.shutil, "which", lambda name: "/bin/false")
    problem = network.check_host_firewall(NET, "truongso")
    assert problem is not None and "gone" in problem.en and "không còn" in problem.vi


def test_firewall_check_sees_a_chain_without_its_final_rejects(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = firewall_chain("truongso")

    def fake_run(iptables: str, *args: str) -> subprocess.CompletedProcess:
        listing = f"-N {chain}\n-A {chain} -j RETURN\n" if args[0] == "-S" else ""
        return subprocess.CompletedProcess(args, 0, listing, "")

    monkeypatch.setattr(network.shutil, "which", lambda name: "/usr/sbin/iptables")
    monkeypatch.setattr(network, "_run", fake_run)
    problem = network.check_host_firewall(NET, "truongso")
    assert problem is not None and "no longer blocks" in problem.en


@pytest.mark.parametrize(
    ("text", "size"), [("2G", 2 << 30), ("500M", 500 << 20), ("1.5GiB", 3 << 29), ("0", 0), ("64m", 64 << 20)]
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_disk_limit_setting() -> None:
    assert HubSettings.create({}, "t").workspace_disk_bytes == 2 << 30
    assert HubSettings.create({"data_dir": "/srv/ts"}, "t").workspace_disk_dir == "/srv/ts/homes"
    for bad in ("lots", "1M", "-1G"):
        with pytest.raises(SettingsError, match="workspace_disk_limit"):
            HubSettings.create({"workspace_disk_limit": bad}, "truongso.toml")
    assert format_size(2 << 30) == "2G" and format_size(96 << 20) == "96M"


def test_disk_names_stay_inside_the_disk_dir() -> None:
    disk = home_disk(Path("/srv/homes"), "nguyen-2evan-2ea")
    assert disk.image == Path("/srv/homes/nguyen-2evan-2ea.img") and disk.home == Path(
        "/srv/homes/mnt/nguyen-2evan-2ea/home"
    )
    for bad in ("../x", "a/b", "", "A"):
        with pytest.raises(ValueError):
            home_disk(Path("/srv/homes"), bad)


def test_docker_workspaces_are_locked_down(tmp_path: Path) -> None:
    settings = HubSettings.create({"data_dir": str(tmp_path), "mem_limit": "1G", "workspace_disk_limit": "3G"}, "t")
    c = Config()
    apply_spawner(settings, c)
    assert c.Spawner.disable_user_config is True
    host = c.WorkspaceSpawner.extra_host_config
    assert host["read_only"] is True and host["tmpfs"]["/tmp"].endswith(f"size={256 << 20}")
    assert host["sysctls"]["net.ipv6.conf.all.disable_ipv6"] == "1"
    assert c.WorkspaceSpawner.disk_limit == 3 << 30 and c.WorkspaceSpawner.disk_dir == str(tmp_path / "homes")


@pytest.fixture
def workspace_modules(monkeypatch: pytest.MonkeyPatch) -> tuple:
    monkeypatch.syspath_prepend(str(REPO / "images" / "workspace"))
    monkeypatch.setenv("TRUONGSO_DISK_LIMIT", "2G")
    for name in ("truongso_workspace", "truongso_contents"):
        sys.modules.pop(name, None)
    return importlib.import_module("truongso_workspace"), importlib.import_module("truongso_contents")


def test_full_disk_message_is_vietnamese_first(workspace_modules: tuple) -> None:
    ws, _ = workspace_modules
    message = ws.full_message()
    assert message.index("Ổ lưu trữ") < message.index("Your storage") and "2G" in message
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("while saving") from exc
    except RuntimeError as wrapped:
        assert ws.is_disk_full(wrapped)
    assert not ws.is_disk_full(OSError(errno.EACCES, "denied"))


def test_save_on_a_full_disk_answers_507(workspace_modules: tuple, tmp_path: Path, monkeypatch) -> None:
    _, contents = workspace_modules
    from tornado import web

    manager = contents.ContentsManager(root_dir=str(tmp_path))
    model = {"type": "file", "format": "text", "content": "x"}

    def failing(error: OSError):
        async def save_file(*args: object, **kwargs: object) -> None:
            raise error

        return save_file

    assert run_coroutine(manager.save(model, "ok.txt"))["name"] == "ok.txt"
    monkeypatch.setattr(manager, "_save_file", failing(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(web.HTTPError) as refused:
        run_coroutine(manager.save(model, "full.txt"))
    assert refused.value.status_code == 507 and "Ổ lưu trữ của bạn đã đầy" in refused.value.log_message
    monkeypatch.setattr(manager, "_save_file", failing(PermissionError(errno.EACCES, "denied")))
    with pytest.raises(web.HTTPError) as other:
        run_coroutine(manager.save(model, "denied.txt"))
    assert other.value.status_code == 500  # other errors are not dressed up as a full disk


def test_a_machine_that_cannot_mount_learner_disks_is_told_why(tmp_path: Path, monkeypatch) -> None:
    """The probe's own clean-up once hid the reason (FileNotFoundError on a mount point never made): found when
    `make run` ran in a container without loop devices (tests/integration/test_offline_install.py)."""
    from graders.text import Text
    from hub import storage

    def mount_fails(disk: storage.HomeDisk, size: int, legacy: object) -> None:
        disk.mountpoint.with_name(disk.mountpoint.name + ".new").mkdir(parents=True)  # as _create does first
        raise storage.StorageError(Text("không gắn được: không có thiết bị loop", "cannot mount: no loop device"))

    monkeypatch.setattr(storage, "_tool", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(storage, "_create", mount_fails)
    monkeypatch.setattr(storage, "mounted_image", lambda path: None)
    with pytest.raises(network.UserError) as refused:
        storage.check_disk_support(tmp_path)
    assert "no loop device" in refused.value.en and "không có thiết bị loop" in refused.value.vi
    assert 'workspace_disk_limit = "0"' in refused.value.en
    assert list((tmp_path / "mnt").iterdir()) == []  # nothing of the probe left behind
