"""Host side of the sandbox: one grader container per submission, started ahead of time ("warm").

Each container runs ``runner.py`` as PID 1 with no network, a read-only root file system, tmpfs for its work
and temporary directories, memory/CPU/pid limits, no capabilities, the image's non-root user and no logs on
disk. The host talks to it only through the attach stream: the job goes in on stdin, the result comes back
on stdout framed with an HMAC of a key that exists only in the host and the runner. The kernel inside has
/dev/null as stdin/stdout/stderr and cannot open the runner's descriptors, so it has no way to write there.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import queue
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import DockerException, NotFound
from docker.types import LogConfig, Ulimit

HERE = Path(__file__).resolve().parent
MARKER = b"TRUONGSO-RESULT"
WORKDIR = "/home/grader/work"
PYTHON = "/opt/truongso/venv/bin/python"
ROLE_LABEL = "org.truongso.role"
ROLE = "grader-sandbox"
OWNER_LABEL = "org.truongso.owner"  # host/pid/start time of the grading process that made the sandbox


def _process_start(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_id(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{socket.gethostname()}/{pid}/{_process_start(pid)}"


def _owner_gone(owner: str) -> bool:
    """True when the label names a grading process of this host that no longer runs."""
    host, _, rest = owner.partition("/")
    pid, _, started = rest.partition("/")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return _process_start(int(pid)) != started


@dataclass(frozen=True)
class SandboxLimits:
    """Per-submission limits of a grader container."""

    memory: str = "1g"
    cpus: float = 1.0
    pids: int = 128
    work_tmpfs: str = "256m"
    tmp_tmpfs: str = "64m"
    open_files: int = 1024
    # Output kept per cell / per submission (the rest is dropped; errors and the fact of stderr never are).
    cell_output_bytes: int = 2 << 20
    total_output_bytes: int = 16 << 20
    message_bytes: int = 64 << 20  # larger kernel messages drop the connection instead of the runner's memory
    result_bytes: int = 48 << 20


def sandbox_name(name_prefix: str, batch: str, number: int) -> str:
    """The container name of one sandbox of a batch."""
    return f"{name_prefix}-{batch}-{number}"


@dataclass
class SandboxSpec:
    image: str
    name_prefix: str
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    preimports: tuple[str, ...] = ()
    kernel_env: dict[str, str] = field(default_factory=dict)
    idle_timeout: float = 900.0  # a warm container nobody used exits on its own after this
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class SandboxOutcome:
    """What came back from one container. `result` is HMAC-verified JSON, not yet schema-validated."""

    result: dict[str, Any] | None = None
    error: str | None = None  # why there is no result
    exit_code: int | None = None
    oom_killed: bool = False
    timed_out: bool = False
    foreign_output: bool = False
    stderr_tail: str = ""
    seconds: float = 0.0


def runner_source() -> str:
    return (HERE / "runner.py").read_text(encoding="utf-8")


def guard_source() -> str:
    return (HERE / "guard.py").read_text(encoding="utf-8")


def checker_source() -> str:
    return (HERE / "checker.py").read_text(encoding="utf-8")


def responder_source() -> str:
    return (HERE / "responder.py").read_text(encoding="utf-8")


def static_config(spec: SandboxSpec) -> dict[str, Any]:
    lim = spec.limits
    env = {
        "PATH": "/opt/truongso/venv/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/home/grader",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTER_RUNTIME_DIR": "/tmp/rt",
        "JUPYTER_DATA_DIR": "/tmp/jd",
        "IPYTHONDIR": "/tmp/ipython",
        "MPLCONFIGDIR": "/tmp/mpl",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NBGRADER_EXECUTION": "autograde",  # set by stock nbgrader while it executes
        **spec.kernel_env,
    }
    return {
        "guard": guard_source(),
        "checker": checker_source(),
        "responder": responder_source(),
        "preimports": list(spec.preimports),
        "kernel_env": env,
        "workdir": WORKDIR,
        "runtime_dir": "/tmp/rt",
        "mpl_dir": "/tmp/mpl",
        "ipython_dir": "/tmp/ipython",
        "mpl_cache": "/home/grader/.cache/matplotlib",
        "idle_timeout": spec.idle_timeout,
        "startup_timeout": 60,
        "max_job_bytes": 256 << 20,
        "caps": {
            "cell_bytes": lim.cell_output_bytes,
            "total_bytes": lim.total_output_bytes,
            "outputs": 2000,
            "error_chars": 20000,
            "message_bytes": lim.message_bytes,
        },
    }


def container_options(spec: SandboxSpec, name: str) -> dict[str, Any]:
    """Everything `containers.create` gets: the isolation is all here (tests inspect it)."""
    lim = spec.limits
    static = json.dumps(static_config(spec), ensure_ascii=True)
    return {
        "image": spec.image,
        "name": name,
        "entrypoint": [PYTHON, "-I", "-c", runner_source(), static],
        "command": [],
        "user": "1001:1001",
        "working_dir": WORKDIR,
        "hostname": "sandbox",
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {
            "/tmp": f"rw,nosuid,nodev,noexec,size={lim.tmp_tmpfs},mode=1777",
            WORKDIR: f"rw,nosuid,nodev,noexec,size={lim.work_tmpfs},uid=1001,gid=1001,mode=0700",
        },
        "mem_limit": lim.memory,
        "memswap_limit": lim.memory,  # no swap
        "nano_cpus": int(lim.cpus * 1e9),
        "pids_limit": lim.pids,
        "ulimits": [
            Ulimit(name="nofile", soft=lim.open_files, hard=lim.open_files),
            Ulimit(name="core", soft=0, hard=0),
        ],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "ipc_mode": "private",
        "shm_size": "64m",
        "oom_score_adj": 500,  # if the host itself runs out of memory, sandboxes go first
        "log_config": LogConfig(type="none"),  # nothing a submission prints reaches the host's disk
        "stdin_open": True,
        "tty": False,
        "labels": {ROLE_LABEL: ROLE, OWNER_LABEL: owner_id(), **spec.labels},
        "environment": {},
    }


class Sandbox:
    """One started container whose runner waits for a job."""

    def __init__(self, client: Any, spec: SandboxSpec, name: str) -> None:
        self.name = name
        self.spec = spec
        self.created = time.monotonic()
        self.container = client.containers.create(**container_options(spec, name))
        try:
            sock = self.container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self._holder = sock  # keeps the HTTP response (and so the socket) alive
            self.sock: socket.socket = getattr(sock, "_sock", sock)
            self.container.start()
        except BaseException:
            self.remove()
            raise

    def run(self, job: dict[str, Any], timeout: float) -> SandboxOutcome:
        started = time.monotonic()
        outcome = SandboxOutcome()
        key = secrets.token_bytes(32)
        payload = json.dumps({**job, "key": key.hex()}, ensure_ascii=True).encode("ascii")
        stdout, stderr = bytearray(), bytearray()
        limit = self.spec.limits.result_bytes + 4096
        try:
            self.sock.settimeout(max(1.0, timeout))
            self.sock.sendall(b"TS-JOB %d\n" % len(payload) + payload)
            deadline = started + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    outcome.timed_out = True
                    break
                self.sock.settimeout(left)
                head = _recv_exactly(self.sock, 8)
                if head is None:
                    break
                size = int.from_bytes(head[4:8], "big")
                data = _recv_exactly(self.sock, size)
                if data is None:
                    break
                if head[0] == 1 and len(stdout) < limit:
                    stdout += data[: limit - len(stdout)]
                elif head[0] == 2:
                    stderr = (stderr + data)[-20000:]
        except TimeoutError:
            outcome.timed_out = True
        except OSError as exc:
            outcome.error = f"sandbox stream failed: {exc}"
        if outcome.timed_out:
            self.kill()
        outcome.stderr_tail = stderr.decode("utf-8", "replace")[-4000:]
        outcome.result, problem, outcome.foreign_output = parse_frame(bytes(stdout), key)
        if outcome.result is None:  # only a failure needs the engine's view (exit code, OOM kill)
            outcome.exit_code, outcome.oom_killed = self._status()
        if outcome.result is None and outcome.error is None:
            outcome.error = "timed out" if outcome.timed_out else problem
        outcome.seconds = time.monotonic() - started
        return outcome

    def _status(self) -> tuple[int | None, bool]:
        try:
            code = self.container.wait(timeout=15).get("StatusCode")
            self.container.reload()
            return code, bool(self.container.attrs.get("State", {}).get("OOMKilled"))
        except Exception:  # the container is gone or hung: it is removed by force next anyway
            return None, False

    def kill(self) -> None:
        try:
            self.container.kill()
        except DockerException:
            pass

    def remove(self) -> None:
        try:
            self.container.remove(force=True)
        except NotFound:
            pass
        except DockerException:
            pass


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def parse_frame(stdout: bytes, key: bytes) -> tuple[dict[str, Any] | None, str, bool]:
    """The runner's HMAC-framed result; (result, problem, foreign bytes seen)."""
    at = stdout.rfind(b"\n" + MARKER + b" ")
    if at < 0:
        return None, "the sandbox returned no result", bool(stdout.strip())
    foreign = bool(stdout[:at].strip())
    head_end = stdout.find(b"\n", at + 1)
    if head_end < 0:
        return None, "truncated result", foreign
    parts = stdout[at + 1 : head_end].split(b" ")
    if len(parts) != 3 or not parts[2].isdigit():
        return None, "malformed result header", foreign
    size = int(parts[2])
    payload = stdout[head_end + 1 : head_end + 1 + size]
    if len(payload) != size:
        return None, "truncated result", foreign
    if stdout[head_end + 1 + size :].strip():
        foreign = True
    expected = hmac.new(key, payload, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, parts[1]):
        return None, "result signature does not match", foreign
    try:
        return json.loads(payload), "", foreign
    except ValueError:
        return None, "result is not JSON", foreign


