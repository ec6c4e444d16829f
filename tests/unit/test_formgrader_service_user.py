"""Who the formgraders run as, on a data directory `up` has not filled yet (found by the offline-install test:
`make run` from a checkout under a world-searchable folder, /opt, crashed on the missing run/formgraders)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.requirements import require

from hub.services.formgrader import runs_as_service_user


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder every user can pass through (pytest's own temporary folders are private, 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="truongso-fg-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_a_data_directory_without_its_run_folder_yet_is_judged_on_what_exists(open_folder: Path) -> None:
    require(os.geteuid() == 0, "the formgraders change user only when the hub runs as root")
    python = Path(os.path.realpath(sys.executable))
    require(all(p.stat().st_mode & 0o001 for p in python.parents), "this Python is private (pyenv under /root)")
    data = open_folder / "data"
    (data / "courses").mkdir(parents=True)
    data.chmod(0o755)
    assert runs_as_service_user(data)  # run/formgraders does not exist yet: no FileNotFoundError
    (data / "run" / "formgraders").mkdir(parents=True)
    (data / "run").chmod(0o700)  # once made private, the service user cannot reach its config
    assert not runs_as_service_user(data)
