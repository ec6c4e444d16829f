"""The cluster's private registry: run by Trường Số on the manager, TLS with our own small CA, digests pinned.

Nodes pull our images from it and from nowhere else. The CA lives in <data_dir>/cluster/ (key 0600); the registry
container gets only its server certificate and key. Every Docker engine that pulls or pushes trusts the CA
through /etc/docker/certs.d/<registry>/ca.crt (read per request: no engine restart, no insecure-registries).
Two containers share one storage volume: `<prefix>-registry` serves it READ-ONLY (volume mounted ro) on
<advertise_addr>:<registry_port>, where the nodes pull; `<prefix>-registry-push` serves it writable on the
manager's loopback only (127.0.0.1:<registry_port>), where `truongso images push` pushes. Nothing on the cluster
network can push to, or delete from, the registry.
`truongso images push` records `<registry>/truongso/<name>@sha256:…` in <data_dir>/run/cluster-images.json,
which the swarm spawner and the grader read through `pinned_image()`.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.text import UserError

CERTS_D = Path("/etc/docker/certs.d")
PINNED_FILE = Path("run") / "cluster-images.json"
PUSHED_IMAGES = ("workspace", "grader", "gateway")
CONTAINER_PORT = 5000
PUSH_HOST = "127.0.0.1"  # the writable registry listens on the manager's loopback only
READONLY_CONFIG = "/etc/docker/registry/config-readonly.yml"
CA_DAYS = 3650
CERT_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class RegistryTLS:
    """The CA and the registry's server certificate, as files."""

    folder: Path  # <data_dir>/cluster

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def server_dir(self) -> Path:  # mounted read-only into the registry container at /certs
        return self.folder / "registry-tls"

    @property
    def cert(self) -> Path:
        return self.server_dir / "registry.crt"

    @property
    def key(self) -> Path:
        return self.server_dir / "registry.key"


def cluster_dir(settings: Any) -> Path:
    return Path(settings.data_path) / "cluster"


def registry_address(settings: Any, advertise_addr: str | None = None) -> str:
    """host:port of the registry: the `registry` setting, else <advertise_addr>:<registry_port>."""
    if settings.registry:
        return settings.registry
    from hub.cluster.swarm import advertise_address

    return f"{advertise_addr or advertise_address(settings)}:{settings.registry_port}"


def push_address(settings: Any) -> str:
    """Where pushes go: the writable twin on loopback, or the `registry` setting when the school runs its own."""
    return settings.registry or f"{PUSH_HOST}:{settings.registry_port}"


def container_name(settings: Any) -> str:
    return f"{settings.docker_prefix}-registry"


def push_container_name(settings: Any) -> str:
    return f"{settings.docker_prefix}-registry-push"


def volume_name(settings: Any) -> str:
    return f"{settings.docker_prefix}-registry-data"


# --- TLS ------------------------------------------------------------------------------------------------------


def ensure_tls(folder: Path, *hosts: str) -> RegistryTLS:
    """The CA (made once) and a server certificate for `hosts` (IP addresses get IP SANs), re-issued when the
    hosts changed or it expires within RENEW_BEFORE. Keys are 0600, the folder 0700."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    tls = RegistryTLS(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    tls.server_dir.mkdir(exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
        data = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_atomic(path, data, 0o600)

    if tls.ca_cert.is_file() and tls.ca_key.is_file():
        ca_cert = x509.load_pem_x509_certificate(tls.ca_cert.read_bytes())
        ca_key = serialization.load_pem_private_key(tls.ca_key.read_bytes(), password=None)
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Trường Số cluster CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        write_key(tls.ca_key, ca_key)
        _write_atomic(tls.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        tls.cert.unlink(missing_ok=True)  # signed by a CA that no longer exists

    if not _server_cert_fits(tls, hosts, ca_cert, now):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        write_key(tls.key, key)
        _write_atomic(tls.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return tls


def _san(host: str) -> Any:
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _server_cert_fits(tls: RegistryTLS, hosts: tuple[str, ...], ca_cert: Any, now: datetime.datetime) -> bool:
    from cryptography import x509

    if not (tls.cert.is_file() and tls.key.is_file()):
        return False
    cert = x509.load_pem_x509_certificate(tls.cert.read_bytes())
    if cert.issuer != ca_cert.subject or cert.not_valid_after_utc - now < RENEW_BEFORE:
        return False
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(names) == {_san(h) for h in hosts}


def trust_commands(registry: str, ca_file: str = "ca.crt") -> list[str]:
    """What an admin runs on each real node (as root) so its engine pulls from the registry over TLS."""
    return [
        f"mkdir -p {CERTS_D}/{registry}",
        f"install -m 0644 {ca_file} {CERTS_D}/{registry}/ca.crt",
    ]


def trust_on_host(registry: str, ca_cert: Path, certs_d: Path = CERTS_D) -> Path:
    """Make this machine's engine trust the registry (the same file a node gets)."""
    target = certs_d / registry / "ca.crt"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.read_bytes() != ca_cert.read_bytes():
        _write_atomic(target, ca_cert.read_bytes(), 0o644)
    return target