class SandboxPool:
    """Keeps up to `workers` containers warm; each one serves exactly one job and is then removed."""

    _batches = itertools.count()

    def __init__(self, client: Any, spec: SandboxSpec, workers: int, jobs: int) -> None:
        self.client, self.spec = client, spec
        self.remaining = jobs  # containers still to start
        self.ready: queue.Queue[Sandbox | BaseException] = queue.Queue()
        self.lock = threading.Lock()
        self.closed = False
        self.live: set[Sandbox] = set()
        self.batch = f"{int(time.time()) % 100000:05d}{next(self._batches)}{secrets.token_hex(2)}"
        self.counter = itertools.count()
        self.ops = ThreadPoolExecutor(max_workers=max(2, workers), thread_name_prefix="sandbox-ops")
        for _ in range(min(workers, jobs)):
            self._start_one()

    def _start_one(self) -> None:
        with self.lock:
            if self.remaining <= 0 or self.closed:
                return
            self.remaining -= 1
            name = sandbox_name(self.spec.name_prefix, self.batch, next(self.counter))
        self.ops.submit(self._create, name)

    def _create(self, name: str) -> None:
        try:
            box = Sandbox(self.client, self.spec, name)
        except BaseException as exc:  # handed to whoever waits, so a broken engine fails the job, not a thread
            self.ready.put(exc)
            return
        with self.lock:
            if self.closed:
                box.remove()
                return
            self.live.add(box)
        self.ready.put(box)

    def run(self, job: dict[str, Any], timeout: float) -> SandboxOutcome:
        item = self.ready.get()
        self._start_one()  # the next one warms up while this one works
        if isinstance(item, BaseException):
            return SandboxOutcome(error=f"could not start a sandbox: {type(item).__name__}: {item}")
        try:
            return item.run(job, timeout)
        finally:
            with self.lock:
                self.live.discard(item)
            self.ops.submit(item.remove)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            boxes = list(self.live)
            self.live.clear()
        while True:
            try:
                item = self.ready.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Sandbox):
                boxes.append(item)
        for box in boxes:
            box.remove()
        self.ops.shutdown(wait=True)
        for box in list(self.live):  # created while shutting down
            box.remove()


def remove_stale_sandboxes(client: Any, name_prefix: str, older_than: float = 3600) -> int:
    """Remove sandboxes left by a grader that died: exited ones, and any older than `older_than` seconds.

    A batch running next to this one may own sandboxes that just exited or are being created: those are
    left alone unless their owning process is gone or they are a minute old (their owner removes them)."""
    removed = 0
    now = time.time()
    # One list call (the SDK's containers.list inspects each one afterwards, and fails with NotFound when a
    # batch next to this one removes its sandbox in between).
    for entry in client.api.containers(all=True, filters={"label": f"{ROLE_LABEL}={ROLE}"}):
        name = (entry.get("Names") or ["/"])[0].lstrip("/")
        if not name.startswith(name_prefix + "-"):
            continue
        age = now - float(entry.get("Created") or now)
        orphan = _owner_gone((entry.get("Labels") or {}).get(OWNER_LABEL, ""))
        if (entry.get("State") in ("exited", "created", "dead") and (orphan or age > 60)) or age > older_than:
            try:
                client.api.remove_container(entry["Id"], force=True)
                removed += 1
            except DockerException:
                pass
    return removed
