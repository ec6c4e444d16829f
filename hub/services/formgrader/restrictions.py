"""What the formgrader process may not do: run code. Its own "autograde" would run learners' code in here,
so it is replaced by a step that refuses and says where grading happens (sandboxed: the portal's button or
`truongso grade`); and no kernel starts, so nobody runs code here at all."""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import Preprocessor


class SandboxedGradingOnly(Preprocessor):
    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        raise RuntimeError(
            "Chấm tự động chạy trong hộp cát: dùng nút «Chấm tự động» ở trang Khoá học của Trường Số hoặc lệnh "
            "`truongso grade KHOA BAI`. / Autograding runs sandboxed: use the Grade button on the Trường Số "
            "course page or `truongso grade COURSE ASSIGNMENT`."
        )


def _no_kernels_manager() -> type:
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado import web

    class NoKernelsManager(AsyncMappingKernelManager):
        """The formgrader's server starts no kernel, so nobody runs code in it (not even an instructor)."""

        async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
            raise web.HTTPError(403, "Không chạy mã trong formgrader / no code runs in the formgrader")

    return NoKernelsManager


NoKernelsManager = _no_kernels_manager()
