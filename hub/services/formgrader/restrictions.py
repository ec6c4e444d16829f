"""What the formgrader process may not do: run code. Its own "autograde" would run learners' code in here,
so it is replaced by a step that refuses and says where grading happens (sandboxed: the portal's button or
`truongso grade`); no kernel starts, so nobody runs code here at all; no file that Python, Jupyter or nbgrader
would run or read as configuration can be written into the course folder (CourseContentsManager); and the
server stays on its own course (nbgrader's `/formgrader?path=DIR` would load DIR's nbgrader_config.py).

This module is also the formgrader's jupyter-server extension (`_load_jupyter_server_extension`)."""

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


# Files that Python, IPython, Jupyter or nbgrader would load and run (modules, bytecode, extension modules,
# path hooks, IPython scripts), and configuration those tools read, by name: nobody writes these into a
# course folder through the formgrader. Trường Số writes its own nbgrader_config.py there itself.
EXECUTABLE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyw", ".pyd", ".pyz", ".pyi", ".so", ".pth", ".ipy", ".egg-link")
CONFIG_SUFFIXES = (".json", ".py", ".d", ".toml", ".yaml", ".yml")
GENERATED = "nbgrader_config.py"


def refusal(path: str) -> str | None:
    """Why the formgrader refuses to write `path` (a contents-API path in the course folder), or None.
    Names are compared folded (NFKC, case, trailing dots and spaces), stricter than any loader reads them."""
    import unicodedata

    for part in (p for p in path.replace("\\", "/").split("/") if p):
        name = unicodedata.normalize("NFKC", part).lower().rstrip(". ")
        if name.startswith("."):
            return "tên ẩn (bắt đầu bằng dấu chấm) / hidden name (starts with a dot)"
        if name.endswith(EXECUTABLE_SUFFIXES) or name == "__pycache__":
            return "tệp mã Python chạy được / executable Python file"
        if "config" in name and name.endswith(CONFIG_SUFFIXES):
            return "tệp cấu hình Jupyter/nbgrader / Jupyter or nbgrader configuration file"
    return None


def _refuse(path: str, why: str) -> Exception:
    from tornado import web

    return web.HTTPError(
        403,
        "Không được ghi %s trong thư mục khoá học (%s); cài đặt chấm bài đặt trong grading.toml. / "
        "%s cannot be written in the course folder (%s); grading settings go in grading.toml.",
        path,
        why,
        path,
        why,
    )


def _course_contents_manager() -> type:
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
    from tornado import web

    class CourseContentsManager(AsyncLargeFileManager):
        """jupyter-server's file manager (chunked uploads included) for a course folder: no executable or
        configuration file can be created there — saved, uploaded, renamed or copied into — so nothing an
        instructor writes is ever run, by this server or by anything with more rights."""

        def _check(self, *paths: str | None) -> None:
            for path in paths:
                why = refusal(path or "")
                if why:
                    raise _refuse((path or "").strip("/"), why)

        async def get(self, path: str, content: bool = True, **kwargs: Any) -> dict:
            # The generated config holds the gradebook's database URL (a password, with PostgreSQL).
            if content and path.strip("/") == GENERATED:
                raise web.HTTPError(403, "Tệp do Trường Số quản lý / this file is managed by Trường Số")
            return await super().get(path, content=content, **kwargs)

        async def save(self, model: dict, path: str = "") -> dict:
            self._check(path)
            return await super().save(model, path)

        async def rename_file(self, old_path: str, new_path: str) -> None:
            self._check(old_path, new_path)
            await super().rename_file(old_path, new_path)

        async def delete_file(self, path: str) -> None:
            if path.strip("/") == GENERATED:
                raise web.HTTPError(403, "Tệp do Trường Số quản lý / this file is managed by Trường Số")
            await super().delete_file(path)

        async def copy(self, from_path: str, to_path: str | None = None) -> dict:
            self._check(from_path, to_path)
            import os

            os_path = self._get_os_path(from_path.strip("/"))
            if os.path.isdir(os_path):  # a folder is copied whole: nothing refused may come along inside it
                for folder, dirs, files in os.walk(os_path):
                    for name in [*dirs, *files]:
                        self._check(os.path.relpath(os.path.join(folder, name), self.root_dir))
            return await super().copy(from_path, to_path)

    return CourseContentsManager


CourseContentsManager = _course_contents_manager()


def _course_only_handler() -> type:
    from nbgrader.server_extensions.formgrader.base import check_notebook_dir, check_xsrf
    from nbgrader.server_extensions.formgrader.handlers import FormgraderHandler
    from tornado import web

    class CourseOnlyFormgraderHandler(FormgraderHandler):
        """nbgrader's entry page, without its `?path=` switch: that re-initialises the formgrader from any
        folder on the server (another course's gradebook, or a folder with an nbgrader_config.py to run)."""

        @web.authenticated
        @check_xsrf
        @check_notebook_dir
        def get(self) -> None:
            self.redirect(f"{self.base_url}/formgrader/manage_assignments")

    return CourseOnlyFormgraderHandler


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "hub.services.formgrader.restrictions"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from jupyter_server.utils import url_path_join
    from nbgrader.server_extensions.formgrader import load_jupyter_server_extension as load_formgrader

    from hub.services.formgrader.fast_api import install
    from hub.services.formgrader.logs import output_transform
    from hub.services.formgrader.translation import install as install_vietnamese

    # nbgrader's formgrader is loaded here, not as an extension of its own (the service turns that off), so
    # that it is in place before what follows changes it: extensions load in alphabetical order.
    load_formgrader(serverapp)
    install()  # nbgrader's pages read the gradebook in bulk (fast_api.py: which nbgrader, and why)
    web_app = serverapp.web_app
    pattern = url_path_join(web_app.settings["base_url"], r"/formgrader/?")
    web_app.add_handlers(".*$", [(pattern, _course_only_handler())])
    # add_handlers puts a rule just before the catch-all, after nbgrader's own: it must come first.
    rules = web_app.default_router.rules
    rules.insert(0, rules.pop(-2))
    # First in line, ahead of any compression, so the transform reads nbgrader's JSON as written.
    web_app.transforms.insert(0, output_transform(str(serverapp.root_dir)))
    translated = install_vietnamese(web_app)  # raises, naming the file, if nbgrader's words changed
    serverapp.log.info("Trường Số: formgrader kept on its course; action logs summarised; bulk gradebook reads; "
                       "%d of its files in Vietnamese", translated)  # fmt: skip
