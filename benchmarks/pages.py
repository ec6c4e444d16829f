"""Instructor pages at a year's scale: our formgrader beside stock nbgrader's, on the same gradebook, one run.

The course (tests/support/formgrader_world.py): LEARNERS learners (8,700: a year's enrolments) who each
submitted ASSIGNMENTS - 1 past assignments, and a current assignment with SUBMISSIONS submitted and
autograded notebooks (plus the usual: collected but not graded, no gradebook record, flagged, waiting
answers). Two jupyter servers run the formgrader on that course folder side by side:
- stock: nbgrader's formgrader extension as installed, nothing else;
- ours: the server the hub starts for a course (hub/services/formgrader: `formgrader_service`'s flags, our
  extension with fast_api.py's bulk reads, sanitised display), only the hub's OAuth left out.
Both use nbgrader's file exchange in a temporary folder (ours uses the hub's exchange, which needs a hub).

A page's time is what a browser waits for before it shows data: the page's HTML, then the JSON calls its
script makes (one after the other). Pages are measured alternately (ours, stock; stock, ours; …) REPEAT
times; P50/P95 per page. The JSON answers of both are compared once (they must be equal). A stock request
still running after TIMEOUT seconds is counted as "> TIMEOUT" and that server is restarted (nbgrader's
handlers block its event loop). Then the portal's progress page and the autograding report, in process,
at the same scale (ours only: there is no stock counterpart).

    .venv/bin/python benchmarks/pages.py [--submissions 1000] [--learners 8700] [--assignments 11] [--repeat 5]
                                         [--timeout 120] [--world DIR]

`--world DIR` keeps the generated course in DIR and reuses it on the next run (building it takes ~1 min).
Never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from support.formgrader_world import COURSE_ID, NOTEBOOKS, World, build_world, nbgrader_config  # noqa: E402

BIN = Path(sys.executable).parent
TOKEN = "benchmark-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One jupyter server with a formgrader, on loopback, reached with a token."""

    def __init__(self, name: str, cwd: Path, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.cwd, self.args, self.env, self.log = name, cwd, args, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.port = free_port()
        command = [str(BIN / "jupyter-server"), f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
                   "--ServerApp.open_browser=False", f"--IdentityProvider.token={TOKEN}", *self.args]  # fmt: skip
        # the hub runs formgraders as an unprivileged user; here both run as we do
        if os.geteuid() == 0 and "--ServerApp.allow_root=True" not in self.args:
            command.append("--ServerApp.allow_root=True")
        self.proc = subprocess.Popen(command, cwd=self.cwd, env=self.env, stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} server stopped at start:\n{self.log.read_text()[-3000:]}")
            try:
                if self.get("/formgrader/api/status", 5)[0] == 200:
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.5)
        raise SystemExit(f"{self.name} server did not answer; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def get(self, path: str, timeout: float) -> tuple[int, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         headers={"Authorization": f"token {TOKEN}"})  # fmt: skip

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):  # a "next" answer is the redirect itself
                return None

        try:
            with urllib.request.build_opener(NoRedirect).open(request, timeout=timeout) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def servers(world: World, work: Path) -> tuple[Server, Server]:
    exchange = work / "exchange"
    exchange.mkdir(exist_ok=True)
    config = nbgrader_config(world, exchange)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}  # nbgrader runs `alembic` by name
    # stock: its own folder with the course's nbgrader_config.py, nbgrader's formgrader as installed
    stock_dir = work / "stock"
    stock_dir.mkdir(exist_ok=True)
    (stock_dir / "nbgrader_config.py").write_text(config, encoding="utf-8")
    stock = Server("stock", stock_dir, [f"--ServerApp.root_dir={world.root}"], env, work / "stock.log")
    # ours: the flags the hub starts a course's formgrader with (jupyterhub-singleuser without the hub's OAuth)
    from hub.services.formgrader import formgrader_service
    from hub.settings import HubSettings

    (work / "data" / "run" / "formgraders").mkdir(parents=True, exist_ok=True)
    settings = HubSettings(data_dir=str(work / "data"), service_ports={f"formgrader-{COURSE_ID}": 1, "exchange": 1})
    service = formgrader_service(settings, COURSE_ID)
    args = [a if not a.startswith("--ServerApp.root_dir=") else f"--ServerApp.root_dir={world.root}"
            for a in service["command"][1:]]  # fmt: skip
    ours_dir = work / "ours"
    ours_dir.mkdir(exist_ok=True)
    (ours_dir / "nbgrader_config.py").write_text(config, encoding="utf-8")
    ours_env = {**env, "JUPYTER_CONFIG_PATH": service["environment"]["JUPYTER_CONFIG_PATH"],
                "PYTHONPATH": str(REPO)}  # fmt: skip
    ours = Server("ours", ours_dir, args, ours_env, work / "ours.log")
    return ours, stock


