"""Sandbox side of the autograder: the only process the host starts in a grader container, as PID 1.

Started as ``python -I -c <this file> <static JSON>`` (nothing of ours is installed in the image), it makes
itself non-dumpable (same-uid student code can neither ptrace it nor open /proc/1/fd/*), keeps the container's
stdin/stdout/stderr on private descriptors and gives the kernel /dev/null instead; starts a kernel with the
guard (guard.py) and the assignment's imports, then waits for one job on stdin ("warm"): the code cells, the
files grading needs and an HMAC key. Each notebook runs in a fresh kernel through nbclient, as nbgrader's
Execute runs it, plus a check cell before and after every test cell (guard report + a canary error that must
surface). One JSON result, framed with an HMAC of the key, goes to the private stdout; then it exits, and as
PID 1 its exit ends every process left in the container. The host validates the result against a schema.
"""

import asyncio
import ctypes
import hashlib
import hmac
import json
import os
import resource
import select
import signal
import sys
import time

MARKER = b"TRUONGSO-RESULT"
PROTOCOL = 2
JOB_KEY_ENV = "TRUONGSO_JOB_KEY"  # a swarm task's keys to its sealed job files (swarm_pool.py)
OUTPUT_CUT = "[Trường Số: bỏ bớt đầu ra quá lớn"
SUBMISSION_WALL_FACTOR = 3  # the submission's wall-clock limit, the same last resort (the host waits as long)
WALL_FACTOR = 10  # nbclient's wall-clock limit, a last resort behind the run-time limit (Kernel.watch)
GRACE = 5  # seconds an interrupted cell has to stop before it is given up
SERVE_WAIT = 20  # seconds the checker waits for the learner's kernel to start serving a test


def reap(signum=None, frame=None):
    """PID 1 adopts every orphan; reap them so a fork bomb's zombies do not hold the pid limit. True when no
    child is left at all (so, PID 1 being everyone's parent, no other process)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return False


def read_job(fd, idle_timeout, max_bytes):
    """One length-prefixed JSON job from the host; None if none comes in time or it is malformed."""
    buf = b""
    deadline = time.monotonic() + idle_timeout
    need = None
    while need is None or len(buf) < need:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return None
        buf += chunk
        if need is None and b"\n" in buf:
            head, buf = buf.split(b"\n", 1)
            if not head.startswith(b"TS-JOB ") or not head[7:].isdigit() or int(head[7:]) > max_bytes:
                return None
            need = int(head[7:])
    return json.loads(buf[:need])


def read_job_files(static, keys, max_bytes):
    """The second input path, for a Swarm task (it has no stdin): the job sealed into the files of its secrets,
    in order, with AES-256-GCM (swarm_pool.seal_job; `cryptography`). The learner's code can read those files;
    without the key, which only this process's environment held, they tell it nothing. None if any file is
    missing or altered."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        seal_key = bytes.fromhex(keys)
        data = b"".join(open(path, "rb").read() for path in static["job_files"])
        if len(data) - 28 > max_bytes:  # 12 bytes of nonce, 16 of tag
            return None
        return json.loads(AESGCM(seal_key).decrypt(data[:12], data[12:], None))
    except (OSError, ValueError, InvalidTag):
        return None


