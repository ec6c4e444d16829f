"""Log files under <data dir>/logs: one per process (the hub, each of our services), rotated by size, kept beside
the console output (the journal when `truongso service install` runs the hub under systemd)."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path
from typing import Any

MAX_BYTES = 10 * 1024 * 1024
KEEP = 10  # files per process: 110 MB at most
FORMAT = "[%(levelname)1.1s %(asctime)s %(name)s] %(message)s"


def log_dir(data_dir: Path) -> Path:
    folder = data_dir / "logs"
    folder.mkdir(mode=0o750, exist_ok=True)
    return folder


def rotating_handler_config(data_dir: Path, name: str) -> dict[str, Any]:
    """A logging.config dictConfig handler (JupyterHub's logging_config)."""
    return {
        "class": "logging.handlers.RotatingFileHandler",
        "filename": str(log_dir(data_dir) / f"{name}.log"),
        "maxBytes": MAX_BYTES,
        "backupCount": KEEP,
        "encoding": "utf-8",
        "formatter": "file",
        "level": "INFO",
    }


def log_to_file(name: str) -> None:
    """A service's log lines also in <data dir>/logs/<name>.log, when it runs under the hub (TRUONGSO_DATA_DIR)."""
    data_dir = os.environ.get("TRUONGSO_DATA_DIR")
    if not data_dir:
        return
    try:
        handler = logging.handlers.RotatingFileHandler(
            log_dir(Path(data_dir)) / f"{name}.log", maxBytes=MAX_BYTES, backupCount=KEEP, encoding="utf-8"
        )
    except OSError as exc:  # a log file is a convenience: the console still has every line
        logging.getLogger(f"truongso.{name}").warning("no log file for %s: %s", name, exc)
        return
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.getLogger().addHandler(handler)