def pages(world: World) -> list[tuple[str, list[str]]]:
    a, nb = world.current, next(iter(NOTEBOOKS))
    sid = world.submission_ids[len(world.submission_ids) // 2]
    grading = [f"/formgrader/submissions/{sid}/", f"/formgrader/api/grades?submission_id={sid}",
               f"/formgrader/api/comments?submission_id={sid}"]  # fmt: skip
    return [
        ("manage assignments", ["/formgrader/manage_assignments", "/formgrader/api/assignments"]),
        ("submissions list", [f"/formgrader/manage_submissions/{a}", f"/formgrader/api/submissions/{a}"]),
        ("gradebook", ["/formgrader/gradebook", "/formgrader/api/assignments"]),
        ("gradebook: assignment", [f"/formgrader/gradebook/{a}", f"/formgrader/api/notebooks/{a}"]),
        ("gradebook: notebook", [f"/formgrader/gradebook/{a}/{nb}", f"/formgrader/api/submitted_notebooks/{a}/{nb}"]),
        ("grading view", grading),
        ("grading view: next", [f"/formgrader/submissions/{sid}/next"]),
    ]


def comparable(path: str, body: bytes) -> object:
    """A JSON answer as both sides must give it (grades and comments: in id order, stock has no order)."""
    data = json.loads(body)
    if isinstance(data, list) and ("/api/grades" in path or "/api/comments" in path):
        data = sorted(data, key=lambda x: x["id"])
    return data


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def show(value: float | None, timeout: float) -> str:
    return f"> {timeout:.0f}" if value is None else f"{value:.3f}"


def measure_formgrader(world: World, work: Path, repeat: int, timeout: float) -> list[dict]:
    ours, stock = servers(world, work)
    for server in (ours, stock):
        server.start()
    results = []
    try:
        for name, paths in pages(world):
            times: dict[str, list[float]] = {"ours": [], "stock": []}
            timed_out: set[str] = set()
            answers: dict[str, dict[str, object]] = {"ours": {}, "stock": {}}
            for rep in range(repeat):
                for server in (ours, stock) if rep % 2 == 0 else (stock, ours):
                    if server.name in timed_out:
                        continue
                    started = time.perf_counter()
                    try:
                        for path in paths:
                            status, body = server.get(path, timeout)
                            if status not in (200, 302):
                                raise SystemExit(f"{server.name} {path}: HTTP {status}; see {server.log}")
                            if rep < 2 and "/api/" in path:
                                answers[server.name][path] = comparable(path, body)
                    except (TimeoutError, urllib.error.URLError) as exc:
                        if server.name == "ours" or not isinstance(getattr(exc, "reason", exc), TimeoutError):
                            raise
                        timed_out.add(server.name)
                        print(f"  {name}: stock still busy after {timeout:.0f} s; restarting it", flush=True)
                        server.restart()
                        continue
                    times[server.name].append(time.perf_counter() - started)
            agree = all(answers["ours"][p] == answers["stock"][p] for p in answers["stock"])
            if not agree:
                raise SystemExit(f"{name}: our answers differ from stock's")
            row = {"page": name, "requests": len(paths), "same answers": agree or "stock timed out"}
            for arm in ("ours", "stock"):
                done = times[arm]
                row[arm] = (None if arm in timed_out or not done else percentile(done, 0.5),
                            None if arm in timed_out or not done else percentile(done, 0.95))  # fmt: skip
            results.append(row)
            print(f"  {name:<22} ours P50 {show(row['ours'][0], timeout)} s P95 {show(row['ours'][1], timeout)} s"
                  f" | stock P50 {show(row['stock'][0], timeout)} s P95 {show(row['stock'][1], timeout)} s",
                  flush=True)  # fmt: skip
    finally:
        for server in (ours, stock):
            server.stop()
    return results


def portal_app(world: World, work: Path, class_size: int = 60) -> SimpleNamespace:
    """What the portal's views read, for `world`'s course: its classes of `class_size` learners in the
    directory, every assignment released, every gradebook submission as an exchange submission (the past ones
    with feedback), and the autograder's report of the current assignment."""
    from sqlalchemy import create_engine, text

    from graders.autograde.findings import Finding
    from graders.autograde.report import REPORT_DIR, SubmissionResult
    from graders.curriculum import Assignment, CompletionRule, Course, LocalizedText
    from hub.coursework.models import Feedback, Submission
    from hub.coursework.store import SCHEMA_BRANCH, ExchangeStore
    from hub.directory.db import Directory, upgrade_schema
    from hub.directory.models import Enrolment, EnrolmentRole, Person, SchoolClass
    from hub.settings import HubSettings

    data = work / "portal"
    data.mkdir()
    db_url = f"sqlite:///{data / 'truongso.sqlite'}"
    settings = HubSettings.create({"data_dir": str(data), "db_url": db_url, "gradebook_url": world.db_url}, "pages")
    directory = Directory(db_url)
    directory.ensure_schema()
    upgrade_schema(directory.engine, SCHEMA_BRANCH)
    classes = {u: f"K{i // class_size:03d}" for i, u in enumerate(world.learners)}
    with directory.session() as s:
        s.bulk_insert_mappings(SchoolClass, [{"name": c, "title": c, "course_id": COURSE_ID, "year": 2026}
                                             for c in sorted(set(classes.values()))])  # fmt: skip
        s.bulk_insert_mappings(Person, [{"username": u, "full_name": f"Học viên {u}", "organisation": "Sở Nội vụ"}
                                        for u in world.learners])  # fmt: skip
        s.bulk_insert_mappings(Enrolment, [{"class_name": c, "username": u, "role": EnrolmentRole.learner}
                                           for u, c in classes.items()])  # fmt: skip
    store = ExchangeStore(directory, data / "blobs")
    for a in world.assignments:
        store.release(COURSE_ID, a, b"release", list(NOTEBOOKS), "gv", False, None)
    engine = create_engine(world.db_url)
    with engine.connect() as conn:
        subs = conn.execute(text("SELECT sa.id, sa.student_id, a.name, sa.timestamp FROM submitted_assignment sa "
                                 "JOIN assignment a ON a.id = sa.assignment_id")).all()  # fmt: skip
    engine.dispose()
    rows, feedback = [], []
    for sub_id, student, assignment, stamp in subs:
        moment = datetime.fromisoformat(str(stamp)).replace(tzinfo=UTC)
        rows.append({"id": sub_id, "course_id": COURSE_ID, "assignment_id": assignment, "student": student,
                     "class_name": classes[student], "submitted_at": moment, "timestamp": str(stamp), "attempt": 1,
                     "blob": "0" * 64, "size": 1, "notebooks": json.dumps(list(NOTEBOOKS)), "due_at": None,
                     "seconds_late": 0})  # fmt: skip
        if assignment != world.current:
            feedback += [{"submission_id": sub_id, "notebook_id": nb, "blob": "0" * 64, "released_by": "gv"}
                         for nb in NOTEBOOKS]  # fmt: skip
    with directory.session() as s:
        for table, values in ((Submission, rows), (Feedback, feedback)):
            for start in range(0, len(values), 20000):
                s.bulk_insert_mappings(table, values[start : start + 20000])
    report = {"course_id": COURSE_ID, "assignment_id": world.current, "submissions": {
        u: SubmissionResult(u, "graded", 14.5, 22.0, findings=[Finding("always_true_eq", "bai-tap", "kt-1")] if i % 50
                            == 0 else []).to_json() for i, u in enumerate(world.submitted)}}  # fmt: skip
    (world.root / REPORT_DIR).mkdir(exist_ok=True)
    (world.root / REPORT_DIR / f"{world.current}.json").write_text(json.dumps(report), encoding="utf-8")
    course = Course(COURSE_ID, LocalizedText("Năm học"), LocalizedText(""), 40,
                    tuple(Assignment(a, LocalizedText(a), 22) for a in world.assignments), CompletionRule(True, 70),
                    world.root)  # fmt: skip
    print(f"portal: {len(set(classes.values()))} classes, {len(rows)} exchange submissions", flush=True)
    return SimpleNamespace(settings=settings, directory=directory, store=store, courses={COURSE_ID: course},
                           course_dir=lambda course_id: world.root, first_class=classes[world.learners[0]])  # fmt: skip


def measure_portal(world: World, work: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """The portal's progress page and autograding report: the data its handlers assemble (views.py), in
    process (the HTML around it is a template over these rows)."""
    from hub.coursework.access import Caller
    from hub.services.portal import views

    app = portal_app(world, work)
    one_class = Caller("gv", "user", instructor_courses={COURSE_ID}, instructor_classes={app.first_class})
    admin = Caller("admin", "user", admin=True)
    calls = {
        "progress, one class": lambda: views.instructor_view(app, one_class, COURSE_ID),
        f"progress, all {len(world.learners)} learners (admin)": lambda: views.instructor_view(app, admin, COURSE_ID),
        "autograding report, one class": lambda: views.integrity_report(app, one_class, COURSE_ID, world.current),
        "autograding report, all (admin)": lambda: views.integrity_report(app, admin, COURSE_ID, world.current),
    }
    out = {}
    for name, call in calls.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        out[name] = (percentile(times, 0.5), percentile(times, 0.95))
        print(f"  portal: {name:<40} P50 {out[name][0]:.3f} s P95 {out[name][1]:.3f} s", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--learners", type=int, default=8700)
    parser.add_argument("--assignments", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a stock request is given up")
    parser.add_argument("--world", type=Path, help="keep the generated course here and reuse it")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="truongso-pages-"))
    try:
        root = (args.world or work / "world") / "course"
        marker = root.parent / "world.json"
        wanted = {"learners": args.learners, "assignments": args.assignments, "submissions": args.submissions}
        world = None
        if marker.is_file():
            saved = json.loads(marker.read_text())
            if saved["params"] == wanted:
                world = World(root, **saved["world"])
                print(f"course reused from {root}", flush=True)
        if world is None:
            shutil.rmtree(root.parent, ignore_errors=True)
            started = time.perf_counter()
            world = build_world(root, log=lambda m: print(m, flush=True), **wanted)
            print(f"course built in {time.perf_counter() - started:.0f} s", flush=True)
            marker.write_text(json.dumps({"params": wanted, "world": {k: v for k, v in vars(world).items()
                                                                        if k != "root"}}))  # fmt: skip
        print(f"\nformgrader pages, {args.repeat} times each, alternately (seconds):", flush=True)
        results = measure_formgrader(world, work, args.repeat, args.timeout)

        portal = measure_portal(world, work, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("\n| page | requests | ours P50 | ours P95 | stock P50 | stock P95 | stock / ours (P95) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in results:
        ours50, ours95 = row["ours"]
        stock50, stock95 = row["stock"]
        ratio = f"{stock95 / ours95:.1f}x" if stock95 is not None else f"> {args.timeout / ours95:.0f}x"
        print(f"| {row['page']} | {row['requests']} | {ours50:.3f} | {ours95:.3f} | {show(stock50, args.timeout)} | "
              f"{show(stock95, args.timeout)} | {ratio} |")  # fmt: skip
    for name, (p50, p95) in portal.items():
        print(f"| portal: {name} | 1 | {p50:.3f} | {p95:.3f} | - | - | - |")
    if portal:
        name, (_, p95) = max(portal.items(), key=lambda item: item[1][1])
        print(f"portal (ours only, no stock counterpart): slowest P95 {p95:.2f} s ({name})")
    slowest_ours = max(r["ours"][1] for r in results)  # the pages both sides have
    stock_values = [r["stock"][1] for r in results]
    if any(v is None for v in stock_values):
        stock_text, ratio_text = f"> {args.timeout:.0f} s", f"> {args.timeout / slowest_ours:.1f}x"
    else:
        slowest_stock = max(stock_values)
        stock_text, ratio_text = f"{slowest_stock:.2f} s", f"{slowest_stock / slowest_ours:.1f}x"
    print(f"HEADLINE pages at {args.submissions} submissions: slowest P95 ours {slowest_ours:.2f} s, "
          f"stock {stock_text}; ours is {ratio_text} stock")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