def clean(value, state):
    """Strings the host can always encode: lone surrogates (non-UTF-8 output) become U+FFFD."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            state["non_utf8"] = True
            return value.encode("utf-8", "replace").decode("utf-8").replace("?", "\ufffd")
        return value
    if isinstance(value, list):
        return [clean(v, state) for v in value]
    if isinstance(value, dict):
        return {clean(k, state): clean(v, state) for k, v in value.items()}
    return value


def content_size(content):
    size = len(content.get("text", "")) if isinstance(content.get("text"), str) else 0
    for v in (content.get("data") or {}).values():
        size += len(v) if isinstance(v, str) else len(json.dumps(v, default=str))
    return size


def shorten(text, limit):
    return text if len(text) <= limit else text[:limit] + "\n… [Trường Số: rút gọn / truncated]"


class Kernel:
    """One kernel and its nbclient client, with output caps and a non-pickle, UTF-8-tolerant session."""

    def __init__(self, static, job_exec, caps):
        from nbclient import NotebookClient
        from nbformat.notebooknode import NotebookNode

        class Client(NotebookClient):
            def output(client, outs, msg, display_id, cell_index):
                return self.capped_output(super(Client, client).output, outs, msg, display_id, cell_index)

            async def _async_handle_timeout(client, timeout, cell=None):
                self.interrupted = True  # the cell ran out of time: nbclient interrupts the kernel
                return await super(Client, client)._async_handle_timeout(timeout, cell)

        self.static, self.caps = static, caps
        # Plain nodes: nbformat's new_* validate every cell against the schema, a tenth of the runner's time.
        self.node = NotebookNode
        self.nb = NotebookNode(nbformat=4, nbformat_minor=5, metadata=NotebookNode(), cells=[])
        opts = dict(job_exec or {})
        self.client = Client(
            self.nb, kernel_name="python3", allow_errors=True, record_timing=False, shutdown_kernel="immediate",
            startup_timeout=static.get("startup_timeout", 60), timeout=opts.get("timeout", 30),
            interrupt_on_timeout=opts.get("interrupt_on_timeout", True),
            raise_on_iopub_timeout=opts.get("raise_on_iopub_timeout", True),
            iopub_timeout=opts.get("iopub_timeout", 4), error_on_timeout=opts.get("error_on_timeout"),
            extra_arguments=list(opts.get("extra_arguments", [])),
        )  # fmt: skip
        self.client.on_cell_executed = self.on_cell_executed
        self.reply = None
        self.cell_bytes = self.total_bytes = 0
        self.truncated = False
        self.state = {"non_utf8": False}

    def configure(self, job_exec):
        for key in ("timeout", "interrupt_on_timeout", "raise_on_iopub_timeout", "iopub_timeout", "error_on_timeout"):
            if key in job_exec:
                setattr(self.client, key, job_exec[key])

    async def start(self, env, cwd):
        import zmq.asyncio

        client = self.client
        client.km = client.create_kernel_manager()
        await client.async_start_new_kernel(env=env, cwd=cwd)
        # nbclient's own start_new_kernel_client, with a context whose sockets drop (rather than buffer) any
        # kernel message larger than the cap: a single 1 GB print cannot exhaust the runner's memory.
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, self.caps["message_bytes"])
        client.kc = client.km.client(context=context)
        client.kc.start_channels()
        await client.kc.wait_for_ready(timeout=client.startup_timeout)
        client.kc.allow_stdin = False
        client.kc.session.unpack = self.unpack
        msg_id = client.kc.kernel_info()
        info = await client.async_wait_for_reply(msg_id)
        return (info or {}).get("content", {}).get("language_info")

    def unpack(self, data):
        try:
            return json.loads(data)
        except UnicodeDecodeError:
            self.state["non_utf8"] = True
            return json.loads(bytes(data).decode("utf-8", "replace"))

    def capped_output(self, default, outs, msg, display_id, cell_index):
        content, kind = msg["content"], msg["msg_type"]
        if kind == "stream" and OUTPUT_CUT in str(content.get("text", "")):
            self.truncated = True  # the kernel's own writer cut this cell's output (guard.cap_output)
        size = content_size(content)
        over = (self.cell_bytes + size > self.caps["cell_bytes"] or self.total_bytes + size > self.caps["total_bytes"]
                or len(outs) >= self.caps["outputs"])  # fmt: skip
        if kind == "error":  # never dropped: an error is what makes a test fail
            limit = self.caps["error_chars"]
            content["evalue"] = shorten(str(content.get("evalue", "")), limit)
            tb = [shorten(str(line), limit) for line in content.get("traceback", [])]
            content["traceback"] = tb if len(tb) <= 200 else [*tb[:100], "…", *tb[-99:]]
            return default(outs, msg, display_id, cell_index)
        if not over:
            self.cell_bytes += size
            self.total_bytes += size
            return default(outs, msg, display_id, cell_index)
        self.truncated = True
        note = "… [Trường Số: bỏ bớt đầu ra quá lớn / excess output dropped]\n"
        room = min(self.caps["cell_bytes"] - self.cell_bytes, self.caps["total_bytes"] - self.total_bytes)
        fits = room > len(note) and len(outs) < self.caps["outputs"]
        if kind == "stream" and isinstance(content.get("text"), str) and fits:
            content["text"] = content["text"][: room - len(note)] + "\n" + note  # what fits is kept
            self.cell_bytes += room
            self.total_bytes += room
            return default(outs, msg, display_id, cell_index)
        if kind == "stream" and content.get("name") == "stderr":  # keep the fact that stderr was written
            if not any(o.get("output_type") == "stream" and o.get("name") == "stderr" and o.get("text") == note
                       for o in outs):  # fmt: skip
                content["text"] = note
                return default(outs, msg, display_id, cell_index)
            return None
        if kind == "execute_result":  # keep: nbgrader reads partial credit from it
            text = (content.get("data") or {}).get("text/plain", "")
            content["data"] = {"text/plain": shorten(text if isinstance(text, str) else str(text), 10000)}
            content["metadata"] = {}
            return default(outs, msg, display_id, cell_index)
        return None

    def reconnect_output(self):
        kc = self.client.kc
        kc.iopub_channel.stop()  # closes the old socket
        kc._iopub_channel = None
        kc.iopub_channel.start()

    async def answers(self, timeout=10.0):
        """Whether the kernel replies to kernel_info (shell requests run in order: the cell is over)."""
        kc = self.client.kc
        try:
            msg_id = kc.kernel_info()
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                reply = await kc.shell_channel.get_msg(timeout=left)
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    return True
        except Exception:  # Empty on time-out, or a kernel that sends garbage
            return False
        return False

    def on_cell_executed(self, cell, cell_index, execute_reply):
        self.reply = execute_reply

    async def run(self, source, store_history):
        """Execute one cell; returns (cell, status, raw_reply_content)."""
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        cell = self.node(cell_type="code", source=source, metadata=self.node(), outputs=[], execution_count=None)
        self.nb.cells.append(cell)
        self.reply, self.cell_bytes, self.interrupted, self.fired, self.given_up = None, 0, False, False, False
        self.used = 0.0
        status = "ok"
        limit = self.client.timeout
        if limit:  # ours is the limit; nbclient's own (wall clock) is only a last resort
            self.client.timeout = limit * WALL_FACTOR
        task = asyncio.ensure_future(
            self.client.async_execute_cell(cell, len(self.nb.cells) - 1, store_history=store_history)
        )
        try:
            if limit:
                await self.watch(task, limit)
            await task
        except asyncio.CancelledError:  # interrupted and still running past the grace: it ignores interrupts
            status = "unresponsive"
        except CellTimeoutError as exc:
            # A reply but no end of output: messages were lost (one too large for the cap dropped the
            # connection), or, after a time-out, nbclient's stand-in reply came while a flood of output was
            # still queued. The output channel is reconnected (the backlog goes) and, after a time-out, the
            # kernel must answer a request of its own to count as alive. No reply at all: it is unresponsive.
            status = "unresponsive"
            if "IOPub" in str(exc):
                self.truncated = True  # what was queued or lost is not in the outputs
                self.reconnect_output()
                if not self.interrupted:
                    status = "output_lost"
                elif await self.answers():
                    status = "timeout"
        except DeadKernelError:
            status = "died"
        except Exception as exc:  # a kernel that sends garbage ends its own notebook, never the runner
            status = "runner_error"
            cell.setdefault("metadata", {})["ts_error"] = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            if limit:
                self.client.timeout = limit
        if self.given_up:  # however nbclient ended the cancelled wait
            status = "unresponsive"
        content = (self.reply or {}).get("content", {})
        if status == "ok" and content.get("status") == "error":
            timeout_name = (self.client.error_on_timeout or {}).get("ename")
            timed_out = self.fired or (timeout_name and content.get("ename") == timeout_name)
            status = "timeout" if timed_out else "error"
        return cell, status, content

    async def watch(self, task, limit):
        """The cell's time limit counts the time the kernel ran or waited for something (sleep, I/O, a child),
        not the time it waited for a CPU: on a busy machine a cell gets the same time as on an idle one.
        At the limit the kernel is interrupted; if it still runs after as long again, the cell is given up."""
        pid = getattr(getattr(self.client.km, "provisioner", None), "pid", None)
        started, queued = time.monotonic(), runqueue_wait(pid)
        while not task.done():
            await asyncio.wait([task], timeout=0.05)
            used = self.used = time.monotonic() - started - (runqueue_wait(pid) - queued)
            if not self.fired and used >= limit:
                self.fired = self.interrupted = True
                await asyncio.gather(self.client.km.interrupt_kernel(), return_exceptions=True)
            elif self.fired and used >= limit + max(limit, GRACE) and not task.done():
                self.given_up = True
                task.cancel()
                return

    async def stop(self):
        await asyncio.gather(self.client._async_cleanup_kernel(), return_exceptions=True)


def nbgrader_error_output(cell, content):
    """nbgrader's Execute.on_cell_executed: a failed reply without a matching error output adds one."""
    if content.get("status") != "error":
        return
    if any(o.get("output_type") == "error" and o.get("ename") == content.get("ename") for o in cell.outputs):
        return
    traceback = content.get("traceback") or ["ERROR: An error occurred while showtraceback was disabled"]
    cell.outputs.append({"output_type": "error", "ename": content.get("ename", ""),
                         "evalue": content.get("evalue", ""), "traceback": traceback})  # fmt: skip


