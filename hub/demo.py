"""Demo mode's course content: the first assignment of each course is already released, with a deadline two
weeks ahead, so a newcomer can walk the whole loop (fetch, submit, collect, grade, feedback) at once."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from graders.coursedir import course_dir
from graders.exchange.archive import inspect_archive, pack_directory
from graders.text import UserError
from hub.coursework.store import ExchangeStore
from hub.directory.db import Directory
from hub.settings import HubSettings

DEMO_DEADLINE = timedelta(days=14)


def ensure_demo_releases(settings: HubSettings, directory: Directory) -> list[str]:
    """Release each course's first assignment unless it already is; returns what was released now."""
    store = ExchangeStore.of_hub(directory, settings)
    released = []
    firsts = {course.id: course.assignments[0].id for course in settings.load_courses()}
    pending = [(course_id, first, course_dir(settings.data_path, course_id)) for course_id, first in firsts.items()
               if not any(r.assignment_id == first for r in store.releases(course_id))]  # fmt: skip
    # One nbgrader process per course at once: each takes seconds (start-up, gradebook migrations), one core each.
    with ThreadPoolExecutor(max_workers=max(1, len(pending))) as pool:
        list(pool.map(lambda job: _generate(job[2], job[1]), pending))
    for course_id, first, root in pending:
        data = pack_directory(root / "release" / first)
        notebooks = inspect_archive(data).notebooks
        store.release(course_id, first, data, notebooks, "demo", False, datetime.now(UTC) + DEMO_DEADLINE)
        released.append(f"{course_id}/{first}")
    return released


def _generate(root: Path, assignment_id: str) -> None:
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        [str(bin_dir / "nbgrader"), "generate_assignment", assignment_id, "--force"],
        cwd=root, capture_output=True, text=True, timeout=300,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(root)},  # nbgrader runs `alembic` by name
    )  # fmt: skip
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        raise UserError(f"không tạo được bài demo {assignment_id}: {tail[0]}",
                        f"cannot generate the demo assignment {assignment_id}: {tail[0]}")  # fmt: skip
