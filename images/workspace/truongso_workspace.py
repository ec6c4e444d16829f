"""Inside a learner's workspace: a full home disk explained in Vietnamese and English.

The home is a size-limited disk (hub/storage.py): when it is full, writes fail with ENOSPC ("No space
left on device"), which says nothing about what to do. Loaded by the image's system-wide configuration
(a learner's own config is not read by the server: disable_user_config):

- the kernel (ipython_kernel_config.py) adds the explanation under an OSError traceback of a full disk,
  and warns before a cell runs when the home is 90% full (at most once a minute);
- the server (jupyter_server_config.py, truongso_contents.py) answers a save on a full disk with 507 and
  the explanation, which JupyterLab shows in its "File Save Error" dialog.

Kept free of heavy imports: every kernel imports it.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from typing import Any

FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
HOME = os.path.expanduser("~")
NEARLY_FULL = 0.9
_last_warning = [0.0]


def limit() -> str:
    """The disk's size as the hub set it ($TRUONGSO_DISK_LIMIT), e.g. `2G`; empty when unknown."""
    return os.environ.get("TRUONGSO_DISK_LIMIT", "")


def full_message() -> str:
    size = limit()
    vi_limit, en_limit = (f" (giới hạn {size})", f" (limit {size})") if size else ("", "")
    return (
        f"Ổ lưu trữ của bạn đã đầy{vi_limit}. Hãy xoá bớt tệp không cần (dữ liệu tạm, bản sao, tệp lớn) rồi thử "
        f"lại; các tệp đã lưu trước đó vẫn còn nguyên. / Your storage is full{en_limit}. Delete files you do not "
        "need (temporary data, copies, large files), then try again; files saved before are kept."
    )


def nearly_full_message(used: int, total: int) -> str:
    percent = 100 * used // max(total, 1)
    return (
        f"Ổ lưu trữ của bạn đã dùng {percent}%{f' của {limit()}' if limit() else ''}; hãy xoá bớt tệp trước khi "
        f"đầy. / Your storage is {percent}% full{f' (of {limit()})' if limit() else ''}; delete some files before "
        "it fills up."
    )


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it was raised from, is a full disk (ENOSPC, or EDQUOT of a quota)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def home_usage(path: str = HOME) -> tuple[int, int]:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_blocks * st.f_frsize


def _show_full_disk(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    # IPython's documented pattern for set_custom_exc: the usual traceback, then what to do about it.
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    if is_disk_full(value):
        print(full_message(), file=sys.stderr, flush=True)


def _warn_when_nearly_full(*_: Any) -> None:
    now = time.monotonic()
    if now - _last_warning[0] < 60:
        return
    try:
        used, total = home_usage()
    except OSError:
        return
    if total and used >= NEARLY_FULL * total:
        _last_warning[0] = now
        print(nearly_full_message(used, total), file=sys.stderr, flush=True)


def load_ipython_extension(ip: Any) -> None:
    ip.set_custom_exc((OSError,), _show_full_disk)
    ip.events.register("pre_run_cell", _warn_when_nearly_full)