class CheckerProcess:
    """The trusted checker (checker.py) of one notebook: a separate, non-dumpable process, started before the
    notebook's learner code, that runs the test cells. One JSON line per request and per answer."""

    def __init__(self, static, env, notebook):
        import subprocess

        self.static, self.buf = static, b""
        self.socket = os.path.join(static["runtime_dir"], f"checker-{notebook}-{os.urandom(6).hex()}.sock")
        self.proc = subprocess.Popen([sys.executable, "-I", "-c", static["checker"]], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=static["workdir"],
                                     env={**env, "MPLBACKEND": "Agg"}, close_fds=True)  # fmt: skip
        self.alive = True

    def request(self, message, timeout):
        """The checker's answer, or None if it died or did not answer in time (then it is killed)."""
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
            deadline = time.monotonic() + timeout
            fd = self.proc.stdout.fileno()
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    raise TimeoutError
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise EOFError
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            return json.loads(line)
        except (OSError, ValueError, EOFError, TimeoutError):
            self.kill()
            return None

    def unblock(self):
        """Ends a wait for the learner's kernel to connect: the checker then finds the bridge closed."""
        import socket

        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(1)
                probe.connect(self.socket)
        except OSError:
            pass

    def kill(self):
        self.alive = False
        try:
            self.proc.kill()
        except OSError:
            pass


