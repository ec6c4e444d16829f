"""One nbgrader formgrader per course, each a hub service named like the course (nbgrader's convention).

Instructors of a course's classes reach /services/<course>/formgrader (their `instructor-<class>` role
carries `access:services!service=<course>`); the page opens top-level, never in a JupyterLab iframe, so
JupyterHub's `frame-ancestors 'none'` stays as it is. The server behind it runs as an unprivileged user,
with no terminals and no kernels: it manages files and the gradebook; grading itself happens in sandboxes.

Instructors write the course folder through it, so nothing there is ever run: its file API refuses Python
and configuration files (restrictions.CourseContentsManager), and the server starts in a folder of its own
(`DATA_DIR/run/formgraders/<course>/`, written by Trường Số only) holding its nbgrader configuration, so the
course folder is neither its working directory nor on its `sys.path` (nbgrader puts the working directory
there) nor on its Jupyter configuration path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hub.services import ServiceSpec
from hub.services.exchange import exchange_url
from hub.settings import HubSettings

SERVICE_USER = "truongso"  # system user of the formgraders when the hub runs as root
SERVICE_HOME = Path("/var/lib/truongso")


def _courses(settings: HubSettings) -> list[Any]:
    return settings.load_courses()  # under the hub's courses_root


def port_names(settings: HubSettings) -> list[str]:
    return [f"formgrader-{course.id}" for course in _courses(settings)]


def config_dir(data_path: Path, course_id: str) -> Path:
    """The formgrader's working directory: its generated nbgrader_config.py, nothing instructors can write."""
    return data_path / "run" / "formgraders" / course_id


def formgrader_service(settings: HubSettings, course_id: str) -> dict[str, Any]:
    from graders.coursedir import course_dir

    root = course_dir(settings.data_path, course_id)
    bin_dir = Path(sys.executable).parent
    as_service_user = runs_as_service_user(settings.data_path)
    as_root = os.geteuid() == 0 and not as_service_user
    return {
        "name": course_id,
        "url": f"http://127.0.0.1:{settings.service_ports[f'formgrader-{course_id}']}",
        "command": [
            str(bin_dir / "jupyterhub-singleuser"),
            f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            # no kernel can start here: nothing in this process runs learners' (or anyone's) code
            "--ServerApp.kernel_manager_class=hub.services.formgrader.restrictions.NoKernelsManager",
            "--KernelSpecManager.allowed_kernelspecs=truongso-no-kernels",
            "--KernelSpecManager.ensure_native_kernel=False",
            # only the formgrader: no learner tools, no terminals, no language servers
            "--ServerApp.jpserver_extensions=nbgrader.server_extensions.assignment_list=False",
            "--ServerApp.jpserver_extensions=nbgrader.server_extensions.course_list=False",
            "--ServerApp.jpserver_extensions=nbgrader.server_extensions.validate_assignment=False",
            # nbgrader's formgrader is loaded by ours (restrictions.py), in order, before it is restricted
            "--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=False",
            "--ServerApp.jpserver_extensions=jupyter_server_terminals=False",
            "--ServerApp.jpserver_extensions=jupyter_lsp=False",
            # kept on its course; actions answer with a short bilingual line, not a log full of server paths
            "--ServerApp.jpserver_extensions=hub.services.formgrader.restrictions=True",
            # a restriction that fails to load stops the service instead of leaving it unrestricted
            "--ServerApp.reraise_server_extension_failures=True",
            # no Python or configuration file can be written into the course folder
            "--ServerApp.contents_manager_class=hub.services.formgrader.restrictions.CourseContentsManager",
            *(["--ServerApp.allow_root=True"] if as_root else []),
        ],
        "cwd": str(config_dir(settings.data_path, course_id)),
        "user": SERVICE_USER if as_service_user else "",
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
            "TRUONGSO_DATA_DIR": str(settings.data_path),
            "JUPYTER_CONFIG_PATH": str(Path(__file__).parent),  # nbgrader_config.py: no autograde in here
            "TRUONGSO_EXCHANGE_URL": exchange_url(settings),
            # nbgrader runs `alembic` by name (gradebook migrations)
            "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        },
        "oauth_no_confirm": True,
        "display": True,
        "info": {"kind": "formgrader", "vi": f"Chấm bài {course_id}", "en": f"Grading {course_id}"},
    }