# --- the registry container -----------------------------------------------------------------------------------


def registry_up(registry: str, ca_cert: Path, timeout: float = 3.0) -> bool:
    """Whether the registry answers its API over TLS with our CA (GET /v2/ → 200)."""
    import requests

    try:
        return requests.get(f"https://{registry}/v2/", verify=str(ca_cert), timeout=timeout).status_code == 200
    except (requests.RequestException, OSError):
        return False


def start_registry(
    settings: Any,
    client: Any,
    *,
    advertise_addr: str,
    progress: Callable[[str], None] = print,
    timeout: float = 30.0,
) -> str:
    """Run (or keep) the two registry containers on this machine: read-only on <advertise_addr>:<registry_port>
    for the nodes, writable on 127.0.0.1:<registry_port> for pushes. Returns the nodes' host:port once both
    answer. A container already running with the same image, address and TLS is kept."""
    from images.build import ImageBuildError
    from images.cluster_images import ensure_cluster_image

    registry = f"{advertise_addr}:{settings.registry_port}"
    tls = ensure_tls(cluster_dir(settings), advertise_addr, PUSH_HOST)
    try:
        image = ensure_cluster_image(client, "registry", progress=progress)
    except ImageBuildError as exc:
        raise UserError(
            f"không xây dựng được image registry: {exc}", f"cannot build the registry image: {exc}"
        ) from None
    for name, host, writable in (
        (push_container_name(settings), PUSH_HOST, True),
        (container_name(settings), advertise_addr, False),
    ):
        _run_registry(settings, client, image, tls, name, host, writable, progress, timeout)
    return registry


def _run_registry(
    settings: Any,
    client: Any,
    image: str,
    tls: RegistryTLS,
    name: str,
    host: str,
    writable: bool,
    progress: Callable[[str], None],
    timeout: float,
) -> None:
    import docker.errors

    address = f"{host}:{settings.registry_port}"
    try:
        current = client.containers.get(name)
    except docker.errors.NotFound:
        current = None
    if current is not None:
        ports = (current.attrs["HostConfig"].get("PortBindings") or {}).get(f"{CONTAINER_PORT}/tcp")
        wanted = [{"HostIp": host, "HostPort": str(settings.registry_port)}]
        same = current.image.id == client.images.get(image).id and ports == wanted
        if same and current.status == "running" and registry_up(address, tls.ca_cert):
            trust_on_host(address, tls.ca_cert)
            return
        progress(f"docker rm -f {name}")
        current.remove(force=True)
    config = [] if writable else [READONLY_CONFIG]
    mode = "rw" if writable else "ro"
    progress(
        f"docker run -d --name {name} -p {address}:{CONTAINER_PORT} "
        f"-v {volume_name(settings)}:/var/lib/docker-registry:{mode} {image} {' '.join(config)}".rstrip()
    )
    try:
        client.containers.run(
            image,
            config or None,
            name=name,
            detach=True,
            ports={f"{CONTAINER_PORT}/tcp": (host, settings.registry_port)},
            volumes={
                volume_name(settings): {"bind": "/var/lib/docker-registry", "mode": mode},
                str(tls.server_dir): {"bind": "/certs", "mode": "ro"},
            },
            labels={"org.truongso.prefix": settings.docker_prefix, "org.truongso.role": "registry"},
            restart_policy={"Name": "unless-stopped"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            read_only=True,
            mem_limit="512m",
            pids_limit=256,
        )
    except docker.errors.APIError as exc:
        raise UserError(
            f"không chạy được registry {address}: {exc.explanation or exc}",
            f"cannot run the registry {address}: {exc.explanation or exc}",
        ) from None
    trust_on_host(address, tls.ca_cert)
    deadline = time.monotonic() + timeout
    while not registry_up(address, tls.ca_cert):
        if time.monotonic() > deadline:
            logs = client.containers.get(name).logs(tail=3).decode(errors="replace").strip().replace("\n", " | ")
            raise UserError(f"registry {address} không khởi động: {logs}", f"registry {address} did not start: {logs}")
        time.sleep(0.3)


def remove_registry(settings: Any, client: Any, *, keep_data: bool = True) -> None:
    """Stop and remove both registry containers (and their storage unless keep_data)."""
    import docker.errors

    removals = [
        lambda: client.containers.get(container_name(settings)).remove(force=True),
        lambda: client.containers.get(push_container_name(settings)).remove(force=True),
    ]
    if not keep_data:
        removals.append(lambda: client.volumes.get(volume_name(settings)).remove(force=True))
    for remove in removals:
        try:
            remove()
        except docker.errors.NotFound:
            pass


def require_registry(settings: Any) -> tuple[str, str, RegistryTLS]:
    """(the nodes' address, the push address, the TLS files), or a UserError when either does not answer."""
    registry, push = registry_address(settings), push_address(settings)
    tls = RegistryTLS(cluster_dir(settings))
    if not tls.ca_cert.is_file():
        raise UserError(
            f"chưa có CA của registry ({tls.ca_cert}): chạy `truongso cluster init` trước",
            f"no registry CA yet ({tls.ca_cert}): run `truongso cluster init` first",
        )
    for address in dict.fromkeys((registry, push)):
        if not registry_up(address, tls.ca_cert):
            raise UserError(
                f"registry {address} không trả lời; xem `truongso cluster status` hoặc chạy `truongso cluster init`",
                f"the registry {address} does not answer; see `truongso cluster status` or run `truongso cluster init`",
            )
    return registry, push, tls


# --- pushing and pinning --------------------------------------------------------------------------------------


def local_image(settings: Any, name: str) -> str:
    """The host image that `name` is pushed from."""
    return {
        "workspace": settings.workspace_image,
        "grader": "truongso/grader:latest",
        "gateway": settings.gateway_image,
    }[name]


def push_images(
    settings: Any,
    client: Any,
    names: Iterable[str] = PUSHED_IMAGES,
    *,
    progress: Callable[[str], None] = print,
) -> dict[str, str]:
    """Push our images to the registry; returns and records {name: "<registry>/truongso/<name>@sha256:…"}.
    The record is written only when every push succeeded (nothing half-written)."""
    import docker.errors

    registry, push, tls = require_registry(settings)
    trust_on_host(push, tls.ca_cert)
    names = tuple(names)
    if "gateway" in names and settings.gateway_image == "truongso/gateway:latest":
        _ensure_gateway(client, progress)
    images = {}  # every image looked up before anything is pushed
    for name in names:
        source = local_image(settings, name)
        try:
            images[name] = client.images.get(source)
        except docker.errors.ImageNotFound:
            build = "truongso images build" if name != "gateway" else "python -m images.cluster_images --only gateway"
            raise UserError(
                f"không có image {source} trên máy này: chạy `{build}` trước",
                f"image {source} is not on this machine: run `{build}` first",
            ) from None
    pinned: dict[str, str] = {}
    for name, image in images.items():
        repository = f"{push}/truongso/{name}"
        tag = _version_tag(image, name)
        progress(f"docker push {repository}:{tag}")
        image.tag(repository, tag)
        try:  # the same storage, served read-only to the nodes at `registry`
            pinned[name] = f"{registry}/truongso/{name}@{push_tag(client, repository, tag)}"
        finally:
            try:  # the registry-named alias is only a vehicle for the push
                client.images.remove(f"{repository}:{tag}", noprune=True)
            except docker.errors.APIError:
                pass
    record = {**_read_pinned(settings), **pinned}
    path = Path(settings.data_path) / PINNED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), 0o644)
    return pinned