def start_checker(static, env, notebook, statements):
    checker = CheckerProcess(static, env, notebook)
    started = checker.request({"op": "start", "socket": checker.socket, "preimports": static["preimports"]},
                              static.get("startup_timeout", 60))  # fmt: skip
    if started is None or not started.get("ok"):
        raise RuntimeError("the checker did not start")
    if statements is not None:
        checker.statements = statements
        if checker.request({"op": "imports", "statements": statements}, 120) is None:
            raise RuntimeError("the checker did not run the imports")
    return checker


class NotebookRun:
    def __init__(self, kernel, spec, nonce, deadline, cell_timeout, new_checker):
        self.kernel, self.spec, self.nonce = kernel, spec, nonce
        self.new_checker, self.checker = new_checker, None
        self.deadline, self.cell_timeout = deadline, cell_timeout
        self.cells, self.checks, self.events = [], [], []
        self.status, self.detail = "completed", ""

    def left(self):
        """What is left of the submission's time: run time (as Kernel.watch counts it), with wall clock as the
        last resort."""
        return min(self.deadline["limit"] - self.deadline["spent"], self.deadline["wall"] - time.monotonic())

    def budget(self):  # the next cell's seconds: its limit, or what is left of the submission's (an int)
        return max(1, int(min(self.cell_timeout, self.left() + 0.999)))

    async def check(self):
        """Guard report + canary: a cell that must end with the guard's own AssertionError."""
        pos = len(self.checks)
        src = f'__import__("sys").modules["_ts_{self.nonce}"].check({pos})'
        self.kernel.client.timeout = self.budget()
        cell, status, content = await self.kernel.run(src, store_history=False)
        self.deadline["spent"] += self.kernel.used
        canary = f"truongso-canary-{self.nonce}-{pos}"
        raised = (content.get("status") == "error" and content.get("ename") == "AssertionError"
                  and canary in str(content.get("evalue", "")))  # fmt: skip
        shown = any(o.get("output_type") == "error" and canary in str(o.get("evalue", "")) for o in cell.outputs)
        report, findings = False, []
        prefix = "\x1e" + self.nonce + ":"
        text = "".join(str(o.get("text", "")) for o in cell.outputs if o.get("output_type") == "stream")
        for line in (line for line in text.split("\n") if line.startswith(prefix)):
            try:
                data = json.loads(line[len(prefix) :])
                if data["pos"] == pos:
                    found = data["findings"][:50]
                    findings = [{"kind": str(f["kind"])[:40], "detail": str(f["detail"])[:300]} for f in found]
                    report = True
            except (ValueError, KeyError, TypeError):
                continue
        self.checks.append({"pos": pos, "status": status, "canary": raised and shown, "report": report,
                            "findings": findings})  # fmt: skip
        return pos, status

    async def run(self):
        cells = self.spec["cells"]
        pending = None  # a check run since the last code cell, shared by adjacent tests
        for n, spec in enumerate(cells):
            entry = {"i": spec["i"], "status": "not_run", "execution_count": None, "outputs": [], "truncated": False}
            if self.left() <= 0:
                self.status = "deadline"
                self.mark_rest(cells[n:], "deadline")
                return
            if spec.get("skip") and not spec.get("test"):
                entry["status"] = "skipped"
                self.cells.append(entry)
                continue
            if spec.get("test"):
                if pending is None:
                    pending, status = await self.check()
                    if status in ("died", "unresponsive", "runner_error"):
                        return self.stop(status, cells[n:])
                entry["check_before"] = pending
            self.kernel.client.timeout = self.budget()
            self.kernel.truncated = False
            if spec.get("test"):
                cell, status, outputs, verdict = await self.run_test(spec["src"])
                entry["checker"] = {
                    "status": (verdict or {}).get("status", "no_answer"),
                    "findings": [str(f)[:300] for f in (verdict or {}).get("findings", [])][:20],
                }
            else:
                cell, status, content = await self.kernel.run(spec["src"], store_history=True)
                self.deadline["spent"] += self.kernel.used
                nbgrader_error_output(cell, content)
                outputs = [dict(o) for o in cell.outputs]
            pending = None
            entry.update(status=status, execution_count=cell.get("execution_count"), outputs=outputs,
                         truncated=self.kernel.truncated)  # fmt: skip
            if "ts_error" in cell.get("metadata", {}):
                self.events.append({"kind": "runner_error", "i": spec["i"], "detail": cell.metadata["ts_error"]})
            self.cells.append(entry)
            if status in ("died", "unresponsive", "runner_error"):
                return self.stop(status, cells[n + 1 :])
            if spec.get("test"):
                pending, status = await self.check()
                entry["check_after"] = pending
                if status in ("died", "unresponsive", "runner_error"):
                    return self.stop(status, cells[n + 1 :])

    async def run_test(self, source):
        """A test cell runs in the checker; meanwhile the learner's kernel runs the responder in its place (so it
        takes the cell's execution count) and answers the checker's requests. The verdict is the checker's."""
        budget = self.budget()
        if self.checker is None or not self.checker.alive:
            try:
                self.checker = await asyncio.get_running_loop().run_in_executor(None, self.new_checker)
            except Exception as exc:
                self.events.append({"kind": "runner_error", "i": None, "detail": f"checker: {exc}"[:300]})
                cell = self.kernel.node(outputs=[], execution_count=None)
                return cell, "checker_failed", [], None
        checker = self.checker
        serve = (f"exec(compile({self.kernel.static['responder']!r}, '<truongso-responder>', 'exec'), "
                 f"{{'__name__': '_ts_responder', 'SOCKET': {checker.socket!r}, 'USER_NS': globals()}})")  # fmt: skip
        request = {"op": "test", "src": source, "timeout": budget * WALL_FACTOR,  # the kernel's limit decides
                   "cap_bytes": self.kernel.caps["cell_bytes"]}  # fmt: skip
        loop = asyncio.get_running_loop()
        answer = loop.run_in_executor(None, checker.request, request, budget * WALL_FACTOR + SERVE_WAIT + 10)
        cell, status, _ = await self.kernel.run(serve, store_history=True)
        self.deadline["spent"] += self.kernel.used
        done, _ = await asyncio.wait([answer], timeout=2)
        if not done and status in ("died", "unresponsive", "runner_error"):
            checker.kill()  # the notebook stops here; a checker still waiting on the kernel is not waited for
        elif not done:  # the responder ended (broken, interrupted or never connected): stop the checker's wait
            await loop.run_in_executor(None, checker.unblock)
        verdict = await answer
        learner = [dict(o) for o in cell.outputs if o.get("output_type") in ("stream", "display_data")]
        if verdict is not None:
            self.kernel.truncated |= bool(verdict.get("truncated"))
        if status in ("died", "unresponsive", "runner_error"):
            return cell, status, learner, verdict
        if verdict is None or verdict.get("status") not in ("ok", "error"):
            return cell, "timeout" if status == "timeout" else "checker_failed", learner, verdict
        outputs = learner + [dict(o) for o in verdict.get("outputs", []) if isinstance(o, dict)]
        for out in outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = cell.get("execution_count")
        if verdict["status"] == "error" and status == "timeout":
            return cell, "timeout", outputs, verdict
        return cell, verdict["status"], outputs, verdict

    def stop(self, status, rest):
        self.status = status
        self.mark_rest(rest, "not_run")

    def mark_rest(self, rest, status):
        for spec in rest:
            self.cells.append({"i": spec["i"], "status": status, "execution_count": None, "outputs": [],
                               "truncated": False})  # fmt: skip


