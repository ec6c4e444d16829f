"""Every source notebook (with its solutions) runs top to bottom, offline, in well under a minute."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from graders.curriculum import default_courses_root, load_courses

NOTEBOOKS = [
    c.source_dir / a.id / nb for c in load_courses(default_courses_root()) for a in c.assignments for nb in a.notebooks
]

# Prepended to the notebook (not saved): any attempt to reach a non-local address fails loudly.
NO_NETWORK = """
import socket as _socket
_LOCAL = {"127.0.0.1", "::1", "localhost"}
_connect, _getaddrinfo = _socket.socket.connect, _socket.getaddrinfo
def _guard_connect(self, address, *args):
    if isinstance(address, tuple) and address[0] not in _LOCAL:
        raise OSError(f"network access is disabled in curriculum notebooks: {address!r}")
    return _connect(self, address, *args)
def _guard_getaddrinfo(host, *args, **kwargs):
    if host not in _LOCAL and host is not None:
        raise OSError(f"network access is disabled in curriculum notebooks: {host!r}")
    return _getaddrinfo(host, *args, **kwargs)
_socket.socket.connect, _socket.getaddrinfo = _guard_connect, _guard_getaddrinfo
"""


@pytest.mark.slow  # a kernel per curriculum notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.name}" for p in NOTEBOOKS])
def test_source_notebook_runs_offline_under_60s(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / path.parent.name
    shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns("ket_qua", ".ipynb_checkpoints"))
    nb = nbformat.read(work / path.name, as_version=4)
    nb.cells.insert(0, new_code_cell(NO_NETWORK))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(work)}})
    start = time.monotonic()
    client.execute()
    elapsed = time.monotonic() - start
    assert elapsed < 60, f"{path.name} took {elapsed:.1f} s"
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name} raised {errors[0]['ename']}: {errors[0]['evalue']}"
    stderr = [o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not any("Warning" in s for s in stderr), f"{path.name} printed warnings: {stderr}"
