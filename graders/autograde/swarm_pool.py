"""Grading sandboxes on a Docker Swarm's worker nodes: one one-shot service per submission (issue 13).

Same runner (runner.py), same result trust and, as far as Swarm's API 1.41 can say it, the same isolation as
sandbox.py's local containers. What differs, and why:
- Job in: a task has no stdin. The job goes in as Swarm secrets (encrypted in the swarm's store, given only to
  the node that runs the task), cut under Swarm's 500 KB limit. Their files are readable by the learner's code
  (same uid), so the job is sealed with a one-time AES-256-GCM key (`cryptography`) that travels in the
  task's environment: the runner removes them before any child starts, and its /proc/1/environ is closed to
  everyone (it is not dumpable); only the swarm's managers and the node's engine (their administrators) see
  them, as they see the secrets anyway. The result's HMAC key is inside the sealed job, as on stdin today.
- Result out: the runner's private stdout, read back with `docker service logs` after the task ended: the same
  ASCII frame with the same HMAC check (`parse_frame`). The learner's code writes only to /dev/null.
- No network: Swarm cannot attach a service to `none` (its predefined networks are host and bridge) and a
  service with no network lands on the default bridge, with a route out. Each job gets its own *internal*
  overlay network instead: the task alone on it, no gateway, no default route, no docker_gwbridge.
- Not enforceable through Swarm (API 1.41): no-new-privileges (the bounding set is empty instead: a set-uid
  program gains no capability), ulimits (the runner sets nofile/core itself, inherited by every child),
  memory+swap (only the memory limit; swap is whatever the node has), oom_score_adj, logging "none" (the task's
  stdout is the result channel: it needs json-file; the kernel's output never reaches it, only the runner's
  frame and its own errors, and the log goes with the container when the service is removed).
Services, secrets and networks carry our labels; whatever a crashed grader leaves, the next batch removes.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from docker.errors import APIError, DockerException, NotFound
from docker.types import (
    ContainerSpec,
    DriverConfig,
    EndpointSpec,
    Mount,
    NetworkAttachmentConfig,
    Placement,
    Resources,
    RestartPolicy,
    SecretReference,
    TaskTemplate,
)

from graders.autograde.runner import JOB_KEY_ENV
from graders.autograde.sandbox import (
    OWNER_LABEL,
    PYTHON,
    ROLE_LABEL,
    WORKDIR,
    SandboxOutcome,
    SandboxSpec,
    _owner_gone,
    owner_id,
    parse_frame,
    runner_source,
    sandbox_name,
    static_config,
)

ROLE = "grader-sandbox-swarm"
PLACEMENT = ("node.role==worker",)  # sandboxes never run next to the hub
CHUNK = 450_000  # bytes per secret: Swarm refuses more than 500 KB
MAX_JOB_BYTES = 64 << 20  # what goes through the swarm's store (raft) per job
SECRETS_DIR = "/run/secrets"
START_TIMEOUT = 600.0  # created -> running: includes a node's first pull of the grader image
WARM_SLACK = 120.0  # the runner's start (kernel, imports), which the local pool does before the job's clock
POLL = 0.5
ENDED = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}
# Ended by the cluster, not by the job: the node was drained, left or died. The job runs again, elsewhere.
NODE_LOST = {"shutdown", "orphaned", "remove"}
RETRIES = 2
RUNNING = {"running", *ENDED}


def seal_job(job: dict[str, Any], key: bytes) -> tuple[bytes, str]:
    """The job (with the result's HMAC key) sealed for runner.read_job_files with AES-256-GCM (`cryptography`):
    (nonce + ciphertext, the one-time key in hex for the task's environment)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    payload = json.dumps({**job, "key": key.hex()}, ensure_ascii=True).encode("ascii")
    seal_key, nonce = AESGCM.generate_key(bit_length=256), secrets.token_bytes(12)
    return nonce + AESGCM(seal_key).encrypt(nonce, payload, None), seal_key.hex()


def chunks(data: bytes, size: int = CHUNK) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def _labels(spec: SandboxSpec, name: str) -> dict[str, str]:
    return {ROLE_LABEL: ROLE, OWNER_LABEL: owner_id(), "org.truongso.sandbox": name, **spec.labels}


def service_spec(spec: SandboxSpec, name: str, network_id: str, secret_refs: list[SecretReference], env_key: str,
                 constraints: tuple[str, ...] = PLACEMENT) -> dict[str, Any]:  # fmt: skip
    """Everything `create_service` gets: the isolation is all here (tests inspect the task it makes)."""
    lim = spec.limits
    static = static_config(spec)
    static["job_files"] = [f"{SECRETS_DIR}/{ref['File']['Name']}" for ref in secret_refs]
    static["rlimits"] = {"RLIMIT_NOFILE": lim.open_files, "RLIMIT_CORE": 0}
    labels = _labels(spec, name)
    container = ContainerSpec(
        spec.image,  # pinned by digest: every node runs the same bytes
        command=[PYTHON, "-I", "-c", runner_source(), json.dumps(static, ensure_ascii=True)],
        user="1001:1001",
        # Not WORKDIR: Docker would make it (root, 0755) before mounting, and the tmpfs takes that mode over. The
        # runner gives the kernel and the checker WORKDIR as their working directory itself.
        workdir="/home/grader",
        hostname="sandbox",
        env={JOB_KEY_ENV: env_key},
        read_only=True,
        # A service's tmpfs is always nosuid,nodev,noexec; its owner cannot be set (uid=1001 as the local
        # sandbox's), so the work folder is 0777; /tmp keeps tmpfs's own 1777 (Swarm drops a sticky bit asked for).
        mounts=[
            Mount("/tmp", None, type="tmpfs", tmpfs_size=_bytes(lim.tmp_tmpfs)),
            Mount(WORKDIR, None, type="tmpfs", tmpfs_size=_bytes(lim.work_tmpfs), tmpfs_mode=0o777),
        ],
        secrets=secret_refs,
        cap_drop=["ALL"],
        labels=labels,
        stop_grace_period=1_000_000_000,
    )
    memory = _bytes(lim.memory)
    # Reserved as well as limited: Swarm then places no more sandboxes on a node than its memory holds.
    resources = Resources(cpu_limit=int(lim.cpus * 1e9), mem_limit=memory, mem_reservation=memory)
    resources["Limits"]["Pids"] = lim.pids  # API 1.41; the SDK has no argument for it
    template = TaskTemplate(
        container,
        resources=resources,
        restart_policy=RestartPolicy(condition="none"),
        placement=Placement(constraints=list(constraints)),
        networks=[NetworkAttachmentConfig(network_id)],
        log_driver=DriverConfig("json-file", {"max-size": f"{(lim.result_bytes >> 20) * 2 + 16}m", "max-file": "1"}),
    )
    return {"task_template": template, "name": name, "labels": labels, "endpoint_spec": EndpointSpec(mode="dnsrr")}


def _bytes(size: str | int) -> int:
    if isinstance(size, int):
        return size
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = size.strip().lower().rstrip("b")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(text)


class SwarmSandbox:
    """One submission's service, with its secrets and its network; removed when the job is over."""

    def __init__(self, client: Any, spec: SandboxSpec, name: str, constraints: tuple[str, ...]) -> None:
        self.api, self.spec, self.name, self.constraints = client.api, spec, name, constraints
        self.service_id: str | None = None
        self.network_id: str | None = None
        self.secret_ids: list[str] = []
        self.task: dict[str, Any] = {}
        self.state = ""  # the task's last state

    def run(self, job: dict[str, Any], timeout: float) -> SandboxOutcome:
        started = time.monotonic()
        outcome = SandboxOutcome()
        key = secrets.token_bytes(32)
        sealed, env_key = seal_job(job, key)
        if len(sealed) > MAX_JOB_BYTES:
            outcome.error = f"job too large for the cluster ({len(sealed)} bytes)"
            return outcome
        try:
            self._create(sealed, env_key)
            state = self.state = self._wait(started, timeout, outcome)
            if outcome.timed_out:
                self.kill()
            stdout, stderr = self._logs(state)
            outcome.result, problem, outcome.foreign_output = parse_frame(stdout, key)
            outcome.stderr_tail = stderr.decode("utf-8", "replace")[-4000:]
            status = self.task.get("Status", {})
            outcome.exit_code = (status.get("ContainerStatus") or {}).get("ExitCode")
            # Swarm reports no OOM flag; the runner (PID 1) killed by SIGKILL while not timed out is the kernel's
            # OOM killer (nothing else sends it: the service is removed only after this).
            outcome.oom_killed = outcome.exit_code == 137 and not outcome.timed_out
            if outcome.result is None and outcome.error is None:
                where = f"task {state or '?'}, exit {outcome.exit_code}, {status.get('Err') or 'no error'}"
                outcome.error = "timed out" if outcome.timed_out else f"{problem} ({where})"
        except DockerException as exc:
            outcome.error = f"swarm sandbox failed: {type(exc).__name__}: {exc}"[:500]
        outcome.seconds = time.monotonic() - started
        return outcome

    def _create(self, sealed: bytes, env_key: str) -> None:
        labels = _labels(self.spec, self.name)
        net = self.api.create_network(f"{self.name}-net", driver="overlay", internal=True, labels=labels)
        self.network_id = net["Id"]
        refs = []
        for i, part in enumerate(chunks(sealed)):
            secret_name = f"{self.name}-job-{i:03d}"
            secret = self.api.create_secret(secret_name, part, labels=labels)
            self.secret_ids.append(secret["ID"])
            refs.append(SecretReference(secret["ID"], secret_name, filename=f"ts-job-{i:03d}", uid="1001",
                                        gid="1001", mode=0o400))  # fmt: skip
        options = service_spec(self.spec, self.name, self.network_id, refs, env_key, self.constraints)
        self.service_id = self.api.create_service(**options)["ID"]

    def _wait(self, started: float, timeout: float, outcome: SandboxOutcome) -> str:
        """Poll the task until it ends; its state. Time counts from `running` (a first pull may come before)."""
        running_at: float | None = None
        while True:
            try:
                tasks = self.api.tasks(filters={"service": self.service_id})
            except NotFound:  # removed by someone else (an operator, a clean-up): the cluster ended it
                return "remove"
            if tasks:
                self.task = max(tasks, key=lambda t: t.get("CreatedAt", ""))
                state = self.task.get("Status", {}).get("State", "")
                if state in ENDED:
                    return state
                if state in RUNNING and running_at is None:
                    running_at = time.monotonic()
            now = time.monotonic()
            if (running_at is None and now - started > START_TIMEOUT) or (
                running_at is not None and now - running_at > timeout + WARM_SLACK
            ):
                outcome.timed_out = True
                return ""
            time.sleep(POLL)

    def _logs(self, state: str) -> tuple[bytes, bytes]:
        if state not in ("complete", "failed"):
            return b"", b""
        limit = self.spec.limits.result_bytes + 4096
        stdout = bytearray()
        for part in self.api.service_logs(self.service_id, stdout=True, stderr=False, follow=False):
            stdout += part[: max(0, limit - len(stdout))]
        stderr = b"".join(self.api.service_logs(self.service_id, stdout=False, stderr=True, follow=False, tail=200))
        return bytes(stdout), stderr

    def kill(self) -> None:
        if self.service_id:
            try:
                self.api.remove_service(self.service_id)
            except DockerException:
                pass

    def remove(self) -> None:
        """The service, then its secrets and network (Swarm refuses those while a task still uses them)."""
        self.kill()
        left: list[tuple[Any, str]] = [(self.api.remove_secret, s) for s in self.secret_ids]
        if self.network_id:
            left.append((self.api.remove_network, self.network_id))
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            still = []
            for remove, ident in left:
                try:
                    remove(ident)
                except NotFound:
                    pass
                except APIError:
                    still.append((remove, ident))
            left = still
            if left:
                time.sleep(0.5)


class SwarmSandboxPool:
    """SandboxPool's interface over one-shot Swarm services. Nothing to warm ahead: a service is made with its
    job (its secrets), so `workers` services run at once, each on whichever worker node Swarm picks."""

    _batches = itertools.count()

    def __init__(self, client: Any, spec: SandboxSpec, workers: int, jobs: int,
                 constraints: tuple[str, ...] = PLACEMENT) -> None:  # fmt: skip
        self.client, self.spec, self.constraints = client, spec, constraints
        self.batch = f"{int(time.time()) % 100000:05d}{next(self._batches)}{secrets.token_hex(2)}"
        self.counter = itertools.count()
        self.lock = threading.Lock()
        self.closed = False
        self.live: set[SwarmSandbox] = set()
        self.ops = ThreadPoolExecutor(max_workers=max(2, workers), thread_name_prefix="swarm-ops")
        self.sandboxes: list[str] = []  # service names made, for the record

    def run(self, job: dict[str, Any], timeout: float, attempt: int = 0) -> SandboxOutcome:
        with self.lock:
            if self.closed:
                return SandboxOutcome(error="the pool is closed")
            box = SwarmSandbox(self.client, self.spec, sandbox_name(self.spec.name_prefix, self.batch,
                                                                     next(self.counter)), self.constraints)  # fmt: skip
            self.live.add(box)
            self.sandboxes.append(box.name)
        try:
            outcome = box.run(job, timeout)
        finally:
            with self.lock:
                self.live.discard(box)
            self.ops.submit(box.remove)
        if outcome.result is None and box.state in NODE_LOST and attempt < RETRIES and not self.closed:
            return self.run(job, timeout, attempt + 1)  # fresh keys, secrets and network
        return outcome

    def close(self) -> None:
        with self.lock:
            self.closed = True
            boxes = list(self.live)
            self.live.clear()
        for box in boxes:
            box.kill()
            self.ops.submit(box.remove)
        self.ops.shutdown(wait=True)


def check_cluster(client: Any, image: str) -> str | None:
    """Why a batch cannot run on the cluster (this engine is no swarm manager, no worker node is ready and
    active, the image is not pinned by digest or the registry does not have it); None if it can. Checked once,
    so a batch fails at once with the reason instead of each submission after START_TIMEOUT."""
    if "@sha256:" not in image:
        return f"{image} is not pinned by digest"
    try:
        nodes = client.api.nodes(filters={"role": "worker"})
        if not any(n["Status"]["State"] == "ready" and n["Spec"]["Availability"] == "active" for n in nodes):
            return "no worker node is ready and active"
        client.api.inspect_distribution(image)  # the manager asks the registry
    except NotFound:
        return f"the registry has no {image}"
    except DockerException as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


def _created(entry: dict[str, Any]) -> float:
    try:
        stamp = entry.get("CreatedAt") or entry.get("Created") or ""  # networks say Created
        return datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return time.time()


def remove_stale_swarm_sandboxes(client: Any, name_prefix: str, older_than: float = 3600) -> int:
    """Remove services, secrets and networks a grader that died left: those of a gone grading process of this
    host, and any older than `older_than` seconds (a grader on another host, or one that hangs). Secrets and
    networks still used by a live batch's task are refused by Swarm and stay."""
    api, removed, now = client.api, 0, time.time()
    label = {"label": f"{ROLE_LABEL}={ROLE}"}

    def stale(entry: dict[str, Any], name: str) -> bool:
        labels = (entry.get("Spec") or {}).get("Labels") or entry.get("Labels") or {}
        if not name.startswith(name_prefix + "-"):
            return False
        return _owner_gone(labels.get(OWNER_LABEL, "")) or now - _created(entry) > older_than

    listings = (
        (api.services, api.remove_service, lambda e: e["Spec"]["Name"], "ID"),
        (api.secrets, api.remove_secret, lambda e: e["Spec"]["Name"], "ID"),
        (api.networks, api.remove_network, lambda e: e["Name"], "Id"),
    )
    for listing, remove, name_of, key in listings:  # services first: they hold the secrets and networks
        for entry in listing(filters=label):
            if stale(entry, name_of(entry)):
                try:
                    remove(entry[key])
                    removed += 1
                except DockerException:
                    pass
    return removed