def _ensure_gateway(client: Any, progress: Callable[[str], None]) -> None:
    """Our gateway image, built from images/gateway/ when missing (reused when its content hash is present)."""
    from images.build import ImageBuildError
    from images.cluster_images import available, ensure_cluster_image

    if not available("gateway"):
        return  # then the push below names the missing image
    try:
        ensure_cluster_image(client, "gateway", progress=progress)
    except ImageBuildError as exc:
        raise UserError(f"không xây dựng được image gateway: {exc}", f"cannot build the gateway image: {exc}") from None


def pinned_image(settings: Any, name: str) -> str:
    """The pinned reference of one of our images in the registry (`truongso images push` records them)."""
    ref = _read_pinned(settings).get(name)
    registry = settings.registry or None
    if ref and (registry is None or ref.startswith(f"{registry}/")):
        return ref
    raise UserError(
        f"image {name} chưa được đẩy lên registry của cụm: chạy `truongso images push` trước",
        f"image {name} is not in the cluster's registry: push first (`truongso images push`)",
    )


def _read_pinned(settings: Any) -> dict[str, str]:
    path = Path(settings.data_path) / PINNED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str) and "@sha256:" in v}


def _version_tag(image: Any, name: str) -> str:
    """The image's content-hash tag (truongso/<name>:<version>) when it has one, so the registry keeps
    versions apart; else `latest`."""
    for tag in sorted(image.tags):
        repo, _, version = tag.rpartition(":")
        if repo == f"truongso/{name}" and version != "latest":
            return version
    return "latest"


def push_tag(client: Any, repository: str, tag: str) -> str:
    """Push one tag; its manifest digest. Docker reports errors inside the stream, not as exceptions."""
    import docker.errors

    digest = ""
    try:
        for chunk in client.images.push(repository, tag, stream=True, decode=True):
            if "error" in chunk:
                detail = ((chunk.get("errorDetail") or {}).get("message") or chunk["error"]).strip()
                raise UserError(
                    f"đẩy {repository}:{tag} thất bại: {detail}", f"pushing {repository}:{tag} failed: {detail}"
                )
            digest = (chunk.get("aux") or {}).get("Digest", digest)
    except docker.errors.APIError as exc:
        raise UserError(
            f"đẩy {repository}:{tag} thất bại: {exc}", f"pushing {repository}:{tag} failed: {exc}"
        ) from None
    if not digest.startswith("sha256:"):
        raise UserError(
            f"registry không trả về digest cho {repository}:{tag}",
            f"no digest from the registry for {repository}:{tag}",
        )
    return digest


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