def runqueue_wait(pid):
    """Seconds the kernel's threads spent ready to run but waiting for a CPU (the most of any thread)."""
    if pid is None:
        return 0.0
    waited = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                    waited = max(waited, int(fh.read().split()[1]))
            except (OSError, ValueError, IndexError):
                continue
    except OSError:
        return 0.0
    return waited / 1e9


def counters():
    """This container's cgroup so far (v2, else v1): CPU seconds, OOM kills, memory-limit hits (reclaim forced by
    the limit: a kernel can stall there, ignoring interrupts, before the OOM killer comes), pid-limit hits."""
    found = {"cpu": 0.0, "oom_kills": 0, "memory_max": 0, "pids_max": 0}
    for path, key, name, scale in (("/sys/fs/cgroup/cpu.stat", "usage_usec", "cpu", 1e-6),
                                   ("/sys/fs/cgroup/cpuacct/cpuacct.usage", "", "cpu", 1e-9),
                                   ("/sys/fs/cgroup/memory.events", "oom_kill", "oom_kills", 1),
                                   ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill", "oom_kills", 1),
                                   ("/sys/fs/cgroup/memory.events", "max", "memory_max", 1),
                                   ("/sys/fs/cgroup/memory/memory.failcnt", "", "memory_max", 1),
                                   ("/sys/fs/cgroup/pids.events", "max", "pids_max", 1),
                                   ("/sys/fs/cgroup/pids/pids.events", "max", "pids_max", 1)):  # fmt: skip
        try:
            with open(path) as fh:
                lines = [line.split() for line in fh]
        except OSError:
            continue
        for parts in lines:
            if (parts[:1] == [key] and len(parts) == 2) or (not key and len(parts) == 1):
                found[name] = max(found[name], int(parts[-1]) * scale)
    for name in ("oom_kills", "memory_max", "pids_max"):
        found[name] = int(found[name])
    return found


