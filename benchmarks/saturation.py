"""Same grade on a busy machine: the whole adversarial suite graded alone, then again several times while the
machine is saturated (CPU hogs and a second grading batch at once), compared case by case.

Stock nbgrader has no such guarantee to compare with: its limits are wall-clock, and it runs these hand-ins
unsandboxed (never on this host). What this prints is ours: per round, the cases whose test scores or finding
kinds differ from the unloaded round (none expected), and each round's time.

    .venv/bin/python benchmarks/saturation.py [--rounds 3] [--hogs 2] [--image truongso/grader:latest]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "grading"))
sys.modules.setdefault("rfc3987_syntax", None)  # jsonschema's IRI checker: a 3 s import nobody here needs

from grading_support import ASSIGNMENT, COURSE, SUBMISSIONS, case_path, fast_config, make_course, submit  # noqa: E402

from graders.autograde import GradeReport, grade_assignment  # noqa: E402

CASES = sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir())


def outcome(report: GradeReport) -> dict[str, tuple]:
    found = {}
    for result in report.results:
        tests = tuple(sorted((c.grade_id, c.score) for c in result.cells if c.grade_id.startswith("kt")))
        found[result.student] = (tests, tuple(sorted({f.kind for f in result.findings})))
    return found


def batch(work: Path, name: str, image: str) -> GradeReport:
    root = make_course(work / name, COURSE, ASSIGNMENT)
    for case in CASES:
        submit(root, case, case_path(case))
    return grade_assignment(root, ASSIGNMENT, image=image, name_prefix=f"bench-{name}", config=fast_config())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hogs", type=int, default=2)
    parser.add_argument("--image", default="truongso/grader:latest")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="saturation-") as tmp:
        work = Path(tmp)
        started = time.monotonic()
        alone = outcome(batch(work, "alone", args.image))
        print(f"alone: {len(alone)} cases in {time.monotonic() - started:.0f} s")
        differing = 0
        for n in range(args.rounds):
            hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
            started = time.monotonic()
            try:
                with ThreadPoolExecutor(2) as pool:
                    names = [f"busy{n}-{k}" for k in range(2)]
                    reports = list(pool.map(lambda name: batch(work, name, args.image), names))
            finally:
                for hog in hogs:
                    hog.kill()
            seconds = time.monotonic() - started
            for k, report in enumerate(reports):
                busy = outcome(report)
                diff = sorted(case for case in alone if busy.get(case) != alone[case])
                differing += len(diff)
                print(f"round {n + 1} batch {k + 1} ({args.hogs} CPU hogs + the other batch): {seconds:.0f} s, "
                      f"{len(diff)} of {len(alone)} cases differ{': ' + ', '.join(diff) if diff else ''}")  # fmt: skip
                for case in diff:
                    print(f"    {case}: alone {alone[case]}\n    {' ' * len(case)}  busy  {busy.get(case)}")
        print(f"cases graded differently under saturation: {differing} (of {len(alone) * 2 * args.rounds})")


if __name__ == "__main__":
    main()