def _reachable_by_others(path: Path) -> bool:
    """Whether another user can get to `path` (every folder above it searchable by others). A folder not made yet
    does not count: `up` asks before it makes the course folders (the firewall's ports), and the hub asks again
    when it loads its configuration, after ensure_course_dirs made them."""
    return all(parent.stat().st_mode & 0o001 for parent in path.parents if parent.exists())


def runs_as_service_user(data_path: Path | None = None) -> bool:
    """As root, the formgraders run as SERVICE_USER — if that user can reach our Python (not one under /root,
    as pyenv installs it) and the data directory (not one inside a private folder). Otherwise they run as the
    hub's user, and `truongso up` says so."""
    if os.geteuid() != 0:
        return False
    python = Path(os.path.realpath(sys.executable))
    if not (_reachable_by_others(python) and python.stat().st_mode & 0o005 == 0o005):
        return False
    return data_path is None or (
        _reachable_by_others(data_path / "courses") and _reachable_by_others(config_dir(data_path, "-"))
    )


def hub_service(settings: HubSettings, secrets: Any) -> ServiceSpec:
    courses = [c.id for c in _courses(settings)]
    return ServiceSpec(
        services=[formgrader_service(settings, course_id) for course_id in courses],
        roles=[
            {
                "name": "formgraders",
                "description": "Course formgraders release, collect and return feedback through the exchange",
                "scopes": ["access:services!service=exchange"],
                "services": courses,
            }
        ],
    )


def ensure_course_dirs(settings: HubSettings, warn: bool = True) -> list[Path]:
    """Each course's nbgrader directory, owned by the formgraders' user (safe to repeat)."""
    from graders.coursedir import course_dir, ensure_course_dir, nbgrader_settings, render_config, write_if_changed

    roots = []
    for c in _courses(settings):
        root = course_dir(settings.data_path, c.id)
        roots.append(ensure_course_dir(root, c, settings.gradebook_url_for(c.id), settings.courses_path))
        own = config_dir(settings.data_path, c.id)
        own.mkdir(parents=True, exist_ok=True)
        for folder in (own, own.parent):
            folder.chmod(0o755)  # the formgraders' user reads it; only we write it
        text = render_config(nbgrader_settings(c.id, root, settings.gradebook_url_for(c.id), settings.courses_path))
        write_if_changed(own / "nbgrader_config.py", text)
        if (root / "nbgrader_config_local.py").exists() and warn:
            print(
                f"CẢNH BÁO: {root / 'nbgrader_config_local.py'} không còn được nạp; cài đặt chấm bài đặt trong "
                f"grading.toml / WARNING: nbgrader_config_local.py is no longer loaded; grading settings go in "
                "grading.toml (README, Courses)",
                file=sys.stderr,
            )
    if not runs_as_service_user(settings.data_path):
        if os.geteuid() == 0 and warn:
            print(
                f"CẢNH BÁO: formgrader chạy với quyền root vì người dùng {SERVICE_USER} không tới được Python hoặc "
                f"thư mục dữ liệu / WARNING: the formgraders run as root: user {SERVICE_USER} cannot reach the "
                "Python or the data directory (a private parent folder?)",
                file=sys.stderr,
            )
    else:
        import pwd
        import subprocess

        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            made = subprocess.run(
                ["useradd", "--system", "--home-dir", str(SERVICE_HOME), "--create-home",
                 "--shell", "/usr/sbin/nologin", SERVICE_USER],
                check=False, capture_output=True,
            )  # fmt: skip
            if made.returncode not in (0, 9):  # 9: made meanwhile by another `truongso up` on this machine
                raise subprocess.CalledProcessError(made.returncode, made.args, made.stdout, made.stderr) from None
        account = pwd.getpwnam(SERVICE_USER)
        SERVICE_HOME.mkdir(parents=True, exist_ok=True)
        os.chown(SERVICE_HOME, account.pw_uid, account.pw_gid)
        owned = [settings.data_path / "courses"]
        for root in roots:
            # the generated config stays root's: the formgraders' user can read it, not change it
            owned.extend([root, *(p for p in root.rglob("*") if p != root / "nbgrader_config.py")])
        for path in owned:
            os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    return roots