def limits():
    found = counters()
    return {name: found[name] for name in ("oom_kills", "memory_max", "pids_max")}


def self_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def kill_others(patience=10.0):
    """As PID 1, kill(-1) reaches every other process in the container: nothing outlives a notebook. Until the
    last one is reaped: a fork bomb's copies hold the pid limit while they are dying or zombies, and then even
    the runner cannot start a thread (the hand-in lost every mark it had earned before the bomb)."""
    give_up = time.monotonic() + patience
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:  # ESRCH: nobody else is left
            pass
        if reap() or time.monotonic() > give_up:
            return
        time.sleep(0.02)


KERNEL_BOOT = (
    # The learner's kernel and all it forks are what the OOM killer takes first, never the runner or the checker:
    # a fork bomb's copies filled the memory and the runner was killed, losing the marks earned before the bomb.
    # (Raising one's own score needs no privilege; learner code can lower it back only to the sandbox's 500.)
    "try:\n"
    "    with open('/proc/self/oom_score_adj', 'w') as f:\n"
    "        f.write('1000')\n"
    "    del f\n"
    "except OSError:\n"
    "    pass\n"
    "import sys\n"
    "if sys.path and sys.path[0] == '':\n"  # as ipykernel_launcher does
    "    del sys.path[0]\n"
    "sys.modules['debugpy'] = None\n"  # nobody debugs a graded kernel; its import is half the kernel's start
    "from ipykernel import kernelapp\n"
    "kernelapp.launch_new_instance()\n"
)


