"""The data directory: writable, and not in use by another hub."""

from __future__ import annotations

from pathlib import Path

from graders.text import UserError
from hub.processes import hub_pid, processes_of, stop_processes


def ensure_data_dir(data_dir: Path) -> Path:
    """The absolute data directory, created if missing; a clear error if it cannot be written."""
    data_dir = data_dir.expanduser().absolute()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UserError(
            f"không ghi được vào thư mục dữ liệu {data_dir}: {reason}",
            f"cannot write to the data directory {data_dir}: {reason}",
        ) from None
    return data_dir


def ensure_no_hub_running(data_dir: Path) -> None:
    """Refuse to start a second hub on one data directory; stop what a crashed one left behind."""
    running = hub_pid(data_dir)
    if running is not None:
        raise UserError(
            f"hub của thư mục dữ liệu này đang chạy (pid {running}); dừng bằng `truongso down`",
            f"a hub already runs on this data directory (pid {running}); stop it with `truongso down`",
        )
    stop_processes(processes_of(data_dir))
