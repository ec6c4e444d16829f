"""The pure parts of the cluster verbs: argument errors, node lookup and the drain guard, the status table, the
registry's certificates and the pinned-image record. The real cluster is in tests/integration/test_cluster_docker.py.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509

from graders.text import UserError
from hub.cli import main
from hub.cluster.registry import PINNED_FILE, ensure_tls, pinned_image, trust_commands
from hub.cluster.swarm import NodeInfo, check_drain, find_node, render_status
from hub.settings import HubSettings

GiB = 2**30


def node(hostname: str, availability: str = "active", state: str = "ready", **kw: object) -> NodeInfo:
    values = dict(id=f"{hostname}-id0000000000", hostname=hostname, role="worker", availability=availability,
                  state=state, address="10.0.0.2", memory_bytes=8 * GiB, nano_cpus=4 * 10**9)  # fmt: skip
    return NodeInfo(**{**values, **kw})


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["cluster"], "required"),
        (["cluster", "fly"], "invalid choice"),
        (["cluster", "drain"], "NODE"),
        (["cluster", "activate"], "NODE"),
        (["cluster", "drain", "a", "b"], "unrecognized arguments"),
        (["images", "push", "--only", "base"], "invalid choice"),
        (["images", "push", "--registry"], "expected one argument"),
    ],
)
def test_bad_arguments_end_with_one_usage_line(argv: list[str], fragment: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("truongso") and "lỗi cú pháp / usage error" in err
    assert fragment in err


def test_every_cluster_action_is_listed(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["cluster", "--help"])
    text = capsys.readouterr().out
    for action in ("init", "join-command", "nodes", "drain", "activate", "status"):
        assert action in text


def test_a_node_is_found_by_hostname_id_or_id_prefix() -> None:
    known = [node("may-1"), node("may-2", id="xyz987")]
    assert find_node("may-1", known).hostname == "may-1"
    assert find_node("xyz987", known).hostname == "may-2"
    assert find_node("xyz", known).hostname == "may-2"
    with pytest.raises(UserError) as unknown:
        find_node("may-9", known)
    assert "may-9" in unknown.value.vi and "no node 'may-9'" in unknown.value.en and "may-1, may-2" in unknown.value.en
    with pytest.raises(UserError) as ambiguous:  # a node rejoined under the same name: its old entry is Down
        find_node("may-1", [*known, node("may-1", id="old123", state="down")])
    assert "use the ID" in ambiguous.value.en


def test_draining_the_last_node_that_takes_workspaces_is_refused() -> None:
    manager = node("quanly", role="manager")  # active, but workspaces go to workers only by default
    one, two = node("may-1"), node("may-2")
    check_drain(one, [manager, one, two])  # may-2 still takes them
    with pytest.raises(UserError) as refused:
        check_drain(one, [manager, one, node("may-2", availability="drain")])
    assert "last node accepting workspaces" in refused.value.en and "cuối cùng" in refused.value.vi
    check_drain(one, [manager, one, node("may-2", availability="drain")], managers_take_workspaces=True)
    with pytest.raises(UserError):  # an active node that is down takes nothing
        check_drain(one, [manager, one, node("may-2", state="down")])
    check_drain(node("may-1", availability="drain"), [manager, node("may-1", availability="drain")])  # no-op
    check_drain(manager, [manager, node("may-1", availability="drain")])  # the manager held no workspaces
    with pytest.raises(UserError):  # a one-server swarm (workspaces_on_manager = true)
        check_drain(manager, [manager], managers_take_workspaces=True)


def test_node_info_reads_docker_node_inspect() -> None:
    data = {
        "ID": "abc",
        "Spec": {"Role": "manager", "Availability": "drain"},
        "Description": {"Hostname": "vm", "Resources": {"NanoCPUs": 2_000_000_000, "MemoryBytes": 24 * GiB}},
        "Status": {"State": "ready", "Addr": "172.17.0.1"},
        "ManagerStatus": {"Leader": True, "Reachability": "reachable"},
    }
    info = NodeInfo.from_inspect(data, workspaces=3)
    assert (info.hostname, info.role, info.availability, info.state, info.leader) == (
        "vm",
        "manager",
        "drain",
        "ready",
        True,
    )
    assert (info.memory_bytes, info.nano_cpus, info.workspaces, info.address) == (24 * GiB, 2 * 10**9, 3, "172.17.0.1")


def test_the_status_table() -> None:
    known = [
        node("may-2", workspaces=7),
        node("quanly", availability="drain", role="manager", leader=True, memory_bytes=24 * GiB, nano_cpus=2 * 10**9),
        node("may-1", state="down", workspaces=0),
    ]
    text = render_status(known, "10.0.0.1:5000", True)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["máy", "chủ", "/"]  # Vietnamese first in the header
    rows = [line.split() for line in lines[1:4]]
    assert [r[0] for r in rows] == ["quanly", "may-1", "may-2"]  # manager first, then by name
    assert rows[0][1:5] == ["manager", "*", "ready", "drain"] and rows[0][5:] == ["24.0Gi", "2.0", "0"]
    assert rows[2][1:] == ["worker", "ready", "active", "8.0Gi", "4.0", "7"]
    assert rows[1][2] == "down"
    assert "nodes accepting workspaces: 1/3" in text
    assert lines[-1] == "Registry 10.0.0.1:5000: đang chạy / up"
    assert (
        render_status(known, "10.0.0.1:5000", False).splitlines()[-1] == "Registry 10.0.0.1:5000: KHÔNG trả lời / DOWN"
    )


def test_registry_certificates(tmp_path: Path) -> None:
    folder = tmp_path / "cluster"
    tls = ensure_tls(folder, "10.0.0.1", "127.0.0.1")  # the nodes' address and the push twin's loopback
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for key in (tls.ca_key, tls.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    ca = x509.load_pem_x509_certificate(tls.ca_cert.read_bytes())
    cert = x509.load_pem_x509_certificate(tls.cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.1"),
        ipaddress.ip_address("127.0.0.1"),
    ]
    assert cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > datetime.timedelta(days=365)
    assert not (tls.server_dir / "ca.key").exists()  # the registry container gets only its own pair

    same = tls.cert.read_bytes(), tls.ca_cert.read_bytes()
    ensure_tls(folder, "10.0.0.1", "127.0.0.1")
    assert (tls.cert.read_bytes(), tls.ca_cert.read_bytes()) == same  # kept
    ensure_tls(folder, "registry.truong.local", "127.0.0.1")  # another address: new server certificate, same CA
    assert tls.ca_cert.read_bytes() == same[1] and tls.cert.read_bytes() != same[0]
    cert = x509.load_pem_x509_certificate(tls.cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["registry.truong.local"]


def test_node_trust_commands() -> None:
    assert trust_commands("10.0.0.1:5000") == [
        "mkdir -p /etc/docker/certs.d/10.0.0.1:5000",
        "install -m 0644 ca.crt /etc/docker/certs.d/10.0.0.1:5000/ca.crt",
    ]


def test_pinned_images(tmp_path: Path) -> None:
    settings = HubSettings.create({"data_dir": str(tmp_path), "registry": "10.0.0.1:5000"}, "test")
    with pytest.raises(UserError) as missing:
        pinned_image(settings, "workspace")
    assert "push first" in missing.value.en and "truongso images push" in missing.value.vi
    ref = "10.0.0.1:5000/truongso/workspace@sha256:" + "a" * 64
    (tmp_path / PINNED_FILE).parent.mkdir()
    (tmp_path / PINNED_FILE).write_text(
        json.dumps({"workspace": ref, "grader": "10.0.0.1:5000/truongso/grader:latest"})
    )
    assert pinned_image(settings, "workspace") == ref
    with pytest.raises(UserError):  # a tag is not a pin
        pinned_image(settings, "grader")
    moved = HubSettings.create({"data_dir": str(tmp_path), "registry": "10.0.0.9:5000"}, "test")
    with pytest.raises(UserError):  # pushed to another registry than the nodes now use
        pinned_image(moved, "workspace")


def test_cluster_image_versions_follow_their_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import images.cluster_images as cluster_images

    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "Dockerfile").write_text("FROM base\n")
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "Dockerfile").write_text("FROM base\n")
    monkeypatch.setattr(cluster_images, "IMAGES_DIR", tmp_path)

    first = cluster_images.image_version("registry", "sha256:base1")
    assert first == cluster_images.image_version("registry", "sha256:base1")  # reused when nothing changed
    assert cluster_images.image_version("registry", "sha256:base2") != first  # a new base image
    (tmp_path / "registry" / "config.yml").write_text("version: 0.1\n")
    assert cluster_images.image_version("registry", "sha256:base1") != first  # any file of the folder
    assert cluster_images.available("gateway") and not cluster_images.available("nothing")