def prepare_dirs(static):
    import glob
    import shutil

    for d in (static["runtime_dir"], static["mpl_dir"], static["ipython_dir"]):
        os.makedirs(d, exist_ok=True)
    for path in glob.glob(os.path.join(static.get("mpl_cache", ""), "fontlist-*.json")):
        shutil.copy(path, static["mpl_dir"])  # the image's font list: no 2 s rebuild per container
    spec_dir = os.path.join(static["runtime_dir"], "path", "kernels", "python3")
    os.makedirs(spec_dir, exist_ok=True)
    with open(os.path.join(spec_dir, "kernel.json"), "w") as fh:
        json.dump({"argv": [sys.executable, "-c", KERNEL_BOOT, "-f", "{connection_file}"], "language": "python",
                   "display_name": "Python 3 (ipykernel)", "metadata": {"debugger": False}}, fh)  # fmt: skip
    os.environ["JUPYTER_PATH"] = os.path.join(static["runtime_dir"], "path")  # found before ipykernel's own
    os.environ["IPYTHONDIR"] = static["ipython_dir"]  # the read-only home is not a place for a profile


def reset_files(static, files):
    """Between notebooks (nothing else running): /tmp, /dev/shm and the working folder emptied and written
    afresh, so no start-up file, kernelspec, profile, module or data file of one notebook reaches the next."""
    import shutil

    for top in ("/tmp", "/dev/shm", static["workdir"]):
        try:
            entries = os.listdir(top)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(top, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass
    prepare_dirs(static)
    write_files(static["workdir"], files)


def write_files(workdir, files):
    import base64

    root = os.path.realpath(workdir)
    for item in files:
        path = os.path.realpath(os.path.join(root, item["path"]))
        if not path.startswith(root + os.sep):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(item["b64"]))


