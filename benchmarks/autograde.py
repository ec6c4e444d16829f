"""Autograde throughput: Trường Số (sandboxed, parallel) vs stock `nbgrader autograde`, same submissions, one run.

N submissions (default 100) of one real assignment: mostly honest (solution, typical mistakes, blank), a few
broken or hostile (invalid JSON, an endless loop, os._exit, error swallowing, a memory bomb). Two copies of
the same generated course directory; stock nbgrader grades one inside a throwaway grader container (network
off, memory and pid limits, the copy mounted: hostile code cannot touch this host), we grade the other.
Repetitions alternate which tool goes first; each starts from fresh copies. Scores must agree on every
non-hostile submission.

    .venv/bin/python benchmarks/autograde.py [--assignment 02-lam-sach-du-lieu] [-n 100] [--repeat 1] [--workers N]

Prints per-round times, our phase breakdown, a table, and last the headline ratio (stock / ours).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "grading"))
sys.modules.setdefault("rfc3987_syntax", None)  # jsonschema's IRI checker: a 3 s import nobody here needs

import docker  # noqa: E402
import nbformat  # noqa: E402
import requests  # noqa: E402
from grading_support import make_course, nbgrader_run, scores  # noqa: E402
from nbformat.v4 import new_code_cell  # noqa: E402

from graders.autograde import grade_assignment  # noqa: E402
from graders.curriculum import default_courses_root, load_course  # noqa: E402

HONEST = ("loi-giai", "dien-hinh", "ban-phat")  # solution, typical mistakes, released blank
HOSTILE = {
    "x-invalid-json": None,
    "x-endless-loop": "while True:\n    pass",
    "x-os-exit": "import os\nos._exit(0)",
    "x-swallow-errors": "get_ipython().input_transformers_post.append(\n    lambda lines: ['try:\\n'] + "
    "['    ' + l for l in lines] + ['\\nexcept BaseException:\\n    pass\\n'])",
    "x-memory-bomb": "_b = []\nwhile True:\n    _b.append(b'x' * (64 << 20))",
}
STOCK_LIMITS = {"mem_limit": "4g", "memswap_limit": "4g", "pids_limit": 512, "network_mode": "none"}


def hand_ins(root: Path, course_id: str, assignment: str) -> dict[str, dict[str, object]]:
    course = load_course(default_courses_root() / course_id)
    notebooks = course.assignment(assignment).notebooks
    src = root / "source" / assignment
    typical = course.path / "test-submissions" / assignment / "typical"
    base = {
        "loi-giai": {nb: nbgrader_run.solution_submission(src / nb) for nb in notebooks},
        "dien-hinh": {nb: nbformat.read(typical / nb, as_version=4) for nb in notebooks},
        "ban-phat": {nb: nbformat.read(root / "release" / assignment / nb, as_version=4) for nb in notebooks},
    }
    for name, code in HOSTILE.items():
        variant = {}
        for nb_name, nb in base["loi-giai"].items():
            if code is None:
                variant[nb_name] = nbformat.writes(nb)[:2000]  # truncated: not JSON
                continue
            nb = copy.deepcopy(nb)
            cell = new_code_cell(code)
            cell["id"] = "hostile"
            nb.cells.insert(len(nb.cells) // 2 if "exit" in name or "bomb" in name else 0, cell)
            variant[nb_name] = nb
        base[name] = variant
    return base


def populate(root: Path, assignment: str, subs: dict[str, dict[str, object]], n: int) -> list[str]:
    plan = list(HOSTILE)
    weights = (("loi-giai", 0.45), ("dien-hinh", 0.4), ("ban-phat", 0.15))
    honest_n = n - len(plan)
    for kind, share in weights:
        plan += [kind] * round(honest_n * share)
    plan = (plan + ["loi-giai"] * n)[:n]
    students = []
    for i, kind in enumerate(plan):
        student = f"{kind}-{i:03d}"
        dest = root / "submitted" / student / assignment
        dest.mkdir(parents=True, exist_ok=True)
        for nb_name, nb in subs[kind].items():
            if isinstance(nb, str):
                (dest / nb_name).write_text(nb, encoding="utf-8")
            else:
                nbformat.write(nb, dest / nb_name)
        (dest / "timestamp.txt").write_text("2026-05-01 10:00:00.000000 UTC", encoding="utf-8")
        students.append(student)
    return students


def fresh_copy(template: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(template, dest)
    config = dest / "nbgrader_config.py"
    config.write_text(config.read_text(encoding="utf-8").replace(str(template), str(dest)), encoding="utf-8")
    dest.chmod(0o777)
    for path in dest.rglob("*"):  # the stock container runs as the image's user (uid 1001)
        path.chmod(0o777 if path.is_dir() else 0o666)
    return dest


def container_cpu(container_id: str) -> float:
    """CPU seconds a container used so far (cgroup v1 cpuacct, as on this project's machines)."""
    for path in (f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage",
                 f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat"):  # fmt: skip
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        if path.endswith("usage"):
            return int(text) / 1e9
        return int(text.split("usage_usec")[1].split()[0]) / 1e6
    return float("nan")


def run_stock(client: docker.DockerClient, image: str, root: Path, assignment: str) -> tuple[float, float]:
    """Stock nbgrader in a throwaway grader container: the batch is sequential, as nbgrader runs it."""
    started = time.monotonic()
    cmd = ["sh", "-c", f"unset MPLBACKEND; cd {root} && nbgrader autograde {assignment} --force >stock.log 2>&1"]
    container = client.containers.run(image, cmd, detach=True, user="1001:1001", environment={"HOME": "/tmp"},
                                      volumes={str(root): {"bind": str(root), "mode": "rw"}},
                                      name=f"truongso-bench-stock-{int(started)}", **STOCK_LIMITS)  # fmt: skip
    cpu = float("nan")
    try:
        while time.monotonic() - started < 7200:  # sample CPU while it runs: an exited cgroup is gone
            sample = container_cpu(container.id)
            cpu = sample if sample == sample else cpu  # NaN once the cgroup is gone
            try:
                container.wait(timeout=1)
                break
            except requests.exceptions.ConnectionError:
                continue
    finally:
        container.remove(force=True)
    return time.monotonic() - started, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--course", default="phan-tich-du-lieu")
    parser.add_argument("--assignment", default="02-lam-sach-du-lieu")
    parser.add_argument("-n", "--submissions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--image", default="truongso/grader:latest")
    parser.add_argument("--keep", action="store_true", help="keep the course copies (printed) for inspection")
    args = parser.parse_args()
    client = docker.from_env(timeout=600)
    work = Path(tempfile.mkdtemp(prefix="truongso-bench-"))
    try:
        print(f"Preparing {args.submissions} submissions of {args.course}/{args.assignment} in {work} …", flush=True)
        template = make_course(work / "template", args.course, args.assignment,
                               extra_config="c.ExecutePreprocessor.timeout = 30\n")  # nbgrader's default  # fmt: skip
        students = populate(template, args.assignment, hand_ins(template, args.course, args.assignment),
                            args.submissions)  # fmt: skip
        times: dict[str, list[float]] = {"stock": [], "ours": []}
        phases: dict[str, float] = {}
        cpu: dict[str, float] = {}
        agree = True
        for rep in range(args.repeat):
            order = ("stock", "ours") if rep % 2 == 0 else ("ours", "stock")
            roots = {}
            for tool in order:
                root = fresh_copy(template, work / tool / args.course)
                roots[tool] = root
                if tool == "stock":
                    seconds, cpu["stock"] = run_stock(client, args.image, root, args.assignment)
                else:
                    started = time.monotonic()
                    report = grade_assignment(root, args.assignment, workers=args.workers, image=args.image,
                                              name_prefix="truongso-bench", force=True)  # fmt: skip
                    seconds = time.monotonic() - started
                    phases = report.timings
                    workers = report.workers
                    cpu["ours"] = phases.get("cpu_total", float("nan"))
                times[tool].append(seconds)
                print(f"round {rep + 1} {tool:<5} {seconds:8.1f} s  ({seconds / len(students):.2f} s per submission)",
                      flush=True)  # fmt: skip
            db = {t: scores(f"sqlite:///{r / 'gradebook.db'}", args.course, args.assignment) for t, r in roots.items()}
            honest = [s for s in students if not s.startswith("x-")]
            differ = [s for s in honest if db["stock"].get((s, "total")) != db["ours"].get((s, "total"))]
            agree &= not differ
            if differ:
                print(f"  scores differ for {len(differ)} honest submissions, e.g. {differ[:3]}")
            faked = [s for s in students if s.startswith("x-swallow") and (db["ours"].get((s, "total")) or (0,))[0]]
            if faked:
                print(f"  WARNING: ours gave points to {faked}")
            stock_swallow = [db["stock"].get((s, "total")) for s in students if s.startswith("x-swallow")]
            print(f"  stock's score for the error-swallowing submission: {stock_swallow}")
        med = {t: statistics.median(v) for t, v in times.items()}
        print(f"\nOur phases (seconds summed over submissions, {workers} workers):")
        for phase, value in sorted(phases.items(), key=lambda kv: -kv[1]):
            print(f"  {phase:<8} {value:8.1f}  ({value / len(students):.2f} per submission)")
        print(f"\n{'tool':<8}{'rounds':>8}{'median s':>11}{'s/submission':>14}")
        for tool in ("stock", "ours"):
            print(f"{tool:<8}{len(times[tool]):>8}{med[tool]:>11.1f}{med[tool] / len(students):>14.2f}")
        n = len(students)
        print(f"CPU in containers, last round: stock {cpu.get('stock', 0) / n:.2f} s/submission, "
              f"ours {cpu.get('ours', 0) / n:.2f} s/submission (plus the engine's own work per sandbox)")  # fmt: skip
        print(f"scores agree on all {len(honest)} non-hostile submissions: {'yes' if agree else 'NO'}")
        print(f"HEADLINE autograde {len(students)} submissions of {args.assignment}: ours is "
              f"{med['stock'] / med['ours']:.2f}x stock speed (sandboxed; >1 = faster)")  # fmt: skip
        return 0 if agree else 1
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    sys.exit(main())
