"""The workspace's contents manager: saving on a full home disk says so in both languages (see
truongso_workspace.py), with 507 Insufficient Storage instead of 500 and "[Errno 28]".

Notebooks are written atomically by jupyter_server (a temporary file, then a rename), so a save that fails
for lack of space leaves the saved copy as it was.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web
from truongso_workspace import full_message, is_disk_full


class ContentsManager(AsyncLargeFileManager):
    async def save(self, model: dict, path: str = "") -> Any:
        # new files, copies and uploads all go through save()
        try:
            return await super().save(model, path)
        except web.HTTPError as exc:
            if is_disk_full(exc):
                raise web.HTTPError(507, full_message()) from exc
            raise