async def amain(static, stdin_fd, started, job_keys=None):
    nonce = os.urandom(12).hex()
    caps = static["caps"]
    env = dict(static["kernel_env"])
    boot = ("def _ts_boot():\n    import builtins\n"
            "    g = {'__name__': '_ts_guard', '__builtins__': dict(vars(builtins))}\n"
            f"    exec(compile({static['guard']!r}, '<truongso-guard>', 'exec'), g)\n"
            f"    g['install']({nonce!r}, {static['preimports']!r}, {caps['cell_bytes']!r})\n"
            "_ts_boot()\ndel _ts_boot\n")  # fmt: skip

    async def fresh_kernel(job_exec):
        kernel = Kernel(static, job_exec, caps)
        info = await kernel.start(env, static["workdir"])
        _, status, content = await kernel.run(boot, store_history=False)
        if status != "ok":
            raise RuntimeError(f"guard failed: {content.get('ename')}: {content.get('evalue')}")
        return kernel, info

    warm_error, warm_checker = None, None
    try:
        kernel, info = await fresh_kernel({})
        warm_checker = start_checker(static, env, 0, None)
    except Exception as exc:
        kernel, info, warm_error = None, None, f"{type(exc).__name__}: {exc}"
    warm_seconds = time.monotonic() - started
    warm_cpu, warm_self = counters()["cpu"], self_cpu()
    loop = asyncio.get_running_loop()
    if job_keys is not None:
        job = read_job_files(static, job_keys, static["max_job_bytes"])
    else:
        job = await loop.run_in_executor(None, read_job, stdin_fd, static["idle_timeout"], static["max_job_bytes"])
    if job is None:
        os._exit(3)
    job_started = time.monotonic()
    deadline = {"limit": float(job["deadline"]), "spent": 0.0,  # shared by the submission's notebooks
                "wall": job_started + float(job["deadline"]) * SUBMISSION_WALL_FACTOR}  # fmt: skip
    write_files(static["workdir"], job.get("files", []))
    job_exec = job.get("exec", {})
    cell_timeout = job_exec.get("timeout") or 10**6
    notebooks = []
    for n, spec in enumerate(job["notebooks"]):
        entry = {"name": spec["name"], "status": "completed", "detail": "", "language_info": None, "cells": [],
                 "checks": [], "events": [], "limits": limits()}  # fmt: skip
        notebooks.append(entry)
        try:
            if n > 0 or kernel is None:
                if kernel is not None:
                    await kernel.stop()
                kill_others()
                if n > 0:
                    reset_files(static, job.get("files", []))
                if warm_error and n == 0:
                    raise RuntimeError(warm_error)
                kernel, info = await fresh_kernel(job_exec)
            kernel.configure(job_exec)
        except Exception as exc:
            entry.update(status="start_failed", detail=f"{type(exc).__name__}: {exc}"[:500])
            entry["cells"] = [{"i": c["i"], "status": "not_run", "execution_count": None, "outputs": [],
                               "truncated": False} for c in spec["cells"]]  # fmt: skip
            kernel = None
            continue

        def new_checker(spec=spec, n=n):
            return start_checker(static, env, n, spec.get("imports", []))

        run = NotebookRun(kernel, spec, nonce, deadline, cell_timeout, new_checker)
        try:  # before any of this notebook's learner code runs
            if n == 0 and warm_checker is not None and warm_checker.alive:
                if warm_checker.request({"op": "imports", "statements": spec.get("imports", [])}, 120) is not None:
                    run.checker = warm_checker
            if run.checker is None and any(c.get("test") for c in spec["cells"]):
                run.checker = new_checker()
        except Exception as exc:  # started again at the first test; if that fails too, tests score 0
            run.events.append({"kind": "runner_error", "i": None, "detail": f"checker: {exc}"[:300]})
        await run.run()
        entry.update(status=run.status, language_info=info, cells=run.cells, checks=run.checks, events=run.events,
                     limits=limits())  # fmt: skip
        if kernel.state["non_utf8"]:
            entry["events"].append({"kind": "non_utf8_output", "i": None, "detail": "invalid UTF-8 from the kernel"})
    kill_others()  # the last notebook's processes too: none may hold the pid or memory limit while we report
    state = {"non_utf8": False}
    result = clean({"protocol": PROTOCOL, "warm_seconds": round(warm_seconds, 3),
                    "elapsed": round(time.monotonic() - job_started, 3), "notebooks": notebooks,
                    "cpu": {"warm": round(warm_cpu, 3), "total": round(counters()["cpu"], 3),
                            "runner_warm": round(warm_self, 3), "runner_total": round(self_cpu(), 3)}},
                   state)  # fmt: skip
    if state["non_utf8"]:
        for entry in result["notebooks"]:
            entry["events"].append({"kind": "non_utf8_output", "i": None, "detail": "lone surrogates replaced"})
    return job["key"], result


def main():
    started = time.monotonic()
    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4: 0
    static = json.loads(sys.argv[1])
    job_keys = os.environ.pop(JOB_KEY_ENV, None)  # gone before any child starts; /proc/1/environ: not dumpable
    for name, value in static.get("rlimits", {}).items():  # what a swarm task cannot be given (API 1.41)
        resource.setrlimit(getattr(resource, name), (value, value))
    result_fd, stdin_fd, diag_fd = os.dup(1), os.dup(0), os.dup(2)  # private: not inherited by the kernel
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stderr = os.fdopen(diag_fd, "w", buffering=1)  # the runner's own errors reach the host's log
    signal.signal(signal.SIGCHLD, reap)
    prepare_dirs(static)
    try:
        # Not asyncio.run: its clean-up starts a thread, which fails while learner processes hold the pid
        # limit; nothing needs cleaning up, the runner exits as soon as its frame is written.
        key, result = asyncio.new_event_loop().run_until_complete(amain(static, stdin_fd, started, job_keys))
    except BaseException:
        import traceback

        traceback.print_exc()  # no frame: the host records a sandbox failure with this stderr
        sys.stderr.flush()
        os._exit(4)
    payload = json.dumps(result, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    mac = hmac.new(bytes.fromhex(key), payload, hashlib.sha256).hexdigest().encode()
    frame = b"\n" + MARKER + b" " + mac + b" " + str(len(payload)).encode() + b"\n" + payload + b"\n"
    view = memoryview(frame)
    while view:
        view = view[os.write(result_fd, view) :]
    os._exit(0)


if __name__ == "__main__":
    main()
